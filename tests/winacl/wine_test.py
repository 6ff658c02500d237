#!/usr/bin/env python3
"""Runs csb-winacl.exe under Wine and the Linux build side by side.

For every golden case that runs `plan` (cases/*.case, see run_golden.py)
the case's fixture tree and policy are built once; then

    LINUX plan --policy /abs/policy.json --fs-root /abs/fs ...
    wine csb-winacl.exe plan --policy Z:\\abs\\policy.json --fs-root Z:\\abs\\fs ...

and the two must agree byte for byte: exit status, standard output (the
JSON plan, or the --explain text) and standard error (after writing the
Windows spellings of the two paths back as the Linux ones). Cases listed
in WINE_SKIP_OUTPUT are compared only where noted there. Finally `apply`
runs once under Wine (see apply_check).

Wine runs through tests/lib/wine.py: a private prefix under the test's
temporary directory, one wineserver for all runs.

    wine_test.py --linux BIN --exe csb-winacl.exe [--wine PATH] [NAME...]
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import golden  # noqa: E402
import run_golden  # noqa: E402  (the case format and tree builder)
import wine  # noqa: E402
from wine import win  # noqa: E402

# Fixture symlinks stand for junctions and symlinks. Wine shows a Unix
# symlink to a *file* to its programs as a plain file whose final path is the
# link itself (no reparse point), so the link's canonical target cannot be
# observed there; this case is checked for the exit status only. (Links to
# directories resolve under Wine as on Linux, and are compared in full.)
WINE_SKIP_OUTPUT = {
    "el-16-glob-symlink-target",
}


def snapshot(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            with open(p, "rb") if os.path.isfile(p) else open(os.devnull, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def apply_check(linux, wn, exe, work):
    """`apply` end to end under Wine (unelevated backend). Wine accepts
    SetNamedSecurityInfoW without storing the DACL, so the applier's
    read-back verification must refuse and undo everything it did (the
    capability SID record it wrote); where a Wine version does store DACLs
    the command runs instead. Either way nothing is left half-applied."""
    tmp = tempfile.mkdtemp(prefix="apply-", dir=work)
    fs = os.path.join(tmp, "fs")
    os.makedirs(os.path.join(fs, "C", "repo", ".git"))
    os.makedirs(os.path.join(fs, "C", "Users", "me"))
    pol = os.path.join(tmp, "policy.json")
    with open(os.path.join(HERE, "base_policy.json"), encoding="utf-8") as f:
        doc = json.load(f)
    doc["network"]["mode"] = "enabled"
    with open(pol, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    plan = os.path.join(tmp, "plan.json")
    p = subprocess.run([linux, "plan", "--backend", "unelevated", "--policy", pol, "--fs-root", fs,
                        "-i", "--csb-home", run_golden.DEFAULT_HOME, "-o", plan],
                       capture_output=True)
    if p.returncode != 0:
        return [("apply", ["planning failed: %s" % p.stderr.decode()])]
    before = snapshot(fs)
    rc, out, err = wn.run([exe, "apply", "--plan", win(plan), "--fs-root", win(fs), "--",
                           "cmd", "/c", "echo", "sandboxed"], tmp)
    err = wine.text(err)
    if rc == 0 and b"sandboxed" in out:
        return []
    problems = []
    if rc != 71 or "did not hold after SetNamedSecurityInfoW" not in err:
        problems.append("apply: expected the read-back verification to refuse (exit 71), got %d:\n%s"
                        % (rc, err))
    if snapshot(fs) != before:
        problems.append("apply: the fixture changed although the apply was rolled back")
    return [("apply", problems)] if problems else []


def compare(wn, linux, exe, work, name):
    """Runs one case on Linux and under Wine; returns the problems, or None
    when the case does not run `plan`."""
    with open(os.path.join(HERE, "cases", name + ".case"), encoding="utf-8") as f:
        header, _, sections = run_golden.parse_case(f.read())
    if header["args"].startswith("!") or header["stdout"]:
        return None
    lex = shlex.shlex(header["args"], posix=True)
    lex.whitespace_split = True
    lex.escape = ""
    user = list(lex)
    if user and user[0] in ("plan", "simulate", "apply"):
        if user[0] != "plan":
            return None
        user.pop(0)
    tmp = tempfile.mkdtemp(prefix=name + "-", dir=work)
    fs = os.path.join(tmp, "fs")
    os.makedirs(fs)
    run_golden.build_tree(fs, header, sections)
    pol = os.path.join(tmp, "policy.json")
    with open(pol, "w", encoding="utf-8") as f:
        f.write(run_golden.policy_text(sections))
    common = ["-i"]
    if not golden.has_option(user, "--csb-home"):
        common += ["--csb-home", run_golden.DEFAULT_HOME]
    if not golden.has_option(user, "--user-profile"):
        common += ["--user-profile", run_golden.DEFAULT_PROFILE]
    lin = subprocess.run([linux, "plan", "--policy", pol, "--fs-root", fs] + common + user,
                         cwd=tmp, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
                         capture_output=True)
    rc, out, err = wn.run([exe, "plan", "--policy", win(pol), "--fs-root", win(fs)] + common + user,
                          tmp)
    win_err = wine.text(err).replace(win(pol), pol).replace(win(fs), fs)
    lin_err = wine.text(lin.stderr)
    problems = []
    if lin.returncode != rc:
        problems.append("exit status: linux %d, wine %d" % (lin.returncode, rc))
    if name not in WINE_SKIP_OUTPUT:
        if lin.stdout != out:
            problems.append("stdout differs:\n--- linux\n%s--- wine\n%s" %
                            (wine.text(lin.stdout)[:4000], wine.text(out)[:4000]))
        if lin_err != win_err:
            problems.append("stderr differs:\n--- linux\n%s--- wine\n%s" % (lin_err, win_err))
    shutil.rmtree(tmp, ignore_errors=True)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--linux", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--wine")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    binary = wine.find(a.wine)
    if binary is None:
        print("wine_test: " + wine.NOT_FOUND)
        return 1
    linux = os.path.abspath(a.linux)
    exe = os.path.abspath(a.exe)
    base = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp(prefix="csb-wine-")
    work = tempfile.mkdtemp(prefix="wine-cmp-", dir=base)
    wn = wine.Wine(binary, work)
    names = golden.case_names(os.path.join(HERE, "cases"), a.names)
    compared = skipped = 0
    failures = []
    try:
        # One prefix, one wineserver for every run.
        problem = wn.boot(exe)
        if problem:
            print("wine_test: " + problem)
            return 1
        for name in names:
            problems = compare(wn, linux, exe, work, name)
            if problems is None:
                skipped += 1
                continue
            compared += 1
            if problems:
                failures.append((name, problems))
        failures += apply_check(linux, wn, exe, work)
    finally:
        wn.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("apply under Wine: %s" % ("FAILED" if failures and failures[-1][0] == "apply"
                                    else "refused and rolled back, or ran the command"))
    wine.print_failures(failures)
    exact = compared - len([n for n in names if n in WINE_SKIP_OUTPUT])
    print("%d case(s) compared under Wine (%d byte for byte, %d exit status only), "
          "%d not applicable, %d failed" % (compared, exact, compared - exact, skipped,
                                             len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
