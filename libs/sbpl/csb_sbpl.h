/* csb_sbpl.h - Seatbelt (SBPL) profiles for csb.policy/v1 documents.
 *
 * Generation is a pure function of
 *
 *   - the policy document and its derived views (libs/policy's
 *     csb_policy_view_build: readable, writable and unreadable roots,
 *     read-only carve-outs, protected metadata names, deny globs),
 *   - options (proxy variables of the environment, extra Unix sockets),
 *   - a few host facts, asked through a csb_sbpl_host: top-level path
 *     aliases (/tmp -> /private/tmp), what kind of file a path is, its
 *     realpath, and symlinks inside writable roots.
 *
 * so it runs (and is tested) on any OS: csb_sbpl_host_system() probes this
 * host, optionally assuming the macOS top-level aliases; csb_sbpl_host_none()
 * is a host where nothing exists. The profile layout, parameter names and
 * the rationale of every fixed rule are documented in docs/csb-seatbelt.md.
 *
 * Conventions (1/0 returns, csb_error, _new/_free, csb_x* allocators) are
 * those of csb_base.h.
 */
#ifndef CSB_SBPL_H
#define CSB_SBPL_H

#include <stddef.h>

#include "csb_base.h"
#include "csb_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The only sandbox-exec csb runs (never searched on PATH). */
#define CSB_SBPL_SANDBOX_EXEC "/usr/bin/sandbox-exec"

/* ---- host facts --------------------------------------------------------- */

typedef enum {
  CSB_SBPL_MISSING = 0, /* lstat fails */
  CSB_SBPL_DIR,         /* a directory */
  CSB_SBPL_OTHER        /* a file, device, socket or symlink */
} csb_sbpl_kind;

/* Every callback takes an absolute, lexically normalised path. Strings
 * returned are heap-allocated (caller frees). */
typedef struct csb_sbpl_host {
  const void *ctx;
  /* When the first component of `path` is a symlink (macOS: /tmp, /var,
   * /etc), `path` with that component replaced by its canonical target;
   * else NULL. */
  char *(*alias)(const void *ctx, const char *path);
  /* lstat(2) kind of the (alias-resolved) path. */
  csb_sbpl_kind (*kind)(const void *ctx, const char *path);
  /* realpath(3) of an existing path, NULL when it cannot be resolved. */
  char *(*realpath)(const void *ctx, const char *path);
  /* The first component of the (alias-resolved) path below its top-level
   * directory that is a symlink: 1 with *link set (or NULL when there is
   * none); 0 with err when a component cannot be inspected. */
  int (*nested_symlink)(const void *ctx, const char *path, char **link, csb_error *err);
  /* The content of the symlink at the (alias-resolved) path, byte for
   * byte; NULL when it is not a symlink or cannot be read. */
  char *(*readlink)(const void *ctx, const char *path);
  /* The canonical paths the deny glob `pattern` reaches through symlinks
   * within `max_depth` levels below its static prefix (<= 0: no limit),
   * appended to `out`: the targets of the existing symlinks that match, and
   * the existing matches below symlinked directories (as their canonical
   * paths); nothing for a pattern whose static prefix is `/`. 0 with err
   * when the expansion fails (too many matches or entries). */
  int (*glob_link_targets)(const void *ctx, const char *pattern, int max_depth, csb_strv *out,
                           csb_error *err);
} csb_sbpl_host;

/* This host's filesystem. With assume_macos_paths, the top-level aliases
 * are exactly macOS's (/tmp, /var, /etc -> /private/...) and are applied
 * before any probe, so a Linux host previews what a Mac would see (paths
 * below /private do not exist there and count as missing). */
const csb_sbpl_host *csb_sbpl_host_system(int assume_macos_paths);
/* A host without aliases where nothing exists (pure; for tests). */
const csb_sbpl_host *csb_sbpl_host_none(void);

/* The path with its top-level alias resolved (a copy when there is none). */
char *csb_sbpl_dealias(const csb_sbpl_host *h, const char *path);
/* Canonical form, the path the kernel reaches (and reports) when `path`
 * is opened or created: alias resolved, then the realpath of the deepest
 * existing ancestor with the missing rest re-appended, where a dangling
 * symlink at the start of the missing rest is followed as well (creating
 * `/r/.codex/x` through `.codex -> data` creates `/r/data/x`), for at
 * most CSB_PATH_MAX_SYMLINKS links. */
char *csb_sbpl_canonical(const csb_sbpl_host *h, const char *path);

/* A copy of the document with every path (cwd, workspace roots, entries,
 * Unix sockets, and deny globs whose static prefix starts with an alias)
 * rewritten through the host's top-level aliases, re-canonicalised. The
 * kernel reports /tmp/x as /private/tmp/x, so this is the form Seatbelt
 * rules and libs/policy's views must see. */
csb_policy *csb_sbpl_policy_dealias(const csb_policy *p, const csb_sbpl_host *h);

/* ---- generation ---------------------------------------------------------- */

typedef struct csb_sbpl_opts {
  /* Environment the proxy variables are read from (network mode proxy);
   * NULL-terminated "KEY=VALUE" strings, may be NULL. */
  char *const *envp;
  /* Extra allowed Unix socket paths (--allow-unix-socket); absolute, as
   * given: a ".." is resolved the way the kernel resolves it (after the
   * symlinks before it), not lexically. */
  const char *const *unix_sockets;
  size_t n_unix_sockets;
} csb_sbpl_opts;

typedef struct csb_sbpl_profile {
  char *text;         /* the SBPL profile, '\n'-terminated lines */
  csb_strv params;    /* "KEY=VALUE", in -D order */
  csb_strv warnings;  /* things the caller should print */
} csb_sbpl_profile;

/* Builds the profile for a macOS document. `v` is csb_policy_view_build()
 * of `p` (after csb_sbpl_policy_dealias). Errors name the rule, the
 * backend and the fix, e.g. "writable root `/Users/me/w` contains the
 * symlink `/Users/me/w` ...". Fails for documents of another platform and
 * for enforcement "disabled" (nothing to enforce). */
int csb_sbpl_generate(const csb_policy *p, const csb_policy_view *v, const csb_sbpl_host *h,
                      const csb_sbpl_opts *o, csb_sbpl_profile **out, csb_error *err);
void csb_sbpl_profile_free(csb_sbpl_profile *prof);

/* Appends CSB_SBPL_SANDBOX_EXEC, "-p", the profile, one "-DKEY=VALUE" per
 * parameter, "--" and the command (cmd may be NULL or empty). */
void csb_sbpl_argv(const csb_sbpl_profile *prof, char *const *cmd, csb_strv *out);

/* ---- pieces (exposed for tests and other backends) ----------------------- */

/* `s` as a POSIX ERE matching exactly s (metacharacters escaped). */
char *csb_sbpl_ere_escape(const char *s);

/* The SBPL string literal for a regex: #"R" (raw), or "R" with \\ and \"
 * escapes when R contains a double quote. Fails for control characters and
 * invalid UTF-8, which a profile cannot carry. */
int csb_sbpl_regex_literal(const char *re, char **out, csb_error *err);

/* Proxy variables of the environment (csb_proxyenv_vars: HTTP_PROXY,
 * HTTPS_PROXY, ALL_PROXY, ... or their lower-case forms): the sorted,
 * distinct loopback ports they point at (csb_proxyenv_parse_loopback).
 * *any_set tells whether any of them is set (non-blank); one that is set
 * but unusable (not a URL, not loopback, bad port) opens nothing and adds a
 * warning. */
typedef struct csb_sbpl_ports {
  int ports[64];
  size_t n;
  int any_set;
} csb_sbpl_ports;
void csb_sbpl_proxy_ports(char *const *envp, csb_sbpl_ports *out, csb_strv *warnings);

/* ---- sandbox denials from `log stream --style ndjson` ------------------- */

/* The `log` invocation that streams Seatbelt denials (argv, NULL-ended). */
extern const char *const csb_sbpl_log_stream_argv[];

/* 1 when `line` is the banner `log stream` prints once it is filtering. */
int csb_sbpl_log_is_ready(const char *line);

typedef struct csb_sbpl_denial {
  char *name;       /* process name */
  long pid;
  char *capability; /* e.g. "file-read-data /etc/passwd" */
} csb_sbpl_denial;

/* Parses one NDJSON line; 1 and *out filled (caller frees with
 * csb_sbpl_denial_clear) when its eventMessage is a Seatbelt denial
 * ("Sandbox: NAME(PID) deny(N) CAPABILITY"), else 0. */
int csb_sbpl_parse_denial(const char *line, size_t len, csb_sbpl_denial *out);
void csb_sbpl_denial_clear(csb_sbpl_denial *d);

/* Collected denials (bounded: at most CSB_SBPL_MAX_DENIALS distinct
 * records are kept). */
#define CSB_SBPL_MAX_DENIALS 4096
typedef struct csb_sbpl_denials {
  csb_sbpl_denial *items;
  size_t n, cap;
  int dropped;
} csb_sbpl_denials;
void csb_sbpl_denials_init(csb_sbpl_denials *d);
void csb_sbpl_denials_free(csb_sbpl_denials *d);
/* Takes ownership of the record's strings. */
void csb_sbpl_denials_add(csb_sbpl_denials *d, csb_sbpl_denial *rec);
/* The report for the processes in `pids`: "\n=== Sandbox denials ===\n"
 * then "(NAME) CAPABILITY" lines, deduplicated in arrival order, or
 * "None found."; controls and bytes that are not UTF-8 in NAME and
 * CAPABILITY are shown as the text \xHH. Caller frees. */
char *csb_sbpl_denials_report(const csb_sbpl_denials *d, const long *pids, size_t npids);

#ifdef __cplusplus
}
#endif

#endif /* CSB_SBPL_H */
