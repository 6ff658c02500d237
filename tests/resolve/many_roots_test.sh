#!/bin/bash
# Runs many_roots_test.py (20,000 writable roots) against the binary given as $1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${TEST_SRCDIR:-}" && -d "$TEST_SRCDIR/${TEST_WORKSPACE:-csb}/tests/resolve" ]]; then
  here="$TEST_SRCDIR/${TEST_WORKSPACE:-csb}/tests/resolve"
fi
bin="$1"
[[ "$bin" = /* ]] || bin="$PWD/$bin"
exec python3 "$here/many_roots_test.py" "$bin" 20000
