/* select.c - which permissions are active (reference §3.1): syntax
 * detection (legacy sandbox_mode vs profiles), built-ins, named profiles
 * with `extends` (§3.2), trust-based defaults and the legacy modes. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "csb_netpolicy.h"
#include "csb_paths.h"
#include "resolve.h"

enum { SYNTAX_NONE = 0, SYNTAX_LEGACY, SYNTAX_PROFILES };

/* The built-in parents, injected as TOML so they merge like user profiles. */
static const char builtin_read_only[] = "[filesystem]\n\":root\" = \"read\"\n";
static const char builtin_workspace[] =
    "[filesystem]\n"
    "\":root\" = \"read\"\n"
    "\":slash_tmp\" = \"write\"\n"
    "\":tmpdir\" = \"write\"\n"
    "[filesystem.\":workspace_roots\"]\n"
    "\".\" = \"write\"\n"
    "\".git\" = \"read\"\n"
    "\".agents\" = \"read\"\n"
    "\".codex\" = \"read\"\n";

static csb_toml_value *builtin_table(const char *id) {
  const char *text = NULL;
  if (strcmp(id, ":read-only") == 0) text = builtin_read_only;
  if (strcmp(id, ":workspace") == 0) text = builtin_workspace;
  if (text == NULL) return NULL;
  csb_toml_value *t = NULL;
  if (!csb_toml_parse(text, strlen(text), &t, NULL)) return NULL;
  return t;
}

void rs_profile_free(rs_profile *p) {
  free(p->id);
  csb_strv_free(&p->extends);
  free(p->description);
  rs_rules_free(&p->rules);
  csb_toml_value_free(p->network);
  csb_strv_free(&p->profile_roots);
  free(p->legacy_mode);
  memset(p, 0, sizeof(*p));
}

static int config_error(rs_ctx *ctx, const char *msg) {
  rs_flush_warnings(ctx);
  return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", msg);
}

/* The same, at the file, line and column of `where` (a value of the merged
 * configuration) when it came from a file or -c. */
static int config_error_at(rs_ctx *ctx, const csb_toml_value *where, const char *msg) {
  const rs_layer *l = where ? rs_layer_of(ctx, where) : NULL;
  if (l == NULL) return config_error(ctx, msg);
  csb_toml_pos pos = csb_toml_value_pos(where);
  csb_buf b;
  csb_buf_init(&b);
  rs_format_diag(l, &pos, msg, &b);
  int rc = config_error(ctx, b.data);
  csb_buf_free(&b);
  return rc;
}

/* ---- normalised keys of network.domains and network.unix_sockets ----------- */

static int is_allow(const csb_toml_value *v) {
  const char *s = csb_toml_as_string(v, NULL);
  return s != NULL && strcmp(s, "allow") == 0;
}

/* A domains key as csb-proxy matches it; one that is no host at all is
 * kept as written, for the check of the patterns to refuse it by that
 * name. */
static char *domain_key(const rs_ctx *ctx, const char *written) {
  (void)ctx;
  char *k = csb_netpolicy_normalize_host(written);
  if (k[0] == '\0') {
    free(k);
    k = csb_xstrdup(written);
  }
  return k;
}

/* A unix_sockets key as the document holds it; one that cannot be made
 * absolute is kept as written, for rs_network to refuse it by that name. */
static char *socket_key(const rs_ctx *ctx, const char *written) {
  char *k = rs_abs_path(ctx, written, NULL);
  return k != NULL ? k : csb_xstrdup(written);
}

/* Rewrites a table's keys in their normal form. Keys of one table that
 * become the same must agree: whichever came last would otherwise decide
 * (a deny written first was dropped), and an entry a later layer set for
 * one spelling would lose to another spelling placed after it. */
static int normalize_keys(const rs_ctx *ctx, const rs_layer *layer, csb_toml_value *net,
                          const char *name, char *(*norm)(const rs_ctx *, const char *),
                          const char *what, csb_buf *msg) {
  csb_toml_value *table = csb_toml_table_get(net, name);
  if (table == NULL || csb_toml_value_kind(table) != CSB_TOML_TABLE) return 1;
  csb_toml_value *fresh = csb_toml_table_new();
  csb_strv written_as; /* the key each entry of `fresh` was written as */
  csb_strv_init(&written_as);
  int ok = 1;
  for (size_t i = 0; ok && i < csb_toml_table_len(table); i++) {
    const char *written = csb_toml_table_key_at(table, i, NULL);
    const csb_toml_value *v = csb_toml_table_value_at(table, i);
    csb_toml_pos kp = csb_toml_table_key_pos_at(table, i);
    if (norm == domain_key && is_allow(v) && csb_netpolicy_pattern_names_port(written)) {
      /* the port would be dropped, and the host allowed on every port */
      char *m = csb_xasprintf("network domain `%s` is allowed with a port, but rules cannot name "
                              "one (the host would be allowed on every port); write the host "
                              "alone to allow all of its ports",
                              written);
      rs_format_diag(layer, &kp, m, msg);
      free(m);
      ok = 0;
      break;
    }
    char *k = norm(ctx, written);
    size_t idx = 0;
    if (csb_toml_table_find(fresh, k, strlen(k), &idx)) {
      if (is_allow(csb_toml_table_value_at(fresh, idx)) != is_allow(v)) {
        char *m = csb_xasprintf("%s `%s` and `%s` name the same %s `%s` with different access; "
                                "keep one of them",
                                what, written_as.items[idx], written,
                                norm == domain_key ? "host" : "path", k);
        rs_format_diag(layer, &kp, m, msg);
        free(m);
        ok = 0;
      }
      free(k);
      continue;
    }
    csb_toml_table_set(fresh, k, csb_toml_clone(v));
    csb_toml_table_set_key_pos_at(fresh, csb_toml_table_len(fresh) - 1, &kp);
    csb_strv_push(&written_as, written);
    free(k);
  }
  csb_strv_free(&written_as);
  if (!ok) {
    csb_toml_value_free(fresh);
    return 0;
  }
  /* Replaced as a whole (key by key, each removal shifted the rest: time
   * quadratic in the keys, minutes for tens of thousands of domains). */
  csb_toml_pos tp = csb_toml_value_pos(table);
  csb_toml_value_set_pos(fresh, &tp);
  csb_toml_table_set(net, name, fresh);
  return 1;
}

static int normalize_network(const rs_ctx *ctx, const rs_layer *layer, csb_toml_value *net,
                             csb_buf *msg) {
  if (net == NULL || csb_toml_value_kind(net) != CSB_TOML_TABLE) return 1;
  return normalize_keys(ctx, layer, net, "domains", domain_key, "network domains", msg) &&
         normalize_keys(ctx, layer, net, "unix_sockets", socket_key, "network unix sockets", msg);
}

int rs_normalize_network_keys(const rs_ctx *ctx, const rs_layer *layer, csb_toml_value *tree,
                              csb_buf *msg) {
  csb_toml_value *perms = rs_get(tree, "permissions");
  if (perms != NULL && csb_toml_value_kind(perms) == CSB_TOML_TABLE) {
    for (size_t i = 0; i < csb_toml_table_len(perms); i++)
      if (!normalize_network(ctx, layer, rs_get(csb_toml_table_value_at(perms, i), "network"), msg))
        return 0;
  }
  return normalize_network(ctx, layer, rs_get(tree, "features.network_proxy"), msg);
}

/* ---- extends ----------------------------------------------------------------- */

/* merge(parent, child) of §3.2: the parent loses description and extends,
 * then the child is deep-merged over it. Consumes both. */
static csb_toml_value *merge_profiles(csb_toml_value *parent, csb_toml_value *child) {
  csb_toml_table_remove(parent, "description");
  csb_toml_table_remove(parent, "extends");
  csb_error err;
  (void)csb_toml_merge(parent, child, &err);
  return parent;
}

static int resolve_extends(rs_ctx *ctx, const csb_toml_value *perms, const char *selected,
                           const csb_toml_value *selected_at, csb_toml_value **out, csb_strv *inherited) {
  csb_strv chain;
  csb_strv_init(&chain);
  /* name -> its index in chain: a long chain is checked for a cycle in
   * linear time (a scan of the chain per step took quadratic time, over
   * a minute for the profiles a few files can hold). */
  csb_toml_value *seen = csb_toml_table_new();
  csb_toml_value **stack = NULL;
  size_t n_stack = 0, cap_stack = 0;
  const char *name = selected;
  const csb_toml_value *name_at = selected_at; /* where `name` was written */
  csb_toml_value *base = NULL;
  int rc = 0;
  for (;;) {
    int64_t at = 0;
    if (csb_toml_as_int(csb_toml_table_get(seen, name), &at)) {
      csb_buf b = {0};
      csb_buf_puts(&b, "permissions profile inheritance cycle detected: ");
      for (size_t j = (size_t)at; j < chain.len; j++) csb_buf_printf(&b, "%s -> ", chain.items[j]);
      csb_buf_puts(&b, name);
      rc = config_error_at(ctx, name_at, b.data);
      csb_buf_free(&b);
      goto fail;
    }
    const csb_toml_value *user = name[0] != ':' ? csb_toml_table_get(perms, name) : NULL;
    csb_toml_value *p = NULL;
    if (user != NULL) {
      p = csb_toml_clone(user);
    } else if (chain.len > 0 && (strcmp(name, ":read-only") == 0 || strcmp(name, ":workspace") == 0)) {
      p = builtin_table(name);
    } else {
      char *m;
      if (chain.len == 0)
        m = csb_xasprintf("default_permissions refers to undefined profile `%s`", name);
      else if (name[0] == ':')
        m = csb_xasprintf("permissions profile `%s` cannot extend unsupported built-in profile `%s`",
                          chain.items[chain.len - 1], name);
      else
        m = csb_xasprintf("permissions profile `%s` extends undefined profile `%s`",
                          chain.items[chain.len - 1], name);
      rc = config_error_at(ctx, name_at, m);
      free(m);
      goto fail;
    }
    csb_toml_table_set(seen, name, csb_toml_int_new((int64_t)chain.len));
    csb_strv_push(&chain, name);
    const csb_toml_value *ext_at = csb_toml_table_get(p, "extends");
    const char *ext = csb_toml_as_string(ext_at, NULL);
    if (ext != NULL) {
      stack = csb_xgrow(stack, &cap_stack, n_stack + 1, sizeof(*stack));
      stack[n_stack++] = p;
      name = ext; /* borrowed from p, which stays alive on the stack */
      name_at = ext_at;
      continue;
    }
    base = p;
    break;
  }
  /* Fold: root ancestor first, each child merged over its parent. */
  while (n_stack > 0) {
    csb_toml_value *child = stack[--n_stack];
    base = merge_profiles(base, child);
  }
  for (size_t i = 1; i < chain.len; i++) csb_strv_push(inherited, chain.items[i]);
  free(stack);
  csb_strv_free(&chain);
  csb_toml_value_free(seen);
  *out = base;
  return 0;
fail:
  for (size_t i = 0; i < n_stack; i++) csb_toml_value_free(stack[i]);
  free(stack);
  csb_strv_free(&chain);
  csb_toml_value_free(seen);
  return rc;
}

/* ---- compiling a merged profile table --------------------------------------- */

static int fs_is_empty(const csb_toml_value *fs) {
  if (fs == NULL || csb_toml_value_kind(fs) != CSB_TOML_TABLE) return 1;
  for (size_t i = 0; i < csb_toml_table_len(fs); i++)
    if (strcmp(csb_toml_table_key_at(fs, i, NULL), "glob_scan_max_depth") != 0) return 0;
  return 1;
}

static int compile_profile_table(rs_ctx *ctx, const char *id, const csb_toml_value *t,
                                 rs_profile *out, csb_strv *warnings) {
  const csb_toml_value *fs = csb_toml_table_get(t, "filesystem");
  csb_error err;
  csb_error_clear(&err);
  if (fs_is_empty(fs)) {
    csb_strv_pushf(warnings,
                   "Permissions profile `%s` does not define any recognized filesystem entries "
                   "for this version of csb. Filesystem access will remain restricted. Upgrade "
                   "csb if this profile expects filesystem permissions.",
                   id);
  }
  if (fs != NULL &&
      !rs_compile_filesystem(ctx, id, fs, &out->rules, &out->glob_scan_max_depth, warnings, &err))
    return config_error(ctx, err.msg);
  const csb_toml_value *net = csb_toml_table_get(t, "network");
  if (net != NULL) {
    out->network = csb_toml_clone(net);
    int en = 0;
    if (csb_toml_as_bool(csb_toml_table_get(net, "enabled"), &en)) out->network_enabled = en;
  }
  const csb_toml_value *roots = csb_toml_table_get(t, "workspace_roots");
  for (size_t i = 0; roots != NULL && i < csb_toml_table_len(roots); i++) {
    int on = 0;
    if (!csb_toml_as_bool(csb_toml_table_value_at(roots, i), &on) || !on) continue;
    const char *k = csb_toml_table_key_at(roots, i, NULL);
    char *abs = rs_abs_path(ctx, k, ctx->cwd);
    if (abs == NULL) {
      char *m = csb_xasprintf("workspace root `%s` cannot be resolved", k);
      int rc = config_error(ctx, m);
      free(m);
      return rc;
    }
    csb_strv_push_owned(&out->profile_roots, abs);
  }
  out->profile_root_origin = "profile";
  const char *desc = csb_toml_as_string(csb_toml_table_get(t, "description"), NULL);
  if (desc != NULL) out->description = csb_xstrdup(desc);
  return 0;
}

/* ---- legacy -------------------------------------------------------------------- */

static int legacy_bool(rs_ctx *ctx, const char *key) {
  int b = 0;
  char *full = csb_xasprintf("sandbox_workspace_write.%s", key);
  (void)rs_get_bool(ctx->merged, full, &b);
  free(full);
  return b;
}

/* sandbox_workspace_write.writable_roots, absolute (relative entries
 * resolve against the directory of the file that set them). */
static int legacy_writable_roots(rs_ctx *ctx, csb_strv *out) {
  const csb_toml_value *arr = rs_get(ctx->merged, "sandbox_workspace_write.writable_roots");
  csb_spath_set set; /* out without duplicates, in time linear in the roots */
  csb_spath_set_init(&set, ctx->style, 0, out);
  for (size_t i = 0; arr != NULL && i < csb_toml_array_len(arr); i++) {
    const csb_toml_value *it = csb_toml_array_at(arr, i);
    const char *s = csb_toml_as_string(it, NULL);
    const rs_layer *l = rs_layer_of(ctx, it);
    char *abs = s ? rs_abs_path(ctx, s, l ? l->base_dir : ctx->cwd) : NULL;
    if (abs == NULL) {
      char *m = csb_xasprintf("sandbox_workspace_write.writable_roots: cannot resolve `%s`",
                              s ? s : "");
      int rc = config_error(ctx, m);
      free(m);
      csb_spath_set_free(&set);
      return rc;
    }
    csb_spath_set_add_owned(&set, abs);
  }
  csb_spath_set_free(&set);
  return 0;
}

/* The existing protected subpaths of a legacy writable root (`.git` dir
 * or file, `.agents` and `.codex` directories), as skip-if-missing reads. */
static void add_protected_of_root(const rs_ctx *ctx, rs_profile *out, const char *root) {
  static const char *const names[] = {".git", ".agents", ".codex"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(names); i++) {
    char *p = rs_join(ctx, root, names[i]);
    csb_file_type t;
    int present = i == 0 ? csb_os_file_type(p, 0, &t)
                         : (csb_os_file_type(p, 1, &t) && t == CSB_FILE_DIR);
    if (present) rs_rules_add(&out->rules, RS_R_PATH, p, CSB_ACCESS_READ, "protected-metadata", 1);
    free(p);
  }
}

static int select_legacy(rs_ctx *ctx, rs_profile *out, csb_strv *warnings) {
  (void)warnings;
  const char *mode = ctx->sandbox_flag;
  int explicit_mode = mode != NULL;
  if (mode == NULL) {
    const char *prof = rs_get_string(ctx->merged, "profile");
    if (prof != NULL) {
      const csb_toml_value *profiles = rs_get(ctx->merged, "profiles");
      const csb_toml_value *pt = profiles ? csb_toml_table_get(profiles, prof) : NULL;
      mode = pt ? csb_toml_as_string(csb_toml_table_get(pt, "sandbox_mode"), NULL) : NULL;
    }
  }
  if (mode == NULL) mode = rs_get_string(ctx->merged, "sandbox_mode");
  if (mode != NULL) explicit_mode = 1;
  if (mode == NULL) mode = ctx->trust_level ? "workspace-write" : "read-only";
  out->legacy_mode = csb_xstrdup(mode);
  out->legacy_mode_explicit = explicit_mode;
  out->id = csb_xasprintf("legacy:%s", mode);
  out->kind = "legacy";
  if (strcmp(mode, "danger-full-access") == 0) {
    out->enforcement = CSB_ENFORCE_DISABLED;
    out->fs_kind = CSB_FS_UNRESTRICTED;
    out->network_enabled = 1;
    return 0;
  }
  if (strcmp(mode, "read-only") == 0) {
    rs_rules_add(&out->rules, RS_R_ROOT, NULL, CSB_ACCESS_READ, ":root", 0);
    return 0;
  }
  if (strcmp(mode, "workspace-write") != 0) {
    char *m = csb_xasprintf("unknown sandbox mode `%s`", mode);
    int rc = csb_cli_error(ctx->cli, ctx->sandbox_flag ? CSB_EXIT_USAGE : CSB_EXIT_CONFIG, "%s", m);
    free(m);
    return rc;
  }
  csb_strv roots;
  csb_strv_init(&roots);
  int rc = legacy_writable_roots(ctx, &roots);
  if (rc) {
    csb_strv_free(&roots);
    return rc;
  }
  rs_rules_add(&out->rules, RS_R_ROOT, NULL, CSB_ACCESS_READ, ":root", 0);
  rs_rules_add(&out->rules, RS_R_WORKSPACE, NULL, CSB_ACCESS_WRITE, ":workspace_roots", 0);
  if (!legacy_bool(ctx, "exclude_slash_tmp"))
    rs_rules_add(&out->rules, RS_R_SLASH_TMP, NULL, CSB_ACCESS_WRITE, ":slash_tmp", 0);
  if (!legacy_bool(ctx, "exclude_tmpdir_env_var"))
    rs_rules_add(&out->rules, RS_R_TMPDIR, NULL, CSB_ACCESS_WRITE, ":tmpdir", 0);
  for (size_t i = 0; i < roots.len; i++)
    rs_rules_add(&out->rules, RS_R_PATH, roots.items[i], CSB_ACCESS_WRITE, "legacy:writable_roots", 0);
  static const char *const names[] = {".git", ".agents", ".codex"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(names); i++) {
    char *origin = csb_xasprintf(":workspace_roots/%s", names[i]);
    rs_rules_add(&out->rules, RS_R_WORKSPACE, names[i], CSB_ACCESS_READ, origin, 1);
    free(origin);
  }
  for (size_t i = 0; i < roots.len; i++) add_protected_of_root(ctx, out, roots.items[i]);
  out->network_enabled = legacy_bool(ctx, "network_access");
  csb_strv_free(&roots);
  return 0;
}

/* ---- the selection -------------------------------------------------------------- */

static int detect_syntax(rs_ctx *ctx) {
  if (ctx->sandbox_flag) return SYNTAX_LEGACY;
  if (ctx->profile_flag) return SYNTAX_PROFILES;
  for (size_t i = 0; i < ctx->n_layers; i++)
    if (ctx->layers[i].is_cli && ctx->layers[i].has_default_permissions) return SYNTAX_PROFILES;
  const char *prof = rs_get_string(ctx->merged, "profile");
  if (prof != NULL) {
    const csb_toml_value *profiles = rs_get(ctx->merged, "profiles");
    const csb_toml_value *pt = profiles ? csb_toml_table_get(profiles, prof) : NULL;
    if (pt && csb_toml_table_get(pt, "sandbox_mode")) return SYNTAX_LEGACY;
  }
  int syntax = SYNTAX_NONE;
  for (size_t i = 0; i < ctx->n_layers; i++) {
    if (ctx->layers[i].has_sandbox_mode) syntax = SYNTAX_LEGACY;
    if (ctx->layers[i].has_default_permissions) syntax = SYNTAX_PROFILES;
  }
  return syntax;
}

int rs_select_profile(rs_ctx *ctx, rs_profile *out) {
  memset(out, 0, sizeof(*out));
  csb_strv_init(&out->extends);
  csb_strv_init(&out->profile_roots);
  out->enforcement = CSB_ENFORCE_MANAGED;
  out->fs_kind = CSB_FS_RESTRICTED;
  out->profile_root_origin = "profile";
  csb_strv *warnings = &ctx->policy->warnings;

  /* A config profile that is not there is an error (upstream: "config
   * profile not found"): ignored, the top-level settings it was meant to
   * replace would decide, full access among them. */
  const csb_toml_value *cfg_prof_at = rs_get(ctx->merged, "profile");
  const char *cfg_prof = csb_toml_as_string(cfg_prof_at, NULL);
  if (cfg_prof != NULL && csb_toml_table_get(rs_get(ctx->merged, "profiles"), cfg_prof) == NULL) {
    char *m = csb_xasprintf("config profile `%s` not found: define `[profiles.%s]` or remove "
                            "`profile`",
                            cfg_prof, cfg_prof);
    int rc = config_error_at(ctx, cfg_prof_at, m);
    free(m);
    return rc;
  }
  int syntax = detect_syntax(ctx);
  const csb_toml_value *perms = rs_get(ctx->merged, "permissions");
  if (perms != NULL) {
    for (size_t i = 0; i < csb_toml_table_len(perms); i++) {
      const char *id = csb_toml_table_key_at(perms, i, NULL);
      if (id[0] == ':') {
        char *m = csb_xasprintf("permissions profile `%s` uses a reserved built-in profile prefix", id);
        int rc = config_error(ctx, m);
        free(m);
        return rc;
      }
    }
  }
  const char *dp = ctx->profile_flag ? ctx->profile_flag
                                     : rs_get_string(ctx->merged, "default_permissions");
  const csb_toml_value *dp_at = ctx->profile_flag ? NULL : rs_get(ctx->merged, "default_permissions");
  if (perms != NULL && csb_toml_table_len(perms) > 0 && syntax != SYNTAX_LEGACY && dp == NULL)
    return config_error(ctx, "config defines `[permissions]` profiles but does not set "
                             "`default_permissions`");
  /* Legacy writable_roots are runtime workspace roots unless profiles are
   * selected explicitly (reference §3.3). */
  if (dp == NULL) {
    int rc = legacy_writable_roots(ctx, &out->profile_roots);
    if (rc) return rc;
    out->profile_root_origin = "legacy";
  }
  if (syntax == SYNTAX_LEGACY) return select_legacy(ctx, out, warnings);

  int implicit = dp == NULL;
  const char *id = dp ? dp : (ctx->trust_level ? ":workspace" : ":read-only");
  out->id = csb_xstrdup(id);
  out->kind = implicit ? "implicit" : "builtin";
  if (strcmp(id, ":danger-full-access") == 0) {
    out->enforcement = CSB_ENFORCE_DISABLED;
    out->fs_kind = CSB_FS_UNRESTRICTED;
    out->network_enabled = 1;
    return 0;
  }
  if (strcmp(id, ":read-only") == 0 || strcmp(id, ":workspace") == 0) {
    csb_toml_value *t = builtin_table(id);
    if (implicit && strcmp(id, ":workspace") == 0 && rs_get(ctx->merged, "sandbox_workspace_write")) {
      /* Implicit :workspace applies the legacy knobs. */
      csb_toml_value *fs = csb_toml_table_get(t, "filesystem");
      if (legacy_bool(ctx, "exclude_slash_tmp")) csb_toml_table_remove(fs, ":slash_tmp");
      if (legacy_bool(ctx, "exclude_tmpdir_env_var")) csb_toml_table_remove(fs, ":tmpdir");
      out->network_enabled = legacy_bool(ctx, "network_access");
    }
    int rc = compile_profile_table(ctx, id, t, out, warnings);
    if (implicit) out->profile_root_origin = "legacy";
    csb_toml_value_free(t);
    return rc;
  }
  if (id[0] == ':') {
    char *m = csb_xasprintf("default_permissions refers to unknown built-in profile `%s`", id);
    int rc = config_error_at(ctx, dp_at, m);
    free(m);
    return rc;
  }
  if (perms == NULL) return config_error_at(ctx, dp_at, "default_permissions requires a `[permissions]` table");
  csb_toml_value *merged = NULL;
  int rc = resolve_extends(ctx, perms, id, dp_at, &merged, &out->extends);
  if (rc) return rc;
  out->kind = "named";
  rc = compile_profile_table(ctx, id, merged, out, warnings);
  csb_toml_value_free(merged);
  return rc;
}
