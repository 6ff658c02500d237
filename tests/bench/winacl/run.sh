#!/usr/bin/env bash
# run.sh - csb-winacl planning benchmark (not part of `bazel test`); see run.py.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/run.py" "$@"
