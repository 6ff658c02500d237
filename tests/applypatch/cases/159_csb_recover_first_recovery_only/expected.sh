# d and the first change are gone; the second change is left as it was.
printf 'old o\n' > o.txt
O="$ROOT/work/o.txt"
printf 'new o\n' > .csb-applypatch-b-00000000000000b2.t0
printf 'csb-applypatch-journal 1\nid b-00000000000000b2\nW 0 1 %d:%s\nprepared\ncommit\n' ${#O} "$O" > .csb-applypatch-b-00000000000000b2.j
