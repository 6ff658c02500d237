# An uncommitted change in ro/ (a temporary file beside its journal): the
# policy keeps ro/ read-only, so the patch is refused before anything is
# recovered, as a run refuses it (exit 77), and the leftovers stay.
T="$PWD/ro/f.txt"
printf 'new\n' > ro/.csb-applypatch-3-00000000000000ab.t0
printf 'csb-applypatch-journal 1\nid 3-00000000000000ab\nW 0 1 %d:%s\nprepared\n' ${#T} "$T" > ro/.csb-applypatch-3-00000000000000ab.j
