/* csb-resolve - layered configuration to the csb.policy/v1 document.
 * See docs/csb-resolve.md. The process entry is entry.c; rs_main is the
 * whole tool. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "resolve.h"

#if !defined(_WIN32)
#include <unistd.h>
#endif

#if defined(_WIN32)
#define DEFAULT_SYSTEM_CONFIG "%ProgramData%\\csb\\config.toml"
#define DEFAULT_REQUIREMENTS "%ProgramData%\\csb\\requirements.toml"
#else
#define DEFAULT_SYSTEM_CONFIG "/etc/csb/config.toml"
#define DEFAULT_REQUIREMENTS "/etc/csb/requirements.toml"
#endif


enum {
  OPT_CD = 1,
  OPT_ADD_DIR,
  OPT_CONFIG,
  OPT_PROFILE,
  OPT_SANDBOX,
  OPT_CODEX_HOME,
  OPT_SYSTEM_CONFIG,
  OPT_REQUIREMENTS,
  OPT_INCLUDE_MANAGED,
  OPT_STRICT,
  OPT_EXPLAIN,
  OPT_CHECK,
  OPT_ACCESS
};

static const csb_cli_opt opts[] = {
    {"cd", 'C', CSB_ARG_REQUIRED, OPT_CD, "DIR", "working directory (default: the current one)"},
    {"add-dir", 0, CSB_ARG_LIST, OPT_ADD_DIR, "DIR", "extra workspace root (repeatable)"},
    {"config", 'c', CSB_ARG_LIST, OPT_CONFIG, "KEY=VALUE",
     "override a configuration value (TOML, else a string; repeatable)"},
    {"permissions-profile", 'P', CSB_ARG_REQUIRED, OPT_PROFILE, "NAME",
     "select a permissions profile (skips requirements unless --include-managed-config)"},
    {"sandbox", 's', CSB_ARG_REQUIRED, OPT_SANDBOX, "MODE",
     "legacy sandbox mode: read-only, workspace-write, danger-full-access"},
    {"codex-home", 0, CSB_ARG_REQUIRED, OPT_CODEX_HOME, "DIR",
     "read a Codex home's config.toml (default: $CODEX_HOME)"},
    {"system-config", 0, CSB_ARG_REQUIRED, OPT_SYSTEM_CONFIG, "FILE",
     "system configuration (default: " DEFAULT_SYSTEM_CONFIG ")"},
    {"requirements", 0, CSB_ARG_REQUIRED, OPT_REQUIREMENTS, "FILE",
     "requirements (default: " DEFAULT_REQUIREMENTS ")"},
    {"include-managed-config", 0, CSB_ARG_NONE, OPT_INCLUDE_MANAGED, NULL,
     "apply requirements even with --permissions-profile"},
    {"strict-config", 0, CSB_ARG_NONE, OPT_STRICT, NULL, "unknown configuration fields are errors"},
    {"explain", 0, CSB_ARG_NONE, OPT_EXPLAIN, NULL, "print the summary, the effective rules and the files read"},
    {"check", 0, CSB_ARG_REQUIRED, OPT_CHECK, "PATH",
     "print the verdict for PATH and its deciding rule (exit 0 allowed, 1 denied)"},
    {"access", 0, CSB_ARG_REQUIRED, OPT_ACCESS, "read|write", "access for --check (default read)"},
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL}};

/* --explain's last lines: the files (and -c arguments) the result came
 * from, so that a project layer nobody expected is seen. */
static void put_sources(const rs_ctx *ctx) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "\nconfiguration read (lowest precedence first):");
  if (ctx->n_layers == 0) csb_buf_puts(&b, " none");
  csb_buf_putc(&b, '\n');
  for (size_t i = 0; i < ctx->n_layers; i++) {
    const rs_layer *l = &ctx->layers[i];
    const char *kind = l->is_cli ? "-c" : l->is_project ? "project" : "user";
    if (!l->is_cli && !l->is_project && ctx->system_config != NULL &&
        strcmp(l->name, ctx->system_config) == 0)
      kind = "system";
    csb_buf_printf(&b, "  %-8s ", kind);
    csb_cli_put_display_text(&b, l->is_cli && l->text != NULL ? l->text : l->name);
    csb_buf_putc(&b, '\n');
  }
  csb_buf_puts(&b, "requirements: ");
  csb_cli_put_display_text(&b, ctx->requirements_read ? ctx->requirements_read : "none");
  csb_buf_putc(&b, '\n');
  fwrite(b.data, 1, b.len, stdout);
  csb_buf_free(&b);
}

/* An environment variable holding an absolute path (normalised), or NULL
 * when it is unset, empty or relative. */
static char *env_abs(const rs_ctx *ctx, const char *name) {
  char *v = csb_os_getenv(name);
  char *n = v != NULL && v[0] != '\0' ? csb_spath_normalize(ctx->style, v) : NULL;
  free(v);
  return n;
}

/* A non-empty environment variable (heap), or NULL. */
static char *env_set(const char *name) {
  char *v = csb_os_getenv(name);
  if (v != NULL && v[0] == '\0') {
    free(v);
    v = NULL;
  }
  return v;
}

/* When HOME is unset, empty or not absolute: the user database's home
 * (NULL when there is none or it is not absolute). No user layer is read
 * and `~` is not expanded then, but a later session started with HOME set
 * (or by upstream's home_dir, which falls back to this one) reads its
 * homes there, so they are protected as the configuration homes. */
static char *passwd_home(const rs_ctx *ctx) {
  char *v = env_set("HOME");
  int set = v != NULL && csb_spath_is_absolute(ctx->style, v);
  free(v);
  char *home = set ? NULL : csb_os_user_db_home();
  char *norm = home ? csb_spath_normalize(ctx->style, home) : NULL;
  free(home);
  return norm;
}

/* The built-in locations of the system layer and the requirements:
 * /etc/csb, or on Windows %ProgramData%\csb (C:\ProgramData when unset);
 * and Codex's system directory (its config.toml, requirements.toml and
 * managed_config.toml): /etc/codex, or %ProgramData%\OpenAI\Codex. */
static void default_locations(rs_ctx *ctx) {
  if (ctx->style == CSB_PATH_POSIX) {
    ctx->system_config = ctx->builtin_system_config = DEFAULT_SYSTEM_CONFIG;
    ctx->requirements_path = ctx->builtin_requirements = DEFAULT_REQUIREMENTS;
    ctx->codex_system_dir = csb_xstrdup("/etc/codex");
    return;
  }
  char *pd = env_abs(ctx, "ProgramData");
  if (pd == NULL) pd = csb_xstrdup("C:\\ProgramData");
  ctx->codex_system_dir = csb_xasprintf("%s\\OpenAI\\Codex", pd);
  ctx->default_system_config = csb_xasprintf("%s\\csb\\config.toml", pd);
  ctx->default_requirements = csb_xasprintf("%s\\csb\\requirements.toml", pd);
  free(pd);
  ctx->system_config = ctx->builtin_system_config = ctx->default_system_config;
  ctx->requirements_path = ctx->builtin_requirements = ctx->default_requirements;
}

static int setup_env(rs_ctx *ctx, const char *cd, const char *codex_home_flag) {
  csb_path_style st = ctx->style;
  char *proc = csb_os_getcwd();
  if (proc == NULL && (cd == NULL || !csb_spath_is_absolute(st, cd)))
    return csb_cli_error(ctx->cli, CSB_EXIT_OSERR, "cannot determine the working directory: %s",
                         strerror(errno));
  if (cd != NULL)
    ctx->cwd = proc != NULL ? rs_join(ctx, proc, cd) : csb_spath_normalize(st, cd);
  else
    ctx->cwd = csb_spath_normalize(st, proc);
  if (ctx->cwd == NULL) ctx->cwd = csb_xstrdup(proc ? proc : cd);
  if (proc != NULL) ctx->proc_cwd = csb_spath_normalize(st, proc);
  free(proc);
  csb_file_type ft;
  if (!csb_os_file_type(ctx->cwd, 1, &ft) || ft != CSB_FILE_DIR)
    return csb_cli_usage_error(ctx->cli, "working directory `%s` is not a directory", ctx->cwd);
  if (st == CSB_PATH_WINDOWS) {
    /* The profile is the home; `:tmpdir` is %TMPDIR%, else the Windows
     * temporary directory (%TEMP%, else %TMP%). */
    ctx->home = env_abs(ctx, "USERPROFILE");
    ctx->tmpdir = env_abs(ctx, "TMPDIR");
    if (ctx->tmpdir == NULL) ctx->tmpdir = env_abs(ctx, "TEMP");
    if (ctx->tmpdir == NULL) ctx->tmpdir = env_abs(ctx, "TMP");
  } else {
    ctx->home = env_abs(ctx, "HOME");
    ctx->tmpdir = env_abs(ctx, "TMPDIR");
  }
  char *codex_home = codex_home_flag ? csb_xstrdup(codex_home_flag) : env_set("CODEX_HOME");
  char *csb_home = env_set("CSB_HOME");
  /* A relative home (flag or variable) names a directory from where the
   * command runs, as every path given on the command line does, not from
   * -C. */
  const char *from = ctx->proc_cwd != NULL ? ctx->proc_cwd : ctx->cwd;
  if (codex_home != NULL && codex_home[0] != '\0') {
    ctx->codex_mode = 1;
    ctx->user_home_dir = rs_join(ctx, from, codex_home);
  } else if (csb_home != NULL) {
    ctx->user_home_dir = rs_join(ctx, from, csb_home);
  } else if (ctx->home != NULL) {
    ctx->user_home_dir = rs_join(ctx, ctx->home, ".csb");
  }
  /* Both homes, whichever is read here: a later session may read either. */
  if (csb_home != NULL)
    ctx->csb_home_dir = rs_join(ctx, from, csb_home);
  else if (ctx->home != NULL)
    ctx->csb_home_dir = rs_join(ctx, ctx->home, ".csb");
  if (codex_home != NULL && codex_home[0] != '\0')
    ctx->codex_home_dir = rs_join(ctx, from, codex_home);
  else if (ctx->home != NULL)
    ctx->codex_home_dir = rs_join(ctx, ctx->home, ".codex");
  char *pw = ctx->home == NULL && (ctx->csb_home_dir == NULL || ctx->codex_home_dir == NULL)
                 ? passwd_home(ctx)
                 : NULL;
  if (pw != NULL) {
    if (ctx->csb_home_dir == NULL) ctx->csb_home_dir = rs_join(ctx, pw, ".csb");
    if (ctx->codex_home_dir == NULL) ctx->codex_home_dir = rs_join(ctx, pw, ".codex");
    free(pw);
  }
  free(codex_home);
  free(csb_home);
  for (size_t i = 0; i < ctx->add_dirs.len; i++) {
    char *abs = rs_join(ctx, ctx->cwd, ctx->add_dirs.items[i]);
    free(ctx->add_dirs.items[i]);
    ctx->add_dirs.items[i] = abs;
  }
  return 0;
}

/* Codex-home mode: `$CODEX_HOME/memories` is an internal write root when
 * the policy projects to legacy workspace-write (reference §3.1), unless
 * a deny rule of the configuration covers it (upstream adds it anyway,
 * which reopens a Codex home the profile denies: its memories). */
static void add_internal_root(rs_ctx *ctx) {
  csb_policy *p = ctx->policy;
  if (!ctx->codex_mode || p->legacy.type != CSB_LEGACY_WORKSPACE_WRITE) return;
  char *mem = rs_join(ctx, ctx->user_home_dir, "memories");
  csb_verdict v;
  csb_policy_access_for(p, mem, &v);
  int denied = v.reason == CSB_REASON_DENY_GLOB ||
               (v.reason == CSB_REASON_ENTRY && v.entry >= 0 && p->entries[v.entry].access == CSB_ACCESS_DENY);
  if (!v.can_write && !denied) {
    csb_policy_add_entry(p, mem, CSB_ACCESS_WRITE, "internal:memories", 1, 1);
    csb_policy_canonicalize(p);
    csb_policy_compute_legacy(p, ctx->want_landlock);
  }
  free(mem);
}

static int run_check(rs_ctx *ctx, const char *path, const char *access) {
  csb_policy *p = ctx->policy;
  char *abs = rs_join(ctx, ctx->cwd, path);
  csb_verdict v;
  csb_policy_access_for(p, abs, &v);
  int want_write = strcmp(access, "write") == 0;
  int ok = want_write ? v.can_write : v.can_read;
  char *why = csb_verdict_describe(p, &v);
  printf("%s: %s %s\n%s\n", ok ? "allowed" : "denied", access, abs, why);
  free(why);
  free(abs);
  return ok ? CSB_EXIT_OK : CSB_EXIT_FALSE;
}

static int resolve(rs_ctx *ctx) {
  int rc = rs_config_load(ctx);
  if (rc) return rc;
  ctx->policy = csb_policy_new(csb_platform_host(), ctx->cwd);
  for (size_t i = 0; i < ctx->load_warnings.len; i++)
    csb_strv_push(&ctx->policy->warnings, ctx->load_warnings.items[i]);
  int landlock = 0;
  if (rs_get_bool(ctx->merged, "features.use_legacy_landlock", &landlock)) ctx->want_landlock = landlock;
  rs_profile prof;
  rc = rs_select_profile(ctx, &prof);
  if (rc == 0) rc = rs_apply_requirements(ctx, &prof, &ctx->policy->warnings);
  if (rc == 0) rc = rs_materialize(ctx, &prof, &ctx->policy->warnings);
  rs_profile_free(&prof);
  if (rc) {
    rs_flush_warnings(ctx);
    return rc;
  }
  csb_policy *p = ctx->policy;
  csb_policy_canonicalize(p);
  csb_policy_compute_legacy(p, ctx->want_landlock);
  /* Before the internal root: `$CODEX_HOME/memories` stays writable below
   * a Codex home made read-only. */
  rs_protect_config_homes(ctx);
  rs_hide_proxy_ca_key(ctx);
  add_internal_root(ctx);
  if (ctx->managed_deny.len > 0) {
    size_t before = p->n_entries;
    rs_enforce_deny_floor(ctx);
    if (p->n_entries != before) csb_policy_compute_legacy(p, ctx->want_landlock);
  }
  free(p->summary);
  p->summary = csb_policy_summary(p);
  rs_flush_warnings(ctx);
  return 0;
}

static int is_utf8(const char *s) { return csb_utf8_valid(s, strlen(s), NULL); }

/* The first path of the document that is not valid UTF-8, or NULL. */
static const char *non_utf8_path(const csb_policy *p) {
  if (!is_utf8(p->cwd)) return p->cwd;
  for (size_t i = 0; i < p->n_workspace_roots; i++)
    if (!is_utf8(p->workspace_roots[i].path)) return p->workspace_roots[i].path;
  for (size_t i = 0; i < p->n_entries; i++)
    if (!is_utf8(p->entries[i].path)) return p->entries[i].path;
  for (size_t i = 0; i < p->n_globs; i++)
    if (!is_utf8(p->globs[i].pattern)) return p->globs[i].pattern;
  for (size_t i = 0; i < p->n_unix_sockets; i++)
    if (!is_utf8(p->unix_sockets[i].path)) return p->unix_sockets[i].path;
  return NULL;
}

int rs_main(int argc, char **argv) {
  csb_cli cli;
  csb_cli_init(&cli, "csb-resolve",
               "csb-resolve [OPTIONS]\ncsb-resolve [OPTIONS] --explain\n"
               "csb-resolve [OPTIONS] --check PATH [--access read|write]",
               "Resolves the layered configuration into the csb.policy/v1 document (stdout).",
               opts, argc, argv);
  rs_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.cli = &cli;
  ctx.style = csb_path_style_host();
  default_locations(&ctx);
  csb_strv_init(&ctx.add_dirs);
  csb_strv_init(&ctx.overrides);
  csb_strv_init(&ctx.managed_deny);
  csb_strv_init(&ctx.load_warnings);
  const char *cd = NULL, *codex_home = NULL, *check = NULL, *access = "read";
  int explain = 0, id;
  const char *arg = NULL;
  int rc = 0;
  while ((id = csb_cli_next(&cli, &arg)) != CSB_CLI_END) {
    switch (id) {
      case CSB_CLI_STOP:
        rc = cli.exit_code;
        goto done;
      case CSB_CLI_POSITIONAL:
        rc = csb_cli_usage_error(&cli, "unexpected argument `%s`", arg);
        goto done;
      case OPT_CD:
        cd = arg;
        break;
      case OPT_ADD_DIR:
        csb_strv_push(&ctx.add_dirs, arg);
        break;
      case OPT_CONFIG:
        csb_strv_push(&ctx.overrides, arg);
        break;
      case OPT_PROFILE:
        ctx.profile_flag = arg;
        break;
      case OPT_SANDBOX:
        if (strcmp(arg, "read-only") != 0 && strcmp(arg, "workspace-write") != 0 &&
            strcmp(arg, "danger-full-access") != 0) {
          rc = csb_cli_usage_error(&cli, "invalid sandbox mode `%s` (expected read-only, "
                                         "workspace-write or danger-full-access)", arg);
          goto done;
        }
        ctx.sandbox_flag = arg;
        break;
      case OPT_CODEX_HOME:
        codex_home = arg;
        break;
      case OPT_SYSTEM_CONFIG:
        ctx.system_config = arg;
        ctx.system_config_explicit = 1;
        break;
      case OPT_REQUIREMENTS:
        ctx.requirements_path = arg;
        ctx.requirements_explicit = 1;
        break;
      case OPT_INCLUDE_MANAGED:
        ctx.include_managed = 1;
        break;
      case OPT_STRICT:
        ctx.strict = 1;
        break;
      case OPT_EXPLAIN:
        explain = 1;
        break;
      case OPT_CHECK:
        check = arg;
        break;
      case OPT_ACCESS:
        if (strcmp(arg, "read") != 0 && strcmp(arg, "write") != 0) {
          rc = csb_cli_usage_error(&cli, "invalid --access `%s` (expected read or write)", arg);
          goto done;
        }
        access = arg;
        break;
      default:
        break;
    }
  }
  if (cli.rest_argc > 0 || cli.has_dashdash) {
    rc = csb_cli_usage_error(&cli, "csb-resolve takes no command");
    goto done;
  }
  if (ctx.profile_flag && ctx.sandbox_flag) {
    rc = csb_cli_usage_error(&cli, "`sandbox_mode` and `default_permissions` overrides cannot both be set");
    goto done;
  }
  if (explain && check) {
    rc = csb_cli_usage_error(&cli, "--explain and --check cannot be combined");
    goto done;
  }
  const char *bad = NULL;
  if ((rc = setup_env(&ctx, cd, codex_home)) != 0) goto done;
  if ((rc = resolve(&ctx)) != 0) goto done;
  if (check != NULL) {
    rc = run_check(&ctx, check, access);
  } else if (explain) {
    char *text = csb_policy_explain(ctx.policy);
    fputs(text, stdout);
    free(text);
    put_sources(&ctx);
  } else if ((bad = non_utf8_path(ctx.policy)) != NULL) {
    /* JSON strings are UTF-8: the document would name another path (each
     * invalid byte written as U+FFFD), so its rules would miss this one. */
    rc = csb_cli_error(&cli, CSB_EXIT_DATA,
                       "path `%s` is not valid UTF-8, so a csb.policy/v1 document cannot name it "
                       "(its rules would apply to another path); rename it, or run from a "
                       "directory whose path is UTF-8",
                       bad);
  } else {
    char *json = csb_policy_to_json(ctx.policy);
    fputs(json, stdout);
    free(json);
  }
  if (fflush(stdout) != 0 || ferror(stdout))
    rc = csb_cli_error(&cli, CSB_EXIT_OSERR, "cannot write to standard output: %s", strerror(errno));
done:
  /* The configuration trees alone are thousands of blocks: leave them to
   * the process's exit (see CSB_FREE_BEFORE_EXIT). */
  if (CSB_FREE_BEFORE_EXIT) rs_ctx_free(&ctx);
  return rc;
}
