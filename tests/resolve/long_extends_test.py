#!/usr/bin/env python3
"""csb-resolve with an `extends` chain of N profiles resolves it exactly.

The chain p0 -> p1 -> ... -> pN is split between the system, the user and
a trusted project layer (each file within the 4 MiB limit); pN grants
`:root` read. The
document must name every ancestor in order. The same chain closed into a
cycle (pN extends p0) must be refused with the whole cycle in the message.

Each run has a time limit of 90 seconds, far above what a run takes (a few
seconds with 270,000 profiles): a cycle check that scanned the chain at
each step took minutes.

    long_extends_test.py CSB_RESOLVE [N]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

LIMIT_SECONDS = 90


def profiles(lo, hi, n, cycle):
    out = []
    for i in range(lo, hi):
        parent = i + 1 if i < n else (0 if cycle else None)
        out.append("[permissions.p%d]\n" % i)
        if parent is not None:
            out.append('extends = "p%d"\n' % parent)
    if hi > n:
        out.append('[permissions.p%d.filesystem]\n":root" = "read"\n' % n)
    return "".join(out)


def run(binary, top, n, cycle):
    """The chain in thirds: system layer, user layer, trusted project layer."""
    home = os.path.join(top, "home")
    repo = os.path.join(top, "repo")
    os.makedirs(os.path.join(home, ".csb"), exist_ok=True)
    os.makedirs(os.path.join(repo, ".git"), exist_ok=True)
    os.makedirs(os.path.join(repo, ".csb"), exist_ok=True)
    a, b = n // 3, 2 * n // 3
    system = os.path.join(top, "system.toml")
    with open(system, "w") as f:
        f.write(profiles(b, n + 1, n, cycle))
    with open(os.path.join(home, ".csb", "config.toml"), "w") as f:
        f.write('default_permissions = "p0"\n[projects."%s"]\ntrust_level = "trusted"\n' % repo
                + profiles(0, a, n, cycle))
    with open(os.path.join(repo, ".csb", "config.toml"), "w") as f:
        f.write(profiles(a, b, n, cycle))
    env = {"HOME": home, "PATH": "/usr/bin:/bin"}
    return subprocess.run([binary, "--system-config", system, "--requirements", "/dev/null"],
                          env=env, cwd=repo, capture_output=True, text=True,
                          timeout=LIMIT_SECONDS)


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 270000
    top = os.path.realpath(tempfile.mkdtemp(prefix="long_extends."))
    try:
        p = run(binary, top, n, False)
        if p.returncode != 0:
            raise SystemExit("csb-resolve failed (%d): %s" % (p.returncode, p.stderr[:2000]))
        doc = json.loads(p.stdout)
        want = ["p%d" % i for i in range(1, n + 1)]
        if doc["profile"]["extends"] != want:
            raise SystemExit("extends: %r..." % doc["profile"]["extends"][:5])
        if doc["filesystem"]["entries"] != [{"access": "read", "origin": ":root", "path": "/"}]:
            raise SystemExit("entries: %r" % doc["filesystem"]["entries"])
        p = run(binary, top, n, True)
        cycle = " -> ".join(["p%d" % i for i in range(0, n + 1)] + ["p0"])
        if p.returncode != 78 or cycle not in p.stderr:
            raise SystemExit("cycle: exit %d, %s" % (p.returncode, p.stderr[:2000]))
        print("ok: a chain of %d profiles and its cycle" % n)
    finally:
        shutil.rmtree(top)


if __name__ == "__main__":
    main()
