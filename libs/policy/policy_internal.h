/* policy_internal.h - declarations shared by the libs/policy sources. Not a
 * public header: nothing outside libs/policy includes it. Shared internal
 * functions carry the csb_policy_i_ prefix.
 *
 * Path handling goes through the csb_policy_i_path_* functions, which pick
 * the path style of the document's platform: POSIX (linux, macos) or
 * Windows (drive letters and UNC shares, case-insensitive). The actual
 * syntax work is done by libs/paths (csb_path_* and csb_winpath_*).
 */
#ifndef CSB_POLICY_INTERNAL_H
#define CSB_POLICY_INTERNAL_H

#include <stddef.h>

#include "csb_paths.h"
#include "csb_policy.h"

/* ---- paths in the document's style (pathstyle.c) ------------------------ */

/* Lexically normalised absolute form of `path`, or NULL when it is not
 * absolute in this style. Caller frees. */
char *csb_policy_i_path_normalize(csb_platform pl, const char *path);
/* 1 when `path` is absolute and already normalised. */
int csb_policy_i_path_is_canonical(csb_platform pl, const char *path);
/* Component-wise prefix test on normalised absolute paths ("/a" is a
 * prefix of "/a" and "/a/b", not of "/ab"). */
int csb_policy_i_path_has_prefix(csb_platform pl, const char *path,
                                 const char *prefix);
/* Strict descendant (prefix and not equal). */
int csb_policy_i_path_is_below(csb_platform pl, const char *path,
                               const char *prefix);
int csb_policy_i_path_equal(csb_platform pl, const char *a, const char *b);
/* Number of components below the root ("/" and "C:\" are 0). */
size_t csb_policy_i_path_depth(csb_platform pl, const char *path);
/* 1 when the path is a filesystem root ("/", "C:\", "\\srv\share"). */
int csb_policy_i_path_is_root(csb_platform pl, const char *path);
/* dir + separator + name, normalised. `name` is relative. Caller frees. */
char *csb_policy_i_path_join(csb_platform pl, const char *dir, const char *name);
/* The part of `path` below `prefix` without a leading separator ("" when
 * equal); NULL when prefix is not a component prefix. Points into path. */
const char *csb_policy_i_path_suffix(csb_platform pl, const char *path,
                                     const char *prefix);
/* File-system facts through the policy's probe, or through this host when
 * the document has the host's path style (POSIX documents on a POSIX
 * host); documents that can be probed neither way read as "nothing
 * exists" and views of them are purely lexical. */
void csb_policy_i_stat(const csb_policy *p, const char *path, csb_probe_stat *st);
/* A regular file's contents (at most max bytes), or NULL. */
char *csb_policy_i_read_file(const csb_policy *p, const char *path, size_t max, size_t *len);
/* Effective path for backends: the deepest existing ancestor canonicalised
 * (on this host: preserving in-tree symlinks, as libs/paths defines it)
 * plus the missing rest; the lexical path when probing is impossible or
 * fails. */
char *csb_policy_i_path_effective(const csb_policy *p, const char *path);
/* The symlinks followed when resolving `path` fully, on this host only
 * (csb_path_resolve_links, POSIX documents only); 0 and nothing when the
 * document is probed otherwise, is of another path style, or the path does
 * not resolve. */
int csb_policy_i_path_links(const csb_policy *p, const char *path, char **canonical,
                            csb_path_link **links, size_t *n_links);
/* Compiles a deny glob in the document's style (NULL when invalid). */
csb_glob *csb_policy_i_glob_compile(csb_platform pl, const char *pattern);
/* 1 when the compiled glob matches `path` (Windows: case-insensitive, `\`
 * and `/` equivalent). A NULL glob (invalid pattern) matches everything:
 * fail closed. */
int csb_policy_i_glob_matches(csb_platform pl, const csb_glob *g, const char *path);

/* ---- evaluation helpers (eval.c) --------------------------------------- */

/* Deepest-match resolution over entries only (no globs, no metadata):
 * returns the access and stores the deciding entry index (or -1). */
csb_access csb_policy_i_resolve(const csb_policy *p, const char *path, int *entry);
/* What evaluating a path needs beyond the entries, computed once per policy
 * state so that views (which evaluate many paths) stay near-linear. */
typedef struct csb_policy_i_eval {
  int full_write;
  char **gitdir; /* per entry: the gitdir: target when it is a write entry */
  size_t n;
  csb_glob **globs; /* per deny glob: compiled, NULL when invalid (fail closed) */
  size_t n_globs;
} csb_policy_i_eval;

void csb_policy_i_eval_init(const csb_policy *p, csb_policy_i_eval *ev);
void csb_policy_i_eval_free(csb_policy_i_eval *ev);
/* csb_policy_access_for with a precomputed csb_policy_i_eval. */
void csb_policy_i_access_for(const csb_policy *p, const csb_policy_i_eval *ev, const char *path,
                             csb_verdict *out);
/* Protected-metadata write check for an absolute normalised path. Returns
 * 1 when a write to `path` is refused and fills the two buffers (each of
 * size CSB_POLICY_PATH_MAX) with the protected path and its writable root. */
int csb_policy_i_metadata_denial(const csb_policy *p, const csb_policy_i_eval *ev,
                                 const char *path, char *protected_path, char *writable_root);
/* Reads `root/.git` when it is a regular file of the form "gitdir: P" and
 * returns P resolved against root (normalised), or NULL. Only for
 * documents that can be probed on this host. */
char *csb_policy_i_gitdir_target(const csb_policy *p, const char *root);
/* 1 when the entry is the filesystem root entry (a `:root` rule). */
int csb_policy_i_entry_is_root(const csb_policy *p, const csb_policy_entry *e);

#endif /* CSB_POLICY_INTERNAL_H */
