/* strict.c - the configuration schema csb-resolve knows: type checks for
 * the keys it reads (always), unknown-field detection (--strict-config),
 * and `FILE:LINE:COL: message` diagnostics with a caret excerpt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

typedef enum {
  F_ANY = 0,  /* opaque: anything goes */
  F_STRING,
  F_BOOL,
  F_INT,
  F_NUMBER,
  F_ARRAY,
  F_STRINGS,  /* array of strings */
  F_ENUM,     /* string from `sub` (const char *const[]) */
  F_ENUMS,    /* array of strings from `sub` */
  F_TABLE,    /* known fields `sub` (const field[]) */
  F_MAP,      /* any keys; values follow `sub` (const field *) */
  F_BOOL_OR_TABLE,
  F_FILESYSTEM,   /* [permissions.<id>.filesystem] */
  F_ACCESS_MAP,   /* map of access strings (domains, unix sockets) */
  F_TRUE_MAP      /* map of bools (workspace_roots) */
} fkind;

typedef struct field {
  const char *name;
  fkind kind;
  const void *sub;
} field;

static const char *const sandbox_modes[] = {"read-only", "workspace-write", "danger-full-access",
                                            NULL};
static const char *const trust_levels[] = {"trusted", "untrusted", NULL};
static const char *const approval_policies[] = {"untrusted", "on-failure", "on-request", "never",
                                                NULL};
static const char *const proxy_modes[] = {"limited", "full", NULL};
static const char *const windows_levels[] = {"elevated", "unelevated", NULL};

static const field sandbox_workspace_write[] = {
    {"writable_roots", F_STRINGS, NULL},   {"network_access", F_BOOL, NULL},
    {"exclude_tmpdir_env_var", F_BOOL, NULL}, {"exclude_slash_tmp", F_BOOL, NULL},
    {NULL, F_ANY, NULL}};

/* The network keys a profile's [network] table and the network_proxy
 * feature table share. */
#define NETWORK_KEYS                                           \
  {"enabled", F_BOOL, NULL}, {"proxy_url", F_STRING, NULL},    \
      {"enable_socks5", F_BOOL, NULL},                         \
      {"socks_url", F_STRING, NULL},                           \
      {"enable_socks5_udp", F_BOOL, NULL},                     \
      {"allow_upstream_proxy", F_BOOL, NULL},                  \
      {"dangerously_allow_non_loopback_proxy", F_BOOL, NULL},  \
      {"dangerously_allow_all_unix_sockets", F_BOOL, NULL},    \
      {"mode", F_ENUM, proxy_modes},                           \
      {"domains", F_ACCESS_MAP, NULL},                         \
      {"unix_sockets", F_ACCESS_MAP, NULL},                    \
      {"allow_local_binding", F_BOOL, NULL}, {"mitm", F_ANY, NULL}

static const field network_fields[] = {
    NETWORK_KEYS,
    /* legacy list keys: accepted and ignored */
    {"allowed_domains", F_ANY, NULL},
    {"denied_domains", F_ANY, NULL},
    {"allow_unix_sockets", F_ANY, NULL},
    {NULL, F_ANY, NULL}};

static const field profile_fields[] = {{"description", F_STRING, NULL},
                                       {"extends", F_STRING, NULL},
                                       {"workspace_roots", F_TRUE_MAP, NULL},
                                       {"filesystem", F_FILESYSTEM, NULL},
                                       {"network", F_TABLE, network_fields},
                                       {NULL, F_ANY, NULL}};
static const field profile_value = {"", F_TABLE, profile_fields};

static const field project_fields[] = {{"trust_level", F_ENUM, trust_levels},
                                       {NULL, F_ANY, NULL}};
static const field project_value = {"", F_TABLE, project_fields};

static const field network_proxy_fields[] = {
    NETWORK_KEYS,
    {NULL, F_ANY, NULL}};

/* Feature flags of the Codex configuration this version knows. */
static const field feature_fields[] = {
    {"network_proxy", F_BOOL_OR_TABLE, network_proxy_fields},
    {"use_legacy_landlock", F_BOOL, NULL},
    {"apply_patch_freeform", F_BOOL, NULL},
    {"apps", F_BOOL, NULL},
    {"child_agents_md", F_BOOL, NULL},
    {"collab", F_BOOL, NULL},
    {"elevated_windows_sandbox", F_BOOL, NULL},
    {"enable_experimental_windows_sandbox", F_BOOL, NULL},
    {"exec_policy", F_BOOL, NULL},
    {"experimental_windows_sandbox", F_BOOL, NULL},
    {"ghost_commit", F_BOOL, NULL},
    {"js_repl", F_BOOL, NULL},
    {"memories", F_BOOL, NULL},
    {"multi_agent", F_BOOL, NULL},
    {"parallel", F_BOOL, NULL},
    {"personality", F_BOOL, NULL},
    {"powershell_utf8", F_BOOL, NULL},
    {"remote_compaction", F_BOOL, NULL},
    {"remote_models", F_BOOL, NULL},
    {"request_rule", F_BOOL, NULL},
    {"responses_websockets", F_BOOL, NULL},
    {"rmcp_client", F_BOOL, NULL},
    {"shell_snapshot", F_BOOL, NULL},
    {"shell_tool", F_BOOL, NULL},
    {"skills", F_BOOL, NULL},
    {"sqlite", F_BOOL, NULL},
    {"steer", F_BOOL, NULL},
    {"streamable_shell", F_BOOL, NULL},
    {"tui2", F_BOOL, NULL},
    {"undo", F_BOOL, NULL},
    {"unified_exec", F_BOOL, NULL},
    {"view_image_tool", F_BOOL, NULL},
    {"web_search_cached", F_BOOL, NULL},
    {"web_search_request", F_BOOL, NULL},
    {NULL, F_ANY, NULL}};

static const field windows_fields[] = {{"sandbox", F_ENUM, windows_levels},
                                       {"sandbox_private_desktop", F_BOOL, NULL},
                                       {NULL, F_ANY, NULL}};

static const field history_fields[] = {{"persistence", F_STRING, NULL},
                                       {"max_bytes", F_INT, NULL},
                                       {NULL, F_ANY, NULL}};

static const field tools_fields[] = {{"web_search", F_BOOL, NULL},
                                     {"view_image", F_BOOL, NULL},
                                     {NULL, F_ANY, NULL}};

/* Keys of a `[profiles.<name>]` config profile. */
static const field config_profile_fields[] = {
    {"model", F_STRING, NULL},
    {"model_provider", F_STRING, NULL},
    {"approval_policy", F_ENUM, approval_policies},
    {"sandbox_mode", F_ENUM, sandbox_modes},
    {"model_reasoning_effort", F_STRING, NULL},
    {"model_reasoning_summary", F_STRING, NULL},
    {"model_verbosity", F_STRING, NULL},
    {"chatgpt_base_url", F_STRING, NULL},
    {"experimental_instructions_file", F_STRING, NULL},
    {"include_apply_patch_tool", F_BOOL, NULL},
    {"tools_web_search", F_BOOL, NULL},
    {"tools_view_image", F_BOOL, NULL},
    {"features", F_TABLE, feature_fields},
    {"model_context_window", F_INT, NULL},
    {"model_auto_compact_token_limit", F_INT, NULL},
    {"personality", F_STRING, NULL},
    {NULL, F_ANY, NULL}};
static const field config_profile_value = {"", F_TABLE, config_profile_fields};

static const field any_value = {"", F_ANY, NULL};

/* Top-level keys of config.toml (Codex's schema; opaque tables accept
 * anything inside). */
static const field top_fields[] = {
    {"default_permissions", F_STRING, NULL},
    {"permissions", F_MAP, &profile_value},
    {"sandbox_mode", F_ENUM, sandbox_modes},
    {"sandbox_workspace_write", F_TABLE, sandbox_workspace_write},
    {"projects", F_MAP, &project_value},
    {"features", F_TABLE, feature_fields},
    {"windows", F_TABLE, windows_fields},
    {"profile", F_STRING, NULL},
    {"profiles", F_MAP, &config_profile_value},
    {"approval_policy", F_ENUM, approval_policies},
    {"model", F_STRING, NULL},
    {"review_model", F_STRING, NULL},
    {"model_provider", F_STRING, NULL},
    {"model_providers", F_MAP, &any_value},
    {"model_context_window", F_INT, NULL},
    {"model_max_output_tokens", F_INT, NULL},
    {"model_auto_compact_token_limit", F_INT, NULL},
    {"model_reasoning_effort", F_STRING, NULL},
    {"model_reasoning_summary", F_STRING, NULL},
    {"model_reasoning_summary_format", F_STRING, NULL},
    {"model_supports_reasoning_summaries", F_BOOL, NULL},
    {"model_verbosity", F_STRING, NULL},
    {"model_catalog_json", F_STRING, NULL},
    {"personality", F_STRING, NULL},
    {"shell_environment_policy", F_ANY, NULL},
    {"notify", F_STRINGS, NULL},
    {"instructions", F_STRING, NULL},
    {"developer_instructions", F_STRING, NULL},
    {"base_instructions", F_STRING, NULL},
    {"compact_prompt", F_STRING, NULL},
    {"experimental_compact_prompt_file", F_STRING, NULL},
    {"experimental_instructions_file", F_STRING, NULL},
    {"mcp_servers", F_MAP, &any_value},
    {"mcp_oauth_credentials_store", F_STRING, NULL},
    {"project_doc_max_bytes", F_INT, NULL},
    {"project_doc_fallback_filenames", F_STRINGS, NULL},
    {"project_root_markers", F_STRINGS, NULL},
    {"tool_output_token_limit", F_INT, NULL},
    {"history", F_TABLE, history_fields},
    {"file_opener", F_STRING, NULL},
    {"tui", F_ANY, NULL},
    {"hide_agent_reasoning", F_BOOL, NULL},
    {"show_raw_agent_reasoning", F_BOOL, NULL},
    {"chatgpt_base_url", F_STRING, NULL},
    {"tools", F_TABLE, tools_fields},
    {"otel", F_ANY, NULL},
    {"notice", F_ANY, NULL},
    {"analytics", F_ANY, NULL},
    {"feedback", F_ANY, NULL},
    {"ghost_snapshot", F_ANY, NULL},
    {"app_settings", F_ANY, NULL},
    {"apps", F_ANY, NULL},
    {"skills", F_ANY, NULL},
    {"agents", F_ANY, NULL},
    {"memories", F_ANY, NULL},
    {"web_search", F_ANY, NULL},
    {"zsh_path", F_STRING, NULL},
    {"js_repl_node_path", F_STRING, NULL},
    {"log_dir", F_STRING, NULL},
    {"sqlite_home", F_STRING, NULL},
    {"oss_provider", F_STRING, NULL},
    {"preferred_auth_method", F_STRING, NULL},
    {"forced_login_method", F_STRING, NULL},
    {"forced_chatgpt_workspace_id", F_STRING, NULL},
    {"cli_auth_credentials_store", F_STRING, NULL},
    {"disable_paste_burst", F_BOOL, NULL},
    {"windows_wsl_setup_acknowledged", F_BOOL, NULL},
    {"check_for_update_on_startup", F_BOOL, NULL},
    {"suppress_unstable_features_warning", F_BOOL, NULL},
    {"include_apply_patch_tool", F_BOOL, NULL},
    {"experimental_use_exec_command_tool", F_BOOL, NULL},
    {"experimental_use_unified_exec_tool", F_BOOL, NULL},
    {"experimental_use_freeform_apply_patch", F_BOOL, NULL},
    {"tools_web_search_request", F_BOOL, NULL},
    {"responses_originator_header_internal_override", F_STRING, NULL},
    {"allow_login_shell", F_BOOL, NULL},
    {"background_terminal_timeout", F_INT, NULL},
    {NULL, F_ANY, NULL}};

static const field top_schema = {"", F_TABLE, top_fields};

/* ---- diagnostics ----------------------------------------------------------------- */

/* The text of line `line` (1-based) of `text`. */
static char *line_text(const char *text, int line) {
  const char *p = text;
  for (int i = 1; p != NULL && i < line; i++) {
    p = strchr(p, '\n');
    if (p) p++;
  }
  if (p == NULL) return NULL;
  size_t n = strcspn(p, "\n");
  if (n > 0 && p[n - 1] == '\r') n--;
  return csb_xstrndup(p, n);
}

void rs_format_diag(const rs_layer *layer, const csb_toml_pos *pos, const char *message,
                    csb_buf *out) {
  int line = pos && pos->line > 0 ? pos->line : 1;
  int col = pos && pos->line > 0 ? pos->col : 1;
  csb_buf_printf(out, "%s:%d:%d: %s", layer->name, line, col, message);
  char *t = layer->text ? line_text(layer->text, line) : NULL;
  if (t == NULL) return;
  char num[16];
  snprintf(num, sizeof num, "%d", line);
  size_t pad = strlen(num);
  int carets = 1;
  if (pos && pos->line > 0 && pos->end_line == pos->line && pos->end_col >= pos->col)
    carets = pos->end_col - pos->col + 1;
  csb_buf_putc(out, '\n');
  for (size_t i = 0; i < pad; i++) csb_buf_putc(out, ' ');
  csb_buf_printf(out, " |\n%s | %s\n", num, t);
  for (size_t i = 0; i < pad; i++) csb_buf_putc(out, ' ');
  csb_buf_puts(out, " | ");
  for (int i = 1; i < col; i++) csb_buf_putc(out, ' ');
  for (int i = 0; i < carets; i++) csb_buf_putc(out, '^');
  free(t);
}

/* ---- checking --------------------------------------------------------------------- */

typedef struct checker {
  const rs_layer *layer;
  int unknown; /* report unknown fields instead of type errors */
  csb_buf *msg;
  csb_buf path;
} checker;

static const char *article(const char *kind) {
  return (kind[0] == 'a' || kind[0] == 'i') ? "an" : "a";
}

static int type_error(checker *c, const csb_toml_value *v, const char *want) {
  if (c->unknown) return 1;
  csb_toml_pos pos = csb_toml_value_pos(v);
  const char *got = csb_toml_kind_name(csb_toml_value_kind(v));
  char *m = csb_xasprintf("invalid type for `%s`: expected %s, got %s %s", c->path.data, want,
                          article(got), got);
  rs_format_diag(c->layer, &pos, m, c->msg);
  free(m);
  return 0;
}

static int enum_error(checker *c, const csb_toml_value *v, const char *const *names) {
  if (c->unknown) return 1;
  csb_buf b = {0};
  for (size_t i = 0; names[i]; i++) csb_buf_printf(&b, "%s`%s`", i ? ", " : "", names[i]);
  char *m = csb_xasprintf("unknown variant `%s` for `%s`, expected one of %s",
                          csb_toml_as_string(v, NULL), c->path.data, b.data);
  csb_toml_pos pos = csb_toml_value_pos(v);
  rs_format_diag(c->layer, &pos, m, c->msg);
  free(m);
  csb_buf_free(&b);
  return 0;
}

static int unknown_error(checker *c, const csb_toml_pos *kpos) {
  char *m = csb_xasprintf("unknown configuration field `%s`", c->path.data);
  rs_format_diag(c->layer, kpos, m, c->msg);
  free(m);
  return 0;
}

static void path_push(checker *c, const char *seg, size_t *saved) {
  *saved = c->path.len;
  if (c->path.len) csb_buf_putc(&c->path, '.');
  csb_buf_puts(&c->path, seg);
}

static void path_pop(checker *c, size_t saved) {
  c->path.len = saved;
  if (c->path.data) c->path.data[saved] = '\0';
}

static int check_value(checker *c, const csb_toml_value *v, const field *f);

static int in_enum(const char *s, const char *const *names) {
  for (size_t i = 0; s && names[i]; i++)
    if (strcmp(s, names[i]) == 0) return 1;
  return 0;
}

static int check_access_string(checker *c, const csb_toml_value *v, const char *const *names) {
  if (csb_toml_value_kind(v) != CSB_TOML_STRING) return type_error(c, v, "a string");
  if (!in_enum(csb_toml_as_string(v, NULL), names)) return enum_error(c, v, names);
  return 1;
}

static const char *const fs_access[] = {"read", "write", "deny", "none", NULL};
static const char *const allow_deny[] = {"allow", "deny", "none", NULL};

static int check_table(checker *c, const csb_toml_value *t, const field *fields) {
  for (size_t i = 0; i < csb_toml_table_len(t); i++) {
    const char *k = csb_toml_table_key_at(t, i, NULL);
    const csb_toml_value *v = csb_toml_table_value_at(t, i);
    const field *f = NULL;
    for (size_t j = 0; fields[j].name; j++)
      if (strcmp(fields[j].name, k) == 0) f = &fields[j];
    size_t saved;
    path_push(c, k, &saved);
    int ok;
    if (f == NULL) {
      csb_toml_pos kp = csb_toml_table_key_pos_at(t, i);
      ok = c->unknown ? unknown_error(c, &kp) : 1;
    } else {
      ok = check_value(c, v, f);
    }
    path_pop(c, saved);
    if (!ok) return 0;
  }
  return 1;
}

static int check_value(checker *c, const csb_toml_value *v, const field *f) {
  csb_toml_kind k = csb_toml_value_kind(v);
  switch (f->kind) {
    case F_ANY:
      return 1;
    case F_STRING:
      return k == CSB_TOML_STRING ? 1 : type_error(c, v, "a string");
    case F_BOOL:
      return k == CSB_TOML_BOOL ? 1 : type_error(c, v, "a boolean");
    case F_INT:
      return k == CSB_TOML_INTEGER ? 1 : type_error(c, v, "an integer");
    case F_NUMBER:
      return (k == CSB_TOML_INTEGER || k == CSB_TOML_FLOAT) ? 1 : type_error(c, v, "a number");
    case F_ARRAY:
      return k == CSB_TOML_ARRAY ? 1 : type_error(c, v, "an array");
    case F_ENUM:
      return check_access_string(c, v, (const char *const *)f->sub);
    case F_STRINGS:
    case F_ENUMS: {
      if (k != CSB_TOML_ARRAY) return type_error(c, v, "an array of strings");
      for (size_t i = 0; i < csb_toml_array_len(v); i++) {
        const csb_toml_value *it = csb_toml_array_at(v, i);
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", i);
        size_t saved;
        path_push(c, idx, &saved);
        int ok = f->kind == F_STRINGS
                     ? (csb_toml_value_kind(it) == CSB_TOML_STRING ? 1 : type_error(c, it, "a string"))
                     : check_access_string(c, it, (const char *const *)f->sub);
        path_pop(c, saved);
        if (!ok) return 0;
      }
      return 1;
    }
    case F_TABLE:
      if (k != CSB_TOML_TABLE) return type_error(c, v, "a table");
      return check_table(c, v, (const field *)f->sub);
    case F_BOOL_OR_TABLE:
      if (k == CSB_TOML_BOOL) return 1;
      if (k != CSB_TOML_TABLE) return type_error(c, v, "a boolean or a table");
      return check_table(c, v, (const field *)f->sub);
    case F_MAP:
    case F_ACCESS_MAP:
    case F_TRUE_MAP:
    case F_FILESYSTEM: {
      if (k != CSB_TOML_TABLE) return type_error(c, v, "a table");
      for (size_t i = 0; i < csb_toml_table_len(v); i++) {
        const char *key = csb_toml_table_key_at(v, i, NULL);
        const csb_toml_value *it = csb_toml_table_value_at(v, i);
        size_t saved;
        path_push(c, key, &saved);
        int ok = 1;
        csb_toml_kind ik = csb_toml_value_kind(it);
        if (f->kind == F_MAP) {
          ok = check_value(c, it, (const field *)f->sub);
        } else if (f->kind == F_ACCESS_MAP) {
          ok = check_access_string(c, it, allow_deny);
        } else if (f->kind == F_TRUE_MAP) {
          ok = ik == CSB_TOML_BOOL ? 1 : type_error(c, it, "a boolean");
        } else if (strcmp(key, "glob_scan_max_depth") == 0) {
          ok = ik == CSB_TOML_INTEGER ? 1 : type_error(c, it, "an integer");
        } else if (ik == CSB_TOML_TABLE) {
          for (size_t j = 0; ok && j < csb_toml_table_len(it); j++) {
            size_t s2;
            path_push(c, csb_toml_table_key_at(it, j, NULL), &s2);
            ok = check_access_string(c, csb_toml_table_value_at(it, j), fs_access);
            path_pop(c, s2);
          }
        } else if (ik == CSB_TOML_STRING) {
          ok = check_access_string(c, it, fs_access);
        } else {
          ok = type_error(c, it, "an access string or a table of subpaths");
        }
        path_pop(c, saved);
        if (!ok) return 0;
      }
      return 1;
    }
  }
  return 1;
}

int rs_find_nul(const csb_toml_value *v, csb_toml_pos *pos) {
  size_t n = 0;
  switch (csb_toml_value_kind(v)) {
    case CSB_TOML_STRING: {
      const char *s = csb_toml_as_string(v, &n);
      if (strlen(s) == n) return 0;
      *pos = csb_toml_value_pos(v);
      return 1;
    }
    case CSB_TOML_ARRAY:
      for (size_t i = 0; i < csb_toml_array_len(v); i++)
        if (rs_find_nul(csb_toml_array_at(v, i), pos)) return 1;
      return 0;
    case CSB_TOML_TABLE:
      for (size_t i = 0; i < csb_toml_table_len(v); i++) {
        const char *k = csb_toml_table_key_at(v, i, &n);
        if (strlen(k) != n) {
          *pos = csb_toml_table_key_pos_at(v, i);
          return 1;
        }
        if (rs_find_nul(csb_toml_table_value_at(v, i), pos)) return 1;
      }
      return 0;
    default:
      return 0;
  }
}

int rs_check_layer(const rs_layer *layer, int unknown, csb_buf *msg) {
  checker c = {layer, unknown, msg, {0}};
  csb_buf_reset(msg);
  csb_toml_pos pos;
  if (!unknown && rs_find_nul(layer->tree, &pos)) {
    rs_format_diag(layer, &pos, RS_NUL_MESSAGE, msg);
    return 0;
  }
  int ok = check_value(&c, layer->tree, &top_schema);
  csb_buf_free(&c.path);
  return ok;
}
