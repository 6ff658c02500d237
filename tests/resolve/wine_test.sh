#!/bin/bash
# csb-resolve for Windows under Wine (see wine_test.py).
#   wine_test.sh LINUX_BIN WINDOWS_EXE BATCH_EXE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${TEST_SRCDIR:-}" && -d "$TEST_SRCDIR/${TEST_WORKSPACE:-csb}/tests/resolve" ]]; then
  here="$TEST_SRCDIR/${TEST_WORKSPACE:-csb}/tests/resolve"
fi
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
unset DISPLAY WAYLAND_DISPLAY
exec python3 "$here/wine_test.py" --linux "$(abs "$1")" --exe "$(abs "$2")" --batch "$(abs "$3")"
