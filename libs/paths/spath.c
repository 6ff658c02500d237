/* spath.c - lexical path operations in a given style (csb_spath_*): POSIX
 * through csb_path_*, Windows through csb_winpath_*, so that code shared by
 * both kinds of host (or of policy document) picks the style once. */
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

int csb_spath_is_under(csb_path_style st, const char *prefix, const char *path) {
  return is_win(st) ? csb_winpath_is_under(prefix, path) : csb_path_is_under(prefix, path);
}

size_t csb_spath_depth(csb_path_style st, const char *path) {
  return is_win(st) ? csb_winpath_depth(path) : csb_path_depth(path);
}

int csb_spath_canonicalize(csb_path_style st, const char *path, char **out, csb_error *err) {
  return is_win(st) ? csb_winpath_canonicalize(path, out, err)
                    : csb_path_canonicalize(path, out, err);
}
