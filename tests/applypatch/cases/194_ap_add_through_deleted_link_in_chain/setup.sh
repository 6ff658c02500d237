# l6 -> l1 -> a. The patch deletes l1, then adds l6: the write through l6
# creates l1 (where the dangling link leads); a stays.
ln -s a l1
ln -s l1 l6
