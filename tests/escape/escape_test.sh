#!/bin/bash
# Runs every escape probe under the static and the host csb-bwrap.
# Arguments go to the suite (escape_unpriv_test: --unprivileged).
set -uo pipefail
here="${TEST_SRCDIR:-$(dirname "$0")/..}/${TEST_WORKSPACE:-csb}"
rc=0
for bin in csb-bwrap csb-bwrap.host; do
  echo "== $bin"
  /usr/bin/python3 "$here/tests/escape/escape_test.py" "$@" "$here/tools/csb-bwrap/$bin" "$here/tests/escape" || rc=1
done
exit $rc
