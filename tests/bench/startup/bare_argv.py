#!/usr/bin/env python3
"""Turns `csb-bwrap --print-argv` output into the bare bubblewrap argv with
the same mounts and namespaces, running CMD directly (no inner stage, no
seccomp): the baseline of the startup benchmark. Prints a shell-quoted
command line.

    bare_argv.py [--pid1 FLOOR] [CMD...]

With --pid1, bubblewrap runs FLOOR (bound where csb-bwrap binds itself) as
the sandbox's pid 1, which runs CMD: the floor rows of the benchmark."""
import json
import shlex
import sys

argv = json.load(sys.stdin)
args = sys.argv[1:]
pid1 = None
if args[:1] == ["--pid1"]:
    pid1, args = args[1], args[2:]
cmd = args or ["/bin/true"]
out = []
i = 0
while i < len(argv):
    a = argv[i]
    if a == "--":
        break
    if a in ("--info-fd", "--cap-add"):  # (the capabilities are the inner stage's)
        i += 2
        continue
    if a in ("--ro-bind-fd",) or (a == "--ro-bind" and argv[i + 1].startswith("/proc/self/fd/")):
        if pid1:
            out += ["--ro-bind", pid1, "/dev/.csb-floor"]
        i += 3  # our own binary
        continue
    if a in ("--ro-bind-data",):
        out += ["--ro-bind", "/dev/null", argv[i + 2]]  # same mount, no fd to pass
        i += 3
        continue
    out.append(a)
    i += 1
if pid1:
    cmd = ["/dev/.csb-floor"] + cmd
print(" ".join(shlex.quote(x) for x in out + ["--"] + cmd))
