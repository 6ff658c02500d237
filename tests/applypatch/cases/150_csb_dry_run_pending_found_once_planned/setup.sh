# Two interrupted changes. The first created d (a pointer in it to its
# journal) and did not reach its commit point: rolled back, d goes. Then
# the patch creates d again from the top directory, where the second one,
# committed, is found and rolled forward (o.txt). The dry run names both.
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
