set -e
[ -d "$ROOT/other/empty" ] || { echo "other/empty removed"; exit 1; }
