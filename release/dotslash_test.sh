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
expect_reject() { # WHAT SED-EXPR MESSAGE: the checker fails saying MESSAGE
  local what=$1 expr=$2 msg=$3
  mkdir -p "$work/$what"
  sed -e "$expr" "$src" > "$work/$what/$name"
  cmp -s "$src" "$work/$what/$name" && { echo "FAIL: '$expr' changed nothing" >&2; exit 1; }
  if python3 "$checker" "$tarball" "$work/$what/$name" 2>"$work/$what/err"; then
    echo "FAIL: checker accepted a manifest with $what" >&2
    exit 1
  fi
  grep -qF -- "$msg" "$work/$what/err" || {
    echo "FAIL: checker rejected the manifest with $what for another reason:" >&2
    cat "$work/$what/err" >&2
    exit 1
  }
}
expect_reject size 's/"size": [0-9]*/"size": 1/' "size 1 != tarball size"
expect_reject digest 's/"digest": "[0-9a-f]/"digest": "X/' "!= tarball sha256"
expect_reject hash 's/"hash": "sha256"/"hash": "blake3"/' "hash must be"
expect_reject format 's/"format": "tar.gz"/"format": "tar.zst"/' "format must be"
expect_reject path 's|"path": "bin/|"path": "nope/|' "must be 'bin/$name'"
other=csb-resolve
[ "$name" != "$other" ] || other=csb-bwrap
expect_reject other-tool "s|\"path\": \"bin/$name\"|\"path\": \"bin/$other\"|" "must be 'bin/$name'"
expect_reject name 's/"name": "/"name": "x/' "does not match the file name"
expect_reject shebang '1s/.*/#!\/bin\/sh/' "first line must be"
expect_reject url-file 's|\.tar\.gz"$|.tgz"|' "does not point at"
expect_reject url-version 's|/download/v[^/]*/|/download/v9.9.9/|' "release directory of version"
expect_reject url-scheme 's|"https://|"http://|' "does not point at"
echo "dotslash_test: checker accepts the release manifests and rejects tampered ones"
