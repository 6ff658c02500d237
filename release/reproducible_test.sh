#!/usr/bin/env bash
# The release tarball is byte-for-byte reproducible: repack the same inputs
# twice, from copies with different mtimes, permissions and entry order and
# under different umasks, and compare with the archive Bazel built.
set -euo pipefail
mktar=$1
built=$2
spec=$3
. "$(dirname "${BASH_SOURCE[0]}")/repack.sh"

repack_twice "$built" "$spec" .tar.gz "$mktar"

# Spot-check the normalised metadata.
listing=$(tar -tvzf "$built")
if grep -v '^[d-]r[-w][-x]r-[-x]r-[-x] 0/0 ' <<<"$listing"; then
  echo "FAIL: unexpected owner or mode in the entries above" >&2
  exit 1
fi
if grep -v ' 1970-01-01 00:00 ' <<<"$listing"; then
  echo "FAIL: non-zero mtimes in the entries above" >&2
  exit 1
fi
for want in bin/csb-resolve libexec/csb/bwrap share/doc/csb/ share/man/man1/csb-bwrap.1 LICENSE; do
  grep -q " $want\$" <<<"$listing" || { echo "FAIL: $want missing" >&2; exit 1; }
done
echo "reproducible_test: $(basename "$built") ($(wc -c < "$built") bytes) reproduced twice"
