/* glob_expand.c - bounded expansion of a deny glob against the filesystem.
 *
 * The walk starts at the glob's static prefix and runs the glob's NFA one
 * byte at a time over "<dir>/<name>", through a lazily built DFA whose
 * states are interned NFA state sets. Each directory remembers the DFA
 * state reached after "<dir>/", so matching an entry costs one table
 * lookup per byte of its name, and a directory is entered only when the
 * state after "<dir>/<name>/" is not dead: literal components and
 * non-matching names prune whole subtrees, while "**" keeps a (memoised)
 * set of positions alive instead of backtracking. Before that, an entry
 * that will not be entered (not a directory, or at the depth limit) is
 * rejected when its name lacks the literal bytes every match ends with
 * (".env" for a pattern ending in "*.env"), which settles most names of a
 * large tree with one short comparison. Entry types come from d_type;
 * only entries listed as DT_UNKNOWN cost an fstatat, and only when the
 * type matters.
 *
 * The DFA cache is bounded; when it fills up it is flushed and rebuilt
 * from the state sets that the walk keeps for every pending directory, so
 * pathological patterns cost time, not memory.
 *
 * Reading directories is kernel-bound (ext4 hashes every entry it returns),
 * so large trees are walked by several threads: the calling thread expands
 * the top levels breadth-first until there are enough subtrees, then every
 * thread (each with its own DFA cache and directory-fd chain) takes whole
 * subtrees from a shared list. Matches are merged and sorted at the end.
 *
 * With a cache directory (POSIX), every directory read is recorded with
 * its identity (glob_cache.h), and a later expansion first replays the
 * cached records top-down in the calling thread: a directory whose
 * identity still matches contributes its recorded matches and children
 * without being opened; every other one becomes a work item for the
 * walkers above, which read its whole subtree afresh.
 */
#define _GNU_SOURCE
#include "glob_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(_WIN32)
/* Windows builds: the same walker over Win32 directory handles (the
 * portable readdir() reader; see dirfd_win.h). */
#include "dirfd_win.h"
#define open(path, flags) csb_dw_open((path), (flags))
#define openat csb_dw_openat
#define dup csb_dw_dup
#define close csb_dw_close
#define fstatat csb_dw_fstatat
#define DIR csb_dw_dir
#define dirent csb_dw_dirent
#define fdopendir csb_dw_fdopendir
#define readdir csb_dw_readdir
#define closedir csb_dw_closedir
#define sysconf(name) csb_dw_ncpu()
#define CSB_GLOB_ROOT_ABSOLUTE(r)                                                     \
  ((r)[0] == '/' || ((((r)[0] | 0x20) >= 'a' && ((r)[0] | 0x20) <= 'z') && (r)[1] == ':'))
#else
#include <dirent.h>
#include <time.h>

#include "glob_cache.h"
#define CSB_GLOB_ROOT_ABSOLUTE(r) ((r)[0] == '/')
#define CSB_GLOB_CACHE 1
#endif

/* Test hook: CSB_GLOB_TEST_DT_UNKNOWN makes the directory reader report
 * every entry as DT_UNKNOWN (as some file systems do), so that the
 * fstatat fallback runs for every entry. */
#ifdef CSB_GLOB_TEST_DT_UNKNOWN
#define LISTED_TYPE(t) ((void)(t), (unsigned char)DT_UNKNOWN)
#else
#define LISTED_TYPE(t) (t)
#endif

#if defined(__linux__) && !defined(CSB_GLOB_USE_READDIR)
#include <sys/syscall.h>
#define CSB_HAVE_GETDENTS64 1
#endif

/* ---- lazy DFA -------------------------------------------------------------- */

/* Cache bounds (overridable so that tests can force frequent flushes). */
#ifndef CSB_GLOB_DFA_MAX_STATES
#define CSB_GLOB_DFA_MAX_STATES 4096
#endif
#define DFA_MAX_STATES CSB_GLOB_DFA_MAX_STATES
#define DFA_MAX_POOL ((size_t)1 << 22) /* int32 entries of state-set storage */
#define DFA_DEAD 0

typedef struct dfa {
  const csb_glob *g;
  int ncls;
  size_t n; /* states */
  int32_t *trans; /* n * ncls, -1 = not computed */
  size_t trans_cap;
  uint8_t *acc;
  size_t acc_cap;
  size_t *off;
  size_t off_cap;
  int32_t *len;
  size_t len_cap;
  int32_t *pool;
  size_t pool_len, pool_cap;
  int32_t *ht; /* open addressing, -1 = empty */
  size_t ht_cap;
  unsigned gen; /* bumped on every flush */
  csb_nfa_scratch w;
  int32_t *tmp;
  /* Per state: the only name that can follow (see dfa_literal_name);
   * lit_len -2 = not computed, -1 = none. Names live in lit_pool. */
  int32_t *lit_len;
  size_t lit_len_cap;
  size_t *lit_off;
  size_t lit_off_cap;
  char *lit_pool;
  size_t lit_pool_len, lit_pool_cap;
} dfa;

static uint64_t set_hash(const int32_t *set, int32_t n, int acc) {
  uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)acc;
  for (int32_t i = 0; i < n; i++) {
    h ^= (uint32_t)set[i];
    h *= 0x100000001b3ull;
  }
  h ^= h >> 29;
  return h;
}

static void dfa_ht_reset(dfa *d, size_t cap) {
  free(d->ht);
  d->ht_cap = cap;
  d->ht = csb_xmalloc(cap * sizeof *d->ht);
  for (size_t i = 0; i < cap; i++) d->ht[i] = -1;
}

static void dfa_ht_insert(dfa *d, int32_t id) {
  uint64_t h = set_hash(d->pool + d->off[id], d->len[id], d->acc[id]);
  size_t mask = d->ht_cap - 1, i = (size_t)h & mask;
  while (d->ht[i] >= 0) i = (i + 1) & mask;
  d->ht[i] = id;
}

static int32_t dfa_intern(dfa *d, const int32_t *set, int32_t n, int acc);

static void dfa_flush(dfa *d) {
  d->n = 0;
  d->pool_len = 0;
  d->lit_pool_len = 0;
  d->gen++;
  dfa_ht_reset(d, d->ht_cap);
  (void)dfa_intern(d, NULL, 0, 0); /* the dead state is always 0 */
}

static int32_t dfa_intern(dfa *d, const int32_t *set, int32_t n, int acc) {
  uint64_t h = set_hash(set, n, acc);
  size_t mask = d->ht_cap - 1, i = (size_t)h & mask;
  for (; d->ht[i] >= 0; i = (i + 1) & mask) {
    int32_t id = d->ht[i];
    if (d->acc[id] == acc && d->len[id] == n &&
        (n == 0 || memcmp(d->pool + d->off[id], set, (size_t)n * sizeof *set) == 0))
      return id;
  }
  if (d->n >= DFA_MAX_STATES || d->pool_len + (size_t)n > DFA_MAX_POOL) {
    dfa_flush(d);
    return dfa_intern(d, set, n, acc);
  }
  int32_t id = (int32_t)d->n++;
  d->acc = csb_xgrow(d->acc, &d->acc_cap, d->n, sizeof *d->acc);
  d->off = csb_xgrow(d->off, &d->off_cap, d->n, sizeof *d->off);
  d->len = csb_xgrow(d->len, &d->len_cap, d->n, sizeof *d->len);
  d->trans = csb_xgrow(d->trans, &d->trans_cap, d->n * (size_t)d->ncls, sizeof *d->trans);
  d->lit_len = csb_xgrow(d->lit_len, &d->lit_len_cap, d->n, sizeof *d->lit_len);
  d->lit_off = csb_xgrow(d->lit_off, &d->lit_off_cap, d->n, sizeof *d->lit_off);
  d->lit_len[id] = -2;
  d->pool = csb_xgrow(d->pool, &d->pool_cap, d->pool_len + (size_t)n + 1, sizeof *d->pool);
  d->acc[id] = (uint8_t)acc;
  d->off[id] = d->pool_len;
  d->len[id] = n;
  if (n) memcpy(d->pool + d->pool_len, set, (size_t)n * sizeof *set);
  d->pool_len += (size_t)n;
  for (int c = 0; c < d->ncls; c++) d->trans[(size_t)id * (size_t)d->ncls + (size_t)c] = -1;
  d->ht[i] = id;
  if (d->n * 2 > d->ht_cap) {
    dfa_ht_reset(d, d->ht_cap * 2);
    for (size_t k = 0; k < d->n; k++) dfa_ht_insert(d, (int32_t)k);
  }
  return id;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static void sort_set(int32_t *v, size_t n) {
  if (n > 16) {
    qsort(v, n, sizeof *v, cmp_i32);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    int32_t x = v[i];
    size_t j = i;
    while (j > 0 && v[j - 1] > x) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
}

static void dfa_init(dfa *d, const csb_glob *g) {
  memset(d, 0, sizeof *d);
  d->g = g;
  d->ncls = g->nclasses;
  csb_nfa_scratch_init(&d->w, g);
  d->tmp = csb_xmalloc((g->nstates + 1) * sizeof *d->tmp);
  dfa_ht_reset(d, 1024);
  (void)dfa_intern(d, NULL, 0, 0);
}

static void dfa_free(dfa *d) {
  csb_nfa_scratch_free(&d->w);
  free(d->tmp);
  free(d->trans);
  free(d->acc);
  free(d->off);
  free(d->len);
  free(d->pool);
  free(d->ht);
  free(d->lit_len);
  free(d->lit_off);
  free(d->lit_pool);
}

static int32_t dfa_start(dfa *d) {
  size_t n = 0;
  int acc = 0;
  csb_nfa_next_stamp(&d->w, d->g->nstates);
  csb_nfa_closure(d->g, d->g->start, &d->w, d->tmp, &n, &acc);
  sort_set(d->tmp, n);
  return dfa_intern(d, d->tmp, (int32_t)n, acc);
}

/* The transition of state `s` on byte class `cls`, computed and cached
 * when missing. */
static int32_t dfa_step_cls(dfa *d, int32_t s, size_t cls) {
  const csb_glob *g = d->g;
  size_t slot = (size_t)s * (size_t)d->ncls + cls;
  int32_t t = d->trans[slot];
  if (t >= 0) return t;
  size_t n = 0;
  int acc = 0;
  unsigned char rep = g->class_rep[cls];
  csb_nfa_next_stamp(&d->w, g->nstates);
  const int32_t *set = d->pool + d->off[s];
  for (int32_t k = 0; k < d->len[s]; k++) {
    int32_t x = set[k];
    if (csb_nfa_accepts(g, x, rep)) csb_nfa_closure(g, g->states[x].out, &d->w, d->tmp, &n, &acc);
  }
  sort_set(d->tmp, n);
  unsigned gen = d->gen;
  t = dfa_intern(d, d->tmp, (int32_t)n, acc);
  if (d->gen == gen) d->trans[slot] = t;
  return t;
}

static int32_t dfa_step(dfa *d, int32_t s, unsigned char b) {
  return dfa_step_cls(d, s, d->g->byte_class[b]);
}

#define LITERAL_NAME_MAX 255

/* When exactly one directory entry name can keep the match alive from
 * state `s` (the state after "<dir>/"), copies it to `out` and returns its
 * length; otherwise returns -1. "." and ".." never qualify (a listing would
 * not report them either). Lets the walker probe one entry with fstatat
 * instead of reading a whole directory, e.g. for the "config" of
 * "/srv/<star>/config/x". Answers are cached per state. */
static int32_t dfa_literal_name(dfa *d, int32_t s, char out[LITERAL_NAME_MAX]) {
  if (d->lit_len[s] >= 0) {
    memcpy(out, d->lit_pool + d->lit_off[s], (size_t)d->lit_len[s]);
    return d->lit_len[s];
  }
  if (d->lit_len[s] == -1) return -1;
  const csb_glob *g = d->g;
  unsigned gen = d->gen;
  int slash_cls = g->byte_class['/'];
  int32_t len = -1, n = 0, cur = s;
  for (;;) {
    int viable = n > 0 && (d->acc[cur] || dfa_step(d, cur, '/') != DFA_DEAD);
    int live = 0, only = -1;
    int32_t next = DFA_DEAD;
    for (int c = 0; c < d->ncls && live < 2; c++) {
      if (c == slash_cls) continue;
      int32_t t = dfa_step(d, cur, g->class_rep[c]);
      if (t == DFA_DEAD) continue;
      live++;
      only = c;
      next = t;
    }
    if (viable) {
      if (live == 0) len = n;
      break;
    }
    if (live != 1 || g->class_size[only] != 1 || n == LITERAL_NAME_MAX) break;
    out[n++] = (char)g->class_rep[only];
    cur = next;
  }
  if (len == 1 && out[0] == '.') len = -1;
  if (len == 2 && out[0] == '.' && out[1] == '.') len = -1;
  if (d->gen != gen) return len; /* the cache was flushed: `s` is gone */
  if (len > 0) {
    d->lit_pool = csb_xgrow(d->lit_pool, &d->lit_pool_cap, d->lit_pool_len + (size_t)len, 1);
    memcpy(d->lit_pool + d->lit_pool_len, out, (size_t)len);
    d->lit_off[s] = d->lit_pool_len;
    d->lit_pool_len += (size_t)len;
  }
  d->lit_len[s] = len;
  return len;
}

/* ---- walker ---------------------------------------------------------------- */

/* A DFA state that survives cache flushes: the NFA set is kept in the
 * walker's arena and re-interned when the cache generation changed. */
typedef struct wstate {
  size_t off;
  int32_t len;
  uint8_t acc;
  int32_t id;
  unsigned gen;
} wstate;

typedef struct wchild {
  size_t name_off, name_len;
  wstate st;
} wchild;

typedef struct wframe {
  int fd;
  int path_only;   /* fd is an O_PATH one: names may only be looked up */
  int read_done;
  int depth;       /* levels below the static prefix (prefix = 0) */
  size_t path_len; /* of this directory's path in walker.path */
  wstate st;       /* after "<dir>/" */
  size_t child_begin, child_end, next_child;
  size_t names_mark, sets_mark;
} wframe;

/* A directory handed from the breadth-first phase to the workers. */
typedef struct witem {
  char *rel; /* below the static prefix, "" for the prefix itself */
  int32_t *set;
  int32_t len;
  uint8_t acc;
  int depth;
} witem;

/* What the workers of one expansion share. */
typedef struct expansion {
  const csb_glob *g;
  int max_depth;
  size_t max_matches;
  unsigned flags;
  int want_links;        /* opts->links given */
  const char *root;      /* static prefix as written */
  const char *root_path; /* "" for "/", otherwise root */
  char *root_canon;      /* canonical prefix when it crosses a symlink */
  int root_fd;
  int root_path_only; /* root_fd is an O_PATH one (see open_dir_at) */
  atomic_size_t nmatches;
  atomic_int stop;
  pthread_mutex_t mu; /* guards failed/err */
  int failed;
  csb_error *err;
  witem *items;
  size_t nitems;
  atomic_size_t next_item;
  atomic_size_t dirs_read;
  atomic_size_t dirs_trusted; /* directories read and recorded as trusted */
  /* Recording directories for the cache (glob_cache.h). */
  int record;
  struct timespec start;
} expansion;

typedef struct walker {
  expansion *X;
  dfa d;
  /* Byte class of every name byte, after case folding when asked. */
  uint8_t cls[256];
  csb_error err;
  csb_buf path; /* current directory ("" for "/") */
  char *names;
  size_t names_len, names_cap;
  int32_t *sets;
  size_t sets_len, sets_cap;
  wchild *children;
  size_t nchildren, children_cap;
  wframe *frames;
  size_t nframes, frames_cap;
  csb_strv found;
  unsigned char *found_types; /* per match, when recording */
  size_t found_types_cap;
  csb_strv targets;
  csb_strv links; /* see csb_glob_expand_opts.links */
  char *dbuf;
  /* Records of the directories read (when recording): serialized back
   * to back in `recs`, starting at rec_off[i]. */
  csb_buf recs;
  size_t *rec_off;
  size_t nrec, rec_off_cap;
  /* The file system last checked by gc_fs_trusted. */
  uint64_t fs_dev;
  int fs_known, fs_ok;
} walker;

#define DIRBUF_SIZE (64 * 1024)

/* O_DIRECTORY makes a FIFO or device swapped in for a directory fail with
 * ENOTDIR before it could block; O_NONBLOCK is a second guard. */
#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK)

/* Records the walker's error as the expansion's (first one wins) and asks
 * every worker to stop. Returns 0. */
static int walker_failed(walker *W) {
  expansion *X = W->X;
  pthread_mutex_lock(&X->mu);
  if (!X->failed) {
    X->failed = 1;
    if (X->err) *X->err = W->err;
  }
  pthread_mutex_unlock(&X->mu);
  atomic_store(&X->stop, 1);
  return 0;
}

static int32_t wstate_id(walker *W, wstate *s) {
  if (s->gen != W->d.gen) {
    s->id = dfa_intern(&W->d, W->sets + s->off, s->len, s->acc);
    s->gen = W->d.gen;
  }
  return s->id;
}

static void wstate_from_set(walker *W, wstate *s, const int32_t *set, int32_t n, int acc) {
  W->sets = csb_xgrow(W->sets, &W->sets_cap, W->sets_len + (size_t)n + 1, sizeof *W->sets);
  if (n) memcpy(W->sets + W->sets_len, set, (size_t)n * sizeof *W->sets);
  s->off = W->sets_len;
  s->len = n;
  s->acc = (uint8_t)acc;
  W->sets_len += (size_t)n;
  s->gen = W->d.gen + 1; /* force interning on first use */
  (void)wstate_id(W, s);
}

static void wstate_save(walker *W, wstate *s, int32_t id) {
  dfa *d = &W->d;
  int32_t n = d->len[id];
  W->sets = csb_xgrow(W->sets, &W->sets_cap, W->sets_len + (size_t)n + 1, sizeof *W->sets);
  if (n) memcpy(W->sets + W->sets_len, d->pool + d->off[id], (size_t)n * sizeof *W->sets);
  s->off = W->sets_len;
  s->len = n;
  s->acc = d->acc[id];
  s->id = id;
  s->gen = d->gen;
  W->sets_len += (size_t)n;
}

static int read_fail(walker *W, int e) {
  csb_error_set(&W->err, "cannot read `%s`: %s", W->path.len ? W->path.data : "/",
                strerror(e));
  return walker_failed(W);
}

static unsigned char mode_to_dtype(mode_t m) {
  if (S_ISDIR(m)) return DT_DIR;
  if (S_ISLNK(m)) return DT_LNK;
  if (S_ISREG(m)) return DT_REG;
  if (S_ISFIFO(m)) return DT_FIFO;
  if (S_ISSOCK(m)) return DT_SOCK;
  if (S_ISCHR(m)) return DT_CHR;
  if (S_ISBLK(m)) return DT_BLK;
  return DT_UNKNOWN;
}

static unsigned char fold_byte(unsigned char b) {
  return b >= 'A' && b <= 'Z' ? (unsigned char)(b - 'A' + 'a') : b;
}

/* The type of entry `name` of directory `dirfd` when the listing did not
 * say (DT_UNKNOWN), from fstatat without following a symlink; DT_UNKNOWN
 * again when the entry cannot be inspected (e.g. it vanished). */
static unsigned char entry_type(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return DT_UNKNOWN;
  return mode_to_dtype(st.st_mode);
}

/* Counts one more match against the limit. */
static int count_match(walker *W) {
  expansion *X = W->X;
  if (atomic_fetch_add(&X->nmatches, 1) + 1 > X->max_matches) {
    csb_error_set(&W->err, "more than %zu matching paths under `%s`", X->max_matches,
                  X->root);
    return walker_failed(W);
  }
  return 1;
}

/* Pushes the match `p` (taken over) of the given type. */
static void push_match(walker *W, char *p, unsigned char type) {
  csb_strv_push_owned(&W->found, p);
  if (W->X->record) {
    W->found_types = csb_xgrow(W->found_types, &W->found_types_cap, W->found.len, 1);
    W->found_types[W->found.len - 1] = type;
  }
}

/* Adds the canonical target of the match `p` (see
 * CSB_GLOB_EXPAND_SYMLINK_TARGETS). */
static void add_target(walker *W, const char *p, unsigned char type) {
  expansion *X = W->X;
  if (type == DT_LNK) {
    char *canon = NULL;
    if (csb_path_canonicalize(p, &canon, NULL)) {
      if (strcmp(canon, p) != 0)
        csb_strv_push_owned(&W->targets, canon);
      else
        free(canon);
    }
  } else if (X->root_canon) {
    const char *rest = p + strlen(X->root_path);
    if (strcmp(X->root_canon, "/") == 0)
      csb_strv_push(&W->targets, rest);
    else
      csb_strv_pushf(&W->targets, "%s%s", X->root_canon, rest);
  }
}

/* The path of entry `name` of the directory of frame F (caller frees). */
static char *entry_path(const walker *W, const wframe *F, const char *name, size_t len) {
  size_t plen = F->path_len;
  char *p = csb_xmalloc(plen + len + 2);
  memcpy(p, W->path.data, plen);
  p[plen] = '/';
  memcpy(p + plen + 1, name, len);
  p[plen + 1 + len] = '\0';
  return p;
}

/* Records a match. `*type` is the entry's type, resolved here (and then
 * kept for the caller) when the symlink targets need it. */
static int add_match(walker *W, const wframe *F, const char *name, size_t len,
                     unsigned char *type) {
  expansion *X = W->X;
  if (!count_match(W)) return 0;
  char *p = entry_path(W, F, name, len);
  if (X->flags & CSB_GLOB_EXPAND_SYMLINK_TARGETS && *type == DT_UNKNOWN)
    *type = entry_type(F->fd, name);
  push_match(W, p, *type);
  if (X->flags & CSB_GLOB_EXPAND_SYMLINK_TARGETS) add_target(W, p, *type);
  return 1;
}

/* 1 when `name` (len bytes) ends with the glob's tail, compared as the
 * DFA would see the bytes (folded when asked). */
static int has_tail(const walker *W, const char *name, size_t len) {
  const csb_glob *g = W->X->g;
  size_t n = g->tail_len;
  if (len < n) return 0;
  const unsigned char *a = (const unsigned char *)name + (len - n);
  const unsigned char *t = (const unsigned char *)g->tail;
  if (!(W->X->flags & CSB_GLOB_EXPAND_FOLD_CASE)) return memcmp(a, t, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (fold_byte(a[i]) != t[i]) return 0;
  return 1;
}

/* Matches one directory entry (`name` is NUL-terminated, len bytes);
 * queues it as a child to visit when the pattern can still match below
 * it. `mname` (mlen bytes) is the form the pattern sees. Types come from
 * the listing; an entry of type DT_UNKNOWN is
 * inspected with fstatat only when the answer matters (it could be a
 * directory worth entering, or a matched symlink). */
static int visit_entry_as(walker *W, size_t fi, const char *name, size_t len, const char *mname,
                          size_t mlen, unsigned char type) {
  expansion *X = W->X;
  wframe *F = &W->frames[fi];
  int depth = F->depth + 1;
  int depth_ok = X->max_depth < 0 || depth < X->max_depth;
  int may_enter = (type == DT_DIR || type == DT_UNKNOWN) && depth_ok;
  /* A link is reported (not entered) when the caller asks for links. */
  int may_link = X->want_links && (type == DT_LNK || type == DT_UNKNOWN) && depth_ok;
  /* An entry that will not be entered can only matter by matching, and
   * every match ends with the tail: most names stop here. */
  if (!may_enter && !may_link && X->g->tail_len && !has_tail(W, mname, mlen)) return 1;
  dfa *d = &W->d;
  int32_t s = wstate_id(W, &F->st);
  const int32_t *trans = d->trans;
  const size_t ncls = (size_t)d->ncls;
  for (size_t i = 0; i < mlen; i++) {
    size_t c = W->cls[(unsigned char)mname[i]];
    int32_t t = trans[(size_t)s * ncls + c];
    if (t < 0) {
      t = dfa_step_cls(d, s, c);
      trans = d->trans; /* may have moved */
    }
    if (t == DFA_DEAD) return 1;
    s = t;
  }
  if (d->acc[s] && !add_match(W, F, name, len, &type)) return 0;
  if (!may_enter && !may_link) return 1;
  int32_t t = dfa_step(d, s, '/');
  if (t == DFA_DEAD) return 1;
  if (type == DT_UNKNOWN) type = entry_type(F->fd, name);
  if (type == DT_LNK && X->want_links) {
    csb_strv_push_owned(&W->links, entry_path(W, F, name, len));
    return 1;
  }
  /* An entry that cannot be looked at (listed without a type in a
   * directory that may not be searched) is queued all the same: opening
   * it decides whether it can be skipped (skip_unopened). */
  if ((type != DT_DIR && type != DT_UNKNOWN) || !may_enter) return 1;
  if (depth > CSB_GLOB_MAX_WALK_DEPTH) {
    csb_error_set(&W->err, "the tree under `%s` is deeper than %d levels", X->root,
                  CSB_GLOB_MAX_WALK_DEPTH);
    return walker_failed(W);
  }
  W->names = csb_xgrow(W->names, &W->names_cap, W->names_len + len + 1, 1);
  memcpy(W->names + W->names_len, name, len);
  W->names[W->names_len + len] = '\0';
  W->children = csb_xgrow(W->children, &W->children_cap, W->nchildren + 1,
                          sizeof *W->children);
  wchild *c = &W->children[W->nchildren++];
  c->name_off = W->names_len;
  c->name_len = len;
  W->names_len += len + 1;
  wstate_save(W, &c->st, t);
  return 1;
}

static int has_non_ascii(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) return 1;
  return 0;
}

/* Matches one directory entry (`name` is NUL-terminated, len bytes),
 * against its NTFS-folded form when asked (CSB_GLOB_EXPAND_FOLD_WINDOWS;
 * ASCII is folded through the byte classes). */
static int visit_entry(walker *W, size_t fi, const char *name, size_t len,
                       unsigned char type) {
  if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))) return 1;
  if (!(W->X->flags & CSB_GLOB_EXPAND_FOLD_WINDOWS) || !has_non_ascii(name, len))
    return visit_entry_as(W, fi, name, len, name, len, type);
  char *m = csb_winname_fold(name, len);
  int ok = visit_entry_as(W, fi, name, len, m, strlen(m), type);
  free(m);
  return ok;
}

#ifdef CSB_HAVE_GETDENTS64
struct csb_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int read_dir(walker *W, size_t fi) {
  int fd = W->frames[fi].fd;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, W->dbuf, DIRBUF_SIZE);
    if (n == 0) return 1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOENT) return 1; /* removed while we read it */
      return read_fail(W, errno);
    }
    for (long pos = 0; pos < n;) {
      struct csb_dirent64 *de = (struct csb_dirent64 *)(void *)(W->dbuf + pos);
      pos += de->d_reclen;
      if (!visit_entry(W, fi, de->d_name, strlen(de->d_name), LISTED_TYPE(de->d_type)))
        return 0;
    }
  }
}
#else
static int read_dir(walker *W, size_t fi) {
  int fd = dup(W->frames[fi].fd);
  if (fd < 0) return read_fail(W, errno);
  DIR *dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    return read_fail(W, e);
  }
  int ok = 1;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(dir);
    if (!de) {
      if (errno != 0 && errno != ENOENT) ok = read_fail(W, errno);
      break;
    }
#ifdef DT_UNKNOWN
    unsigned char type = de->d_type;
#else
    unsigned char type = DT_UNKNOWN;
#endif
    if (!visit_entry(W, fi, de->d_name, strlen(de->d_name), LISTED_TYPE(type))) {
      ok = 0;
      break;
    }
  }
  closedir(dir);
  return ok;
}
#endif

/* `path_only`: fd is an O_PATH one (open_dir_at). */
static void push_frame(walker *W, int fd, int path_only, int depth, const wstate *st) {
  W->frames = csb_xgrow(W->frames, &W->frames_cap, W->nframes + 1, sizeof *W->frames);
  wframe *F = &W->frames[W->nframes++];
  memset(F, 0, sizeof *F);
  F->fd = fd;
  F->path_only = path_only;
  F->depth = depth;
  F->path_len = W->path.len;
  F->st = *st;
  F->names_mark = W->names_len;
  F->sets_mark = W->sets_len;
  F->child_begin = W->nchildren;
}

static void pop_frame(walker *W) {
  wframe *F = &W->frames[--W->nframes];
  close(F->fd);
  W->names_len = F->names_mark;
  W->sets_len = F->sets_mark;
  W->nchildren = F->child_begin;
}

#ifdef CSB_GLOB_CACHE
/* 1 when the file system of the directory `fd` (-1: `path`), device
 * `dev`, keeps directory times exactly; checked once per device and
 * walker. */
static int fs_trusted(walker *W, int fd, const char *path, uint64_t dev) {
  if (!W->fs_known || W->fs_dev != dev) {
    W->fs_ok = gc_fs_trusted(fd, path);
    W->fs_dev = dev;
    W->fs_known = 1;
  }
  return W->fs_ok;
}

/* The path of directory `path` (len bytes) below the static prefix. */
static const char *rel_of(const walker *W, const char *path, size_t len, size_t *rel_len) {
  size_t rl = strlen(W->X->root_path);
  if (len <= rl) {
    *rel_len = 0;
    return "";
  }
  *rel_len = len - rl - 1;
  return path + rl + 1;
}

/* Appends the record of the directory of frame `fi`, just read: `id` is
 * its identity from before the read (`stable` as gc_dir_id says), the
 * matches it contributed start at W->found.items[found_mark]. */
static void record_dir(walker *W, size_t fi, const gc_id *id, int stable, size_t found_mark) {
  const wframe *F = &W->frames[fi];
  uint32_t flags = 0;
  if (stable && gc_id_settled(id, &W->X->start) && fs_trusted(W, F->fd, NULL, id->dev)) {
    flags |= GC_TRUSTED;
    atomic_fetch_add_explicit(&W->X->dirs_trusted, 1, memory_order_relaxed);
  }
  size_t nm = W->found.len - found_mark, nc = F->child_end - F->child_begin;
  const char **names = csb_xcalloc(nm + nc + 1, sizeof *names);
  size_t *lens = csb_xcalloc(nm + nc + 1, sizeof *lens);
  for (size_t i = 0; i < nm; i++) {
    const char *m = W->found.items[found_mark + i];
    names[i] = m + F->path_len + 1;
    lens[i] = strlen(names[i]);
  }
  for (size_t i = 0; i < nc; i++) {
    const wchild *c = &W->children[F->child_begin + i];
    names[nm + i] = W->names + c->name_off;
    lens[nm + i] = c->name_len;
  }
  size_t rel_len;
  const char *rel = rel_of(W, W->path.data, F->path_len, &rel_len);
  W->rec_off = csb_xgrow(W->rec_off, &W->rec_off_cap, W->nrec + 1, sizeof *W->rec_off);
  W->rec_off[W->nrec++] = W->recs.len;
  gc_put_record(&W->recs, rel, rel_len, id, flags, names, lens,
                W->found_types ? W->found_types + found_mark : NULL, nm, names + nm, lens + nm,
                nc);
  free(names);
  free(lens);
}
#endif

/* Reads the directory of the top frame (once). */
static int read_top(walker *W) {
  size_t fi = W->nframes - 1;
  wframe *F = &W->frames[fi];
  if (F->read_done) return 1;
  F->read_done = 1;
  F->child_begin = W->nchildren;
  atomic_fetch_add_explicit(&W->X->dirs_read, 1, memory_order_relaxed);
#ifdef CSB_GLOB_CACHE
  /* The identity is taken before reading: a change made after the stat
   * shows in a later stat, one made before it is in the listing. */
  gc_id id;
  int have_id = W->X->record ? gc_dir_id(F->fd, "", 0, &id) : -1;
  size_t found_mark = W->found.len;
#endif
  char lit[LITERAL_NAME_MAX];
  /* Case-folded matching lists directories: the name on disk may differ
   * in case from the pattern's. */
  int32_t len = (W->X->flags & CSB_GLOB_EXPAND_FOLD_CASE)
                    ? -1
                    : dfa_literal_name(&W->d, wstate_id(W, &F->st), lit);
  int listed = 0;
  if (len > 0) {
    /* Only one name can match here: look it up instead of listing. */
    char name[LITERAL_NAME_MAX + 1];
    memcpy(name, lit, (size_t)len);
    name[len] = '\0';
    struct stat st;
    if (fstatat(F->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!visit_entry(W, fi, name, (size_t)len, mode_to_dtype(st.st_mode))) return 0;
      listed = 1;
    } else if (errno == ENOENT || errno == ENOTDIR) {
      listed = 1;
    } else if (F->path_only) {
      return read_fail(W, errno);
    }
    /* Anything else (EACCES on a directory we may list but not search,
     * ...) falls back to reading the directory. */
  }
  if (!listed && F->path_only) return read_fail(W, EACCES); /* (not reached) */
  if (!listed && !read_dir(W, fi)) return 0;
  F = &W->frames[fi];
  F->child_end = W->nchildren;
  F->next_child = F->child_begin;
#ifdef CSB_GLOB_CACHE
  if (have_id >= 0) record_dir(W, fi, &id, have_id == 1, found_mark);
#endif
  return 1;
}

static int skippable_open_error(int e) {
  return e == EACCES || e == EPERM || e == ENOENT || e == ENOTDIR || e == ELOOP;
}

#if !defined(_WIN32)
/* Why the directory `name` in `dirfd` (AT_FDCWD with an absolute name for
 * the prefix), which this user may not open for listing (EACCES, EPERM),
 * still exposes what it holds to this user, or NULL when it does not:
 * with search permission a name in it opens without being listed, and
 * its owner (or the owner of the directory above it, when that one may
 * not be searched) can grant the missing permission with chmod. Skipping
 * such a directory would leave a matching path readable by a command run
 * as this user. */
static const char *unlisted_exposure(int dirfd, const char *name) {
  struct stat st;
  /* (The prefix is opened following symlinks, everything below it not.) */
  if (fstatat(dirfd, name, &st, dirfd == AT_FDCWD ? 0 : AT_SYMLINK_NOFOLLOW) == 0) {
    if (st.st_uid == geteuid()) return "it belongs to this user, who may make it readable";
    if (faccessat(dirfd, name, X_OK, AT_EACCESS) == 0)
      return "it may be searched, so a name in it opens without being listed";
    return NULL;
  }
  if (errno != EACCES) return NULL;
  /* The directory above may be listed but not searched. */
  if (dirfd != AT_FDCWD) {
    if (fstat(dirfd, &st) == 0 && st.st_uid == geteuid())
      return "the directory holding it belongs to this user, who may make that searchable";
    return NULL;
  }
  /* The prefix: find the deepest ancestor that can be looked at; it is
   * the one that may not be searched. */
  char *a = csb_xstrdup(name);
  const char *why = NULL;
  for (;;) {
    char *slash = strrchr(a, '/');
    if (!slash) break;
    if (slash == a) slash[1] = '\0';
    else *slash = '\0';
    if (stat(a, &st) == 0) {
      if (st.st_uid == geteuid())
        why = "a directory on the way to it belongs to this user, who may make that searchable";
      break;
    }
    if (errno != EACCES || strcmp(a, "/") == 0) break;
  }
  free(a);
  return why;
}
#endif

static int open_fail(walker *W, const char *what, int e) {
  csb_error_set(&W->err, "cannot open `%s`: %s", what, strerror(e));
  return walker_failed(W);
}

#define UNLISTED_MSG                                                                  \
  "cannot list `%s` (%s), although a command run as this user could reach what it " \
  "holds (%s): make it readable, or narrow the deny glob"

int csb_glob_unlisted_check(const char *dir, int e, csb_error *err) {
#if !defined(_WIN32)
  const char *why = e == EACCES || e == EPERM ? unlisted_exposure(AT_FDCWD, dir) : NULL;
  if (why) return csb_error_set(err, UNLISTED_MSG, dir, strerror(e), why), 1;
#else
  (void)dir;
  (void)e;
  (void)err;
#endif
  return 0;
}

/* A directory that could not be opened with errno `e`: 1 to skip it
 * (gone, not a directory, a symlink, or unreadable and unreachable for
 * this user), 0 after recording the error. `path` is its full path. */
static int skip_unopened(walker *W, int dirfd, const char *name, const char *path, int e) {
  if (!skippable_open_error(e)) return open_fail(W, path, e);
#if !defined(_WIN32)
  if (e == EACCES || e == EPERM) {
    const char *why = unlisted_exposure(dirfd, name);
    if (why) {
      csb_error_set(&W->err, UNLISTED_MSG, path, strerror(e), why);
      return walker_failed(W);
    }
  }
#else
  (void)dirfd;
  (void)name;
#endif
  return 1;
}

static void set_path(walker *W, size_t keep, const char *name, size_t len) {
  W->path.len = keep;
  W->path.data[keep] = '\0';
  if (len) {
    csb_buf_putc(&W->path, '/');
    csb_buf_append(&W->path, name, len);
  }
}

/* 1 when the walk, in state `st` after "<dir>/", only has to look one
 * name up in the directory (read_top does not list it). */
static int literal_state(walker *W, wstate *st) {
  if (W->X->flags & CSB_GLOB_EXPAND_FOLD_CASE) return 0;
  char lit[LITERAL_NAME_MAX];
  return dfa_literal_name(&W->d, wstate_id(W, st), lit) > 0;
}

/* Opens the directory `name` in `dirfd` for the walk, never following a
 * symlink: for listing, or, when it may not be listed (EACCES, EPERM) but
 * may be searched and the walk only looks one name up in it (`literal`),
 * as an O_PATH descriptor (*path_only = 1), which is all a look-up needs:
 * a literal `.ssh` is found in a home directory of mode 0711.
 * -1 with errno set as by the first open. */
static int open_dir_at(int dirfd, const char *name, int literal, int *path_only) {
  *path_only = 0;
  int fd = openat(dirfd, name, DIR_OPEN_FLAGS | O_NOFOLLOW);
#if defined(O_PATH)
  if (fd < 0 && (errno == EACCES || errno == EPERM) && literal) {
    int e = errno;
    if (faccessat(dirfd, name, X_OK, AT_EACCESS) == 0) {
      fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        *path_only = 1;
        return fd;
      }
    }
    errno = e;
  }
#else
  (void)literal;
#endif
  return fd;
}

/* Depth-first walk below the directory `fd` (whose path is in W->path;
 * `path_only` as open_dir_at says). */
static int walk(walker *W, int fd, int depth, const wstate *st, int path_only) {
  size_t base = W->nframes;
  push_frame(W, fd, path_only, depth, st);
  while (W->nframes > base) {
    if (atomic_load_explicit(&W->X->stop, memory_order_relaxed)) return 0;
    if (!read_top(W)) return 0;
    wframe *F = &W->frames[W->nframes - 1];
    if (F->next_child >= F->child_end) {
      pop_frame(W);
      continue;
    }
    wchild c = W->children[F->next_child++];
    const char *name = W->names + c.name_off;
    int lookup_only;
    int cfd = open_dir_at(F->fd, name, literal_state(W, &c.st), &lookup_only);
    int e = errno;
    set_path(W, F->path_len, name, c.name_len);
    if (cfd < 0) {
      if (skip_unopened(W, F->fd, name, W->path.data, e)) continue;
      return 0;
    }
    push_frame(W, cfd, lookup_only, F->depth + 1, &c.st);
  }
  return 1;
}

/* Opens an item below the prefix component by component, never following
 * a symlink (the directories on the way only to look names up in, the
 * item as open_dir_at opens it in state `st`). Returns the fd, -1 to skip
 * the item, -2 on error. */
static int open_item(walker *W, const witem *it, wstate *st, int *path_only) {
  expansion *X = W->X;
  *path_only = it->rel[0] == '\0' && X->root_path_only;
  int fd = dup(X->root_fd);
  if (fd < 0) return open_fail(W, X->root, errno), -2;
  const char *p = it->rel;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *comp = csb_xstrndup(p, n);
    int nfd;
    if (e) {
#if defined(O_PATH)
      nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
#else
      nfd = openat(fd, comp, DIR_OPEN_FLAGS | O_NOFOLLOW);
#endif
    } else {
      nfd = open_dir_at(fd, comp, literal_state(W, st), path_only);
    }
    int err = errno;
    if (nfd < 0) {
      set_path(W, 0, NULL, 0);
      csb_buf_puts(&W->path, X->root_path);
      csb_buf_putc(&W->path, '/');
      csb_buf_append(&W->path, it->rel, (size_t)(p - it->rel) + n);
      int skip = skip_unopened(W, fd, comp, W->path.data, err);
      free(comp);
      close(fd);
      return skip ? -1 : -2;
    }
    free(comp);
    close(fd);
    fd = nfd;
    p += n;
    while (*p == '/') p++;
  }
  return fd;
}

static void item_path(walker *W, const witem *it) {
  set_path(W, 0, NULL, 0);
  csb_buf_puts(&W->path, W->X->root_path);
  if (it->rel[0]) {
    csb_buf_putc(&W->path, '/');
    csb_buf_puts(&W->path, it->rel);
  }
}

/* Worker loop: takes items until none is left. */
static int run_items(walker *W) {
  expansion *X = W->X;
  for (;;) {
    if (atomic_load(&X->stop)) return 0;
    size_t idx = atomic_fetch_add(&X->next_item, 1);
    if (idx >= X->nitems) return 1;
    const witem *it = &X->items[idx];
    wstate st;
    wstate_from_set(W, &st, it->set, it->len, it->acc);
    int path_only;
    int fd = open_item(W, it, &st, &path_only);
    if (fd == -2) return 0;
    if (fd == -1) continue;
    item_path(W, it);
    if (!walk(W, fd, it->depth, &st, path_only)) return 0;
  }
}

static void *worker_main(void *arg) {
  (void)run_items((walker *)arg);
  return NULL;
}

static void walker_init(walker *W, expansion *X) {
  memset(W, 0, sizeof *W);
  W->X = X;
  dfa_init(&W->d, X->g);
  int fold = (X->flags & CSB_GLOB_EXPAND_FOLD_CASE) != 0;
  for (unsigned b = 0; b < 256; b++)
    W->cls[b] = X->g->byte_class[fold ? fold_byte((unsigned char)b) : b];
  W->dbuf = csb_xmalloc(DIRBUF_SIZE);
  csb_buf_puts(&W->path, "");
}

static void walker_free(walker *W) {
  while (W->nframes > 0) pop_frame(W);
  dfa_free(&W->d);
  csb_buf_free(&W->path);
  free(W->names);
  free(W->sets);
  free(W->children);
  free(W->frames);
  free(W->dbuf);
  csb_strv_free(&W->found);
  free(W->found_types);
  csb_strv_free(&W->targets);
  csb_strv_free(&W->links);
  csb_buf_free(&W->recs);
  free(W->rec_off);
}

static void items_free(witem *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].rel);
    free(v[i].set);
  }
  free(v);
}

static witem make_item(const char *rel, const int32_t *set, int32_t n, int acc, int depth) {
  witem it;
  it.rel = csb_xstrdup(rel);
  it.set = csb_xmalloc(((size_t)n + 1) * sizeof *it.set);
  if (n) memcpy(it.set, set, (size_t)n * sizeof *set);
  it.len = n;
  it.acc = (uint8_t)acc;
  it.depth = depth;
  return it;
}

/* Breadth-first phase: reads the directories of `cur` (in the calling
 * thread) and returns the next level in *next. */
static int bfs_level(walker *W, const witem *cur, size_t ncur, witem **next,
                     size_t *nnext) {
  size_t cap = 0;
  *next = NULL;
  *nnext = 0;
  for (size_t i = 0; i < ncur; i++) {
    const witem *it = &cur[i];
    wstate st;
    wstate_from_set(W, &st, it->set, it->len, it->acc);
    int path_only;
    int fd = open_item(W, it, &st, &path_only);
    if (fd == -2) return 0;
    if (fd == -1) continue;
    item_path(W, it);
    push_frame(W, fd, path_only, it->depth, &st);
    if (!read_top(W)) return 0;
    wframe *F = &W->frames[W->nframes - 1];
    for (size_t k = F->child_begin; k < F->child_end; k++) {
      const wchild *c = &W->children[k];
      char *rel = it->rel[0] ? csb_xasprintf("%s/%s", it->rel, W->names + c->name_off)
                             : csb_xstrdup(W->names + c->name_off);
      *next = csb_xgrow(*next, &cap, *nnext + 1, sizeof **next);
      (*next)[(*nnext)++] =
          make_item(rel, W->sets + c->st.off, c->st.len, c->st.acc, it->depth + 1);
      free(rel);
    }
    pop_frame(W);
  }
  return 1;
}

#ifdef CSB_GLOB_CACHE
/* ---- the cache: replay and store --------------------------------------------- */

/* The key's version names what a record means: bump it whenever what the
 * walk makes of a directory (its matches, the children it enters) or when
 * a record is trusted changes, so that files written before are not
 * used. 2: records trusted only two seconds after the last change, never
 * for an encrypted directory or times at the end of a file system's
 * range; untyped entries that cannot be looked at are entered. */
static char *cache_key(const csb_glob *g, int max_depth, unsigned flags, size_t *len) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "csb-glob-cache/2");
  csb_buf_putc(&b, '\0');
  csb_buf_puts(&b, csb_glob_pattern(g));
  csb_buf_putc(&b, '\0');
  csb_buf_printf(&b, "%d", max_depth);
  csb_buf_putc(&b, '\0');
  csb_buf_printf(&b, "%u",
                 flags & (CSB_GLOB_EXPAND_SYMLINK_TARGETS | CSB_GLOB_EXPAND_FOLD_CASE |
                          CSB_GLOB_EXPAND_FOLD_WINDOWS));
  *len = b.len;
  return csb_buf_steal(&b);
}

/* The DFA state after "<prefix>/<rel>/" (rel of len bytes, "" for the
 * prefix), given the state after "<prefix>/". */
static int32_t state_below(walker *W, wstate *top, const char *rel, size_t len) {
  dfa *d = &W->d;
  int32_t s = wstate_id(W, top);
  if (len == 0) return s;
  char *m = NULL;
  if ((W->X->flags & CSB_GLOB_EXPAND_FOLD_WINDOWS) && has_non_ascii(rel, len)) {
    m = csb_winname_fold(rel, len);
    rel = m;
    len = strlen(m);
  }
  for (size_t i = 0; i < len && s != DFA_DEAD; i++)
    s = dfa_step_cls(d, s, W->cls[(unsigned char)rel[i]]);
  if (s != DFA_DEAD) s = dfa_step(d, s, '/');
  free(m);
  return s;
}

typedef struct rnode {
  char *rel;
  int depth;
} rnode;

/* Pushes rel + "/" + name (or name when rel is "") on the replay stack. */
static void push_rnode(rnode **stack, size_t *n, size_t *cap, const char *rel, size_t rl,
                       const char *name, size_t len, int depth) {
  *stack = csb_xgrow(*stack, cap, *n + 1, sizeof **stack);
  char *p = csb_xmalloc(rl + len + 2);
  size_t k = 0;
  if (rl) {
    memcpy(p, rel, rl);
    p[rl] = '/';
    k = rl + 1;
  }
  memcpy(p + k, name, len);
  p[k + len] = '\0';
  (*stack)[*n].rel = p;
  (*stack)[*n].depth = depth;
  (*n)++;
}

/* Reads the one directory `rel` (not what lies below it), as the walk
 * would, recording it; pushes the children to enter on the replay stack.
 * 0 on error. */
static int read_one(walker *W, wstate *top, const char *rel, size_t rl, int depth,
                    rnode **stack, size_t *n, size_t *cap) {
  int32_t t = state_below(W, top, rel, rl);
  if (t == DFA_DEAD) return 1;
  dfa *d = &W->d;
  witem it = make_item(rel, d->pool + d->off[t], d->len[t], d->acc[t], depth);
  wstate st;
  wstate_from_set(W, &st, it.set, it.len, it.acc);
  int path_only;
  int fd = open_item(W, &it, &st, &path_only);
  int ok = fd != -2;
  if (fd >= 0) {
    item_path(W, &it);
    push_frame(W, fd, path_only, depth, &st);
    ok = read_top(W);
    if (ok) {
      const wframe *F = &W->frames[W->nframes - 1];
      for (size_t k = F->child_begin; k < F->child_end; k++) {
        const wchild *c = &W->children[k];
        push_rnode(stack, n, cap, rel, rl, W->names + c->name_off, c->name_len, depth + 1);
      }
    }
    pop_frame(W);
  }
  free(it.rel);
  free(it.set);
  return ok;
}

/* Replays the records of `cf` top-down from the prefix, in the calling
 * thread: a directory whose record is trusted and whose identity is
 * unchanged contributes its recorded matches and its recorded children
 * without being read; a changed or untrusted one is read (that directory
 * alone) and its children are replayed in turn; a directory without a
 * record becomes a work item (X->items) for the walkers, to be read with
 * everything below it. Reused records are appended to *keep. 0 on error
 * (too many matches, I/O errors). */
static int replay(walker *W, const gc_file *cf, wstate *top, gc_slice **keep, size_t *nkeep,
                  size_t *reused) {
  expansion *X = W->X;
  int symlinks = (X->flags & CSB_GLOB_EXPAND_SYMLINK_TARGETS) != 0;
  rnode *stack = csb_xmalloc(sizeof *stack);
  size_t n = 1, cap = 1, kcap = 0, icap = 0;
  stack[0].rel = csb_xstrdup("");
  stack[0].depth = 0;
  int ok = 1;
  while (n > 0) {
    rnode nd = stack[--n];
    if (!ok) {
      free(nd.rel);
      continue;
    }
    size_t rl = strlen(nd.rel);
    set_path(W, 0, NULL, 0);
    csb_buf_puts(&W->path, X->root_path);
    if (rl) {
      csb_buf_putc(&W->path, '/');
      csb_buf_append(&W->path, nd.rel, rl);
    }
    size_t dir_len = W->path.len;
    const gc_rec *r = gc_find(cf, nd.rel, rl);
    int same = 0;
    if (r && (r->flags & GC_TRUSTED)) {
      /* The prefix is opened following symlinks, everything below it
       * without (as the walk does). */
      gc_id id;
      const char *at = rl ? W->path.data : X->root;
      if (gc_dir_id(AT_FDCWD, at, rl ? AT_SYMLINK_NOFOLLOW : 0, &id) == 1)
        same = gc_id_equal(&id, &r->id);
      /* The device number the record names may since have been given to
       * another file system (anonymous ones, as tmpfs and btrfs subvolumes
       * have, are reused), one whose directories show any inode and times
       * (a FUSE server reports what it likes): it has to be one that keeps
       * times exactly now as well. */
      if (same && !fs_trusted(W, -1, at, id.dev)) same = 0;
    }
    if (!same && r) {
      ok = read_one(W, top, nd.rel, rl, nd.depth, &stack, &n, &cap);
      free(nd.rel);
      continue;
    }
    if (!same) {
      int32_t t = state_below(W, top, nd.rel, rl);
      if (t != DFA_DEAD) {
        dfa *d = &W->d;
        X->items = csb_xgrow(X->items, &icap, X->nitems + 1, sizeof *X->items);
        X->items[X->nitems++] = make_item(nd.rel, d->pool + d->off[t], d->len[t], d->acc[t], nd.depth);
      }
      free(nd.rel);
      continue;
    }
    (*reused)++;
    *keep = csb_xgrow(*keep, &kcap, *nkeep + 1, sizeof **keep);
    (*keep)[(*nkeep)++] = (gc_slice){r->raw, r->raw_len, r->rel, r->rel_len};
    const unsigned char *p = r->matches;
    for (uint32_t i = 0; i < r->nmatch && ok; i++) {
      size_t len;
      unsigned char type;
      const char *name = gc_next_match(&p, &len, &type);
      if (!count_match(W)) {
        ok = 0;
        break;
      }
      char *m = csb_xmalloc(dir_len + len + 2);
      memcpy(m, W->path.data, dir_len);
      m[dir_len] = '/';
      memcpy(m + dir_len + 1, name, len);
      m[dir_len + 1 + len] = '\0';
      if (symlinks && type == DT_UNKNOWN) type = entry_type(AT_FDCWD, m);
      push_match(W, m, type);
      if (symlinks) add_target(W, m, type);
    }
    p = r->children;
    for (uint32_t i = 0; i < r->nchild && ok; i++) {
      size_t len;
      const char *name = gc_next_child(&p, &len);
      push_rnode(&stack, &n, &cap, nd.rel, rl, name, len, nd.depth + 1);
    }
    free(nd.rel);
  }
  free(stack);
  return ok;
}

/* Writes the cache file of this expansion: the reused records and every
 * walker's new ones. */
static int store_cache(const char *dir, const char *key, size_t key_len, walker *W, int nthreads,
                       gc_slice *keep, size_t nkeep) {
  size_t total = nkeep;
  for (int t = 0; t < nthreads; t++) total += W[t].nrec;
  gc_slice *all = csb_xcalloc(total + 1, sizeof *all);
  if (nkeep) memcpy(all, keep, nkeep * sizeof *keep);
  size_t k = nkeep;
  for (int t = 0; t < nthreads; t++) {
    for (size_t i = 0; i < W[t].nrec; i++) {
      size_t off = W[t].rec_off[i];
      size_t end = i + 1 < W[t].nrec ? W[t].rec_off[i + 1] : W[t].recs.len;
      const unsigned char *raw = (const unsigned char *)W[t].recs.data + off;
      uint32_t rl;
      memcpy(&rl, raw, 4);
      all[k++] = (gc_slice){raw, end - off, (const char *)raw + 4, rl};
    }
  }
  int ok = gc_store(dir, key, key_len, all, k);
  free(all);
  return ok;
}
#endif

static int auto_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > 4) n = 4;
  return (int)n;
}

/* Moves the strings of `from` to the end of `to`, leaving `from` empty. */
static void move_items(csb_strv *from, csb_strv *to) {
  for (size_t i = 0; i < from->len; i++) {
    csb_strv_push_owned(to, from->items[i]);
    from->items[i] = NULL;
  }
  from->len = 0;
}

/* Appends the strings of `v`, sorted and without duplicates, to `out`;
 * consumes `v`. */
static void append_sorted(csb_strv *v, csb_strv *out) {
  csb_strv_sort_unique(v);
  for (size_t i = 0; i < v->len; i++) csb_strv_push_owned(out, v->items[i]);
  free(v->items);
}

int csb_glob_expand_ex(const csb_glob *g, const csb_glob_expand_opts *opts,
                       csb_strv *out, csb_error *err) {
  csb_glob_expand_opts defaults;
  if (!opts) {
    memset(&defaults, 0, sizeof defaults);
    defaults.max_depth = CSB_GLOB_DEPTH_UNLIMITED;
    opts = &defaults;
  }
  const char *root = g->prefix;
  if (!CSB_GLOB_ROOT_ABSOLUTE(root))
    return csb_error_set(err, "the pattern is not absolute");
  if (opts->max_depth == 0) return 1;

  int fd = open(root, DIR_OPEN_FLAGS);
  /* A prefix that may be searched but not listed is opened as open_dir_at
   * opens such a directory below it: for a look-up of the one name the
   * glob can match there (checked below, once the state is known). */
  int root_path_only = 0, root_errno = 0;
  if (fd < 0) {
    int e = errno;
    if (!skippable_open_error(e)) return csb_error_set(err, "cannot open `%s`: %s", root, strerror(e));
#if defined(O_PATH)
    if ((e == EACCES || e == EPERM) && !(opts->flags & CSB_GLOB_EXPAND_FOLD_CASE) &&
        faccessat(AT_FDCWD, root, X_OK, AT_EACCESS) == 0)
      fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
#endif
    if (fd < 0) return !csb_glob_unlisted_check(root, e, err);
    root_path_only = 1;
    root_errno = e;
  }

  expansion X;
  memset(&X, 0, sizeof X);
  X.g = g;
  X.max_depth = opts->max_depth < 0 ? -1 : opts->max_depth;
  X.max_matches = opts->max_matches ? opts->max_matches : CSB_GLOB_DEFAULT_MAX_MATCHES;
  X.flags = opts->flags;
  X.want_links = opts->links != NULL;
  X.root = root;
  X.root_path = strcmp(root, "/") == 0 ? "" : root;
  X.root_fd = fd;
  X.root_path_only = root_path_only;
  X.err = err;
  atomic_init(&X.nmatches, 0);
  atomic_init(&X.stop, 0);
  atomic_init(&X.next_item, 0);
  pthread_mutex_init(&X.mu, NULL);
  if (X.flags & CSB_GLOB_EXPAND_SYMLINK_TARGETS) {
    char *canon = NULL;
    if (csb_path_canonicalize(root, &canon, NULL) && strcmp(canon, root) != 0)
      X.root_canon = canon;
    else
      free(canon);
  }
  int nthreads = opts->threads > 0 ? opts->threads : auto_threads();
  if (nthreads > CSB_GLOB_MAX_THREADS) nthreads = CSB_GLOB_MAX_THREADS;

  atomic_init(&X.dirs_read, 0);
  atomic_init(&X.dirs_trusted, 0);
  size_t reused = 0;
  int cache_loaded = 0, cache_stored = 0;
#ifdef CSB_GLOB_CACHE
  char *key = NULL;
  size_t key_len = 0;
  gc_file cf;
  memset(&cf, 0, sizeof cf);
  gc_slice *keep = NULL;
  size_t nkeep = 0;
  if (opts->cache_dir && !X.want_links) {
    X.record = 1;
    clock_gettime(CLOCK_REALTIME, &X.start);
    key = cache_key(g, X.max_depth, X.flags, &key_len);
    cache_loaded = gc_load(opts->cache_dir, key, key_len, &cf);
  }
#endif

  walker *W = csb_xcalloc((size_t)nthreads, sizeof *W);
  walker_init(&W[0], &X);
  int ok = 1;

  /* The state after "<prefix>/". */
  int32_t s = dfa_start(&W[0].d);
  for (const char *p = X.root_path; *p && s != DFA_DEAD; p++)
    s = dfa_step(&W[0].d, s, (unsigned char)*p);
  if (s != DFA_DEAD) s = dfa_step(&W[0].d, s, '/');
  if (s != DFA_DEAD && root_path_only) {
    /* Opened for a look-up only: anything but one name needs a listing. */
    char lit[LITERAL_NAME_MAX];
    if (dfa_literal_name(&W[0].d, s, lit) <= 0) {
      if (csb_glob_unlisted_check(root, root_errno, err)) ok = 0;
      s = DFA_DEAD;
    }
  }
  if (s != DFA_DEAD) {
    dfa *d = &W[0].d;
#ifdef CSB_GLOB_CACHE
    if (cache_loaded) {
      wstate top;
      wstate_save(&W[0], &top, s);
      ok = replay(&W[0], &cf, &top, &keep, &nkeep, &reused);
    } else
#endif
    {
      X.nitems = 1;
      X.items = csb_xmalloc(sizeof *X.items);
      X.items[0] = make_item("", d->pool + d->off[s], d->len[s], d->acc[s], 0);
    }
    /* With several threads, expand the top levels breadth-first until
     * there is enough independent work to share. */
    for (int level = 0; nthreads > 1 && level < 4 && ok; level++) {
      if (X.nitems >= (size_t)(4 * nthreads)) break;
      witem *next;
      size_t nnext;
      ok = bfs_level(&W[0], X.items, X.nitems, &next, &nnext);
      items_free(X.items, X.nitems);
      X.items = next;
      X.nitems = nnext;
    }
    if (ok && X.nitems > 0) {
      pthread_t tid[CSB_GLOB_MAX_THREADS];
      int started = 0;
      int want = nthreads - 1;
      if ((size_t)want > X.nitems - 1) want = (int)(X.nitems - 1);
      for (int t = 1; t <= want; t++) {
        walker_init(&W[t], &X);
        if (pthread_create(&tid[t], NULL, worker_main, &W[t]) != 0) {
          walker_free(&W[t]);
          memset(&W[t], 0, sizeof W[t]);
          break;
        }
        started = t;
      }
      ok = run_items(&W[0]);
      for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
      if (X.failed) ok = 0;
    }
  }

#ifdef CSB_GLOB_CACHE
  /* A new file is written when something was read, unless every
   * directory read has to be read again next time anyway (untrusted:
   * typically just changed, which is what made it be read). */
  if (ok && X.record && atomic_load(&X.dirs_read) > 0 &&
      (!cache_loaded || atomic_load(&X.dirs_trusted) > 0))
    cache_stored = store_cache(opts->cache_dir, key, key_len, W, nthreads, keep, nkeep);
  free(keep);
  gc_file_free(&cf);
  free(key);
#endif
  if (opts->stats) {
    opts->stats->dirs_read = atomic_load(&X.dirs_read);
    opts->stats->dirs_reused = reused;
    opts->stats->cache_loaded = cache_loaded;
    opts->stats->cache_stored = cache_stored;
  }

  if (ok) {
    csb_strv all;
    csb_strv_init(&all);
    for (int t = 0; t < nthreads; t++) {
      move_items(&W[t].found, &all);
      move_items(&W[t].targets, &all);
    }
    append_sorted(&all, out);
    if (X.want_links) {
      csb_strv links;
      csb_strv_init(&links);
      for (int t = 0; t < nthreads; t++) move_items(&W[t].links, &links);
      append_sorted(&links, opts->links);
    }
  }
  for (int t = 0; t < nthreads; t++)
    if (W[t].X) walker_free(&W[t]);
  free(W);
  items_free(X.items, X.nitems);
  free(X.root_canon);
  close(fd);
  pthread_mutex_destroy(&X.mu);
  return ok;
}

int csb_glob_expand(const csb_glob *g, int max_depth, size_t max_matches, csb_strv *out,
                    csb_error *err) {
  csb_glob_expand_opts o;
  memset(&o, 0, sizeof o);
  o.max_depth = max_depth;
  o.max_matches = max_matches;
  return csb_glob_expand_ex(g, &o, out, err);
}
