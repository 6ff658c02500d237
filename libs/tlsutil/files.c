/* files.c - atomic create-new files, directories and persisted bundles. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csb_tlsutil.h"
#include "tls_internal.h"

int csb_tls_mkdirs(const char *dir, unsigned mode, csb_error *err) {
  char *p = csb_xstrdup(dir);
  for (char *q = p + 1;; q++) {
    if (*q == '/' || *q == '\0') {
      char c = *q;
      *q = '\0';
      if (mkdir(p, mode) != 0 && errno != EEXIST) {
        int e = errno;
        csb_error_set(err, "cannot create directory %s: %s", p, strerror(e));
        free(p);
        return 0;
      }
      *q = c;
      if (c == '\0') break;
    }
  }
  struct stat st;
  if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
    csb_error_set(err, "%s is not a directory", p);
    free(p);
    return 0;
  }
  free(p);
  return 1;
}

static void fsync_dir_of(const char *path) {
  char *copy = csb_xstrdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

int csb_tls_write_new_file(const char *path, const void *data, size_t len, unsigned mode, csb_error *err) {
  char *copy = csb_xstrdup(path);
  char *base = basename(copy);
  char *dcopy = csb_xstrdup(path);
  char *dir = dirname(dcopy);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char *tmp = csb_xasprintf("%s/.%s.tmp.%ld.%ld%09ld", dir, base, (long)getpid(), (long)ts.tv_sec, ts.tv_nsec);
  free(copy);
  free(dcopy);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    csb_error_set(err, "cannot create %s: %s", tmp, strerror(errno));
    free(tmp);
    return 0;
  }
  if (fchmod(fd, mode) != 0 || !csb_write_all(fd, data, len) || fsync(fd) != 0) {
    csb_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return 0;
  }
  close(fd);
  if (link(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    free(tmp);
    if (e == EEXIST) return csb_error_set(err, "refusing to overwrite existing file %s", path);
    if (e != EPERM && e != ENOTSUP && e != EOPNOTSUPP) return csb_error_set(err, "cannot create %s: %s", path, strerror(e));
    /* no hard links on this file system: rename, but only if still absent */
    struct stat st;
    if (lstat(path, &st) == 0) return csb_error_set(err, "refusing to overwrite existing file %s", path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
      if (errno == EEXIST) return csb_error_set(err, "refusing to overwrite existing file %s", path);
      return csb_error_set(err, "cannot create %s: %s", path, strerror(errno));
    }
    if (fchmod(fd, mode) != 0 || !csb_write_all(fd, data, len) || fsync(fd) != 0) {
      csb_error_set(err, "cannot write %s: %s", path, strerror(errno));
      close(fd);
      unlink(path);
      return 0;
    }
    close(fd);
    fsync_dir_of(path);
    return 1;
  }
  unlink(tmp);
  free(tmp);
  fsync_dir_of(path);
  return 1;
}

int csb_tls_i_read_nofollow(const char *path, size_t max, char **out, size_t *len, struct stat *st) {
  struct stat lst;
  if (lstat(path, &lst) != 0) return errno == ENOENT ? -1 : 0;
  if (S_ISLNK(lst.st_mode) || !S_ISREG(lst.st_mode)) {
    errno = S_ISLNK(lst.st_mode) ? ELOOP : EINVAL;
    return 0;
  }
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  if (fstat(fd, st) != 0 || st->st_dev != lst.st_dev || st->st_ino != lst.st_ino) {
    close(fd);
    errno = ESTALE;
    return 0;
  }
  csb_error e;
  int ok = csb_read_fd(fd, path, max, out, len, &e);
  int saved = errno;
  close(fd);
  errno = saved;
  return ok ? 1 : 0;
}

/* An existing bundle is handed to the child as immutable: nobody else may
 * be able to change it after it was compared. 1 when reusable. */
static int reusable(const char *path, const struct stat *st, csb_error *err) {
  if (st->st_uid != geteuid())
    return csb_error_set(err, "refusing to reuse %s: owned by uid %u, not by the user running csb-proxy (uid %u); "
                              "remove it", path, (unsigned)st->st_uid, (unsigned)geteuid());
  if (st->st_mode & 022)
    return csb_error_set(err, "refusing to reuse %s: group/world writable (mode=%03o; expected 644); remove it", path,
                         (unsigned)(st->st_mode & 0777));
  return 1;
}

int csb_tls_persist_bundle(const char *dir, const char *pem, size_t len, char **path_out, csb_error *err) {
  char hex[65];
  csb_sha256_hex(pem, len, hex);
  char *path = csb_xasprintf("%s/ca-bundle-%s.pem", dir, hex);
  char *old = NULL;
  size_t old_len = 0;
  struct stat st;
  int r = csb_tls_i_read_nofollow(path, 64u << 20, &old, &old_len, &st);
  int sym = r == 0 && errno == ELOOP;
  if (r == 1) {
    int same = old_len == len && memcmp(old, pem, len) == 0;
    free(old);
    if (!same) {
      csb_error_set(err, "refusing to reuse existing mismatched file %s", path);
      free(path);
      return 0;
    }
    if (!reusable(path, &st, err)) {
      free(path);
      return 0;
    }
    *path_out = path;
    return 1;
  }
  if (sym) {
    csb_error_set(err, "refusing to reuse symlink %s", path);
    free(path);
    return 0;
  }
  if (r == 0) {
    csb_error_set(err, "cannot read %s", path);
    free(path);
    return 0;
  }
  if (!csb_tls_write_new_file(path, pem, len, 0644, err)) {
    /* a concurrent writer may have won: reuse if identical */
    r = csb_tls_i_read_nofollow(path, 64u << 20, &old, &old_len, &st);
    if (r == 1 && old_len == len && memcmp(old, pem, len) == 0 && reusable(path, &st, err)) {
      free(old);
      *path_out = path;
      return 1;
    }
    free(old);
    free(path);
    return 0;
  }
  *path_out = path;
  return 1;
}

int csb_tls_is_managed_bundle(const char *dir, const char *ca_pem, size_t ca_len, const char *path) {
  size_t dl = strlen(dir);
  if (strncmp(path, dir, dl) != 0 || path[dl] != '/') return 0;
  const char *name = path + dl + 1;
  if (strchr(name, '/')) return 0;
  size_t nl = strlen(name);
  if (nl != strlen("ca-bundle-") + 64 + 4 || strncmp(name, "ca-bundle-", 10) != 0 ||
      strcmp(name + nl - 4, ".pem") != 0)
    return 0;
  char *data = NULL;
  size_t len = 0;
  struct stat st;
  if (csb_tls_i_read_nofollow(path, 64u << 20, &data, &len, &st) != 1) return 0;
  char hex[65];
  csb_sha256_hex(data, len, hex);
  int ok = strncmp(name + 10, hex, 64) == 0 && ca_len > 0 && memmem(data, len, ca_pem, ca_len) != NULL;
  free(data);
  return ok;
}
