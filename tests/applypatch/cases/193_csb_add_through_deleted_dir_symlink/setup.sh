# link leads to the directory d; the patch deletes the link, then adds a
# file through it: as below a deleted file, the add fails (it wrote d/new).
ln -s d link
