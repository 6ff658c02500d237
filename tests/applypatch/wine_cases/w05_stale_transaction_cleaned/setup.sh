# An interrupted transaction that never reached its commit point, recorded
# with Windows paths: its temporary file and journal are removed, a.txt is
# left as it was before the patch.
printf 'half' > .csb-applypatch-1-00000000000000ab.t0
T="$WROOT\\work\\a.txt"
printf 'csb-applypatch-journal 1\nid 1-00000000000000ab\nW 0 1 %d:%s\nprepared\n' ${#T} "$T" \
  > .csb-applypatch-1-00000000000000ab.j
