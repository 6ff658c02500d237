/* pathstyle.c - path operations in the style of a document's platform:
 * POSIX (linux, macos) through csb_path_*, Windows through csb_winpath_*.
 * Everything else in libs/policy compares paths only through these. */
#if !defined(_WIN32)
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_json.h"
#include "csb_paths.h"
#include "policy_internal.h"

static int is_win(csb_platform pl) { return pl == CSB_PLATFORM_WINDOWS; }

csb_path_style csb_policy_i_style(csb_platform pl) {
  return is_win(pl) ? CSB_PATH_WINDOWS : CSB_PATH_POSIX;
}

char *csb_policy_i_path_normalize(csb_platform pl, const char *path) {
  return csb_spath_normalize(csb_policy_i_style(pl), path);
}

int csb_policy_i_path_is_canonical(csb_platform pl, const char *path) {
  char *n = csb_policy_i_path_normalize(pl, path);
  int ok = n != NULL && strcmp(n, path) == 0;
  free(n);
  return ok;
}

int csb_policy_i_path_has_prefix(csb_platform pl, const char *path, const char *prefix) {
  return csb_spath_is_under(csb_policy_i_style(pl), prefix, path);
}

int csb_policy_i_path_is_below(csb_platform pl, const char *path, const char *prefix) {
  return csb_policy_i_path_has_prefix(pl, path, prefix) &&
         !csb_policy_i_path_equal(pl, path, prefix);
}

int csb_policy_i_path_equal(csb_platform pl, const char *a, const char *b) {
  return csb_spath_equal(csb_policy_i_style(pl), a, b);
}

size_t csb_policy_i_path_depth(csb_platform pl, const char *path) {
  return csb_spath_depth(csb_policy_i_style(pl), path);
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
  const char *rest = csb_spath_rest_under(csb_policy_i_style(pl), prefix, path);
  if (rest == NULL) return NULL;
  char sep = is_win(pl) ? '\\' : '/';
  while (*rest == sep) rest++;
  return rest;
}

/* The host probes documents of its own path style: POSIX documents on
 * POSIX hosts, Windows documents on Windows (through the Win32 API). */
static int host_probe_ok(csb_platform pl) {
#if defined(_WIN32)
  return is_win(pl);
#else
  return !is_win(pl);
#endif
}

csb_path_memo *csb_policy_i_memo_new(const csb_policy *p) {
  /* The memo answers for POSIX resolution on this host only. */
  if (p->probe != NULL || !host_probe_ok(p->platform) || is_win(p->platform)) return NULL;
  return csb_path_memo_new();
}

void csb_policy_i_stat(const csb_policy *p, csb_path_memo *memo, const char *path,
                       csb_probe_stat *st) {
  memset(st, 0, sizeof(*st));
  if (p->probe != NULL) {
    p->probe->stat(p->probe->ctx, path, st);
    return;
  }
  csb_file_type t, ft;
  if (!host_probe_ok(p->platform)) return;
  if (!(memo != NULL ? csb_path_file_type_memo(memo, path, &t) : csb_os_file_type(path, 0, &t)))
    return;
  st->exists = 1;
  st->is_file = t == CSB_FILE_REGULAR;
  st->is_dir = t == CSB_FILE_DIR ||
               (t == CSB_FILE_LINK && csb_os_file_type(path, 1, &ft) && ft == CSB_FILE_DIR);
}

char *csb_policy_i_read_file(const csb_policy *p, csb_path_memo *memo, const char *path,
                             size_t max, size_t *len) {
  *len = 0;
  if (p->probe != NULL) return p->probe->read_file(p->probe->ctx, path, max, len);
  if (!host_probe_ok(p->platform)) return NULL;
  csb_probe_stat st;
  csb_policy_i_stat(p, memo, path, &st);
  char *text = NULL;
  if (!st.is_file || !csb_read_file_head(path, max, &text, len, NULL)) return NULL;
  return text;
}

char *csb_policy_i_path_effective(const csb_policy *p, csb_path_memo *memo, const char *path) {
  if (p->probe != NULL) {
    char *e = p->probe->effective(p->probe->ctx, path);
    return e != NULL ? e : csb_xstrdup(path);
  }
  if (!host_probe_ok(p->platform)) return csb_xstrdup(path);
  char *out = NULL;
  int ok = is_win(p->platform) ? csb_winpath_effective(path, &out, NULL)
                               : csb_path_effective_memo(memo, path, &out, NULL);
  return ok ? out : csb_xstrdup(path);
}

int csb_policy_i_path_links(const csb_policy *p, csb_path_memo *memo, const char *path,
                            char **canonical, csb_path_link **links, size_t *n_links) {
  *canonical = NULL;
  *links = NULL;
  *n_links = 0;
  if (p->probe != NULL || !host_probe_ok(p->platform) || is_win(p->platform)) return 0;
  return csb_path_resolve_links_memo(memo, path, canonical, links, n_links, NULL);
}

char *csb_policy_i_path_leads_to(const csb_policy *p, csb_path_memo *memo, const char *path) {
  if (p->probe != NULL || !host_probe_ok(p->platform) || is_win(p->platform)) return NULL;
  char *out = NULL;
  return csb_path_leads_to_memo(memo, path, &out) ? out : NULL;
}

/* Windows patterns are matched in a folded form: both separators become
 * '/', names folded as NTFS compares them (csb_winname_fold; so backslash
 * is never an escape). */
static char *fold_windows(const char *s) {
  char *f = csb_winname_fold(s, strlen(s));
  for (char *c = f; *c; c++)
    if (*c == '\\') *c = '/';
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

/* 1 when the components of an absolute pattern (folded for Windows) are
 * those of a normalised path: none empty (`//`, a final `/`), `.` or
 * `..`. Paths are matched in normalised form, where such a component never
 * occurs, so a backend could only guess what the pattern means (folding
 * `a/..` away, say, where the verdict matches nothing). */
static int glob_normalised(csb_platform pl, const char *f) {
  const char *c = f;
  if (is_win(pl))
    c += (f[0] == '/' && f[1] == '/') ? 2 : 3; /* `//server` or `x:/` */
  else
    c += 1;
  if (*c == '\0') return !is_win(pl) || f[0] != '/'; /* `/` or `x:/` */
  for (;;) {
    size_t n = strcspn(c, "/");
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return 0;
    if (c[n] == '\0') return 1;
    c += n + 1;
  }
}

/* Messages quote the pattern as csb_json_display shows it: it may come
 * from a document, and must not break the message's line. */
int csb_policy_glob_check(csb_platform pl, const char *pattern, csb_error *err) {
  char *folded = is_win(pl) ? fold_windows(pattern) : NULL;
  const char *f = folded != NULL ? folded : pattern;
  char *shown = NULL;
  int ok = 0;
  if (!glob_absolute(pl, pattern)) {
    shown = csb_json_display(pattern);
    csb_error_set(err, "deny glob `%s` must be absolute", shown);
  } else if (!glob_normalised(pl, f)) {
    shown = csb_json_display(pattern);
    csb_error_set(err,
                  "deny glob `%s` is not normalised: an empty, `.` or `..` component never "
                  "matches a path, which backends would read differently; write the pattern "
                  "without it",
                  shown);
  } else if (!(ok = csb_glob_check(f, err))) {
    shown = csb_json_display(pattern);
    csb_error_prefix(err, "invalid deny-read glob pattern `%s`", shown);
  }
  free(shown);
  free(folded);
  return ok;
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
