/* csb_patch.h - Codex-format patches: parsing, hunk location, new contents
 * with line-ending preservation, and an all-or-nothing, crash-safe applier.
 *
 * Conventions (1/0 returns, csb_error, _new/_free, csb_x* allocators) are
 * those of csb_base.h. The grammar, the parser's leniency and the message
 * texts follow upstream's apply_patch (docs/csb-applypatch.md lists where
 * csb is deliberately stricter).
 *
 * Layers, each usable on its own:
 *   1. csb_patch_parse      text -> csb_patch (hunks, chunks, line numbers)
 *   2. csb_patch_seek       the context-seeking ladder over lines
 *      csb_patch_update_text  old file bytes + update hunk -> new bytes
 *   3. csb_patch_plan_*     resolve paths, check them, compute every final
 *                           file state in memory (nothing is written)
 *      csb_patch_commit     write the plan transactionally: temporary files in
 *                           the target directories, fsync, a journal, rename;
 *                           rollback on failure, recovery after a crash.
 *   4. csb_patch_recover_for  before a plan: recover the interrupted runs in
 *                           the patch's directories, or (a dry run) only
 *                           work out in memory what recovering them does
 *                           (csb_patch_pending).
 *      csb_patch_commit_recover  after a plan: only the recovery the commit
 *                           does first, in the directories it works in.
 */
#ifndef CSB_PATCH_H
#define CSB_PATCH_H

#include <stddef.h>
#include <sys/types.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest patch text accepted by csb_patch_parse. */
#define CSB_PATCH_MAX_PATCH_BYTES ((size_t)64 << 20)
/* Largest file csb_patch_plan_build reads for an update. */
#define CSB_PATCH_MAX_FILE_BYTES ((size_t)1 << 30)

/* ---- parsed patch ------------------------------------------------------- */

/* A line of patch or file text: bytes without the line ending. */
typedef struct csb_patch_line {
  const char *s;
  size_t n;
} csb_patch_line;

typedef struct csb_patch_chunk {
  int has_context;          /* a "@@ TEXT" header was given */
  csb_patch_line context;   /* TEXT (valid when has_context) */
  csb_patch_line *old_lines; /* context and '-' lines, in order */
  size_t n_old;
  csb_patch_line *new_lines; /* context and '+' lines, in order */
  size_t n_new;
  /* Index pairs (into old_lines, new_lines) of the context lines. */
  size_t *ctx_old;
  size_t *ctx_new;
  size_t n_ctx;
  int is_end_of_file;       /* "*** End of File" closed the chunk */
  int line;                 /* patch line number of the chunk's first line */
} csb_patch_chunk;

typedef enum {
  CSB_PATCH_ADD = 0,
  CSB_PATCH_DELETE = 1,
  CSB_PATCH_UPDATE = 2
} csb_patch_kind;

typedef struct csb_patch_hunk {
  csb_patch_kind kind;
  char *path;            /* as spelled in the patch (NUL-terminated) */
  size_t path_len;       /* may be < strlen-able length if it holds NUL */
  char *move_path;       /* update only; NULL when there is no move */
  size_t move_path_len;
  char *contents;        /* add only: the new file's bytes */
  size_t contents_len;
  csb_patch_chunk *chunks; /* update only */
  size_t n_chunks;
  int line;              /* patch line number of the hunk header */
} csb_patch_hunk;

typedef struct csb_patch {
  csb_patch_hunk *hunks;
  size_t n_hunks;
  char *text_;           /* private: owned copy the lines point into */
  struct csb_patch_arena *arena_; /* private: where the hunks' arrays live */
} csb_patch;

enum {
  /* Also accept a shell heredoc opener naming the tool on the first line
   * ("apply_patch <<'EOF'", "applypatch <<EOF"), besides upstream's bare
   * "<<EOF" / "<<'EOF'" / "<<\"EOF\"". */
  CSB_PATCH_PARSE_SHELL_HEREDOC = 1u << 0
};

/* Parses a patch. On failure returns 0 and sets err->msg to the upstream
 * message; err->line is 0 for whole-patch errors (upstream prints
 * "Invalid patch: MSG") and the 1-based patch line number for hunk errors
 * ("Invalid patch hunk on line N: MSG"). Line numbers count from the
 * "*** Begin Patch" line after leading whitespace (and a heredoc opener)
 * are removed. The text must be valid UTF-8 and at most
 * CSB_PATCH_MAX_PATCH_BYTES long. A patch with zero hunks parses.
 *
 * csb_error holds at most 1023 bytes of message; every function of this
 * header that takes `csb_buf *full_msg` (may be NULL) also appends the
 * untruncated message there on failure, for byte-exact output. */
int csb_patch_parse(const char *text, size_t len, unsigned flags, csb_patch **out,
                    csb_error *err, csb_buf *full_msg);
void csb_patch_free(csb_patch *p);

/* ---- lines and the seek ladder ------------------------------------------ */

/* Finds `pat` in `lines` at an index >= start, trying in turn: exact,
 * trailing-whitespace-insensitive, whitespace-trimmed, and trimmed with
 * Unicode punctuation normalised (dashes, quotes, exotic spaces). With eof
 * set, the position len - n_pat is tried first with all four passes.
 * An empty pattern matches at `start`. Returns 1 and sets *at, or 0.
 * *budget (may be NULL) is decremented per line comparison; when it runs
 * out the search gives up (returns 0 and sets *budget to 0). */
int csb_patch_seek(const csb_patch_line *lines, size_t n_lines,
                   const csb_patch_line *pat, size_t n_pat, size_t start, int eof,
                   size_t *at, unsigned long long *budget);

enum {
  /* Upstream: every line that lacks a line ending gets the file's preferred
   * ending. Default (flag clear): a missing final newline is kept unless the
   * patch changed or moved the last line. */
  CSB_PATCH_TEXT_ADD_FINAL_NEWLINE = 1u << 0
};

/* Applies the chunks of an update hunk to a file's bytes. Line endings are
 * preserved per line (LF, CRLF, lone CR); inserted and replaced lines take
 * the preferred ending (that of the first line having one; LF by default).
 * Bytes outside the touched lines need not be UTF-8. `display` names the
 * file in error messages ("Failed to find expected lines in DISPLAY:..."). */
int csb_patch_update_text(const char *old, size_t old_len, const csb_patch_hunk *h,
                          const char *display, unsigned flags, csb_buf *out,
                          csb_error *err, csb_buf *full_msg);

/* ---- plans ------------------------------------------------------------------ */

typedef enum {
  CSB_PATCH_ERR_NONE = 0,
  CSB_PATCH_ERR_DATA,   /* the patch does not fit the files (missing file,
                           context not found, no hunks, bad path) */
  CSB_PATCH_ERR_POLICY, /* the check callback refused a path */
  CSB_PATCH_ERR_IO,     /* a system call failed */
  CSB_PATCH_ERR_PENDING /* a plan or check over a csb_patch_pending cannot be
                           exact: the recovery it stands for changes the way
                           to one of the patch's paths */
} csb_patch_err_kind;

/* Called once for every absolute path the patch would write (the lexical
 * path, and the path reached by following symlinks when it differs).
 * `spelling` is the path as written in the patch. Return 1 to allow; 0 to
 * refuse, with err set to the reason. */
typedef int (*csb_patch_check_fn)(void *ctx, const char *spelling, const char *abs_path,
                                  csb_error *err);

typedef struct csb_patch_pending csb_patch_pending;

/* The paths of a patch as csb_patch_recover_for resolved and checked them
 * (csb_patch_plan_opts.resolved), for csb_patch_plan_build to take over
 * instead of resolving and checking them again. Owned by the caller. */
typedef struct csb_patch_resolved csb_patch_resolved;
csb_patch_resolved *csb_patch_resolved_new(void);
void csb_patch_resolved_free(csb_patch_resolved *r);

typedef struct csb_patch_plan_opts {
  const char *cwd;            /* absolute directory relative paths resolve against */
  unsigned text_flags;        /* CSB_PATCH_TEXT_* */
  csb_patch_check_fn check;   /* may be NULL: everything allowed */
  void *check_ctx;
  csb_buf *full_msg;          /* may be NULL; see csb_patch_parse */
  /* May be NULL: the files as they are. Else the plan reads them as the
   * recovery recorded there would leave them (csb_patch_pending_scan):
   * a file it renames into place, none where it removes one. It fails
   * with CSB_PATCH_ERR_PENDING where that cannot be exact, that is where
   * the recovery changes something (other than removing a directory it
   * created) above a path the patch names, or the path to one goes
   * through a symlink while the recovery adds, removes or replaces a
   * symlink (but for its own CSB_PATCH_TMP_PREFIX files, such as the
   * pointers). Read only; it must outlive the call. */
  const csb_patch_pending *pending;
  /* May be NULL. csb_patch_recover_for empties it, then leaves there its
   * resolution of the patch's paths when every one resolved and was
   * allowed, and the recovery left the tree as it found it (without
   * copts->pending: it found no leftover of an interrupted run in any
   * directory; with it: nothing is recorded there). csb_patch_plan_build
   * empties it, taking that resolution over instead of resolving and
   * checking the paths again when it is of the same patch, cwd, check and
   * check_ctx and pending records no change (it is then exactly what the
   * plan would compute); else the plan resolves them as without it. It
   * stands for the tree as the recovery left it: build the plan right
   * after. */
  csb_patch_resolved *resolved;
} csb_patch_plan_opts;

typedef struct csb_patch_plan csb_patch_plan;

/* One entry of the summary, in upstream order: all adds (patch order), then
 * all modifications, then all deletions. `op` is 'A', 'M' or 'D'; `path`
 * is the patch's spelling (the destination for a move). */
typedef struct csb_patch_summary_entry {
  char op;
  const char *path;
  const char *abs_path;   /* where the change lands (symlinks followed) */
  size_t old_bytes;       /* 0 for adds */
  size_t new_bytes;       /* 0 for deletes */
  const char *moved_from; /* spelling of the source for a move, else NULL */
} csb_patch_summary_entry;

/* Resolves every path against opts->cwd, checks each touched path with
 * opts->check before reading anything, then reads the files and computes
 * every final state in memory, applying hunks in patch order (a later hunk
 * sees the result of an earlier one). Every file a hunk writes gets the
 * mode writing it in place would leave (the kernel's rule for a write),
 * also when its bytes stay the same: unless the process has CAP_FSETID in
 * its effective set, no set-user-ID bit, and no set-group-ID bit when the
 * group may execute it. Nothing is written. On failure
 * returns NULL, sets *kind and err (upstream message texts). The plan
 * refers to the patch (its paths and lines): free the patch after it. */
csb_patch_plan *csb_patch_plan_build(const csb_patch *p, const csb_patch_plan_opts *opts,
                                     csb_patch_err_kind *kind, csb_error *err);
void csb_patch_plan_free(csb_patch_plan *plan);

size_t csb_patch_plan_summary_len(const csb_patch_plan *plan);
const csb_patch_summary_entry *csb_patch_plan_summary_at(const csb_patch_plan *plan, size_t i);
/* Final contents for the i-th summary entry (NULL for a delete). The plan
 * keeps updated files as pieces of their old contents and of the patch;
 * this joins them (once) and so is not const. */
const char *csb_patch_plan_new_contents(csb_patch_plan *plan, size_t i, size_t *len);

typedef struct csb_patch_commit_opts {
  /* Before writing, remove (or finish) the leftovers of interrupted runs
   * found in the target directories. */
  int recover_first;
  csb_patch_check_fn check; /* applied to recovered paths too; may be NULL */
  void *check_ctx;
  /* May be NULL. csb_patch_commit_check and csb_patch_recover_for: with
   * recover_first, what recovery would do is recorded here instead of
   * done (csb_patch_pending_scan); so does csb_patch_commit_recover;
   * csb_patch_commit ignores it. */
  csb_patch_pending *pending;
  /* May be NULL. csb_patch_recover_for and csb_patch_commit_recover
   * (without pending) and csb_patch_commit: each interrupted transaction
   * they roll back or forward is appended here once it is done
   * (csb_patch_pending_at: its journal, id and action), in the order they
   * take them. */
  csb_patch_pending *recovered;
} csb_patch_commit_opts;

/* Writes the plan all-or-nothing. Every new file content goes to a
 * temporary file in its target directory, is fsynced and gets the mode,
 * and on Linux the user.* extended attributes and POSIX ACLs, of the file
 * it replaces (new files: 0666 & ~umask, none; the mode as the plan left
 * it, see csb_patch_plan_build); a journal next to the first target
 * records the transaction; then the files are renamed into place and
 * deletions done. If a step fails everything done is rolled back (a file
 * restored after the commit point gets back its mode, attributes and file
 * capabilities; when one cannot be, the patch is applied completely
 * instead and the error says so). If the process dies, the next commit
 * (or csb_patch_recover_dir) in one of the directories finishes or undoes
 * it, so each file ends up entirely old or entirely new and no temporary
 * files remain. */
int csb_patch_commit(csb_patch_plan *plan, const csb_patch_commit_opts *opts,
                     csb_patch_err_kind *kind, csb_error *err);

/* What csb_patch_commit checks before it writes, without writing (a dry
 * run): that every directory it would create, every temporary file and
 * the journal are paths opts->check allows, with the same refusals (kind
 * CSB_PATCH_ERR_POLICY, the same message but for the transaction's
 * random name). Leftovers of interrupted runs are not recovered; with
 * opts->recover_first and opts->pending, what their recovery would do is
 * recorded in opts->pending (with the same failures as the recovery
 * csb_patch_commit does), and when it would change one of the plan's
 * files or a directory above one, which the plan read before, the check
 * fails with CSB_PATCH_ERR_PENDING. The directories are those of the
 * plan as opts->pending leaves them (build the plan with it). */
int csb_patch_commit_check(csb_patch_plan *plan, const csb_patch_commit_opts *opts,
                           csb_patch_err_kind *kind, csb_error *err);

/* What csb_patch_commit recovers before it writes (opts->recover_first),
 * and only that: the leftovers of interrupted runs in the existing
 * directories it would work in for plan (the nearest existing one at or
 * above the directory of each file it writes or deletes) are recovered
 * (each transaction taken listed in opts->recovered when set), or with
 * opts->pending only recorded there (csb_patch_pending_scan; the
 * directories are then those of the tree as opts->pending leaves it:
 * build the plan with it). opts->recover_first is not needed. Nothing
 * else is made or written, and the plan, read before, is not to be
 * committed after it: plan again. Fails as the commit's recovery does
 * (kind CSB_PATCH_ERR_IO and its message). */
int csb_patch_commit_recover(csb_patch_plan *plan, const csb_patch_commit_opts *opts,
                             csb_patch_err_kind *kind, csb_error *err);

/* Finds leftovers of interrupted transactions in `dir` (a directory path),
 * finishes committed ones and rolls back the rest. Transactions still held
 * by a live process are skipped. Returns 1 when nothing was left to do or
 * everything was cleaned. */
int csb_patch_recover_dir(const char *dir, csb_patch_check_fn check, void *check_ctx,
                          csb_error *err);

/* ---- interrupted transactions, without recovering them ---------------------- */

typedef enum {
  /* Undone: the run stopped before its commit point (nothing was renamed
   * yet), or while rolling back after it. Every file keeps, or gets back,
   * its old contents. */
  CSB_PATCH_ROLL_BACK = 0,
  /* Finished: the run stopped after its commit point. Every file gets its
   * new contents. */
  CSB_PATCH_ROLL_FORWARD = 1
} csb_patch_recovery;

typedef struct csb_patch_pending_tx {
  const char *journal; /* the journal's absolute path */
  const char *id;      /* the transaction's name (.csb-applypatch-ID.j) */
  csb_patch_recovery action;
} csb_patch_pending_tx;

/* A record of interrupted transactions and of the files as recovering them
 * would leave them, kept in memory: filled by csb_patch_pending_scan (and
 * by csb_patch_recover_for and csb_patch_commit_check given one), read by
 * csb_patch_plan_build (csb_patch_plan_opts.pending). As
 * csb_patch_commit_opts.recovered it only lists the transactions a
 * recovery took. */
csb_patch_pending *csb_patch_pending_new(void);
void csb_patch_pending_free(csb_patch_pending *pd);
/* The transactions recorded, in the order recovery would take them. */
size_t csb_patch_pending_len(const csb_patch_pending *pd);
const csb_patch_pending_tx *csb_patch_pending_at(const csb_patch_pending *pd, size_t i);

/* What csb_patch_recover_dir(dir, check, check_ctx, err) would do, found
 * by the same code and recorded in pd instead of done: nothing is written
 * (to tell a live transaction, a journal's lock is taken and released, as
 * recovery does). The same transactions are found, through the same
 * pointers, after those pd already holds (a transaction recorded there is
 * gone, and its renames and removals are seen as done); those held by a
 * live process are skipped; each one recovery would roll back or forward
 * is appended to pd's list. Returns what csb_patch_recover_dir would,
 * with the same message (a journal it would refuse, a change it could not
 * finish); pd then holds what was recorded before the failure. */
int csb_patch_pending_scan(csb_patch_pending *pd, const char *dir, csb_patch_check_fn check,
                           void *check_ctx, csb_error *err);

/* Before csb_patch_plan_build: the interrupted transactions in the
 * directories where p works are recovered, so that the plan sees the
 * files as their recovery leaves them. The directories are, for every
 * path of p (and move destination), the nearest existing one at or above
 * the directory of its entry and of the file it reaches through symlinks,
 * resolved against opts->cwd; each is recovered with
 * csb_patch_recover_dir(dir, copts->check, copts->check_ctx), or, when
 * copts->pending is set, only recorded there (csb_patch_pending_scan;
 * when it already records a change, the paths are resolved and the
 * directories found over the tree as it leaves it, as the plan does with
 * csb_patch_plan_opts.pending). Nothing is done without
 * copts->recover_first, for a patch without hunks, or when a path does
 * not resolve, cannot be resolved exactly (CSB_PATCH_ERR_PENDING) or
 * opts->check refuses one (1 is
 * returned with *kind and err set to that error, which
 * csb_patch_plan_build then fails with; else *kind is
 * CSB_PATCH_ERR_NONE). Each transaction recovered is listed in
 * copts->recovered when set; the resolution of the paths is kept in
 * opts->resolved when set and still exact (see there). On failure
 * returns 0 with kind CSB_PATCH_ERR_IO and the recovery's message. */
int csb_patch_recover_for(const csb_patch *p, const csb_patch_plan_opts *opts,
                          const csb_patch_commit_opts *copts, csb_patch_err_kind *kind,
                          csb_error *err);

/* The prefix of every file name the applier creates. */
#define CSB_PATCH_TMP_PREFIX ".csb-applypatch-"

#ifdef __cplusplus
}
#endif

#endif /* CSB_PATCH_H */
