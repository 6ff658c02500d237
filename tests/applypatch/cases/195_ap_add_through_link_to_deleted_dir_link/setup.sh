# l -> dl/c, dl -> d. The patch deletes dl, then adds l: the write through
# l fails (dl/c leads nowhere), as upstream's does.
ln -s d dl
ln -s dl/c l
