#!/usr/bin/env python3
"""csb-applypatch for Windows under Wine (Debian's wine64), against the
Linux build.

Every scenario named in wine_shared.txt (cases/, the golden suite's format,
see run_golden.py) is set up twice, and the shipped Linux binary applies it
to one copy while the Windows build applies it to the other under Wine
(paths in its Windows spelling: `Z:\\...`; a policy is the same document
for platform windows). Then the two runs must agree byte for byte: exit
status, standard output and standard error (once the Windows spelling of
the scenario root is written as @ROOT@ and the separators after it as
`/`), and the resulting trees (file bytes and directories; Windows has no
mode bits, so the scenarios compared do not depend on them). ROOT/outside
must be untouched and no `.csb-applypatch-*` file left on either side.

The scenarios of wine_cases/ (the same format; setup.sh also gets WROOT,
the Windows spelling of ROOT) run only under Wine and are compared with
their expected results: what only Windows has (names that differ in case,
`\\` in patch paths, journals and pointer files of interrupted
transactions with Windows paths, protected names in any case).

Failure injection: the fault-injection build (applypatch_fi_batch.exe) makes
the system call of step N fail, for every N, while applying the patches of
fault_injection_test.py (a small one and one over 28 files in several
directories, with a move into new directories and a delete): every run must
exit 71 with the tree exactly as before and no temporary file (undone before
the commit point, rolled back from the restore copies after it), or succeed
with the tree the Linux build makes (a failed cleanup step leaves artifacts
that the next run in those directories removes). Killing the process is
left to the Linux suite (under Wine every stop would cost a process start).

The Windows side runs in one Wine process through a test build of the tool
whose main() runs the tool function for every scenario
(tests/lib/winbatch.h), since every Wine process start costs about a
second; the shipped csb-applypatch.exe itself runs once more for the
scenarios marked `exe` in wine_shared.txt, and `apply_patch.exe` (a copy)
for those marked `exe apply_patch`.

    wine_test.py --linux BIN --exe csb-applypatch.exe --batch applypatch_batch.exe
                 [--wine PATH] [--record] [NAME...]

--record writes stdout, stderr and exit of the wine_cases/ scenarios from
this run (review before committing).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import fault_injection_test as fi  # noqa: E402  (its patches and trees)
import golden  # noqa: E402
import policy_gen  # noqa: E402
import run_golden  # noqa: E402  (the Linux suite: scenario layout, snapshots)
import wine  # noqa: E402
from wine import win  # noqa: E402


def to_root(data, root, windows):
    """Output with the scenario root written as @ROOT@ (Windows: both
    spellings, plain and JSON-escaped, with `/` after it)."""
    s = data.decode("utf-8", "replace")
    if not windows:
        return s.replace(root, "@ROOT@")
    w = win(root)
    wj = w.replace("\\", "\\\\")
    s = re.sub(re.escape(wj) + r"((?:\\\\[^\\\s\"`':]*|/[^\\\s\"`':]*)*)",
               lambda m: "@ROOT@" + m.group(1).replace("\\\\", "/"), s)
    s = re.sub(re.escape(w) + r"((?:\\[^\\\s\"`':()]*|/[^\\\s\"`':()]*)*)",
               lambda m: "@ROOT@" + m.group(1).replace("\\", "/"), s)
    # The drive root, `:root` of the policy (nothing else is on Z:).
    return re.sub(r"Z:\\(?=[\s)]|$)", "/", s)


def policy_text(root, extra, windows):
    """The scenario's policy (run_golden.policy_doc), for platform windows
    with Windows paths when `windows`."""
    if not windows:
        doc = run_golden.policy_doc(root, extra)
    else:
        work = win(os.path.join(root, "work"))
        entries = [("Z:\\", "read", ":root"), (work, "write", ":workspace_roots")]
        for line in extra.decode().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            access, path = line.split(None, 1)
            entries.append((win(path.replace("@ROOT@", root)), access, "test"))
        doc = policy_gen.doc(work, entries, profile=(":workspace", "builtin"), platform="windows",
                             summary="workspace-write [workdir]",
                             projection_error="test policy")
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


class Scenario:
    """One scenario set up under `root` (the layout of run_golden.run_case;
    setup.sh runs on this host with ROOT, and WROOT the Windows spelling of
    ROOT). `cases` is cases/ or wine_cases/."""

    def __init__(self, name, root, windows, cases="cases"):
        self.name = name
        self.root = root
        self.windows = windows
        case = os.path.join(HERE, cases, name)
        self.case = case
        self.work = os.path.join(root, "work")
        self.outside = os.path.join(root, "outside")
        os.makedirs(self.outside)
        with open(os.path.join(self.outside, "secret.txt"), "wb") as f:
            f.write(b"secret\n")
        if os.path.isdir(os.path.join(case, "input")):
            shutil.copytree(os.path.join(case, "input"), self.work, symlinks=False)
        else:
            os.makedirs(self.work)
        if os.path.exists(os.path.join(case, "setup.sh")):
            subprocess.run(["sh", os.path.join(case, "setup.sh")], cwd=self.work, check=True,
                           env=dict(os.environ, ROOT=root, WROOT=win(root), LC_ALL="C"))
        rspell = win(root) if windows else root
        patch = run_golden.read(os.path.join(case, "patch.txt"))
        if patch is None and os.path.exists(os.path.join(case, "patch.py")):
            patch = subprocess.run([sys.executable, os.path.join(case, "patch.py")], check=True,
                                   stdout=subprocess.PIPE, env=dict(os.environ, ROOT=root)).stdout
        if patch is not None and windows:
            # @ROOT@/a/b as the Windows path.
            patch = re.sub(rb"@ROOT@((?:/[^\s/]*)*)",
                           lambda m: (win(root) + m.group(1).decode().replace("/", "\\")).encode(),
                           patch)
        elif patch is not None:
            patch = patch.replace(b"@ROOT@", rspell.encode())
        lines = run_golden.read(os.path.join(case, "args"), b"csb\n").decode().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.mode = lines[0]
        policy = run_golden.read(os.path.join(case, "policy"))
        policy_path = os.path.join(root, "policy.json")
        if policy is not None:
            with open(policy_path, "w", encoding="utf-8") as f:
                f.write(policy_text(root, policy, windows))
        self.args = []
        self.stdin = patch if patch is not None else b""
        for a in lines[1:]:
            if a == "@PATCH@":
                self.args.append(patch.decode("utf-8"))
                self.stdin = None
            else:
                ppath = win(policy_path) if windows else policy_path
                self.args.append(a.replace("@POLICY@", ppath).replace("@ROOT@", rspell))
        self.stdin_path = os.path.join(root, "stdin")
        with open(self.stdin_path, "wb") as f:
            f.write(self.stdin or b"")

    def result(self, rc, out, err):
        left = run_golden.leftovers(self.root)
        intact = (run_golden.read(os.path.join(self.outside, "secret.txt")) == b"secret\n" and
                  sorted(os.listdir(self.outside)) == ["secret.txt"])
        return {
            "exit": rc,
            "stdout": to_root(out, self.root, self.windows),
            "stderr": to_root(err, self.root, self.windows),
            "tree": run_golden.snapshot(self.work),
            "leftovers": left,
            "outside intact": intact,
        }


def run_linux(binary, sc):
    bindir = os.path.join(sc.root, "bin")
    os.makedirs(bindir)
    argv0 = os.path.join(bindir, "csb-applypatch" if sc.mode == "csb" else sc.mode)
    os.symlink(binary, argv0)
    res = subprocess.run([argv0] + sc.args, cwd=sc.work, input=sc.stdin or b"",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    return sc.result(res.returncode, res.stdout, res.stderr)


def compare(lin, w):
    """Problems where the Windows results `w` differ from `lin` (the Linux
    build's, or a wine_cases/ scenario's expected results)."""
    problems = []
    for k in ("exit", "stdout", "stderr"):
        if lin[k] != w[k]:
            problems.append("%s: expected %r, windows %r" % (k, lin[k], w[k]))
    if lin["tree"] != w["tree"]:
        problems.append("trees differ (expected, windows got):\n" +
                        run_golden.describe_diff(lin["tree"], w["tree"]))
    for side, r in (("linux", lin), ("windows", w)):
        if r["leftovers"]:
            problems.append("%s: temporary files left: %s" % (side, r["leftovers"][:5]))
        if not r["outside intact"]:
            problems.append("%s: ROOT/outside was modified" % side)
    return problems


def expected(sc):
    """The expected results of a wine_cases/ scenario (run_golden's rules)."""
    case = sc.case
    want = {"exit": int(run_golden.read(os.path.join(case, "exit"), b"0").strip() or 0),
            "stdout": run_golden.read(os.path.join(case, "stdout"), b"").decode(),
            "stderr": run_golden.read(os.path.join(case, "stderr"), b"").decode(),
            "leftovers": [], "outside intact": True}
    if os.path.isdir(os.path.join(case, "expected")):
        exp = os.path.join(sc.root, "expected")
        shutil.copytree(os.path.join(case, "expected"), exp, symlinks=False)
        want["tree"] = run_golden.snapshot(exp)
        shutil.rmtree(exp)
    else:
        want["tree"] = run_golden.snapshot(sc.work)
    return want


def record(sc, got):
    for fname in ("stdout", "stderr"):
        p = os.path.join(sc.case, fname)
        if got[fname]:
            with open(p, "w", encoding="utf-8") as f:
                f.write(got[fname])
        elif os.path.exists(p):
            os.remove(p)
    p = os.path.join(sc.case, "exit")
    if got["exit"]:
        with open(p, "w") as f:
            f.write("%d\n" % got["exit"])
    elif os.path.exists(p):
        os.remove(p)


def contents(top):
    """Regular files (bytes only: Windows has no mode bits) and the
    applier's artifacts under top."""
    snap = fi.snapshot(top)
    files = {k: v[1] for k, v in snap.items()
             if v[0] == "f" and not os.path.basename(k).startswith(".csb-applypatch-")}
    return files, fi.artifacts(top)


# Steps tried per patch (more than either takes on Windows, so that the last
# runs complete without a fault), and the stride: every step of the small
# patch, every third of the large one (whose steps repeat per file).
FAULT_SCENARIOS = (("small", fi.OLD, fi.PATCH, fi.PROBE, 60, 1),
                   ("batched", fi.MANY_OLD, fi.MANY_PATCH,
                    fi.probe_for(("", "sub", "d0", "d1", "d2", "d3"))[0], 150, 3))


def fault_suite(linux, fi_batch, wn, work, failures):
    """Runs the fail-mode injection under Wine (`wn`, a wine.Wine); returns
    the runs checked."""
    top = os.path.join(work, "fi")
    spec, runs = wine.Batch(os.path.join(top, "runs")), []
    for name, files, patch, probe, steps, stride in FAULT_SCENARIOS:
        ref = os.path.join(top, name + "-linux")
        os.makedirs(ref)
        fi.make_tree(ref, files)
        old, _ = contents(ref)
        r = subprocess.run([linux, patch], cwd=ref, capture_output=True, timeout=60)
        new, _ = contents(ref)
        if r.returncode != 0 or new == old:
            failures.append(("fault " + name, ["the Linux reference run failed: %r" % r.stderr]))
            continue
        for n in sorted(set(range(1, steps + 1, stride)) | {steps}):
            tree = os.path.join(top, "%s-%d" % (name, n))
            os.makedirs(tree)
            fi.make_tree(tree, files)
            env = {"CSB_PATCH_FAULT_STEP": str(n), "CSB_PATCH_FAULT_MODE": "fail",
                   "CSB_PATCH_FAULT_NOSYNC": "1"}
            spec.add(win(tree), env, ["csb-applypatch", patch])
            runs.append((name, n, tree, old, new, probe))
    if not runs:
        return 0

    def batch(b):
        try:
            return b.run(wn, fi_batch, work)
        except wine.BatchError as e:
            failures.append(("fault batch", ["failed (%d): %s%s" % (e.rc, e.out, e.err)]))
            return None

    results = batch(spec)
    if results is None:
        return 0
    probes, last, outcomes = [], {}, {}
    for (name, n, tree, old, new, probe), (rc, _, err) in zip(runs, results):
        tag = "fault %s step %d" % (name, n)
        now, left = contents(tree)
        if rc == 71:
            if now != old or left:
                failures.append((tag, ["exit 71 but the tree is not the old one or has "
                                       "leftovers %s: %s" % (left, sorted(set(now) ^ set(old)))]))
        elif rc == 0:
            if now != new:
                failures.append((tag, ["succeeded with a tree other than the Linux build's"]))
            if left:
                probes.append((tag, tree, new, probe))
        else:
            failures.append((tag, ["exit %d, expected 71 or 0: %s" % (rc, wine.text(err))]))
        last[name] = (rc, left, n)
        outcomes.setdefault(name, {}).setdefault(rc, 0)
        outcomes[name][rc] += 1
    for name, (rc, left, n) in last.items():
        if rc != 0 or left:
            failures.append(("fault " + name, ["step %d still failed: more steps than tried" % n]))
    if probes:
        again = wine.Batch(os.path.join(top, "probes"))
        for tag, tree, new, probe in probes:
            again.add(win(tree), {"CSB_PATCH_FAULT_STEP": None, "CSB_PATCH_FAULT_MODE": None},
                      ["csb-applypatch", probe])
        for (tag, tree, new, probe), (rc, _, _) in zip(probes, batch(again) or []):
            now, left = contents(tree)
            now = {k: v for k, v in now.items() if os.path.basename(k) != ".probe"}
            if rc != 0 or left or now != new:
                failures.append((tag, ["the next run did not clean up: exit %d, left %s" %
                                       (rc, left)]))
    for name, o in sorted(outcomes.items()):
        print("fault injection %s: exit statuses %s" % (name, dict(sorted(o.items()))))
        if o.get(71, 0) < 10 or o.get(0, 0) < 2:
            failures.append(("fault " + name, ["suspiciously few failed steps: %s" % o]))
    return len(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--linux", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--fi-batch")
    ap.add_argument("--wine")
    ap.add_argument("--record", action="store_true")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    linux, exe, batch = (os.path.abspath(p) for p in (a.linux, a.exe, a.batch))
    binary = wine.find(a.wine)
    if binary is None:
        print("wine_test: " + wine.NOT_FOUND)
        return 1
    listed = []
    with open(os.path.join(HERE, "wine_shared.txt"), encoding="utf-8") as f:
        for line in f:
            words = line.split("#")[0].split()
            if words and (not a.names or words[0] in a.names):
                listed.append((words[0], words[1:]))
    wnames = golden.case_names(os.path.join(HERE, "wine_cases"), a.names, dirs=True)
    base = os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()
    work = os.path.realpath(tempfile.mkdtemp(prefix="wine-ap.", dir=base))
    wn = wine.Wine(binary, work)
    failures = []
    fault_runs = 0

    try:
        # The prefix (created once, which takes a while) and one wineserver.
        problem = wn.boot(exe)
        if problem:
            print("wine_test: " + problem)
            return 1

        spec, pending, exe_runs = wine.Batch(os.path.join(work, "out")), [], []
        for name, flags in listed:
            lin = run_linux(linux, Scenario(name, os.path.join(work, "l", name), False))
            pending.append((name, Scenario(name, os.path.join(work, "w", name), True), lin))
            if flags and flags[0] == "exe":
                exe_runs.append((name, flags[1:], lin))
        for name in wnames:
            sc = Scenario(name, os.path.join(work, "w", name), True, "wine_cases")
            pending.append((name, sc, expected(sc)))
        for name, sc, _ in pending:
            spec.add(win(sc.work), {},
                     ["csb-applypatch" if sc.mode == "csb" else sc.mode] + sc.args,
                     win(sc.stdin_path))
        try:
            results = spec.run(wn, batch, work)
        except wine.BatchError as e:
            failures.append(("batch", ["the batch run failed (%d):\n%s%s" % (e.rc, e.out, e.err)]))
            results = []
        for (name, sc, lin), (code, out, err) in zip(pending, results):
            got = sc.result(code, out, err)
            if a.record and sc.case.endswith(os.path.join("wine_cases", name)):
                record(sc, got)
                continue
            problems = compare(lin, got)
            if problems:
                failures.append((name, problems))

        # The shipped exe (as itself, or copied to apply_patch.exe).
        for name, flags, lin in exe_runs:
            sc = Scenario(name, os.path.join(work, "x", name), True)
            exe_name = (flags[0] if flags else "csb-applypatch") + ".exe"
            copy = os.path.join(work, "x", name, exe_name)
            shutil.copyfile(exe, copy)
            rc, out, err = wn.run([copy] + sc.args, sc.work, sc.stdin_path)
            problems = compare(lin, sc.result(rc, out, err))
            if problems:
                failures.append(("exe " + name, problems))
        fault_runs = 0
        if a.fi_batch and not a.names and not a.record:
            fault_runs = fault_suite(linux, os.path.abspath(a.fi_batch), wn, work, failures)
            if fault_runs == 0:
                failures.append(("fault", ["no failure was injected"]))
    finally:
        wn.stop()
        subprocess.run(["chmod", "-R", "u+rwx", work], check=False)
        shutil.rmtree(work, ignore_errors=True)
    wine.print_failures(failures)
    print("under Wine: %d scenario(s) against the Linux build, %d Windows scenario(s), "
          "%d run(s) of the shipped exe, %d fault-injection run(s); %d failed" % (
              len(listed), len(wnames), len([1 for _, f in listed if f and f[0] == "exe"]),
              fault_runs, len(failures)))
    return 1 if failures or (not a.names and not (listed and wnames)) else 0


if __name__ == "__main__":
    sys.exit(main())
