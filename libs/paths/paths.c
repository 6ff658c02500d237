/* paths.c - lexical path helpers and symlink-aware canonicalisation. */
#define _GNU_SOURCE
#include "csb_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathmemo.h"

/* ---- component iteration ------------------------------------------------ */

/* Advances *pp to the next component that is neither empty nor ".".
 * Returns 0 at the end of the string. */
static int next_comp(const char **pp, const char **start, size_t *len) {
  const char *p = *pp;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) {
      *pp = p;
      return 0;
    }
    const char *s = p;
    while (*p && *p != '/') p++;
    if (p - s == 1 && s[0] == '.') continue;
    *start = s;
    *len = (size_t)(p - s);
    *pp = p;
    return 1;
  }
}

static int comp_is_dotdot(const char *s, size_t n) {
  return n == 2 && s[0] == '.' && s[1] == '.';
}

/* ---- lexical ------------------------------------------------------------- */

int csb_path_is_absolute(const char *path) { return path && path[0] == '/'; }

/* Normalises the path made of `head` and then `tail` (NULL for none) as
 * if they were joined with a '/': the components of both, in order, into
 * one new string. */
static char *normalize_parts(const char *head, const char *tail) {
  size_t n = strlen(head) + (tail ? strlen(tail) + 1 : 0);
  char *out = csb_xmalloc(n + 2);
  int abs = head[0] == '/';
  size_t o = 0;
  if (abs) out[o++] = '/';
  size_t base = o;
  size_t ncomps = 0, nleading_dotdot = 0;
  const char *parts[2] = {head, tail};
  for (size_t k = 0; k < 2 && parts[k] != NULL; k++) {
    const char *p = parts[k], *s;
    size_t len;
    while (next_comp(&p, &s, &len)) {
      if (comp_is_dotdot(s, len)) {
        if (abs || ncomps > nleading_dotdot) {
          if (ncomps == 0) continue; /* ".." at the root */
          while (o > base && out[o - 1] != '/') o--;
          if (o > base) o--; /* the separator before the component */
          ncomps--;
          continue;
        }
        nleading_dotdot++;
      }
      if (o > base) out[o++] = '/';
      memcpy(out + o, s, len);
      o += len;
      ncomps++;
    }
  }
  if (o == 0) out[o++] = '.';
  out[o] = '\0';
  return out;
}

char *csb_path_normalize(const char *path) { return normalize_parts(path, NULL); }

char *csb_path_join(const char *base, const char *rel) {
  if (rel[0] == '/' || base[0] == '\0') return csb_path_normalize(rel);
  return normalize_parts(base, rel);
}

int csb_path_expand_home(const char *path, const char *home, char **out,
                         csb_error *err) {
  if (path[0] != '~' || (path[1] != '\0' && path[1] != '/')) {
    *out = csb_xstrdup(path);
    return 1;
  }
  if (!home || !home[0])
    return csb_error_set(err, "cannot expand `%s`: the home directory is unknown",
                         path);
  if (home[0] != '/')
    return csb_error_set(err, "cannot expand `%s`: home directory `%s` is not absolute",
                         path, home);
  const char *rest = path + 1;
  while (*rest == '/') rest++;
  *out = csb_path_join(home, rest);
  return 1;
}

/* When every component of `prefix` starts `path`, returns 1 and sets
 * *rest to the remainder of `path`. */
static int match_prefix(const char *prefix, const char *path, const char **rest) {
  if ((prefix[0] == '/') != (path[0] == '/')) return 0;
  const char *a = prefix, *b = path, *as, *bs;
  size_t al, bl;
  while (next_comp(&a, &as, &al)) {
    if (!next_comp(&b, &bs, &bl)) return 0;
    if (al != bl || memcmp(as, bs, al) != 0) return 0;
  }
  *rest = b;
  return 1;
}

int csb_path_is_under(const char *prefix, const char *path) {
  const char *rest;
  return match_prefix(prefix, path, &rest);
}

const char *csb_path_rest_under(const char *prefix, const char *path) {
  const char *rest;
  return match_prefix(prefix, path, &rest) ? rest : NULL;
}

int csb_path_is_strictly_under(const char *prefix, const char *path) {
  const char *rest, *s;
  size_t len;
  if (!match_prefix(prefix, path, &rest)) return 0;
  return next_comp(&rest, &s, &len);
}

size_t csb_path_depth(const char *path) {
  size_t n = 0, len;
  const char *p = path, *s;
  while (next_comp(&p, &s, &len)) n++;
  return n;
}

char *csb_path_parent(const char *path) {
  char *norm = csb_path_normalize(path);
  if (strcmp(norm, "/") == 0 || strcmp(norm, ".") == 0) {
    free(norm);
    return NULL;
  }
  char *slash = strrchr(norm, '/');
  if (!slash) {
    free(norm);
    return csb_xstrdup(".");
  }
  if (slash == norm)
    slash[1] = '\0';
  else
    slash[0] = '\0';
  return norm;
}

char *csb_path_basename(const char *path) {
  char *norm = csb_path_normalize(path);
  if (strcmp(norm, "/") == 0) {
    norm[0] = '\0';
    return norm;
  }
  char *slash = strrchr(norm, '/');
  char *out = csb_xstrdup(slash ? slash + 1 : norm);
  free(norm);
  return out;
}

char *csb_path_relative_to(const char *root, const char *path) {
  const char *rest, *s;
  size_t len;
  if (!match_prefix(root, path, &rest)) return NULL;
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "");
  while (next_comp(&rest, &s, &len)) {
    if (b.len) csb_buf_putc(&b, '/');
    csb_buf_append(&b, s, len);
  }
  return csb_buf_steal(&b);
}

int csb_path_has_glob(const char *s) { return strpbrk(s, "*?[]") != NULL; }

/* ---- filesystem ------------------------------------------------------------ */

#if defined(_WIN32)
/* Windows builds (mingw-w64): these functions work on POSIX-style paths and
 * see no symbolic links there (Windows paths have csb_winpath_* and the
 * tools' own Win32 code). */
#define S_ISLNK(m) 0
static int lstat_ok(const char *p, struct stat *st) { return stat(p, st) == 0; }

static ssize_t read_link(const char *p, char **buf, size_t *cap) {
  (void)p;
  (void)buf;
  (void)cap;
  errno = EINVAL;
  return -1;
}
#else
static int lstat_ok(const char *p, struct stat *st) {
  return fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Reads the target of the symlink at `p` into *buf (NUL-terminated).
 * Returns the length, or -1 with errno set. */
static ssize_t read_link(const char *p, char **buf, size_t *cap) {
  for (;;) {
    if (*cap < 256) {
      *cap = 256;
      *buf = csb_xrealloc(*buf, *cap);
    }
    ssize_t n = readlinkat(AT_FDCWD, p, *buf, *cap);
    if (n < 0) return -1;
    if ((size_t)n < *cap) {
      (*buf)[n] = '\0';
      return n;
    }
    if (*cap >= 65536) {
      errno = ENAMETOOLONG;
      return -1;
    }
    *cap *= 2;
    *buf = csb_xrealloc(*buf, *cap);
  }
}
#endif

char *csb_path_read_link(const char *path) {
  char *buf = NULL;
  size_t cap = 0;
  if (read_link(path, &buf, &cap) < 0) {
    int e = errno;
    free(buf);
    errno = e;
    return NULL;
  }
  return buf;
}

/* lstat(2) of `p` through the memo `m` (NULL: no memo): 1 and *st, or 0
 * with errno set. */
static int lstat_memo(csb_path_memo *m, const char *p, struct stat *st) {
  if (m == NULL) return lstat_ok(p, st);
  csb_path_memo_rec *r = csb_path_memo_rec_of(m, p);
  if (!r->has_lstat) {
    r->has_lstat = 1;
    r->lstat_err = lstat_ok(p, &r->lst) ? 0 : errno;
  }
  if (r->lstat_err != 0) {
    errno = r->lstat_err;
    return 0;
  }
  *st = r->lst;
  return 1;
}

/* lstat_memo's st_mode. */
static int lstat_mode(csb_path_memo *m, const char *p, unsigned *mode) {
  struct stat st;
  if (!lstat_memo(m, p, &st)) return 0;
  *mode = (unsigned)st.st_mode;
  return 1;
}

int csb_path_lstat_memo(csb_path_memo *m, const char *path, struct stat *st) {
  return lstat_memo(m, path, st);
}

int csb_path_stat_memo(csb_path_memo *m, const char *path, struct stat *st) {
  if (m == NULL) return stat(path, st) == 0;
  /* stat and lstat walk to the last component alike and differ only when
   * it is a symlink: the lstat (which the work asks of most paths anyway)
   * answers otherwise, a failure included. */
  if (!lstat_memo(m, path, st)) return 0;
  if (!S_ISLNK(st->st_mode)) return 1;
  csb_path_memo_rec *r = csb_path_memo_rec_of(m, path);
  if (!r->has_stat) {
    r->has_stat = 1;
    r->stat_err = stat(path, st) == 0 ? 0 : errno;
    if (r->stat_err == 0) {
      r->st = csb_xmalloc(sizeof *r->st);
      *r->st = *st;
    }
  }
  if (r->stat_err != 0) {
    errno = r->stat_err;
    return 0;
  }
  *st = *r->st;
  return 1;
}

/* faccessat(2) with AT_EACCESS, without a memo: 0 or the errno. */
static int eaccess_err(const char *path, int mode) {
#if defined(_WIN32)
  (void)path;
  (void)mode;
  return ENOSYS;
#else
  return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0 ? 0 : errno;
#endif
}

int csb_path_eaccess_memo(csb_path_memo *m, const char *path, int mode) {
  int e;
  if (m == NULL) {
    e = eaccess_err(path, mode);
  } else {
    csb_path_memo_rec *r = csb_path_memo_rec_of(m, path);
    if (!r->has_access) {
      r->has_access = 1;
      r->access_mode = mode;
      r->access_err = eaccess_err(path, mode);
    }
    /* One mode is remembered per path: another is asked each time. */
    e = r->access_mode == mode ? r->access_err : eaccess_err(path, mode);
  }
  errno = e;
  return e == 0;
}

/* read_link through the memo `m` (NULL: no memo). */
static ssize_t read_link_memo(csb_path_memo *m, const char *p, char **buf, size_t *cap) {
  if (m == NULL) return read_link(p, buf, cap);
  csb_path_memo_rec *r = csb_path_memo_rec_of(m, p);
  if (!r->has_link) {
    char *b = NULL;
    size_t c = 0;
    r->has_link = 1;
    r->link_err = read_link(p, &b, &c) < 0 ? errno : 0;
    if (r->link_err == 0)
      r->link = b;
    else
      free(b);
  }
  if (r->link_err != 0) {
    errno = r->link_err;
    return -1;
  }
  size_t n = strlen(r->link);
  if (*cap < n + 1) {
    *cap = n + 1 < 256 ? 256 : n + 1;
    *buf = csb_xrealloc(*buf, *cap);
  }
  memcpy(*buf, r->link, n + 1);
  return (ssize_t)n;
}

/* Resolves every symlink, "." and ".." of the absolute `path` physically,
 * like realpath(3). The result (in `res`) never has a trailing '/'.
 * Returns 0 with errno set when a component is missing, is not a directory
 * where one is needed, cannot be inspected, or when more than
 * CSB_PATH_MAX_SYMLINKS symlinks had to be followed. */
/* Called for every symlink resolve_physical follows: the link's absolute
 * path (its directory already resolved) and its content as read. */
typedef void (*link_fn)(void *ctx, const char *link, const char *target);

static int resolve_physical_links(csb_path_memo *m, const char *path, csb_buf *res,
                                  link_fn on_link, void *ctx, int missing_ok) {
  csb_buf rest, tmp;
  csb_buf_init(&rest);
  csb_buf_init(&tmp);
  csb_buf_puts(&rest, path);
  csb_buf_reset(res);
  csb_buf_puts(res, "");
  char *link = NULL;
  size_t link_cap = 0, pos = 0;
  int hops = 0, last_dir = 1, ok = 0;
  for (;;) {
    while (pos < rest.len && rest.data[pos] == '/') pos++;
    if (pos >= rest.len) break;
    size_t s = pos;
    while (pos < rest.len && rest.data[pos] != '/') pos++;
    size_t clen = pos - s;
    const char *c = rest.data + s;
    if (!last_dir) {
      errno = ENOTDIR;
      goto out;
    }
    if (clen == 1 && c[0] == '.') continue;
    if (comp_is_dotdot(c, clen)) {
      while (res->len > 0 && res->data[res->len - 1] != '/') res->len--;
      if (res->len > 0) res->len--;
      res->data[res->len] = '\0';
      continue;
    }
    size_t save = res->len;
    csb_buf_putc(res, '/');
    csb_buf_append(res, c, clen);
    unsigned mode;
    if (!lstat_mode(m, res->data, &mode)) {
      if (!missing_ok || errno != ENOENT) goto out;
      /* missing: the rest as written, resolved lexically */
      res->len = save;
      csb_buf_putc(res, '/');
      csb_buf_append(res, c, rest.len - s);
      char *norm = csb_path_normalize(res->data);
      csb_buf_reset(res);
      csb_buf_puts(res, norm);
      free(norm);
      ok = 1;
      goto out;
    }
    if (S_ISLNK(mode)) {
      if (++hops > CSB_PATH_MAX_SYMLINKS) {
        errno = ELOOP;
        goto out;
      }
      ssize_t tl = read_link_memo(m, res->data, &link, &link_cap);
      if (tl < 0) goto out;
      if (tl == 0) {
        errno = ENOENT;
        goto out;
      }
      if (on_link) on_link(ctx, res->data, link);
      res->len = link[0] == '/' ? 0 : save;
      res->data[res->len] = '\0';
      csb_buf_reset(&tmp);
      csb_buf_append(&tmp, link, (size_t)tl);
      csb_buf_putc(&tmp, '/');
      csb_buf_append(&tmp, rest.data + pos, rest.len - pos);
      csb_buf t = rest;
      rest = tmp;
      tmp = t;
      pos = 0;
      last_dir = 1;
      continue;
    }
    last_dir = S_ISDIR(mode);
  }
  if (res->len == 0) csb_buf_putc(res, '/');
  ok = 1;
out:;
  int e = errno;
  csb_buf_free(&rest);
  csb_buf_free(&tmp);
  free(link);
  errno = e;
  return ok;
}

static int resolve_physical(csb_path_memo *m, const char *path, csb_buf *res) {
  return resolve_physical_links(m, path, res, NULL, NULL, 0);
}

static int need_absolute(const char *path, csb_error *err) {
  if (path[0] == '/') return 1;
  return csb_error_set(err, "path `%s` is not absolute", path);
}

typedef struct link_list {
  csb_path_link *items;
  size_t n, cap;
} link_list;

static void collect_link(void *ctx, const char *link, const char *target) {
  link_list *l = ctx;
  l->items = csb_xgrow(l->items, &l->cap, l->n + 1, sizeof *l->items);
  l->items[l->n].path = csb_xstrdup(link);
  l->items[l->n].target = csb_xstrdup(target);
  l->n++;
}

static int canonicalize(csb_path_memo *m, const char *path, char **out, link_list *links,
                        csb_error *err) {
  if (!need_absolute(path, err)) return 0;
  char *norm = csb_path_normalize(path);
  csb_buf res;
  csb_buf_init(&res);
  if (!resolve_physical_links(m, norm, &res, links ? collect_link : NULL, links, 0)) {
    int e = errno;
    csb_buf_free(&res);
    free(norm);
    if (e == ELOOP)
      return csb_error_set(err,
                           "cannot canonicalize `%s`: too many levels of symbolic links",
                           path);
    return csb_error_set(err, "cannot canonicalize `%s`: %s", path, strerror(e));
  }
  free(norm);
  *out = csb_buf_steal(&res);
  return 1;
}

int csb_path_canonicalize(const char *path, char **out, csb_error *err) {
  return canonicalize(NULL, path, out, NULL, err);
}

int csb_path_canonicalize_memo(csb_path_memo *m, const char *path, char **out, csb_error *err) {
  return canonicalize(m, path, out, NULL, err);
}

int csb_path_resolve_links(const char *path, char **out, csb_path_link **links,
                           size_t *n_links, csb_error *err) {
  return csb_path_resolve_links_memo(NULL, path, out, links, n_links, err);
}

int csb_path_resolve_links_memo(csb_path_memo *m, const char *path, char **out,
                                csb_path_link **links, size_t *n_links, csb_error *err) {
  link_list l = {NULL, 0, 0};
  *links = NULL;
  *n_links = 0;
  if (!canonicalize(m, path, out, &l, err)) {
    csb_path_links_free(l.items, l.n);
    return 0;
  }
  *links = l.items;
  *n_links = l.n;
  return 1;
}

int csb_path_leads_to_memo(csb_path_memo *m, const char *path, char **out) {
  *out = NULL;
  if (path[0] != '/') {
    errno = EINVAL;
    return 0;
  }
  char *norm = csb_path_normalize(path);
  csb_buf res;
  csb_buf_init(&res);
  int ok = resolve_physical_links(m, norm, &res, NULL, NULL, 1);
  int e = errno;
  free(norm);
  if (ok)
    *out = csb_buf_steal(&res);
  else
    csb_buf_free(&res);
  errno = e;
  return ok;
}

void csb_path_links_free(csb_path_link *links, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(links[i].path);
    free(links[i].target);
  }
  free(links);
}

/* Length of the ancestor of the normalised absolute `p` that ends before
 * byte `end` (exclusive), i.e. the position of the previous '/'. For "/a"
 * this is 1 (the root, kept as "/"). */
static size_t parent_len(const char *p, size_t end) {
  while (end > 1 && p[end - 1] != '/') end--;
  if (end > 1) end--; /* drop the separator */
  return end;
}

/* Joins the ancestor replacement `head` with the suffix of `norm` starting
 * at `cut` (which is either the end or a '/'). */
static char *join_suffix(const char *head, const char *norm, size_t cut) {
  const char *suffix = norm + cut;
  while (*suffix == '/') suffix++;
  return csb_path_join(head, suffix);
}

/* Walks the ancestors of `norm` from the deepest one and calls `fn` on the
 * first that exists (lstat). `fn` returns 1 with *head set to accept the
 * ancestor, or 0 to move on to its parent. */
typedef int (*ancestor_fn)(csb_path_memo *m, const char *anc, char **head);

static char *on_existing_ancestor(csb_path_memo *m, char *norm, ancestor_fn fn) {
  size_t len = strlen(norm);
  for (;;) {
    char saved = norm[len];
    norm[len] = '\0';
    unsigned mode;
    char *head = NULL;
    int accepted = lstat_mode(m, norm, &mode) && fn(m, norm, &head);
    norm[len] = saved;
    if (accepted) {
      char *res = join_suffix(head, norm, len);
      free(head);
      return res;
    }
    if (len <= 1) break;
    len = parent_len(norm, len);
  }
  return csb_xstrdup(norm);
}

static int accept_canonical(csb_path_memo *m, const char *anc, char **head) {
  csb_buf res;
  csb_buf_init(&res);
  if (!resolve_physical(m, anc, &res)) {
    csb_buf_free(&res);
    return 0;
  }
  *head = csb_buf_steal(&res);
  return 1;
}

int csb_path_canonical_existing_prefix(const char *path, char **out,
                                       csb_error *err) {
  if (!need_absolute(path, err)) return 0;
  char *norm = csb_path_normalize(path);
  *out = on_existing_ancestor(NULL, norm, accept_canonical);
  free(norm);
  return 1;
}

/* Codex's should_preserve_logical_path: some component of `p` below the
 * top level ("/x/y" or deeper) is a symlink. */
static int has_nested_symlink(csb_path_memo *m, const char *p) {
  size_t n = strlen(p);
  char *buf = csb_xstrdup(p);
  int found = 0;
  size_t depth = 0;
  for (size_t i = 1; i <= n && !found; i++) {
    if (i < n && p[i] != '/') continue;
    depth++;
    if (depth < 2) continue;
    char saved = buf[i];
    buf[i] = '\0';
    unsigned mode;
    if (lstat_mode(m, buf, &mode) && S_ISLNK(mode)) found = 1;
    buf[i] = saved;
  }
  free(buf);
  return found;
}

static int accept_preserving(csb_path_memo *m, const char *anc, char **head) {
  csb_buf res;
  csb_buf_init(&res);
  if (!resolve_physical(m, anc, &res)) {
    csb_buf_free(&res);
    *head = csb_xstrdup(anc);
    return 1;
  }
  if (strcmp(res.data, anc) != 0 && has_nested_symlink(m, anc)) {
    csb_buf_free(&res);
    *head = csb_xstrdup(anc);
    return 1;
  }
  *head = csb_buf_steal(&res);
  return 1;
}

int csb_path_effective(const char *path, char **out, csb_error *err) {
  return csb_path_effective_memo(NULL, path, out, err);
}

int csb_path_effective_memo(csb_path_memo *m, const char *path, char **out, csb_error *err) {
  if (!need_absolute(path, err)) return 0;
  if (m != NULL) {
    csb_path_memo_rec *r = csb_path_memo_rec_of(m, path);
    if (r->effective != NULL) {
      *out = csb_xstrdup(r->effective);
      return 1;
    }
  }
  char *norm = csb_path_normalize(path);
  *out = on_existing_ancestor(m, norm, accept_preserving);
  free(norm);
  /* The record again: resolving added others and may have moved it. */
  if (m != NULL) csb_path_memo_rec_of(m, path)->effective = csb_xstrdup(*out);
  return 1;
}

int csb_path_file_type_memo(csb_path_memo *m, const char *path, csb_file_type *type) {
  unsigned mode;
  *type = CSB_FILE_NONE;
  if (!lstat_mode(m, path, &mode)) return 0;
  if (S_ISLNK(mode))
    *type = CSB_FILE_LINK;
  else if (S_ISDIR(mode))
    *type = CSB_FILE_DIR;
  else if (S_ISREG(mode))
    *type = CSB_FILE_REGULAR;
  else
    *type = CSB_FILE_OTHER;
  return 1;
}

int csb_path_find_symlink(const char *path, const char *under,
                          char **link_out, csb_error *err) {
  return csb_path_find_symlink_memo(NULL, path, under, link_out, err);
}

int csb_path_find_symlink_memo(csb_path_memo *m, const char *path, const char *under,
                               char **link_out, csb_error *err) {
  *link_out = NULL;
  if (!need_absolute(path, err)) return 0;
  char *norm = csb_path_normalize(path);
  size_t n = strlen(norm);
  int ok = 1;
  for (size_t i = 1; i <= n; i++) {
    if (i < n && norm[i] != '/') continue;
    char saved = norm[i];
    norm[i] = '\0';
    if (under && !csb_path_is_strictly_under(under, norm)) {
      norm[i] = saved;
      continue;
    }
    struct stat st;
    if (!lstat_memo(m, norm, &st)) {
      int e = errno;
      if (e != ENOENT && e != ENOTDIR)
        ok = csb_error_set(err, "cannot inspect `%s`: %s", norm, strerror(e));
      break;
    }
    if (S_ISLNK(st.st_mode)) {
      *link_out = csb_xstrdup(norm);
      break;
    }
    norm[i] = saved;
  }
  free(norm);
  return ok;
}
