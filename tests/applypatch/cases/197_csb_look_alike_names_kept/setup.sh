# Files that look like temporary files and pointers of an interrupted run
# but carry no transaction name the committer makes (PID-16 hex digits),
# beside the file the patch updates: the run's scan of the directory
# leaves them alone.
printf 'mine\n' > .csb-applypatch-cafe.t0
printf 'mine\n' > .csb-applypatch-2024-01.r1
ln -s a.txt .csb-applypatch-1-2.p
