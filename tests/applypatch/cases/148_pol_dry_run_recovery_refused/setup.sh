# A committed change planted in the workspace that would replace ro/f.txt,
# which the policy keeps read-only: the dry run refuses to go on as the
# run does, with the same message, and changes nothing either.
T="$PWD/ro/f.txt"
printf 'planted\n' > ro/.csb-applypatch-8-00000000000000fe.t0
printf 'csb-applypatch-journal 1\nid 8-00000000000000fe\nW 0 1 %d:%s\nprepared\ncommit\n' ${#T} "$T" > .csb-applypatch-8-00000000000000fe.j
