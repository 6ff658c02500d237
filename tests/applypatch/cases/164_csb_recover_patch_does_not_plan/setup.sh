# A committed change interrupted after its first rename (as in 144), and
# a patch that fits sub/b.txt only as it was before: --recover rolls the
# change forward, then the patch does not plan, so the directories its
# commit would work in cannot be known: --recover reports what it
# recovered, then the plan's error with its exit status (65). Again with
# --json (then/): nothing left to recover, the same error.
. "$(dirname "$0")/../144_csb_dry_run_pending_roll_forward/setup.sh"
