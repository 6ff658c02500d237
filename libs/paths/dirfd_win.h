/* dirfd_win.h - the POSIX directory-descriptor calls glob_expand.c uses
 * (open/openat/dup/close/fstatat/fdopendir/readdir/closedir), for Windows
 * builds (mingw-w64). Private to libs/paths; included only under _WIN32.
 *
 * A descriptor is a Win32 directory HANDLE (opened with
 * FILE_FLAG_BACKUP_SEMANTICS) stored in an int: Windows handles fit in 32
 * bits. Paths are UTF-8 with `/` or `\` separators; a bare drive ("c:")
 * means its root. openat() resolves `name` against the directory's final
 * path; O_NOFOLLOW refuses a reparse point (junction, symlink) with ELOOP,
 * and fstatat(AT_SYMLINK_NOFOLLOW) reports one as S_IFLNK. Entries read
 * with readdir() carry d_type (DT_DIR, DT_LNK for reparse points, DT_REG).
 * Errors set errno (ENOENT, ENOTDIR, EACCES, ELOOP, EIO). No state is kept
 * outside the handles, so the calls are safe from several threads.
 */
#ifndef CSB_PATHS_DIRFD_WIN_H
#define CSB_PATHS_DIRFD_WIN_H

#if defined(_WIN32)

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "csb_base.h" /* O_NOFOLLOW, O_DIRECTORY, ... */

#ifndef AT_SYMLINK_NOFOLLOW
#define AT_SYMLINK_NOFOLLOW 0x100
#endif
#ifndef S_IFLNK
#define S_IFLNK 0xA000
#endif
#ifndef S_ISLNK
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#endif
#ifndef S_ISSOCK
#define S_ISSOCK(m) 0
#endif

#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_BLK 6
#define DT_REG 8
#define DT_LNK 10
#define DT_SOCK 12

struct csb_dw_dirent {
  unsigned char d_type;
  char d_name[1024]; /* UTF-8 */
};

typedef struct csb_dw_dir csb_dw_dir;

int csb_dw_open(const char *path, int flags);
int csb_dw_openat(int dfd, const char *name, int flags);
int csb_dw_dup(int fd);
int csb_dw_close(int fd);
int csb_dw_fstatat(int dfd, const char *name, struct stat *st, int flags);
/* Takes ownership of fd (closedir closes it). */
csb_dw_dir *csb_dw_fdopendir(int fd);
struct csb_dw_dirent *csb_dw_readdir(csb_dw_dir *d);
int csb_dw_closedir(csb_dw_dir *d);
/* Online processors (for sysconf(_SC_NPROCESSORS_ONLN)). */
long csb_dw_ncpu(void);

#endif /* _WIN32 */
#endif /* CSB_PATHS_DIRFD_WIN_H */
