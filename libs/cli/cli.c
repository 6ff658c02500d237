/* cli.c - option parsing, --help/--version, diagnostics, exit codes. */
#define _GNU_SOURCE
#include "csb_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/wait.h>
#endif

#include "csb_version.h"

const char *csb_cli_version(void) { return CSB_VERSION; }

const char *csb_exit_kind(int code) {
  switch (code) {
    case CSB_EXIT_OK: return "ok";
    case CSB_EXIT_FALSE: return "false";
    case CSB_EXIT_USAGE: return "usage";
    case CSB_EXIT_DATA: return "data";
    case CSB_EXIT_UNAVAILABLE: return "unavailable";
    case CSB_EXIT_INTERNAL: return "internal";
    case CSB_EXIT_OSERR: return "oserr";
    case CSB_EXIT_POLICY: return "policy";
    case CSB_EXIT_CONFIG: return "config";
    case CSB_EXIT_CANNOT_EXEC: return "cannot-exec";
    case CSB_EXIT_NOT_FOUND: return "not-found";
    default: return "child";
  }
}

int csb_exit_from_wait_status(int wstatus) {
#if defined(_WIN32)
  /* Windows has no wait statuses: an exit code is passed through. */
  return wstatus;
#else
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return CSB_EXIT_SIGNAL_BASE + WTERMSIG(wstatus);
  return CSB_EXIT_INTERNAL;
#endif
}

int csb_exit_for_exec_errno(int err) {
  return (err == ENOENT || err == ENOTDIR) ? CSB_EXIT_NOT_FOUND : CSB_EXIT_CANNOT_EXEC;
}

void csb_cli_init(csb_cli *cli, const char *tool, const char *synopsis,
                  const char *summary, const csb_cli_opt *opts, int argc,
                  char **argv) {
  memset(cli, 0, sizeof *cli);
  cli->tool = tool;
  cli->synopsis = synopsis;
  cli->summary = summary;
  cli->opts = opts;
  cli->argc_ = argc;
  cli->argv_ = argv;
  cli->index_ = 1;
  cli->rest_argc = 0;
  cli->rest_argv = argv + argc; /* argv[argc] is NULL by the C standard */
  /* Honour --error-format before anything else so that early usage errors
   * already use the requested format. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--error-format=json") == 0 ||
        (strcmp(argv[i], "--error-format") == 0 && i + 1 < argc &&
         strcmp(argv[i + 1], "json") == 0))
      cli->json_errors = 1;
  }
}

/* ---- diagnostics ---- */

/* Appends s with every byte that is not part of well-formed UTF-8 written
 * as the text \xHH; with `terminal`, also the control characters a
 * terminal would act on (C0 but newline and tab, DEL, C1 such as the
 * one-byte CSI U+009B), byte by byte. */
static void put_clean(csb_buf *b, const char *s, size_t n, int terminal) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0;
    size_t len = csb_utf8_decode(s + i, n - i, &cp, NULL);
    int control = len != 0 && terminal &&
                  ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp < 0xa0));
    if (len == 0 || control) {
      for (size_t k = 0; k < (len ? len : 1); k++) {
        unsigned char c = (unsigned char)s[i + k];
        char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        csb_buf_append(b, esc, sizeof esc);
      }
      i += len ? len : 1;
    } else {
      csb_buf_append(b, s + i, len);
      i += len;
    }
  }
}

void csb_cli_put_display_text(csb_buf *b, const char *s) { put_clean(b, s, strlen(s), 1); }

void csb_cli_put_json_message(csb_buf *b, const char *s) {
  size_t n = strlen(s);
  if (csb_utf8_valid(s, n, NULL)) {
    csb_buf_put_json_string(b, s, n);
    return;
  }
  csb_buf clean;
  csb_buf_init(&clean);
  put_clean(&clean, s, n, 0);
  csb_buf_put_json_string(b, clean.data, clean.len);
  csb_buf_free(&clean);
}

static void emit(const csb_cli *cli, const char *level, int code, const char *fmt,
                 va_list ap) {
  char *msg = csb_xvasprintf(fmt, ap);
  csb_buf b;
  csb_buf_init(&b);
  if (cli->json_errors) {
    csb_buf_putc(&b, '{');
    if (code >= 0) csb_buf_printf(&b, "\"exit\":%d,\"kind\":\"%s\",", code, csb_exit_kind(code));
    csb_buf_printf(&b, "\"level\":\"%s\",\"message\":", level);
    csb_cli_put_json_message(&b, msg);
    csb_buf_puts(&b, ",\"tool\":");
    csb_buf_put_json_string(&b, cli->tool, strlen(cli->tool));
    csb_buf_puts(&b, "}\n");
  } else {
    csb_buf_printf(&b, "%s: %s: ", cli->tool, level);
    csb_cli_put_display_text(&b, msg);
    csb_buf_putc(&b, '\n');
  }
  fflush(stdout);
  csb_write_all(2, b.data, b.len);
  csb_buf_free(&b);
  free(msg);
}

int csb_cli_verror(const csb_cli *cli, int code, const char *fmt, va_list ap) {
  emit(cli, "error", code, fmt, ap);
  return code;
}

int csb_cli_error(const csb_cli *cli, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(cli, "error", code, fmt, ap);
  va_end(ap);
  return code;
}

void csb_cli_warn(const csb_cli *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(cli, "warning", -1, fmt, ap);
  va_end(ap);
}

void csb_cli_note(const csb_cli *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(cli, "note", -1, fmt, ap);
  va_end(ap);
}

int csb_cli_usage_error(const csb_cli *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = csb_xvasprintf(fmt, ap);
  va_end(ap);
  if (cli->json_errors)
    csb_cli_error(cli, CSB_EXIT_USAGE, "%s (try '%s --help')", msg, cli->tool);
  else
    csb_cli_error(cli, CSB_EXIT_USAGE, "%s\nTry '%s --help'.", msg, cli->tool);
  free(msg);
  return CSB_EXIT_USAGE;
}

/* ---- help ---- */

enum { HELP_WIDTH = 79, HELP_COLUMN = 29 };

/* Appends text to b, whose current line already holds col characters,
 * breaking lines at spaces so that none is longer than HELP_WIDTH (a word
 * longer than that stands alone); continuation lines and those after a
 * '\n' in text start with indent spaces. Spaces inside `...` do not
 * break, nor, with brackets, those inside [...]. Ends with a newline. */
static void put_wrapped(csb_buf *b, const char *text, size_t col, size_t indent, int brackets) {
  const char *s = text;
  while (*s) {
    if (*s == '\n') {
      csb_buf_printf(b, "\n%*s", (int)indent, "");
      col = indent;
      s++;
      continue;
    }
    size_t sp = 0;
    while (s[sp] == ' ') sp++;
    const char *w = s + sp;
    size_t n = 0;
    int depth = 0, quoted = 0;
    while (w[n] && w[n] != '\n' && (w[n] != ' ' || depth > 0 || quoted)) {
      if (brackets && w[n] == '[') depth++;
      if (brackets && w[n] == ']' && depth > 0) depth--;
      if (w[n] == '`') quoted = !quoted;
      n++;
    }
    if (n == 0) { /* trailing spaces */
      s = w;
      continue;
    }
    if (col > indent && col + sp + n > HELP_WIDTH) {
      csb_buf_printf(b, "\n%*s", (int)indent, "");
      col = indent;
    } else {
      csb_buf_append(b, s, sp);
      col += sp;
    }
    csb_buf_append(b, w, n);
    col += n;
    s = w + n;
  }
  csb_buf_puts(b, "\n");
}

static void put_option(csb_buf *b, const char *left, const char *help) {
  if (strlen(left) > HELP_COLUMN - 3)
    csb_buf_printf(b, "  %s\n%*s", left, HELP_COLUMN, "");
  else
    csb_buf_printf(b, "  %-*s ", HELP_COLUMN - 3, left);
  put_wrapped(b, help ? help : "", HELP_COLUMN, HELP_COLUMN, 0);
}

static void format_help(const csb_cli *cli, csb_buf *out) {
  csb_buf b;
  csb_buf_init(&b);
  const char *s = cli->synopsis;
  int first = 1;
  /* Continuation lines of a long synopsis line start under its first
   * argument. */
  size_t indent = 7 + strlen(cli->tool) + 1;
  while (s && *s) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    char *line = csb_xstrndup(s, n);
    csb_buf_puts(&b, first ? "usage: " : "       ");
    put_wrapped(&b, line, 7, indent, 1);
    free(line);
    first = 0;
    s += n + (nl ? 1 : 0);
  }
  if (cli->summary) {
    csb_buf_puts(&b, "\n");
    put_wrapped(&b, cli->summary, 0, 0, 0);
  }
  csb_buf_puts(&b, "\noptions:\n");
  for (const csb_cli_opt *o = cli->opts; o && o->name; o++) {
    char left[64];
    if (o->short_name)
      snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
               o->arg ? " " : "", o->arg ? (o->metavar ? o->metavar : "ARG") : "");
    else
      snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
               o->arg ? (o->metavar ? o->metavar : "ARG") : "");
    put_option(&b, left, o->help);
  }
  put_option(&b, "    --error-format FMT", "diagnostics as text (default) or json");
  put_option(&b, "-h, --help", "show this help and exit");
  put_option(&b, "    --version", "show the version and exit");
  csb_buf_puts(&b, "\nexit codes: see docs/exit-codes.md (0 ok, 64 usage, 65 bad input,\n"
                   "69 cannot enforce, 70 internal, 71 system error, 77 policy refusal,\n"
                   "78 config)\n");
  *out = b;
}

int csb_cli_print_argv(const csb_cli *cli, char *const *items, size_t n) {
  size_t bad = csb_utf8_first_invalid(items, n);
  if (bad < n)
    return csb_cli_error(cli, CSB_EXIT_USAGE, "--print-argv: word %zu of the command line "
                         "(counting from 0) is not valid UTF-8, which no JSON string can carry; "
                         "run it without --print-argv", bad);
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_put_json_strings(&b, items, n);
  csb_buf_putc(&b, '\n');
  int ok = csb_write_all(1, b.data, b.len);
  int err = errno;
  csb_buf_free(&b);
  if (!ok) return csb_cli_error(cli, CSB_EXIT_OSERR, "cannot write to standard output: %s", strerror(err));
  return CSB_EXIT_OK;
}

/* Writes text to stdout for --help or --version and stops: with 0, or with
 * 71 after reporting a write error (a full disk, a closed descriptor). */
static int print_and_stop(csb_cli *cli, const csb_buf *text) {
  int ok = fflush(stdout) == 0 && csb_write_all(1, text->data, text->len);
  int err = errno;
  cli->exit_code = CSB_EXIT_OK;
  if (!ok)
    cli->exit_code = csb_cli_error(cli, CSB_EXIT_OSERR, "cannot write to standard output: %s",
                                   strerror(err));
  return CSB_CLI_STOP;
}

static int help_and_stop(csb_cli *cli) {
  csb_buf b;
  format_help(cli, &b);
  int rc = print_and_stop(cli, &b);
  csb_buf_free(&b);
  return rc;
}

/* ---- parsing ---- */

static int stop(csb_cli *cli, int code) {
  cli->exit_code = code;
  return CSB_CLI_STOP;
}

static int set_error_format(csb_cli *cli, const char *v) {
  if (strcmp(v, "json") == 0) {
    cli->json_errors = 1;
    return 1;
  }
  if (strcmp(v, "text") == 0) {
    cli->json_errors = 0;
    return 1;
  }
  return 0;
}

static void finish(csb_cli *cli, int next_index) {
  if (next_index > cli->argc_) next_index = cli->argc_;
  cli->rest_argc = cli->argc_ - next_index;
  cli->rest_argv = cli->argv_ + next_index;
}

/* Records the value of option o; a second value of a single-valued option
 * is a usage error that quotes both, whichever spellings gave them. */
static int took_value(csb_cli *cli, const csb_cli_opt *o, const char *value) {
  if (o->arg != CSB_ARG_REQUIRED) return o->id;
  size_t i = (size_t)(o - cli->opts);
  if (i >= CSB_CLI_MAX_OPTS) {
    csb_cli_error(cli, CSB_EXIT_INTERNAL, "option table longer than %d entries", CSB_CLI_MAX_OPTS);
    return stop(cli, CSB_EXIT_INTERNAL);
  }
  if (cli->given_[i]) {
    csb_cli_usage_error(cli, "option '--%s' given twice ('%s', then '%s'); give it once", o->name,
                        cli->given_[i], value);
    return stop(cli, CSB_EXIT_USAGE);
  }
  cli->given_[i] = value;
  return o->id;
}

static int long_option(csb_cli *cli, const char *a, const char **arg) {
  const char *name = a + 2;
  const char *eq = strchr(name, '=');
  size_t nlen = eq ? (size_t)(eq - name) : strlen(name);

  if ((nlen == 4 && strncmp(name, "help", 4) == 0) ||
      (nlen == 7 && strncmp(name, "version", 7) == 0)) {
    if (eq) {
      csb_cli_usage_error(cli, "option '--%.*s' takes no value", (int)nlen, name);
      return stop(cli, CSB_EXIT_USAGE);
    }
  }
  if (nlen == 4 && strncmp(name, "help", 4) == 0) return help_and_stop(cli);
  if (nlen == 7 && strncmp(name, "version", 7) == 0) {
    csb_buf b;
    csb_buf_init(&b);
    csb_buf_printf(&b, "%s %s\n", cli->tool, CSB_VERSION);
    int rc = print_and_stop(cli, &b);
    csb_buf_free(&b);
    return rc;
  }
  if (nlen == 12 && strncmp(name, "error-format", 12) == 0) {
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
      if (cli->index_ >= cli->argc_) {
        csb_cli_usage_error(cli, "option '--error-format' needs a value (text or json)");
        return stop(cli, CSB_EXIT_USAGE);
      }
      v = cli->argv_[cli->index_++];
    }
    if (!set_error_format(cli, v)) {
      csb_cli_usage_error(cli, "option '--error-format' must be text or json, not '%s'", v);
      return stop(cli, CSB_EXIT_USAGE);
    }
    return csb_cli_next(cli, arg);
  }
  for (const csb_cli_opt *o = cli->opts; o && o->name; o++) {
    if (strlen(o->name) != nlen || strncmp(o->name, name, nlen) != 0) continue;
    if (o->arg == CSB_ARG_NONE) {
      if (eq) {
        csb_cli_usage_error(cli, "option '--%s' takes no value", o->name);
        return stop(cli, CSB_EXIT_USAGE);
      }
      *arg = NULL;
      return o->id;
    }
    if (eq) {
      *arg = eq + 1;
    } else {
      if (cli->index_ >= cli->argc_) {
        csb_cli_usage_error(cli, "option '--%s' needs a value", o->name);
        return stop(cli, CSB_EXIT_USAGE);
      }
      *arg = cli->argv_[cli->index_++];
    }
    if (!**arg) {
      csb_cli_usage_error(cli, "option '--%s' needs a value, not an empty one", o->name);
      return stop(cli, CSB_EXIT_USAGE);
    }
    return took_value(cli, o, *arg);
  }
  csb_cli_usage_error(cli, "unknown option '--%.*s'", (int)nlen, name);
  return stop(cli, CSB_EXIT_USAGE);
}

static int short_option(csb_cli *cli, const char **arg) {
  char c = *cli->short_next_++;
  if (c == 'h') return help_and_stop(cli);
  for (const csb_cli_opt *o = cli->opts; o && o->name; o++) {
    if (o->short_name != c) continue;
    if (o->arg == CSB_ARG_NONE) {
      if (!*cli->short_next_) cli->short_next_ = NULL;
      *arg = NULL;
      return o->id;
    }
    if (*cli->short_next_) {
      *arg = cli->short_next_;
    } else {
      if (cli->index_ >= cli->argc_) {
        csb_cli_usage_error(cli, "option '-%c' needs a value", c);
        return stop(cli, CSB_EXIT_USAGE);
      }
      *arg = cli->argv_[cli->index_++];
    }
    cli->short_next_ = NULL;
    if (!**arg) {
      csb_cli_usage_error(cli, "option '-%c' needs a value, not an empty one", c);
      return stop(cli, CSB_EXIT_USAGE);
    }
    return took_value(cli, o, *arg);
  }
  if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
    csb_cli_usage_error(cli, "unknown option '-\\x%02x'", (unsigned char)c);
  else
    csb_cli_usage_error(cli, "unknown option '-%c'", c);
  return stop(cli, CSB_EXIT_USAGE);
}

int csb_cli_next(csb_cli *cli, const char **arg) {
  *arg = NULL;
  if (cli->short_next_) return short_option(cli, arg);
  if (cli->index_ >= cli->argc_) {
    finish(cli, cli->argc_);
    return CSB_CLI_END;
  }
  const char *a = cli->argv_[cli->index_++];
  if (strcmp(a, "--") == 0) {
    cli->has_dashdash = 1;
    finish(cli, cli->index_);
    return CSB_CLI_END;
  }
  if (a[0] == '-' && a[1] == '-') return long_option(cli, a, arg);
  if (a[0] == '-' && a[1] != '\0') {
    cli->short_next_ = a + 1;
    return short_option(cli, arg);
  }
  *arg = a;
  return CSB_CLI_POSITIONAL;
}

int csb_cli_parse_uint(csb_cli *cli, const char *opt, const char *value,
                       unsigned long max, unsigned long *out) {
  char *end = NULL;
  errno = 0;
  /* strtoul would also take leading white space and a sign (and negate a
   * '-'): the value must start with a digit. */
  if (!value || value[0] < '0' || value[0] > '9') {
    csb_cli_usage_error(cli, "option '%s' needs a non-negative integer, not '%s'", opt,
                        value ? value : "");
    cli->exit_code = CSB_EXIT_USAGE;
    return 0;
  }
  unsigned long v = strtoul(value, &end, 10);
  if (errno || *end || v > max) {
    csb_cli_usage_error(cli, "option '%s' needs an integer between 0 and %lu, not '%s'",
                        opt, max, value);
    cli->exit_code = CSB_EXIT_USAGE;
    return 0;
  }
  *out = v;
  return 1;
}
