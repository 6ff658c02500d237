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

Wine runs headless and quickly: a private WINEPREFIX under the test's
temporary directory, WINEDEBUG=-all, no DISPLAY, Mono/Gecko installers
disabled, and one persistent wineserver for all runs.

    wine_compare.py --linux BIN --exe csb-winacl.exe [--wine PATH] [NAME...]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_golden  # noqa: E402  (the case format and tree builder)

# Fixture symlinks stand for junctions and symlinks. Wine shows a Unix
# symlink to a *file* to its programs as a plain file whose final path is the
# link itself (no reparse point), so the link's canonical target cannot be
# observed there; this case is checked for the exit status only. (Links to
# directories resolve under Wine as on Linux, and are compared in full.)
WINE_SKIP_OUTPUT = {
    "el-16-glob-symlink-target",
}


def find_wine(explicit):
    cands = [explicit] if explicit else []
    cands += [shutil.which("wine64"), "/usr/lib/wine/wine64", shutil.which("wine")]
    for c in cands:
        if c and os.path.exists(c):
            return c
    return None


def run_to_files(argv, cwd, env, tmp):
    """Runs argv with stdout/stderr in files: Wine's helper processes
    (winedevice, services) inherit the child's handles and would keep pipes
    open long after it exits."""
    out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        rc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err).returncode
    with open(out_path, "rb") as f:
        stdout = f.read()
    with open(err_path, "rb") as f:
        stderr = f.read()
    return subprocess.CompletedProcess(argv, rc, stdout, stderr)


def snapshot(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            with open(p, "rb") if os.path.isfile(p) else open(os.devnull, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def apply_check(linux, wine, exe, env, work):
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
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "base_policy.json"),
              encoding="utf-8") as f:
        doc = run_golden.json.load(f)
    doc["network"]["mode"] = "enabled"
    with open(pol, "w", encoding="utf-8") as f:
        run_golden.json.dump(doc, f)
    plan = os.path.join(tmp, "plan.json")
    p = subprocess.run([linux, "plan", "--backend", "unelevated", "--policy", pol, "--fs-root", fs,
                        "-i", "--csb-home", run_golden.DEFAULT_HOME, "-o", plan],
                       capture_output=True)
    if p.returncode != 0:
        return [("apply", ["planning failed: %s" % p.stderr.decode()])]
    before = snapshot(fs)
    r = run_to_files([wine, exe, "apply", "--plan", win_path(plan), "--fs-root", win_path(fs), "--",
                      "cmd", "/c", "echo", "sandboxed"], tmp, env, tmp)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode == 0 and b"sandboxed" in r.stdout:
        return []
    problems = []
    if r.returncode != 71 or "did not hold after SetNamedSecurityInfoW" not in err:
        problems.append("apply: expected the read-back verification to refuse (exit 71), got %d:\n%s"
                        % (r.returncode, err))
    if snapshot(fs) != before:
        problems.append("apply: the fixture changed although the apply was rolled back")
    return [("apply", problems)] if problems else []


def win_path(p):
    return "Z:" + p.replace("/", "\\")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--linux", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--wine")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    wine = find_wine(a.wine)
    if wine is None:
        print("wine_compare: wine64 not found: install Debian's wine64 (./dev.sh setup does)")
        return 1
    linux = os.path.abspath(a.linux)
    exe = os.path.abspath(a.exe)
    base = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp(prefix="csb-wine-")
    work = tempfile.mkdtemp(prefix="wine-cmp-", dir=base)
    prefix = os.path.join(work, "prefix")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": work,
        "XDG_CACHE_HOME": os.path.join(work, "cache"),
        "WINEPREFIX": prefix,
        "WINEDEBUG": "-all",
        "WINEDLLOVERRIDES": "mscoree,mshtml=;winemenubuilder.exe=d",
        "LC_ALL": "C",
    }
    # Creating the prefix takes a while; do it once, up front. Then keep one
    # wineserver (and its services) alive for every run.
    boot = run_to_files([wine, exe, "--version"], work, env, work)
    if boot.returncode != 0:
        print("wine_compare: `wine csb-winacl.exe --version` failed (%d):\n%s" %
              (boot.returncode, boot.stderr.decode("utf-8", "replace")))
        return 1
    wineserver = os.path.join(os.path.dirname(wine), "wineserver")
    if not os.path.exists(wineserver):
        wineserver = shutil.which("wineserver")
    if wineserver:
        # The server daemonizes: do not wait on its output.
        subprocess.run([wineserver, "-p"], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    cases_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
    names = sorted(n[:-5] for n in os.listdir(cases_dir) if n.endswith(".case"))
    if a.names:
        names = [n for n in names if n in a.names]
    compared = skipped = 0
    failures = []
    for name in names:
        with open(os.path.join(cases_dir, name + ".case"), encoding="utf-8") as f:
            header, _, sections = run_golden.parse_case(f.read())
        if header["args"].startswith("!"):
            skipped += 1
            continue
        tmp = tempfile.mkdtemp(prefix=name + "-", dir=work)
        fs = os.path.join(tmp, "fs")
        os.makedirs(fs)
        run_golden.build_tree(fs, header, sections)
        pol = os.path.join(tmp, "policy.json")
        with open(pol, "w", encoding="utf-8") as f:
            f.write(run_golden.policy_text(sections))
        lex = run_golden.shlex.shlex(header["args"], posix=True)
        lex.whitespace_split = True
        lex.escape = ""
        user = list(lex)
        if user and user[0] in ("plan", "simulate", "apply"):
            if user[0] != "plan":
                skipped += 1
                continue
            user.pop(0)
        common = ["-i"]
        if "--csb-home" not in user:
            common += ["--csb-home", run_golden.DEFAULT_HOME]
        if "--user-profile" not in user:
            common += ["--user-profile", run_golden.DEFAULT_PROFILE]
        lin = subprocess.run([linux, "plan", "--policy", pol, "--fs-root", fs] + common + user,
                             cwd=tmp, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
                             capture_output=True)
        win = run_to_files([wine, exe, "plan", "--policy", win_path(pol), "--fs-root",
                            win_path(fs)] + common + user, tmp, env, tmp)
        win_err = win.stderr.decode("utf-8", "replace")
        win_err = win_err.replace(win_path(pol), pol).replace(win_path(fs), fs)
        lin_err = lin.stderr.decode("utf-8", "replace")
        problems = []
        if lin.returncode != win.returncode:
            problems.append("exit status: linux %d, wine %d" % (lin.returncode, win.returncode))
        if name not in WINE_SKIP_OUTPUT:
            if lin.stdout != win.stdout:
                problems.append("stdout differs:\n--- linux\n%s--- wine\n%s" %
                                (lin.stdout.decode("utf-8", "replace")[:4000],
                                 win.stdout.decode("utf-8", "replace")[:4000]))
            if lin_err != win_err:
                problems.append("stderr differs:\n--- linux\n%s--- wine\n%s" % (lin_err, win_err))
        compared += 1
        if problems:
            failures.append((name, problems))
        shutil.rmtree(tmp, ignore_errors=True)
    failures += apply_check(linux, wine, exe, env, work)
    print("apply under Wine: %s" % ("FAILED" if failures and failures[-1][0] == "apply"
                                    else "refused and rolled back, or ran the command"))
    if wineserver:
        subprocess.run([wineserver, "-k"], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, problems in failures:
        print("FAIL %s" % name)
        for p in problems:
            print("  " + p.replace("\n", "\n  "))
    exact = compared - len([n for n in names if n in WINE_SKIP_OUTPUT])
    print("%d case(s) compared under Wine (%d byte for byte, %d exit status only), "
          "%d not applicable, %d failed" % (compared, exact, compared - exact, skipped,
                                             len(failures)))
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
