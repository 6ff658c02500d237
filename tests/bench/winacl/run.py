#!/usr/bin/env python3
"""csb-winacl planning benchmark (not part of `bazel test`).

Builds a fixture file system with a 100,000-file tree under C:\\repo
(10 x 10 x 10 directories, 100 files each; 2% named *.env, some in upper
case) and times `csb-winacl plan` for the default workspace policy plus a
recursive deny-read glob, median of RUNS runs (whole process: policy
parsing, views, the glob walk, planning, JSON output to /dev/null):

    sparse  C:\\repo\\**\\*.env  (2,000 matches)     goal: median < 0.5 s
    dense   C:\\repo\\**         (every file and directory, 101,110 paths)

    run.py [--bin PATH] [--runs N] [--files N] [--keep]

Without --bin the static binary is built with Bazel ($BAZEL, default
`bazel`).
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def build(bazel):
    cmd = shlex.split(bazel) + ["build", "//tools/csb-winacl"]
    subprocess.run(cmd, cwd=REPO, check=True, stdout=sys.stderr)
    # The static binary is a copy made in the top-level configuration.
    bin_dir = subprocess.run(shlex.split(bazel) + ["info", "bazel-bin"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "tools", "csb-winacl", "csb-winacl")


def mktree(root, nfiles):
    per_dir = max(1, nfiles // 1000)
    n = 0
    for a in range(10):
        for b in range(10):
            for c in range(10):
                d = os.path.join(root, "C", "repo", "src%d" % a, "mod%d" % b, "pkg%d" % c)
                os.makedirs(d)
                for i in range(per_dir):
                    if n % 50 == 0:
                        name = "secret%d.env" % i if n % 100 else "SECRET%d.ENV" % i
                    else:
                        name = "file%d.txt" % i
                    with open(os.path.join(d, name), "w"):
                        pass
                    n += 1
    for d in ["C/Users/me", "C/Windows", "C/Program Files", "C/repo/.git"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    return n


def policy(path, pattern):
    with open(os.path.join(REPO, "tests", "winacl", "base_policy.json")) as f:
        doc = json.load(f)
    doc["filesystem"]["deny_globs"] = [{"origin": ":workspace_roots/bench", "pattern": pattern}]
    with open(path, "w") as f:
        json.dump(doc, f)


def bench(binary, fs, pol, runs, extra):
    argv = [binary, "plan", "--policy", pol, "--fs-root", fs, "-i", "--csb-home",
            "C:\\Users\\me\\.csb", "--user-profile", "C:\\Users\\me",
            "--sid", "group=S-1-5-21-1-2-3-1001"] + extra
    times = []
    matches = None
    for i in range(runs + 1):
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit("plan failed: " + p.stderr.decode())
        if i == 0:  # warm-up (page cache), not counted
            matches = json.loads(p.stdout)["deny_read"]["globs"][0]["matches"]
            continue
        times.append(dt)
    return statistics.median(times), min(times), max(times), matches


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "11")))
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin) if a.bin else build(os.environ.get("BAZEL", "bazel"))
    tmp = tempfile.mkdtemp(prefix="csb-bench-winacl-")
    try:
        fs = os.path.join(tmp, "fs")
        n = mktree(fs, a.files)
        load = open("/proc/loadavg").read().split()[:3]
        print("machine: %d CPUs, load %s; tree: %d files under C:\\repo" %
              (os.cpu_count(), " ".join(load), n))
        pol = os.path.join(tmp, "policy.json")
        for label, pattern, extra in [
            ("sparse", "C:\\repo\\**\\*.env", []),
            ("dense", "C:\\repo\\**", ["--max-deny-read-paths", "200000"]),
        ]:
            policy(pol, pattern)
            med, lo, hi, matches = bench(binary, fs, pol, a.runs, extra)
            print("%-6s %-22s %6d deny-read matches  median %.3f s  (min %.3f, max %.3f, %d runs)%s" %
                  (label, pattern, matches, med, lo, hi, a.runs,
                   "  goal < 0.5 s: %s" % ("met" if med < 0.5 else "MISSED") if label == "sparse" else ""))
    finally:
        if a.keep:
            print("tree kept in " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
