#!/bin/bash
# Validates the golden policy documents against docs/policy.schema.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ws="$here/../.."
if [[ -n "${TEST_SRCDIR:-}" && -d "$TEST_SRCDIR/${TEST_WORKSPACE:-csb}" ]]; then
  ws="$TEST_SRCDIR/${TEST_WORKSPACE:-csb}"
fi
exec python3 "$ws/tests/resolve/validate_schema.py" "$ws/docs/policy.schema.json" "$ws/tests/resolve/cases" \
  "$ws/tests/resolve/wine_cases"
