#!/usr/bin/env python3
"""csb-winacl plans a policy with many entries in time about linear in them.

Two shapes, each planned well within its time limit:

  entries  20000 deny and read-only entries below the writable root
           (documents up to 16 MiB hold many more): each entry is looked
           up among the others through sorted keys, not compared with
           every one of them (which took minutes at 20000);
  roots    3000 writable roots below a writable root, each with a
           read-only carve-out: the roots above, below or at a path, the
           write entries behind a root and the carve-outs above a nested
           root are found through their keys, not by comparing every root
           with every root or carve-out (which took about half a minute
           at 3000).

    scale_test.py --bin PATH [--shape entries|roots]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
N_ENTRIES = 20000
N_ROOTS = 3000
LIMITS = {"entries": 60, "roots": 15}


def entries_shape(entries, dirs):
    for i in range(N_ENTRIES):
        path = "C:\\repo\\d%03d\\e%05d" % (i % 200, i)
        entries.append({"access": "deny" if i % 2 else "read", "origin": "scale", "path": path})


def entries_check(plan):
    denied = len(plan["deny_read"]["paths"])
    read_only = len(plan["deny_write"])
    mkdirs = sum(1 for m in plan["mkdir"] if m["for"] != "sandbox_dir")
    # every missing entry is created once, under one spelling
    if denied != N_ENTRIES // 2 or read_only != N_ENTRIES or mkdirs != N_ENTRIES:
        return "%d deny-read paths, %d read-only paths, %d directories to create" % (
            denied, read_only, mkdirs)
    return None


def roots_shape(entries, dirs):
    entries.append({"access": "write", "origin": "scale", "path": "C:\\ws"})
    for i in range(N_ROOTS):
        root = "C:\\ws\\r%04d" % i
        entries.append({"access": "write", "origin": "scale", "path": root})
        entries.append({"access": "read", "origin": "scale", "path": root + "\\ro"})
        dirs.append("C/ws/r%04d/ro" % i)


def roots_check(plan):
    roots = len(plan["write_roots"])
    read_only = len(plan["deny_write"])
    if roots != N_ROOTS + 2 or read_only != N_ROOTS:
        return "%d write roots, %d read-only paths" % (roots, read_only)
    # each carve-out is denied to the roots above it (C:\ws and its own),
    # each nested root kept in place against the outer root's DELETE
    want = {}
    for i in range(N_ROOTS):
        want[("deny_write", "C:\\ws\\r%04d\\ro" % i)] = ["cap:c:/ws", "cap:c:/ws/r%04d" % i]
        want[("protected_ancestor", "C:\\ws\\r%04d" % i)] = ["cap:c:/ws", "cap:c:/ws/r%04d" % i]
    got = {}
    for a in plan["aces"]:
        if a["source"] in ("deny_write", "protected_ancestor"):
            got.setdefault((a["source"], a["path"]), []).append(a["trustee"])
    if got != want:
        bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))[:3]
        return "carve-out ACEs differ, e.g. %s" % ["%s: %s, want %s" % (k, got.get(k), want.get(k))
                                                   for k in bad]
    return None


SHAPES = {"entries": (N_ENTRIES, entries_shape, entries_check),
          "roots": (N_ROOTS, roots_shape, roots_check)}


def run(binary, shape):
    n, build, check = SHAPES[shape]
    limit = LIMITS[shape]
    with open(os.path.join(HERE, "base_policy.json")) as f:
        policy = json.load(f)
    entries = list(policy["filesystem"]["entries"])
    dirs = ["C/repo", "C/Users/me"]
    build(entries, dirs)
    entries.sort(key=lambda e: (e["path"].encode(), e["access"]))
    policy["filesystem"]["entries"] = entries
    tmp = tempfile.mkdtemp(prefix="csb-winacl-scale-", dir=os.environ.get("TEST_TMPDIR"))
    try:
        fs = os.path.join(tmp, "fs")
        for d in dirs:
            os.makedirs(os.path.join(fs, d))
        pfile = os.path.join(tmp, "policy.json")
        with open(pfile, "w") as f:
            json.dump(policy, f)
        cmd = [binary, "plan", "--policy", pfile, "--fs-root", fs, "-i",
               "--csb-home", "C:\\Users\\me\\.csb", "--user-profile", "C:\\Users\\me",
               "--sid", "group=S-1-5-21-1-2-3-1001"]
        t0 = time.monotonic()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            print("FAIL: %s: no plan for %d within %d s" % (shape, n, limit))
            return 1
        secs = time.monotonic() - t0
        if r.returncode != 0:
            print("FAIL: %s: exit %d\n%s" % (shape, r.returncode, r.stderr))
            return 1
        why = check(json.loads(r.stdout))
        if why is not None:
            print("FAIL: %s: %s" % (shape, why))
            return 1
        print("ok: %s: %d planned in %.1f s" % (shape, n, secs))
        return 0
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), action="append")
    args = ap.parse_args()
    rc = 0
    for shape in args.shape or sorted(SHAPES):
        rc |= run(args.bin, shape)
    return rc


if __name__ == "__main__":
    sys.exit(main())
