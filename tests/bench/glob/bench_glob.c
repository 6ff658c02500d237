// bench_glob.c - benchmark of deny-glob expansion (libs/paths) against find.
//
//   bench_glob mktree DIR [NFILES]
//       Creates a source-tree-like directory DIR (which must not exist):
//       10 x 10 x 10 leaf directories holding NFILES files in total (default
//       100000), 2% of them named *.env, plus a few hidden directories.
//
//   bench_glob expand [--runs N] [--threads T] [--max-depth D] PATTERN
//       Expands PATTERN N times in this process and prints every time, the
//       median and the number of matches. With --runs 0 it expands once and
//       prints nothing (used by `compare` for whole-process timings).
//
//   bench_glob compare [--runs N] ROOT
//       Times, round-robin, N runs each of:
//         csb_glob_expand of "ROOT/**/*.env" in process (auto threads),
//         the same with one thread,
//         the same as a whole process (this program re-executed),
//         find ROOT -name '*.env',
//         find ROOT -path 'ROOT/*.env',
//         find ROOT -print0 piped into csb_glob_match (what a find-based
//           implementation of full glob expansion has to do, since find's
//           own patterns cannot express "**", classes or alternation),
//       checks that every variant finds the same number of paths, and prints
//       the median wall and CPU times and the ratios of find's medians to
//       csb's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csb_paths.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(const struct rusage *ru) {
  return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3 +
         (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
}

static double self_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return cpu_ms(&ru);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what) {
  fprintf(stderr, "bench_glob: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- mktree ---------------------------------------------------------------- */

static void mkdir_or_die(const char *p) {
  if (mkdir(p, 0755) != 0 && errno != EEXIST) die(p);
}

static void touch_or_die(const char *p) {
  int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die(p);
  close(fd);
}

static int cmd_mktree(int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "usage: bench_glob mktree DIR [NFILES]\n");
    return 2;
  }
  const char *root = argv[0];
  long nfiles = argc > 1 ? atol(argv[1]) : 100000;
  if (mkdir(root, 0755) != 0) die(root);
  static const char *exts[] = {".c", ".h", ".txt", ".md", ".json", ".py"};
  char p[4096];
  long per_dir = nfiles / 1000, made = 0;
  for (int a = 0; a < 10; a++) {
    for (int b = 0; b < 10; b++) {
      for (int c = 0; c < 10; c++) {
        snprintf(p, sizeof p, "%s/pkg%d", root, a);
        mkdir_or_die(p);
        snprintf(p, sizeof p, "%s/pkg%d/mod%d", root, a, b);
        mkdir_or_die(p);
        snprintf(p, sizeof p, "%s/pkg%d/mod%d/src%d", root, a, b, c);
        mkdir_or_die(p);
        long n = per_dir + ((a * 100 + b * 10 + c) < nfiles % 1000 ? 1 : 0);
        for (long i = 0; i < n; i++, made++) {
          if (i % 50 == 7)
            snprintf(p, sizeof p, "%s/pkg%d/mod%d/src%d/settings%ld.env", root, a, b, c, i);
          else
            snprintf(p, sizeof p, "%s/pkg%d/mod%d/src%d/file%ld%s", root, a, b, c, i,
                     exts[i % 6]);
          touch_or_die(p);
        }
      }
    }
    snprintf(p, sizeof p, "%s/pkg%d/.cache", root, a);
    mkdir_or_die(p);
  }
  printf("created %ld files under %s\n", made, root);
  return 0;
}

/* ---- expand ---------------------------------------------------------------- */

static int expand_once(const csb_glob *g, int threads, int max_depth, size_t *count) {
  csb_glob_expand_opts o;
  memset(&o, 0, sizeof o);
  o.max_depth = max_depth;
  o.max_matches = 1000000;
  o.threads = threads;
  csb_strv v;
  csb_strv_init(&v);
  csb_error err;
  if (!csb_glob_expand_ex(g, &o, &v, &err)) {
    fprintf(stderr, "bench_glob: %s\n", err.msg);
    exit(1);
  }
  *count = v.len;
  csb_strv_free(&v);
  return 1;
}

static csb_glob *compile_or_die(const char *pattern) {
  csb_glob *g;
  csb_error err;
  if (!csb_glob_compile(pattern, &g, &err)) {
    fprintf(stderr, "bench_glob: invalid glob `%s`: %s\n", pattern, err.msg);
    exit(2);
  }
  return g;
}

static int cmd_expand(int argc, char **argv) {
  int runs = 10, threads = 0, max_depth = CSB_GLOB_DEPTH_UNLIMITED, i = 0;
  for (; i < argc - 1; i += 2) {
    if (strcmp(argv[i], "--runs") == 0)
      runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--max-depth") == 0)
      max_depth = atoi(argv[i + 1]);
    else
      break;
  }
  if (i != argc - 1) {
    fprintf(stderr, "usage: bench_glob expand [--runs N] [--threads T] [--max-depth D] PATTERN\n");
    return 2;
  }
  csb_glob *g = compile_or_die(argv[i]);
  size_t count = 0;
  if (runs <= 0) {
    expand_once(g, threads, max_depth, &count);
    csb_glob_free(g);
    return 0;
  }
  double *t = calloc((size_t)runs, sizeof *t);
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms();
    expand_once(g, threads, max_depth, &count);
    t[r] = now_ms() - t0;
    printf("run %2d: %8.2f ms\n", r + 1, t[r]);
  }
  printf("matches: %zu\nmedian:  %8.2f ms over %d runs\n", count, median(t, runs), runs);
  free(t);
  csb_glob_free(g);
  return 0;
}

/* ---- compare --------------------------------------------------------------- */

/* Runs argv with stdout to /dev/null (or counting lines into *lines when
 * lines is non-NULL; or, when filter is non-NULL, reading NUL-separated
 * paths and counting those the glob matches into *lines); returns wall ms
 * and CPU ms (the child's, plus ours spent filtering). */
static void run_child_filtered(char *const argv[], const csb_glob *filter, double *wall,
                               double *cpu, size_t *lines);

static void run_child(char *const argv[], double *wall, double *cpu, size_t *lines) {
  run_child_filtered(argv, NULL, wall, cpu, lines);
}

static void run_child_filtered(char *const argv[], const csb_glob *filter, double *wall,
                               double *cpu, size_t *lines) {
  int pipefd[2] = {-1, -1};
  if (lines && pipe(pipefd) != 0) die("pipe");
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int out = lines ? pipefd[1] : open("/dev/null", O_WRONLY);
    dup2(out, 1);
    if (lines) close(pipefd[0]);
    execvp(argv[0], argv);
    _exit(127);
  }
  double self0 = self_cpu_ms();
  if (lines) {
    close(pipefd[1]);
    char buf[65536];
    ssize_t n;
    *lines = 0;
    char *rec = NULL;
    size_t rlen = 0, rcap = 0;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) {
        if (!filter) {
          *lines += buf[i] == '\n';
          continue;
        }
        if (buf[i] != '\0') {
          if (rlen + 1 >= rcap) {
            rcap = rcap ? rcap * 2 : 4096;
            rec = realloc(rec, rcap);
            if (!rec) die("realloc");
          }
          rec[rlen++] = buf[i];
          continue;
        }
        *lines += csb_glob_match_n(filter, rec, rlen) != 0;
        rlen = 0;
      }
    }
    free(rec);
    close(pipefd[0]);
  }
  double self_spent = self_cpu_ms() - self0;
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) die("wait4");
  *wall = now_ms() - t0;
  *cpu = cpu_ms(&ru) + self_spent;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_glob: `%s` failed\n", argv[0]);
    exit(1);
  }
}

enum { V_INPROC, V_INPROC1, V_PROC, V_FIND_NAME, V_FIND_PATH, V_FIND_FILTER, NV };

static const char *const vnames[NV] = {
    "csb (in process, auto threads)", "csb (in process, 1 thread)",
    "csb (whole process, auto threads)", "find ROOT -name '*.env'",
    "find ROOT -path 'ROOT/*.env'",
    "find ROOT -print0 | glob filter",
};

static int cmd_compare(int argc, char **argv, const char *self) {
  int runs = 15, i = 0;
  if (argc >= 2 && strcmp(argv[0], "--runs") == 0) {
    runs = atoi(argv[1]);
    i = 2;
  }
  if (i != argc - 1 || runs < 1) {
    fprintf(stderr, "usage: bench_glob compare [--runs N] ROOT\n");
    return 2;
  }
  const char *root = argv[i];
  char *pattern = NULL, *path_glob = NULL;
  if (asprintf(&pattern, "%s/**/*.env", root) < 0 ||
      asprintf(&path_glob, "%s/*.env", root) < 0)
    die("asprintf");
  csb_glob *g = compile_or_die(pattern);

  char *proc_argv[] = {(char *)self, "expand", "--runs", "0", pattern, NULL};
  char *fname_argv[] = {"find", (char *)root, "-name", "*.env", NULL};
  char *fpath_argv[] = {"find", (char *)root, "-path", path_glob, NULL};
  char *fall_argv[] = {"find", (char *)root, "-print0", NULL};

  /* Correctness and warm-up: every variant must see the same paths. */
  size_t n_csb = 0, n_csb1 = 0, n_name = 0, n_path = 0, n_filter = 0;
  double w, c;
  expand_once(g, 0, CSB_GLOB_DEPTH_UNLIMITED, &n_csb);
  expand_once(g, 1, CSB_GLOB_DEPTH_UNLIMITED, &n_csb1);
  run_child(fname_argv, &w, &c, &n_name);
  run_child(fpath_argv, &w, &c, &n_path);
  run_child_filtered(fall_argv, g, &w, &c, &n_filter);
  if (n_csb != n_name || n_csb1 != n_name || n_path != n_name || n_filter != n_name) {
    fprintf(stderr, "bench_glob: match counts differ: csb %zu, csb/1 %zu, find -name %zu, "
                    "find -path %zu, find | filter %zu\n", n_csb, n_csb1, n_name, n_path,
            n_filter);
    return 1;
  }

  double *wall[NV], *cpu[NV];
  for (int v = 0; v < NV; v++) {
    wall[v] = calloc((size_t)runs, sizeof(double));
    cpu[v] = calloc((size_t)runs, sizeof(double));
  }
  for (int r = 0; r < runs; r++) {
    for (int v = 0; v < NV; v++) {
      size_t cnt;
      if (v == V_INPROC || v == V_INPROC1) {
        double c0 = self_cpu_ms(), t0 = now_ms();
        expand_once(g, v == V_INPROC ? 0 : 1, CSB_GLOB_DEPTH_UNLIMITED, &cnt);
        wall[v][r] = now_ms() - t0;
        cpu[v][r] = self_cpu_ms() - c0;
      } else if (v == V_FIND_FILTER) {
        run_child_filtered(fall_argv, g, &wall[v][r], &cpu[v][r], &cnt);
      } else {
        char *const *av = v == V_PROC ? proc_argv : v == V_FIND_NAME ? fname_argv : fpath_argv;
        run_child(av, &wall[v][r], &cpu[v][r], NULL);
      }
    }
  }

  double mw[NV], mc[NV];
  for (int v = 0; v < NV; v++) {
    mw[v] = median(wall[v], runs);
    mc[v] = median(cpu[v], runs);
  }
  printf("tree: %s\npattern: %s (%zu matches, find agrees)\nruns: %d, round-robin; medians\n\n",
         root, pattern, n_name, runs);
  printf("%-36s %12s %12s\n", "variant", "wall ms", "cpu ms");
  for (int v = 0; v < NV; v++) printf("%-36s %12.2f %12.2f\n", vnames[v], mw[v], mc[v]);
  printf("\nratio find -name / csb, in process:    wall %5.1fx   cpu %5.1fx\n",
         mw[V_FIND_NAME] / mw[V_INPROC], mc[V_FIND_NAME] / mc[V_INPROC]);
  printf("ratio find -name / csb, whole process: wall %5.1fx   cpu %5.1fx\n",
         mw[V_FIND_NAME] / mw[V_PROC], mc[V_FIND_NAME] / mc[V_PROC]);
  printf("ratio find -path / csb, in process:    wall %5.1fx   cpu %5.1fx\n",
         mw[V_FIND_PATH] / mw[V_INPROC], mc[V_FIND_PATH] / mc[V_INPROC]);
  printf("ratio find -name / csb 1 thread:       wall %5.1fx   cpu %5.1fx\n",
         mw[V_FIND_NAME] / mw[V_INPROC1], mc[V_FIND_NAME] / mc[V_INPROC1]);
  printf("ratio find|filter / csb, in process:   wall %5.1fx   cpu %5.1fx\n",
         mw[V_FIND_FILTER] / mw[V_INPROC], mc[V_FIND_FILTER] / mc[V_INPROC]);
  for (int v = 0; v < NV; v++) {
    free(wall[v]);
    free(cpu[v]);
  }
  free(pattern);
  free(path_glob);
  csb_glob_free(g);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_glob mktree|expand|compare ...\n");
    return 2;
  }
  if (strcmp(argv[1], "mktree") == 0) return cmd_mktree(argc - 2, argv + 2);
  if (strcmp(argv[1], "expand") == 0) return cmd_expand(argc - 2, argv + 2);
  if (strcmp(argv[1], "compare") == 0) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) die("/proc/self/exe");
    self[n] = '\0';
    return cmd_compare(argc - 2, argv + 2, self);
  }
  fprintf(stderr, "bench_glob: unknown command `%s`\n", argv[1]);
  return 2;
}
