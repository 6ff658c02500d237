# As in 150, but the committed change in the top directory adds a file d
# (never renamed into place). The run rolls back the first change, which
# removes the directory d; the commit, creating d again from the top
# directory, finds the second one there, and rolling it forward puts the
# file d above the patch's d/y.txt: the dry run cannot tell the outcome.
# The run (then/) recovers both and says so, then cannot create d (exit 71,
# rolled back; the file d stays, as the recovery left it).
. "$(dirname "$0")/../150_csb_dry_run_pending_found_once_planned/setup.sh"
D="$PWD/d"
printf 'file d\n' > .csb-applypatch-b-00000000000000b2.t0
printf 'csb-applypatch-journal 1\nid b-00000000000000b2\nW 0 0 %d:%s\nprepared\ncommit\n' ${#D} "$D" > .csb-applypatch-b-00000000000000b2.j
