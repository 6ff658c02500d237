# A committed change planted in the workspace that would replace ro/f.txt,
# which the policy keeps read-only (as in 148): --recover refuses it as
# the run does, exit 71, and changes nothing.
T="$PWD/ro/f.txt"
printf 'planted\n' > ro/.csb-applypatch-8-00000000000000fe.t0
printf 'csb-applypatch-journal 1\nid 8-00000000000000fe\nW 0 1 %d:%s\nprepared\ncommit\n' ${#T} "$T" > .csb-applypatch-8-00000000000000fe.j
