/* probe.h - shared helpers of the escape probes.
 *
 * Every probe program takes the probe name as argv[1] and prints exactly
 * one line:
 *   blocked: DETAIL   (exit 0)   the sandbox stopped the attempt
 *   ESCAPED: DETAIL   (exit 1)   the attempt worked: a sandbox hole
 *   error: DETAIL     (exit 2)   the probe itself could not run
 */
#ifndef CSB_ESCAPE_PROBE_H
#define CSB_ESCAPE_PROBE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*probe_fn)(int argc, char **argv);

typedef struct probe {
  const char *name;
  probe_fn fn;
} probe;

static inline int blocked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int escaped(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int perror2(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define PROBE_VPRINT(prefix)       \
  va_list ap;                      \
  va_start(ap, fmt);               \
  fputs(prefix, stdout);           \
  vprintf(fmt, ap);                \
  fputc('\n', stdout);             \
  va_end(ap);                      \
  fflush(stdout)

#include <stdarg.h>
static inline int blocked(const char *fmt, ...) {
  PROBE_VPRINT("blocked: ");
  return 0;
}
static inline int escaped(const char *fmt, ...) {
  PROBE_VPRINT("ESCAPED: ");
  return 1;
}
static inline int perror2(const char *fmt, ...) {
  PROBE_VPRINT("error: ");
  return 2;
}

/* Result of a syscall that must fail: blocked when it returned -1. */
/* Appends "WHAT: <strerror(errno)>" to the string in why[0, cap), after
 * "; " when it is not empty. */
static inline void note_errno(char *why, size_t cap, const char *what) {
  const char *e = strerror(errno);
  size_t n = strlen(why);
  snprintf(why + n, cap - n, "%s%s: %s", n ? "; " : "", what, e);
}

static inline int expect_fail(long rc, const char *what) {
  if (rc == -1) return blocked("%s: %s", what, strerror(errno));
  return escaped("%s succeeded (returned %ld)", what, rc);
}

/* Runs fn in a child; a child killed by a signal (seccomp kill) or
 * reporting failure counts as blocked. */
static inline int in_child(int (*fn)(void), const char *what) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return perror2("fork: %s", strerror(errno));
  if (pid == 0) _exit(fn());
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(st)) return blocked("%s: killed by signal %d", what, WTERMSIG(st));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return escaped("%s worked", what);
  return blocked("%s: failed with errno %d (%s)", what, WEXITSTATUS(st), strerror(WEXITSTATUS(st)));
}

static inline int probe_main(const probe *table, int argc, char **argv) {
  if (argc < 2) {
    for (const probe *p = table; p->name; p++) printf("%s\n", p->name);
    return 2;
  }
  for (const probe *p = table; p->name; p++)
    if (strcmp(p->name, argv[1]) == 0) return p->fn(argc, argv);
  return perror2("unknown probe %s", argv[1]);
}

#endif
