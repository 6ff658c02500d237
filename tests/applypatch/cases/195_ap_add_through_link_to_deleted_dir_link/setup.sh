# l -> dl/c, dl -> d. The patch deletes dl, then adds l: deleting dl, a
# link to a directory, fails, as upstream's delete does.
ln -s d dl
ln -s dl/c l
