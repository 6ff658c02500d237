# A committed change that a crash interrupted before its rename, whose
# journal is in a directory named in Latin-1 (a pointer to it beside
# a.txt): the run rolls it forward and applies the patch, but --json cannot
# report the journal's path, so it fails after the run and says that the
# patch was applied.
mkdir "$(printf 'latin1-\351')"
printf 'old a\n' > a.txt
printf 'new a\n' > .csb-applypatch-7-00000000000000c7.t0
J="$PWD/$(printf 'latin1-\351')/.csb-applypatch-7-00000000000000c7.j"
P="$PWD/.csb-applypatch-7-00000000000000c7.p" T="$PWD/a.txt"
ln -s "$J" "$P"
printf 'csb-applypatch-journal 1\nid 7-00000000000000c7\nP %d:%s\nW 0 1 %d:%s\nprepared\ncommit\n' \
  ${#P} "$P" ${#T} "$T" > "$J"
