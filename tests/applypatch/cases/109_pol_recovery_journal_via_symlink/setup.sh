# A journal planted in the workspace: a committed deletion, named through a
# symlinked directory that leads outside (the lexical path is writable).
ln -s "$ROOT/outside" link
T="$PWD/link/secret.txt"
printf 'csb-applypatch-journal 1\nid 3-00000000000000ef\nX 0 1 %d:%s\nprepared\ncommit\n' ${#T} "$T" > .csb-applypatch-3-00000000000000ef.j
