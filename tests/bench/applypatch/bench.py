#!/usr/bin/env python3
"""Benchmark: csb-applypatch against Codex's apply_patch, side by side.

Not a test. Scenarios (each run on a fresh copy of its input, copy untimed):

  tree-2000   a 2,000-hunk patch (10 hunks in each of 200 files) over a
              20 MB tree of 200 files in 20 directories, given on stdin
              (533 kB: more than one argv string may hold), which is a file
              holding the patch (`< patch`: no other process feeds a pipe
              meanwhile). Codex runs as `apply_patch` (argv[0] dispatch of
              the codex binary), csb as `csb-applypatch -`.
  file-N      a 1-hunk patch near the end of one N MB file, for N in
              --sizes (default 10, 25, 50: whether the cost is linear in the
              file size). Codex runs as `codex --codex-run-as-apply-patch
              PATCH`, csb as `csb-applypatch PATCH`.

  hunks-H-N   H update hunks (each a separate "*** Update File:" of the same
              file, in file order; every one searches from the top again)
              against one N MB file, given on stdin (--hunks, default
              10000x50 and 100x50). Codex rereads and rewrites the file per
              hunk, which takes hours at these sizes: this scenario runs csb
              only, or csb against another csb build with --before BIN
              (--runs applies; keep H small for a quadratic build).

Both tools read the same patch and must produce byte-identical trees (the
script checks). Runs alternate between the tools (csb first on even runs,
Codex first on odd ones). Every run's copy is made before the first run
and all are removed at the end: ext4 without a journal does not reuse an
inode for a minute after it was freed, and each file creation scans past
all such inodes of its group, so removing a 200-file copy right before
each run would charge the harness's own deletions to the next run of the
tool that creates files (csb writes a temporary file per changed file;
Codex overwrites files in place). --churn does that instead (each copy
made right before its run, the previous one removed). Reported per scenario: the median over --runs of
wall time and of CPU time (user + system, the process and its threads), the
ratios of the medians codex/csb (> 1: csb is faster), and for the file
sizes the cost per MB and the ratios between sizes. With --strace, each
tool also runs once per scenario under `strace -f -c` and the system call
counts are printed. The load average before and after is printed too: on
a shared machine wall times are noisy, CPU times and system calls less so.

Usage:
  bench.py [--csb BIN] [--codex BIN] [--runs N] [--sizes 10,25,50]
           [--only tree|file|hunks] [--hunks 10000x50,100x50] [--before BIN]
           [--strace] [--churn] [--workdir DIR]

--csb defaults to bazel-bin/tools/csb-applypatch/csb-applypatch (the static
release binary; build it first). --codex takes the native codex binary or
the `node_modules/.bin/codex` launcher of the npm package @openai/codex
(the native binary next to it is used). Without it the native binary of
the peers `./dev.sh setup` installs ($CSB_PEERS_DIR, default
~/.cache/csb/peers) is used, else that of WORKDIR/npm, where the package is
installed with `npm i @openai/codex` when it is not there yet.
"""

import argparse
import filecmp
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
NATIVE = os.path.join("@openai", "codex-linux-*", "vendor", "*", "bin", "codex")


def native_codex(path):
    """The native binary for a codex path (the binary itself or the npm launcher)."""
    real = os.path.realpath(path)
    if not real.endswith(".js"):
        return real
    # node_modules/@openai/codex/bin/codex.js -> node_modules
    node_modules = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(real))))
    found = sorted(glob.glob(os.path.join(node_modules, NATIVE)))
    if not found:
        sys.exit("no native codex binary under %s" % node_modules)
    return found[0]


def codex_binaries(npm_dir):
    return sorted(glob.glob(os.path.join(npm_dir, "node_modules", NATIVE)))


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


def hunks_patch(n, hunks):
    """hunks update hunks of big.txt (n lines), one line each, in file order."""
    parts = ["*** Begin Patch\n"]
    step = n // hunks
    for h in range(hunks):
        i = h * step + step // 2
        parts.append("*** Update File: big.txt\n@@\n %s-%s+%s %s" % (
            line(i - 1), line(i), line(i).replace("brown", "BROWN"), line(i + 1)))
    parts.append("*** End Patch\n")
    return "".join(parts)


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


def stdin_file(path):
    return open(path or os.devnull, "rb")


def timed(argv, cwd, stdin_path):
    """(wall seconds, CPU seconds user+system) of one run."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with stdin_file(stdin_path) as stdin:
        r = subprocess.run(argv, cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (argv[0], r.stderr.decode(errors="replace")))
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return dt, cpu


def syscalls(argv, cwd, stdin_path, scratch):
    """(total system calls, the five most frequent as 'name:count') of one run."""
    out = os.path.join(scratch, "strace.txt")
    with stdin_file(stdin_path) as stdin:
        r = subprocess.run(["strace", "-f", "-c", "-o", out] + argv, cwd=cwd, stdin=stdin,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("strace %s failed: %s" % (argv[0], r.stderr.decode(errors="replace")))
    rows, total = [], 0
    with open(out) as f:
        for text in f:
            parts = text.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                rows.append((int(parts[3]), parts[-1]))
            elif parts and parts[-1] == "total":
                total = int(parts[3])
    rows.sort(reverse=True)
    return total, " ".join("%s:%d" % (name, n) for n, name in rows[:5])


def fresh_copy(src, work):
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work)
    subprocess.run(["sync"], check=False)


def bench(name, src, runs, cmds, stdin_path, scratch, strace, churn):
    """cmds: {"csb": argv, "codex": argv} (or other tools). Medians per tool,
    and syscall counts."""
    tools = tuple(cmds)
    times = {w: [] for w in tools}
    cpus = {w: [] for w in tools}
    results = {}
    made = []
    if not churn:
        # Every run's copy, made before any run is timed (see --churn).
        for k in range(runs):
            for who in tools:
                work = os.path.join(scratch, "%s-%s-%d" % (name, who, k))
                fresh_copy(src, work)
                made.append(work)
    for k in range(runs):
        order = tools if k % 2 == 0 else tools[::-1]
        for who in order:
            work = os.path.join(scratch, "%s-%s-%d" % (name, who, k))
            if churn:
                shutil.rmtree(results.get(who, work), ignore_errors=True)
                fresh_copy(src, work)
                made.append(work)
            wall, cpu = timed(cmds[who], work, stdin_path)
            times[who].append(wall)
            cpus[who].append(cpu)
            results[who] = work
    for who in tools[1:]:
        if not same_trees(results[tools[0]], results[who]):
            sys.exit("%s: %s and %s produced different trees" % (name, tools[0], who))
    calls = {}
    if strace:
        for who in tools:
            work = os.path.join(scratch, "%s-%s-strace" % (name, who))
            fresh_copy(src, work)
            made.append(work)
            calls[who] = syscalls(cmds[who], work, stdin_path, scratch)
    for w in made:
        shutil.rmtree(w, ignore_errors=True)
    med = statistics.median
    return {"wall": {w: med(times[w]) for w in times}, "cpu": {w: med(cpus[w]) for w in cpus},
            "calls": calls}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csb", default=os.path.join(REPO, "bazel-bin", "tools", "csb-applypatch",
                                                  "csb-applypatch"))
    ap.add_argument("--codex")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sizes", default="10,25,50")
    ap.add_argument("--only", choices=("tree", "file", "hunks"))
    ap.add_argument("--hunks", default="10000x50,100x50")
    ap.add_argument("--before")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--churn", action="store_true")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "csb-bench-applypatch"))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    os.makedirs(args.workdir, exist_ok=True)
    csb = os.path.abspath(args.csb)
    if not os.access(csb, os.X_OK):
        sys.exit("no csb-applypatch at %s (bazel build //tools/csb-applypatch)" % csb)
    before = os.path.abspath(args.before) if args.before else None
    codex = (None if args.only == "hunks" else
             native_codex(args.codex) if args.codex else find_codex(args.workdir))
    if args.strace and not shutil.which("strace"):
        sys.exit("--strace needs strace on PATH")
    scratch = tempfile.mkdtemp(prefix="run-", dir=args.workdir)
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir)
    codex_ap = os.path.join(bindir, "apply_patch")
    if codex:
        os.symlink(codex, codex_ap)

    load_before = loadavg()
    rows = []
    hunk_rows = []
    files = []  # (mb, result)
    try:
        if args.only in (None, "tree"):
            tree = os.path.join(scratch, "tree-src")
            make_tree(tree)
            patch = os.path.join(scratch, "tree.patch")
            with open(patch, "w") as f:
                f.write(tree_patch())
            r = bench("tree-2000", tree, args.runs, {"csb": [csb, "-"], "codex": [codex_ap]},
                      patch, scratch, args.strace, args.churn)
            rows.append(("tree-2000 (20 MB, 200 files, 2000 hunks)", r))
            shutil.rmtree(tree)
        if args.only in (None, "file"):
            for mb in sizes:
                src = os.path.join(scratch, "file-src-%d" % mb)
                os.makedirs(src)
                n = make_big_file(os.path.join(src, "big.txt"), mb)
                p = file_patch(n)
                r = bench("file-%d" % mb, src, args.runs,
                          {"csb": [csb, p], "codex": [codex, "--codex-run-as-apply-patch", p]},
                          None, scratch, args.strace, args.churn)
                rows.append(("file-%dmb (1 hunk near the end)" % mb, r))
                files.append((mb, r))
                shutil.rmtree(src)
        if args.only == "hunks":
            for spec in args.hunks.split(","):
                h, mb = (int(x) for x in spec.split("x"))
                src = os.path.join(scratch, "hunks-src")
                os.makedirs(src)
                n = make_big_file(os.path.join(src, "big.txt"), mb)
                patch = os.path.join(scratch, "hunks.patch")
                with open(patch, "w") as f:
                    f.write(hunks_patch(n, h))
                cmds = {"csb": [csb, "-"]}
                if before:
                    cmds["before"] = [before, "-"]
                r = bench("hunks-%d-%d" % (h, mb), src, args.runs, cmds, patch, scratch,
                          args.strace, args.churn)
                hunk_rows.append(("hunks-%d-%dmb (%d hunks, one %d MB file)" % (h, mb, h, mb), r))
                shutil.rmtree(src)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print("csb:   %s" % csb)
    if hunk_rows:
        print("before: %s" % (before or "-"))
        print("load average before %s, after %s" % (load_before, loadavg()))
        print("medians of %d runs each, seconds: wall, CPU (user+system)" % args.runs)
        for name, r in hunk_rows:
            w, c = r["wall"], r["cpu"]
            extra = ""
            if "before" in w:
                extra = " | before %8.3f %8.3f (%.1fx / %.1fx)" % (
                    w["before"], c["before"], w["before"] / w["csb"], c["before"] / c["csb"])
            print("%-42s %8.3f %8.3f%s" % (name, w["csb"], c["csb"], extra))
        return
    print("codex: %s" % codex)
    print("load average before %s, after %s" % (load_before, loadavg()))
    print("medians of %d runs each, seconds: wall time, and CPU time (user+system)" % args.runs)
    print("%-42s %8s %8s %7s | %8s %8s %7s" % ("scenario", "csb", "codex", "ratio",
                                             "csb cpu", "codex", "ratio"))
    for name, r in rows:
        w, c = r["wall"], r["cpu"]
        print("%-42s %8.3f %8.3f %6.1fx | %8.3f %8.3f %6.1fx" % (
            name, w["csb"], w["codex"], w["codex"] / w["csb"], c["csb"], c["codex"],
            c["codex"] / c["csb"]))
    print("(ratio = codex / csb; > 1 means csb is faster)")
    if any(r["calls"] for _, r in rows):
        print("system calls (one run under strace -f -c): total, most frequent")
        for name, r in rows:
            for who in ("csb", "codex"):
                total, top = r["calls"][who]
                print("  %-40s %-5s %7d  %s" % (name, who, total, top))
    if len(files) >= 2:
        print("cost against file size (median wall / CPU per MB, ms):")
        for mb, r in files:
            print("  %3d MB: csb %6.1f / %6.1f   codex %6.1f / %6.1f" % (
                mb, 1000 * r["wall"]["csb"] / mb, 1000 * r["cpu"]["csb"] / mb,
                1000 * r["wall"]["codex"] / mb, 1000 * r["cpu"]["codex"] / mb))
        (m0, r0), (m1, r1) = files[0], files[-1]
        print("  %d MB / %d MB (size ratio %.1f): csb wall %.2f cpu %.2f; codex wall %.2f cpu %.2f"
              % (m1, m0, m1 / m0, r1["wall"]["csb"] / r0["wall"]["csb"],
                 r1["cpu"]["csb"] / r0["cpu"]["csb"], r1["wall"]["codex"] / r0["wall"]["codex"],
                 r1["cpu"]["codex"] / r0["cpu"]["codex"]))


if __name__ == "__main__":
    main()
