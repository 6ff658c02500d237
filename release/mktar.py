#!/usr/bin/env python3
"""Deterministic .tar.gz writer for csb releases.

usage: mktar.py OUTPUT.tar.gz SPEC

SPEC is a text file with one entry per line: `MODE<TAB>ARCHIVE_PATH<TAB>FILE`
(MODE in octal, e.g. 0755). The archive is byte-for-byte reproducible: entries
are sorted by path and parent directories are added explicitly (mode 0755);
every entry has mtime 0, uid/gid 0, empty owner names and the mode given in
SPEC (file system metadata of the inputs is ignored); the ustar format is
used; gzip is written at level 9 with no file name and mtime 0.
"""

import gzip
import io
import os
import sys
import tarfile


def die(msg):
    """Exits 1 with `PROG: error: MSG` (PROG: the running script's name,
    so that mkzip.py, which shares read_spec, reports as itself)."""
    prog = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "mktar"
    print(prog + ": error: " + msg, file=sys.stderr)
    sys.exit(1)


def read_spec(path):
    """The SPEC file as {ARCHIVE_PATH: (MODE, FILE)} (shared with mkzip.py)."""
    entries = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                die("%s:%d: expected MODE<TAB>PATH<TAB>FILE" % (path, lineno))
            mode, arcname, src = parts
            if arcname.startswith("/") or ".." in arcname.split("/") or arcname.endswith("/"):
                die("%s:%d: bad archive path %r" % (path, lineno, arcname))
            if arcname in entries:
                die("%s:%d: duplicate archive path %r" % (path, lineno, arcname))
            entries[arcname] = (int(mode, 8), src)
    if not entries:
        die("%s: no entries" % path)
    return entries


def parent_dirs(entries):
    """The parent directories of the archive paths, which the archive holds
    as entries of their own (shared with mkzip.py); exits 1 when one of
    them is also a file."""
    dirs = set()
    for arcname in entries:
        parts = arcname.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    clash = dirs & set(entries)
    if clash:
        die("paths used both as file and directory: %s" % ", ".join(sorted(clash)))
    return dirs


def tarinfo(name, mode, kind, size=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.size = size
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def build(entries):
    dirs = parent_dirs(entries)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(dirs | set(entries)):
            if name in dirs:
                tar.addfile(tarinfo(name, 0o755, tarfile.DIRTYPE))
                continue
            mode, src = entries[name]
            with open(src, "rb") as f:
                data = f.read()
            tar.addfile(tarinfo(name, mode, tarfile.REGTYPE, len(data)), io.BytesIO(data))

    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def main(argv):
    if len(argv) != 3:
        die("usage: mktar.py OUTPUT.tar.gz SPEC")
    data = build(read_spec(argv[2]))
    tmp = argv[1] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, argv[1])


if __name__ == "__main__":
    main(sys.argv)
