/* pathstyle.c - path operations in the style of a document's platform:
 * POSIX (linux, macos) through csb_path_*, Windows through csb_winpath_*.
 * Everything else in libs/policy compares paths only through these. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "policy_internal.h"

static int is_win(csb_platform pl) { return pl == CSB_PLATFORM_WINDOWS; }

char *csb_policy_i_path_normalize(csb_platform pl, const char *path) {
  if (path == NULL) return NULL;
  if (is_win(pl)) return csb_winpath_normalize(path);
  if (!csb_path_is_absolute(path)) return NULL;
  return csb_path_normalize(path);
}

int csb_policy_i_path_is_canonical(csb_platform pl, const char *path) {
  char *n = csb_policy_i_path_normalize(pl, path);
  int ok = n != NULL && strcmp(n, path) == 0;
  free(n);
  return ok;
}

int csb_policy_i_path_has_prefix(csb_platform pl, const char *path, const char *prefix) {
  if (is_win(pl)) return csb_winpath_is_under(prefix, path);
  return csb_path_is_under(prefix, path);
}

int csb_policy_i_path_is_below(csb_platform pl, const char *path, const char *prefix) {
  return csb_policy_i_path_has_prefix(pl, path, prefix) &&
         !csb_policy_i_path_equal(pl, path, prefix);
}

int csb_policy_i_path_equal(csb_platform pl, const char *a, const char *b) {
  if (is_win(pl)) return csb_winpath_equal(a, b);
  return strcmp(a, b) == 0;
}

size_t csb_policy_i_path_depth(csb_platform pl, const char *path) {
  if (is_win(pl)) return csb_winpath_depth(path);
  return csb_path_depth(path);
}

int csb_policy_i_path_is_root(csb_platform pl, const char *path) {
  return csb_policy_i_path_depth(pl, path) == 0;
}

char *csb_policy_i_path_join(csb_platform pl, const char *dir, const char *name) {
  if (is_win(pl)) {
    char *j = csb_winpath_join(dir, name);
    return j != NULL ? j : csb_xstrdup(dir);
  }
  return csb_path_join(dir, name);
}

const char *csb_policy_i_path_suffix(csb_platform pl, const char *path, const char *prefix) {
  if (!csb_policy_i_path_has_prefix(pl, path, prefix)) return NULL;
  size_t n = strlen(prefix);
  const char *rest = path + n;
  char sep = is_win(pl) ? '\\' : '/';
  while (*rest == sep) rest++;
  return rest;
}

int csb_policy_i_path_probe_ok(csb_platform pl) {
#if defined(_WIN32)
  return is_win(pl);
#else
  return !is_win(pl);
#endif
}

char *csb_policy_i_path_effective(csb_platform pl, const char *path) {
  if (!csb_policy_i_path_probe_ok(pl)) return csb_xstrdup(path);
  char *out = NULL;
  if (!csb_path_effective(path, &out, NULL)) return csb_xstrdup(path);
  return out;
}

/* Windows patterns are matched in a folded form: both separators become
 * '/', ASCII letters lower-case (so backslash is never an escape). */
static char *fold_windows(const char *s) {
  char *f = csb_xstrdup(s);
  for (char *c = f; *c; c++) {
    if (*c == '\\')
      *c = '/';
    else
      *c = (char)tolower((unsigned char)*c);
  }
  return f;
}

static int glob_absolute(csb_platform pl, const char *pattern) {
  if (!is_win(pl)) return pattern[0] == '/';
  if (isalpha((unsigned char)pattern[0]) && pattern[1] == ':' &&
      (pattern[2] == '\\' || pattern[2] == '/'))
    return 1;
  return (pattern[0] == '\\' || pattern[0] == '/') && (pattern[1] == '\\' || pattern[1] == '/');
}

static int compile(csb_platform pl, const char *pattern, csb_glob **g, csb_error *err) {
  if (!is_win(pl)) return csb_glob_compile(pattern, g, err);
  char *f = fold_windows(pattern);
  int ok = csb_glob_compile(f, g, err);
  free(f);
  return ok;
}

int csb_policy_i_glob_check(csb_platform pl, const char *pattern, csb_error *err) {
  csb_glob *g = NULL;
  if (!glob_absolute(pl, pattern))
    return csb_error_set(err, "deny glob `%s` must be absolute", pattern);
  if (!compile(pl, pattern, &g, err)) {
    csb_error_prefix(err, "invalid deny-read glob pattern `%s`", pattern);
    return 0;
  }
  csb_glob_free(g);
  return 1;
}

csb_glob *csb_policy_i_glob_compile(csb_platform pl, const char *pattern) {
  csb_glob *g = NULL;
  if (!glob_absolute(pl, pattern) || !compile(pl, pattern, &g, NULL)) return NULL;
  return g;
}

int csb_policy_i_glob_matches(csb_platform pl, const csb_glob *g, const char *path) {
  if (g == NULL) return 1; /* fail closed */
  if (!is_win(pl)) return csb_glob_match(g, path);
  char *f = fold_windows(path);
  int m = csb_glob_match(g, f);
  free(f);
  return m;
}
