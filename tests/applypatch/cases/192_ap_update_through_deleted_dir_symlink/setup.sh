# link leads to the directory d; the patch deletes the link, then updates
# a file through it: deleting a link to a directory fails, as upstream's
# delete does (its check follows the link).
ln -s d link
