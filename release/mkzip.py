#!/usr/bin/env python3
"""Deterministic .zip writer for csb's Windows release.

usage: mkzip.py OUTPUT.zip SPEC

SPEC has one entry per line: `MODE<TAB>ARCHIVE_PATH<TAB>FILE` (MODE in
octal, e.g. 0755), like mktar.py's. The archive is byte-for-byte
reproducible: entries sorted by path, parent directories added explicitly
(mode 0755), every entry dated 1980-01-01 00:00:00 (the earliest date the
format has), Unix attributes from SPEC only (the inputs' own metadata is
ignored), no extra fields and no comment, deflate at level 9.
"""

import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mktar import die, parent_dirs, read_spec  # noqa: E402

EPOCH = (1980, 1, 1, 0, 0, 0)


def info(name, mode, is_dir):
    zi = zipfile.ZipInfo(name + ("/" if is_dir else ""), date_time=EPOCH)
    zi.create_system = 3  # Unix: external_attr carries the mode
    kind = 0o040000 if is_dir else 0o100000
    zi.external_attr = ((kind | mode) << 16) | (0x10 if is_dir else 0)
    zi.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
    return zi


def main():
    if len(sys.argv) != 3:
        die("usage: mkzip.py OUTPUT.zip SPEC")
    out, spec = sys.argv[1], sys.argv[2]
    entries = read_spec(spec)
    dirs = parent_dirs(entries)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(dirs | set(entries)):
            if name in dirs:
                z.writestr(info(name, 0o755, True), b"")
                continue
            mode, src = entries[name]
            with open(src, "rb") as f:
                data = f.read()
            z.writestr(info(name, mode, False), data, compress_type=zipfile.ZIP_DEFLATED,
                       compresslevel=9)


if __name__ == "__main__":
    main()
