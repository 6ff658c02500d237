/* seccomp.c - the syscall filter (libseccomp), documented in
 * docs/csb-bwrap.md ("seccomp").
 *
 * Native architecture only: any other audit arch (i386 `int 0x80`, x32 via
 * the x86-64 entry with bit 30 set) kills the process. Matching rules
 * return EPERM (clone3: ENOSYS, so that libc falls back to clone, whose
 * flags we can inspect); everything else is allowed, but for syscalls
 * newer than every rule here (BW_SECCOMP_FIRST_UNVETTED and up), which
 * fail with ENOSYS as on a kernel without them: a kernel upgrade cannot
 * hand the sandbox a syscall nobody looked at (open_tree_attr, Linux 6.15,
 * combined two denied calls in one).
 *
 * Argument comparisons are 32-bit (masked) where the kernel truncates the
 * argument to int, so that high bits cannot smuggle a value past the
 * filter (CVE-2019-10063). libseccomp cannot AND two comparisons on the
 * same argument, so "domain not in {A, B}" is spelled as ranges.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "csb_bwrap.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef FS_IOC_ENABLE_VERITY
#define FS_IOC_ENABLE_VERITY 0x40806685u /* _IOW('f', 133, struct fsverity_enable_arg) */
#endif
#ifndef FS_IOC_SET_ENCRYPTION_POLICY
#define FS_IOC_SET_ENCRYPTION_POLICY 0x800c6613u /* _IOR('f', 19, struct fscrypt_policy_v1) */
#endif
#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef TIOCSETD
#define TIOCSETD 0x5423
#endif
#ifndef TIOCEXCL
#define TIOCEXCL 0x540C
#endif

/* ioprio_set's `which` (linux/ioprio.h) */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define IOPRIO_WHO_USER 3

#define SOCK_TYPE_MASK 0xf
/* Equality on the low 32 bits only, whatever the high bits hold. */
#define EQ32A0(v) SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (scmp_datum_t)(v))
#define EQ32A1(v) SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (scmp_datum_t)(v))

/* Syscalls denied in every mode. */
static const char *const always_denied[] = {
    /* debugging other processes */
    "ptrace", "process_vm_readv", "process_vm_writev",
    /* io_uring bypasses socket() and connect() filtering */
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    /* kernel attack surface */
    "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key",
    /* mount table */
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "open_tree_attr",
    /* namespaces */
    "unshare", "setns",
    /* file handles bypass path-based confinement */
    "open_by_handle_at", "name_to_handle_at",
    /* kernel modules and kexec */
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    /* host administration */
    "iopl", "ioperm", "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd",
    "lookup_dcookie", "vhangup", "syslog", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "uselib", "nfsservctl", "_sysctl",
    "fanotify_init", "lsm_set_self_attr",
};

/* Metadata changes Landlock does not control (it checks opening, creating,
 * removing, renaming, linking and truncating only): refused where the
 * policy lets the command write nothing. */
static const char *const metadata_changes[] = {
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
    "removexattr", "lremovexattr", "fremovexattr", "removexattrat", "file_setattr",
};

/* The number of syscall `name` on the build's architecture; syscalls newer
 * than the table of the libseccomp csb builds with (Linux 6.7) by number:
 * since Linux 5.1 a new syscall has the same number on every architecture
 * csb builds for. __NR_SCMP_ERROR when unknown. */
static int syscall_nr(const char *name) {
  static const struct {
    const char *name;
    int nr;
  } newer[] = {
      {"lsm_set_self_attr", 460}, {"setxattrat", 463},   {"removexattrat", 466},
      {"open_tree_attr", 467},    {"file_setattr", 469},
  };
  int nr = seccomp_syscall_resolve_name(name);
  for (size_t i = 0; nr == __NR_SCMP_ERROR && i < CSB_ARRAY_LEN(newer); i++)
    if (strcmp(name, newer[i].name) == 0) nr = newer[i].nr;
  return nr;
}

/* Supervisor (pid 1 of the sandbox) needs these for Unix-socket
 * mediation; the command never gets them. */
static int supervisor_may(const char *name) {
  return strcmp(name, "process_vm_readv") == 0;
}

static int deny(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *args) {
  int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, n, args);
  return rc == 0 || rc == -EEXIST;
}

#define DENY0(ctx, nr) deny((ctx), (nr), 0, NULL)
#define DENYA(ctx, nr, ...)                                                   \
  deny((ctx), (nr), sizeof((struct scmp_arg_cmp[]){__VA_ARGS__}) / sizeof(struct scmp_arg_cmp), \
       (struct scmp_arg_cmp[]){__VA_ARGS__})

static int deny_domain_except(scmp_filter_ctx ctx, int nr, const int *allowed, size_t n) {
  /* allowed[] ascending: deny below the first, each value in between, and
   * above the last (32-bit comparisons: the kernel takes an int). */
  if (!DENYA(ctx, nr, SCMP_A0_32(SCMP_CMP_LT, (scmp_datum_t)allowed[0]))) return 0;
  for (size_t i = 1; i < n; i++)
    for (int d = allowed[i - 1] + 1; d < allowed[i]; d++)
      if (!DENYA(ctx, nr, EQ32A0((scmp_datum_t)d))) return 0;
  if (!DENYA(ctx, nr, SCMP_A0_32(SCMP_CMP_GT, (scmp_datum_t)allowed[n - 1]))) return 0;
  return 1;
}

/* Ahead of the libseccomp program: the native architecture's syscalls
 * numbered BW_SECCOMP_FIRST_UNVETTED and up (not the x32 ones, bit 30,
 * which the program kills with other architectures) fail with ENOSYS;
 * anything else goes on to the instruction after the guard, the
 * program's first (its jumps are relative: they stay as they are). */
#define GUARD_LEN 6
static void future_guard(struct sock_filter g[GUARD_LEN]) {
  const struct sock_filter prog[GUARD_LEN] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),                           /* 0: arch */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 0, 4), /* 1: other: to 6 */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),                           /* 2: nr */
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 2, 0),          /* 3: x32: to 6 */
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, BW_SECCOMP_FIRST_UNVETTED, 0, 1), /* 4: older: to 6 */
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),           /* 5 */
  };
  memcpy(g, prog, sizeof prog);
}

size_t bw_seccomp_guard(struct sock_filter *out, size_t cap) {
  if (cap < GUARD_LEN + 1) return 0;
  future_guard(out);
  out[GUARD_LEN] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  return GUARD_LEN + 1;
}

static scmp_filter_ctx build(const bw_seccomp_opts *o, int supervisor, csb_error *err) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) {
    csb_error_set(err, "seccomp_init failed");
    return NULL;
  }
  /* Non-native architectures (i386 int 0x80, x32) are killed. */
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  /* Syscall numbers tested as a binary tree rather than one after the
   * other: loading the filter makes the kernel run it for every syscall
   * number (to find those it always allows), about 90 us for the linear
   * chain of ~190 instructions on a 2-vCPU VM, and every syscall whose
   * arguments are checked runs it again. */
  if (!o->linear && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0) {
    seccomp_release(ctx);
    csb_error_set(err, "seccomp: cannot select the binary-tree filter layout");
    return NULL;
  }
  int ok = 1;
  for (size_t i = 0; ok && i < CSB_ARRAY_LEN(always_denied); i++) {
    if (supervisor && supervisor_may(always_denied[i])) continue;
    int nr = syscall_nr(always_denied[i]);
    if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture */
    ok = DENY0(ctx, nr);
    if (!ok) csb_error_set(err, "seccomp rule for %s failed", always_denied[i]);
  }
  if (!ok) goto fail;

  for (size_t i = 0; o->metadata_read_only && i < CSB_ARRAY_LEN(metadata_changes); i++) {
    int nr = syscall_nr(metadata_changes[i]);
    if (nr != __NR_SCMP_ERROR && !DENY0(ctx, nr)) goto rule_fail;
  }
  if (o->metadata_read_only) {
    /* Set through a descriptor open for reading: inode flags (chattr) and
     * extended file attributes, the inode generation, fs-verity (makes
     * the file immutable for good) and an encryption policy (an empty
     * directory nobody can then create files in without the key). */
    static const unsigned long flag_ioctls[] = {FS_IOC_SETFLAGS,      FS_IOC32_SETFLAGS,   FS_IOC_FSSETXATTR,
                                                FS_IOC_SETVERSION,    FS_IOC32_SETVERSION, FS_IOC_ENABLE_VERITY,
                                                FS_IOC_SET_ENCRYPTION_POLICY};
    for (size_t i = 0; i < CSB_ARRAY_LEN(flag_ioctls); i++)
      if (!DENYA(ctx, SCMP_SYS(ioctl), EQ32A1(flag_ioctls[i]))) goto rule_fail;
  }

  /* clone with namespace flags; clone3 hides its flags in memory. */
  {
    /* Deny each namespace flag separately (MASKED_EQ flag == flag). */
    static const unsigned long flags[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                          CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME};
    for (size_t i = 0; i < CSB_ARRAY_LEN(flags); i++)
      if (!DENYA(ctx, SCMP_SYS(clone), SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]))) goto rule_fail;
  }
  if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0) goto rule_fail;

  /* Terminal injection, compared on the low 32 bits only. */
  if (!DENYA(ctx, SCMP_SYS(ioctl), EQ32A1(TIOCSTI))) goto rule_fail;
  if (!DENYA(ctx, SCMP_SYS(ioctl), EQ32A1(TIOCLINUX))) goto rule_fail;
  /* Terminal state that outlives the command on the caller's terminal: a
   * line discipline (N_NULL discards all its input and output; others
   * are rarely used kernel code) and exclusive mode (later opens fail). */
  if (!DENYA(ctx, SCMP_SYS(ioctl), EQ32A1(TIOCSETD))) goto rule_fail;
  if (!DENYA(ctx, SCMP_SYS(ioctl), EQ32A1(TIOCEXCL))) goto rule_fail;

  /* pid 1 of the sandbox, the supervisor, shares the command's uid, so the
   * kernel would let the command lower its priority, pin it to one CPU or
   * shrink its limits: with enough busy processes of its own the command
   * could then hold pid 1 back long after csb-bwrap is gone. pid numbers
   * are the sandbox's own (no new PID namespace can be made), so 1 is
   * always the supervisor; PRIO_PGRP 0 is pid 1's group as long as the
   * command stays in it. */
  {
    static const char *const by_pid[] = {"sched_setaffinity", "sched_setscheduler", "sched_setparam",
                                         "sched_setattr"};
    for (size_t i = 0; i < CSB_ARRAY_LEN(by_pid); i++) {
      int nr = seccomp_syscall_resolve_name(by_pid[i]);
      if (nr != __NR_SCMP_ERROR && !DENYA(ctx, nr, EQ32A0(1))) goto rule_fail;
    }
    /* prlimit64 may still read them (no new limit) */
    if (!DENYA(ctx, SCMP_SYS(prlimit64), EQ32A0(1), SCMP_A2(SCMP_CMP_NE, 0))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(setpriority), EQ32A0(PRIO_PROCESS), EQ32A1(1))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(setpriority), EQ32A0(PRIO_PGRP), EQ32A1(1))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(setpriority), EQ32A0(PRIO_PGRP), EQ32A1(0))) goto rule_fail;
    /* PRIO_USER renices every process of a uid the caller's PID namespace
     * shows, pid 1 included, whatever `who` says. */
    if (!DENYA(ctx, SCMP_SYS(setpriority), EQ32A0(PRIO_USER))) goto rule_fail;
    /* Block I/O priority (the idle class needs no capability): pid 1
     * writes relayed output into the caller's files. By user, it reaches
     * pid 1 as PRIO_USER does; CMD's process group is never pid 1's (CMD
     * starts a session of its own). */
    if (!DENYA(ctx, SCMP_SYS(ioprio_set), EQ32A0(IOPRIO_WHO_PROCESS), EQ32A1(1))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(ioprio_set), EQ32A0(IOPRIO_WHO_PGRP), EQ32A1(1))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(ioprio_set), EQ32A0(IOPRIO_WHO_USER))) goto rule_fail;
  }
  /* The legacy Landlock backend: the command shares the caller's PID and
   * IPC namespaces, so every pid, process group and user it can name is
   * the caller's. It may change its own scheduling, limits and I/O
   * priority (pid 0) and nobody else's, its own children's included (the
   * kernel offers nothing finer without a PID namespace), and SysV IPC,
   * whose objects are the caller's too, is refused whole. */
  if (o->shared_namespaces) {
    static const char *const by_pid[] = {"sched_setaffinity", "sched_setscheduler", "sched_setparam",
                                         "sched_setattr",     "migrate_pages",      "move_pages"};
    for (size_t i = 0; i < CSB_ARRAY_LEN(by_pid); i++) {
      int nr = seccomp_syscall_resolve_name(by_pid[i]);
      if (nr != __NR_SCMP_ERROR && !DENYA(ctx, nr, SCMP_A0_32(SCMP_CMP_NE, 0))) goto rule_fail;
    }
    /* (SCMP_A0_32 with NE: libseccomp compares all 64 bits, so a pid 0
     * with bits the kernel drops is refused too; safe in that direction
     * only, never with EQ) */
    if (!DENYA(ctx, SCMP_SYS(prlimit64), SCMP_A0_32(SCMP_CMP_NE, 0), SCMP_A2(SCMP_CMP_NE, 0))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(setpriority), EQ32A0(PRIO_PROCESS), SCMP_A1_32(SCMP_CMP_NE, 0))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(setpriority), EQ32A0(PRIO_PGRP))) goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(ioprio_set), EQ32A0(IOPRIO_WHO_PROCESS), SCMP_A1_32(SCMP_CMP_NE, 0)))
      goto rule_fail;
    if (!DENYA(ctx, SCMP_SYS(ioprio_set), EQ32A0(IOPRIO_WHO_PGRP))) goto rule_fail;
    /* (POSIX message queues live in the IPC namespace's mqueue file
     * system, which Landlock does not cover: the caller's too) */
    static const char *const sysv[] = {"shmget",     "shmat",           "shmctl",          "msgget",
                                       "msgsnd",     "msgrcv",          "msgctl",          "semget",
                                       "semop",      "semtimedop",      "semctl",          "ipc",
                                       "mq_open",    "mq_unlink",       "mq_timedsend",    "mq_timedreceive",
                                       "mq_notify",  "mq_getsetattr"};
    for (size_t i = 0; i < CSB_ARRAY_LEN(sysv); i++) {
      int nr = seccomp_syscall_resolve_name(sysv[i]);
      if (nr != __NR_SCMP_ERROR && nr >= 0 && !DENY0(ctx, nr)) goto rule_fail;
    }
  }

  /* Socket families and types. */
  int sock = SCMP_SYS(socket), pair = SCMP_SYS(socketpair);
  /* Raw IP sockets (ICMP, spoofing) and SOCK_PACKET in every mode;
   * AF_PACKET is refused below. Netlink uses SOCK_RAW legitimately. */
  if (!DENYA(ctx, sock, EQ32A0(AF_INET), SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, SOCK_RAW))) goto rule_fail;
  if (!DENYA(ctx, sock, EQ32A0(AF_INET6), SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, SOCK_RAW))) goto rule_fail;
  if (!DENYA(ctx, sock, SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, SOCK_PACKET))) goto rule_fail;
  /* Datagram Unix sockets can address any pathname socket with
   * sendmsg(msg_name), which no filter can inspect. The kernel makes
   * AF_UNIX SOCK_RAW a datagram socket too. */
  if (!o->unix_all) {
    static const int dgram_types[] = {SOCK_DGRAM, SOCK_RAW};
    for (size_t i = 0; i < CSB_ARRAY_LEN(dgram_types); i++) {
      if (!DENYA(ctx, sock, EQ32A0(AF_UNIX),
                 SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, (scmp_datum_t)dgram_types[i])))
        goto rule_fail;
      if (!DENYA(ctx, pair, EQ32A0(AF_UNIX),
                 SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, (scmp_datum_t)dgram_types[i])))
        goto rule_fail;
    }
  }
  /* socketpair: AF_UNIX only, always. */
  {
    static const int unix_only[] = {AF_UNIX};
    if (!deny_domain_except(ctx, pair, unix_only, 1)) goto rule_fail;
  }
  int unix_socket_ok = o->unix_all || o->unix_mediated || o->net == BW_SECCOMP_NET_RESTRICTED;
  switch (o->net) {
  case BW_SECCOMP_NET_RESTRICTED: {
    static const int unix_only[] = {AF_UNIX};
    if (!deny_domain_except(ctx, sock, unix_only, 1)) goto rule_fail;
    break;
  }
  case BW_SECCOMP_NET_PROXY: {
    static const int with_unix[] = {AF_UNIX, AF_INET, AF_INET6};
    static const int inet_only[] = {AF_INET, AF_INET6};
    if (!deny_domain_except(ctx, sock, unix_socket_ok ? with_unix : inet_only, unix_socket_ok ? 3 : 2))
      goto rule_fail;
    break;
  }
  case BW_SECCOMP_NET_ENABLED: {
    /* The families a networked command uses; the rest of the kernel's
     * socket code (AF_ALG, AF_TIPC, AF_RDS, AF_KCM, AF_VSOCK, AF_PACKET,
     * ...) stays out of its reach. */
    static const int with_unix[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
    static const int no_unix[] = {AF_INET, AF_INET6, AF_NETLINK};
    if (!deny_domain_except(ctx, sock, unix_socket_ok ? with_unix : no_unix, unix_socket_ok ? 4 : 3))
      goto rule_fail;
    /* netlink: only NETLINK_ROUTE (interface and address queries). */
    if (!DENYA(ctx, sock, EQ32A0(AF_NETLINK),
               SCMP_A2_32(SCMP_CMP_NE, 0)))
      goto rule_fail;
    break;
  }
  }
  /* connect(): Unix sockets reach host services. */
  if (!supervisor && !o->unix_all && !o->unix_mediated && o->net == BW_SECCOMP_NET_RESTRICTED)
    if (!DENY0(ctx, SCMP_SYS(connect))) goto rule_fail;
  return ctx;
rule_fail:
  csb_error_set(err, "building the seccomp filter failed");
fail:
  seccomp_release(ctx);
  return NULL;
}

int bw_seccomp_install_common(const bw_seccomp_opts *o, int supervisor, csb_error *err);

int bw_seccomp_install_common(const bw_seccomp_opts *o, int supervisor, csb_error *err) {
  scmp_filter_ctx ctx = build(o, supervisor, err);
  if (!ctx) return 0;
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0)
    return csb_error_set(err, "loading the seccomp filter failed: %s (fix: a kernel with "
                              "CONFIG_SECCOMP_FILTER)", strerror(-rc));
  /* (the guard the exported programs start with, as a filter of its own) */
  struct sock_filter g[GUARD_LEN + 1];
  struct sock_fprog fp = {(unsigned short)bw_seccomp_guard(g, GUARD_LEN + 1), g};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0)
    return csb_error_set(err, "loading the seccomp filter failed: %s", strerror(errno));
  return 1;
}

int bw_seccomp_install(const bw_seccomp_opts *o, csb_error *err) {
  return bw_seccomp_install_common(o, 0, err);
}

int bw_seccomp_install_notify(int *listener_out, csb_error *err) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return csb_error_set(err, "seccomp_init failed");
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0) != 0) {
    seccomp_release(ctx);
    return csb_error_set(err, "seccomp notify rule failed");
  }
  /* libseccomp keeps the listener only when the kernel's answer is above
   * 0: with stdin closed (the caller's `<&-`) it would be descriptor 0,
   * taken for none. The standard descriptors that are closed hold
   * placeholders while the filter loads, and are closed again after. */
  int hold[3], n_hold = 0;
  for (;;) {
    int ph = eventfd(0, EFD_CLOEXEC);
    if (ph < 0) break;
    if (ph > 2) {
      close(ph);
      break;
    }
    hold[n_hold++] = ph;
  }
  int rc = seccomp_load(ctx);
  for (int i = 0; i < n_hold; i++) close(hold[i]);
  if (rc != 0) {
    seccomp_release(ctx);
    return csb_error_set(err, "loading the seccomp notify filter failed: %s (fix: Linux 5.9 or "
                              "newer for Unix socket allow lists)", strerror(-rc));
  }
  int fd = seccomp_notify_fd(ctx);
  seccomp_release(ctx);
  if (fd < 0) return csb_error_set(err, "no seccomp notification fd");
  *listener_out = fd;
  return 1;
}

int bw_seccomp_export_pfc(const bw_seccomp_opts *o, int fd, csb_error *err) {
  scmp_filter_ctx ctx = build(o, 0, err);
  if (!ctx) return 0;
  int rc = seccomp_export_pfc(ctx, fd);
  seccomp_release(ctx);
  if (rc != 0) return csb_error_set(err, "seccomp_export_pfc failed");
  char note[160];
  int n = snprintf(note, sizeof note,
                   "# and ahead of it: native syscalls numbered %d and up (not x32) -> ERRNO(%d) (ENOSYS)\n",
                   BW_SECCOMP_FIRST_UNVETTED, ENOSYS);
  if (!csb_write_all(fd, note, (size_t)n)) return csb_error_set(err, "writing the filter text: %s", strerror(errno));
  return 1;
}

int bw_seccomp_export_bpf(const bw_seccomp_opts *o, int fd, csb_error *err) {
  scmp_filter_ctx ctx = build(o, 0, err);
  if (!ctx) return 0;
  struct sock_filter g[GUARD_LEN];
  future_guard(g);
  if (!csb_write_all(fd, g, sizeof g)) {
    seccomp_release(ctx);
    return csb_error_set(err, "writing the seccomp filter: %s", strerror(errno));
  }
  int rc = seccomp_export_bpf(ctx, fd);
  seccomp_release(ctx);
  if (rc != 0) return csb_error_set(err, "seccomp_export_bpf failed: %s", strerror(-rc));
  return 1;
}

int bw_seccomp_load_bpf(const void *prog, size_t len, csb_error *err) {
  if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > 4096)
    return csb_error_set(err, "the precompiled seccomp filter is malformed (%zu bytes)", len);
  struct sock_fprog fp;
  fp.len = (unsigned short)(len / sizeof(struct sock_filter));
  fp.filter = (struct sock_filter *)(uintptr_t)prog;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0)
    return csb_error_set(err, "loading the seccomp filter failed: %s", strerror(errno));
  return 1;
}
