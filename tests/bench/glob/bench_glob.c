// bench_glob.c - benchmark of deny-glob expansion (libs/paths) against find.
//
//   bench_glob mktree DIR [NFILES]
//       Creates a source-tree-like directory DIR (which must not exist):
//       10 x 10 x 10 leaf directories holding NFILES files in total (default
//       100000), 2% of them named *.env, plus a few hidden directories.
//
//   bench_glob expand [--runs N] [--threads T] [--max-depth D] [--cache DIR]
//                     [--stats] [--print] PATTERN
//       Expands PATTERN N times in this process and prints every time, the
//       median and the number of matches. With --runs 0 it expands once and
//       prints nothing, or the matches with --print (used by `compare` for
//       whole-process timings, like find printing its matches). --cache
//       uses DIR as the expansion cache (as csb-bwrap does with its
//       registry); --stats prints the directories read and reused to
//       stderr.
//
//   bench_glob compare [--runs N] ROOT
//       Times, round-robin after a warm-up round (so every variant sees
//       warm dentry and inode caches), N runs each of:
//         csb as a whole process printing its matches, one thread (what
//           find does: one process, one thread) and automatic threads;
//         csb_glob_expand in this process, one thread and automatic threads;
//         the listing floor: openat + getdents64 + close of every directory
//           of the tree, matching nothing (what any expansion of a "**"
//           glob has to pay the kernel for);
//         find ROOT -name '*.env' and find ROOT -path 'ROOT/*.env', the
//           find-based equivalents of ROOT/**/*.env (find's '*' in -path
//           crosses '/', and a leading "**/" also matches no directory);
//         when rg is on PATH, the scan Codex runs for the same deny glob:
//           rg --files --hidden --no-ignore --glob '**/*.env' -- ROOT
//           (ripgrep, multi-threaded);
//         csb as a whole process, one thread, with the expansion cache:
//           cold (the cache file removed before each run, so the run reads
//           every directory and writes the cache) and warm (nothing changed
//           since the previous run: every directory is checked with one
//           stat and none is read);
//       then, on their own, N runs of the warm cached csb after a file was
//       created and removed in one leaf directory before each run (that
//       directory is read again, every other one is reused);
//       checks that csb and both finds report the same paths count, and
//       prints the medians of wall time and of CPU time (user + sys, the
//       figure to trust on a busy machine) and the ratios of find's medians
//       to csb's.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchstat.h"
#include "csb_paths.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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

/* Expands once; prints the matches when `print` is set. */
static void expand_once(const csb_glob *g, int threads, int max_depth, int print,
                        size_t *count, const char *cache, int stats) {
  csb_glob_expand_opts o;
  csb_glob_expand_stats st;
  memset(&o, 0, sizeof o);
  o.max_depth = max_depth;
  o.max_matches = 1000000;
  o.threads = threads;
  o.cache_dir = cache;
  o.stats = &st;
  csb_strv v;
  csb_strv_init(&v);
  csb_error err;
  if (!csb_glob_expand_ex(g, &o, &v, &err)) {
    fprintf(stderr, "bench_glob: %s\n", err.msg);
    exit(1);
  }
  if (print)
    for (size_t i = 0; i < v.len; i++) puts(v.items[i]);
  if (stats)
    fprintf(stderr, "directories read %zu, reused %zu; cache %s, %s\n", st.dirs_read,
            st.dirs_reused, st.cache_loaded ? "loaded" : "not loaded",
            st.cache_stored ? "stored" : "not stored");
  *count = v.len;
  csb_strv_free(&v);
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
  int runs = 10, threads = 0, max_depth = CSB_GLOB_DEPTH_UNLIMITED, print = 0, stats = 0,
      i = 0;
  const char *cache = NULL;
  for (; i < argc - 1; i++) {
    if (strcmp(argv[i], "--print") == 0) {
      print = 1;
      continue;
    }
    if (strcmp(argv[i], "--stats") == 0) {
      stats = 1;
      continue;
    }
    if (i + 1 >= argc - 1) break;
    if (strcmp(argv[i], "--runs") == 0)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--max-depth") == 0)
      max_depth = atoi(argv[++i]);
    else if (strcmp(argv[i], "--cache") == 0)
      cache = argv[++i];
    else
      break;
  }
  if (i != argc - 1) {
    fprintf(stderr, "usage: bench_glob expand [--runs N] [--threads T] [--max-depth D] "
                    "[--cache DIR] [--stats] [--print] PATTERN\n");
    return 2;
  }
  csb_glob *g = compile_or_die(argv[i]);
  size_t count = 0;
  if (runs <= 0) {
    expand_once(g, threads, max_depth, print, &count, cache, stats);
    csb_glob_free(g);
    return 0;
  }
  double *t = calloc((size_t)runs, sizeof *t);
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms();
    expand_once(g, threads, max_depth, 0, &count, cache, stats);
    t[r] = now_ms() - t0;
    printf("run %2d: %8.2f ms\n", r + 1, t[r]);
  }
  printf("matches: %zu\nmedian:  %8.2f ms over %d runs\n", count, bench_median(t, runs), runs);
  free(t);
  csb_glob_free(g);
  return 0;
}

/* ---- listing floor --------------------------------------------------------- */

/* Names of subdirectories, NUL-separated. */
typedef struct namelist {
  char *data;
  size_t len, cap;
} namelist;

/* Counts an entry of directory `fd` and keeps it in *subdirs when it is a
 * directory (d_type, or fstatat for DT_UNKNOWN). */
static void floor_entry(int fd, const char *name, unsigned char type, namelist *subdirs,
                        size_t *seen) {
  (*seen)++;
  if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) return;
  if (type == DT_UNKNOWN) {
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      type = DT_DIR;
  }
  if (type != DT_DIR) return;
  size_t k = strlen(name) + 1;
  if (subdirs->len + k > subdirs->cap) {
    subdirs->cap = (subdirs->len + k) * 2;
    subdirs->data = realloc(subdirs->data, subdirs->cap);
    if (!subdirs->data) die("realloc");
  }
  memcpy(subdirs->data + subdirs->len, name, k);
  subdirs->len += k;
}

#if defined(__linux__)
struct floor_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static void floor_list(int fd, char *buf, size_t bufsize, namelist *subdirs, size_t *seen) {
  long n;
  while ((n = syscall(SYS_getdents64, fd, buf, bufsize)) > 0) {
    for (long pos = 0; pos < n;) {
      struct floor_dirent64 *de = (struct floor_dirent64 *)(void *)(buf + pos);
      pos += de->d_reclen;
      floor_entry(fd, de->d_name, de->d_type, subdirs, seen);
    }
  }
}
#else
static void floor_list(int fd, char *buf, size_t bufsize, namelist *subdirs, size_t *seen) {
  (void)buf;
  (void)bufsize;
  DIR *dir = fdopendir(dup(fd));
  if (!dir) return;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) floor_entry(fd, de->d_name, de->d_type, subdirs, seen);
  closedir(dir);
}
#endif

/* Lists every directory below `fd` (which it closes) the cheapest way the
 * kernel offers: one openat per directory, getdents64 into a large buffer
 * until it returns 0, d_type for the entry types, close. Matches nothing
 * and builds no paths: the cost of reading the tree that any expansion of
 * a "**" glob pays. Returns the number of entries seen. */
static size_t floor_walk(int fd, char *buf, size_t bufsize) {
  size_t seen = 0;
  namelist subdirs = {NULL, 0, 0};
  floor_list(fd, buf, bufsize, &subdirs, &seen);
  for (size_t off = 0; off < subdirs.len; off += strlen(subdirs.data + off) + 1) {
    int sub = openat(fd, subdirs.data + off, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (sub >= 0) seen += floor_walk(sub, buf, bufsize);
  }
  free(subdirs.data);
  close(fd);
  return seen;
}

static size_t floor_once(const char *root) {
  static const size_t bufsize = 64 * 1024;
  char *buf = malloc(bufsize);
  if (!buf) die("malloc");
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die(root);
  size_t seen = floor_walk(fd, buf, bufsize);
  free(buf);
  return seen;
}

/* ---- compare --------------------------------------------------------------- */

typedef struct sample {
  double wall, user, sys; /* ms */
} sample;

static double tv_ms(struct timeval tv) {
  return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static void self_times(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = tv_ms(ru.ru_utime);
  *sys = tv_ms(ru.ru_stime);
}

/* Runs argv with stdout to /dev/null, or into a pipe whose lines are
 * counted into *lines when `lines` is non-NULL. */
static sample run_child(char *const argv[], size_t *lines) {
  int pipefd[2] = {-1, -1};
  if (lines && pipe(pipefd) != 0) die("pipe");
  sample sm;
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
  if (lines) {
    close(pipefd[1]);
    char buf[65536];
    ssize_t n;
    *lines = 0;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0)
      for (ssize_t i = 0; i < n; i++) *lines += buf[i] == '\n';
    close(pipefd[0]);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) die("wait4");
  sm.wall = now_ms() - t0;
  sm.user = tv_ms(ru.ru_utime);
  sm.sys = tv_ms(ru.ru_stime);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_glob: `%s` failed\n", argv[0]);
    exit(1);
  }
  return sm;
}

enum {
  V_PROC1,
  V_PROCN,
  V_INPROC1,
  V_INPROCN,
  V_FLOOR,
  V_FIND_NAME,
  V_FIND_PATH,
  V_RG,
  V_CACHE_COLD,
  V_CACHE_WARM,
  NV
};

static const char *const vnames[NV] = {
    "csb, whole process, 1 thread",      "csb, whole process, auto threads",
    "csb, in process, 1 thread",         "csb, in process, auto threads",
    "listing floor, in process",         "find ROOT -name '*.env'",
    "find ROOT -path 'ROOT/*.env'",      "rg --files --glob '**/*.env'",
    "csb, cache cold (reads, stores)",
    "csb, cache warm (nothing changed)",
};

typedef struct bench {
  const char *root;
  const csb_glob *g;
  const char *cold_cache; /* emptied before every cold run */
  char **argv[NV];        /* child variants */
} bench;

/* Removes every file of `dir` (the cold cache). */
static void empty_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) die(dir);
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.' || (de->d_name[1] && strcmp(de->d_name, "..") != 0))
      if (unlinkat(dirfd(d), de->d_name, 0) != 0) die(de->d_name);
  closedir(d);
}

/* Whether `name` is an executable file in a directory of $PATH. */
static int on_path(const char *name) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  while (*path) {
    size_t n = strcspn(path, ":");
    char *f = NULL;
    if (n > 0 && asprintf(&f, "%.*s/%s", (int)n, path, name) >= 0) {
      int ok = access(f, X_OK) == 0;
      free(f);
      if (ok) return 1;
    }
    path += n + (path[n] == ':');
  }
  return 0;
}

static sample run_variant(const bench *B, int v, size_t *count) {
  if (v == V_CACHE_COLD) empty_dir(B->cold_cache);
  if (B->argv[v]) return run_child(B->argv[v], count);
  sample sm;
  double u0, s0, u1, s1;
  self_times(&u0, &s0);
  double t0 = now_ms();
  size_t n;
  if (v == V_FLOOR)
    n = floor_once(B->root);
  else
    expand_once(B->g, v == V_INPROC1 ? 1 : 0, CSB_GLOB_DEPTH_UNLIMITED, 0, &n, NULL, 0);
  sm.wall = now_ms() - t0;
  self_times(&u1, &s1);
  sm.user = u1 - u0;
  sm.sys = s1 - s0;
  if (count) *count = n;
  return sm;
}

static double median_of(const sample *v, int n, int field) {
  double *x = malloc((size_t)n * sizeof *x);
  if (!x) die("malloc");
  for (int i = 0; i < n; i++)
    x[i] = field == 0 ? v[i].wall : field == 1 ? v[i].user + v[i].sys
                                   : field == 2 ? v[i].user : v[i].sys;
  double m = bench_median(x, n);
  free(x);
  return m;
}

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

  char *proc1_argv[] = {(char *)self, "expand", "--runs", "0", "--threads", "1",
                        "--print", pattern, NULL};
  char *procn_argv[] = {(char *)self, "expand", "--runs", "0", "--print", pattern, NULL};
  char *fname_argv[] = {"find", (char *)root, "-name", "*.env", NULL};
  char *fpath_argv[] = {"find", (char *)root, "-path", path_glob, NULL};
  char *rg_argv[] = {"rg", "--files", "--hidden", "--no-ignore", "--glob", "**/*.env", "--",
                     (char *)root, NULL};
  int have_rg = on_path("rg");
  /* Cache directories (private, as the cache requires) next to the tree. */
  char *cold = NULL, *warm = NULL, *touch = NULL, *leaf = NULL;
  if (asprintf(&cold, "%s.cache-cold", root) < 0 || asprintf(&warm, "%s.cache-warm", root) < 0 ||
      asprintf(&touch, "%s.cache-touch", root) < 0 || asprintf(&leaf, "%s/pkg0/mod0/src0/.touch", root) < 0)
    die("asprintf");
  if ((mkdir(cold, 0700) != 0 && errno != EEXIST) || (mkdir(warm, 0700) != 0 && errno != EEXIST) ||
      (mkdir(touch, 0700) != 0 && errno != EEXIST))
    die("mkdir cache");
  char *cold_argv[] = {(char *)self, "expand", "--runs", "0", "--threads", "1", "--cache", cold,
                       "--print", pattern, NULL};
  char *warm_argv[] = {(char *)self, "expand", "--runs", "0", "--threads", "1", "--cache", warm,
                       "--print", pattern, NULL};
  char *touch_argv[] = {(char *)self, "expand", "--runs", "0", "--threads", "1", "--cache", touch,
                        "--print", pattern, NULL};
  bench B;
  memset(&B, 0, sizeof B);
  B.root = root;
  B.g = g;
  B.cold_cache = cold;
  B.argv[V_PROC1] = proc1_argv;
  B.argv[V_PROCN] = procn_argv;
  B.argv[V_FIND_NAME] = fname_argv;
  B.argv[V_FIND_PATH] = fpath_argv;
  B.argv[V_RG] = have_rg ? rg_argv : NULL;
  B.argv[V_CACHE_COLD] = cold_argv;
  B.argv[V_CACHE_WARM] = warm_argv;

  /* The cache trusts a directory only once its times are more than two
   * seconds old; a tree made just now has to settle first. */
  struct stat rst;
  if (stat(root, &rst) != 0) die(root);
  struct timespec tnow;
  clock_gettime(CLOCK_REALTIME, &tnow);
  if (tnow.tv_sec - rst.st_ctim.tv_sec < 3) sleep(3);

  /* Warm-up round, which also checks that every variant agrees. */
  size_t counts[NV];
  for (int v = 0; v < NV; v++)
    if (v != V_RG || have_rg) (void)run_variant(&B, v, &counts[v]);
  for (int v = 0; v < NV; v++) {
    if (v == V_FLOOR || (v == V_RG && !have_rg) || counts[v] == counts[V_FIND_NAME]) continue;
    fprintf(stderr, "bench_glob: `%s` found %zu paths, find -name %zu\n", vnames[v],
            counts[v], counts[V_FIND_NAME]);
    return 1;
  }

  sample *sm[NV];
  for (int v = 0; v < NV; v++) {
    sm[v] = calloc((size_t)runs, sizeof(sample));
    if (!sm[v]) die("calloc");
  }
  for (int r = 0; r < runs; r++)
    for (int v = 0; v < NV; v++)
      if (v != V_RG || have_rg) sm[v][r] = run_variant(&B, v, NULL);

  double mw[NV], mc[NV];
  printf("tree: %s (%zu entries)\npattern: %s (%zu matches, every variant agrees)\n"
         "runs: %d per variant, round-robin after a warm-up round; medians\n\n",
         root, counts[V_FLOOR], pattern, counts[V_FIND_NAME], runs);
  printf("%-34s %10s %10s %10s %10s\n", "variant", "wall ms", "cpu ms", "user ms",
         "sys ms");
  for (int v = 0; v < NV; v++) {
    if (v == V_RG && !have_rg) {
      printf("%-34s %10s   (rg not on PATH)\n", vnames[v], "n/a");
      mw[v] = mc[v] = 0;
      continue;
    }
    mw[v] = median_of(sm[v], runs, 0);
    mc[v] = median_of(sm[v], runs, 1);
    printf("%-34s %10.2f %10.2f %10.2f %10.2f\n", vnames[v], mw[v], mc[v],
           median_of(sm[v], runs, 2), median_of(sm[v], runs, 3));
  }
  printf("\nspeed-up of csb over find (find's median / csb's median):\n");
  printf("  find -name / csb whole process, 1 thread:    wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / mw[V_PROC1], mc[V_FIND_NAME] / mc[V_PROC1]);
  printf("  find -path / csb whole process, 1 thread:    wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_PATH] / mw[V_PROC1], mc[V_FIND_PATH] / mc[V_PROC1]);
  printf("  find -name / csb whole process, auto threads: wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / mw[V_PROCN], mc[V_FIND_NAME] / mc[V_PROCN]);
  printf("  find -name / csb in process, 1 thread:       wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / mw[V_INPROC1], mc[V_FIND_NAME] / mc[V_INPROC1]);
  printf("  find -name / csb in process, auto threads:   wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / mw[V_INPROCN], mc[V_FIND_NAME] / mc[V_INPROCN]);
  if (have_rg)
    printf("  rg (Codex's scan) / csb whole process, 1 thread: wall %5.2fx   cpu %5.2fx\n",
           mw[V_RG] / mw[V_PROC1], mc[V_RG] / mc[V_PROC1]);
  printf("listing floor:\n");
  printf("  csb in process, 1 thread / floor:            cpu %5.2fx\n",
         mc[V_INPROC1] / mc[V_FLOOR]);
  printf("  find -name / floor (bound on any lister):    cpu %5.2fx\n",
         mc[V_FIND_NAME] / mc[V_FLOOR]);
  printf("  find -name / csb cache cold:                wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / mw[V_CACHE_COLD], mc[V_FIND_NAME] / mc[V_CACHE_COLD]);
  printf("  find -name / csb cache warm:                wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / mw[V_CACHE_WARM], mc[V_FIND_NAME] / mc[V_CACHE_WARM]);

  /* The warm cache when one leaf directory changed since the last run. */
  sample *ts = calloc((size_t)runs, sizeof(sample));
  if (!ts) die("calloc");
  size_t tcount = 0;
  (void)run_child(touch_argv, &tcount);
  for (int r = 0; r < runs; r++) {
    int fd = open(leaf, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) die(leaf);
    close(fd);
    if (unlink(leaf) != 0) die(leaf);
    ts[r] = run_child(touch_argv, r == 0 ? &tcount : NULL);
  }
  if (tcount != counts[V_FIND_NAME]) {
    fprintf(stderr, "bench_glob: the cache after a change found %zu paths, find -name %zu\n",
            tcount, counts[V_FIND_NAME]);
    return 1;
  }
  double tw = median_of(ts, runs, 0), tc = median_of(ts, runs, 1);
  printf("\nthen %d runs of the warm cache, one leaf directory changed before each run:\n"
         "%-34s %10.2f %10.2f %10.2f %10.2f\n",
         runs, "csb, cache warm, 1 dir changed", tw, tc, median_of(ts, runs, 2),
         median_of(ts, runs, 3));
  printf("  find -name (above) / csb:                    wall %5.2fx   cpu %5.2fx\n",
         mw[V_FIND_NAME] / tw, mc[V_FIND_NAME] / tc);
  free(ts);
  free(cold);
  free(warm);
  free(touch);
  free(leaf);
  for (int v = 0; v < NV; v++) free(sm[v]);
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
