# The two interrupted changes of 161: --recover rolls back the first,
# which removes d, then plans the patch as the run would and recovers the
# directories its commit works in: the top directory, where it rolls the
# second one forward (the file d). Over that the patch no longer plans:
# --recover reports the plan's error and its exit status after the list.
# A dry run (then/) has nothing left to recover and tells the outcome:
# the same error, where it exited 69 before.
. "$(dirname "$0")/../161_csb_dry_run_pending_found_by_the_commit/setup.sh"
