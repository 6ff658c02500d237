# The run would create ro/a and ro/a/b (the journal in the workspace, a
# pointer in ro/a/b): the dry run makes neither, nor any file.
set -e
[ ! -e ro/a ] || { echo "ro/a created"; exit 1; }
left=$(find "$ROOT" -name '.csb-applypatch-*')
[ -z "$left" ] || { echo "left: $left"; exit 1; }
