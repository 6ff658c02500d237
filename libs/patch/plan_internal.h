/* plan_internal.h - the plan shared by plan.c and commit.c (private). */
#ifndef CSB_PATCH_PLAN_INTERNAL_H
#define CSB_PATCH_PLAN_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "csb_patch.h"
#include "fsys.h"
#include "patch_internal.h"

/* One directory entry the patch touches, keyed by its canonical path. */
typedef struct csb_patch_entity {
  char *path;
  int orig_exists;
  int orig_errno;      /* lstat's errno when it does not exist */
  mode_t orig_mode;    /* st_mode (type bits included) */
  dev_t orig_dev;
  ino_t orig_ino;
  uid_t orig_uid;
  gid_t orig_gid;
  off_t orig_size;
  /* The original regular file's size and times as the plan read it (the
   * commit fails when they changed since: a write in place). */
  pfs_stamp orig_stamp;
  int touched;         /* some hunk changed it */
  int exists;          /* current (final, once all hunks ran) state */
  mode_t mode;
  /* The entity whose original regular file lends the current contents
   * its extended attributes and ACLs (itself, or a move's source; taken
   * with the mode); SIZE_MAX for none (a new file). */
  size_t attrs_from;
  int loaded;          /* data or pieces hold the current contents */
  char *data;          /* in the plan's arena, or `own`; NULL when in pieces */
  /* The contents left by a second or later update of the entity (heap):
   * freed when a later hunk replaces them, so that many hunks on one file
   * keep one copy of it instead of one per hunk. */
  char *own;
  size_t len;
  /* The contents as byte ranges of the original, of the patch and of
   * static line endings (in the plan's arena), as an update leaves them;
   * csb_patch_i_ent_flat joins them when contiguous bytes are needed. */
  const csb_patch_piece *pieces;
  size_t n_pieces;
  /* The contents as lines, once a second hunk updates the entity: later
   * hunks update them in place (heap; NULL otherwise). */
  csb_patch_doc *doc;
  int orig_loaded;     /* orig_data holds the original bytes (for rollback) */
  char *orig_data;
  size_t orig_len;
  char *orig_link;     /* symlink target, when the original is a symlink */
} csb_patch_entity;

typedef struct csb_patch_target {
  const char *spelling; /* borrowed from the patch */
  char *display;        /* cwd-joined spelling, for messages */
  char *lexical;        /* absolute, normalised */
  char *content;        /* every symlink followed */
  char *entry;          /* canonical parent + final name */
  int entry_is_link;
} csb_patch_target;

typedef struct csb_patch_summary_item {
  csb_patch_summary_entry pub;
  char *abs;
  size_t ent;
} csb_patch_summary_item;

struct csb_patch_plan {
  char *cwd;
  csb_patch_target *targets; /* two per hunk: path, move destination */
  size_t n_targets;
  csb_patch_entity *ents;
  size_t n_ents, ents_cap;
  size_t *map;
  size_t map_cap;
  csb_patch_summary_item *sum;
  size_t n_sum, sum_cap;
  csb_patch_arena arena; /* file contents, pieces */
  csb_patch_arena *ahead_arenas; /* the same, read ahead (one per thread) */
  size_t n_ahead_arenas;
  csb_patch_scratch scratch;
  /* The directory the in-order pass last read a file in, pinned
   * (pfs_dir_pin), with its path; -1 and NULL when none. */
  int pin_fd;
  char *pin_dir;
  /* While the plan is built: the recovery its files are read after
   * (csb_patch_plan_opts.pending), or NULL. */
  const csb_patch_pending *pend;
  /* A hunk removed a symlink: the way to later paths is walked again
   * (way_now). */
  int links_touched;
};

/* Allocates n bytes from the plan's arena (ctx is the plan). */
void *csb_patch_i_arena_alloc(void *ctx, size_t n);

/* An entity's current contents as contiguous bytes (joining its pieces
 * into the arena the first time). */
const char *csb_patch_i_ent_flat(csb_patch_plan *pl, csb_patch_entity *e);

/* ---- the files as recovery would leave them (pending.c) ----------------------
 *
 * A NULL csb_patch_pending stands for the tree as it is: lookups then go
 * to the file system. */

/* What is at path once the recorded recovery is done: path itself, the
 * path of the file renamed onto it, or NULL for nothing (removed, or below
 * a removed directory). */
/* A file the committer names (journal, pointer, temporary file, restore
 * copy): its last component starts with CSB_PATCH_TMP_PREFIX. */
int csb_patch_i_is_artifact(const char *path);
const char *csb_patch_i_pend_where(const csb_patch_pending *pd, const char *path);
/* pfs_stat (follow) or pfs_lstat of what is at path (ENOENT for nothing). */
int csb_patch_i_pend_stat(const csb_patch_pending *pd, const char *path, int follow,
                          struct stat *st);
static inline int csb_patch_i_pend_lstat(const csb_patch_pending *pd, const char *path,
                                         struct stat *st) {
  return csb_patch_i_pend_stat(pd, path, 0, st);
}
/* Drops from names (entries of dir) those that hold nothing. */
void csb_patch_i_pend_filter(const csb_patch_pending *pd, const char *dir, csb_strv *names);

/* Recording (the recovery's tx_unlink, tx_rename, tx_rmdir): 0, or -1
 * with errno as the call would fail (ENOENT; ENOTDIR, ENOTEMPTY for a
 * directory that is none or would not be empty). Changes are ascribed to
 * the transaction begun last, until it ends. */
void csb_patch_i_pend_begin(csb_patch_pending *pd, const char *journal, csb_patch_recovery action);
/* Later changes are ascribed to no transaction (leftovers without one). */
void csb_patch_i_pend_end(csb_patch_pending *pd);
int csb_patch_i_pend_unlink(csb_patch_pending *pd, const char *path);
/* csb_patch_recover_dir, listing each transaction it rolls back or
 * forward in done (csb_patch_commit_opts.recovered; may be NULL), and
 * setting *found (may be NULL) to 1 when dir holds leftovers of an
 * interrupted run (it may have changed something; else it did not). */
int csb_patch_i_recover_dir(csb_patch_pending *done, const char *dir, csb_patch_check_fn check,
                            void *ctx, int *found, csb_error *err);
int csb_patch_i_pend_rename(csb_patch_pending *pd, const char *from, const char *to);
int csb_patch_i_pend_rmdir(csb_patch_pending *pd, const char *path);

/* A recorded change: the path changed, the transaction whose recovery
 * changes it (NULL: the removal of leftovers without a journal). */
typedef struct {
  const char *path;
  const csb_patch_pending_tx *tx;
} csb_patch_i_pend_change;
/* Where the recording is (changes after it are later ones). */
size_t csb_patch_i_pend_mark(const csb_patch_pending *pd);
/* 1 and *out when path or a directory above it changed after mark. */
int csb_patch_i_pend_changed_since(const csb_patch_pending *pd, size_t mark, const char *path,
                                   csb_patch_i_pend_change *out);
/* 1 and *out when a path above `path` changed, but for the removal of a
 * directory (a path below one resolves the same when it is gone). */
int csb_patch_i_pend_above(const csb_patch_pending *pd, const char *path,
                           csb_patch_i_pend_change *out);
/* 1 and *out when a symlink is added, removed or replaced (but for the
 * committer's own files, CSB_PATCH_TMP_PREFIX...): the first such change. */
int csb_patch_i_pend_link_change(const csb_patch_pending *pd, csb_patch_i_pend_change *out);
/* Fails with CSB_PATCH_ERR_PENDING: "cannot predict the outcome exactly:
 * recovering the interrupted transaction ID (JOURNAL) first changes
 * C->PATH, HOW PATH" (in err and full, which may be NULL). Returns 0. */
int csb_patch_i_pend_fail(const csb_patch_i_pend_change *c, const char *how, const char *path,
                          csb_patch_err_kind *kind, csb_error *err, csb_buf *full);

/* The nearest existing path at or above dir as pd leaves the tree (NULL
 * when none); each missing one on the way is pushed to missing (may be
 * NULL), nearest first. */
char *csb_patch_i_pend_anchor(const csb_patch_pending *pd, const char *dir, csb_strv *missing);

#endif
