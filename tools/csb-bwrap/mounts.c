/* mounts.c - the filesystem half of the bubblewrap argv.
 *
 * Every mount is first collected as an operation on a destination path,
 * then the operations are emitted sorted by depth (shallowest first; at
 * equal paths read < write < deny), because bubblewrap applies mounts in
 * argv order and a later mount wins. That reproduces the policy's "deepest
 * entry wins" rule: a writable child re-opens a read-only or denied
 * parent, a deeper deny hides part of a writable root.
 *
 * Masks:
 *   read-only carve-out, existing      --ro-bind P P
 *   read-only carve-out, missing       --perms 0444 --ro-bind-data FD M   (M = first missing component)
 *   protected name, missing            --perms 0555 --tmpfs M  (+ --remount-ro M at the end)
 *   deny, directory                    --perms 0000|0111 --tmpfs P  (+ --remount-ro P)
 *   deny, file                         --perms 0000 --ro-bind-data FD P
 *   deny, missing in a writable area   --perms 0000 --ro-bind-data FD M
 *   symlink on the way to a readable root (restricted read)
 *                                      --symlink TARGET LINK   (TARGET: the host's readlink)
 * Paths that bubblewrap has to create on the host (a mask on a missing path
 * inside a read-write bind) are reported as synthetic targets so that the
 * launcher can remove them after the run. A missing path whose directory
 * the caller cannot write gets no mask (kept_by_permissions).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_paths.h"

typedef enum {
  OP_BASE_RO = 0,  /* --ro-bind / / */
  OP_BASE_RW,      /* --bind / / */
  OP_BASE_TMPFS,   /* --tmpfs / */
  OP_DEV,          /* --dev /dev */
  OP_PROC,         /* --proc /proc */
  OP_RO_BIND,      /* --ro-bind src dst */
  OP_BIND,         /* --bind src dst */
  OP_EMPTY_FILE,   /* --perms 0444 --ro-bind-data fd dst */
  OP_EMPTY_DIR,    /* --perms 0555 --tmpfs dst, remount-ro */
  OP_DENY_DIR,     /* --perms 0000|0111 --tmpfs dst, remount-ro */
  OP_DENY_FILE,    /* --perms 0000 --ro-bind-data fd dst */
  OP_DATA_FILE,    /* --perms 0444 --ro-bind-data dup(fd) dst (launcher-supplied content) */
  OP_SYMLINK       /* --symlink src dst (src: the link's content on the host) */
} op_kind;

typedef struct op {
  op_kind kind;
  char *dst;
  char *key; /* dst normalised, as the index spells it */
  char *src;
  size_t depth;
  int rank;  /* tie-break at equal depth */
  size_t seq;
  char *why; /* explanation */
  int fd;    /* OP_DATA_FILE: the content */
  int pin;   /* its path must keep naming it (see pin_ancestors) */
  long same; /* the previous operation on the same destination, or -1 */
} op;

/* One path of the index: a destination, an ancestor of one, or both. */
typedef struct pslot {
  char *key; /* NULL: free slot */
  size_t len;
  uint64_t hash;
  long head;           /* the latest operation on this path, or -1 */
  size_t below;        /* operations strictly below it */
  size_t mounts_below; /* binds (read-only or not) strictly below it */
} pslot;

typedef struct builder {
  const csb_policy *p;
  const csb_policy_view *v;
  const bw_mount_opts *o;
  op *ops;
  size_t n, cap;
  pslot *slots; /* open addressing, power-of-two size */
  size_t n_slots, used_slots;
  csb_strv rw_dirs; /* destinations bound read-write (canonical) */
  csb_strv writable_logical; /* writable roots as written */
  int pinning; /* operations added now get `pin` */
  csb_strv kept; /* missing paths the host's permissions keep uncreatable */
  /* Per policy entry: where a read entry leads (its symlinks followed),
   * NULL for other entries and for read entries another entry at the
   * same path overrides; computed once, for every writable root. */
  char **read_leads;
  int read_leads_done;
  /* What the file system answered during this build (lstat, stat,
   * faccessat, links): every path is asked once while the plan is made. */
  csb_path_memo *memo;
  bw_fsargs *out;
  csb_error *err;
} builder;

static int rank_of(op_kind k) {
  switch (k) {
  case OP_BASE_RO: case OP_BASE_RW: case OP_BASE_TMPFS: return 0;
  case OP_DEV: case OP_PROC: return 1;
  case OP_RO_BIND: case OP_SYMLINK: return 2;
  case OP_EMPTY_FILE: case OP_EMPTY_DIR: return 3;
  case OP_BIND: return 4;
  case OP_DENY_DIR: case OP_DENY_FILE: return 5;
  case OP_DATA_FILE: return 6;
  }
  return 6;
}

/* ---- the path index -----------------------------------------------------------
 *
 * Deny globs can add thousands of operations; every question the builder
 * asks about them (what covers a path, is anything mounted below it) is
 * answered from a hash of destinations and their ancestors, never by a scan.
 * Keys are normalised paths (csb_path_normalize: "/" for the root, no
 * empty or "." component), so "/a//b/." and "/a/b" are one path. */

static pslot *slot_find(const builder *b, const char *k, size_t len) {
  if (!b->n_slots) return NULL;
  uint64_t h = csb_hash64(k, len, 0);
  for (size_t i = (size_t)h & (b->n_slots - 1);; i = (i + 1) & (b->n_slots - 1)) {
    pslot *s = &b->slots[i];
    if (!s->key) return NULL;
    if (s->hash == h && s->len == len && memcmp(s->key, k, len) == 0) return s;
  }
}

static pslot *slot_get(builder *b, const char *k, size_t len) {
  pslot *s = slot_find(b, k, len);
  if (s) return s;
  if (2 * (b->used_slots + 1) > b->n_slots) {
    size_t n = b->n_slots ? 2 * b->n_slots : 256;
    pslot *t = csb_xcalloc(n, sizeof *t);
    for (size_t i = 0; i < b->n_slots; i++) {
      if (!b->slots[i].key) continue;
      size_t j = (size_t)b->slots[i].hash & (n - 1);
      while (t[j].key) j = (j + 1) & (n - 1);
      t[j] = b->slots[i];
    }
    free(b->slots);
    b->slots = t;
    b->n_slots = n;
  }
  uint64_t h = csb_hash64(k, len, 0);
  size_t i = (size_t)h & (b->n_slots - 1);
  while (b->slots[i].key) i = (i + 1) & (b->n_slots - 1);
  s = &b->slots[i];
  s->key = csb_xstrndup(k, len);
  s->len = len;
  s->hash = h;
  s->head = -1;
  s->below = s->mounts_below = 0;
  b->used_slots++;
  return s;
}

static int is_mount(op_kind k) { return k == OP_BIND || k == OP_RO_BIND; }

/* Adds `d` to the counters of every strict ancestor of `key`. */
static void count_ancestors(builder *b, const char *key, long d_below, long d_mounts) {
  size_t len = strlen(key);
  for (size_t i = 0; i < len; i++) {
    if (key[i] != '/' || (i == len - 1)) continue;
    pslot *s = slot_get(b, key, i == 0 ? 1 : i);
    s->below = (size_t)((long)s->below + d_below);
    s->mounts_below = (size_t)((long)s->mounts_below + d_mounts);
  }
}

static void set_kind(builder *b, op *o, op_kind k) {
  if (is_mount(o->kind) != is_mount(k)) count_ancestors(b, o->key, 0, is_mount(k) ? 1 : -1);
  o->kind = k;
  o->rank = rank_of(k);
}

static void relink(builder *b) {
  for (size_t i = 0; i < b->n_slots; i++) b->slots[i].head = -1;
  for (size_t i = 0; i < b->n; i++) {
    pslot *s = slot_get(b, b->ops[i].key, strlen(b->ops[i].key));
    b->ops[i].same = s->head;
    s->head = (long)i;
  }
}

static op *add_op(builder *b, op_kind k, const char *dst, const char *src, const char *why) {
  b->ops = csb_xgrow(b->ops, &b->cap, b->n + 1, sizeof *b->ops);
  op *o = &b->ops[b->n];
  memset(o, 0, sizeof *o);
  o->kind = k;
  o->dst = csb_xstrdup(dst);
  o->key = csb_path_normalize(dst);
  o->src = src ? csb_xstrdup(src) : NULL;
  o->depth = csb_path_depth(dst);
  o->rank = rank_of(k);
  o->seq = b->n;
  o->why = why ? csb_xstrdup(why) : NULL;
  o->pin = b->pinning;
  pslot *s = slot_get(b, o->key, strlen(o->key));
  o->same = s->head;
  s->head = (long)b->n;
  count_ancestors(b, o->key, 1, is_mount(k) ? 1 : 0);
  b->n++;
  return o;
}

/* The slot of `path` (any spelling), or NULL. */
static const pslot *slot_of(const builder *b, const char *path) {
  char *k = csb_path_normalize(path);
  const pslot *s = slot_find(b, k, strlen(k));
  free(k);
  return s;
}

/* The first operation on exactly `dst`, or -1. */
static long find_op(const builder *b, const char *dst) {
  const pslot *s = slot_of(b, dst);
  long first = -1;
  for (long i = s ? s->head : -1; i >= 0; i = b->ops[i].same) first = i;
  return first;
}

/* The operation deciding what the sandbox sees at `path` (the deepest op
 * whose destination covers it; on one destination the highest rank, then
 * the latest), or NULL. */
static const op *covering_op(const builder *b, const char *path) {
  char *k = csb_path_normalize(path);
  size_t len = strlen(k);
  const op *best = NULL;
  for (;;) {
    const pslot *s = slot_find(b, k, len);
    for (long i = s ? s->head : -1; i >= 0; i = b->ops[i].same)
      if (!best || b->ops[i].rank > best->rank) best = &b->ops[i];
    if (best || len == 1) break;
    while (len > 1 && k[len - 1] != '/') len--;
    if (len > 1) len--; /* drop the slash, but keep "/" itself */
  }
  free(k);
  return best;
}

/* Something is set up strictly below the path of slot `s`. */
static int has_op_below(const pslot *s) { return s && s->below > 0; }

/* A bind (read-only or not) is set up strictly below the path of slot `s`. */
static int has_mount_below(const pslot *s) { return s && s->mounts_below > 0; }

/* The slot of an operation's destination (its key is normalised already). */
static const pslot *op_slot(const builder *b, const op *o) { return slot_find(b, o->key, strlen(o->key)); }

/* 1 when bubblewrap creating `path` would create it on the host: the
 * covering mount is a read-write bind of a host directory. */
static int host_writable_at(const builder *b, const char *path) {
  const op *o = covering_op(b, path);
  return o && (o->kind == OP_BIND || o->kind == OP_BASE_RW);
}

static int exists_nofollow(builder *b, const char *path, struct stat *st) {
  return csb_path_lstat_memo(b->memo, path, st);
}

/* The first component of `path` that does not exist (path itself when only
 * the leaf is missing); NULL when the path exists. */
static char *first_missing(builder *b, const char *path) {
  struct stat st;
  if (exists_nofollow(b, path, &st)) return NULL;
  char *cur = csb_xstrdup(path);
  for (;;) {
    char *parent = csb_path_parent(cur);
    if (!parent) return cur;
    if (exists_nofollow(b, parent, &st)) {
      free(parent);
      return cur;
    }
    free(cur);
    cur = parent;
  }
}

/* Writable root (logical or canonical) that strictly contains `path`, or
 * NULL. */
static const char *enclosing_writable(const builder *b, const char *path) {
  const char *best = NULL;
  for (size_t i = 0; i < b->writable_logical.len; i++) {
    const char *w = b->writable_logical.items[i];
    if (csb_path_is_strictly_under(w, path) && (!best || strlen(w) > strlen(best))) best = w;
  }
  for (size_t i = 0; i < b->rw_dirs.len; i++) {
    const char *w = b->rw_dirs.items[i];
    if (csb_path_is_strictly_under(w, path) && (!best || strlen(w) > strlen(best))) best = w;
  }
  return best;
}

/* Fails when `path` crosses a symlink located inside a writable root: the
 * sandboxed process could retarget it for the next run, or race us. With
 * `final_ok`, `path` itself may be such a symlink (the caller handles what
 * it points at); only the directories on the way may not. */
static int check_writable_symlink_at(builder *b, const char *path, const char *what, int final_ok) {
  /* From the outermost writable root above `path`: a nested writable root
   * may itself be such a symlink (one that does not exist is not even
   * bound), and it lies inside the outer root all the same. */
  const char *w = NULL;
  for (size_t k = 0; k < 2; k++) {
    const csb_strv *roots = k == 0 ? &b->writable_logical : &b->rw_dirs;
    for (size_t i = 0; i < roots->len; i++) {
      const char *r = roots->items[i];
      if (csb_path_is_strictly_under(r, path) && (!w || strlen(r) < strlen(w))) w = r;
    }
  }
  if (!w) return 1;
  char *link = NULL;
  csb_error e;
  csb_error_clear(&e);
  if (!csb_path_find_symlink_memo(b->memo, path, w, &link, &e))
    return csb_error_set(b->err, "cannot enforce %s %s: %s", what, path, e.msg);
  if (link && final_ok) {
    char *n = csb_path_normalize(path);
    int is_final = strcmp(n, link) == 0;
    free(n);
    if (is_final) {
      free(link);
      return 1;
    }
  }
  if (link) {
    csb_error_set(b->err,
                  "cannot enforce %s %s because it crosses symlink %s inside writable root %s "
                  "(the sandboxed command could retarget it); replace the symlink with a real "
                  "directory or name its target in the policy",
                  what, path, link, w);
    free(link);
    return 0;
  }
  return 1;
}

static int check_writable_symlink(builder *b, const char *path, const char *what) {
  return check_writable_symlink_at(b, path, what, 0);
}

static void add_synth(bw_fsargs *f, const char *path, bw_synth_kind k) {
  for (size_t i = 0; i < f->n_synth; i++)
    if (strcmp(f->synth[i].path, path) == 0) return;
  f->synth = csb_xgrow(f->synth, &f->cap_synth, f->n_synth + 1, sizeof *f->synth);
  f->synth[f->n_synth].path = csb_xstrdup(path);
  f->synth[f->n_synth].kind = k;
  f->synth[f->n_synth].existing = 0;
  f->n_synth++;
}

static void add_synth_existing(bw_fsargs *f, const char *path, bw_synth_kind k) {
  add_synth(f, path, k);
  f->synth[f->n_synth - 1].existing = 1;
}

/* An existing empty entry that a mask mounts onto may be the mount point
 * of another run, also of another user's, whose registry we cannot see:
 * when that run ends it removes the entry, which detaches our mask (the
 * command could then create the path). A run removes a mount point only
 * when it can lock it exclusively (bw_registry_cleanup), so we hold a
 * shared lock on it until we exit. 1: held, or not lockable (not
 * readable: bubblewrap makes its mount points readable); 0: the entry
 * went away meanwhile (its creator removed it: it is missing now). */
static int hold_existing(builder *b, const char *path) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return 1;
  if (fd < 0 || !bw_synth_hold_at(fd, AT_FDCWD, path)) {
    if (fd >= 0) close(fd);
    /* The tree changed under the plan: what it saw so far is asked again. */
    csb_path_memo_clear(b->memo);
    return 0;
  }
  bw_fsargs_hold(b->out, fd);
  return 1;
}

static int is_protected_name(const char *base) {
  for (int i = 0; i < CSB_PROTECTED_NAMES_COUNT; i++)
    if (strcmp(base, csb_protected_names[i]) == 0) return 1;
  return 0;
}

static int note_entry(void *ctx, int dfd, const char *name) {
  (void)dfd;
  (void)name;
  *(int *)ctx = 0;
  return 0;
}

static int dir_is_empty(const char *path) {
  int empty = 1;
  return bw_dir_each(path, note_entry, &empty) && empty;
}

/* `path` is missing because its parent is not a directory (typically an
 * empty file a concurrent run created as the mount target for the same
 * rule): nothing can be created there while that file stays, so it is
 * kept in place, bound read-only onto itself, and registered when it is
 * such a mount target. 1 when that applies (`m`: the first missing
 * component of `path`). */
static int keep_blocking_file(builder *b, const char *m, const char *origin) {
  struct stat st;
  char *par = csb_path_parent(m);
  int blocked = par && exists_nofollow(b, par, &st) && !S_ISDIR(st.st_mode);
  if (blocked && host_writable_at(b, par) && find_op(b, par) < 0) {
    if (S_ISREG(st.st_mode) && st.st_size == 0 && hold_existing(b, par))
      add_synth_existing(b->out, par, BW_SYNTH_FILE);
    /* a file the policy does not let the command read (inside a deny
     * mask, say) stays in place masked, not bound over the mask */
    csb_verdict vd;
    csb_policy_access_for(b->p, par, &vd);
    char *rule = vd.can_read ? NULL : csb_verdict_describe(b->p, &vd);
    char *why = vd.can_read
                    ? csb_xasprintf("%s kept in place read-only: %s cannot exist below it (%s)", par, m, origin)
                    : csb_xasprintf("%s kept in place, masked (%s): %s cannot exist below it (%s)", par, rule,
                                    m, origin);
    free(rule);
    add_op(b, vd.can_read ? OP_RO_BIND : OP_DENY_FILE, par, vd.can_read ? par : NULL, why);
    free(why);
  }
  free(par);
  return blocked;
}

/* A mask on the missing path `m` needs a mount point, which bubblewrap
 * creates in m's parent on the host with the caller's permissions. Where
 * those permissions do not let the caller create anything there (a user
 * other than root in a directory of root's, a read-only file system), no
 * mount point can be made, and none is needed: the command runs as the
 * same user, with the same groups and no capability, and cannot create `m`
 * either. The parent is then bound onto itself (pinned), so that it cannot
 * be renamed away and replaced by a directory of the command's. A parent
 * the caller owns is different: the command could change its mode and
 * create `m`, so that fails closed. 1: the permissions keep `m` impossible
 * to create (nothing to mount); 0: a mask is needed; -1: refused (error
 * set). */
static int kept_by_permissions(builder *b, const char *m, const char *what, const char *origin) {
  char *par = csb_path_parent(m);
  struct stat st;
  if (!par || !csb_path_stat_memo(b->memo, par, &st) || !S_ISDIR(st.st_mode) ||
      csb_path_eaccess_memo(b->memo, par, W_OK | X_OK)) {
    free(par);
    return 0;
  }
  int e = errno;
  if (e == EACCES && st.st_uid == geteuid()) {
    csb_error_set(b->err,
                  "cannot enforce %s %s (%s): its mask needs a mount point at %s, which bubblewrap "
                  "cannot create because %s (mode %04o) is not writable by uid %u; as its owner, the "
                  "command could make it writable and create %s unprotected (backend: bubblewrap; "
                  "fix: chmod u+w %s, or create %s before the run)",
                  what, m, origin, m, par, (unsigned)(st.st_mode & 07777), (unsigned)geteuid(), m, par, m);
    free(par);
    return -1;
  }
  if (e != EACCES && e != EROFS && e != EPERM) {
    free(par);
    return 0; /* bubblewrap will say what is wrong */
  }
  if (csb_strv_contains(&b->kept, m)) {
    free(par);
    return 1;
  }
  csb_strv_push(&b->kept, m);
  char *why = csb_xasprintf("missing %s (%s) kept impossible to create by the host's permissions: uid %u "
                            "cannot create entries in %s (%s), inside the sandbox as outside; no mount "
                            "target",
                            m, origin, (unsigned)geteuid(), par, strerror(e));
  csb_strv_push(&b->out->explain, why);
  free(why);
  if (find_op(b, par) < 0) {
    why = csb_xasprintf("%s bound onto itself: it keeps %s impossible to create and cannot be renamed", par, m);
    add_op(b, OP_BIND, par, par, why)->pin = 1;
    free(why);
  }
  free(par);
  return 1;
}

/* ---- rules ---------------------------------------------------------------- */

/* A read-only carve-out `s` inside writable root `w`. */
static int add_read_only(builder *b, const char *s, const char *origin) {
  if (!check_writable_symlink(b, s, "read-only path")) return 0;
  struct stat st;
  char *m = first_missing(b, s);
  if (!m) {
    long k = find_op(b, s);
    if (k >= 0) {
      b->ops[k].pin |= b->pinning; /* a readable root bound already */
      return 1;
    }
    /* An empty file, or an empty protected directory, may be a concurrent
     * run's mount target: bound read-only like any existing path, held
     * (hold_existing), and registered when a run of ours made it, so that
     * its creator does not remove it while we use it. */
    char *base = csb_path_basename(s);
    int target = exists_nofollow(b, s, &st) && host_writable_at(b, s) &&
                 ((S_ISDIR(st.st_mode) && is_protected_name(base) && dir_is_empty(s)) ||
                  (S_ISREG(st.st_mode) && st.st_size == 0));
    free(base);
    if (target && !hold_existing(b, s)) return add_read_only(b, s, origin); /* removed meanwhile: missing now */
    if (target) add_synth_existing(b->out, s, S_ISDIR(st.st_mode) ? BW_SYNTH_DIR : BW_SYNTH_FILE);
    char *why = csb_xasprintf("read-only %s (%s)", s, origin);
    add_op(b, OP_RO_BIND, s, s, why);
    free(why);
    return 1;
  }
  int rc = 1;
  if (keep_blocking_file(b, m, origin)) {
    free(m);
    return 1;
  }
  int kept = host_writable_at(b, m) && find_op(b, m) < 0 ? kept_by_permissions(b, m, "read-only path", origin) : 1;
  if (kept < 0) rc = 0;
  if (kept == 0) {
    char *base = csb_path_basename(m);
    int meta = is_protected_name(base);
    free(base);
    char *why = csb_xasprintf("missing %s kept impossible to create (%s)", m, origin);
    add_op(b, meta ? OP_EMPTY_DIR : OP_EMPTY_FILE, m, NULL, why);
    free(why);
    add_synth(b->out, m, meta ? BW_SYNTH_DIR : BW_SYNTH_FILE);
  }
  free(m);
  return rc;
}

static int add_unreadable(builder *b, const char *u, const char *origin) {
  if (!check_writable_symlink_at(b, u, "deny-read path", 1)) return 0;
  struct stat st;
  char *target = NULL;
  const op *cov = covering_op(b, u);
  if (cov && cov->kind == OP_SYMLINK) {
    /* Seen through a link we recreate: what it shows is the canonical
     * path, masked there. */
    csb_error e;
    if (!csb_path_canonicalize_memo(b->memo, u, &target, &e)) return 1; /* nothing there to read */
    int ok = strcmp(target, u) == 0 || add_unreadable(b, target, origin);
    free(target);
    return ok;
  }
  int exists = exists_nofollow(b, u, &st);
  if (exists && S_ISLNK(st.st_mode)) {
    /* A denied path that is a symlink: deny what it points at (what reading
     * the path would show), as csb-winacl covers the canonical target,
     * whether or not the link itself is visible in the sandbox (under a
     * deny mask, outside every readable root): the target may be readable
     * by another way. A mount cannot hide the link itself; inside a
     * writable root the command may retarget it, but only to something it
     * could read anyway. */
    csb_error e;
    if (!csb_path_canonicalize_memo(b->memo, u, &target, &e)) return 1; /* dangling: nothing to read */
    if (!csb_path_stat_memo(b->memo, target, &st)) {
      free(target);
      return 1;
    }
    const char *held = NULL;
    for (size_t i = 0; !held && i < b->rw_dirs.len; i++)
      if (csb_path_is_under(target, b->rw_dirs.items[i])) held = b->rw_dirs.items[i];
    if (held || strcmp(target, "/") == 0) {
      csb_error_set(b->err,
                    "cannot enforce deny-read path %s (%s): it is a symlink to %s, and hiding that "
                    "would hide %s too; deny the files below it by name instead",
                    u, origin, target, held ? held : "the whole file system");
      free(target);
      return 0;
    }
    /* the target is canonical: no symlink again */
    int ok = add_unreadable(b, target, origin);
    /* A readable root written as this link is bound at the link's own
     * path (where the link is not visible): that bind is masked too. */
    long at = find_op(b, u);
    if (ok && at >= 0 && (b->ops[at].kind == OP_RO_BIND || b->ops[at].kind == OP_BIND)) {
      char *why = csb_xasprintf("deny %s (%s; the bind at the symlink's own path)", u, origin);
      add_op(b, S_ISDIR(st.st_mode) ? OP_DENY_DIR : OP_DENY_FILE, u, NULL, why);
      free(why);
    }
    free(target);
    return ok;
  }
  if (!exists) {
    /* A missing path written through symlinks (/repo/lnk/new, lnk -> a
     * writable directory) would be created where they lead: it is kept
     * uncreatable there. */
    char *leads = NULL;
    if (csb_path_leads_to_memo(b->memo, u, &leads) && strcmp(leads, u) != 0) {
      int ok = add_unreadable(b, leads, origin);
      free(leads);
      return ok;
    }
    free(leads);
  }
  if (!cov || cov->kind == OP_BASE_TMPFS || cov->kind == OP_DENY_DIR || cov->kind == OP_DENY_FILE ||
      cov->kind == OP_EMPTY_DIR || cov->kind == OP_EMPTY_FILE)
    return 1; /* not visible in the sandbox anyway */
  if (!exists) {
    char *m = first_missing(b, u);
    int kept = 1;
    if (m && !keep_blocking_file(b, m, origin) && host_writable_at(b, m) && find_op(b, m) < 0)
      kept = kept_by_permissions(b, m, "deny-read path", origin);
    if (kept == 0) {
      char *why = csb_xasprintf("missing %s kept impossible to create (deny %s, %s)", m, u, origin);
      add_op(b, OP_DENY_FILE, m, NULL, why);
      free(why);
      add_synth(b->out, m, BW_SYNTH_FILE);
    }
    free(m);
    return kept >= 0;
  }
  /* An empty file may be the mount target a concurrent run made for this
   * very rule while the path was missing: registered like in
   * add_read_only, else that run's cleanup would delete it and detach our
   * mask (the command could then create the denied path). */
  if (S_ISREG(st.st_mode) && st.st_size == 0 && host_writable_at(b, u)) {
    if (!hold_existing(b, u)) { /* removed meanwhile: missing now */
      int ok = add_unreadable(b, u, origin);
      free(target);
      return ok;
    }
    add_synth_existing(b->out, u, BW_SYNTH_FILE);
  }
  char *why = csb_xasprintf("deny %s (%s)", u, origin);
  long k = find_op(b, u);
  if (k >= 0 && (b->ops[k].kind == OP_DENY_DIR || b->ops[k].kind == OP_DENY_FILE)) {
    free(why);
    free(target);
    return 1;
  }
  add_op(b, S_ISDIR(st.st_mode) ? OP_DENY_DIR : OP_DENY_FILE, u, NULL, why);
  free(why);
  free(target);
  return 1;
}

static int add_writable_root(builder *b, const csb_writable_root *w) {
  struct stat st;
  if (!csb_path_stat_memo(b->memo, w->root, &st)) {
    csb_strv_pushf(&b->out->explain, "writable root %s does not exist: skipped", w->root);
    return 1;
  }
  if (strcmp(w->root, "/dev") == 0 || csb_path_is_under("/proc", w->root))
    return csb_error_set(b->err,
                         "cannot enforce writable root %s: binding the host's %s read-write is "
                         "not supported by csb-bwrap; list specific paths such as /dev/shm",
                         w->root, w->root);
  if (!check_writable_symlink(b, w->root, "writable root")) return 0;
  char *canon = NULL;
  csb_error e;
  if (!csb_path_canonicalize_memo(b->memo, w->root, &canon, &e))
    return csb_error_set(b->err, "cannot enforce writable root %s: %s", w->root, e.msg);
  /* A root written through a symlink that points back at a directory
   * holding it (lnk -> .., lnk -> .): the target is bound read-write, and
   * the link with it, so the sandboxed command could retarget it for the
   * next run (and the masks at the link's own path would cross it). */
  if (strcmp(canon, w->root) != 0 && csb_path_is_strictly_under(canon, w->root)) {
    char *link = NULL;
    csb_error_clear(&e);
    if (!csb_path_find_symlink_memo(b->memo, w->root, canon, &link, &e) || !link) {
      free(link);
      link = csb_xstrdup(w->root);
    }
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) n = 0;
    target[n] = 0;
    csb_error_set(b->err,
                  "cannot enforce writable root %s with the bubblewrap backend: it goes through "
                  "symlink %s -> %s, which lies inside its own target %s, so binding %s "
                  "read-write would let the sandboxed command retarget the link; name %s in the "
                  "policy instead, or replace the symlink with a real directory",
                  w->root, link, target, canon, canon, canon);
    free(link);
    free(canon);
    return 0;
  }
  char *why = strcmp(canon, w->root) == 0
                  ? csb_xasprintf("writable root %s", w->root)
                  : csb_xasprintf("writable root %s (symlink; bound at its target %s)", w->root, canon);
  if (strcmp(canon, "/") == 0) {
    /* A writable root at / (a workspace at /, or one that is a link to
     * it): the base becomes a read-write bind and the carve-outs come back
     * read-only on top of it. The base is the first op at "/". */
    long k = find_op(b, "/");
    if (k < 0 || !(b->ops[k].kind == OP_BASE_RO || b->ops[k].kind == OP_BASE_RW ||
                   b->ops[k].kind == OP_BASE_TMPFS)) {
      free(why);
      free(canon);
      return csb_error_set(b->err, "internal error: no base mount for the writable root /");
    }
    if (b->ops[k].kind != OP_BASE_RW) {
      set_kind(b, &b->ops[k], OP_BASE_RW);
      free(b->ops[k].why);
      b->ops[k].why = csb_xasprintf("%s: / bound read-write", why);
      csb_strv_push(&b->rw_dirs, "/");
    }
    free(why);
    free(canon);
    return 1;
  }
  long k = find_op(b, canon);
  if (k >= 0) {
    set_kind(b, &b->ops[k], OP_BIND);
    b->ops[k].pin = b->pinning;
    free(b->ops[k].why);
    b->ops[k].why = csb_xstrdup(why);
  } else {
    add_op(b, OP_BIND, canon, canon, why);
  }
  free(why);
  csb_strv_push(&b->rw_dirs, canon);
  free(canon);
  return 1;
}

/* Carve-outs of writable root w (after every bind exists, so that
 * "is this inside a read-write bind" has its final answer). */
static int cmp_entry_path(const void *a, const void *b) {
  const csb_policy_entry *x = *(const csb_policy_entry *const *)a, *y = *(const csb_policy_entry *const *)b;
  return strcmp(x->path, y->path);
}

/* b->read_leads, computed on first use: entries sorted by path once, so
 * that a read entry with a write or deny entry at the same path is found
 * without comparing every pair. */
static char **read_entry_leads(builder *b) {
  if (b->read_leads_done) return b->read_leads;
  b->read_leads_done = 1;
  size_t n = b->p->n_entries;
  b->read_leads = csb_xcalloc(n ? n : 1, sizeof *b->read_leads);
  const csb_policy_entry **by_path = csb_xcalloc(n ? n : 1, sizeof *by_path);
  for (size_t i = 0; i < n; i++) by_path[i] = &b->p->entries[i];
  qsort(by_path, n, sizeof *by_path, cmp_entry_path);
  for (size_t i = 0, j; i < n; i = j) {
    int other = 0;
    for (j = i; j < n && strcmp(by_path[j]->path, by_path[i]->path) == 0; j++)
      other |= by_path[j]->access != CSB_ACCESS_READ;
    for (size_t k = i; k < j && !other; k++) {
      const csb_policy_entry *en = by_path[k];
      if (en->access != CSB_ACCESS_READ) continue;
      char *leads = NULL;
      if (csb_path_leads_to_memo(b->memo, en->path, &leads))
        b->read_leads[en - b->p->entries] = leads;
      else
        free(leads);
    }
  }
  free(by_path);
  return b->read_leads;
}

static int add_writable_carveouts(builder *b, const csb_writable_root *w) {
  struct stat st;
  if (!csb_path_stat_memo(b->memo, w->root, &st)) return 1;
  char *canon = NULL;
  csb_error e;
  if (!csb_path_canonicalize_memo(b->memo, w->root, &canon, &e)) return 1;
  int ok = 1;
  for (size_t i = 0; ok && i < w->read_only_subpaths.len; i++) {
    const char *s = w->read_only_subpaths.items[i];
    if (csb_strv_contains(&b->v->unreadable_roots, s)) continue;
    char *rel = csb_path_relative_to(w->root, s);
    char *mapped = rel ? csb_path_join(canon, rel) : csb_xstrdup(s);
    ok = add_read_only(b, mapped, "read-only carve-out");
    free(rel);
    free(mapped);
  }
  /* The root is bound at its target: read entries that lead below it
   * otherwise than through the root as written (by the target's own path
   * when the root is a symlink, or through a symlink outside every
   * writable root) are carve-outs of it too, or the bind would make them
   * writable. */
  char **leads = read_entry_leads(b);
  for (size_t i = 0; ok && i < b->p->n_entries; i++)
    if (leads[i] && !csb_path_is_strictly_under(w->root, b->p->entries[i].path) &&
        csb_path_is_strictly_under(canon, leads[i]))
      ok = add_read_only(b, leads[i], "read-only carve-out (an entry leading below a writable root)");
  for (size_t i = 0; ok && i < w->protected_names.len; i++) {
    char *p = csb_path_join(canon, w->protected_names.items[i]);
    char *origin = csb_xasprintf("protected metadata under %s", w->root);
    /* An existing empty directory/file may be a concurrent run's mount
     * target: treat it like any existing path (bound read-only). */
    ok = add_read_only(b, p, origin);
    free(origin);
    free(p);
  }
  free(canon);
  return ok;
}

static int expand_globs(builder *b, csb_strv *out) {
  for (size_t i = 0; i < b->v->unreadable_globs.len; i++) {
    const char *pat = b->v->unreadable_globs.items[i];
    csb_glob *g = NULL;
    csb_error e;
    csb_error_clear(&e);
    if (!csb_glob_compile(pat, &g, &e))
      return csb_error_set(b->err, "invalid deny-read glob pattern `%s`: %s", pat, e.msg);
    const char *prefix = csb_glob_static_prefix(g);
    if (!csb_glob_is_literal(g) && (prefix[0] == 0 || strcmp(prefix, "/") == 0)) {
      csb_glob_free(g);
      return csb_error_set(b->err,
                           "cannot enforce deny-read glob `%s`: its fixed prefix is `/`, too broad "
                           "to expand before the run; anchor it below a directory (e.g. "
                           "/repo/**/*.env)",
                           pat);
    }
    /* glob_scan_max_depth caps `**` globs only. */
    int depth = csb_glob_scan_depth(g, b->v->glob_scan_max_depth);
    csb_glob_expand_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.max_depth = depth;
    eo.flags = CSB_GLOB_EXPAND_SYMLINK_TARGETS;
    eo.threads = 1;
    /* The cache lives in the registry, which the sandbox cannot see. */
    eo.cache_dir = b->o->glob_cache;
    csb_glob_expand_stats st;
    eo.stats = &st;
    size_t before = out->len;
    if (!csb_glob_expand_ex(g, &eo, out, &e)) {
      csb_glob_free(g);
      return csb_error_set(b->err, "cannot expand deny-read glob `%s`: %s", pat, e.msg);
    }
    if (st.cache_stored) b->out->glob_cache_stored = 1;
    /* What bounds the walk: nothing, glob_scan_max_depth (a `**` glob), or
     * the levels the glob itself spans. */
    char bound[64];
    if (depth < 0)
      snprintf(bound, sizeof bound, "unlimited");
    else if (csb_glob_scan_depth(g, 0) < 0)
      snprintf(bound, sizeof bound, "%d, glob_scan_max_depth", depth);
    else
      snprintf(bound, sizeof bound, "%d, the glob's own", depth);
    csb_strv_pushf(&b->out->explain,
                   "deny glob %s: %zu match(es) now (depth %s; %zu director%s read, %zu unchanged "
                   "since the cached expansion)",
                   pat, out->len - before, bound, st.dirs_read, st.dirs_read == 1 ? "y" : "ies",
                   st.dirs_reused);
    csb_glob_free(g);
  }
  return 1;
}

/* ---- symlinks on the way to readable roots ------------------------------------ */

/* Recreates the host symlink `link` (content `target`, exactly as the
 * host's readlink returned it) inside the sandbox when nothing there shows
 * it already: the empty root would otherwise have nothing at that path.
 * 1 when the link is visible afterwards (recreated, or seen through a
 * bind of the host directory holding it). */
static int add_link(builder *b, const char *link, const char *target, const char *why) {
  const op *at = covering_op(b, link);
  if (at && at->kind == OP_SYMLINK && strcmp(at->dst, link) == 0) return strcmp(at->src, target) == 0;
  if (at && (at->kind == OP_RO_BIND || at->kind == OP_BIND || at->kind == OP_BASE_RO ||
             at->kind == OP_BASE_RW))
    return 1; /* the host's own link, through the bind */
  if (!at || at->kind != OP_BASE_TMPFS) return 0; /* masked, or under another link */
  if (has_op_below(slot_of(b, link))) {
    csb_strv_pushf(&b->out->explain, "symlink %s -> %s not recreated: something is mounted below it",
                   link, target);
    return 0;
  }
  add_op(b, OP_SYMLINK, link, target, why);
  return 1;
}

/* 1 when `r` is a writable root of the view (as written) whose last
 * component is a symlink. */
static int is_symlinked_writable_root(builder *b, const char *r) {
  if (!csb_strv_contains(&b->writable_logical, r)) return 0;
  struct stat st;
  return exists_nofollow(b, r, &st) && S_ISLNK(st.st_mode);
}

/* Recreates the symlink of a writable root bound at its target where
 * nothing shows the host's link: the empty root of restricted reads, or a
 * deny mask above it (the deeper write entry re-opens that path). */
static void add_writable_root_link(builder *b, const char *r) {
  char *canon = NULL;
  csb_error e;
  if (!csb_path_canonicalize_memo(b->memo, r, &canon, &e)) return;
  const op *t = covering_op(b, canon);
  int bound = t && t->kind == OP_BIND && strcmp(t->dst, canon) == 0;
  free(canon);
  if (!bound) return;
  const op *at = covering_op(b, r);
  if (!at || (at->kind != OP_BASE_TMPFS && at->kind != OP_DENY_DIR) || has_op_below(slot_of(b, r))) return;
  char buf[PATH_MAX];
  ssize_t n = readlink(r, buf, sizeof buf - 1);
  if (n <= 0) return;
  buf[n] = 0;
  char *why = csb_xasprintf("symlink %s -> %s (writable root %s, bound at its target)", r, buf, r);
  add_op(b, OP_SYMLINK, r, buf, why);
  free(why);
}

/* The symlinks of the view: a readable root written through symlinks
 * (/bin -> usr/bin) is bound at its effective path, and its links are
 * recreated so that the path as written works too. Only links leading to
 * a root that was bound (so they reach nothing the mounts do not already
 * show), and never a link inside a writable root (the sandboxed command
 * could retarget it for the next run): that fails closed, like any
 * readable root crossing such a link. */
static int add_readable_links(builder *b) {
  for (size_t i = 0; i < b->v->n_readable_links; i++) {
    const csb_view_link *l = &b->v->readable_links[i];
    const op *r = covering_op(b, l->root);
    if (!r || (r->kind != OP_RO_BIND && r->kind != OP_BIND)) {
      csb_strv_pushf(&b->out->explain, "symlink %s -> %s not recreated: %s is not bound", l->path,
                     l->target, l->root);
      continue;
    }
    if (!check_writable_symlink(b, l->path, "readable root")) return 0;
    char *why = csb_xasprintf("symlink %s -> %s (the way to readable root %s)", l->path, l->target, l->root);
    add_link(b, l->path, l->target, why);
    free(why);
  }
  return 1;
}

/* A file our own (dynamically linked) binary needs to start: `dst` as the
 * loader names it, `src` its canonical path. Made reachable at `dst` the
 * way the host reaches it: the links on the way recreated, the file bound
 * at its canonical path; when that is impossible, bound at `dst`. */
static void add_runtime_file(builder *b, const char *src, const char *dst) {
  const op *c = covering_op(b, dst);
  if (c && c->kind != OP_BASE_TMPFS && c->kind != OP_SYMLINK) return; /* visible (or masked) */
  int under_tmpfs = c && c->kind == OP_BASE_TMPFS; /* c dangles once an op is added */
  char *canon = NULL;
  csb_path_link *links = NULL;
  size_t n = 0;
  int ok = csb_path_resolve_links_memo(b->memo, dst, &canon, &links, &n, NULL) && strcmp(canon, src) == 0;
  char *why = csb_xasprintf("%s: needed by this csb-bwrap build to start (a static build needs nothing)", dst);
  for (size_t i = 0; ok && i < n; i++) ok = add_link(b, links[i].path, links[i].target, why);
  if (ok) {
    const op *t = covering_op(b, canon);
    if (!t || t->kind == OP_BASE_TMPFS) add_op(b, OP_RO_BIND, canon, canon, why);
  } else if (under_tmpfs) {
    add_op(b, OP_RO_BIND, dst, src, why);
  }
  free(why);
  csb_path_links_free(links, n);
  free(canon);
}

/* ---- pinning the way to nested mounts ------------------------------------------

 * A mount is attached to a directory, not to its path. Inside a writable
 * root the command could rename a plain directory holding a nested
 * writable root, a read-only carve-out, protected metadata or a deny mask
 * (the mount moves along with it) and create a new directory under the old
 * name: what it then writes at the policy's path lands on the host
 * unprotected (a workspace under a writable /tmp gets a fresh .git with
 * hooks). Each directory between the enclosing read-write bind and such a
 * mount is bound onto itself: a mount point cannot be renamed or removed
 * (EBUSY). Deny-glob matches are not pinned: a glob only denies reading,
 * and a new matching file can be created anyway. */
static void pin_ancestors(builder *b) {
  size_t n = b->n;
  for (size_t i = 0; i < n; i++) {
    if (!b->ops[i].pin) continue;
    char *cur = csb_path_parent(b->ops[i].dst);
    while (cur) {
      const op *c = covering_op(b, cur);
      if (!c || c->kind != OP_BIND) break;
      char *k = csb_path_normalize(cur);
      int same = strcmp(c->key, k) == 0;
      free(k);
      if (same) break;
      char *why = csb_xasprintf("%s bound onto itself: the way to %s cannot be renamed", cur, b->ops[i].dst);
      add_op(b, OP_BIND, cur, cur, why);
      free(why);
      char *up = csb_path_parent(cur);
      free(cur);
      cur = up;
    }
    free(cur);
  }
}

/* ---- emission -------------------------------------------------------------- */

static int cmp_ops(const void *a, const void *bb) {
  const op *x = a, *y = bb;
  if (x->depth != y->depth) return x->depth < y->depth ? -1 : 1;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  int c = strcmp(x->dst, y->dst);
  if (c) return c;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static int uses_data_fd(op_kind k) {
  return k == OP_EMPTY_FILE || k == OP_DENY_FILE || k == OP_DATA_FILE;
}

/* bubblewrap reads every --ro-bind-data from a descriptor of its own (it
 * closes each after use), all open at once when it starts: make sure the
 * open-file limit has room for `need` of them on top of ours and its own,
 * raising the soft limit up to the hard one if it must (the command gets
 * the old soft limit back, see nofile_restore). */
#define FD_HEADROOM 256
static int reserve_fds(builder *b, size_t need) {
  if (need == 0) return 1;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return csb_error_set(b->err, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
  rlim_t want = (rlim_t)need + FD_HEADROOM;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return 1;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
    return csb_error_set(b->err,
                         "cannot enforce %zu file masks (deny rules and read-only paths that are "
                         "files): bubblewrap needs an open descriptor for each, and the hard "
                         "open-file limit is %llu; raise it (ulimit -Hn %llu or more) or narrow "
                         "the deny globs",
                         need, (unsigned long long)rl.rlim_max, (unsigned long long)want);
  if (!b->out->nofile_restore) b->out->nofile_restore = (unsigned long long)rl.rlim_cur;
  rl.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    return csb_error_set(b->err, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)want,
                         strerror(errno));
  return 1;
}

/* src < 0: an empty file's data (/dev/null); else a duplicate of src,
 * rewound, so that every build hands bubblewrap the whole content. */
static int push_data_fd(builder *b, int src) {
  bw_fsargs *f = b->out;
  int fd = b->o->fake_data_fd;
  if (fd <= 0 && src < 0) fd = open("/dev/null", O_RDONLY); /* inherited by bwrap, which closes it */
  if (fd <= 0 && src >= 0) {
    fd = fcntl(src, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0) lseek(fd, 0, SEEK_SET);
  }
  if (fd < 0)
    return csb_error_set(b->err, "cannot open a descriptor for a mask (%zu open for masks): %s",
                         f->n_data_fds, strerror(errno));
  f->data_fds = csb_xgrow(f->data_fds, &f->cap_data_fds, f->n_data_fds + 1, sizeof(int));
  f->data_fds[f->n_data_fds++] = fd;
  csb_strv_pushf(&f->argv, "%d", fd);
  return 1;
}

static int emit(builder *b) {
  bw_fsargs *f = b->out;
  csb_strv remount;
  csb_strv_init(&remount);
  qsort(b->ops, b->n, sizeof *b->ops, cmp_ops);
  relink(b);
  size_t need = 0;
  for (size_t i = 0; i < b->n; i++) need += uses_data_fd(b->ops[i].kind);
  if (b->o->fake_data_fd <= 0 && !reserve_fds(b, need)) goto fail;
  for (size_t i = 0; i < b->n; i++) {
    op *o = &b->ops[i];
    csb_strv *a = &f->argv;
    const pslot *own = op_slot(b, o);
    if ((o->kind == OP_EMPTY_FILE || o->kind == OP_EMPTY_DIR || o->kind == OP_DENY_DIR ||
         o->kind == OP_DENY_FILE) &&
        own && o->same < 0 && own->head == (long)i && !has_op_below(own)) {
      /* A mask right inside a deny mask, alone at its path and with
       * nothing below it (the protected names of a nested writable root
       * that a deny glob matches): nothing there is visible, and inside a
       * mask of mode 0000 the inner stage could not check it. A mask that
       * covers a bind at its own path, or leads to one, stays. */
      char *par = csb_path_parent(o->dst);
      const op *pc = par ? covering_op(b, par) : NULL;
      free(par);
      if (pc && (pc->kind == OP_DENY_DIR || pc->kind == OP_DENY_FILE)) {
        csb_strv_pushf(&f->explain, "%s not masked: it is inside the deny mask %s", o->dst, pc->dst);
        continue;
      }
    }
    if (o->kind == OP_SYMLINK && has_op_below(op_slot(b, o))) {
      /* a later rule mounts below it: bubblewrap needs a directory */
      csb_strv_pushf(&f->explain, "symlink %s -> %s not recreated: something is mounted below it",
                     o->dst, o->src);
      continue;
    }
    if (o->kind == OP_RO_BIND && strcmp(o->src, o->dst) == 0 && strcmp(o->dst, "/") != 0) {
      /* Inside a read-only bind of the same host tree (nothing in
       * between), the path already shows exactly this: no own mount. */
      char *parent = csb_path_parent(o->dst);
      const op *c = parent ? covering_op(b, parent) : NULL;
      free(parent);
      if (c && ((c->kind == OP_RO_BIND && strcmp(c->src, c->dst) == 0) || c->kind == OP_BASE_RO)) {
        if (o->why) csb_strv_pushf(&f->explain, "%s: already visible read-only through %s", o->why, c->dst);
        continue;
      }
    }
    switch (o->kind) {
    case OP_BASE_RO: csb_strv_push(a, "--ro-bind"); csb_strv_push(a, "/"); csb_strv_push(a, "/"); break;
    case OP_BASE_RW: csb_strv_push(a, "--bind"); csb_strv_push(a, "/"); csb_strv_push(a, "/"); break;
    case OP_BASE_TMPFS: csb_strv_push(a, "--tmpfs"); csb_strv_push(a, "/"); break;
    case OP_DEV: csb_strv_push(a, "--dev"); csb_strv_push(a, "/dev"); break;
    case OP_PROC:
      if (b->o->mount_proc) {
        csb_strv_push(a, "--proc");
        csb_strv_push(a, "/proc");
      } else {
        csb_strv_push(a, "--perms"); csb_strv_push(a, "0555");
        csb_strv_push(a, "--tmpfs"); csb_strv_push(a, "/proc");
        csb_strv_push(&remount, "/proc");
      }
      break;
    case OP_RO_BIND: csb_strv_push(a, "--ro-bind"); csb_strv_push(a, o->src); csb_strv_push(a, o->dst); break;
    case OP_BIND: csb_strv_push(a, "--bind"); csb_strv_push(a, o->src); csb_strv_push(a, o->dst); break;
    case OP_EMPTY_FILE:
      csb_strv_push(a, "--perms"); csb_strv_push(a, "0444");
      csb_strv_push(a, "--ro-bind-data");
      if (!push_data_fd(b, -1)) goto fail;
      csb_strv_push(a, o->dst);
      break;
    case OP_EMPTY_DIR:
      csb_strv_push(a, "--perms"); csb_strv_push(a, "0555");
      csb_strv_push(a, "--tmpfs"); csb_strv_push(a, o->dst);
      csb_strv_push(&remount, o->dst);
      break;
    case OP_DENY_DIR:
      csb_strv_push(a, "--perms"); csb_strv_push(a, has_mount_below(op_slot(b, o)) ? "0111" : "0000");
      csb_strv_push(a, "--tmpfs"); csb_strv_push(a, o->dst);
      csb_strv_push(&remount, o->dst);
      break;
    case OP_DENY_FILE:
      csb_strv_push(a, "--perms"); csb_strv_push(a, "0000");
      csb_strv_push(a, "--ro-bind-data");
      if (!push_data_fd(b, -1)) goto fail;
      csb_strv_push(a, o->dst);
      break;
    case OP_DATA_FILE:
      csb_strv_push(a, "--perms"); csb_strv_push(a, "0444");
      csb_strv_push(a, "--ro-bind-data");
      if (!push_data_fd(b, o->fd)) goto fail;
      csb_strv_push(a, o->dst);
      break;
    case OP_SYMLINK: csb_strv_push(a, "--symlink"); csb_strv_push(a, o->src); csb_strv_push(a, o->dst); break;
    }
    if (o->why) csb_strv_push(&f->explain, o->why);
    if ((o->kind == OP_RO_BIND || o->kind == OP_EMPTY_FILE || o->kind == OP_EMPTY_DIR ||
         o->kind == OP_DENY_DIR || o->kind == OP_DENY_FILE || o->kind == OP_DATA_FILE) &&
        enclosing_writable(b, o->dst))
      csb_strv_push(&f->verify, o->dst);
    else if (o->kind == OP_BIND && enclosing_writable(b, o->dst) && covering_op(b, o->dst) == o) {
      /* A writable root may be a regular file: the inner stage checks
       * that the bind is still of the type it had when it was planned.
       * One a deny mask covers at the same path (a deny glob matching a
       * nested writable root) is not checked: the mask is, as any. */
      struct stat st;
      int file = csb_path_stat_memo(b->memo, o->src, &st) && S_ISREG(st.st_mode);
      csb_strv_pushf(&f->verify, "%s:%s", file ? "wf" : "w", o->dst);
    }
  }
  /* Read-only remounts of our tmpfs masks come last, after every mount
   * point below them has been created. */
  for (size_t i = remount.len; i-- > 0;) {
    csb_strv_push(&f->argv, "--remount-ro");
    csb_strv_push(&f->argv, remount.items[i]);
  }
  csb_strv_free(&remount);
  return 1;
fail:
  csb_strv_free(&remount);
  return 0;
}

/* Hides the directory `dir` behind an empty mask when the sandbox would
 * otherwise show it (not under the empty root) and no rule mounts there. */
static void hide_dir(builder *b, const char *dir, const char *why) {
  const op *c = covering_op(b, dir);
  if (c && c->kind != OP_BASE_TMPFS && find_op(b, dir) < 0) add_op(b, OP_DENY_DIR, dir, NULL, why);
}

int bw_mounts_build(const csb_policy *p, const csb_policy_view *v, const bw_mount_opts *o,
                    bw_fsargs *out, csb_error *err) {
  builder b;
  memset(&b, 0, sizeof b);
  b.p = p;
  b.v = v;
  b.o = o;
  b.out = out;
  b.err = err;
  csb_strv_init(&b.rw_dirs);
  csb_strv_init(&b.writable_logical);
  csb_strv_init(&b.kept);
  b.memo = o->memo != NULL ? o->memo : csb_path_memo_new();
  int ok = 0;
  csb_policy_evaluator *ev = NULL; /* for the paths of steps 5 and 6 */
  csb_strv unreadable;
  csb_strv_init(&unreadable);

  if (!o->has_perms) {
    csb_error_set(err, "bubblewrap lacks --perms (needs 0.5 or newer); install a newer bubblewrap "
                       "or use the bundled one");
    goto out;
  }

  /* 1. base */
  if (v->full_write) {
    add_op(&b, OP_BASE_RW, "/", NULL, "full disk write: / bound read-write");
    csb_strv_push(&b.rw_dirs, "/");
  } else if (v->full_read) {
    add_op(&b, OP_BASE_RO, "/", NULL, "full disk read: / bound read-only");
  } else {
    int root_readable = 0;
    for (size_t i = 0; i < v->readable_roots.len; i++)
      if (strcmp(v->readable_roots.items[i], "/") == 0) root_readable = 1;
    if (root_readable) {
      add_op(&b, OP_BASE_RO, "/", NULL, "/ readable: bound read-only");
    } else {
      add_op(&b, OP_BASE_TMPFS, "/", NULL, "restricted read: empty root, readable roots bound read-only");
    }
  }
  add_op(&b, OP_DEV, "/dev", NULL, "/dev: minimal device nodes (null zero full random urandom tty pts)");
  add_op(&b, OP_PROC, "/proc", NULL,
         o->mount_proc ? "/proc: fresh procfs of the sandbox's PID namespace"
                       : "/proc: empty (this host refused a fresh procfs)");

  if (o->mount_proc) {
    /* bubblewrap leaves /proc/sys writable when its directories are not
     * (it tests the directory). Run by root, the sandbox's uid 0 is the
     * host's root for sysctl permission checks, so kernel settings
     * (core_pattern, ...) would be writable from inside. */
    static const char *const proc_ro[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/pressure"};
    for (size_t i = 0; i < CSB_ARRAY_LEN(proc_ro); i++) {
      struct stat st;
      if (lstat(proc_ro[i], &st) == 0)
        add_op(&b, OP_RO_BIND, proc_ro[i], proc_ro[i], NULL);
    }
    csb_strv_push(&out->explain, "/proc/sys, /proc/sysrq-trigger, /proc/pressure: read-only");
    /* pid 1 is not dumpable, so its /proc files belong to root: run by
     * root, the command (the sandbox's uid 0) could set the nice value of
     * pid 1's autogroup, and with busy processes of its own starve the
     * supervisor (it would notice csb-bwrap gone seconds late). */
    struct stat ag;
    if (geteuid() == 0 && lstat("/proc/self/autogroup", &ag) == 0) {
      add_op(&b, OP_RO_BIND, "/proc/1/autogroup", "/dev/null", NULL);
      csb_strv_push(&out->explain, "/proc/1/autogroup: masked (the sandbox's uid 0 would own it)");
    }
  }

  for (size_t i = 0; i < v->n_writable; i++) csb_strv_push(&b.writable_logical, v->writable[i].root);

  /* 2. readable roots (restricted read), with the platform read roots */
  if (!v->full_read && !v->full_write) {
    csb_strv roots;
    csb_strv_init(&roots);
    for (size_t i = 0; i < v->readable_roots.len; i++) csb_strv_push(&roots, v->readable_roots.items[i]);
    for (size_t i = 0; i < v->platform_read_roots.len; i++) csb_strv_push(&roots, v->platform_read_roots.items[i]);
    csb_strv_sort_unique(&roots);
    for (size_t i = 0; i < roots.len; i++) {
      const char *r = roots.items[i];
      struct stat st;
      if (strcmp(r, "/") == 0) continue;
      if (strcmp(r, "/dev") == 0 || strcmp(r, "/proc") == 0) {
        csb_strv_pushf(&out->explain, "readable root %s: provided by bubblewrap", r);
        continue;
      }
      if (!csb_path_stat_memo(b.memo, r, &st)) {
        csb_strv_pushf(&out->explain, "readable root %s does not exist: skipped", r);
        continue;
      }
      if (!check_writable_symlink(&b, r, "readable root")) {
        csb_strv_free(&roots);
        goto out;
      }
      if (is_symlinked_writable_root(&b, r)) {
        /* bound read-write at its target below, the link recreated where
         * it is not visible: a read-only bind here would make the path as
         * written read-only */
        continue;
      }
      if (find_op(&b, r) < 0) {
        int platform = csb_strv_contains(&v->platform_read_roots, r) &&
                       !csb_strv_contains(&v->readable_roots, r);
        char *why = csb_xasprintf(platform ? "platform read root %s" : "readable root %s", r);
        add_op(&b, OP_RO_BIND, r, r, why);
        free(why);
      }
      /* A readable root that is a symlink (kept as written in its
       * effective path): where the host's link shows through a bind of
       * its directory, no mount is made at its path, and what it leads
       * to must be there too. */
      struct stat lst;
      char *canon = NULL;
      csb_error ce;
      if (exists_nofollow(&b, r, &lst) && S_ISLNK(lst.st_mode) &&
          csb_path_canonicalize_memo(b.memo, r, &canon, &ce) && strcmp(canon, r) != 0) {
        const op *c = covering_op(&b, canon);
        if (find_op(&b, canon) < 0 && (!c || c->kind == OP_BASE_TMPFS)) {
          char *why = csb_xasprintf("readable root %s (symlink): its target %s", r, canon);
          add_op(&b, OP_RO_BIND, canon, canon, why);
          free(why);
        }
      }
      free(canon);
    }
    csb_strv_free(&roots);
  }

  /* 3. writable roots: the binds first, then their carve-outs */
  b.pinning = 1;
  for (size_t i = 0; i < v->n_writable; i++)
    if (!add_writable_root(&b, &v->writable[i])) goto out;
  b.pinning = 0;

  /* /sys is kernel state, not files: a writable root above it (full disk
   * write, or a writable "/") would make global settings writable, and run
   * by root the sandbox's uid 0 passes sysfs's and cgroupfs's owner checks
   * (/sys/kernel/mm/..., cgroup v1 files). It stays read-only unless a rule
   * names a path below it. */
  {
    struct stat st;
    if (host_writable_at(&b, "/sys") && find_op(&b, "/sys") < 0 && lstat("/sys", &st) == 0 &&
        S_ISDIR(st.st_mode))
      add_op(&b, OP_RO_BIND, "/sys", "/sys", "/sys: kernel settings, bound read-only below a writable root");
  }

  if (!v->full_read && !v->full_write) {
    /* 3a. the symlinks on the way to readable roots (/bin -> usr/bin) */
    if (!add_readable_links(&b)) goto out;
    /* 3b. what our own (dynamically linked) binary needs to start */
    for (size_t i = 0; i < o->n_runtime; i++) add_runtime_file(&b, o->runtime_src[i], o->runtime_dst[i]);
  }

  /* 4. unreadable paths (entries + expanded globs) */
  for (size_t i = 0; i < v->unreadable_roots.len; i++) csb_strv_push(&unreadable, v->unreadable_roots.items[i]);
  if (!expand_globs(&b, &unreadable)) goto out;
  csb_strv_sort_unique(&unreadable);

  b.pinning = 1;
  for (size_t i = 0; i < v->n_writable; i++)
    if (!add_writable_carveouts(&b, &v->writable[i])) goto out;
  for (size_t i = 0; i < unreadable.len; i++) {
    b.pinning = csb_strv_contains(&v->unreadable_roots, unreadable.items[i]);
    if (!add_unreadable(&b, unreadable.items[i], "deny rule")) goto out;
  }
  b.pinning = 0;
  /* 4a. a writable root that is a symlink is bound at its target: where
   * the link itself is not visible (an empty root, a deny mask), it is
   * recreated so that the path as written leads there */
  for (size_t i = 0; i < v->n_writable; i++)
    if (is_symlinked_writable_root(&b, v->writable[i].root)) add_writable_root_link(&b, v->writable[i].root);
  pin_ancestors(&b);

  /* 5. /dev/shm follows the policy (bubblewrap's own is private and
   * writable, which the policy may not allow). */
  ev = csb_policy_evaluator_new_memo(p, b.memo);
  if (find_op(&b, "/dev/shm") < 0) {
    csb_verdict vd;
    csb_policy_evaluator_access_for(ev, "/dev/shm", &vd);
    if (vd.can_write) {
      add_op(&b, OP_BIND, "/dev/shm", "/dev/shm", "/dev/shm writable: host /dev/shm shared");
    } else if (vd.can_read) {
      add_op(&b, OP_RO_BIND, "/dev/shm", "/dev/shm", "/dev/shm readable: host /dev/shm read-only");
    } else {
      add_op(&b, OP_EMPTY_DIR, "/dev/shm", NULL, "/dev/shm not allowed: empty and read-only");
    }
  }

  /* 6. hide the synthetic-target registry, and every other directory a
   * run may pick as its registry: a later run (another environment, say
   * without XDG_RUNTIME_DIR) trusts what it finds there as its own. One
   * the sandbox could create is created now, so that it is hidden too. */
  if (o->registry) {
    struct stat st;
    if (stat(o->registry, &st) == 0 && S_ISDIR(st.st_mode))
      hide_dir(&b, o->registry, "csb-bwrap's mount-target registry hidden");
  }
  for (size_t i = 0; i < o->n_registry_others; i++) {
    const char *r = o->registry_others[i];
    if (o->registry && strcmp(r, o->registry) == 0) continue;
    csb_verdict vd;
    csb_policy_evaluator_access_for(ev, r, &vd);
    csb_error why;
    csb_error_clear(&why);
    /* Writable by the policy's paths, or through a bind at another name
     * (a writable root that is a symlink is bound at its target, which
     * the policy does not name). */
    uid_t owner;
    if ((vd.can_write || host_writable_at(&b, r)) && !bw_registry_secure(r, &why)) {
      char *parent = csb_path_parent(r);
      int held = bw_registry_held_by_other(r, &owner);
      if (held) /* (in /tmp, say: no run of ours takes it, no command of ours replaces it) */
        csb_strv_pushf(&out->explain, "%s belongs to uid %u and cannot be removed or renamed by us "
                                      "(%s): never our registry",
                       r, (unsigned)owner, parent);
      else
        csb_error_set(err,
                      "%s: the sandbox could write this directory, which a later run may pick as "
                      "csb-bwrap's private registry and whose deny-glob expansions and mount-target entries it would trust; "
                      "it cannot be made private (%s) (backend: bubblewrap; fix: remove %s)",
                      r, why.msg, r);
      free(parent);
      if (!held) goto out;
    }
    struct stat st;
    if (lstat(r, &st) == 0 && S_ISDIR(st.st_mode))
      hide_dir(&b, r, "another directory csb-bwrap may use as its registry hidden");
  }

  /* 7. files the launcher supplies (the proxy's CA bundles), last at
   * their path: a checked copy wins over whatever the policy puts there */
  for (size_t i = 0; i < o->n_data_files; i++) {
    char *why = csb_xasprintf("%s: checked copy bound read-only", o->data_file_dst[i]);
    add_op(&b, OP_DATA_FILE, o->data_file_dst[i], NULL, why)->fd = o->data_file_fd[i];
    free(why);
  }

  ok = emit(&b);
out:
  csb_policy_evaluator_free(ev);
  for (size_t i = 0; i < b.n; i++) {
    free(b.ops[i].dst);
    free(b.ops[i].key);
    free(b.ops[i].src);
    free(b.ops[i].why);
  }
  free(b.ops);
  for (size_t i = 0; i < b.n_slots; i++) free(b.slots[i].key);
  free(b.slots);
  csb_strv_free(&b.rw_dirs);
  csb_strv_free(&b.writable_logical);
  csb_strv_free(&b.kept);
  for (size_t i = 0; b.read_leads && i < p->n_entries; i++) free(b.read_leads[i]);
  free(b.read_leads);
  if (b.memo != o->memo) csb_path_memo_free(b.memo);
  csb_strv_free(&unreadable);
  return ok;
}

void bw_fsargs_hold(bw_fsargs *f, int fd) {
  f->held_fds = csb_xgrow(f->held_fds, &f->cap_held_fds, f->n_held_fds + 1, sizeof(int));
  f->held_fds[f->n_held_fds++] = fd;
}

void bw_fsargs_release_holds(bw_fsargs *f) {
  for (size_t i = 0; i < f->n_held_fds; i++) close(f->held_fds[i]);
  free(f->held_fds);
  f->held_fds = NULL;
  f->n_held_fds = f->cap_held_fds = 0;
}

void bw_fsargs_free(bw_fsargs *f) {
  if (!f) return;
  bw_fsargs_release_holds(f);
  csb_strv_free(&f->argv);
  csb_strv_free(&f->explain);
  csb_strv_free(&f->verify);
  for (size_t i = 0; i < f->n_synth; i++) free(f->synth[i].path);
  free(f->synth);
  free(f->data_fds);
  memset(f, 0, sizeof *f);
}
