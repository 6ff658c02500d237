#!/usr/bin/env python3
"""Escape suite for csb-bwrap: hostile probes (static C programs from this
directory) run inside the sandbox; every one must be blocked.

usage: escape_test.py [--unprivileged] CSB_BWRAP PROBE_DIR [-k SUBSTRING]

Prints a table (probe, expected, observed) and "N passed, M failed"; exits
1 when any probe escaped (or could not run). --unprivileged: run by root,
the probes run as uid 65534 (tests/lib/unpriv.py).
"""

import fcntl
import hashlib
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sandbox  # noqa: E402
import unpriv  # noqa: E402

TIMEOUT = 30


class Ctx(sandbox.Workspace):
    def __init__(self, binary, probes, base):
        super().__init__(binary, base, prefix="e-", outside="out", policy_name="p.json")
        self.probes = probes
        self.cleanup = []

    def argv(self, prog, *args):
        return [self.bin, "--policy", self.pfile, "--", os.path.join(self.probes, prog), *args]

    def restricted_read(self, prog):
        """Policy with restricted reads: only the workspace (writable), the
        platform minimum and a private copy of probe `prog` are readable."""
        bindir = os.path.join(self.base, "bin")
        os.makedirs(bindir, exist_ok=True)
        shutil.copy(os.path.realpath(os.path.join(self.probes, prog)), bindir)
        self.probes = bindir
        self.policy([(self.ws, "write"), (bindir, "read")], minimal=True)

    def run(self, prog, *args, tty=False):
        if not os.path.exists(self.pfile):
            self.policy()
        argv = self.argv(prog, *args)
        if tty:
            return sandbox.run_tty(argv, self.ws, timeout=TIMEOUT)
        p = subprocess.run(argv, cwd=self.ws, capture_output=True, text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout + p.stderr


def verdict(rc, out):
    """blocked / ESCAPED / error from one probe run."""
    lines = [l for l in out.splitlines() if l.strip()]
    probe_line = next((l for l in lines if l.startswith(("blocked:", "ESCAPED:", "error:"))), None)
    if probe_line:
        return probe_line.split(":")[0], probe_line
    if rc == 69 and "csb-bwrap: error" in out:
        return "blocked", "csb-bwrap refused to start: " + lines[-1][:140]
    return "error", f"exit {rc}: {out.strip()[:160]}"


PROBES = []


def probe(name, doc):
    def deco(fn):
        PROBES.append((name, doc, fn))
        return fn
    return deco


def simple(name, prog, doc, *args, **policy_kw):
    def fn(c):
        c.policy(**policy_kw)
        return verdict(*c.run(prog, name, *[a.format(ws=c.ws, out=c.out) for a in args]))
    PROBES.append((name, doc, fn))


# --- terminal ----------------------------------------------------------------


def tty_probe(which):
    def fn(c):
        c.policy()
        return verdict(*c.run("probe_io", which, tty=True))
    return fn


PROBES.append(("tiocsti", "TIOCSTI pushes input into the caller's terminal", tty_probe("tiocsti")))
PROBES.append(("tiocsti_highbits", "TIOCSTI with bits above 32 set (CVE-2019-10063)", tty_probe("tiocsti_highbits")))
PROBES.append(("tioclinux", "TIOCLINUX selection paste", tty_probe("tioclinux")))
PROBES.append(("ctty", "/dev/tty and setsid + TIOCSCTTY(force) to take the caller's terminal", tty_probe("ctty")))


@probe("tty_inject_landlock", "TIOCSTI (also with bits above 32) and TIOCLINUX on the caller's terminal under the legacy "
       "Landlock backend, which runs the command in the caller's session (no --new-session)")
def _(c):
    c.policy([("/", "read")], backend="landlock")
    v = None
    for which in ("tiocsti", "tiocsti_highbits", "tioclinux"):
        v = verdict(*c.run("probe_io", which, tty=True))
        if v[0] != "blocked":
            return v
    return v

TIOCGETD = 0x5424
TIOCGEXCL = 0x80045440


@probe("tty_state", "TIOCSETD (line discipline), TIOCEXCL, TIOCCONS, TIOCGPTPEER on the caller's terminal and on one of its own")
def _(c):
    # stdin is a terminal the runner keeps open (stdout a pipe, so that the
    # probe's report survives a discarding line discipline); what the
    # command left on it is read back afterwards.
    c.policy()
    master, slave = os.openpty()
    try:
        p = subprocess.run(c.argv("probe_io", "tty_state"), cwd=c.ws, stdin=slave, capture_output=True,
                           text=True, timeout=TIMEOUT, start_new_session=True)
        disc = struct.unpack("i", fcntl.ioctl(slave, TIOCGETD, b"\0" * 4))[0]
        excl = struct.unpack("i", fcntl.ioctl(slave, TIOCGEXCL, b"\0" * 4))[0]
        if disc != 0:
            return "ESCAPED", "ESCAPED: the caller's terminal has line discipline %d after the run" % disc
        if excl:
            return "ESCAPED", "ESCAPED: the caller's terminal is in exclusive mode after the run"
        return verdict(p.returncode, p.stdout + p.stderr)
    finally:
        os.close(master)
        os.close(slave)


# --- syscall ABIs, namespaces, kernel surface ----------------------------------

simple("x32_socket", "probe_kernel", "socket() through the x32 ABI (nr | 0x40000000)")
simple("int80_socketcall", "probe_kernel", "i386 int 0x80 socketcall(SYS_SOCKET)")
simple("int80_socket", "probe_kernel", "i386 int 0x80 socket (nr 359)")
simple("io_uring", "probe_kernel", "io_uring_setup (socket/connect bypass)")
simple("clone3_newuser", "probe_kernel", "clone3 with CLONE_NEWUSER")
simple("clone_newuser", "probe_kernel", "clone with CLONE_NEWUSER")
simple("unshare_user", "probe_kernel", "unshare(CLONE_NEWUSER)")
simple("unshare_mount", "probe_kernel", "unshare(CLONE_NEWNS|CLONE_NEWUSER) to get a private mount table")
simple("setns", "probe_kernel", "setns into a namespace")
simple("mount_tmpfs", "probe_kernel", "mount a tmpfs over the .git mask", "{ws}/.git")
simple("umount_protected", "probe_kernel", "umount2 the read-only .git mask", "{ws}/.git")
simple("remount_rw", "probe_kernel", "remount the read-only root read-write", "/")
simple("pivot_root", "probe_kernel", "pivot_root")
simple("new_mount_api", "probe_kernel", "fsopen / open_tree(OPEN_TREE_CLONE)")
simple("chroot", "probe_kernel", "chroot")
simple("keyctl", "probe_kernel", "keyctl / add_key on the session keyring")
simple("bpf", "probe_kernel", "bpf(BPF_MAP_CREATE)")
simple("perf_event_open", "probe_kernel", "perf_event_open")
simple("userfaultfd", "probe_kernel", "userfaultfd (race amplification)")
simple("modules_kexec", "probe_kernel", "finit_module / kexec_load")
simple("open_by_handle", "probe_kernel", "name_to_handle_at / open_by_handle_at")
simple("ptrace_parent", "probe_kernel", "PTRACE_ATTACH to the parent and to pid 1")
simple("process_vm", "probe_kernel", "process_vm_readv/writev into pid 1 and the parent")
simple("proc_pid1_mem", "probe_kernel", "open /proc/1/mem (the unfiltered supervisor)")
simple("proc_pid1_rest", "probe_kernel", "pid 1's environ, maps, fd/N, cwd and root through /proc, and pidfd_getfd of its lifeline")
@probe("pid1_reach", "pidfd_getfd and /proc/1/fd of every pid 1 descriptor (it holds the caller's log), kcmp, process_madvise, SIGSTOP/SIGKILL to pid 1")
def _(c):
    # stdout and stderr append to a file the sandbox cannot write: pid 1
    # relays them, holding the caller's descriptor.
    log = os.path.join(c.out, "log")
    c.policy()
    with open(log, "a") as f:
        p = subprocess.run(c.argv("probe_kernel", "pid1_reach"), cwd=c.ws, stdin=subprocess.DEVNULL, stdout=f,
                           stderr=f, timeout=TIMEOUT)
    with open(log) as f:
        return verdict(p.returncode, f.read())


def host_mntns_id():
    """The id of the runner's mount namespace (NS_GET_MNTNS_ID, Linux
    6.9), 0 where the kernel has none."""
    try:
        fd = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    except OSError:
        return 0
    try:
        return struct.unpack("Q", fcntl.ioctl(fd, 0x8008b705, b"\0" * 8))[0]
    except OSError:
        return 0
    finally:
        os.close(fd)


@probe("pid1_handles", "O_PATH handles of pid 1's /proc links and files (readlink, reopen, openat), pid 1's namespaces "
       "through its pidfd, setns on it, listmount/statmount of the host's mount namespace")
def _(c):
    c.policy()
    return verdict(*c.run("probe_kernel", "pid1_handles", str(host_mntns_id())))


simple("pid1_sched", "probe_kernel", "prlimit, setpriority (process and group), sched_setscheduler/param/attr/affinity on pid 1")
simple("proc_self_exe", "probe_kernel", "open /proc/self/exe for writing")
simple("proc_sysctl", "probe_kernel", "write global sysctls (/proc/sys/vm/drop_caches) and /proc/sysrq-trigger")
simple("no_new_privs", "probe_kernel", "no_new_privs set and no capability left (uid 0: none in the bounding set either)")


@probe("no_new_privs_landlock", "no_new_privs set and no capabilities left under the legacy Landlock backend (no user "
       "namespace: run by root, the capabilities would be root's on the host)")
def _(c):
    c.policy([("/", "read")], backend="landlock")
    return verdict(*c.run("probe_kernel", "no_new_privs"))


simple("leaked_fds", "probe_kernel", "file descriptors inherited beyond stdio")
simple("mknod", "probe_kernel", "mknod a /dev/mem clone in the workspace", "{ws}")
simple("sysfs_write", "probe_kernel", "write /sys/kernel/mm, create or join cgroups, release_agent, core_pattern")
simple("kernel_log", "probe_kernel", "read the kernel log: syslog(2), /dev/kmsg, /proc/kmsg")
simple("admin_syscalls", "probe_kernel", "fanotify_init, acct, swapon, quotactl, prctl(PR_SET_MM_*), settimeofday, sethostname")
simple("lsm_set_self_attr", "probe_kernel", "lsm_set_self_attr (Linux 6.8): refused by the filter, not by the kernel")
simple("denied_by_filter", "probe_kernel", "every syscall denied in all modes (open_tree_attr, mount_setattr, quotactl_fd, ...), "
       "with arguments the kernel rejects otherwise: EPERM, the filter's answer")
simple("pid1_numa", "probe_kernel", "migrate_pages / move_pages on pid 1")
simple("clone_ns_variants", "probe_kernel", "clone / unshare with every namespace flag (NEWCGROUP, NEWTIME, ...)")
simple("pid1_prio_user", "probe_kernel", "setpriority(PRIO_USER), ioprio_set (process 1, group, user), /proc/1/timerslack_ns")
simple("syscall_arg_highbits", "probe_kernel", "clone namespace flags and the pid 1 rules (prlimit64, setpriority, sched_*) with bits above 32 set")
simple("other_abi_blocked", "probe_kernel", "blocked calls through x32 (incl. its own ioctl, ptrace, process_vm_readv) and i386 int 0x80: killed")


@probe("csb_binary_write", "write, truncate, chmod, touch, setxattr csb-bwrap's binary by /dev/.csb-bwrap, its host path, /proc/1/exe")
def _(c):
    # A copy the caller owns and may write (mode 0755, as an installed
    # binary in ~/.local/bin is): only the sandbox keeps the command out.
    bindir = os.path.join(c.base, "bin")
    os.makedirs(bindir, exist_ok=True)
    binary = os.path.join(bindir, os.path.basename(c.bin))
    shutil.copy(os.path.realpath(c.bin), binary)
    os.chmod(binary, 0o755)
    c.bin = binary
    before = sandbox_file_state(binary)
    c.policy()
    v = verdict(*c.run("probe_kernel", "csb_binary_write", binary))
    if sandbox_file_state(binary) != before:
        return "ESCAPED", "ESCAPED: %s changed on the host" % binary
    return v


def sandbox_file_state(path):
    """Content digest, mode, times and extended attributes of a file."""
    st = os.stat(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    try:
        xattrs = sorted(os.listxattr(path))
    except OSError:
        xattrs = []
    return digest, st.st_mode, st.st_mtime_ns, xattrs


def launcher_copy(c):
    """Copies csb-bwrap and probe_kernel into BASE/bin, a directory every
    user may search (for set-id installs run by uid 65534); returns their
    paths."""
    bindir = os.path.join(c.base, "bin")
    os.makedirs(bindir)
    for d in (os.path.dirname(c.base), c.base, bindir):
        os.chmod(d, 0o755)
    binary = os.path.join(bindir, os.path.basename(c.bin))
    shutil.copy(os.path.realpath(c.bin), binary)
    probe = os.path.join(bindir, "probe_kernel")
    shutil.copy(os.path.realpath(os.path.join(c.probes, "probe_kernel")), probe)
    return binary, probe


def ids_as_nobody(c, binary, prog):
    """Runs `binary --policy P -- prog same_ids` as uid 65534 under the
    bubblewrap and the Landlock backends (the workspace 65534's); the first
    verdict that is not "blocked", else the last."""
    os.chown(c.ws, 65534, 65534)
    v = None
    for kw in ({}, {"backend": "landlock"}):
        c.policy([("/", "read")] + ([] if kw else [(c.ws, "write")]), **kw)
        os.chmod(c.pfile, 0o644)
        p = subprocess.run([binary, "--policy", c.pfile, "--", prog, "same_ids"], cwd=c.ws, capture_output=True,
                           text=True, timeout=TIMEOUT, user=65534, group=65534, extra_groups=[],
                           env={"PATH": "/usr/bin:/bin"})
        v = verdict(p.returncode, p.stdout + p.stderr)
        if v[0] != "blocked":
            return v[0], "%s (%s)" % (v[1], kw.get("backend", "bubblewrap"))
    return v


@probe("launcher_setuid", "csb-bwrap installed set-user-ID root (a mistake it must not turn into root for the command), "
       "run by uid 65534: the command's ids and capabilities, bubblewrap and Landlock backends")
def _(c):
    if os.geteuid() != 0:
        return "blocked", "blocked: not run here: a set-uid root launcher needs a root runner (escape_test covers it)"
    binary, probe = launcher_copy(c)
    os.chmod(binary, 0o4755)
    return ids_as_nobody(c, binary, probe)


@probe("launcher_setgid_inner_stage", "csb-bwrap installed set-group-ID, its inner stage run directly by uid 65534 "
       "(no bubblewrap around it): the command's ids")
def _(c):
    if os.geteuid() != 0:
        return "blocked", "blocked: not run here: a set-gid launcher needs a root runner (escape_test covers it)"
    binary, probe = launcher_copy(c)
    os.chown(binary, 0, 4242)
    os.chmod(binary, 0o2755)
    # the lifeline: a pipe whose write end stays open while it runs
    r, w = os.pipe()
    try:
        p = subprocess.run([binary, "--csb-inner-stage", "--lifeline-fd", str(r), "--", probe, "same_ids"],
                           cwd=os.path.dirname(binary), capture_output=True, text=True, timeout=TIMEOUT,
                           user=65534, group=65534, extra_groups=[], env={"PATH": "/usr/bin:/bin"},
                           pass_fds=(r,))
    finally:
        os.close(r)
        os.close(w)
    return verdict(p.returncode, p.stdout + p.stderr)


@probe("setuid_exec", "a set-user-ID root program (and a set-group-ID one) on the host, run by the command as uid 65534: "
       "bubblewrap and Landlock backends")
def _(c):
    if os.geteuid() != 0:
        return "blocked", "blocked: not run here: a set-uid root program needs a root runner (escape_test covers it)"
    binary, suid = launcher_copy(c)
    os.chmod(suid, 0o6755)
    return ids_as_nobody(c, binary, suid)


@probe("sysfs_write_full", "same, with `/` writable (a writable root above /sys)")
def _(c):
    c.policy([("/", "write")])
    return verdict(*c.run("probe_kernel", "sysfs_write"))


@probe("kill_host", "kill / pidfd_open a host process by pid, and kill(-1)")
def _(c):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        c.policy()
        v = verdict(*c.run("probe_kernel", "kill_host", str(victim.pid)))
        if victim.poll() is not None:
            return "ESCAPED", "ESCAPED: the host victim died (%s)" % victim.returncode
        return v
    finally:
        victim.kill()
        victim.wait()


def host_secret(which):
    """Runs probe_kernel `which` under restricted reads with the path of a
    host file outside the policy."""
    def fn(c):
        secret = os.path.join(c.out, "secret")
        with open(secret, "w") as f:
            f.write("host secret")
        c.restricted_read("probe_kernel")
        return verdict(*c.run("probe_kernel", which, secret))
    return fn


PROBES.append(("proc_root", "read a host file outside the policy through /proc/*/root", host_secret("proc_root")))
PROBES.append(("dotdot_walk", "walk ../ (openat, openat2, RESOLVE_BENEATH) out of a bind mount to a host file outside the policy",
               host_secret("dotdot_walk")))


@probe("dev_nodes", "device nodes in /dev beyond the pseudo devices and terminals; /dev/core and /proc/kcore")
def _(c):
    for minimal in (False, True):
        if minimal:
            c.restricted_read("probe_kernel")
        else:
            c.policy()
        v = verdict(*c.run("probe_kernel", "dev_nodes"))
        if v[0] != "blocked":
            return v
    return v


DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")


@probe("dev_node_meta", "chmod, chown, utimensat (each to what the node has) and fchmod of the host's /dev/null, zero, full, "
       "random, urandom and tty that bubblewrap binds into /dev, and fchmod of stdin, the caller's /dev/null; the runner "
       "compares their mode, owner and change time")
def _(c):
    def state():
        out = {}
        for n in DEV_NODES:
            try:
                st = os.stat("/dev/" + n)
            except FileNotFoundError:
                continue
            out[n] = (st.st_mode, st.st_uid, st.st_gid, st.st_ctime_ns)
        return out

    # run by root, also without CAP_SYS_ADMIN (a container's root): the
    # inner stage's capabilities are those of the sandbox's user namespace
    variants = [({}, [], "bubblewrap"), ({"backend": "landlock"}, [], "landlock")]
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv:
        variants.append(({}, [setpriv, "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"],
                         "bubblewrap, root without CAP_SYS_ADMIN"))
    v = None
    for kw, prefix, what in variants:
        c.policy([("/", "read")] + ([] if kw else [(c.ws, "write")]), **kw)
        before = state()
        p = subprocess.run(prefix + c.argv("probe_kernel", "dev_node_meta"), cwd=c.ws, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=TIMEOUT)
        v = verdict(p.returncode, p.stdout + p.stderr)
        after = state()
        changed = sorted(n for n in before if after.get(n) != before[n])
        if changed:
            return "ESCAPED", "ESCAPED: the host's /dev/%s changed (%s)" % (", ".join(changed), what)
        if v[0] != "blocked" or "refused to start" in v[1]:
            return "error" if v[0] == "blocked" else v[0], "%s (%s)" % (v[1], what)
    return v

@probe("tty_meta", "the caller's terminal on stdin, stdout and stderr (bubblewrap binds it at /dev/console): chmod, "
       "chown, utimensat of /dev/console (each to what it has) and fchmod of each descriptor; the runner compares "
       "the terminal's mode, owner and change time")
def _(c):
    c.policy([("/", "read")] + [(c.ws, "write")])
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        before = sandbox.tty_meta(name)
        p = subprocess.run(c.argv("probe_kernel", "tty_meta"), cwd=c.ws, stdin=slave, stdout=slave, stderr=slave,
                           timeout=TIMEOUT, start_new_session=True)
        after = sandbox.tty_meta(name)
        out = sandbox.drain_pty(master)
        if after != before:
            return "ESCAPED", "ESCAPED: the caller's terminal %s changed: %r -> %r" % (name, before, after)
        return verdict(p.returncode, out)
    finally:
        os.close(master)
        os.close(slave)


@probe("tty_meta_stdio", "two terminals of the caller's, one on stdin and one on stderr, stdout a pipe (bubblewrap "
       "binds neither at /dev/console): fchmod of each descriptor, chmod, chown and utimensat through "
       "/proc/self/fd/N; the runner compares both terminals' mode, owner and change time")
def _(c):
    c.policy([("/", "read")] + [(c.ws, "write")])
    ptys = [os.openpty(), os.openpty()]
    try:
        names = [os.ttyname(slave) for _, slave in ptys]

        def meta():
            return [sandbox.tty_meta(n) for n in names]
        before = meta()
        p = subprocess.run(c.argv("probe_kernel", "tty_meta_stdio"), cwd=c.ws, stdin=ptys[0][1],
                           stdout=subprocess.PIPE, stderr=ptys[1][1], timeout=TIMEOUT, start_new_session=True)
        after = meta()
        if after != before:
            return "ESCAPED", "ESCAPED: the caller's terminals %s changed: %r -> %r" % (names, before, after)
        return verdict(p.returncode, p.stdout.decode(errors="replace"))
    finally:
        for master, slave in ptys:
            os.close(master)
            os.close(slave)


def host_ipc(minimal):
    def fn(c):
        name = "csb-escape-%d" % os.getpid()
        shm = os.path.join("/dev/shm", name)
        with open(shm, "w") as f:
            f.write("host object")
        out = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True).stdout
        shmid = out.split()[-1]
        key = next(l.split()[0] for l in subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout.splitlines()
                   if len(l.split()) > 1 and l.split()[1] == shmid)
        try:
            if minimal:
                c.restricted_read("probe_kernel")
            else:
                c.policy()
            v = verdict(*c.run("probe_kernel", "host_ipc", key, name))
            with open(shm) as f:
                if f.read() != "host object":
                    return "ESCAPED", "ESCAPED: %s changed on the host" % shm
            return v
        finally:
            os.unlink(shm)
            subprocess.run(["ipcrm", "-m", shmid], capture_output=True)
    return fn


@probe("host_procs", "a process of the caller's outside the sandbox and its process group by pid: its limit on open "
       "files, nice value, I/O priority, CPU affinity and scheduling class; a SysV segment of the caller's by key; "
       "bubblewrap and Landlock backends (the command's own nice value and limits must still change); the runner "
       "compares the process's settings")
def _(c):
    if not shutil.which("ionice"):
        return "error", "error: ionice (util-linux) is needed to read the process's I/O priority"

    def ioprio(pid):
        return subprocess.run(["ionice", "-p", str(pid)], capture_output=True, text=True, check=True).stdout.strip()

    def state(pid):
        return (os.getpriority(os.PRIO_PROCESS, pid), resource.prlimit(pid, resource.RLIMIT_NOFILE),
                sorted(os.sched_getaffinity(pid)), os.sched_getscheduler(pid), ioprio(pid))

    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    out = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True).stdout
    shmid = out.split()[-1]
    key = next(l.split()[0] for l in subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout.splitlines()
               if len(l.split()) > 1 and l.split()[1] == shmid)
    v = None
    try:
        for kw, what in (({}, "bubblewrap"), ({"backend": "landlock"}, "landlock")):
            c.policy([("/", "read")], **kw)
            before = state(victim.pid)
            v = verdict(*c.run("probe_kernel", "host_procs", str(victim.pid), str(victim.pid), key))
            after = state(victim.pid)
            if after != before:
                return "ESCAPED", "ESCAPED: the caller's process changed: %r -> %r (%s)" % (before, after, what)
            if v[0] != "blocked":
                return v[0], "%s (%s)" % (v[1], what)
        return v
    finally:
        victim.kill()
        victim.wait()
        subprocess.run(["ipcrm", "-m", shmid], capture_output=True)


PROBES.append(("host_ipc", "host SysV shared memory and a host /dev/shm object (/ readable)", host_ipc(False)))
PROBES.append(("host_ipc_minimal", "same, /dev/shm not granted (restricted read)", host_ipc(True)))


# --- sockets -------------------------------------------------------------------

simple("raw_socket", "probe_io", "raw IPv4/IPv6 and AF_PACKET sockets (network enabled)", net="enabled")
simple("netlink", "probe_io", "netlink route / uevent sockets (restricted network)")
simple("vsock", "probe_io", "AF_VSOCK (WSL2 / VM host bridge), network enabled", net="enabled")
simple("other_families", "probe_io", "every socket family but unix/inet/inet6/netlink, every type, "
       "network enabled: EPERM from the filter, not the kernel's answer", net="enabled")
def family_matrix(allowed, **kw):
    def fn(c):
        c.policy(**kw)
        os.environ["HTTP_PROXY"] = "http://127.0.0.1:9"
        try:
            return verdict(*c.run("probe_io", "family_matrix", *[str(f) for f in allowed]))
        finally:
            del os.environ["HTTP_PROXY"]
    return fn


PROBES.append(("families_restricted", "every socket family but AF_UNIX, every type (restricted network): EPERM",
               family_matrix([socket.AF_UNIX])))
PROBES.append(("families_proxy", "every socket family but AF_INET/AF_INET6 (AF_NETLINK included), every type "
               "(proxy mode): EPERM", family_matrix([socket.AF_INET, socket.AF_INET6], net="proxy")))
simple("netlink_protocols", "probe_io", "every netlink protocol but NETLINK_ROUTE (audit, uevent, sock_diag, ...), "
       "network enabled: EPERM", net="enabled")


@probe("socket_arg_bits", "raw/packet/vsock/datagram-Unix sockets and socketpairs with SOCK_CLOEXEC|SOCK_NONBLOCK and "
       "bits above 32 in each argument, in each network mode: EPERM")
def _(c):
    v = None
    for kw in ({}, {"net": "proxy"}, {"net": "enabled"}):
        c.policy(**kw)
        os.environ["HTTP_PROXY"] = "http://127.0.0.1:9"
        try:
            v = verdict(*c.run("probe_io", "socket_arg_bits"))
        finally:
            del os.environ["HTTP_PROXY"]
        if v[0] != "blocked":
            return v[0], "%s (%s)" % (v[1], kw.get("net", "restricted"))
    return v


simple("tty_ioctl_highbits", "probe_io", "TIOCSTI, TIOCLINUX, TIOCSETD, TIOCEXCL with bits above 32, on a controlling terminal of its own")


def abstract_listener():
    name = "csb-escape-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0" + name)
    s.listen(4)
    return s, name


@probe("abstract_unix", "connect to a host abstract Unix socket (restricted network)")
def _(c):
    s, name = abstract_listener()
    try:
        c.policy()
        return verdict(*c.run("probe_io", "abstract_unix", name))
    finally:
        s.close()


@probe("abstract_unix_all", "same, with dangerously_allow_all_unix_sockets (network namespace still isolates)")
def _(c):
    s, name = abstract_listener()
    try:
        c.policy(unix_all=True)
        return verdict(*c.run("probe_io", "abstract_unix", name))
    finally:
        s.close()


@probe("abstract_unix_enabled", "host abstract Unix socket with the host network and an allow list")
def _(c):
    s, name = abstract_listener()
    try:
        c.policy(net="enabled", unix={c.out + "/nothing.sock": "allow"})
        return verdict(*c.run("probe_io", "abstract_unix", name))
    finally:
        s.close()


@probe("unix_path_not_allowed", "connect to a host pathname socket (docker.sock stand-in) not on the allow list")
def _(c):
    path = os.path.join(c.out, "docker.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    try:
        allowed = os.path.join(c.out, "agent.sock")
        a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        a.bind(allowed)
        a.listen(1)
        c.policy(net="enabled", unix={allowed: "allow"})
        r = verdict(*c.run("probe_io", "unix_path", path))
        a.close()
        return r
    finally:
        s.close()


@probe("unix_connect_overlong", "connect() mediation given an address longer than struct sockaddr_un (the kernel says EINVAL)")
def _(c):
    allowed = os.path.join(c.out, "agent.sock")
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.bind(allowed)
    a.listen(4)
    try:
        c.policy(net="enabled", unix={allowed: "allow"})
        return verdict(*c.run("probe_io", "unix_overlong", allowed))
    finally:
        a.close()


@probe("unix_dgram_sendmsg", "datagram to a host socket via socketpair(DGRAM)+sendmsg(msg_name) and sendto")
def _(c):
    path = os.path.join(c.out, "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(0.3)
    try:
        c.policy(net="enabled", unix={os.path.join(c.out, "x.sock"): "allow"})
        v = verdict(*c.run("probe_io", "unix_dgram_sendmsg", path))
        try:
            rx.recv(16)
            return "ESCAPED", "ESCAPED: a datagram reached the host socket"
        except socket.timeout:
            return v
    finally:
        rx.close()


@probe("unix_raw_sendto", "datagram to a host socket via socket(AF_UNIX, SOCK_RAW)/socketpair + sendto, "
       "with and without a Unix allow list")
def _(c):
    path = os.path.join(c.out, "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(0.3)
    try:
        for unix in ({}, {os.path.join(c.out, "x.sock"): "allow"}):
            c.policy(unix=unix)
            v = verdict(*c.run("probe_io", "unix_raw_sendto", path))
            try:
                rx.recv(16)
                return "ESCAPED", "ESCAPED: a datagram reached the host socket"
            except socket.timeout:
                pass
            if v[0] != "blocked":
                return v
        return v
    finally:
        rx.close()


@probe("seccomp_listener", "a seccomp listener of the command's own answers connect() with CONTINUE: "
       "refused (restricted) and mediated (allow list) connects to a host socket not allowed")
def _(c):
    path = os.path.join(c.out, "docker.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    s.setblocking(False)
    allowed = os.path.join(c.out, "agent.sock")
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.bind(allowed)
    a.listen(1)
    try:
        v = None
        for kw in ({}, {"net": "enabled", "unix": {allowed: "allow"}}):
            c.policy(**kw)
            v = verdict(*c.run("probe_kernel", "seccomp_listener", path))
            try:
                s.accept()
                return "ESCAPED", "ESCAPED: the host socket accepted a connection (%s)" % (kw or "restricted")
            except BlockingIOError:
                pass
            if v[0] != "blocked":
                return v
        return v
    finally:
        s.close()
        a.close()


def host_unix_paths(c):
    """Stand-ins for the host's well-known service sockets (listening, in
    the caller's directory outside the policy's writes) and the real ones
    where this host has them. Returns (listeners, paths)."""
    listeners, paths = [], []
    for name in ("docker.sock", "podman.sock", "system_bus_socket", "bus", "ssh-agent.sock"):
        path = os.path.join(c.out, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(4)
        s.setblocking(False)
        listeners.append(s)
        paths.append(path)
    real = ["/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock", "/run/containerd/containerd.sock",
            "/run/dbus/system_bus_socket", "/tmp/.X11-unix/X0"]
    for var, sub in (("XDG_RUNTIME_DIR", "bus"), ("XDG_RUNTIME_DIR", "docker.sock"), ("SSH_AUTH_SOCK", "")):
        if os.environ.get(var):
            real.append(os.path.join(os.environ[var], sub) if sub else os.environ[var])
    paths += [p for p in real if os.path.exists(p)]
    return listeners, paths


@probe("unix_host_services", "connect to the host's service sockets (docker, podman, D-Bus, ssh-agent stand-ins and the real "
       "ones): restricted, proxy and host network, without an allow list and with one naming another socket")
def _(c):
    listeners, paths = host_unix_paths(c)
    allowed = os.path.join(c.out, "allowed.sock")
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.bind(allowed)
    a.listen(1)
    try:
        v = None
        for kw in ({}, {"net": "proxy"}, {"net": "enabled"}, {"unix": {allowed: "allow"}},
                   {"net": "proxy", "unix": {allowed: "allow"}}, {"net": "enabled", "unix": {allowed: "allow"}}):
            c.policy(**kw)
            os.environ["HTTP_PROXY"] = "http://127.0.0.1:9"
            try:
                v = verdict(*c.run("probe_io", "unix_paths", *paths))
            finally:
                del os.environ["HTTP_PROXY"]
            for s in listeners:
                try:
                    s.accept()[0].close()
                    return "ESCAPED", "ESCAPED: %s accepted a connection (%s)" % (s.getsockname(), kw)
                except BlockingIOError:
                    pass
            if v[0] != "blocked":
                return v[0], "%s (%s)" % (v[1], kw)
        return v
    finally:
        for s in listeners:
            s.close()
        a.close()


@probe("abstract_unix_proxy", "connect to a host abstract Unix socket in proxy mode, without and with a Unix allow list")
def _(c):
    s, name = abstract_listener()
    s.setblocking(False)
    allowed = os.path.join(c.out, "allowed.sock")
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.bind(allowed)
    a.listen(1)
    try:
        v = None
        for kw in ({"net": "proxy"}, {"net": "proxy", "unix": {allowed: "allow"}}, {"net": "proxy", "unix_all": True}):
            c.policy(**kw)
            os.environ["HTTP_PROXY"] = "http://127.0.0.1:9"
            try:
                v = verdict(*c.run("probe_io", "abstract_unix", name))
            finally:
                del os.environ["HTTP_PROXY"]
            try:
                s.accept()[0].close()
                return "ESCAPED", "ESCAPED: the host's abstract socket accepted a connection (%s)" % kw
            except BlockingIOError:
                pass
            if v[0] != "blocked":
                return v[0], "%s (%s)" % (v[1], kw)
        return v
    finally:
        s.close()
        a.close()


class LoopbackServices:
    """TCP listeners and UDP receivers on 127.0.0.1 and (where the host has
    it) ::1; `ports()` as net_direct takes them; `reached()` names any
    that got a connection or a datagram."""

    def __init__(self):
        self.socks = []
        self.tcp4 = self._open(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1")
        self.udp4 = self._open(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1")
        self.tcp6 = self._open(socket.AF_INET6, socket.SOCK_STREAM, "::1")
        self.udp6 = self._open(socket.AF_INET6, socket.SOCK_DGRAM, "::1")

    def _open(self, family, kind, addr):
        try:
            s = socket.socket(family, kind)
            s.bind((addr, 0))
        except OSError:
            return None
        if kind == socket.SOCK_STREAM:
            s.listen(8)
        s.setblocking(False)
        self.socks.append(s)
        return s

    def ports(self):
        return [str(s.getsockname()[1]) if s else "0" for s in (self.tcp4, self.udp4, self.tcp6, self.udp6)]

    def reached(self):
        time.sleep(0.2)
        for s in self.socks:
            try:
                if s.type == socket.SOCK_STREAM:
                    s.accept()[0].close()
                else:
                    s.recv(16)
                return "%s %s" % ("TCP" if s.type == socket.SOCK_STREAM else "UDP", s.getsockname()[:2])
            except BlockingIOError:
                pass
        return None

    def close(self):
        for s in self.socks:
            s.close()


@probe("net_direct_proxy_mode", "TCP, MPTCP and UDP to host loopback services on 127.0.0.1, ::1 and ::ffff:127.0.0.1, "
       "bypassing the proxy (proxy mode)")
def _(c):
    svc = LoopbackServices()
    prx = socket.socket()
    prx.bind(("127.0.0.1", 0))
    prx.listen(4)
    try:
        c.policy(net="proxy")
        os.environ["HTTP_PROXY"] = "http://127.0.0.1:%d" % prx.getsockname()[1]
        try:
            v = verdict(*c.run("probe_io", "net_direct", *svc.ports()))
        finally:
            del os.environ["HTTP_PROXY"]
        hit = svc.reached()
        if hit:
            return "ESCAPED", "ESCAPED: the host's %s was reached" % hit
        return v
    finally:
        svc.close()
        prx.close()



@probe("net_landlock", "legacy Landlock backend, restricted network (no network namespace: the filter and Landlock's "
       "scoping are all there is): TCP, MPTCP, UDP to host loopback services, a host abstract socket, the host's "
       "service sockets")
def _(c):
    svc = LoopbackServices()
    s, name = abstract_listener()
    s.setblocking(False)
    listeners, paths = host_unix_paths(c)
    try:
        c.policy([("/", "read")], backend="landlock")
        for args in (("net_direct", *svc.ports()), ("abstract_unix", name), ("unix_paths", *paths)):
            v = verdict(*c.run("probe_io", *args))
            hit = svc.reached()
            if hit:
                return "ESCAPED", "ESCAPED: the host's %s was reached" % hit
            for l in listeners + [s]:
                try:
                    l.accept()[0].close()
                    return "ESCAPED", "ESCAPED: %r accepted a connection" % (l.getsockname(),)
                except BlockingIOError:
                    pass
            if v[0] != "blocked":
                return v[0], "%s (%s)" % (v[1], args[0])
        return v
    finally:
        svc.close()
        s.close()
        for l in listeners:
            l.close()



@probe("tcp_direct", "TCP to a host loopback listener (restricted network)")
def _(c):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    try:
        c.policy()
        return verdict(*c.run("probe_io", "tcp_direct", "127.0.0.1", str(s.getsockname()[1])))
    finally:
        s.close()


@probe("tcp_direct_proxy_mode", "TCP to a host loopback service bypassing the proxy (proxy mode)")
def _(c):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    prx = socket.socket()
    prx.bind(("127.0.0.1", 0))
    prx.listen(4)
    try:
        c.policy(net="proxy")
        os.environ["HTTP_PROXY"] = "http://127.0.0.1:%d" % prx.getsockname()[1]
        try:
            return verdict(*c.run("probe_io", "tcp_direct", "127.0.0.1", str(s.getsockname()[1])))
        finally:
            del os.environ["HTTP_PROXY"]
    finally:
        s.close()
        prx.close()


@probe("udp_direct", "UDP datagram to a host loopback receiver (restricted network)")
def _(c):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.3)
    try:
        c.policy()
        v = verdict(*c.run("probe_io", "udp_direct", "127.0.0.1", str(rx.getsockname()[1])))
        try:
            rx.recv(16)
            return "ESCAPED", "ESCAPED: datagram arrived"
        except socket.timeout:
            return v
    finally:
        rx.close()


# --- filesystem ----------------------------------------------------------------

simple("create_git", "probe_fs", "create .git/config or .git/hooks where .git is protected (missing)")
simple("create_codex", "probe_fs", "create .codex/config.toml or .agents/AGENTS.md")


@probe("git_hooks", "write .git/hooks/pre-commit and .git/config in an existing repository")
def _(c):
    os.makedirs(os.path.join(c.ws, ".git/hooks"))
    with open(os.path.join(c.ws, ".git/config"), "w") as f:
        f.write("[core]\n")
    c.policy()
    v = verdict(*c.run("probe_fs", "git_hooks"))
    if os.path.exists(os.path.join(c.ws, ".git/hooks/pre-commit")):
        return "ESCAPED", "ESCAPED: hook exists on the host"
    return v


@probe("git_symlink", "write .git/hooks/pre-commit and .git/config where .git is a symlink to a directory in the workspace")
def _(c):
    real = os.path.join(c.ws, "real.git")
    os.makedirs(os.path.join(real, "hooks"))
    with open(os.path.join(real, "config"), "w") as f:
        f.write("[core]\n")
    os.symlink("real.git", os.path.join(c.ws, ".git"))
    c.policy()
    v = verdict(*c.run("probe_fs", "git_hooks"))
    if os.path.exists(os.path.join(real, "hooks/pre-commit")):
        return "ESCAPED", "ESCAPED: hook exists on the host"
    with open(os.path.join(real, "config")) as f:
        if f.read() != "[core]\n":
            return "ESCAPED", "ESCAPED: real.git/config changed on the host"
    return v


@probe("proc_self_mem", "write a read-only .git/config through a shared mapping and /proc/self/mem")
def _(c):
    os.makedirs(os.path.join(c.ws, ".git"))
    cfg = os.path.join(c.ws, ".git/config")
    with open(cfg, "w") as f:
        f.write("[core]\n" + "#" * 100 + "\n")
    c.policy()
    v = verdict(*c.run("probe_fs", "proc_self_mem", cfg))
    with open(cfg) as f:
        if f.read().startswith("PWNED"):
            return "ESCAPED", "ESCAPED: .git/config changed on the host"
    return v


def victim_file(c):
    """A file of the caller's outside the policy's writes."""
    victim = os.path.join(c.out, "victim")
    with open(victim, "w") as f:
        f.write("victim")
    return victim


def stdin_reopen(hidden):
    def fn(c):
        victim = victim_file(c)
        if hidden:
            c.restricted_read("probe_fs")
        else:
            c.policy()
        with open(victim) as stdin:
            p = subprocess.run(c.argv("probe_fs", "stdin_reopen"), cwd=c.ws, stdin=stdin,
                               capture_output=True, text=True, timeout=TIMEOUT)
        with open(victim) as f:
            if f.read() != "victim":
                return "ESCAPED", "ESCAPED: %s changed on the host" % victim
        return verdict(p.returncode, p.stdout + p.stderr)
    return fn


PROBES.append(("stdin_reopen", "reopen stdin, a file outside the writable roots, for writing through /proc/self/fd/0",
               stdin_reopen(False)))
PROBES.append(("stdin_reopen_hidden", "same, stdin a file the sandbox cannot see (restricted read): the run is refused",
               stdin_reopen(True)))


@probe("stdin_deleted_dir", "stdin a directory the caller removed: `..` from it to a host file outside the writable roots")
def _(c):
    victim = victim_file(c)
    gone = os.path.join(c.out, "gone")
    os.mkdir(gone)
    c.policy()
    fd = os.open(gone, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(gone)
        p = subprocess.run(c.argv("probe_fs", "stdin_deleted_dir", "victim"), cwd=c.ws, stdin=fd,
                           capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        os.close(fd)
    with open(victim) as f:
        if f.read() != "victim":
            return "ESCAPED", "ESCAPED: %s changed on the host" % victim
    return verdict(p.returncode, p.stdout + p.stderr)


@probe("stdio_reopen", "stdout a log outside the writable roots and stderr a denied file, both opened for appending by the "
       "caller: reopened through /proc/self/fd/N for reading, read-write, truncating; ftruncate")
def _(c):
    log = os.path.join(c.out, "log")
    err = os.path.join(c.ws, "secret.err")
    for path in (log, err):
        with open(path, "w") as f:
            f.write("SECRET\n")
    c.policy([("/", "read"), (c.ws, "write"), (err, "deny")])
    fds = [os.open(log, os.O_WRONLY | os.O_APPEND), os.open(err, os.O_WRONLY | os.O_APPEND)]
    try:
        p = subprocess.run(c.argv("probe_fs", "stdio_reopen"), cwd=c.ws, stdin=subprocess.DEVNULL, stdout=fds[0],
                           stderr=fds[1], timeout=TIMEOUT)
    finally:
        for fd in fds:
            os.close(fd)
    with open(log) as f:
        text = f.read()
    with open(err) as f:
        if not f.read().startswith("SECRET\n"):
            return "ESCAPED", "ESCAPED: the denied stderr file lost its content"
    if not text.startswith("SECRET\n"):
        return "ESCAPED", "ESCAPED: the stdout log lost its content"
    return verdict(p.returncode, text[len("SECRET\n"):])


@probe("git_links", "hard link (link, linkat of /proc/self/fd, AT_EMPTY_PATH) .git/config to a writable name, "
       "rename over .git/config, symlinks named .codex/.agents")
def _(c):
    os.makedirs(os.path.join(c.ws, ".git"))
    cfg = os.path.join(c.ws, ".git/config")
    with open(cfg, "w") as f:
        f.write("[core]\n")
    c.policy()
    v = verdict(*c.run("probe_fs", "git_links"))
    with open(cfg) as f:
        if f.read() != "[core]\n":
            return "ESCAPED", "ESCAPED: .git/config changed on the host"
    for meta in (".codex", ".agents"):
        if os.path.islink(os.path.join(c.ws, meta)):
            return "ESCAPED", "ESCAPED: %s is a symlink on the host" % meta
    return v


META_NAMES = (".git", ".agents", ".codex", ".csb")


@probe("create_metadata", "the protected names (.git, .agents, .codex, .csb), missing, under the workspace, a second "
       "writable root and one nested two levels down: written into, removed, renamed, replaced by a file or a symlink")
def _(c):
    second = os.path.join(c.base, "second")
    nested = os.path.join(c.ws, "a", "b")
    os.makedirs(second)
    os.makedirs(nested)
    roots = [c.ws, second, nested]
    c.policy([("/", "read")] + [(r, "write") for r in roots])
    v = verdict(*c.run("probe_fs", "create_metadata", *roots))
    for r in roots:
        for name in META_NAMES:
            p = os.path.join(r, name)
            if os.path.islink(p) or os.path.isfile(p) or (os.path.isdir(p) and os.listdir(p)):
                return "ESCAPED", "ESCAPED: %s is a %s on the host" % (
                    p, "symlink" if os.path.islink(p) else "file" if os.path.isfile(p) else "non-empty directory")
            if os.path.lexists(p + ".moved"):
                return "ESCAPED", "ESCAPED: %s.moved exists on the host" % p
    for moved in (c.ws + "/a.moved", c.base + ".moved"):
        if os.path.lexists(moved):
            return "ESCAPED", "ESCAPED: %s exists on the host" % moved
    return v


def gitdir_pointer(state):
    def fn(c):
        target = os.path.join(c.ws, "wt", "gitdir")
        os.makedirs(os.path.dirname(target))
        if state == "existing":
            os.makedirs(os.path.join(target, "hooks"))
            with open(os.path.join(target, "config"), "w") as f:
                f.write("[core]\n")
        with open(os.path.join(c.ws, ".git"), "w") as f:
            f.write("gitdir: %s\n" % target)
        c.policy()
        v = verdict(*c.run("probe_fs", "gitdir_pointer", target, state))
        with open(os.path.join(c.ws, ".git")) as f:
            if f.read() != "gitdir: %s\n" % target:
                return "ESCAPED", "ESCAPED: the .git file changed on the host"
        found = sorted(os.path.relpath(os.path.join(d, n), target) for d, ds, fs in os.walk(target) for n in ds + fs)
        if found != ([] if state == "missing" else ["config", "hooks"]):
            return "ESCAPED", "ESCAPED: the gitdir target holds %s on the host" % found
        if state == "existing":
            with open(os.path.join(target, "config")) as f:
                if f.read() != "[core]\n":
                    return "ESCAPED", "ESCAPED: the gitdir target's config changed on the host"
        return v
    return fn


PROBES.append(("gitdir_pointer_missing", "a .git file (`gitdir:`) pointing at a missing directory in the workspace: "
               "create it with hooks and config; rewrite, replace, remove the .git file", gitdir_pointer("missing")))
PROBES.append(("gitdir_pointer_existing", "same, the target exists: write a hook and its config",
               gitdir_pointer("existing")))


def stdin_node(kind):
    """Standard input a node outside the writable roots, opened by the
    caller: a FIFO (open), or an O_PATH descriptor of a symlink, a socket
    file or a FIFO; its mode, owner and times changed through it."""
    def fn(c):
        node = os.path.join(c.out, "node")
        srv = None
        if kind in ("fifo", "opath_fifo"):
            os.mkfifo(node, 0o600)
        elif kind == "opath_symlink":
            os.symlink("/nonexistent", node)
        else:
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(node)
        try:
            before = os.lstat(node)
            c.policy()
            flags = os.O_RDWR if kind == "fifo" else os.O_PATH | os.O_NOFOLLOW
            fd = os.open(node, flags)
            try:
                p = subprocess.run(c.argv("probe_fs", "stdin_metadata"), cwd=c.ws, stdin=fd, capture_output=True,
                                   text=True, timeout=TIMEOUT)
            finally:
                os.close(fd)
            after = os.lstat(node)
            for k in ("st_mode", "st_uid", "st_gid", "st_ctime_ns"):
                if getattr(before, k) != getattr(after, k):
                    return "ESCAPED", "ESCAPED: %s of %s changed on the host" % (k, node)
            return verdict(p.returncode, p.stdout + p.stderr)
        finally:
            if srv:
                srv.close()
    return fn


PROBES.append(("stdin_fifo_metadata", "stdin a FIFO outside the writable roots: fchmod, fchownat, futimens, "
               "chmod /proc/self/fd/0, each to what it is (the change time shows it)", stdin_node("fifo")))
def stdin_opath(c):
    v = None
    for kind in ("opath_symlink", "opath_socket", "opath_fifo"):
        shutil.rmtree(c.out)
        os.makedirs(c.out)
        v = stdin_node(kind)(c)
        if v[0] != "blocked":
            return v[0], "%s (%s)" % (v[1], kind)
    return v


PROBES.append(("stdin_opath_metadata", "stdin an O_PATH descriptor of a symlink, a socket file, a FIFO outside the "
               "writable roots: fchmodat2, fchownat, utimensat with AT_EMPTY_PATH, chmod /proc/self/fd/0", stdin_opath))



@probe("ro_metadata", "truncate, fallocate, utimensat, chmod, chown, setxattr (user.*, security.*) on a read-only .git/config")
def _(c):
    os.makedirs(os.path.join(c.ws, ".git"))
    cfg = os.path.join(c.ws, ".git/config")
    with open(cfg, "w") as f:
        f.write("[core]\n")
    os.utime(cfg, (1000000, 1000000))
    before = os.stat(cfg)
    c.policy()
    v = verdict(*c.run("probe_fs", "ro_metadata", cfg))
    after = os.stat(cfg)
    for k in ("st_size", "st_mode", "st_uid", "st_gid", "st_mtime"):
        if getattr(before, k) != getattr(after, k):
            return "ESCAPED", "ESCAPED: %s of .git/config changed on the host" % k
    try:
        if os.listxattr(cfg):
            return "ESCAPED", "ESCAPED: .git/config got extended attributes %s" % os.listxattr(cfg)
    except OSError:
        pass
    return v


@probe("ro_metadata_landlock", "same on a file outside the policy's writes, under the legacy Landlock backend "
       "(read-only policy)")
def _(c):
    victim = victim_file(c)
    os.chmod(victim, 0o600)
    os.utime(victim, (1000000, 1000000))
    before = os.stat(victim)
    c.policy([("/", "read")], backend="landlock")
    v = verdict(*c.run("probe_fs", "ro_metadata", victim))
    after = os.stat(victim)
    for k in ("st_size", "st_mode", "st_uid", "st_gid", "st_mtime"):
        if getattr(before, k) != getattr(after, k):
            return "ESCAPED", "ESCAPED: %s of %s changed on the host" % (k, victim)
    return v


@probe("ro_ioctls_landlock", "fs-verity, inode generation, inode flags and an encryption policy set through "
       "descriptors open for reading, under the legacy Landlock backend (read-only policy): refused by the filter")
def _(c):
    victim = victim_file(c)
    empty = os.path.join(c.out, "empty")
    os.mkdir(empty)
    c.policy([("/", "read")], backend="landlock")
    return verdict(*c.run("probe_fs", "ro_ioctls", victim, empty))


@probe("rename_protected", "rename .git away (or the workspace root) and recreate it")
def _(c):
    os.makedirs(os.path.join(c.ws, ".git"))
    c.policy()
    return verdict(*c.run("probe_fs", "rename_protected"))


@probe("hardlink_out", "hard link a file from outside the writable roots into the workspace and write it")
def _(c):
    target = victim_file(c)
    c.policy()
    v = verdict(*c.run("probe_fs", "hardlink_out", target))
    with open(target) as f:
        if f.read() != "victim":
            return "ESCAPED", "ESCAPED: victim modified"
    return v


@probe("carveout_escape", "hard link, move, or rename/exchange away the directory holding a read-only carve-out and recreate it")
def _(c):
    ro = os.path.join(c.ws, "a", "ro")
    os.makedirs(ro)
    victim = os.path.join(ro, "f")
    with open(victim, "w") as f:
        f.write("victim")
    c.policy([("/", "read"), (c.ws, "write"), (ro, "read")])
    v = verdict(*c.run("probe_fs", "carveout_escape"))
    with open(victim) as f:
        if f.read() != "victim":
            return "ESCAPED", "ESCAPED: %s changed on the host" % victim
    if os.listdir(ro) != ["f"]:
        return "ESCAPED", "ESCAPED: %s holds %s on the host" % (ro, os.listdir(ro))
    return v


@probe("deny_symlink", "read a denied file directly and through a symlink planted in the workspace")
def _(c):
    secret = os.path.join(c.ws, "secret.key")
    with open(secret, "w") as f:
        f.write("KEY")
    c.policy([("/", "read"), (c.ws, "write"), (secret, "deny")])
    return verdict(*c.run("probe_fs", "deny_symlink", secret))


@probe("plant_symlink_next_run", "replace a denied directory with a symlink so that the next run unmasks its target")
def _(c):
    d = os.path.join(c.ws, "private")
    os.makedirs(d)
    with open(os.path.join(d, "k"), "w") as f:
        f.write("k")
    c.policy([("/", "read"), (c.ws, "write"), (d, "deny")])
    return verdict(*c.run("probe_fs", "plant_symlink", d, c.out))


@probe("symlink_swap_race", "a concurrent sandbox keeps swapping .codex for a symlink to an outside dir while 20 sandboxes start")
def _(c):
    outside = os.path.join(c.out, "target")
    os.makedirs(outside)
    c.policy()
    # the attacker: same policy, loops rename/rmdir/symlink on .codex (bounded)
    attacker = subprocess.Popen(
        [c.bin, "--policy", c.pfile, "--", "/bin/sh", "-c",
         "i=0; while [ $i -lt 150 ]; do i=$((i+1)); mv .codex x 2>/dev/null; rmdir .codex 2>/dev/null; "
         "ln -s %s .codex 2>/dev/null && echo planted; done" % outside],
        cwd=c.ws, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    outcomes = {}
    for _ in range(20):
        rc, out = c.run("probe_fs", "create_codex")
        k, _line = verdict(rc, out)
        outcomes[k] = outcomes.get(k, 0) + 1
    planted = attacker.communicate(timeout=TIMEOUT)[0].count("planted")
    if os.listdir(outside):
        return "ESCAPED", "ESCAPED: wrote into %s: %s" % (outside, os.listdir(outside))
    if outcomes.get("ESCAPED") or planted:
        return "ESCAPED", "ESCAPED: outcomes %s, symlink planted %d times" % (outcomes, planted)
    return "blocked", "blocked: 20 runs %s; the attacker never replaced .codex; outside untouched" % outcomes


@probe("setup_swap_detected", "a mask that bubblewrap mounted through a symlink swapped in during setup is detected")
def _(c):
    # Simulate the swap deterministically: plant the symlink after the
    # outer stage checked the path, by giving bwrap a wrapper that swaps it.
    outside = os.path.join(c.out, "target")
    os.makedirs(outside)
    os.makedirs(os.path.join(c.ws, ".codex"))
    wrapper = os.path.join(c.base, "bwrap-swap")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\ncase \"$1\" in --help) exec /usr/bin/bwrap --help;; esac\n"
                "rmdir %s/.codex && ln -s %s %s/.codex\nexec /usr/bin/bwrap \"$@\"\n" % (c.ws, outside, c.ws))
    os.chmod(wrapper, 0o755)
    c.policy()
    argv = [c.bin, "--policy", c.pfile, "--bwrap", wrapper, "--", os.path.join(c.probes, "probe_fs"), "create_codex"]
    p = subprocess.run(argv, cwd=c.ws, capture_output=True, text=True, timeout=TIMEOUT)
    if os.listdir(outside):
        return "ESCAPED", "ESCAPED: wrote into %s" % outside
    k, line = verdict(p.returncode, p.stdout + p.stderr)
    if p.returncode == 69 and "changed while the sandbox was set up" in p.stderr:
        return "blocked", "blocked: csb-bwrap refused: " + p.stderr.strip().splitlines()[-1][:120]
    return k, line


@probe("registry_cache_poison", "plant an allow-all seccomp filter in a registry this run does not use (/tmp/csb-bwrap-UID); a later run that picks it loads it")
def _(c):
    # Another user than root (root always prefers /run/csb-bwrap; run by
    # root, the runs are 65534's): run 1 has XDG_RUNTIME_DIR, so its
    # registry is there, and /tmp writable; run 2, without
    # XDG_RUNTIME_DIR, uses /tmp/csb-bwrap-UID.
    as_root = os.geteuid() == 0
    uid = 65534 if as_root else os.geteuid()
    reg = "/tmp/csb-bwrap-%d" % uid
    shutil.rmtree(reg, ignore_errors=True)
    if as_root:
        for d in (os.path.dirname(c.base), c.base):
            os.chmod(d, 0o711)
    bindir = os.path.join(c.base, "bin")
    os.makedirs(bindir)
    for f in (c.bin, os.path.join(c.probes, "probe_fs"), os.path.join(c.probes, "probe_kernel")):
        shutil.copy(os.path.realpath(f), os.path.join(bindir, os.path.basename(f)))
    os.chmod(bindir, 0o755)
    xdg = os.path.join(c.base, "xdg")
    os.makedirs(xdg, mode=0o700)
    if as_root:
        for d in (xdg, c.ws):
            os.chown(d, uid, uid)
    who = {"user": uid, "group": uid, "extra_groups": []} if as_root else {}
    binary = os.path.join(bindir, os.path.basename(c.bin))

    def run(entries, env, prog, *args):
        c.policy(entries)
        os.chmod(c.pfile, 0o644)
        argv = [binary, "--policy", c.pfile, "--", os.path.join(bindir, prog), *args]
        e = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        e.update(env)
        p = subprocess.run(argv, cwd=c.ws, env=e, capture_output=True, text=True, timeout=TIMEOUT, **who)
        return verdict(p.returncode, p.stdout + p.stderr)

    try:
        k, line = run([("/", "read"), (c.ws, "write"), ("/tmp", "write")], {"XDG_RUNTIME_DIR": xdg},
                      "probe_fs", "registry_plant", reg)
        if k != "ESCAPED":
            return k, line
        k2, line2 = run([("/", "read"), (c.ws, "write")], {}, "probe_kernel", "unshare_user")
        return k2, "%s (after run 1: %s)" % (line2, line)
    finally:
        shutil.rmtree(reg, ignore_errors=True)


@probe("nested_root_swap_detected", "a read-write bind inside a writable root that bubblewrap mounted through a symlink swapped in during setup is detected")
def _(c):
    # The nested writable root ws/sub/inner and the directory holding it
    # (bound onto itself so that it cannot be renamed) are read-write binds:
    # swapped for a relative symlink before bubblewrap mounts them, they
    # would make a read-only directory writable.
    outside = os.path.join(c.out, "inner")
    os.makedirs(outside)
    os.makedirs(os.path.join(c.ws, "sub", "inner"))
    wrapper = os.path.join(c.base, "bwrap-swap")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\ncase \"$1\" in --help) exec /usr/bin/bwrap --help;; esac\n"
                "rm -r %s/sub && ln -s ../out %s/sub\nexec /usr/bin/bwrap \"$@\"\n" % (c.ws, c.ws))
    os.chmod(wrapper, 0o755)
    c.policy([("/", "read"), (c.ws, "write"), (c.ws + "/sub/inner", "write")])
    argv = [c.bin, "--policy", c.pfile, "--bwrap", wrapper, "--", "/bin/sh", "-c",
            "echo x > %s/pwned && echo 'ESCAPED: wrote into the read-only directory' || echo 'blocked: read-only'" % outside]
    p = subprocess.run(argv, cwd=c.ws, capture_output=True, text=True, timeout=TIMEOUT)
    if os.path.exists(os.path.join(outside, "pwned")):
        return "ESCAPED", "ESCAPED: wrote into %s" % outside
    k, line = verdict(p.returncode, p.stdout + p.stderr)
    if p.returncode == 69 and "changed while the sandbox was set up" in p.stderr:
        return "blocked", "blocked: csb-bwrap refused: " + p.stderr.strip().splitlines()[0][:120]
    return k, line


@probe("nested_file_root_swap_detected", "a nested writable root that is a file, swapped for a symlink to a read-only file during setup, is detected")
def _(c):
    outside = os.path.join(c.out, "f")
    with open(outside, "w") as f:
        f.write("ro")
    with open(os.path.join(c.ws, "f"), "w") as f:
        f.write("rw")
    wrapper = os.path.join(c.base, "bwrap-swap")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\ncase \"$1\" in --help) exec /usr/bin/bwrap --help;; esac\n"
                "rm %s/f && ln -s ../out/f %s/f\nexec /usr/bin/bwrap \"$@\"\n" % (c.ws, c.ws))
    os.chmod(wrapper, 0o755)
    c.policy([("/", "read"), (c.ws, "write"), (c.ws + "/f", "write"), (c.out, "read")])
    argv = [c.bin, "--policy", c.pfile, "--bwrap", wrapper, "--", "/bin/sh", "-c",
            "echo x >> %s && echo 'ESCAPED: wrote the read-only file' || echo 'blocked: read-only'" % outside]
    p = subprocess.run(argv, cwd=c.ws, capture_output=True, text=True, timeout=TIMEOUT)
    with open(outside) as f:
        if f.read() != "ro":
            return "ESCAPED", "ESCAPED: wrote %s" % outside
    k, line = verdict(p.returncode, p.stdout + p.stderr)
    if p.returncode == 69 and "changed while the sandbox was set up" in p.stderr:
        return "blocked", "blocked: csb-bwrap refused: " + p.stderr.strip().splitlines()[0][:120]
    return k, line


def main():
    args = sys.argv[1:]
    only = None
    if "-k" in args:
        i = args.index("-k")
        only = args[i + 1]
        del args[i:i + 2]
    if "--unprivileged" in args:
        args.remove("--unprivileged")
        rc = unpriv.run(__file__, args + (["-k", only] if only else []))
        if rc is not None:
            return rc
    if len(args) != 2:
        print(__doc__)
        return 64
    binary, probes = os.path.abspath(args[0]), os.path.abspath(args[1])
    base = tempfile.mkdtemp(prefix="csb-esc-", dir=sandbox.scratch_dir())
    rows = []
    for name, doc, fn in PROBES:
        if only and only not in name:
            continue
        c = Ctx(binary, probes, base)
        try:
            kind, line = fn(c)
        except Exception as e:  # noqa: BLE001
            kind, line = "error", f"runner: {type(e).__name__}: {e}"
        finally:
            shutil.rmtree(c.base, ignore_errors=True)
        rows.append((name, kind, line))
        print(f"{'PASS' if kind == 'blocked' else 'FAIL'} {name}: {line}", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    w = max(len(r[0]) for r in rows) if rows else 5
    print()
    print(f"{'probe':<{w}}  {'expected':<8}  observed")
    print(f"{'-' * w}  {'-' * 8}  {'-' * 60}")
    for name, kind, line in rows:
        print(f"{name:<{w}}  {'blocked':<8}  {line}")
    passed = sum(1 for r in rows if r[1] == "blocked")
    failed = len(rows) - passed
    print()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
