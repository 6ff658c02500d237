"""Runs a csb-bwrap suite as an unprivileged user (the `--unprivileged` runs
of tests/bwrap behaviour_test.py and tests/escape escape_test.py).

Run by root (as Bazel runs the tests here), the suite is executed again as
uid/gid 65534 (nobody/nogroup), with no supplementary group and a clean
environment. Bazel's runfiles live below /root, which that user cannot
read: the suite's scripts, the files and directories named on its command
line and those named by the given environment variables are copied to a
fresh directory under /tmp (mode 0755, root's, removed afterwards). Its
home/, tmp/ and run/ belong to the user: HOME, TMPDIR and CSB_TEST_SCRATCH
(where the suites create their workspaces), and XDG_RUNTIME_DIR (mode
0700), so that csb-bwrap keeps its registry in run/csb-bwrap, away from
other runs on this host (the cases about /tmp/csb-bwrap-65534 and the
deny-glob cache, which csb-bwrap keeps only in the standard places, change
it themselves).
tmp/shared/foreign belongs to root (CSB_TEST_FOREIGN_DIR): a directory of
another user's inside one the user owns.

Run by any other user, the suite simply runs as that user.

Unprivileged user namespaces must work (bubblewrap needs them): when they
do not, the run fails, naming the setting to change, unless
CSB_TEST_ALLOW_NO_USERNS=1 (bazel test --test_env=CSB_TEST_ALLOW_NO_USERNS=1)
lets it pass as skipped.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile

UID = GID = 65534
SKIP_VAR = "CSB_TEST_ALLOW_NO_USERNS"
CLONE_NEWUSER = 0x10000000

# (sysctl file, value that forbids unprivileged user namespaces, the fix)
SETTINGS = (
    ("/proc/sys/kernel/unprivileged_userns_clone", "0",
     "sysctl kernel.unprivileged_userns_clone=1"),
    ("/proc/sys/user/max_user_namespaces", "0",
     "sysctl user.max_user_namespaces=15000 (any value above 0)"),
    ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
     "sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile granting "
     "`userns` to bwrap"),
)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _probe_userns():
    """In a child: exits 0 when unshare(CLONE_NEWUSER) works, else with the errno."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        os._exit(ctypes.get_errno() or 1)
    os._exit(0)


def userns_problem(uid=None):
    """None when a process of `uid` (None: this process's) can create a
    user namespace; otherwise why not, naming the setting to change."""
    for path, bad, fix in SETTINGS:
        if _read(path) == bad:
            return "%s is %s: unprivileged user namespaces are disabled (fix: %s)" % (path, bad, fix)
    pid = os.fork()
    if pid == 0:
        try:
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
            _probe_userns()
        finally:
            os._exit(126)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    names = ", ".join(p[len("/proc/sys/"):].replace("/", ".") for p, _, _ in SETTINGS)
    return ("uid %d cannot create a user namespace (unshare(CLONE_NEWUSER): %s); check the sysctls "
            "%s, and a container's seccomp or AppArmor profile"
            % (os.geteuid() if uid is None else uid, os.strerror(code) if 0 < code < 126 else "exit %d" % code,
               names))


def _copy(src, dst):
    """Copies the file or directory src (symlinks followed; a directory's
    files only, not its subdirectories) to dst, readable by everyone."""
    if os.path.isdir(src):
        os.makedirs(dst, mode=0o755)
        for name in sorted(os.listdir(src)):
            p = os.path.join(src, name)
            if os.path.isfile(p):
                _copy(p, os.path.join(dst, name))
    else:
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755 if os.access(src, os.X_OK) else 0o644)


def _mkdir_for_user(path, mode=0o700):
    os.mkdir(path, mode)
    os.chown(path, UID, GID)
    os.chmod(path, mode)


def run(script, args, env_files=()):
    """Called first by a suite's main() when --unprivileged was given.
    Returns None when the suite should just go on (this process is not
    root), else the exit status of the suite run again as uid 65534 with
    `args` (paths in it, and in the environment variables `env_files`,
    replaced by copies)."""
    who = None if os.geteuid() != 0 else UID
    why = userns_problem(who)
    if why:
        if os.environ.get(SKIP_VAR) == "1":
            print("SKIP: the unprivileged run needs user namespaces: %s (%s=1 allows the skip)" % (why, SKIP_VAR))
            return 0
        print("FAIL: the unprivileged run needs user namespaces: %s. Set %s=1 to let this target "
              "pass as skipped on such a host." % (why, SKIP_VAR), flush=True)
        return 1
    if who is None:
        print("running unprivileged as uid %d" % os.geteuid(), flush=True)
        return None
    old_umask = os.umask(0o022)
    stage = tempfile.mkdtemp(prefix="csb-unpriv-", dir="/tmp")
    os.chmod(stage, 0o755)
    child = None

    def on_term(signum, frame):
        if child is not None and child.poll() is None:
            child.send_signal(signum)
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, on_term) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        here = os.path.dirname(os.path.abspath(script))
        src = os.path.join(stage, "src")
        os.makedirs(os.path.join(src, "suite"), mode=0o755)
        _copy(os.path.join(here, "..", "lib"), os.path.join(src, "lib"))
        staged_script = os.path.join(src, "suite", os.path.basename(script))
        _copy(os.path.abspath(script), staged_script)
        bins = os.path.join(stage, "bin")
        os.mkdir(bins, 0o755)
        n = [0]

        def stage_path(p):
            n[0] += 1
            d = os.path.join(bins, str(n[0]))
            os.mkdir(d, 0o755)
            dst = os.path.join(d, os.path.basename(os.path.normpath(p)))
            _copy(p, dst)
            return dst

        new_args = []
        for i, a in enumerate(args):
            if (i == 0 or args[i - 1] != "-k") and os.path.exists(a):
                a = stage_path(a)
            new_args.append(a)
        home, tmp, rundir = (os.path.join(stage, d) for d in ("home", "tmp", "run"))
        for d in (home, tmp, rundir):
            _mkdir_for_user(d)
        shared = os.path.join(tmp, "shared")
        _mkdir_for_user(shared, 0o755)
        foreign = os.path.join(shared, "foreign")
        os.mkdir(foreign, 0o755)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": tmp,
            "XDG_RUNTIME_DIR": rundir,
            "USER": "nobody",
            "LOGNAME": "nobody",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "CSB_TEST_SCRATCH": tmp,
            "CSB_TEST_FOREIGN_DIR": foreign,
        }
        for k, v in os.environ.items():
            if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
                env[k] = v
        for k in env_files:
            v = os.environ.get(k)
            if v and os.path.exists(v):
                env[k] = stage_path(v)
        print("running unprivileged as uid %d (copies in %s)" % (UID, stage), flush=True)
        # (the system's python: this one may live where that user cannot read)
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        child = subprocess.Popen([python, staged_script, *new_args], cwd=home, env=env,
                                 user=UID, group=GID, extra_groups=[], umask=0o022)
        return child.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        shutil.rmtree(stage, ignore_errors=True)
        os.umask(old_umask)
