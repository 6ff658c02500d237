# link leads to the directory d; the patch deletes the link, then adds a
# file through it: deleting a link to a directory fails, as upstream's does.
ln -s d link
