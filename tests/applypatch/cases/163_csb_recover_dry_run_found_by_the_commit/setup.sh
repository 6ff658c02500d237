# The two interrupted changes of 161: --recover --dry-run names both, in
# the order --recover takes them (the second found in the directories the
# commit works in, planned over the first's recovery), and changes
# nothing. Over both, the way to d/y.txt goes through the file d that the
# second puts there: planning again, to look for more, cannot be exact,
# so it exits 69. --recover (then/) does what it named.
. "$(dirname "$0")/../161_csb_dry_run_pending_found_by_the_commit/setup.sh"
