# As root, a moved file keeps its source's owner with its mode, as it
# keeps its contents: moved to a new path (not the runner's then), or
# onto another user's file (whose owner would get a private file).
printf 'old\n' > private.txt
printf 'mine\n' > mine.txt
printf 'theirs\n' > theirs.txt
chmod 600 private.txt mine.txt
if chown 1000:1000 private.txt mine.txt 2>/dev/null && chown 1001:1001 theirs.txt 2>/dev/null; then
  : > "$ROOT/chowned"
fi
