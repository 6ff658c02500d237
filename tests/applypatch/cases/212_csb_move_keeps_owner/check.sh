# Modes, and the owners where setup.sh could give them.
set -e
for f in moved/private.txt theirs.txt; do
  [ "$(stat -c '%a' "$f")" = 600 ] || { echo "$f: mode $(stat -c '%a' "$f")"; exit 1; }
  if [ -e "$ROOT/chowned" ]; then
    [ "$(stat -c '%u:%g' "$f")" = 1000:1000 ] || { echo "$f: owner $(stat -c '%u:%g' "$f")"; exit 1; }
  fi
done
