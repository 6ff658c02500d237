/* winfs.h - the Windows file system as the planner sees it.
 *
 * Every path here is a normalised Windows path (csb_winpath_normalize):
 * `X:\a\b` or `\\server\share\a`. A wfs either is the real file system
 * (Windows builds only) or maps Windows paths onto a host directory, the
 * "fs root", which is how the planner runs (and is tested) on Linux:
 *
 *     X:\a\b             ->  ROOT/X/a/b
 *     \\server\share\a   ->  ROOT/UNC/server/share/a
 *
 * Names compare case-insensitively, as on NTFS: a component that does not
 * exist with the spelling asked for is looked up among the directory's
 * entries, names folded as NTFS folds them (csb_winname_fold). Symbolic
 * links in a fixture tree stand in for junctions and symlinks; they must
 * point inside the tree (a link that leaves it reads as missing).
 *
 * On Windows the fs root is a Windows directory (e.g. `Z:\tmp\fixture`
 * under Wine), mapped the same way; without one, paths are used as they
 * are. Conventions (1/0, csb_error, ownership) are those of csb_base.h.
 */
#ifndef CSB_WINACL_WINFS_H
#define CSB_WINACL_WINFS_H

#include <stddef.h>

#include "csb_base.h"

typedef enum {
  WFS_MISSING = 0,
  WFS_FILE, /* a regular file */
  WFS_DIR,
  WFS_LINK, /* a symlink, junction or other reparse point (not followed) */
  WFS_OTHER
} wfs_kind;

typedef struct wfs wfs;

/* Opens the file system: `root` is the fs root (a host directory that must
 * exist), or NULL for this host's own Windows file system (fails on other
 * hosts). */
int wfs_open(const char *root, wfs **out, csb_error *err);
void wfs_free(wfs *fs);
/* The fs root as given, or NULL. */
const char *wfs_root(const wfs *fs);

/* The host path of a Windows path (the fs root applied, names resolved
 * case-insensitively where they exist). Caller frees. */
char *wfs_host_path(wfs *fs, const char *path);
/* What `path` is, not following a final link. */
wfs_kind wfs_lkind(wfs *fs, const char *path);
/* What `path` is, following links (WFS_LINK never). */
wfs_kind wfs_kind_follow(wfs *fs, const char *path);
/* The names in a directory (not "." and ".."), sorted bytewise. Fails when
 * `path` is not a directory that can be listed. */
int wfs_list(wfs *fs, const char *path, csb_strv *names);
/* The canonical path of an existing object: every link resolved, names
 * spelled as on disk. NULL when it does not exist (or a link leaves the
 * fs root). */
char *wfs_canonical(wfs *fs, const char *path);
/* The deepest existing ancestor of `path` (itself included) canonicalised,
 * with the missing rest appended as written. Never NULL for a valid path. */
char *wfs_effective(wfs *fs, const char *path);
/* Reads a regular file (at most max bytes, NUL-terminated). */
int wfs_read(wfs *fs, const char *path, size_t max, char **out, size_t *len, csb_error *err);
/* Its first max bytes (all of it when smaller), NUL-terminated; 1/0. */
int wfs_read_head(wfs *fs, const char *path, size_t max, char **out, size_t *len);

/* Creates a directory and its missing parents. */
int wfs_mkdirs(wfs *fs, const char *path, csb_error *err);
/* Replaces a file atomically (a temporary file in the same directory, then
 * a rename), creating the parent directories. */
int wfs_write_file(wfs *fs, const char *path, const char *data, size_t len, csb_error *err);
/* Renames a file (replacing the target). */
int wfs_rename(wfs *fs, const char *from, const char *to, csb_error *err);

/* Expands a deny-read glob (Windows syntax: `\` and `/` both separate,
 * names match case-insensitively) against the file system. max_depth
 * counts levels below the glob's literal directory prefix
 * (CSB_GLOB_DEPTH_UNLIMITED for no limit). Matches are appended to
 * `matches` as Windows paths that start with the prefix as the pattern
 * spells it, in sorted order; the canonical targets of matches that are
 * links, or that are reached through a linked prefix, go to `targets`.
 * Errors do not repeat the pattern. */
int wfs_glob_expand(wfs *fs, const char *pattern, int max_depth, size_t max_matches,
                    csb_strv *matches, csb_strv *targets, csb_error *err);

/* The literal directory prefix of a Windows glob (normalised, as the
 * pattern spells it; `C:\` for `C:\*.env`), or NULL when the pattern is not
 * absolute or cannot be compiled (err says why). *raw_len is the length of
 * the prefix in the pattern text (`C:` for `C:\*.env`: 2). */
char *wfs_glob_prefix(const char *pattern, size_t *raw_len, csb_error *err);
/* The levels below the prefix to expand the glob to (csb_glob_scan_depth
 * of the folded pattern): glob_scan_max_depth `cap` (<= 0: unbounded) for
 * a glob with a `**` component, else as deep as a match can lie. Only for
 * a pattern wfs_glob_prefix accepts. */
int wfs_glob_scan_depth(const char *pattern, int cap);

#endif /* CSB_WINACL_WINFS_H */
