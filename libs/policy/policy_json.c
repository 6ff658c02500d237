/* policy_json.c - strict reader and canonical writer of csb.policy/v1.
 *
 * The reader validates everything docs/policy.md says; error messages start
 * with the JSON pointer of the offending value, as libs/json does. The
 * writer builds a cJSON tree and prints it with libs/json's sorted,
 * indented printer, so canonical documents round-trip byte for byte. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

#include "cJSON.h"
#include "csb_json.h"
#include "csb_netpolicy.h"
#include "csb_policy.h"
#include "policy_internal.h"

#define MAX_POLICY_BYTES ((size_t)16 * 1024 * 1024)

/* ---- small reader helpers ------------------------------------------------- */

static int fail_key(csb_error *err, const char *key, const char *fmt, ...) CSB_PRINTF(3, 4);
static int fail_key(csb_error *err, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(err, fmt, ap);
  va_end(ap);
  csb_json_error_push_key(err, key);
  return 0;
}

/* Checks the members of `obj` against `allowed`; the message names the
 * unknown field and, once the caller pushes its keys, its full pointer. */
static int check_fields(const cJSON *obj, const char *const *allowed, csb_error *err) {
  for (const cJSON *c = obj->child; c != NULL; c = c->next) {
    int ok = 0;
    for (size_t i = 0; allowed[i] != NULL; i++)
      if (strcmp(c->string, allowed[i]) == 0) ok = 1;
    if (!ok) {
      csb_error_set(err, "unknown field");
      csb_json_error_push_key(err, c->string);
      return 0;
    }
  }
  return 1;
}

static int get_enum(const cJSON *obj, const char *key, const char *const *names, size_t n,
                    int *out, csb_error *err) {
  const char *s = NULL;
  if (!csb_json_get_string(obj, key, &s, err)) return 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = (int)i;
      return 1;
    }
  }
  csb_buf b = {0};
  for (size_t i = 0; i < n; i++) {
    if (i) csb_buf_puts(&b, i + 1 == n ? " or " : ", ");
    csb_buf_puts(&b, names[i]);
  }
  char *shown = csb_json_display(s);
  csb_error_set(err, "expected one of %s, got `%s`", b.data, shown);
  free(shown);
  csb_buf_free(&b);
  csb_json_error_push_key(err, key);
  return 0;
}

static int get_bool_int(const cJSON *obj, const char *key, int *out, csb_error *err) {
  bool b = false;
  if (!csb_json_get_bool(obj, key, &b, err)) return 0;
  *out = b ? 1 : 0;
  return 1;
}

static int opt_bool_int(const cJSON *obj, const char *key, int *out, csb_error *err) {
  bool b = *out != 0;
  if (!csb_json_opt_bool(obj, key, &b, err)) return 0;
  *out = b ? 1 : 0;
  return 1;
}

/* A required path member: absolute and normalised in the document's style. */
static int get_path(const csb_policy *p, const cJSON *obj, const char *key, const char **out,
                    csb_error *err) {
  if (!csb_json_get_string(obj, key, out, err)) return 0;
  if (!csb_policy_i_path_is_canonical(p->platform, *out)) {
    char *shown = csb_json_display(*out);
    fail_key(err, key, "expected an absolute, normalised path, got `%s`", shown);
    free(shown);
    return 0;
  }
  return 1;
}

/* ---- sections ------------------------------------------------------------- */

static const char *const enforcement_names[] = {"managed", "disabled", "external"};
static const char *const fs_kind_names[] = {"restricted", "unrestricted", "external"};
static const char *const net_mode_names[] = {"restricted", "enabled", "proxy"};
static const char *const platform_names[] = {"linux", "macos", "windows"};
static const char *const access_names[] = {"read", "write", "deny"};
static const char *const profile_kinds[] = {"builtin", "named", "legacy", "implicit"};
static const char *const root_origins[] = {"cwd", "add-dir", "profile", "legacy"};
static const char *const backend_names[] = {"bubblewrap", "landlock"};
static const char *const legacy_types[] = {"read-only", "workspace-write", "danger-full-access",
                                           "external-sandbox"};

static int read_profile(csb_policy *p, const cJSON *obj, csb_error *err) {
  static const char *const keys[] = {"id", "kind", "extends", "description", NULL};
  const char *s = NULL;
  int kind = 0;
  if (!csb_json_as_object(obj, &obj, err)) return 0;
  if (!check_fields(obj, keys, err)) return 0;
  if (!csb_json_get_string(obj, "id", &s, err)) return 0;
  if (s[0] == '\0') return fail_key(err, "id", "expected a non-empty string");
  free(p->profile_id);
  p->profile_id = csb_xstrdup(s);
  if (!get_enum(obj, "kind", profile_kinds, CSB_ARRAY_LEN(profile_kinds), &kind, err)) return 0;
  free(p->profile_kind);
  p->profile_kind = csb_xstrdup(profile_kinds[kind]);
  if (!csb_json_get_strings(obj, "extends", &p->extends, err)) return 0;
  s = NULL;
  if (!csb_json_opt_string(obj, "description", &s, err)) return 0;
  if (s != NULL) p->description = csb_xstrdup(s);
  return 1;
}

static int read_roots(csb_policy *p, const cJSON *arr, csb_error *err) {
  static const char *const keys[] = {"path", "origin", NULL};
  if (!csb_json_as_array(arr, &arr, err)) return 0;
  csb_strv seen;
  csb_strv_init(&seen);
  for (size_t j = 0; j < p->n_workspace_roots; j++) csb_strv_push(&seen, p->workspace_roots[j].path);
  csb_spath_set set;
  csb_spath_set_init(&set, csb_policy_i_style(p->platform), 0, &seen);
  int ok = 1;
  size_t i = 0;
  for (const cJSON *it = arr->child; ok && it != NULL; it = it->next, i++) {
    const cJSON *o = NULL;
    const char *path = NULL;
    int origin = 0;
    if (!csb_json_as_object(it, &o, err) || !check_fields(o, keys, err) ||
        !get_path(p, o, "path", &path, err) ||
        !get_enum(o, "origin", root_origins, CSB_ARRAY_LEN(root_origins), &origin, err)) {
      csb_json_error_push_index(err, i);
      ok = 0;
    } else if (!csb_spath_set_add(&set, path)) {
      char *shown = csb_json_display(path);
      csb_error_set(err, "duplicate workspace root `%s`", shown);
      free(shown);
      csb_json_error_push_key(err, "path");
      csb_json_error_push_index(err, i);
      ok = 0;
    } else {
      csb_policy_i_push_root(p, path, root_origins[origin]);
    }
  }
  csb_spath_set_free(&set);
  csb_strv_free(&seen);
  return ok;
}

static int read_entry(csb_policy *p, const cJSON *o, csb_error *err) {
  static const char *const keys[] = {"path", "access", "origin", "skip_if_missing", "internal",
                                     NULL};
  const char *path = NULL, *origin = NULL;
  int access = 0, skip = 0, internal = 0;
  if (!csb_json_as_object(o, &o, err) || !check_fields(o, keys, err) ||
      !get_path(p, o, "path", &path, err) ||
      !get_enum(o, "access", access_names, CSB_ARRAY_LEN(access_names), &access, err) ||
      !csb_json_get_string(o, "origin", &origin, err) ||
      !opt_bool_int(o, "skip_if_missing", &skip, err) ||
      !opt_bool_int(o, "internal", &internal, err))
    return 0;
  csb_policy_add_entry(p, path, (csb_access)access, origin, skip, internal);
  return 1;
}

static int read_glob(csb_policy *p, const cJSON *o, csb_error *err) {
  static const char *const keys[] = {"pattern", "origin", NULL};
  const char *pattern = NULL, *origin = NULL;
  if (!csb_json_as_object(o, &o, err) || !check_fields(o, keys, err) ||
      !csb_json_get_string(o, "pattern", &pattern, err) ||
      !csb_json_get_string(o, "origin", &origin, err))
    return 0;
  if (!csb_policy_glob_check(p->platform, pattern, err)) {
    csb_json_error_push_key(err, "pattern");
    return 0;
  }
  csb_policy_add_glob(p, pattern, origin);
  return 1;
}

static int read_filesystem(csb_policy *p, const cJSON *obj, csb_error *err) {
  static const char *const keys[] = {"kind", "include_platform_defaults", "glob_scan_max_depth",
                                     "entries", "deny_globs", NULL};
  int kind = 0;
  const cJSON *arr = NULL;
  if (!csb_json_as_object(obj, &obj, err)) return 0;
  if (!check_fields(obj, keys, err)) return 0;
  if (!get_enum(obj, "kind", fs_kind_names, CSB_ARRAY_LEN(fs_kind_names), &kind, err)) return 0;
  p->fs_kind = (csb_fs_kind)kind;
  if (!get_bool_int(obj, "include_platform_defaults", &p->include_platform_defaults, err))
    return 0;
  int64_t depth = 0;
  if (!csb_json_opt_int_range(obj, "glob_scan_max_depth", 1, INT_MAX, &depth, err)) return 0;
  p->glob_scan_max_depth = (int)depth;
  if (!csb_json_get_array(obj, "entries", &arr, err)) return 0;
  size_t i = 0;
  for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
    if (!read_entry(p, it, err)) {
      csb_json_error_push_index(err, i);
      csb_json_error_push_key(err, "entries");
      return 0;
    }
  }
  if (!csb_json_get_array(obj, "deny_globs", &arr, err)) return 0;
  i = 0;
  for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
    if (!read_glob(p, it, err)) {
      csb_json_error_push_index(err, i);
      csb_json_error_push_key(err, "deny_globs");
      return 0;
    }
  }
  if (p->fs_kind != CSB_FS_RESTRICTED && (p->n_entries || p->n_globs))
    return fail_key(err, "entries", "must be empty unless kind is `restricted`");
  return 1;
}

/* ---- proxy settings (validated pass-through) ------------------------------ */

/* libs/netpolicy quotes what it refuses as it is: its control characters
 * (a newline in a domain pattern) are escaped here as csb_json_display
 * escapes them, so that the message stays one line. */
static void escape_controls(csb_error *err) {
  csb_buf b = {0};
  for (const unsigned char *c = (const unsigned char *)err->msg; *c; c++) {
    if (*c < 0x20 || *c == 0x7F)
      csb_buf_printf(&b, "\\u%04x", *c);
    else
      csb_buf_putc(&b, (char)*c);
  }
  csb_error_set(err, "%s", b.data != NULL ? b.data : "");
  csb_buf_free(&b);
}

/* The proxy object is interpreted by csb-proxy through libs/netpolicy; the
 * reader validates it with the same code (types, enums, domain patterns,
 * MITM hooks and actions) without resolving secrets. */
static int read_proxy(csb_policy *p, const cJSON *obj, csb_error *err) {
  if (!csb_json_as_object(obj, &obj, err)) {
    csb_json_error_push_key(err, "proxy");
    return 0;
  }
  csb_netpolicy *np = csb_netpolicy_new();
  int ok = csb_netpolicy_apply_proxy_json(np, obj, "network.proxy", err);
  csb_netpolicy_free(np);
  if (!ok) {
    escape_controls(err);
    csb_json_error_push_key(err, "proxy");
    return 0;
  }
  p->proxy = cJSON_Duplicate(obj, 1);
  if (p->proxy == NULL) (void)csb_xmalloc((size_t)-1); /* out of memory: exits 70 */
  return 1;
}

static int read_network(csb_policy *p, const cJSON *obj, csb_error *err) {
  static const char *const keys[] = {"mode", "allow_local_binding", "unix_sockets",
                                     "dangerously_allow_all_unix_sockets", "proxy", NULL};
  int mode = 0;
  const cJSON *socks = NULL;
  if (!csb_json_as_object(obj, &obj, err)) return 0;
  if (!check_fields(obj, keys, err)) return 0;
  if (!get_enum(obj, "mode", net_mode_names, CSB_ARRAY_LEN(net_mode_names), &mode, err)) return 0;
  p->net_mode = (csb_net_mode)mode;
  if (!get_bool_int(obj, "allow_local_binding", &p->allow_local_binding, err)) return 0;
  if (!get_bool_int(obj, "dangerously_allow_all_unix_sockets", &p->allow_all_unix_sockets, err))
    return 0;
  if (!csb_json_get_object(obj, "unix_sockets", &socks, err)) return 0;
  /* Checked first, then set at once (in any order of the keys). */
  size_t n_socks = 0;
  for (const cJSON *c = socks->child; c != NULL; c = c->next) n_socks++;
  csb_unix_socket_rule *rules = csb_xcalloc(n_socks ? n_socks : 1, sizeof(*rules));
  size_t k = 0;
  for (const cJSON *c = socks->child; c != NULL; c = c->next) {
    const char *s = NULL;
    if (!csb_policy_i_path_is_canonical(p->platform, c->string)) {
      char *shown = csb_json_display(c->string);
      csb_error_set(err, "expected an absolute, normalised path as key, got `%s`", shown);
      free(shown);
      goto sock_fail;
    }
    if (!csb_json_as_string(c, &s, err)) goto sock_fail;
    if (strcmp(s, "allow") != 0 && strcmp(s, "deny") != 0) {
      char *shown = csb_json_display(s);
      csb_error_set(err, "expected allow or deny, got `%s`", shown);
      free(shown);
      goto sock_fail;
    }
    rules[k++] = (csb_unix_socket_rule){c->string, strcmp(s, "allow") == 0};
    continue;
  sock_fail:
    free(rules);
    csb_json_error_push_key(err, c->string);
    csb_json_error_push_key(err, "unix_sockets");
    return 0;
  }
  csb_policy_set_unix_sockets(p, rules, k);
  free(rules);
  const cJSON *proxy = csb_json_get(obj, "proxy");
  if (proxy != NULL && !read_proxy(p, proxy, err)) return 0;
  return 1;
}

static int read_sandbox_policy(csb_policy *p, const cJSON *obj, csb_error *err) {
  int type = 0;
  csb_legacy_policy *l = &p->legacy;
  if (!csb_json_as_object(obj, &obj, err)) return 0;
  if (!get_enum(obj, "type", legacy_types, CSB_ARRAY_LEN(legacy_types), &type, err)) return 0;
  l->type = (csb_legacy_type)(type + 1);
  switch (l->type) {
    case CSB_LEGACY_READ_ONLY: {
      static const char *const keys[] = {"type", "network_access", NULL};
      return check_fields(obj, keys, err) &&
             get_bool_int(obj, "network_access", &l->network_access, err);
    }
    case CSB_LEGACY_WORKSPACE_WRITE: {
      static const char *const keys[] = {"type", "writable_roots", "network_access",
                                         "exclude_tmpdir_env_var", "exclude_slash_tmp", NULL};
      const cJSON *arr = NULL;
      if (!check_fields(obj, keys, err) ||
          !get_bool_int(obj, "network_access", &l->network_access, err) ||
          !get_bool_int(obj, "exclude_tmpdir_env_var", &l->exclude_tmpdir_env_var, err) ||
          !get_bool_int(obj, "exclude_slash_tmp", &l->exclude_slash_tmp, err) ||
          !csb_json_get_array(obj, "writable_roots", &arr, err))
        return 0;
      size_t i = 0;
      for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
        const char *s = NULL;
        if (!csb_json_as_string(it, &s, err)) goto root_fail;
        if (!csb_policy_i_path_is_canonical(p->platform, s)) {
          char *shown = csb_json_display(s);
          csb_error_set(err, "expected an absolute, normalised path, got `%s`", shown);
          free(shown);
          goto root_fail;
        }
        csb_strv_push(&l->writable_roots, s);
        continue;
      root_fail:
        csb_json_error_push_index(err, i);
        csb_json_error_push_key(err, "writable_roots");
        return 0;
      }
      return 1;
    }
    case CSB_LEGACY_DANGER_FULL_ACCESS: {
      static const char *const keys[] = {"type", NULL};
      return check_fields(obj, keys, err);
    }
    case CSB_LEGACY_EXTERNAL_SANDBOX: {
      static const char *const keys[] = {"type", "network_access", NULL};
      static const char *const nets[] = {"restricted", "enabled"};
      int n = 0;
      if (!check_fields(obj, keys, err) ||
          !get_enum(obj, "network_access", nets, CSB_ARRAY_LEN(nets), &n, err))
        return 0;
      l->network_access = n;
      return 1;
    }
    default:
      return 0;
  }
}

static int read_legacy(csb_policy *p, const cJSON *obj, csb_error *err) {
  static const char *const keys[] = {"sandbox_policy", "projection_error", "round_trips",
                                     "linux_backend", NULL};
  int backend = 0;
  if (!csb_json_as_object(obj, &obj, err)) return 0;
  if (!check_fields(obj, keys, err)) return 0;
  if (!get_bool_int(obj, "round_trips", &p->round_trips, err)) return 0;
  if (!get_enum(obj, "linux_backend", backend_names, CSB_ARRAY_LEN(backend_names), &backend, err))
    return 0;
  p->linux_backend = (csb_linux_backend)backend;
  const cJSON *sp = csb_json_get(obj, "sandbox_policy");
  const char *perr = NULL;
  if (!csb_json_opt_string(obj, "projection_error", &perr, err)) return 0;
  if ((sp == NULL) == (perr == NULL)) {
    csb_error_set(err, "exactly one of `sandbox_policy` and `projection_error` must be present");
    return 0;
  }
  if (perr != NULL) {
    p->legacy.type = CSB_LEGACY_NONE;
    p->legacy_error = csb_xstrdup(perr);
    return 1;
  }
  if (!read_sandbox_policy(p, sp, err)) {
    csb_json_error_push_key(err, "sandbox_policy");
    return 0;
  }
  return 1;
}

static int read_document(csb_policy *p, const cJSON *root, csb_error *err) {
  static const char *const keys[] = {"schema",  "platform",  "cwd",     "enforcement",
                                     "profile", "workspace_roots", "filesystem", "network",
                                     "legacy",  "summary",   "warnings", NULL};
  static const char *const sections[] = {"profile", "workspace_roots", "filesystem", "network",
                                         "legacy"};
  const char *schema = NULL, *cwd = NULL, *summary = NULL;
  int v = 0;
  if (!csb_json_as_object(root, &root, err)) return 0;
  if (!csb_json_get_string(root, "schema", &schema, err)) return 0;
  if (strcmp(schema, CSB_POLICY_SCHEMA) != 0) {
    char *shown = csb_json_display(schema);
    if (strncmp(schema, "csb.policy/", 11) == 0)
      csb_error_set(err, "unsupported policy schema `%s` (this csb reads %s)", shown,
                    CSB_POLICY_SCHEMA);
    else
      csb_error_set(err, "not a csb policy document: schema `%s` (expected %s)", shown,
                    CSB_POLICY_SCHEMA);
    free(shown);
    return 0;
  }
  if (!check_fields(root, keys, err)) return 0;
  if (!get_enum(root, "platform", platform_names, CSB_ARRAY_LEN(platform_names), &v, err))
    return 0;
  p->platform = (csb_platform)v;
  if (!get_path(p, root, "cwd", &cwd, err)) return 0;
  free(p->cwd);
  p->cwd = csb_xstrdup(cwd);
  if (!get_enum(root, "enforcement", enforcement_names, CSB_ARRAY_LEN(enforcement_names), &v, err))
    return 0;
  p->enforcement = (csb_enforcement)v;
  for (size_t i = 0; i < CSB_ARRAY_LEN(sections); i++) {
    const cJSON *sec = csb_json_get(root, sections[i]);
    int ok = 0;
    if (sec == NULL) {
      csb_error_set(err, "missing required field");
    } else if (i == 0) {
      ok = read_profile(p, sec, err);
    } else if (i == 1) {
      ok = read_roots(p, sec, err);
    } else if (i == 2) {
      ok = read_filesystem(p, sec, err);
    } else if (i == 3) {
      ok = read_network(p, sec, err);
    } else {
      ok = read_legacy(p, sec, err);
    }
    if (!ok) {
      csb_json_error_push_key(err, sections[i]);
      return 0;
    }
  }
  if (!csb_json_get_string(root, "summary", &summary, err)) return 0;
  p->summary = csb_xstrdup(summary);
  if (!csb_json_get_strings(root, "warnings", &p->warnings, err)) return 0;
  /* As csb_policy_compute_legacy decides it; csb-bwrap goes by it. */
  if (p->linux_backend == CSB_LINUX_LANDLOCK &&
      (!p->round_trips || p->net_mode == CSB_NET_PROXY)) {
    fail_key(err, "linux_backend",
             "`landlock` requires `round_trips` true and a network mode other than `proxy`");
    csb_json_error_push_key(err, "legacy");
    return 0;
  }
  if (p->enforcement == CSB_ENFORCE_DISABLED && p->fs_kind != CSB_FS_UNRESTRICTED)
    return fail_key(err, "filesystem",
                    "enforcement `disabled` requires filesystem kind `unrestricted`");
  if (p->enforcement == CSB_ENFORCE_EXTERNAL && p->fs_kind != CSB_FS_EXTERNAL)
    return fail_key(err, "filesystem",
                    "enforcement `external` requires filesystem kind `external`");
  if (p->enforcement == CSB_ENFORCE_MANAGED && p->fs_kind == CSB_FS_EXTERNAL)
    return fail_key(err, "filesystem",
                    "filesystem kind `external` requires enforcement `external`");
  return 1;
}

int csb_policy_from_json(const char *text, size_t len, csb_policy **out, csb_error *err) {
  cJSON *root = NULL;
  *out = NULL;
  csb_json_limits lim = {0, MAX_POLICY_BYTES};
  if (!csb_json_parse_limits(text, len, &lim, &root, err)) return 0;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, "/");
  /* Reset the defaults csb_policy_new picked: the document says it all. */
  free(p->profile_id);
  free(p->profile_kind);
  p->profile_id = NULL;
  p->profile_kind = NULL;
  int ok = read_document(p, root, err);
  cJSON_Delete(root);
  if (!ok) {
    csb_policy_free(p);
    return 0;
  }
  *out = p;
  return 1;
}

/* Parses text read from `name` (errors prefixed with it); frees text. */
static int load_text(const char *name, char *text, size_t len, csb_policy **out, csb_error *err) {
  int ok = csb_policy_from_json(text, len, out, err);
  free(text);
  if (!ok) csb_error_prefix(err, "%s", name);
  return ok;
}

int csb_policy_load(const char *path, csb_policy **out, csb_error *err) {
  char *text = NULL;
  size_t len = 0;
  *out = NULL;
  if (!csb_read_file(path, MAX_POLICY_BYTES, &text, &len, err)) return 0;
  return load_text(strcmp(path, "-") == 0 ? "<stdin>" : path, text, len, out, err);
}

/* ---- the --policy option ----------------------------------------------------- */

csb_policy_from csb_policy_arg_from(const char *arg, int stdin_open, int stdin_tty) {
  if (arg != NULL) return strcmp(arg, "-") == 0 ? CSB_POLICY_FROM_STDIN : CSB_POLICY_FROM_FILE;
  return stdin_open && !stdin_tty ? CSB_POLICY_FROM_STDIN_IMPLICIT : CSB_POLICY_FROM_NOWHERE;
}

int csb_policy_load_arg(const char *arg, csb_policy **out, csb_policy_arg *info, csb_error *err) {
  *out = NULL;
  info->name = NULL;
  info->implicit = 0;
  info->missing = 0;
#if defined(_WIN32)
  int in_open = 1, in_tty = _isatty(0) != 0;
#else
  int in_open = fcntl(0, F_GETFD) != -1, in_tty = in_open && isatty(0);
#endif
  switch (csb_policy_arg_from(arg, in_open, in_tty)) {
    case CSB_POLICY_FROM_FILE:
      info->name = arg;
      return csb_policy_load(arg, out, err);
    case CSB_POLICY_FROM_STDIN:
      info->name = "<stdin>";
      return csb_policy_load("-", out, err);
    case CSB_POLICY_FROM_NOWHERE:
      info->missing = 1;
      return csb_error_set(err, "--policy FILE is required: standard input is %s, so no policy "
                                "is read from it",
                           in_open ? "a terminal" : "closed");
    case CSB_POLICY_FROM_STDIN_IMPLICIT:
      break;
  }
  info->name = "<stdin>";
  info->implicit = 1;
  char *text = NULL;
  size_t len = 0;
  if (!csb_read_fd(0, "<stdin>", MAX_POLICY_BYTES, &text, &len, err)) return 0;
  if (len == 0) {
    free(text);
    info->missing = 1;
    return csb_error_set(err, "--policy FILE is required: standard input, read instead, is "
                              "empty");
  }
  return load_text("<stdin>", text, len, out, err);
}

/* ---- writer ---------------------------------------------------------------- */

/* The writer builds a cJSON document that borrows the policy's strings
 * (csb_json_add_string_ref), prints it and deletes it before returning. */

static void put_legacy(const csb_policy *p, cJSON *legacy) {
  csb_json_add_string_ref(legacy, "linux_backend", backend_names[p->linux_backend == CSB_LINUX_LANDLOCK]);
  csb_json_add_bool(legacy, "round_trips", p->round_trips != 0);
  const csb_legacy_policy *l = &p->legacy;
  if (l->type == CSB_LEGACY_NONE) {
    csb_json_add_string_ref(legacy, "projection_error", p->legacy_error ? p->legacy_error : "");
    return;
  }
  cJSON *sp = csb_json_add_object(legacy, "sandbox_policy");
  csb_json_add_string_ref(sp, "type", legacy_types[l->type - 1]);
  switch (l->type) {
    case CSB_LEGACY_READ_ONLY:
      csb_json_add_bool(sp, "network_access", l->network_access != 0);
      break;
    case CSB_LEGACY_WORKSPACE_WRITE: {
      csb_json_add_bool(sp, "network_access", l->network_access != 0);
      csb_json_add_bool(sp, "exclude_tmpdir_env_var", l->exclude_tmpdir_env_var != 0);
      csb_json_add_bool(sp, "exclude_slash_tmp", l->exclude_slash_tmp != 0);
      cJSON *arr = csb_json_add_array(sp, "writable_roots");
      for (size_t i = 0; i < l->writable_roots.len; i++)
        csb_json_add_string_ref(arr, NULL, l->writable_roots.items[i]);
      break;
    }
    case CSB_LEGACY_EXTERNAL_SANDBOX:
      csb_json_add_string_ref(sp, "network_access", l->network_access ? "enabled" : "restricted");
      break;
    default:
      break;
  }
}

/* Room for the printed document (a few lines per entry, glob or root plus
 * their strings), so that the text is not copied into a buffer twice the
 * size a dozen times as it grows. A guess: a larger document grows on. */
static size_t text_size_hint(const csb_policy *p) {
  size_t n = 2048 + (p->summary ? strlen(p->summary) : 0);
  for (size_t i = 0; i < p->n_entries; i++)
    n += 128 + strlen(p->entries[i].path) + strlen(p->entries[i].origin);
  for (size_t i = 0; i < p->n_globs; i++)
    n += 96 + strlen(p->globs[i].pattern) + strlen(p->globs[i].origin);
  for (size_t i = 0; i < p->n_workspace_roots; i++)
    n += 96 + strlen(p->workspace_roots[i].path) + strlen(p->workspace_roots[i].origin);
  for (size_t i = 0; i < p->legacy.writable_roots.len; i++)
    n += 16 + strlen(p->legacy.writable_roots.items[i]);
  for (size_t i = 0; i < p->n_unix_sockets; i++) n += 32 + strlen(p->unix_sockets[i].path);
  for (size_t i = 0; i < p->warnings.len; i++) n += 16 + strlen(p->warnings.items[i]);
  return n;
}

static int cmp_entry_ptr(const void *a, const void *b) {
  return csb_policy_i_cmp_entry(*(const csb_policy_entry *const *)a,
                                *(const csb_policy_entry *const *)b);
}

static int cmp_glob_ptr(const void *a, const void *b) {
  return csb_policy_i_cmp_glob(*(const csb_policy_glob *const *)a,
                               *(const csb_policy_glob *const *)b);
}

char *csb_policy_to_json(const csb_policy *p) {
  cJSON *root = csb_json_new_object();
  csb_json_add_string_ref(root, "schema", CSB_POLICY_SCHEMA);
  csb_json_add_string_ref(root, "platform", platform_names[p->platform % 3]);
  csb_json_add_string_ref(root, "cwd", p->cwd ? p->cwd : "/");
  csb_json_add_string_ref(root, "enforcement", enforcement_names[p->enforcement % 3]);

  cJSON *prof = csb_json_add_object(root, "profile");
  csb_json_add_string_ref(prof, "id", p->profile_id ? p->profile_id : "");
  csb_json_add_string_ref(prof, "kind", p->profile_kind ? p->profile_kind : "builtin");
  cJSON *ext = csb_json_add_array(prof, "extends");
  for (size_t i = 0; i < p->extends.len; i++) csb_json_add_string_ref(ext, NULL, p->extends.items[i]);
  if (p->description != NULL) csb_json_add_string_ref(prof, "description", p->description);

  cJSON *roots = csb_json_add_array(root, "workspace_roots");
  for (size_t i = 0; i < p->n_workspace_roots; i++) {
    cJSON *r = csb_json_add_object(roots, NULL);
    csb_json_add_string_ref(r, "path", p->workspace_roots[i].path);
    csb_json_add_string_ref(r, "origin", p->workspace_roots[i].origin);
  }

  cJSON *fs = csb_json_add_object(root, "filesystem");
  csb_json_add_string_ref(fs, "kind", fs_kind_names[p->fs_kind % 3]);
  csb_json_add_bool(fs, "include_platform_defaults", p->include_platform_defaults != 0);
  if (p->glob_scan_max_depth > 0)
    csb_json_add_int(fs, "glob_scan_max_depth", p->glob_scan_max_depth);
  /* Entries and globs in the canonical order, whatever order the policy
   * holds them in (a document read keeps its own): the text is canonical. */
  const csb_policy_entry **eord = csb_xcalloc(p->n_entries ? p->n_entries : 1, sizeof(*eord));
  for (size_t i = 0; i < p->n_entries; i++) eord[i] = &p->entries[i];
  qsort(eord, p->n_entries, sizeof(*eord), cmp_entry_ptr);
  cJSON *ents = csb_json_add_array(fs, "entries");
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = eord[i];
    cJSON *o = csb_json_add_object(ents, NULL);
    csb_json_add_string_ref(o, "path", e->path);
    csb_json_add_string_ref(o, "access", csb_access_name(e->access));
    csb_json_add_string_ref(o, "origin", e->origin);
    if (e->skip_if_missing) csb_json_add_bool(o, "skip_if_missing", true);
    if (e->internal) csb_json_add_bool(o, "internal", true);
  }
  free(eord);
  const csb_policy_glob **gord = csb_xcalloc(p->n_globs ? p->n_globs : 1, sizeof(*gord));
  for (size_t i = 0; i < p->n_globs; i++) gord[i] = &p->globs[i];
  qsort(gord, p->n_globs, sizeof(*gord), cmp_glob_ptr);
  cJSON *globs = csb_json_add_array(fs, "deny_globs");
  for (size_t i = 0; i < p->n_globs; i++) {
    cJSON *o = csb_json_add_object(globs, NULL);
    csb_json_add_string_ref(o, "pattern", gord[i]->pattern);
    csb_json_add_string_ref(o, "origin", gord[i]->origin);
  }
  free(gord);

  cJSON *net = csb_json_add_object(root, "network");
  csb_json_add_string_ref(net, "mode", net_mode_names[p->net_mode % 3]);
  csb_json_add_bool(net, "allow_local_binding", p->allow_local_binding != 0);
  csb_json_add_bool(net, "dangerously_allow_all_unix_sockets", p->allow_all_unix_sockets != 0);
  cJSON *socks = csb_json_add_object(net, "unix_sockets");
  for (size_t i = 0; i < p->n_unix_sockets; i++)
    csb_json_add_string_ref(socks, p->unix_sockets[i].path, p->unix_sockets[i].allow ? "allow" : "deny");
  if (p->proxy != NULL) {
    cJSON *dup = cJSON_Duplicate(p->proxy, 1);
    if (dup == NULL) (void)csb_xmalloc((size_t)-1); /* out of memory: exits 70 */
    cJSON_AddItemToObject(net, "proxy", dup);
  }

  put_legacy(p, csb_json_add_object(root, "legacy"));
  csb_json_add_string_ref(root, "summary", p->summary ? p->summary : "");
  cJSON *warn = csb_json_add_array(root, "warnings");
  for (size_t i = 0; i < p->warnings.len; i++) csb_json_add_string_ref(warn, NULL, p->warnings.items[i]);

  csb_buf b = {0};
  csb_buf_reserve(&b, text_size_hint(p));
  csb_json_print(root, 0, &b);
  cJSON_Delete(root);
  if (b.data == NULL) csb_buf_puts(&b, "");
  return csb_buf_steal(&b);
}
