#!/bin/bash
# many_roots_test.sh SCRIPT BINARY: many_roots_test.py with 20,000 roots
# (Bazel runs tests from the runfiles tree, where both paths resolve).
set -euo pipefail
exec python3 "$1" "$(realpath "$2")" 20000
