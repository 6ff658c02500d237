/* dirlist.c - listing a directory without allocating.
 *
 * opendir(3) allocates a buffer per directory, and musl's allocator returns
 * it to the kernel on closedir: an mmap and an munmap per listing, which
 * cost more than the listing itself in a launcher that lists a few
 * directories per run. getdents64(2) into a buffer on the stack instead. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"

struct dirent64_raw {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

int bw_dir_each(const char *dir, int (*fn)(void *ctx, int dfd, const char *name), void *ctx) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  _Alignas(8) char buf[4096];
  for (int more = 1; more;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; more && off + (long)sizeof(struct dirent64_raw) <= n;) {
      const struct dirent64_raw *d = (const struct dirent64_raw *)(const void *)(buf + off);
      if (d->reclen == 0) {
        more = 0;
        break;
      }
      if (strcmp(d->name, ".") && strcmp(d->name, "..")) more = fn(ctx, fd, d->name);
      off += d->reclen;
    }
  }
  close(fd);
  return 1;
}
