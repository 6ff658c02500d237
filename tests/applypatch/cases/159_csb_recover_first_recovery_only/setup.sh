# Two interrupted changes (as in 150): --recover rolls back the first,
# found in d, which it removes; the second, in the top directory, is found
# only by the commit of a run, which creates d again from there: it is
# left to the run, which rolls it forward and says so.
mkdir d
printf 'x\n' > d/.csb-applypatch-a-00000000000000a1.t0
J="$PWD/.csb-applypatch-a-00000000000000a1.j" P="$PWD/d/.csb-applypatch-a-00000000000000a1.p"
ln -s "$J" "$P"
D="$PWD/d" X="$PWD/d/x.txt"
printf 'csb-applypatch-journal 1\nid a-00000000000000a1\nP %d:%s\nD %d:%s\nW 0 0 %d:%s\nprepared\n' \
  ${#P} "$P" ${#D} "$D" ${#X} "$X" > "$J"
O="$PWD/o.txt"
printf 'new o\n' > .csb-applypatch-b-00000000000000b2.t0
printf 'csb-applypatch-journal 1\nid b-00000000000000b2\nW 0 1 %d:%s\nprepared\ncommit\n' ${#O} "$O" > .csb-applypatch-b-00000000000000b2.j
