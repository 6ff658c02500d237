#!/usr/bin/env bash
# The Windows release zip is byte-for-byte reproducible: repack the same
# inputs twice (different mtimes, permissions, entry order and umask) and
# compare with the archive Bazel built; then check the normalised metadata.
set -euo pipefail
mkzip=$1
built=$2
spec=$3
. "$(dirname "${BASH_SOURCE[0]}")/repack.sh"

repack_twice "$built" "$spec" .zip python3 "$mkzip"

python3 - "$built" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
assert names == sorted(names), "entries are not sorted"
for i in z.infolist():
    assert i.date_time == (1980, 1, 1, 0, 0, 0), i.filename
    assert i.extra == b"" and i.comment == b"", i.filename
    mode = (i.external_attr >> 16) & 0o7777
    want = 0o755 if i.filename.endswith("/") or i.filename.endswith(".exe") else 0o644
    assert mode == want, "%s: mode %o" % (i.filename, mode)
exes = ["bin/csb-applypatch.exe", "bin/csb-resolve.exe", "bin/csb-winacl.exe"]
for want in exes + ["share/doc/csb/" + e[4:-4] + ".md" for e in exes] + ["share/doc/csb/policy.schema.json", "LICENSE"]:
    assert want in names, want + " missing"
assert [n for n in names if n.startswith("bin/") and n != "bin/"] == exes, names
for exe in exes:
    assert z.read(exe)[:2] == b"MZ", exe + " is not a PE file"
assert z.testzip() is None
PY
echo "windows_zip_test: $(basename "$built") ($(wc -c < "$built") bytes) reproduced twice"
