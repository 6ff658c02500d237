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
for want in bin/csb-resolve libexec/csb/bwrap share/doc/csb/ share/doc/csb/policy.schema.json \
            share/man/man1/csb-bwrap.1 LICENSE; do
  grep -q " $want\$" <<<"$listing" || { echo "FAIL: $want missing" >&2; exit 1; }
done
# The documents' links to one another resolve inside share/doc/csb (links
# into the source tree, ../..., are left out).
python3 - "$built" <<'PY'
import re, sys, tarfile
t = tarfile.open(sys.argv[1])
names = set(t.getnames())
bad = []
for n in sorted(names):
    if n.startswith("share/doc/csb/") and n.endswith(".md"):
        text = t.extractfile(n).read().decode()
        # (code is no link: fenced blocks and inline spans go first)
        text = re.sub(r"(?ms)^```.*?^```", "", text)
        text = re.sub(r"`[^`\n]*`", "", text)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if ":" in target or target.startswith(("#", "/", "../")):
                continue
            if "share/doc/csb/" + target.split("#")[0] not in names:
                bad.append(n + " -> " + target)
if bad:
    sys.exit("FAIL: links to documents the archive lacks:\n  " + "\n  ".join(bad))
PY
echo "reproducible_test: $(basename "$built") ($(wc -c < "$built") bytes) reproduced twice"
