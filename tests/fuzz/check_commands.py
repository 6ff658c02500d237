#!/usr/bin/env python3
"""Builds every libFuzzer target with the command written at the top of its
file, as docs/fuzzing.md tells a reader to, and runs each binary briefly.

    tests/fuzz/check_commands.py [-j N] [--runs N] [NAME...]

A library that gains a source file, or a generated header, breaks those
commands without breaking any Bazel target; this catches it. Run from the
source tree after a Bazel build (bazel-bin/libs/cli/csb_version.h and
Bazel's unpacked cJSON are used), with clang and its libFuzzer runtime
(Debian: clang, libclang-rt-14-dev). Placeholders in the commands:
`<cJSON source>`, `$CJSON` and `$CJ` name the cJSON source directory
($CJSON, else Bazel's external/cjson); `/tmp/winupcase` is replaced by a
directory of this run holding the generated winupcase_table.h; `-o PATH`
by a binary of this run. A header that says its target is built "as
fuzz_X.c, with PATH" reuses fuzz_X.c's command with PATH as the entry
file. Each binary then runs 2,000 inputs from an empty corpus with a fixed
seed (`-runs`, `-seed=1`).

Prints one line per target; exit 0 when every target built and ran, 1
otherwise, 2 when clang or cJSON cannot be found.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def command_of(text):
    """The shell command of the header comment of `text`, or None."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^ \*\s+(clang .*)$", line)
        if not m:
            continue
        parts = [m.group(1)]
        j = i
        while parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1]
            j += 1
            parts.append(re.sub(r"^ \*\s*", "", lines[j]))
        return " ".join(parts)
    return None


def find_targets():
    files = sorted(glob.glob(os.path.join(ROOT, "libs/*/fuzz_*.c")) +
                   glob.glob(os.path.join(ROOT, "tools/*/fuzz_*.c")))
    texts = {os.path.relpath(f, ROOT): open(f, encoding="utf-8").read() for f in files}
    targets = {}
    for rel, text in texts.items():
        cmd = command_of(text)
        if cmd is None:
            m = re.search(r"as (fuzz_\w+\.c), with\s+\*?\s*(\S+\.c)", text)
            if m:
                other = os.path.join(os.path.dirname(rel), m.group(1))
                base = command_of(texts.get(other, ""))
                if base is not None and other in base:
                    cmd = base.replace(other, m.group(2))
        targets[rel] = cmd
    return targets


def cjson_dir():
    d = os.environ.get("CJSON")
    if d:
        return d
    try:
        out = subprocess.run(["bazel", "info", "output_base"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    d = os.path.join(out, "external", "cjson")
    return d if os.path.isfile(os.path.join(d, "cJSON.c")) else None


def check_one(rel, cmd, work, cj, runs):
    name = os.path.splitext(os.path.basename(rel))[0]
    if cmd is None:
        return rel, False, "no build command in its header"
    binary = os.path.join(work, name)
    cmd = re.sub(r"-o\s+\S+", "-o " + binary, cmd, count=1)
    cmd = cmd.replace("<cJSON source>", cj).replace("$CJSON", cj).replace("$CJ", cj)
    cmd = cmd.replace("/tmp/winupcase", os.path.join(work, "winupcase"))
    r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        errors = [l for l in (r.stdout + r.stderr).split("\n") if "error" in l or "undefined reference" in l]
        return rel, False, "build failed: " + ("; ".join(errors[:3]) or r.stderr[-300:])
    corpus = os.path.join(work, name + ".corpus")
    os.makedirs(corpus, exist_ok=True)
    env = dict(os.environ, UBSAN_OPTIONS="halt_on_error=1")
    r = subprocess.run([binary, "-runs=%d" % runs, "-seed=1", "-max_len=512", corpus], cwd=work,
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        return rel, False, "run failed (%d): %s" % (r.returncode, r.stderr[-400:])
    return rel, True, "built, %d inputs run" % runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-j", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    if shutil.which("clang") is None:
        print("check_commands: clang not found (Debian: clang, libclang-rt-14-dev)", file=sys.stderr)
        return 2
    cj = cjson_dir()
    if cj is None:
        print("check_commands: cJSON sources not found: build with Bazel first or set CJSON", file=sys.stderr)
        return 2
    targets = find_targets()
    if a.names:
        targets = {k: v for k, v in targets.items() if os.path.splitext(os.path.basename(k))[0] in a.names}
    with tempfile.TemporaryDirectory(prefix="csb-fuzz-commands.") as work:
        os.makedirs(os.path.join(work, "winupcase"))
        with open(os.path.join(work, "winupcase", "winupcase_table.h"), "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "libs/paths/gen_winupcase.py")], stdout=f,
                           check=True)
        failed = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
            futs = [ex.submit(check_one, rel, cmd, work, cj, a.runs) for rel, cmd in sorted(targets.items())]
            for fut in futs:
                rel, ok, what = fut.result()
                failed += not ok
                print("%-4s %-40s %s" % ("ok" if ok else "FAIL", rel, what), flush=True)
    print("fuzz build commands: %d of %d targets built and ran" % (len(targets) - failed, len(targets)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
