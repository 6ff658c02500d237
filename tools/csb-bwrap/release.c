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
 * bw_registry_cleanup unlinks the targets (they are gone from the file
 * system before we exit, as always) and keeps a descriptor on each. Here
 * a child of ours takes over those last references: it closes every
 * other descriptor at once (so it never holds the caller's pipes or
 * terminal open), waits until we have closed our copies, and exits; its
 * exit frees the blocks. It has every signal blocked, runs nothing but
 * system calls after the fork, and is reaped by whoever adopts it. When
 * it cannot be made, the closes happen here, as they did before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

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
