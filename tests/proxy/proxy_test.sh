#!/bin/bash
# Runs the csb-proxy behaviour suite (proxy_test.py) against the binary
# given as $1 (host or static build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
certs="$2"
case "$certs" in /*) ;; *) certs="$PWD/$certs" ;; esac
export CSB_PROXY="$bin" CSB_TESTCERT="$certs"
exec python3 "$here/proxy_test.py" "${@:3}"
