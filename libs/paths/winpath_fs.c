/* winpath_fs.c - Windows paths on this host's file system
 * (csb_winpath_canonicalize, csb_winpath_effective). Windows builds use
 * the Win32 API; other builds have no Windows file system and fail. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

#if defined(_WIN32)
#include <windows.h>

/* The `\\?\` form of a normalised path (no MAX_PATH limit). */
static wchar_t *long_wide(const char *norm) {
  char *tmp = norm[0] == '\\' && norm[1] == '\\' ? csb_xasprintf("\\\\?\\UNC\\%s", norm + 2)
                                                 : csb_xasprintf("\\\\?\\%s", norm);
  wchar_t *w = csb_os_wide(tmp);
  free(tmp);
  return w;
}

int csb_winpath_canonicalize(const char *path, char **out, csb_error *err) {
  *out = NULL;
  char *norm = csb_winpath_normalize(path);
  if (norm == NULL) return csb_error_set(err, "`%s` is not an absolute Windows path", path);
  wchar_t *w = long_wide(norm);
  HANDLE h = w ? CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                             OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL)
               : INVALID_HANDLE_VALUE;
  free(w);
  if (h == INVALID_HANDLE_VALUE) {
    int e = csb_os_errno(GetLastError());
    csb_error_set(err, "%s: %s", norm, strerror(e));
    free(norm);
    return 0;
  }
  DWORD cap = 1024, n;
  wchar_t *buf = NULL;
  for (;;) {
    buf = csb_xrealloc(buf, (size_t)cap * sizeof(wchar_t));
    n = GetFinalPathNameByHandleW(h, buf, cap, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (n < cap || n == 0) break;
    cap = n + 1;
  }
  DWORD e = GetLastError();
  CloseHandle(h);
  char *u = n > 0 ? csb_os_utf8(buf) : NULL;
  free(buf);
  char *canon = u ? csb_winpath_normalize(u) : NULL;
  free(u);
  if (canon == NULL) {
    csb_error_set(err, "%s: %s", norm, strerror(n == 0 ? csb_os_errno(e) : EINVAL));
    free(norm);
    return 0;
  }
  free(norm);
  *out = canon;
  return 1;
}

/* csb_winpath_canonical_fn over this host's file system. */
static int fs_canonical(void *ctx, const char *path, char **out) {
  (void)ctx;
  csb_file_type t;
  *out = NULL;
  return csb_os_file_type(path, 0, &t) && csb_winpath_canonicalize(path, out, NULL);
}

int csb_winpath_effective(const char *path, char **out, csb_error *err) {
  return csb_winpath_effective_with(path, fs_canonical, NULL, out, err);
}

#else

int csb_winpath_canonicalize(const char *path, char **out, csb_error *err) {
  *out = NULL;
  return csb_error_set(err, "%s: %s", path, "no Windows file system on this host");
}

int csb_winpath_effective(const char *path, char **out, csb_error *err) {
  *out = NULL;
  return csb_error_set(err, "%s: %s", path, "no Windows file system on this host");
}

#endif
