#!/bin/bash
# csb-proxy in front of csb-bwrap in network mode `proxy` (static builds of
# both, the bundled bubblewrap).
set -euo pipefail
here="${TEST_SRCDIR:-$(dirname "$0")/..}/${TEST_WORKSPACE:-csb}"
export CSB_PROXY="$here/tools/csb-proxy/csb-proxy"
export CSB_TESTCERT="$here/tests/proxy/testcert.host"
export CSB_BWRAP="$here/tools/csb-bwrap/csb-bwrap"
export CSB_BUBBLEWRAP="$here/third_party/bwrap"
exec /usr/bin/python3 "$here/tests/proxy/proxy_test.py" SandboxEndToEnd
