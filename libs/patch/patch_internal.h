/* patch_internal.h - helpers shared by the files of libs/patch (private). */
#ifndef CSB_PATCH_INTERNAL_H
#define CSB_PATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Unicode White_Space property (what Rust's str::trim removes). */
int csb_patch_is_space(uint32_t cp);

/* Length of s without trailing / leading Unicode whitespace. */
size_t csb_patch_rtrim_len(const char *s, size_t n);
size_t csb_patch_ltrim_off(const char *s, size_t n);

/* Memory handed out in a few large chunks and released all at once
 * (arena.c): freeing thousands of blocks one by one costs more than
 * everything else a patch does. Zero-initialise before use. */
typedef struct csb_patch_arena {
  struct arena_chunk *head;
} csb_patch_arena;
/* n bytes, 16-byte aligned (never NULL: out of memory aborts). */
void *csb_patch_i_arena_take(csb_patch_arena *a, size_t n);
void csb_patch_i_arena_release(csb_patch_arena *a);

/* A byte range of a file's new contents. */
typedef struct csb_patch_piece {
  const char *s;
  size_t n;
} csb_patch_piece;

/* Working memory of csb_patch_i_update, reused from call to call (zero it
 * before the first call; free with csb_patch_i_scratch_free). */
typedef struct csb_patch_scratch {
  struct csb_patch_line *lines;
  unsigned char *eol;
  size_t lines_cap;
  csb_patch_piece *pieces;
  size_t pieces_cap;
} csb_patch_scratch;
void csb_patch_i_scratch_free(csb_patch_scratch *sc);

/* csb_patch_update_text without the copy: the new contents are the
 * *n_pieces pieces left in sc->pieces (valid until the next call), which
 * point into `old`, into the hunk's lines and into static line endings;
 * *out_len is their total length. */
struct csb_patch_hunk;
int csb_patch_i_update(const char *old, size_t old_len, const struct csb_patch_hunk *h,
                       const char *display, unsigned flags, csb_patch_scratch *sc,
                       size_t *n_pieces, size_t *out_len, struct csb_error *err,
                       struct csb_buf *full);

/* A file's lines kept between the hunks that update it (text.c): built
 * once from its bytes, updated in place by each hunk at a cost that
 * depends on what the hunk searches and changes, not on the file's size.
 * The lines point into the bytes given to csb_patch_i_doc_new and into
 * the patch, which must outlive the doc. */
typedef struct csb_patch_doc csb_patch_doc;
csb_patch_doc *csb_patch_i_doc_new(const char *s, size_t len, csb_patch_scratch *sc);
void csb_patch_i_doc_free(csb_patch_doc *d);
/* csb_patch_i_update's result and errors; on failure d is unchanged. */
int csb_patch_i_doc_update(csb_patch_doc *d, const struct csb_patch_hunk *h,
                           const char *display, unsigned flags, struct csb_error *err,
                           struct csb_buf *full);
size_t csb_patch_i_doc_len(const csb_patch_doc *d);
/* Writes the contents (csb_patch_i_doc_len bytes) to out. */
void csb_patch_i_doc_write(const csb_patch_doc *d, char *out);

/* Copies n pieces to out (which has room for all) and returns the length. */
size_t csb_patch_i_join(const csb_patch_piece *pc, size_t n, char *out);

/* Stores a formatted message into err (truncated to fit) and appends it to
 * full (untruncated); either may be NULL. Returns 0. */
struct csb_error;
struct csb_buf;
int csb_patch_set_msg(struct csb_error *err, struct csb_buf *full, int line,
                      const struct csb_buf *msg);

/* A few threads that run the independent steps of a phase (pool.c).
 * csb_patch_i_pool_new starts up to threads - 1 workers (fewer when threads
 * cannot be created; never more than CSB_PATCH_MAX_THREADS in all).
 * csb_patch_i_pool_run calls fn(ctx, i, self) for every i in [0, n) on the
 * workers and the calling thread, and returns when all calls are done;
 * self identifies the thread making the call (0 for the caller, below
 * csb_patch_i_pool_size). Once a call returns 0 no further index is
 * started. It returns 1 when every call ran and returned 1. fn must be
 * thread-safe for distinct indices; the caller sees everything the calls
 * wrote. */
#define CSB_PATCH_MAX_THREADS 16
typedef int (*csb_patch_task_fn)(void *ctx, size_t i, size_t self);
typedef struct csb_patch_pool csb_patch_pool;
csb_patch_pool *csb_patch_i_pool_new(size_t threads);
int csb_patch_i_pool_run(csb_patch_pool *p, size_t n, csb_patch_task_fn fn, void *ctx);
size_t csb_patch_i_pool_size(const csb_patch_pool *p);
void csb_patch_i_pool_free(csb_patch_pool *p);

/* The crash-recovery journal (commit.c), read as recovery reads it and
 * written again: 1 when text[0..len) is a well-formed journal (its magic
 * line, an id, only known records, a torn last line ignored), with *out
 * its id and records in the order the committer writes them, then the
 * `prepared`, `commit` and `abort` marks it carries (caller frees);
 * else 0 and *out NULL. For unit tests and the fuzz target. */
int csb_patch_i_journal_reformat(const char *text, size_t len, char **out);

/* The committer's own files (commit.c). A transaction id is the process
 * ID in hex (no leading zero) and '-' and 16 hex digits of r. */
void csb_patch_i_make_id(char id[64], unsigned long pid, const unsigned char r[8]);
/* The name of transaction id's journal (kind 'j'), pointer ('p'),
 * temporary file n ('t') or restore copy n ('r'): CSB_PATCH_TMP_PREFIX,
 * id, '.', kind, and n in decimal for 't' and 'r' (caller frees). */
char *csb_patch_i_artifact_name(const char *id, char kind, size_t n);
/* The same name in dir (joined with one separator). */
char *csb_patch_i_artifact_path(const char *dir, const char *id, char kind, size_t n);
/* 1 when a pointer's text (what the committer writes in a directory it
 * works in: its journal's path) names transaction id's journal as the
 * committer writes it: a normalised absolute path whose last component is
 * the journal's name. The leftover scan follows no other pointer. */
int csb_patch_i_pointer_names_journal(const char *text, const char *id);
/* 1 when name is one csb_patch_i_artifact_name writes for an id
 * csb_patch_i_make_id writes and n below 10^9, with that id, kind and n;
 * the scan of a directory for leftovers of a killed run acts on no other
 * name. */
int csb_patch_i_artifact_parse(const char *name, char id[64], char *kind, size_t *n);

#endif
