/* os.c - the host system with UTF-8 strings: process start-up, the
 * environment, the working directory, file types and open(2). On POSIX
 * hosts these are thin wrappers; Windows builds (mingw-w64) go through the
 * wide (UTF-16) Win32 and C runtime calls, so that arguments, environment
 * values and paths are UTF-8 whatever the ANSI code page is. */
#define _GNU_SOURCE
#include "csb_base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(_WIN32)
#include <io.h>
#include <stdio.h>
#include <windows.h>
/* after windows.h */
#include <shellapi.h>
#else
#include <pwd.h>
#include <unistd.h>
#endif

#ifndef O_BINARY
#define O_BINARY 0
#endif

#if defined(_WIN32)

wchar_t *csb_os_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) return NULL;
  wchar_t *w = csb_xmalloc((size_t)n * sizeof(wchar_t));
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    free(w);
    return NULL;
  }
  return w;
}

char *csb_os_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
  if (n <= 0) return NULL;
  char *s = csb_xmalloc((size_t)n);
  if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
    free(s);
    return NULL;
  }
  return s;
}

char *csb_os_utf8_lossy(const wchar_t *w) {
  char *s = csb_os_utf8(w);
  if (s != NULL) return s;
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  s = csb_xmalloc((size_t)(n > 0 ? n : 1));
  s[0] = '\0';
  if (n > 0) WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

int csb_os_errno(unsigned long code) {
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_BAD_PATHNAME:
      return ENOENT;
    case ERROR_DIRECTORY:
      return ENOTDIR;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
      return EACCES;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return EEXIST;
    case ERROR_DIR_NOT_EMPTY:
      return ENOTEMPTY;
    case ERROR_NOT_SAME_DEVICE:
      return EXDEV;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return ENOSPC;
    case ERROR_FILENAME_EXCED_RANGE:
      return ENAMETOOLONG;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
      return ENOMEM;
    case ERROR_CANT_RESOLVE_FILENAME:
      return ELOOP;
    case ERROR_INVALID_PARAMETER:
      return EINVAL;
    default:
      return EIO;
  }
}

void csb_os_init(int *argc, char ***argv) {
  /* Byte-exact standard streams: no CRLF translation, so that output is
   * the same as on other hosts. */
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  int n = 0;
  wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
  if (w == NULL) return;
  char **out = csb_xcalloc((size_t)n + 1, sizeof(char *));
  for (int i = 0; i < n; i++) out[i] = csb_os_utf8_lossy(w[i]);
  LocalFree(w);
  *argc = n;
  *argv = out;
}

char *csb_os_getenv(const char *name) {
  wchar_t *wname = csb_os_wide(name);
  if (wname == NULL) return NULL;
  DWORD n = GetEnvironmentVariableW(wname, NULL, 0);
  if (n == 0) {
    int unset = GetLastError() == ERROR_ENVVAR_NOT_FOUND;
    free(wname);
    return unset ? NULL : csb_xstrdup("");
  }
  wchar_t *w = csb_xmalloc((size_t)n * sizeof(wchar_t));
  DWORD got = GetEnvironmentVariableW(wname, w, n);
  free(wname);
  char *s = got > 0 && got < n ? csb_os_utf8(w) : NULL;
  free(w);
  if (s == NULL && got == 0) s = csb_xstrdup("");
  return s;
}

char *csb_os_getcwd(void) {
  DWORD n = GetCurrentDirectoryW(0, NULL);
  if (n == 0) {
    errno = csb_os_errno(GetLastError());
    return NULL;
  }
  wchar_t *w = csb_xmalloc((size_t)n * sizeof(wchar_t));
  DWORD got = GetCurrentDirectoryW(n, w);
  char *s = got > 0 && got < n ? csb_os_utf8(w) : NULL;
  free(w);
  if (s == NULL) errno = EIO;
  return s;
}

char *csb_os_user_db_home(void) { return NULL; }

int csb_os_reparse_tag_is_link(unsigned long tag) {
  return tag == 0 || IsReparseTagNameSurrogate(tag);
}

int csb_os_reparse_point_is_link(const wchar_t *w) {
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(w, &fd);
  if (h == INVALID_HANDLE_VALUE) return 1;
  FindClose(h);
  return csb_os_reparse_tag_is_link(fd.dwReserved0);
}

int csb_os_file_type(const char *path, int follow, csb_file_type *out) {
  *out = CSB_FILE_NONE;
  wchar_t *w = csb_os_wide(path);
  if (w == NULL) {
    errno = EINVAL;
    return 0;
  }
  DWORD a = GetFileAttributesW(w);
  if (a == INVALID_FILE_ATTRIBUTES) {
    errno = csb_os_errno(GetLastError());
    free(w);
    return 0;
  }
  if ((a & FILE_ATTRIBUTE_REPARSE_POINT) && follow) {
    /* Open the object the reparse point leads to. */
    HANDLE h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
      errno = csb_os_errno(GetLastError());
      free(w);
      return 0;
    }
    BY_HANDLE_FILE_INFORMATION info;
    int ok = GetFileInformationByHandle(h, &info) != 0;
    DWORD e = GetLastError();
    CloseHandle(h);
    if (!ok) {
      errno = csb_os_errno(e);
      free(w);
      return 0;
    }
    a = info.dwFileAttributes & ~(DWORD)FILE_ATTRIBUTE_REPARSE_POINT;
  } else if ((a & FILE_ATTRIBUTE_REPARSE_POINT) && !csb_os_reparse_point_is_link(w)) {
    a &= ~(DWORD)FILE_ATTRIBUTE_REPARSE_POINT; /* a cloud placeholder, ...: no link */
  }
  free(w);
  if (a & FILE_ATTRIBUTE_REPARSE_POINT)
    *out = CSB_FILE_LINK;
  else if (a & FILE_ATTRIBUTE_DIRECTORY)
    *out = CSB_FILE_DIR;
  else if (a & FILE_ATTRIBUTE_DEVICE)
    *out = CSB_FILE_OTHER;
  else
    *out = CSB_FILE_REGULAR;
  return 1;
}

int csb_os_open(const char *path, int flags, int mode) {
  wchar_t *w = csb_os_wide(path);
  if (w == NULL) {
    errno = EINVAL;
    return -1;
  }
  int fd = _wopen(w, flags | O_BINARY, mode);
  int e = errno;
  free(w);
  errno = e;
  return fd;
}

#else /* POSIX */

void csb_os_init(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
}

char *csb_os_getenv(const char *name) {
  const char *v = getenv(name);
  return v ? csb_xstrdup(v) : NULL;
}

char *csb_os_getcwd(void) { return getcwd(NULL, 0); }

char *csb_os_user_db_home(void) {
  struct passwd pw, *res = NULL;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) != 0 || res == NULL || pw.pw_dir == NULL ||
      pw.pw_dir[0] != '/')
    return NULL;
  return csb_xstrdup(pw.pw_dir);
}

int csb_os_file_type(const char *path, int follow, csb_file_type *out) {
  *out = CSB_FILE_NONE;
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return 0;
  if (S_ISLNK(st.st_mode))
    *out = CSB_FILE_LINK;
  else if (S_ISDIR(st.st_mode))
    *out = CSB_FILE_DIR;
  else if (S_ISREG(st.st_mode))
    *out = CSB_FILE_REGULAR;
  else
    *out = CSB_FILE_OTHER;
  return 1;
}

int csb_os_open(const char *path, int flags, int mode) { return open(path, flags, mode); }

int csb_os_pin_path(int dirfd, const char *path, int *fd_out, char **real_out) {
  *fd_out = -1;
  *real_out = NULL;
  int fd = openat(dirfd, path, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno;
  char self[32], real[4096];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(self, real, sizeof real - 1);
  if (n <= 0 || real[0] != '/') {
    close(fd);
    return ENOTSUP;
  }
  real[n] = 0;
  *fd_out = fd;
  *real_out = csb_xstrdup(real);
  return 0;
}

#endif

/* ---- replacing a file ---- */

static int os_unlink(const char *path) {
#if defined(_WIN32)
  wchar_t *w = csb_os_wide(path);
  int r = w != NULL ? _wunlink(w) : -1;
  free(w);
  return r;
#else
  return unlink(path);
#endif
}

static int os_replace(const char *from, const char *to) {
#if defined(_WIN32)
  wchar_t *wf = csb_os_wide(from), *wt = csb_os_wide(to);
  int ok = wf != NULL && wt != NULL &&
           MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) != 0;
  int e = ok ? 0 : (wf == NULL || wt == NULL ? EINVAL : csb_os_errno(GetLastError()));
  free(wf);
  free(wt);
  errno = e;
  return ok ? 0 : -1;
#else
  return rename(from, to);
#endif
}

static int os_sync_close(int fd) {
#if defined(_WIN32)
  int ok = _commit(fd) == 0;
#else
  int ok = fsync(fd) == 0 || errno == EINVAL; /* EINVAL: a file system without fsync */
#endif
  int e = errno;
  if (close(fd) != 0 && ok) return 0;
  errno = e;
  return ok;
}

int csb_os_replace_file(const char *path, const void *data, size_t n, csb_error *err) {
  csb_file_type t;
  int exists = csb_os_file_type(path, 0, &t);
  if (!exists && errno != ENOENT)
    return csb_error_set(err, "cannot write `%s`: %s", path, strerror(errno));
  if (exists && t != CSB_FILE_REGULAR) {
    /* a device, a pipe, a link: written where it leads, as it is */
    int fd = csb_os_open(path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return csb_error_set(err, "cannot open `%s`: %s", path, strerror(errno));
    int ok = csb_write_all(fd, data, n);
    int e = errno;
    if (close(fd) != 0 && ok) {
      ok = 0;
      e = errno;
    }
    if (!ok) return csb_error_set(err, "cannot write `%s`: %s", path, strerror(e));
    return 1;
  }
  int mode = -1; /* the replaced file's, when it can be read */
#if !defined(_WIN32)
  struct stat st;
  if (exists && stat(path, &st) == 0) mode = (int)(st.st_mode & 07777);
  unsigned pid = (unsigned)getpid();
#else
  unsigned pid = (unsigned)GetCurrentProcessId();
#endif
  char *tmp = NULL;
  int fd = -1;
  for (unsigned i = 0; fd < 0 && i < 100; i++) {
    free(tmp);
    tmp = csb_xasprintf("%s.%u-%u.tmp", path, pid, i);
    /* a new file gets what creating it gives (umask); an old one its mode */
    fd = csb_os_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, exists ? 0600 : 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return csb_error_set(err, "cannot create `%s`: %s", path, strerror(e));
  }
  int ok = csb_write_all(fd, data, n);
#if !defined(_WIN32)
  if (ok && mode >= 0) ok = fchmod(fd, (mode_t)mode) == 0;
#else
  (void)mode;
#endif
  int e = errno;
  if (ok) {
    ok = os_sync_close(fd);
    e = errno;
  } else {
    close(fd);
  }
  if (ok && os_replace(tmp, path) != 0) {
    ok = 0;
    e = errno;
  }
  if (!ok) {
    os_unlink(tmp);
    free(tmp);
    return csb_error_set(err, "cannot write `%s`: %s", path, strerror(e));
  }
  free(tmp);
  return 1;
}
