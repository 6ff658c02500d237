#!/usr/bin/env python3
"""Writes one DotSlash file per tool for a csb release tarball.

usage: dotslash.py TARBALL VERSION URL_TEMPLATE OUTDIR TOOL...

URL_TEMPLATE may contain {version} and {tarball}. Each OUTDIR/TOOL is a
DotSlash file (https://dotslash-cli.com) that fetches the release tarball,
checks its size and sha256, and runs bin/TOOL from it.
"""

import hashlib
import json
import os
import sys

PLATFORM = "linux-x86_64"


def manifest(name, size, digest, url):
    return {
        "name": name,
        "platforms": {
            PLATFORM: {
                "size": size,
                "hash": "sha256",
                "digest": digest,
                "format": "tar.gz",
                "path": "bin/" + name,
                "providers": [{"url": url}],
            }
        },
    }


def main(argv):
    if len(argv) < 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    tarball, version, template, outdir = argv[1:5]
    with open(tarball, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    url = template.format(version=version, tarball=os.path.basename(tarball))
    for tool in argv[5:]:
        body = json.dumps(manifest(tool, len(data), digest, url), indent=2, sort_keys=False)
        with open(os.path.join(outdir, tool), "w", encoding="utf-8") as f:
            f.write("#!/usr/bin/env dotslash\n\n" + body + "\n")
        os.chmod(os.path.join(outdir, tool), 0o755)


if __name__ == "__main__":
    main(sys.argv)
