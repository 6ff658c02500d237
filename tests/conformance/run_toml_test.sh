#!/bin/bash
# Bazel entry point for run_toml_test.py: finds the runner and the decoder
# in the runfiles tree and forwards TOML_TEST_DIR if set.
set -euo pipefail
dir="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-}/tests/conformance"
if [[ ! -f "$dir/run_toml_test.py" ]]; then
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fi
exec python3 "$dir/run_toml_test.py" --decoder "$dir/toml-decode.host" "$@"
