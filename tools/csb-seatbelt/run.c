/* run.c - running the command under sandbox-exec, with optional denial
 * collection through `log stream` (macOS).
 *
 * Without --log-denials the tool execs sandbox-exec in place (a
 * chain-loader, like every csb launcher). With it, `log stream` starts
 * first (we wait up to 2 s for its banner), the command runs as a child,
 * its process tree is polled so that denials of descendants count too,
 * and after it exits (plus 100 ms for late log lines) the report goes to
 * stderr and the command's exit status is ours.
 *
 * Outside macOS there is no Seatbelt: running fails with exit 69. For the
 * test suite only, non-macOS builds honour CSB_SEATBELT_TEST_SANDBOX_EXEC
 * and CSB_SEATBELT_TEST_LOG (stand-ins for sandbox-exec and log, with a
 * loud warning); macOS builds never read them. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <libproc.h>
#endif

#include "csb_proc.h"
#include "csb_sbpl.h"
#include "seatbelt.h"

#define READY_TIMEOUT_MS 2000
#define POLL_MS 20
#define DRAIN_MS 100
#define MAX_LINE 65536
#define MAX_TRACKED 65536

typedef struct runner {
  const char *sandbox_exec;
  const char *log;
} runner;

#if !defined(__APPLE__)
static const char *host_name(char *buf, size_t n) {
  struct utsname u;
  if (uname(&u) != 0) return "unknown";
  size_t i = 0;
  for (; u.sysname[i] && i + 1 < n; i++) buf[i] = (char)tolower((unsigned char)u.sysname[i]);
  buf[i] = '\0';
  return buf;
}
#endif

static int pick_runner(const csb_cli *cli, runner *r) {
#if defined(__APPLE__)
  (void)cli;
  r->sandbox_exec = CSB_SBPL_SANDBOX_EXEC;
  r->log = csb_sbpl_log_stream_argv[0];
  if (access(r->sandbox_exec, X_OK) != 0)
    return csb_cli_error(cli, CSB_EXIT_UNAVAILABLE,
                         "%s is missing or not executable (%s): Seatbelt cannot be applied on "
                         "this Mac; nothing was run",
                         r->sandbox_exec, strerror(errno));
  return 0;
#else
  const char *fake = getenv("CSB_SEATBELT_TEST_SANDBOX_EXEC");
  if (fake != NULL && fake[0] != '\0') {
    const char *log = getenv("CSB_SEATBELT_TEST_LOG");
    r->sandbox_exec = fake;
    r->log = log != NULL && log[0] != '\0' ? log : "/nonexistent/log";
    csb_cli_warn(cli, "test emulation: running %s in place of %s; nothing is sandboxed", fake,
                 CSB_SBPL_SANDBOX_EXEC);
    return 0;
  }
  char buf[64];
  return csb_cli_error(cli, CSB_EXIT_UNAVAILABLE,
                       "running a command needs macOS: Seatbelt (%s) exists only there and this "
                       "host is %s; use csb-bwrap on Linux, or --print-profile / --print-argv to "
                       "inspect what would run",
                       CSB_SBPL_SANDBOX_EXEC, host_name(buf, sizeof buf));
#endif
}

static void set_child_env(int network_disabled) {
  setenv("CODEX_SANDBOX", "seatbelt", 1);
  if (network_disabled) setenv("CODEX_SANDBOX_NETWORK_DISABLED", "1", 1);
}

int sb_exec_unsandboxed(const csb_cli *cli, char **cmd) {
  execvp(cmd[0], cmd);
  int e = errno;
  return csb_cli_error(cli, csb_exit_for_exec_errno(e), "cannot run %s: %s", cmd[0], strerror(e));
}

/* ---- process tree --------------------------------------------------------- */

typedef struct pidset {
  long *v;
  size_t n, cap;
} pidset;

static int pidset_has(const pidset *s, long pid) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == pid) return 1;
  return 0;
}

static void pidset_add(pidset *s, long pid) {
  if (pid <= 0 || pidset_has(s, pid) || s->n >= MAX_TRACKED) return;
  s->v = csb_xgrow(s->v, &s->cap, s->n + 1, sizeof *s->v);
  s->v[s->n++] = pid;
}

/* Adds the current children of every tracked process (repeatedly, so
 * grandchildren are found in the same round when they already exist). */
static void track_descendants(pidset *s) {
#if defined(__APPLE__)
  static const size_t kMax = 4096;
  pid_t *buf = csb_xcalloc(kMax, sizeof *buf);
  for (size_t i = 0; i < s->n; i++) {
    int n = proc_listchildpids((pid_t)s->v[i], buf, (int)(kMax * sizeof *buf));
    for (int k = 0; k < n && k < (int)kMax; k++) pidset_add(s, buf[k]);
  }
  free(buf);
#else
  DIR *d = opendir("/proc");
  if (d == NULL) return;
  long *pp = NULL; /* pairs pid, ppid */
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!isdigit((unsigned char)de->d_name[0])) continue;
    char path[300], text[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t len = read(fd, text, sizeof text - 1);
    close(fd);
    if (len <= 0) continue;
    text[len] = '\0';
    char *rp = strrchr(text, ')');
    long ppid = 0;
    if (rp == NULL || sscanf(rp + 1, " %*c %ld", &ppid) != 1) continue;
    pp = csb_xgrow(pp, &cap, n + 2, sizeof *pp);
    pp[n++] = atol(de->d_name);
    pp[n++] = ppid;
  }
  closedir(d);
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < n; i += 2)
      if (!pidset_has(s, pp[i]) && pidset_has(s, pp[i + 1])) {
        pidset_add(s, pp[i]);
        changed = 1;
      }
  }
  free(pp);
#endif
}

/* ---- log stream ------------------------------------------------------------- */

typedef struct logger {
  pid_t pid;
  int fd;
  csb_buf pending;
  int ready;
  int overlong; /* dropping the rest of a line longer than MAX_LINE */
} logger;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_line(logger *lg, const char *line, size_t len, csb_sbpl_denials *out) {
  if (!lg->ready) {
    char *copy = csb_xstrndup(line, len);
    lg->ready = csb_sbpl_log_is_ready(copy);
    free(copy);
    return;
  }
  csb_sbpl_denial d;
  if (csb_sbpl_parse_denial(line, len, &d)) csb_sbpl_denials_add(out, &d);
}

/* Reads what is available; 0 at EOF or error. */
static int logger_read(logger *lg, csb_sbpl_denials *out) {
  char buf[8192];
  ssize_t n = read(lg->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  csb_buf_append(&lg->pending, buf, (size_t)n);
  size_t start = 0;
  for (size_t i = 0; i < lg->pending.len; i++) {
    if (lg->pending.data[i] != '\n') continue;
    /* The end of an overlong line is dropped with the rest of it, not
     * taken for a line of its own. */
    if (!lg->overlong) on_line(lg, lg->pending.data + start, i - start, out);
    lg->overlong = 0;
    start = i + 1;
  }
  memmove(lg->pending.data, lg->pending.data + start, lg->pending.len - start);
  lg->pending.len -= start;
  lg->pending.data[lg->pending.len] = '\0';
  if (lg->overlong || lg->pending.len > MAX_LINE) { /* drop an overlong line */
    csb_buf_reset(&lg->pending);
    lg->overlong = 1;
  }
  return 1;
}

/* Reads for up to `ms` milliseconds (or until `until_ready` is met). */
static void logger_pump(logger *lg, long ms, int until_ready, csb_sbpl_denials *out) {
  long deadline = now_ms() + ms;
  while (lg->fd >= 0) {
    if (until_ready && lg->ready) return;
    long left = deadline - now_ms();
    if (left <= 0) return;
    struct pollfd p = {lg->fd, POLLIN, 0};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    if (!logger_read(lg, out)) {
      close(lg->fd);
      lg->fd = -1;
    }
  }
}

static void logger_stop(logger *lg) {
  if (lg->pid > 0) {
    kill(lg->pid, SIGTERM);
    csb_proc_wait(lg->pid, NULL);
    lg->pid = -1;
  }
  if (lg->fd >= 0) close(lg->fd);
  lg->fd = -1;
  csb_buf_free(&lg->pending);
}

static int logger_start(const csb_cli *cli, const char *path, logger *lg, csb_sbpl_denials *out) {
  memset(lg, 0, sizeof *lg);
  lg->pid = -1;
  lg->fd = -1;
  pid_t pid;
  int fd;
  if (!csb_proc_spawn_output(path, (char *const *)csb_sbpl_log_stream_argv, &pid, &fd)) return 0;
  lg->pid = pid;
  lg->fd = fd;
  logger_pump(lg, READY_TIMEOUT_MS, 1, out);
  if (!lg->ready) {
    logger_stop(lg);
    csb_cli_warn(cli, "--log-denials: `log stream` did not start within %d ms; running without "
                      "denial collection", READY_TIMEOUT_MS);
    return 0;
  }
  return 1;
}

/* ---- running ---------------------------------------------------------------- */

static int run_with_log(const csb_cli *cli, const runner *r, const csb_strv *argv) {
  /* An ignored SIGCHLD (inherited from the caller) makes the kernel reap
   * children itself: waitpid would fail and the command's status be lost.
   * The command gets the caller's disposition back. */
  struct sigaction dfl, old_chld;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, &old_chld);
  csb_sbpl_denials den;
  csb_sbpl_denials_init(&den);
  logger lg;
  int logging = logger_start(cli, r->log, &lg, &den);

  int errp[2];
  if (!csb_proc_pipe(errp)) {
    int e = errno;
    if (logging) logger_stop(&lg);
    csb_sbpl_denials_free(&den);
    sigaction(SIGCHLD, &old_chld, NULL);
    return csb_cli_error(cli, CSB_EXIT_OSERR, "pipe: %s", strerror(e));
  }
  struct sigaction ign, old_int, old_quit;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  pid_t child = fork();
  if (child == 0) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    execv(r->sandbox_exec, argv->items);
    int e = errno;
    (void)!write(errp[1], &e, sizeof e);
    _exit(127);
  }
  int rc;
  close(errp[1]);
  if (child < 0) {
    rc = csb_cli_error(cli, CSB_EXIT_OSERR, "fork: %s", strerror(errno));
    close(errp[0]);
    goto out;
  }
  int exec_errno = 0;
  ssize_t got;
  do got = read(errp[0], &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  close(errp[0]);
  if (got == (ssize_t)sizeof exec_errno) {
    csb_proc_wait(child, NULL);
    rc = csb_cli_error(cli, CSB_EXIT_UNAVAILABLE, "cannot run %s: %s", r->sandbox_exec,
                       strerror(exec_errno));
    goto out;
  }
  pidset pids = {NULL, 0, 0};
  pidset_add(&pids, child);
  int status = 0, wait_errno = 0;
  for (;;) {
    track_descendants(&pids);
    pid_t w = waitpid(child, &status, WNOHANG);
    if (w == child) break;
    if (w < 0 && errno != EINTR) {
      wait_errno = errno;
      break;
    }
    if (logging)
      logger_pump(&lg, POLL_MS, 0, &den);
    else
      usleep(POLL_MS * 1000);
  }
  if (logging) {
    logger_pump(&lg, DRAIN_MS, 0, &den);
    logger_stop(&lg);
    logging = 0;
    char *report = csb_sbpl_denials_report(&den, pids.v, pids.n);
    csb_write_all(2, report, strlen(report));
    free(report);
  }
  free(pids.v);
  if (wait_errno != 0)
    rc = csb_cli_error(cli, CSB_EXIT_OSERR, "waiting for %s: %s; its exit status is unknown",
                       r->sandbox_exec, strerror(wait_errno));
  else
    rc = csb_exit_from_wait_status(status);
out:
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  sigaction(SIGCHLD, &old_chld, NULL);
  if (logging) logger_stop(&lg);
  csb_sbpl_denials_free(&den);
  return rc;
}

int sb_run(const csb_cli *cli, const csb_strv *argv, int network_disabled, int log_denials) {
  runner r;
  int rc = pick_runner(cli, &r);
  if (rc != 0) return rc;
  set_child_env(network_disabled);
  if (log_denials) return run_with_log(cli, &r, argv);
  execv(r.sandbox_exec, argv->items);
  int e = errno;
  return csb_cli_error(cli, CSB_EXIT_UNAVAILABLE, "cannot run %s: %s", r.sandbox_exec, strerror(e));
}
