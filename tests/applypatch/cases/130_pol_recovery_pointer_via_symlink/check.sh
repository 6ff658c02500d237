set -e
[ -f "$ROOT/other/.csb-applypatch-3-00000000000000b0.j" ] || { echo "journal outside removed"; exit 1; }
