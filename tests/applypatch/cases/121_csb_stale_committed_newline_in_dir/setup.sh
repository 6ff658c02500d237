# A committed change that a crash interrupted after its first rename: a.txt
# is new, "a<LF>b/c.txt" (a directory name holding a newline, with a
# pointer to the journal) still old.
D="$PWD/a
b"
mkdir "$D"
printf 'old\n' > "$D/c.txt"
printf 'new\n' > "$D/.csb-applypatch-2-00000000000000ce.t1"
printf 'new\n' > a.txt
J="$PWD/.csb-applypatch-2-00000000000000ce.j" P="$D/.csb-applypatch-2-00000000000000ce.p"
ln -s "$J" "$P"
T1="$PWD/a.txt" T2="$D/c.txt"
printf 'csb-applypatch-journal 1\nid 2-00000000000000ce\nP %d:%s\nW 0 1 %d:%s\nW 1 1 %d:%s\nprepared\ncommit\n' \
  ${#P} "$P" ${#T1} "$T1" ${#T2} "$T2" > "$J"
