/* fsys.h - the file system calls of libs/patch (private).
 *
 * POSIX builds call the POSIX functions themselves (these wrappers are
 * inline). Windows builds (mingw-w64) get their Win32 counterparts from
 * fsys_win.c, with the same contract: UTF-8 paths, the POSIX return value,
 * errno set on failure (csb_os_errno for Win32 errors). Where Windows
 * differs:
 *
 *  - every file is opened sharing read, write and delete, so that a file
 *    held open (the journal) can still be renamed or removed;
 *  - O_NOFOLLOW refuses a reparse point (junction, symlink) with ELOOP, and
 *    opening a directory fails with EISDIR;
 *  - pfs_rename replaces an existing target (MoveFileExW with
 *    MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
 *  - pfs_fsync is FlushFileBuffers; directories are not synced
 *    (PFS_DIR_SYNC 0: NTFS logs its metadata, and renames are written
 *    through), and there is no syncfs (every file is synced on its own);
 *  - pfs_lock takes an exclusive LockFileEx lock on a byte far beyond the
 *    data (released when the process ends, like flock);
 *  - journal pointers are small regular files holding the journal's path
 *    (POSIX: symlinks to it);
 *  - there are no POSIX modes or owners: regular files are 0666, read-only
 *    ones 0444, and pfs_fchmod / pfs_fchown do nothing;
 *  - st_size (a 32-bit off_t) is clamped to INT32_MAX, above every limit
 *    of libs/patch.
 */
#ifndef CSB_PATCH_FSYS_H
#define CSB_PATCH_FSYS_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "csb_base.h"
#include "csb_paths.h"

#if defined(_WIN32)

#include <io.h>
#include <unistd.h>

#define PFS_STYLE CSB_PATH_WINDOWS
#define PFS_SEP '\\'
#define PFS_SEP_STR "\\"

#ifndef O_PATH
#define O_PATH 0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif
/* Directories are not synced, and there is no syncfs. */
#define PFS_DIR_SYNC 0
#ifndef S_IFLNK
#define S_IFLNK 0xA000
#endif
#ifndef S_ISLNK
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#endif
#ifndef S_ISUID
#define S_ISUID 04000
#endif
#ifndef S_ISGID
#define S_ISGID 02000
#endif
#ifndef S_IXGRP
#define S_IXGRP 00010
#endif

typedef int uid_t;
typedef int gid_t;

int csb_patch_i_fs_stat(const char *path, int follow, struct stat *st);
int csb_patch_i_fs_fstat(int fd, struct stat *st);
int csb_patch_i_fs_open(const char *path, int flags, int mode);
int csb_patch_i_fs_fsync(int fd);
int csb_patch_i_fs_rename(const char *from, const char *to);
int csb_patch_i_fs_unlink(const char *path);
int csb_patch_i_fs_mkdir(const char *path);
int csb_patch_i_fs_rmdir(const char *path);
int csb_patch_i_fs_lock(int fd, int nonblock);
int csb_patch_i_fs_pointer_make(const char *journal, const char *pointer);
ssize_t csb_patch_i_fs_pointer_read(const char *pointer, char *buf, size_t n);
int csb_patch_i_fs_list(const char *dir, csb_strv *names);
void csb_patch_i_fs_random(unsigned char *buf, size_t n);
unsigned long csb_patch_i_fs_pid(void);

static inline int pfs_lstat(const char *p, struct stat *st) { return csb_patch_i_fs_stat(p, 0, st); }
static inline int pfs_stat(const char *p, struct stat *st) { return csb_patch_i_fs_stat(p, 1, st); }
static inline int pfs_fstat(int fd, struct stat *st) { return csb_patch_i_fs_fstat(fd, st); }
static inline int pfs_open(const char *p, int flags, int mode) {
  return csb_patch_i_fs_open(p, flags, mode);
}
static inline int pfs_fsync(int fd) { return csb_patch_i_fs_fsync(fd); }
static inline int pfs_fdatasync(int fd) { return csb_patch_i_fs_fsync(fd); }
static inline int pfs_syncfs(int fd) {
  (void)fd;
  return 0;
}
static inline int pfs_rename(const char *a, const char *b) { return csb_patch_i_fs_rename(a, b); }
static inline int pfs_unlink(const char *p) { return csb_patch_i_fs_unlink(p); }
static inline int pfs_mkdir(const char *p, mode_t m) {
  (void)m;
  return csb_patch_i_fs_mkdir(p);
}
static inline int pfs_rmdir(const char *p) { return csb_patch_i_fs_rmdir(p); }
static inline int pfs_lock(int fd) { return csb_patch_i_fs_lock(fd, 0); }
static inline int pfs_trylock(int fd) { return csb_patch_i_fs_lock(fd, 1); }
static inline int pfs_pointer_make(const char *journal, const char *pointer) {
  return csb_patch_i_fs_pointer_make(journal, pointer);
}
static inline ssize_t pfs_pointer_read(const char *pointer, char *buf, size_t n) {
  return csb_patch_i_fs_pointer_read(pointer, buf, n);
}
static inline int pfs_fchmod(int fd, mode_t m) {
  (void)fd;
  (void)m;
  return 0;
}
static inline int pfs_fchown(int fd, uid_t u, gid_t g) {
  (void)fd;
  (void)u;
  (void)g;
  return 0;
}
static inline int pfs_list(const char *dir, csb_strv *names) { return csb_patch_i_fs_list(dir, names); }
static inline void pfs_random(unsigned char *buf, size_t n) { csb_patch_i_fs_random(buf, n); }
static inline unsigned long pfs_pid(void) { return csb_patch_i_fs_pid(); }
/* No symlinks are read or made (reparse points are followed by
 * canonicalisation instead, and never restored). */
static inline ssize_t pfs_readlink(const char *p, char *buf, size_t n) {
  (void)p;
  (void)buf;
  (void)n;
  errno = EPERM;
  return -1;
}
static inline int pfs_symlink(const char *target, const char *link) {
  (void)target;
  (void)link;
  errno = EPERM;
  return -1;
}
struct iovec {
  void *iov_base;
  size_t iov_len;
};
/* A partial writev(2): the first non-empty buffer. */
static inline ssize_t pfs_writev(int fd, const struct iovec *v, int n) {
  for (int i = 0; i < n; i++) {
    if (v[i].iov_len == 0) continue;
    unsigned len = v[i].iov_len > (1u << 30) ? (1u << 30) : (unsigned)v[i].iov_len;
    return write(fd, v[i].iov_base, len);
  }
  return 0;
}
/* The deepest existing ancestor canonicalised (every reparse point
 * resolved), the missing rest appended. */
static inline int pfs_canonical_existing_prefix(const char *p, char **out, csb_error *err) {
  return csb_winpath_effective(p, out, err);
}
/* Pointers are regular files. */
#define PFS_POINTER_IS_LINK 0
#ifndef ESTALE
#define ESTALE EIO
#endif
/* No extended attributes or POSIX ACLs are carried (see the POSIX side). */
#define PFS_HAS_ATTRS 0
/* Files have no POSIX modes to restore. */
#define PFS_HAS_MODES 0
/* Not needed: replacing a file does not free it inside the rename. */
#define PFS_HOLD_REPLACED 0
/* Ends the process at once, as a crash would (fault injection). */
void csb_patch_i_fs_kill_self(void) CSB_NORETURN;
static inline void pfs_kill_self(void) { csb_patch_i_fs_kill_self(); }
static inline int pfs_is_root(void) { return 0; }
/* No set-user-ID or set-group-ID bits to clear. */
static inline int pfs_keeps_setid(void) { return 1; }
/* Not asked: replacing a read-only file fails at its rename, which rolls
 * the patch back. */
static inline int pfs_can_write(const char *p) {
  (void)p;
  return 1;
}
static inline int pfs_can_modify_dir(const char *p) {
  (void)p;
  return 1;
}
static inline mode_t pfs_default_mode(void) { return (mode_t)(S_IFREG | 0666); }

/* Directories are not pinned (no *at calls): the _in calls below use the
 * full path, as before; PFS_PINNED stands for a pinned directory. */
#define PFS_PINNED 0x7fffffff
static inline int pfs_dir_pin(const char *dir) {
  (void)dir;
  return PFS_PINNED;
}
static inline int pfs_dir_pin_in(int dfd, const char *path, const char *name) {
  (void)dfd;
  (void)path;
  (void)name;
  return PFS_PINNED;
}
static inline void pfs_dir_unpin(int dfd) { (void)dfd; }
static inline int pfs_open_in(int dfd, const char *path, const char *name, int flags, int mode) {
  (void)dfd;
  (void)name;
  return pfs_open(path, flags, mode);
}
static inline int pfs_rename_in(int dfd, const char *from, const char *from_name, const char *to,
                                const char *to_name) {
  (void)dfd;
  (void)from_name;
  (void)to_name;
  return pfs_rename(from, to);
}
static inline int pfs_unlink_in(int dfd, const char *path, const char *name) {
  (void)dfd;
  (void)name;
  return pfs_unlink(path);
}
static inline int pfs_mkdir_in(int dfd, const char *path, const char *name) {
  (void)dfd;
  (void)name;
  return pfs_mkdir(path, 0777);
}
static inline int pfs_pointer_make_in(const char *journal, int dfd, const char *pointer,
                                      const char *name) {
  (void)dfd;
  (void)name;
  return pfs_pointer_make(journal, pointer);
}
static inline int pfs_symlink_in(const char *target, int dfd, const char *link, const char *name) {
  (void)dfd;
  (void)name;
  return pfs_symlink(target, link);
}
static inline int pfs_rmdir_in(int dfd, const char *path, const char *name) {
  (void)dfd;
  (void)name;
  return pfs_rmdir(path);
}
/* A pinned directory opened for reading (to sync it). */
static inline int pfs_dir_open_pinned(int dfd, const char *path) {
  (void)dfd;
  return pfs_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}
static inline int pfs_lstat_in(int dfd, const char *path, const char *name, struct stat *st) {
  (void)dfd;
  (void)name;
  return pfs_lstat(path, st);
}

#else /* POSIX */

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/uio.h>
#if defined(__linux__)
#include <linux/capability.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#endif
#include <time.h>
#include <unistd.h>

#define PFS_STYLE CSB_PATH_POSIX
#define PFS_SEP '/'
#define PFS_SEP_STR "/"

/* Files are opened with openat(AT_FDCWD, ...): some C libraries follow
 * open(..., O_CLOEXEC) with an fcntl() call of their own, one more system
 * call per file. */
static inline int pfs_lstat(const char *p, struct stat *st) { return lstat(p, st); }
static inline int pfs_stat(const char *p, struct stat *st) { return stat(p, st); }
static inline int pfs_fstat(int fd, struct stat *st) { return fstat(fd, st); }
static inline int pfs_open(const char *p, int flags, int mode) {
  return openat(AT_FDCWD, p, flags, mode);
}
static inline int pfs_fsync(int fd) { return fsync(fd); }
static inline int pfs_fdatasync(int fd) { return fdatasync(fd); }
static inline int pfs_syncfs(int fd) { return syncfs(fd); }
#define PFS_DIR_SYNC 1
static inline int pfs_rename(const char *a, const char *b) { return rename(a, b); }
static inline int pfs_unlink(const char *p) { return unlink(p); }
static inline int pfs_mkdir(const char *p, mode_t m) { return mkdir(p, m); }
static inline int pfs_rmdir(const char *p) { return rmdir(p); }
static inline int pfs_lock(int fd) { return flock(fd, LOCK_EX); }
static inline int pfs_trylock(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }
/* A pointer is a symlink to the journal. */
#define PFS_POINTER_IS_LINK 1
static inline int pfs_pointer_make(const char *journal, const char *pointer) {
  return symlink(journal, pointer);
}
static inline ssize_t pfs_pointer_read(const char *pointer, char *buf, size_t n) {
  struct stat st;
  if (lstat(pointer, &st) != 0) return -1;
  if (!S_ISLNK(st.st_mode)) {
    errno = EINVAL;
    return -1;
  }
  return readlink(pointer, buf, n);
}
#define PFS_HAS_MODES 1
static inline int pfs_fchmod(int fd, mode_t m) { return fchmod(fd, m); }
static inline int pfs_fchown(int fd, uid_t u, gid_t g) { return fchown(fd, u, g); }

/* The attributes a file's replacement carries over (Linux): the user.*
 * extended attributes and the POSIX ACLs (system.posix_acl_access and
 * _default). Never security.* (file capabilities, security labels) or
 * trusted.*. Kept as NAME NUL, a 4-byte length, the value. */
static inline int pfs_attr_carried(const char *name) {
  return strncmp(name, "user.", 5) == 0 || strcmp(name, "system.posix_acl_access") == 0 ||
         strcmp(name, "system.posix_acl_default") == 0;
}
#if defined(__linux__)
#define PFS_HAS_ATTRS 1
/* Appends fd's carried attributes to out: 0 with errno on failure (a file
 * system without extended attributes has none). */
static inline int pfs_attrs_get(int fd, csb_buf *out) {
  char *names = NULL, *val = NULL;
  int ok = 0;
  for (int tries = 0; tries < 4 && !ok; tries++) {
    ssize_t n = flistxattr(fd, NULL, 0);
    if (n < 0) return errno == ENOTSUP;
    free(names);
    names = csb_xmalloc((size_t)n + 1);
    ssize_t got = flistxattr(fd, names, (size_t)n + 1);
    if (got < 0 && errno != ERANGE) break;
    if (got < 0) continue; /* grew meanwhile */
    ok = 1;
    for (ssize_t i = 0; i < got && ok; i += (ssize_t)strlen(names + i) + 1) {
      const char *name = names + i;
      if (!pfs_attr_carried(name)) continue;
      ssize_t vn = fgetxattr(fd, name, NULL, 0);
      if (vn < 0 && errno == ENODATA) continue; /* removed meanwhile */
      free(val);
      val = vn >= 0 ? csb_xmalloc((size_t)vn + 1) : NULL;
      ssize_t vgot = val ? fgetxattr(fd, name, val, (size_t)vn + 1) : -1;
      if (vgot < 0 || vgot > (ssize_t)UINT32_MAX) {
        ok = 0;
        break;
      }
      uint32_t len = (uint32_t)vgot;
      csb_buf_append(out, name, strlen(name) + 1);
      csb_buf_append(out, (const char *)&len, sizeof(len));
      csb_buf_append(out, val, (size_t)vgot);
    }
    if (!ok) break;
  }
  free(names);
  free(val);
  return ok;
}
/* Sets the attributes pfs_attrs_get kept (p[0..n)) on fd: 0 with errno
 * when one is refused (a file system without them, ENOTSUP). */
static inline int pfs_attrs_set(int fd, const char *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    const char *name = p + off;
    off += strlen(name) + 1;
    uint32_t len;
    memcpy(&len, p + off, sizeof(len));
    off += sizeof(len);
    if (fsetxattr(fd, name, p + off, len, 0) != 0) return 0;
    off += len;
  }
  return 1;
}
/* A file's capabilities (security.capability) as stored, appended to out
 * (none: nothing): never carried to a replacement (the kernel drops them
 * when a file is written), but given back to the file a rollback
 * restores. 0 with errno when they cannot be read. */
static inline int pfs_fcaps_get(int fd, csb_buf *out) {
  char v[64]; /* struct vfs_ns_cap_data: 24 bytes */
  ssize_t n = fgetxattr(fd, "security.capability", v, sizeof(v));
  if (n < 0) return errno == ENODATA || errno == ENOTSUP;
  csb_buf_append(out, v, (size_t)n);
  return 1;
}
/* Sets what pfs_fcaps_get read (after the owner and the mode, as a
 * change of owner clears them): 0 with errno (EPERM without CAP_SETFCAP). */
static inline int pfs_fcaps_set(int fd, const char *p, size_t n) {
  return fsetxattr(fd, "security.capability", p, n, 0) == 0;
}
/* Whether CAP_FSETID is in the effective set: the kernel then keeps the
 * set-user-ID and set-group-ID bits of a file the process writes. */
static inline int pfs_keeps_setid(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
  memset(d, 0, sizeof(d));
  if (syscall(SYS_capget, &h, d) != 0) return 0;
  return (d[CAP_TO_INDEX(CAP_FSETID)].effective & CAP_TO_MASK(CAP_FSETID)) != 0;
}
#else
#define PFS_HAS_ATTRS 0
/* The writer that keeps those bits (see above) is root. */
static inline int pfs_keeps_setid(void) { return geteuid() == 0; }
#endif
static inline int pfs_list(const char *dir, csb_strv *names) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) csb_strv_push(names, de->d_name);
  closedir(d);
  return 1;
}
/* Random bytes for transaction names: getrandom(2), which needs no
 * descriptor and no /dev (a chroot, a minimal container); /dev/urandom on
 * kernels without it; the clock when both fail (the names are then
 * guessable, which costs a collision's clean failure, never a file: every
 * artifact is created O_EXCL | O_NOFOLLOW). */
static inline void pfs_random(unsigned char *buf, size_t n) {
#if defined(__linux__)
  if (getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n) return;
#endif
  int fd = openat(AT_FDCWD, "/dev/urandom", O_RDONLY | O_CLOEXEC);
  int got = 0;
  if (fd >= 0) {
    got = read(fd, buf, n) == (ssize_t)n;
    close(fd);
  }
  if (!got) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)buf;
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(v >> (8 * (i % 8)));
  }
}
static inline unsigned long pfs_pid(void) { return (unsigned long)getpid(); }
static inline ssize_t pfs_readlink(const char *p, char *buf, size_t n) { return readlink(p, buf, n); }
static inline int pfs_symlink(const char *target, const char *link) { return symlink(target, link); }
static inline ssize_t pfs_writev(int fd, const struct iovec *v, int n) { return writev(fd, v, n); }
static inline int pfs_canonical_existing_prefix(const char *p, char **out, csb_error *err) {
  return csb_path_canonical_existing_prefix(p, out, err);
}
/* The file a rename replaces is held open across it (see commit.c). */
#define PFS_HOLD_REPLACED 1

/* The directory dir[0..len) pinned for the _in calls below, reached from
 * "/" without following a symlink in any component (each is opened
 * O_NOFOLLOW), so that what commit.c creates, renames and unlinks lands in
 * the directory the plan checked even when a path component is swapped
 * for a symlink meanwhile. -1 with errno (ENOTDIR for a symlink) when it
 * cannot be. */
static inline int pfs_dir_pin_n(const char *dir, size_t len) {
  if (len == 0 || dir[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  int fd = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *p = dir, *end = dir + len;
  while (fd >= 0) {
    while (p < end && *p == '/') p++;
    if (p == end) return fd;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
    char name[256];
    if (n >= sizeof(name)) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    p += n;
    int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(fd);
    errno = e;
    fd = next;
  }
  return -1;
}
static inline int pfs_dir_pin(const char *dir) { return pfs_dir_pin_n(dir, strlen(dir)); }
/* A directory just created in the pinned directory dfd. */
static inline int pfs_dir_pin_in(int dfd, const char *path, const char *name) {
  (void)path;
  return openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}
static inline void pfs_dir_unpin(int dfd) {
  if (dfd >= 0) close(dfd);
}
/* `name` in the pinned directory dfd (`path` is its full path, which
 * Windows builds use instead). */
static inline int pfs_open_in(int dfd, const char *path, const char *name, int flags, int mode) {
  (void)path;
  return openat(dfd, name, flags, mode);
}
static inline int pfs_rename_in(int dfd, const char *from, const char *from_name, const char *to,
                                const char *to_name) {
  (void)from;
  (void)to;
  return renameat(dfd, from_name, dfd, to_name);
}
static inline int pfs_unlink_in(int dfd, const char *path, const char *name) {
  (void)path;
  return unlinkat(dfd, name, 0);
}
static inline int pfs_mkdir_in(int dfd, const char *path, const char *name) {
  (void)path;
  return mkdirat(dfd, name, 0777);
}
static inline int pfs_pointer_make_in(const char *journal, int dfd, const char *pointer,
                                      const char *name) {
  (void)pointer;
  return symlinkat(journal, dfd, name);
}
static inline int pfs_symlink_in(const char *target, int dfd, const char *link, const char *name) {
  (void)link;
  return symlinkat(target, dfd, name);
}
static inline int pfs_rmdir_in(int dfd, const char *path, const char *name) {
  (void)path;
  return unlinkat(dfd, name, AT_REMOVEDIR);
}
/* A pinned directory opened for reading (to sync it). */
static inline int pfs_dir_open_pinned(int dfd, const char *path) {
  (void)path;
  return openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}
static inline int pfs_lstat_in(int dfd, const char *path, const char *name, struct stat *st) {
  (void)path;
  return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
}
/* Ends the process at once, as a crash would (fault injection). */
static inline void pfs_kill_self(void) {
  kill(getpid(), SIGKILL);
  for (;;) pause();
}
static inline int pfs_is_root(void) { return geteuid() == 0; }
/* Whether the file's permissions (with the effective IDs) let the user
 * write it. */
static inline int pfs_can_write(const char *p) { return faccessat(AT_FDCWD, p, W_OK, AT_EACCESS) == 0; }
/* Whether the directory's permissions (and its file system: EROFS) let
 * the user create and remove entries in it. */
static inline int pfs_can_modify_dir(const char *p) {
  return faccessat(AT_FDCWD, p, W_OK | X_OK, AT_EACCESS) == 0;
}
static inline mode_t pfs_default_mode(void) {
  mode_t m = umask(022);
  umask(m);
  return (mode_t)(S_IFREG | (0666 & ~m));
}

#endif

/* What tells a regular file written in place since it was read: its size
 * and, where the system keeps them (not Windows, whose counterparts fill
 * in the size only), the times of its last modification and status
 * change. */
typedef struct {
  int64_t size;
  int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
} pfs_stamp;
static inline pfs_stamp pfs_stamp_of(const struct stat *st) {
  pfs_stamp s = {(int64_t)st->st_size, 0, 0, 0, 0};
#if defined(__APPLE__)
  s.mtime_s = (int64_t)st->st_mtimespec.tv_sec;
  s.mtime_ns = (int64_t)st->st_mtimespec.tv_nsec;
  s.ctime_s = (int64_t)st->st_ctimespec.tv_sec;
  s.ctime_ns = (int64_t)st->st_ctimespec.tv_nsec;
#elif !defined(_WIN32)
  s.mtime_s = (int64_t)st->st_mtim.tv_sec;
  s.mtime_ns = (int64_t)st->st_mtim.tv_nsec;
  s.ctime_s = (int64_t)st->st_ctim.tv_sec;
  s.ctime_ns = (int64_t)st->st_ctim.tv_nsec;
#endif
  return s;
}
static inline int pfs_stamp_equal(const pfs_stamp *a, const pfs_stamp *b) {
  return a->size == b->size && a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
         a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

#if !PFS_HAS_ATTRS
/* Nothing to carry: reading and setting succeed with no attributes. */
static inline int pfs_attrs_get(int fd, csb_buf *out) {
  (void)fd;
  (void)out;
  return 1;
}
static inline int pfs_attrs_set(int fd, const char *p, size_t n) {
  (void)fd;
  (void)p;
  (void)n;
  return 1;
}
static inline int pfs_fcaps_get(int fd, csb_buf *out) { return pfs_attrs_get(fd, out); }
static inline int pfs_fcaps_set(int fd, const char *p, size_t n) { return pfs_attrs_set(fd, p, n); }
#endif

#endif /* CSB_PATCH_FSYS_H */
