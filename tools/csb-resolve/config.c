/* config.c - configuration layers: system, user (csb or Codex home),
 * trusted project layers, -c overrides; type/strict checks; merge. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csb_paths.h"
#include "resolve.h"

/* ---- lookups ----------------------------------------------------------------- */

csb_toml_value *rs_get(const csb_toml_value *t, const char *dotted) {
  const csb_toml_value *cur = t;
  const char *p = dotted;
  while (cur != NULL) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (csb_toml_value_kind(cur) != CSB_TOML_TABLE) return NULL;
    cur = csb_toml_table_getn(cur, p, n);
    if (dot == NULL) return (csb_toml_value *)cur;
    p = dot + 1;
  }
  return NULL;
}

const char *rs_get_string(const csb_toml_value *t, const char *dotted) {
  return csb_toml_as_string(rs_get(t, dotted), NULL);
}

int rs_get_bool(const csb_toml_value *t, const char *dotted, int *out) {
  return csb_toml_as_bool(rs_get(t, dotted), out);
}

const rs_layer *rs_layer_of(const rs_ctx *ctx, const csb_toml_value *v) {
  if (v == NULL) return NULL;
  int s = csb_toml_value_pos(v).source;
  if (s >= 1 && (size_t)s <= ctx->n_layers) return &ctx->layers[s - 1];
  return NULL;
}

/* ---- layers ------------------------------------------------------------------ */

static rs_layer *new_layer(rs_ctx *ctx) {
  size_t cap = ctx->n_layers;
  ctx->layers = csb_xrealloc(ctx->layers, (cap + 1) * sizeof(*ctx->layers));
  rs_layer *l = &ctx->layers[ctx->n_layers++];
  memset(l, 0, sizeof(*l));
  return l;
}

/* Keys a project layer may not set (upstream's PROJECT_LOCAL_CONFIG_DENYLIST):
 * project configuration comes with the repository's contents. Of these,
 * `profile` and `profiles` matter here: honoured, a project could select
 * a `[profiles.x] sandbox_mode` of its own over the `profile` the user
 * chose. */
static const char *const project_denylist[] = {
    "openai_base_url", "chatgpt_base_url", "apps_mcp_product_sku", "model_provider",
    "model_providers", "notify", "profile", "profiles",
    "experimental_realtime_webrtc_call_base_url", "experimental_realtime_ws_base_url", "otel"};

/* Drops the denylisted keys from a project layer's tree, with upstream's
 * warning naming them. */
static void strip_project_denylist(rs_ctx *ctx, const char *path, csb_toml_value *tree) {
  csb_buf names = {0};
  for (size_t i = 0; i < CSB_ARRAY_LEN(project_denylist); i++) {
    csb_toml_value *v = csb_toml_table_take(tree, project_denylist[i], strlen(project_denylist[i]));
    if (v == NULL) continue;
    csb_toml_value_free(v);
    csb_buf_printf(&names, "%s%s", names.len ? ", " : "", project_denylist[i]);
  }
  if (names.len > 0)
    csb_strv_pushf(&ctx->load_warnings,
                   "Ignored unsupported project-local config keys in %s: %s. If you want these "
                   "settings to apply, manually set them in your user-level config.toml.",
                   path, names.data);
  csb_buf_free(&names);
}

/* Reads one TOML file as a layer. A missing file is not an error (returns
 * 1 without adding a layer); anything else that goes wrong is (exit 78). */
static int load_file_layer(rs_ctx *ctx, const char *path, int is_project, int is_explicit,
                           int *rc) {
  csb_file_type ft;
  if (!csb_os_file_type(path, 1, &ft)) {
    if (errno == ENOENT || errno == ENOTDIR) return 1;
    *rc = csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s: %s", path, strerror(errno));
    return 0;
  }
  /* A FIFO found in a home or a project would block the read until some
   * process writes it; one named on the command line (`<(...)`) is read. */
  if (!is_explicit && ft == CSB_FILE_OTHER) {
    *rc = csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s: not a regular file", path);
    return 0;
  }
  csb_error err;
  csb_error_clear(&err);
  char *text = NULL;
  size_t len = 0;
  if (!csb_read_file(path, RS_MAX_CONFIG_BYTES, &text, &len, &err)) {
    *rc = csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", err.msg);
    return 0;
  }
  csb_toml_value *tree = NULL;
  if (!csb_toml_parse(text, len, &tree, &err)) {
    if (err.line > 0)
      *rc = csb_cli_error(ctx->cli, CSB_EXIT_DATA, "%s:%d:%d: %s", path, err.line, err.col,
                          err.msg);
    else
      *rc = csb_cli_error(ctx->cli, CSB_EXIT_DATA, "%s: %s", path, err.msg);
    free(text);
    return 0;
  }
  if (is_project) strip_project_denylist(ctx, path, tree);
  rs_layer *l = new_layer(ctx);
  l->name = csb_xstrdup(path);
  l->base_dir = rs_dir_of(ctx, path);
  l->text = text;
  l->tree = tree;
  l->is_project = is_project;
  csb_toml_set_source(tree, (int)ctx->n_layers);
  return 1;
}

/* Shifts positions on line 1 by `delta` columns (values parsed out of a
 * -c argument, so that columns count from the start of the argument). */
static void shift_positions(csb_toml_value *v, int delta) {
  csb_toml_pos pos = csb_toml_value_pos(v);
  if (pos.line == 1) {
    pos.col += delta;
    if (pos.end_line == 1) pos.end_col += delta;
    csb_toml_value_set_pos(v, &pos);
  }
  if (csb_toml_value_kind(v) == CSB_TOML_TABLE) {
    for (size_t i = 0; i < csb_toml_table_len(v); i++) {
      csb_toml_pos kp = csb_toml_table_key_pos_at(v, i);
      if (kp.line == 1) {
        kp.col += delta;
        if (kp.end_line == 1) kp.end_col += delta;
        csb_toml_table_set_key_pos_at(v, i, &kp);
      }
      shift_positions(csb_toml_table_value_at(v, i), delta);
    }
  } else if (csb_toml_value_kind(v) == CSB_TOML_ARRAY) {
    for (size_t i = 0; i < csb_toml_array_len(v); i++) shift_positions(csb_toml_array_at(v, i), delta);
  }
}

static int count_chars(const char *s, size_t n) {
  int c = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
  return c;
}

int rs_parse_override(const char *arg, csb_toml_value **out, size_t *parts_out, csb_error *err) {
  *out = NULL;
  const char *eq = strchr(arg, '=');
  if (eq == NULL) return csb_error_set(err, "invalid -c override `%s`: expected KEY=VALUE", arg);
  const char *ks = arg, *ke = eq;
  while (ks < ke && (*ks == ' ' || *ks == '\t')) ks++;
  while (ke > ks && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
  if (ks == ke) return csb_error_set(err, "invalid -c override `%s`: empty key", arg);
  /* The tree built below is as deep as the key has parts: bound it as
   * the parser bounds the nesting of files (tree operations recurse). */
  size_t parts = 1;
  for (const char *q = ks; q < ke; q++) parts += *q == '.';
  if (parts > CSB_TOML_MAX_DEPTH)
    return csb_error_set(err, "invalid -c override: key has more than %d parts",
                         CSB_TOML_MAX_DEPTH);
  char *key = csb_xstrndup(ks, (size_t)(ke - ks));
  /* Both parts of the key this one stands for point at it as written. */
  int renamed = strcmp(key, "use_legacy_landlock") == 0;
  if (renamed) {
    free(key);
    key = csb_xstrdup("features.use_legacy_landlock");
  }
  const char *vs = eq + 1;
  csb_toml_value *val = NULL;
  csb_error verr;
  csb_error_clear(&verr);
  if (csb_toml_parse_value(vs, strlen(vs), &val, &verr)) {
    shift_positions(val, count_chars(arg, (size_t)(vs - arg)));
  } else {
    const char *s = vs;
    size_t n = strlen(s);
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) s++, n -= 2;
    val = csb_toml_string_newn(s, n);
    csb_toml_pos pos = {1, count_chars(arg, (size_t)(vs - arg)) + 1, 1,
                        count_chars(arg, strlen(arg)), 0};
    csb_toml_value_set_pos(val, &pos);
  }
  /* Build {a = {b = {c = val}}} with key positions inside the argument. */
  csb_toml_value *root = csb_toml_table_new();
  csb_toml_value *cur = root;
  const char *p = key;
  int col = count_chars(arg, (size_t)(ks - arg)) + 1;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    csb_toml_pos kp = {1, col, 1, col + count_chars(p, n) - (n > 0 ? 1 : 0), 0};
    if (renamed) kp.end_col = col + count_chars(ks, (size_t)(ke - ks)) - 1;
    if (dot == NULL) {
      csb_toml_table_setn(cur, p, n, val);
      csb_toml_table_set_key_pos_at(cur, csb_toml_table_len(cur) - 1, &kp);
      break;
    }
    csb_toml_value *next = csb_toml_table_new();
    csb_toml_table_setn(cur, p, n, next);
    csb_toml_table_set_key_pos_at(cur, csb_toml_table_len(cur) - 1, &kp);
    csb_toml_value_set_pos(next, &kp);
    cur = next;
    if (!renamed) col += count_chars(p, n) + 1;
    p = dot + 1;
  }
  free(key);
  *out = root;
  if (parts_out) *parts_out = renamed ? 2 : parts;
  return 1;
}

/* The length of the one key of a table of an override's chain. */
static size_t key_len_at(const csb_toml_value *chain) {
  size_t n = 0;
  (void)csb_toml_table_key_at(chain, 0, &n);
  return n;
}

/* Upstream writes every -c into one layer, each at its dotted path: a
 * later override replaces what an earlier one put at that path (and a
 * non-table an earlier one put on the way), rather than merging with it.
 * Each override is a layer of its own here, so the earlier override
 * layers lose what the new one (the chain `tree`, `parts` keys deep)
 * replaces; tables left empty by that go too, since an empty table
 * clears. An empty table an earlier -c wrote stays: it clears what the
 * layers below have there, and later overrides add to the cleared table
 * (golden case layers-28). */
static void replace_in_earlier_overrides(rs_ctx *ctx, const csb_toml_value *tree, size_t parts) {
  /* The tables on the way (path[k] holds the k-th key), so that tables
   * the removal leaves empty go too: an empty table would clear. */
  csb_toml_value **path = csb_xcalloc(parts + 1, sizeof(*path));
  for (size_t j = 0; j < ctx->n_layers; j++) {
    if (!ctx->layers[j].is_cli) continue;
    csb_toml_value *cur = ctx->layers[j].tree;
    const csb_toml_value *want = tree;
    size_t depth = 0; /* the key to remove is the depth-th key, held by path[depth] */
    int found = 0;
    for (size_t k = 0; k < parts; k++) {
      path[k] = cur;
      csb_toml_value *have =
          csb_toml_table_getn(cur, csb_toml_table_key_at(want, 0, NULL), key_len_at(want));
      if (have == NULL) break;
      int table = csb_toml_value_kind(have) == CSB_TOML_TABLE;
      if (k + 1 == parts && table && csb_toml_table_len(have) == 0) break; /* it clears */
      if (k + 1 == parts || !table) {
        depth = k;
        found = 1;
        break;
      }
      cur = have;
      want = csb_toml_table_value_at(want, 0);
    }
    if (!found) continue;
    /* Remove the key at `depth`, then every table left empty above it. */
    const csb_toml_value *w = tree;
    const csb_toml_value **keys = csb_xcalloc(depth + 1, sizeof(*keys));
    for (size_t k = 0; k <= depth; k++) {
      keys[k] = w;
      if (k < depth) w = csb_toml_table_value_at(w, 0);
    }
    for (size_t k = depth + 1; k-- > 0;) {
      csb_toml_value_free(
          csb_toml_table_take(path[k], csb_toml_table_key_at(keys[k], 0, NULL), key_len_at(keys[k])));
      if (k == 0 || csb_toml_table_len(path[k]) > 0) break;
    }
    free(keys);
  }
  free(path);
}

/* One -c KEY=VALUE override as its own layer ("session-flags"). */
static int load_override(rs_ctx *ctx, const char *arg, int *rc) {
  csb_toml_value *root = NULL;
  csb_error err;
  csb_error_clear(&err);
  size_t parts = 0;
  if (!rs_parse_override(arg, &root, &parts, &err)) {
    *rc = csb_cli_usage_error(ctx->cli, "%s", err.msg);
    return 0;
  }
  replace_in_earlier_overrides(ctx, root, parts);
  rs_layer *l = new_layer(ctx);
  l->name = csb_xstrdup("session-flags");
  l->base_dir = csb_xstrdup(ctx->cwd);
  l->text = csb_xstrdup(arg);
  l->tree = root;
  l->is_cli = 1;
  csb_toml_set_source(root, (int)ctx->n_layers);
  return 1;
}

/* ---- trust and project root ----------------------------------------------------- */

static int is_file_or_dir(const char *path) {
  csb_file_type t;
  return csb_os_file_type(path, 0, &t);
}

/* Whether the last component of `abs` is `worktrees` (Windows: in any
 * case). */
static int named_worktrees(const rs_ctx *ctx, const char *abs) {
  char *base = csb_spath_basename(ctx->style, abs);
  int yes = base != NULL && (ctx->style == CSB_PATH_POSIX ? strcmp(base, "worktrees") == 0
                                                          : strcasecmp(base, "worktrees") == 0);
  free(base);
  return yes;
}

/* Whether `admin` (a worktree's administrative directory
 * `<main>/.git/worktrees/<name>`) names `dotgit` back: `git worktree add`
 * writes the path of the worktree's `.git` file (absolute, or relative to
 * `admin`) into `admin/gitdir`. Both sides are compared canonically. A
 * `.git` file alone is anybody's to write (an unpacked archive's): without
 * the main repository's own record it could claim any trusted repository
 * and have its directory's project layers read as that one's. */
static int worktree_points_back(const rs_ctx *ctx, const char *admin, const char *dotgit) {
  char *file = rs_join(ctx, admin, "gitdir");
  csb_file_type t;
  char *text = NULL;
  size_t len = 0;
  int ok = csb_os_file_type(file, 1, &t) && t == CSB_FILE_REGULAR &&
           csb_read_file(file, 4096, &text, &len, NULL);
  free(file);
  if (!ok) return 0;
  while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                     text[len - 1] == '\n'))
    text[--len] = '\0';
  char *back = len > 0 && memchr(text, '\0', len) == NULL ? rs_join(ctx, admin, text) : NULL;
  free(text);
  char *a = NULL, *b = NULL;
  int same = back != NULL && csb_spath_canonicalize(ctx->style, back, &a, NULL) &&
             csb_spath_canonicalize(ctx->style, dotgit, &b, NULL) && csb_spath_equal(ctx->style, a, b);
  free(back);
  free(a);
  free(b);
  return same;
}

/* The main repository of a linked worktree whose `.git` file in `dir`
 * reads `gitdir: G` (G resolved against `dir`): G's parent must be named
 * `worktrees`, and the main repository is the parent of that directory's
 * parent (the common git directory). NULL for a `.git` file that is no
 * pointer or points elsewhere (a submodule's `gitdir: ../.git/modules/x`),
 * as upstream's resolve_root_git_project_for_trust decides, and, unlike
 * upstream, when G/gitdir does not name this `.git` file back
 * (worktree_points_back). */
static char *worktree_main_root(const rs_ctx *ctx, const char *dir, const char *dotgit) {
  char *text = NULL;
  size_t len = 0;
  if (!csb_read_file(dotgit, 4096, &text, &len, NULL)) return NULL;
  /* Read as the policy reads it for protection (and as Codex does for
   * trust): the trimmed text is `gitdir: PATH`. */
  char *exact = NULL, *target = NULL;
  csb_policy_gitdir_pointer(text, len, &exact, &target);
  free(exact);
  free(text);
  if (target == NULL) return NULL;
  char *abs = rs_join(ctx, dir, target);
  free(target);
  char *worktrees = abs ? csb_spath_parent(ctx->style, abs) : NULL;
  char *common = worktrees && named_worktrees(ctx, worktrees) && worktree_points_back(ctx, abs, dotgit)
                     ? csb_spath_parent(ctx->style, worktrees)
                     : NULL;
  free(abs);
  free(worktrees);
  char *main_root = common ? csb_spath_parent(ctx->style, common) : NULL;
  free(common);
  return main_root;
}

/* The root whose trust entry applies to `dir` after its own (upstream's
 * resolve_root_git_project_for_trust, reference §6.2): the nearest
 * ancestor of `dir` (itself included) holding a `.git`, when that is a
 * directory; for a worktree's `.git` file (pointing into
 * `<main>/.git/worktrees/...`) the main repository; none for a `.git` file
 * that is not a worktree's pointer, nor without a `.git`. */
static char *git_trust_root(const rs_ctx *ctx, const char *dir) {
  char *cur = csb_xstrdup(dir);
  for (;;) {
    char *dotgit = rs_join(ctx, cur, ".git");
    csb_file_type t;
    int found = csb_os_file_type(dotgit, 0, &t);
    char *root = NULL;
    if (found) {
      csb_file_type ft;
      if (csb_os_file_type(dotgit, 1, &ft) && ft == CSB_FILE_DIR)
        root = csb_xstrdup(cur);
      else if (t == CSB_FILE_REGULAR)
        root = worktree_main_root(ctx, cur, dotgit);
    }
    free(dotgit);
    if (found) {
      free(cur);
      return root;
    }
    char *up = csb_spath_parent(ctx->style, cur);
    free(cur);
    if (up == NULL) return NULL;
    cur = up;
  }
}

/* Where project layers start (upstream's find_project_root): the nearest
 * ancestor of `dir` (itself included) holding one of the
 * `project_root_markers` (default `.git`, a file or a directory; a
 * worktree's own directory, not its main repository), else `dir`; `dir`
 * itself when the markers are an empty list. */
static char *find_project_root(const rs_ctx *ctx, const char *dir, const csb_toml_value *markers) {
  static const char *const default_markers[] = {".git"};
  size_t n = CSB_ARRAY_LEN(default_markers);
  int configured = markers != NULL && csb_toml_value_kind(markers) == CSB_TOML_ARRAY;
  if (configured) {
    /* a list holding anything but strings is a type error reported with
     * the layer's other errors; the default decides until then */
    for (size_t i = 0; i < csb_toml_array_len(markers); i++)
      if (csb_toml_as_string(csb_toml_array_at(markers, i), NULL) == NULL) configured = 0;
    if (configured) n = csb_toml_array_len(markers);
  }
  char *cur = csb_xstrdup(dir);
  while (n > 0) {
    for (size_t i = 0; i < n; i++) {
      const char *m = configured ? csb_toml_as_string(csb_toml_array_at(markers, i), NULL)
                                 : default_markers[i];
      char *path = rs_join(ctx, cur, m);
      csb_file_type t;
      int found = csb_os_file_type(path, 1, &t);
      free(path);
      if (found) return cur;
    }
    char *up = csb_spath_parent(ctx->style, cur);
    if (up == NULL) break;
    free(cur);
    cur = up;
  }
  free(cur);
  return csb_xstrdup(dir);
}

/* The trust level recorded for `path` in `projects` (Windows: the keys
 * are compared as paths, ignoring case and the separator's spelling). */
static const char *trust_for(const rs_ctx *ctx, const csb_toml_value *merged, const char *path) {
  const csb_toml_value *projects = rs_get(merged, "projects");
  if (projects == NULL || csb_toml_value_kind(projects) != CSB_TOML_TABLE) return NULL;
  const csb_toml_value *proj = csb_toml_table_get(projects, path);
  if (proj == NULL && ctx->style == CSB_PATH_WINDOWS) {
    for (size_t i = 0; proj == NULL && i < csb_toml_table_len(projects); i++) {
      char *k = csb_winpath_normalize(csb_toml_table_key_at(projects, i, NULL));
      if (k != NULL && csb_winpath_equal(k, path)) proj = csb_toml_table_value_at(projects, i);
      free(k);
    }
  }
  if (proj == NULL || csb_toml_value_kind(proj) != CSB_TOML_TABLE) return NULL;
  return csb_toml_as_string(csb_toml_table_get(proj, "trust_level"), NULL);
}

/* The trust of the cwd's project, which decides the default profile:
 * the entry of the cwd (canonical, then as given), else of its git root
 * for trust. */
static void decide_trust(rs_ctx *ctx, const csb_toml_value *merged, const char *canon,
                         const char *trust_root) {
  const char *keys[3] = {canon, ctx->cwd, trust_root};
  for (size_t i = 0; i < 3; i++) {
    if (keys[i] == NULL) continue;
    const char *level = trust_for(ctx, merged, keys[i]);
    if (level != NULL) {
      ctx->trust_key = csb_xstrdup(keys[i]);
      ctx->trust_level = csb_xstrdup(level);
      break;
    }
  }
}

/* Whether the project layers of `dir` (the cwd, whose spelling as given
 * is `as_given`, or a directory above it) are read: as upstream's
 * decision_for_dir, the trust entry of `dir` itself, else the project
 * root's, else the git root's for trust, says `trusted`. A trusted cwd
 * does not make the layers of an untrusted directory above it count
 * (`/tmp/.git` and `/tmp/.csb/config.toml` made by anybody, above a
 * trusted `/tmp/proj`), and a trusted main repository does not make those
 * of a worktree count whose own directory says `untrusted`. */
static int dir_trusted(const rs_ctx *ctx, const csb_toml_value *projects, const char *dir,
                       const char *as_given, const char *trust_root) {
  const char *keys[4] = {dir, as_given, ctx->project_root, trust_root};
  for (size_t i = 0; i < 4; i++) {
    if (keys[i] == NULL) continue;
    const char *level = trust_for(ctx, projects, keys[i]);
    if (level != NULL) return strcmp(level, "trusted") == 0;
  }
  return 0;
}

/* Whether `a` and `b` name the same directory (canonically, when they
 * exist). */
static int same_dir(const rs_ctx *ctx, const char *a, const char *b) {
  char *ca = NULL, *cb = NULL;
  if (!csb_spath_canonicalize(ctx->style, a, &ca, NULL)) ca = csb_xstrdup(a);
  if (!csb_spath_canonicalize(ctx->style, b, &cb, NULL)) cb = csb_xstrdup(b);
  int same = csb_spath_equal(ctx->style, ca, cb);
  free(ca);
  free(cb);
  return same;
}

/* Project layers from the project root down to the cwd: `.codex/` (Codex
 * home mode only) then `.csb/` in each directory whose trust decision
 * (dir_trusted) says `trusted`. The home read as the user layer is not
 * read again as a project layer (the cwd is the home's parent). */
static int load_project_layers(rs_ctx *ctx, const csb_toml_value *projects, const char *canon,
                               const char *trust_root, int *rc) {
  const char *top = ctx->project_root;
  csb_strv dirs;
  csb_strv_init(&dirs);
  char *cur = csb_xstrdup(canon);
  for (;;) {
    csb_strv_push(&dirs, cur);
    if (csb_spath_equal(ctx->style, cur, top) || !csb_spath_is_under(ctx->style, top, cur)) break;
    char *up = csb_spath_parent(ctx->style, cur);
    free(cur);
    if (up == NULL) {
      cur = NULL;
      break;
    }
    cur = up;
  }
  free(cur);
  int ok = 1;
  for (size_t i = dirs.len; ok && i-- > 0;) {
    static const char *const subdirs[] = {".codex", ".csb"};
    if (!dir_trusted(ctx, projects, dirs.items[i], i == 0 ? ctx->cwd : NULL, trust_root)) continue;
    for (size_t k = 0; ok && k < 2; k++) {
      if (k == 0 && !ctx->codex_mode) continue;
      char *d = rs_join(ctx, dirs.items[i], subdirs[k]);
      char *f = rs_join(ctx, d, "config.toml");
      if (is_file_or_dir(f) && !(ctx->user_home_dir && same_dir(ctx, d, ctx->user_home_dir)))
        ok = load_file_layer(ctx, f, 1, 0, rc);
      free(d);
      free(f);
    }
  }
  csb_strv_free(&dirs);
  return ok;
}

/* ---- the whole load ------------------------------------------------------------- */

/* `-c KEY={}` clears the table at KEY (as upstream's overrides do; a
 * non-empty table merges into it like any layer's): the override layer
 * is one chain of single-key tables, and when it ends in an empty table,
 * what the layers below put there is dropped before the merge. */
static void clear_for_empty_override(csb_toml_value *merged, const csb_toml_value *cli) {
  while (csb_toml_table_len(cli) == 1 && merged != NULL) {
    size_t n = 0;
    const char *k = csb_toml_table_key_at(cli, 0, &n);
    const csb_toml_value *v = csb_toml_table_value_at(cli, 0);
    if (csb_toml_value_kind(v) != CSB_TOML_TABLE) return;
    if (csb_toml_table_len(v) == 0) {
      csb_toml_value_free(csb_toml_table_take(merged, k, n));
      return;
    }
    merged = csb_toml_table_getn(merged, k, n);
    cli = v;
  }
}

/* Merges one layer's tree (consumed) into m, as the whole load does:
 * an override layer's empty table clears what is below it first. */
static void merge_layer(csb_toml_value *m, csb_toml_value *tree, int is_cli) {
  csb_error err;
  if (is_cli) clear_for_empty_override(m, tree);
  (void)csb_toml_merge(m, tree, &err);
}

/* The deep merge of the layers' `projects` and `project_root_markers`
 * alone: what the merge of the whole layers has there, which is all the
 * trust decision and the project root read. */
static csb_toml_value *merge_projects(rs_ctx *ctx) {
  static const char *const keys[] = {"projects", "project_root_markers"};
  csb_toml_value *m = csb_toml_table_new();
  for (size_t i = 0; i < ctx->n_layers; i++) {
    csb_toml_value *one = csb_toml_table_new();
    for (size_t k = 0; k < CSB_ARRAY_LEN(keys); k++) {
      const csb_toml_value *v = csb_toml_table_get(ctx->layers[i].tree, keys[k]);
      if (v != NULL) csb_toml_table_set(one, keys[k], csb_toml_clone(v));
    }
    merge_layer(m, one, ctx->layers[i].is_cli);
  }
  return m;
}

/* The deep merge of every layer, lowest first. The layers' trees are
 * moved into it (only their top-level facts that profile selection reads
 * are kept). NULL with the diagnostic in `msg` when a layer's domains or
 * unix sockets disagree (rs_normalize_network_keys). */
static csb_toml_value *merge_layers(rs_ctx *ctx, csb_buf *msg) {
  for (size_t i = 0; i < ctx->n_layers; i++)
    if (!rs_normalize_network_keys(ctx, &ctx->layers[i], ctx->layers[i].tree, msg)) return NULL;
  csb_toml_value *m = csb_toml_table_new();
  for (size_t i = 0; i < ctx->n_layers; i++) {
    rs_layer *l = &ctx->layers[i];
    l->has_sandbox_mode = rs_get(l->tree, "sandbox_mode") != NULL;
    l->has_default_permissions = rs_get(l->tree, "default_permissions") != NULL;
    merge_layer(m, l->tree, l->is_cli);
    l->tree = NULL;
  }
  return m;
}

int rs_config_load(rs_ctx *ctx) {
  int rc = 0;
  if (!load_file_layer(ctx, ctx->system_config, 0, ctx->system_config_explicit, &rc)) return rc;
  if (ctx->user_home_dir != NULL) {
    char *user = rs_join(ctx, ctx->user_home_dir, "config.toml");
    int ok = load_file_layer(ctx, user, 0, 0, &rc);
    free(user);
    if (!ok) return rc;
  }
  int ok = 1;
  size_t n_base = ctx->n_layers;
  /* Overrides count for the trust decision, so parse them now and place
   * them last. */
  rs_layer *saved = NULL;
  size_t n_saved = 0;
  for (size_t i = 0; i < ctx->overrides.len; i++)
    if (!load_override(ctx, ctx->overrides.items[i], &rc)) return rc;
  n_saved = ctx->n_layers - n_base;
  csb_toml_value *projects = merge_projects(ctx);
  char *canon = NULL;
  if (!csb_spath_canonicalize(ctx->style, ctx->cwd, &canon, NULL)) canon = csb_xstrdup(ctx->cwd);
  char *trust_root = git_trust_root(ctx, canon);
  ctx->project_root = find_project_root(ctx, canon, csb_toml_table_get(projects, "project_root_markers"));
  decide_trust(ctx, projects, canon, trust_root);
  /* Take the override layers out, add project layers, put them back. */
  saved = csb_xmalloc((n_saved ? n_saved : 1) * sizeof(*saved));
  if (n_saved > 0) memcpy(saved, ctx->layers + n_base, n_saved * sizeof(*saved));
  ctx->n_layers = n_base;
  ok = load_project_layers(ctx, projects, canon, trust_root, &rc);
  for (size_t i = 0; i < n_saved; i++) {
    rs_layer *l = new_layer(ctx);
    *l = saved[i];
    if (!ok) {
      /* still owned by the context so that it is freed */
      continue;
    }
    csb_toml_set_source(l->tree, (int)ctx->n_layers);
  }
  free(saved);
  csb_toml_value_free(projects);
  free(trust_root);
  free(canon);
  if (!ok) return rc;
  /* Type errors first (every layer), then unknown fields. */
  csb_buf msg = {0};
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1 && !ctx->strict) break;
    for (size_t i = 0; i < ctx->n_layers; i++) {
      if (!rs_check_layer(&ctx->layers[i], pass == 1, &msg)) {
        rc = csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", msg.data);
        csb_buf_free(&msg);
        return rc;
      }
    }
  }
  csb_buf_reset(&msg);
  ctx->merged = merge_layers(ctx, &msg);
  if (ctx->merged == NULL) rc = csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", msg.data);
  csb_buf_free(&msg);
  return rc;
}

void rs_flush_warnings(rs_ctx *ctx) {
  if (ctx->policy == NULL) return;
  for (; ctx->n_warned < ctx->policy->warnings.len; ctx->n_warned++)
    csb_cli_warn(ctx->cli, "%s", ctx->policy->warnings.items[ctx->n_warned]);
}

void rs_ctx_free(rs_ctx *ctx) {
  for (size_t i = 0; i < ctx->n_layers; i++) {
    free(ctx->layers[i].name);
    free(ctx->layers[i].base_dir);
    free(ctx->layers[i].text);
    csb_toml_value_free(ctx->layers[i].tree);
  }
  free(ctx->layers);
  csb_toml_value_free(ctx->merged);
  free(ctx->cwd);
  free(ctx->proc_cwd);
  free(ctx->home);
  free(ctx->tmpdir);
  free(ctx->user_home_dir);
  free(ctx->csb_home_dir);
  free(ctx->codex_home_dir);
  free(ctx->default_system_config);
  free(ctx->default_requirements);
  free(ctx->codex_system_dir);
  free(ctx->trust_key);
  free(ctx->trust_level);
  free(ctx->project_root);
  csb_strv_free(&ctx->add_dirs);
  csb_strv_free(&ctx->overrides);
  csb_strv_free(&ctx->managed_deny);
  csb_strv_free(&ctx->load_warnings);
  free(ctx->managed_deny_source);
  free(ctx->requirements_read);
  csb_policy_free(ctx->policy);
}
