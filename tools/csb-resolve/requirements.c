/* requirements.c - admin requirements (reference §1.4, §2.6, §3.1 step 4):
 * `allowed_sandbox_modes` with fallback to `:read-only`, and the managed
 * `[permissions.filesystem] deny_read` floor. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csb_paths.h"
#include "resolve.h"

static const char *const mode_names[] = {"read-only", "workspace-write", "danger-full-access",
                                         "external-sandbox"};
static const char *const mode_labels[] = {"ReadOnly", "WorkspaceWrite", "DangerFullAccess",
                                          "ExternalSandbox"};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void rs_requirements_free(rs_requirements *r) {
  free(r->path);
  csb_toml_value_free(r->tree);
  csb_strv_free(&r->modes_order);
  csb_strv_free(&r->deny_read);
  memset(r, 0, sizeof(*r));
}

static int req_error(const rs_requirements *r, csb_buf *msg, const char *m) {
  csb_buf_printf(msg, "%s: %s", r->path, m);
  return CSB_EXIT_CONFIG;
}


/* FilesystemDenyReadPattern normalisation: plain paths are made absolute
 * (relative to the requirements file, `~` expanded); patterns keep their
 * glob suffix after the last separator before the first metacharacter.
 * The result starts with its kind, `P` (path) or `G` (pattern): told by
 * the entry as written, since the home or the file's directory may hold
 * metacharacters (which a pattern matches literally). */
static char *normalize_deny_read(const rs_ctx *ctx, const char *in, const char *base) {
  if (!rs_has_glob(ctx, in, 1)) {
    char *path = rs_abs_path(ctx, in, base);
    char *out = path != NULL ? csb_xasprintf("P%s", path) : NULL;
    free(path);
    return out;
  }
  /* A Windows verbatim or device prefix (`\\?\`, `\\.\`) is not a glob. */
  size_t skip = rs_device_prefix_len(ctx, in);
  size_t first = skip + strcspn(in + skip, "*?[");
  size_t cut = first;
  while (cut > 0 && !csb_spath_is_sep(ctx->style, in[cut - 1])) cut--;
  char *prefix = csb_xstrndup(in, cut);
  const char *suffix = in + cut;
  char *dir = rs_abs_pattern(ctx, prefix, base);
  free(prefix);
  if (dir == NULL) return NULL;
  size_t dl = strlen(dir);
  char sep = ctx->style == CSB_PATH_WINDOWS ? '\\' : '/';
  char *out = dl > 0 && dir[dl - 1] == sep ? csb_xasprintf("G%s%s", dir, suffix)
                                           : csb_xasprintf("G%s%c%s", dir, sep, suffix);
  free(dir);
  return out;
}

int rs_requirements_parse(const rs_ctx *ctx, const char *text, size_t len, rs_requirements *r,
                          csb_buf *msg) {
  csb_error err;
  csb_error_clear(&err);
  int ok = csb_toml_parse(text, len, &r->tree, &err);
  if (!ok) {
    csb_buf_printf(msg, "%s:%d:%d: %s", r->path, err.line, err.col, err.msg);
    return CSB_EXIT_DATA;
  }
  csb_toml_pos pos;
  if (rs_find_nul(r->tree, &pos)) {
    csb_buf_printf(msg, "%s:%d:%d: %s", r->path, pos.line, pos.col, RS_NUL_MESSAGE);
    return CSB_EXIT_CONFIG;
  }
  /* Requirements csb cannot enforce are refused, never ignored: each of
   * these would allow less than csb's document does. */
  static const char *const unsupported[][2] = {
      {"experimental_network", "managed network requirements"},
      {"remote_sandbox_config", "per-host sandbox modes"},
  };
  for (size_t i = 0; i < CSB_ARRAY_LEN(unsupported); i++) {
    if (csb_toml_table_get(r->tree, unsupported[i][0]) == NULL) continue;
    char *m = csb_xasprintf("`%s` (%s) is not supported by csb, which cannot enforce it; "
                            "remove it from the requirements (and enforce it another way) "
                            "rather than have it ignored",
                            unsupported[i][0], unsupported[i][1]);
    int rc = req_error(r, msg, m);
    free(m);
    return rc;
  }
  const csb_toml_value *perms = csb_toml_table_get(r->tree, "permissions");
  if (perms != NULL && csb_toml_value_kind(perms) != CSB_TOML_TABLE)
    return req_error(r, msg, "invalid type for `permissions`: expected a table");
  const csb_toml_value *modes = rs_get(r->tree, "allowed_sandbox_modes");
  if (modes != NULL) {
    if (csb_toml_value_kind(modes) != CSB_TOML_ARRAY)
      return req_error(r, msg, "invalid type for `allowed_sandbox_modes`: expected an array of strings");
    r->has_modes = 1;
    for (size_t i = 0; i < csb_toml_array_len(modes); i++) {
      const char *s = csb_toml_as_string(csb_toml_array_at(modes, i), NULL);
      if (s == NULL)
        return req_error(r, msg, "invalid type for `allowed_sandbox_modes`: expected an array of strings");
      size_t k = 0;
      while (k < 4 && strcmp(s, mode_names[k]) != 0) k++;
      if (k == 4) {
        char *m = csb_xasprintf("invalid value for `allowed_sandbox_modes`: unknown sandbox mode `%s`",
                                s);
        int rc = req_error(r, msg, m);
        free(m);
        return rc;
      }
      if (!r->modes[k]) csb_strv_push(&r->modes_order, mode_labels[k]);
      r->modes[k] = 1;
    }
    if (!r->modes[0])
      return req_error(r, msg, "invalid value for `allowed_sandbox_modes`: the allowed set must "
                               "include 'read-only' to allow any PermissionProfile");
  }
  const csb_toml_value *fs = rs_get(r->tree, "permissions.filesystem");
  if (fs != NULL) {
    static const char *const reserved[] = {"description", "extends", "workspace_roots",
                                           "filesystem", "network"};
    if (csb_toml_value_kind(fs) != CSB_TOML_TABLE)
      return req_error(r, msg, "invalid type for `permissions.filesystem`: expected a table");
    for (size_t i = 0; i < CSB_ARRAY_LEN(reserved); i++)
      if (csb_toml_table_get(fs, reserved[i]) != NULL)
        return req_error(r, msg, "`permissions.filesystem` is reserved for requirements-level "
                                 "filesystem constraints and cannot define a profile");
    const csb_toml_value *dr = csb_toml_table_get(fs, "deny_read");
    if (dr != NULL && csb_toml_value_kind(dr) != CSB_TOML_ARRAY)
      return req_error(r, msg, "invalid type for `permissions.filesystem.deny_read`: expected an array of strings");
    char *base = rs_dir_of(ctx, r->path);
    for (size_t i = 0; dr != NULL && i < csb_toml_array_len(dr); i++) {
      const char *s = csb_toml_as_string(csb_toml_array_at(dr, i), NULL);
      if (s == NULL) {
        free(base);
        return req_error(r, msg, "invalid type for `permissions.filesystem.deny_read`: expected an array of strings");
      }
      char *n = normalize_deny_read(ctx, s, base);
      if (n == NULL) {
        /* Leaving it out would make the path readable: refuse. */
        free(base);
        char *why = rs_home_problem(ctx);
        char *m = csb_xasprintf("`permissions.filesystem.deny_read` entry `%s` cannot be "
                                "resolved: it needs a home directory, but %s; set "
                                "%s or write the path in full",
                                s, why, rs_home_var(ctx));
        free(why);
        int rc = req_error(r, msg, m);
        free(m);
        return rc;
      }
      csb_strv_push_owned(&r->deny_read, n);
    }
    free(base);
    /* Duplicates go here, not by a scan per entry (thousands of them). */
    csb_strv_sort_unique(&r->deny_read);
  }
  return 0;
}


static int load(rs_ctx *ctx, rs_requirements *r, int *present) {
  *present = 0;
  csb_file_type ft;
  if (!csb_os_file_type(r->path, 1, &ft)) {
    if ((errno == ENOENT || errno == ENOTDIR) && !ctx->requirements_explicit) return 0;
    return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s: %s", r->path, strerror(errno));
  }
  /* As for configuration layers: a FIFO is read only when named. */
  if (!ctx->requirements_explicit && ft == CSB_FILE_OTHER)
    return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s: not a regular file", r->path);
  char *text = NULL;
  size_t len = 0;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_read_file(r->path, RS_MAX_CONFIG_BYTES, &text, &len, &err))
    return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", err.msg);
  csb_buf msg = {0};
  int rc = rs_requirements_parse(ctx, text, len, r, &msg);
  free(text);
  if (rc != 0) rc = csb_cli_error(ctx->cli, rc, "%s", msg.data);
  csb_buf_free(&msg);
  *present = rc == 0;
  return rc;
}

/* sandbox_mode_requirement_for_permission_profile */
static int classify(const csb_policy *p) {
  if (p->enforcement == CSB_ENFORCE_DISABLED) return 2;
  if (p->enforcement == CSB_ENFORCE_EXTERNAL) return 3;
  if (csb_policy_full_disk_write(p)) return 2;
  for (size_t i = 0; i < p->n_entries; i++)
    if (p->entries[i].access == CSB_ACCESS_WRITE) return 1;
  return 0;
}

static int classify_profile(rs_ctx *ctx, rs_profile *prof, int *cls) {
  csb_policy *saved = ctx->policy;
  ctx->policy = csb_policy_new(saved->platform, saved->cwd);
  csb_strv scratch;
  csb_strv_init(&scratch);
  int rc = rs_materialize(ctx, prof, &scratch);
  if (rc == 0) *cls = classify(ctx->policy);
  csb_strv_free(&scratch);
  csb_policy_free(ctx->policy);
  ctx->policy = saved;
  return rc;
}

/* The fallback keeps the deny rules of the profile it replaces (reference
 * §2.6, preserve_deny_read_restrictions_from), including those its
 * `:workspace_roots` rules gave the profile's own workspace roots: the
 * fallback has no profile roots, so they are kept as concrete rules. */
static void fall_back_to_read_only(const rs_ctx *ctx, rs_profile *prof) {
  rs_rules denies = {0};
  for (size_t i = 0; i < prof->rules.len; i++) {
    const rs_rule *r = &prof->rules.items[i];
    if (r->access != CSB_ACCESS_DENY) continue;
    rs_rules_add(&denies, r->kind, r->arg, r->access, r->origin, r->skip_if_missing);
    for (size_t k = 0; k < prof->profile_roots.len; k++) {
      const char *root = prof->profile_roots.items[k];
      if (r->kind == RS_R_WORKSPACE) {
        char *path = r->arg ? rs_join(ctx, root, r->arg) : csb_xstrdup(root);
        rs_rules_add(&denies, RS_R_PATH, path, r->access, r->origin, r->skip_if_missing);
        free(path);
      } else if (r->kind == RS_R_WS_GLOB) {
        char *pat = rs_glob_join(ctx, root, r->arg);
        rs_rules_add(&denies, RS_R_GLOB, pat, r->access, r->origin, r->skip_if_missing);
        free(pat);
      }
    }
  }
  int depth = prof->glob_scan_max_depth;
  rs_profile_free(prof);
  csb_strv_init(&prof->extends);
  csb_strv_init(&prof->profile_roots);
  prof->id = csb_xstrdup(":read-only");
  prof->kind = "builtin";
  prof->enforcement = CSB_ENFORCE_MANAGED;
  prof->fs_kind = CSB_FS_RESTRICTED;
  prof->profile_root_origin = "profile";
  rs_rules_add(&prof->rules, RS_R_ROOT, NULL, CSB_ACCESS_READ, ":root", 0);
  for (size_t i = 0; i < denies.len; i++) {
    const rs_rule *r = &denies.items[i];
    rs_rules_add(&prof->rules, r->kind, r->arg, r->access, r->origin, r->skip_if_missing);
  }
  prof->glob_scan_max_depth = depth;
  rs_rules_free(&denies);
}

int rs_apply_requirements(rs_ctx *ctx, rs_profile *prof, csb_strv *warnings) {
  if (ctx->profile_flag != NULL && !ctx->include_managed) return 0;
  rs_requirements r;
  memset(&r, 0, sizeof(r));
  r.path = csb_xstrdup(ctx->requirements_path);
  int present = 0;
  int rc = load(ctx, &r, &present);
  if (rc != 0 || !present) {
    rs_requirements_free(&r);
    return rc;
  }
  free(ctx->requirements_read);
  ctx->requirements_read = csb_xstrdup(r.path);
  int cls = 0;
  /* The class (which materialises the profile) matters only to the
   * sandbox-mode checks below, which need allowed modes or deny_read. */
  int constrained = r.has_modes || r.deny_read.len > 0;
  if (constrained && (rc = classify_profile(ctx, prof, &cls)) != 0) {
    rs_requirements_free(&r);
    return rc;
  }
  char *detail = NULL;
  if (r.has_modes && !r.modes[cls]) {
    csb_buf allowed = {0};
    for (size_t i = 0; i < r.modes_order.len; i++)
      csb_buf_printf(&allowed, "%s%s", i ? ", " : "", r.modes_order.items[i]);
    detail = csb_xasprintf("invalid value for `sandbox_mode`: `%s` is not in the allowed set [%s] "
                           "(set by %s)",
                           mode_labels[cls], allowed.data ? allowed.data : "", r.path);
    csb_buf_free(&allowed);
  } else if (r.deny_read.len > 0 && cls >= 2) {
    detail = csb_xasprintf("invalid value for `sandbox_mode`: `%s` is not in the allowed set "
                           "[read-only, workspace-write] (set by %s)",
                           mode_labels[cls], r.path);
  }
  if (detail != NULL) {
    const char *approval = rs_get_string(ctx->merged, "approval_policy");
    if (cls == 2 && approval != NULL && strcmp(approval, "never") == 0) {
      rc = csb_cli_error(
          ctx->cli, CSB_EXIT_CONFIG,
          "`approval_policy = \"never\"` cannot be used because requirements do not allow "
          "`sandbox_mode = \"danger-full-access\"`; csb would fall back to read-only permissions "
          "with approvals disabled. Choose an `approval_policy` based on what you need, such as "
          "`on-request`, or choose an allowed sandbox mode.");
      free(detail);
      rs_requirements_free(&r);
      return rc;
    }
    int silent = strcmp(prof->kind, "legacy") == 0 && !prof->legacy_mode_explicit;
    if (!silent)
      csb_strv_pushf(warnings,
                     "Configured value for `permission_profile` is disallowed by requirements; "
                     "falling back to required value :read-only. Details: %s",
                     detail);
    free(detail);
    fall_back_to_read_only(ctx, prof);
  }
  /* The profile's own deny rules, sorted, as "P<path>" / "G<pattern>". */
  csb_strv have;
  csb_strv_init(&have);
  for (size_t k = 0; k < prof->rules.len; k++) {
    const rs_rule *x = &prof->rules.items[k];
    if (x->access == CSB_ACCESS_DENY && x->arg && (x->kind == RS_R_PATH || x->kind == RS_R_GLOB))
      csb_strv_pushf(&have, "%c%s", x->kind == RS_R_GLOB ? 'G' : 'P', x->arg);
  }
  csb_strv_sort_unique(&have);
  for (size_t i = 0; i < r.deny_read.len; i++) {
    const char *key = r.deny_read.items[i], *d = key + 1;
    rs_rule_kind kind = key[0] == 'G' ? RS_R_GLOB : RS_R_PATH;
    if (kind == RS_R_PATH) csb_strv_push(&ctx->managed_deny, d);
    int dup = have.len > 0 && bsearch(&key, have.items, have.len, sizeof(char *), cmp_str) != NULL;
    if (!dup) rs_rules_add(&prof->rules, kind, d, CSB_ACCESS_DENY, "requirements:deny_read", 0);
  }
  csb_strv_free(&have);
  if (ctx->managed_deny.len > 0) {
    free(ctx->managed_deny_source);
    ctx->managed_deny_source = csb_xstrdup(r.path);
  }
  rs_requirements_free(&r);
  return 0;
}

/* ---- the deny-read floor ------------------------------------------------------ */

/* A set of paths (open addressing over csb_hash64), so that each entry
 * is checked against every managed path by walking up its own ancestors
 * instead of comparing it with all of them. */
typedef struct {
  const char **slots;
  size_t cap;
} path_set;

/* The stored path equal to p[0..n) (csb_spath_equal in `st`), or NULL. */
static const char *path_set_find(const path_set *s, csb_path_style st, const char *p, size_t n) {
  size_t j = (size_t)csb_spath_hash(st, p, n) & (s->cap - 1);
  char *want = NULL;
  const char *found = NULL;
  for (; found == NULL && s->slots[j] != NULL; j = (j + 1) & (s->cap - 1)) {
    const char *q = s->slots[j];
    if (st != CSB_PATH_WINDOWS) {
      if (strlen(q) == n && memcmp(q, p, n) == 0) found = q;
      continue;
    }
    if (want == NULL) want = csb_xstrndup(p, n);
    if (csb_spath_equal(st, q, want)) found = q;
  }
  free(want);
  return found;
}

static void path_set_add(path_set *s, csb_path_style st, const char *p) {
  size_t n = strlen(p);
  if (path_set_find(s, st, p, n) != NULL) return;
  size_t j = (size_t)csb_spath_hash(st, p, n) & (s->cap - 1);
  while (s->slots[j] != NULL) j = (j + 1) & (s->cap - 1);
  s->slots[j] = p;
}

/* The managed path strictly above `path` (normalised), or NULL: its
 * ancestors are its root and its prefixes that end before a separator. */
static const char *denying_ancestor(const rs_ctx *ctx, const path_set *set, const char *path) {
  size_t n = strlen(path);
  char *root = csb_spath_root(ctx->style, path);
  size_t root_len = root ? strlen(root) : 0;
  free(root);
  const char *found = NULL;
  for (size_t i = n; found == NULL && i-- > root_len;)
    if (csb_spath_is_sep(ctx->style, path[i])) found = path_set_find(set, ctx->style, path, i);
  if (found == NULL && root_len > 0 && root_len < n) found = path_set_find(set, ctx->style, path, root_len);
  return found;
}

void rs_enforce_deny_floor(rs_ctx *ctx) {
  csb_policy *p = ctx->policy;
  if (ctx->managed_deny.len == 0 || p->enforcement != CSB_ENFORCE_MANAGED ||
      p->fs_kind != CSB_FS_RESTRICTED)
    return;
  path_set set = {NULL, 16};
  while (set.cap < ctx->managed_deny.len * 2) set.cap *= 2;
  set.slots = csb_xcalloc(set.cap, sizeof(*set.slots));
  for (size_t i = 0; i < ctx->managed_deny.len; i++) path_set_add(&set, ctx->style, ctx->managed_deny.items[i]);
  size_t w = 0;
  for (size_t i = 0; i < p->n_entries; i++) {
    csb_policy_entry *e = &p->entries[i];
    const char *d = e->access == CSB_ACCESS_DENY ? NULL : denying_ancestor(ctx, &set, e->path);
    if (d == NULL) {
      p->entries[w++] = *e;
      continue;
    }
    csb_strv_pushf(&p->warnings,
                   "Filesystem entry `%s` (%s, from %s) is inside `%s`, which requirements deny "
                   "reading (set by %s); the entry is dropped. Ask the administrator to narrow "
                   "`permissions.filesystem.deny_read` if it is needed.",
                   e->path, e->access == CSB_ACCESS_WRITE ? "write" : "read", e->origin, d,
                   ctx->managed_deny_source);
    free(e->path);
    free(e->origin);
  }
  p->n_entries = w;
  free(set.slots);
}
