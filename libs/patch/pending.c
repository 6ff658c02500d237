/* pending.c - interrupted transactions found without recovering them, and
 * the files as their recovery would leave them (csb_patch_pending).
 *
 * csb_patch_pending_scan runs the recovery of commit.c with its renames,
 * removals and directory removals recorded here instead of made. What is
 * recorded then answers the lookups of later scans and of a plan: what is
 * at a path once recovery is done (the path's own object, the file renamed
 * onto it, or nothing). A change is kept per path, the last one winning;
 * a path below a removed directory holds nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_patch.h"
#include "csb_paths.h"
#include "fsys.h"
#include "plan_internal.h"

enum { NO_TX = -1 };

struct csb_patch_pending {
  /* Changed paths, each once, and per path (same index): */
  csb_strv paths;
  csb_spath_set index; /* over paths */
  char **from;         /* the path whose object is there now (owned), or NULL: none */
  int *was_dir;        /* removed as a directory */
  long *by;            /* the transaction that changed it last (index into txs), or NO_TX */
  size_t *seq;         /* when it changed last (1, 2, ...) */
  size_t cap;
  size_t n_seq;
  long cur; /* the transaction being recorded, or NO_TX */
  long link_change; /* the first change of a symlink (index into paths), or NO_TX */
  csb_patch_pending_tx *txs;
  size_t n_txs, txs_cap;
};

csb_patch_pending *csb_patch_pending_new(void) {
  csb_patch_pending *pd = csb_xcalloc(1, sizeof(*pd));
  csb_strv_init(&pd->paths);
  csb_spath_set_init(&pd->index, PFS_STYLE, 0, &pd->paths);
  pd->cur = NO_TX;
  pd->link_change = NO_TX;
  return pd;
}

void csb_patch_pending_free(csb_patch_pending *pd) {
  if (!pd) return;
  for (size_t i = 0; i < pd->paths.len; i++) free(pd->from[i]);
  free(pd->from);
  free(pd->was_dir);
  free(pd->by);
  free(pd->seq);
  csb_spath_set_free(&pd->index);
  csb_strv_free(&pd->paths);
  for (size_t i = 0; i < pd->n_txs; i++) {
    free((char *)pd->txs[i].journal);
    free((char *)pd->txs[i].id);
  }
  free(pd->txs);
  free(pd);
}

size_t csb_patch_pending_len(const csb_patch_pending *pd) { return pd ? pd->n_txs : 0; }

const csb_patch_pending_tx *csb_patch_pending_at(const csb_patch_pending *pd, size_t i) {
  return pd && i < pd->n_txs ? &pd->txs[i] : NULL;
}

void csb_patch_i_pend_begin(csb_patch_pending *pd, const char *journal, csb_patch_recovery action) {
  pd->txs = csb_xgrow(pd->txs, &pd->txs_cap, pd->n_txs + 1, sizeof(*pd->txs));
  csb_patch_pending_tx *x = &pd->txs[pd->n_txs];
  /* The name as the committer makes it: PREFIX ID ".j". */
  const char *base = strrchr(journal, PFS_SEP);
  base = base ? base + 1 : journal;
  size_t pl = strlen(CSB_PATCH_TMP_PREFIX), bl = strlen(base);
  x->journal = csb_xstrdup(journal);
  x->id = bl > pl + 2 ? csb_xstrndup(base + pl, bl - pl - 2) : csb_xstrdup("");
  x->action = action;
  pd->cur = (long)pd->n_txs++;
}

void csb_patch_i_pend_end(csb_patch_pending *pd) { pd->cur = NO_TX; }

/* The index of path's change, or -1. The index is not changed by a lookup
 * once synced (csb_spath_set_find syncs it only after a push). */
static long find(const csb_patch_pending *pd, const char *path) {
  if (!pd || pd->paths.len == 0) return -1;
  return csb_spath_set_find((csb_spath_set *)&pd->index, path);
}

static void set(csb_patch_pending *pd, const char *path, const char *from, int was_dir) {
  long i = find(pd, path);
  if (i < 0) {
    csb_spath_set_add(&pd->index, path);
    i = (long)pd->paths.len - 1;
    if (pd->paths.len > pd->cap) {
      size_t cap = pd->cap ? pd->cap * 2 : 16;
      pd->from = csb_xrealloc(pd->from, cap * sizeof(*pd->from));
      pd->was_dir = csb_xrealloc(pd->was_dir, cap * sizeof(*pd->was_dir));
      pd->by = csb_xrealloc(pd->by, cap * sizeof(*pd->by));
      pd->seq = csb_xrealloc(pd->seq, cap * sizeof(*pd->seq));
      pd->cap = cap;
    }
    pd->from[i] = NULL;
  }
  char *f = from ? csb_xstrdup(from) : NULL;
  free(pd->from[i]);
  pd->from[i] = f;
  pd->was_dir[i] = was_dir;
  pd->by[i] = pd->cur;
  pd->seq[i] = ++pd->n_seq;
  /* Make the next lookup read only (see find). */
  (void)find(pd, path);
}

/* Calls fn on every proper ancestor of path that has a change, nearest
 * first, until it returns nonzero; returns that index or -1. */
static long ancestors(const csb_patch_pending *pd, const char *path,
                      int (*fn)(const csb_patch_pending *, long, const void *), const void *arg) {
  if (!pd || pd->paths.len == 0) return -1;
  char *buf = csb_xstrdup(path);
  long hit = -1;
  for (char *sep = strrchr(buf, PFS_SEP); sep && hit < 0; sep = strrchr(buf, PFS_SEP)) {
    *sep = '\0';
    if (csb_spath_is_root(PFS_STYLE, buf) || !*buf) break;
    long i = find(pd, buf);
    if (i >= 0 && fn(pd, i, arg)) hit = i;
  }
  free(buf);
  return hit;
}

static int holds_nothing(const csb_patch_pending *pd, long i, const void *arg) {
  (void)arg;
  return pd->from[i] == NULL;
}

const char *csb_patch_i_pend_where(const csb_patch_pending *pd, const char *path) {
  long i = find(pd, path);
  if (i >= 0) return pd->from[i];
  return ancestors(pd, path, holds_nothing, NULL) >= 0 ? NULL : path;
}

int csb_patch_i_pend_stat(const csb_patch_pending *pd, const char *path, int follow,
                          struct stat *st) {
  const char *real = csb_patch_i_pend_where(pd, path);
  if (!real) {
    errno = ENOENT;
    return -1;
  }
  return follow ? pfs_stat(real, st) : pfs_lstat(real, st);
}

void csb_patch_i_pend_filter(const csb_patch_pending *pd, const char *dir, csb_strv *names) {
  if (!pd || pd->paths.len == 0) return;
  size_t k = 0, dl = strlen(dir);
  for (size_t i = 0; i < names->len; i++) {
    char *full = csb_xasprintf("%s%s%s", dir, dl && dir[dl - 1] == PFS_SEP ? "" : PFS_SEP_STR,
                               names->items[i]);
    if (csb_patch_i_pend_where(pd, full))
      names->items[k++] = names->items[i];
    else
      free(names->items[i]);
    free(full);
  }
  names->len = k;
}

/* A file the committer names (a journal, pointer, temporary file or
 * restore copy): no path of a patch goes through one. */
int csb_patch_i_is_artifact(const char *path) {
  const char *base = strrchr(path, PFS_SEP);
  base = base ? base + 1 : path;
  return strncmp(base, CSB_PATCH_TMP_PREFIX, strlen(CSB_PATCH_TMP_PREFIX)) == 0;
}

static int is_link(const char *real) {
  struct stat st;
  return real && pfs_lstat(real, &st) == 0 && S_ISLNK(st.st_mode);
}

static void note_link(csb_patch_pending *pd, const char *path) {
  if (pd->link_change == NO_TX && !csb_patch_i_is_artifact(path)) pd->link_change = find(pd, path);
}

int csb_patch_i_pend_unlink(csb_patch_pending *pd, const char *path) {
  const char *real = csb_patch_i_pend_where(pd, path);
  if (!real) {
    errno = ENOENT;
    return -1;
  }
  int link = is_link(real);
  set(pd, path, NULL, 0);
  if (link) note_link(pd, path);
  return 0;
}

int csb_patch_i_pend_rename(csb_patch_pending *pd, const char *from, const char *to) {
  const char *src = csb_patch_i_pend_where(pd, from);
  if (!src) {
    errno = ENOENT;
    return -1;
  }
  char *obj = csb_xstrdup(src);
  int link = is_link(obj) || is_link(csb_patch_i_pend_where(pd, to));
  set(pd, to, obj, 0);
  set(pd, from, NULL, 0);
  if (link) note_link(pd, to);
  free(obj);
  return 0;
}

int csb_patch_i_pend_rmdir(csb_patch_pending *pd, const char *path) {
  struct stat st;
  if (csb_patch_i_pend_lstat(pd, path, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  /* Empty once recovery is done: nothing it leaves among the entries, and
   * nothing renamed into it. */
  csb_strv names;
  csb_strv_init(&names);
  int empty = pfs_list(path, &names);
  if (empty) csb_patch_i_pend_filter(pd, path, &names);
  for (size_t i = 0; empty && i < names.len; i++)
    empty = strcmp(names.items[i], ".") == 0 || strcmp(names.items[i], "..") == 0;
  csb_strv_free(&names);
  for (size_t i = 0; empty && i < pd->paths.len; i++) {
    if (!pd->from[i]) continue;
    char *parent = csb_spath_parent(PFS_STYLE, pd->paths.items[i]);
    empty = !(parent && csb_spath_equal(PFS_STYLE, parent, path));
    free(parent);
  }
  if (!empty) {
    errno = ENOTEMPTY;
    return -1;
  }
  set(pd, path, NULL, 1);
  return 0;
}

size_t csb_patch_i_pend_mark(const csb_patch_pending *pd) { return pd ? pd->n_seq : 0; }

static int changed_after(const csb_patch_pending *pd, long i, const void *arg) {
  return pd->seq[i] > *(const size_t *)arg;
}

static int not_rmdir(const csb_patch_pending *pd, long i, const void *arg) {
  (void)arg;
  return !pd->was_dir[i];
}

/* The change at index i (-1: none) as csb_patch_i_pend_change. */
static int change_at(const csb_patch_pending *pd, long i, csb_patch_i_pend_change *out) {
  if (i < 0) return 0;
  out->path = pd->paths.items[i];
  out->tx = pd->by[i] == NO_TX ? NULL : &pd->txs[pd->by[i]];
  return 1;
}

int csb_patch_i_pend_changed_since(const csb_patch_pending *pd, size_t mark, const char *path,
                                   csb_patch_i_pend_change *out) {
  long i = find(pd, path);
  if (i >= 0 && pd->seq[i] > mark) return change_at(pd, i, out);
  return change_at(pd, ancestors(pd, path, changed_after, &mark), out);
}

int csb_patch_i_pend_above(const csb_patch_pending *pd, const char *path,
                           csb_patch_i_pend_change *out) {
  return change_at(pd, ancestors(pd, path, not_rmdir, NULL), out);
}

int csb_patch_i_pend_link_change(const csb_patch_pending *pd, csb_patch_i_pend_change *out) {
  return pd && change_at(pd, pd->link_change, out);
}

int csb_patch_i_pend_fail(const csb_patch_i_pend_change *c, const char *how, const char *path,
                          csb_patch_err_kind *kind, csb_error *err, csb_buf *full) {
  csb_buf b = {0};
  csb_buf_puts(&b, "cannot predict the outcome exactly: ");
  if (c->tx)
    csb_buf_printf(&b, "recovering the interrupted transaction %s (%s) first changes %s",
                   c->tx->id, c->tx->journal, c->path);
  else
    csb_buf_printf(&b, "removing the leftovers of an interrupted run first changes %s", c->path);
  csb_buf_printf(&b, ", %s %s", how, path);
  if (kind) *kind = CSB_PATCH_ERR_PENDING;
  csb_patch_set_msg(err, full, 0, &b);
  csb_buf_free(&b);
  return 0;
}

char *csb_patch_i_pend_anchor(const csb_patch_pending *pd, const char *dir, csb_strv *missing) {
  char *d = csb_xstrdup(dir);
  struct stat st;
  while (d && csb_patch_i_pend_lstat(pd, d, &st) != 0) {
    if (missing) csb_strv_push(missing, d);
    char *p = csb_spath_parent(PFS_STYLE, d);
    free(d);
    d = p;
  }
  return d;
}
