/* csb_cli.h - argument parsing, diagnostics and the exit-code table shared
 * by every csb tool.
 *
 * Conventions: see csb_base.h. This library never exits the process: when
 * parsing decides the program should stop (--help, --version, a usage
 * error) it returns CSB_CLI_STOP and leaves the exit status in
 * cli->exit_code.
 *
 * Diagnostics go to stderr, one line each:
 *     csb-TOOL: error: MESSAGE
 *     csb-TOOL: warning: MESSAGE
 *     csb-TOOL: note: MESSAGE     (something done that the user should know)
 * or, after --error-format=json, one JSON object per line:
 *     {"exit":78,"kind":"config","level":"error","message":"...","tool":"csb-TOOL"}
 * (keys sorted; "exit" and "kind" only on errors).
 */
#ifndef CSB_CLI_H
#define CSB_CLI_H

#include <stdarg.h>
#include <stddef.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The one exit-code table (documented in docs/exit-codes.md). Launchers
 * (csb-bwrap, csb-proxy, csb-seatbelt) otherwise exit with the status of
 * the command they ran, or 128+N when it was killed by signal N. */
enum {
  CSB_EXIT_OK = 0,
  CSB_EXIT_FALSE = 1,         /* a query answered "no" (e.g. --check: denied) */
  CSB_EXIT_USAGE = 64,        /* bad command line */
  CSB_EXIT_DATA = 65,         /* malformed input: JSON, TOML, patch, policy */
  CSB_EXIT_UNAVAILABLE = 69,  /* cannot do it exactly here (enforce the policy, predict a dry run) */
  CSB_EXIT_INTERNAL = 70,     /* bug or out of memory */
  CSB_EXIT_OSERR = 71,        /* a system call failed */
  CSB_EXIT_POLICY = 77,       /* the policy forbids the requested action */
  CSB_EXIT_CONFIG = 78,       /* invalid configuration or requirements */
  CSB_EXIT_CANNOT_EXEC = 126, /* command found but could not be executed */
  CSB_EXIT_NOT_FOUND = 127,   /* command not found */
  CSB_EXIT_SIGNAL_BASE = 128  /* + signal number of a killed command */
};

/* Short stable name of an exit code ("usage", "data", "config", ...);
 * "child" for other values. */
const char *csb_exit_kind(int code);

/* Exit status mirroring a waitpid() status: WEXITSTATUS, or 128+signal. */
int csb_exit_from_wait_status(int wstatus);

/* Exit code for an execvp() failure: 127 for ENOENT/ENOTDIR, else 126. */
int csb_exit_for_exec_errno(int err);

typedef enum {
  CSB_ARG_NONE = 0,  /* flag */
  CSB_ARG_REQUIRED,  /* --name VALUE, --name=VALUE, -n VALUE, -nVALUE; an empty VALUE is a
                        usage error (an unset shell variable must not name the cwd), and so
                        is a second occurrence (which of two policies was meant?) */
  CSB_ARG_LIST,      /* a value like CSB_ARG_REQUIRED, repeatable: every occurrence is
                        returned in order */
} csb_arg_kind;

/* Most options a table may hold (csb_cli_next stops with 70 beyond it). */
#define CSB_CLI_MAX_OPTS 64

/* One option. The table handed to csb_cli_init ends with an entry whose
 * `name` is NULL. `id` must be >= 0 and is returned by csb_cli_next. */
typedef struct csb_cli_opt {
  const char *name;      /* long name without dashes, e.g. "policy" */
  char short_name;       /* 0 when none */
  csb_arg_kind arg;
  int id;
  const char *metavar;   /* e.g. "FILE"; shown in --help */
  const char *help;      /* one line */
} csb_cli_opt;

enum {
  CSB_CLI_END = -1,        /* no more options; see cli->rest_* */
  CSB_CLI_POSITIONAL = -2, /* *arg is a positional argument */
  CSB_CLI_STOP = -3        /* return cli->exit_code from main() */
};

typedef struct csb_cli {
  const char *tool;        /* "csb-resolve" */
  const char *synopsis;    /* "csb-resolve [OPTIONS]" lines, '\n'-separated */
  const char *summary;     /* one or two sentences for --help */
  const csb_cli_opt *opts; /* NULL-terminated table */
  int json_errors;         /* set by --error-format=json */
  int exit_code;           /* valid after CSB_CLI_STOP */
  /* Arguments after "--" (chain-loaded command), valid after CSB_CLI_END;
   * rest_argv[rest_argc] is NULL. has_dashdash tells whether "--" was seen. */
  int rest_argc;
  char **rest_argv;
  int has_dashdash;
  /* parser state (private) */
  int argc_;
  char **argv_;
  int index_;
  const char *short_next_;
  const char *given_[CSB_CLI_MAX_OPTS]; /* value of each CSB_ARG_REQUIRED option seen */
} csb_cli;

/* Prepares a parser over argv[1..argc-1]. All strings are borrowed and must
 * outlive the csb_cli. */
void csb_cli_init(csb_cli *cli, const char *tool, const char *synopsis,
                  const char *summary, const csb_cli_opt *opts, int argc,
                  char **argv);

/* Returns the id of the next option (and its value in *arg, or NULL),
 * CSB_CLI_POSITIONAL with *arg set, CSB_CLI_END when the arguments are
 * exhausted or "--" was reached, or CSB_CLI_STOP after handling --help
 * (exit 0), --version (exit 0) or a usage error (exit 64, message printed;
 * a CSB_ARG_REQUIRED option given twice is one). Flags may be repeated.
 * Positionals and options may be interleaved before "--". The common
 * options --help, --version and --error-format=text|json are built in. */
int csb_cli_next(csb_cli *cli, const char **arg);

/* Diagnostics (see the file comment for formats). Each returns `code` so
 * that `return csb_cli_error(cli, CSB_EXIT_CONFIG, "...")` works. */
int csb_cli_error(const csb_cli *cli, int code, const char *fmt, ...)
    CSB_PRINTF(3, 4);
int csb_cli_verror(const csb_cli *cli, int code, const char *fmt, va_list ap)
    CSB_PRINTF(3, 0);
/* A usage error: the message plus "Try 'TOOL --help'."; returns 64. */
int csb_cli_usage_error(const csb_cli *cli, const char *fmt, ...) CSB_PRINTF(2, 3);
void csb_cli_warn(const csb_cli *cli, const char *fmt, ...) CSB_PRINTF(2, 3);
void csb_cli_note(const csb_cli *cli, const char *fmt, ...) CSB_PRINTF(2, 3);

/* Appends the message s as a JSON string literal that is valid UTF-8
 * whatever s holds: a byte that does not start a well-formed UTF-8
 * sequence is written as the text \xHH (as csb_json_display shows it), so
 * that a message quoting an argument or a path still parses as JSON. For
 * "message" members written without a csb_cli. */
void csb_cli_put_json_message(csb_buf *b, const char *s);

/* Appends s as diagnostics show it on a terminal: bytes that are not
 * UTF-8 and control characters a terminal would act on (all but newline
 * and tab) as the text \xHH. For messages written without csb_cli_error,
 * such as csb-applypatch's upstream-compatible ones. */
void csb_cli_put_display_text(csb_buf *b, const char *s);

/* --print-argv: writes the n strings as one JSON array and a newline to
 * stdout. Returns 0, or the exit code after reporting the error: 64 when
 * some string is not UTF-8 (no JSON string carries it; nothing is
 * written), 71 when stdout fails. */
int csb_cli_print_argv(const csb_cli *cli, char *const *items, size_t n);

/* Parses an option value that must be a non-negative decimal integer no
 * larger than max (digits only: no sign, no white space). On failure
 * prints a usage error, sets cli->exit_code to 64 and returns 0. */
int csb_cli_parse_uint(csb_cli *cli, const char *opt, const char *value,
                       unsigned long max, unsigned long *out);

/* The version string stamped from the VERSION file, e.g. "0.1.0". */
const char *csb_cli_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CSB_CLI_H */
