# A committed change that a crash interrupted after its first rename: a.txt
# is new, "a<LF>b/c.txt" (a directory name holding a newline) still old.
D="$PWD/a
b"
mkdir "$D"
printf 'old\n' > "$D/c.txt"
printf 'new\n' > "$D/.csb-applypatch-2-00000000000000ce.t1"
printf 'new\n' > a.txt
T1="$PWD/a.txt" T2="$D/c.txt"
printf 'csb-applypatch-journal 1\nid 2-00000000000000ce\nW 0 1 %d:%s\nW 1 1 %d:%s\nprepared\ncommit\n' \
  ${#T1} "$T1" ${#T2} "$T2" > .csb-applypatch-2-00000000000000ce.j
