/* plan.c - the planner (see plan.h and docs/csb-winacl.md).
 *
 * Order of work, following the reference (windows.md B1-B5):
 *   1. gate: platform, managed restricted filesystem, no full-disk write,
 *      paths and globs that name files as Windows stores them;
 *   2. the policy's views (libs/policy, probed through winfs);
 *   3. backend verdicts: `:root` read, deny-read (unelevated), re-opened
 *      writable descendants, split writable roots (unelevated), network;
 *   4. write roots -> capability SIDs -> deny-write carve-outs;
 *   5. deny-read targets (exact + globs, lexical + canonical) and the
 *      persistent state keyed by the group SID (elevated);
 *   6. read roots (elevated);
 *   7. ACEs in application order, sandbox directory locks, firewall, WFP,
 *      setup marker, desktop, token, environment, identity, principals.
 */
#include "plan.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "csb_cli.h"
#include "csb_json.h"
#include "csb_netpolicy.h"
#include "csb_paths.h"

/* ---- upstream's fail-closed texts (windows.md B4) -------------------------- */

#define MSG_CANNOT_ENFORCE                                                               \
  "windows sandbox backend cannot enforce file_system=%s, network=%s, "                \
  "permission_profile=%s; refusing to run unsandboxed"
#define MSG_UNELEV_SPLIT_READ                                                            \
  "windows unelevated restricted-token sandbox cannot enforce split filesystem read " \
  "restrictions directly; refusing to run unsandboxed"
#define MSG_UNELEV_DENY_READ                                                        \
  "windows unelevated restricted-token sandbox cannot enforce deny-read restrictions " \
  "directly; refusing to run unsandboxed"
#define MSG_UNELEV_SPLIT_WRITE                                                      \
  "windows unelevated restricted-token sandbox cannot enforce split writable root " \
  "sets directly; refusing to run unsandboxed"
#define MSG_UNELEV_REOPEN                                                         \
  "windows unelevated restricted-token sandbox cannot reopen writable descendants " \
  "under read-only carveouts directly; refusing to run unsandboxed"
#define MSG_ELEV_REOPEN                                                                 \
  "windows elevated sandbox cannot reopen writable descendants under read-only " \
  "carveouts directly; refusing to run unsandboxed"
#define MSG_ELEV_ROOT_READ "elevated Windows sandbox requires effective `:root` read access"
#define MSG_NO_CAPS "workspace-write sandbox has no writable root capability SIDs"
#define MSG_ROOT_GLOB                                                                   \
  "unreadable glob `%s` cannot be safely expanded from a filesystem root without "     \
  "`glob_scan_max_depth`; configure `glob_scan_max_depth` or use a non-root directory " \
  "prefix"
#define MSG_CAP_RECORD \
  "cap sid file %s is not a valid capability SID record; refusing to regenerate capability SIDs"
#define MSG_CAP_NEITHER                                                               \
  "cap sid file %s is neither a JSON record nor a capability SID; refusing to " \
  "regenerate capability SIDs"

#define MAX_STATE_BYTES ((size_t)64 * 1024 * 1024)
#define MAX_SMALL_FILE ((size_t)1024 * 1024)

static const char *const kPlatformDefaultReadRoots[] = {
    "C:\\Windows", "C:\\Program Files", "C:\\Program Files (x86)", "C:\\ProgramData"};

/* Children of %USERPROFILE% never granted to the sandbox (case-insensitive). */
static const char *const kProfileExclusions[] = {".ssh", ".tsh",   ".brev", ".gnupg",
                                                 ".aws", ".azure", ".kube", ".docker",
                                                 ".config", ".npm", ".pki", ".terraform.d"};

static const char *const kWfpFilters[] = {
    "ALE_AUTH_CONNECT_V4 protocol=ICMP",      "ALE_RESOURCE_ASSIGNMENT_V4 protocol=ICMP",
    "ALE_AUTH_CONNECT_V6 protocol=ICMPV6",    "ALE_RESOURCE_ASSIGNMENT_V6 protocol=ICMPV6",
    "ALE_AUTH_CONNECT_V4 remote_port=53",     "ALE_AUTH_CONNECT_V6 remote_port=53",
    "ALE_AUTH_CONNECT_V4 remote_port=853",    "ALE_AUTH_CONNECT_V6 remote_port=853",
    "ALE_AUTH_CONNECT_V4 remote_port=445",    "ALE_AUTH_CONNECT_V6 remote_port=445",
    "ALE_AUTH_CONNECT_V4 remote_port=139",    "ALE_AUTH_CONNECT_V6 remote_port=139"};

#define WFP_PROVIDER "15983033-07e5-4709-86d5-ff3e9e37b25a"
#define WFP_SUBLAYER "fafda736-c886-4141-b933-03eaf151e332"

#define FW_OUTBOUND "csb_sandbox_offline_block_outbound"
#define FW_LOOPBACK_UDP "csb_sandbox_offline_block_loopback_udp"
#define FW_LOOPBACK_TCP "csb_sandbox_offline_block_loopback_tcp"
#define FW_LEGACY_ALLOW "csb_sandbox_offline_allow_loopback_proxy"
#define FW_NON_LOOPBACK                                                          \
  "0.0.0.0-126.255.255.255,128.0.0.0-255.255.255.255,::,::2-ffff:ffff:ffff:ffff:" \
  "ffff:ffff:ffff:ffff"
#define FW_LOOPBACK "127.0.0.0/8,::1"

/* ---- keyed path sets -------------------------------------------------------- */

typedef struct kpath {
  char *key;
  char *path;
  size_t seq;
  int flag;
} kpath;

/* Paths deduplicated by csb_winpath_key (the first spelling added wins),
 * kept in key order. Sorting happens once, in ps_finish. */
typedef struct pathset {
  kpath *v;
  size_t n, cap;
  size_t seq;
} pathset;

static void ps_add(pathset *s, const char *path, int flag) {
  char *key = csb_winpath_key(path);
  if (key == NULL) return;
  s->v = csb_xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
  kpath *k = &s->v[s->n++];
  k->key = key;
  k->path = csb_winpath_normalize(path);
  k->seq = s->seq++;
  k->flag = flag;
}

static int kp_cmp(const void *a, const void *b) {
  const kpath *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static void ps_finish(pathset *s) {
  if (s->n > 1) qsort(s->v, s->n, sizeof(*s->v), kp_cmp);
  size_t w = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (w > 0 && strcmp(s->v[w - 1].key, s->v[i].key) == 0) {
      s->v[w - 1].flag |= s->v[i].flag;
      free(s->v[i].key);
      free(s->v[i].path);
      continue;
    }
    s->v[w++] = s->v[i];
  }
  s->n = w;
}

/* strcmp(a, the string key[0..n)). */
static int key_cmp_n(const char *a, const char *key, size_t n) {
  int c = strncmp(a, key, n);
  return c != 0 ? c : a[n] != '\0';
}

/* The length of the key of the parent of key[0..n) ("c:/a/b" -> 4 for
 * "c:/a", "c:/a" -> 2 for "c:", "//s/h/a" -> 5 for "//s/h"), or 0 when
 * none is left. The keys of a path and of its ancestors are exactly the
 * starts of its key that end before a `/` or at its end. */
static size_t key_parent_len(const char *key, size_t n) {
  while (n > 1)
    if (key[--n] == '/') return n;
  return 0;
}

/* Whether s (after ps_finish) holds key[0..n). */
static int ps_has_key_n(const pathset *s, const char *key, size_t n) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = key_cmp_n(s->v[mid].key, key, n);
    if (c == 0) return 1;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

static int ps_has_key(const pathset *s, const char *key) {
  return ps_has_key_n(s, key, strlen(key));
}

/* Whether s (after ps_finish) holds `key` or an ancestor's key. */
static int ps_has_key_or_above(const pathset *s, const char *key) {
  for (size_t n = strlen(key); n > 0; n = key_parent_len(key, n))
    if (ps_has_key_n(s, key, n)) return 1;
  return 0;
}

static void ps_free(pathset *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].key);
    free(s->v[i].path);
  }
  free(s->v);
  memset(s, 0, sizeof(*s));
}

/* Folded keys of paths, each with a number (an entry's index), sorted by
 * key and then number: which paths equal a given one, in number order, in
 * logarithmic time (a policy may hold many thousand entries). */
typedef struct kindex {
  kpath *v; /* key and seq (the number) only */
  size_t n, cap;
} kindex;

static void ki_add(kindex *x, const char *path, size_t num) {
  char *key = csb_winpath_key(path);
  if (key == NULL) return;
  x->v = csb_xgrow(x->v, &x->cap, x->n + 1, sizeof(*x->v));
  x->v[x->n++] = (kpath){key, NULL, num, 0};
}

static void ki_finish(kindex *x) {
  if (x->n > 1) qsort(x->v, x->n, sizeof(*x->v), kp_cmp);
}

/* In an array of `n` structures of `size` bytes sorted by the string
 * (strcmp) at byte `key_at` of each, the first position whose string is
 * not below `key`. */
static size_t lower_bound_key(const void *base, size_t n, size_t size, size_t key_at, const char *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *k = *(const char *const *)((const char *)base + mid * size + key_at);
    if (strcmp(k, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The first position whose key is not below `key`. */
static size_t ki_lower(const kindex *x, const char *key) {
  return lower_bound_key(x->v, x->n, sizeof *x->v, offsetof(kpath, key), key);
}

static int ki_has(const kindex *x, const char *path) {
  char *key = csb_winpath_key(path);
  size_t at = key != NULL ? ki_lower(x, key) : x->n;
  int found = at < x->n && strcmp(x->v[at].key, key) == 0;
  free(key);
  return found;
}

static void ki_free(kindex *x) {
  for (size_t i = 0; i < x->n; i++) free(x->v[i].key);
  free(x->v);
  memset(x, 0, sizeof(*x));
}

/* ---- planner state ----------------------------------------------------------- */

/* The planned write roots are kept in key order (strcmp). */
typedef struct wroot {
  char *path; /* canonical */
  char *key;
  char *trustee; /* "cap:<key>" */
  const char *slot;
  char *sid; /* from the record, or NULL */
} wroot;

typedef struct planner {
  const csb_policy *src;
  csb_policy *p; /* clone with the probe attached */
  wfs *fs;
  const wa_opts *o;
  csb_error *err;
  csb_policy_probe probe;
  csb_policy_view *v;
  char **entry_eff; /* effective path per entry */
  kindex deny_eff;    /* deny entries by effective path */
  kindex explicit_ro; /* non-write entries not skip_if_missing, as written and effective */
  kindex write_at;    /* write entries, as written and effective */
  char *cwd_canon;
  char *cwd_key;
  char *home;       /* csb home, normalised */
  char *home_canon; /* effective: the deepest existing ancestor resolved */
  const char *backend;
  int elevated;
  /* results */
  wroot *roots;
  size_t n_roots;
  int write_mode;
  int tmpdir_writable;  /* a writable :tmpdir root: TEMP/TMP are write roots */
  pathset deny_write;   /* flag: materialise */
  pathset ancestors;    /* directories above carve-outs that must stay in place */
  pathset deny_read;    /* flag: materialise */
  pathset read_roots;
  csb_strv mkdir;       /* "for\tpath", in application order */
  csb_strv mkdir_keys;  /* their keys, hashed in mkdir_set */
  csb_spath_set mkdir_set;
  csb_strv notes;
  cJSON *glob_summaries;
  /* capability SID record */
  cJSON *cap_record;    /* parsed record (object) or NULL */
  const char *cap_status;
  int caps_to_create;
  /* proxy */
  int ports[WA_MAX_PROXY_PORTS + 2];
  size_t n_ports;
} planner;

static int fail(planner *P, int code, const char *fmt, ...) CSB_PRINTF(3, 4);
static int fail(planner *P, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(P->err, fmt, ap);
  va_end(ap);
  return code;
}

/* Appends " (rule: ...; backend: ...; fix: ...)" to the message in err. */
static int verdict(planner *P, const char *msg, const char *rule, const char *fix) {
  csb_error_set(P->err, "%s (rule: %s; backend: %s; fix: %s)", msg, rule, P->backend, fix);
  return CSB_EXIT_UNAVAILABLE;
}

/* verdict() with a message and a rule built for it, freed here. */
static int verdict_owned(planner *P, char *msg, char *rule, const char *fix) {
  int rc = verdict(P, msg, rule, fix);
  free(msg);
  free(rule);
  return rc;
}

static const char *sid_of(const planner *P, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < P->o->sids.len; i++) {
    const char *s = P->o->sids.items[i];
    if (strncmp(s, name, n) == 0 && s[n] == '=') return s + n + 1;
  }
  return NULL;
}

/* ---- probe over winfs ------------------------------------------------------- */

static void probe_stat(void *ctx, const char *path, csb_probe_stat *st) {
  wfs *fs = ctx;
  wfs_kind k = wfs_lkind(fs, path);
  if (k == WFS_MISSING) return;
  st->exists = 1;
  st->is_file = k == WFS_FILE;
  st->is_dir = k == WFS_DIR || (k == WFS_LINK && wfs_kind_follow(fs, path) == WFS_DIR);
}

static char *probe_read(void *ctx, const char *path, size_t max, size_t *len) {
  wfs *fs = ctx;
  if (wfs_lkind(fs, path) != WFS_FILE) return NULL;
  char *text = NULL;
  if (!wfs_read_head(fs, path, max, &text, len)) return NULL;
  return text;
}

static char *probe_effective(void *ctx, const char *path) { return wfs_effective(ctx, path); }

/* ---- small helpers ------------------------------------------------------------ */

static char *key_of(const char *path) {
  char *k = csb_winpath_key(path);
  return k != NULL ? k : csb_xstrdup(path);
}

static int same_path(const char *a, const char *b) { return csb_winpath_equal(a, b); }

static int under(const char *prefix, const char *path) {
  return csb_winpath_is_under(prefix, path);
}

/* Canonical form when the path exists, else the normalised path. */
static char *canonical_or_self(planner *P, const char *path) {
  char *c = wfs_canonical(P->fs, path);
  return c != NULL ? c : csb_winpath_normalize(path);
}

static int exists(planner *P, const char *path) { return wfs_lkind(P->fs, path) != WFS_MISSING; }

static void add_mkdir(planner *P, const char *what, const char *path) {
  if (exists(P, path)) return;
  if (!csb_spath_set_add_owned(&P->mkdir_set, key_of(path))) return;
  csb_strv_pushf(&P->mkdir, "%s\t%s", what, path);
}

static void note(planner *P, const char *fmt, ...) CSB_PRINTF(2, 3);
static void note(planner *P, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_strv_push_owned(&P->notes, csb_xvasprintf(fmt, ap));
  va_end(ap);
}

static const char *fs_kind_debug(const csb_policy *p) {
  if (p->enforcement == CSB_ENFORCE_DISABLED) return "Unrestricted";
  switch (p->fs_kind) {
    case CSB_FS_RESTRICTED:
      return "Restricted";
    case CSB_FS_UNRESTRICTED:
      return "Unrestricted";
    default:
      return "ExternalSandbox";
  }
}

static const char *net_debug(const csb_policy *p) {
  if (p->enforcement == CSB_ENFORCE_DISABLED) return "Enabled";
  return p->net_mode == CSB_NET_ENABLED ? "Enabled" : "Restricted";
}

static const char *profile_debug(const csb_policy *p) {
  switch (p->enforcement) {
    case CSB_ENFORCE_MANAGED:
      return "Managed";
    case CSB_ENFORCE_DISABLED:
      return "Disabled";
    default:
      return "External";
  }
}

static const char *entry_origin_at(const csb_policy *p, char **eff, const char *path,
                                   csb_access access) {
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    if (e->access != access) continue;
    if (same_path(e->path, path) || (eff && same_path(eff[i], path))) return e->origin;
  }
  return "?";
}

/* ---- 1-3: gate and verdicts ------------------------------------------------------- */

static int gate(planner *P) {
  const csb_policy *p = P->src;
  if (p->platform != CSB_PLATFORM_WINDOWS) {
    csb_error_set(P->err,
                  "policy platform is `%s`: csb-winacl plans only documents resolved for "
                  "`windows`; refusing to plan (rule: platform; backend: %s; fix: resolve the "
                  "policy on the Windows host, where csb-resolve emits platform `windows`)",
                  csb_platform_name(p->platform), P->backend);
    return CSB_EXIT_UNAVAILABLE;
  }
  int managed = p->enforcement == CSB_ENFORCE_MANAGED && p->fs_kind == CSB_FS_RESTRICTED;
  if (!managed || csb_policy_full_disk_write(p)) {
    char *msg = csb_xasprintf(MSG_CANNOT_ENFORCE, fs_kind_debug(p), net_debug(p), profile_debug(p));
    char *rule;
    if (p->enforcement != CSB_ENFORCE_MANAGED)
      rule = csb_xstrdup(p->enforcement == CSB_ENFORCE_DISABLED ? "enforcement `disabled`"
                                                                : "enforcement `external`");
    else if (p->fs_kind != CSB_FS_RESTRICTED)
      rule = csb_xstrdup(p->fs_kind == CSB_FS_UNRESTRICTED ? "filesystem kind `unrestricted`"
                                                           : "filesystem kind `external`");
    else
      rule = csb_xasprintf("full-disk write (%s)", p->summary ? p->summary : "root write");
    return verdict_owned(P, msg, rule,
                         "select a profile with restricted filesystem access (e.g. :workspace); "
                         "csb-winacl never runs a command unsandboxed");
  }
  return 0;
}

/* ---- names Windows would not store as written ---------------------------------- */

/* Win32 drops a final dot or space (`C:\secret.` opens `C:\secret`), reads
 * `:` as an alternate data stream and maps DOS device names (`CON`,
 * `aux.txt`) to devices, while the plan is applied through verbatim
 * (`\\?\`) paths that keep every name as written: an ACE would land on
 * another object (or a new directory) than the one programs in the
 * sandbox open, and the rule would silently protect nothing. */
static int bad_name(planner *P, const char *what, const char *path, const char *origin,
                    const char *why) {
  char *msg = csb_xasprintf("%s `%s` has %s, so no ACE would protect what Windows programs "
                            "open under that name; refusing to plan",
                            what, path, why);
  char *rule = csb_xasprintf("%s from %s", what, origin);
  return verdict_owned(P, msg, rule,
                       "write the path as Windows stores it: no final dot or space, no `:` stream "
                       "suffix, no device name, no `.` or `..` component");
}

/* The problem of a glob pattern's components (after the drive): characters
 * no name can hold or a final literal dot or space (a component that can
 * never match what Windows stores), or a `.` or `..` component (matched
 * literally, so never against a normalised path). */
static const char *glob_names_problem(const char *pattern) {
  const char *rest = isalpha((unsigned char)pattern[0]) && pattern[1] == ':' ? pattern + 2 : pattern;
  const char *p = rest;
  while (*p) {
    while (*p == '\\' || *p == '/') p++;
    const char *c = p;
    while (*p && *p != '\\' && *p != '/') p++;
    if (p == c) break;
    for (const char *k = c; k < p; k++) {
      unsigned char b = (unsigned char)*k;
      if (b < 0x20) return "a control character";
      if (strchr("<>:\"|", b) != NULL) return "a character Windows does not allow in names";
    }
    int depth = 0; /* of `{` groups in this component */
    for (const char *k = c; k < p; k++) {
      if (*k == '[' && p - k > 2) { /* a class: its braces and commas are members */
        const char *close = memchr(k + 2, ']', (size_t)(p - k - 2));
        if (close != NULL) {
          k = close;
          continue;
        }
      }
      if (*k == '{') depth++;
      if ((*k == ',' || *k == '}') && depth > 0) {
        if (k[-1] == '.' || k[-1] == ' ')
          return "an alternative with a final dot or space, which Windows drops";
        if (*k == '}') depth--;
      }
    }
    if ((p - c == 1 && c[0] == '.') || (p - c == 2 && c[0] == '.' && c[1] == '.'))
      return "a `.` or `..` component, which a glob matches literally";
    if (p[-1] == '.' || p[-1] == ' ')
      return "a final dot or space, which Windows drops";
  }
  return NULL;
}

static int names_check(planner *P) {
  const csb_policy *p = P->src;
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    const char *why = csb_winpath_names_problem(e->path);
    if (why != NULL) {
      char *what = csb_xasprintf("%s entry", csb_access_name(e->access));
      int rc = bad_name(P, what, e->path, e->origin, why);
      free(what);
      return rc;
    }
  }
  for (size_t i = 0; i < p->n_globs; i++) {
    const csb_policy_glob *g = &p->globs[i];
    csb_error e;
    csb_error_clear(&e);
    size_t raw_len = 0;
    char *prefix = wfs_glob_prefix(g->pattern, &raw_len, &e);
    if (prefix == NULL) continue; /* reported with its position later */
    const char *why = csb_winpath_names_problem(prefix);
    if (why == NULL) why = glob_names_problem(g->pattern);
    free(prefix);
    if (why != NULL) return bad_name(P, "deny glob", g->pattern, g->origin, why);
  }
  return 0;
}

static int root_read_check(planner *P) {
  char *root = csb_winpath_root(P->p->cwd);
  csb_verdict v;
  csb_policy_access_for(P->p, root, &v);
  int rc = 0;
  if (!v.can_read) {
    char *why = csb_verdict_describe(P->p, &v);
    char *rule = csb_xasprintf("the cwd's drive root `%s` is not readable (%s)", root, why);
    if (P->elevated)
      rc = verdict(P, MSG_ELEV_ROOT_READ, rule,
                   "grant `:root` read and deny what must stay hidden with deny rules");
    else
      rc = verdict(P, MSG_UNELEV_SPLIT_READ, rule,
                   "grant `:root` read (restricted reads cannot be enforced on Windows)");
    free(rule);
    free(why);
  }
  free(root);
  return rc;
}

static int deny_read_unelevated(planner *P) {
  const csb_policy_view *v = P->v;
  if (v->unreadable_roots.len == 0 && v->unreadable_globs.len == 0) return 0;
  char *rule;
  if (v->unreadable_roots.len > 0) {
    const char *u = v->unreadable_roots.items[0];
    rule = csb_xasprintf("deny entry `%s` from %s", u,
                         entry_origin_at(P->p, P->entry_eff, u, CSB_ACCESS_DENY));
  } else {
    const char *g = v->unreadable_globs.items[0];
    const char *origin = "?";
    for (size_t i = 0; i < P->p->n_globs; i++)
      if (strcmp(P->p->globs[i].pattern, g) == 0) origin = P->p->globs[i].origin;
    rule = csb_xasprintf("deny glob `%s` from %s", g, origin);
  }
  int rc = verdict(P, MSG_UNELEV_DENY_READ, rule, "use --backend elevated");
  free(rule);
  return rc;
}

/* A writable root b strictly under a writable root a and under (or at)
 * one of a's read-only carve-outs k is refused; the first such (a, b, k)
 * in view order is reported. The carve-outs are found by the keys of b
 * and of its ancestors. */
static int reopen_check(planner *P) {
  const csb_policy_view *v = P->v;
  char **keys = csb_xcalloc(v->n_writable ? v->n_writable : 1, sizeof(*keys));
  size_t *pair_a = NULL, *pair_k = NULL, n_pairs = 0, cap_a = 0, cap_k = 0;
  kindex carve = {0}; /* carve-outs by key, numbered by (a, k) in order */
  for (size_t a = 0; a < v->n_writable; a++) {
    keys[a] = key_of(v->writable[a].root);
    const csb_strv *ro = &v->writable[a].read_only_subpaths;
    for (size_t k = 0; k < ro->len; k++) {
      pair_a = csb_xgrow(pair_a, &cap_a, n_pairs + 1, sizeof(*pair_a));
      pair_k = csb_xgrow(pair_k, &cap_k, n_pairs + 1, sizeof(*pair_k));
      pair_a[n_pairs] = a;
      pair_k[n_pairs] = k;
      ki_add(&carve, ro->items[k], n_pairs++);
    }
  }
  ki_finish(&carve);
  size_t best_a = 0, best_b = 0, best_k = 0;
  int found = 0;
  for (size_t b = 0; b < v->n_writable; b++) {
    const char *bkey = keys[b];
    size_t first = SIZE_MAX; /* the lowest pair (a, k) that refuses b */
    for (size_t n = strlen(bkey); n > 0; n = key_parent_len(bkey, n)) {
      char *ck = csb_xstrndup(bkey, n);
      for (size_t at = ki_lower(&carve, ck);
           at < carve.n && strcmp(carve.v[at].key, ck) == 0 && carve.v[at].seq < first; at++) {
        const char *akey = keys[pair_a[carve.v[at].seq]];
        size_t an = strlen(akey);
        /* a strictly above b: its key a proper start of b's, before a `/` */
        if (an < strlen(bkey) && strncmp(akey, bkey, an) == 0 && bkey[an] == '/')
          first = carve.v[at].seq;
      }
      free(ck);
    }
    if (first == SIZE_MAX || (found && pair_a[first] >= best_a)) continue;
    found = 1;
    best_a = pair_a[first];
    best_b = b;
    best_k = pair_k[first];
  }
  for (size_t a = 0; a < v->n_writable; a++) free(keys[a]);
  free(keys);
  free(pair_a);
  free(pair_k);
  ki_free(&carve);
  if (!found) return 0;
  char *rule = csb_xasprintf(
      "writable root `%s` lies under the read-only carve-out `%s` of writable root `%s`",
      v->writable[best_b].root, v->writable[best_a].read_only_subpaths.items[best_k],
      v->writable[best_a].root);
  int rc = verdict(P, P->elevated ? MSG_ELEV_REOPEN : MSG_UNELEV_REOPEN, rule,
                   "drop the nested write rule or the read-only carve-out above it");
  free(rule);
  return rc;
}

static void roots_of_view(const csb_policy_view *v, csb_strv *out) {
  for (size_t i = 0; i < v->n_writable; i++) {
    char *k = key_of(v->writable[i].root);
    csb_strv_push_owned(out, k);
  }
  csb_strv_sort_unique(out);
}

static void join_list(csb_buf *b, const csb_policy_view *v) {
  csb_buf_putc(b, '[');
  for (size_t i = 0; i < v->n_writable; i++) {
    if (i) csb_buf_puts(b, ", ");
    csb_buf_puts(b, v->writable[i].root);
  }
  csb_buf_putc(b, ']');
}

static int split_write_check(planner *P) {
  csb_legacy_policy l;
  csb_error lerr;
  csb_error_clear(&lerr);
  if (!csb_policy_to_legacy(P->p, &l, &lerr)) {
    char *rule = csb_xasprintf("no legacy projection: %s", lerr.msg);
    int rc = verdict(P, MSG_UNELEV_SPLIT_WRITE, rule, "use --backend elevated");
    free(rule);
    return rc;
  }
  csb_policy *m = csb_policy_legacy_model(P->p, &l);
  csb_policy_view *lv = NULL;
  int rc = 0;
  if (!csb_policy_view_build(m, &lv, P->err)) {
    rc = CSB_EXIT_INTERNAL;
  } else {
    csb_strv a, b;
    csb_strv_init(&a);
    csb_strv_init(&b);
    roots_of_view(P->v, &a);
    roots_of_view(lv, &b);
    int same = a.len == b.len;
    for (size_t i = 0; same && i < a.len; i++) same = strcmp(a.items[i], b.items[i]) == 0;
    if (!same) {
      csb_buf r = {0};
      csb_buf_puts(&r, "writable roots ");
      join_list(&r, P->v);
      csb_buf_puts(&r, " differ from the legacy model's ");
      join_list(&r, lv);
      rc = verdict(P, MSG_UNELEV_SPLIT_WRITE, r.data, "use --backend elevated");
      csb_buf_free(&r);
    }
    csb_strv_free(&a);
    csb_strv_free(&b);
  }
  csb_policy_view_free(lv);
  csb_policy_free(m);
  csb_legacy_policy_free(&l);
  return rc;
}

static int network_check(planner *P) {
  const csb_policy *p = P->p;
  if (P->elevated || p->net_mode == CSB_NET_ENABLED || P->o->best_effort_network) return 0;
  char *msg = csb_xasprintf(
      "windows unelevated restricted-token sandbox cannot enforce network restrictions "
      "(network.mode=`%s`); refusing to run unsandboxed",
      p->net_mode == CSB_NET_PROXY ? "proxy" : "restricted");
  int rc = verdict(P, msg, "network.mode",
                   "use --backend elevated (a firewalled offline user), or pass "
                   "--best-effort-network to accept environment-only blocking");
  free(msg);
  return rc;
}

/* ---- proxy ports ---------------------------------------------------------------- */

static void add_port(planner *P, int port) {
  for (size_t i = 0; i < P->n_ports; i++)
    if (P->ports[i] == port) return;
  if (P->n_ports < CSB_ARRAY_LEN(P->ports)) P->ports[P->n_ports++] = port;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int proxy_ports(planner *P) {
  const csb_policy *p = P->p;
  if (p->net_mode == CSB_NET_PROXY) {
    csb_netpolicy *np = csb_netpolicy_new();
    csb_error e;
    csb_error_clear(&e);
    if (p->proxy != NULL && !csb_netpolicy_apply_proxy_json(np, p->proxy, "network.proxy", &e)) {
      csb_netpolicy_free(np);
      return fail(P, CSB_EXIT_DATA, "%s", e.msg);
    }
    const char *urls[2] = {np->proxy_url, np->enable_socks5 ? np->socks_url : NULL};
    const char *names[2] = {"network.proxy.proxy_url", "network.proxy.socks_url"};
    for (int i = 0; i < 2; i++) {
      if (urls[i] == NULL) continue;
      int port = wa_loopback_url_port(urls[i]);
      if (port == 0) {
        char *msg = csb_xasprintf(
            "proxy URL `%s` is not a loopback URL with an explicit port: the offline "
            "identity's firewall admits only loopback proxy ports; refusing to run unsandboxed",
            urls[i]);
        int rc = P->elevated ? verdict(P, msg, names[i],
                                       "run csb-proxy on 127.0.0.1 or [::1] with an explicit port")
                             : 0;
        free(msg);
        if (rc) {
          csb_netpolicy_free(np);
          return rc;
        }
        continue;
      }
      add_port(P, port);
    }
    csb_netpolicy_free(np);
  }
  for (size_t i = 0; i < P->o->n_proxy_ports; i++) add_port(P, P->o->proxy_ports[i]);
  qsort(P->ports, P->n_ports, sizeof(int), cmp_int);
  return 0;
}

/* ---- 4: write roots and capability SIDs -------------------------------------------- */

static int ieq_n(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

static int is_excluded_child(const char *name) {
  for (size_t i = 0; i < CSB_ARRAY_LEN(kProfileExclusions); i++)
    if (csb_winpath_equal(name, kProfileExclusions[i])) return 1;
  return 0;
}

/* Profile children that ~/.ssh/config needs (IdentityFile, Include), by
 * first component below the profile. */
static void ssh_dependencies(planner *P, csb_strv *out) {
  const char *profile = P->o->user_profile;
  if (profile == NULL) return;
  char *cfg = csb_winpath_join(profile, ".ssh\\config");
  char *text = NULL;
  size_t len = 0;
  if (cfg == NULL || wfs_lkind(P->fs, cfg) != WFS_FILE ||
      !wfs_read(P->fs, cfg, MAX_SMALL_FILE, &text, &len, NULL)) {
    free(cfg);
    return;
  }
  char *line = text;
  while (line && *line) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    size_t kw = strcspn(s, " \t=");
    int want = (kw == 12 && ieq_n(s, "identityfile", 12)) || (kw == 7 && ieq_n(s, "include", 7));
    if (want) {
      char *v = s + kw;
      while (*v == ' ' || *v == '\t' || *v == '=') v++;
      size_t vl = strlen(v);
      while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = '\0';
      if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
        v[vl - 1] = '\0';
        v++;
      }
      char *abs = NULL;
      if (v[0] == '~' && (v[1] == '/' || v[1] == '\\'))
        abs = csb_winpath_join(profile, v + 2);
      else if (csb_winpath_is_absolute(v))
        abs = csb_winpath_normalize(v);
      else if (v[0] != '\0')
        abs = csb_winpath_join(profile, v);
      char *rel = abs ? csb_winpath_relative_to(profile, abs) : NULL;
      if (rel != NULL && rel[0] != '\0') {
        rel[strcspn(rel, "\\")] = '\0';
        csb_strv_push(out, rel);
      }
      free(rel);
      free(abs);
    }
    line = end ? end + 1 : NULL;
  }
  free(text);
  free(cfg);
}

/* Whether the policy lets the sandbox read `path` (deny entries and
 * globs decide: `:root` read is required). */
static int policy_readable(planner *P, const char *path) {
  csb_verdict v;
  csb_policy_access_for(P->p, path, &v);
  return v.can_read;
}

/* Appends `root` (canonical) to `out`, expanding the user profile into its
 * children minus the exclusions and ssh dependencies. With `writing`, a
 * child the policy denies reading (a deny entry or glob below the
 * writable profile) is not added: the write root's allow ACE for the
 * group would replace the deny-read ACE there. */
static void add_expanding_profile(planner *P, pathset *out, const char *root,
                                  const csb_strv *ssh_deps, int writing) {
  const char *profile = P->o->user_profile;
  char *pcanon = profile ? canonical_or_self(P, profile) : NULL;
  if (pcanon == NULL || !same_path(root, pcanon)) {
    /* A child of the profile may itself be excluded. */
    int drop = 0;
    if (pcanon != NULL) {
      char *rel = csb_winpath_relative_to(pcanon, root);
      if (rel != NULL && rel[0] != '\0' && strchr(rel, '\\') == NULL) {
        if (is_excluded_child(rel)) drop = 1;
        for (size_t i = 0; i < ssh_deps->len; i++)
          if (csb_winpath_equal(rel, ssh_deps->items[i])) drop = 1;
      }
      free(rel);
    }
    if (!drop) ps_add(out, root, 0);
    free(pcanon);
    return;
  }
  csb_strv names;
  csb_strv_init(&names);
  if (!wfs_list(P->fs, pcanon, &names)) {
    ps_add(out, root, 0); /* listing failed: the profile itself */
  } else {
    for (size_t i = 0; i < names.len; i++) {
      int drop = is_excluded_child(names.items[i]);
      for (size_t k = 0; k < ssh_deps->len; k++)
        if (csb_winpath_equal(names.items[i], ssh_deps->items[k])) drop = 1;
      if (drop) continue;
      char *child = csb_winpath_join(pcanon, names.items[i]);
      char *spelled = writing ? csb_winpath_join(profile, names.items[i]) : NULL;
      if (child && writing && (!policy_readable(P, child) || (spelled && !policy_readable(P, spelled))))
        note(P, "profile child `%s` is not readable under the policy and is not granted writes",
             child);
      else if (child)
        ps_add(out, child, 0);
      free(spelled);
      free(child);
    }
  }
  csb_strv_free(&names);
  free(pcanon);
}

/* 1 when `root` is the csb home or lies in one of its sandbox dirs; 2
 * when it is the capability SID record (`<home>\cap_sid`): a run that
 * could rewrite the record could give its own roots the SIDs that earlier
 * runs' ACEs grant elsewhere. */
static int sensitive_write_root(planner *P, const char *root) {
  const char *homes[2] = {P->home, P->home_canon};
  static const char *const dirs[] = {".sandbox", ".sandbox-bin", ".sandbox-secrets"};
  for (int h = 0; h < 2; h++) {
    if (homes[h] == NULL) continue;
    if (same_path(root, homes[h])) return 1;
    for (size_t d = 0; d < CSB_ARRAY_LEN(dirs); d++) {
      char *s = csb_winpath_join(homes[h], dirs[d]);
      int hit = s && under(s, root);
      free(s);
      if (hit) return 1;
    }
    char *rec = csb_winpath_join(homes[h], "cap_sid");
    int hit = rec && under(rec, root);
    free(rec);
    if (hit) return 2;
  }
  return 0;
}

/* Origins of the write entries behind a view root. */
static void write_origins(planner *P, const char *root, int *tmpdir, int *slash_tmp, int *other) {
  *tmpdir = *slash_tmp = *other = 0;
  char *key = key_of(root);
  for (size_t at = ki_lower(&P->write_at, key);
       at < P->write_at.n && strcmp(P->write_at.v[at].key, key) == 0; at++) {
    const csb_policy_entry *e = &P->p->entries[P->write_at.v[at].seq];
    if (strcmp(e->origin, ":tmpdir") == 0)
      *tmpdir = 1;
    else if (strcmp(e->origin, ":slash_tmp") == 0)
      *slash_tmp = 1;
    else
      *other = 1;
  }
  free(key);
}

static const char *record_sid(planner *P, const char *slot, const char *key) {
  if (P->cap_record == NULL) return NULL;
  const cJSON *v;
  if (key == NULL) {
    v = cJSON_GetObjectItemCaseSensitive(P->cap_record, slot);
  } else {
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(P->cap_record, slot);
    v = map ? cJSON_GetObjectItemCaseSensitive(map, key) : NULL;
  }
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Each writable root's capability SID grants writes to that root alone,
 * and the read-only SID none: a record that gives one SID to two roots,
 * or the read-only SID to a root, would let a run write where its policy
 * does not (a token holding the SID of root A also matches the ACEs of
 * root B). The same key in both maps (the cwd, also listed as a root) may
 * share its SID. Returns 1 when the SIDs are distinct, else fails. */
/* SID strings (wa_is_sid) naming the same SID: "S"/"s", leading zeros. */
static int sid_equal(const char *a, const char *b) {
  a += 2, b += 2;
  for (;;) {
    unsigned long long x = strtoull(a, (char **)&a, 10), y = strtoull(b, (char **)&b, 10);
    if (x != y || *a != *b) return 0;
    if (*a == '\0') return 1;
    a++, b++;
  }
}

static int cap_sids_distinct(planner *P, const cJSON *doc, const char *file) {
  static const char *const maps[2] = {"workspace_by_cwd", "writable_root_by_path"};
  const cJSON *ro = cJSON_GetObjectItemCaseSensitive(doc, "readonly");
  const char *ro_sid = cJSON_IsString(ro) ? ro->valuestring : NULL;
  for (int a = 0; a < 2; a++) {
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(doc, maps[a]);
    for (const cJSON *x = ma ? ma->child : NULL; x; x = x->next) {
      const char *other = NULL, *other_key = NULL;
      if (ro_sid != NULL && sid_equal(ro_sid, x->valuestring)) {
        other = "readonly";
      } else {
        for (int b = a; b < 2 && other == NULL; b++) {
          const cJSON *mb = cJSON_GetObjectItemCaseSensitive(doc, maps[b]);
          for (const cJSON *y = b == a ? x->next : (mb ? mb->child : NULL); y; y = y->next) {
            if (!sid_equal(x->valuestring, y->valuestring) || strcmp(x->string, y->string) == 0) continue;
            other = maps[b];
            other_key = y->string;
            break;
          }
        }
      }
      if (other == NULL) continue;
      char *rule = other_key ? csb_xasprintf("%s[\"%s\"] and %s[\"%s\"] hold %s", maps[a], x->string, other,
                                             other_key, x->valuestring)
                             : csb_xasprintf("%s[\"%s\"] holds the readonly SID %s", maps[a], x->string,
                                             x->valuestring);
      fail(P, CSB_EXIT_DATA,
           "cap sid file %s gives one capability SID to two purposes (%s), so a run could write "
           "where its policy does not; refusing to use it (rule: the capability SID record; "
           "backend: %s; fix: restore the file from a backup, or delete it, which orphans the "
           "ACEs granted to its SIDs)",
           file, rule, P->backend);
      free(rule);
      return 0;
    }
  }
  return 1;
}

static int load_cap_record(planner *P) {
  char *file = csb_winpath_join(P->home, "cap_sid");
  P->cap_status = "missing";
  int rc = 0;
  if (wfs_lkind(P->fs, file) == WFS_MISSING) goto out;
  char *text = NULL;
  size_t len = 0;
  csb_error e;
  if (!wfs_read(P->fs, file, MAX_SMALL_FILE, &text, &len, &e)) {
    rc = fail(P, CSB_EXIT_OSERR, "cannot read the capability SID file: %s", e.msg);
    goto out;
  }
  cJSON *doc = NULL;
  const char *s = text;
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
  if (*s == '{') {
    int valid = csb_json_parse(text, len, &doc, NULL) && cJSON_IsObject(doc);
    for (const cJSON *c = valid ? doc->child : NULL; c && valid; c = c->next) {
      if (strcmp(c->string, "workspace") == 0 || strcmp(c->string, "readonly") == 0) {
        valid = cJSON_IsNull(c) || (cJSON_IsString(c) && wa_is_cap_sid(c->valuestring));
      } else if (strcmp(c->string, "workspace_by_cwd") == 0 ||
                 strcmp(c->string, "writable_root_by_path") == 0) {
        valid = cJSON_IsObject(c);
        for (const cJSON *m = valid ? c->child : NULL; m && valid; m = m->next)
          valid = cJSON_IsString(m) && wa_is_cap_sid(m->valuestring);
      } else {
        valid = 0;
      }
    }
    if (!valid) {
      cJSON_Delete(doc);
      free(text);
      rc = fail(P, CSB_EXIT_DATA, MSG_CAP_RECORD " (rule: the capability SID record; backend: %s; "
                "fix: restore the file from a backup, or delete it, which orphans the ACEs granted to "
                "its SIDs)",
                file, P->backend);
      goto out;
    }
    if (!cap_sids_distinct(P, doc, file)) {
      cJSON_Delete(doc);
      free(text);
      rc = CSB_EXIT_DATA;
      goto out;
    }
    P->cap_record = doc;
    P->cap_status = "record";
  } else {
    char *t = csb_xstrdup(s);
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
      t[--n] = '\0';
    if (!wa_is_cap_sid(t)) {
      free(t);
      free(text);
      rc = fail(P, CSB_EXIT_DATA, MSG_CAP_NEITHER " (rule: the capability SID record; backend: %s; "
                "fix: restore the file from a backup, or delete it, which orphans the ACEs granted to "
                "its SIDs)",
                file, P->backend);
      goto out;
    }
    /* A plain SID from an older layout becomes the `workspace` member. */
    P->cap_record = csb_json_new_object();
    csb_json_add_string(P->cap_record, "workspace", t);
    P->cap_status = "plain-sid";
    free(t);
  }
  free(text);
out:
  free(file);
  return rc;
}

static int plan_write_roots(planner *P) {
  const csb_policy_view *v = P->v;
  pathset final = {0};
  csb_strv ssh_deps;
  csb_strv_init(&ssh_deps);
  ssh_dependencies(P, &ssh_deps);
  int policy_writes = 0, tmpdir_writable = 0;
  for (size_t i = 0; i < v->n_writable; i++) {
    const char *root = v->writable[i].root;
    int tmpdir, slash, other;
    write_origins(P, root, &tmpdir, &slash, &other);
    if (!other && slash && !tmpdir) {
      note(P, "writable root `%s` (:slash_tmp) has no meaning on Windows and is ignored", root);
      continue;
    }
    policy_writes++;
    if (!other && tmpdir) {
      tmpdir_writable = 1;
      continue;
    }
    if (!exists(P, root)) {
      note(P, "writable root `%s` does not exist and is skipped", root);
      continue;
    }
    char *canon = canonical_or_self(P, root);
    add_expanding_profile(P, &final, canon, &ssh_deps, 1);
    free(canon);
  }
  P->tmpdir_writable = tmpdir_writable;
  if (tmpdir_writable) {
    for (size_t i = 0; i < P->o->temp_dirs.len; i++) {
      const char *t = P->o->temp_dirs.items[i];
      if (!exists(P, t)) {
        note(P, "temporary directory `%s` does not exist and is skipped", t);
        continue;
      }
      char *canon = canonical_or_self(P, t);
      add_expanding_profile(P, &final, canon, &ssh_deps, 1);
      free(canon);
    }
    if (P->o->temp_dirs.len == 0)
      note(P, ":tmpdir is writable but no TEMP/TMP directory is known (pass --temp DIR)");
  }
  ps_finish(&final);
  P->roots = csb_xcalloc(final.n ? final.n : 1, sizeof(*P->roots));
  for (size_t i = 0; i < final.n; i++) {
    const char *root = final.v[i].path;
    int sensitive = sensitive_write_root(P, root);
    if (sensitive == 2) {
      note(P, "writable root `%s` is csb's capability SID record and is not granted", root);
      continue;
    }
    if (sensitive) {
      note(P, "writable root `%s` is csb's own home or sandbox directory and is not granted", root);
      continue;
    }
    wroot *w = &P->roots[P->n_roots++];
    w->path = csb_xstrdup(root);
    w->key = csb_xstrdup(final.v[i].key);
    w->trustee = csb_xasprintf("cap:%s", w->key);
    w->slot = strcmp(w->key, P->cwd_key) == 0 ? "workspace_by_cwd" : "writable_root_by_path";
  }
  ps_free(&final);
  csb_strv_free(&ssh_deps);
  /* The csb home (capability SIDs, deny-read state, secrets) must stay out
   * of every writable root. */
  for (size_t i = 0; i < P->n_roots; i++) {
    const char *homes[2] = {P->home, P->home_canon};
    for (int h = 0; h < 2; h++) {
      if (homes[h] == NULL || !under(P->roots[i].path, homes[h])) continue;
      char *rule = csb_xasprintf("csb home `%s` lies inside writable root `%s`", homes[h],
                                 P->roots[i].path);
      int rc = verdict(P,
                       "the capability SID file and sandbox state would be writable from the "
                       "sandbox; refusing to run unsandboxed",
                       rule, "move the csb home (--csb-home, CSB_HOME) outside every writable root");
      free(rule);
      return rc;
    }
  }
  if (policy_writes > 0 && P->n_roots == 0) {
    char *rule = csb_xasprintf("%d writable root(s) in the policy, none usable (missing or csb's own)",
                               policy_writes);
    int rc = verdict(P, MSG_NO_CAPS, rule, "create the writable roots before running");
    free(rule);
    return rc;
  }
  P->write_mode = P->n_roots > 0;
  for (size_t i = 0; i < P->n_roots; i++) {
    wroot *w = &P->roots[i];
    const char *sid = record_sid(P, w->slot, w->key);
    w->sid = sid ? csb_xstrdup(sid) : NULL;
    if (w->sid == NULL) P->caps_to_create++;
  }
  return 0;
}

/* ---- carve-outs ------------------------------------------------------------------- */

/* The index of the write root whose key is key[0..n), or -1. */
static long root_at_key(const planner *P, const char *key, size_t n) {
  size_t lo = 0, hi = P->n_roots;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = key_cmp_n(P->roots[mid].key, key, n);
    if (c == 0) return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static int explicit_entry_at(planner *P, const char *path) {
  return ki_has(&P->explicit_ro, path);
}

/* 1 when `path` is one of the protected names directly below `root`. */
static int protected_child(const char *root, const char *path) {
  for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT; n++) {
    char *sub = csb_winpath_join(root, csb_protected_names[n]);
    int hit = sub != NULL && same_path(sub, path);
    free(sub);
    if (hit) return 1;
  }
  return 0;
}

/* 1 when `path` lies in (or is) one of the planned write roots; with
 * `strict`, strictly inside one (so its parent grants ADD_SUBDIRECTORY
 * and it inherits DELETE). */
static int under_write_root(planner *P, const char *path, int strict) {
  char *key = key_of(path);
  int hit = 0;
  /* Its key (unless strict) and each of its ancestors' keys. */
  size_t len = strlen(key);
  for (size_t n = strict ? key_parent_len(key, len) : len; !hit && n > 0; n = key_parent_len(key, n))
    hit = root_at_key(P, key, n) >= 0;
  free(key);
  return hit;
}

/* A write root is granted where it leads when planning (canonical). One
 * that is reached through a link the command can replace (a link inside
 * another write root: the nested root `C:\repo\build`, missing or renamed
 * away, made a junction to `C:\Windows`) would be granted wherever the
 * command pointed it, by an elevated apply, on the next run: refused. So
 * is a cwd reached that way (elevated: a read root). */
static int replaceable_root_check(planner *P) {
  csb_strv lex;
  csb_strv_init(&lex);
  for (size_t i = 0; i < P->p->n_entries; i++) {
    const csb_policy_entry *e = &P->p->entries[i];
    if (e->access != CSB_ACCESS_WRITE || strcmp(e->origin, ":tmpdir") == 0 ||
        strcmp(e->origin, ":slash_tmp") == 0)
      continue;
    csb_strv_push(&lex, e->path);
  }
  if (P->tmpdir_writable)
    for (size_t i = 0; i < P->o->temp_dirs.len; i++) csb_strv_push(&lex, P->o->temp_dirs.items[i]);
  /* The cwd is a read root (elevated): granted reads where it leads. */
  size_t n_write = lex.len;
  if (P->elevated) csb_strv_push(&lex, P->p->cwd);
  int rc = 0;
  for (size_t i = 0; i < lex.len && rc == 0; i++) {
    char *a = csb_winpath_normalize(lex.items[i]);
    while (a != NULL && rc == 0) {
      char *up = csb_winpath_parent(a);
      if (up == NULL) break;
      char *up_eff = wfs_effective(P->fs, up);
      int replaceable = under_write_root(P, up_eff, 0) && wfs_lkind(P->fs, a) == WFS_LINK;
      free(up_eff);
      if (replaceable) {
        int cwd = i >= n_write;
        char *rule = csb_xasprintf("%s `%s` is reached through the link `%s` inside a writable root",
                                   cwd ? "the cwd" : "writable root", lex.items[i], a);
        rc = verdict_owned(P,
                           csb_xasprintf("the sandboxed command could point the link anywhere, and "
                                         "the next plan would grant %s there; refusing to run "
                                         "unsandboxed",
                                         cwd ? "reads" : "writes"),
                           rule, "name the link's target in the policy, or replace the link with "
                                 "what it leads to");
      }
      free(a);
      a = up;
    }
    free(a);
  }
  csb_strv_free(&lex);
  return rc;
}

static int plan_deny_write(planner *P) {
  const csb_policy_view *v = P->v;
  for (size_t i = 0; i < v->n_writable; i++) {
    const csb_writable_root *w = &v->writable[i];
    int tmpdir, slash, other;
    write_origins(P, w->root, &tmpdir, &slash, &other);
    /* A :tmpdir root is granted as the TEMP/TMP directories: its
     * carve-outs that lie in one of them stay read-only there. */
    int temp_only = !other && tmpdir;
    if ((!other && !tmpdir) || !exists(P, w->root) || sensitive_write_root(P, w->root)) continue;
    for (size_t k = 0; k < w->read_only_subpaths.len; k++) {
      const char *s = w->read_only_subpaths.items[k];
      if (temp_only && !under_write_root(P, s, 0)) continue;
      /* Entries passed names_check; a `gitdir:` target comes from a file
       * and may name what Win32 opens elsewhere (`wt.` opens `wt`). */
      const char *why = csb_winpath_names_problem(s);
      if (why != NULL) {
        char *origin = csb_xasprintf("writable root `%s`", w->root);
        int rc = bad_name(P, "read-only carve-out", s, origin, why);
        free(origin);
        return rc;
      }
      if (exists(P, s)) {
        ps_add(&P->deny_write, s, 0);
        char *c = wfs_canonical(P->fs, s);
        if (c != NULL) ps_add(&P->deny_write, c, 0);
        free(c);
      } else if (explicit_entry_at(P, s)) {
        ps_add(&P->deny_write, s, 1);
      } else if (!protected_child(w->root, s) && under_write_root(P, s, 0)) {
        /* A missing `gitdir:` target is read-only too (docs/policy.md rule
         * 4): inside a write root the command could create it, hooks and
         * config included, for git to run outside the sandbox. */
        ps_add(&P->deny_write, s, 1);
        note(P, "`gitdir:` target `%s` does not exist and is created read-only", s);
      }
    }
    for (size_t n = 0; n < w->protected_names.len; n++) {
      char *sub = csb_winpath_join(w->root, w->protected_names.items[n]);
      if (sub && !exists(P, sub) && !explicit_entry_at(P, sub) &&
          (!temp_only || under_write_root(P, sub, 0)))
        note(P, "protected `%s` does not exist and is not created: a missing name cannot carry "
                "an ACE", sub);
      free(sub);
    }
  }
  ps_finish(&P->deny_write);
  return 0;
}

/* 1 when `path` is or lies below a carve-out (its DENY_WRITE, inherited,
 * already denies DELETE). */
static int under_deny_write(planner *P, const char *path) {
  char *key = key_of(path);
  int hit = ps_has_key_or_above(&P->deny_write, key);
  free(key);
  return hit;
}

/* The directories above each carve-out that a write root lets the command
 * rename (DELETE on them and ADD_SUBDIRECTORY on their parent come from the
 * root's inherited ACEs): renaming one moves the carve-out and its ACE
 * away, and a new directory in its place is writable. Each gets a DELETE
 * deny of its own (not inherited). One that is a link is refused: an ACE
 * set through its name lands on its target, and the link itself could be
 * deleted and replaced by a directory. A directory below another carve-out
 * needs nothing of its own. */
static int plan_ancestors(planner *P) {
  /* Keys of the ancestors added, hashed: a walk stops at one. */
  csb_strv seen;
  csb_strv_init(&seen);
  csb_spath_set seen_set;
  csb_spath_set_init(&seen_set, CSB_PATH_POSIX, 1, &seen);
  int rc = 0;
  for (size_t i = 0; i < P->deny_write.n && rc == 0; i++) {
    const char *s = P->deny_write.v[i].path;
    /* A carve-out that is itself a link gets its DENY_WRITE on the target
     * (set through the link's name); the link inherits DELETE from the
     * root's ACEs and could be replaced by a writable directory (`.git`
     * with hooks, a config). A deny-read path is exempt: what it hides is
     * the target, which keeps its ACEs. */
    char *parent = csb_winpath_parent(s);
    int link = under_write_root(P, s, 1) && parent != NULL && !under_deny_write(P, parent) &&
               !(P->elevated && ps_has_key(&P->deny_read, P->deny_write.v[i].key)) &&
               wfs_lkind(P->fs, s) == WFS_LINK;
    free(parent);
    if (link) {
      char *rule = csb_xasprintf("read-only path `%s` is a link inside a writable root", s);
      rc = verdict_owned(P,
                         csb_xstrdup("the sandboxed command could replace the link with a "
                                     "writable file or directory; refusing to run unsandboxed"),
                         rule, "name the link's target in the policy, or replace the link with "
                               "what it leads to");
      break;
    }
    char *a = csb_winpath_parent(s);
    /* (an ancestor added already was walked up from already) */
    while (a != NULL && under_write_root(P, a, 1) && !under_deny_write(P, a)) {
      if (!csb_spath_set_add_owned(&seen_set, key_of(a))) break;
      if (wfs_lkind(P->fs, a) == WFS_LINK) {
        char *rule = csb_xasprintf("read-only path `%s` is reached through the link `%s` inside a "
                                   "writable root", s, a);
        rc = verdict(P,
                     "the sandboxed command could replace the link with a directory and "
                     "write the path there; refusing to run unsandboxed",
                     rule, "name the link's target in the policy, or replace the link with a "
                           "directory");
        free(rule);
        break;
      }
      ps_add(&P->ancestors, a, 0);
      char *up = csb_winpath_parent(a);
      free(a);
      a = up;
    }
    free(a);
  }
  csb_spath_set_free(&seen_set);
  csb_strv_free(&seen);
  if (rc == 0) ps_finish(&P->ancestors);
  return rc;
}

/* A deny glob denies writes too (docs/policy.md, evaluation rule 3), but
 * its matches are not read-only subpaths of the view: each deny-read path
 * inside a write root gets the carve-outs' DENY_WRITE, without their
 * ancestors' DELETE denies (a match created or moved there later is
 * covered by the next plan, as for reads). Exact deny entries are there
 * already. */
static void plan_deny_read_writes(planner *P) {
  size_t before = P->deny_write.n;
  for (size_t i = 0; i < P->deny_read.n; i++)
    if (under_write_root(P, P->deny_read.v[i].path, 0)) ps_add(&P->deny_write, P->deny_read.v[i].path, 0);
  if (P->deny_write.n != before) ps_finish(&P->deny_write);
}

/* ---- 5: deny-read ------------------------------------------------------------------- */

static int root_target(planner *P, const char *path, const char *target) {
  if (!csb_winpath_is_root(target)) return 0;
  char *rule = csb_xasprintf("deny-read path `%s` resolves to the filesystem root `%s`", path, target);
  int rc = verdict(P,
                   "a deny-read ACE on a filesystem root would hide the whole volume; refusing "
                   "to run unsandboxed",
                   rule, "deny a directory below the root, or remove the link");
  free(rule);
  return rc;
}

static int plan_deny_read(planner *P) {
  const csb_policy *p = P->p;
  const csb_policy_view *v = P->v;
  int rc;
  /* Exact paths: the lexical spelling of each deny entry and the view's
   * effective path; missing ones are created as directories first. */
  for (size_t i = 0; i < v->unreadable_roots.len; i++) {
    const char *u = v->unreadable_roots.items[i];
    csb_strv cands;
    csb_strv_init(&cands);
    char *ukey = key_of(u);
    for (size_t at = ki_lower(&P->deny_eff, ukey);
         at < P->deny_eff.n && strcmp(P->deny_eff.v[at].key, ukey) == 0; at++)
      csb_strv_push(&cands, p->entries[P->deny_eff.v[at].seq].path);
    free(ukey);
    csb_strv_push(&cands, u);
    for (size_t c = 0; c < cands.len; c++) {
      const char *path = cands.items[c];
      if ((rc = root_target(P, path, path)) != 0) {
        csb_strv_free(&cands);
        return rc;
      }
      if (!exists(P, path)) {
        ps_add(&P->deny_read, path, 1);
        continue;
      }
      ps_add(&P->deny_read, path, 0);
      char *canon = wfs_canonical(P->fs, path);
      if (canon != NULL) {
        rc = root_target(P, path, canon);
        if (!rc) ps_add(&P->deny_read, canon, 0);
        free(canon);
        if (rc) {
          csb_strv_free(&cands);
          return rc;
        }
      }
    }
    csb_strv_free(&cands);
  }
  /* Globs: expanded now (point in time) within glob_scan_max_depth. */
  P->glob_summaries = csb_json_new_array();
  size_t budget = P->o->max_deny_read_paths;
  for (size_t i = 0; i < v->unreadable_globs.len; i++) {
    const char *g = v->unreadable_globs.items[i];
    const char *origin = "?";
    for (size_t k = 0; k < p->n_globs; k++)
      if (strcmp(p->globs[k].pattern, g) == 0) origin = p->globs[k].origin;
    csb_error e;
    csb_error_clear(&e);
    size_t raw_len = 0;
    char *prefix = wfs_glob_prefix(g, &raw_len, &e);
    if (prefix == NULL)
      return fail(P, CSB_EXIT_DATA, "invalid deny-read glob pattern `%s`: %s", g, e.msg);
    int depth = wfs_glob_scan_depth(g, p->glob_scan_max_depth);
    /* Also a prefix that leads to a root through a link (C:\repo\d ->
     * D:\): the walk would cover that whole volume. */
    char *prefix_canon = depth < 0 ? wfs_canonical(P->fs, prefix) : NULL;
    int linked_root = prefix_canon && !csb_winpath_is_root(prefix) && csb_winpath_is_root(prefix_canon);
    if (depth < 0 && (csb_winpath_is_root(prefix) || linked_root)) {
      char *rule = linked_root ? csb_xasprintf("deny glob `%s` from %s, whose prefix `%s` leads to `%s`",
                                               g, origin, prefix, prefix_canon)
                               : csb_xasprintf("deny glob `%s` from %s", g, origin);
      free(prefix_canon);
      free(prefix);
      return verdict_owned(P, csb_xasprintf(MSG_ROOT_GLOB, g), rule,
                           "set glob_scan_max_depth, or start the glob below the drive root");
    }
    free(prefix_canon);
    csb_strv matches, targets;
    csb_strv_init(&matches);
    csb_strv_init(&targets);
    if (!wfs_glob_expand(P->fs, g, depth, budget, &matches, &targets, &e)) {
      csb_strv_free(&matches);
      csb_strv_free(&targets);
      free(prefix);
      csb_error_set(P->err,
                    "cannot expand deny-read glob `%s`: %s (rule: deny glob from %s; backend: %s; "
                    "fix: narrow the glob, set glob_scan_max_depth or raise "
                    "--max-deny-read-paths)",
                    g, e.msg, origin, P->backend);
      return CSB_EXIT_UNAVAILABLE;
    }
    for (size_t k = 0; k < matches.len; k++) ps_add(&P->deny_read, matches.items[k], 0);
    for (size_t k = 0; k < targets.len; k++) {
      if ((rc = root_target(P, matches.len ? matches.items[0] : g, targets.items[k])) != 0) {
        csb_strv_free(&matches);
        csb_strv_free(&targets);
        free(prefix);
        return rc;
      }
      ps_add(&P->deny_read, targets.items[k], 0);
    }
    cJSON *s = csb_json_add_object(P->glob_summaries, NULL);
    csb_json_add_string(s, "pattern", g);
    csb_json_add_string(s, "origin", origin);
    csb_json_add_string(s, "scan_root", prefix);
    if (depth < 0)
      csb_json_add_null(s, "max_depth");
    else
      csb_json_add_int(s, "max_depth", depth);
    csb_json_add_int(s, "matches", (int64_t)matches.len);
    csb_strv_free(&matches);
    csb_strv_free(&targets);
    free(prefix);
  }
  ps_finish(&P->deny_read);
  if (P->deny_read.n > P->o->max_deny_read_paths) {
    csb_error_set(P->err,
                  "%zu deny-read paths exceed the limit of %zu (rule: deny rules of the policy; "
                  "backend: %s; fix: narrow the globs or raise --max-deny-read-paths)",
                  P->deny_read.n, P->o->max_deny_read_paths, P->backend);
    return CSB_EXIT_UNAVAILABLE;
  }
  /* A write root's allow ACE for the group (SET_ACCESS) replaces the
   * group's ACEs on that object, the deny-read ACE applied before it
   * included: a deny-read target that is a write root (a deny entry or a
   * glob match that leads to it through a link) would be readable. */
  for (size_t i = 0; i < P->n_roots; i++) {
    if (!ps_has_key(&P->deny_read, P->roots[i].key)) continue;
    /* Name the spelling that leads there, when another one does. */
    const char *via = NULL;
    for (size_t k = 0; k < P->deny_read.n && via == NULL; k++) {
      if (strcmp(P->deny_read.v[k].key, P->roots[i].key) == 0) continue;
      char *c = wfs_canonical(P->fs, P->deny_read.v[k].path);
      if (c != NULL && same_path(c, P->roots[i].path)) via = P->deny_read.v[k].path;
      free(c);
    }
    char *rule = via ? csb_xasprintf("deny-read path `%s` leads to the writable root `%s`", via,
                                     P->roots[i].path)
                     : csb_xasprintf("writable root `%s` is a deny-read path", P->roots[i].path);
    rc = verdict(P,
                 "the write root's allow ACE for the sandbox group would replace its deny-read "
                 "ACE; refusing to run unsandboxed",
                 rule, "drop the write rule, or the deny rule (or link) that reaches the writable "
                       "root");
    free(rule);
    return rc;
  }
  for (size_t i = 0; i < P->deny_read.n; i++)
    if (P->deny_read.v[i].flag) add_mkdir(P, "deny_read", P->deny_read.v[i].path);
  return 0;
}

/* Key prefix test on keys ("c:/a" covers "c:/a" and "c:/a/b"). */
static int key_under(const char *prefix, const char *key) {
  size_t n = strlen(prefix);
  if (strncmp(prefix, key, n) != 0) return 0;
  return key[n] == '\0' || key[n] == '/';
}

static int under_deny_read(planner *P, const char *key) {
  return ps_has_key_or_above(&P->deny_read, key);
}

/* ---- 6: read roots (elevated) --------------------------------------------------------- */

static void plan_read_roots(planner *P) {
  pathset cand = {0};
  csb_strv ssh_deps;
  csb_strv_init(&ssh_deps);
  ssh_dependencies(P, &ssh_deps);
  char *bin = csb_winpath_join(P->home, ".sandbox-bin");
  char *cwd_root = csb_winpath_root(P->p->cwd);
  /* The sandbox binaries dir is created when missing: flag 1 keeps it. */
  ps_add(&cand, bin, 1);
  for (size_t i = 0; i < CSB_ARRAY_LEN(kPlatformDefaultReadRoots); i++)
    ps_add(&cand, kPlatformDefaultReadRoots[i], 0);
  if (P->o->user_profile != NULL) ps_add(&cand, P->o->user_profile, 0);
  ps_add(&cand, P->p->cwd, 0);
  for (size_t i = 0; i < P->n_roots; i++) ps_add(&cand, P->roots[i].path, 0);
  for (size_t i = 0; i < P->v->readable_roots.len; i++) {
    const char *r = P->v->readable_roots.items[i];
    if (csb_winpath_is_root(r) && under(r, P->p->cwd)) continue;
    ps_add(&cand, r, 0);
  }
  /* Existing paths only, canonicalised, the profile expanded. */
  pathset kept = {0};
  for (size_t i = 0; i < cand.n; i++) {
    const char *c = cand.v[i].path;
    if (cand.v[i].flag) {
      ps_add(&kept, c, 0);
      continue;
    }
    if (!exists(P, c)) continue;
    char *canon = canonical_or_self(P, c);
    add_expanding_profile(P, &kept, canon, &ssh_deps, 0);
    free(canon);
  }
  ps_finish(&kept);
  /* Inside the csb home only the binaries dir is granted: the capability
   * SIDs, the state and the secrets stay csb's own. */
  char *bin_key = key_of(bin);
  char *home_keys[2] = {key_of(P->home), P->home_canon ? key_of(P->home_canon) : NULL};
  for (size_t i = 0; i < kept.n; i++) {
    const char *key = kept.v[i].key;
    int drop = under_deny_read(P, key);
    for (int h = 0; h < 2 && !drop; h++)
      if (home_keys[h] != NULL && key_under(home_keys[h], key) && !key_under(bin_key, key)) drop = 1;
    if (!drop && root_at_key(P, key, strlen(key)) >= 0) drop = 1;
    if (!drop) ps_add(&P->read_roots, kept.v[i].path, 0);
  }
  ps_finish(&P->read_roots);
  free(bin_key);
  free(home_keys[0]);
  free(home_keys[1]);
  ps_free(&kept);
  ps_free(&cand);
  csb_strv_free(&ssh_deps);
  free(bin);
  free(cwd_root);
}

/* ---- 5b: deny-read state ---------------------------------------------------------------- */

static cJSON *plan_state(planner *P, int *pending_revoke, int *pending_write) {
  cJSON *st = csb_json_new_object();
  char *file = csb_winpath_join(P->home, ".sandbox\\deny_read_acl_state.json");
  csb_json_add_string(st, "file", file);
  csb_json_add_string(st, "principal", "group");
  const char *sid = sid_of(P, "group");
  const char *status = "missing";
  cJSON *doc = NULL;
  if (wfs_lkind(P->fs, file) != WFS_MISSING) {
    char *text = NULL;
    size_t len = 0;
    status = "corrupt";
    if (wfs_read(P->fs, file, MAX_STATE_BYTES, &text, &len, NULL) &&
        csb_json_parse(text, len, &doc, NULL) && cJSON_IsObject(doc)) {
      const cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "principals");
      int ok = cJSON_IsObject(pr);
      for (const cJSON *c = ok ? pr->child : NULL; c && ok; c = c->next) {
        ok = cJSON_IsArray(c);
        for (const cJSON *x = ok ? c->child : NULL; x && ok; x = x->next) ok = cJSON_IsString(x);
      }
      if (ok) status = "ok";
    }
    free(text);
  }
  csb_json_add_string(st, "status", status);
  cJSON *recorded = csb_json_add_array(st, "recorded");
  cJSON *revoke = csb_json_add_array(st, "revoke");
  cJSON *record = csb_json_add_array(st, "record");
  csb_strv rec;
  csb_strv_init(&rec);
  if (strcmp(status, "ok") == 0 && sid != NULL) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "principals"), sid);
    for (const cJSON *x = list ? list->child : NULL; x; x = x->next)
      csb_strv_push(&rec, x->valuestring);
  }
  for (size_t i = 0; i < rec.len; i++) {
    csb_json_add_string(recorded, NULL, rec.items[i]);
    char *k = key_of(rec.items[i]);
    /* Revoking goes by name to the object: a recorded spelling that now
     * leads (through a link) to a path still denied would remove the
     * group's ACE there. It is dropped from the record instead. */
    int alias = 0;
    if (!ps_has_key(&P->deny_read, k)) {
      char *c = wfs_canonical(P->fs, rec.items[i]);
      char *ck = c ? key_of(c) : NULL;
      alias = ck != NULL && ps_has_key(&P->deny_read, ck);
      free(ck);
      free(c);
    }
    if (!alias && !ps_has_key(&P->deny_read, k)) {
      csb_json_add_string(revoke, NULL, rec.items[i]);
      (*pending_revoke)++;
    }
    free(k);
  }
  int same = rec.len == P->deny_read.n;
  for (size_t i = 0; i < P->deny_read.n; i++) {
    csb_json_add_string(record, NULL, P->deny_read.v[i].path);
    if (same && strcmp(rec.items[i], P->deny_read.v[i].path) != 0) same = 0;
  }
  *pending_write = strcmp(status, "corrupt") == 0 || !same;
  if (sid == NULL && P->deny_read.n == 0 && strcmp(status, "corrupt") != 0) *pending_write = 0;
  if (strcmp(status, "corrupt") == 0)
    note(P, "the deny-read state file `%s` is corrupt: it is renamed to `%s.corrupt` and treated as empty",
         file, file);
  if (sid == NULL)
    note(P, "the group SID is not known (--sid group=SID): ACEs recorded for it earlier are "
            "compared at apply time");
  csb_strv_free(&rec);
  cJSON_Delete(doc);
  free(file);
  return st;
}

/* ---- 7: output ---------------------------------------------------------------------- */

static void add_ace(cJSON *aces, const char *source, const char *path, const char *trustee,
                    int deny, uint32_t mask, int inherit) {
  cJSON *a = csb_json_add_object(aces, NULL);
  csb_json_add_string(a, "source", source);
  csb_json_add_string(a, "path", path);
  csb_json_add_string(a, "trustee", trustee);
  csb_json_add_string(a, "type", deny ? "deny" : "allow");
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08x", (unsigned)mask);
  csb_json_add_string(a, "mask", hex);
  const char *name = wa_mask_name(mask);
  if (name) csb_json_add_string(a, "rights", name);
  csb_json_add_string(a, "inherit", inherit ? "CI|OI" : "none");
}

/* Capability trustees of the write roots that overlap `path`; all of them
 * when none does. */
static void carveout_trustees(planner *P, const char *path, csb_strv *out) {
  /* The roots at or above `path` are the ones keyed by its key and its
   * ancestors' keys; those below it start with its key and a `/`, a run
   * of the sorted roots after it. In root order: the ancestors' keys sort
   * before the path's, shorter first, and the path's before the run. */
  char *key = key_of(path);
  size_t len = strlen(key);
  for (size_t n = 1; n <= len; n++) {
    if (key[n] != '/' && key[n] != '\0') continue;
    long at = root_at_key(P, key, n);
    if (at >= 0) csb_strv_push(out, P->roots[at].trustee);
  }
  char *run = csb_xasprintf("%s/", key);
  size_t lo = lower_bound_key(P->roots, P->n_roots, sizeof *P->roots, offsetof(wroot, key), run);
  for (size_t i = lo; i < P->n_roots && strncmp(P->roots[i].key, run, len + 1) == 0; i++)
    csb_strv_push(out, P->roots[i].trustee);
  free(run);
  free(key);
  if (out->len == 0)
    for (size_t i = 0; i < P->n_roots; i++) csb_strv_push(out, P->roots[i].trustee);
}

/* Deny ACEs of `mask` on each path of `set` for carveout_trustees. */
static void carveout_aces(planner *P, cJSON *aces, const char *source, const pathset *set,
                          uint32_t mask, int inherit) {
  for (size_t i = 0; i < set->n; i++) {
    csb_strv t;
    csb_strv_init(&t);
    carveout_trustees(P, set->v[i].path, &t);
    for (size_t k = 0; k < t.len; k++)
      add_ace(aces, source, set->v[i].path, t.items[k], 1, mask, inherit);
    csb_strv_free(&t);
  }
}

static void emit_aces(planner *P, cJSON *plan) {
  cJSON *aces = csb_json_add_array(plan, "aces");
  if (P->elevated) {
    for (size_t i = 0; i < P->deny_read.n; i++)
      add_ace(aces, "deny_read", P->deny_read.v[i].path, "group", 1, WA_MASK_DENY_READ, 1);
    for (size_t i = 0; i < P->read_roots.n; i++)
      add_ace(aces, "read_root", P->read_roots.v[i].path, "group", 0, WA_MASK_READ_EXECUTE, 1);
    for (size_t i = 0; i < P->n_roots; i++) {
      add_ace(aces, "write_root", P->roots[i].path, "group", 0, WA_MASK_WRITE_ALLOW, 1);
      add_ace(aces, "write_root", P->roots[i].path, P->roots[i].trustee, 0, WA_MASK_WRITE_ALLOW, 1);
    }
  } else {
    for (size_t i = 0; i < P->n_roots; i++)
      add_ace(aces, "write_root", P->roots[i].path, P->roots[i].trustee, 0, WA_MASK_RWX, 1);
  }
  carveout_aces(P, aces, "deny_write", &P->deny_write, WA_MASK_DENY_WRITE, 1);
  carveout_aces(P, aces, "protected_ancestor", &P->ancestors, WA_DELETE, 0);
  if (!P->elevated) {
    const char *nul = "\\\\.\\NUL";
    if (P->write_mode) {
      for (size_t i = 0; i < P->n_roots; i++)
        add_ace(aces, "null_device", nul, P->roots[i].trustee, 0, WA_MASK_RWX, 0);
      add_ace(aces, "null_device", nul, "logon", 0, WA_MASK_RWX, 0);
    } else {
      add_ace(aces, "null_device", nul, "cap:readonly", 0, WA_MASK_RWX, 0);
    }
  }
}

static void lock_ace(cJSON *arr, const char *trustee, int deny, uint32_t mask) {
  cJSON *a = csb_json_add_object(arr, NULL);
  csb_json_add_string(a, "trustee", trustee);
  csb_json_add_string(a, "type", deny ? "deny" : "allow");
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08x", (unsigned)mask);
  csb_json_add_string(a, "mask", hex);
}

/* Adds the lock of the directory `name` in the csb home to locks; returns
 * its ACE list for lock_ace. */
static cJSON *dir_lock(planner *P, cJSON *locks, const char *name, bool is_protected) {
  char *path = csb_winpath_join(P->home, name);
  cJSON *l = csb_json_add_object(locks, NULL);
  csb_json_add_string(l, "path", path);
  csb_json_add_bool(l, "protected", is_protected);
  free(path);
  return csb_json_add_array(l, "aces");
}

static void emit_dir_locks(planner *P, cJSON *plan) {
  cJSON *locks = csb_json_add_array(plan, "dir_locks");
  if (!P->elevated) return;
  cJSON *a = dir_lock(P, locks, ".sandbox-bin", true);
  lock_ace(a, "group", 0, WA_MASK_READ_EXECUTE);
  lock_ace(a, "real_user", 0, WA_MASK_RWXD);
  lock_ace(a, "system", 0, WA_MASK_RWXD);
  lock_ace(a, "administrators", 0, WA_MASK_RWXD);
  a = dir_lock(P, locks, ".sandbox", false);
  lock_ace(a, "group", 0, WA_MASK_RWXD);
  lock_ace(a, "real_user", 0, WA_MASK_RWX);
  a = dir_lock(P, locks, ".sandbox-secrets", false);
  lock_ace(a, "group", 1, WA_MASK_RWXD);
  lock_ace(a, "real_user", 0, WA_MASK_RWX);
}

/* Unelevated: Everyone and the logon SID are restricting SIDs, so
 * directories writable by Everyone stay writable; the applier scans for
 * them (windows.md B6) and denies writes there to the capability SIDs. */
static void emit_audit(planner *P, cJSON *plan) {
  if (P->elevated) {
    csb_json_add_null(plan, "audit");
    return;
  }
  cJSON *a = csb_json_add_object(plan, "audit");
  csb_json_add_string(a, "kind", "everyone_writable");
  csb_json_add_int(a, "budget_ms", 2000);
  csb_json_add_int(a, "max_checks", 50000);
  csb_json_add_int(a, "max_entries_per_dir", 1000);
  cJSON *c = csb_json_add_array(a, "candidates");
  static const char *const cands[] = {"cwd", "%TEMP%", "%TMP%", "%USERPROFILE%", "%PUBLIC%",
                                      "%PATH%", "C:\\", "C:\\Windows"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(cands); i++) csb_json_add_string(c, NULL, cands[i]);
  cJSON *t = csb_json_add_array(a, "deny_trustees");
  if (P->write_mode)
    for (size_t i = 0; i < P->n_roots; i++) csb_json_add_string(t, NULL, P->roots[i].trustee);
  else
    csb_json_add_string(t, NULL, "cap:readonly");
}

static void fw_rule(cJSON *arr, const char *op, const char *name, const char *friendly,
                    const char *proto, const char *addrs, const char *ports) {
  cJSON *r = csb_json_add_object(arr, NULL);
  csb_json_add_string(r, "op", op);
  csb_json_add_string(r, "name", name);
  if (strcmp(op, "remove") == 0) return;
  if (friendly) csb_json_add_string(r, "friendly_name", friendly);
  if (proto) csb_json_add_string(r, "protocol", proto);
  if (addrs) csb_json_add_string(r, "remote_addresses", addrs);
  csb_json_add_string(r, "remote_ports", ports);
  if (strcmp(op, "ensure") == 0) {
    csb_json_add_string(r, "direction", "out");
    csb_json_add_string(r, "action", "block");
    csb_json_add_string(r, "profiles", "all");
    csb_json_add_string(r, "local_user_authorized_list", "O:LSD:(A;;CC;;;{offline})");
  }
}

static int offline(const planner *P) {
  return P->elevated && P->p->net_mode != CSB_NET_ENABLED;
}

static void emit_network(planner *P, cJSON *plan) {
  const csb_policy *p = P->p;
  cJSON *net = csb_json_add_object(plan, "network");
  const char *mode = p->net_mode == CSB_NET_ENABLED ? "enabled"
                     : p->net_mode == CSB_NET_PROXY ? "proxy"
                                                    : "restricted";
  csb_json_add_string(net, "mode", mode);
  csb_json_add_bool(net, "allow_local_binding", p->allow_local_binding != 0);
  cJSON *ports = csb_json_add_array(net, "proxy_ports");
  for (size_t i = 0; i < P->n_ports; i++) csb_json_add_int(ports, NULL, P->ports[i]);
  const char *enforcement;
  if (p->net_mode == CSB_NET_ENABLED)
    enforcement = "none";
  else if (P->elevated)
    enforcement = "firewall";
  else
    enforcement = "environment";
  csb_json_add_string(net, "enforcement", enforcement);

  cJSON *fw = csb_json_add_array(plan, "firewall");
  if (!offline(P)) return;
  if (p->allow_local_binding) {
    fw_rule(fw, "remove", FW_LEGACY_ALLOW, NULL, NULL, NULL, NULL);
    fw_rule(fw, "remove", FW_LOOPBACK_UDP, NULL, NULL, NULL, NULL);
    fw_rule(fw, "remove", FW_LOOPBACK_TCP, NULL, NULL, NULL, NULL);
  } else {
    fw_rule(fw, "ensure", FW_LOOPBACK_UDP, "csb Sandbox Offline - Block Loopback UDP", "UDP",
            FW_LOOPBACK, "*");
    fw_rule(fw, "ensure", FW_LOOPBACK_TCP,
            "csb Sandbox Offline - Block Loopback TCP (Except Proxy)", "TCP", FW_LOOPBACK, "*");
    fw_rule(fw, "remove", FW_LEGACY_ALLOW, NULL, NULL, NULL, NULL);
    if (P->n_ports > 0) {
      char *c = wa_port_complement(P->ports, P->n_ports);
      if (c[0] != '\0') fw_rule(fw, "narrow", FW_LOOPBACK_TCP, NULL, NULL, NULL, c);
      free(c);
    }
  }
  fw_rule(fw, "ensure", FW_OUTBOUND, "csb Sandbox Offline - Block Non-Loopback Outbound", "ANY",
          FW_NON_LOOPBACK, "*");
}

static void emit_wfp(planner *P, cJSON *plan) {
  if (!offline(P)) {
    csb_json_add_null(plan, "wfp");
    return;
  }
  cJSON *w = csb_json_add_object(plan, "wfp");
  csb_json_add_string(w, "provider", WFP_PROVIDER);
  csb_json_add_string(w, "sublayer", WFP_SUBLAYER);
  csb_json_add_int(w, "sublayer_weight", 0x8000);
  csb_json_add_string(w, "user", "offline");
  csb_json_add_string(w, "action", "block");
  cJSON *f = csb_json_add_array(w, "filters");
  for (size_t i = 0; i < CSB_ARRAY_LEN(kWfpFilters); i++) csb_json_add_string(f, NULL, kWfpFilters[i]);
}

static void port_list(csb_buf *b, const int *ports, size_t n) {
  csb_buf_putc(b, '[');
  for (size_t i = 0; i < n; i++) csb_buf_printf(b, "%s%d", i ? ", " : "", ports[i]);
  csb_buf_putc(b, ']');
}

static cJSON *emit_marker(planner *P, int *pending) {
  if (!offline(P)) return NULL;
  cJSON *m = csb_json_new_object();
  char *file = csb_winpath_join(P->home, ".sandbox\\setup_marker.json");
  csb_json_add_string(m, "file", file);
  csb_json_add_int(m, "version", WA_SETUP_VERSION);
  csb_json_add_string(m, "offline_username", WA_OFFLINE_USER);
  csb_json_add_string(m, "online_username", WA_ONLINE_USER);
  cJSON *ports = csb_json_add_array(m, "proxy_ports");
  for (size_t i = 0; i < P->n_ports; i++) csb_json_add_int(ports, NULL, P->ports[i]);
  csb_json_add_bool(m, "allow_local_binding", P->p->allow_local_binding != 0);
  /* Compare with the stored marker (identity.rs B2.8). */
  const char *status = "missing";
  char *reason = NULL;
  char *text = NULL;
  size_t len = 0;
  cJSON *doc = NULL;
  if (wfs_lkind(P->fs, file) == WFS_FILE &&
      wfs_read(P->fs, file, MAX_SMALL_FILE, &text, &len, NULL) &&
      csb_json_parse(text, len, &doc, NULL) && cJSON_IsObject(doc)) {
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != WA_SETUP_VERSION) {
      status = "mismatch";
      reason = csb_xstrdup("sandbox setup marker missing or incompatible");
    } else {
      const cJSON *sp = cJSON_GetObjectItemCaseSensitive(doc, "proxy_ports");
      const cJSON *sb = cJSON_GetObjectItemCaseSensitive(doc, "allow_local_binding");
      int stored[WA_MAX_PROXY_PORTS + 2];
      size_t ns = 0;
      for (const cJSON *x = cJSON_IsArray(sp) ? sp->child : NULL; x && ns < CSB_ARRAY_LEN(stored);
           x = x->next)
        if (cJSON_IsNumber(x)) stored[ns++] = (int)x->valuedouble;
      int sbind = cJSON_IsTrue(sb);
      int same = ns == P->n_ports && sbind == (P->p->allow_local_binding != 0);
      for (size_t i = 0; same && i < ns; i++) same = stored[i] == P->ports[i];
      if (same) {
        status = "ok";
      } else {
        status = "mismatch";
        csb_buf b = {0};
        csb_buf_puts(&b, "offline firewall settings changed (stored_ports=");
        port_list(&b, stored, ns);
        csb_buf_puts(&b, ", desired_ports=");
        port_list(&b, P->ports, P->n_ports);
        csb_buf_printf(&b, ", stored_allow_local_binding=%s, desired_allow_local_binding=%s)",
                       sbind ? "true" : "false", P->p->allow_local_binding ? "true" : "false");
        reason = csb_buf_steal(&b);
      }
    }
  } else if (wfs_lkind(P->fs, file) != WFS_MISSING) {
    status = "mismatch";
    reason = csb_xstrdup("sandbox setup marker missing or incompatible");
  } else {
    reason = csb_xstrdup("sandbox setup marker missing or incompatible");
  }
  csb_json_add_string(m, "status", status);
  if (reason) csb_json_add_string(m, "reason", reason);
  *pending = strcmp(status, "ok") != 0;
  free(reason);
  cJSON_Delete(doc);
  free(text);
  free(file);
  return m;
}

static void emit_desktop(planner *P, cJSON *plan) {
  cJSON *d = csb_json_add_object(plan, "desktop");
  csb_json_add_bool(d, "private", P->o->private_desktop != 0);
  if (!P->o->private_desktop) {
    csb_json_add_string(d, "name", "Winsta0\\Default");
    return;
  }
  csb_json_add_string(d, "name_prefix", WA_DESKTOP_PREFIX);
  csb_json_add_string(d, "nonce", "32 random hex digits, chosen at apply time");
  char *sddl;
  if (P->elevated)
    sddl = csb_xasprintf("D:P(A;;0x%x;;;{real_user})(A;;0x%x;;;{%s})", WA_DESKTOP_ALL,
                         WA_DESKTOP_PARTICIPANT, offline(P) ? "offline" : "online");
  else
    sddl = csb_xasprintf("D:P(A;;0x%x;;;{real_user})(A;;0x%x;;;{logon})", WA_DESKTOP_ALL,
                         WA_DESKTOP_ALL);
  csb_json_add_string(d, "sddl", sddl);
  free(sddl);
}

static void emit_token(planner *P, cJSON *plan) {
  cJSON *t = csb_json_add_object(plan, "token");
  csb_json_add_string(t, "base", P->elevated ? "sandbox_user" : "current_process");
  csb_json_add_string(t, "mode", P->write_mode ? "writable_roots" : "read_only");
  cJSON *f = csb_json_add_array(t, "flags");
  csb_json_add_string(f, NULL, "DISABLE_MAX_PRIVILEGE");
  csb_json_add_string(f, NULL, "LUA_TOKEN");
  csb_json_add_string(f, NULL, "WRITE_RESTRICTED");
  cJSON *r = csb_json_add_array(t, "restricting_sids");
  cJSON *dd = csb_json_add_array(t, "default_dacl_generic_all");
  if (P->write_mode) {
    for (size_t i = 0; i < P->n_roots; i++) csb_json_add_string(r, NULL, P->roots[i].trustee);
  } else {
    csb_json_add_string(r, NULL, "cap:readonly");
  }
  if (P->elevated) csb_json_add_string(r, NULL, offline(P) ? "offline" : "online");
  csb_json_add_string(r, NULL, "logon");
  csb_json_add_string(r, NULL, "everyone");
  csb_json_add_string(dd, NULL, "logon");
  csb_json_add_string(dd, NULL, "everyone");
  if (P->write_mode)
    for (size_t i = 0; i < P->n_roots; i++) csb_json_add_string(dd, NULL, P->roots[i].trustee);
  else
    csb_json_add_string(dd, NULL, "cap:readonly");
  cJSON *pv = csb_json_add_array(t, "privileges_enabled");
  csb_json_add_string(pv, NULL, "SeChangeNotifyPrivilege");
}

static void emit_env(planner *P, cJSON *plan) {
  cJSON *env = csb_json_add_object(plan, "env");
  cJSON *set = csb_json_add_object(env, "set");
  cJSON *def = csb_json_add_object(env, "default");
  csb_json_add_string(set, "GIT_PAGER", "more.com");
  csb_json_add_string(set, "PAGER", "more.com");
  csb_json_add_string(set, "LESS", "");
  if (P->elevated) {
    char *cwd = csb_xstrdup(P->p->cwd);
    for (char *c = cwd; *c; c++)
      if (*c == '\\') *c = '/';
    csb_json_add_string(set, "GIT_CONFIG_COUNT", "1");
    csb_json_add_string(set, "GIT_CONFIG_KEY_0", "safe.directory");
    csb_json_add_string(set, "GIT_CONFIG_VALUE_0", cwd);
    free(cwd);
    return;
  }
  if (P->p->net_mode != CSB_NET_RESTRICTED) return;
  /* Best-effort blocking of the unelevated backend (environment only). */
  const char *dead = "http://127.0.0.1:9";
  csb_json_add_string(set, "CSB_SANDBOX_NO_NETWORK", "1");
  csb_json_add_string(set, "PIP_NO_INDEX", "1");
  csb_json_add_string(set, "PIP_DISABLE_PIP_VERSION_CHECK", "1");
  csb_json_add_string(set, "NPM_CONFIG_OFFLINE", "true");
  csb_json_add_string(set, "CARGO_NET_OFFLINE", "true");
  csb_json_add_string(set, "GIT_HTTP_PROXY", dead);
  csb_json_add_string(set, "GIT_HTTPS_PROXY", dead);
  csb_json_add_string(set, "GIT_SSH_COMMAND", "cmd /c exit 1");
  csb_json_add_string(set, "GIT_ALLOW_PROTOCOLS", "");
  csb_json_add_string(def, "HTTP_PROXY", dead);
  csb_json_add_string(def, "HTTPS_PROXY", dead);
  csb_json_add_string(def, "ALL_PROXY", dead);
  csb_json_add_string(def, "NO_PROXY", "localhost,127.0.0.1,::1");
}

static void principal(cJSON *obj, const char *name, const char *account, const char *sid) {
  cJSON *x = csb_json_add_object(obj, name);
  if (account)
    csb_json_add_string(x, "account", account);
  else
    csb_json_add_null(x, "account");
  if (sid)
    csb_json_add_string(x, "sid", sid);
  else
    csb_json_add_null(x, "sid");
}

static void emit_identity(planner *P, cJSON *plan) {
  cJSON *id = csb_json_add_object(plan, "identity");
  cJSON *pr = csb_json_add_object(plan, "principals");
  if (P->elevated) {
    int off = offline(P);
    csb_json_add_string(id, "kind", off ? "offline" : "online");
    csb_json_add_string(id, "account", off ? WA_OFFLINE_USER : WA_ONLINE_USER);
    csb_json_add_string(id, "group", WA_USERS_GROUP);
    csb_json_add_string(id, "launch", "CreateProcessWithLogonW");
    principal(pr, "group", WA_USERS_GROUP, sid_of(P, "group"));
    principal(pr, "offline", WA_OFFLINE_USER, sid_of(P, "offline"));
    if (!off) principal(pr, "online", WA_ONLINE_USER, sid_of(P, "online"));
    principal(pr, "system", "NT AUTHORITY\\SYSTEM", "S-1-5-18");
    principal(pr, "administrators", "BUILTIN\\Administrators", "S-1-5-32-544");
  } else {
    csb_json_add_string(id, "kind", "real_user");
    csb_json_add_string(id, "launch", "CreateProcessAsUserW");
  }
  principal(pr, "real_user", NULL, sid_of(P, "real_user"));
  principal(pr, "logon", NULL, sid_of(P, "logon"));
  principal(pr, "everyone", "Everyone", "S-1-1-0");
  if (P->write_mode) {
    for (size_t i = 0; i < P->n_roots; i++) principal(pr, P->roots[i].trustee, NULL, P->roots[i].sid);
  } else {
    principal(pr, "cap:readonly", NULL, record_sid(P, "readonly", NULL));
  }
}

static void emit_caps(planner *P, cJSON *plan) {
  cJSON *c = csb_json_add_object(plan, "capability_sids");
  char *file = csb_winpath_join(P->home, "cap_sid");
  csb_json_add_string(c, "file", file);
  csb_json_add_string(c, "status", P->cap_status);
  cJSON *e = csb_json_add_array(c, "entries");
  if (P->write_mode) {
    for (size_t i = 0; i < P->n_roots; i++) {
      cJSON *x = csb_json_add_object(e, NULL);
      csb_json_add_string(x, "trustee", P->roots[i].trustee);
      csb_json_add_string(x, "slot", P->roots[i].slot);
      csb_json_add_string(x, "key", P->roots[i].key);
      if (P->roots[i].sid)
        csb_json_add_string(x, "sid", P->roots[i].sid);
      else
        csb_json_add_null(x, "sid");
    }
  } else {
    cJSON *x = csb_json_add_object(e, NULL);
    csb_json_add_string(x, "trustee", "cap:readonly");
    csb_json_add_string(x, "slot", "readonly");
    csb_json_add_null(x, "key");
    const char *sid = record_sid(P, "readonly", NULL);
    if (sid)
      csb_json_add_string(x, "sid", sid);
    else
      csb_json_add_null(x, "sid");
  }
  free(file);
}

static void sandbox_dirs(planner *P) {
  if (!P->elevated) return;
  static const char *const dirs[] = {".sandbox", ".sandbox-bin", ".sandbox-secrets"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(dirs); i++) {
    char *d = csb_winpath_join(P->home, dirs[i]);
    add_mkdir(P, "sandbox_dir", d);
    free(d);
  }
}

static cJSON *path_array(cJSON *parent, const char *key, const pathset *s) {
  cJSON *a = csb_json_add_array(parent, key);
  for (size_t i = 0; i < s->n; i++) csb_json_add_string(a, NULL, s->v[i].path);
  return a;
}

static int build(planner *P, cJSON **out) {
  int rc;
  if ((rc = gate(P)) != 0) return rc;
  if ((rc = names_check(P)) != 0) return rc;
  P->p = csb_policy_clone(P->src);
  P->probe.ctx = P->fs;
  P->probe.stat = probe_stat;
  P->probe.read_file = probe_read;
  P->probe.effective = probe_effective;
  csb_policy_set_probe(P->p, &P->probe);
  if (!csb_policy_view_build(P->p, &P->v, P->err)) return CSB_EXIT_INTERNAL;
  P->entry_eff = csb_xcalloc(P->p->n_entries ? P->p->n_entries : 1, sizeof(char *));
  for (size_t i = 0; i < P->p->n_entries; i++) {
    const csb_policy_entry *e = &P->p->entries[i];
    P->entry_eff[i] = wfs_effective(P->fs, e->path);
    if (e->access == CSB_ACCESS_DENY) ki_add(&P->deny_eff, P->entry_eff[i], i);
    if (e->access == CSB_ACCESS_WRITE) {
      ki_add(&P->write_at, e->path, i);
      ki_add(&P->write_at, P->entry_eff[i], i);
    }
    if (e->access != CSB_ACCESS_WRITE && !e->skip_if_missing) {
      ki_add(&P->explicit_ro, e->path, i);
      ki_add(&P->explicit_ro, P->entry_eff[i], i);
    }
  }
  ki_finish(&P->deny_eff);
  ki_finish(&P->explicit_ro);
  ki_finish(&P->write_at);
  P->cwd_canon = canonical_or_self(P, P->p->cwd);
  P->cwd_key = key_of(P->cwd_canon);
  P->home = csb_winpath_normalize(P->o->csb_home);
  if (P->home == NULL)
    return fail(P, CSB_EXIT_USAGE, "csb home `%s` is not an absolute Windows path",
                P->o->csb_home);
  /* Effective, not only canonical: a home that apply creates below a link
   * (C:\link\state, C:\link -> C:\repo) lands where the link leads. */
  P->home_canon = wfs_effective(P->fs, P->home);

  if ((rc = root_read_check(P)) != 0) return rc;
  if (!P->elevated && (rc = deny_read_unelevated(P)) != 0) return rc;
  if ((rc = reopen_check(P)) != 0) return rc;
  if (!P->elevated && (rc = split_write_check(P)) != 0) return rc;
  if ((rc = network_check(P)) != 0) return rc;
  if ((rc = proxy_ports(P)) != 0) return rc;
  if ((rc = load_cap_record(P)) != 0) return rc;
  if ((rc = plan_write_roots(P)) != 0) return rc;
  if ((rc = replaceable_root_check(P)) != 0) return rc;
  if (!P->write_mode && record_sid(P, "readonly", NULL) == NULL) P->caps_to_create++;
  if (P->elevated && (rc = plan_deny_read(P)) != 0) return rc;
  if ((rc = plan_deny_write(P)) != 0) return rc;
  if ((rc = plan_ancestors(P)) != 0) return rc;
  for (size_t i = 0; i < P->deny_write.n; i++)
    if (P->deny_write.v[i].flag) add_mkdir(P, "deny_write", P->deny_write.v[i].path);
  if (P->elevated) plan_deny_read_writes(P);
  if (P->elevated) plan_read_roots(P);
  sandbox_dirs(P);

  cJSON *plan = csb_json_new_object();
  csb_json_add_string(plan, "schema", WA_PLAN_SCHEMA);
  csb_json_add_string(plan, "backend", P->backend);
  csb_json_add_string(plan, "cwd", P->p->cwd);
  csb_json_add_string(plan, "csb_home", P->home);
  csb_json_add_string(plan, "summary", P->p->summary ? P->p->summary : "");
  emit_identity(P, plan);
  emit_token(P, plan);
  emit_caps(P, plan);

  cJSON *wr = csb_json_add_array(plan, "write_roots");
  for (size_t i = 0; i < P->n_roots; i++) {
    cJSON *x = csb_json_add_object(wr, NULL);
    csb_json_add_string(x, "path", P->roots[i].path);
    csb_json_add_string(x, "capability", P->roots[i].trustee);
  }
  cJSON *dw = csb_json_add_array(plan, "deny_write");
  for (size_t i = 0; i < P->deny_write.n; i++) {
    cJSON *x = csb_json_add_object(dw, NULL);
    csb_json_add_string(x, "path", P->deny_write.v[i].path);
    csb_json_add_bool(x, "materialize", P->deny_write.v[i].flag != 0);
  }
  path_array(plan, "read_roots", &P->read_roots);
  int pending_revoke = 0, pending_state = 0, pending_marker = 0;
  if (P->elevated) {
    cJSON *dr = csb_json_add_object(plan, "deny_read");
    cJSON *paths = csb_json_add_array(dr, "paths");
    for (size_t i = 0; i < P->deny_read.n; i++) {
      cJSON *x = csb_json_add_object(paths, NULL);
      csb_json_add_string(x, "path", P->deny_read.v[i].path);
      csb_json_add_bool(x, "materialize", P->deny_read.v[i].flag != 0);
    }
    cJSON_AddItemToObject(dr, "globs", P->glob_summaries);
    P->glob_summaries = NULL;
    cJSON_AddItemToObject(dr, "state", plan_state(P, &pending_revoke, &pending_state));
  } else {
    csb_json_add_null(plan, "deny_read");
  }
  cJSON *mk = csb_json_add_array(plan, "mkdir");
  for (size_t i = 0; i < P->mkdir.len; i++) {
    const char *s = P->mkdir.items[i];
    const char *tab = strchr(s, '\t');
    cJSON *x = csb_json_add_object(mk, NULL);
    char *what = csb_xstrndup(s, (size_t)(tab - s));
    csb_json_add_string(x, "for", what);
    csb_json_add_string(x, "path", tab + 1);
    free(what);
  }
  emit_aces(P, plan);
  emit_dir_locks(P, plan);
  emit_audit(P, plan);
  emit_network(P, plan);
  emit_wfp(P, plan);
  cJSON *marker = emit_marker(P, &pending_marker);
  if (marker)
    cJSON_AddItemToObject(plan, "setup_marker", marker);
  else
    csb_json_add_null(plan, "setup_marker");
  emit_desktop(P, plan);
  emit_env(P, plan);
  cJSON *pend = csb_json_add_object(plan, "pending");
  csb_json_add_int(pend, "mkdir", (int64_t)P->mkdir.len);
  csb_json_add_int(pend, "create_capability_sids", P->caps_to_create);
  csb_json_add_int(pend, "revoke", pending_revoke);
  csb_json_add_bool(pend, "write_deny_read_state", pending_state != 0);
  csb_json_add_bool(pend, "write_setup_marker", pending_marker != 0);
  cJSON *notes = csb_json_add_array(plan, "notes");
  for (size_t i = 0; i < P->notes.len; i++) csb_json_add_string(notes, NULL, P->notes.items[i]);
  *out = plan;
  return 0;
}

int wa_plan(const csb_policy *p, wfs *fs, const wa_opts *o, cJSON **out, csb_error *err) {
  *out = NULL;
  planner P;
  memset(&P, 0, sizeof(P));
  P.src = p;
  P.fs = fs;
  P.o = o;
  P.err = err;
  P.elevated = o->backend == WA_ELEVATED;
  P.backend = wa_backend_name(o->backend);
  csb_strv_init(&P.mkdir);
  csb_strv_init(&P.mkdir_keys);
  csb_spath_set_init(&P.mkdir_set, CSB_PATH_POSIX, 1, &P.mkdir_keys);
  csb_strv_init(&P.notes);
  int rc = build(&P, out);
  if (P.entry_eff != NULL)
    for (size_t i = 0; i < P.p->n_entries; i++) free(P.entry_eff[i]);
  free(P.entry_eff);
  ki_free(&P.deny_eff);
  ki_free(&P.explicit_ro);
  ki_free(&P.write_at);
  for (size_t i = 0; i < P.n_roots; i++) {
    free(P.roots[i].path);
    free(P.roots[i].key);
    free(P.roots[i].trustee);
    free(P.roots[i].sid);
  }
  free(P.roots);
  ps_free(&P.deny_write);
  ps_free(&P.ancestors);
  ps_free(&P.deny_read);
  ps_free(&P.read_roots);
  csb_strv_free(&P.mkdir);
  csb_spath_set_free(&P.mkdir_set);
  csb_strv_free(&P.mkdir_keys);
  csb_strv_free(&P.notes);
  cJSON_Delete(P.glob_summaries);
  cJSON_Delete(P.cap_record);
  csb_policy_view_free(P.v);
  csb_policy_free(P.p);
  free(P.cwd_canon);
  free(P.cwd_key);
  free(P.home);
  free(P.home_canon);
  return rc;
}
