/* csb-winacl - the Windows sandbox plan for a csb.policy/v1 document, and
 * its applier on Windows. See docs/csb-winacl.md.
 *
 *   csb-winacl plan --policy FILE [--backend elevated|unelevated] ...
 *   csb-winacl simulate --plan FILE --fs-root DIR
 *   csb-winacl apply --plan FILE -- CMD [ARGS...]          (Windows)
 */
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "csb_cli.h"
#include "csb_json.h"
#include "csb_paths.h"
#include "csb_policy.h"
#include "explain.h"
#include "plan.h"
#include "simulate.h"
#include "winfs.h"

#if defined(_WIN32)
#include <windows.h>

#include "apply_win.h"
#endif

enum {
  OPT_POLICY = 1,
  OPT_PLAN,
  OPT_BACKEND,
  OPT_FS_ROOT,
  OPT_CSB_HOME,
  OPT_USER_PROFILE,
  OPT_TEMP,
  OPT_SID,
  OPT_PROXY_PORT,
  OPT_NO_PRIVATE_DESKTOP,
  OPT_BEST_EFFORT_NETWORK,
  OPT_MAX_DENY_READ,
  OPT_IGNORE_ENV,
  OPT_EXPLAIN,
  OPT_OUTPUT,
};

static const csb_cli_opt kOpts[] = {
    {"policy", 'p', CSB_ARG_REQUIRED, OPT_POLICY, "FILE", "policy document (csb.policy/v1, platform windows; - for stdin)"},
    {"plan", 0, CSB_ARG_REQUIRED, OPT_PLAN, "FILE", "simulate/apply: the plan to carry out"},
    {"backend", 'b', CSB_ARG_REQUIRED, OPT_BACKEND, "NAME", "elevated (default) or unelevated"},
    {"fs-root", 0, CSB_ARG_REQUIRED, OPT_FS_ROOT, "DIR", "map X:\\ to DIR/X/ and \\\\s\\h to DIR/UNC/s/h (required off Windows)"},
    {"csb-home", 0, CSB_ARG_REQUIRED, OPT_CSB_HOME, "DIR", "csb home (default %CSB_HOME%, else %USERPROFILE%\\.csb)"},
    {"user-profile", 0, CSB_ARG_REQUIRED, OPT_USER_PROFILE, "DIR", "the user's profile (default %USERPROFILE%)"},
    {"temp", 0, CSB_ARG_LIST, OPT_TEMP, "DIR", "TEMP/TMP directory for :tmpdir (repeatable; default %TEMP%, %TMP%)"},
    {"sid", 0, CSB_ARG_LIST, OPT_SID, "NAME=SID", "known SID of group, offline, online, real_user or logon (repeatable, once per NAME)"},
    {"proxy-port", 0, CSB_ARG_LIST, OPT_PROXY_PORT, "PORT", "extra loopback port the offline user may reach (repeatable)"},
    {"no-private-desktop", 0, CSB_ARG_NONE, OPT_NO_PRIVATE_DESKTOP, NULL, "run on Winsta0\\Default instead of a private desktop"},
    {"best-effort-network", 0, CSB_ARG_NONE, OPT_BEST_EFFORT_NETWORK, NULL, "unelevated: accept environment-only network blocking"},
    {"max-deny-read-paths", 0, CSB_ARG_REQUIRED, OPT_MAX_DENY_READ, "N", "refuse plans with more deny-read paths (default 100000)"},
    {"ignore-environment", 'i', CSB_ARG_NONE, OPT_IGNORE_ENV, NULL, "do not read CSB_HOME, USERPROFILE, TEMP or TMP"},
    {"explain", 0, CSB_ARG_NONE, OPT_EXPLAIN, NULL, "plan: print the plan for humans instead of JSON"},
    {"output", 'o', CSB_ARG_REQUIRED, OPT_OUTPUT, "FILE", "plan: write the JSON plan to FILE"},
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL},
};

static const char kSynopsis[] =
    "csb-winacl plan --policy FILE [--backend elevated|unelevated] [--fs-root DIR] [OPTIONS]\n"
    "csb-winacl simulate --plan FILE --fs-root DIR\n"
    "csb-winacl apply --plan FILE [--fs-root DIR] -- CMD [ARGS...]";

static const char kSummary[] =
    "Plans the Windows identities, ACEs, firewall rules and setup state that enforce a "
    "csb.policy/v1 document (or refuses, fail-closed); `apply` carries a plan out on Windows "
    "and runs CMD as the sandbox identity; `simulate` previews a plan's file-system effects.";

/* A non-empty environment variable (UTF-8 on every host), or NULL. */
static char *env_utf8(const char *name) {
  char *v = csb_os_getenv(name);
  if (v != NULL && v[0] == '\0') {
    free(v);
    v = NULL;
  }
  return v;
}

/* A Windows path option: absolute Windows syntax, normalised. */
static int win_path_opt(csb_cli *cli, const char *opt, const char *value, char **out) {
  char *n = csb_winpath_normalize(value);
  if (n == NULL) {
    csb_cli_usage_error(cli, "--%s: `%s` is not an absolute Windows path", opt, value);
    return 0;
  }
  free(*out);
  *out = n;
  return 1;
}

/* Writes text to stdout (path NULL) or as the whole of the file path
 * (all or nothing): 0, or 71 after reporting why not (a full disk, a
 * closed stdout). */
static int write_out(csb_cli *cli, const char *path, const char *text) {
  size_t n = strlen(text);
  if (path == NULL) {
    /* straight to the descriptor: fputs() on a full disk left stdio's
     * error flag set and fflush() nothing to report, hence exit 0 */
    if (fflush(stdout) != 0 || !csb_write_all(1, text, n))
      return csb_cli_error(cli, CSB_EXIT_OSERR, "cannot write to standard output: %s",
                           strerror(errno));
    return 0;
  }
  csb_error err;
  if (!csb_os_replace_file(path, text, n, &err))
    return csb_cli_error(cli, CSB_EXIT_OSERR, "%s", err.msg);
  return 0;
}

static int load_plan(csb_cli *cli, const char *path, cJSON **out) {
  char *text = NULL;
  size_t len = 0;
  csb_error err;
  if (!csb_read_file(path, WA_MAX_PLAN_BYTES, &text, &len, &err))
    return csb_cli_error(cli, CSB_EXIT_DATA, "%s", err.msg);
  if (!csb_json_parse_limits(text, len, &(csb_json_limits){0, WA_MAX_PLAN_BYTES}, out, &err)) {
    free(text);
    return csb_cli_error(cli, CSB_EXIT_DATA, "%s: %s", path, err.msg);
  }
  free(text);
  return 0;
}

typedef struct args {
  const char *cmd;
  const char *policy, *plan, *fs_root, *output;
  int explain, ignore_env, have_temp, stopped;
  wa_opts o;
} args;

static int parse(csb_cli *cli, args *a) {
  const char *arg;
  int r;
  while ((r = csb_cli_next(cli, &arg)) != CSB_CLI_END) {
    if (r == CSB_CLI_STOP) {
      a->stopped = 1;
      return cli->exit_code;
    }
    switch (r) {
      case CSB_CLI_POSITIONAL:
        if (a->cmd != NULL) return csb_cli_usage_error(cli, "unexpected argument `%s`", arg);
        if (strcmp(arg, "plan") && strcmp(arg, "simulate") && strcmp(arg, "apply"))
          return csb_cli_usage_error(cli, "unknown command `%s` (plan, simulate or apply)", arg);
        a->cmd = arg;
        break;
      case OPT_POLICY:
        a->policy = arg;
        break;
      case OPT_PLAN:
        a->plan = arg;
        break;
      case OPT_BACKEND:
        if (strcmp(arg, "elevated") == 0)
          a->o.backend = WA_ELEVATED;
        else if (strcmp(arg, "unelevated") == 0)
          a->o.backend = WA_UNELEVATED;
        else
          return csb_cli_usage_error(cli, "--backend: expected elevated or unelevated, got `%s`", arg);
        break;
      case OPT_FS_ROOT:
        a->fs_root = arg;
        break;
      case OPT_CSB_HOME:
        if (!win_path_opt(cli, "csb-home", arg, &a->o.csb_home)) return CSB_EXIT_USAGE;
        break;
      case OPT_USER_PROFILE:
        if (!win_path_opt(cli, "user-profile", arg, &a->o.user_profile)) return CSB_EXIT_USAGE;
        break;
      case OPT_TEMP: {
        char *t = NULL;
        if (!win_path_opt(cli, "temp", arg, &t)) return CSB_EXIT_USAGE;
        csb_strv_push_owned(&a->o.temp_dirs, t);
        a->have_temp = 1;
        break;
      }
      case OPT_SID: {
        const char *eq = strchr(arg, '=');
        static const char *const names[] = {"group", "offline", "online", "real_user", "logon"};
        int known = 0;
        for (size_t i = 0; eq && i < CSB_ARRAY_LEN(names); i++)
          if ((size_t)(eq - arg) == strlen(names[i]) && strncmp(arg, names[i], strlen(names[i])) == 0)
            known = 1;
        if (!known || !wa_is_sid(eq + 1))
          return csb_cli_usage_error(
              cli, "--sid: expected NAME=SID with NAME group, offline, online, real_user or logon, got `%s`",
              arg);
        /* As Windows spells it: the deny-read state is keyed by it. */
        char *sid = wa_sid_canonical(eq + 1);
        /* One SID per name: which group's deny-read state and ACEs were
         * meant? (the planner took the first) */
        size_t nlen = (size_t)(eq - arg);
        for (size_t i = 0; i < a->o.sids.len; i++) {
          const char *had = a->o.sids.items[i];
          if (strncmp(had, arg, nlen) == 0 && had[nlen] == '=') {
            int rc = csb_cli_usage_error(cli, "--sid: %.*s given twice (%s, then %s); give it once",
                                         (int)nlen, arg, had + nlen + 1, sid);
            free(sid);
            return rc;
          }
        }
        csb_strv_pushf(&a->o.sids, "%.*s=%s", (int)(eq - arg), arg, sid);
        free(sid);
        break;
      }
      case OPT_PROXY_PORT: {
        int port = 0;
        /* One message for every value that is not a port, 0 included. */
        if (!csb_parse_port(arg, strlen(arg), &port) || port == 0)
          return csb_cli_usage_error(cli, "--proxy-port: expected a port from 1 to 65535, got `%s`",
                                     arg);
        if (a->o.n_proxy_ports >= WA_MAX_PROXY_PORTS)
          return csb_cli_usage_error(cli, "--proxy-port: at most %d ports", WA_MAX_PROXY_PORTS);
        a->o.proxy_ports[a->o.n_proxy_ports++] = (int)port;
        break;
      }
      case OPT_NO_PRIVATE_DESKTOP:
        a->o.private_desktop = 0;
        break;
      case OPT_BEST_EFFORT_NETWORK:
        a->o.best_effort_network = 1;
        break;
      case OPT_MAX_DENY_READ: {
        unsigned long n;
        if (!csb_cli_parse_uint(cli, "--max-deny-read-paths", arg, 10000000, &n)) return CSB_EXIT_USAGE;
        if (n == 0) return csb_cli_usage_error(cli, "--max-deny-read-paths: must be at least 1");
        a->o.max_deny_read_paths = n;
        break;
      }
      case OPT_IGNORE_ENV:
        a->ignore_env = 1;
        break;
      case OPT_EXPLAIN:
        a->explain = 1;
        break;
      case OPT_OUTPUT:
        a->output = arg;
        break;
      default:
        return csb_cli_usage_error(cli, "internal: unhandled option");
    }
  }
  if (a->cmd == NULL) return csb_cli_usage_error(cli, "missing command (plan, simulate or apply)");
  return 0;
}

/* How Windows would resolve a path that is not absolute. */
static const char *relative_kind(const char *v) {
  if (isalpha((unsigned char)v[0]) && v[1] == ':')
    return "drive-relative: Windows resolves it against the current directory of that drive";
  if ((v[0] == '\\' || v[0] == '/') && v[1] != '\\' && v[1] != '/')
    return "root-relative: Windows resolves it against the current drive";
  if (v[0] == '\\' || v[0] == '/') return "not a complete UNC path";
  return "relative: Windows resolves it against the current directory";
}

/* Environment defaults (unless --ignore-environment): only values that are
 * absolute Windows paths count, except CSB_HOME, which must be one when it
 * is set: a relative csb home names a different directory (capability
 * SIDs, deny-read state) in each process. */
static int env_defaults(csb_cli *cli, args *a) {
  if (a->ignore_env) return 0;
  if (a->o.csb_home == NULL) {
    char *v = env_utf8("CSB_HOME");
    if (v != NULL && (a->o.csb_home = csb_winpath_normalize(v)) == NULL) {
      int rc = csb_cli_error(
          cli, CSB_EXIT_USAGE,
          "CSB_HOME `%s` is %s, so each process could use a different csb home "
          "(rule: the csb home is an absolute path; backend: %s; fix: set CSB_HOME to an "
          "absolute path such as `C:\\Users\\me\\.csb`, unset it to use "
          "%%USERPROFILE%%\\.csb, or pass --csb-home)",
          v, relative_kind(v), wa_backend_name(a->o.backend));
      free(v);
      return rc;
    }
    free(v);
  }
  if (a->o.user_profile == NULL) {
    char *v = env_utf8("USERPROFILE");
    a->o.user_profile = v ? csb_winpath_normalize(v) : NULL;
    free(v);
  }
  if (!a->have_temp) {
    const char *names[2] = {"TEMP", "TMP"};
    for (int i = 0; i < 2; i++) {
      char *v = env_utf8(names[i]);
      char *n = v ? csb_winpath_normalize(v) : NULL;
      if (n != NULL) {
        int dup = 0;
        for (size_t k = 0; k < a->o.temp_dirs.len; k++)
          if (csb_winpath_equal(a->o.temp_dirs.items[k], n)) dup = 1;
        if (!dup)
          csb_strv_push_owned(&a->o.temp_dirs, n);
        else
          free(n);
      }
      free(v);
    }
  }
  return 0;
}

static int cmd_plan(csb_cli *cli, args *a) {
  if (a->policy == NULL) return csb_cli_usage_error(cli, "plan: --policy FILE is required");
  if (cli->has_dashdash) return csb_cli_usage_error(cli, "plan: takes no command (use apply)");
  int erc = env_defaults(cli, a);
  if (erc != 0) return erc;
  if (a->o.csb_home == NULL && a->o.user_profile != NULL)
    a->o.csb_home = csb_winpath_join(a->o.user_profile, ".csb");
  if (a->o.csb_home == NULL)
    return csb_cli_usage_error(cli, "plan: no csb home: pass --csb-home DIR (or set CSB_HOME or USERPROFILE)");
  csb_policy *p = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_policy_load(a->policy, &p, &err)) return csb_cli_error(cli, CSB_EXIT_DATA, "%s", err.msg);
  wfs *fs = NULL;
  if (!wfs_open(a->fs_root, &fs, &err)) {
    csb_policy_free(p);
    return csb_cli_usage_error(cli, "%s", err.msg);
  }
  cJSON *plan = NULL;
  int rc = wa_plan(p, fs, &a->o, &plan, &err);
  if (rc != 0) {
    rc = rc == CSB_EXIT_USAGE ? csb_cli_usage_error(cli, "%s", err.msg)
                              : csb_cli_error(cli, rc, "%s", err.msg);
  } else {
    char *json = csb_json_print_str(plan, 0);
    if (a->output != NULL) rc = write_out(cli, a->output, json);
    if (rc == 0 && (a->explain || a->output == NULL)) {
      char *text = a->explain ? wa_explain(plan) : NULL;
      rc = write_out(cli, NULL, text ? text : json);
      free(text);
    }
    free(json);
  }
  cJSON_Delete(plan);
  wfs_free(fs);
  csb_policy_free(p);
  return rc;
}

static int cmd_simulate(csb_cli *cli, args *a) {
  if (a->plan == NULL || a->fs_root == NULL)
    return csb_cli_usage_error(cli, "simulate: --plan FILE and --fs-root DIR are required");
  cJSON *plan = NULL;
  int rc = load_plan(cli, a->plan, &plan);
  if (rc) return rc;
  csb_error err;
  if (!wa_plan_check(plan, &err)) {
    cJSON_Delete(plan);
    return csb_cli_error(cli, CSB_EXIT_DATA, "%s: %s", a->plan, err.msg);
  }
  wfs *fs = NULL;
  if (!wfs_open(a->fs_root, &fs, &err)) {
    cJSON_Delete(plan);
    return csb_cli_usage_error(cli, "%s", err.msg);
  }
  csb_buf log = {0};
  csb_buf_puts(&log, "");
  int code = wa_simulate(plan, fs, &log, &err);
  if (code != 0)
    rc = csb_cli_error(cli, code, "%s", err.msg);
  else
    rc = write_out(cli, NULL, log.data);
  csb_buf_free(&log);
  wfs_free(fs);
  cJSON_Delete(plan);
  return rc;
}

static int cmd_apply(csb_cli *cli, args *a) {
  if (a->plan == NULL) return csb_cli_usage_error(cli, "apply: --plan FILE is required");
  if (!cli->has_dashdash || cli->rest_argc == 0)
    return csb_cli_usage_error(cli, "apply: missing `-- CMD [ARGS...]`");
  cJSON *plan = NULL;
  int rc = load_plan(cli, a->plan, &plan);
  if (rc) return rc;
  csb_error err;
  csb_error_clear(&err);
  int failed = 0;
  rc = wa_apply(plan, a->fs_root, cli->rest_argv, &failed, &err);
  if (failed) rc = csb_cli_error(cli, rc, "%s", err.msg);
  cJSON_Delete(plan);
  return rc;
}


int main(int argc, char **argv) {
  /* UTF-8 arguments; byte-exact output (no CRLF translation): plans compare
   * across hosts. */
  csb_os_init(&argc, &argv);
#if defined(_WIN32)
  /* The elevated backend's runner (started by `apply` as the sandbox user). */
  if (argc > 1 && strcmp(argv[1], "__runner") == 0) return wa_runner_main(argc, argv);
#endif
  csb_cli cli;
  csb_cli_init(&cli, "csb-winacl", kSynopsis, kSummary, kOpts, argc, argv);
  args a;
  memset(&a, 0, sizeof(a));
  wa_opts_init(&a.o);
  int rc = parse(&cli, &a);
  if (rc == 0 && !a.stopped) {
    if (strcmp(a.cmd, "plan") == 0)
      rc = cmd_plan(&cli, &a);
    else if (strcmp(a.cmd, "simulate") == 0)
      rc = cmd_simulate(&cli, &a);
    else
      rc = cmd_apply(&cli, &a);
  }
  wa_opts_free(&a.o);
  return rc;
}
