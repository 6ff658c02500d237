#!/usr/bin/env python3
"""csb-resolve for Windows under Wine (Debian's wine64).

Three parts, in one private Wine prefix with one persistent wineserver:

1. shared: the Linux golden cases named in wine_shared.txt (cases/), whose
   results do not depend on the path syntax. Each builds one fixture tree;
   the shipped Linux binary runs on its POSIX spelling and the Windows build
   on its Windows spelling (`Z:\\var\\tmp\\...`): exit status, standard
   output and standard error must be equal byte for byte once the Windows
   spelling of paths below the tree is written back in POSIX form.
2. windows: the cases of wine_cases/ (the run_golden.py format; `$ROOT` is
   the tree's Windows spelling, JSON-escaped inside JSON strings), for what
   only Windows has: `:root` is the cwd's drive, %USERPROFILE%, %TEMP% and
   %ProgramData% stand for HOME, TMPDIR and /etc, no `/tmp`,
   case-insensitive paths and trust keys, `\\` in subpaths and patterns.
   The JSON documents must also pass docs/policy.schema.json
   (schema_test). Their setup has the keys of run_golden.py; the process
   runs with USERPROFILE=$ROOT\\home, ProgramData=$ROOT\\programdata and no
   CSB_HOME, CODEX_HOME, TMPDIR, TEMP or TMP unless `env:` sets them.
3. exe: the shipped csb-resolve.exe itself, for --version and for the
   cases marked `exe: yes` (whose inputs are all on the command line:
   Wine sets its own USERPROFILE and TEMP in a process's environment).

Parts 1 and 2 run in a single Wine process: a test build of the tool whose
main() runs the tool function for every case (tests/lib/winbatch.h), as a
Wine process start costs about a second.

    wine_test.py --linux BIN --exe csb-resolve.exe --batch resolve_batch.exe
                 [--wine PATH] [--update] [NAME...]

--update rewrites the expected results of wine_cases/ from the actual ones
(review the diff).
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import golden  # noqa: E402
import run_golden  # noqa: E402  (the Linux suite's runner: case layout)
import wine  # noqa: E402
from wine import win  # noqa: E402

WIN_HEADER = {"args": "", "env": "", "cwd": "repo", "exe": "no"}


def to_posix(text, root):
    """Writes the Windows spelling of paths below `root` (plain, and escaped
    as in JSON strings) back in POSIX form."""
    w = win(root)
    wj = w.replace("\\", "\\\\")
    text = re.sub(re.escape(wj) + r"((?:\\\\[^\\\s\"`':]*)*)",
                  lambda m: root + m.group(1).replace("\\\\", "/"), text)
    text = re.sub(re.escape(w) + r"((?:\\[^\\\s\"`':]*)*)",
                  lambda m: root + m.group(1).replace("\\", "/"), text)
    # The drive of the tree, `:root` (nothing else in these cases is on Z:),
    # and the document's platform.
    text = re.sub(r'Z:(?:\\\\|\\)(?=["\s]|$)', "/", text)
    return text.replace('"platform": "windows"', '"platform": "linux"')


def posix_arg_to_win(arg, root):
    """`$ROOT/a/b` in a Linux case's argument as the Windows spelling."""
    return re.sub(r"\$ROOT((?:/[^\s/'\"=]*)*)",
                  lambda m: win(root) + m.group(1).replace("/", "\\"), arg)


class Suite:
    def __init__(self, a, wn, work):
        self.a = a
        self.wine = wn  # a wine.Wine
        self.work = work
        self.batch = wine.Batch(os.path.join(work, "out"))
        self.callbacks = []  # callback(rc, stdout, stderr) of each batch case
        self.failures = []
        self.exe_cases = []  # (name, cwd, args, callback)
        self.counts = {"shared": 0, "windows": 0, "exe": 0}

    def new_root(self, name):
        root = os.path.join(self.work, "t", name)
        os.makedirs(os.path.join(root, "home"))
        os.makedirs(os.path.join(root, "repo"))
        return root

    def add(self, cwd, env, args, callback):
        self.batch.add(cwd, env, ["csb-resolve"] + args)
        self.callbacks.append(callback)

    # ---- 1. shared cases ----------------------------------------------------

    def shared(self, name):
        with open(os.path.join(HERE, "cases", name + ".case"), encoding="utf-8") as f:
            header, _, sections = golden.parse_case(f.read(), run_golden.HEADER)
        setup, _ = run_golden.split_results(sections)
        root = self.new_root(name)
        golden.build_tree(root, setup, lambda s: s.replace("$ROOT", root))
        env = {"PATH": "/usr/bin:/bin", "HOME": root + "/home"}
        wenv = {k: None for k in ("HOME", "CSB_HOME", "CODEX_HOME", "TMPDIR", "TEMP", "TMP")}
        wenv["USERPROFILE"] = win(root + "/home")
        wenv["ProgramData"] = win(root + "/programdata")
        for item in shlex.split(header["env"]):
            key, val = item.split("=", 1)
            wkey = "USERPROFILE" if key == "HOME" else key
            if val == "<unset>":
                env.pop(key, None)
                wenv[wkey] = None
            else:
                env[key] = val.replace("$ROOT", root)
                wenv[wkey] = posix_arg_to_win(val, root)
        raw = shlex.split(header["args"])
        args = [a.replace("$ROOT", root) for a in raw]
        wargs = [posix_arg_to_win(a, root) for a in raw]
        if not golden.has_option(args, "--system-config"):
            args = ["--system-config", root + "/etc/csb/config.toml"] + args
            wargs = ["--system-config", win(root + "/etc/csb/config.toml")] + wargs
        if not golden.has_option(args, "--requirements"):
            req = root + "/etc/csb/requirements.toml"
            args = ["--requirements", req if os.path.exists(req) else "/dev/null"] + args
            if os.path.exists(req):
                wargs = ["--requirements", win(req)] + wargs
        cwd = os.path.join(root, header["cwd"].replace("$ROOT", root))
        wrap = run_golden.user_database(root)[1] if "HOME" not in env else []
        lin = subprocess.run(wrap + [self.a.linux] + args, cwd=cwd, env=env, capture_output=True,
                             timeout=60)

        def check(rc, out, err):
            self.counts["shared"] += 1
            problems = []
            if rc != lin.returncode:
                problems.append("exit status: linux %d, windows %d" % (lin.returncode, rc))
            for what, w, l in (("stdout", out, lin.stdout), ("stderr", err, lin.stderr)):
                w = to_posix(w.decode("utf-8", "replace"), root)
                l = l.decode("utf-8", "replace")
                # the Linux run reads an empty /dev/null where the Windows
                # one finds no requirements file
                l = l.replace("\nrequirements: /dev/null\n", "\nrequirements: none\n")
                if w != l:
                    problems.append("%s differs:\n--- linux\n%s--- windows\n%s" % (what, l, w))
            if problems:
                self.failures.append(("shared " + name, problems))

        self.add(win(cwd), wenv, wargs, check)

    # ---- 2. Windows cases ---------------------------------------------------

    def windows_case(self, name):
        path = os.path.join(HERE, "wine_cases", name + ".case")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        header, head, sections = golden.parse_case(text, WIN_HEADER)
        setup, want = run_golden.split_results(sections)
        root = self.new_root(name)
        golden.build_tree(root, setup, lambda s: s.replace("$ROOT", win(root)))
        wroot = win(root)
        wenv = {k: None for k in ("HOME", "CSB_HOME", "CODEX_HOME", "TMPDIR", "TEMP", "TMP")}
        wenv["USERPROFILE"] = wroot + "\\home"
        wenv["ProgramData"] = wroot + "\\programdata"
        for item in self.split(header["env"]):
            key, val = item.split("=", 1)
            wenv[key] = None if val == "<unset>" else val.replace("$ROOT", wroot)
        args = [x.replace("$ROOT", wroot) for x in self.split(header["args"])]
        cwd = wroot + "\\" + header["cwd"].replace("/", "\\")

        def norm(data):
            s = data.decode("utf-8", "replace")
            return s.replace(wroot.replace("\\", "\\\\"), "$ROOT").replace(wroot, "$ROOT")

        def check(rc, out, err, how="windows"):
            self.counts["exe" if how == "exe" else "windows"] += 1
            got = {"exit": rc, "stdout": norm(out), "stderr": norm(err)}
            if self.a.update and how == "windows":
                results = [("exit %d" % got["exit"], "")]
                results += [(k, got[k]) for k in ("stdout", "stderr") if got[k]]
                new = golden.render_case(head, setup, results)
                if new != text:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(new)
                    print("updated %s" % name)
                return
            problems = []
            if "exit" not in want:
                problems.append("case has no '--- exit' section")
            elif got["exit"] != want["exit"]:
                problems.append("exit %d, expected %d" % (got["exit"], want["exit"]))
            problems += golden.compare(want, got, ("stdout", "stderr"))
            if problems:
                self.failures.append(("%s %s" % (how, name), problems))

        self.add(cwd, wenv, args, check)
        if header["exe"] == "yes":
            self.exe_cases.append((name, cwd, args, lambda rc, o, e: check(rc, o, e, "exe")))

    @staticmethod
    def split(s):
        """Shell-like words; a backslash is an ordinary character."""
        lex = shlex.shlex(s, posix=True)
        lex.whitespace_split = True
        lex.escape = ""
        return list(lex)

    # ---- running ------------------------------------------------------------

    def run_batch(self):
        try:
            results = self.batch.run(self.wine, self.a.batch, self.work)
        except wine.BatchError as e:
            self.failures.append(("batch", ["the batch run failed (%d):\n%s%s" % (
                e.rc, e.out, e.err)]))
            return
        for callback, (code, out, err) in zip(self.callbacks, results):
            callback(code, out, err)

    def boot(self):
        """Creates the prefix (which takes a while) with the shipped exe and
        keeps one wineserver for every later run."""
        problem = self.wine.boot(self.a.exe)
        if problem:
            self.failures.append(("exe boot", [problem]))
            return False
        return True

    def run_exe(self):
        lin = subprocess.run([self.a.linux, "--version"], capture_output=True)
        rc, out, err = self.wine.run([self.a.exe, "--version"], self.work)
        self.counts["exe"] += 1
        if (rc, out, err) != (lin.returncode, lin.stdout, lin.stderr):
            self.failures.append(("exe --version", ["linux %r, windows %r" % (
                (lin.returncode, lin.stdout, lin.stderr), (rc, out, err))]))
        for name, cwd, args, check in self.exe_cases:
            rc, out, err = self.wine.run([self.a.exe] + args, wine.posix(cwd))
            check(rc, out, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--linux", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--wine")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    a.linux, a.exe, a.batch = (os.path.abspath(p) for p in (a.linux, a.exe, a.batch))
    binary = wine.find(a.wine)
    if binary is None:
        print("wine_test: " + wine.NOT_FOUND)
        return 1
    # Trees below /var/tmp, as in the Linux suite (sorted outputs order
    # $ROOT the same way).
    work = os.path.realpath(tempfile.mkdtemp(prefix="wine-resolve.", dir="/var/tmp"))
    s = Suite(a, wine.Wine(binary, work), work)
    try:
        with open(os.path.join(HERE, "wine_shared.txt"), encoding="utf-8") as f:
            shared = [l.split("#")[0].strip() for l in f]
        shared = [n for n in shared if n and (not a.names or n in a.names)]
        wcases = golden.case_names(os.path.join(HERE, "wine_cases"), a.names)
        if not a.update:
            for n in shared:
                s.shared(n)
        for n in wcases:
            s.windows_case(n)
        # One prefix, one wineserver for every run.
        if s.boot():
            s.run_exe()
            s.run_batch()
    finally:
        s.wine.stop()
        shutil.rmtree(work, ignore_errors=True)
    wine.print_failures(s.failures)
    print("under Wine: %d shared case(s) byte for byte against Linux, %d Windows case(s), "
          "%d run(s) of the shipped exe; %d failed" % (
              s.counts["shared"], s.counts["windows"], s.counts["exe"], len(s.failures)))
    if a.update:
        return 0
    return 1 if s.failures or not (s.counts["shared"] and s.counts["windows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
