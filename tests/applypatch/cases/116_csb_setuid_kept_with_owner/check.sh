# Modes, and the owner where setup.sh could give one.
set -e
m() { stat -c '%a' "$1"; }
[ "$(m tool)" = 6755 ] || { echo "tool: mode $(m tool)"; exit 1; }
[ "$(m own)" = 6755 ] || { echo "own: mode $(m own)"; exit 1; }
if [ -e "$ROOT/chowned" ]; then
  [ "$(stat -c '%u:%g' own)" = 1000:1000 ] || { echo "own: owner $(stat -c '%u:%g' own)"; exit 1; }
fi
