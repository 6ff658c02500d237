/* winfs.c - Windows paths on a fixture tree (any host) or on the real
 * Windows file system (Windows builds). See winfs.h. */
#if !defined(_WIN32)
#define _GNU_SOURCE
#endif
#include "winfs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

struct wfs {
  char *root;       /* as given (NULL: native) */
  char *root_host;  /* host form used to build paths */
  char *root_canon; /* canonical host form (links resolved) */
};

const char *wfs_root(const wfs *fs) { return fs->root; }

/* Names compare as NTFS compares them (csb_winname_fold). */
static int eq_fold(const char *a, const char *b) {
  return csb_winname_equal(a, strlen(a), b, strlen(b));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_names(csb_strv *v) {
  if (v->len > 1) qsort(v->items, v->len, sizeof(char *), cmp_str);
}

/* The components of a normalised Windows path as they appear below the
 * fs root: "X", then the rest for `X:\...`; "UNC", server, share, then
 * the rest for `\\server\share\...`. */
static void split_components(const char *path, csb_strv *out) {
  const char *p = path;
  if (p[0] == '\\' && p[1] == '\\') {
    csb_strv_push(out, "UNC");
    p += 2;
  } else {
    char drive[2] = {(char)toupper((unsigned char)p[0]), '\0'};
    csb_strv_push(out, drive);
    p += 2;
  }
  while (*p) {
    while (*p == '\\') p++;
    const char *s = p;
    while (*p && *p != '\\') p++;
    if (p > s) csb_strv_push_owned(out, csb_xstrndup(s, (size_t)(p - s)));
  }
}

/* The Windows path for components below the fs root ("X", "a" -> `X:\a`),
 * or NULL when they do not name a drive or share. */
static char *join_components(const char *rel, char sep) {
  csb_strv c;
  csb_strv_init(&c);
  const char *p = rel;
  while (*p) {
    while (*p == sep) p++;
    const char *s = p;
    while (*p && *p != sep) p++;
    if (p > s) csb_strv_push_owned(&c, csb_xstrndup(s, (size_t)(p - s)));
  }
  char *out = NULL;
  csb_buf b = {0};
  size_t i = 0;
  if (c.len >= 1 && strlen(c.items[0]) == 1 && isalpha((unsigned char)c.items[0][0])) {
    csb_buf_printf(&b, "%c:\\", toupper((unsigned char)c.items[0][0]));
    i = 1;
  } else if (c.len >= 3 && eq_fold(c.items[0], "UNC")) {
    csb_buf_printf(&b, "\\\\%s\\%s", c.items[1], c.items[2]);
    i = 3;
  } else {
    goto done;
  }
  for (; i < c.len; i++) {
    if (b.data[b.len - 1] != '\\') csb_buf_putc(&b, '\\');
    csb_buf_puts(&b, c.items[i]);
  }
  out = csb_winpath_normalize(b.data);
done:
  csb_buf_free(&b);
  csb_strv_free(&c);
  return out;
}

/* ======================================================================
 * Host primitives
 * ====================================================================== */

#if defined(_WIN32)

static wchar_t *to_wide(const char *s) { return csb_os_wide(s); }

static char *from_wide(const wchar_t *w) { return csb_os_utf8_lossy(w); }

/* `\\?\` form of a normalised host path, so long paths work. */
static wchar_t *long_wide(const char *host) {
  char *tmp;
  if (host[0] == '\\' && host[1] == '\\')
    tmp = csb_xasprintf("\\\\?\\UNC\\%s", host + 2);
  else
    tmp = csb_xasprintf("\\\\?\\%s", host);
  wchar_t *w = to_wide(tmp);
  free(tmp);
  return w;
}

static wfs_kind host_lkind(const char *host) {
  wchar_t *w = long_wide(host);
  if (w == NULL) return WFS_MISSING;
  DWORD a = GetFileAttributesW(w);
  if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_REPARSE_POINT)) {
    /* Only name surrogates (symbolic links, junctions, mount points) lead
     * elsewhere (csb_os_reparse_point_is_link): OneDrive's placeholders,
     * say, are the object their path names. */
    int surrogate = csb_os_reparse_point_is_link(w);
    if (surrogate) {
      free(w);
      return WFS_LINK;
    }
  }
  free(w);
  if (a == INVALID_FILE_ATTRIBUTES) return WFS_MISSING;
  if (a & FILE_ATTRIBUTE_DIRECTORY) return WFS_DIR;
  if (a & FILE_ATTRIBUTE_DEVICE) return WFS_OTHER;
  return WFS_FILE;
}

static HANDLE open_follow(const char *host) {
  wchar_t *w = long_wide(host);
  if (w == NULL) return INVALID_HANDLE_VALUE;
  HANDLE h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  free(w);
  return h;
}

static wfs_kind host_kind_follow(const char *host) {
  HANDLE h = open_follow(host);
  if (h == INVALID_HANDLE_VALUE) return WFS_MISSING;
  BY_HANDLE_FILE_INFORMATION info;
  wfs_kind k = WFS_OTHER;
  if (GetFileInformationByHandle(h, &info))
    k = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? WFS_DIR : WFS_FILE;
  CloseHandle(h);
  return k;
}

static int host_list(const char *host, csb_strv *names) {
  char *pat = csb_xasprintf("%s%s*", host, host[strlen(host) - 1] == '\\' ? "" : "\\");
  wchar_t *w = long_wide(pat);
  free(pat);
  if (w == NULL) return 0;
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileExW(w, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
  free(w);
  if (h == INVALID_HANDLE_VALUE) return GetLastError() == ERROR_FILE_NOT_FOUND;
  do {
    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0) continue;
    csb_strv_push_owned(names, from_wide(fd.cFileName));
  } while (FindNextFileW(h, &fd));
  FindClose(h);
  return 1;
}

/* The final path of an existing object, normalised, or NULL. */
static char *host_realpath(const char *host) {
  char *out = NULL;
  return csb_winpath_canonicalize(host, &out, NULL) ? out : NULL;
}

static int host_read(const char *host, size_t max, int head, char **out, size_t *len, csb_error *err) {
  wchar_t *w = long_wide(host);
  HANDLE h = w ? CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL)
               : INVALID_HANDLE_VALUE;
  free(w);
  if (h == INVALID_HANDLE_VALUE)
    return csb_error_set(err, "cannot open `%s`: Windows error %lu", host,
                         (unsigned long)GetLastError());
  csb_buf b = {0};
  char chunk[65536];
  for (;;) {
    DWORD got = 0;
    if (!ReadFile(h, chunk, sizeof chunk, &got, NULL)) {
      CloseHandle(h);
      csb_buf_free(&b);
      return csb_error_set(err, "cannot read `%s`: Windows error %lu", host,
                           (unsigned long)GetLastError());
    }
    if (got == 0) break;
    if (head && b.len + got >= max) {
      csb_buf_append(&b, chunk, max - b.len);
      break;
    }
    if (b.len + got > max) {
      CloseHandle(h);
      csb_buf_free(&b);
      return csb_error_set(err, "`%s`: input larger than %zu bytes", host, max);
    }
    csb_buf_append(&b, chunk, got);
  }
  CloseHandle(h);
  if (b.data == NULL) csb_buf_puts(&b, "");
  *len = b.len;
  *out = csb_buf_steal(&b);
  return 1;
}

static int host_mkdir(const char *host, csb_error *err) {
  wchar_t *w = long_wide(host);
  BOOL ok = w != NULL && CreateDirectoryW(w, NULL);
  DWORD e = GetLastError();
  free(w);
  if (ok || e == ERROR_ALREADY_EXISTS) return 1;
  return csb_error_set(err, "cannot create directory `%s`: Windows error %lu", host,
                       (unsigned long)e);
}

static int host_write_replace(const char *host, const char *data, size_t len, csb_error *err) {
  char *tmp = csb_xasprintf("%s.tmp-%lu", host, (unsigned long)GetCurrentProcessId());
  wchar_t *wt = long_wide(tmp);
  wchar_t *wd = long_wide(host);
  int ok = 0;
  HANDLE h = CreateFileW(wt, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    csb_error_set(err, "cannot create `%s`: Windows error %lu", tmp, (unsigned long)GetLastError());
    goto out;
  }
  DWORD put = 0;
  BOOL w_ok = WriteFile(h, data, (DWORD)len, &put, NULL) && put == (DWORD)len;
  BOOL f_ok = FlushFileBuffers(h);
  CloseHandle(h);
  if (!w_ok || !f_ok) {
    csb_error_set(err, "cannot write `%s`: Windows error %lu", tmp, (unsigned long)GetLastError());
    DeleteFileW(wt);
    goto out;
  }
  if (!MoveFileExW(wt, wd, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    csb_error_set(err, "cannot replace `%s`: Windows error %lu", host, (unsigned long)GetLastError());
    DeleteFileW(wt);
    goto out;
  }
  ok = 1;
out:
  free(tmp);
  free(wt);
  free(wd);
  return ok;
}

static int host_rename(const char *from, const char *to, csb_error *err) {
  wchar_t *a = long_wide(from), *b = long_wide(to);
  BOOL ok = a && b && MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING);
  DWORD e = GetLastError();
  free(a);
  free(b);
  if (ok) return 1;
  return csb_error_set(err, "cannot rename `%s`: Windows error %lu", from, (unsigned long)e);
}

static const char kHostSep = '\\';

#else /* POSIX */

static wfs_kind mode_kind(mode_t m) {
  if (S_ISLNK(m)) return WFS_LINK;
  if (S_ISDIR(m)) return WFS_DIR;
  if (S_ISREG(m)) return WFS_FILE;
  return WFS_OTHER;
}

static wfs_kind host_lkind(const char *host) {
  struct stat st;
  if (lstat(host, &st) != 0) return WFS_MISSING;
  return mode_kind(st.st_mode);
}

static wfs_kind host_kind_follow(const char *host) {
  struct stat st;
  if (stat(host, &st) != 0) return WFS_MISSING;
  return mode_kind(st.st_mode);
}

static int host_list(const char *host, csb_strv *names) {
  DIR *d = opendir(host);
  if (d == NULL) return 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    csb_strv_push(names, de->d_name);
  }
  closedir(d);
  return 1;
}

static char *host_realpath(const char *host) { return realpath(host, NULL); }

static int host_read(const char *host, size_t max, int head, char **out, size_t *len, csb_error *err) {
  return head ? csb_read_file_head(host, max, out, len, err) : csb_read_file(host, max, out, len, err);
}

static int host_mkdir(const char *host, csb_error *err) {
  if (mkdir(host, 0755) == 0 || errno == EEXIST) return 1;
  return csb_error_set(err, "cannot create directory `%s`: %s", host, strerror(errno));
}

static int host_write_replace(const char *host, const char *data, size_t len, csb_error *err) {
  char *tmp = csb_xasprintf("%s.tmp-%ld", host, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = 0;
  if (fd < 0) {
    csb_error_set(err, "cannot create `%s`: %s", tmp, strerror(errno));
    goto out;
  }
  if (!csb_write_all(fd, data, len) || fsync(fd) != 0) {
    csb_error_set(err, "cannot write `%s`: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  close(fd);
  if (rename(tmp, host) != 0) {
    csb_error_set(err, "cannot replace `%s`: %s", host, strerror(errno));
    unlink(tmp);
    goto out;
  }
  ok = 1;
out:
  free(tmp);
  return ok;
}

static int host_rename(const char *from, const char *to, csb_error *err) {
  if (rename(from, to) == 0) return 1;
  return csb_error_set(err, "cannot rename `%s`: %s", from, strerror(errno));
}

static const char kHostSep = '/';

#endif

/* ======================================================================
 * Mapping
 * ====================================================================== */

int wfs_open(const char *root, wfs **out, csb_error *err) {
  *out = NULL;
  if (root == NULL) {
#if defined(_WIN32)
    wfs *fs = csb_xcalloc(1, sizeof(*fs));
    *out = fs;
    return 1;
#else
    return csb_error_set(err, "this host has no Windows file system; pass --fs-root DIR");
#endif
  }
#if defined(_WIN32)
  char *host = csb_winpath_normalize(root);
  if (host == NULL) return csb_error_set(err, "--fs-root `%s` is not an absolute path", root);
#else
  if (root[0] != '/') return csb_error_set(err, "--fs-root `%s` is not an absolute path", root);
  char *host = csb_path_normalize(root);
#endif
  if (host_kind_follow(host) != WFS_DIR) {
    free(host);
    return csb_error_set(err, "--fs-root `%s` is not a directory", root);
  }
  wfs *fs = csb_xcalloc(1, sizeof(*fs));
  fs->root = csb_xstrdup(root);
  fs->root_host = host;
  fs->root_canon = host_realpath(host);
  if (fs->root_canon == NULL) fs->root_canon = csb_xstrdup(host);
  *out = fs;
  return 1;
}

void wfs_free(wfs *fs) {
  if (fs == NULL) return;
  free(fs->root);
  free(fs->root_host);
  free(fs->root_canon);
  free(fs);
}

static void host_join(csb_buf *b, const char *name) {
  if (b->len == 0 || b->data[b->len - 1] != kHostSep) csb_buf_putc(b, kHostSep);
  csb_buf_puts(b, name);
}

/* The host path of a Windows path. Components that do not exist as
 * spelled are matched case-insensitively against the directory's entries
 * (the bytewise-smallest match wins). */
static char *to_host(wfs *fs, const char *path) {
  if (fs->root_host == NULL) return csb_xstrdup(path);
  /* Normalised first: a `..` or `/` left in would lead out of the root. */
  char *norm = csb_winpath_normalize(path);
  csb_strv comps;
  csb_strv_init(&comps);
  split_components(norm != NULL ? norm : path, &comps);
  free(norm);
  csb_buf b = {0};
  csb_buf_puts(&b, fs->root_host);
  int resolving = 1;
  for (size_t i = 0; i < comps.len; i++) {
    const char *name = comps.items[i];
    size_t keep = b.len;
    host_join(&b, name);
    if (!resolving || host_lkind(b.data) != WFS_MISSING) continue;
    b.len = keep;
    b.data[keep] = '\0';
    csb_strv names;
    csb_strv_init(&names);
    const char *found = NULL;
    if (host_list(b.data, &names)) {
      sort_names(&names);
      for (size_t k = 0; k < names.len && found == NULL; k++)
        if (eq_fold(names.items[k], name)) found = names.items[k];
    }
    host_join(&b, found ? found : name);
    if (found == NULL) resolving = 0;
    csb_strv_free(&names);
  }
  csb_strv_free(&comps);
  return csb_buf_steal(&b);
}

/* The Windows path of a host path below the fs root, or NULL. */
static char *from_host(wfs *fs, const char *host) {
  if (fs->root_host == NULL) return csb_winpath_normalize(host);
  const char *roots[2] = {fs->root_canon, fs->root_host};
  for (int i = 0; i < 2; i++) {
    size_t n = strlen(roots[i]);
#if defined(_WIN32)
    int same = _strnicmp(host, roots[i], n) == 0;
#else
    int same = strncmp(host, roots[i], n) == 0;
#endif
    if (!same || (host[n] != kHostSep && host[n] != '\0')) continue;
    return join_components(host + n, kHostSep);
  }
  return NULL;
}

/* The Windows path of where host path `host` leads (links resolved), or
 * NULL when it does not exist or lies outside the fs root. */
static char *win_target(wfs *fs, const char *host) {
  char *real = host_realpath(host);
  char *w = real ? from_host(fs, real) : NULL;
  free(real);
  return w;
}

char *wfs_host_path(wfs *fs, const char *path) { return to_host(fs, path); }

wfs_kind wfs_lkind(wfs *fs, const char *path) {
  char *h = to_host(fs, path);
  wfs_kind k = host_lkind(h);
  free(h);
  return k;
}

wfs_kind wfs_kind_follow(wfs *fs, const char *path) {
  char *canon = wfs_canonical(fs, path);
  if (canon == NULL) return WFS_MISSING;
  char *h = to_host(fs, canon);
  wfs_kind k = host_kind_follow(h);
  free(h);
  free(canon);
  return k;
}

int wfs_list(wfs *fs, const char *path, csb_strv *names) {
  char *h = to_host(fs, path);
  csb_strv tmp;
  csb_strv_init(&tmp);
  int ok = host_list(h, &tmp);
  free(h);
  if (ok) {
    sort_names(&tmp);
    for (size_t i = 0; i < tmp.len; i++) csb_strv_push(names, tmp.items[i]);
  }
  csb_strv_free(&tmp);
  return ok;
}

char *wfs_canonical(wfs *fs, const char *path) {
  char *h = to_host(fs, path);
  char *w = win_target(fs, h);
  free(h);
  return w;
}

/* csb_winpath_canonical_fn over a wfs: an object that exists (not following
 * a final link) and whose canonical path stays inside the fs. */
static int effective_lookup(void *ctx, const char *path, char **out) {
  wfs *fs = ctx;
  *out = wfs_lkind(fs, path) != WFS_MISSING ? wfs_canonical(fs, path) : NULL;
  return *out != NULL;
}

char *wfs_effective(wfs *fs, const char *path) {
  char *out = NULL;
  if (!csb_winpath_effective_with(path, effective_lookup, fs, &out, NULL)) return csb_xstrdup(path);
  return out;
}

int wfs_read(wfs *fs, const char *path, size_t max, char **out, size_t *len, csb_error *err) {
  char *h = to_host(fs, path);
  int ok = host_read(h, max, 0, out, len, err);
  free(h);
  return ok;
}

int wfs_read_head(wfs *fs, const char *path, size_t max, char **out, size_t *len) {
  char *h = to_host(fs, path);
  int ok = host_read(h, max, 1, out, len, NULL);
  free(h);
  return ok;
}

int wfs_mkdirs(wfs *fs, const char *path, csb_error *err) {
  char *p = csb_winpath_normalize(path);
  if (p == NULL) return csb_error_set(err, "`%s` is not an absolute Windows path", path);
  csb_strv chain;
  csb_strv_init(&chain);
  for (char *cur = csb_xstrdup(p); cur != NULL;) {
    csb_strv_push_owned(&chain, cur);
    cur = csb_winpath_parent(chain.items[chain.len - 1]);
  }
  int ok = 1;
  for (size_t i = chain.len; i > 0 && ok; i--) {
    const char *c = chain.items[i - 1];
    if (wfs_kind_follow(fs, c) == WFS_DIR) continue;
    if (csb_winpath_is_root(c)) {
      if (fs->root_host == NULL) {
        ok = csb_error_set(err, "`%s` does not exist", c);
        break;
      }
      /* The drive (or share) directory of a fixture tree. */
      csb_strv comps;
      csb_strv_init(&comps);
      split_components(c, &comps);
      csb_buf b = {0};
      csb_buf_puts(&b, fs->root_host);
      for (size_t k = 0; k < comps.len && ok; k++) {
        host_join(&b, comps.items[k]);
        if (host_kind_follow(b.data) != WFS_DIR) ok = host_mkdir(b.data, err);
      }
      csb_buf_free(&b);
      csb_strv_free(&comps);
      continue;
    }
    char *h = to_host(fs, c);
    ok = host_mkdir(h, err);
    free(h);
    if (ok && wfs_kind_follow(fs, c) != WFS_DIR)
      ok = csb_error_set(err, "`%s` exists and is not a directory", c);
  }
  csb_strv_free(&chain);
  free(p);
  return ok;
}

int wfs_write_file(wfs *fs, const char *path, const char *data, size_t len, csb_error *err) {
  char *parent = csb_winpath_parent(path);
  if (parent == NULL) return csb_error_set(err, "`%s` is not a file path", path);
  int ok = wfs_mkdirs(fs, parent, err);
  free(parent);
  if (!ok) return 0;
  char *h = to_host(fs, path);
  ok = host_write_replace(h, data, len, err);
  free(h);
  return ok;
}

int wfs_rename(wfs *fs, const char *from, const char *to, csb_error *err) {
  char *a = to_host(fs, from), *b = to_host(fs, to);
  int ok = host_rename(a, b, err);
  free(a);
  free(b);
  return ok;
}

/* ======================================================================
 * Globs
 * ====================================================================== */

/* Windows patterns are matched folded: `\` -> `/`, names as NTFS compares
 * them (the policy library matches them the same way, so `\` is never an
 * escape). */
static char *fold_pattern(const char *s) {
  char *f = csb_winname_fold(s, strlen(s));
  for (char *c = f; *c; c++)
    if (*c == '\\') *c = '/';
  return f;
}

static int pattern_absolute(const char *f) {
  if (isalpha((unsigned char)f[0]) && f[1] == ':' && f[2] == '/') return 1;
  return f[0] == '/' && f[1] == '/';
}

/* Compiles the folded pattern and finds its prefix as spelled: *prefix_len
 * is the length of the literal prefix in the pattern text (folding may
 * change the length of a name), *win_prefix its normalised Windows form. */
static int glob_split(const char *pattern, csb_glob **g, size_t *prefix_len, char **win_prefix,
                      csb_error *err) {
  *g = NULL;
  *win_prefix = NULL;
  char *f = fold_pattern(pattern);
  int ok = 0;
  if (!pattern_absolute(f)) {
    csb_error_set(err, "the pattern is not an absolute Windows path");
    goto out;
  }
  if (!csb_glob_compile(f, g, err)) goto out;
  const char *sp = csb_glob_static_prefix(*g);
  size_t n = strlen(sp);
  size_t src = csb_glob_static_prefix_source_len(*g);
  if (n < 2 || src < n) {
    csb_error_set(err, "the pattern has no literal drive or share prefix");
    goto out;
  }
  /* As the pattern spells it; a class of one member (`[k]`, or `[sS]`
   * once folded) is a literal of the glob the text does not spell, and
   * the prefix is then written as folded. */
  char *spelled = strncmp(sp, f, n) == 0 && src == n
                      ? csb_xstrndup(pattern, csb_winname_prefix_bytes(pattern, n))
                      : csb_xstrdup(sp);
  n = csb_winname_prefix_bytes(pattern, src);
  char *withsep = csb_xasprintf("%s\\", spelled);
  *win_prefix = csb_winpath_normalize(withsep);
  free(spelled);
  free(withsep);
  if (*win_prefix == NULL) {
    csb_error_set(err, "the pattern has no literal drive or share prefix");
    goto out;
  }
  *prefix_len = n;
  ok = 1;
out:
  if (!ok) {
    csb_glob_free(*g);
    *g = NULL;
  }
  free(f);
  return ok;
}

char *wfs_glob_prefix(const char *pattern, size_t *raw_len, csb_error *err) {
  csb_glob *g = NULL;
  char *prefix = NULL;
  if (!glob_split(pattern, &g, raw_len, &prefix, err)) return NULL;
  csb_glob_free(g);
  return prefix;
}

int wfs_glob_scan_depth(const char *pattern, int cap) {
  csb_glob *g = NULL;
  char *prefix = NULL;
  size_t n = 0;
  csb_error e;
  csb_error_clear(&e);
  int depth = cap > 0 ? cap : CSB_GLOB_DEPTH_UNLIMITED;
  if (glob_split(pattern, &g, &n, &prefix, &e)) depth = csb_glob_scan_depth(g, cap);
  csb_glob_free(g);
  free(prefix);
  return depth;
}

/* Host prefix in the form the glob walker takes: `/`-separated. */
static char *walker_form(const char *host) {
  char *s = csb_xstrdup(host);
  for (char *c = s; *c; c++)
    if (*c == '\\') *c = '/';
  size_t n = strlen(s);
  while (n > 1 && s[n - 1] == '/') s[--n] = '\0';
  return s;
}

/* ---- below directory links ------------------------------------------------
 *
 * The walker does not enter links (junctions, symlinks). The policy
 * matches paths lexically, so `C:\repo\lnk\a.env` is denied by
 * `C:\repo\**\*.env` even when `lnk` leads elsewhere: what lies below a
 * link is walked here, by the link's lexical path, and every match is
 * denied under that path and its canonical target. */

typedef struct follow_ctx {
  wfs *fs;
  const char *walk_root; /* walker form of the prefix's host path */
  const char *win_prefix;
  size_t max_matches, nmatches;
  csb_strv *matches, *targets;
} follow_ctx;

/* A walker-form path as the pattern matches it: names below the walk root
 * folded (the walker folds them the same way). */
static char *follow_test_form(void *ctx, const char *lex) {
  const follow_ctx *C = ctx;
  size_t rn = strlen(C->walk_root);
  csb_buf b = {0};
  csb_buf_append(&b, lex, rn);
  csb_winname_fold_into(&b, lex + rn, strlen(lex + rn));
  return csb_buf_steal(&b);
}

/* The part of walker-form `m` below `walk_root`, or NULL when `m` does not
 * lie below it. */
static const char *walker_tail(const char *walk_root, const char *m) {
  size_t rn = strlen(walk_root);
  return strncmp(m, walk_root, rn) == 0 && m[rn] == '/' ? m + rn + 1 : NULL;
}

/* A walker-form relative path with Windows separators. */
static char *win_rel(const char *tail) {
  char *rel = csb_xstrdup(tail);
  for (char *c = rel; *c; c++)
    if (*c == '/') *c = '\\';
  return rel;
}

/* Host path of a walker-form or host path (separators of this host). */
static char *host_form(const char *p) {
  char *h = csb_xstrdup(p);
#if defined(_WIN32)
  for (char *c = h; *c; c++)
    if (*c == '/') *c = '\\';
#endif
  return h;
}

/* 1 when host path `path` is `dir` or lies below it. */
static int host_under(const char *dir, const char *path) {
  size_t n = strlen(dir);
#if defined(_WIN32)
  if (_strnicmp(dir, path, n) != 0) return 0;
#else
  if (strncmp(dir, path, n) != 0) return 0;
#endif
  return path[n] == '\0' || path[n] == '/' || path[n] == '\\' ||
         (n > 0 && (dir[n - 1] == '/' || dir[n - 1] == '\\'));
}

static int follow_list(void *ctx, const char *dir, csb_strv *names, csb_error *err) {
  (void)ctx;
  (void)err;
  return host_list(dir, names);
}

static csb_glob_node follow_kind(void *ctx, const char *path) {
  (void)ctx;
  switch (host_lkind(path)) {
    case WFS_MISSING:
      return CSB_GLOB_NODE_MISSING;
    case WFS_DIR:
      return CSB_GLOB_NODE_DIR;
    case WFS_LINK:
      return CSB_GLOB_NODE_LINK;
    default:
      return CSB_GLOB_NODE_OTHER;
  }
}

/* The canonical host path of the directory a link leads to, when that
 * lies inside the fs root. */
static char *follow_dir_target(void *ctx, const char *link_host) {
  const follow_ctx *C = ctx;
  char *t = host_realpath(link_host);
  char *w = t ? from_host(C->fs, t) : NULL;
  if (w == NULL || host_kind_follow(t) != WFS_DIR) {
    free(w);
    free(t);
    return NULL;
  }
  free(w);
  return t;
}

static char *follow_join(void *ctx, const char *dir, const char *name) {
  (void)ctx;
  csb_buf b = {0};
  csb_buf_puts(&b, dir);
  host_join(&b, name);
  return csb_buf_steal(&b);
}

static int follow_under(void *ctx, const char *dir, const char *path) {
  (void)ctx;
  return host_under(dir, path);
}

static char *follow_link_path(void *ctx, const char *lex) {
  (void)ctx;
  return host_form(lex);
}

/* A match below a link: denied under its lexical Windows path and its
 * canonical target. */
static int follow_match(void *ctx, const char *lex, const char *path, csb_glob_node kind,
                        csb_error *err) {
  (void)kind;
  follow_ctx *C = ctx;
  if (++C->nmatches > C->max_matches)
    return csb_error_set(err, "more than %zu matching paths under `%s`", C->max_matches,
                         C->win_prefix);
  char *rel = win_rel(walker_tail(C->walk_root, lex));
  char *w = csb_winpath_join(C->win_prefix, rel);
  if (w != NULL) csb_strv_push_owned(C->matches, w);
  char *t = win_target(C->fs, path);
  if (t != NULL) csb_strv_push_owned(C->targets, t);
  free(rel);
  return 1;
}

static const csb_glob_links_ops k_follow_ops = {
    .list = follow_list,
    .kind = follow_kind,
    .dir_target = follow_dir_target,
    .join = follow_join,
    .under = follow_under,
    .test_form = follow_test_form,
    .link_path = follow_link_path,
    .on_match = follow_match,
};

int wfs_glob_expand(wfs *fs, const char *pattern, int max_depth, size_t max_matches,
                    csb_strv *matches, csb_strv *targets, csb_error *err) {
  csb_glob *g = NULL;
  size_t plen = 0;
  char *win_prefix = NULL;
  if (!glob_split(pattern, &g, &plen, &win_prefix, err)) return 0;
  char *folded = fold_pattern(pattern);
  char *host = to_host(fs, win_prefix);
  char *walk_root = walker_form(host);
  /* The canonical prefix, when reaching it crosses a link. */
  char *canon_prefix = NULL;
  if (host_lkind(host) != WFS_MISSING) {
    char *w = win_target(fs, host);
    if (w != NULL && strcmp(w, win_prefix) != 0 && !csb_winpath_equal(w, win_prefix))
      canon_prefix = w;
    else
      free(w);
  }
  /* The pattern below the prefix, re-rooted at the host directory. */
  csb_buf rebased = {0};
  char *esc = csb_glob_escape(walk_root, 0);
  csb_buf_puts(&rebased, esc);
  free(esc);
  char *folded_prefix = csb_winname_fold(pattern, plen);
  csb_buf_puts(&rebased, folded + strlen(folded_prefix));
  free(folded_prefix);
  csb_glob *hg = NULL;
  csb_strv found, links;
  csb_strv_init(&found);
  csb_strv_init(&links);
  int ok = csb_glob_compile(rebased.data, &hg, err);
  if (ok) {
    csb_glob_expand_opts o;
    memset(&o, 0, sizeof o);
    o.max_depth = max_depth;
    o.max_matches = max_matches;
    o.flags = CSB_GLOB_EXPAND_FOLD_CASE | CSB_GLOB_EXPAND_FOLD_WINDOWS;
    o.links = &links;
    ok = csb_glob_expand_ex(hg, &o, &found, err);
    if (!ok && err != NULL) {
      /* Name the directory as the policy does, not by its host path. */
      char *at = strstr(err->msg, walk_root);
      if (at != NULL) {
        char *msg = csb_xasprintf("%.*s%s%s", (int)(at - err->msg), err->msg, win_prefix,
                                  at + strlen(walk_root));
        csb_error_set(err, "%s", msg);
        free(msg);
      }
    }
  }
  if (ok) {
    for (size_t i = 0; i < found.len; i++) {
      const char *m = found.items[i];
      const char *tail = walker_tail(walk_root, m);
      if (tail == NULL) continue;
      char *rel = win_rel(tail);
      char *w = csb_winpath_join(win_prefix, rel);
      if (w == NULL) {
        free(rel);
        continue;
      }
      csb_strv_push_owned(matches, w);
      /* Lexical and canonical target: a link is resolved; anything else
       * has the canonical prefix's spelling when the prefix crosses one
       * (the walker never enters a link). */
      char *hm = host_form(m);
      char *t = NULL;
      if (host_lkind(hm) == WFS_LINK)
        t = win_target(fs, hm);
      else if (canon_prefix != NULL)
        t = csb_winpath_join(canon_prefix, rel);
      if (t != NULL) csb_strv_push_owned(targets, t);
      free(hm);
      free(rel);
    }
  }
  if (ok && links.len > 0) {
    follow_ctx C = {fs, walk_root, win_prefix, max_matches, found.len, matches, targets};
    csb_glob_links_walk W = {&k_follow_ops, &C, hg, max_depth, 0, win_prefix};
    ok = csb_glob_walk_links(&W, walk_root, &links, err);
    if (ok) {
      /* In sorted order, as the walker's (the caller may dedupe). */
      csb_strv_sort_unique(matches);
      csb_strv_sort_unique(targets);
    }
  }
  csb_strv_free(&links);
  csb_strv_free(&found);
  csb_glob_free(hg);
  csb_buf_free(&rebased);
  free(canon_prefix);
  free(walk_root);
  free(host);
  free(folded);
  free(win_prefix);
  csb_glob_free(g);
  return ok;
}
