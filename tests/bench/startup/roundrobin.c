/* roundrobin.c - wall time of several commands, run in turn.
 *
 *   roundrobin [-g GAP_MS] [-s SEED] RUNS NAME=CMD...
 *
 * Each round runs every command once (vfork + exec, standard descriptors
 * on /dev/null), in an order shuffled anew for every round (xorshift
 * seeded with SEED, default 1), after three warm-up rounds; a machine
 * whose speed drifts during the run affects every command alike, unlike
 * runs grouped by command, and no command always runs right after the
 * same other one. After every run the machine is left alone for GAP_MS
 * milliseconds (default 0): the work a command leaves to the kernel when
 * it exits (namespaces torn down by kernel threads, orphans reaped by
 * init) then runs before the next timing starts instead of inside it.
 * CMD is split at spaces (no quoting). Prints one line per command on stdout,
 * NAME, a tab and the median in seconds, and a table of median, first
 * and third quartile in milliseconds on stderr. Exit 0, 64 on bad usage,
 * 71 when a command cannot be started or exits non-zero. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 16
#define MAX_ARGS 256

typedef struct bench_cmd {
  char *name;
  char *argv[MAX_ARGS];
  double *t;
} bench_cmd;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One run of c; its wall time in seconds, or -1 when it failed. */
static double run_once(const bench_cmd *c, int null_fd) {
  double t0 = now_s();
  pid_t p = vfork();
  if (p < 0) return -1;
  if (p == 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    execvp(c->argv[0], c->argv);
    _exit(127);
  }
  int st;
  if (waitpid(p, &st, 0) != p) return -1;
  double t = now_s() - t0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : -1;
}

static unsigned long long next_rand(unsigned long long *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

int main(int argc, char **argv) {
  long gap_ms = 0;
  unsigned long long seed = 1;
  int opt;
  while ((opt = getopt(argc, argv, "+g:s:")) != -1) {
    char *end = NULL;
    if (opt == 'g') gap_ms = strtol(optarg, &end, 10);
    else if (opt == 's') seed = strtoull(optarg, &end, 10);
    if (opt == '?' || !end || *end || gap_ms < 0 || gap_ms > 10000) {
      fprintf(stderr, "usage: roundrobin [-g GAP_MS] [-s SEED] RUNS NAME=CMD...\n");
      return 64;
    }
  }
  argc -= optind - 1;
  argv += optind - 1;
  if (seed == 0) seed = 1;
  int runs = argc > 2 ? atoi(argv[1]) : 0;
  int n = argc - 2;
  if (runs < 1 || n < 1 || n > MAX_CMDS) {
    fprintf(stderr, "usage: roundrobin [-g GAP_MS] [-s SEED] RUNS NAME=CMD... (at most %d commands)\n", MAX_CMDS);
    return 64;
  }
  bench_cmd cmds[MAX_CMDS];
  for (int i = 0; i < n; i++) {
    char *eq = strchr(argv[i + 2], '=');
    if (!eq || eq == argv[i + 2]) {
      fprintf(stderr, "roundrobin: %s: expected NAME=CMD\n", argv[i + 2]);
      return 64;
    }
    *eq = 0;
    cmds[i].name = argv[i + 2];
    int k = 0;
    for (char *save = NULL, *w = strtok_r(eq + 1, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
      if (k == MAX_ARGS - 1) {
        fprintf(stderr, "roundrobin: %s: more than %d words\n", cmds[i].name, MAX_ARGS - 1);
        return 64;
      }
      cmds[i].argv[k++] = w;
    }
    cmds[i].argv[k] = NULL;
    if (k == 0) {
      fprintf(stderr, "roundrobin: %s: empty command\n", cmds[i].name);
      return 64;
    }
    cmds[i].t = calloc((size_t)runs, sizeof(double));
    if (!cmds[i].t) return 71;
  }
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    perror("roundrobin: /dev/null");
    return 71;
  }
  struct timespec gap = {gap_ms / 1000, (gap_ms % 1000) * 1000000L};
  int order[MAX_CMDS];
  for (int j = 0; j < n; j++) order[j] = j;
  for (int r = -3; r < runs; r++) {
    for (int j = n - 1; j > 0; j--) { /* Fisher-Yates */
      int k = (int)(next_rand(&seed) % (unsigned long long)(j + 1)), x = order[j];
      order[j] = order[k];
      order[k] = x;
    }
    for (int j = 0; j < n; j++) {
      int i = order[j];
      double t = run_once(&cmds[i], null_fd);
      if (gap_ms > 0) nanosleep(&gap, NULL);
      if (t < 0) {
        fprintf(stderr, "roundrobin: %s failed (run it alone to see why)\n", cmds[i].name);
        return 71;
      }
      if (r >= 0) cmds[i].t[r] = t;
    }
  }
  fprintf(stderr, "%-26s %10s %10s %10s  (%d runs, shuffled rounds, %ld ms gap)\n", "command", "median ms", "p25", "p75",
          runs, gap_ms);
  for (int i = 0; i < n; i++) {
    qsort(cmds[i].t, (size_t)runs, sizeof(double), by_value);
    double med = runs % 2 ? cmds[i].t[runs / 2] : (cmds[i].t[runs / 2 - 1] + cmds[i].t[runs / 2]) / 2;
    fprintf(stderr, "%-26s %10.2f %10.2f %10.2f\n", cmds[i].name, med * 1e3, cmds[i].t[runs / 4] * 1e3,
            cmds[i].t[(3 * runs) / 4] * 1e3);
    printf("%s\t%.6f\n", cmds[i].name, med);
    free(cmds[i].t);
  }
  return 0;
}
