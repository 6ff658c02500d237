#!/bin/bash
# many_domains_test.sh SCRIPT CSB_RESOLVE CSB_PROXY: many_domains_test.py
# with 200,000 domains (Bazel runs tests from the runfiles tree, where the
# paths resolve).
set -euo pipefail
exec python3 "$1" "$(realpath "$2")" "$(realpath "$3")" 200000
