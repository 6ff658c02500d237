/* csb-applypatch - apply Codex-format patches all-or-nothing, refusing
 * every write the policy forbids. Invoked as `apply_patch` or `applypatch`
 * it keeps the upstream standalone tool's interface, messages and exit
 * statuses. See docs/csb-applypatch.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applypatch.h"
#include "csb_base.h"
#include "csb_cli.h"
#include "csb_paths.h"
#include "csb_patch.h"
#include "csb_policy.h"

/* ---- shared helpers ---------------------------------------------------------- */

/* A patch piped on standard input arrives through the pipe's buffer (64
 * KiB by default): a large patch takes a dozen round trips between the
 * writer and us, each waiting for the other to be scheduled. A larger
 * buffer lets the writer hand over the rest at once. A hint: failure
 * (not a pipe, over the per-user limit) changes nothing. */
static void widen_stdin_pipe(void) {
#ifdef F_SETPIPE_SZ
  struct stat st;
  if (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) (void)fcntl(0, F_SETPIPE_SZ, 1 << 20);
#endif
}

/* Frees the plan and the patch before exiting only when
 * CSB_FREE_BEFORE_EXIT: the plan holds every file's old and new contents,
 * the parsed patch thousands of small blocks; handing them back piece by
 * piece costs hundreds of munmap() calls, each of which interrupts every
 * CPU the commit's threads ran on. */
static void release(csb_patch_plan *plan, csb_patch *p) {
  if (!CSB_FREE_BEFORE_EXIT) return;
  csb_patch_plan_free(plan);
  csb_patch_free(p);
}

static int utf8_ok(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (n - i < len) return 0;
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
      if ((p[i + k] & 0xC0) != 0x80) return 0;
    i += len;
  }
  return 1;
}

/* Writes b to standard output and frees it; 0 with errno when not all of
 * it got there (a full disk, a closed pipe, /dev/full). */
static int emit(csb_buf *b) {
  fflush(stdout);
  int ok = csb_write_all(1, b->data, b->len);
  int saved = errno;
  csb_buf_free(b);
  errno = saved;
  return ok;
}

static int print_summary(const csb_patch_plan *plan, const char *header) {
  csb_buf b = {0};
  csb_buf_puts(&b, header);
  for (size_t i = 0; i < csb_patch_plan_summary_len(plan); i++) {
    const csb_patch_summary_entry *e = csb_patch_plan_summary_at(plan, i);
    csb_buf_printf(&b, "%c %s\n", e->op, e->path);
  }
  return emit(&b);
}

/* The message of a failed library call: the untruncated text when there is
 * one, else err->msg. */
static const char *message(const csb_buf *full, const csb_error *err) {
  return full->len ? full->data : err->msg;
}

/* ---- upstream-compatible mode (argv[0] apply_patch / applypatch) ------------- */

/* An error in upstream's words on stderr; paths and lines from the patch
 * shown as csb_cli_put_display_text does (a name holding terminal escape
 * sequences cannot drive the terminal). */
static void upstream_error(const char *fmt, ...) CSB_PRINTF(1, 2);
static void upstream_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = csb_xvasprintf(fmt, ap);
  va_end(ap);
  csb_buf b;
  csb_buf_init(&b);
  csb_cli_put_display_text(&b, msg);
  csb_buf_putc(&b, '\n');
  csb_write_all(2, b.data, b.len);
  csb_buf_free(&b);
  free(msg);
}

static int upstream_main(int argc, char **argv) {
  char *text = NULL;
  size_t len = 0;
  /* Upstream's order: the first argument's encoding, then the count. */
  if (argc >= 2) {
    len = strlen(argv[1]);
    if (!utf8_ok(argv[1], len)) {
      fputs("Error: apply_patch requires a UTF-8 PATCH argument.\n", stderr);
      return 1;
    }
    if (argc > 2) {
      fputs("Error: apply_patch accepts exactly one argument.\n", stderr);
      return 2;
    }
    text = csb_xstrdup(argv[1]);
  } else {
    csb_error e;
    widen_stdin_pipe();
    if (!csb_read_fd(0, "<stdin>", CSB_PATCH_MAX_PATCH_BYTES, &text, &len, &e)) {
      fprintf(stderr, "Error: Failed to read PATCH from stdin.\n%s\n", e.msg);
      return 1;
    }
    if (len == 0) {
      free(text);
      /* Upstream's text, "apply-patch" included. */
      fputs("Usage: apply_patch 'PATCH'\n       echo 'PATCH' | apply-patch\n", stderr);
      return 2;
    }
    if (!utf8_ok(text, len)) {
      free(text);
      fputs("Error: Failed to read PATCH from stdin.\nstream did not contain valid UTF-8\n",
            stderr);
      return 1;
    }
  }
  char *cwd = csb_os_getcwd();
  if (!cwd) {
    fprintf(stderr, "Error: Failed to determine current directory.\n%s (os error %d)\n",
            strerror(errno), errno);
    free(text);
    return 1;
  }

  int rc = 1;
  csb_patch *p = NULL;
  csb_patch_plan *plan = NULL;
  csb_error err;
  csb_buf full = {0};
  csb_patch_err_kind kind;
  /* The paths as the recovery resolved them, for the plan. */
  csb_patch_resolved *resolved = csb_patch_resolved_new();
  if (!csb_patch_parse(text, len, 0, &p, &err, &full)) {
    if (err.line > 0)
      upstream_error("Invalid patch hunk on line %d: %s", err.line, message(&full, &err));
    else
      upstream_error("Invalid patch: %s", message(&full, &err));
    goto out;
  }
  csb_patch_plan_opts po = {cwd, CSB_PATCH_TEXT_ADD_FINAL_NEWLINE, NULL, NULL, &full, NULL,
                            resolved};
  csb_patch_commit_opts co = {1, NULL, NULL, NULL, NULL};
  if (!csb_patch_recover_for(p, &po, &co, &kind, &err)) {
    upstream_error("%s", err.msg);
    goto out;
  }
  plan = csb_patch_plan_build(p, &po, &kind, &err);
  if (!plan) {
    upstream_error("%s", message(&full, &err));
    goto out;
  }
  if (!csb_patch_commit(plan, &co, &kind, &err)) {
    upstream_error("%s", err.msg);
    goto out;
  }
  if (!print_summary(plan, "Success. Updated the following files:\n")) {
    fprintf(stderr, "Error: the patch was applied, but its summary could not be written: %s\n",
            strerror(errno));
    goto out;
  }
  rc = 0;
out:
  csb_buf_free(&full);
  csb_patch_resolved_free(resolved);
  release(plan, p);
  free(text);
  free(cwd);
  return rc;
}

/* ---- csb mode ------------------------------------------------------------------- */

/* The canonical form of a directory (-C), or NULL with errno. */
static char *canonical_dir(const char *d) {
#if defined(_WIN32)
  char *proc = csb_os_getcwd();
  if (!proc) return NULL;
  char *abs = csb_winpath_join(proc, d);
  free(proc);
  csb_file_type t;
  char *out = NULL;
  if (!abs || !csb_os_file_type(abs, 1, &t)) {
    if (!abs) errno = ENOENT;
  } else if (t != CSB_FILE_DIR) {
    errno = ENOTDIR;
  } else if (!csb_winpath_canonicalize(abs, &out, NULL)) {
    errno = EIO;
  }
  free(abs);
  return out;
#else
  char buf[PATH_MAX];
  struct stat st;
  if (!realpath(d, buf) || stat(buf, &st) != 0) return NULL;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return NULL;
  }
  return csb_xstrdup(buf);
#endif
}

enum { OPT_POLICY, OPT_DIR, OPT_DRY_RUN, OPT_JSON, OPT_FILE, OPT_RECOVER };

static const csb_cli_opt k_opts[] = {
    {"policy", 0, CSB_ARG_REQUIRED, OPT_POLICY, "FILE",
     "csb.policy/v1 document (- for stdin); every touched path must be writable"},
    {"cd", 'C', CSB_ARG_REQUIRED, OPT_DIR, "DIR", "resolve patch paths against DIR (default: cwd)"},
    {"file", 'f', CSB_ARG_REQUIRED, OPT_FILE, "FILE", "read the patch from FILE"},
    {"dry-run", 'n', CSB_ARG_NONE, OPT_DRY_RUN, NULL, "check and report, change nothing"},
    {"json", 0, CSB_ARG_NONE, OPT_JSON, NULL, "report changes as JSON on stdout"},
    {"recover", 0, CSB_ARG_NONE, OPT_RECOVER, NULL,
     "only recover the interrupted runs a run of the patch recovers before it writes; "
     "apply nothing"},
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL},
};

/* The plan checks every touched path before anything is written: one
 * evaluator answers them all. The commit checks only what it recovers from
 * an interrupted earlier run, and recovering changes the tree (a `.git`
 * pointer file among it changes what is protected): there each path is
 * evaluated afresh (`ev` NULL). */
typedef struct {
  const csb_policy *policy;
  csb_policy_evaluator *ev; /* NULL: evaluate each path on its own */
} check_ctx;

/* The evaluator of the applier's checks: on every platform, a name that
 * spells a protected one in another case (`.GIT`) is protected too, as a
 * case-insensitive directory (macOS and Windows volumes, ext4, f2fs or
 * tmpfs case-folding directories, vfat, exfat, SMB shares) makes it the
 * protected entry, and the applier does not probe the file system for
 * which directories are. */
static csb_policy_evaluator *new_checker(const csb_policy *policy) {
  csb_policy_evaluator *ev = csb_policy_evaluator_new(policy);
  csb_policy_evaluator_fold_protected_names(ev);
  return ev;
}

/* Every touched path must be writable; the refusal names the path and the
 * deciding rule. */
static int policy_check(void *ctx, const char *spelling, const char *abs_path, csb_error *err) {
  const check_ctx *c = ctx;
  csb_verdict v;
  csb_policy_evaluator *own = c->ev != NULL ? NULL : new_checker(c->policy);
  csb_policy_evaluator_access_for(c->ev != NULL ? c->ev : own, abs_path, &v);
  csb_policy_evaluator_free(own);
  if (v.can_write) return 1;
  char *why = csb_verdict_describe(c->policy, &v);
  if (strcmp(spelling, abs_path) == 0)
    csb_error_set(err, "refusing to write %s: %s", abs_path, why);
  else
    csb_error_set(err, "refusing to write %s (%s): %s", spelling, abs_path, why);
  free(why);
  return 0;
}

static int exit_for(csb_patch_err_kind k) {
  switch (k) {
    case CSB_PATCH_ERR_POLICY:
      return CSB_EXIT_POLICY;
    case CSB_PATCH_ERR_IO:
      return CSB_EXIT_OSERR;
    case CSB_PATCH_ERR_PENDING:
      return CSB_EXIT_UNAVAILABLE;
    default:
      return CSB_EXIT_DATA;
  }
}

/* A failed step of the run (of --recover: recover_only): the library's
 * message, and for a dry run that cannot tell the outcome after
 * recovering an interrupted run, what does. */
static int fail(const csb_cli *cli, csb_patch_err_kind kind, const char *msg, int recover_only) {
  const char *hint = "";
  if (kind == CSB_PATCH_ERR_PENDING)
    hint = recover_only ? " (--recover without --dry-run recovers it)"
                        : " (--recover instead of --dry-run recovers it without applying the "
                          "patch; a run without --dry-run recovers it before it applies the "
                          "patch)";
  return csb_cli_error(cli, exit_for(kind), "%s%s", msg, hint);
}

/* csb_patch_recover_for, its checks answered by one policy evaluator made
 * for it: recovering changes the tree, so the policy is evaluated afresh
 * after it. */
static int recover_first(const csb_patch *p, const csb_patch_plan_opts *po,
                         const csb_patch_commit_opts *co, check_ctx *cctx,
                         csb_patch_err_kind *kind, csb_error *err) {
  if (cctx->policy) cctx->ev = new_checker(cctx->policy);
  int ok = csb_patch_recover_for(p, po, co, kind, err);
  csb_policy_evaluator_free(cctx->ev);
  cctx->ev = NULL;
  return ok;
}

/* csb_patch_plan_build, likewise. */
static csb_patch_plan *plan_patch(const csb_patch *p, const csb_patch_plan_opts *po,
                                  check_ctx *cctx, csb_patch_err_kind *kind, csb_error *err) {
  if (cctx->policy) cctx->ev = new_checker(cctx->policy);
  csb_patch_plan *plan = csb_patch_plan_build(p, po, kind, err);
  csb_policy_evaluator_free(cctx->ev);
  cctx->ev = NULL;
  return plan;
}

/* Most passes of --recover (recover_rest): each but the last recovers a
 * transaction no pass recovered before, so only a tree that something
 * keeps filling with interrupted runs gets that far. */
#define MAX_RECOVER_PASSES 64

/* Whether each transaction of done at an index >= from is listed there
 * for the first time (else a recovery took it again: fails with kind
 * CSB_PATCH_ERR_IO). */
static int once_each(const csb_patch_pending *done, size_t from, csb_patch_err_kind *kind,
                     csb_error *err) {
  for (size_t i = from; i < csb_patch_pending_len(done); i++) {
    const csb_patch_pending_tx *x = csb_patch_pending_at(done, i);
    for (size_t k = 0; k < i; k++) {
      if (strcmp(csb_patch_pending_at(done, k)->journal, x->journal) != 0) continue;
      *kind = CSB_PATCH_ERR_IO;
      return csb_error_set(err,
                           "the recovery does not come to an end: the interrupted transaction "
                           "%s (%s) is found again after it was recovered",
                           x->id, x->journal);
    }
  }
  return 1;
}

/* --recover, once the recovery before the plan is done: the rest of what
 * a run of the patch recovers before it writes, until a run would find
 * nothing more. Pass after pass: the patch is planned over what the
 * recovery left (with co->pending: over what it records), the
 * directories the commit would work in are recovered
 * (csb_patch_commit_recover), and when the pass recovered something
 * (its list, co->pending or co->recovered, grew), the recovery before
 * the plan runs again and so does the next pass. Each transaction is
 * recovered at most once, in MAX_RECOVER_PASSES passes at most; else it
 * fails (kind CSB_PATCH_ERR_IO), as it does with the plan's failure
 * (its message in po->full_msg) or the recovery's. *plan is the last
 * plan made (NULL when it failed). */
static int recover_rest(const csb_patch *p, csb_patch_plan_opts *po,
                        const csb_patch_commit_opts *co, check_ctx *cctx, csb_patch_plan **plan,
                        csb_patch_err_kind *kind, csb_error *err) {
  const csb_patch_pending *done = co->pending ? co->pending : co->recovered;
  po->pending = co->pending;
  for (size_t pass = 1, before = 0;; pass++) {
    if (!(*plan = plan_patch(p, po, cctx, kind, err))) return 0;
    if (!csb_patch_commit_recover(*plan, co, kind, err) || !once_each(done, before, kind, err))
      return 0;
    if (csb_patch_pending_len(done) == before) return 1;
    if (pass == MAX_RECOVER_PASSES) {
      *kind = CSB_PATCH_ERR_IO;
      return csb_error_set(err,
                           "the recovery does not come to an end: after %d passes, each "
                           "recovering an interrupted transaction, a run of the patch would "
                           "still find one",
                           MAX_RECOVER_PASSES);
    }
    before = csb_patch_pending_len(done);
    csb_patch_plan_free(*plan);
    *plan = NULL;
    /* A path that no longer resolves, or is refused, fails the plan. */
    if (!recover_first(p, po, co, cctx, kind, err) || !once_each(done, before, kind, err))
      return 0;
  }
}

static const char *action_name(csb_patch_recovery a) {
  return a == CSB_PATCH_ROLL_FORWARD ? "roll_forward" : "roll_back";
}

static const char *direction(csb_patch_recovery a) {
  return a == CSB_PATCH_ROLL_FORWARD ? "forward" : "back";
}

/* On standard error, the interrupted transactions listed in pd since the
 * first *shown: a dry run's warnings about what the run recovers first
 * (dry_run), or a run's notes about what it recovered. */
static void tell_txs(const csb_cli *cli, const csb_patch_pending *pd, int dry_run, size_t *shown) {
  for (; *shown < csb_patch_pending_len(pd); (*shown)++) {
    const csb_patch_pending_tx *x = csb_patch_pending_at(pd, *shown);
    if (dry_run)
      csb_cli_warn(cli,
                   "an interrupted run left a transaction pending (%s): the run rolls it %s "
                   "first; this dry run shows the outcome after that",
                   x->journal, direction(x->action));
    else
      csb_cli_note(cli, "recovered an interrupted run (%s): rolled %s", x->journal,
                   direction(x->action));
  }
}

/* `"key":[{"action","id","journal"}...]`: the transactions of pd. */
static void put_txs(csb_buf *b, const char *key, const csb_patch_pending *pd) {
  csb_buf_printf(b, "\"%s\":[", key);
  for (size_t i = 0; i < csb_patch_pending_len(pd); i++) {
    const csb_patch_pending_tx *x = csb_patch_pending_at(pd, i);
    if (i) csb_buf_putc(b, ',');
    csb_buf_printf(b, "{\"action\":\"%s\",\"id\":", action_name(x->action));
    csb_buf_put_json_string(b, x->id, strlen(x->id));
    csb_buf_puts(b, ",\"journal\":");
    csb_buf_put_json_string(b, x->journal, strlen(x->journal));
    csb_buf_putc(b, '}');
  }
  csb_buf_putc(b, ']');
}

/* With --json, a transaction of pd whose journal path JSON cannot hold
 * (not valid UTF-8) is exit 65 (its message says whether the patch was
 * applied); otherwise 0. */
static int json_unfit(const csb_cli *cli, const csb_patch_pending *pd, int json, int applied) {
  for (size_t i = 0; json && i < csb_patch_pending_len(pd); i++) {
    const csb_patch_pending_tx *x = csb_patch_pending_at(pd, i);
    if (!utf8_ok(x->journal, strlen(x->journal)))
      return csb_cli_error(cli, CSB_EXIT_DATA,
                           "%s--json cannot report the interrupted transaction %s%s: its path is "
                           "not valid UTF-8",
                           applied ? "the patch was applied, but " : "", x->id,
                           applied ? " it recovered" : "");
  }
  return 0;
}

/* --recover: one line per transaction, or the JSON object. */
static int print_recovery(const csb_patch_pending *pd, int dry_run, int json) {
  csb_buf b = {0};
  if (json) {
    csb_buf_putc(&b, '{');
    put_txs(&b, dry_run ? "pending" : "recovered", pd);
    csb_buf_puts(&b, "}\n");
  }
  for (size_t i = 0; !json && i < csb_patch_pending_len(pd); i++) {
    const csb_patch_pending_tx *x = csb_patch_pending_at(pd, i);
    csb_buf_printf(&b, "%s %s %s\n", dry_run ? "would roll" : "rolled", direction(x->action),
                   x->journal);
  }
  return emit(&b);
}

/* --recover's report of the transactions of done on standard output;
 * 0, or the exit status of the error it reported. */
static int report_recovery(const csb_cli *cli, const csb_patch_pending *done, int dry_run,
                           int json) {
  int rc = json_unfit(cli, done, json, 0);
  if (rc == 0 && !print_recovery(done, dry_run, json))
    rc = csb_cli_error(cli, CSB_EXIT_OSERR, "cannot write the report to standard output: %s",
                       strerror(errno));
  return rc;
}

static int print_json(const csb_patch_plan *plan, int dry_run, const csb_patch_pending *pd,
                      const csb_patch_pending *rec) {
  csb_buf b = {0};
  csb_buf_puts(&b, "{\"changes\":[");
  for (size_t i = 0; i < csb_patch_plan_summary_len(plan); i++) {
    const csb_patch_summary_entry *e = csb_patch_plan_summary_at(plan, i);
    const char *op = e->op == 'A' ? "add" : e->op == 'D' ? "delete" : "update";
    if (i) csb_buf_putc(&b, ',');
    csb_buf_puts(&b, "{\"abs_path\":");
    csb_buf_put_json_string(&b, e->abs_path, strlen(e->abs_path));
    if (e->moved_from) {
      csb_buf_puts(&b, ",\"moved_from\":");
      csb_buf_put_json_string(&b, e->moved_from, strlen(e->moved_from));
    }
    csb_buf_printf(&b, ",\"new_bytes\":%zu,\"old_bytes\":%zu,\"op\":\"%s\",\"path\":", e->new_bytes,
                   e->old_bytes, op);
    csb_buf_put_json_string(&b, e->path, strlen(e->path));
    csb_buf_putc(&b, '}');
  }
  csb_buf_printf(&b, "],\"dry_run\":%s", dry_run ? "true" : "false");
  if (csb_patch_pending_len(pd)) {
    csb_buf_putc(&b, ',');
    put_txs(&b, "pending", pd);
  }
  if (csb_patch_pending_len(rec)) {
    csb_buf_putc(&b, ',');
    put_txs(&b, "recovered", rec);
  }
  csb_buf_puts(&b, "}\n");
  return emit(&b);
}

static int csb_main(int argc, char **argv) {
  csb_cli cli;
  csb_cli_init(&cli, "csb-applypatch",
               "csb-applypatch [--policy FILE] [-C DIR] [--dry-run] [--json] [PATCH | - | -f FILE]\n"
               "csb-applypatch --recover [--policy FILE] [-C DIR] [--dry-run] [--json] "
               "[PATCH | - | -f FILE]",
               "Apply a Codex-format patch all-or-nothing. The patch is the PATCH argument, "
               "FILE, or standard input; with --policy every path it touches must be writable. "
               "Interrupted runs in the directories the patch works in are recovered first "
               "(rolled back or forward); --recover does only that, until a run would find "
               "none, and prints `rolled back JOURNAL` or `rolled forward JOURNAL` for each "
               "(with --dry-run: `would roll back JOURNAL`, changing nothing).",
               k_opts, argc, argv);
  const char *policy_path = NULL, *dir = NULL, *patch_arg = NULL, *patch_file = NULL;
  int dry_run = 0, json = 0, recover_only = 0, npos = 0;
  for (;;) {
    const char *arg;
    int id = csb_cli_next(&cli, &arg);
    if (id == CSB_CLI_END) break;
    if (id == CSB_CLI_STOP) return cli.exit_code;
    switch (id) {
      case OPT_POLICY:
        policy_path = arg;
        break;
      case OPT_DIR:
        dir = arg;
        break;
      case OPT_FILE:
        patch_file = arg;
        break;
      case OPT_DRY_RUN:
        dry_run = 1;
        break;
      case OPT_JSON:
        json = 1;
        break;
      case OPT_RECOVER:
        recover_only = 1;
        break;
      case CSB_CLI_POSITIONAL:
        patch_arg = arg;
        npos++;
        break;
      default:
        return csb_cli_usage_error(&cli, "unexpected option");
    }
  }
  if (cli.rest_argc > 0) {
    if (npos == 0 && cli.rest_argc == 1) {
      patch_arg = cli.rest_argv[0];
      npos = 1;
    } else {
      return csb_cli_usage_error(&cli, "expected at most one PATCH argument");
    }
  }
  if (npos > 1) return csb_cli_usage_error(&cli, "expected at most one PATCH argument");
  if (patch_file && npos) return csb_cli_usage_error(&cli, "give either PATCH or --file, not both");
  if (policy_path && strcmp(policy_path, "-") == 0 &&
      ((!patch_file && (!patch_arg || strcmp(patch_arg, "-") == 0)) ||
       (patch_file && strcmp(patch_file, "-") == 0)))
    return csb_cli_usage_error(&cli, "the policy and the patch cannot both come from stdin");

  /* The working directory. */
  const char *d = dir ? dir : ".";
  char *cwd = canonical_dir(d);
  if (!cwd) return csb_cli_usage_error(&cli, "cannot use directory %s: %s", d, strerror(errno));

  /* The patch. */
  char *text = NULL;
  size_t len = 0;
  csb_error err;
  csb_error_clear(&err);
  if (patch_file || !patch_arg || strcmp(patch_arg, "-") == 0) {
    const char *src = patch_file ? patch_file : "-";
    if (strcmp(src, "-") == 0) widen_stdin_pipe();
    if (!csb_read_file(src, CSB_PATCH_MAX_PATCH_BYTES, &text, &len, &err)) {
      free(cwd);
      return csb_cli_error(&cli, CSB_EXIT_DATA, "cannot read the patch: %s", err.msg);
    }
  } else {
    text = csb_xstrdup(patch_arg);
    len = strlen(text);
  }
  if (!utf8_ok(text, len)) {
    free(text);
    free(cwd);
    return csb_cli_error(&cli, CSB_EXIT_DATA, "the patch is not valid UTF-8");
  }

  int rc = CSB_EXIT_OK;
  csb_policy *policy = NULL;
  csb_patch *p = NULL;
  csb_patch_plan *plan = NULL;
  csb_buf full = {0};
  csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
  check_ctx cctx = {NULL, NULL}, commit_cctx = {NULL, NULL};
  /* A dry run's record of what recovering interrupted runs would do. */
  csb_patch_pending *pending = dry_run ? csb_patch_pending_new() : NULL;
  /* A run's list of the interrupted transactions it recovered. */
  csb_patch_pending *recovered = dry_run ? NULL : csb_patch_pending_new();
  size_t told = 0; /* of them, those said on standard error */
  /* The paths as the recovery resolved them, for the plan. */
  csb_patch_resolved *resolved = csb_patch_resolved_new();

  /* The policy is optional here and never read from standard input
   * without `--policy -`: standard input is the patch's. */
  if (policy_path) {
    csb_policy_arg pa;
    if (!csb_policy_load_arg(policy_path, &policy, &pa, &err)) {
      rc = csb_cli_error(&cli, CSB_EXIT_DATA, "%s", err.msg);
      goto out;
    }
    cctx.policy = commit_cctx.policy = policy;
    /* Fail closed on a document whose paths this host does not use. */
    if ((policy->platform == CSB_PLATFORM_WINDOWS) !=
        (csb_platform_host() == CSB_PLATFORM_WINDOWS)) {
      rc = csb_cli_error(&cli, CSB_EXIT_DATA,
                         "the policy is for platform `%s`, whose paths this host does not use",
                         csb_platform_name(policy->platform));
      goto out;
    }
  }
  if (!csb_patch_parse(text, len, CSB_PATCH_PARSE_SHELL_HEREDOC, &p, &err, &full)) {
    if (err.line > 0)
      rc = csb_cli_error(&cli, CSB_EXIT_DATA, "Invalid patch hunk on line %d: %s", err.line,
                         message(&full, &err));
    else
      rc = csb_cli_error(&cli, CSB_EXIT_DATA, "Invalid patch: %s", message(&full, &err));
    goto out;
  }
  /* Interrupted runs in the patch's directories are recovered first (a
   * dry run records what that would do, and plans the patch over it). The
   * policy is evaluated afresh after them: they change the tree. */
  csb_patch_plan_opts po = {cwd, 0, policy ? policy_check : NULL, policy ? &cctx : NULL, &full,
                            NULL, resolved};
  csb_patch_commit_opts co = {1, policy ? policy_check : NULL, policy ? &commit_cctx : NULL,
                              pending, recovered};
  int recovered_ok = recover_first(p, &po, &co, &cctx, &kind, &err);
  if (recover_only) {
    /* Only the recovery, reported on standard output: a patch that is
     * refused or names an invalid path recovers nothing and fails as the
     * run would; what was recovered is reported also when the recovery
     * then fails, or the patch does not plan. */
    if (recovered_ok && kind != CSB_PATCH_ERR_NONE) {
      rc = fail(&cli, kind, err.msg, 1);
      goto out;
    }
    int ok = recovered_ok && recover_rest(p, &po, &co, &cctx, &plan, &kind, &err);
    rc = report_recovery(&cli, dry_run ? pending : recovered, dry_run, json);
    if (!ok) rc = fail(&cli, kind, message(&full, &err), 1);
    goto out;
  }
  tell_txs(&cli, dry_run ? pending : recovered, dry_run, &told);
  if (!recovered_ok) {
    rc = fail(&cli, kind, err.msg, 0);
    goto out;
  }
  po.pending = pending;
  plan = plan_patch(p, &po, &cctx, &kind, &err);
  if (!plan) {
    rc = fail(&cli, kind, message(&full, &err), 0);
    goto out;
  }
  /* JSON text is UTF-8: a change whose absolute path is not (a directory
   * or link target named in another encoding) cannot be reported, so it is
   * not made either. */
  for (size_t i = 0; json && i < csb_patch_plan_summary_len(plan); i++) {
    const csb_patch_summary_entry *e = csb_patch_plan_summary_at(plan, i);
    if (!utf8_ok(e->abs_path, strlen(e->abs_path))) {
      rc = csb_cli_error(&cli, CSB_EXIT_DATA,
                         "--json cannot report the change of %s: its absolute path is not "
                         "valid UTF-8",
                         e->path);
      goto out;
    }
  }
  /* A dry run refuses where the run would: a directory it would create,
   * a temporary file or the journal the policy does not let it write. */
  int committed = (dry_run ? csb_patch_commit_check : csb_patch_commit)(plan, &co, &kind, &err);
  tell_txs(&cli, dry_run ? pending : recovered, dry_run, &told);
  if (!committed) {
    rc = fail(&cli, kind, err.msg, 0);
    goto out;
  }
  if ((rc = json_unfit(&cli, dry_run ? pending : recovered, json, !dry_run)) != 0) goto out;
  if (!(json ? print_json(plan, dry_run, pending, recovered)
             : print_summary(plan, dry_run ? "Dry run. Would update the following files:\n"
                                           : "Success. Updated the following files:\n"))) {
    rc = csb_cli_error(&cli, CSB_EXIT_OSERR,
                       dry_run ? "cannot write the report to standard output: %s"
                               : "the patch was applied, but its report could not be written to "
                                 "standard output: %s",
                       strerror(errno));
    goto out;
  }
out:
  csb_buf_free(&full);
  release(plan, p);
  csb_patch_resolved_free(resolved);
  csb_patch_pending_free(pending);
  csb_patch_pending_free(recovered);
  csb_policy_free(policy);
  free(text);
  free(cwd);
  return rc;
}

/* The name the tool was invoked as: argv[0]'s last component (Windows:
 * after `/` or `\\`, without a final `.exe` in any case). */
static char *invoked_as(const char *a0) {
  const char *base = a0;
  for (const char *c = a0; *c; c++)
    if (*c == '/' || (csb_platform_host() == CSB_PLATFORM_WINDOWS && *c == '\\')) base = c + 1;
  char *name = csb_xstrdup(base);
  size_t n = strlen(name);
  if (csb_platform_host() == CSB_PLATFORM_WINDOWS && n > 4 && strcasecmp(name + n - 4, ".exe") == 0)
    name[n - 4] = '\0';
  return name;
}

int ap_main(int argc, char **argv) {
#ifdef SIGXFSZ
  /* Past RLIMIT_FSIZE a write fails with EFBIG and the patch is rolled
   * back, instead of the signal ending the process half-way. */
  signal(SIGXFSZ, SIG_IGN);
#endif
  char *name = invoked_as(argc > 0 && argv[0] ? argv[0] : "");
  int upstream = strcmp(name, "apply_patch") == 0 || strcmp(name, "applypatch") == 0;
  free(name);
  return upstream ? upstream_main(argc, argv) : csb_main(argc, argv);
}
