#!/usr/bin/env python3
"""Verifies DotSlash files against a csb release tarball.

usage: check_dotslash.py TARBALL DOTSLASH_FILE...

Each file must start with `#!/usr/bin/env dotslash`, hold JSON whose `name`
is the file's name, and describe the tarball exactly for linux-x86_64: its
size, `hash: sha256` and digest, `format: tar.gz`, the `path` bin/NAME of
an executable regular file inside the tarball, and https providers whose
URLs end with the tarball's file name inside a directory named after the
release version (VERSION or vVERSION). Exits 1 listing every problem found.
"""

import hashlib
import json
import os
import re
import sys
import tarfile

SHEBANG = "#!/usr/bin/env dotslash"


def release_version(tar_name):
    """VERSION of csb-VERSION-x86_64-linux-musl.tar.gz (None otherwise)."""
    m = re.match(r"csb-(.+)-x86_64-linux-musl\.tar\.gz$", tar_name)
    return m.group(1) if m else None


def check(path, tar_name, size, digest, members, problems):
    version = release_version(tar_name)

    def bad(msg):
        problems.append("%s: %s" % (path, msg))

    with open(path, encoding="utf-8") as f:
        text = f.read()
    first, _, body = text.partition("\n")
    if first != SHEBANG:
        bad("first line must be %r" % SHEBANG)
        return
    try:
        doc = json.loads(body)
    except ValueError as e:
        bad("invalid JSON: %s" % e)
        return
    if doc.get("name") != os.path.basename(path):
        bad("name %r does not match the file name" % doc.get("name"))
    plat = doc.get("platforms", {}).get("linux-x86_64")
    if not isinstance(plat, dict):
        bad("no platforms.linux-x86_64 entry")
        return
    if plat.get("size") != size:
        bad("size %r != tarball size %d" % (plat.get("size"), size))
    if plat.get("hash") != "sha256":
        bad("hash must be \"sha256\", got %r" % plat.get("hash"))
    if plat.get("digest") != digest:
        bad("digest %r != tarball sha256 %s" % (plat.get("digest"), digest))
    if plat.get("format") != "tar.gz":
        bad("format must be \"tar.gz\", got %r" % plat.get("format"))
    want_path = "bin/" + os.path.basename(path)
    member = members.get(plat.get("path"))
    if plat.get("path") != want_path:
        bad("path %r must be %r (the tool the file is named after)" % (plat.get("path"), want_path))
    elif member is None:
        bad("path %r is not in the tarball" % plat.get("path"))
    elif not member.isreg() or not member.mode & 0o111:
        bad("path %r is not an executable file in the tarball" % plat.get("path"))
    providers = plat.get("providers")
    if not isinstance(providers, list) or not providers:
        bad("no providers")
    else:
        for p in providers:
            url = p.get("url", "") if isinstance(p, dict) else ""
            if not url.startswith("https://") or not url.endswith("/" + tar_name):
                bad("provider URL %r does not point at %s" % (url, tar_name))
            elif version and not {version, "v" + version} & set(url.split("/")[3:-1]):
                bad("provider URL %r is not in the release directory of version %s" % (url, version))


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    tarball = argv[1]
    with open(tarball, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    with tarfile.open(tarball, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    problems = []
    for path in argv[2:]:
        check(path, os.path.basename(tarball), len(data), digest, members, problems)
    for p in problems:
        print("check_dotslash: " + p, file=sys.stderr)
    if not problems:
        print("check_dotslash: %d manifest(s) match %s (sha256 %s)" %
              (len(argv) - 2, os.path.basename(tarball), digest))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
