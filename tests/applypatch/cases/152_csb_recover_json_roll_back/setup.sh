# A change interrupted while it rolled back after its commit point (as in
# 145): --recover --json rolls it back (a.txt and d.txt old, c.txt gone)
# and applies nothing; a dry run of --recover then finds nothing pending.
. "$(dirname "$0")/../145_csb_dry_run_json_pending_roll_back/setup.sh"
