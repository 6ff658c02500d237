# A committed change interrupted after its first rename (as in 144): the
# run rolls it forward, says so on stderr, and applies the patch.
. "$(dirname "$0")/../144_csb_dry_run_pending_roll_forward/setup.sh"
