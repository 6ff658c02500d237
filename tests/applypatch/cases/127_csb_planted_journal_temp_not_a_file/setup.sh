# A committed journal planted in the workspace (no policy) whose temporary
# file for a.txt is a symlink to a file outside (the committer only ever
# makes regular files there), and which deletes a FIFO (the committer
# deletes regular files and symlinks only).
ln -s "$ROOT/outside/secret.txt" .csb-applypatch-4-00000000000000ae.t0
mkfifo pipe
T="$PWD/a.txt" X="$PWD/pipe"
printf 'csb-applypatch-journal 1\nid 4-00000000000000ae\nW 0 1 %d:%s\nX 1 1 %d:%s\nprepared\ncommit\n' \
  ${#T} "$T" ${#X} "$X" > .csb-applypatch-4-00000000000000ae.j
