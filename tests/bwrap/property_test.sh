#!/bin/bash
# Runs the csb-bwrap property test (random policies over random trees,
# compared with csb-resolve --check) against the host build (covered by
# --config=asan) and the shipped static build, with the fixed default seed
# (CSB_PROPERTY_SEED, CSB_PROPERTY_POLICIES: --test_env=... to vary).
set -euo pipefail
here="${TEST_SRCDIR:-$(dirname "$0")/..}/${TEST_WORKSPACE:-csb}"
exec /usr/bin/python3 "$here/tests/bwrap/property_test.py" \
  --resolve "$here/tools/csb-resolve/csb-resolve.host" \
  "$here/tools/csb-bwrap/csb-bwrap.host" \
  "$here/tools/csb-bwrap/csb-bwrap"
