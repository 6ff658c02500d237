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
};

/* Allocates n bytes from the plan's arena (ctx is the plan). */
void *csb_patch_i_arena_alloc(void *ctx, size_t n);

/* An entity's current contents as contiguous bytes (joining its pieces
 * into the arena the first time). */
const char *csb_patch_i_ent_flat(csb_patch_plan *pl, csb_patch_entity *e);

#endif
