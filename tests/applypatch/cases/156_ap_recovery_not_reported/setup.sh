# A change interrupted while it rolled back after its commit point (as in
# 145): apply_patch recovers it without a word and applies the patch,
# output as upstream; "--recover" is no option there but the patch text.
. "$(dirname "$0")/../145_csb_dry_run_json_pending_roll_back/setup.sh"
