# A journal planted in the workspace (no policy), prepared but not
# committed, as if its run had created directories: an empty directory of
# the workspace that is no parent of its file (keep), one in a directory
# outside holding no pointer (ROOT/other/empty), and one below a directory
# it does list (made/sub, whose parent exists). Besides, files that only
# look like artifacts of another transaction: a suffix the committer never
# writes, a temporary file that is a FIFO, a pointer that is a directory.
mkdir keep made made/sub "$ROOT/other" "$ROOT/other/empty"
printf 'mine\n' > .csb-applypatch-6-00000000000000aa.bak
mkfifo .csb-applypatch-6-00000000000000ab.t0
mkdir .csb-applypatch-6-00000000000000ac.p
D1="$PWD/keep" D2="$ROOT/other/empty" D3="$PWD/made/sub" T="$PWD/made/sub/x.txt"
printf 'csb-applypatch-journal 1\nid 5-00000000000000ad\nD %d:%s\nD %d:%s\nD %d:%s\nW 0 0 %d:%s\nprepared\n' \
  ${#D1} "$D1" ${#D2} "$D2" ${#D3} "$D3" ${#T} "$T" > .csb-applypatch-5-00000000000000ad.j
