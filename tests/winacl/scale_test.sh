#!/bin/bash
# Runs tests/winacl/scale_test.py against the binary given as $1.
set -euo pipefail
here="$(dirname "$0")"
bin="$1"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
exec python3 "$here/scale_test.py" --bin "$bin"
