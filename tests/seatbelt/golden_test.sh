#!/bin/bash
# Runs the csb-seatbelt golden suite against the binary given as $1, checking
# every generated profile with the sbpl_check binary given as $2.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${TEST_SRCDIR:-}" && -d "$TEST_SRCDIR/${TEST_WORKSPACE:-csb}/tests/seatbelt" ]]; then
  here="$TEST_SRCDIR/${TEST_WORKSPACE:-csb}/tests/seatbelt"
fi
abs() { [[ "$1" = /* ]] && echo "$1" || echo "$PWD/$1"; }
exec python3 "$here/run_golden.py" --bin "$(abs "$1")" --checker "$(abs "$2")" --cases "$here/cases"
