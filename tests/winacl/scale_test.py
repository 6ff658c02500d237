#!/usr/bin/env python3
"""csb-winacl plans a policy with many entries in time about linear in them.

A policy of 20000 deny and read-only entries below the writable root
(documents up to 16 MiB hold many more) must be planned well within the
time limit: each entry is looked up among the others through sorted keys,
not compared with every one of them (which took minutes at 20000).

    scale_test.py --bin PATH
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
N = 20000
LIMIT_SECONDS = 60


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    with open(os.path.join(HERE, "base_policy.json")) as f:
        policy = json.load(f)
    entries = list(policy["filesystem"]["entries"])
    for i in range(N):
        path = "C:\\repo\\d%03d\\e%05d" % (i % 200, i)
        entries.append({"access": "deny" if i % 2 else "read", "origin": "scale", "path": path})
    entries.sort(key=lambda e: (e["path"].encode(), e["access"]))
    policy["filesystem"]["entries"] = entries
    tmp = tempfile.mkdtemp(prefix="csb-winacl-scale-", dir=os.environ.get("TEST_TMPDIR"))
    try:
        fs = os.path.join(tmp, "fs")
        for d in ("C/repo", "C/Users/me"):
            os.makedirs(os.path.join(fs, d))
        pfile = os.path.join(tmp, "policy.json")
        with open(pfile, "w") as f:
            json.dump(policy, f)
        cmd = [args.bin, "plan", "--policy", pfile, "--fs-root", fs, "-i",
               "--csb-home", "C:\\Users\\me\\.csb", "--user-profile", "C:\\Users\\me",
               "--sid", "group=S-1-5-21-1-2-3-1001"]
        t0 = time.monotonic()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=LIMIT_SECONDS)
        except subprocess.TimeoutExpired:
            print("FAIL: no plan for %d entries within %d s" % (N, LIMIT_SECONDS))
            return 1
        secs = time.monotonic() - t0
        if r.returncode != 0:
            print("FAIL: exit %d\n%s" % (r.returncode, r.stderr))
            return 1
        plan = json.loads(r.stdout)
        denied = len(plan["deny_read"]["paths"])
        read_only = len(plan["deny_write"])
        mkdirs = sum(1 for m in plan["mkdir"] if m["for"] != "sandbox_dir")
        # every missing entry is created once, under one spelling
        if denied != N // 2 or read_only != N or mkdirs != N:
            print("FAIL: %d deny-read paths, %d read-only paths, %d directories to create"
                  % (denied, read_only, mkdirs))
            return 1
        print("ok: %d entries planned in %.1f s" % (N, secs))
        return 0
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
