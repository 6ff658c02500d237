/* inner.c - the inner stage: csb-bwrap re-entered inside bubblewrap.
 *
 * Runs as pid 1 of the sandbox's PID namespace (bwrap --as-pid-1):
 *   1. takes back the real stderr (bubblewrap's own stderr is a pipe to the
 *      outer stage, which reads setup errors from it);
 *   2. run by root, makes the device nodes read-only and drops the two
 *      capabilities that took (devnodes.c); checks that no capability
 *      survived, and hands over, reopens through the sandbox's view or
 *      relays each standard descriptor on a file (rebind_stdio);
 *   3. proxy mode: hands a loopback listener to each host bridge and
 *      rewrites the proxy variables;
 *   4. tells the outer stage that setup is done, closes every other fd
 *      but the lifeline;
 *   5. no_new_privs, not dumpable, its own seccomp filter;
 *   6. forks CMD, which installs the full filter (plus the connect()
 *      notification filter when a Unix socket allow list is in force) and
 *      execs; pid 1 forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT, reaps every
 *      orphan, serves connect() mediation and exits with CMD's status (or
 *      128+signal).
 *
 * The lifeline is the read end of a pipe whose write end only the outer
 * stage holds: it hangs up when the outer stage is gone, however it died.
 * pid 1 checks it before each step that leads to the command, polls it
 * while it supervises and gets SIGIO when it hangs up (so a blocking call
 * cannot hold it back); it then exits at once, and with it every process
 * of the sandbox (the kernel kills a PID namespace whose init exits).
 * Nothing else ties the sandbox to the outer stage: pid 1 of a PID
 * namespace ignores every signal it has no handler for (SIGPIPE from a
 * write to the dead outer stage included), and launch.c says why
 * bubblewrap's parent-death signal is not used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_cli.h"
#include "csb_proc.h"
#include "csb_proxyenv.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

int bw_seccomp_install_common(const bw_seccomp_opts *o, int supervisor, csb_error *err);

static int json_errors;
/* Where fail() writes: stderr, or pid 1's copy of the caller's stderr once
 * rebind_stdio has made fd 2 a relay pipe (which is only copied out while
 * the command runs: a failure before or instead of it would stay there). */
static int diag_fd = 2;

static int fail(int code, const char *fmt, ...) CSB_PRINTF(2, 3);
static int fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = csb_xvasprintf(fmt, ap); /* whole: it may name long paths */
  va_end(ap);
  csb_buf b;
  csb_buf_init(&b);
  if (json_errors) {
    csb_buf_printf(&b, "{\"exit\":%d,\"kind\":", code);
    csb_buf_put_json_string(&b, csb_exit_kind(code), strlen(csb_exit_kind(code)));
    csb_buf_puts(&b, ",\"level\":\"error\",\"message\":");
    csb_cli_put_json_message(&b, msg);
    csb_buf_puts(&b, ",\"tool\":\"csb-bwrap\"}\n");
  } else {
    csb_buf_printf(&b, "csb-bwrap: error: %s\n", msg);
  }
  csb_write_all(diag_fd, b.data, b.len);
  csb_buf_free(&b);
  free(msg);
  return code;
}

/* Bound on the list of read-only masks (NUL-separated paths). */
#define VERIFY_MAX (64u << 20)

/* Whether `path` is the root of a mount: 1 yes, 0 no, -1 unknown (statx
 * or STATX_ATTR_MOUNT_ROOT, Linux 5.8, unavailable). The kernel's struct
 * statx, restated up to the attribute mask. */
#ifndef SYS_statx
#define SYS_statx 332
#endif
#define CSB_STATX_ATTR_MOUNT_ROOT 0x2000ULL
#define CSB_AT_STATX_DONT_SYNC 0x4000
static int is_mount_root(const char *path) {
  struct {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, spare0;
    uint64_t ino, size, blocks, attributes_mask;
    unsigned char rest[256 - 64];
  } sx;
  memset(&sx, 0, sizeof sx);
  if (syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | CSB_AT_STATX_DONT_SYNC, 0, &sx) != 0)
    return -1;
  if (!(sx.attributes_mask & CSB_STATX_ATTR_MOUNT_ROOT)) return -1;
  return (sx.attributes & CSB_STATX_ATTR_MOUNT_ROOT) != 0;
}

static int parse_fd(const char *s) {
  char *e = NULL;
  long v = strtol(s, &e, 10);
  if (!s[0] || *e || v < 3 || v > INT_MAX) return -1;
  return (int)v;
}

typedef struct proxy_arg {
  int fd;
  char *keys; /* comma-separated */
} proxy_arg;

static void rewrite_proxy_env(const char *keys, int port) {
  char *copy = csb_xstrdup(keys);
  char *save = NULL;
  for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    const char *v = getenv(k);
    if (!v) continue;
    /* The outer stage routed only loopback proxy URLs; anything else would
     * lead nowhere, so it goes. */
    char *nv = csb_proxyenv_rewrite_loopback(v, port);
    if (nv)
      setenv(k, nv, 1);
    else
      unsetenv(k);
    free(nv);
  }
  free(copy);
}

/* The rule's directory resolved inside the sandbox, its last component
 * kept as written: allowing a symlink never allows whatever it points at
 * (a writable directory's link could be retargeted between runs). */
static char *canonical_parent(const char *path) {
  char *slash = strrchr(path, '/');
  if (!slash || slash == path) return csb_xstrdup(path);
  char *dir = csb_xstrndup(path, (size_t)(slash - path));
  char *canon = realpath(dir, NULL);
  free(dir);
  if (!canon) return csb_xstrdup(path);
  char *out = strcmp(canon, "/") == 0 ? csb_xasprintf("/%s", slash + 1) : csb_xasprintf("%s%s", canon, slash);
  free(canon);
  return out;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* pid 1's status when the outer stage is gone: nobody waits for it, the
 * sandbox goes down as if killed. */
#define LAUNCHER_GONE (CSB_EXIT_SIGNAL_BASE + SIGKILL)

/* 1 when the lifeline hung up (or cannot be polled): the outer stage is
 * gone. Nothing is ever written to it, so any event means that. */
static int launcher_gone(int lifeline) {
  struct pollfd p = {lifeline, POLLIN, 0};
  int n;
  do n = poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  return n != 0;
}

static int watched_lifeline = -1;

/* SIGIO: the lifeline may have hung up. A SIGIO from anything else (the
 * command can have its own descriptors signal us) finds it still open. */
static void on_sigio(int sig) {
  (void)sig;
  int saved = errno;
  if (launcher_gone(watched_lifeline)) _exit(LAUNCHER_GONE);
  errno = saved;
}

/* Asks the kernel for SIGIO to pid 1 when the lifeline hangs up. */
static int watch_lifeline(int lifeline) {
  watched_lifeline = lifeline;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigio;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  int fl = fcntl(lifeline, F_GETFL);
  return fl >= 0 && sigaction(SIGIO, &sa, NULL) == 0 && fcntl(lifeline, F_SETOWN, getpid()) == 0 &&
         fcntl(lifeline, F_SETFL, fl | O_ASYNC) == 0;
}

typedef struct cmd_child {
  char **cmd;
  const sigset_t *mask;
  int exec_errno; /* set by the child when exec fails */
} cmd_child;

/* CMD's process (bw_spawn: sharing our memory until it execs), without
 * connect() mediation: the filter pid 1 loaded is inherited. */
static int exec_cmd(void *arg) {
  cmd_child *c = arg;
  for (size_t k = 0; k < CSB_ARRAY_LEN(forwarded); k++) signal(forwarded[k], SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, c->mask, NULL);
  /* A session (and so an autogroup) of its own: writing its own
   * /proc/self/autogroup must not lower pid 1's priority. */
  if (setsid() < 0) {
    c->exec_errno = errno;
    return 127;
  }
  execvp(c->cmd[0], c->cmd);
  c->exec_errno = errno ? errno : ENOEXEC;
  return 127;
}

static void relay_pump(bw_stdio_relay *r, int drain);

int bw_supervise(pid_t child, int notify_fd, int lifeline, const bw_unix_rules *rules,
                 bw_stdio_relay *relays, size_t n_relays) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < CSB_ARRAY_LEN(forwarded); i++) sigaddset(&set, forwarded[i]);
  sigaddset(&set, SIGTSTP);
  sigaddset(&set, SIGCONT);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return fail(CSB_EXIT_OSERR, "signalfd: %s", strerror(errno));
  int status = -1;
  for (;;) {
    /* reap everything that is ready */
    for (;;) {
      int st;
      pid_t p = waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == child && (WIFEXITED(st) || WIFSIGNALED(st))) status = st;
    }
    if (status != -1) break;
    struct pollfd pf[6] = {{sfd, POLLIN, 0}, {lifeline, POLLIN, 0}, {notify_fd, POLLIN, 0}};
    for (size_t k = 0; k < n_relays && k < 3; k++) pf[3 + k] = (struct pollfd){relays[k].in, POLLIN, 0};
    int n = poll(pf, 3 + (nfds_t)(n_relays < 3 ? n_relays : 3), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(CSB_EXIT_OSERR, "poll: %s", strerror(errno));
    }
    /* The outer stage is gone: so is the sandbox (see the top). */
    if (pf[1].revents) return LAUNCHER_GONE;
    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) continue;
        /* The outer stage was stopped (a terminal's ^Z) or continued:
         * so is every process of the sandbox but pid 1, which goes on
         * watching the lifeline. Only the outer stage, outside the PID
         * namespace (no pid in it: 0), says so; from the command these
         * are dropped, as the kernel drops a stop sent to pid 1. */
        if (sig == SIGTSTP || sig == SIGCONT) {
          if (si.ssi_pid == 0) kill(-1, sig == SIGTSTP ? SIGSTOP : SIGCONT);
        } else {
          kill(child, sig);
        }
      }
    }
    for (size_t k = 0; k < n_relays && k < 3; k++)
      if (pf[3 + k].revents) relay_pump(&relays[k], 0);
    if (notify_fd >= 0 && (pf[2].revents & POLLIN)) bw_unix_notify_handle(notify_fd, rules);
    if (notify_fd >= 0 && (pf[2].revents & (POLLHUP | POLLERR | POLLNVAL))) {
      close(notify_fd);
      notify_fd = -1;
    }
  }
  close(sfd);
  /* What the command wrote before it exited; writes of orphans it left
   * behind after this point are lost with them. */
  for (size_t k = 0; k < n_relays; k++) relay_pump(&relays[k], 1);
  return csb_exit_from_wait_status(status);
}

/* The masks bubblewrap set up, as the outer stage listed them in a sealed
 * memfd: NUL-separated paths, every one of which must be there, no
 * symlink, on a read-only mount; or, prefixed with "w:", a read-write bind
 * inside a writable root (a nested root, or a directory bound onto itself
 * so that it cannot be renamed): a directory, no symlink, the root of a
 * mount that is not read-only; "wf:", the same for a nested writable root
 * that is a regular file. 0, or the exit code after saying why. */
static int verify_masks(int fd) {
  char *list = NULL;
  size_t len = 0;
  csb_error re;
  int read_ok = csb_read_fd(fd, "the list of read-only masks", VERIFY_MAX, &list, &len, &re);
  close(fd);
  if (!read_ok || (len && list[len - 1] != 0)) {
    free(list);
    return fail(CSB_EXIT_INTERNAL, "inner stage: cannot read the list of read-only masks");
  }
  int rc = 0;
  for (size_t at = 0; at < len && rc == 0; at += strlen(list + at) + 1) {
    const char *path = list + at;
    int rw_file = strncmp(path, "wf:", 3) == 0;
    int rw = rw_file || strncmp(path, "w:", 2) == 0;
    if (rw) path += rw_file ? 3 : 2;
    struct stat st;
    struct statvfs sv;
    int bad = lstat(path, &st) != 0 || statvfs(path, &sv) != 0 ||
              (rw ? !(rw_file ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode)) ||
                        (sv.f_flag & ST_RDONLY) || is_mount_root(path) == 0
                  : S_ISLNK(st.st_mode) || !(sv.f_flag & ST_RDONLY));
    if (bad)
      rc = fail(CSB_EXIT_UNAVAILABLE,
                "%s %s changed while the sandbox was set up (was it swapped for a symlink?); "
                "refusing to run the command",
                rw ? "read-write bind" : "read-only mask", path);
  }
  free(list);
  return rc;
}

/* A standard descriptor the caller opened on a file still names the file
 * through the host's mount: reopening /proc/self/fd/N goes through that
 * mount, not the sandbox's view, and with any access mode the file's
 * permissions allow. Read-only stdin on a file could be reopened for
 * writing, a write-only stdout or stderr for reading (a log the command
 * may not read) or, opened for appending, for overwriting what is there.
 *
 * A regular file the sandbox's view lets the command read and write
 * anyway (inside a writable root) is handed over as it is: the caller's
 * open file, whose offset the caller's own later output follows
 * (`{ echo a; csb-bwrap -- echo b; echo c; } > LOG`). Any other such
 * descriptor is replaced by the same file opened through the sandbox's
 * view (same flags, same offset), so that a reopen meets the policy's
 * mounts. When that view does not show the file, or not with that access
 * (denied, outside the readable or writable roots):
 *   - read-only: refused (there is no safe way to hand it over);
 *   - write-only: the command gets a pipe, and pid 1, which it cannot
 *     reach (not dumpable), copies what arrives into the caller's
 *     descriptor, in order and with its flags (appending stays
 *     appending). Descriptors that share one open file (2>&1) share one
 *     pipe, so their writes keep their order;
 *   - read-write: refused.
 * The same holds for a node's metadata: fchmod, fchown and futimens of
 * a descriptor, and fchmodat2, fchownat and utimensat of an O_PATH one
 * (AT_EMPTY_PATH), act through the descriptor's mount, the host's. So a
 * named FIFO and an O_PATH descriptor of anything (a symlink, a socket
 * file, a FIFO) are reopened through the view as well (a FIFO without
 * waiting for its other end; an O_PATH descriptor as one, a symlink
 * itself, not followed): outside the writable roots, the view's mount is
 * read-only.
 * Pipes, sockets, terminals and unlinked regular files and FIFOs have
 * nothing to reopen into (a terminal's writes are the caller's own
 * output); an unlinked directory or device node has no path either, and
 * is refused (read-only, read-write) or relayed (write-only). A descriptor's
 * path is read from /proc, or, in a sandbox without one, taken from
 * `known` (the outer stage's reading, --stdio-path; NULL when unknown):
 * either way the file opened must be the same one. 0, or the exit code
 * after saying why. */
static int same_open_file(int a, int b) {
#ifdef SYS_kcmp
  pid_t me = getpid();
  long r = syscall(SYS_kcmp, me, me, 0 /* KCMP_FILE */, a, b);
  if (r >= 0) return r == 0;
#endif
  (void)a;
  (void)b;
  return 0;
}

/* 1 if the sandbox's view opens PATH for reading and writing, as the file
 * ST describes: then no reopen of that file, through the host's mount or
 * the view, gives more than the view gives already. */
static int view_gives_read_write(const char *path, const struct stat *st) {
  int t = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (t < 0) return 0;
  struct stat nst;
  int same = fstat(t, &nst) == 0 && nst.st_dev == st->st_dev && nst.st_ino == st->st_ino;
  close(t);
  return same;
}

/* 0 when no standard descriptor is a terminal reached through a writable
 * mount, else the exit code after saying why: the caller owns its
 * terminal, and `fchmod` of such a descriptor would change its mode on
 * the host (rebind_stdio reopens them through the read-only binds of
 * devnodes.c; this is what holds when that could not be done). */
static int tty_left_writable(void) {
  static const char *const names[] = {"input", "output", "error"};
  for (int fd = 0; fd <= 2; fd++) {
    int fl = fcntl(fd, F_GETFL);
    struct statvfs sv;
    if (fl < 0 || (fl & O_PATH) || !isatty(fd)) continue;
    if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY)) continue;
    return fail(CSB_EXIT_UNAVAILABLE,
                "standard %s is a terminal of the caller's that the sandbox reaches through a writable "
                "mount (it could not be bound read-only: no name for it on the host); the command could "
                "change its mode for every local user; refusing to run it (backend: bubblewrap; fix: run "
                "with no terminal on the standard descriptors, e.g. `</dev/null 2>&1 | cat`)",
                names[fd]);
  }
  return 0;
}

static int rebind_stdio(bw_stdio_relay *relays, size_t *n_relays, const char *const known[3]) {
  *n_relays = 0;
  /* Descriptors that share one open file (2>&1) go on sharing one:
   * reopened each on its own, they would write at their own offsets,
   * over each other's output. */
  int first[3], reopened[3] = {0, 0, 0}, relay_of[3] = {-1, -1, -1};
  for (int fd = 0; fd <= 2; fd++) {
    first[fd] = fd;
    for (int j = 0; j < fd && first[fd] == fd; j++)
      if (same_open_file(j, fd)) first[fd] = j;
  }
  for (int fd = 0; fd <= 2; fd++) {
    int f = first[fd];
    if (reopened[f] || relay_of[f] >= 0) {
      /* f now holds the reopened file or the relay's pipe */
      if (dup2(f, fd) != fd)
        return fail(CSB_EXIT_OSERR, "rebinding standard descriptor %d: %s", fd, strerror(errno));
      if (relay_of[f] >= 0) {
        bw_stdio_relay *r = &relays[relay_of[f]];
        r->fds[r->n_fds++] = fd;
      }
      continue;
    }
    int fl = fcntl(fd, F_GETFL);
    struct stat st;
    if (fl < 0 || fstat(fd, &st) != 0) continue;
    /* an O_PATH descriptor names a node of any type: a symlink, a socket
     * file, a FIFO as well */
    int opath = (fl & O_PATH) != 0;
    int fifo = S_ISFIFO(st.st_mode);
    if (!opath && !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode) || fifo))
      continue;
    /* a pipe (pipefs) has no path */
    struct statfs sfs;
    if (!opath && fifo && fstatfs(fd, &sfs) == 0 && sfs.f_type == 0x50495045 /* PIPEFS_MAGIC */) continue;
    /* The null device (a daemon's or a benchmark's stdio) reads nothing
     * and keeps nothing, whichever node it is reached by: the sandbox's
     * own /dev/null takes its place, with its flags, so that its mode,
     * owner and times are changed through no mount of the host's (run by
     * root, the sandbox's uid 0 owns the node; the sandbox's bind of it is
     * read-only then, see devnodes.c). The caller's terminals likewise,
     * bound at /dev/console (bubblewrap: our standard output's) or at
     * /dev/.csb-tty0 and 2 (the launcher: stdin's or stderr's), read-only:
     * whoever runs us owns them, and `fchmod 666` of the descriptor would
     * hand one to every local user. When that fails, a terminal is refused
     * below (tty_left_writable), any other node goes on as such. */
    const char *own = NULL;
    static const char *const ttys[] = {"/dev/console", "/dev/.csb-tty0", "/dev/.csb-tty2"};
    if (!opath && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
      own = "/dev/null";
    int tty = !own && !opath && S_ISCHR(st.st_mode) && isatty(fd);
    for (size_t i = 0; tty && !own && i < CSB_ARRAY_LEN(ttys); i++) {
      struct stat cst;
      if (stat(ttys[i], &cst) == 0 && S_ISCHR(cst.st_mode) && cst.st_rdev == st.st_rdev) own = ttys[i];
    }
    if (own) {
      /* (opened without waiting, as for a serial line's carrier; then its
       * blocking mode) */
      int keep = fl & (O_ACCMODE | O_APPEND | O_NONBLOCK);
      int nfd = open(own, keep | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      struct stat nst;
      int ok = nfd >= 0 && fstat(nfd, &nst) == 0 && S_ISCHR(nst.st_mode) && nst.st_rdev == st.st_rdev &&
               ((keep & O_NONBLOCK) || fcntl(nfd, F_SETFL, keep & ~O_ACCMODE) == 0) && dup2(nfd, fd) == fd;
      if (nfd >= 0) close(nfd);
      if (ok) {
        reopened[fd] = 1;
        continue;
      }
    }
    /* An unlinked regular file or FIFO holds only the caller's own data.
     * Any other unlinked node goes on below and, reached by no path, is
     * refused or relayed: a removed directory's `..` leads out of the
     * sandbox's root into the host's mount tree. */
    if ((st.st_nlink == 0 && (S_ISREG(st.st_mode) || fifo)) || tty) continue;
    int mode = fl & O_ACCMODE;
    const char *how = opath ? "as a path (O_PATH)"
                      : mode == O_RDONLY ? "read-only" : mode == O_WRONLY ? "write-only" : "read-write";
    char link[32], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n > 0) path[n] = 0;
    if (n <= 0 && known[fd] && strlen(known[fd]) < sizeof path) {
      snprintf(path, sizeof path, "%s", known[fd]);
      n = (ssize_t)strlen(path);
    }
    if (n > 0 && path[0] == '/' && !opath && S_ISREG(st.st_mode) && view_gives_read_write(path, &st)) {
      /* the caller's own open file stays: its offset moves with the
       * command's writes and reads, as it would without a sandbox */
      reopened[fd] = 1;
      continue;
    }
    int nfd = -1, e = 0, same = 0;
    if (n > 0 && path[0] == '/') {
      int oflags = opath ? O_PATH | (S_ISLNK(st.st_mode) ? O_NOFOLLOW : 0)
                         : (fl & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)) | O_NOCTTY |
                               (fifo ? O_NONBLOCK : 0); /* a FIFO's open would wait for its other end */
      nfd = open(path, oflags | O_CLOEXEC);
      e = nfd < 0 ? errno : 0;
      struct stat nst;
      same = nfd >= 0 && fstat(nfd, &nst) == 0 && nst.st_dev == st.st_dev && nst.st_ino == st.st_ino;
      if (same && fifo && !opath && !(fl & O_NONBLOCK) && fcntl(nfd, F_SETFL, fcntl(nfd, F_GETFL) & ~O_NONBLOCK) != 0) {
        e = errno;
        same = 0;
      }
    } else {
      snprintf(path, sizeof path, "(no path in the sandbox)");
      e = ENOENT;
    }
    if (!same && nfd >= 0) close(nfd);
    if (same) {
      off_t off = S_ISREG(st.st_mode) && !(fl & O_APPEND) ? lseek(fd, 0, SEEK_CUR) : -1;
      if ((off >= 0 && lseek(nfd, off, SEEK_SET) != off) || dup2(nfd, fd) != fd) {
        int err = errno;
        close(nfd);
        return fail(CSB_EXIT_OSERR, "rebinding standard descriptor %d (%s): %s", fd, path, strerror(err));
      }
      close(nfd);
      reopened[fd] = 1;
      continue;
    }
    if (mode != O_WRONLY)
      return fail(CSB_EXIT_UNAVAILABLE,
                  "standard descriptor %d is %s, opened %s, which the sandbox %s; the command could "
                  "reopen it through /proc/self/fd/%d with access the policy does not give; refusing "
                  "to run it (fix: pass the data through a pipe, e.g. cat FILE | csb-bwrap ...)",
                  fd, path, how, e ? "cannot open that way" : "shows as another file", fd);
    /* write-only: relayed */
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return fail(CSB_EXIT_OSERR, "pipe: %s", strerror(errno));
    /* above the descriptors the inner stage moves about (the lifeline
     * goes to 3) */
    int out = fcntl(fd, F_DUPFD_CLOEXEC, 10), in = fcntl(p[0], F_DUPFD_CLOEXEC, 10);
    if (out < 0 || in < 0 || fcntl(in, F_SETFL, O_NONBLOCK) != 0)
      return fail(CSB_EXIT_OSERR, "relaying standard descriptor %d: %s", fd, strerror(errno));
    close(p[0]);
    /* the write end waits at fd, for the command */
    if (dup2(p[1], fd) != fd) return fail(CSB_EXIT_OSERR, "dup2: %s", strerror(errno));
    close(p[1]);
    relays[*n_relays] = (bw_stdio_relay){.out = out, .in = in, .fds = {fd}, .n_fds = 1};
    relay_of[fd] = (int)(*n_relays)++;
  }
  return tty_left_writable();
}

/* Copies what is in the relay's pipe into the caller's descriptor; at
 * end of file (or when `drain` and nothing is left) the pipe is closed.
 * A write error drops the relay: the command's next write fails with
 * EPIPE as it would have failed on the file. */
static void relay_pump(bw_stdio_relay *r, int drain) {
  static char buf[65536];
  /* bounded, so that a command (or an orphan, while pid 1 drains) that
   * writes without end cannot hold pid 1 here */
  for (int round = 0; r->in >= 0 && round < 32; round++) {
    ssize_t n = read(r->in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !drain) return;
    if (n <= 0 || !csb_write_all(r->out, buf, (size_t)n)) {
      close(r->in);
      r->in = -1;
    }
  }
  if (drain && r->in >= 0) {
    close(r->in);
    r->in = -1;
  }
}

/* Closes every descriptor from `from` up except those in keep[] (each
 * >= from, at most 8). */
static void close_from_except(int from, const int *keep, size_t n) {
  int k[8];
  size_t m = 0;
  for (size_t i = 0; i < n && m < 8; i++)
    if (keep[i] >= from) k[m++] = keep[i];
  for (size_t i = 1; i < m; i++)
    for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
      int t = k[j];
      k[j] = k[j - 1];
      k[j - 1] = t;
    }
  int lo = from;
  for (size_t i = 0; i <= m; i++) {
    unsigned hi = i < m ? (unsigned)k[i] - 1 : ~0U;
    if (i < m && k[i] < lo) continue;
    if ((i == m || k[i] > lo) && syscall(SYS_close_range, (unsigned)lo, hi, 0U) != 0) {
      /* no close_range (before Linux 5.9, or refused by a seccomp
       * profile): every descriptor the open-file limit allows */
      long max = sysconf(_SC_OPEN_MAX);
      int top = i < m ? k[i] : (max > 0 && max < (1L << 20) ? (int)max : 1 << 20);
      for (int fd = lo; fd < top; fd++) close(fd);
    }
    if (i < m) lo = k[i] + 1;
  }
}

/* Once the command runs, pid 1 lets go of the pipes' write ends (so that
 * they reach end of file with the command's last writer) and takes the
 * caller's descriptors back as its own standard ones, for its own
 * messages. */
static int keep_relays_to_command(const bw_stdio_relay *relays, size_t n) {
  for (size_t k = 0; k < n; k++)
    for (int i = 0; i < relays[k].n_fds; i++)
      if (dup2(relays[k].out, relays[k].fds[i]) != relays[k].fds[i]) return 0;
  return 1;
}

char *bw_privileged_launch(void) {
  if (getuid() == geteuid() && getgid() == getegid() && !getauxval(AT_SECURE)) return NULL;
  return csb_xasprintf("csb-bwrap runs with privileges its caller does not have (real uid %u, effective "
                       "uid %u, real gid %u, effective gid %u): it must not be installed set-user-ID, "
                       "set-group-ID or with file capabilities (fix: chmod u-s,g-s, setcap -r)",
                       (unsigned)getuid(), (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
}

int bw_inner_main(int argc, char **argv) {
  bw_seccomp_opts so = {BW_SECCOMP_NET_RESTRICTED, 0, 0, 0, 0, 0};
  bw_unix_rules rules;
  memset(&rules, 0, sizeof rules);
  int stderr_fd = -1, started_fd = -1, seccomp_fd = -1, lifeline = -1;
  proxy_arg proxies[16];
  int verify_fd = -1, seal_devnodes = 0;
  unsigned long long nofile = 0;
  size_t n_proxies = 0;
  const char *unpinned = NULL; /* a pinned allow rule that names no socket */
  const char *stdio_path[3] = {NULL, NULL, NULL};
  /* Run by hand (the flag is no secret) from a set-group-ID or
   * set-user-ID install, this stage would start the command with the
   * install's ids and no bubblewrap around it. */
  char *privileged = bw_privileged_launch();
  if (privileged) {
    int rc = fail(CSB_EXIT_UNAVAILABLE, "%s", privileged);
    free(privileged);
    return rc;
  }
  int i = 2;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--error-format-json") == 0) {
      json_errors = 1;
    } else if (strcmp(a, "--seal-devnodes") == 0) {
      seal_devnodes = 1;
    } else if (strcmp(a, "--unix-all") == 0) {
      rules.allow_all = 1;
      so.unix_all = 1;
    } else if (!v) {
      return fail(CSB_EXIT_USAGE, "inner stage: %s needs a value", a);
    } else if (strcmp(a, "--net") == 0) {
      so.net = strcmp(v, "proxy") == 0 ? BW_SECCOMP_NET_PROXY
               : strcmp(v, "enabled") == 0 ? BW_SECCOMP_NET_ENABLED
                                           : BW_SECCOMP_NET_RESTRICTED;
      i++;
    } else if (strcmp(a, "--unix-allow") == 0 || strcmp(a, "--unix-deny") == 0 ||
               strcmp(a, "--unix-allow-pinned") == 0) {
      if (!v) return fail(CSB_EXIT_USAGE, "inner stage: %s needs a path", a);
      int allow = a[7] == 'a';
      char ***list = allow ? &rules.allow : &rules.deny;
      size_t *n = allow ? &rules.n_allow : &rules.n_deny;
      *list = csb_xrealloc(*list, (*n + 1) * sizeof(char *));
      (*list)[*n] = canonical_parent(v);
      if (allow) {
        rules.pin = csb_xrealloc(rules.pin, (*n + 1) * sizeof *rules.pin);
        memset(&rules.pin[*n], 0, sizeof *rules.pin);
        /* Pinned before the command runs: the socket the name shows now. */
        struct stat st;
        if (strcmp(a, "--unix-allow-pinned") == 0) {
          if (stat((*list)[*n], &st) != 0 || !S_ISSOCK(st.st_mode)) {
            if (!unpinned) unpinned = (*list)[*n];
          } else {
            rules.pin[*n].set = 1;
            rules.pin[*n].dev = st.st_dev;
            rules.pin[*n].ino = st.st_ino;
          }
        }
      }
      (*n)++;
      i++;
    } else if (strcmp(a, "--verify-fd") == 0) {
      verify_fd = parse_fd(v);
      if (verify_fd < 0) return fail(CSB_EXIT_USAGE, "inner stage: bad --verify-fd");
      i++;
    } else if (strcmp(a, "--nofile") == 0) {
      char *end = NULL;
      errno = 0;
      nofile = strtoull(v, &end, 10);
      if (!v[0] || *end || errno || nofile == 0) return fail(CSB_EXIT_USAGE, "inner stage: bad --nofile");
      i++;
    } else if (strcmp(a, "--stdio-path") == 0) {
      /* N:PATH, the outer stage's reading of standard descriptor N */
      if (!(v[0] >= '0' && v[0] <= '2' && v[1] == ':')) return fail(CSB_EXIT_USAGE, "inner stage: bad --stdio-path");
      stdio_path[v[0] - '0'] = v + 2;
      i++;
    } else if (strcmp(a, "--stderr-fd") == 0) {
      stderr_fd = parse_fd(v);
      i++;
    } else if (strcmp(a, "--seccomp-fd") == 0) {
      seccomp_fd = parse_fd(v);
      i++;
    } else if (strcmp(a, "--started-fd") == 0) {
      started_fd = parse_fd(v);
      i++;
    } else if (strcmp(a, "--lifeline-fd") == 0) {
      lifeline = parse_fd(v);
      i++;
    } else if (strcmp(a, "--proxy") == 0) {
      const char *eq = strchr(v, '=');
      if (!eq || n_proxies == CSB_ARRAY_LEN(proxies)) return fail(CSB_EXIT_USAGE, "inner stage: bad --proxy");
      char *fds = csb_xstrndup(v, (size_t)(eq - v));
      proxies[n_proxies].fd = parse_fd(fds);
      free(fds);
      proxies[n_proxies].keys = csb_xstrdup(eq + 1);
      n_proxies++;
      i++;
    } else {
      return fail(CSB_EXIT_USAGE, "inner stage: unknown argument %s", a);
    }
  }
  if (i >= argc) return fail(CSB_EXIT_USAGE, "inner stage: no command");
  char **cmd = argv + i;

  if (stderr_fd >= 0) {
    dup2(stderr_fd, 2);
    close(stderr_fd);
  }
  if (seal_devnodes) {
    csb_error e;
    csb_error_clear(&e);
    if (!bw_devnodes_seal(&e))
      return fail(CSB_EXIT_UNAVAILABLE,
                  "run by root, the sandbox's uid 0 owns the host's /dev/null, zero, full, random, urandom "
                  "and tty, which bubblewrap binds into the sandbox, and could change their mode for every "
                  "user of the host; making them read-only for it failed (%s); nothing ran (backend: "
                  "bubblewrap; fix: use a bubblewrap that honours --cap-add in its user namespace, or run "
                  "csb-bwrap as a user other than root)",
                  e.msg);
  }
  /* Without a lifeline nothing would take the sandbox down with the outer
   * stage; with a dead one there is nobody to run the command for. */
  if (lifeline < 0) return fail(CSB_EXIT_USAGE, "inner stage: no --lifeline-fd");
  if (launcher_gone(lifeline)) return LAUNCHER_GONE;
  if (unpinned)
    return fail(CSB_EXIT_UNAVAILABLE,
                "cannot enforce network.unix_sockets allow rule %s: it is no socket any more when the "
                "sandbox starts, and the command can write its directory (backend: bubblewrap; fix: "
                "start the server first, or make the directory read-only in the policy)",
                unpinned);
  so.unix_mediated = !rules.allow_all && rules.n_allow > 0;
  rules.private_netns = so.net != BW_SECCOMP_NET_ENABLED;

  if (!bw_caps_none())
    return fail(CSB_EXIT_UNAVAILABLE,
                "the sandbox retained capabilities (effective, permitted or inheritable); refusing to "
                "run the command (backend: bubblewrap; fix: use a bubblewrap that honours --cap-drop ALL)");
  if (verify_fd >= 0) {
    int rc = verify_masks(verify_fd);
    if (rc != 0) return rc;
  }
  bw_stdio_relay relays[3];
  size_t n_relays = 0;
  {
    int rc = rebind_stdio(relays, &n_relays, stdio_path);
    if (rc != 0) return rc;
    for (size_t k = 0; k < n_relays; k++)
      for (int j = 0; j < relays[k].n_fds; j++)
        if (relays[k].fds[j] == 2) diag_fd = relays[k].out;
  }
  if (so.net == BW_SECCOMP_NET_PROXY && n_proxies == 0)
    return fail(CSB_EXIT_USAGE, "inner stage: proxy mode without routes");
  for (size_t k = 0; k < n_proxies; k++) {
    int port = 0;
    csb_error e;
    csb_error_clear(&e);
    if (proxies[k].fd < 0 || !bw_proxy_inner_handoff(proxies[k].fd, &port, &e))
      return fail(CSB_EXIT_OSERR, "network mode `proxy`: %s", e.msg);
    rewrite_proxy_env(proxies[k].keys, port);
    free(proxies[k].keys);
  }
  /* The precompiled filter (non-mediated modes), read before the fds go,
   * into a static buffer (only the pages it fills are touched; at most
   * BPF_MAXINSNS instructions of 8 bytes). */
  static _Alignas(8) char bpf_buf[4096 * 8 + 1];
  const char *bpf = NULL;
  size_t bpf_len = 0;
  if (seccomp_fd >= 0) {
    for (;;) {
      ssize_t r = read(seccomp_fd, bpf_buf + bpf_len, sizeof bpf_buf - bpf_len);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) bpf_len = 0;
      if (r <= 0) break;
      bpf_len += (size_t)r;
      if (bpf_len == sizeof bpf_buf) break; /* too long for a filter: refused below */
    }
    if (bpf_len == 0 || bpf_len == sizeof bpf_buf) {
      if (launcher_gone(lifeline)) return LAUNCHER_GONE; /* it died before writing it */
      return fail(CSB_EXIT_UNAVAILABLE, "no seccomp filter from the outer stage; refusing to run the command");
    }
    close(seccomp_fd);
    bpf = bpf_buf;
  }
  if (started_fd >= 0) {
    char ok = 1;
    /* EPIPE: the outer stage is gone (pid 1 is spared the SIGPIPE). */
    if (!csb_write_all(started_fd, &ok, 1)) return LAUNCHER_GONE;
    close(started_fd);
  }
  /* Nothing but stdio crosses into the command; pid 1 keeps the lifeline
   * (as fd 3, closed on exec). */
  if (lifeline != 3) {
    if (dup3(lifeline, 3, O_CLOEXEC) != 3) return fail(CSB_EXIT_OSERR, "dup3: %s", strerror(errno));
    lifeline = 3;
  } else if (fcntl(lifeline, F_SETFD, FD_CLOEXEC) != 0) {
    return fail(CSB_EXIT_OSERR, "fcntl: %s", strerror(errno));
  }
  {
    int keep[6];
    size_t nk = 0;
    for (size_t k = 0; k < n_relays; k++) {
      keep[nk++] = relays[k].out;
      keep[nk++] = relays[k].in;
    }
    close_from_except(4, keep, nk);
  }
  if (nofile) {
    /* The outer stage raised the soft limit for bubblewrap's mask
     * descriptors; the command gets the one it was started with. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && nofile < rl.rlim_cur) {
      rl.rlim_cur = (rlim_t)nofile;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return fail(CSB_EXIT_OSERR, "setrlimit: %s", strerror(errno));
    }
  }
  if (!watch_lifeline(lifeline)) return fail(CSB_EXIT_OSERR, "cannot watch the outer stage: %s", strerror(errno));

  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t k = 0; k < CSB_ARRAY_LEN(forwarded); k++) sigaddset(&set, forwarded[k]);
  sigaddset(&set, SIGTSTP);
  sigaddset(&set, SIGCONT);
  sigprocmask(SIG_BLOCK, &set, &old);

  csb_error e;
  csb_error_clear(&e);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail(CSB_EXIT_OSERR, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
  /* Not dumpable: the command (same uid, same user namespace) must not
   * reach pid 1's memory, descriptors or environment through /proc/1. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return fail(CSB_EXIT_OSERR, "prctl(PR_SET_DUMPABLE, 0): %s; refusing to run the command with pid 1 "
                "open to it through /proc/1", strerror(errno));
  /* Without mediation pid 1 needs nothing the command may not have: it
   * installs the command's filter once and the child inherits it. With
   * mediation pid 1 keeps process_vm_readv and connect, and the child
   * adds the full filter plus the notification filter on top. */
  if (bpf) {
    if (!bw_seccomp_load_bpf(bpf, bpf_len, &e)) return fail(CSB_EXIT_UNAVAILABLE, "%s", e.msg);
  } else if (!bw_seccomp_install_common(&so, so.unix_mediated, &e)) {
    return fail(CSB_EXIT_UNAVAILABLE, "%s", e.msg);
  }

  if (launcher_gone(lifeline)) return LAUNCHER_GONE;
  if (!so.unix_mediated) {
    cmd_child c = {cmd, &old, 0};
    pid_t child = bw_spawn(exec_cmd, &c);
    if (child < 0) return fail(CSB_EXIT_OSERR, "fork: %s", strerror(errno));
    if (c.exec_errno) {
      csb_proc_wait(child, NULL);
      return fail(csb_exit_for_exec_errno(c.exec_errno), "cannot run %s: %s", cmd[0], strerror(c.exec_errno));
    }
    if (!keep_relays_to_command(relays, n_relays)) return fail(CSB_EXIT_OSERR, "dup2: %s", strerror(errno));
    return bw_supervise(child, -1, lifeline, &rules, relays, n_relays);
  }
  /* With mediation the child sets up its own filters (libseccomp
   * allocates): a plain fork. */
  int sp[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
    return fail(CSB_EXIT_OSERR, "socketpair: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) return fail(CSB_EXIT_OSERR, "fork: %s", strerror(errno));
  if (child == 0) {
    for (size_t k = 0; k < CSB_ARRAY_LEN(forwarded); k++) signal(forwarded[k], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    if (!bw_seccomp_install_common(&so, 0, &e)) _exit(fail(CSB_EXIT_UNAVAILABLE, "%s", e.msg));
    int lfd = -1;
    close(sp[0]);
    if (!bw_seccomp_install_notify(&lfd, &e)) _exit(fail(CSB_EXIT_UNAVAILABLE, "%s", e.msg));
    if (!bw_send_fd(sp[1], lfd, 1)) _exit(fail(CSB_EXIT_OSERR, "cannot pass the notification fd"));
    close(lfd);
    close(sp[1]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (setsid() < 0) _exit(fail(CSB_EXIT_OSERR, "setsid: %s", strerror(errno)));
    execvp(cmd[0], cmd);
    int err = errno;
    _exit(fail(csb_exit_for_exec_errno(err), "cannot run %s: %s", cmd[0], strerror(err)));
  }
  close(sp[1]);
  if (!keep_relays_to_command(relays, n_relays)) return fail(CSB_EXIT_OSERR, "dup2: %s", strerror(errno));
  int listener = bw_recv_fd(sp[0], NULL);
  close(sp[0]);
  return bw_supervise(child, listener, lifeline, &rules, relays, n_relays);
}
