#!/usr/bin/env bash
# The release tarball is byte-for-byte reproducible: repack the same inputs
# twice, from copies with different mtimes, permissions and entry order and
# under different umasks, and compare with the archive Bazel built.
set -euo pipefail
mktar=$1
built=$2
spec=$3
work=${TEST_TMPDIR:-$(mktemp -d)}

# Copy every input with the given mtime/permissions; write a spec pointing at
# the copies (optionally in reverse order).
stage() {
  local dir=$1 stamp=$2 perm=$3 order=$4
  mkdir -p "$dir"
  local i=0 out="$dir/spec"
  : > "$out"
  while IFS=$'\t' read -r mode arc src; do
    i=$((i + 1))
    cp "$src" "$dir/f$i"
    chmod "$perm" "$dir/f$i"
    touch -d "$stamp" "$dir/f$i"
    printf '%s\t%s\t%s\n' "$mode" "$arc" "$dir/f$i" >> "$out"
  done < "$spec"
  if [ "$order" = reverse ]; then tac "$out" > "$out.r" && mv "$out.r" "$out"; fi
}

stage "$work/a" "2001-02-03 04:05:06" 0600 forward
stage "$work/b" "now" 0777 reverse
(umask 077 && "$mktar" "$work/a.tar.gz" "$work/a/spec")
(umask 022 && "$mktar" "$work/b.tar.gz" "$work/b/spec")

cmp "$work/a.tar.gz" "$work/b.tar.gz"
cmp "$built" "$work/a.tar.gz"

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
for want in bin/csb-resolve libexec/csb/bwrap share/doc/csb/ LICENSE; do
  grep -q " $want\$" <<<"$listing" || { echo "FAIL: $want missing" >&2; exit 1; }
done
echo "reproducible_test: $(basename "$built") ($(wc -c < "$built") bytes) reproduced twice"
