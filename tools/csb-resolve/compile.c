/* compile.c - `[permissions.<id>.filesystem]` keys to rules (reference
 * §2.2), and rules to the materialised policy: workspace roots, one entry
 * per root for `:workspace_roots`, `$TMPDIR`, `/tmp`, globs (§3.3). */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "resolve.h"

void rs_rules_add(rs_rules *r, rs_rule_kind kind, const char *arg, csb_access access,
                  const char *origin, int skip) {
  r->items = csb_xgrow(r->items, &r->cap, r->len + 1, sizeof(*r->items));
  rs_rule *x = &r->items[r->len++];
  x->kind = kind;
  x->arg = arg ? csb_xstrdup(arg) : NULL;
  x->access = access;
  x->origin = csb_xstrdup(origin);
  x->skip_if_missing = skip;
}

void rs_rules_free(rs_rules *r) {
  for (size_t i = 0; i < r->len; i++) {
    free(r->items[i].arg);
    free(r->items[i].origin);
  }
  free(r->items);
  memset(r, 0, sizeof(*r));
}

/* ---- paths in the host's syntax ------------------------------------------------ */

static int win(const rs_ctx *ctx) { return ctx->style == CSB_PATH_WINDOWS; }

int rs_is_home_path(const rs_ctx *ctx, const char *path) {
  return path[0] == '~' && (path[1] == '\0' || csb_spath_is_sep(ctx->style, path[1]));
}

const char *rs_home_var(const rs_ctx *ctx) { return win(ctx) ? "USERPROFILE" : "HOME"; }

char *rs_home_problem(const rs_ctx *ctx) {
  const char *var = rs_home_var(ctx);
  char *v = csb_os_getenv(var);
  char *m = v != NULL && v[0] != '\0' ? csb_xasprintf("%s (`%s`) is not an absolute path", var, v)
                                      : csb_xasprintf("%s is not set", var);
  free(v);
  return m;
}

char *rs_join(const rs_ctx *ctx, const char *base, const char *rel) {
  if (!win(ctx)) return csb_path_join(base, rel);
  char *j = csb_winpath_join(base, rel);
  return j != NULL ? j : csb_xstrdup(base);
}

/* The directory of a file named on the command line or found by the
 * tool, absolute: a relative name is taken from the process's working
 * directory (where the file was opened), never from -C. */
char *rs_dir_of(const rs_ctx *ctx, const char *path) {
  const char *from = ctx->proc_cwd != NULL ? ctx->proc_cwd : ctx->cwd;
  if (!win(ctx)) {
    char *abs = csb_path_is_absolute(path) ? csb_path_normalize(path) : csb_path_join(from, path);
    char *d = csb_path_parent(abs);
    free(abs);
    return d ? d : csb_xstrdup("/");
  }
  char *abs = csb_winpath_join(from, path);
  char *d = abs ? csb_winpath_parent(abs) : NULL;
  if (d == NULL && abs != NULL) d = csb_winpath_root(abs);
  free(abs);
  return d ? d : csb_xstrdup(from);
}

size_t rs_device_prefix_len(const rs_ctx *ctx, const char *s) {
  csb_path_style st = ctx->style;
  if (win(ctx) && csb_spath_is_sep(st, s[0]) && csb_spath_is_sep(st, s[1]) &&
      (s[2] == '?' || s[2] == '.') && csb_spath_is_sep(st, s[3]))
    return 4;
  return 0;
}

int rs_has_glob(const rs_ctx *ctx, const char *s, int meta_only) {
  s += rs_device_prefix_len(ctx, s);
  return strpbrk(s, meta_only ? "*?[" : "*?[]") != NULL;
}

char *rs_abs_path(const rs_ctx *ctx, const char *path, const char *base) {
  if (rs_is_home_path(ctx, path)) {
    char *out = NULL;
    if (!win(ctx)) {
      if (!csb_path_expand_home(path, ctx->home, &out, NULL)) return NULL;
      return out;
    }
    /* Windows: `~`, `~\x` and `~/x` against %USERPROFILE%. */
    if (ctx->home == NULL) return NULL;
    return path[1] == '\0' ? csb_xstrdup(ctx->home) : csb_winpath_join(ctx->home, path + 2);
  }
  if (csb_spath_is_absolute(ctx->style, path)) return csb_spath_normalize(ctx->style, path);
  if (base == NULL) return NULL;
  return rs_join(ctx, base, path);
}

char *rs_glob_join(const rs_ctx *ctx, const char *dir, const char *pattern) {
  char *esc = csb_glob_escape(dir, win(ctx));
  char *out = pattern[0] != '\0' ? rs_join(ctx, esc, pattern) : csb_spath_normalize(ctx->style, esc);
  free(esc);
  return out;
}

char *rs_abs_pattern(const rs_ctx *ctx, const char *pattern, const char *base) {
  if (rs_is_home_path(ctx, pattern)) {
    if (ctx->home == NULL || !csb_spath_is_absolute(ctx->style, ctx->home)) return NULL;
    const char *rest = pattern + 1;
    while (csb_spath_is_sep(ctx->style, *rest)) rest++;
    return rs_glob_join(ctx, ctx->home, rest);
  }
  if (csb_spath_is_absolute(ctx->style, pattern)) return csb_spath_normalize(ctx->style, pattern);
  if (base == NULL) return NULL;
  return rs_glob_join(ctx, base, pattern);
}

/* ---- filesystem compilation --------------------------------------------------- */

#define MSG_ABSOLUTE "filesystem path `%s` must be absolute, use `~/...`, or start with `:`"
#define MSG_NO_HOME "filesystem path `%s` needs a home directory, but %s"
#define MSG_NESTED "filesystem path `%s` does not support nested entries"
#define MSG_SUBPATH "filesystem subpath `%s` must be a descendant path without `.` or `..` components"
#define MSG_RW_GLOB                                                                        \
  "filesystem glob path `%s` only supports `deny` access; use an exact path or trailing " \
  "`/**` for `%s` subtree access"
#define WARN_RW_GLOB                                                                          \
  "Filesystem glob `%s` uses `read` or `write` access, which is not fully supported by this " \
  "platform's sandboxing. Use an exact path or trailing `/**` subtree rule instead. `deny` "  \
  "globs are supported."
#define WARN_DEEP_GLOB                                                                          \
  "Filesystem deny-read glob `%s` uses `**`. Non-macOS sandboxing does not support unbounded " \
  "`**` natively; set `glob_scan_max_depth` in this filesystem profile to cap Linux glob "     \
  "expansion and silence this warning, or enumerate explicit depths such as `*.env`, "         \
  "`*/*.env`, and `*/*/*.env`."
#define WARN_UNKNOWN                                                                    \
  "Configured filesystem path `%s` is not recognized by this version of csb and will be " \
  "ignored. Upgrade csb if this path is required."
#define WARN_UNKNOWN_NESTED                                                                  \
  "Configured filesystem path `%s` with nested entry `%s` is not recognized by this version " \
  "of csb and will be ignored. Upgrade csb if this path is required."

typedef enum { K_PATH, K_SPECIAL, K_RELATIVE } key_class;

static rs_rule_kind special_kind(const char *k) {
  if (strcmp(k, ":root") == 0) return RS_R_ROOT;
  if (strcmp(k, ":minimal") == 0) return RS_R_MINIMAL;
  if (strcmp(k, ":workspace_roots") == 0) return RS_R_WORKSPACE;
  if (strcmp(k, ":tmpdir") == 0) return RS_R_TMPDIR;
  if (strcmp(k, ":slash_tmp") == 0) return RS_R_SLASH_TMP;
  return RS_R_UNKNOWN;
}

static key_class classify(const rs_ctx *ctx, const char *k) {
  if (k[0] == ':') return K_SPECIAL;
  if (rs_is_home_path(ctx, k) || csb_spath_is_absolute(ctx->style, k)) return K_PATH;
  return K_RELATIVE;
}

static char *strip_subtree(const rs_ctx *ctx, const char *s) {
  size_t n = strlen(s);
  if (n >= 3 && csb_spath_is_sep(ctx->style, s[n - 3]) && strcmp(s + n - 2, "**") == 0)
    return csb_xstrndup(s, n - 3);
  return csb_xstrdup(s);
}

/* validate_relative: non-empty, no leading separator, no '..', no leading
 * "./"; interior "./" and "//" fold (Windows: `\` separates too, the
 * result is written with `\`, and a leading drive `X:` is refused, since
 * joined onto the key `D:\x` or `D:x` would name a path on that drive).
 * Returns the folded subpath or NULL. */
static char *validate_relative(const rs_ctx *ctx, const char *s) {
  csb_path_style st = ctx->style;
  if (s[0] == '\0' || csb_spath_is_sep(st, s[0])) return NULL;
  if (win(ctx) && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) && s[1] == ':')
    return NULL;
  if (s[0] == '.' && (csb_spath_is_sep(st, s[1]) || s[1] == '\0')) return NULL;
  const char *seps = win(ctx) ? "/\\" : "/";
  const char *p = s;
  while (*p) {
    size_t n = strcspn(p, seps);
    if (n == 2 && p[0] == '.' && p[1] == '.') return NULL;
    p += n;
    while (*p && csb_spath_is_sep(st, *p)) p++;
  }
  if (win(ctx)) {
    csb_buf b = {0};
    for (p = s; *p;) {
      size_t n = strcspn(p, seps);
      if (n > 0 && !(n == 1 && p[0] == '.')) {
        if (b.len) csb_buf_putc(&b, '\\');
        csb_buf_append(&b, p, n);
      }
      p += n;
      while (*p && csb_spath_is_sep(st, *p)) p++;
    }
    return b.len ? csb_buf_steal(&b) : NULL;
  }
  char *norm = csb_path_normalize(s);
  if (strcmp(norm, ".") == 0) {
    free(norm);
    return NULL;
  }
  return norm;
}

typedef struct compiler {
  rs_ctx *ctx;
  rs_rules *rules;
  csb_strv *warnings;
  csb_error *err;
  int depth_set;
} compiler;

static int fail(compiler *c, const char *fmt, ...) CSB_PRINTF(2, 3);
static int fail(compiler *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(c->err, fmt, ap);
  va_end(ap);
  return 0;
}

static int fail_no_home(compiler *c, const char *key) {
  char *why = rs_home_problem(c->ctx);
  fail(c, MSG_NO_HOME, key, why);
  free(why);
  return 0;
}

/* Adds the rule for a key without glob (or with its subtree suffix
 * stripped). */
static int add_key_rule(compiler *c, const char *key, const char *origin, csb_access a) {
  switch (classify(c->ctx, key)) {
    case K_RELATIVE:
      return fail(c, MSG_ABSOLUTE, key);
    case K_SPECIAL: {
      rs_rule_kind k = special_kind(key);
      if (k == RS_R_UNKNOWN) {
        csb_strv_pushf(c->warnings, WARN_UNKNOWN, key);
        return 1;
      }
      rs_rules_add(c->rules, k, NULL, a, origin, 0);
      return 1;
    }
    case K_PATH: {
      char *abs = rs_abs_path(c->ctx, key, NULL);
      if (abs == NULL && key[0] == '~') return fail_no_home(c, key);
      if (abs == NULL) return fail(c, MSG_ABSOLUTE, key);
      rs_rules_add(c->rules, RS_R_PATH, abs, a, origin, 0);
      free(abs);
      return 1;
    }
  }
  return 1;
}

/* A path key made absolute: as the start of a pattern when `pattern`
 * (the home's text then matched literally), else as a path. */
static int key_abs(compiler *c, const char *key, int pattern, char **out) {
  if (classify(c->ctx, key) != K_PATH) return fail(c, MSG_ABSOLUTE, key);
  *out = pattern ? rs_abs_pattern(c->ctx, key, NULL) : rs_abs_path(c->ctx, key, NULL);
  if (*out == NULL) {
    if (key[0] == '~') return fail_no_home(c, key);
    return fail(c, MSG_ABSOLUTE, key);
  }
  return 1;
}

static int compile_access(compiler *c, const char *key, const char *origin, csb_access a) {
  if (!rs_has_glob(c->ctx, key, 0)) return add_key_rule(c, key, origin, a);
  if (a == CSB_ACCESS_DENY) {
    char *pat = NULL;
    if (!key_abs(c, key, 1, &pat)) return 0;
    rs_rules_add(c->rules, RS_R_GLOB, pat, a, origin, 0);
    free(pat);
    return 1;
  }
  char *k2 = strip_subtree(c->ctx, key);
  int ok;
  if (rs_has_glob(c->ctx, k2, 0))
    ok = fail(c, MSG_RW_GLOB, origin, csb_access_name(a));
  else
    ok = add_key_rule(c, k2, origin, a);
  free(k2);
  return ok;
}

/* Whether the key of a scoped table is a path pattern: its subpaths then
 * name patterns too, compiled as the key `KEY/SUBPATH` would be. */
static int is_glob_path_key(const compiler *c, const char *key) {
  return classify(c->ctx, key) == K_PATH && rs_has_glob(c->ctx, key, 0);
}

/* `key/sub` as one key (`key` for "."); NULL when the subpath is not a
 * descendant path. */
static char *glob_key_join(const compiler *c, const char *key, const char *sub) {
  if (strcmp(sub, ".") == 0) return csb_xstrdup(key);
  char *rel = validate_relative(c->ctx, sub);
  if (rel == NULL) return NULL;
  size_t n = strlen(key);
  int sep = n > 0 && csb_spath_is_sep(c->ctx->style, key[n - 1]);
  char *full = csb_xasprintf("%s%s%s", key, sep ? "" : win(c->ctx) ? "\\" : "/", rel);
  free(rel);
  return full;
}

static int compile_scoped_one(compiler *c, const char *key, const char *sub, csb_access a) {
  key_class kc = classify(c->ctx, key);
  rs_rule_kind sk = kc == K_SPECIAL ? special_kind(key) : RS_R_PATH;
  char *origin = csb_xasprintf("%s/%s", key, sub);
  int ok = 1;
  if (is_glob_path_key(c, key)) {
    /* A key `/srv/<glob>` with subpath `secret` denies `/srv/<any>/secret`:
     * were the key taken literally, the rule would name no file and deny
     * nothing. */
    char *full = glob_key_join(c, key, sub);
    const char *shown = strcmp(sub, ".") == 0 ? key : origin;
    ok = full != NULL ? compile_access(c, full, shown, a) : fail(c, MSG_SUBPATH, sub);
    free(full);
    free(origin);
    return ok;
  }
  if (rs_has_glob(c->ctx, sub, 0) && a == CSB_ACCESS_DENY &&
      (sk == RS_R_WORKSPACE || kc != K_SPECIAL)) {
    char *rel = validate_relative(c->ctx, sub);
    if (rel == NULL) {
      ok = fail(c, MSG_SUBPATH, sub);
    } else if (sk == RS_R_WORKSPACE) {
      rs_rules_add(c->rules, RS_R_WS_GLOB, rel, a, origin, 0);
    } else {
      /* The key is a path (it has no glob syntax): the pattern is anchored
       * at it matched literally, as at a workspace root, so that braces or
       * a backslash in its name do not make it an alternation or an
       * escape that names other directories. */
      char *base = NULL;
      if ((ok = key_abs(c, key, 0, &base))) {
        char *pat = rs_glob_join(c->ctx, base, rel);
        rs_rules_add(c->rules, RS_R_GLOB, pat, a, origin, 0);
        free(pat);
        free(base);
      }
    }
    free(rel);
    free(origin);
    return ok;
  }
  char *s2 = rs_has_glob(c->ctx, sub, 0) ? strip_subtree(c->ctx, sub) : csb_xstrdup(sub);
  if (rs_has_glob(c->ctx, s2, 0)) {
    ok = fail(c, MSG_RW_GLOB, sub, csb_access_name(a));
  } else if (strcmp(s2, ".") == 0) {
    ok = add_key_rule(c, key, key, a);
  } else if (kc == K_SPECIAL) {
    char *rel = validate_relative(c->ctx, s2);
    if (rel == NULL)
      ok = fail(c, MSG_SUBPATH, s2);
    else if (sk == RS_R_WORKSPACE)
      rs_rules_add(c->rules, RS_R_WORKSPACE, rel, a, origin, 0);
    else if (sk == RS_R_UNKNOWN)
      csb_strv_pushf(c->warnings, WARN_UNKNOWN_NESTED, key, rel);
    else
      ok = fail(c, MSG_NESTED, key);
    free(rel);
  } else {
    char *rel = validate_relative(c->ctx, s2);
    char *base = NULL;
    if (rel == NULL) {
      ok = fail(c, MSG_SUBPATH, s2);
    } else if ((ok = key_abs(c, key, 0, &base))) {
      char *p = rs_join(c->ctx, base, rel);
      rs_rules_add(c->rules, RS_R_PATH, p, a, origin, 0);
      free(p);
    }
    free(base);
    free(rel);
  }
  free(s2);
  free(origin);
  return ok;
}

/* Indices of a table's keys in bytewise order (the reference iterates
 * BTreeMaps). */
typedef struct {
  const char *key;
  size_t index;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
  return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key);
}

static size_t *sorted_keys(const csb_toml_value *t, size_t *n_out) {
  size_t n = csb_toml_table_len(t);
  keyed *k = csb_xcalloc(n ? n : 1, sizeof(*k));
  for (size_t i = 0; i < n; i++) k[i] = (keyed){csb_toml_table_key_at(t, i, NULL), i};
  /* Keys are distinct (NUL-free, see rs_find_nul), so the order is total. */
  qsort(k, n, sizeof(*k), keyed_cmp);
  size_t *idx = csb_xcalloc(n ? n : 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++) idx[i] = k[i].index;
  free(k);
  *n_out = n;
  return idx;
}

static int access_of(const csb_toml_value *v, csb_access *a) {
  return csb_access_parse(csb_toml_as_string(v, NULL), a);
}

/* Startup warnings of §2.2, computed before compiling. */
static void glob_warnings(compiler *c, const char *key, const char *sub, csb_access a) {
  char *joined = sub && is_glob_path_key(c, key) ? glob_key_join(c, key, sub) : NULL;
  const char *s = joined ? joined : sub ? sub : key;
  if (!rs_has_glob(c->ctx, s, 0)) {
    free(joined);
    return;
  }
  char *shown = sub ? csb_xasprintf("%s/%s", key, sub) : csb_xstrdup(key);
  if (a != CSB_ACCESS_DENY) {
    char *stripped = strip_subtree(c->ctx, s);
    if (rs_has_glob(c->ctx, stripped, 0)) csb_strv_pushf(c->warnings, WARN_RW_GLOB, shown);
    free(stripped);
  } else if (strstr(s, "**") != NULL && !c->depth_set) {
    csb_strv_pushf(c->warnings, WARN_DEEP_GLOB, shown);
  }
  free(shown);
  free(joined);
}

int rs_compile_filesystem(rs_ctx *ctx, const char *profile_id, const csb_toml_value *fs,
                          rs_rules *rules, int *glob_depth, csb_strv *warnings, csb_error *err) {
  (void)profile_id;
  compiler c = {ctx, rules, warnings, err, 0};
  if (csb_toml_value_kind(fs) != CSB_TOML_TABLE)
    return csb_error_set(err, "`filesystem` must be a table");
  const csb_toml_value *depth = csb_toml_table_get(fs, "glob_scan_max_depth");
  if (depth != NULL) {
    int64_t d = 0;
    if (!csb_toml_as_int(depth, &d)) return csb_error_set(err, "glob_scan_max_depth must be an integer");
    if (d < 1) return csb_error_set(err, "glob_scan_max_depth must be at least 1");
    if (d > INT_MAX) return csb_error_set(err, "glob_scan_max_depth is too large");
    *glob_depth = (int)d;
    c.depth_set = 1;
  }
  size_t n = 0;
  size_t *idx = sorted_keys(fs, &n);
  int ok = 1;
  /* Pass 0: warnings; pass 1: compile. */
  for (int pass = 0; ok && pass < 2; pass++) {
    for (size_t i = 0; ok && i < n; i++) {
      const char *key = csb_toml_table_key_at(fs, idx[i], NULL);
      const csb_toml_value *v = csb_toml_table_value_at(fs, idx[i]);
      if (strcmp(key, "glob_scan_max_depth") == 0) continue;
      csb_access a;
      if (csb_toml_value_kind(v) == CSB_TOML_TABLE) {
        size_t m = 0;
        size_t *sidx = sorted_keys(v, &m);
        for (size_t j = 0; ok && j < m; j++) {
          const char *sub = csb_toml_table_key_at(v, sidx[j], NULL);
          if (!access_of(csb_toml_table_value_at(v, sidx[j]), &a)) {
            ok = csb_error_set(err, "invalid filesystem access for `%s/%s`", key, sub);
            break;
          }
          if (pass == 0)
            glob_warnings(&c, key, sub, a);
          else
            ok = compile_scoped_one(&c, key, sub, a);
        }
        free(sidx);
      } else if (access_of(v, &a)) {
        if (pass == 0)
          glob_warnings(&c, key, NULL, a);
        else
          ok = compile_access(&c, key, key, a);
      } else {
        ok = csb_error_set(err, "invalid filesystem access for `%s`", key);
      }
    }
  }
  free(idx);
  return ok;
}
