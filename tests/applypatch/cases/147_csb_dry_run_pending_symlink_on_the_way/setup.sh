# A change that deleted the symlink ln (to the directory d), interrupted
# while it rolled back: ln is gone, its restore copy (a symlink) is written.
# Rolling back puts ln back, on the way to the patch's ln/f.txt: the dry
# run cannot resolve that path as it will be, and says so.
ln -s d .csb-applypatch-6-00000000000000ab.r0
L="$PWD/ln"
printf 'csb-applypatch-journal 1\nid 6-00000000000000ab\nX 0 1 %d:%s\nprepared\ncommit\nabort\n' \
  ${#L} "$L" > .csb-applypatch-6-00000000000000ab.j
