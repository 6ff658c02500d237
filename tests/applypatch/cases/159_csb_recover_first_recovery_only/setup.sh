# Two interrupted changes (as in 150): --recover rolls back the first,
# found in d, which it removes; the second, in the top directory, is found
# only by the commit of a run, which creates d again from there: it is
# left to the run, which rolls it forward and says so.
. "$(dirname "$0")/../150_csb_dry_run_pending_found_once_planned/setup.sh"
