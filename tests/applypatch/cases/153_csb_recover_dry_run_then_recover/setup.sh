# A committed change interrupted after its first rename (as in 144):
# --recover --dry-run names it and the way it is recovered, changing
# nothing; --recover then rolls it forward, and only that.
. "$(dirname "$0")/../144_csb_dry_run_pending_roll_forward/setup.sh"
