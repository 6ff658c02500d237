# link leads to the directory d; the patch deletes the link, then updates
# a file through it: the path leads nowhere any more.
ln -s d link
