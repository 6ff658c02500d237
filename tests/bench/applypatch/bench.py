#!/usr/bin/env python3
"""Benchmark: csb-applypatch against Codex's apply_patch, side by side.

Not a test. Scenarios (each run on a fresh copy of its input, copy untimed):

  tree-2000   a 2,000-hunk patch (10 hunks in each of 200 files) over a
              20 MB tree of 200 files, given on stdin (too large for argv):
              Codex runs as `apply_patch` (argv[0] dispatch of the codex
              binary), csb as `csb-applypatch -`.
  file-25mb   a 1-hunk patch near the end of a 25 MB file
  file-50mb   the same for a 50 MB file (the two sizes show whether the
              cost is linear in the file size). Codex runs as
              `codex --codex-run-as-apply-patch PATCH`, csb as
              `csb-applypatch PATCH`.

Both tools read the same patch and must produce byte-identical trees (the
script checks). Reported: median wall time of N runs each, interleaved, and
the ratio codex/csb (> 1 means csb is faster).

Usage:
  bench.py [--csb BIN] [--codex BIN] [--runs N] [--workdir DIR]

--csb defaults to bazel-bin/tools/csb-applypatch/csb-applypatch (the static
release binary; build it first). --codex defaults to the native binary of
the npm package @openai/codex from the peers `./dev.sh setup` installs
($CSB_PEERS_DIR, default ~/.cache/csb/peers), else from WORKDIR/npm, where
it is installed with `npm i @openai/codex` when it is not there yet.
"""

import argparse
import resource
import filecmp
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def codex_binaries(npm_dir):
    return glob.glob(os.path.join(npm_dir, "node_modules", "@openai", "codex-linux-*", "vendor",
                                  "*", "bin", "codex"))


def find_codex(workdir):
    peers = os.environ.get("CSB_PEERS_DIR") or os.path.expanduser("~/.cache/csb/peers")
    found = codex_binaries(peers)
    if found:
        return found[0]
    npm_dir = os.path.join(workdir, "npm")
    found = codex_binaries(npm_dir)
    if not found:
        os.makedirs(npm_dir, exist_ok=True)
        subprocess.run(["npm", "i", "--no-audit", "--no-fund", "@openai/codex"], cwd=npm_dir,
                       check=True)
        found = codex_binaries(npm_dir)
    if not found:
        sys.exit("cannot find the codex binary under %s" % npm_dir)
    return found[0]


def line(i, width=64):
    s = "line %08d: the quick brown fox jumps over the lazy dog" % i
    return (s + " " * width)[: width - 1] + "\n"


def make_tree(top, files=200, lines_per_file=1600):
    """200 files x 1600 lines x 64 bytes = 20.5 MB."""
    for f in range(files):
        d = os.path.join(top, "pkg%02d" % (f % 20))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "file%03d.txt" % f), "w") as out:
            out.write("".join(line(i) for i in range(lines_per_file)))


def tree_patch(files=200, lines_per_file=1600, hunks_per_file=10):
    parts = ["*** Begin Patch\n"]
    step = lines_per_file // hunks_per_file
    for f in range(files):
        parts.append("*** Update File: pkg%02d/file%03d.txt\n" % (f % 20, f))
        for h in range(hunks_per_file):
            i = h * step + step // 2
            parts.append("@@\n %s-%s+%s %s" % (
                line(i - 1), line(i), line(i).replace("quick", "QUICK"), line(i + 1)))
    parts.append("*** End Patch\n")
    return "".join(parts)


def make_big_file(path, mb):
    n = mb * 1024 * 1024 // 64
    with open(path, "w") as out:
        chunk = 100000
        for start in range(0, n, chunk):
            out.write("".join(line(i) for i in range(start, min(n, start + chunk))))
    return n


def file_patch(n):
    i = n - 10
    return ("*** Begin Patch\n*** Update File: big.txt\n@@\n %s-%s+%s %s*** End Patch\n" % (
        line(i - 1), line(i), line(i).replace("lazy", "LAZY"), line(i + 1)))


def same_trees(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    for sub in cmp.common_dirs:
        if not same_trees(os.path.join(a, sub), os.path.join(b, sub)):
            return False
    # dircmp compares shallowly (stat); compare bytes too.
    for name in cmp.common_files:
        if not filecmp.cmp(os.path.join(a, name), os.path.join(b, name), shallow=False):
            return False
    return True


def timed(argv, cwd, stdin_data):
    """(wall seconds, CPU seconds user+system) of one run."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, input=stdin_data, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (argv[0], r.stderr.decode(errors="replace")))
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return dt, cpu


def bench(name, src, runs, csb_cmd, codex_cmd, stdin_data, scratch):
    times = {"csb": [], "codex": []}
    cpus = {"csb": [], "codex": []}
    results = {}
    for k in range(runs):
        order = ("csb", "codex") if k % 2 == 0 else ("codex", "csb")
        for who in order:
            work = os.path.join(scratch, "%s-%s" % (name, who))
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(src, work)
            subprocess.run(["sync"], check=False)
            cmd = csb_cmd if who == "csb" else codex_cmd
            wall, cpu = timed(cmd, work, stdin_data)
            times[who].append(wall)
            cpus[who].append(cpu)
            results[who] = work
    if not same_trees(results["csb"], results["codex"]):
        sys.exit("%s: csb and codex produced different trees" % name)
    for w in results.values():
        shutil.rmtree(w, ignore_errors=True)
    med = statistics.median
    return (med(times["csb"]), med(times["codex"]), med(cpus["csb"]), med(cpus["codex"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csb", default=os.path.join(REPO, "bazel-bin", "tools", "csb-applypatch",
                                                  "csb-applypatch"))
    ap.add_argument("--codex")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "csb-bench-applypatch"))
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    csb = os.path.abspath(args.csb)
    if not os.access(csb, os.X_OK):
        sys.exit("no csb-applypatch at %s (bazel build //tools/csb-applypatch)" % csb)
    codex = os.path.abspath(args.codex) if args.codex else find_codex(args.workdir)
    scratch = tempfile.mkdtemp(prefix="run-", dir=args.workdir)
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir)
    codex_ap = os.path.join(bindir, "apply_patch")
    os.symlink(codex, codex_ap)

    rows = []
    try:
        tree = os.path.join(scratch, "tree-src")
        make_tree(tree)
        patch = tree_patch().encode()
        r = bench("tree-2000", tree, args.runs, [csb, "-"], [codex_ap], patch, scratch)
        rows.append(("tree-2000 (20 MB, 200 files, 2000 hunks)",) + r)
        shutil.rmtree(tree)
        for mb in (25, 50):
            src = os.path.join(scratch, "file-src-%d" % mb)
            os.makedirs(src)
            n = make_big_file(os.path.join(src, "big.txt"), mb)
            p = file_patch(n)
            r = bench("file-%d" % mb, src, args.runs, [csb, p],
                      [codex, "--codex-run-as-apply-patch", p], None, scratch)
            rows.append(("file-%dmb (1 hunk near the end)" % mb,) + r)
            shutil.rmtree(src)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print("csb:   %s" % csb)
    print("codex: %s" % codex)
    print("medians of %d runs each, seconds: wall time, and CPU time (user+system)" % args.runs)
    print("%-42s %8s %8s %7s | %8s %8s %7s" % ("scenario", "csb", "codex", "ratio",
                                             "csb cpu", "codex", "ratio"))
    for name, c, x, cc, xc in rows:
        print("%-42s %8.3f %8.3f %6.1fx | %8.3f %8.3f %6.1fx" % (name, c, x, x / c, cc, xc,
                                                                 xc / cc))
    print("(ratio = codex / csb; > 1 means csb is faster)")
    f25 = [r for r in rows if r[0].startswith("file-25")][0]
    f50 = [r for r in rows if r[0].startswith("file-50")][0]
    print("linearity, 50 MB / 25 MB: csb wall %.2f cpu %.2f; codex wall %.2f cpu %.2f" % (
        f50[1] / f25[1], f50[3] / f25[3], f50[2] / f25[2], f50[4] / f25[4]))


if __name__ == "__main__":
    main()
