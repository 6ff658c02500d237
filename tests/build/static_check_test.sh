#!/usr/bin/env bash
# Every shipped binary (the tools and the bundled bwrap) must be a static ELF
# with no program interpreter and no dynamic section.
set -euo pipefail
elfcheck=$1
shift
[ "$#" -ge 7 ] || { echo "expected at least 7 shipped binaries, got $#" >&2; exit 1; }
"$elfcheck" "$@"
# The checker itself must notice a dynamic executable (elfcheck is host-built
# against glibc, so it has an interpreter).
if "$elfcheck" "$elfcheck" >/dev/null; then
  echo "FAIL: elfcheck accepted a dynamically linked binary ($elfcheck)" >&2
  exit 1
fi
echo "static_check_test: $# binaries are static"
