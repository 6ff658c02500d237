mkdir d
ln -s d l
