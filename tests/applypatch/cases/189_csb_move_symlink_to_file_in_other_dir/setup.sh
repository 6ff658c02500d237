# A symlink to a file in another directory, moved: the link goes, the file
# it leads to stays, and the destination gets the new contents (with the
# mode and attributes of the file the link leads to).
ln -s sub/c link
