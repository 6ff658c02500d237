/* host.c - host facts for profile generation: this host's filesystem
 * (optionally with macOS's top-level aliases assumed), a host where
 * nothing exists, and the alias rewrite of a policy document. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_paths.h"
#include "csb_sbpl.h"
#include "sbpl_internal.h"

/* ---- helpers ----------------------------------------------------------------- */

/* Length of the first component of an absolute path ("/tmp/x" -> 4 for
 * "/tmp"); 0 for "/". */
static size_t first_len(const char *path) {
  if (path[0] != '/' || path[1] == '\0') return 0;
  return 1 + strcspn(path + 1, "/");
}

/* ---- this host ------------------------------------------------------------- */

typedef struct system_ctx {
  int assume_macos;
} system_ctx;

static const char *const macos_aliases[][2] = {
    {"/etc", "/private/etc"},
    {"/tmp", "/private/tmp"},
    {"/var", "/private/var"},
};

static char *system_alias(const void *ctx, const char *path) {
  const system_ctx *c = ctx;
  size_t n = first_len(path);
  if (n == 0) return NULL;
  if (c->assume_macos) {
    for (size_t i = 0; i < CSB_ARRAY_LEN(macos_aliases); i++)
      if (strlen(macos_aliases[i][0]) == n && strncmp(path, macos_aliases[i][0], n) == 0)
        return csb_xasprintf("%s%s", macos_aliases[i][1], path + n);
    return NULL;
  }
  char *top = csb_xstrndup(path, n);
  struct stat st;
  char *out = NULL;
  if (fstatat(AT_FDCWD, top, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    char *target = NULL;
    if (csb_path_canonicalize(top, &target, NULL)) {
      out = strcmp(target, "/") == 0 ? csb_xstrdup(path[n] ? path + n : "/")
                                     : csb_xasprintf("%s%s", target, path + n);
      free(target);
    }
  }
  free(top);
  return out;
}

static char *system_resolve_alias(const void *ctx, const char *path) {
  char *a = system_alias(ctx, path);
  return a ? a : csb_xstrdup(path);
}

static csb_sbpl_kind system_kind(const void *ctx, const char *path) {
  char *p = system_resolve_alias(ctx, path);
  struct stat st;
  csb_sbpl_kind k = CSB_SBPL_MISSING;
  if (fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) == 0)
    k = S_ISDIR(st.st_mode) ? CSB_SBPL_DIR : CSB_SBPL_OTHER;
  free(p);
  return k;
}

static char *system_realpath(const void *ctx, const char *path) {
  char *p = system_resolve_alias(ctx, path);
  char *out = NULL;
  if (!csb_path_canonicalize(p, &out, NULL)) out = NULL;
  free(p);
  return out;
}

static int system_nested_symlink(const void *ctx, const char *path, char **link, csb_error *err) {
  *link = NULL;
  char *p = system_resolve_alias(ctx, path);
  size_t n = first_len(p);
  int ok = 1;
  if (n > 0) {
    char *top = csb_xstrndup(p, n);
    ok = csb_path_find_symlink(p, top, link, err);
    free(top);
  }
  free(p);
  return ok;
}

static char *system_readlink(const void *ctx, const char *path) {
  char *p = system_resolve_alias(ctx, path);
  char *out = csb_path_read_link(p);
  free(p);
  return out;
}

/* ---- below directory symlinks ------------------------------------------------
 *
 * The walker never enters a symlinked directory, while the policy matches
 * paths lexically: `/w/lnk/a.env` is denied by the glob `/w/l?k/a.env` even
 * when `lnk` leads elsewhere, and Seatbelt checks where it leads. What lies
 * below such a link is walked by its lexical path (csb_glob_walk_links, over
 * this host's file system), and what every match resolves to is reported. */

static int below_list(void *ctx, const char *dir, csb_strv *names, csb_error *err) {
  (void)ctx;
  DIR *d = opendir(dir);
  if (d == NULL) return csb_glob_unlisted_check(dir, errno, err) ? -1 : 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      csb_strv_push(names, e->d_name);
  closedir(d);
  return 1;
}

static csb_glob_node below_kind(void *ctx, const char *path) {
  (void)ctx;
  struct stat st;
  if (lstat(path, &st) != 0) return CSB_GLOB_NODE_MISSING;
  if (S_ISLNK(st.st_mode)) return CSB_GLOB_NODE_LINK;
  return S_ISDIR(st.st_mode) ? CSB_GLOB_NODE_DIR : CSB_GLOB_NODE_OTHER;
}

/* The canonical target of `link` when it exists (and, with `want_dir`,
 * is a directory), else NULL. */
static char *link_target(const char *link, int want_dir) {
  char *t = NULL;
  struct stat st;
  if (csb_path_canonicalize(link, &t, NULL) && stat(t, &st) == 0 && (!want_dir || S_ISDIR(st.st_mode)))
    return t;
  free(t);
  return NULL;
}

static char *below_dir_target(void *ctx, const char *link) {
  (void)ctx;
  return link_target(link, 1);
}

static char *below_join(void *ctx, const char *dir, const char *name) {
  (void)ctx;
  return csb_path_join(dir, name);
}

static int below_under(void *ctx, const char *dir, const char *path) {
  (void)ctx;
  return csb_path_is_under(dir, path);
}

static void push_link_target(csb_strv *out, const char *link) {
  char *target = link_target(link, 0);
  if (target != NULL) csb_strv_push_owned(out, target);
}

/* A match below a link: where it resolves to. Its directory is canonical
 * (a link's target, or a directory below one): only a link leads
 * elsewhere. */
static int below_match(void *ctx, const char *lex, const char *path, csb_glob_node kind,
                       csb_error *err) {
  (void)lex;
  (void)err;
  if (kind == CSB_GLOB_NODE_LINK)
    push_link_target(ctx, path);
  else if (kind != CSB_GLOB_NODE_MISSING)
    csb_strv_push(ctx, path);
  return 1;
}

/* Lexical paths are joined as host paths (and matched as they are), and
 * links are walked from them. */
static const csb_glob_links_ops k_below_ops = {
    .list = below_list,
    .kind = below_kind,
    .dir_target = below_dir_target,
    .join = below_join,
    .lex_join = below_join,
    .under = below_under,
    .on_match = below_match,
};

static int system_glob_link_targets(const void *ctx, const char *pattern, int max_depth, csb_strv *out,
                                    csb_error *err) {
  (void)ctx;
  csb_glob *g = NULL;
  if (!csb_glob_compile(pattern, &g, err)) return 0;
  const char *prefix = csb_glob_static_prefix(g);
  if (prefix[0] != '/' || prefix[1] == '\0') {
    csb_glob_free(g);
    return 1;
  }
  csb_glob_expand_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.max_depth = csb_glob_scan_depth(g, max_depth);
  eo.threads = 1;
  csb_strv m, links;
  csb_strv_init(&m);
  csb_strv_init(&links);
  eo.links = &links;
  int ok = csb_glob_expand_ex(g, &eo, &m, err);
  for (size_t i = 0; ok && i < m.len; i++)
    if (below_kind(NULL, m.items[i]) == CSB_GLOB_NODE_LINK) push_link_target(out, m.items[i]);
  csb_glob_links_walk W = {&k_below_ops, out, g, eo.max_depth, 0, NULL};
  if (ok) ok = csb_glob_walk_links(&W, prefix, &links, err);
  csb_strv_free(&links);
  csb_strv_free(&m);
  csb_glob_free(g);
  return ok;
}

static const system_ctx k_system_plain = {0};
static const system_ctx k_system_macos = {1};

static const csb_sbpl_host k_host_plain = {&k_system_plain,        system_alias,
                                           system_kind,           system_realpath,
                                           system_nested_symlink, system_readlink,
                                           system_glob_link_targets};
static const csb_sbpl_host k_host_macos = {&k_system_macos,        system_alias,
                                           system_kind,           system_realpath,
                                           system_nested_symlink, system_readlink,
                                           system_glob_link_targets};

const csb_sbpl_host *csb_sbpl_host_system(int assume_macos_paths) {
  return assume_macos_paths ? &k_host_macos : &k_host_plain;
}

/* ---- nothing exists ---------------------------------------------------------- */

static char *none_alias(const void *ctx, const char *path) {
  (void)ctx;
  (void)path;
  return NULL;
}
static csb_sbpl_kind none_kind(const void *ctx, const char *path) {
  (void)ctx;
  (void)path;
  return CSB_SBPL_MISSING;
}
static char *none_realpath(const void *ctx, const char *path) {
  (void)ctx;
  (void)path;
  return NULL;
}
static int none_nested(const void *ctx, const char *path, char **link, csb_error *err) {
  (void)ctx;
  (void)path;
  (void)err;
  *link = NULL;
  return 1;
}

static char *none_readlink(const void *ctx, const char *path) {
  (void)ctx;
  (void)path;
  return NULL;
}

static int none_glob_link_targets(const void *ctx, const char *pattern, int max_depth, csb_strv *out,
                                  csb_error *err) {
  (void)ctx;
  (void)pattern;
  (void)max_depth;
  (void)out;
  (void)err;
  return 1;
}

static const csb_sbpl_host k_host_none = {NULL,          none_alias,  none_kind,
                                          none_realpath, none_nested, none_readlink,
                                          none_glob_link_targets};

const csb_sbpl_host *csb_sbpl_host_none(void) { return &k_host_none; }

/* ---- derived facts ----------------------------------------------------------- */

char *csb_sbpl_dealias(const csb_sbpl_host *h, const char *path) {
  char *a = h->alias(h->ctx, path);
  return a ? a : csb_xstrdup(path);
}

/* The realpath of the deepest existing ancestor of `p` with the missing
 * rest re-appended; *rest_at is set to the offset in `p` where the missing
 * rest starts (strlen(p) when it all exists). Returns NULL when not even
 * "/" resolves (a host where nothing exists). */
static char *deepest_real(const csb_sbpl_host *h, char *p, size_t *rest_at) {
  size_t len = strlen(p);
  for (;;) {
    char saved = p[len];
    p[len] = '\0';
    char *real = h->realpath(h->ctx, p);
    p[len] = saved;
    if (real != NULL) {
      *rest_at = len;
      return real;
    }
    if (len <= 1) return NULL;
    while (len > 1 && p[len - 1] != '/') len--;
    if (len > 1) len--; /* drop the separator; "/x" leaves "/" */
  }
}

char *csb_sbpl_real_parent(const csb_sbpl_host *h, char *dir) {
  char *real = h->realpath(h->ctx, dir);
  char *d = real != NULL ? real : csb_sbpl_dealias(h, dir);
  char *up = csb_path_parent(d);
  free(d);
  free(dir);
  return up != NULL ? up : csb_xstrdup("/");
}

/* Where the symlink target `t`, read in the canonical directory `dir`,
 * leads as the kernel resolves it: a ".." goes to the real parent of what
 * precedes it (`lnk/../x` with lnk -> /a/b is /a/x), not lexically back to
 * `dir`. */
static char *link_target_path(const csb_sbpl_host *h, const char *dir, const char *t) {
  char *cur = csb_xstrdup(t[0] == '/' ? "/" : dir);
  for (const char *c = t; *c != '\0';) {
    size_t n = strcspn(c, "/");
    if (n == 2 && c[0] == '.' && c[1] == '.') {
      cur = csb_sbpl_real_parent(h, cur);
    } else if (n > 0 && !(n == 1 && c[0] == '.')) {
      char *part = csb_xstrndup(c, n);
      char *next = csb_path_join(cur, part);
      free(part);
      free(cur);
      cur = next;
    }
    c += n;
    while (*c == '/') c++;
  }
  return cur;
}

char *csb_sbpl_canonical(const csb_sbpl_host *h, const char *path) {
  char *p = csb_sbpl_dealias(h, path);
  for (int hops = 0;; hops++) {
    size_t at = 0;
    char *real = deepest_real(h, p, &at);
    if (real == NULL) return p;
    const char *rest = p + at;
    while (*rest == '/') rest++;
    if (*rest == '\0') {
      free(p);
      return real;
    }
    /* The first missing component may be a dangling symlink: what is
     * created through it is created at its target. */
    size_t n = strcspn(rest, "/");
    char *first = csb_xstrndup(rest, n);
    char *at_link = csb_path_join(real, first);
    free(first);
    char *target = hops < CSB_PATH_MAX_SYMLINKS ? h->readlink(h->ctx, at_link) : NULL;
    free(at_link);
    if (target == NULL) {
      char *out = csb_path_join(real, rest);
      free(real);
      free(p);
      return out;
    }
    char *base = link_target_path(h, real, target);
    char *next = rest[n] != '\0' ? csb_path_join(base, rest + n + 1) : csb_xstrdup(base);
    free(base);
    free(target);
    free(real);
    free(p);
    p = csb_sbpl_dealias(h, next);
    free(next);
  }
}

/* ---- the document through the aliases --------------------------------------- */

static void replace(const csb_sbpl_host *h, char **path) {
  char *a = h->alias(h->ctx, *path);
  if (a != NULL) {
    free(*path);
    *path = a;
  }
}

static void replace_glob(const csb_sbpl_host *h, char **pattern) {
  csb_glob *g = NULL;
  if (!csb_glob_compile(*pattern, &g, NULL)) return;
  const char *prefix = csb_glob_static_prefix(g);
  char *a = prefix[0] == '/' ? h->alias(h->ctx, prefix) : NULL;
  char *rebased = NULL;
  if (a != NULL && csb_glob_rebase(g, a, &rebased, NULL)) {
    free(*pattern);
    *pattern = rebased;
  }
  free(a);
  csb_glob_free(g);
}

csb_policy *csb_sbpl_policy_dealias(const csb_policy *p, const csb_sbpl_host *h) {
  csb_policy *c = csb_policy_clone(p);
  if (c->platform == CSB_PLATFORM_WINDOWS) return c;
  replace(h, &c->cwd);
  for (size_t i = 0; i < c->n_workspace_roots; i++) replace(h, &c->workspace_roots[i].path);
  for (size_t i = 0; i < c->n_entries; i++) replace(h, &c->entries[i].path);
  for (size_t i = 0; i < c->n_globs; i++) replace_glob(h, &c->globs[i].pattern);
  /* Unix sockets are a sorted map: rebuild it. */
  size_t n = c->n_unix_sockets;
  csb_unix_socket_rule *old = c->unix_sockets;
  c->unix_sockets = NULL;
  c->n_unix_sockets = 0;
  /* Two spellings of one path: a deny wins (the denies are set last). */
  csb_unix_socket_rule *order = csb_xcalloc(n ? n : 1, sizeof(*order));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    replace(h, &old[i].path);
    if (old[i].allow) order[k++] = old[i];
  }
  for (size_t i = 0; i < n; i++)
    if (!old[i].allow) order[k++] = old[i];
  csb_policy_set_unix_sockets(c, order, k);
  for (size_t i = 0; i < n; i++) free(old[i].path);
  free(order);
  free(old);
  csb_policy_canonicalize(c);
  return c;
}
