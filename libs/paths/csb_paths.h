/* csb_paths.h - POSIX and Windows path handling and the deny-glob language.
 *
 * Three layers:
 *
 *  1. Lexical helpers (no filesystem access): normalisation, joining, `~`
 *     expansion, component-wise prefix tests.
 *  2. Filesystem-aware helpers: canonicalisation that preserves the logical
 *     path through nested symlinks (the "effective" path of a policy root),
 *     plain canonicalisation, and symlink detection along a path.
 *  3. Deny-read globs: compile, match, convert to a POSIX ERE, and expand
 *     against the live filesystem with a bounded, pruning directory walk.
 *  4. Windows paths (lexical, any host; the file system on Windows).
 *  5. Either style, chosen by a parameter (csb_spath_*).
 *
 * Paths are byte strings: any byte except NUL may appear in a name, and
 * nothing here assumes UTF-8. Conventions (1/0 returns, csb_error, ownership)
 * are those of csb_base.h. Returned `char *` strings are heap-allocated and
 * owned by the caller (release with free()).
 */
#ifndef CSB_PATHS_H
#define CSB_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * 1. Lexical helpers
 * ====================================================================== */

/* 1 when `path` starts with '/'. */
int csb_path_is_absolute(const char *path);

/* Lexical normalisation. Repeated '/' collapse to one (a leading "//" too:
 * "//server/x" is "/server/x"), "." components vanish, ".." removes the
 * previous component, and a trailing '/' is dropped.
 *  - absolute: ".." at the root stays at the root ("/.." is "/").
 *  - relative: leading ".." components are kept ("a/../../b" is "../b");
 *    an empty result is ".".
 * No symlink is consulted. Never returns NULL. */
char *csb_path_normalize(const char *path);

/* Joins `rel` onto `base` and normalises. An absolute `rel` replaces
 * `base` (the result is `rel` normalised). Never returns NULL. */
char *csb_path_join(const char *base, const char *rel);

/* Home expansion of a configuration path:
 *   "~"      -> home
 *   "~/x"    -> home/x      ("~//x" is the same as "~/x")
 * Any other path (including "~user/x", which is not expanded) is copied
 * unchanged. Expanded results are normalised. Fails when the path needs
 * expanding and `home` is NULL, empty or not absolute. */
int csb_path_expand_home(const char *path, const char *home, char **out,
                         csb_error *err);

/* Component-wise prefix test: 1 when `path` is `prefix` or lies below it.
 * "/repo" covers "/repo" and "/repo/a" but not "/repo-a"; "/" covers every
 * absolute path. Empty and "." components are ignored on both sides, ".."
 * is compared literally (pass normalised paths). An absolute prefix never
 * covers a relative path and vice versa. */
int csb_path_is_under(const char *prefix, const char *path);
/* Like csb_path_is_under but excluding `path` equal to `prefix`. */
int csb_path_is_strictly_under(const char *prefix, const char *path);

/* Number of components ("/" is 0, "/a/b" is 2, "a/b" is 2). Empty and "."
 * components are not counted. */
size_t csb_path_depth(const char *path);

/* Lexical parent of the normalised path: "/a/b" -> "/a", "/a" -> "/",
 * "a" -> ".". Returns NULL when there is no parent ("/", "." or ""). */
char *csb_path_parent(const char *path);

/* Last component of the normalised path ("/a/b/" -> "b"); "" for "/". */
char *csb_path_basename(const char *path);

/* When csb_path_is_under(prefix, path): the rest of `path` after the
 * components of `prefix` (a pointer into `path`); else NULL. */
const char *csb_path_rest_under(const char *prefix, const char *path);

/* `path` relative to `root` when csb_path_is_under(root, path): "" when
 * they are equal, otherwise the remaining components joined by '/'.
 * Returns NULL when `path` is not under `root`. */
char *csb_path_relative_to(const char *root, const char *path);

/* 1 when `s` contains any of `* ? [ ]` (the policy's test for "this key is
 * a glob"; `{` and `}` alone do not make a glob). */
int csb_path_has_glob(const char *s);

/* ======================================================================
 * 2. Filesystem-aware helpers
 *
 * All of them work on the normalised form of an absolute path (a relative
 * path is an error), inspect components with fstatat(AT_SYMLINK_NOFOLLOW)
 * and readlinkat, and follow at most CSB_PATH_MAX_SYMLINKS symlinks while
 * resolving one path (more is reported as a loop, like ELOOP).
 * ====================================================================== */

#define CSB_PATH_MAX_SYMLINKS 40

/* The target of the symlink at `path`, exactly as readlink(2) returns it
 * (NUL-terminated, caller frees), or NULL with errno set: EINVAL when
 * `path` is not a symlink, ENAMETOOLONG for targets of 64 KiB or more, the
 * system call's errno otherwise. Windows builds always answer EINVAL. */
char *csb_path_read_link(const char *path);

/* Full canonicalisation of a path that must exist (realpath semantics):
 * every symlink resolved, "." and ".." resolved physically. Errors name the
 * path and the reason ("No such file or directory", "too many levels of
 * symbolic links", ...). */
int csb_path_canonicalize(const char *path, char **out, csb_error *err);

/* One symlink met while resolving a path. */
typedef struct csb_path_link {
  char *path;   /* where the link is: absolute, every component before it resolved */
  char *target; /* its content exactly as readlink(2) returned it */
} csb_path_link;

/* csb_path_canonicalize that also reports, in the order they were
 * followed, every symlink the resolution went through (the links of a
 * link's target included), so that the same lexical path can be made to
 * resolve identically elsewhere (e.g. inside a sandbox that recreates the
 * links). Fails exactly when csb_path_canonicalize fails; on failure
 * nothing is returned. Free the list with csb_path_links_free. */
int csb_path_resolve_links(const char *path, char **out, csb_path_link **links,
                           size_t *n_links, csb_error *err);
void csb_path_links_free(csb_path_link *links, size_t n);

/* Full canonicalisation of the deepest existing ancestor, with the missing
 * suffix re-appended: "/link/missing/x" -> "<target>/missing/x". An
 * ancestor that exists but cannot be canonicalised (dangling symlink,
 * loop, permission) is skipped in favour of its parent; "/" always
 * resolves, so for absolute paths this only fails on bad input. */
int csb_path_canonical_existing_prefix(const char *path, char **out,
                                       csb_error *err);

/* The effective form of a policy path (Codex's
 * canonicalize_preserving_symlinks applied to the deepest existing
 * ancestor, then the missing suffix re-appended):
 *  - the deepest ancestor A that exists (lstat) is canonicalised;
 *  - if any component of A deeper than the top level ("/x") is a symlink,
 *    the logical A is kept instead, so "/tmp/w/link" stays as written;
 *  - top-level aliases such as "/var -> /private/var" or "/lib -> usr/lib"
 *    are still resolved;
 *  - if canonicalising A fails (dangling link, loop, EACCES) A is kept.
 * Only fails when `path` is not absolute. */
int csb_path_effective(const char *path, char **out, csb_error *err);

/* Finds the first component of `path` (shallowest first) that is a
 * symlink, looking only at components strictly below `under` when `under`
 * is non-NULL (e.g. a writable root: "does this carve-out cross a symlink
 * the sandboxed process could rewrite?"); with `under` NULL every component
 * except "/" is considered. The lookup of each component follows the
 * symlinks before it, as the kernel would. The scan stops at the first
 * missing component. On success *link_out is the symlink's path (a prefix
 * of the normalised `path`, caller frees) or NULL when there is none.
 * Fails (fail-closed) when a component cannot be inspected for another
 * reason than not existing (EACCES, ELOOP, ...). */
int csb_path_find_symlink(const char *path, const char *under,
                          char **link_out, csb_error *err);

/* ---- a memo of lookups for one piece of work (pathmemo.c) -----------
 *
 * Work that resolves many related paths (the effective path of every
 * entry of a policy, for several views) asks lstat(2) about the same
 * ancestors again and again. A memo remembers, per path, what lstat and
 * readlink answered the first time (errors included) and answers from
 * that afterwards: every path is asked of the kernel at most once while
 * the memo lives. It is a snapshot for one piece of work, not a cache to
 * keep: create it, use it, free it (the file system may change later).
 * Not thread-safe. The functions below behave like their counterparts
 * without `_memo`, with `m` NULL meaning no memo. */
typedef struct csb_path_memo csb_path_memo;

csb_path_memo *csb_path_memo_new(void);
void csb_path_memo_free(csb_path_memo *m);

int csb_path_effective_memo(csb_path_memo *m, const char *path, char **out,
                            csb_error *err);
int csb_path_resolve_links_memo(csb_path_memo *m, const char *path, char **out,
                                csb_path_link **links, size_t *n_links,
                                csb_error *err);

/* Where the absolute `path` leads, through memo `m` (NULL: none): every
 * symlink on the way is followed, dangling ones included, as far as the
 * components exist; from the first missing one on, the rest is appended
 * as written and resolved lexically ("/r/.git", a link to the missing
 * "repo.git": "/r/repo.git"). 1 and *out (caller frees), or 0 with errno
 * set (EINVAL: not absolute; ELOOP, ENOTDIR, EACCES, ...) and *out NULL. */
int csb_path_leads_to_memo(csb_path_memo *m, const char *path, char **out);

/* csb_os_file_type(path, 0, type) (the link itself, not followed). */
int csb_path_file_type_memo(csb_path_memo *m, const char *path,
                            csb_file_type *type);

/* The system calls themselves, for work that asks them about the same
 * paths from several places: lstat(2) and stat(2) of `path` (1 and *st,
 * or 0 with errno set, the errno of the first answer), and
 * faccessat(AT_FDCWD, path, mode, AT_EACCESS) (1 when allowed, else 0
 * with errno set; one mode is remembered per path, another is asked
 * every time; Windows builds answer ENOSYS). A stat is answered by the
 * path's lstat (asked first) unless that shows a symlink: the two differ
 * only there. */
struct stat;
int csb_path_lstat_memo(csb_path_memo *m, const char *path, struct stat *st);
int csb_path_stat_memo(csb_path_memo *m, const char *path, struct stat *st);
int csb_path_eaccess_memo(csb_path_memo *m, const char *path, int mode);
/* csb_path_canonicalize and csb_path_find_symlink through the memo. */
int csb_path_canonicalize_memo(csb_path_memo *m, const char *path, char **out,
                               csb_error *err);
int csb_path_find_symlink_memo(csb_path_memo *m, const char *path,
                               const char *under, char **link_out,
                               csb_error *err);
/* Forgets every answer, for work that learns the file system changed
 * under it (an entry it looked at was removed meanwhile): the memo is
 * then as new. No-op for NULL. */
void csb_path_memo_clear(csb_path_memo *m);

// ======================================================================
// 3. Deny-read globs
//
// Dialect (Rust globset with literal_separator=true, byte-oriented):
//   *        any run of bytes except '/'
//   ?        one byte except '/'
//   [abc] [a-z] [!x] [^x]
//            one byte from the class; a class never matches '/' (a class
//            that could only match '/' is an error). ']' first in the class
//            is a member, '-' first or last is a member, backslash has no
//            special meaning inside a class. An unclosed '[' is a literal.
//   **       only as a whole component:
//              "**" alone        matches everything;
//              leading "**/"     zero or more leading directories;
//              trailing "/**"    everything below (not the directory itself);
//              inner "/**/"      one '/' or any run of directories, so
//                                "/r/**/*.env" matches "/r/.env" and
//                                "/r/a/b/.env".
//            Anywhere else "**" is two '*'.
//   {a,b}    alternation of sub-patterns (which may contain '/', '**' and
//            nested groups, up to CSB_GLOB_MAX_NESTING levels). Empty
//            alternatives are dropped ("x{,y}" matches only "xy"); a group
//            with no non-empty alternative matches the empty string. A ','
//            outside a group is a literal; a '}' without '{' is an error.
//   \c       the byte c literally (a trailing '\' is an error).
// Matching is against the whole path, byte for byte (no case folding, no
// special treatment of leading dots, no UTF-8 decoding).
// ======================================================================

#define CSB_GLOB_MAX_PATTERN 4096
#define CSB_GLOB_MAX_NESTING 16

typedef struct csb_glob csb_glob;

/* Compiles a pattern. Error messages describe the problem only (e.g.
 * "unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)");
 * callers add the pattern (``invalid deny-read glob pattern `P`: ...``). */
int csb_glob_compile(const char *pattern, csb_glob **out, csb_error *err);
void csb_glob_free(csb_glob *g);
/* 1 when csb_glob_compile would accept the pattern (0 with the same error
 * otherwise), without building the matcher: for checking configuration. */
int csb_glob_check(const char *pattern, csb_error *err);

/* The pattern as given to csb_glob_compile (borrowed). */
const char *csb_glob_pattern(const csb_glob *g);

/* 1 when the whole of `path` matches. A compiled glob is immutable, so
 * matching is safe from several threads at once. */
int csb_glob_match(const csb_glob *g, const char *path);
int csb_glob_match_n(const csb_glob *g, const char *path, size_t len);

/* 1 when some path `dir/w` (w not empty) could match: `dir` is where a
 * walk stands (the static prefix, or a directory above or below it), written as the
 * pattern would match it. Lets a walk that reaches a directory by another
 * route (a followed link) prune as the expansion walker does. */
int csb_glob_may_match_below(const csb_glob *g, const char *dir);

// The longest leading directory of the pattern that contains no
// metacharacter (escapes removed), borrowed:
//   "/repo/a/**/*.env" -> "/repo/a"     "/repo/a*" -> "/repo"
//   "/x*" -> "/"     "/**" -> "/"       "**/x" or "*.env" -> ""
//   "/repo/a.env" (no metacharacter at all) -> "/repo"
// Every path the glob matches lies strictly below this directory.
const char *csb_glob_static_prefix(const csb_glob *g);
/* The length of the pattern text that spells the static prefix: longer
 * than the prefix when a class of one member stands for one of its bytes
 * ("/r[e]po/x*" -> 7 for "/repo"); 0 when the prefix is "" or "/". */
size_t csb_glob_static_prefix_source_len(const csb_glob *g);

/* 1 when the pattern has no metacharacter at all (after escapes), i.e. it
 * matches exactly one path. */
int csb_glob_is_literal(const csb_glob *g);

/* The depth (csb_glob_expand_opts.max_depth) to expand `g` to under a
 * configured glob_scan_max_depth `cap` (<= 0: none): the cap, or
 * CSB_GLOB_DEPTH_UNLIMITED without one, for a glob with a `**` component,
 * which can match at any depth; for any other glob the most levels below
 * the static prefix a match can have, whatever the cap (capping it would
 * only leave matches the policy denies unexpanded). */
int csb_glob_scan_depth(const csb_glob *g, int cap);

/* The glob as an anchored POSIX extended regular expression ("^...$")
 * matching exactly the same byte strings as csb_glob_match (under
 * regcomp(REG_EXTENDED) in the C locale). Literal bytes that are regex
 * metacharacters are escaped; classes become bracket expressions built so
 * that no ']', '^', '-' or '[' is ambiguous; non-ASCII bytes are emitted
 * raw. Never returns NULL. */
char *csb_glob_to_regex(const csb_glob *g);

/* Appends to `b` the bracket expression that csb_glob_to_regex writes for
 * a class: it matches exactly the bytes 1..255 whose `member` entry is
 * nonzero ("[...]", or "[^...]" of the complement when that is shorter),
 * ordered so that no ']', '^', '-' or '[' is ambiguous. */
void csb_ere_class(csb_buf *b, const unsigned char member[256]);

// Anchored POSIX EREs (under the same rules as csb_glob_to_regex) whose
// union is the set of directories that are proper ancestors of some path
// the glob matches: every u such that u + "/" + w is matched for some w,
// with the empty u written as "/". For "/r/*/x.env": "^/$", "^/r$",
// "^/r/[^/]*$"; "**" forms contribute "any directory below". Backends use
// them to keep the directories above a denied path from being renamed.
// The array (n entries, in pattern order, deduplicated) is borrowed from
// the glob.
size_t csb_glob_ancestor_regexes(const csb_glob *g, const char *const **out);

/* `literal` (a path) written as a pattern that matches exactly that text,
 * for building a pattern from a path and a glob: each of `*?[]{},` (and,
 * unless `win`, `\`) escaped, with a backslash, or with `win` (Windows
 * patterns, where `\` separates) as a class of one member (`[[]`).
 * A heap string (caller frees). */
char *csb_glob_escape(const char *literal, int win);

/* The pattern text of `g` with its static prefix (csb_glob_static_prefix)
 * replaced by `prefix`, an absolute path whose metacharacters are escaped:
 * the new glob matches prefix + s exactly when g matches
 * static_prefix + s. Used to also deny a glob below the canonical form of
 * a symlinked prefix. Fails when the static prefix is "" or "/". *out is
 * a heap string (caller frees). */
int csb_glob_rebase(const csb_glob *g, const char *prefix, char **out, csb_error *err);

/* ---- bounded expansion (pre-expanding deny globs for bwrap) ---------- */

#define CSB_GLOB_DEFAULT_MAX_MATCHES 8192
/* Directories deeper than this many levels below the static prefix are
 * never opened; reaching the limit is an error, not a truncation. */
#define CSB_GLOB_MAX_WALK_DEPTH 256
#define CSB_GLOB_DEPTH_UNLIMITED (-1)
/* Upper bound on walker threads. */
#define CSB_GLOB_MAX_THREADS 8

enum {
  /* Also add the canonical target of every match whose path contains a
   * symlink (the match itself being a link, or the static prefix crossing
   * one), when that target exists. Targets do not count towards
   * max_matches. */
  CSB_GLOB_EXPAND_SYMLINK_TARGETS = 1u << 0,
  /* Match directory entry names with ASCII letters lower-cased (for
   * case-insensitive file systems: compile the pattern in lower case).
   * The static prefix is opened as written. Matches keep the names as
   * the directory lists them. */
  CSB_GLOB_EXPAND_FOLD_CASE = 1u << 1,
  /* With FOLD_CASE: fold names as NTFS compares them (csb_winname_fold),
   * non-ASCII letters included; compile the pattern folded the same way. */
  CSB_GLOB_EXPAND_FOLD_WINDOWS = 1u << 2,
};

typedef struct csb_glob_expand_opts {
  /* Levels below the static prefix that are examined: entries directly in
   * the prefix directory are at depth 1. CSB_GLOB_DEPTH_UNLIMITED (any
   * negative value) walks the whole subtree; 0 scans nothing (upstream's
   * glob_scan_max_depth = 0). */
  int max_depth;
  /* More matches than this is an error. 0 means
   * CSB_GLOB_DEFAULT_MAX_MATCHES. */
  size_t max_matches;
  unsigned flags; /* CSB_GLOB_EXPAND_* */
  /* Walker threads: 0 picks min(online CPUs, 4); 1 walks in the calling
   * thread only. Threads are joined before the call returns. */
  int threads;
  /* Optional cache of earlier expansions (POSIX only; ignored on
   * Windows): a directory that only the effective user can write (the
   * caller checks that; the files in it must be owned by that user and
   * writable by no one else, or they are ignored). When set, a directory
   * read by an earlier expansion of the same pattern, depth limit and
   * flags is not read again if a stat of it now shows the same device,
   * inode, mode, mtime and ctime as when it was read, and it had settled
   * then (mtime and ctime more than a second old) on a file system known
   * to keep directory times exactly (ext2/3/4, XFS, btrfs, tmpfs). Every
   * other directory is read (alone; a directory never seen before with
   * everything below it), and the cache file for the pattern is
   * rewritten, unless all of those directories were unsettled (then they
   * will be read again next time anyway). The result is the same as
   * without a cache. Cache files
   * that are missing, foreign or malformed are ignored; failing to write
   * one is not an error. */
  const char *cache_dir;
  /* Optional: filled in when the call returns (success or not). */
  struct csb_glob_expand_stats *stats;
  /* Optional: on success, the symlinks (on Windows: reparse points) below
   * the prefix that the walk reached and did not enter although the
   * pattern could match below them and the depth limit leaves a level
   * below them, appended sorted (whether or not the link itself matched).
   * A caller that follows links walks below them itself. When set,
   * cache_dir is ignored. */
  csb_strv *links;
} csb_glob_expand_opts;

typedef struct csb_glob_expand_stats {
  size_t dirs_read;   /* directories read (listed, or looked up by name) */
  size_t dirs_reused; /* directories taken from the cache without reading */
  int cache_loaded;   /* a valid cache file for this expansion was found */
  int cache_stored;   /* a new cache file was written */
} csb_glob_expand_stats;

/* Expands an absolute glob against the filesystem: walks the static prefix
 * directory (following symlinks in the prefix itself, as `open` would) and
 * collects every existing entry whose path matches: files, directories,
 * symlinks (the link itself; symlinked directories are never entered) and
 * other file types. The walk descends only into directories below which
 * the pattern can still match, reads directories with getdents64 and d_type
 * where available (an entry listed without a type is inspected with
 * fstatat, not following symlinks), and silently skips directories that
 * vanish during the walk and those it may not read (EACCES, EPERM) whose
 * contents this user cannot reach either. A missing prefix yields no
 * matches.
 *
 * On success the matches are appended to `out` sorted bytewise and
 * deduplicated (among themselves). On failure `out` is unchanged.
 * Errors: relative pattern, more than max_matches matches, a tree deeper
 * than CSB_GLOB_MAX_WALK_DEPTH, unexpected I/O errors, and (POSIX) a
 * directory the walk may not list although this user could reach what it
 * holds: one it may search (a name in it opens without being listed), or
 * one this user could make readable or searchable with chmod (it, or the
 * directory above it, is the user's own). Skipping it would leave a match
 * in it readable to a command run as this user. Like compile errors,
 * the messages do not repeat the pattern (e.g. "more than 8192 matching
 * paths under `/repo`"); callers add it.
 *
 * `opts` may be NULL (unlimited depth, default cap, automatic threads).
 *
 * Note: upstream Codex skips globs whose static prefix is "" or "/" as too
 * broad to expand; that policy belongs to the caller (see
 * csb_glob_static_prefix). */
int csb_glob_expand_ex(const csb_glob *g, const csb_glob_expand_opts *opts,
                       csb_strv *out, csb_error *err);
/* For a directory `dir` (absolute; symlinks in it followed) that could not
 * be opened for listing with errno `e`: 1 with *err set ("cannot list
 * `dir` (...), although a command run as this user could reach what it
 * holds (...)") when skipping it would leave what it holds readable to
 * this user, as csb_glob_expand_ex refuses such a directory; 0 when it
 * may be skipped (gone, or unreadable and unreachable). Always 0 on
 * Windows. */
int csb_glob_unlisted_check(const char *dir, int e, csb_error *err);
/* Shorthand for csb_glob_expand_ex without flags (threads chosen
 * automatically). */
int csb_glob_expand(const csb_glob *g, int max_depth, size_t max_matches,
                    csb_strv *out, csb_error *err);

/* ---- below symlinked directories (glob_links.c) ----------------------
 *
 * csb_glob_expand_ex never enters a link (opts->links lists the ones it
 * stopped at), while a deny glob matches paths lexically: `/w/lnk/a.env`
 * is matched by `/w/l?k/a.env` wherever `lnk` leads. csb_glob_walk_links
 * walks what lies below such links by lexical path (the link's path with
 * the names below its target appended) and reports every match. It does
 * no file-system access of its own: everything goes through the caller's
 * callbacks (a POSIX host, the Windows file system, a fixture tree), so
 * it builds for every target, Windows included.
 *
 * Lexical paths are '/'-separated, as the glob matches them; every other
 * path given to or returned by a callback is in the callbacks' host form.
 * Strings the callbacks return are heap strings that the walk frees;
 * everything passed to csb_glob_walk_links is borrowed for the call.
 * Callbacks that can fail say so by their result as documented below;
 * only on_match stops the walk (returning 0 with *err set). */

/* What a path is, not following it when it is a link. */
typedef enum csb_glob_node {
  CSB_GLOB_NODE_MISSING = 0,
  CSB_GLOB_NODE_DIR,
  CSB_GLOB_NODE_LINK, /* a symlink (on Windows: a reparse point) */
  CSB_GLOB_NODE_OTHER,
} csb_glob_node;

typedef struct csb_glob_links_ops {
  /* Appends the names in directory `dir` ("." and ".." left out) to
   * `names`, in any order, and returns 1. 0: it cannot be read or is
   * gone, and is skipped (as the expansion walker skips it); -1 with
   * *err set stops the walk (a directory that may not be read although
   * this user could reach what it holds: csb_glob_unlisted_check). */
  int (*list)(void *ctx, const char *dir, csb_strv *names, csb_error *err);
  /* What `path` is. */
  csb_glob_node (*kind)(void *ctx, const char *path);
  /* The canonical path of the directory the link `link` leads to, or
   * NULL when it leads nowhere, to something else than a directory, or
   * somewhere the walk must not go. */
  char *(*dir_target)(void *ctx, const char *link);
  /* `dir` joined with the entry name `name`. */
  char *(*join)(void *ctx, const char *dir, const char *name);
  /* Optional: the lexical path of the entry `name` in the directory
   * reached as `lex` (e.g. csb_path_join, which also normalises). NULL:
   * `lex` + "/" + `name`. */
  char *(*lex_join)(void *ctx, const char *lex, const char *name);
  /* 1 when `path` is `dir` or lies below it (both from dir_target). */
  int (*under)(void *ctx, const char *dir, const char *path);
  /* Optional: the form of the lexical path `lex` that the glob is tested
   * against (e.g. names folded as the expansion folds them). NULL: `lex`
   * itself. */
  char *(*test_form)(void *ctx, const char *lex);
  /* Optional: the path of the link at the lexical path `lex` (a link the
   * walk starts from). NULL: `lex` itself. */
  char *(*link_path)(void *ctx, const char *lex);
  /* A match: `lex` is its lexical path, `path` the path it was listed as
   * (its directory canonical), `kind` what `path` is. Returns 1 to go on,
   * or 0 with *err set to stop the walk (e.g. too many matches). */
  int (*on_match)(void *ctx, const char *lex, const char *path,
                  csb_glob_node kind, csb_error *err);
} csb_glob_links_ops;

/* Entries looked at below the links of one walk before giving up. */
#define CSB_GLOB_LINKS_MAX_VISITS ((size_t)1000000)

typedef struct csb_glob_links_walk {
  const csb_glob_links_ops *ops;
  void *ctx; /* passed to every callback */
  /* Tested against lexical paths (their test_form): matches, and whether
   * a directory may hold one (csb_glob_may_match_below). */
  const csb_glob *g;
  /* As csb_glob_expand_opts.max_depth, counted below `root`; negative:
   * unlimited. */
  int max_depth;
  /* More entries looked at than this is an error; 0 means
   * CSB_GLOB_LINKS_MAX_VISITS. */
  size_t max_visits;
  /* How error messages name the walk: "the tree under `LABEL` is deeper
   * than 256 levels", "more than 1000000 entries below links under
   * `LABEL`". NULL: the deep tree is named by its lexical path, and the
   * other message is "more than 1000000 entries below symlinked
   * directories". */
  const char *label;
} csb_glob_links_walk;

/* Walks below each link of `links` (lexical paths, sorted, as
 * csb_glob_expand_opts.links returns them) that lies strictly below
 * `root` (the lexical directory the expansion walked; its entries are at
 * depth 1; other links are skipped). A link is walked when its target is
 * a directory; every entry below it is reported to on_match when the glob
 * matches its lexical path, and entered when it is a directory or a link
 * to one, the depth limit leaves a level below it and the glob may match
 * below it. Without a depth limit, a link whose target is (or lies above)
 * a directory already entered through a link on the way down is not
 * walked again: everything below it is reached then, and loops end.
 * Entries of a directory are visited in bytewise order of their names.
 * Returns 1, or 0 with *err set: a tree deeper than
 * CSB_GLOB_MAX_WALK_DEPTH below `root`, more than max_visits entries, or
 * on_match's error. Matches reported before a failure stay reported. */
int csb_glob_walk_links(const csb_glob_links_walk *w, const char *root,
                        const csb_strv *links, csb_error *err);

/* ======================================================================
 * 4. Windows paths (lexical only; for policy documents of platform
 *    "windows", on any host). Normal form: `X:\a\b` (upper-case drive, no
 *    trailing separator except the root `X:\`) or `\\server\share\a`.
 *    Input may use `/` or `\`; `\\?\X:\a`, `\\.\X:\a` simplify to `X:\a`
 *    and `\\?\UNC\s\h\a` to `\\s\h\a`. Comparisons fold names as NTFS
 *    does (csb_winname_fold).
 * ====================================================================== */

/* Windows name folding (winfold.c): every BMP code point of UTF-8 text is
 * mapped through NTFS's upper-case table (one UTF-16 unit to one; `ß`
 * stays, code points above the BMP and non-UTF-8 bytes are copied), then
 * ASCII letters are put in lower case. Two names are the same name on
 * NTFS exactly when their folded forms are equal. */
/* The upper case NTFS gives a code point (itself when none or above the
 * BMP). */
uint32_t csb_winname_upcase(uint32_t cp);
/* Appends the folded form of s[0..n) to b. */
void csb_winname_fold_into(csb_buf *b, const char *s, size_t n);
/* The folded form of s[0..n). Caller frees. */
char *csb_winname_fold(const char *s, size_t n);
/* The length of the start of `s` whose folded form is folded_len bytes
 * long (all of `s` when shorter). */
size_t csb_winname_prefix_bytes(const char *s, size_t folded_len);
/* 1 when a[0..an) and b[0..bn) fold equal. */
int csb_winname_equal(const char *a, size_t an, const char *b, size_t bn);

/* 1 when `path` is a drive-absolute (`X:\...`) or UNC path (with its
 * verbatim/device forms). `X:a` (drive-relative) and `\a` are not, nor
 * is a UNC path whose server is `?` or `.` (`\\?\UNC\?\s`): written in
 * normal form it would read as a verbatim or device path. */
int csb_winpath_is_absolute(const char *path);
/* The normal form, or NULL when `path` is not absolute. "." vanishes, ".."
 * stops at the root. */
char *csb_winpath_normalize(const char *path);
/* Case-insensitive equality of normalised paths. */
int csb_winpath_equal(const char *a, const char *b);
/* Case-insensitive component-wise prefix test on normalised paths. */
int csb_winpath_is_under(const char *prefix, const char *path);
/* The bytes of `path` that `prefix` covers (`path` must be under it:
 * spellings that fold equal may differ in length). */
size_t csb_winpath_prefix_bytes(const char *prefix, const char *path);
/* Components below the root ("C:\" and "\\s\h" are 0). */
size_t csb_winpath_depth(const char *path);
/* The root of an absolute path ("C:\", "\\s\h"), or NULL. */
char *csb_winpath_root(const char *path);
/* `rel` joined onto `base` and normalised (an absolute `rel` replaces
 * base); NULL when the result is not absolute. */
char *csb_winpath_join(const char *base, const char *rel);
/* `path` below `root` ("" when equal), or NULL when not under it. When
 * the rest would read as an absolute path (a first component `D:`, which
 * only a foreign file system stores), it starts with `.\`, so that
 * csb_winpath_join(root, rest) gives `path` back instead of `D:\...`. */
char *csb_winpath_relative_to(const char *root, const char *path);
/* 1 when the normalised path is a root (`C:\`, `\\s\h`). */
int csb_winpath_is_root(const char *path);
/* Lexical parent of a normalised path (`C:\a\b` -> `C:\a`, `C:\a` -> `C:\`),
 * or NULL for a root or a path that is not absolute. */
char *csb_winpath_parent(const char *path);
/* Last component of a normalised path ("" for a root or a bad path). */
char *csb_winpath_basename(const char *path);
/* Comparison key: the normal form folded (csb_winname_fold) and
 * separators written as `/`, without a trailing one (`C:\Repo\A` ->
 * `c:/repo/a`, `C:\` -> `c:`, `\\Srv\Sh` -> `//srv/sh`). Two paths are
 * lexically the same file exactly when their keys are equal. NULL when
 * `path` is not absolute. */
char *csb_winpath_key(const char *path);

/* Why Win32 would not store a file name as written, or NULL when it would:
 * a character it forbids (`<>:"|?*`, controls; `:` also names alternate
 * data streams), a final dot or space (dropped: `x.` opens `x`), a DOS
 * device name (`NUL`, `con.txt`, `COM1`, ...). "." and ".." pass. A static
 * string. */
const char *csb_winpath_name_problem(const char *name, size_t n);
/* The problem (see above) of the first component below the root of a
 * Windows path, or NULL when every component is stored as written. */
const char *csb_winpath_names_problem(const char *path);

/* A file system lookup for csb_winpath_effective_with. `path` is a
 * normalised absolute Windows path. When it exists and can be
 * canonicalised, the function sets *out to its canonical form (normalised,
 * absolute, heap-allocated; ownership passes to the caller) and returns 1;
 * otherwise it returns 0 and leaves *out NULL. `ctx` is the caller's,
 * passed through unchanged. */
typedef int (*csb_winpath_canonical_fn)(void *ctx, const char *path, char **out);

/* The effective path of `path` on the file system `canonical` describes:
 * the deepest ancestor of the normalised path (itself included) for which
 * `canonical` returns 1, in the form it returns, with the missing rest
 * re-appended as written. `canonical` is asked about the path first, then
 * about each parent in turn up to the root, and not again after its first
 * 1; when it never returns 1 the result is the normalised path. Fails
 * (*out NULL, err set) only when `path` is not absolute, without calling
 * `canonical`. No file system access of its own: it runs on any host. */
int csb_winpath_effective_with(const char *path, csb_winpath_canonical_fn canonical, void *ctx,
                               char **out, csb_error *err);

/* The Windows file system of this host (Windows builds; elsewhere these
 * fail with "no Windows file system on this host"). */

/* The final path of an existing object (every junction and symlink
 * resolved, names spelled as on disk), normalised. Errors name the path and
 * the reason ("No such file or directory", ...). */
int csb_winpath_canonicalize(const char *path, char **out, csb_error *err);
/* The deepest existing ancestor of `path` (itself included) canonicalised,
 * with the missing rest re-appended as written; an ancestor that exists but
 * cannot be canonicalised is skipped in favour of its parent
 * (csb_winpath_effective_with over csb_winpath_canonicalize). Fails only
 * for a path that is not absolute (or off Windows). */
int csb_winpath_effective(const char *path, char **out, csb_error *err);

/* ======================================================================
 * 5. Paths in a given style (csb_spath_*): csb_path_* for POSIX,
 *    csb_winpath_* for Windows, for code that serves both (a tool built
 *    for either host picks csb_path_style_host()).
 * ====================================================================== */

typedef enum { CSB_PATH_POSIX = 0, CSB_PATH_WINDOWS = 1 } csb_path_style;

/* CSB_PATH_WINDOWS in Windows builds, else CSB_PATH_POSIX. */
csb_path_style csb_path_style_host(void);
/* A separator: '/' (and '\' for Windows). */
int csb_spath_is_sep(csb_path_style st, char c);
int csb_spath_is_absolute(csb_path_style st, const char *path);
/* The normal form of an absolute path; NULL when `path` is not absolute. */
char *csb_spath_normalize(csb_path_style st, const char *path);
/* `rel` joined onto the absolute `base` and normalised (an absolute `rel`
 * replaces `base`); NULL when the result is not absolute. */
char *csb_spath_join(csb_path_style st, const char *base, const char *rel);
/* Lexical parent; NULL for a root or a path that is not absolute. */
char *csb_spath_parent(csb_path_style st, const char *path);
/* Last component ("" for a root). */
char *csb_spath_basename(csb_path_style st, const char *path);
/* The root of an absolute path ("/", "C:\", "\\srv\share"), or NULL. */
char *csb_spath_root(csb_path_style st, const char *path);
/* 1 when the normalised path is a root. */
int csb_spath_is_root(csb_path_style st, const char *path);
/* Equality and component-wise prefix test of normalised paths (Windows:
 * names folded, csb_winname_fold). */
int csb_spath_equal(csb_path_style st, const char *a, const char *b);
/* A hash of the path p[0..n) that agrees with csb_spath_equal: paths it
 * calls equal hash equal (Windows: the csb_winname_fold form is hashed). */
uint64_t csb_spath_hash(csb_path_style st, const char *p, size_t n);
int csb_spath_is_under(csb_path_style st, const char *prefix, const char *path);
/* When csb_spath_is_under(st, prefix, path): the part of `path` after the
 * components `prefix` covers (a pointer into `path`, separators not
 * skipped); else NULL. Never past the end of `path`, whatever spelling
 * `prefix` has ("/w/." covers "/w" with nothing left). */
const char *csb_spath_rest_under(csb_path_style st, const char *prefix, const char *path);
/* Components below the root. */
size_t csb_spath_depth(csb_path_style st, const char *path);
/* csb_path_canonicalize or csb_winpath_canonicalize. */
int csb_spath_canonicalize(csb_path_style st, const char *path, char **out, csb_error *err);

/* A set of distinct paths: keeps `out` (borrowed) free of duplicates under
 * csb_spath_equal (bytewise when `bytewise`), in first-added order, with a
 * hash table beside it, so that an add costs O(1) instead of a scan of the
 * list. Strings pushed to `out` directly are taken into account at the
 * next add or lookup. */
typedef struct csb_spath_set {
  csb_path_style st;
  int bytewise;
  csb_strv *out;
  size_t *slots; /* index into out->items, SIZE_MAX when free */
  size_t cap, n_hashed;
} csb_spath_set;

void csb_spath_set_init(csb_spath_set *s, csb_path_style st, int bytewise, csb_strv *out);
/* Pushes a copy of `path` unless an equal one is there; 1 when pushed. */
int csb_spath_set_add(csb_spath_set *s, const char *path);
/* Like _add, taking ownership of `path` (freed when not pushed). */
int csb_spath_set_add_owned(csb_spath_set *s, char *path);
/* The index in `out` of a path equal to `path`, or -1. */
long csb_spath_set_find(csb_spath_set *s, const char *path);
void csb_spath_set_free(csb_spath_set *s);

#ifdef __cplusplus
}
#endif

#endif /* CSB_PATHS_H */
