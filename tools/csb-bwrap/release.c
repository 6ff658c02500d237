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
 * There, bw_registry_cleanup unlinks the targets (they are gone from the
 * file system before we exit, as always) and keeps a descriptor on each.
 * Here a child of ours takes over those last references: it closes every
 * other descriptor at once (so it never holds the caller's pipes or
 * terminal open), waits until we have closed our copies, and exits; its
 * exit frees the blocks. It has every signal blocked, runs nothing but
 * system calls after the fork, and is reaped by whoever adopts it. When
 * it cannot be made, the closes happen here, as they did before.
 *
 * Only there (bw_release_worth_deferring_on): the child's descriptors keep
 * their file system busy for as long as it lives, and a caller that
 * unmounts the workspace's file system right after we exit must not get
 * EBUSY; so the file system must be the root of our mount namespace,
 * which nobody unmounts. Elsewhere (tmpfs, a journal, no `discard`) the
 * closes cost less than the fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"

#ifndef SYS_close_range
#define SYS_close_range 436
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

/* The id of the mount `path` (relative to dfd) is on, or -1. */
static int mount_id_of(int dfd, const char *path, int flags) {
  union {
    struct file_handle h;
    char room[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  } u;
  u.h.handle_bytes = MAX_HANDLE_SZ;
  int id;
  return name_to_handle_at(dfd, path, &u.h, &id, flags) == 0 ? id : -1;
}

int bw_release_mount_id(int dfd) { return mount_id_of(dfd, "", AT_EMPTY_PATH); }

int bw_release_worth_deferring_on(int mount_id) {
  /* (the mount table is read only for the root's own mount) */
  if (mount_id < 0 || mount_id != mount_id_of(AT_FDCWD, "/", 0)) return 0;
  char *text = NULL;
  size_t len = 0;
  if (!csb_read_file("/proc/self/mountinfo", 16 << 20, &text, &len, NULL)) return 0;
  int yes = bw_release_mountinfo_says_defer(text, len, mount_id);
  free(text);
  return yes;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* In the child: closes every descriptor but the `n` sorted ones in
 * `keep`. */
static void close_all_but(const int *keep, size_t n) {
  unsigned lo = 0;
  for (size_t i = 0; i <= n; i++) {
    unsigned hi = i < n ? (unsigned)keep[i] : ~0U;
    if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) != 0)
      for (unsigned fd = lo; fd < hi && fd < 4096; fd++) close((int)fd);
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
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    if (fork() == 0) {
      close_all_but(fds, n + 1);
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
