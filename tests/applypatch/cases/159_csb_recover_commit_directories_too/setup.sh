# Two interrupted changes (as in 150): --recover rolls back the first,
# found in d, which it removes; the second, in the top directory, only the
# commit of a run finds, as it creates d again from there: --recover plans
# the patch as the run would, recovers the directories the commit works
# in, and rolls it forward too. The run (then/) has nothing left to
# recover and says nothing about it.
. "$(dirname "$0")/../150_csb_dry_run_pending_found_once_planned/setup.sh"
