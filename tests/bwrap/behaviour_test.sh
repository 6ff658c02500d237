#!/bin/bash
# Runs the csb-bwrap behaviour suite against the host build (covered by
# --config=asan) and the shipped static build. Arguments go to the suite
# before the binaries (behaviour_unpriv_test: --unprivileged).
set -euo pipefail
here="${TEST_SRCDIR:-$(dirname "$0")/..}/${TEST_WORKSPACE:-csb}"
export CSB_TEST_BUNDLED_BWRAP="$here/third_party/bwrap"
# csb-resolve writes the policy of the cases about what it adds
export CSB_TEST_RESOLVE="$here/tools/csb-resolve/csb-resolve.host"
exec /usr/bin/python3 "$here/tests/bwrap/behaviour_test.py" "$@" \
  "$here/tools/csb-bwrap/csb-bwrap.host" \
  "$here/tools/csb-bwrap/csb-bwrap"
