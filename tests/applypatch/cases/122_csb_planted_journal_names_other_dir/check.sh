set -e
[ "$(cat "$ROOT/other/keep.txt")" = keep ] || { echo "other/keep.txt changed"; exit 1; }
[ "$(cat "$ROOT/other/.csb-applypatch-5-00000000000000ab.p")" = "not a pointer" ] || { echo "other pointer changed"; exit 1; }
