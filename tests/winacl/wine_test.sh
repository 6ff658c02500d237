#!/bin/bash
# csb-winacl.exe under Wine against the Linux build: byte-for-byte plans.
#   wine_test.sh LINUX_BIN WINDOWS_EXE
set -euo pipefail
here="$(dirname "$0")"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
unset DISPLAY WAYLAND_DISPLAY
exec python3 "$here/wine_compare.py" --linux "$(abs "$1")" --exe "$(abs "$2")"
