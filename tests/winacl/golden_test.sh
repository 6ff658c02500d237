#!/bin/bash
# Runs the csb-winacl golden cases against the binary given as $1.
set -euo pipefail
here="$(dirname "$0")"
bin="$1"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
exec python3 "$here/run_golden.py" --bin "$bin" --cases "$here/cases"
