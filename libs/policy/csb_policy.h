/* csb_policy.h - the csb.policy/v1 model: construction, JSON I/O,
 * evaluation, derived views, legacy projection and summaries.
 *
 * The document format is specified in docs/policy.md (and
 * docs/policy.schema.json); this header is its C face. Conventions
 * (1/0 returns, csb_error, _new/_free, csb_x* allocators) are those of
 * csb_base.h.
 *
 * A csb_policy is a plain struct: consumers read its fields directly and
 * must treat them as read-only; producers (csb-resolve) build it with the
 * csb_policy_add_* functions and call csb_policy_canonicalize() before
 * emitting. All strings and arrays inside are owned by the policy.
 *
 * Paths inside a policy are absolute and lexically normalised. For
 * platform "windows" paths are in Windows syntax (C:\x, \\server\share\x)
 * and compare case-insensitively; every function below honours that.
 */
#ifndef CSB_POLICY_H
#define CSB_POLICY_H

#include <stddef.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cJSON cJSON;

#define CSB_POLICY_SCHEMA "csb.policy/v1"

typedef enum { CSB_ACCESS_READ = 0, CSB_ACCESS_WRITE = 1, CSB_ACCESS_DENY = 2 } csb_access;
typedef enum { CSB_FS_RESTRICTED = 0, CSB_FS_UNRESTRICTED, CSB_FS_EXTERNAL } csb_fs_kind;
typedef enum { CSB_NET_RESTRICTED = 0, CSB_NET_ENABLED, CSB_NET_PROXY } csb_net_mode;
typedef enum {
  CSB_ENFORCE_MANAGED = 0,
  CSB_ENFORCE_DISABLED,
  CSB_ENFORCE_EXTERNAL
} csb_enforcement;
typedef enum { CSB_PLATFORM_LINUX = 0, CSB_PLATFORM_MACOS, CSB_PLATFORM_WINDOWS } csb_platform;
typedef enum { CSB_LINUX_BWRAP = 0, CSB_LINUX_LANDLOCK } csb_linux_backend;

/* Protected metadata names, in this order. */
#define CSB_PROTECTED_NAMES_COUNT 4
extern const char *const csb_protected_names[CSB_PROTECTED_NAMES_COUNT];
/* = { ".git", ".agents", ".codex", ".csb" } (a constant table, not state) */

/* 1 when the `len` bytes at `s` spell `name` (a protected name) the way a
 * case-insensitive macOS file system may: ASCII letters in either case,
 * and U+017F LATIN SMALL LETTER LONG S (which case-folds to `s`) for `s`.
 * The exact spelling matches too. */
int csb_policy_name_folds_to(const char *s, size_t len, const char *name);

/* The paths a `.git` pointer file's text[0..len) names (a NUL inside it
 * is allowed). *exact: the path git itself takes (setup.c,
 * read_gitfile): the text starts with "gitdir: ", its trailing CRs and
 * LFs are dropped, the path is the rest up to a NUL. *lenient: the text
 * up to a NUL, trimmed of blanks (spaces, tabs, CRs, LFs), is "gitdir",
 * ':', blanks and a non-empty path on one line, what Codex reads for
 * trust and protection (it trims the text, then the part after the ':'). Each is NULL when that reading finds no path;
 * neither is ever empty or holds a NUL. Caller frees both. */
void csb_policy_gitdir_pointer(const char *text, size_t len, char **exact, char **lenient);

/* Read roots a Linux backend adds for `include_platform_defaults`
 * (`:minimal`), as written; views list the ones that exist. */
#define CSB_LINUX_PLATFORM_READ_ROOTS_COUNT 8
extern const char *const csb_linux_platform_read_roots[CSB_LINUX_PLATFORM_READ_ROOTS_COUNT];
/* = { "/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/nix/store",
 *     "/run/current-system/sw" } */

typedef struct csb_policy_entry {
  char *path;          /* absolute, normalised */
  csb_access access;
  char *origin;        /* the config rule it came from, see docs/policy.md */
  int skip_if_missing; /* backends neither create nor mask it when absent */
  int internal;        /* csb-internal root; hidden from summaries */
} csb_policy_entry;

typedef struct csb_policy_glob {
  char *pattern; /* absolute glob (libs/paths dialect); always deny */
  char *origin;
} csb_policy_glob;

typedef struct csb_policy_root {
  char *path;
  char *origin; /* "cwd", "add-dir", "profile", "legacy" */
} csb_policy_root;

typedef struct csb_unix_socket_rule {
  char *path;
  int allow; /* 1 allow, 0 deny */
} csb_unix_socket_rule;

typedef enum {
  CSB_LEGACY_NONE = 0, /* no projection (see legacy_error) */
  CSB_LEGACY_READ_ONLY,
  CSB_LEGACY_WORKSPACE_WRITE,
  CSB_LEGACY_DANGER_FULL_ACCESS,
  CSB_LEGACY_EXTERNAL_SANDBOX
} csb_legacy_type;

typedef struct csb_legacy_policy {
  csb_legacy_type type;
  int network_access;          /* read-only / workspace-write / external */
  csb_strv writable_roots;     /* workspace-write */
  int exclude_tmpdir_env_var;  /* workspace-write */
  int exclude_slash_tmp;       /* workspace-write */
} csb_legacy_policy;

/* ---- probing the file system --------------------------------------------
 *
 * Views (csb_policy_view_build) and protected metadata (`.git` pointer
 * files) depend on what exists on disk. By default a document is probed on
 * this host's file system when its path style is the host's (linux and
 * macos documents on a POSIX host, windows documents on Windows through
 * the Win32 API) and not at all otherwise. A probe
 * replaces that: e.g. csb-winacl maps a windows document onto a fixture
 * tree or onto the Win32 API. Callbacks get absolute, normalised paths in
 * the document's style. */
typedef struct csb_probe_stat {
  int exists;  /* the path names something (a final link is not followed) */
  int is_file; /* a regular file (not following a final link) */
  int is_dir;  /* a directory, or a link to one */
} csb_probe_stat;

typedef struct csb_policy_probe {
  void *ctx;
  /* Facts about `path` (all zero when it does not exist). */
  void (*stat)(void *ctx, const char *path, csb_probe_stat *st);
  /* The first bytes of a regular file: all of it when it holds at most
   * `max` bytes, else its first `max` (NUL-terminated, length in *len;
   * caller frees), or NULL (missing, not a regular file, unreadable).
   * Ask for one byte more than needed to learn whether there is more. */
  char *(*read_file)(void *ctx, const char *path, size_t max, size_t *len);
  /* The effective form of `path` (deepest existing ancestor canonicalised,
   * missing rest appended; caller frees), or NULL to keep the path. */
  char *(*effective)(void *ctx, const char *path);
} csb_policy_probe;

typedef struct csb_policy {
  csb_platform platform;
  char *cwd;
  csb_enforcement enforcement;

  /* profile identity */
  char *profile_id;
  char *profile_kind;     /* "builtin", "named", "legacy", "implicit" */
  csb_strv extends;       /* direct parent first */
  char *description;      /* may be NULL */

  csb_policy_root *workspace_roots;
  size_t n_workspace_roots;

  /* filesystem */
  csb_fs_kind fs_kind;
  int include_platform_defaults;
  int glob_scan_max_depth; /* 0 = unset */
  csb_policy_entry *entries;
  size_t n_entries;
  csb_policy_glob *globs;
  size_t n_globs;

  /* network */
  csb_net_mode net_mode;
  int allow_local_binding;
  int allow_all_unix_sockets;
  csb_unix_socket_rule *unix_sockets; /* sorted by path */
  size_t n_unix_sockets;
  cJSON *proxy; /* owned; NULL when absent; validated object (docs/policy.md) */

  /* legacy projection and round-trip verdict (computed by
   * csb_policy_compute_legacy, stored in the document) */
  csb_legacy_policy legacy;
  char *legacy_error;      /* NULL when a projection exists */
  int round_trips;
  csb_linux_backend linux_backend;

  char *summary;           /* csb_policy_summary() at resolve time */
  csb_strv warnings;

  /* How views probe the file system (borrowed, not part of the document;
   * NULL: the default described above). Set with csb_policy_set_probe. */
  const csb_policy_probe *probe;
} csb_policy;

/* ---- construction ------------------------------------------------------- */

/* A managed, restricted policy with no entries, network restricted, the
 * given platform (csb_platform_host() for the host's), cwd copied, profile
 * `:read-only`/`builtin` until the producer sets it. */
csb_policy *csb_policy_new(csb_platform platform, const char *cwd);
void csb_policy_free(csb_policy *p);
csb_policy *csb_policy_clone(const csb_policy *p);

/* Appends an entry (strings copied). Returns the new entry. */
csb_policy_entry *csb_policy_add_entry(csb_policy *p, const char *path, csb_access access,
                                       const char *origin, int skip_if_missing, int internal);
void csb_policy_add_glob(csb_policy *p, const char *pattern, const char *origin);
/* Appends a workspace root unless one equal to it is there already (a
 * scan of the roots: use _add_workspace_roots for many). */
void csb_policy_add_workspace_root(csb_policy *p, const char *path, const char *origin);
/* csb_policy_add_workspace_root for each of paths[0..n) in turn, all with
 * `origin`, in time linear in the roots. */
void csb_policy_add_workspace_roots(csb_policy *p, const char *const *paths, size_t n,
                                    const char *origin);
/* Sets the rule of a unix socket path (path copied), replacing the one
 * set before for the same path; p->unix_sockets stays sorted by path. A
 * binary search, then an insertion that moves the rules sorting after the
 * path (none when it sorts last): use _set_unix_sockets for many. */
void csb_policy_set_unix_socket(csb_policy *p, const char *path, int allow);
/* csb_policy_set_unix_socket for each of rules[0..n) in turn (a later rule
 * for the same path wins), in O((m + n) log(m + n)) for m rules set
 * before. Paths copied. */
void csb_policy_set_unix_sockets(csb_policy *p, const csb_unix_socket_rule *rules, size_t n);
/* Makes views, evaluation and the legacy round trip of `p` probe the file
 * system through `probe` (borrowed: it must outlive every use of `p` and
 * of its clones); NULL restores the default. */
void csb_policy_set_probe(csb_policy *p, const csb_policy_probe *probe);
/* Sorts entries, globs, unix sockets (see docs/policy.md), removes exact
 * duplicates. Call before emitting. */
void csb_policy_canonicalize(csb_policy *p);

const char *csb_access_name(csb_access a);           /* "read" ... */
int csb_access_parse(const char *s, csb_access *out); /* accepts "none" for deny */
const char *csb_platform_name(csb_platform p);
csb_platform csb_platform_host(void);

/* Checks a deny glob of a document of platform `pl`: absolute ("deny glob
 * `P` must be absolute"), and valid in the libs/paths dialect
 * ("invalid deny-read glob pattern `P`: REASON"); Windows patterns are
 * checked as they are matched (case folded, `\` a separator, not an
 * escape). */
int csb_policy_glob_check(csb_platform pl, const char *pattern, csb_error *err);

/* ---- JSON --------------------------------------------------------------- */

/* Strict reader: the whole document is validated (schema version, types,
 * unknown fields, absolute normalised paths, enum values). Errors start
 * with the JSON pointer of the offending value (the libs/json style), e.g.
 * "`/filesystem/entries/3/access`: expected one of read, write or deny, got
 * `all`". Unknown major version: "unsupported policy schema `csb.policy/v2`
 * (this csb reads csb.policy/v1)". */
int csb_policy_from_json(const char *text, size_t len, csb_policy **out, csb_error *err);
/* Reads a file, or stdin for "-" (bounded to 16 MiB), then parses. */
int csb_policy_load(const char *path, csb_policy **out, csb_error *err);

/* ---- the --policy option of the tools ------------------------------------
 *
 * Every tool that reads a policy takes it the same way (docs/policy.md,
 * "Passing the policy to a tool"):
 *
 *   --policy FILE   FILE;
 *   --policy -      standard input;
 *   no --policy     standard input when it is open and not a terminal (a
 *                   pipe or a file: `csb-resolve | csb-seatbelt ...`);
 *                   otherwise a usage error naming --policy.
 *
 * Standard input is consumed only in the last two cases, so a command a
 * launcher chain-loads keeps it whenever --policy FILE is given. */
typedef enum {
  CSB_POLICY_FROM_FILE = 0,
  CSB_POLICY_FROM_STDIN,          /* --policy - */
  CSB_POLICY_FROM_STDIN_IMPLICIT, /* no --policy, standard input not a terminal */
  CSB_POLICY_FROM_NOWHERE         /* no --policy, standard input a terminal or closed */
} csb_policy_from;

/* The rule above: `arg` is the --policy value (NULL when absent). */
csb_policy_from csb_policy_arg_from(const char *arg, int stdin_open, int stdin_tty);

typedef struct csb_policy_arg {
  const char *name; /* what was read, for messages: FILE or "<stdin>" */
  int implicit;     /* standard input was read because --policy was absent */
  int missing;      /* on failure: no policy was given (a usage error, exit 64),
                       as opposed to an unreadable or invalid one (exit 65) */
} csb_policy_arg;

/* Loads the policy the rule above selects. On failure err says why: an
 * unreadable or invalid document is named as csb_policy_load names it;
 * with info->missing (also when standard input read without --policy is
 * empty) the message is "--policy FILE is required: REASON". */
int csb_policy_load_arg(const char *arg, csb_policy **out, csb_policy_arg *info,
                        csb_error *err);
/* Canonical text (sorted keys, 2-space indent, final newline). Entries and
 * deny globs are emitted in the canonical order whatever order the policy
 * holds them in (csb_policy_canonicalize() also removes repeated ones). */
char *csb_policy_to_json(const csb_policy *p);

/* ---- evaluation --------------------------------------------------------- */

typedef enum {
  CSB_REASON_UNRESTRICTED = 0, /* enforcement/kind grants everything */
  CSB_REASON_ENTRY,            /* the entry at `entry` decided */
  CSB_REASON_DEFAULT_DENY,     /* no entry covers the path */
  CSB_REASON_DENY_GLOB,        /* the glob at `glob` matched */
  CSB_REASON_PROTECTED         /* write refused: protected metadata */
} csb_reason;

#define CSB_POLICY_PATH_MAX 4096

typedef struct csb_verdict {
  csb_access access;   /* resolved access after all rules */
  int can_read;
  int can_write;
  csb_reason reason;
  int entry;           /* deciding entry index, -1 if none */
  int glob;            /* matching deny glob index, -1 if none */
  /* CSB_REASON_PROTECTED: the protected path (root/NAME or a gitdir:
   * target) and the writable root it belongs to. */
  char protected_root[CSB_POLICY_PATH_MAX];
  char writable_root[CSB_POLICY_PATH_MAX];
} csb_verdict;

/* Lexical verdict for a path (normalised first; a relative path is joined
 * onto the document's cwd). Deny globs are
 * matched against the path itself. Protected metadata follows
 * docs/policy.md (probes the filesystem only to read `.git` pointer files
 * directly under writable roots). */
void csb_policy_access_for(const csb_policy *p, const char *path, csb_verdict *out);

/* csb_policy_access_for for many paths of one policy. Creating an
 * evaluator does the per-policy work once (the entries indexed by path,
 * the deny globs compiled, the protected-metadata paths and the targets of
 * `.git` pointer files directly under writable roots collected), so that
 * each path then costs only the entries and globs on its way;
 * csb_policy_access_for pays all of that on every call.
 *
 *   csb_policy_evaluator *ev = csb_policy_evaluator_new(p);
 *   for (...) csb_policy_evaluator_access_for(ev, path, &v);
 *   csb_policy_evaluator_free(ev);
 *
 * Lifetime: `p` is borrowed. It (and its probe) must outlive the
 * evaluator and must not be modified while the evaluator exists (entries
 * added, canonicalized, freed): free the evaluator first and create a new
 * one for the changed policy.
 *
 * The file system: `.git` pointer files are read (through the policy's
 * probe) when the evaluator is created, not on each call. Its answers are
 * those csb_policy_access_for gives at that moment; a caller that changes
 * the tree in between (writes a `.git` file under a writable root) and
 * needs the new answer creates a new evaluator.
 *
 * Threads: an evaluator holds scratch space, so one evaluator serves one
 * call at a time (hence the non-const pointer); use one per thread.
 * Several evaluators of one policy may be used concurrently (the policy is
 * only read), as far as its probe allows. Never returns NULL (csb_x*). */
typedef struct csb_policy_evaluator csb_policy_evaluator;
csb_policy_evaluator *csb_policy_evaluator_new(const csb_policy *p);
/* A memo of file system lookups (csb_paths.h). */
typedef struct csb_path_memo csb_path_memo;
/* csb_policy_evaluator_new with the lookups of the `.git` pointer files
 * (and of where protected names lead) answered by `memo` (borrowed; only
 * used while creating; NULL: a memo of its own), for a caller that has
 * looked at the same paths in the same piece of work. */
csb_policy_evaluator *csb_policy_evaluator_new_memo(const csb_policy *p, csb_path_memo *memo);
void csb_policy_evaluator_free(csb_policy_evaluator *ev);
/* From now on the evaluator applies rule 4's clause for macOS
 * (docs/policy.md) whatever the policy's platform: a name directly under a
 * writable root that spells a protected name in another case (`.GIT`,
 * `.Codex`) is read-only too. For a writer that cannot tell whether the
 * directory ignores case (ext4, f2fs or tmpfs case-folding directories,
 * vfat, exfat, SMB shares), where that spelling is the protected entry. */
void csb_policy_evaluator_fold_protected_names(csb_policy_evaluator *ev);
/* The verdict csb_policy_access_for(p, path, out) gives, for the `p` the
 * evaluator was created for. */
void csb_policy_evaluator_access_for(csb_policy_evaluator *ev, const char *path,
                                     csb_verdict *out);
/* One line naming the deciding rule, e.g.
 * "deny: /repo/a (entry from /repo/a)", "read-only: protected metadata
 * /repo/.git under writable root /repo". Caller frees. */
char *csb_verdict_describe(const csb_policy *p, const csb_verdict *v);

/* Reference predicates: full read = unrestricted, or a filesystem-root
 * entry granting read and no deny entries or deny globs at all; full write
 * = unrestricted, or a root `write` entry of origin `:root` (a write entry
 * at the root from another rule is a writable root) and no entry that
 * narrows it (a
 * deny anywhere, a deny glob, or a `read` entry whose path has no `write`
 * entry of its own). */
int csb_policy_full_disk_read(const csb_policy *p);
int csb_policy_full_disk_write(const csb_policy *p);

/* ---- derived views (what backends enforce) ------------------------------ */

typedef struct csb_writable_root {
  char *root;
  csb_strv read_only_subpaths; /* sorted, includes .git/gitdir targets etc. */
  csb_strv protected_names;    /* subset of csb_protected_names */
} csb_writable_root;

/* A symlink on the way from a readable root as written to its effective
 * path (e.g. "/bin" -> "usr/bin" for the root "/bin", effective
 * "/usr/bin"). */
typedef struct csb_view_link {
  char *path;   /* the link: absolute, every component before it resolved */
  char *target; /* its content exactly as readlink(2) returned it */
  char *root;   /* the effective readable root the written path leads to */
} csb_view_link;

typedef struct csb_policy_view {
  int full_read;
  int full_write;
  int include_platform_defaults;
  int glob_scan_max_depth;     /* 0 = unset */
  csb_strv readable_roots;     /* empty when full_read */
  /* Linux documents with include_platform_defaults: the
   * csb_linux_platform_read_roots that exist, as effective paths, sorted;
   * empty otherwise. Not part of readable_roots. */
  csb_strv platform_read_roots;
  /* For every readable root (entries and platform read roots) whose
   * effective path differs from the path as written because the written
   * path goes through symlinks: those symlinks, in the order they are
   * followed, so that a backend building a file tree from the effective
   * roots can recreate them and keep the written path working. Probed on
   * this host only (empty for documents probed otherwise), sorted by path
   * then root, without duplicates. Only the links leading to a root: they
   * never make anything else readable. */
  csb_view_link *readable_links;
  size_t n_readable_links;
  csb_writable_root *writable; /* empty when full_write; sorted by root */
  size_t n_writable;
  csb_strv unreadable_roots;   /* deny entries (not "/"), sorted */
  csb_strv unreadable_globs;   /* deny globs, sorted */
} csb_policy_view;

/* Computes the views following reference semantics: writable roots with
 * their default read-only subpaths (existing .git dir or file and its
 * gitdir: target, existing .agents dir, .codex (existing, or root == cwd),
 * .csb likewise; minus those with an entry at exactly that path) plus every
 * non-writable entry under them, protected names, readable and unreadable
 * roots, all as effective paths (in-tree symlinks kept). Probes the
 * filesystem, except for documents of a foreign platform (purely lexical).
 * Never fails today; err is for future checks. */
int csb_policy_view_build(const csb_policy *p, csb_policy_view **out, csb_error *err);
/* csb_policy_view_build with the host's lookups answered by `memo`
 * (borrowed, used only during the call; NULL: a memo of its own), for a
 * caller that looks at the same paths in the same piece of work. */
int csb_policy_view_build_memo(const csb_policy *p, csb_path_memo *memo, csb_policy_view **out,
                               csb_error *err);
void csb_policy_view_free(csb_policy_view *v);
/* The writable-root test backends apply: `path` is under w->root, not under
 * any read-only subpath, and its first component below the root is not a
 * protected name. */
int csb_writable_root_allows(const csb_policy *p, const csb_writable_root *w,
                             const char *path);

/* ---- legacy projection, round trip, summary ----------------------------- */

/* Projects to the legacy sandbox-mode model. On failure returns 0 and sets
 * err to the upstream message ("permissions profile requests filesystem
 * writes outside the workspace root, ..."). */
int csb_policy_to_legacy(const csb_policy *p, csb_legacy_policy *out, csb_error *err);
void csb_legacy_policy_free(csb_legacy_policy *l);
/* The filesystem policy the legacy model `l` enforces for p's platform and
 * cwd (reference legacy_runtime_fs): root read, the cwd and `l`'s writable
 * roots (plus /tmp and the :tmpdir entries unless excluded) with the
 * legacy carve-outs; probed like `p`. Caller frees. */
csb_policy *csb_policy_legacy_model(const csb_policy *p, const csb_legacy_policy *l);
/* 1 when the policy survives projection and back without semantic change
 * (the legacy Landlock backend may then enforce it). */
int csb_policy_round_trips(const csb_policy *p);
/* Fills p->legacy, p->legacy_error, p->round_trips, p->linux_backend
 * (landlock only if want_landlock && round trip && net_mode != proxy). */
void csb_policy_compute_legacy(csb_policy *p, int want_landlock);

/* The one-line summary, e.g. "workspace-write [workdir, /tmp, $TMPDIR]
 * (network access enabled)". Caller frees. */
char *csb_policy_summary(const csb_policy *p);
/* Human-readable table of effective rules for --explain. Caller frees. */
char *csb_policy_explain(const csb_policy *p);

#ifdef __cplusplus
}
#endif

#endif /* CSB_POLICY_H */
