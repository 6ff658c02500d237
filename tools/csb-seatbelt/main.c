/* csb-seatbelt - the Seatbelt (SBPL) profile and sandbox-exec invocation
 * that enforce a csb.policy/v1 document on macOS; runs `-- CMD` under it.
 * See docs/csb-seatbelt.md. Generation lives in libs/sbpl. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csb_cli.h"
#include "csb_paths.h"
#include "csb_policy.h"
#include "csb_sbpl.h"
#include "seatbelt.h"

extern char **environ;

enum {
  OPT_POLICY,
  OPT_PRINT_PROFILE,
  OPT_PRINT_ARGV,
  OPT_UNIX_SOCKET,
  OPT_LOG_DENIALS,
  OPT_ASSUME_MACOS,
};

static const csb_cli_opt opts[] = {
    {"policy", 'p', CSB_ARG_REQUIRED, OPT_POLICY, "FILE", "policy document (csb.policy/v1); - reads stdin, as does no --policy when stdin is not a terminal"},
    {"print-profile", 0, CSB_ARG_NONE, OPT_PRINT_PROFILE, NULL, "print the SBPL profile and exit"},
    {"print-argv", 0, CSB_ARG_NONE, OPT_PRINT_ARGV, NULL,
     "print the sandbox-exec argv (with -- CMD, if given) as JSON and exit"},
    {"allow-unix-socket", 0, CSB_ARG_LIST, OPT_UNIX_SOCKET, "PATH",
     "also allow Unix sockets at or below PATH (repeatable)"},
    {"log-denials", 0, CSB_ARG_NONE, OPT_LOG_DENIALS, NULL,
     "macOS: collect sandbox denials with `log stream` and print them after CMD"},
    {"assume-macos-paths", 0, CSB_ARG_NONE, OPT_ASSUME_MACOS, NULL,
     "resolve /tmp, /var and /etc as macOS does (/private/...) instead of asking this host"},
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL},
};

int main(int argc, char **argv) {
  csb_cli cli;
  csb_cli_init(&cli, "csb-seatbelt",
               "csb-seatbelt [--policy FILE|-] --print-profile [OPTIONS]\n"
               "csb-seatbelt [--policy FILE|-] --print-argv [OPTIONS] [-- CMD [ARGS...]]\n"
               "csb-seatbelt [--policy FILE|-] [OPTIONS] -- CMD [ARGS...]",
               "Builds the Seatbelt profile that enforces a csb.policy/v1 document and, on "
               "macOS, runs CMD under /usr/bin/sandbox-exec with it.",
               opts, argc, argv);
  const char *policy_path = NULL;
  int print_profile = 0, print_argv = 0, log_denials = 0, assume_macos = 0;
  csb_strv sockets;
  csb_strv_init(&sockets);
  const char *arg;
  int id, rc = 0;
  while ((id = csb_cli_next(&cli, &arg)) != CSB_CLI_END) {
    switch (id) {
    case CSB_CLI_STOP:
      csb_strv_free(&sockets);
      return cli.exit_code;
    case CSB_CLI_POSITIONAL:
      csb_strv_free(&sockets);
      return csb_cli_usage_error(&cli, "unexpected argument `%s` (put the command after --)", arg);
    case OPT_POLICY: policy_path = arg; break;
    case OPT_PRINT_PROFILE: print_profile = 1; break;
    case OPT_PRINT_ARGV: print_argv = 1; break;
    case OPT_LOG_DENIALS: log_denials = 1; break;
    case OPT_ASSUME_MACOS: assume_macos = 1; break;
    case OPT_UNIX_SOCKET:
      if (!csb_path_is_absolute(arg)) {
        csb_strv_free(&sockets);
        return csb_cli_usage_error(&cli, "--allow-unix-socket: `%s` is not an absolute path", arg);
      }
      /* As given: libs/sbpl resolves ".." after symlinks, as the kernel does. */
      csb_strv_push(&sockets, arg);
      break;
    default:
      csb_strv_free(&sockets);
      return csb_cli_usage_error(&cli, "unexpected option");
    }
  }
  int has_cmd = cli.has_dashdash && cli.rest_argc > 0;
  if (print_profile && print_argv) {
    rc = csb_cli_usage_error(&cli, "--print-profile and --print-argv cannot be combined");
    goto done_args;
  }
  if (print_profile && has_cmd) {
    rc = csb_cli_usage_error(&cli, "--print-profile takes no command (use --print-argv -- CMD)");
    goto done_args;
  }
  if (!print_profile && !print_argv && !has_cmd) {
    rc = csb_cli_usage_error(&cli, "no command: use csb-seatbelt --policy FILE -- CMD [ARGS...] "
                                   "(or --print-profile / --print-argv)");
    goto done_args;
  }
  if (log_denials && (print_profile || print_argv)) {
    rc = csb_cli_usage_error(&cli, "--log-denials needs a command to run, not --print-*");
    goto done_args;
  }

  csb_error e;
  csb_error_clear(&e);
  csb_policy *doc = NULL, *p = NULL;
  csb_policy_view *v = NULL;
  csb_sbpl_profile *prof = NULL;
  csb_strv av;
  csb_strv_init(&av);
  csb_policy_arg pa;
  if (!csb_policy_load_arg(policy_path, &doc, &pa, &e)) {
    rc = pa.missing ? csb_cli_usage_error(&cli, "%s", e.msg)
                    : csb_cli_error(&cli, CSB_EXIT_DATA, "%s", e.msg); /* names the file */
    goto done;
  }
  if (doc->enforcement == CSB_ENFORCE_DISABLED) {
    if (print_profile || print_argv) {
      rc = csb_cli_error(&cli, CSB_EXIT_USAGE, "%s: enforcement is `disabled`, no Seatbelt profile "
                         "applies (CMD would run without a sandbox)",
                         print_profile ? "--print-profile" : "--print-argv");
      goto done;
    }
    rc = sb_exec_unsandboxed(&cli, cli.rest_argv);
    goto done;
  }
  const csb_sbpl_host *host = csb_sbpl_host_system(assume_macos);
  p = csb_sbpl_policy_dealias(doc, host);
  if (!csb_policy_view_build(p, &v, &e)) {
    rc = csb_cli_error(&cli, CSB_EXIT_DATA, "policy %s: %s", pa.name, e.msg);
    goto done;
  }
  csb_sbpl_opts o = {environ, (const char *const *)sockets.items, sockets.len};
  if (!csb_sbpl_generate(p, v, host, &o, &prof, &e)) {
    rc = csb_cli_error(&cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
    goto done;
  }
  for (size_t i = 0; i < prof->warnings.len; i++) csb_cli_warn(&cli, "%s", prof->warnings.items[i]);
  if (print_profile) {
    if (!csb_write_all(1, prof->text, strlen(prof->text)))
      rc = csb_cli_error(&cli, CSB_EXIT_OSERR, "writing the profile: %s", strerror(errno));
    goto done;
  }
  csb_sbpl_argv(prof, has_cmd ? cli.rest_argv : NULL, &av);
  if (print_argv) {
    rc = csb_cli_print_argv(&cli, av.items, av.len);
    goto done;
  }
  rc = sb_run(&cli, &av, p->net_mode == CSB_NET_RESTRICTED, log_denials);
done:
  csb_strv_free(&av);
  csb_sbpl_profile_free(prof);
  csb_policy_view_free(v);
  csb_policy_free(p);
  csb_policy_free(doc);
done_args:
  csb_strv_free(&sockets);
  return rc;
}
