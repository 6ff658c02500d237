"""Scratch workspaces and terminal runs shared by the suites that run
commands under csb-bwrap (tests/bwrap behaviour_test.py, tests/escape
escape_test.py)."""

import os
import pty
import select
import tempfile
import time

import policy_gen


def scratch_dir():
    """Where a suite creates its scratch directories: CSB_TEST_SCRATCH (set
    by unpriv.py), else /tmp (short paths: a Unix socket path is limited to
    107 bytes, Bazel's temporary directory is far longer)."""
    return os.environ.get("CSB_TEST_SCRATCH", "/tmp")


def root_only(reason):
    """Marks a case that asserts what csb-bwrap does for a root caller only.
    Run by another user, the variant registered with instead_when_unprivileged
    asserts what that caller must see instead; without one the case is
    skipped for `reason`."""
    def deco(fn):
        fn.root_only = reason
        return fn
    return deco


def instead_when_unprivileged(root_case):
    """Registers the decorated function as what runs instead of the
    root_only case `root_case` when the caller is not root."""
    def deco(fn):
        root_case.unprivileged = fn
        return fn
    return deco


def for_caller(fn):
    """(the function to run for this caller, None), or (None, why it is
    skipped): the unprivileged variant of a root_only case when not root."""
    if not getattr(fn, "root_only", None) or os.geteuid() == 0:
        return fn, None
    alt = getattr(fn, "unprivileged", None)
    return (alt, None) if alt else (None, fn.root_only)


class Workspace:
    """A fresh directory BASE (below `base`) holding a workspace BASE/ws, a
    directory outside it, and the policy file the suite passes to csb-bwrap."""

    def __init__(self, binary, base, prefix="case-", outside="outside", policy_name="policy.json"):
        self.bin = binary
        self.base = tempfile.mkdtemp(prefix=prefix, dir=base)
        self.ws = os.path.join(self.base, "ws")
        self.out = os.path.join(self.base, outside)
        os.makedirs(self.ws)
        os.makedirs(self.out)
        self.pfile = os.path.join(self.base, policy_name)

    def policy(self, entries=None, **kw):
        """Writes the policy file (policy_gen.policy; by default `/` readable
        and the workspace writable) and returns its path."""
        if entries is None:
            entries = [("/", "read"), (self.ws, "write")]
        self.last = (list(entries), dict(kw))
        with open(self.pfile, "w") as f:
            f.write(policy_gen.policy(self.ws, entries, **kw))
        return self.pfile


def tty_meta(path):
    """A terminal's mode, owner, group and change time: what a command that
    changed it through a writable mount would leave changed."""
    st = os.stat(path)
    return (st.st_mode, st.st_uid, st.st_gid, st.st_ctime_ns)


def drain_pty(master):
    """What waits to be read at a pseudo-terminal's master (the run that
    wrote it is over), without blocking, in a bounded number of reads; the
    terminal's carriage returns removed."""
    os.set_blocking(master, False)
    out = b""
    for _ in range(64):
        try:
            chunk = os.read(master, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace").replace("\r", "")


def run_tty(argv, cwd, env=None, timeout=30):
    """Runs argv in cwd with a new pseudo-terminal as its controlling
    terminal and stdio (`env` added to the environment). Returns the exit
    status (as subprocess reports it) and everything it wrote, with the
    terminal's carriage returns removed."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            if env:
                os.environ.update(env)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    data = b""
    status = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        # once the child is gone, only what is already buffered is read
        r, _, _ = select.select([fd], [], [], 0 if status is not None else 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            data += chunk
        elif status is not None:
            break
        else:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
    if status is None:
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), data.decode(errors="replace").replace("\r", "")
