"""Windows builds under Wine (Debian's wine64), shared by the Wine suites of
tests/resolve, tests/applypatch and tests/winacl: finding wine, one private
prefix with one persistent wineserver, runs whose output goes through files,
and batch runs of a test build whose main() runs the tool function for every
case (tests/lib/winbatch.h), since every Wine process start costs a fifth of
a second or more.

A runner loads it with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import wine

(in Bazel, `//tests/lib:wine` goes into the test's data).
"""

import json
import os
import shutil
import subprocess

NOT_FOUND = "wine64 not found: install Debian's wine64 (./dev.sh setup does)"

# Seconds the wineserver stays after its last process exits (see Wine.boot).
PERSIST = 60


def find(explicit=None):
    """The wine binary: `explicit`, else wine64 on PATH, Debian's
    /usr/lib/wine/wine64 or wine on PATH; None when there is none."""
    cands = [explicit] if explicit else []
    cands += [shutil.which("wine64"), "/usr/lib/wine/wine64", shutil.which("wine")]
    for c in cands:
        if c and os.path.exists(c):
            return c
    return None


def win(path):
    """The Windows spelling of an absolute POSIX path (Wine's Z: drive)."""
    return "Z:" + path.replace("/", "\\")


def posix(path):
    """The POSIX path of a Windows path on Z: (the inverse of win)."""
    return path[2:].replace("\\", "/")


def text(data):
    return data.decode("utf-8", "replace")


def print_failures(failures):
    """Prints `FAIL NAME` and the problems, indented, of each (name, problems)."""
    for name, problems in failures:
        print("FAIL %s" % name)
        for p in problems:
            print("  " + p.replace("\n", "\n  "))


class Wine:
    """Wine with a private prefix below `work` (headless: no Mono or Gecko
    installers, no menu entries, no debug output) and UTF-8 file names and
    arguments, since Wine converts them with the locale."""

    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": work,
            "XDG_CACHE_HOME": os.path.join(work, "cache"),
            "WINEPREFIX": os.path.join(work, "prefix"),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=;winemenubuilder.exe=d",
            "LC_ALL": "C.UTF-8",
        }
        server = os.path.join(os.path.dirname(binary), "wineserver")
        self.wineserver = server if os.path.exists(server) else shutil.which("wineserver")
        self.server_log = os.path.join(work, "wineserver.log")

    def run(self, argv, cwd, stdin=None):
        """Runs `wine ARGV` in cwd with standard input from the file `stdin`
        (default: none) and returns (exit status, stdout, stderr). The output
        goes through files: Wine's helper processes inherit the child's
        handles and would keep pipes open after it exits."""
        out_path = os.path.join(self.work, "run.out")
        err_path = os.path.join(self.work, "run.err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err, \
                open(stdin or os.devnull, "rb") as inp:
            rc = subprocess.run([self.binary] + argv, cwd=cwd, env=self.env, stdin=inp,
                                stdout=out, stderr=err, timeout=300).returncode
        with open(out_path, "rb") as f:
            stdout = f.read()
        with open(err_path, "rb") as f:
            stderr = f.read()
        return rc, stdout, stderr

    def boot(self, exe):
        """Starts the prefix's one wineserver, then creates the prefix (which
        takes a while) by running `exe --version`. Returns None, or what
        failed.

        Debian's wineserver exits as soon as its last process has (`-p0`):
        without a server of our own, each run would start a new server,
        wineboot and Wine's services, or race the shutdown of the previous
        run's server. Ours starts before the first run, as `wineserver -p`
        does nothing while another server holds the prefix, and stays
        PERSIST seconds after the last process exits: through the whole
        suite, but not for long after a suite that died without stop().

        A server is found by the device and inode of its prefix: one left
        by an earlier suite whose prefix is gone, and whose inode number our
        new prefix got, would serve us that missing prefix ("could not load
        kernel32.dll"). Whatever server answers for our prefix before we
        start ours is such a leftover, and is stopped first."""
        if self.wineserver:
            os.makedirs(self.env["WINEPREFIX"], exist_ok=True)
            self._server("-k")
            self._server("-w")
            with open(self.server_log, "wb") as log:
                rc = self._server("-p%d" % PERSIST, log)
            if rc != 0:
                return "`wineserver -p%d` failed (%d):\n%s" % (PERSIST, rc, self._log())
        rc, _, err = self.run([exe, "--version"], self.work)
        if rc != 0:
            return "`wine %s --version` failed (%d):\n%s" % (os.path.basename(exe), rc, text(err))
        return None

    def stop(self):
        """Stops the wineserver (and the processes it keeps) and prints what
        it wrote on its standard error, if anything (it says nothing unless
        something went wrong)."""
        self._server("-k")
        said = self._log()
        if said:
            print("wineserver said:\n  " + said.rstrip("\n").replace("\n", "\n  "))

    def _server(self, flag, stderr=subprocess.DEVNULL):
        """Runs `wineserver FLAG`; returns its exit status (0 when there is
        no wineserver to run)."""
        if not self.wineserver:
            return 0
        # A started server daemonizes and keeps its standard streams: do not
        # wait on its output.
        return subprocess.run([self.wineserver, flag], env=self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=stderr).returncode

    def _log(self):
        try:
            with open(self.server_log, "rb") as f:
                return text(f.read())
        except FileNotFoundError:
            return ""


class BatchError(Exception):
    """The batch process itself failed (exit status, stdout and stderr as text)."""

    def __init__(self, rc, out, err):
        super().__init__("exit %d" % rc)
        self.rc, self.out, self.err = rc, text(out), text(err)


class Batch:
    """The cases of one run of a batch build, `TOOL_batch.exe SPEC RESULTS`
    (tests/lib/winbatch.h); the spec, the results and each case's output
    are files in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        self.entries = []
        os.makedirs(directory, exist_ok=True)

    def add(self, cwd, env, args, stdin=None):
        """Adds a case: its working directory and standard input file (or
        None) in Windows spelling, the environment changes {NAME: VALUE, or
        None to remove} and the argument vector. Returns its index."""
        n = len(self.entries)
        self.entries.append({
            "cwd": cwd,
            "env": env,
            "args": args,
            "stdin": stdin,
            "stdout": win(os.path.join(self.dir, "%d.out" % n)),
            "stderr": win(os.path.join(self.dir, "%d.err" % n)),
        })
        return n

    def run(self, wine, exe, cwd):
        """Runs every case in one Wine process of `exe`; returns [(exit status,
        stdout, stderr)] in the order of the cases. Raises BatchError when the
        batch process fails."""
        spec = os.path.join(self.dir, "spec.json")
        results = os.path.join(self.dir, "results.json")
        if os.path.exists(results):
            os.remove(results)
        with open(spec, "w", encoding="utf-8") as f:
            json.dump(self.entries, f)
        rc, out, err = wine.run([exe, win(spec), win(results)], cwd)
        if rc != 0 or not os.path.exists(results):
            raise BatchError(rc, out, err)
        with open(results, encoding="utf-8") as f:
            codes = json.load(f)
        done = []
        for entry, code in zip(self.entries, codes):
            with open(posix(entry["stdout"]), "rb") as f:
                stdout = f.read()
            with open(posix(entry["stderr"]), "rb") as f:
                stderr = f.read()
            done.append((code, stdout, stderr))
        return done
