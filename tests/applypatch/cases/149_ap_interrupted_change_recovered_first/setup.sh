# A committed change to a.txt that a crash interrupted before its rename:
# the run rolls it forward before it plans the patch, which expects the
# new contents.
T="$PWD/a.txt"
printf 'new\n' > .csb-applypatch-4-0000000000000def.t0
printf 'csb-applypatch-journal 1\nid 4-0000000000000def\nW 0 1 %d:%s\nprepared\ncommit\n' ${#T} "$T" > .csb-applypatch-4-0000000000000def.j
