#!/usr/bin/env python3
"""Benchmark (not a test): resolving a 50-profile configuration.

Generates a config.toml with 50 named permission profiles in 5 inheritance
chains of 10 (each profile `extends` the previous one of its chain, the
first extends `:workspace`), each adding filesystem entries, a scoped
`:workspace_roots` table, a deny glob and network domains, plus a few
`--add-dir` roots. Then times csb-resolve:

  - `deepest`: selecting the last profile of a chain (10 levels of extends);
  - `all-50`: resolving every one of the 50 profiles once (-P NAME, one
    process each), total per round;

  - `roots-N`: a legacy `workspace-write` configuration with N writable
    roots (--roots, default 1000,5000,20000), one process each, CPU time
    (--roots "" skips it);

and prints the median (and min/max) over N rounds, wall time and, for the
first, CPU time (wall time suffers when the machine is busy). With several
--bin options the binaries take turns in every round (same machine, same
load), e.g. an older build next to the current one.

    bench_resolve.py --bin PATH/TO/csb-resolve [--bin OTHER ...] [--runs N]
                     [--roots 1000,5000,20000] [--roots-runs N]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

CHAINS, DEPTH = 5, 10


def write_config(path):
    lines = ['default_permissions = "c4p9"', ""]
    for c in range(CHAINS):
        for d in range(DEPTH):
            name = "c%dp%d" % (c, d)
            parent = ":workspace" if d == 0 else "c%dp%d" % (c, d - 1)
            lines += ["[permissions.%s]" % name,
                      'description = "chain %d level %d"' % (c, d),
                      'extends = "%s"' % parent,
                      "[permissions.%s.filesystem]" % name,
                      "glob_scan_max_depth = %d" % (d + 1),
                      '"/opt/c%d/l%d" = "read"' % (c, d),
                      '"/srv/c%d/l%d" = "%s"' % (c, d, "write" if d % 2 else "deny"),
                      '"~/cache/c%d/l%d" = "write"' % (c, d),
                      '"/data/c%d/l%d" = { "." = "read", "out" = "write", "**/*.key" = "deny" }' % (c, d),
                      '":workspace_roots" = { "gen%d" = "read", "secret%d" = "deny", "secret%d/open" = "write" }' % (d, d, d),
                      "[permissions.%s.network]" % name,
                      "enabled = %s" % ("true" if d % 3 == 0 else "false"),
                      "[permissions.%s.network.domains]" % name,
                      '"api%d.example.com" = "allow"' % d,
                      '"*.bad%d.example" = "deny"' % d,
                      ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_roots_config(path, n):
    roots = ", ".join('"/srv/bench-roots/w%05d"' % i for i in range(n))
    with open(path, "w") as f:
        f.write('sandbox_mode = "workspace-write"\n[sandbox_workspace_write]\n'
                "writable_roots = [%s]\n" % roots)


def time_run(cmd, env, cwd, cpu=None):
    """Wall time of one run; its CPU time (user+sys) is appended to cpu."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    if proc.returncode != 0:
        raise SystemExit("csb-resolve failed (%d): %s" % (proc.returncode, proc.stderr.decode()))
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, action="append")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--roots", default="1000,5000,20000")
    ap.add_argument("--roots-runs", type=int, default=5)
    opts = ap.parse_args()
    binaries = [os.path.abspath(b) for b in opts.bin]
    root = tempfile.mkdtemp(prefix="bench-resolve.", dir="/var/tmp")
    try:
        home = os.path.join(root, "home")
        os.makedirs(os.path.join(home, ".csb"))
        repo = os.path.join(root, "repo")
        os.makedirs(os.path.join(repo, ".git"))
        for i in range(3):
            os.makedirs(os.path.join(root, "extra%d" % i, ".git"))
        write_config(os.path.join(home, ".csb", "config.toml"))
        env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        args = ["--system-config", "/dev/null", "--requirements", "/dev/null"]
        for i in range(3):
            args += ["--add-dir", os.path.join(root, "extra%d" % i)]
        for b in binaries:
            time_run([b] + args, env, repo)  # warm-up (page cache)
        deepest = {b: [] for b in binaries}
        deepest_cpu = {b: [] for b in binaries}
        for _ in range(opts.runs):
            for b in binaries:
                deepest[b].append(time_run([b] + args, env, repo, deepest_cpu[b]))
        names = ["c%dp%d" % (c, d) for c in range(CHAINS) for d in range(DEPTH)]
        rounds = {b: [] for b in binaries}
        for _ in range(max(1, opts.runs // 5)):
            for b in binaries:
                rounds[b].append(sum(time_run([b] + args + ["-P", n], env, repo) for n in names))
        ms = lambda xs: "median %.2f ms (min %.2f, max %.2f, n=%d)" % (
            statistics.median(xs) * 1e3, min(xs) * 1e3, max(xs) * 1e3, len(xs))
        print("csb-resolve, 50 profiles in %d chains of %d, 3 --add-dir roots" % (CHAINS, DEPTH))
        for b in binaries:
            if len(binaries) > 1:
                print(b)
            print("  deepest profile (10 levels of extends): %s" % ms(deepest[b]))
            print("    CPU time (user+sys) of those runs:     %s" % ms(deepest_cpu[b]))
            print("  all 50 profiles, one process each:      %s" % ms(rounds[b]))
        for n in [int(x) for x in opts.roots.split(",") if x]:
            rhome = os.path.join(root, "roots%d" % n)
            os.makedirs(os.path.join(rhome, ".csb"))
            write_roots_config(os.path.join(rhome, ".csb", "config.toml"), n)
            renv = {"HOME": rhome, "PATH": env["PATH"]}
            rargs = ["--system-config", "/dev/null", "--requirements", "/dev/null"]
            cpu = {b: [] for b in binaries}
            for _ in range(opts.roots_runs):
                for b in binaries:
                    time_run([b] + rargs, renv, repo, cpu[b])
            print("%d writable roots, CPU time (user+sys)" % n)
            for b in binaries:
                print("  %s%s" % (b + ": " if len(binaries) > 1 else "", ms(cpu[b])))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
