#!/bin/bash
# long_extends_test.sh SCRIPT BINARY: long_extends_test.py with a chain of
# 270,000 profiles (Bazel runs tests from the runfiles tree, where both
# paths resolve).
set -euo pipefail
exec python3 "$1" "$(realpath "$2")" 270000
