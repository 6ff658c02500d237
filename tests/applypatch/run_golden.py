#!/usr/bin/env python3
"""Golden-suite runner for csb-applypatch.

Each directory under cases/ is one scenario:

  args         first line: how the tool is invoked - "csb" (as csb-applypatch)
               or "apply_patch" / "applypatch" (argv[0] dispatch); every
               further line is one argument. "@PATCH@" is replaced by the
               patch text, "@POLICY@" by the policy file, "@ROOT@" by the
               scenario's root directory. Without "@PATCH@" the patch (if
               any) goes to standard input.
  patch.txt    the patch (bytes; "@ROOT@" substituted). patch.py instead
               prints it (for large generated patches).
  input/       the initial tree, copied to ROOT/work (the working directory)
  setup.sh     run in ROOT/work after the copy (symlinks, big files, ...)
  expected/    the tree expected afterwards; or expected.sh, run in an empty
               directory to build it; with neither, the tree must be left
               exactly as it was after setup.
  stdout, stderr, exit
               expected output (missing = empty) and exit status (missing = 0);
               "@ROOT@" stands for the scenario root, "@ID@" for the name
               of a transaction the run made up (in ".csb-applypatch-ID.",
               an ID no file of setup.sh has).
  check.sh     when present, run in ROOT/work after the tool; it must exit 0
               (for what the tree snapshot does not show: modes, owners)
  fsize        when present, the tool runs with RLIMIT_FSIZE set to the
               number of bytes it holds.
  drop_caps    when present, the tool runs without the capabilities it
               names, one a line ("fsetid"): as root, through
               `setpriv --inh-caps=-CAP --bounding-set=-CAP` (another user
               has none to drop).
  stdout_full  when present, the tool's standard output is /dev/full (no
               space left): the expected stdout is then empty.
  policy       when present, @POLICY@ is a csb.policy/v1 document with
               ROOT/work as the writable workspace root, "/" readable, and
               one extra entry per line of this file ("deny PATH",
               "write PATH", "read PATH"; PATH may use @ROOT@).
  then/        when present, a second run in the same tree once the first
               one's checks passed (a dry run, then the run it predicts):
               its args, stdout, stderr, exit, expected/ or expected.sh
               (neither: the tree as the first run left it), check.sh,
               fsize, drop_caps and stdout_full, as above; same patch,
               policy and setup.

ROOT/outside/secret.txt exists in every scenario and must never change, and
no ".csb-applypatch-*" file may remain anywhere under ROOT (but those that
setup.sh made, which the expected tree then names).

Usage: run_golden.py --bin PATH [--cases DIR] [--only NAME] [--record]
"""

import argparse
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import golden  # noqa: E402
import policy_gen  # noqa: E402


def read(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


def snapshot(top):
    """Map of relative path -> ('f', bytes, exec) | ('l', target) | ('d',) |
    ('s', file type) for FIFOs, sockets and devices."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d",)
            elif not stat.S_ISREG(st.st_mode):
                out[rel] = ("s", stat.S_IFMT(st.st_mode))  # never opened
            else:
                out[rel] = ("f", read(full), bool(st.st_mode & 0o100))
        # do not descend into symlinked directories (os.walk does not)
    return out


def describe_diff(want, got):
    lines = []
    for k in sorted(set(want) | set(got)):
        a, b = want.get(k), got.get(k)
        if a == b:
            continue
        def short(v):
            if v is None:
                return "missing"
            if v[0] == "f":
                data = v[1]
                s = repr(data[:120]) + ("..." if len(data) > 120 else "")
                return "file(%d bytes, exec=%s) %s" % (len(data), v[2], s)
            return repr(v)
        lines.append("  %s: expected %s, got %s" % (k, short(a), short(b)))
    return "\n".join(lines[:20])


def policy_doc(root, extra):
    work = os.path.join(root, "work")
    entries = [("/", "read", ":root"), (work, "write", ":workspace_roots")]
    for line in extra.decode().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        access, path = line.split(None, 1)
        entries.append((path.replace("@ROOT@", root), access, "test"))
    return policy_gen.doc(work, entries, profile=(":workspace", "builtin"),
                          summary="workspace-write [workdir]", projection_error="test policy")


# A transaction's name in the files it makes: .csb-applypatch-PID-RANDOM.
TXID = re.compile(rb"(\.csb-applypatch-)([0-9a-f]+-[0-9a-f]{16})(?=\.)")


def mask_ids(data, planted):
    """data with the transaction IDs that are not in `planted` as @ID@."""
    return TXID.sub(lambda m: m.group(0) if m.group(2) in planted else m.group(1) + b"@ID@",
                    data)


def leftovers(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if name.startswith(".csb-applypatch-"):
                found.append(os.path.join(dirpath, name))
    return found


def expected_tree(spec, root, env):
    """The tree spec/expected/ or spec/expected.sh describes, or None."""
    exp = os.path.join(root, "expected")
    if os.path.isdir(os.path.join(spec, "expected")):
        shutil.copytree(os.path.join(spec, "expected"), exp, symlinks=False)
    elif os.path.exists(os.path.join(spec, "expected.sh")):
        os.makedirs(exp)
        subprocess.run(["sh", os.path.join(spec, "expected.sh")], cwd=exp, env=env, check=True)
    else:
        return None
    want = snapshot(exp)
    shutil.rmtree(exp)
    return want


class Step:
    """One run of the tool in a scenario's tree, as a directory (the case,
    or its then/) describes it, and its checks."""

    def __init__(self, binary, record, root, env, patch, policy_path, planted, planted_ids):
        self.binary, self.record, self.root, self.env = binary, record, root, env
        self.patch, self.policy_path = patch, policy_path
        self.planted, self.planted_ids = planted, planted_ids
        self.work = os.path.join(root, "work")
        self.outside = os.path.join(root, "outside")

    def run(self, spec, want):
        """Runs the tool as spec says; the problems found (want: the tree
        expected afterwards)."""
        root, work, env, patch = self.root, self.work, self.env, self.patch
        args_lines = read(os.path.join(spec, "args"), b"csb\n").decode().split("\n")
        if args_lines and args_lines[-1] == "":
            args_lines.pop()
        mode = args_lines[0]
        extra = args_lines[1:]
        argv0 = os.path.join(root, "bin", "csb-applypatch" if mode == "csb" else mode)
        if not os.path.lexists(argv0):
            os.symlink(os.path.abspath(self.binary), argv0)

        argv = [argv0]
        drop = read(os.path.join(spec, "drop_caps"))
        if drop is not None and os.geteuid() == 0:
            caps = drop.decode().split()
            argv = (["setpriv"] + ["--inh-caps=" + ",".join("-" + c for c in caps),
                                   "--bounding-set=" + ",".join("-" + c for c in caps), "--"] +
                    argv)
        stdin = patch
        for a in extra:
            if a == "@PATCH@":
                argv.append(os.fsdecode(patch))
                stdin = None
            else:
                argv.append(a.replace("@POLICY@", self.policy_path).replace("@ROOT@", root))
        fsize = read(os.path.join(spec, "fsize"))
        limit = None
        if fsize is not None:
            n = int(fsize.strip())
            limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))  # noqa: E731
        full = None
        if os.path.exists(os.path.join(spec, "stdout_full")):
            full = open("/dev/full", "wb")
        try:
            res = subprocess.run(argv, cwd=work, env=env, input=stdin if stdin is not None else b"",
                                 stdout=full or subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                                 preexec_fn=limit)
        finally:
            if full:
                full.close()
        if full:
            res.stdout = b""
        out = mask_ids(res.stdout.replace(root.encode(), b"@ROOT@"), self.planted_ids)
        err = mask_ids(res.stderr.replace(root.encode(), b"@ROOT@"), self.planted_ids)

        if self.record:
            for fname, data in (("stdout", out), ("stderr", err)):
                p = os.path.join(spec, fname)
                if data:
                    with open(p, "wb") as f:
                        f.write(data)
                elif os.path.exists(p):
                    os.remove(p)
            p = os.path.join(spec, "exit")
            if res.returncode:
                with open(p, "w") as f:
                    f.write("%d\n" % res.returncode)
            elif os.path.exists(p):
                os.remove(p)

        problems = []
        want_out = read(os.path.join(spec, "stdout"), b"")
        want_err = read(os.path.join(spec, "stderr"), b"")
        want_exit = int(read(os.path.join(spec, "exit"), b"0").strip() or 0)
        if res.returncode != want_exit:
            problems.append("exit %d, expected %d" % (res.returncode, want_exit))
        if out != want_out:
            problems.append("stdout %r, expected %r" % (out[:400], want_out[:400]))
        if err != want_err:
            problems.append("stderr %r, expected %r" % (err[:400], want_err[:400]))
        if os.path.exists(os.path.join(spec, "check.sh")):
            chk = subprocess.run(["sh", os.path.join(spec, "check.sh")], cwd=work, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if chk.returncode != 0:
                problems.append("check.sh failed: %r" % chk.stdout[-400:])
        got = snapshot(work)
        if got != want:
            problems.append("tree differs:\n" + describe_diff(want, got))
        if read(os.path.join(self.outside, "secret.txt")) != b"secret\n" or \
                sorted(os.listdir(self.outside)) != ["secret.txt"]:
            problems.append("ROOT/outside was modified")
        left = [p for p in leftovers(root) if p not in self.planted]
        if left:
            problems.append("temporary files left: %s" % left[:5])
        return problems


def run_case(case_dir, binary, record, tmp_base):
    name = os.path.basename(case_dir)
    root = tempfile.mkdtemp(prefix="ap-", dir=tmp_base)
    root = os.path.realpath(root)
    try:
        work = os.path.join(root, "work")
        outside = os.path.join(root, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "secret.txt"), "wb") as f:
            f.write(b"secret\n")
        if os.path.isdir(os.path.join(case_dir, "input")):
            # Runfiles trees are made of symlinks: copy what they point to.
            shutil.copytree(os.path.join(case_dir, "input"), work, symlinks=False)
        else:
            os.makedirs(work)
        env = dict(os.environ, ROOT=root, LC_ALL="C")
        if os.path.exists(os.path.join(case_dir, "setup.sh")):
            subprocess.run(["sh", os.path.join(case_dir, "setup.sh")], cwd=work, env=env,
                           check=True)

        want = expected_tree(case_dir, root, env)
        if want is None:
            want = snapshot(work)
        planted = set(leftovers(root))
        planted_ids = {m.group(2) for p in planted
                       for m in [TXID.search(os.fsencode(os.path.basename(p)))] if m}
        patch = read(os.path.join(case_dir, "patch.txt"))
        if patch is None and os.path.exists(os.path.join(case_dir, "patch.py")):
            patch = subprocess.run([sys.executable, os.path.join(case_dir, "patch.py")],
                                   env=env, check=True, stdout=subprocess.PIPE).stdout
        if patch is not None:
            patch = patch.replace(b"@ROOT@", root.encode())

        policy = read(os.path.join(case_dir, "policy"))
        policy_path = os.path.join(root, "policy.json")
        if policy is not None:
            with open(policy_path, "w") as f:
                json.dump(policy_doc(root, policy), f, indent=2, sort_keys=True)
                f.write("\n")
        bindir = os.path.join(root, "bin")
        os.makedirs(bindir)

        step = Step(binary, record, root, env, patch, policy_path, planted, planted_ids)
        problems = step.run(case_dir, want)
        then = os.path.join(case_dir, "then")
        if os.path.isdir(then) and (record or not problems):
            want = expected_tree(then, root, env)
            if want is None:
                want = snapshot(work)
            problems += ["then: " + p for p in step.run(then, want)]
        return name, problems
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", root], check=False)
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"))
    ap.add_argument("--only", action="append")
    ap.add_argument("--record", action="store_true",
                    help="write stdout/stderr/exit from this run (review before committing)")
    args = ap.parse_args()
    tmp_base = os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()
    cases = golden.case_names(args.cases, args.only or (), dirs=True)
    return golden.run_suite(
        cases, lambda c: run_case(os.path.join(args.cases, c), args.bin, args.record, tmp_base)[1])


if __name__ == "__main__":
    sys.exit(main())
