# A transaction interrupted after its commit point (Windows paths): the
# next run finishes it (a.txt becomes "new") before applying its own patch.
T="$WROOT\\work\\a.txt"
printf 'new\n' > .csb-applypatch-2-00000000000000cd.t0
printf 'csb-applypatch-journal 1\nid 2-00000000000000cd\nW 0 1 %d:%s\nprepared\ncommit\n' ${#T} "$T" \
  > .csb-applypatch-2-00000000000000cd.j
