/* launch.c - running bubblewrap from the outer stage.
 *
 * bwrap is a child of csb-bwrap, so that we can
 *   - read bubblewrap's own setup errors: its stderr is a pipe to us until
 *     the inner stage takes the real stderr back (passed as a separate fd)
 *     and reports "started" on another pipe. A failure before that point
 *     is bubblewrap's (or the host's), and we explain it: a refused /proc
 *     mount is retried without a fresh /proc, missing user namespaces are
 *     refused with the fix;
 *   - forward SIGINT/SIGTERM/SIGHUP/SIGQUIT to the sandbox's pid 1 (whose
 *     host pid bubblewrap reports on --info-fd), which forwards them to
 *     CMD, instead of letting them kill bubblewrap; and SIGTSTP/SIGCONT,
 *     on which pid 1 stops or continues the whole sandbox;
 *   - remove host-side mount targets after the run.
 *
 * However we die, the sandbox goes with us: its pid 1 (the inner stage)
 * exits when the lifeline, a pipe only we hold the write end of, hangs up,
 * and the kernel then kills every process of the sandbox. bubblewrap's
 * parent-death signal (--die-with-parent) is deliberately not used: its
 * child, the sandbox's future pid 1, waits on an eventfd for a word from
 * bubblewrap's parent process before it arms that signal: a parent
 * killed with us before that word strands it forever, still holding the
 * caller's stdio, and one killed after it, but before the child arms the
 * signal, leaves it armed for a parent that never dies (the host's init),
 * so pid 1 would run the command with no launcher to its end.
 * Without it bubblewrap's parent outlives us only as long as the sandbox
 * takes to notice, which it does as soon as the inner stage runs.
 * bubblewrap's parent can still be killed on its own (a terminal's SIGINT
 * reaches it); we are a child subreaper, so what it leaves behind comes
 * back to us and is killed once it has exited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_cli.h"
#include "csb_proc.h"

#define CAPTURE_MAX (64 * 1024)
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int clear_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFD);
  return fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) == 0;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void bw_launch_end_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < CSB_ARRAY_LEN(forwarded); i++) sigaddset(set, forwarded[i]);
}

int bw_launch_end_take(void) {
  sigset_t set;
  bw_launch_end_set(&set);
  struct timespec now = {0, 0};
  int sig, last = 0;
  while ((sig = sigtimedwait(&set, NULL, &now)) > 0) last = sig;
  return last;
}

int bw_launch_end_pending(void) {
  sigset_t pending;
  if (sigpending(&pending) != 0) return 0;
  for (size_t i = 0; i < CSB_ARRAY_LEN(forwarded); i++)
    if (sigismember(&pending, forwarded[i]) == 1) return 1;
  return 0;
}

/* The sandbox's pid 1 (host pid) from bubblewrap's --info-fd JSON. */
static pid_t read_child_pid(int info_r) {
  char buf[512];
  int fl = fcntl(info_r, F_GETFL);
  if (fl >= 0) fcntl(info_r, F_SETFL, fl | O_NONBLOCK);
  ssize_t n = read(info_r, buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *k = strstr(buf, "\"child-pid\"");
  if (!k || !(k = strchr(k, ':'))) return -1;
  return (pid_t)strtol(k + 1, NULL, 10);
}

pid_t bw_spawn(int (*fn)(void *), void *arg) {
  pid_t pid = vfork();
  if (pid == 0) _exit(fn(arg));
  return pid;
}

typedef struct bwrap_child {
  const char *exec_path;
  char **argv;
  const int *keep_fds;
  size_t n_keep;
  int err_w;
  pid_t parent;
  const sigset_t *mask;
  const bw_tty_seal *tty;  /* NULL: none wanted */
  bw_devnodes_error tty_err; /* set by the child when bw_tty_seal_apply fails */
  int exec_errno;          /* set by the child when execv fails */
} bwrap_child;

/* In the child (sharing our memory until it execs): system calls only.
 * A failed execv is reported by the parent, which sees exec_errno. */
static int exec_bwrap(void *arg) {
  bwrap_child *c = arg;
  if (getppid() != c->parent) return CSB_EXIT_OSERR; /* we are gone already */
  if (c->tty && !bw_tty_seal_apply(c->tty, &c->tty_err)) return CSB_EXIT_UNAVAILABLE;
  sigprocmask(SIG_SETMASK, c->mask, NULL);
  if (dup2(c->err_w, 2) < 0) return CSB_EXIT_OSERR;
  for (size_t i = 0; i < c->n_keep; i++) clear_cloexec(c->keep_fds[i]);
  execv(c->exec_path, c->argv);
  c->exec_errno = errno ? errno : ENOEXEC;
  return CSB_EXIT_UNAVAILABLE;
}

/* Kills and reaps our children in another PID namespace: what bubblewrap
 * left behind when it exited (re-parented to us). Our own helpers (proxy
 * bridges) share our namespace and stay. */
static void kill_strays(void) {
  /* no child at all (bubblewrap reaped): nothing to look for */
  siginfo_t si;
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) return;
  char path[64], self_ns[64], ns[64], list[4096];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  ssize_t n = readlink("/proc/self/ns/pid", self_ns, sizeof self_ns - 1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (n <= 0 || fd < 0) {
    if (fd >= 0) close(fd);
    return;
  }
  self_ns[n] = 0;
  ssize_t len = read(fd, list, sizeof list - 1);
  close(fd);
  if (len <= 0) return;
  list[len] = 0;
  for (char *p = list, *end; *p; p = end) {
    long v = strtol(p, &end, 10);
    if (end == p) break;
    pid_t child = (pid_t)v;
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)child);
    ssize_t m = readlink(path, ns, sizeof ns - 1);
    if (m <= 0) continue;
    ns[m] = 0;
    if (strcmp(ns, self_ns) == 0) continue;
    kill(child, SIGKILL);
    csb_proc_wait(child, NULL);
  }
}

/* 1 when the inner stage reported that the sandbox is set up. */
static int poll_started(int started_r) {
  struct pollfd p = {started_r, POLLIN, 0};
  char b;
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && read(started_r, &b, 1) == 1;
}

int bw_launch_run(const char *exec_path, char **argv, const int *keep_fds, size_t n_keep,
                  int err_w, int err_r, int started_r, int info_r, int info_w, int started_w,
                  void (*after_fork)(void *, pid_t), void *after_fork_arg, const sigset_t *child_mask,
                  bw_launch_result *res) {
  memset(res, 0, sizeof *res);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < CSB_ARRAY_LEN(forwarded); i++) sigaddset(&set, forwarded[i]);
  sigaddset(&set, SIGTSTP);
  sigaddset(&set, SIGCONT);
  sigprocmask(SIG_BLOCK, &set, &old);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  bw_tty_seal tty;
  int seal_tty = bw_tty_seal_wanted(&tty);
  bwrap_child c = {exec_path, argv,   keep_fds, n_keep, err_w, getpid(), child_mask ? child_mask : &old,
                   seal_tty ? &tty : NULL, {0, NULL, NULL}, 0};
  pid_t pid = bw_spawn(exec_bwrap, &c);
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    res->error = errno;
    return 0;
  }
  close(err_w);
  close(info_w);
  close(started_w);
  /* (a child that could not seal the terminal has exited already:
   * nothing is handed to it) */
  if (after_fork && !c.tty_err.err) after_fork(after_fork_arg, pid);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  /* Sleep until bubblewrap exits or a signal arrives: nothing else needs
   * us while the command runs (fewer wake-ups, faster start under load).
   * bubblewrap's few setup messages wait in the stderr pipe. */
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  pid_t sandbox_pid = -1;
  int status = 0, exited = 0;
  while (!exited) {
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      status = st;
      exited = 1;
      break;
    }
    struct pollfd pf[2] = {{sfd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int n = poll(pf, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 20);
    if (n < 0 && errno != EINTR) break;
    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) continue;
        if (sandbox_pid <= 0) sandbox_pid = read_child_pid(info_r);
        if (!res->started) res->started = poll_started(started_r);
        if (sig == SIGTSTP || sig == SIGCONT) {
          /* Job control: the sandbox runs in a session of its own, which
           * a terminal's stop never reaches. pid 1 stops (or continues)
           * every other process of the sandbox, then we stop: the shell
           * sees the job stopped, and its `fg`/`bg` continues us. */
          if (sandbox_pid > 0 && res->started) kill(sandbox_pid, sig);
          if (sig == SIGTSTP) kill(getpid(), SIGSTOP);
          continue;
        }
        res->signal = sig;
        if (sandbox_pid > 0 && res->started) kill(sandbox_pid, sig);
        else kill(pid, sig);
      }
    }
  }
  if (!exited) {
    csb_proc_wait(pid, &status);
  }
  kill_strays();
  if (pidfd >= 0) close(pidfd);
  if (!res->started) res->started = poll_started(started_r);
  /* What bubblewrap said: relayed after a start, analysed otherwise. */
  csb_buf cap;
  csb_buf_init(&cap);
  int fl = fcntl(err_r, F_GETFL);
  if (fl >= 0) fcntl(err_r, F_SETFL, fl | O_NONBLOCK);
  for (;;) {
    char buf[4096];
    ssize_t r = read(err_r, buf, sizeof buf);
    if (r <= 0) break;
    if (cap.len < CAPTURE_MAX) csb_buf_append(&cap, buf, (size_t)r);
  }
  if (c.exec_errno != 0)
    csb_buf_printf(&cap, "csb-bwrap: error: cannot execute bubblewrap %s: %s\n", exec_path,
                   strerror(c.exec_errno));
  if (res->started && cap.len) {
    csb_write_all(2, cap.data, cap.len);
    csb_buf_reset(&cap);
  }
  if (sfd >= 0) close(sfd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  res->wait_status = status;
  res->tty = c.tty_err;
  res->tty.node = NULL; /* (it named our copy of the path) */
  if (seal_tty) snprintf(res->tty_which, sizeof res->tty_which, "%s", tty.which);
  res->captured = csb_buf_steal(&cap);
  return 1;
}

/* ---- classification of bubblewrap's setup errors ---------------------- */

int bw_is_proc_failure(const char *text) {
  return text && strstr(text, "Can't mount proc") && strstr(text, "/newroot/proc") &&
         (strstr(text, "Invalid argument") || strstr(text, "Operation not permitted") ||
          strstr(text, "Permission denied"));
}

int bw_is_userns_failure(const char *text) {
  static const char *const snippets[] = {
      "setting up uid map: Permission denied",
      /* unshare(CLONE_NEWUSER) refused: "No permissions to creating new
       * namespace" (0.4-0.6), "... to create new namespace" (0.8),
       * "... to create a new namespace" */
      "No permissions to creat",
      "loopback: Failed RTM_NEWADDR",
      "loopback: Failed RTM_NEWLINK",
      "Creating new namespace failed",
      "unshare failed",
  };
  if (!text) return 0;
  for (size_t i = 0; i < CSB_ARRAY_LEN(snippets); i++)
    if (strstr(text, snippets[i])) return 1;
  return 0;
}
