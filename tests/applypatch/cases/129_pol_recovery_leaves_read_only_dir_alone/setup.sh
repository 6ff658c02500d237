# A file named like a temporary file of an interrupted run, in a directory
# the policy keeps read-only (ro), which the run scans as the parent of the
# directory it creates (ro/a, writable).
printf 'old\n' > ro/.csb-applypatch-8-00000000000000af.t0
