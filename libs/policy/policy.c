/* policy.c - the csb.policy/v1 model: construction, names, canonical order,
 * clone and free. */
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "csb_policy.h"
#include "policy_internal.h"

const char *const csb_protected_names[CSB_PROTECTED_NAMES_COUNT] = {
    ".git", ".agents", ".codex", ".csb"};

const char *const csb_linux_platform_read_roots[CSB_LINUX_PLATFORM_READ_ROOTS_COUNT] = {
    "/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/nix/store", "/run/current-system/sw",
};

int csb_policy_name_folds_to(const char *s, size_t len, const char *name) {
  size_t i = 0;
  for (; *name; name++) {
    if (i < len && (s[i] == *name || (s[i] >= 'A' && s[i] <= 'Z' && s[i] - 'A' + 'a' == *name))) {
      i++;
      continue;
    }
    if (*name == 's' && i + 1 < len && (unsigned char)s[i] == 0xc5 &&
        (unsigned char)s[i + 1] == 0xbf) {
      i += 2;
      continue;
    }
    return 0;
  }
  return i == len;
}

static const char *const access_names[] = {"read", "write", "deny"};
static const char *const platform_names[] = {"linux", "macos", "windows"};

const char *csb_access_name(csb_access a) {
  if ((unsigned)a < CSB_ARRAY_LEN(access_names)) return access_names[a];
  return "deny";
}

int csb_access_parse(const char *s, csb_access *out) {
  if (s == NULL) return 0;
  for (size_t i = 0; i < CSB_ARRAY_LEN(access_names); i++) {
    if (strcmp(s, access_names[i]) == 0) {
      *out = (csb_access)i;
      return 1;
    }
  }
  if (strcmp(s, "none") == 0) {
    *out = CSB_ACCESS_DENY;
    return 1;
  }
  return 0;
}

const char *csb_platform_name(csb_platform p) {
  if ((unsigned)p < CSB_ARRAY_LEN(platform_names)) return platform_names[p];
  return "linux";
}

csb_platform csb_platform_host(void) {
#if defined(_WIN32)
  return CSB_PLATFORM_WINDOWS;
#elif defined(__APPLE__)
  return CSB_PLATFORM_MACOS;
#else
  return CSB_PLATFORM_LINUX;
#endif
}

csb_policy *csb_policy_new(csb_platform platform, const char *cwd) {
  csb_policy *p = csb_xcalloc(1, sizeof(*p));
  p->platform = platform;
  p->cwd = csb_xstrdup(cwd ? cwd : "/");
  p->enforcement = CSB_ENFORCE_MANAGED;
  p->fs_kind = CSB_FS_RESTRICTED;
  p->net_mode = CSB_NET_RESTRICTED;
  p->profile_id = csb_xstrdup(":read-only");
  p->profile_kind = csb_xstrdup("builtin");
  csb_strv_init(&p->extends);
  csb_strv_init(&p->warnings);
  csb_strv_init(&p->legacy.writable_roots);
  p->round_trips = 0;
  p->linux_backend = CSB_LINUX_BWRAP;
  return p;
}

void csb_policy_set_probe(csb_policy *p, const csb_policy_probe *probe) { p->probe = probe; }

void csb_legacy_policy_free(csb_legacy_policy *l) {
  if (l == NULL) return;
  csb_strv_free(&l->writable_roots);
  memset(l, 0, sizeof(*l));
}

void csb_policy_free(csb_policy *p) {
  if (p == NULL) return;
  free(p->cwd);
  free(p->profile_id);
  free(p->profile_kind);
  free(p->description);
  csb_strv_free(&p->extends);
  for (size_t i = 0; i < p->n_workspace_roots; i++) {
    free(p->workspace_roots[i].path);
    free(p->workspace_roots[i].origin);
  }
  free(p->workspace_roots);
  for (size_t i = 0; i < p->n_entries; i++) {
    free(p->entries[i].path);
    free(p->entries[i].origin);
  }
  free(p->entries);
  for (size_t i = 0; i < p->n_globs; i++) {
    free(p->globs[i].pattern);
    free(p->globs[i].origin);
  }
  free(p->globs);
  for (size_t i = 0; i < p->n_unix_sockets; i++) free(p->unix_sockets[i].path);
  free(p->unix_sockets);
  cJSON_Delete(p->proxy);
  csb_legacy_policy_free(&p->legacy);
  free(p->legacy_error);
  free(p->summary);
  csb_strv_free(&p->warnings);
  free(p);
}

static void add_roots(csb_policy *p, size_t n, const char *const *paths,
                      const csb_policy_root *roots, const char *origin);

static char *dup_or_null(const char *s) { return s ? csb_xstrdup(s) : NULL; }

static void strv_copy(csb_strv *dst, const csb_strv *src) {
  csb_strv_init(dst);
  for (size_t i = 0; i < src->len; i++) csb_strv_push(dst, src->items[i]);
}

csb_policy *csb_policy_clone(const csb_policy *p) {
  if (p == NULL) return NULL;
  csb_policy *c = csb_xcalloc(1, sizeof(*c));
  c->platform = p->platform;
  c->cwd = dup_or_null(p->cwd);
  c->enforcement = p->enforcement;
  c->profile_id = dup_or_null(p->profile_id);
  c->profile_kind = dup_or_null(p->profile_kind);
  strv_copy(&c->extends, &p->extends);
  c->description = dup_or_null(p->description);
  add_roots(c, p->n_workspace_roots, NULL, p->workspace_roots, NULL);
  c->fs_kind = p->fs_kind;
  c->include_platform_defaults = p->include_platform_defaults;
  c->glob_scan_max_depth = p->glob_scan_max_depth;
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    csb_policy_add_entry(c, e->path, e->access, e->origin, e->skip_if_missing, e->internal);
  }
  for (size_t i = 0; i < p->n_globs; i++)
    csb_policy_add_glob(c, p->globs[i].pattern, p->globs[i].origin);
  c->probe = p->probe;
  c->net_mode = p->net_mode;
  c->allow_local_binding = p->allow_local_binding;
  c->allow_all_unix_sockets = p->allow_all_unix_sockets;
  csb_policy_set_unix_sockets(c, p->unix_sockets, p->n_unix_sockets);
  if (p->proxy != NULL) {
    c->proxy = cJSON_Duplicate(p->proxy, 1);
    if (c->proxy == NULL) {
      /* Duplicate fails only when memory runs out. */
      (void)csb_xmalloc((size_t)-1);
    }
  }
  c->legacy.type = p->legacy.type;
  c->legacy.network_access = p->legacy.network_access;
  strv_copy(&c->legacy.writable_roots, &p->legacy.writable_roots);
  c->legacy.exclude_tmpdir_env_var = p->legacy.exclude_tmpdir_env_var;
  c->legacy.exclude_slash_tmp = p->legacy.exclude_slash_tmp;
  c->legacy_error = dup_or_null(p->legacy_error);
  c->round_trips = p->round_trips;
  c->linux_backend = p->linux_backend;
  c->summary = dup_or_null(p->summary);
  strv_copy(&c->warnings, &p->warnings);
  return c;
}

/* Arrays in the public struct carry no capacity field: the capacity is
 * implied by the length (0, then powers of two from 8). Makes room for one
 * more element. */
static void *grow_one(void *items, size_t n, size_t size) {
  size_t cap = 0;
  if (n > 0) {
    cap = 8;
    while (cap < n) cap *= 2;
  }
  return csb_xgrow(items, &cap, n + 1, size);
}

csb_policy_entry *csb_policy_add_entry(csb_policy *p, const char *path, csb_access access,
                                       const char *origin, int skip_if_missing, int internal) {
  p->entries = grow_one(p->entries, p->n_entries, sizeof(*p->entries));
  csb_policy_entry *e = &p->entries[p->n_entries++];
  e->path = csb_xstrdup(path);
  e->access = access;
  e->origin = csb_xstrdup(origin ? origin : "");
  e->skip_if_missing = skip_if_missing ? 1 : 0;
  e->internal = internal ? 1 : 0;
  return e;
}

void csb_policy_add_glob(csb_policy *p, const char *pattern, const char *origin) {
  p->globs = grow_one(p->globs, p->n_globs, sizeof(*p->globs));
  csb_policy_glob *g = &p->globs[p->n_globs++];
  g->pattern = csb_xstrdup(pattern);
  g->origin = csb_xstrdup(origin ? origin : "");
}

void csb_policy_i_push_root(csb_policy *p, const char *path, const char *origin) {
  p->workspace_roots =
      grow_one(p->workspace_roots, p->n_workspace_roots, sizeof(*p->workspace_roots));
  csb_policy_root *r = &p->workspace_roots[p->n_workspace_roots++];
  r->path = csb_xstrdup(path);
  r->origin = csb_xstrdup(origin ? origin : "cwd");
}

/* Appends the n roots not equal to one already there or to an earlier one
 * of them, in order: paths[i] with `origin`, or (paths NULL) roots[i]. A
 * hash set of the roots' paths makes each test O(1). */
static void add_roots(csb_policy *p, size_t n, const char *const *paths,
                      const csb_policy_root *roots, const char *origin) {
  csb_strv seen;
  csb_strv_init(&seen);
  for (size_t i = 0; i < p->n_workspace_roots; i++)
    csb_strv_push(&seen, p->workspace_roots[i].path);
  csb_spath_set set;
  csb_spath_set_init(&set, csb_policy_i_style(p->platform), 0, &seen);
  for (size_t i = 0; i < n; i++) {
    const char *path = paths ? paths[i] : roots[i].path;
    if (csb_spath_set_add(&set, path))
      csb_policy_i_push_root(p, path, paths ? origin : roots[i].origin);
  }
  csb_spath_set_free(&set);
  csb_strv_free(&seen);
}

void csb_policy_add_workspace_root(csb_policy *p, const char *path, const char *origin) {
  add_roots(p, 1, &path, NULL, origin);
}

void csb_policy_add_workspace_roots(csb_policy *p, const char *const *paths, size_t n,
                                    const char *origin) {
  add_roots(p, n, paths, NULL, origin);
}

void csb_policy_set_unix_socket(csb_policy *p, const char *path, int allow) {
  size_t lo = 0, hi = p->n_unix_sockets;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(p->unix_sockets[mid].path, path);
    if (c == 0) {
      p->unix_sockets[mid].allow = allow ? 1 : 0;
      return;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  p->unix_sockets = grow_one(p->unix_sockets, p->n_unix_sockets, sizeof(*p->unix_sockets));
  memmove(&p->unix_sockets[lo + 1], &p->unix_sockets[lo],
          (p->n_unix_sockets - lo) * sizeof(*p->unix_sockets));
  p->unix_sockets[lo].path = csb_xstrdup(path);
  p->unix_sockets[lo].allow = allow ? 1 : 0;
  p->n_unix_sockets++;
}

typedef struct {
  csb_unix_socket_rule rule;
  size_t seq; /* position among the rules set so far: the last one wins */
} socket_pos;

static int cmp_socket_pos(const void *a, const void *b) {
  const socket_pos *x = a, *y = b;
  int c = strcmp(x->rule.path, y->rule.path);
  if (c != 0) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void csb_policy_set_unix_sockets(csb_policy *p, const csb_unix_socket_rule *rules, size_t n) {
  size_t m = p->n_unix_sockets;
  if (n == 0) return;
  if (n == 1) {
    csb_policy_set_unix_socket(p, rules[0].path, rules[0].allow);
    return;
  }
  /* The rules so far and the new ones, sorted once by path and then by
   * when they were set; of each path the last one is kept. */
  socket_pos *all = csb_xcalloc(m + n, sizeof(*all));
  for (size_t i = 0; i < m; i++) all[i] = (socket_pos){p->unix_sockets[i], i};
  for (size_t i = 0; i < n; i++)
    all[m + i] = (socket_pos){{csb_xstrdup(rules[i].path), rules[i].allow ? 1 : 0}, m + i};
  qsort(all, m + n, sizeof(*all), cmp_socket_pos);
  /* Refilled through grow_one, which owns the array's capacity. */
  free(p->unix_sockets);
  p->unix_sockets = NULL;
  p->n_unix_sockets = 0;
  for (size_t i = 0; i < m + n; i++) {
    if (i + 1 < m + n && strcmp(all[i].rule.path, all[i + 1].rule.path) == 0) {
      free(all[i].rule.path); /* set again later */
      continue;
    }
    p->unix_sockets = grow_one(p->unix_sockets, p->n_unix_sockets, sizeof(*p->unix_sockets));
    p->unix_sockets[p->n_unix_sockets++] = all[i].rule;
  }
  free(all);
}

/* ---- canonical order ---------------------------------------------------- */

static int cmp_entry(const void *a, const void *b) {
  const csb_policy_entry *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  if (c != 0) return c;
  if (x->access != y->access) return (int)x->access - (int)y->access;
  c = strcmp(x->origin, y->origin);
  if (c != 0) return c;
  if (x->skip_if_missing != y->skip_if_missing) return x->skip_if_missing - y->skip_if_missing;
  return x->internal - y->internal;
}

static int cmp_glob(const void *a, const void *b) {
  const csb_policy_glob *x = a, *y = b;
  int c = strcmp(x->pattern, y->pattern);
  if (c != 0) return c;
  return strcmp(x->origin, y->origin);
}

int csb_policy_i_cmp_entry(const csb_policy_entry *a, const csb_policy_entry *b) {
  return cmp_entry(a, b);
}

int csb_policy_i_cmp_glob(const csb_policy_glob *a, const csb_policy_glob *b) {
  return cmp_glob(a, b);
}

static int cmp_root(const csb_policy_root *x, const csb_policy_root *y) {
  int c = strcmp(x->path, y->path);
  return c != 0 ? c : strcmp(x->origin, y->origin);
}

typedef struct {
  const csb_policy_root *root;
  size_t index;
} root_pos;

/* By root, then by position: the first of equal roots sorts first. */
static int cmp_root_pos(const void *a, const void *b) {
  const root_pos *x = a, *y = b;
  int c = cmp_root(x->root, y->root);
  if (c != 0) return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

void csb_policy_canonicalize(csb_policy *p) {
  if (p->n_entries > 1) {
    qsort(p->entries, p->n_entries, sizeof(*p->entries), cmp_entry);
    size_t w = 1;
    for (size_t i = 1; i < p->n_entries; i++) {
      if (cmp_entry(&p->entries[w - 1], &p->entries[i]) == 0) {
        free(p->entries[i].path);
        free(p->entries[i].origin);
        continue;
      }
      p->entries[w++] = p->entries[i];
    }
    p->n_entries = w;
  }
  if (p->n_globs > 1) {
    qsort(p->globs, p->n_globs, sizeof(*p->globs), cmp_glob);
    size_t w = 1;
    for (size_t i = 1; i < p->n_globs; i++) {
      if (cmp_glob(&p->globs[w - 1], &p->globs[i]) == 0) {
        free(p->globs[i].pattern);
        free(p->globs[i].origin);
        continue;
      }
      p->globs[w++] = p->globs[i];
    }
    p->n_globs = w;
  }
  /* Workspace roots keep their meaningful order (cwd, add-dir, profile,
   * legacy); only exact duplicates go: the later ones of each group of
   * equal roots, found by sorting their positions. */
  if (p->n_workspace_roots > 1) {
    size_t n = p->n_workspace_roots;
    root_pos *order = csb_xcalloc(n, sizeof(*order));
    for (size_t i = 0; i < n; i++) order[i] = (root_pos){&p->workspace_roots[i], i};
    qsort(order, n, sizeof(*order), cmp_root_pos);
    unsigned char *dup = csb_xcalloc(n, 1);
    for (size_t i = 1; i < n; i++)
      if (cmp_root(order[i - 1].root, order[i].root) == 0) dup[order[i].index] = 1;
    free(order);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
      if (dup[i]) {
        free(p->workspace_roots[i].path);
        free(p->workspace_roots[i].origin);
        continue;
      }
      p->workspace_roots[w++] = p->workspace_roots[i];
    }
    free(dup);
    p->n_workspace_roots = w;
  }
  /* Unix sockets are kept sorted by csb_policy_set_unix_socket. */
}

int csb_policy_i_entry_is_root(const csb_policy *p, const csb_policy_entry *e) {
  return csb_policy_i_path_is_root(p->platform, e->path);
}
