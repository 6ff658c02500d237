/* release.c - the last close of removed mount targets, off our exit path.
 *
 * Removing an empty directory frees its data block when the last
 * reference to its inode goes. On a file system mounted with `discard`
 * and no journal (ext4 without one, the root of many cloud VMs) that
 * free waits for the device to discard the block: 50-60 us a target on
 * the VMs we measure on, and a workspace without its protected names has
 * four targets a run, all removed on the way from the command's exit to
 * ours.
 *
 * There, a keeper takes those last references. Started while the sandbox
 * runs (bw_release_keeper_start), it is a child of ours that shares our
 * memory (so that our writes after it started cost no copy-on-write
 * faults) but not our descriptor table: it keeps a path descriptor on each
 * target and the read end of a pipe, closes every other descriptor at
 * once (so it never holds the caller's pipes or terminal open), and
 * sleeps in read() until our end of the pipe goes, when we exit. So the
 * targets bw_registry_cleanup unlinks are gone from the file system
 * before we exit, as always, our own closes of them cost nothing, and the
 * keeper's closes, after our exit, free the blocks. It has every signal
 * blocked, makes nothing but raw system calls (it shares our errno), and
 * is reaped by whoever adopts it.
 *
 * A target the keeper does not hold (one made after it started, or when
 * it could not be started) is left to bw_release_after_exit, which forks
 * a child that takes over our descriptor on it at the end; when that
 * fails too, the closes happen here, as they did before.
 *
 * Only there (bw_release_worth_deferring_on): the keeper's descriptors keep
 * their file system busy for as long as it lives, and a caller that
 * unmounts the workspace's file system right after we exit must not get
 * EBUSY; so the file system must be the root of our mount namespace,
 * which nobody unmounts. Elsewhere (tmpfs, a journal, no `discard`) the
 * closes cost less than the keeper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#ifndef AT_HANDLE_MNT_ID_UNIQUE
#define AT_HANDLE_MNT_ID_UNIQUE 0x001
#endif

/* Whether `opt` is one of the comma-separated options list[0..n). */
static int has_option(const char *list, size_t n, const char *opt) {
  size_t ol = strlen(opt);
  const char *p = list, *end = list + n;
  while (p < end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    size_t l = c ? (size_t)(c - p) : (size_t)(end - p);
    if (l == ol && memcmp(p, opt, ol) == 0) return 1;
    p += l + 1;
  }
  return 0;
}

/* The field after the `n`th space at or after p (before le), or NULL. */
static const char *skip_fields(const char *p, const char *le, int n) {
  for (int k = 0; k < n && p; k++) {
    const char *sp = memchr(p, ' ', (size_t)(le - p));
    p = sp ? sp + 1 : NULL;
  }
  return p;
}

int bw_release_mountinfo_says_defer(const char *text, size_t len, int mount_id) {
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    /* ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER-OPTIONS */
    long id = 0;
    const char *q = p;
    for (; q < le && *q >= '0' && *q <= '9' && id <= (long)mount_id; q++) id = id * 10 + (*q - '0');
    if (q > p && q < le && *q == ' ' && id == (long)mount_id && (p[0] != '0' || q - p == 1)) {
      /* the first line of that id decides (a malformed one: no) */
      const char *mp = skip_fields(p, le, 4);
      if (!mp) return 0;
      const char *opts = skip_fields(mp, le, 1);
      const char *opts_end = opts ? memchr(opts, ' ', (size_t)(le - opts)) : NULL;
      const char *sep = NULL;
      for (const char *s = opts_end; s && s + 2 <= le && !sep; s++)
        if (s[0] == ' ' && s[1] == '-' && (s + 2 == le || s[2] == ' ')) sep = s;
      const char *super = sep ? skip_fields(sep + 1, le, 3) : NULL;
      int root = opts && opts - mp == 2 && mp[0] == '/';
      return root && ((opts_end && has_option(opts, (size_t)(opts_end - opts), "discard")) ||
                      (super && has_option(super, (size_t)(le - super), "discard")));
    }
    p = le + 1;
  }
  return 0;
}

/* The id of the mount `path` (relative to dfd) is on, as
 * name_to_handle_at(2) gives it with `flags`: the reused id of the mount
 * table, or with AT_HANDLE_MNT_ID_UNIQUE the 64-bit one (Linux 6.12),
 * written into the same room. 1, or 0 when there is none. */
static int handle_mount_id(int dfd, const char *path, int flags, uint64_t *out) {
  union {
    struct file_handle h;
    char room[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  } u;
  u.h.handle_bytes = MAX_HANDLE_SZ;
  union {
    uint64_t unique;
    int old;
  } id = {0};
  if (name_to_handle_at(dfd, path, &u.h, &id.old, flags) != 0) return 0;
  *out = (flags & AT_HANDLE_MNT_ID_UNIQUE) ? id.unique : (uint64_t)(unsigned)id.old;
  return 1;
}

/* The reused id of the mount `path` (relative to dfd) is on, or -1. */
static int mount_id_of(int dfd, const char *path, int flags) {
  uint64_t id;
  return handle_mount_id(dfd, path, flags, &id) ? (int)id : -1;
}

int bw_release_mount_id(int dfd) { return mount_id_of(dfd, "", AT_EMPTY_PATH); }

/* statmount(2) (Linux 6.8; the superblock's options 6.11), restated: C
 * libraries and kernel headers older than the call do not declare it. The
 * answer is a fixed head of 512 bytes, whose fields used here are at
 * fixed offsets, and the strings the head's offsets point into. */
typedef struct sm_request {
  uint32_t size, spare;
  uint64_t mnt_id, param;
} sm_request;
#define SM_MNT_POINT 0x10u
#define SM_MNT_OPTS 0x80u
#define SM_HEAD 512u
#define SM_AT_SIZE 0u
#define SM_AT_OPTS 4u
#define SM_AT_MASK 8u
#define SM_AT_POINT 108u

int bw_release_statmount_says_defer(const unsigned char *ans, size_t len) {
  uint32_t size, opts, point;
  uint64_t mask;
  if (len < SM_HEAD) return -1;
  memcpy(&size, ans + SM_AT_SIZE, sizeof size);
  memcpy(&opts, ans + SM_AT_OPTS, sizeof opts);
  memcpy(&mask, ans + SM_AT_MASK, sizeof mask);
  memcpy(&point, ans + SM_AT_POINT, sizeof point);
  /* (a file system without options leaves them out of the mask: the mount
   * table says) */
  if ((mask & (SM_MNT_POINT | SM_MNT_OPTS)) != (SM_MNT_POINT | SM_MNT_OPTS)) return -1;
  if (size > len || size <= SM_HEAD) return -1;
  const char *str = (const char *)ans + SM_HEAD;
  size_t n = size - SM_HEAD;
  if (point >= n || opts >= n) return -1;
  const char *pe = memchr(str + point, 0, n - point), *oe = memchr(str + opts, 0, n - opts);
  if (!pe || !oe) return -1;
  return strcmp(str + point, "/") == 0 && has_option(str + opts, (size_t)(oe - (str + opts)), "discard");
}

/* The decision through statmount(2) for the mount dfd is on: -1 when this
 * kernel cannot tell (the mount table is read then). */
static int defer_by_statmount(int dfd) {
  uint64_t id, root;
  if (!handle_mount_id(dfd, "", AT_EMPTY_PATH | AT_HANDLE_MNT_ID_UNIQUE, &id) ||
      !handle_mount_id(AT_FDCWD, "/", AT_HANDLE_MNT_ID_UNIQUE, &root))
    return -1;
  if (id != root) return 0;
  union {
    uint64_t align;
    unsigned char b[SM_HEAD + 3584];
  } ans;
  sm_request q = {sizeof q, 0, id, SM_MNT_POINT | SM_MNT_OPTS};
  if (syscall(SYS_statmount, &q, ans.b, sizeof ans.b, 0) != 0) return -1;
  return bw_release_statmount_says_defer(ans.b, sizeof ans.b);
}

int bw_release_worth_deferring_on(int dfd, int mount_id) {
  /* (the mount table is read only for the root's own mount) */
  if (mount_id < 0 || mount_id != mount_id_of(AT_FDCWD, "/", 0)) return 0;
  int yes = defer_by_statmount(dfd);
  if (yes >= 0) return yes;
  char *text = NULL;
  size_t len = 0;
  if (!csb_read_file("/proc/self/mountinfo", 16 << 20, &text, &len, NULL)) return 0;
  yes = bw_release_mountinfo_says_defer(text, len, mount_id);
  free(text);
  return yes;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int note_fd(void *ctx, int dfd, const char *name) {
  (void)dfd;
  unsigned *top = ctx;
  char *end;
  unsigned long fd = strtoul(name, &end, 10);
  if (*end == '\0' && fd < (1UL << 30) && fd + 1 > *top) *top = (unsigned)fd + 1;
  return 1;
}

/* One past our highest open descriptor (for the loop of closes a child
 * falls back to where close_range(2) fails: inherited descriptors need not
 * be low), from /proc/self/fd, else the descriptor limit. */
static unsigned fd_ceiling(void) {
  unsigned top = 0;
  if (bw_dir_each("/proc/self/fd", note_fd, &top) && top > 0) return top;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1U << 30))
    return (unsigned)rl.rlim_cur;
  return 1U << 20;
}

/* System calls made without the C library, whose errno the keeper would
 * share with us (it runs on our memory, thread pointer included). A
 * negative return is -errno. Elsewhere there is no keeper, and the C
 * library's wrapper does (for the child bw_release_after_exit forks). */
#if defined(__x86_64__)
#define KEEPER_ARCH 1
static inline long keeper_sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
#define KEEPER_ARCH 1
static inline long keeper_sys3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#else
#define KEEPER_ARCH 0
static long keeper_sys3(long n, long a, long b, long c) {
  long r = syscall(n, a, b, c);
  return r < 0 ? -errno : r;
}
#endif

/* In the child (the keeper, or the one bw_release_after_exit forks):
 * closes every descriptor but the `n` sorted ones in `keep` (those at or
 * above `ceiling`, the highest open one's successor, are not looked for
 * where close_range fails). */
__attribute__((no_sanitize("address", "undefined")))
static void close_all_but(const int *keep, size_t n, unsigned ceiling) {
  unsigned lo = 0;
  for (size_t i = 0; i <= n; i++) {
    unsigned hi = i < n ? (unsigned)keep[i] : ~0U;
    if (hi > lo && keeper_sys3(SYS_close_range, lo, hi - 1, 0) != 0)
      for (unsigned fd = lo; fd < hi && fd < ceiling; fd++) keeper_sys3(SYS_close, fd, 0, 0);
    if (i < n) lo = (unsigned)keep[i] + 1;
  }
}

void bw_release_after_exit(int *fds, size_t n) {
  int p[2] = {-1, -1};
  int *all_fds = n > 0 && pipe2(p, O_CLOEXEC) == 0 ? realloc(fds, (n + 1) * sizeof *fds) : NULL;
  if (all_fds) {
    /* the child keeps the targets and the pipe's read end */
    fds = all_fds;
    fds[n] = p[0];
    qsort(fds, n + 1, sizeof *fds, cmp_int);
    unsigned ceiling = fd_ceiling();
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    if (fork() == 0) {
      close_all_but(fds, n + 1, ceiling);
      prctl(PR_SET_NAME, "csb-bwrap-rel", 0, 0, 0);
      char c;
      while (read(p[0], &c, 1) < 0 && errno == EINTR) {}
      _exit(0);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    n++;
  }
  /* Ours first, then the pipe's write end: the child's copies are the
   * last (without a child, ours are). */
  for (size_t i = 0; i < n; i++) close(fds[i]);
  if (p[1] >= 0) close(p[1]);
  if (p[0] >= 0 && !all_fds) close(p[0]);
  free(fds);
}

/* ---- the keeper ---------------------------------------------------------- */

/* The keeper's stack, with its arguments at the bottom (written before it
 * starts, never after). */
#define KEEPER_STACK (64 * 1024)
typedef struct keeper_args {
  int pipe_r, pipe_w;
  unsigned ceiling; /* fd_ceiling() */
  size_t n;   /* descriptors kept (sorted), the pipe's read end among them */
  int fds[];
} keeper_args;

#if KEEPER_ARCH
__attribute__((no_sanitize("address", "undefined")))
static int keeper_main(void *arg) {
  const keeper_args *a = arg;
  /* our copy of the write end first: the read end must see our parent
   * go, whatever else could not be closed */
  keeper_sys3(SYS_close, a->pipe_w, 0, 0);
  close_all_but(a->fds, a->n, a->ceiling);
  static const char name[16] = "csb-bwrap-keep";
  keeper_sys3(SYS_prctl, PR_SET_NAME, (long)name, 0);
  char c;
  while (keeper_sys3(SYS_read, a->pipe_r, (long)&c, 1) == -EINTR) {
  }
  return 0; /* (the clone wrapper exits with it: its descriptors close) */
}
#endif

int bw_release_keeper_start(bw_release_keeper *k, const int *fds, size_t n) {
  memset(k, 0, sizeof k[0]);
  k->pipe_w = -1;
#if KEEPER_ARCH
  if (n == 0 || n > (KEEPER_STACK / 4) / sizeof(int)) return 0;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 0;
  void *stack = mmap(NULL, KEEPER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  k->ids = malloc(n * sizeof k->ids[0]);
  if (stack == MAP_FAILED || !k->ids) {
    if (stack != MAP_FAILED) munmap(stack, KEEPER_STACK);
    free(k->ids);
    k->ids = NULL;
    close(p[0]);
    close(p[1]);
    return 0;
  }
  keeper_args *a = stack;
  a->pipe_r = p[0];
  a->pipe_w = p[1];
  a->ceiling = fd_ceiling();
  a->n = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (fstat(fds[i], &st) != 0) continue;
    k->ids[k->n].dev = st.st_dev;
    k->ids[k->n++].ino = st.st_ino;
    a->fds[a->n++] = fds[i];
  }
  a->fds[a->n++] = p[0];
  qsort(a->fds, a->n, sizeof a->fds[0], cmp_int);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  /* exit signal 0: waitid(P_ALL) without __WALL does not see it (our look
   * for strays, launch.c); an adopter gets SIGCHLD */
  pid_t pid = clone(keeper_main, (char *)stack + KEEPER_STACK, CLONE_VM, a);
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(p[0]);
  if (pid < 0) {
    /* (its stack stays mapped: nothing else uses it) */
    close(p[1]);
    free(k->ids);
    k->ids = NULL;
    k->n = 0;
    return 0;
  }
  k->pipe_w = p[1];
  k->active = 1;
  return 1;
#else
  (void)fds;
  (void)n;
  return 0;
#endif
}

int bw_release_keeper_holds(const bw_release_keeper *k, dev_t dev, ino_t ino) {
  for (size_t i = 0; k->active && i < k->n; i++)
    if (k->ids[i].dev == dev && k->ids[i].ino == ino) return 1;
  return 0;
}

void bw_release_keeper_end(bw_release_keeper *k) {
  if (!k->active) return;
  close(k->pipe_w);
  k->pipe_w = -1;
  free(k->ids);
  k->ids = NULL;
  k->n = 0;
  k->active = 0;
}
