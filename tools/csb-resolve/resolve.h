/* resolve.h - declarations shared by the csb-resolve sources (tool-only). */
#ifndef CSB_RESOLVE_H
#define CSB_RESOLVE_H

#include "csb_base.h"
#include "csb_cli.h"
#include "csb_paths.h"
#include "csb_policy.h"
#include "csb_toml.h"

/* Bound on any configuration or requirements file. */
#define RS_MAX_CONFIG_BYTES ((size_t)4 * 1024 * 1024)

/* The whole tool: argv as UTF-8 (main.c; entry.c is the process entry). */
int rs_main(int argc, char **argv);

/* ---- configuration layers (config.c) -------------------------------------- */

typedef struct rs_layer {
  char *name;      /* file path, or "session-flags" for -c */
  char *base_dir;  /* directory relative paths in this layer resolve against */
  char *text;      /* source text (for excerpts); may be NULL */
  csb_toml_value *tree; /* NULL once merged (moved into rs_ctx.merged) */
  int is_cli;      /* a -c override */
  int is_project;  /* a trusted project layer */
  /* whether the tree has these top-level keys (kept when it is merged) */
  int has_sandbox_mode;
  int has_default_permissions;
} rs_layer;

typedef struct rs_ctx {
  csb_cli *cli;
  /* The host's path syntax: POSIX, or Windows (drive and UNC paths,
   * case-insensitive) in Windows builds, which resolve `windows` documents. */
  csb_path_style style;
  /* environment and flags */
  char *cwd;            /* absolute, normalised */
  char *proc_cwd;       /* the process's working directory (absolute, normalised;
                           relative file paths of the command line name files
                           from it, not from -C), or NULL if unknown */
  char *home;           /* $HOME (Windows: %USERPROFILE%) or NULL */
  char *tmpdir;         /* $TMPDIR when set, non-empty and absolute (Windows:
                           else %TEMP%, else %TMP%); else NULL */
  char *user_home_dir;  /* $CSB_HOME / ~/.csb, or the Codex home; NULL without HOME */
  int codex_mode;       /* reading a Codex home (--codex-home / CODEX_HOME) */
  /* The configuration homes a later session reads, whichever this one
   * reads (NULL when unknown: no HOME and no variable): csb's ($CSB_HOME,
   * else ~/.csb) and the Codex home (--codex-home, $CODEX_HOME, else
   * ~/.codex). Absolute, normalised. */
  char *csb_home_dir;
  char *codex_home_dir;
  const char *system_config;
  int system_config_explicit; /* --system-config given */
  const char *requirements_path;
  char *default_system_config;  /* owned defaults of the two above (Windows) */
  char *default_requirements;
  const char *builtin_system_config; /* the built-in locations of the two above */
  const char *builtin_requirements;
  char *codex_system_dir;       /* Codex's system directory (/etc/codex; owned) */
  int requirements_explicit;
  int include_managed;
  int strict;
  const char *profile_flag;  /* -P NAME */
  const char *sandbox_flag;  /* -s MODE */
  csb_strv add_dirs;         /* --add-dir, absolute */
  csb_strv overrides;        /* raw -c arguments */
  /* layers, lowest precedence first */
  rs_layer *layers;
  size_t n_layers;
  csb_toml_value *merged;    /* deep merge of every layer (their trees, moved) */
  /* trust */
  char *trust_key;           /* the projects."<path>" key that decided, or NULL */
  char *trust_level;         /* "trusted", "untrusted" or NULL */
  char *project_root;        /* where project layers start: the nearest ancestor of the
                                cwd with a project_root_markers entry (.git), else the cwd */
  /* output */
  csb_policy *policy;
  int want_landlock;
  /* Managed deny-read paths (exact, not globs) of the requirements that
   * were applied, and the file that set them (rs_enforce_deny_floor). */
  csb_strv managed_deny;
  char *managed_deny_source;
  char *requirements_read;   /* the requirements file applied (--explain), or NULL */
  size_t n_warned;           /* warnings already printed to stderr */
  csb_strv load_warnings;    /* raised while reading the layers, before the policy exists */
} rs_ctx;

/* Reads the system and user layers, decides trust, adds the trusted project
 * layers and the -c overrides, type-checks (and with --strict-config
 * checks for unknown fields in) every layer, then merges them. Prints the
 * error and returns the exit code on failure, 0 on success. */
int rs_config_load(rs_ctx *ctx);
/* One `-c KEY=VALUE` argument as the tree of its layer: the key (blanks
 * around it dropped) split on every '.', no quoting, into nested tables
 * (`use_legacy_landlock` is `features.use_legacy_landlock`); the value
 * parsed as TOML, else taken as a string with blanks and one pair of
 * matching surrounding quotes stripped. Positions count columns in
 * characters of `arg`. Returns 1 with *out and, when `parts` is not NULL,
 * the number of nested tables the key makes (2 for the alias), or 0 with
 * the message (no `=`, an empty key, more than CSB_TOML_MAX_DEPTH parts). */
int rs_parse_override(const char *arg, csb_toml_value **out, size_t *parts, csb_error *err);
/* The layer a merged value came from (by its position's source tag). */
const rs_layer *rs_layer_of(const rs_ctx *ctx, const csb_toml_value *v);
/* Dotted-path lookup in a table ("a.b.c"; no quoting). */
csb_toml_value *rs_get(const csb_toml_value *t, const char *dotted);
const char *rs_get_string(const csb_toml_value *t, const char *dotted);
/* 1 and *out when the value exists and is a bool. */
int rs_get_bool(const csb_toml_value *t, const char *dotted, int *out);
void rs_ctx_free(rs_ctx *ctx);
/* Prints the warnings raised so far that were not printed yet (so that
 * warnings come before an error that follows them). */
void rs_flush_warnings(rs_ctx *ctx);
/* Normalises the keys of every `network.domains` (hosts) and
 * `network.unix_sockets` (absolute paths) table of a layer (profiles and
 * features.network_proxy) before merging (select.c). Returns 0 with a
 * diagnostic in `msg` when two keys of one table name the same host or
 * path with different access. */
int rs_normalize_network_keys(const rs_ctx *ctx, const rs_layer *layer, csb_toml_value *tree,
                              csb_buf *msg);

/* ---- strict checking (strict.c) ------------------------------------------- */

/* Type-checks a configuration layer (always) and, when `unknown` is set,
 * reports the first unknown field instead. Returns 1 when clean; otherwise
 * fills `msg` with "NAME:LINE:COL: message" plus a caret excerpt. */
int rs_check_layer(const rs_layer *layer, int unknown, csb_buf *msg);
/* Whether a key or string anywhere in v holds a NUL (`\u0000`), which no
 * path, name or setting can carry: they are C strings from here on, and a
 * truncated path would name another file. Sets *pos to the first one. */
int rs_find_nul(const csb_toml_value *v, csb_toml_pos *pos);
#define RS_NUL_MESSAGE "a key or string contains a NUL character (`\\u0000`), which is not supported"
/* Formats "NAME:LINE:COL: MESSAGE" and the excerpt of the position. */
void rs_format_diag(const rs_layer *layer, const csb_toml_pos *pos, const char *message,
                    csb_buf *out);

/* ---- profile selection and compilation (select.c, compile.c) -------------- */

typedef enum {
  RS_R_PATH = 0,  /* arg: absolute path */
  RS_R_ROOT,
  RS_R_MINIMAL,
  RS_R_WORKSPACE, /* arg: subpath or NULL */
  RS_R_TMPDIR,
  RS_R_SLASH_TMP,
  RS_R_UNKNOWN,   /* ignored */
  RS_R_GLOB,      /* arg: absolute pattern */
  RS_R_WS_GLOB    /* arg: pattern relative to each workspace root */
} rs_rule_kind;

typedef struct rs_rule {
  rs_rule_kind kind;
  char *arg;
  csb_access access;
  char *origin;
  int skip_if_missing;
} rs_rule;

typedef struct rs_rules {
  rs_rule *items;
  size_t len, cap;
} rs_rules;

void rs_rules_add(rs_rules *r, rs_rule_kind kind, const char *arg, csb_access access,
                  const char *origin, int skip);
void rs_rules_free(rs_rules *r);

/* A selected permission profile before materialisation. */
typedef struct rs_profile {
  char *id;
  const char *kind;        /* "builtin", "named", "legacy", "implicit" */
  csb_strv extends;
  char *description;
  csb_enforcement enforcement;
  csb_fs_kind fs_kind;
  rs_rules rules;
  int glob_scan_max_depth;
  int network_enabled;
  csb_toml_value *network; /* the profile's [network] table (owned clone) or NULL */
  csb_strv profile_roots;  /* profile workspace roots, absolute */
  const char *profile_root_origin; /* "profile" or "legacy" */
  int legacy_mode_explicit; /* legacy: the mode was configured, not implied */
  char *legacy_mode;        /* legacy: the sandbox_mode */
} rs_profile;

void rs_profile_free(rs_profile *p);

/* Chooses and compiles the active profile (reference §3.1-§3.2). Returns 0
 * or an exit code after printing the error. */
int rs_select_profile(rs_ctx *ctx, rs_profile *out);
/* Compiles a merged `[permissions.<id>]` filesystem table into rules,
 * appending warnings. Returns 1, or 0 with err. */
int rs_compile_filesystem(rs_ctx *ctx, const char *profile_id, const csb_toml_value *fs,
                          rs_rules *rules, int *glob_depth, csb_strv *warnings,
                          csb_error *err);
/* Expands `~` and checks an absolute path; relative paths resolve against
 * `base` when it is non-NULL, else fail. */
char *rs_abs_path(const rs_ctx *ctx, const char *path, const char *base);

/* A deny-glob pattern from `pattern` as a key or entry holds it: `~` and
 * relative patterns (against `base` when non-NULL, else fail) are
 * anchored at the home or `base` written as literal text, whatever
 * characters those paths hold, while the pattern's own text keeps its
 * meaning. */
char *rs_abs_pattern(const rs_ctx *ctx, const char *pattern, const char *base);
/* The pattern `pattern` below the directory `dir`, whose text is matched
 * literally (metacharacters escaped), normalised. */
char *rs_glob_join(const rs_ctx *ctx, const char *dir, const char *pattern);

/* Paths in the host's syntax (compile.c). */
/* `~`, `~/x` (Windows: also `~\x`): a path relative to the home. */
int rs_is_home_path(const rs_ctx *ctx, const char *path);
/* The name of the home's environment variable ("HOME", Windows
 * "USERPROFILE"), for messages. */
const char *rs_home_var(const rs_ctx *ctx);
/* Why `~` cannot be expanded: "HOME is not set" or "HOME (`x`) is not an
 * absolute path" (Windows: USERPROFILE). Heap string, caller frees. */
char *rs_home_problem(const rs_ctx *ctx);
/* `rel` joined onto the absolute `base`, normalised. */
char *rs_join(const rs_ctx *ctx, const char *base, const char *rel);
/* The directory of a file path ("/" or the drive root when none). */
char *rs_dir_of(const rs_ctx *ctx, const char *path);
/* Whether a key or subpath is a glob: it contains any of `* ? [ ]` (on
 * Windows after a `\\?\` or `\\.\` prefix, so verbatim paths are not
 * globs). `meta_only` leaves `]` out (requirements). */
int rs_has_glob(const rs_ctx *ctx, const char *s, int meta_only);
/* 4 for a Windows `\\?\` or `\\.\` prefix, else 0. */
size_t rs_device_prefix_len(const rs_ctx *ctx, const char *s);

/* Builds the policy from a profile: workspace roots, materialised rules,
 * network. Returns 0 or an exit code. */
int rs_materialize(rs_ctx *ctx, rs_profile *prof, csb_strv *warnings);
/* The network part of the document (network.c). */
int rs_network(rs_ctx *ctx, rs_profile *prof, csb_policy *p);

/* ---- configuration homes (homes.c) ---------------------------------------- */

/* Makes the configuration a later session reads read-only when a writable
 * root of the finished policy covers it (docs/policy.md, "Configuration
 * homes"): the csb home, the Codex home, the system layer and the
 * requirements. Canonicalises the policy when it adds entries. */
void rs_protect_config_homes(rs_ctx *ctx);
/* csb-proxy's default CA directory ($CSB_HOME/proxy), when the policy
 * would let the command read its key: denied as a whole, existing or not
 * (created on Linux when missing, so that a mount can cover it), so that
 * the command cannot issue certificates clients of the proxy trust, even
 * with a key created after the document (not on Windows; not without a
 * file system sandbox). */
void rs_hide_proxy_ca_key(rs_ctx *ctx);

/* ---- requirements (requirements.c) ---------------------------------------- */

/* A requirements file, read (zero it, then set `path`, owned). */
typedef struct rs_requirements {
  char *path;
  csb_toml_value *tree;
  int has_modes;
  int modes[4]; /* read-only, workspace-write, danger-full-access, external-sandbox */
  csb_strv modes_order; /* their labels ("ReadOnly", ...), as first listed */
  csb_strv deny_read;   /* "P" + absolute normalised path or "G" + pattern, sorted, distinct */
} rs_requirements;

/* Reads the text of the requirements file r->path into r: TOML,
 * `allowed_sandbox_modes` and `[permissions.filesystem] deny_read`
 * (relative entries resolve against the file's directory, `~` against
 * the home of `ctx`, which gives the path style). Returns 0, or the exit
 * code (CSB_EXIT_DATA for TOML syntax, else CSB_EXIT_CONFIG) with the
 * message, which names the file, appended to `msg`. */
int rs_requirements_parse(const rs_ctx *ctx, const char *text, size_t len, rs_requirements *r,
                          csb_buf *msg);
void rs_requirements_free(rs_requirements *r);

int rs_apply_requirements(rs_ctx *ctx, rs_profile *prof, csb_strv *warnings);
/* Managed deny-read is a floor: drops (with a warning) every entry of the
 * document that would grant access strictly inside a managed deny-read
 * path, since the deepest entry would otherwise reopen it. */
void rs_enforce_deny_floor(rs_ctx *ctx);

#endif /* CSB_RESOLVE_H */
