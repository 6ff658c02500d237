# A committed change that a crash interrupted after its first rename (as in
# 144): --recover rolls it forward and applies nothing (the patch would
# make both files "newer"); run again, it finds nothing to recover.
. "$(dirname "$0")/../144_csb_dry_run_pending_roll_forward/setup.sh"
