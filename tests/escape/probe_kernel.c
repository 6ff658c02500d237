/* probe_kernel.c - escape probes against the seccomp filter and the
 * namespace setup: other syscall ABIs, io_uring, namespaces, mounts,
 * keyrings, bpf, perf, userfaultfd, modules, ptrace and /proc tricks. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "probe.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

/* x86-64 syscall numbers (restated) */
#define NR_SOCKET 41
#define X32_BIT 0x40000000L
#define NR_IO_URING_SETUP 425
#define NR_CLONE3 435
#define NR_OPEN_TREE 428
#define NR_FSOPEN 430
#define NR_BPF 321
#define NR_PERF_EVENT_OPEN 298
#define NR_USERFAULTFD 323
#define NR_KEYCTL 250
#define NR_ADD_KEY 248
#define NR_FINIT_MODULE 313
#define NR_KEXEC_LOAD 246
#define NR_OPEN_BY_HANDLE_AT 304
#define NR_NAME_TO_HANDLE_AT 303

static int do_x32_socket(void) {
  long fd = syscall(NR_SOCKET | X32_BIT, AF_INET, SOCK_STREAM, 0);
  return fd >= 0 ? 0 : errno;
}
static int p_x32_socket(int c, char **v) {
  (void)c; (void)v;
  return in_child(do_x32_socket, "x32 socket(AF_INET)");
}

/* i386 entry through int 0x80: socketcall(SYS_SOCKET, {AF_INET, SOCK_STREAM, 0}) */
static int do_int80_socketcall(void) {
  uint32_t *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (args == MAP_FAILED) return 99;
  args[0] = AF_INET;
  args[1] = SOCK_STREAM;
  args[2] = 0;
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(102), "b"(1), "c"((uint32_t)(uintptr_t)args) : "memory");
  return ret >= 0 ? 0 : (int)-ret;
}
static int p_int80_socketcall(int c, char **v) {
  (void)c; (void)v;
  return in_child(do_int80_socketcall, "i386 int 0x80 socketcall(SYS_SOCKET)");
}

static int do_int80_socket(void) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(359), "b"(AF_INET), "c"(SOCK_STREAM), "d"(0) : "memory");
  return ret >= 0 ? 0 : (int)-ret;
}
static int p_int80_socket(int c, char **v) {
  (void)c; (void)v;
  return in_child(do_int80_socket, "i386 int 0x80 socket(AF_INET)");
}

static int p_io_uring(int c, char **v) {
  (void)c; (void)v;
  char params[120];
  memset(params, 0, sizeof params);
  return expect_fail(syscall(NR_IO_URING_SETUP, 8, params), "io_uring_setup");
}

static int p_clone3_newuser(int c, char **v) {
  (void)c; (void)v;
  uint64_t args[11];
  memset(args, 0, sizeof args);
  args[0] = CLONE_NEWUSER; /* flags */
  args[4] = SIGCHLD;       /* exit_signal */
  long r = syscall(NR_CLONE3, args, sizeof args);
  if (r == 0) _exit(0);
  if (r > 0) {
    waitpid((pid_t)r, NULL, 0);
    return escaped("clone3(CLONE_NEWUSER) created a child");
  }
  return blocked("clone3(CLONE_NEWUSER): %s", strerror(errno));
}

static int p_clone_newuser(int c, char **v) {
  (void)c; (void)v;
  long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) {
    waitpid((pid_t)r, NULL, 0);
    return escaped("clone(CLONE_NEWUSER) created a child");
  }
  return blocked("clone(CLONE_NEWUSER): %s", strerror(errno));
}

static int p_unshare_user(int c, char **v) {
  (void)c; (void)v;
  return expect_fail(unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)");
}

static int p_unshare_mount(int c, char **v) {
  (void)c; (void)v;
  return expect_fail(unshare(CLONE_NEWNS | CLONE_NEWUSER), "unshare(CLONE_NEWNS|CLONE_NEWUSER)");
}

static int p_setns(int c, char **v) {
  (void)c; (void)v;
  int fd = open("/proc/self/ns/net", O_RDONLY);
  if (fd < 0) return blocked("open /proc/self/ns/net: %s", strerror(errno));
  return expect_fail(setns(fd, 0), "setns(own netns)");
}

/* argv[2]: a read-only mount inside the sandbox (e.g. the .git mask) */
static int p_mount_tmpfs(int c, char **v) {
  const char *target = c > 2 ? v[2] : "/tmp";
  return expect_fail(syscall(SYS_mount, "none", target, "tmpfs", 0, NULL), "mount tmpfs over a protected path");
}

static int p_umount_protected(int c, char **v) {
  const char *target = c > 2 ? v[2] : "/";
  return expect_fail(syscall(SYS_umount2, target, 2 /* MNT_DETACH */), "umount2(protected mask)");
}

static int p_remount_rw(int c, char **v) {
  const char *target = c > 2 ? v[2] : "/";
  return expect_fail(syscall(SYS_mount, NULL, target, NULL, 0x20 /* MS_REMOUNT */ | 0x1000 /* MS_BIND */, NULL),
                     "remount a read-only bind read-write");
}

static int p_pivot_root(int c, char **v) {
  (void)c; (void)v;
  return expect_fail(syscall(SYS_pivot_root, ".", "."), "pivot_root");
}

static int p_new_mount_api(int c, char **v) {
  (void)c; (void)v;
  long a = syscall(NR_FSOPEN, "tmpfs", 0);
  if (a >= 0) return escaped("fsopen(tmpfs) returned %ld", a);
  int e1 = errno;
  long b = syscall(NR_OPEN_TREE, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
  if (b >= 0) return escaped("open_tree(OPEN_TREE_CLONE) returned %ld", b);
  return blocked("fsopen: %s; open_tree: %s", strerror(e1), strerror(errno));
}

static int p_chroot(int c, char **v) {
  (void)c; (void)v;
  return expect_fail(chroot("/tmp"), "chroot");
}

static int p_keyctl(int c, char **v) {
  (void)c; (void)v;
  long a = syscall(NR_KEYCTL, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "csb-escape");
  if (a >= 0) return escaped("keyctl(JOIN_SESSION_KEYRING) returned %ld", a);
  int e1 = errno;
  long b = syscall(NR_ADD_KEY, "user", "csb-escape", "x", 1, -3 /* KEY_SPEC_SESSION_KEYRING */);
  if (b >= 0) return escaped("add_key returned %ld", b);
  return blocked("keyctl: %s; add_key: %s", strerror(e1), strerror(errno));
}

static int p_bpf(int c, char **v) {
  (void)c; (void)v;
  char attr[128];
  memset(attr, 0, sizeof attr);
  return expect_fail(syscall(NR_BPF, 0 /* BPF_MAP_CREATE */, attr, sizeof attr), "bpf(BPF_MAP_CREATE)");
}

static int p_perf_event_open(int c, char **v) {
  (void)c; (void)v;
  char attr[128];
  memset(attr, 0, sizeof attr);
  *(uint32_t *)attr = 1;             /* PERF_TYPE_SOFTWARE */
  *(uint32_t *)(attr + 4) = 112;     /* size */
  return expect_fail(syscall(NR_PERF_EVENT_OPEN, attr, 0, -1, -1, 0), "perf_event_open");
}

static int p_userfaultfd(int c, char **v) {
  (void)c; (void)v;
  return expect_fail(syscall(NR_USERFAULTFD, 0), "userfaultfd");
}

static int p_modules_kexec(int c, char **v) {
  (void)c; (void)v;
  long a = syscall(NR_FINIT_MODULE, 0, "", 0);
  if (a == 0) return escaped("finit_module succeeded");
  int e1 = errno;
  long b = syscall(NR_KEXEC_LOAD, 0, 0, NULL, 0);
  if (b == 0) return escaped("kexec_load succeeded");
  if (e1 != EPERM || errno != EPERM) return escaped("unexpected errnos %d/%d (filter missing?)", e1, errno);
  return blocked("finit_module and kexec_load: Operation not permitted");
}

static int p_open_by_handle(int c, char **v) {
  (void)c; (void)v;
  struct {
    unsigned int bytes;
    int type;
    unsigned char h[128];
  } fh;
  fh.bytes = 128;
  int mnt = 0;
  long a = syscall(NR_NAME_TO_HANDLE_AT, AT_FDCWD, "/", &fh, &mnt, 0);
  if (a == 0) return escaped("name_to_handle_at worked");
  int e1 = errno;
  long b = syscall(NR_OPEN_BY_HANDLE_AT, AT_FDCWD, &fh, O_RDONLY);
  if (b >= 0) return escaped("open_by_handle_at returned %ld", b);
  return blocked("name_to_handle_at: %s; open_by_handle_at: %s", strerror(e1), strerror(errno));
}

static int p_ptrace_parent(int c, char **v) {
  (void)c; (void)v;
  pid_t pp = getppid();
  long r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, pp, 0, 0);
  if (r == 0) return escaped("PTRACE_ATTACH to parent %d", (int)pp);
  int e1 = errno;
  long r1 = syscall(SYS_ptrace, 16, 1, 0, 0);
  if (r1 == 0) return escaped("PTRACE_ATTACH to pid 1");
  return blocked("ptrace(ATTACH) parent: %s; pid 1: %s", strerror(e1), strerror(errno));
}

static int p_process_vm(int c, char **v) {
  (void)c; (void)v;
  char buf[16];
  struct iovec l = {buf, sizeof buf}, r = {(void *)0x400000, sizeof buf};
  long a = process_vm_readv(1, &l, 1, &r, 1, 0);
  if (a >= 0) return escaped("process_vm_readv(pid 1) read %ld bytes", a);
  int e1 = errno;
  long b = process_vm_writev(getppid(), &l, 1, &r, 1, 0);
  if (b >= 0) return escaped("process_vm_writev(parent) wrote %ld bytes", b);
  return blocked("process_vm_readv: %s; process_vm_writev: %s", strerror(e1), strerror(errno));
}

/* Write into the unfiltered pid 1 (the sandbox's supervisor). */
static int p_proc_pid1_mem(int c, char **v) {
  (void)c; (void)v;
  int fd = open("/proc/1/mem", O_RDWR);
  if (fd >= 0) return escaped("opened /proc/1/mem read-write");
  int e1 = errno;
  int fd2 = open("/proc/1/mem", O_RDONLY);
  if (fd2 >= 0) return escaped("opened /proc/1/mem for reading");
  return blocked("/proc/1/mem: %s / %s", strerror(e1), strerror(errno));
}

/* The rest of pid 1 through /proc and pidfds: its environment, memory
 * map, descriptors (fd 3 is its lifeline; with connect() mediation it
 * also holds the notification listener) and, by pidfd_getfd, a duplicate
 * of one. All need ptrace access, which a non-dumpable pid 1 refuses. */
static int p_proc_pid1_rest(int c, char **v) {
  (void)c; (void)v;
  static const char *const paths[] = {"/proc/1/environ", "/proc/1/maps", "/proc/1/fd/0",
                                      "/proc/1/fd/3", "/proc/1/cwd/.", "/proc/1/root/."};
  char why[512] = "";
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    int fd = open(paths[i], O_RDONLY);
    if (fd >= 0) return escaped("opened %s", paths[i]);
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "%s%s: %s", n ? "; " : "", paths[i], strerror(errno));
  }
  char link[256];
  if (readlink("/proc/1/fd/3", link, sizeof link) >= 0) return escaped("read the link /proc/1/fd/3");
  int pidfd = (int)syscall(434 /* pidfd_open */, 1, 0);
  if (pidfd >= 0) {
    int dup = (int)syscall(438 /* pidfd_getfd */, pidfd, 3, 0);
    if (dup >= 0) return escaped("pidfd_getfd took pid 1's fd 3");
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "; pidfd_getfd: %s", strerror(errno));
  }
  return blocked("%s", why);
}

/* argv[2]: a host file outside the policy; try to reach it through
 * /proc/PID/root of every visible process. */
static int p_proc_root(int c, char **v) {
  if (c < 3) return perror2("usage: proc_root HOSTFILE");
  char path[4200];
  for (int pid = 1; pid < 64; pid++) {
    snprintf(path, sizeof path, "/proc/%d/root%s", pid, v[2]);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) return escaped("read %s", path);
  }
  snprintf(path, sizeof path, "/proc/self/root%s", v[2]);
  int fd = open(path, O_RDONLY);
  if (fd >= 0) return escaped("read %s", path);
  return blocked("%s not reachable through /proc/*/root: %s", v[2], strerror(errno));
}

/* /proc/self/mem: make our own read-only text writable through the mem
 * file, then try to reach our filtered syscalls anyway: irrelevant to the
 * filter (seccomp is in the kernel), so this checks that a write to
 * /proc/self/exe (the binary on disk) is impossible. */
static int p_proc_self_exe(int c, char **v) {
  (void)c; (void)v;
  int fd = open("/proc/self/exe", O_WRONLY);
  if (fd >= 0) return escaped("opened /proc/self/exe for writing");
  return blocked("open /proc/self/exe O_WRONLY: %s", strerror(errno));
}

/* Global kernel settings: the sandbox's uid 0 is the host's root when
 * csb-bwrap runs as root, and sysctl permissions look only at the uid.
 * drop_caches and sysrq 'h' (help) are harmless if they get through. */
static int p_proc_sysctl(int c, char **v) {
  (void)c; (void)v;
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd >= 0 && write(fd, "1", 1) == 1) return escaped("wrote /proc/sys/vm/drop_caches");
  int e1 = errno;
  int fd2 = open("/proc/sysrq-trigger", O_WRONLY);
  if (fd2 >= 0 && write(fd2, "h", 1) == 1) return escaped("wrote /proc/sysrq-trigger");
  return blocked("/proc/sys: %s; sysrq-trigger: %s", strerror(e1), strerror(errno));
}

static int p_no_new_privs(int c, char **v) {
  (void)c; (void)v;
  int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (nnp != 1) return escaped("no_new_privs is %d", nnp);
  struct {
    uint32_t version;
    int pid;
  } h = {0x20080522, 0};
  uint32_t d[6] = {0};
  if (syscall(SYS_capget, &h, d) != 0) return perror2("capget: %s", strerror(errno));
  if (d[0] | d[1] | d[2] | d[3] | d[4] | d[5])
    return escaped("capabilities eff/perm/inh %x/%x/%x %x/%x/%x", d[0], d[1], d[2], d[3], d[4], d[5]);
  /* The bounding set limits what an exec may grant: uid 0's executables
   * get all of it. Another user's bounding set is full unless the
   * launcher could drop it (it takes CAP_SETPCAP), and grants nothing
   * under no_new_privs. */
  int root = geteuid() == 0;
  for (int cap = 0; cap < 64; cap++) {
    int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (b < 0) break; /* past the kernel's last */
    if (b && root) return escaped("capability %d in uid 0's bounding set", cap);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) return escaped("ambient capability %d", cap);
  }
  return blocked("no_new_privs=1, no effective, permitted, inheritable or ambient capability%s",
                 root ? ", nor any in uid 0's bounding set" : "");
}

/* The command runs with the caller's identity: real, effective and saved
 * ids alike (a set-uid launcher would leave the effective one its
 * owner's), and no capability. */
static int p_same_ids(int c, char **v) {
  (void)c; (void)v;
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) return perror2("getresuid: %s", strerror(errno));
  if (r != e || r != s) return escaped("uids real %u, effective %u, saved %u", r, e, s);
  if (rg != eg || rg != sg) return escaped("gids real %u, effective %u, saved %u", rg, eg, sg);
  int rc = p_no_new_privs(c, v);
  return rc;
}

static int p_leaked_fds(int c, char **v) {
  (void)c; (void)v;
  for (int fd = 3; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) {
      char link[64], target[256] = "";
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n > 0) target[n] = 0;
      return escaped("inherited fd %d (%s)", fd, target);
    }
  }
  return blocked("only stdin/stdout/stderr inherited");
}

static int p_mknod(int c, char **v) {
  const char *dir = c > 2 ? v[2] : ".";
  char path[4200];
  snprintf(path, sizeof path, "%s/csb-escape-mem", dir);
  if (mknod(path, S_IFCHR | 0666, makedev(1, 1)) == 0) {
    int fd = open(path, O_RDONLY);
    unlink(path);
    if (fd >= 0) return escaped("created and opened /dev/mem clone");
    return blocked("mknod worked but the node cannot be opened (nodev): %s", strerror(errno));
  }
  return blocked("mknod(char 1,1): %s", strerror(errno));
}

/* Global kernel state under /sys: a setting written back with its current
 * value (harmless if it gets through), a new cgroup, and this process
 * moved into the root cgroup of every v1 hierarchy and of cgroup2 (out of
 * its limits). Run by root, the sandbox's uid 0 owns these files. */
static int p_sysfs_write(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "", cur[64] = "0\n";
  int fd = open("/sys/kernel/mm/ksm/run", O_RDONLY);
  if (fd >= 0) {
    ssize_t n = read(fd, cur, sizeof cur - 1);
    cur[n > 0 ? n : 0] = 0;
    close(fd);
  }
  fd = open("/sys/kernel/mm/ksm/run", O_WRONLY);
  if (fd >= 0 && write(fd, cur, strlen(cur)) > 0) return escaped("wrote /sys/kernel/mm/ksm/run");
  note_errno(why, sizeof why, "/sys/kernel/mm/ksm/run");
  static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory",
                                      "/sys/fs/cgroup/unified", "/sys/fs/cgroup/freezer"};
  char path[256];
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
    snprintf(path, sizeof path, "%s/csb-escape-%d", roots[i], (int)getpid());
    if (mkdir(path, 0755) == 0) {
      rmdir(path);
      return escaped("created cgroup %s", path);
    }
    if (errno == ENOENT) continue;
    note_errno(why, sizeof why, path);
    snprintf(path, sizeof path, "%s/cgroup.procs", roots[i]);
    fd = open(path, O_WRONLY);
    if (fd >= 0 && write(fd, "0", 1) == 1) return escaped("moved itself into the root cgroup through %s", path);
    note_errno(why, sizeof why, path);
    snprintf(path, sizeof path, "%s/release_agent", roots[i]);
    fd = open(path, O_WRONLY);
    if (fd >= 0 && write(fd, "/bin/true", 9) == 9) return escaped("wrote %s", path);
    if (errno != ENOENT) note_errno(why, sizeof why, path);
  }
  fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);
  if (fd >= 0 && write(fd, "|/bin/true", 10) == 10) return escaped("wrote /proc/sys/kernel/core_pattern");
  note_errno(why, sizeof why, "core_pattern");
  return blocked("%s", why);
}

/* The kernel log: syslog(2), /dev/kmsg and /proc/kmsg. */
static int p_kernel_log(int c, char **v) {
  (void)c; (void)v;
  char buf[256];
  long a = syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, (int)sizeof buf);
  if (a > 0) return escaped("syslog(READ_ALL) read %ld bytes", a);
  int e1 = errno;
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  if (fd >= 0 && read(fd, buf, sizeof buf) > 0) return escaped("read /dev/kmsg");
  int e2 = errno;
  fd = open("/proc/kmsg", O_RDONLY | O_NONBLOCK);
  if (fd >= 0) return escaped("opened /proc/kmsg");
  return blocked("syslog: %s; /dev/kmsg: %s; /proc/kmsg: %s", strerror(e1), strerror(e2), strerror(errno));
}

/* argv[2]: pid of a host process (a victim the runner watches). */
static int p_kill_host(int c, char **v) {
  if (c < 3) return perror2("usage: kill_host PID");
  pid_t pid = (pid_t)atoi(v[2]);
  int pidfd = (int)syscall(434 /* pidfd_open */, pid, 0);
  if (pidfd >= 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    /* pid numbers are per namespace: only a pidfd of the host victim counts */
    if (syscall(424 /* pidfd_send_signal */, pidfd, SIGKILL, NULL, 0) == 0)
      return escaped("pidfd_open(%d) + pidfd_send_signal worked", (int)pid);
  }
  int e1 = errno;
  if (kill(pid, SIGKILL) == 0) return escaped("kill(%d) worked", (int)pid);
  int e2 = errno;
  signal(SIGTERM, SIG_IGN);
  int r = kill(-1, SIGTERM);
  return blocked("pidfd_open/pidfd_send_signal(%d): %s; kill: %s; kill(-1) %s (runner checks the victim)",
                 (int)pid, strerror(e1), strerror(e2), r == 0 ? "reached only the sandbox" : strerror(errno));
}

/* Host administration the filter or the missing capabilities refuse. */
static int p_admin_syscalls(int c, char **v) {
  (void)c; (void)v;
  struct {
    const char *what;
    long nr, a0, a1, a2, a3;
  } calls[] = {
      {"fanotify_init", SYS_fanotify_init, 0, 0, 0, 0},
      {"acct", SYS_acct, (long)"/tmp/csb-acct", 0, 0, 0},
      {"swapon", SYS_swapon, (long)"/dev/null", 0, 0, 0},
      {"quotactl", SYS_quotactl, (long)0x800001 /* Q_SYNC user */, 0, 0, 0},
      {"prctl(PR_SET_MM_EXE_FILE)", SYS_prctl, 35 /* PR_SET_MM */, 13 /* PR_SET_MM_EXE_FILE */, 0, 0},
      {"prctl(PR_SET_MM_START_BRK)", SYS_prctl, 35, 6 /* PR_SET_MM_START_BRK */, 0x10000, 0},
      {"settimeofday", SYS_settimeofday, 0, 0, 0, 0},
      {"sethostname", SYS_sethostname, (long)"x", 1, 0, 0},
  };
  char why[1024] = "";
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    long r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, calls[i].a2, calls[i].a3);
    if (r >= 0) return escaped("%s succeeded", calls[i].what);
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "%s%s: %s", n ? "; " : "", calls[i].what, strerror(errno));
  }
  return blocked("%s", why);
}

/* lsm_set_self_attr (Linux 6.8, number 460 everywhere): the filter must
 * refuse it (EPERM) before the kernel sees it, whatever LSMs the host runs
 * (with none, the kernel's own answer is EOPNOTSUPP). */
static int p_lsm_set_self_attr(int c, char **v) {
  (void)c; (void)v;
  struct {
    unsigned long long id, flags, len, ctx_len;
    char ctx[16];
  } lctx = {104 /* LSM_ID_APPARMOR */, 0, sizeof lctx, sizeof lctx.ctx, "unconfined"};
  long r = syscall(460, 100 /* LSM_ATTR_CURRENT */, &lctx, sizeof lctx, 0);
  if (r >= 0) return escaped("lsm_set_self_attr succeeded");
  if (errno != EPERM) return escaped("lsm_set_self_attr reached the kernel (%s), past the filter", strerror(errno));
  return blocked("lsm_set_self_attr: %s", strerror(errno));
}

/* Every syscall the filter denies in all modes, called with arguments
 * the kernel itself rejects with another error (or accepts as a no-op,
 * unshare(0)) when it sees them: EPERM can only be the filter's answer.
 * Catches a name the filter skipped (a syscall newer than libseccomp's
 * table: open_tree_attr, Linux 6.15) and a filter that was not loaded.
 * Calls whose bad arguments the kernel answers with EPERM anyway (fsopen,
 * fsmount, fspick, move_mount, pivot_root, swapon, acct, reboot,
 * sethostname ... without capabilities) are made for completeness. */
static int p_denied_by_filter(int c, char **v) {
  (void)c; (void)v;
  static const struct {
    const char *what;
    long nr, a0, a1, a2, a3, a4;
  } calls[] = {
      {"open_tree_attr(attr NULL, size 1)", 467, AT_FDCWD, (long)"/", 0, 0, 1},
      {"mount_setattr(bad flags)", 442, AT_FDCWD, (long)"/", 0x40000000, 0, 0},
      {"open_tree(bad flags)", 428, AT_FDCWD, (long)"/", 0x40000000, 0, 0},
      {"move_mount(bad flags)", 429, -1, (long)"", -1, (long)"", 0x40000000},
      {"fsopen(NULL, bad flags)", 430, 0, 0x40000000, 0, 0, 0},
      {"fsconfig(-1, bad cmd)", 431, -1, 0xff, 0, 0, 0},
      {"fsmount(-1, bad flags)", 432, -1, 0x40000000, 0, 0, 0},
      {"fspick(-1, NULL, bad flags)", 433, -1, 0, 0x40000000, 0, 0},
      {"mount(missing target)", 165, 0, (long)"/nonexistent-csb", 0, 0, 0},
      {"umount2(missing target)", 166, (long)"/nonexistent-csb", 0, 0, 0, 0},
      {"pivot_root(missing)", 155, (long)"/nonexistent-csb", (long)"/nonexistent-csb", 0, 0, 0},
      {"chroot(missing)", 161, (long)"/nonexistent-csb", 0, 0, 0, 0},
      {"unshare(0)", 272, 0, 0, 0, 0, 0},
      {"setns(-1, 0)", 308, -1, 0, 0, 0, 0},
      {"name_to_handle_at(bad flags)", 303, AT_FDCWD, (long)"/", 0, 0, 0x40000000},
      {"open_by_handle_at(-1, NULL)", 304, -1, 0, 0x40000000, 0, 0},
      {"quotactl(bad type)", 179, 0x800000ff, 0, 0, 0, 0},
      {"quotactl_fd(-1, bad type)", 443, -1, 0xff, 0, 0, 0},
      {"ptrace(ATTACH, no such pid)", 101, 16, 0x3fffffff, 0, 0, 0},
      {"process_vm_readv(bad flags)", 310, 1, 0, 0, 0, 0},
      {"process_vm_writev(bad flags)", 311, 1, 0, 0, 0, 0},
      {"io_uring_setup(0, NULL)", 425, 0, 0, 0, 0, 0},
      {"io_uring_enter(-1)", 426, -1, 0, 0, 0, 0},
      {"io_uring_register(-1)", 427, -1, 0, 0, 0, 0},
      {"bpf(bad cmd)", 321, 0xffff, 0, 0, 0, 0},
      {"perf_event_open(NULL)", 298, 0, 0, -1, -1, 0},
      {"userfaultfd(bad flags)", 323, 0x40000000, 0, 0, 0, 0},
      {"keyctl(bad cmd)", 250, 0xffff, 0, 0, 0, 0},
      {"add_key(NULL)", 248, 0, 0, 0, 0, 0},
      {"request_key(NULL)", 249, 0, 0, 0, 0, 0},
      {"kexec_load(bad flags)", 246, 0, 0, 0, 0xffffffff, 0},
      {"kexec_file_load(-1)", 320, -1, -1, 0, 0, 0xffffffff},
      {"init_module(NULL)", 175, 0, 0, 0, 0, 0},
      {"finit_module(-1)", 313, -1, 0, 0, 0, 0},
      {"delete_module(NULL)", 176, 0, 0, 0, 0, 0},
      {"iopl(4)", 172, 4, 0, 0, 0, 0},
      {"ioperm(out of range)", 173, 0x7fffffff, 1, 1, 0, 0},
      {"swapon(NULL)", 167, 0, 0, 0, 0, 0},
      {"swapoff(NULL)", 168, 0, 0, 0, 0, 0},
      {"reboot(bad magic)", 169, 0, 0, 0, 0, 0},
      {"acct(missing)", 163, (long)"/nonexistent-csb", 0, 0, 0, 0},
      {"lookup_dcookie", 212, 0, 0, 0, 0, 0},
      {"syslog(bad type)", 103, 0xff, 0, 0, 0, 0},
      {"settimeofday(NULL, NULL)", 164, 0, 0, 0, 0, 0},
      {"clock_settime(bad clock)", 227, 0xffff, 0, 0, 0, 0},
      {"clock_adjtime(bad clock, NULL)", 305, 0xffff, 0, 0, 0, 0},
      {"adjtimex(NULL)", 159, 0, 0, 0, 0, 0},
      {"sethostname(NULL, too long)", 170, 0, 100000, 0, 0, 0},
      {"setdomainname(NULL, too long)", 171, 0, 100000, 0, 0, 0},
      {"uselib(NULL)", 134, 0, 0, 0, 0, 0},
      {"nfsservctl", 180, 0, 0, 0, 0, 0},
      {"_sysctl(NULL)", 156, 0, 0, 0, 0, 0},
      {"fanotify_init(bad flags)", 300, 0xffffffff, 0, 0, 0, 0},
  };
  char why[512] = "";
  size_t n = 0;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    errno = 0;
    long r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, calls[i].a2, calls[i].a3, calls[i].a4);
    if (r >= 0 || errno != EPERM) {
      size_t k = strlen(why);
      snprintf(why + k, sizeof why - k, "%s%s: %s", k ? "; " : "", calls[i].what,
               r >= 0 ? "succeeded" : strerror(errno));
      n++;
    }
  }
  if (n) return escaped("%zu denied calls reached the kernel, past the filter: %s", n, why);
  return blocked("%zu denied calls refused by the filter (EPERM)", sizeof calls / sizeof calls[0]);
}

/* Page migration of pid 1 (the unfiltered supervisor). */
static int p_pid1_numa(int c, char **v) {
  (void)c; (void)v;
  unsigned long mask = 1;
  long a = syscall(SYS_migrate_pages, 1, 8 * sizeof mask, &mask, &mask);
  if (a >= 0) return escaped("migrate_pages(pid 1) returned %ld", a);
  int e1 = errno;
  void *page = (void *)0x400000;
  int node = 0, status = 0;
  long b = syscall(SYS_move_pages, 1, 1, &page, &node, &status, 0);
  if (b >= 0) return escaped("move_pages(pid 1) returned %ld", b);
  return blocked("migrate_pages(1): %s; move_pages(1): %s", strerror(e1), strerror(errno));
}

/* Handles on pid 1 and on the host's mount table without opening
 * anything: O_PATH descriptors of pid 1's magic links and files, then
 * readlink, reopen through /proc/self/fd and openat relative to them;
 * pid 1's namespaces through its pidfd (PIDFD_GET_*_NAMESPACE) and setns
 * on that pidfd; listmount/statmount (Linux 6.8) of the host's mount
 * namespace, whose id argv[2] holds (0: unknown). */
struct mnt_id_req_v1 {
  uint32_t size, spare;
  uint64_t mnt_id, param, mnt_ns_id;
};

static int p_pid1_handles(int c, char **v) {
  static const char *const paths[] = {"/proc/1/cwd",     "/proc/1/root",   "/proc/1/exe",    "/proc/1/fd/0",
                                      "/proc/1/fd/1",    "/proc/1/fd/2",   "/proc/1/fd/3",   "/proc/1/ns/mnt",
                                      "/proc/1/ns/user", "/proc/1/ns/net", "/proc/1/environ", "/proc/1/mem"};
  char why[1024] = "";
  int opened = 0;
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    for (int nofollow = 0; nofollow < 2; nofollow++) {
      int fd = open(paths[i], O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
      if (fd < 0) continue;
      opened++;
      char buf[PATH_MAX];
      ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);
      if (n >= 0) return escaped("readlink of O_PATH %s gave %.*s", paths[i], (int)n, buf);
      char self[64];
      snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
      int r = open(self, O_RDONLY | O_CLOEXEC);
      if (r >= 0) return escaped("reopened O_PATH %s%s for reading", paths[i], nofollow ? " (O_NOFOLLOW)" : "");
      r = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (r >= 0) return escaped("openat(O_PATH %s, \".\") worked", paths[i]);
      close(fd);
    }
  snprintf(why, sizeof why, "%d O_PATH handles of pid 1's entries gave no readlink, reopen or openat", opened);
  long pfd = syscall(434 /* pidfd_open */, 1, 0);
  if (pfd < 0) {
    note_errno(why, sizeof why, "pidfd_open(1)");
  } else {
    for (unsigned k = 1; k <= 10; k++) {
      long nsfd = ioctl((int)pfd, _IO(0xFF, k) /* PIDFD_GET_*_NAMESPACE */);
      if (nsfd >= 0) return escaped("pidfd ioctl PIDFD_GET_*_NAMESPACE %u gave pid 1's namespace as fd %ld", k, nsfd);
    }
    note_errno(why, sizeof why, "PIDFD_GET_*_NAMESPACE(pid 1)");
    if (setns((int)pfd, CLONE_NEWNS | CLONE_NEWUSER) == 0) return escaped("setns(pidfd of pid 1) worked");
    note_errno(why, sizeof why, "setns(pidfd 1)");
  }
  uint64_t host_ns = c > 2 ? strtoull(v[2], NULL, 0) : 0;
  if (host_ns) {
    uint64_t ids[16];
    struct mnt_id_req_v1 req = {sizeof req, 0, ~0ULL /* LSMT_ROOT */, 0, host_ns};
    long n = syscall(458 /* listmount */, &req, ids, 16, 0);
    if (n >= 0) return escaped("listmount of the host's mount namespace %llu listed %ld mounts",
                               (unsigned long long)host_ns, n);
    note_errno(why, sizeof why, "listmount(host namespace)");
    char sm[4096];
    req.mnt_id = ~0ULL;
    req.param = 0x8 /* STATMOUNT_MNT_POINT */;
    n = syscall(457 /* statmount */, &req, sm, sizeof sm, 0);
    if (n >= 0) return escaped("statmount in the host's mount namespace worked");
    note_errno(why, sizeof why, "statmount(host namespace)");
  }
  return blocked("%s", why);
}

/* Every namespace flag through clone and unshare. */
static int p_clone_ns_variants(int c, char **v) {
  (void)c; (void)v;
  static const struct {
    const char *name;
    long flag;
  } ns[] = {{"NEWNS", CLONE_NEWNS},   {"NEWUTS", CLONE_NEWUTS},       {"NEWIPC", CLONE_NEWIPC},
            {"NEWPID", CLONE_NEWPID}, {"NEWNET", CLONE_NEWNET},       {"NEWCGROUP", CLONE_NEWCGROUP},
            {"NEWTIME", CLONE_NEWTIME}};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    long r = syscall(SYS_clone, ns[i].flag | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    if (r > 0) {
      waitpid((pid_t)r, NULL, 0);
      return escaped("clone(CLONE_%s) created a child", ns[i].name);
    }
    if (ns[i].flag != CLONE_NEWTIME && unshare((int)ns[i].flag) == 0) return escaped("unshare(CLONE_%s)", ns[i].name);
  }
  if (unshare(CLONE_NEWTIME) == 0) return escaped("unshare(CLONE_NEWTIME)");
  return blocked("clone and unshare refused every namespace flag: %s", strerror(errno));
}

/* argv[2]: a host file outside the policy; walk ".." out of the cwd (a
 * bind mount) and out of "/" with openat and openat2. */
static int p_dotdot_walk(int c, char **v) {
  if (c < 3) return perror2("usage: dotdot_walk HOSTFILE");
  char rel[4400] = "";
  for (int i = 0; i < 32; i++) strcat(rel, "../");
  strncat(rel, v[2] + 1, sizeof rel - strlen(rel) - 1);
  int fd = openat(AT_FDCWD, rel, O_RDONLY);
  if (fd >= 0) return escaped("read %s through ../ from the cwd", v[2]);
  int e1 = errno;
  struct {
    uint64_t flags, mode, resolve;
  } how = {O_RDONLY, 0, 0};
  fd = (int)syscall(437 /* openat2 */, AT_FDCWD, rel, &how, sizeof how);
  if (fd >= 0) return escaped("read %s through openat2", v[2]);
  int e2 = errno;
  int root = open("/", O_PATH | O_DIRECTORY);
  how.resolve = 0x08 /* RESOLVE_BENEATH */;
  fd = (int)syscall(437, root, rel, &how, sizeof how);
  if (fd >= 0) return escaped("read %s through openat2(RESOLVE_BENEATH)", v[2]);
  return blocked("openat: %s; openat2: %s; openat2(RESOLVE_BENEATH): %s", strerror(e1), strerror(e2),
                 strerror(errno));
}

/* argv[2]: key of a host SysV shared memory segment; argv[3]: name of a
 * host POSIX shared memory object (/dev/shm/NAME). */
static int p_host_ipc(int c, char **v) {
  if (c < 4) return perror2("usage: host_ipc SYSVKEY SHMNAME");
  long id = syscall(SYS_shmget, (long)strtoul(v[2], NULL, 0), 0, 0);
  if (id >= 0) return escaped("shmget found the host's segment %s", v[2]);
  int e1 = errno;
  char path[512];
  snprintf(path, sizeof path, "/dev/shm/%s", v[3]);
  int fd = open(path, O_RDWR);
  if (fd >= 0 && write(fd, "PWNED", 5) == 5) return escaped("wrote the host's %s", path);
  int e2 = errno;
  fd = open(path, O_RDONLY);
  if (fd >= 0) {
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
      memcpy(m, "PWNED", 5);
      return escaped("mapped the host's %s shared and writable", path);
    }
  }
  return blocked("shmget(%s): %s; %s read-write: %s; shared writable mapping: %s", v[2], strerror(e1), path,
                 strerror(e2), strerror(errno));
}

/* Everything else of pid 1 a command might reach by pid or pidfd while
 * pid 1 holds the caller's descriptors (the runner relays stdout: pid 1
 * holds the caller's log file): pidfd_getfd of each descriptor, each
 * /proc/1/fd entry, kcmp against them, process_madvise of its memory, and
 * stop or kill signals (a stopped pid 1 would no longer take the sandbox
 * down with csb-bwrap). */
static int p_pid1_reach(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
#define REACH_NOTE(...)                                       \
  do {                                                        \
    size_t n_ = strlen(why);                                  \
    snprintf(why + n_, sizeof why - n_, n_ ? "; " : "");      \
    n_ = strlen(why);                                         \
    snprintf(why + n_, sizeof why - n_, __VA_ARGS__);         \
  } while (0)
  int pidfd = (int)syscall(434 /* pidfd_open */, 1, 0);
  if (pidfd < 0) return perror2("pidfd_open(1): %s", strerror(errno));
  int err = 0;
  for (int fd = 0; fd < 256; fd++) {
    int d = (int)syscall(438 /* pidfd_getfd */, pidfd, fd, 0);
    if (d >= 0) return escaped("pidfd_getfd took pid 1's fd %d", fd);
    if (errno != EBADF || !err) err = errno;
  }
  REACH_NOTE("pidfd_getfd(pid 1, 0..255): %s", strerror(err));
  int listed = 0;
  err = 0;
  for (int fd = 0; fd < 256; fd++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/1/fd/%d", fd);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    listed++;
    int o = open(path, O_RDONLY | O_NONBLOCK);
    if (o < 0) o = open(path, O_WRONLY | O_NONBLOCK);
    if (o >= 0) return escaped("opened %s", path);
    err = errno;
  }
  REACH_NOTE("%d entries in /proc/1/fd, opening them: %s", listed, err ? strerror(err) : "none listed");
  long k = syscall(SYS_kcmp, 1, getpid(), 0 /* KCMP_FILE */, 3, 1);
  if (k >= 0) return escaped("kcmp compared pid 1's fd 3 with our stdout (%ld)", k);
  REACH_NOTE("kcmp(pid 1): %s", strerror(errno));
  static char page[4096];
  struct iovec iov = {page, sizeof page};
  long m = syscall(440 /* process_madvise */, pidfd, &iov, 1, 20 /* MADV_COLD */, 0);
  if (m >= 0) return escaped("process_madvise(pid 1, MADV_COLD) advised %ld bytes", m);
  REACH_NOTE("process_madvise(pid 1): %s", strerror(errno));
  static const int sigs[] = {SIGSTOP, SIGTSTP, SIGTTIN, SIGKILL};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    kill(1, sigs[i]);
    syscall(424 /* pidfd_send_signal */, pidfd, sigs[i], NULL, 0);
  }
  for (int i = 0; i < 20; i++) {
    char stat[256] = "";
    int fd = open("/proc/1/stat", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
    if (fd >= 0) close(fd);
    const char *p = n > 0 ? strrchr(stat, ')') : NULL;
    if (p && (p[2] == 'T' || p[2] == 't')) {
      kill(1, SIGCONT);
      return escaped("pid 1 stopped (state %c)", p[2]);
    }
    usleep(10000);
  }
  REACH_NOTE("SIGSTOP, SIGTSTP, SIGTTIN, SIGKILL to pid 1 (kill and pidfd_send_signal): pid 1 runs on");
#undef REACH_NOTE
  return blocked("%s", why);
}

/* Scheduling and resource limits of pid 1 (same uid, so the kernel lets
 * the command change them): SCHED_IDLE, a single CPU, nice 19 or tiny
 * limits would let busy processes of the command hold pid 1 back long
 * after csb-bwrap is gone. Each call sets what pid 1 has already. */
static int p_pid1_sched(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
#define SCHED_TRY(what, call)                                                                         \
  do {                                                                                                \
    errno = 0;                                                                                        \
    if ((call) == 0) return escaped("%s on pid 1 worked", what);                                      \
    note_errno(why, sizeof why, what);                                                                \
  } while (0)
  struct {
    uint64_t cur, max;
  } rl;
  if (syscall(SYS_prlimit64, 1, 7 /* RLIMIT_NOFILE */, NULL, &rl) != 0)
    return perror2("prlimit64(1) read: %s", strerror(errno));
  SCHED_TRY("prlimit64(RLIMIT_NOFILE)", syscall(SYS_prlimit64, 1, 7, &rl, NULL));
  errno = 0;
  int nice = getpriority(0 /* PRIO_PROCESS */, 1);
  if (nice == -1 && errno) return perror2("getpriority(1): %s", strerror(errno));
  SCHED_TRY("setpriority(PRIO_PROCESS, 1)", setpriority(0, 1, nice));
  SCHED_TRY("setpriority(PRIO_PGRP, 1)", setpriority(1 /* PRIO_PGRP */, 1, nice));
  if (getpgrp() == 1) SCHED_TRY("setpriority(PRIO_PGRP, 0) from pid 1's group", setpriority(1, 0, nice));
  int policy = (int)syscall(SYS_sched_getscheduler, 1);
  struct sched_param sp;
  if (policy < 0 || syscall(SYS_sched_getparam, 1, &sp) != 0) return perror2("sched_getscheduler(1): %s", strerror(errno));
  SCHED_TRY("sched_setscheduler", (int)syscall(SYS_sched_setscheduler, 1, policy, &sp));
  SCHED_TRY("sched_setparam", (int)syscall(SYS_sched_setparam, 1, &sp));
  uint32_t attr[14];
  memset(attr, 0, sizeof attr);
  if (syscall(SYS_sched_getattr, 1, attr, sizeof attr, 0) != 0) return perror2("sched_getattr(1): %s", strerror(errno));
  SCHED_TRY("sched_setattr", (int)syscall(SYS_sched_setattr, 1, attr, 0));
  cpu_set_t set;
  if (sched_getaffinity(1, sizeof set, &set) != 0) return perror2("sched_getaffinity(1): %s", strerror(errno));
  SCHED_TRY("sched_setaffinity", (int)syscall(SYS_sched_setaffinity, 1, sizeof set, &set));
#undef SCHED_TRY
  /* Autogroups (kernels with CONFIG_SCHED_AUTOGROUP): the command may set
   * the nice value of its own, which therefore must not be pid 1's, and
   * pid 1's must not be writable (run by root, the sandbox's uid 0 owns
   * pid 1's /proc files). */
  char mine[128], theirs[128];
  int fd = open("/proc/self/autogroup", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, mine, sizeof mine - 1);
    close(fd);
    if (n <= 0) return perror2("read /proc/self/autogroup");
    mine[n] = 0;
    mine[strcspn(mine, " ")] = 0; /* "/autogroup-N nice X" */
    fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "19", 2) != 2) return perror2("cannot renice its own autogroup: %s", strerror(errno));
    close(fd);
    fd = open("/proc/1/autogroup", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      n = read(fd, theirs, sizeof theirs - 1);
      close(fd);
      theirs[n > 0 ? n : 0] = 0;
      theirs[strcspn(theirs, " ")] = 0;
      if (strcmp(mine, theirs) == 0) return escaped("pid 1 shares the command's autogroup %s, now at nice 19", mine);
    }
    fd = open("/proc/1/autogroup", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) return escaped("/proc/1/autogroup opened for writing");
    size_t k = strlen(why);
    snprintf(why + k, sizeof why - k, "; own autogroup %s, pid 1's not writable: %s", mine, strerror(errno));
  }
  return blocked("%s", why);
}

/* Device nodes in the sandbox's /dev (walked two levels deep): only the
 * pseudo devices (null, zero, full, random, urandom), tty, ptmx and the
 * terminals of the sandbox's own devpts (and the caller's terminal bound
 * as /dev/console) may be there; no block device at all. /dev/core leads
 * to /proc/kcore (kernel memory). */
static int dev_allowed(dev_t d) {
  unsigned ma = major(d), mi = minor(d);
  if (ma == 1) return mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9;
  if (ma == 5) return mi == 0 || mi == 2;
  return ma >= 136 && ma <= 143; /* Unix98 pty slaves */
}
static int dev_walk(const char *dir, int depth, int *count) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISBLK(st.st_mode) || (S_ISCHR(st.st_mode) && !dev_allowed(st.st_rdev))) {
      closedir(d);
      return escaped("%s device %u:%u at %s", S_ISBLK(st.st_mode) ? "block" : "character", major(st.st_rdev),
                     minor(st.st_rdev), path);
    }
    if (S_ISCHR(st.st_mode)) (*count)++;
    if (S_ISDIR(st.st_mode) && depth > 0 && dev_walk(path, depth - 1, count)) {
      closedir(d);
      return 1;
    }
  }
  closedir(d);
  return 0;
}
static int p_dev_nodes(int c, char **v) {
  (void)c; (void)v;
  int count = 0;
  if (dev_walk("/dev", 2, &count)) return 1;
  if (count == 0) return perror2("no device node in /dev at all");
  int fd = open("/dev/core", O_RDONLY);
  if (fd >= 0) return escaped("opened /dev/core (kernel memory)");
  int e1 = errno;
  fd = open("/proc/kcore", O_RDONLY);
  if (fd >= 0) return escaped("opened /proc/kcore");
  return blocked("%d device nodes, all pseudo devices or terminals; /dev/core: %s; /proc/kcore: %s", count,
                 strerror(e1), strerror(errno));
}

/* The host's device nodes bubblewrap binds into /dev: each one's mode,
 * owner and times set to what it has (by path, and by a descriptor opened
 * for reading), so that nothing changes on the host when one goes through
 * but its change time, which the runner compares. */
/* The caller's terminal, on standard output (so bubblewrap binds it at
 * /dev/console) and on stdin and stderr: chmod, chown and utimensat of
 * /dev/console, each to what it has, and fchmod of each descriptor; the
 * runner compares the terminal's mode, owner and change time. The report
 * goes to the terminal, which the runner reads. */
static int p_tty_meta(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
  struct stat st;
  if (stat("/dev/console", &st) != 0) return perror2("stat /dev/console: %s", strerror(errno));
  struct stat out;
  if (fstat(1, &out) != 0 || !isatty(1) || out.st_rdev != st.st_rdev)
    return perror2("/dev/console is not the terminal on stdout");
  mode_t mode = st.st_mode & 07777;
  if (chmod("/dev/console", mode) == 0) return escaped("chmod /dev/console %04o went through", (unsigned)mode);
  note_errno(why, sizeof why, "chmod /dev/console");
  if (chown("/dev/console", st.st_uid, st.st_gid) == 0) return escaped("chown /dev/console went through");
  note_errno(why, sizeof why, "chown");
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (utimensat(AT_FDCWD, "/dev/console", ts, 0) == 0) return escaped("utimensat /dev/console went through");
  note_errno(why, sizeof why, "utimensat");
  for (int fd = 0; fd <= 2; fd++) {
    if (fchmod(fd, mode) == 0) return escaped("fchmod of descriptor %d, the caller's terminal, went through", fd);
    char what[32];
    snprintf(what, sizeof what, "fchmod %d", fd);
    note_errno(why, sizeof why, what);
  }
  return blocked("%s", why);
}

/* The caller's terminals on stdin and stderr, two different ones, and
 * standard output a pipe (so bubblewrap binds neither at /dev/console):
 * fchmod of each descriptor to its own mode, and chmod, chown and
 * utimensat of whatever node the sandbox shows it at (/proc/self/fd/N
 * followed); the runner compares both terminals' mode, owner and change
 * time. The report goes to standard output. */
static int p_tty_meta_stdio(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
  for (int fd = 0; fd <= 2; fd += 2) {
    struct stat st;
    if (!isatty(fd) || fstat(fd, &st) != 0) return perror2("descriptor %d is not a terminal", fd);
    mode_t mode = st.st_mode & 07777;
    char what[64], link[32];
    if (fchmod(fd, mode) == 0) return escaped("fchmod of descriptor %d, the caller's terminal, went through", fd);
    snprintf(what, sizeof what, "fchmod %d", fd);
    note_errno(why, sizeof why, what);
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (chmod(link, mode) == 0) return escaped("chmod %s %04o went through", link, (unsigned)mode);
    snprintf(what, sizeof what, "chmod %s", link);
    note_errno(why, sizeof why, what);
    if (chown(link, st.st_uid, st.st_gid) == 0) return escaped("chown %s went through", link);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, link, ts, 0) == 0) return escaped("utimensat %s went through", link);
  }
  return blocked("%s", why);
}

static int p_dev_node_meta(int c, char **v) {
  (void)c; (void)v;
  static const char *const nodes[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                      "/dev/random", "/dev/urandom", "/dev/tty"};
  char why[1024] = "";
  int n = 0;
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    const char *p = nodes[i];
    struct stat st;
    if (stat(p, &st) != 0) return perror2("stat %s: %s", p, strerror(errno));
    if (!S_ISCHR(st.st_mode)) return perror2("%s is not a character device", p);
    n++;
    mode_t mode = st.st_mode & 07777;
    if (chmod(p, mode) == 0) return escaped("chmod %s %04o went through", p, (unsigned)mode);
    if (i == 0) note_errno(why, sizeof why, "chmod /dev/null");
    if (chown(p, st.st_uid, st.st_gid) == 0) return escaped("chown %s %u:%u went through", p, st.st_uid, st.st_gid);
    if (i == 0) note_errno(why, sizeof why, "chown");
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, p, ts, 0) == 0) return escaped("utimensat %s (its own times) went through", p);
    if (i == 0) note_errno(why, sizeof why, "utimensat");
    int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) continue; /* /dev/tty without a controlling terminal: ENXIO */
    int r = fchmod(fd, mode);
    int e = errno;
    close(fd);
    if (r == 0) return escaped("fchmod of an open %s (%04o) went through", p, (unsigned)mode);
    errno = e;
    if (i == 0) note_errno(why, sizeof why, "fchmod");
  }
  /* stdin: the null device the runner opened (read-write) */
  struct stat in;
  if (fstat(0, &in) != 0 || !S_ISCHR(in.st_mode)) return perror2("stdin is not the null device");
  if (fchmod(0, in.st_mode & 07777) == 0) return escaped("fchmod of stdin, the caller's null device, went through");
  note_errno(why, sizeof why, "fchmod of stdin");
  return blocked("%d nodes: %s", n, why);
}

/* A seccomp filter of our own with a listener (allowed under
 * no_new_privs) that sends every connect() to us, answered with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE: it must not turn a connect the
 * sandbox refuses or mediates into one that goes ahead. argv[2]: a host
 * Unix socket the policy does not allow. */
static const char *listener_target;
static int do_listener_connect(void) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) return errno;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", listener_target);
  return connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
}
static int p_seccomp_listener(int c, char **v) {
  if (c < 3) return perror2("usage: seccomp_listener SOCKET");
  listener_target = v[2];
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_connect, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
  int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (lfd < 0) return blocked("seccomp(SET_MODE_FILTER, NEW_LISTENER): %s", strerror(errno));
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return perror2("fork: %s", strerror(errno));
  if (pid == 0) _exit(do_listener_connect());
  int answered = 0;
  struct pollfd pfd = {lfd, POLLIN, 0};
  if (poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLIN)) {
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
      struct seccomp_notif_resp resp;
      memset(&resp, 0, sizeof resp);
      resp.id = req.id;
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      answered = ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
    }
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return escaped("connect to %s went ahead (our listener %s)", v[2], answered ? "let it continue" : "saw nothing");
  return blocked("our listener %s; the connect failed: %s", answered ? "was asked and let it continue" : "was never asked",
                 WIFEXITED(st) ? strerror(WEXITSTATUS(st)) : "killed");
}

/* A process of the caller's outside the sandbox, named by pid (and its
 * process group) and a SysV segment of the caller's: its limits, nice
 * value, I/O priority, CPU affinity and scheduling class, changed by pid
 * (the runner compares them before and after), and the segment found by
 * key. The command's own settings (pid 0) must still change. */
static int p_host_procs(int c, char **v) {
  if (c < 5) return perror2("usage: host_procs PID PGID SYSVKEY");
  pid_t pid = (pid_t)atoi(v[2]), pgid = (pid_t)atoi(v[3]);
  char why[1024] = "";
  struct rlimit rl = {3, 3};
  if (prlimit(pid, RLIMIT_NOFILE, &rl, NULL) == 0) return escaped("prlimit(%d, RLIMIT_NOFILE) worked", (int)pid);
  note_errno(why, sizeof why, "prlimit(pid)");
  if (setpriority(PRIO_PROCESS, (id_t)pid, 19) == 0) return escaped("setpriority(PRIO_PROCESS, %d) worked", (int)pid);
  note_errno(why, sizeof why, "setpriority(PRIO_PROCESS, pid)");
  if (setpriority(PRIO_PGRP, (id_t)pgid, 19) == 0) return escaped("setpriority(PRIO_PGRP, %d) worked", (int)pgid);
  note_errno(why, sizeof why, "setpriority(PRIO_PGRP, pgid)");
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, pid, 3 << 13 /* idle class */) == 0)
    return escaped("ioprio_set(IOPRIO_WHO_PROCESS, %d) worked", (int)pid);
  note_errno(why, sizeof why, "ioprio_set(pid)");
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (sched_setaffinity(pid, sizeof one, &one) == 0) return escaped("sched_setaffinity(%d) worked", (int)pid);
  note_errno(why, sizeof why, "sched_setaffinity(pid)");
  struct sched_param sp = {0};
  if (syscall(SYS_sched_setscheduler, pid, 5 /* SCHED_IDLE */, &sp) == 0)
    return escaped("sched_setscheduler(%d, SCHED_IDLE) worked", (int)pid);
  note_errno(why, sizeof why, "sched_setscheduler(pid)");
  long id = syscall(SYS_shmget, (long)strtoul(v[4], NULL, 0), 0, 0);
  if (id >= 0) return escaped("shmget found the host's segment %s", v[4]);
  note_errno(why, sizeof why, "shmget(host key)");
  /* its own: still allowed */
  errno = 0;
  int own = getpriority(PRIO_PROCESS, 0);
  if (own == -1 && errno) return perror2("getpriority(PRIO_PROCESS, 0): %s", strerror(errno));
  /* (raising it needs no privilege) */
  if (setpriority(PRIO_PROCESS, 0, own < 19 ? own + 1 : 19) != 0)
    return perror2("setpriority(PRIO_PROCESS, 0): %s", strerror(errno));
  struct rlimit core = {0, 0};
  if (prlimit(0, RLIMIT_CORE, &core, NULL) != 0) return perror2("prlimit(0, RLIMIT_CORE): %s", strerror(errno));
  return blocked("%s; its own nice value and limits changed", why);
}

/* pid 1 by the calls pid1_sched does not name: setpriority(PRIO_USER)
 * renices every process of a uid visible in the caller's PID namespace,
 * pid 1 included (same uid, and raising a nice value needs no
 * capability); ioprio_set by process, group and user (the idle class
 * needs no capability either); /proc/1/timerslack_ns. Each call sets
 * what pid 1 has already. */
static int p_pid1_prio_user(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
  errno = 0;
  int nice = getpriority(0 /* PRIO_PROCESS */, 1);
  if (nice == -1 && errno) return perror2("getpriority(1): %s", strerror(errno));
  if (getpriority(0, 0) != nice) return perror2("the command's nice value is not pid 1's");
  if (setpriority(2 /* PRIO_USER */, 0, nice) == 0) return escaped("setpriority(PRIO_USER, 0) reniced pid 1 too");
  note_errno(why, sizeof why, "setpriority(PRIO_USER, 0)");
  if (setpriority(2, getuid(), nice) == 0) return escaped("setpriority(PRIO_USER, %u) reniced pid 1 too", getuid());
  note_errno(why, sizeof why, "setpriority(PRIO_USER, own uid)");
  long prio = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 1);
  if (prio < 0) return perror2("ioprio_get(1): %s", strerror(errno));
  static const struct {
    int which, who;
    const char *what;
  } io[] = {{1, 1, "ioprio_set(IOPRIO_WHO_PROCESS, 1)"},
            {2, 1, "ioprio_set(IOPRIO_WHO_PGRP, 1)"},
            {2, 0, "ioprio_set(IOPRIO_WHO_PGRP, 0)"},
            {3, -1, "ioprio_set(IOPRIO_WHO_USER, own uid)"}};
  for (size_t i = 0; i < sizeof io / sizeof io[0]; i++) {
    if (io[i].which == 2 && io[i].who == 0 && getpgrp() != 1) continue;
    int who = io[i].who < 0 ? (int)getuid() : io[i].who;
    if (syscall(SYS_ioprio_set, io[i].which, who, prio) == 0) return escaped("%s worked", io[i].what);
    note_errno(why, sizeof why, io[i].what);
  }
  int fd = open("/proc/1/timerslack_ns", O_WRONLY | O_CLOEXEC);
  /* 50 us, the kernel's default (reading pid 1's needs CAP_SYS_NICE too) */
  if (fd >= 0 && write(fd, "50000", 5) == 5) return escaped("wrote /proc/1/timerslack_ns");
  note_errno(why, sizeof why, "/proc/1/timerslack_ns");
  return blocked("%s", why);
}

/* The filter's argument tests against high bits the kernel drops: clone
 * flags (the kernel keeps the low 32 bits), and the pid 1 rules, whose
 * pid and `which` arguments are ints. */
static int p_syscall_arg_highbits(int c, char **v) {
  (void)c; (void)v;
  const unsigned long hi = 0xdead000000000000UL;
  char why[1024] = "";
#define HI_TRY(what, call)                                                                         \
  do {                                                                                             \
    if ((call) == 0) return escaped("%s worked", what);                                            \
    note_errno(why, sizeof why, what);                                                             \
  } while (0)
  long r = syscall(SYS_clone, hi | CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) {
    waitpid((pid_t)r, NULL, 0);
    return escaped("clone(CLONE_NEWUSER | high bits) created a child");
  }
  HI_TRY("clone(CLONE_NEWUSER | high bits)", -1);
  struct {
    uint64_t cur, max;
  } rl;
  if (syscall(SYS_prlimit64, 1, 7 /* RLIMIT_NOFILE */, NULL, &rl) != 0)
    return perror2("prlimit64(1) read: %s", strerror(errno));
  HI_TRY("prlimit64(1 | high bits)", syscall(SYS_prlimit64, hi | 1, 7, &rl, NULL));
  errno = 0;
  int nice = getpriority(0, 1);
  if (nice == -1 && errno) return perror2("getpriority(1): %s", strerror(errno));
  HI_TRY("setpriority(PRIO_PROCESS | high bits, 1 | high bits)", syscall(SYS_setpriority, hi, hi | 1, nice));
  cpu_set_t set;
  if (sched_getaffinity(1, sizeof set, &set) != 0) return perror2("sched_getaffinity(1): %s", strerror(errno));
  HI_TRY("sched_setaffinity(1 | high bits)", syscall(SYS_sched_setaffinity, hi | 1, sizeof set, &set));
  struct sched_param sp;
  int policy = (int)syscall(SYS_sched_getscheduler, 1);
  if (policy < 0 || syscall(SYS_sched_getparam, 1, &sp) != 0) return perror2("sched_getparam(1): %s", strerror(errno));
  HI_TRY("sched_setscheduler(1 | high bits)", syscall(SYS_sched_setscheduler, hi | 1, policy, &sp));
#undef HI_TRY
  return blocked("%s", why);
}

/* Blocked calls through the other system call ABIs of x86-64, each in a
 * child that must be killed (SIGSYS; SIGSEGV where the kernel lacks ia32
 * emulation): x32 numbers (bit 30, including the x32-only entries from
 * 512, such as its ioctl and ptrace) and i386 int 0x80 numbers. */
struct abi_call {
  const char *what;
  int i386;
  long nr, a0, a1, a2;
};
static const struct abi_call *abi_now;
static int do_abi_call(void) {
  long ret;
  if (abi_now->i386) {
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(abi_now->nr), "b"(abi_now->a0), "c"(abi_now->a1), "d"(abi_now->a2)
                     : "memory");
    return ret >= 0 ? 0 : (int)-ret;
  }
  ret = syscall(abi_now->nr | X32_BIT, abi_now->a0, abi_now->a1, abi_now->a2);
  return ret >= 0 ? 0 : errno;
}
static int p_other_abi_blocked(int c, char **v) {
  (void)c; (void)v;
  static const struct abi_call calls[] = {
      {"x32 unshare(CLONE_NEWUSER)", 0, 272, CLONE_NEWUSER, 0, 0},
      {"x32 io_uring_setup", 0, NR_IO_URING_SETUP, 8, 0, 0},
      {"x32 bpf", 0, NR_BPF, 0, 0, 0},
      {"x32 ioctl(TIOCSTI) (x32 entry 514)", 0, 514, 0, 0x5412, 0},
      {"x32 ptrace(ATTACH, 1) (x32 entry 521)", 0, 521, 16, 1, 0},
      {"x32 process_vm_readv (x32 entry 539)", 0, 539, 1, 0, 0},
      {"x32 setpriority(PRIO_USER)", 0, 141, 2, 0, 0},
      {"i386 unshare(CLONE_NEWUSER)", 1, 310, CLONE_NEWUSER, 0, 0},
      {"i386 ptrace(ATTACH, 1)", 1, 26, 16, 1, 0},
      {"i386 ioctl(TIOCSTI)", 1, 54, 0, 0x5412, 0},
      {"i386 io_uring_setup", 1, 425, 8, 0, 0},
      {"i386 mount", 1, 21, 0, 0, 0},
      {"i386 setpriority(PRIO_USER)", 1, 97, 2, 0, 0},
  };
  int killed = 0;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    abi_now = &calls[i];
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return perror2("fork: %s", strerror(errno));
    if (pid == 0) _exit(do_abi_call() == 0 ? 0 : 3);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFSIGNALED(st) || (WTERMSIG(st) != SIGSYS && WTERMSIG(st) != SIGSEGV))
      return escaped("%s was not killed (%s)", calls[i].what,
                     WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "it succeeded" : "it returned an error");
    killed++;
  }
  return blocked("%d calls through the x32 and i386 ABIs, each killed", killed);
}

/* argv[2]: csb-bwrap's binary on the host. The sandbox runs it as pid 1
 * and sees it at /dev/.csb-bwrap: a change would run outside the sandbox
 * at the caller's next run. Write it by both paths, by /proc/1/exe and by
 * reopening a read-only descriptor through /proc/self/fd; change its mode,
 * times and extended attributes. The runner compares the file. */
static int p_csb_binary_write(int c, char **v) {
  const char *paths[] = {"/dev/.csb-bwrap", c > 2 ? v[2] : NULL, "/proc/1/exe"};
  char why[2048] = "";
#define BIN_NOTE(fmt, ...)                                                                          \
  do {                                                                                              \
    size_t n_ = strlen(why);                                                                        \
    snprintf(why + n_, sizeof why - n_, "%s" fmt ": %s", n_ ? "; " : "", __VA_ARGS__, strerror(errno)); \
  } while (0)
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    const char *p = paths[i];
    if (!p) continue;
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) return escaped("opened %s for writing", p);
    BIN_NOTE("open(%s, O_WRONLY)", p);
    if (truncate(p, 0) == 0) return escaped("truncated %s", p);
    BIN_NOTE("truncate(%s)", p);
    if (chmod(p, 04755) == 0) return escaped("chmod %s", p);
    BIN_NOTE("chmod(%s)", p);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    if (utimensat(AT_FDCWD, p, ts, 0) == 0) return escaped("set the times of %s", p);
    BIN_NOTE("utimensat(%s)", p);
    if (syscall(SYS_setxattr, p, "user.csb", "x", 1, 0) == 0) return escaped("setxattr on %s", p);
    BIN_NOTE("setxattr(%s)", p);
    int ro = open(p, O_RDONLY | O_CLOEXEC);
    if (ro >= 0) {
      char self[64];
      snprintf(self, sizeof self, "/proc/self/fd/%d", ro);
      fd = open(self, O_RDWR | O_CLOEXEC);
      if (fd >= 0) return escaped("reopened %s read-write through %s", p, self);
      BIN_NOTE("reopen %s read-write", p);
      close(ro);
    }
  }
  if (rename("/dev/.csb-bwrap", "/dev/.csb-bwrap.moved") == 0) return escaped("moved /dev/.csb-bwrap");
  BIN_NOTE("%s", "rename /dev/.csb-bwrap");
#undef BIN_NOTE
  return blocked("%s", why);
}

static const probe probes[] = {
    {"x32_socket", p_x32_socket},
    {"int80_socketcall", p_int80_socketcall},
    {"int80_socket", p_int80_socket},
    {"io_uring", p_io_uring},
    {"clone3_newuser", p_clone3_newuser},
    {"clone_newuser", p_clone_newuser},
    {"unshare_user", p_unshare_user},
    {"unshare_mount", p_unshare_mount},
    {"setns", p_setns},
    {"mount_tmpfs", p_mount_tmpfs},
    {"umount_protected", p_umount_protected},
    {"remount_rw", p_remount_rw},
    {"pivot_root", p_pivot_root},
    {"new_mount_api", p_new_mount_api},
    {"chroot", p_chroot},
    {"keyctl", p_keyctl},
    {"bpf", p_bpf},
    {"perf_event_open", p_perf_event_open},
    {"userfaultfd", p_userfaultfd},
    {"modules_kexec", p_modules_kexec},
    {"open_by_handle", p_open_by_handle},
    {"ptrace_parent", p_ptrace_parent},
    {"process_vm", p_process_vm},
    {"proc_pid1_mem", p_proc_pid1_mem},
    {"proc_pid1_rest", p_proc_pid1_rest},
    {"pid1_reach", p_pid1_reach},
    {"pid1_sched", p_pid1_sched},
    {"proc_root", p_proc_root},
    {"proc_self_exe", p_proc_self_exe},
    {"proc_sysctl", p_proc_sysctl},
    {"no_new_privs", p_no_new_privs},
    {"leaked_fds", p_leaked_fds},
    {"same_ids", p_same_ids},
    {"mknod", p_mknod},
    {"sysfs_write", p_sysfs_write},
    {"kernel_log", p_kernel_log},
    {"kill_host", p_kill_host},
    {"admin_syscalls", p_admin_syscalls},
    {"lsm_set_self_attr", p_lsm_set_self_attr},
    {"denied_by_filter", p_denied_by_filter},
    {"pid1_handles", p_pid1_handles},
    {"pid1_numa", p_pid1_numa},
    {"clone_ns_variants", p_clone_ns_variants},
    {"dotdot_walk", p_dotdot_walk},
    {"host_ipc", p_host_ipc},
    {"dev_nodes", p_dev_nodes},
    {"dev_node_meta", p_dev_node_meta},
    {"tty_meta", p_tty_meta},
    {"tty_meta_stdio", p_tty_meta_stdio},
    {"seccomp_listener", p_seccomp_listener},
    {"pid1_prio_user", p_pid1_prio_user},
    {"host_procs", p_host_procs},
    {"syscall_arg_highbits", p_syscall_arg_highbits},
    {"other_abi_blocked", p_other_abi_blocked},
    {"csb_binary_write", p_csb_binary_write},
    {NULL, NULL},
};

int main(int argc, char **argv) { return probe_main(probes, argc, argv); }
