# A committed transaction whose journal is in `a` and whose file is in `b`;
# `b` holds a pointer file naming the journal. A patch touching only `b`
# finds the journal through the pointer and finishes the transaction.

J="$WROOT\\work\\a\\.csb-applypatch-3-00000000000000ef.j"
T="$WROOT\\work\\b\\f.txt"
P="$WROOT\\work\\b\\.csb-applypatch-3-00000000000000ef.p"
printf 'new\n' > b/.csb-applypatch-3-00000000000000ef.t0
printf '%s' "$J" > b/.csb-applypatch-3-00000000000000ef.p
printf 'csb-applypatch-journal 1\nid 3-00000000000000ef\nP %d:%s\nW 0 1 %d:%s\nprepared\ncommit\n' \
  ${#P} "$P" ${#T} "$T" > a/.csb-applypatch-3-00000000000000ef.j
