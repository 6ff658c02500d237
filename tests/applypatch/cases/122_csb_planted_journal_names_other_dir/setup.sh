# A journal planted in the workspace (no policy): a committed deletion of a
# file in another directory, and a pointer there, neither of which the
# committer made (that directory holds no pointer to this journal).
mkdir "$ROOT/other"
printf 'keep\n' > "$ROOT/other/keep.txt"
printf 'not a pointer\n' > "$ROOT/other/.csb-applypatch-5-00000000000000ab.p"
T="$ROOT/other/keep.txt" P="$ROOT/other/.csb-applypatch-5-00000000000000ab.p"
printf 'csb-applypatch-journal 1\nid 5-00000000000000ab\nP %d:%s\nX 0 1 %d:%s\nprepared\ncommit\n' \
  ${#P} "$P" ${#T} "$T" > .csb-applypatch-5-00000000000000ab.j
