/* fsys_win.c - the file system calls of libs/patch on Win32 (see fsys.h).
 * Compiled only for Windows builds. */
#if defined(_WIN32)

#include "fsys.h"

#include <stdlib.h>
#include <string.h>
#include <windows.h>
/* after windows.h */
#include <bcrypt.h>

/* The Win32 error as errno; -1. */
static int fail_win(DWORD e) {
  errno = csb_os_errno(e);
  return -1;
}

static off_t clamp_size(uint64_t n) { return (off_t)(n > INT32_MAX ? INT32_MAX : n); }

static wchar_t *wide(const char *path) {
  wchar_t *w = csb_os_wide(path);
  if (w == NULL) errno = ENOENT;
  return w;
}

int csb_patch_i_fs_stat(const char *path, int follow, struct stat *st) {
  memset(st, 0, sizeof(*st));
  csb_file_type t;
  if (!csb_os_file_type(path, follow, &t)) return -1;
  wchar_t *w = wide(path);
  if (w == NULL) return -1;
  WIN32_FILE_ATTRIBUTE_DATA a;
  int have = GetFileAttributesExW(w, GetFileExInfoStandard, &a) != 0;
  free(w);
  switch (t) {
    case CSB_FILE_REGULAR:
      st->st_mode = (mode_t)(S_IFREG | (have && (a.dwFileAttributes & FILE_ATTRIBUTE_READONLY)
                                            ? 0444
                                            : 0666));
      break;
    case CSB_FILE_DIR:
      st->st_mode = S_IFDIR | 0777;
      break;
    case CSB_FILE_LINK:
      st->st_mode = S_IFLNK | 0777;
      break;
    default:
      st->st_mode = S_IFCHR | 0666;
      break;
  }
  st->st_nlink = 1;
  if (have && t == CSB_FILE_REGULAR)
    st->st_size = clamp_size(((uint64_t)a.nFileSizeHigh << 32) | a.nFileSizeLow);
  return 0;
}

int csb_patch_i_fs_fstat(int fd, struct stat *st) {
  memset(st, 0, sizeof(*st));
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  BY_HANDLE_FILE_INFORMATION info;
  if (h == INVALID_HANDLE_VALUE || !GetFileInformationByHandle(h, &info)) {
    errno = EBADF;
    return -1;
  }
  DWORD a = info.dwFileAttributes;
  if (a & FILE_ATTRIBUTE_DIRECTORY)
    st->st_mode = S_IFDIR | 0777;
  else
    st->st_mode = (mode_t)(S_IFREG | ((a & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666));
  st->st_nlink = (short)(info.nNumberOfLinks > 0x7fff ? 0x7fff : info.nNumberOfLinks);
  st->st_size = clamp_size(((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow);
  return 0;
}

/* `h` is the reparse point at w itself (opened with
 * FILE_FLAG_OPEN_REPARSE_POINT; `first` its information). A link is
 * refused: INVALID_HANDLE_VALUE. Any other (a cloud file's placeholder, a
 * deduplicated file) is the file: it is opened again through its filter,
 * and must still be the same file (else INVALID_HANDLE_VALUE: swapped
 * meanwhile). Closes h. */
static HANDLE reopen_unless_link(HANDLE h, const wchar_t *w, DWORD access,
                                 const BY_HANDLE_FILE_INFORMATION *first) {
  FILE_ATTRIBUTE_TAG_INFO ti;
  if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof ti) ||
      csb_os_reparse_tag_is_link(ti.ReparseTag)) {
    CloseHandle(h);
    return INVALID_HANDLE_VALUE;
  }
  HANDLE again = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  CloseHandle(h);
  if (again == INVALID_HANDLE_VALUE) return again;
  BY_HANDLE_FILE_INFORMATION now;
  if (!GetFileInformationByHandle(again, &now) ||
      now.dwVolumeSerialNumber != first->dwVolumeSerialNumber ||
      now.nFileIndexHigh != first->nFileIndexHigh || now.nFileIndexLow != first->nFileIndexLow) {
    CloseHandle(again);
    return INVALID_HANDLE_VALUE;
  }
  return again;
}

int csb_patch_i_fs_open(const char *path, int flags, int mode) {
  (void)mode;
  wchar_t *w = wide(path);
  if (w == NULL) return -1;
  int acc = flags & (O_RDONLY | O_WRONLY | O_RDWR);
  DWORD access = acc == O_WRONLY ? GENERIC_WRITE
                 : acc == O_RDWR ? GENERIC_READ | GENERIC_WRITE
                                 : GENERIC_READ;
  DWORD disp = OPEN_EXISTING;
  if (flags & O_CREAT) disp = (flags & O_EXCL) ? CREATE_NEW : OPEN_ALWAYS;
  DWORD fl = FILE_ATTRIBUTE_NORMAL;
  if (flags & O_NOFOLLOW) fl |= FILE_FLAG_OPEN_REPARSE_POINT;
  HANDLE h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         disp, fl, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    DWORD a = GetFileAttributesW(w);
    free(w);
    /* A directory cannot be opened as a file. */
    if (e == ERROR_ACCESS_DENIED && a != INVALID_FILE_ATTRIBUTES &&
        (a & FILE_ATTRIBUTE_DIRECTORY)) {
      errno = EISDIR;
      return -1;
    }
    return fail_win(e);
  }
  BY_HANDLE_FILE_INFORMATION info;
  int have = GetFileInformationByHandle(h, &info) != 0;
  if (have && (flags & O_NOFOLLOW) && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    h = reopen_unless_link(h, w, access, &info);
    have = h != INVALID_HANDLE_VALUE && GetFileInformationByHandle(h, &info) != 0;
  }
  free(w);
  if (h == INVALID_HANDLE_VALUE) {
    errno = ELOOP;
    return -1;
  }
  /* A directory cannot be opened as a file. */
  if (have && (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
    CloseHandle(h);
    errno = EISDIR;
    return -1;
  }
  int fd = _open_osfhandle((intptr_t)h, acc == O_RDONLY ? _O_RDONLY : 0);
  if (fd < 0) {
    CloseHandle(h);
    errno = EMFILE;
    return -1;
  }
  _setmode(fd, _O_BINARY);
  return fd;
}

int csb_patch_i_fs_fsync(int fd) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) {
    errno = EBADF;
    return -1;
  }
  return FlushFileBuffers(h) ? 0 : fail_win(GetLastError());
}

int csb_patch_i_fs_rename(const char *from, const char *to) {
  wchar_t *a = wide(from), *b = a ? wide(to) : NULL;
  int ok = a && b && MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
  DWORD e = GetLastError();
  free(a);
  free(b);
  return ok ? 0 : fail_win(e);
}

int csb_patch_i_fs_unlink(const char *path) {
  wchar_t *w = wide(path);
  if (w == NULL) return -1;
  DWORD a = GetFileAttributesW(w);
  int ok = DeleteFileW(w);
  DWORD e = GetLastError();
  free(w);
  if (ok) return 0;
  /* unlink(2) of a directory */
  if (e == ERROR_ACCESS_DENIED && a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) {
    errno = EISDIR;
    return -1;
  }
  return fail_win(e);
}

int csb_patch_i_fs_mkdir(const char *path) {
  wchar_t *w = wide(path);
  if (w == NULL) return -1;
  int ok = CreateDirectoryW(w, NULL);
  DWORD e = GetLastError();
  free(w);
  return ok ? 0 : fail_win(e);
}

int csb_patch_i_fs_rmdir(const char *path) {
  wchar_t *w = wide(path);
  if (w == NULL) return -1;
  int ok = RemoveDirectoryW(w);
  DWORD e = GetLastError();
  free(w);
  return ok ? 0 : fail_win(e);
}

int csb_patch_i_fs_lock(int fd, int nonblock) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) {
    errno = EBADF;
    return -1;
  }
  /* One byte far beyond any data: readers of the file are not blocked. */
  OVERLAPPED ov;
  memset(&ov, 0, sizeof(ov));
  ov.OffsetHigh = 0x7fffffff;
  DWORD fl = LOCKFILE_EXCLUSIVE_LOCK | (nonblock ? LOCKFILE_FAIL_IMMEDIATELY : 0);
  if (LockFileEx(h, fl, 0, 1, 0, &ov)) return 0;
  DWORD e = GetLastError();
  if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING) {
    errno = EWOULDBLOCK;
    return -1;
  }
  return fail_win(e);
}

/* A pointer file holds the journal's path (and nothing else). */
int csb_patch_i_fs_pointer_make(const char *journal, const char *pointer) {
  int fd = csb_patch_i_fs_open(pointer, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return -1;
  int ok = csb_write_all(fd, journal, strlen(journal));
  int e = errno;
  if (close(fd) != 0 && ok) {
    e = errno;
    ok = 0;
  }
  if (!ok) {
    csb_patch_i_fs_unlink(pointer);
    errno = e;
    return -1;
  }
  return 0;
}

ssize_t csb_patch_i_fs_pointer_read(const char *pointer, char *buf, size_t n) {
  int fd = csb_patch_i_fs_open(pointer, O_RDONLY | O_NOFOLLOW, 0);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got < n) {
    int r = read(fd, buf + got, (unsigned)(n - got));
    if (r < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  return (ssize_t)got;
}

int csb_patch_i_fs_list(const char *dir, csb_strv *names) {
  char *pat = csb_xasprintf("%s%s*", dir, dir[0] && dir[strlen(dir) - 1] == '\\' ? "" : "\\");
  wchar_t *w = wide(pat);
  free(pat);
  if (w == NULL) return 0;
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileExW(w, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
  free(w);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND) return 1; /* empty */
    fail_win(e);
    return 0;
  }
  do {
    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0) continue;
    csb_strv_push_owned(names, csb_os_utf8_lossy(fd.cFileName));
  } while (FindNextFileW(h, &fd));
  FindClose(h);
  return 1;
}

void csb_patch_i_fs_random(unsigned char *buf, size_t n) {
  if (BCryptGenRandom(NULL, buf, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0) return;
  LARGE_INTEGER t;
  QueryPerformanceCounter(&t);
  uint64_t v = (uint64_t)t.QuadPart ^ ((uint64_t)GetCurrentThreadId() << 32) ^ (uint64_t)(uintptr_t)buf;
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(v >> (8 * (i % 8)));
}

unsigned long csb_patch_i_fs_pid(void) { return (unsigned long)GetCurrentProcessId(); }

void csb_patch_i_fs_kill_self(void) {
  TerminateProcess(GetCurrentProcess(), 137);
  for (;;) Sleep(INFINITE);
}

#endif /* _WIN32 */
