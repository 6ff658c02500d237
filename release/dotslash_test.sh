#!/usr/bin/env bash
# check_dotslash.py accepts the generated DotSlash files and rejects tampered
# copies (wrong size, digest, path, name).
set -euo pipefail
checker=$1
tarball=$2
shift 2
[ "$#" -eq 6 ] || { echo "expected 6 DotSlash files, got $#" >&2; exit 1; }
python3 "$checker" "$tarball" "$@"

work=${TEST_TMPDIR:-$(mktemp -d)}
src=$1
name=$(basename "$src")
expect_reject() {
  local what=$1 expr=$2
  mkdir -p "$work/$what"
  sed -e "$expr" "$src" > "$work/$what/$name"
  if python3 "$checker" "$tarball" "$work/$what/$name" 2>/dev/null; then
    echo "FAIL: checker accepted a manifest with $what" >&2
    exit 1
  fi
}
expect_reject size 's/"size": [0-9]*/"size": 1/'
expect_reject digest 's/"digest": "[0-9a-f]/"digest": "X/'
expect_reject path 's|"path": "bin/|"path": "nope/|'
expect_reject name 's/"name": "/"name": "x/'
expect_reject shebang '1s/.*/#!\/bin\/sh/'
echo "dotslash_test: checker accepts the release manifests and rejects tampered ones"
