# A directory whose name is not UTF-8, reached through a symlink (patch
# paths are UTF-8): the absolute path --json would print is not.
mkdir "$(printf 'latin1-\351')"
ln -s "$(printf 'latin1-\351')" ln
