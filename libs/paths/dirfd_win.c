/* dirfd_win.c - POSIX directory-descriptor calls on Win32 (see
 * dirfd_win.h). Compiled only for Windows builds. */
#if defined(_WIN32)

#include "dirfd_win.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "csb_base.h"

struct csb_dw_dir {
  HANDLE find;
  int fd;
  int first;
  int done;
  WIN32_FIND_DATAW data;
  struct csb_dw_dirent ent;
};

static HANDLE to_handle(int fd) { return (HANDLE)(intptr_t)fd; }

static int set_errno_from(DWORD e) {
  errno = csb_os_errno(e);
  return -1;
}

/* UTF-8 -> UTF-16 with `\` separators and a `\\?\` prefix for absolute
 * paths (so long paths work). NULL on bad input (errno set). */
static wchar_t *wide_path(const char *path) {
  csb_buf b = {0};
  int absolute = 0;
  if (((path[0] >= 'a' && path[0] <= 'z') || (path[0] >= 'A' && path[0] <= 'Z')) && path[1] == ':') {
    csb_buf_puts(&b, "\\\\?\\");
    absolute = 1;
  } else if ((path[0] == '/' || path[0] == '\\') && (path[1] == '/' || path[1] == '\\')) {
    if (path[2] == '?' || path[2] == '.') {
      absolute = 2; /* already a verbatim or device path */
    } else {
      csb_buf_puts(&b, "\\\\?\\UNC");
      path += 1;
      absolute = 1;
    }
  }
  for (const char *c = path; *c; c++) csb_buf_putc(&b, *c == '/' ? '\\' : *c);
  if (absolute == 1 && b.len == 6) csb_buf_putc(&b, '\\'); /* "\\?\c:" -> its root */
  if (b.data == NULL) csb_buf_puts(&b, "");
  wchar_t *w = csb_os_wide(b.data);
  csb_buf_free(&b);
  if (w == NULL) errno = ENOENT;
  return w;
}

/* The final path of an open handle (`\\?\` form), or NULL. */
static wchar_t *final_path(HANDLE h) {
  DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (n == 0) return NULL;
  wchar_t *w = csb_xmalloc(((size_t)n + 1) * sizeof(wchar_t));
  DWORD m = GetFinalPathNameByHandleW(h, w, n + 1, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (m == 0 || m > n) {
    free(w);
    return NULL;
  }
  return w;
}

/* dir's final path + `\` + name (UTF-8 name), or NULL. */
static wchar_t *child_path(int dfd, const char *name) {
  wchar_t *dir = final_path(to_handle(dfd));
  if (dir == NULL) {
    set_errno_from(GetLastError());
    return NULL;
  }
  wchar_t *wname = csb_os_wide(name);
  if (wname == NULL) {
    free(dir);
    errno = ENOENT;
    return NULL;
  }
  size_t dl = wcslen(dir), nl = wcslen(wname);
  wchar_t *w = csb_xmalloc((dl + 2 + nl) * sizeof(wchar_t));
  memcpy(w, dir, dl * sizeof(wchar_t));
  size_t at = dl;
  if (at == 0 || w[at - 1] != L'\\') w[at++] = L'\\';
  memcpy(w + at, wname, (nl + 1) * sizeof(wchar_t));
  free(wname);
  free(dir);
  return w;
}

static int open_wide(const wchar_t *w, int flags) {
  DWORD fl = FILE_FLAG_BACKUP_SEMANTICS;
  if (flags & O_NOFOLLOW) fl |= FILE_FLAG_OPEN_REPARSE_POINT;
  HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, fl, NULL);
  if (h == INVALID_HANDLE_VALUE) return set_errno_from(GetLastError());
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(h, &info)) {
    DWORD e = GetLastError();
    CloseHandle(h);
    return set_errno_from(e);
  }
  if ((flags & O_NOFOLLOW) && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    /* a link is refused; another reparse point (a cloud placeholder) is
     * the directory itself */
    FILE_ATTRIBUTE_TAG_INFO ti;
    if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof ti) ||
        csb_os_reparse_tag_is_link(ti.ReparseTag)) {
      CloseHandle(h);
      errno = ELOOP;
      return -1;
    }
  }
  if (!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
    CloseHandle(h);
    errno = ENOTDIR;
    return -1;
  }
  intptr_t v = (intptr_t)h;
  if (v < 0 || v > INT32_MAX) {
    CloseHandle(h);
    errno = EMFILE;
    return -1;
  }
  return (int)v;
}

int csb_dw_open(const char *path, int flags) {
  wchar_t *w = wide_path(path);
  if (w == NULL) return -1;
  int fd = open_wide(w, flags);
  free(w);
  return fd;
}

int csb_dw_openat(int dfd, const char *name, int flags) {
  wchar_t *w = child_path(dfd, name);
  if (w == NULL) return -1;
  int fd = open_wide(w, flags);
  free(w);
  return fd;
}

int csb_dw_dup(int fd) {
  HANDLE out = NULL;
  if (!DuplicateHandle(GetCurrentProcess(), to_handle(fd), GetCurrentProcess(), &out, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return set_errno_from(GetLastError());
  return (int)(intptr_t)out;
}

int csb_dw_close(int fd) { return CloseHandle(to_handle(fd)) ? 0 : set_errno_from(GetLastError()); }

/* `link`: the reparse point there is a link (csb_os_reparse_tag_is_link). */
static mode_t mode_of(DWORD attrs, int nofollow, int link) {
  if (nofollow && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) && link) return S_IFLNK;
  if (attrs & FILE_ATTRIBUTE_DIRECTORY) return S_IFDIR;
  return S_IFREG;
}

int csb_dw_fstatat(int dfd, const char *name, struct stat *st, int flags) {
  wchar_t *w = child_path(dfd, name);
  if (w == NULL) return -1;
  memset(st, 0, sizeof(*st));
  int nofollow = (flags & AT_SYMLINK_NOFOLLOW) != 0;
  DWORD attrs;
  int link = 0;
  if (nofollow) {
    attrs = GetFileAttributesW(w);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
      free(w);
      return set_errno_from(GetLastError());
    }
    link = (attrs & FILE_ATTRIBUTE_REPARSE_POINT) && csb_os_reparse_point_is_link(w);
  } else {
    HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    BY_HANDLE_FILE_INFORMATION info;
    if (h == INVALID_HANDLE_VALUE || !GetFileInformationByHandle(h, &info)) {
      DWORD e = GetLastError();
      if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
      free(w);
      return set_errno_from(e);
    }
    CloseHandle(h);
    attrs = info.dwFileAttributes;
  }
  free(w);
  st->st_mode = mode_of(attrs, nofollow, link);
  return 0;
}

csb_dw_dir *csb_dw_fdopendir(int fd) {
  wchar_t *dir = final_path(to_handle(fd));
  if (dir == NULL) {
    set_errno_from(GetLastError());
    return NULL;
  }
  size_t dl = wcslen(dir);
  wchar_t *pat = csb_xmalloc((dl + 3) * sizeof(wchar_t));
  memcpy(pat, dir, dl * sizeof(wchar_t));
  size_t at = dl;
  if (at == 0 || pat[at - 1] != L'\\') pat[at++] = L'\\';
  pat[at++] = L'*';
  pat[at] = 0;
  free(dir);
  csb_dw_dir *d = csb_xcalloc(1, sizeof(*d));
  d->find = FindFirstFileExW(pat, FindExInfoBasic, &d->data, FindExSearchNameMatch, NULL,
                             FIND_FIRST_EX_LARGE_FETCH);
  DWORD e = GetLastError();
  free(pat);
  if (d->find == INVALID_HANDLE_VALUE) {
    if (e != ERROR_FILE_NOT_FOUND) {
      free(d);
      set_errno_from(e);
      return NULL;
    }
    d->done = 1;
  }
  d->fd = fd;
  d->first = 1;
  return d;
}

struct csb_dw_dirent *csb_dw_readdir(csb_dw_dir *d) {
  for (;;) {
    if (d->done) {
      errno = 0;
      return NULL;
    }
    if (!d->first) {
      if (!FindNextFileW(d->find, &d->data)) {
        DWORD e = GetLastError();
        d->done = 1;
        if (e == ERROR_NO_MORE_FILES) {
          errno = 0;
        } else {
          set_errno_from(e);
        }
        return NULL;
      }
    }
    d->first = 0;
    int n = WideCharToMultiByte(CP_UTF8, 0, d->data.cFileName, -1, d->ent.d_name,
                                (int)sizeof(d->ent.d_name), NULL, NULL);
    if (n <= 0) continue; /* a name too long to match anything here */
    DWORD a = d->data.dwFileAttributes;
    d->ent.d_type = (a & FILE_ATTRIBUTE_REPARSE_POINT) &&
                            csb_os_reparse_tag_is_link(d->data.dwReserved0)
                        ? DT_LNK
                    : (a & FILE_ATTRIBUTE_DIRECTORY)   ? DT_DIR
                                                        : DT_REG;
    return &d->ent;
  }
}

int csb_dw_closedir(csb_dw_dir *d) {
  if (d == NULL) return 0;
  if (d->find != INVALID_HANDLE_VALUE && d->find != NULL) FindClose(d->find);
  csb_dw_close(d->fd);
  free(d);
  return 0;
}

long csb_dw_ncpu(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return (long)si.dwNumberOfProcessors;
}

#else
typedef int csb_paths_dirfd_win_unused; /* keeps ISO C happy off Windows */
#endif /* _WIN32 */
