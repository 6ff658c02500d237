/* spath.c - lexical path operations in a given style (csb_spath_*): POSIX
 * through csb_path_*, Windows through csb_winpath_*, so that code shared by
 * both kinds of host (or of policy document) picks the style once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

static int is_win(csb_path_style st) { return st == CSB_PATH_WINDOWS; }

csb_path_style csb_path_style_host(void) {
#if defined(_WIN32)
  return CSB_PATH_WINDOWS;
#else
  return CSB_PATH_POSIX;
#endif
}

int csb_spath_is_sep(csb_path_style st, char c) {
  return c == '/' || (is_win(st) && c == '\\');
}

int csb_spath_is_absolute(csb_path_style st, const char *path) {
  return is_win(st) ? csb_winpath_is_absolute(path) : csb_path_is_absolute(path);
}

char *csb_spath_normalize(csb_path_style st, const char *path) {
  if (path == NULL || !csb_spath_is_absolute(st, path)) return NULL;
  return is_win(st) ? csb_winpath_normalize(path) : csb_path_normalize(path);
}

char *csb_spath_join(csb_path_style st, const char *base, const char *rel) {
  if (is_win(st)) return csb_winpath_join(base, rel);
  char *j = csb_path_join(base, rel);
  if (!csb_path_is_absolute(j)) {
    free(j);
    return NULL;
  }
  return j;
}

char *csb_spath_parent(csb_path_style st, const char *path) {
  if (is_win(st)) return csb_winpath_parent(path);
  if (!csb_path_is_absolute(path)) return NULL;
  return csb_path_parent(path);
}

char *csb_spath_basename(csb_path_style st, const char *path) {
  return is_win(st) ? csb_winpath_basename(path) : csb_path_basename(path);
}

char *csb_spath_root(csb_path_style st, const char *path) {
  if (is_win(st)) return csb_winpath_root(path);
  return csb_path_is_absolute(path) ? csb_xstrdup("/") : NULL;
}

int csb_spath_is_root(csb_path_style st, const char *path) {
  return is_win(st) ? csb_winpath_is_root(path) : strcmp(path, "/") == 0;
}

int csb_spath_equal(csb_path_style st, const char *a, const char *b) {
  return is_win(st) ? csb_winpath_equal(a, b) : strcmp(a, b) == 0;
}

uint64_t csb_spath_hash(csb_path_style st, const char *p, size_t n) {
  if (!is_win(st)) return csb_hash64(p, n, 0);
  char *f = csb_winname_fold(p, n);
  uint64_t h = csb_hash64(f, strlen(f), 0);
  free(f);
  return h;
}

int csb_spath_is_under(csb_path_style st, const char *prefix, const char *path) {
  return is_win(st) ? csb_winpath_is_under(prefix, path) : csb_path_is_under(prefix, path);
}

const char *csb_spath_rest_under(csb_path_style st, const char *prefix, const char *path) {
  if (!csb_spath_is_under(st, prefix, path)) return NULL;
  if (!is_win(st)) return csb_path_rest_under(prefix, path);
  size_t n = csb_winpath_prefix_bytes(prefix, path), len = strlen(path);
  return path + (n < len ? n : len);
}

size_t csb_spath_depth(csb_path_style st, const char *path) {
  return is_win(st) ? csb_winpath_depth(path) : csb_path_depth(path);
}

int csb_spath_canonicalize(csb_path_style st, const char *path, char **out, csb_error *err) {
  return is_win(st) ? csb_winpath_canonicalize(path, out, err)
                    : csb_path_canonicalize(path, out, err);
}

/* ---- a set of distinct paths ---------------------------------------------- */

void csb_spath_set_init(csb_spath_set *s, csb_path_style st, int bytewise, csb_strv *out) {
  memset(s, 0, sizeof(*s));
  s->st = st;
  s->bytewise = bytewise;
  s->out = out;
}

void csb_spath_set_free(csb_spath_set *s) {
  free(s->slots);
  s->slots = NULL;
  s->cap = s->n_hashed = 0;
}

static size_t set_hash(const csb_spath_set *s, const char *p) {
  return (size_t)(s->bytewise ? csb_hash64(p, strlen(p), 0) : csb_spath_hash(s->st, p, strlen(p)));
}

static int set_equal(const csb_spath_set *s, const char *a, const char *b) {
  return s->bytewise ? strcmp(a, b) == 0 : csb_spath_equal(s->st, a, b);
}

/* The slot of a path equal to p, or of the free slot where it would go. */
static size_t set_slot(const csb_spath_set *s, const char *p) {
  size_t j = set_hash(s, p) & (s->cap - 1);
  while (s->slots[j] != SIZE_MAX && !set_equal(s, s->out->items[s->slots[j]], p))
    j = (j + 1) & (s->cap - 1);
  return j;
}

/* Hashes what `out` holds: everything again when the table must grow. */
static void set_sync(csb_spath_set *s) {
  if ((s->out->len + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap : 16;
    while ((s->out->len + 1) * 2 > cap) cap *= 2;
    free(s->slots);
    s->slots = csb_xmalloc(cap * sizeof(*s->slots));
    for (size_t i = 0; i < cap; i++) s->slots[i] = SIZE_MAX;
    s->cap = cap;
    s->n_hashed = 0;
  }
  for (; s->n_hashed < s->out->len; s->n_hashed++) {
    size_t j = set_slot(s, s->out->items[s->n_hashed]);
    if (s->slots[j] == SIZE_MAX) s->slots[j] = s->n_hashed;
  }
}

long csb_spath_set_find(csb_spath_set *s, const char *path) {
  set_sync(s);
  size_t j = set_slot(s, path);
  return s->slots[j] == SIZE_MAX ? -1 : (long)s->slots[j];
}

int csb_spath_set_add_owned(csb_spath_set *s, char *path) {
  set_sync(s);
  size_t j = set_slot(s, path);
  if (s->slots[j] != SIZE_MAX) {
    free(path);
    return 0;
  }
  s->slots[j] = s->out->len;
  csb_strv_push_owned(s->out, path);
  s->n_hashed = s->out->len;
  return 1;
}

int csb_spath_set_add(csb_spath_set *s, const char *path) {
  return csb_spath_set_add_owned(s, csb_xstrdup(path));
}
