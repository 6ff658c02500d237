# A committed change planted in the workspace that would replace ro/f.txt,
# which the policy keeps read-only (as in 148): --recover refuses it as
# the run does, exit 71, and changes nothing.
. "$(dirname "$0")/../148_pol_dry_run_recovery_refused/setup.sh"
