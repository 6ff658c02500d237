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
#include <stdint.h>

#include "csb_paths.h"
#include "csb_policy.h"

/* ---- paths in the document's style (pathstyle.c) ------------------------ */

/* The libs/paths style of a platform's documents. */
csb_path_style csb_policy_i_style(csb_platform pl);

/* The canonical order of entries and of deny globs (csb_policy_canonicalize):
 * <0, 0 or >0 as a sorts before, with or after b. */
int csb_policy_i_cmp_entry(const csb_policy_entry *a, const csb_policy_entry *b);
int csb_policy_i_cmp_glob(const csb_policy_glob *a, const csb_policy_glob *b);
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
 * exists" and views of them are purely lexical. The functions below take
 * a memo of lookups (csb_paths.h) for the host's answers, or NULL. */
/* A memo for one piece of work on `p` (views of it and of its legacy
 * projection), or NULL when `p` is not probed on this host's POSIX file
 * system (the memo would not be used). csb_path_memo_free it. */
csb_path_memo *csb_policy_i_memo_new(const csb_policy *p);
void csb_policy_i_stat(const csb_policy *p, csb_path_memo *memo, const char *path,
                       csb_probe_stat *st);
/* A regular file's contents (at most max bytes), or NULL. */
char *csb_policy_i_read_file(const csb_policy *p, csb_path_memo *memo, const char *path,
                             size_t max, size_t *len);
/* Effective path for backends: the deepest existing ancestor canonicalised
 * (on this host: preserving in-tree symlinks, as libs/paths defines it)
 * plus the missing rest; the lexical path when probing is impossible or
 * fails. */
char *csb_policy_i_path_effective(const csb_policy *p, csb_path_memo *memo, const char *path);
/* The symlinks followed when resolving `path` fully, on this host only
 * (csb_path_resolve_links, POSIX documents only); 0 and nothing when the
 * document is probed otherwise, is of another path style, or the path does
 * not resolve. */
int csb_policy_i_path_links(const csb_policy *p, csb_path_memo *memo, const char *path,
                            char **canonical, csb_path_link **links, size_t *n_links);
/* Where `path` leads through symlinks, dangling ones included, on this
 * host only (csb_path_leads_to_memo, POSIX documents only); NULL when the
 * document is probed otherwise, is of another path style, or the path
 * cannot be followed (caller frees). */
char *csb_policy_i_path_leads_to(const csb_policy *p, csb_path_memo *memo, const char *path);
/* Compiles a deny glob in the document's style (NULL when invalid). */
csb_glob *csb_policy_i_glob_compile(csb_platform pl, const char *pattern);
/* 1 when the compiled glob matches `path` (Windows: case-insensitive, `\`
 * and `/` equivalent). A NULL glob (invalid pattern) matches everything:
 * fail closed. */
int csb_policy_i_glob_matches(csb_platform pl, const csb_glob *g, const char *path);

/* Appends a workspace root without looking for an equal one (policy.c). */
void csb_policy_i_push_root(csb_policy *p, const char *path, const char *origin);

/* ---- an index of paths for prefix queries (pathindex.c) ----------------- */

/* Paths (borrowed) in a prefix tree of their segments (the components the
 * document's prefix test compares), so that the paths covering a path,
 * below it or equal to it are found with one lookup per component of the
 * query instead of a scan. Each path is known by its position in the
 * array it was built from (its id). Answers are exactly what a scan with
 * csb_policy_i_path_has_prefix or csb_policy_i_path_equal finds. */
typedef struct csb_policy_i_node csb_policy_i_node;

typedef struct csb_policy_i_index {
  csb_platform pl;
  int win;
  const char *const *paths; /* by id */
  size_t n;
  int *next_id;             /* by id: the next path ending at the same node */
  csb_policy_i_node *nodes; /* nodes[0] is the top */
  size_t n_nodes, cap_nodes;
  uint32_t *slots; /* children of every node: node + 1, 0 empty */
  size_t nslots;   /* a power of two */
  csb_buf segs;    /* the segments of the nodes, back to back */
} csb_policy_i_index;

/* The answer to a query: ids in increasing order. A zeroed value is
 * empty; reuse one for many queries, then free it. */
typedef struct csb_policy_i_hits {
  int *ids;
  size_t len, cap;
} csb_policy_i_hits;

/* Indexes paths[0..n) (borrowed: they must outlive the index). */
void csb_policy_i_index_init(csb_policy_i_index *ix, csb_platform pl, const char *const *paths,
                             size_t n);
void csb_policy_i_index_free(csb_policy_i_index *ix);
void csb_policy_i_hits_free(csb_policy_i_hits *h);
/* The ids of the paths P covering `path` (csb_policy_i_path_has_prefix(
 * path, P): P is `path` or one of its ancestors). */
void csb_policy_i_index_covering(const csb_policy_i_index *ix, const char *path,
                                 csb_policy_i_hits *h);
/* The ids of the paths P at or below `path` (has_prefix(P, path)). */
void csb_policy_i_index_under(const csb_policy_i_index *ix, const char *path,
                              csb_policy_i_hits *h);
/* The ids of the paths P equal to `path` (csb_policy_i_path_equal). */
void csb_policy_i_index_equal(const csb_policy_i_index *ix, const char *path,
                              csb_policy_i_hits *h);

/* ---- evaluation helpers (eval.c) --------------------------------------- */

/* What evaluating a path needs beyond the entries, computed once per policy
 * state so that views (which evaluate many paths) stay near-linear: the
 * entries' paths indexed, and for metadata protection every write entry's
 * ENTRY/NAME paths indexed too, so that evaluating a path looks only at
 * the entries on its way. Holds scratch space: one evaluation at a time. */
typedef struct csb_policy_i_eval {
  int full_write;
  /* names directly under writable roots compare with the protected names
   * in any case, on every platform (csb_policy_evaluator_fold_protected_names) */
  int fold_names;
  size_t n;           /* entries */
  const char **paths; /* per entry: its path (borrowed), indexed by `index` */
  size_t *depth;      /* per entry: csb_policy_i_path_depth of its path */
  csb_policy_i_index index;
  char **gitdir; /* per entry: the gitdir: target when it is a write entry */
  /* per entry, CSB_PROTECTED_NAMES_COUNT each: ENTRY/NAME for the protected
   * names when it is a write entry (NULL otherwise) */
  char **meta;
  /* the meta paths that are set, indexed; meta_of maps their ids to
   * positions in `meta` (increasing) */
  const char **meta_paths;
  int *meta_of;
  csb_policy_i_index meta_index;
  /* the gitdir: targets that are set, indexed; gitdir_of maps their ids
   * to entries (increasing) */
  const char **gitdir_paths;
  int *gitdir_of;
  csb_policy_i_index gitdir_index;
  /* where ENTRY/NAME and the gitdir: target of each write entry lead
   * through symlinks on this host, those that are another path (owned),
   * indexed, linked_of mapping their ids to entries (increasing) */
  const char **linked_paths;
  size_t n_linked;
  int *linked_of;
  csb_policy_i_index linked_index;
  csb_glob **globs; /* per deny glob: compiled, NULL when invalid (fail closed) */
  size_t n_globs;
  csb_policy_i_hits cover;     /* scratch: the entries covering the path evaluated */
  csb_policy_i_hits meta_hits; /* scratch: the meta paths covering it */
} csb_policy_i_eval;

/* Deepest-match resolution over entries only (no globs, no metadata):
 * returns the access and stores the deciding entry index (or -1). */
csb_access csb_policy_i_resolve(const csb_policy *p, csb_policy_i_eval *ev, const char *path,
                                int *entry);

/* `memo` (or NULL) answers the lookups of `.git` pointer files. Not needed
 * (and zeroed) for unrestricted policies. */
void csb_policy_i_eval_init(const csb_policy *p, csb_path_memo *memo, csb_policy_i_eval *ev);
void csb_policy_i_eval_free(csb_policy_i_eval *ev);
/* csb_policy_access_for with a precomputed csb_policy_i_eval. */
void csb_policy_i_access_for(const csb_policy *p, csb_policy_i_eval *ev, const char *path,
                             csb_verdict *out);
/* Reads `root/.git` (`gitfile`, as csb_policy_i_path_join makes it) when
 * it is a regular file of the form "gitdir: P" and returns P resolved
 * against root (normalised), or NULL. Only for documents that can be
 * probed on this host. */
char *csb_policy_i_gitdir_target(const csb_policy *p, csb_path_memo *memo, const char *root,
                                 const char *gitfile);
/* 1 when the entry is the filesystem root entry (a `:root` rule). */
int csb_policy_i_entry_is_root(const csb_policy *p, const csb_policy_entry *e);

/* ---- views and the legacy model with a memo (view.c, legacy.c) ---------- */

/* csb_policy_view_build and csb_policy_legacy_model with their host
 * lookups answered by `memo` (or NULL), so that one piece of work that
 * builds several views (csb_policy_round_trips) probes each path once. */
csb_policy_view *csb_policy_i_view_build(const csb_policy *p, csb_path_memo *memo);
csb_policy *csb_policy_i_legacy_model(const csb_policy *p, const csb_legacy_policy *l,
                                      csb_path_memo *memo);

#endif /* CSB_POLICY_INTERNAL_H */
