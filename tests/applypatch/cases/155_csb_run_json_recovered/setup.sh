# A change interrupted while it rolled back after its commit point (as in
# 145): the run rolls it back, says so on stderr and in "recovered", and
# applies the patch.
. "$(dirname "$0")/../145_csb_dry_run_json_pending_roll_back/setup.sh"
