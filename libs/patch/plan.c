/* plan.c - resolving, checking and computing every final file state.
 *
 * Hunks are applied in patch order to an in-memory overlay of the files
 * they touch, so a later hunk sees the result of an earlier one exactly as
 * upstream's sequential application would, but nothing is written here.
 *
 * Paths: the lexical path is cwd-joined and normalised; the content path
 * follows every symlink (also a dangling final one, to where the write
 * would land); the entry path is the canonical parent plus the final name
 * (what an unlink or a rename-over affects). All of them are checked.
 *
 * Given a csb_patch_pending (a dry run over leftovers of an interrupted
 * run), every file is looked at as that recovery would leave it: the
 * lstat, read and readlink of a path go to the file renamed onto it, and
 * find nothing where it is removed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_patch.h"
#include "csb_paths.h"
#include "fsys.h"
#include "patch_internal.h"
#include "plan_internal.h"

/* ---- errors --------------------------------------------------------------- */

typedef struct {
  csb_error *err;
  csb_buf *full;
  csb_patch_err_kind *kind;
  const csb_patch_plan_opts *o;
} plan_ctx;

CSB_PRINTF(3, 4)
static int plan_fail(const plan_ctx *c, csb_patch_err_kind k, const char *fmt, ...) {
  csb_buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  csb_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (c->kind) *c->kind = k;
  csb_patch_set_msg(c->err, c->full, 0, &b);
  csb_buf_free(&b);
  return 0;
}

/* Rust's io::Error display: "strerror (os error N)". */
static const char *os_error(int e, char *buf, size_t n) {
  snprintf(buf, n, "%s (os error %d)", strerror(e), e);
  return buf;
}

/* ---- the overlay (a small open-addressing hash map) ------------------------ */

/* Entities are keyed by path: bytewise, or on Windows with names folded as
 * NTFS compares them, so two spellings are one file. */
static uint64_t hash_str(const char *s) { return csb_spath_hash(PFS_STYLE, s, strlen(s)); }

static int same_path(const char *a, const char *b) { return csb_spath_equal(PFS_STYLE, a, b); }

static void map_grow(csb_patch_plan *pl) {
  size_t ncap = pl->map_cap ? pl->map_cap * 2 : 64;
  size_t *nm = csb_xmalloc(ncap * sizeof(size_t));
  for (size_t i = 0; i < ncap; i++) nm[i] = SIZE_MAX;
  for (size_t i = 0; i < pl->n_ents; i++) {
    size_t j = hash_str(pl->ents[i].path) & (ncap - 1);
    while (nm[j] != SIZE_MAX) j = (j + 1) & (ncap - 1);
    nm[j] = i;
  }
  free(pl->map);
  pl->map = nm;
  pl->map_cap = ncap;
}

static csb_patch_entity *ent_find(csb_patch_plan *pl, const char *path) {
  if (!pl->map_cap) return NULL;
  size_t j = hash_str(path) & (pl->map_cap - 1);
  while (pl->map[j] != SIZE_MAX) {
    if (same_path(pl->ents[pl->map[j]].path, path)) return &pl->ents[pl->map[j]];
    j = (j + 1) & (pl->map_cap - 1);
  }
  return NULL;
}

/* Looks up or creates the entity for a canonical path, loading its state
 * from disk (lstat only; contents are read on demand). */
static csb_patch_entity *ent_get(csb_patch_plan *pl, const char *path) {
  csb_patch_entity *e = ent_find(pl, path);
  if (e) return e;
  if ((pl->n_ents + 1) * 2 > pl->map_cap) map_grow(pl);
  pl->ents = csb_xgrow(pl->ents, &pl->ents_cap, pl->n_ents + 1, sizeof(*pl->ents));
  e = &pl->ents[pl->n_ents];
  memset(e, 0, sizeof(*e));
  e->path = csb_xstrdup(path);
  struct stat st;
  if (csb_patch_i_pend_lstat(pl->pend, path, &st) == 0) {
    e->orig_exists = 1;
    e->orig_mode = st.st_mode;
    e->orig_dev = st.st_dev;
    e->orig_ino = st.st_ino;
    e->orig_uid = st.st_uid;
    e->orig_gid = st.st_gid;
    e->orig_size = st.st_size;
    e->orig_stamp = pfs_stamp_of(&st);
  } else {
    e->orig_errno = errno;
  }
  e->exists = e->orig_exists;
  e->mode = e->orig_mode;
  e->attrs_from = e->orig_exists && S_ISREG(e->orig_mode) ? pl->n_ents : SIZE_MAX;
  size_t j = hash_str(path) & (pl->map_cap - 1);
  while (pl->map[j] != SIZE_MAX) j = (j + 1) & (pl->map_cap - 1);
  pl->map[j] = pl->n_ents;
  pl->n_ents++;
  return e;
}

void *csb_patch_i_arena_alloc(void *ctx, size_t n) {
  csb_patch_plan *pl = ctx;
  return csb_patch_i_arena_take(&pl->arena, n);
}

/* Where a path's last component starts, and the length of its directory
 * ("/" for a file at the root). */
static const char *split_last(const char *path, size_t *dir_len) {
  const char *sep = strrchr(path, PFS_SEP);
  if (!sep) {
    *dir_len = 0;
    return path;
  }
  *dir_len = sep == path ? 1 : (size_t)(sep - path);
  return sep + 1;
}

/* Reads an entity's original bytes (once) into `room` when they fit in
 * room_cap bytes (with a NUL), else into an arena of the plan; they stay
 * available for rolling back after the commit point. The file is opened in
 * dfd, its directory pinned (pfs_dir_pin), so that it is read from the
 * directory that was checked and never through a symlink that replaced
 * it (or a component above it) since. `real` is the file to read there:
 * e->path, or what the recovery of csb_patch_plan_opts.pending renames
 * onto it (in the same directory). */
static int ent_load_in(csb_patch_arena *arena, char *room, size_t room_cap,
                       csb_patch_entity *e, const char *real, int dfd, int *err_no) {
  if (e->orig_loaded) return 1;
  size_t dl;
  const char *name = split_last(real, &dl);
  int fd = pfs_open_in(dfd, real, name,
                       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0) {
    *err_no = errno;
    return 0;
  }
  struct stat st;
  if (pfs_fstat(fd, &st) != 0) {
    *err_no = errno;
    close(fd);
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    *err_no = EISDIR;
    return 0;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    *err_no = EINVAL;
    return 0;
  }
  if ((size_t)st.st_size > CSB_PATCH_MAX_FILE_BYTES) {
    close(fd);
    *err_no = EFBIG;
    return 0;
  }
  /* Read the size fstat reported (a concurrent writer is not waited for). */
  size_t cap = (size_t)st.st_size, len = 0;
  char *data = room && cap < room_cap ? room : csb_patch_i_arena_take(arena, cap + 1);
  while (len < cap) {
    ssize_t n = read(fd, data + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err_no = errno;
      close(fd);
      return 0;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  data[len] = '\0';
  close(fd);
  /* What was read is what the commit expects to find (a file written
   * since the lstat of ent_get is then found changed, as it should). */
  e->orig_stamp = pfs_stamp_of(&st);
  e->orig_data = data;
  e->orig_len = len;
  e->orig_loaded = 1;
  if (!e->touched) {
    e->data = data;
    e->len = len;
    e->loaded = 1;
  }
  return 1;
}

/* The pinned directory of path for the in-order pass (kept from one call
 * to the next while the directory is the same), or -1 with errno. */
static int plan_pin(csb_patch_plan *pl, const char *path) {
  size_t dl;
  (void)split_last(path, &dl);
  if (pl->pin_dir && strlen(pl->pin_dir) == dl && memcmp(pl->pin_dir, path, dl) == 0)
    return pl->pin_fd;
  pfs_dir_unpin(pl->pin_fd);
  free(pl->pin_dir);
  pl->pin_dir = csb_xstrndup(path, dl);
  pl->pin_fd = pfs_dir_pin(pl->pin_dir);
  if (pl->pin_fd < 0) {
    int e = errno;
    free(pl->pin_dir);
    pl->pin_dir = NULL;
    errno = e;
  }
  return pl->pin_fd;
}

/* The file that holds e's original state (see ent_load_in); NULL with
 * errno ENOENT when none does. */
static const char *ent_real(const csb_patch_plan *pl, const csb_patch_entity *e) {
  const char *real = csb_patch_i_pend_where(pl->pend, e->path);
  if (!real) errno = ENOENT;
  return real;
}

static int ent_load(csb_patch_plan *pl, csb_patch_entity *e, int *err_no) {
  if (e->orig_loaded) return 1;
  const char *real = ent_real(pl, e);
  int dfd = real ? plan_pin(pl, e->path) : -1;
  if (dfd < 0) {
    *err_no = errno;
    return 0;
  }
  return ent_load_in(&pl->arena, NULL, 0, e, real, dfd, err_no);
}

/* Keeps what rollback needs of an entity about to change: the bytes of a
 * regular file, the target of a symlink. */
static int ent_capture(csb_patch_plan *pl, csb_patch_entity *e, int *err_no) {
  if (!e->orig_exists || e->touched) return 1;
  if (S_ISLNK(e->orig_mode)) {
    if (e->orig_link) return 1;
    char buf[4096];
    const char *real = ent_real(pl, e);
    ssize_t n = real ? pfs_readlink(real, buf, sizeof(buf) - 1) : -1;
    if (n < 0) {
      *err_no = errno;
      return 0;
    }
    e->orig_link = csb_patch_i_arena_alloc(pl, (size_t)n + 1);
    memcpy(e->orig_link, buf, (size_t)n);
    e->orig_link[n] = '\0';
    return 1;
  }
  if (S_ISREG(e->orig_mode)) return ent_load(pl, e, err_no);
  return 1;
}

/* Whether a hunk may replace an entity's file: one its permissions do not
 * let the user write (mode 0444) is refused, as writing it in place
 * (upstream) fails; renaming over it would only need the directory's
 * permission. */
static int ent_writable(const csb_patch_plan *pl, const csb_patch_entity *e, int *err_no) {
  if (!e->orig_exists || e->touched || !S_ISREG(e->orig_mode)) return 1;
  const char *real = ent_real(pl, e);
  if (real && pfs_can_write(real)) return 1;
  *err_no = errno ? errno : EACCES;
  return 0;
}

/* Whether the run can make an entity's change in its directory: the
 * commit writes a temporary file, the journal or a pointer there (or in
 * the nearest existing directory above, in which it creates the missing
 * ones), and renames or removes the file, so that directory must let the
 * user create and remove entries (not read-only, nor on a read-only file
 * system); and the name must be one the system takes (not too long).
 * Checked by the plan, so that a dry run fails where the run would, and
 * the message names the patch's path rather than a file of the run. */
static int ent_dir_ok(const csb_patch_plan *pl, const csb_patch_entity *e, int *err_no) {
  if (e->touched) return 1;
  if (!e->orig_exists && e->orig_errno && e->orig_errno != ENOENT) {
    *err_no = e->orig_errno;
    return 0;
  }
  char *d = csb_spath_parent(PFS_STYLE, e->path);
  while (d) {
    struct stat st;
    const char *real = csb_patch_i_pend_where(pl->pend, d);
    if (real && pfs_stat(real, &st) == 0) {
      int ok = pfs_can_modify_dir(real);
      if (!ok) *err_no = errno ? errno : EACCES;
      free(d);
      return ok;
    }
    char *q = csb_spath_is_root(PFS_STYLE, d) ? NULL : csb_spath_parent(PFS_STYLE, d);
    free(d);
    d = q;
  }
  return 1;
}

/* A FIFO, socket or device the patch has not changed yet: removing or
 * replacing it is refused, since rolling back could not make it again
 * (and a replacement would take its mode). */
static int ent_special(const csb_patch_entity *e) {
  return e->exists && !e->touched && !S_ISREG(e->mode) && !S_ISLNK(e->mode) && !S_ISDIR(e->mode);
}

/* The kernel's rule for a write (file_remove_privs): writing a file clears
 * its set-user-ID bit, and its set-group-ID bit when the group may execute
 * it, unless the writer has CAP_FSETID. Every file a hunk writes (an
 * update, with or without a move, an add over a file) gets the mode that
 * writing it in place would leave, also when its bytes stay the same: a
 * truncating write of the same bytes clears them too, and upstream's move
 * writes its destination anew. */
static void ents_drop_setid(csb_patch_plan *pl) {
  int keep = -1;
  for (size_t i = 0; i < pl->n_ents; i++) {
    csb_patch_entity *e = &pl->ents[i];
    mode_t kill = S_ISUID | (e->mode & S_IXGRP ? S_ISGID : 0);
    if (!e->exists || !e->touched || !S_ISREG(e->mode) || !(e->mode & kill)) continue;
    if (keep < 0) keep = pfs_keeps_setid();
    if (keep) return;
    e->mode &= ~kill;
  }
}

/* ---- path resolution ----------------------------------------------------- */

static void target_free(csb_patch_target *t) {
  free(t->display);
  free(t->lexical);
  free(t->content);
  free(t->entry);
}

/* How the resolution of a path depends on the recovery of
 * csb_patch_plan_opts.pending (see there): the final components it looks
 * at are looked up in the recorded state, but the canonicalisation of the
 * directories above them reads the tree as it is. That is the same where
 * the recovery changes nothing above the paths gone through, and, when
 * the way went through a symlink, no symlink at all. */
typedef struct {
  const csb_patch_pending *pd;
  int followed; /* a symlink above a final component was followed */
  int blocked;  /* the resolution may differ after the recovery ... */
  csb_patch_i_pend_change why; /* ... because of this change */
} view_probe;

/* Notes a path the resolution went through (v NULL: nothing to note). */
static void probe(view_probe *v, const char *path) {
  if (v && !v->blocked) v->blocked = csb_patch_i_pend_above(v->pd, path, &v->why);
}

/* Notes that path was canonicalised to canon. */
static void probe_canonical(view_probe *v, const char *path, const char *canon) {
  probe(v, path);
  if (v && strcmp(path, canon) != 0) v->followed = 1;
}

/* Follows a final symlink chain (also a dangling one) to the path a write
 * would create. Windows: a reparse point is followed to its final target,
 * which must exist. */
static int follow_final(const char *canon, char **out, view_probe *v, csb_error *err) {
  if (PFS_STYLE == CSB_PATH_WINDOWS) {
    if (v) v->followed = 1;
    if (csb_winpath_canonicalize(canon, out, err)) return 1;
    csb_error_prefix(err, "cannot follow the link");
    return 0;
  }
  char *cur = csb_xstrdup(canon);
  for (int i = 0; i < CSB_PATH_MAX_SYMLINKS; i++) {
    struct stat st;
    const char *real = csb_patch_i_pend_where(v ? v->pd : NULL, cur);
    if (!real || pfs_lstat(real, &st) != 0 || !S_ISLNK(st.st_mode)) {
      *out = cur;
      return 1;
    }
    char buf[4096];
    ssize_t n = pfs_readlink(real, buf, sizeof(buf) - 1);
    if (n < 0) {
      free(cur);
      return csb_error_set(err, "cannot read symlink: %s", strerror(errno));
    }
    buf[n] = '\0';
    char *parent = csb_path_parent(cur);
    char *joined = csb_path_join(parent ? parent : "/", buf);
    free(parent);
    char *next = NULL;
    if (!pfs_canonical_existing_prefix(joined, &next, err)) {
      free(joined);
      free(cur);
      return 0;
    }
    probe_canonical(v, joined, next);
    free(joined);
    free(cur);
    cur = next;
  }
  free(cur);
  return csb_error_set(err, "too many levels of symbolic links");
}

/* Recently resolved directories (hunks usually touch few of them). */
#define PARENT_CACHE_SIZE 64
typedef struct {
  char *lex[PARENT_CACHE_SIZE];
  char *canon[PARENT_CACHE_SIZE];
  size_t next;
} parent_cache;

static const char *cache_find(const parent_cache *c, const char *lex) {
  for (size_t i = 0; i < PARENT_CACHE_SIZE; i++)
    if (c->lex[i] && same_path(c->lex[i], lex)) return c->canon[i];
  return NULL;
}

static void cache_put(parent_cache *c, const char *lex, const char *canon) {
  size_t i = c->next++ % PARENT_CACHE_SIZE;
  free(c->lex[i]);
  free(c->canon[i]);
  c->lex[i] = csb_xstrdup(lex);
  c->canon[i] = csb_xstrdup(canon);
}

static void cache_clear(parent_cache *c) {
  for (size_t i = 0; i < PARENT_CACHE_SIZE; i++) {
    free(c->lex[i]);
    free(c->canon[i]);
    c->lex[i] = c->canon[i] = NULL;
  }
}

/* Resolves a path of the patch into t; v (NULL: the tree as it is) notes
 * what the resolution depends on. */
static int resolve(const char *cwd, const char *spelling, size_t len, csb_patch_target *t,
                   parent_cache *cache, view_probe *v, csb_error *err) {
  memset(t, 0, sizeof(*t));
  t->spelling = spelling;
  if (len == 0) return csb_error_set(err, "empty path");
  if (strlen(spelling) != len) return csb_error_set(err, "path contains a NUL byte");
  /* "d/" names a directory: normalising it to the file "d" (as upstream
   * does) would write what the patch did not name as a file. */
  if (csb_spath_is_sep(PFS_STYLE, spelling[len - 1]))
    return csb_error_set(err, "ends with a separator (not a file path)");
  /* So does "d/." or "d/x/..": the kernel fails a write there, while the
   * normalised path would be the file "d". */
  size_t last = len;
  while (last > 0 && !csb_spath_is_sep(PFS_STYLE, spelling[last - 1])) last--;
  if (strcmp(spelling + last, ".") == 0 || strcmp(spelling + last, "..") == 0)
    return csb_error_set(err, "ends with a '%s' component (not a file path)", spelling + last);
  if (csb_spath_is_absolute(PFS_STYLE, spelling)) {
    t->display = csb_xstrdup(spelling);
  } else {
    /* Windows: a path relative to a drive's current directory (`D:x`) or
     * to the root of the current drive (`\x`) is refused. */
    if (PFS_STYLE == CSB_PATH_WINDOWS &&
        (csb_spath_is_sep(PFS_STYLE, spelling[0]) || (spelling[0] && spelling[1] == ':')))
      return csb_error_set(err, "not a file path");
    size_t cl = strlen(cwd);
    t->display = csb_xasprintf("%s%s%s", cwd, cl && cwd[cl - 1] == PFS_SEP ? "" : PFS_SEP_STR,
                               spelling);
  }
  t->lexical = csb_spath_join(PFS_STYLE, cwd, spelling);
  /* Messages name the path as upstream does: absolute and lexically
   * normalised (`./a//b`, `x/../a/b` and `$PWD/a/b` all show $PWD/a/b). */
  if (PFS_STYLE == CSB_PATH_POSIX && t->lexical) {
    free(t->display);
    t->display = csb_xstrdup(t->lexical);
  }
  /* Windows: a name Win32 would change (`x.` is `x`, `a:s` a stream of
   * `a`, `nul` a device) would be checked as one path and written as
   * another: refused. */
  const char *bad = PFS_STYLE == CSB_PATH_WINDOWS && t->lexical
                        ? csb_winpath_names_problem(t->lexical)
                        : NULL;
  if (bad) return csb_error_set(err, "the path has %s", bad);
  char *parent = t->lexical ? csb_spath_parent(PFS_STYLE, t->lexical) : NULL;
  char *base = t->lexical ? csb_spath_basename(PFS_STYLE, t->lexical) : NULL;
  if (t->lexical) probe(v, t->lexical);
  if (!parent || !base || !base[0]) {
    free(parent);
    free(base);
    return csb_error_set(err, "not a file path");
  }
  char *cparent = NULL;
  const char *hit = cache ? cache_find(cache, parent) : NULL;
  if (hit) {
    cparent = csb_xstrdup(hit);
  } else {
    if (!pfs_canonical_existing_prefix(parent, &cparent, err)) {
      free(parent);
      free(base);
      return 0;
    }
    if (cache) cache_put(cache, parent, cparent);
  }
  probe_canonical(v, parent, cparent);
  size_t pl = strlen(cparent);
  t->entry = csb_xasprintf("%s%s%s", cparent, pl && cparent[pl - 1] == PFS_SEP ? "" : PFS_SEP_STR,
                           base);
  free(cparent);
  free(parent);
  free(base);
  probe(v, t->entry);
  const csb_patch_pending *pd = v ? v->pd : NULL;
  struct stat st;
  int there = csb_patch_i_pend_lstat(pd, t->entry, &st) == 0;
  if (there && S_ISLNK(st.st_mode)) {
    t->entry_is_link = 1;
    if (!follow_final(t->entry, &t->content, v, err)) return 0;
  } else {
    /* Windows: an existing name as the directory spells it (names match
     * ignoring case; the file keeps its name when it is replaced). */
    char *disk = NULL;
    if (PFS_STYLE == CSB_PATH_WINDOWS && there &&
        csb_patch_i_pend_where(pd, t->entry) == t->entry &&
        csb_winpath_canonicalize(t->entry, &disk, NULL)) {
      free(t->entry);
      t->entry = disk;
    }
    t->content = csb_xstrdup(t->entry);
  }
  probe(v, t->content);
  if (v && v->followed && !v->blocked) v->blocked = csb_patch_i_pend_link_change(pd, &v->why);
  /* The names of the committer's own files (journals, pointers, temporary
   * files, restore copies): a later run's recovery would remove or act on
   * such a file, and a live transaction's could be replaced under it. */
  const char *own = csb_patch_i_is_artifact(t->entry)     ? t->entry
                    : csb_patch_i_is_artifact(t->content) ? t->content
                                                : NULL;
  if (own)
    return csb_error_set(err, "%s has a name kept for csb-applypatch's own files (%s*)", own,
                         CSB_PATCH_TMP_PREFIX);
  return 1;
}

static int check_one(const plan_ctx *c, const char *spelling, const char *path) {
  if (!c->o->check) return 1;
  csb_error e;
  csb_error_clear(&e);
  if (c->o->check(c->o->check_ctx, spelling, path, &e)) return 1;
  return plan_fail(c, CSB_PATCH_ERR_POLICY, "%s", e.msg);
}

static int check_target(const plan_ctx *c, const csb_patch_target *t) {
  if (!check_one(c, t->spelling, t->lexical)) return 0;
  if (strcmp(t->entry, t->lexical) != 0 && !check_one(c, t->spelling, t->entry)) return 0;
  if (strcmp(t->content, t->lexical) != 0 && strcmp(t->content, t->entry) != 0 &&
      !check_one(c, t->spelling, t->content))
    return 0;
  return 1;
}

/* The entity a content operation (read or write) works on. */
static csb_patch_entity *content_ent(csb_patch_plan *pl, const csb_patch_target *t) {
  csb_patch_entity *e = ent_find(pl, t->entry);
  if (e && (e->touched || !t->entry_is_link)) return e;
  return ent_get(pl, t->content);
}

/* The entity an unlink works on: the link itself when the final component
 * is a symlink. */
static csb_patch_entity *unlink_ent(csb_patch_plan *pl, const csb_patch_target *t) {
  if (t->entry_is_link) {
    pl->links_touched = 1; /* the way to later paths may change (way_now) */
    return ent_get(pl, t->entry);
  }
  return content_ent(pl, t);
}

/* ---- the way to a path after earlier hunks ----------------------------------
 *
 * Paths are resolved before any hunk is applied; an earlier hunk that
 * deletes or moves away a symlink (or a file) that a later path's
 * resolution goes through changes where that path leads. way_now walks
 * the path as the tree stands after the earlier hunks (the plan's
 * entities over the file system). */

enum { WAY_SAME = 0, WAY_DIR, WAY_CHAIN, WAY_CHAIN_DIR };

/* How the way to path (absolute, normalised) is changed by the hunks
 * applied so far: WAY_SAME when no entity they touched lies on it;
 * WAY_DIR when one lies above the final component (*en: ENOTDIR when a
 * file is there now, else ENOENT), WAY_CHAIN_DIR when so above a link
 * target of the final component's chain; WAY_CHAIN when, following the final
 * component's symlinks (follow_last), the chain now ends at a touched
 * entity after at least one link (*content: its path, which the caller
 * frees). Only entities a hunk touched count: the rest was resolved as it
 * stands. */
static int way_now(csb_patch_plan *pl, const char *path, int follow_last, int *en,
                   char **content) {
  char *todo = csb_xstrdup(path);
  char *cur = csb_xstrdup(PFS_SEP_STR);
  int r = WAY_SAME, hops = 0, follows = 0;
  size_t pos = 0;
  for (;;) {
    while (todo[pos] == PFS_SEP) pos++;
    if (!todo[pos]) break;
    size_t end = pos;
    while (todo[end] && todo[end] != PFS_SEP) end++;
    int last = todo[end] == '\0';
    char *comp = csb_xstrndup(todo + pos, end - pos);
    char *entry = csb_spath_join(PFS_STYLE, cur, comp);
    free(comp);
    csb_patch_entity *a = entry ? ent_find(pl, entry) : NULL;
    if (a && a->touched && !last) {
      *en = a->exists ? ENOTDIR : ENOENT;
      r = hops > 0 ? WAY_CHAIN_DIR : WAY_DIR;
      free(entry);
      break;
    }
    if (a && a->touched) {
      if (hops > 0) {
        *content = entry;
        entry = NULL;
        r = WAY_CHAIN;
      }
      free(entry);
      break;
    }
    struct stat st;
    const char *real = entry ? csb_patch_i_pend_where(pl->pend, entry) : NULL;
    if (!real || pfs_lstat(real, &st) != 0 || (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode)) ||
        (last && !follow_last) || (last && !S_ISLNK(st.st_mode))) {
      /* Missing, a file, or the end: the rest is as resolved. */
      free(entry);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      free(cur);
      cur = entry;
      pos = end;
      continue;
    }
    /* A symlink: its target, then the rest of the path. */
    char buf[4096];
    ssize_t n = follows++ < CSB_PATH_MAX_SYMLINKS ? pfs_readlink(real, buf, sizeof(buf) - 1) : -1;
    free(entry);
    if (n < 0) break;
    buf[n] = '\0';
    if (last) hops++;
    char *joined = csb_spath_join(PFS_STYLE, cur, buf);
    char *next = joined ? csb_xasprintf("%s%s", joined, todo + end) : NULL;
    free(joined);
    char *norm = next ? csb_spath_normalize(PFS_STYLE, next) : NULL;
    free(next);
    if (!norm) break;
    free(todo);
    todo = norm;
    free(cur);
    cur = csb_xstrdup(PFS_SEP_STR);
    pos = 0;
  }
  free(todo);
  free(cur);
  return r;
}

/* The errno a lookup of path (canonical, missing) gets now, after the
 * earlier hunks: the topmost file above it that one of them added
 * (ENOTDIR) or deleted or moved away (ENOENT) decides; else `was`, as
 * the tree stood. */
static int missing_errno(csb_patch_plan *pl, const char *path, int was) {
  int en = was;
  char *p = csb_spath_parent(PFS_STYLE, path);
  while (p && !csb_spath_is_root(PFS_STYLE, p)) {
    csb_patch_entity *a = ent_find(pl, p);
    if (a && a->touched) en = a->exists ? ENOTDIR : ENOENT;
    char *q = csb_spath_parent(PFS_STYLE, p);
    free(p);
    p = q;
  }
  free(p);
  return en;
}

/* Every missing ancestor of a new file must be creatable: an existing
 * non-directory in the way fails like upstream's create_dir_all. */
static int parents_ok(csb_patch_plan *pl, const char *path) {
  char *p = csb_spath_parent(PFS_STYLE, path);
  while (p && !csb_spath_is_root(PFS_STYLE, p)) {
    csb_patch_entity *e = ent_find(pl, p);
    if (e && e->touched) {
      /* A file an earlier hunk adds, or deletes: the commit does not
       * order a removal before the creation of a directory in its place
       * (docs/csb-applypatch.md). */
      if (e->exists || e->orig_exists) {
        free(p);
        return 0;
      }
    } else {
      struct stat st;
      if (csb_patch_i_pend_stat(pl->pend, p, 1, &st) == 0) {
        int ok = S_ISDIR(st.st_mode);
        free(p);
        return ok;
      }
      /* A dangling symlink is in the way as well: creating the
       * directory fails (EEXIST), as upstream's create_dir_all does,
       * and the resolution took the link for a missing directory. */
      if (errno != ENOENT || csb_patch_i_pend_stat(pl->pend, p, 0, &st) == 0) {
        free(p);
        return 0;
      }
    }
    char *q = csb_spath_parent(PFS_STYLE, p);
    free(p);
    p = q;
  }
  free(p);
  return 1;
}

/* Copies n bytes (which may include NUL) into the arena, NUL-terminated. */
static char *dup_bytes(csb_patch_plan *pl, const char *s, size_t n) {
  char *p = csb_patch_i_arena_alloc(pl, n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* Replaces an entity's contents; `own` (may be NULL) becomes the heap
 * buffer it owns, and the one it owned before is freed: the caller makes
 * sure nothing refers to it any more. */
static void set_own(csb_patch_entity *e, char *own) {
  if (e->own != own) free(e->own);
  e->own = own;
}

/* The new contents of an update of e, copied to the heap when e's current
 * contents are themselves the result of an earlier hunk (else NULL: the
 * pieces point into the original bytes, which are kept anyway). The pieces
 * point into those contents, which the update replaces: the copy lets them
 * go, so that memory stays at one copy of a file however many hunks
 * update it, instead of keeping every intermediate version to the end. */
static char *own_copy(const csb_patch_entity *e, const csb_patch_piece *pieces, size_t n,
                      size_t len) {
  if (!e->touched) return NULL;
  char *b = csb_xmalloc(len + 1);
  b[csb_patch_i_join(pieces, n, b)] = '\0';
  return b;
}

static void set_contents(csb_patch_entity *e, char *data, size_t len) {
  csb_patch_i_doc_free(e->doc);
  e->doc = NULL;
  e->pieces = NULL;
  e->n_pieces = 0;
  e->data = data;
  e->len = len;
  e->loaded = 1;
}

static void set_pieces(csb_patch_entity *e, const csb_patch_piece *pc, size_t n, size_t len) {
  csb_patch_i_doc_free(e->doc);
  e->doc = NULL;
  e->data = NULL;
  e->pieces = pc;
  e->n_pieces = n;
  e->len = len;
  e->loaded = 1;
}

/* Moves a doc to e (which may already hold it). */
static void set_doc(csb_patch_entity *e, csb_patch_doc *d) {
  if (e->doc != d) csb_patch_i_doc_free(e->doc);
  e->doc = d;
  e->data = NULL;
  e->pieces = NULL;
  e->n_pieces = 0;
  e->len = csb_patch_i_doc_len(d);
  e->loaded = 1;
}

const char *csb_patch_i_ent_flat(csb_patch_plan *pl, csb_patch_entity *e) {
  if (e->doc) {
    char *d = csb_patch_i_arena_alloc(pl, e->len + 1);
    csb_patch_i_doc_write(e->doc, d);
    d[e->len] = '\0';
    csb_patch_i_doc_free(e->doc);
    e->doc = NULL;
    e->data = d;
  }
  if (!e->data && e->pieces) {
    char *d = csb_patch_i_arena_alloc(pl, e->len + 1);
    d[csb_patch_i_join(e->pieces, e->n_pieces, d)] = '\0';
    e->data = d;
    e->pieces = NULL;
    e->n_pieces = 0;
  }
  return e->data ? e->data : "";
}

static void add_summary(csb_patch_plan *pl, char op, const char *spelling, const char *abs,
                        size_t old_bytes, size_t new_bytes, const char *moved_from,
                        size_t ent_index) {
  pl->sum = csb_xgrow(pl->sum, &pl->sum_cap, pl->n_sum + 1, sizeof(*pl->sum));
  csb_patch_summary_item *s = &pl->sum[pl->n_sum++];
  memset(s, 0, sizeof(*s));
  s->pub.op = op;
  s->pub.path = spelling;
  s->abs = csb_xstrdup(abs);
  s->pub.abs_path = s->abs;
  s->pub.old_bytes = old_bytes;
  s->pub.new_bytes = new_bytes;
  s->pub.moved_from = moved_from;
  s->ent = ent_index;
}

static mode_t default_mode(void) { return pfs_default_mode(); }

/* ---- reading and updating files ahead, several at a time ------------------
 *
 * Most of a large patch's time goes to reading files and applying update
 * hunks to them. When a file is named by exactly one path of the whole
 * patch (so no other hunk can change it first) and is not reached through
 * a symlink, its update depends only on its original bytes: such updates
 * are computed on the pool's threads before the hunks are applied in
 * order, which then takes the precomputed result (or error) at that hunk's
 * turn. Anything else, and any file that could not be read ahead, is left
 * to the in-order pass, so results and messages do not change. */

#define AHEAD_THREADS 4

typedef struct {
  size_t hunk;
  size_t ent;
  const char *real; /* the file to read (see ent_load_in) */
  char *room; /* where its bytes go when the file has not grown */
  size_t room_cap;
  int dfd; /* its directory, pinned (or -1: left to the in-order pass) */
  int state; /* 0 not computed, 1 computed, -1 the update failed */
  const csb_patch_piece *pieces;
  size_t n_pieces, new_len;
  csb_error err;
  csb_buf full;
} ahead_item;

typedef struct {
  csb_patch_plan *pl;
  const csb_patch *p;
  const csb_patch_plan_opts *op;
  ahead_item *items;
  size_t n_items;
  size_t *by_hunk; /* hunk index -> item index, or SIZE_MAX */
  csb_patch_scratch *scratch; /* one per pool thread */
} ahead;

static int task_ahead(void *ctx, size_t i, size_t self) {
  ahead *a = ctx;
  ahead_item *it = &a->items[i];
  csb_patch_entity *e = &a->pl->ents[it->ent];
  csb_patch_arena *arena = &a->pl->ahead_arenas[self];
  int en = 0;
  if (it->dfd < 0 || !ent_load_in(arena, it->room, it->room_cap, e, it->real, it->dfd, &en))
    return 1;
  const csb_patch_target *t = &a->pl->targets[2 * it->hunk];
  size_t n = 0, len = 0;
  if (!csb_patch_i_update(e->data, e->len, &a->p->hunks[it->hunk], t->display,
                          a->op->text_flags, &a->scratch[self], &n, &len, &it->err,
                          a->op->full_msg ? &it->full : NULL)) {
    it->state = -1;
    return 1;
  }
  csb_patch_piece *pc = csb_patch_i_arena_take(arena, (n ? n : 1) * sizeof(*pc));
  if (n) memcpy(pc, a->scratch[self].pieces, n * sizeof(*pc));
  it->pieces = pc;
  it->n_pieces = n;
  it->new_len = len;
  it->state = 1;
  return 1;
}

/* The order of entity keys (see hash_str). */
static int path_cmp(const char *a, const char *b) {
  return PFS_STYLE == CSB_PATH_WINDOWS ? strcasecmp(a, b) : strcmp(a, b);
}

static int str_cmp(const void *a, const void *b) {
  return path_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether exactly one of the sorted paths v[0..n) equals s (without
 * counting them: a path named by every hunk must not cost hunks^2). */
static int named_once(const char **v, size_t n, const char *s) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (path_cmp(v[mid], s) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && path_cmp(v[lo], s) == 0 && (lo + 1 == n || path_cmp(v[lo + 1], s) != 0);
}

/* An item's directory (the first dir_len bytes of its path), for pinning
 * each directory once. */
typedef struct {
  const char *path;
  size_t dir_len;
  size_t item;
} item_dir;

static int item_dir_cmp(const void *a, const void *b) {
  const item_dir *x = a, *y = b;
  size_t n = x->dir_len < y->dir_len ? x->dir_len : y->dir_len;
  int c = memcmp(x->path, y->path, n);
  if (c) return c;
  return x->dir_len < y->dir_len ? -1 : (x->dir_len > y->dir_len);
}

/* Pins the directory of every item (once per directory), in the calling
 * thread; a directory that cannot be pinned leaves its items (dfd -1) to
 * the in-order pass, which reports the error. Returns the pins. */
static int *ahead_pin(csb_patch_plan *pl, ahead *a, size_t *n_pins) {
  item_dir *v = csb_xmalloc(a->n_items * sizeof(*v));
  for (size_t i = 0; i < a->n_items; i++) {
    v[i].path = pl->ents[a->items[i].ent].path;
    (void)split_last(v[i].path, &v[i].dir_len);
    v[i].item = i;
  }
  qsort(v, a->n_items, sizeof(*v), item_dir_cmp);
  int *pins = csb_xmalloc(a->n_items * sizeof(*pins));
  size_t np = 0;
  for (size_t i = 0; i < a->n_items; i++) {
    if (i == 0 || item_dir_cmp(&v[i], &v[i - 1]) != 0) {
      char *dir = csb_xstrndup(v[i].path, v[i].dir_len);
      pins[np++] = pfs_dir_pin(dir);
      free(dir);
    }
    a->items[v[i].item].dfd = pins[np - 1];
  }
  free(v);
  *n_pins = np;
  return pins;
}

static void ahead_run(csb_patch_plan *pl, const csb_patch *p, const csb_patch_plan_opts *op,
                      ahead *a) {
  memset(a, 0, sizeof(*a));
  a->pl = pl;
  a->p = p;
  a->op = op;
  a->by_hunk = csb_xmalloc(p->n_hunks * sizeof(size_t));
  for (size_t i = 0; i < p->n_hunks; i++) a->by_hunk[i] = SIZE_MAX;
  size_t n_upd = 0;
  for (size_t i = 0; i < p->n_hunks; i++) n_upd += p->hunks[i].kind == CSB_PATCH_UPDATE;
  if (n_upd < 2) return;
  /* Every canonical path any hunk names. */
  const char **paths = csb_xmalloc((pl->n_targets * 2 + 1) * sizeof(*paths));
  size_t np = 0;
  for (size_t i = 0; i < pl->n_targets; i++) {
    const csb_patch_target *t = &pl->targets[i];
    if (!t->entry) continue;
    paths[np++] = t->entry;
    if (strcmp(t->content, t->entry) != 0) paths[np++] = t->content;
  }
  qsort(paths, np, sizeof(*paths), str_cmp);
  a->items = csb_xcalloc(n_upd, sizeof(*a->items));
  for (size_t i = 0; i < p->n_hunks; i++) {
    const csb_patch_target *t = &pl->targets[2 * i];
    if (p->hunks[i].kind != CSB_PATCH_UPDATE || t->entry_is_link ||
        !named_once(paths, np, t->entry))
      continue;
    csb_patch_entity *e = ent_get(pl, t->entry);
    if (!e->orig_exists || !S_ISREG(e->orig_mode) || e->touched || e->orig_loaded) continue;
    ahead_item *it = &a->items[a->n_items];
    it->hunk = i;
    it->ent = (size_t)(e - pl->ents);
    it->real = ent_real(pl, e);
    if (!it->real) continue;
    a->by_hunk[i] = a->n_items++;
  }
  free(paths);
  if (a->n_items < 2) {
    for (size_t i = 0; i < p->n_hunks; i++) a->by_hunk[i] = SIZE_MAX;
    a->n_items = 0;
    return;
  }
  /* One block for all the files read ahead, sized from lstat (a file that
   * grew since goes to its thread's arena): large blocks get huge pages. */
  size_t total = 0;
  for (size_t i = 0; i < a->n_items; i++) {
    size_t sz = (size_t)pl->ents[a->items[i].ent].orig_size;
    if (sz > CSB_PATCH_MAX_FILE_BYTES || total > ((size_t)4 << 30)) continue;
    a->items[i].room_cap = (sz + 16) & ~(size_t)15;
    total += a->items[i].room_cap;
  }
  char *room = total ? csb_patch_i_arena_take(&pl->arena, total) : NULL;
  for (size_t i = 0; i < a->n_items && room; i++) {
    a->items[i].room = a->items[i].room_cap ? room : NULL;
    room += a->items[i].room_cap;
  }
  size_t threads = a->n_items < AHEAD_THREADS ? a->n_items : AHEAD_THREADS;
  csb_patch_pool *pool = csb_patch_i_pool_new(threads);
  size_t nt = csb_patch_i_pool_size(pool);
  pl->ahead_arenas = csb_xcalloc(nt, sizeof(*pl->ahead_arenas));
  pl->n_ahead_arenas = nt;
  a->scratch = csb_xcalloc(nt, sizeof(*a->scratch));
  size_t n_pins = 0;
  int *pins = ahead_pin(pl, a, &n_pins);
  (void)csb_patch_i_pool_run(pool, a->n_items, task_ahead, a);
  csb_patch_i_pool_free(pool);
  for (size_t i = 0; i < n_pins; i++) pfs_dir_unpin(pins[i]);
  free(pins);
  for (size_t i = 0; i < nt; i++) csb_patch_i_scratch_free(&a->scratch[i]);
  free(a->scratch);
  a->scratch = NULL;
}

static void ahead_free(ahead *a) {
  for (size_t i = 0; i < a->n_items; i++) csb_buf_free(&a->items[i].full);
  free(a->items);
  free(a->by_hunk);
  memset(a, 0, sizeof(*a));
}

/* Resolves and checks every path of p (two targets per hunk: its path and
 * its move destination) in patch order, before anything is read; fails
 * through c as the plan does. *nt counts the targets filled. */
static int resolve_all(const csb_patch *p, const plan_ctx *c, const csb_patch_pending *pd,
                       csb_patch_target *targets, size_t *nt) {
  parent_cache pcache;
  memset(&pcache, 0, sizeof(pcache));
  int ok = 1;
  for (size_t i = 0; i < p->n_hunks && ok; i++) {
    const csb_patch_hunk *h = &p->hunks[i];
    for (int m = 0; m < 2 && ok; m++) {
      const char *sp = m ? h->move_path : h->path;
      size_t sl = m ? h->move_path_len : h->path_len;
      if (!sp) {
        (*nt)++;
        continue;
      }
      csb_patch_target *t = &targets[(*nt)++];
      csb_error re;
      csb_error_clear(&re);
      view_probe v = {pd, 0, 0, {NULL, NULL}};
      if (!resolve(c->o->cwd, sp, sl, t, &pcache, pd ? &v : NULL, &re)) {
        /* The whole path, a NUL in it shown as the text \x00 (as the
         * output shows other control bytes) rather than ending it. */
        csb_buf shown;
        csb_buf_init(&shown);
        for (size_t k = 0; k < sl; k++)
          if (sp[k] == '\0')
            csb_buf_puts(&shown, "\\x00");
          else
            csb_buf_putc(&shown, sp[k]);
        csb_buf_putc(&shown, '\0');
        ok = plan_fail(c, CSB_PATCH_ERR_DATA, "invalid path '%s': %s", shown.data, re.msg);
        csb_buf_free(&shown);
      } else if (v.blocked) {
        ok = csb_patch_i_pend_fail(&v.why, "on the way to", t->display, c->kind, c->err, c->full);
      } else {
        ok = check_target(c, t);
      }
    }
  }
  cache_clear(&pcache);
  return ok;
}

/* ---- the resolution the recovery hands to the plan ------------------------- */

struct csb_patch_resolved {
  /* What the targets were resolved and checked for (cwd owned). */
  const csb_patch *p;
  char *cwd;
  csb_patch_check_fn check;
  void *check_ctx;
  csb_patch_target *targets; /* two per hunk, as the plan's; NULL: none kept */
  size_t n_targets;
};

csb_patch_resolved *csb_patch_resolved_new(void) {
  return csb_xcalloc(1, sizeof(csb_patch_resolved));
}

static void resolved_clear(csb_patch_resolved *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_targets; i++) target_free(&r->targets[i]);
  free(r->targets);
  free(r->cwd);
  memset(r, 0, sizeof(*r));
}

void csb_patch_resolved_free(csb_patch_resolved *r) {
  resolved_clear(r);
  free(r);
}

/* Hands the targets of p (nt of them) to r (may be NULL: they are freed). */
static void resolved_keep(csb_patch_resolved *r, const csb_patch *p,
                          const csb_patch_plan_opts *op, csb_patch_target *targets, size_t nt) {
  if (!r) {
    for (size_t i = 0; i < nt; i++) target_free(&targets[i]);
    free(targets);
    return;
  }
  r->p = p;
  r->cwd = csb_xstrdup(op->cwd);
  r->check = op->check;
  r->check_ctx = op->check_ctx;
  r->targets = targets;
  r->n_targets = nt;
}

/* The targets op->resolved holds when they are what resolve_all would
 * compute for p under op (the same patch, cwd and check, and a view of
 * the files that is the tree as it is: no pending change), with *nt;
 * else NULL. Either way op->resolved is left empty. */
static csb_patch_target *resolved_take(const csb_patch *p, const csb_patch_plan_opts *op,
                                       size_t *nt) {
  csb_patch_resolved *r = op->resolved;
  csb_patch_target *targets = NULL;
  if (r && r->targets && r->p == p && strcmp(r->cwd, op->cwd) == 0 && r->check == op->check &&
      r->check_ctx == op->check_ctx && csb_patch_i_pend_mark(op->pending) == 0) {
    targets = r->targets;
    *nt = r->n_targets;
    r->targets = NULL;
    r->n_targets = 0;
  }
  resolved_clear(r);
  return targets;
}

int csb_patch_recover_for(const csb_patch *p, const csb_patch_plan_opts *op,
                          const csb_patch_commit_opts *co, csb_patch_err_kind *kind,
                          csb_error *err) {
  if (kind) *kind = CSB_PATCH_ERR_NONE;
  resolved_clear(op->resolved);
  if (!co || !co->recover_first || p->n_hunks == 0) return 1;
  csb_patch_target *targets = csb_xcalloc(p->n_hunks * 2, sizeof(*targets));
  size_t nt = 0;
  /* The tree as it is, or as the recovery co->pending already records
   * (a caller recovering once more after a plan) leaves it. */
  const csb_patch_pending *view = csb_patch_i_pend_mark(co->pending) ? co->pending : NULL;
  /* A path that does not resolve, or that the check refuses, recovers
   * nothing: the error is left in err and kind for a caller that only
   * recovers (the plan fails with it anyway, resolving again for the
   * untruncated message). */
  plan_ctx quiet = {err, NULL, kind, op};
  int resolved = resolve_all(p, &quiet, view, targets, &nt);
  /* The directories of the entries and of the files they reach, each
   * once (many paths share one), then their anchors. */
  csb_strv parents, dirs;
  csb_strv_init(&parents);
  csb_strv_init(&dirs);
  for (size_t i = 0; i < nt && resolved; i++) {
    for (int k = 0; k < 2 && targets[i].entry; k++) {
      char *dir = csb_spath_parent(PFS_STYLE, k ? targets[i].content : targets[i].entry);
      if (dir) csb_strv_push_owned(&parents, dir);
    }
  }
  csb_strv_sort_unique(&parents);
  for (size_t i = 0; i < parents.len; i++) {
    char *anchor = csb_patch_i_pend_anchor(view, parents.items[i], NULL);
    if (anchor) csb_strv_push_owned(&dirs, anchor);
  }
  csb_strv_free(&parents);
  csb_strv_sort_unique(&dirs);
  int ok = 1, found = 0;
  for (size_t i = 0; i < dirs.len && ok; i++) {
    csb_error re;
    ok = co->pending ? csb_patch_pending_scan(co->pending, dirs.items[i], co->check,
                                              co->check_ctx, &re)
                     : csb_patch_i_recover_dir(co->recovered, dirs.items[i], co->check,
                                               co->check_ctx, &found, &re);
    if (!ok) {
      if (err) *err = re;
      if (kind) *kind = CSB_PATCH_ERR_IO;
    }
  }
  csb_strv_free(&dirs);
  /* The resolution was made over the tree as it was: still exact when
   * the recovery did not change it (see csb_patch_plan_opts.resolved). */
  int exact = ok && resolved && (co->pending ? csb_patch_i_pend_mark(co->pending) == 0 : !found);
  resolved_keep(exact ? op->resolved : NULL, p, op, targets, nt);
  return ok;
}

/* The way to t as the hunks before it leave the tree (way_now), once a
 * hunk removed a symlink: WAY_DIR (with *en) when the path no longer
 * leads where it was resolved; a final symlink chain that now ends
 * elsewhere moves t->content there. */
static int way_to(csb_patch_plan *pl, csb_patch_target *t, int follow_last, int *en) {
  if (PFS_STYLE != CSB_PATH_POSIX || !pl->links_touched || !t->lexical) return WAY_SAME;
  char *now = NULL;
  int w = way_now(pl, t->lexical, follow_last, en, &now);
  if (w == WAY_CHAIN && !same_path(now, t->content)) {
    free(t->content);
    t->content = now;
    now = NULL;
  }
  free(now);
  return w;
}

csb_patch_plan *csb_patch_plan_build(const csb_patch *p, const csb_patch_plan_opts *opts_in,
                                     csb_patch_err_kind *kind, csb_error *err) {
  const csb_patch_plan_opts *op = opts_in;
  plan_ctx cx = {err, opts_in->full_msg, kind, opts_in};
  const plan_ctx *c = &cx;
  if (kind) *kind = CSB_PATCH_ERR_NONE;
  if (p->n_hunks == 0) {
    resolved_clear(op->resolved);
    plan_fail(c, CSB_PATCH_ERR_DATA, "No files were modified.");
    return NULL;
  }
  csb_patch_plan *pl = csb_xcalloc(1, sizeof(*pl));
  pl->pin_fd = -1;
  pl->cwd = csb_xstrdup(op->cwd);
  pl->pend = op->pending;
  size_t nt = 0;

  /* 1. Resolve and check every path before reading anything (unless
   * csb_patch_recover_for just did, and its resolution is still exact). */
  ahead ah;
  memset(&ah, 0, sizeof(ah));
  pl->targets = resolved_take(p, op, &nt);
  if (!pl->targets) {
    pl->targets = csb_xcalloc(p->n_hunks * 2, sizeof(*pl->targets));
    if (!resolve_all(p, c, pl->pend, pl->targets, &nt)) goto fail;
  }
  pl->n_targets = nt;

  /* 2. Read and update what can be done ahead, then apply the hunks in
   * order to the overlay. */
  ahead_run(pl, p, op, &ah);
  char ebuf[256];
  for (size_t i = 0; i < p->n_hunks; i++) {
    const csb_patch_hunk *h = &p->hunks[i];
    csb_patch_target *t = &pl->targets[2 * i];
    int way_en = 0, way = way_to(pl, t, h->kind != CSB_PATCH_DELETE, &way_en);
    if (way == WAY_DIR || way == WAY_CHAIN_DIR) {
      /* A directory or symlink on the way was deleted, moved away or
       * replaced by a file by an earlier hunk: the path is missing now
       * (an add below it fails as below a deleted file; through a link
       * whose target's directory went, the write fails). */
      if (h->kind == CSB_PATCH_ADD && way == WAY_DIR)
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to create parent directories for %s",
                  t->display);
      else if (h->kind == CSB_PATCH_ADD)
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to write file %s", t->display);
      else if (h->kind == CSB_PATCH_DELETE)
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to delete file %s", t->display);
      else
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to read file to update %s: %s", t->display,
                  os_error(way_en, ebuf, sizeof(ebuf)));
      goto fail;
    }
    if (h->kind == CSB_PATCH_ADD) {
      csb_patch_entity *e = content_ent(pl, t);
      if (e->exists && S_ISDIR(e->mode)) {
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to write file %s", t->display);
        goto fail;
      }
      if (ent_special(e)) {
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to write file %s: path `%s` is not a file",
                  t->display, t->display);
        goto fail;
      }
      if (!e->touched && !parents_ok(pl, e->path)) {
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to create parent directories for %s",
                  t->display);
        goto fail;
      }
      int en = 0;
      if (!ent_capture(pl, e, &en) || !ent_writable(pl, e, &en) || !ent_dir_ok(pl, e, &en)) {
        plan_fail(c, CSB_PATCH_ERR_IO, "Failed to write file %s: %s", t->display,
                  os_error(en, ebuf, sizeof(ebuf)));
        goto fail;
      }
      if (!e->exists) {
        e->mode = default_mode();
        e->attrs_from = SIZE_MAX;
      }
      e->exists = 1;
      e->touched = 1;
      set_own(e, NULL);
      set_contents(e, dup_bytes(pl, h->contents, h->contents_len), h->contents_len);
      add_summary(pl, 'A', h->path, e->path, 0, h->contents_len, NULL, (size_t)(e - pl->ents));
    } else if (h->kind == CSB_PATCH_DELETE) {
      /* A symlink is deleted only when it leads to something that is not
       * a directory, as upstream (whose check follows it): not when it
       * dangles or leads to a directory. */
      if (t->entry_is_link) {
        csb_patch_entity *to = t->content ? ent_get(pl, t->content) : NULL;
        if (!to || !to->exists || S_ISDIR(to->mode)) {
          plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to delete file %s", t->display);
          goto fail;
        }
      }
      csb_patch_entity *e = unlink_ent(pl, t);
      if (!e->exists || (S_ISDIR(e->mode))) {
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to delete file %s", t->display);
        goto fail;
      }
      if (ent_special(e)) {
        plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to delete file %s: path `%s` is not a file",
                  t->display, t->display);
        goto fail;
      }
      size_t old = e->loaded ? e->len : (size_t)e->orig_size;
      int en = 0;
      if (!ent_capture(pl, e, &en) || !ent_dir_ok(pl, e, &en)) {
        plan_fail(c, CSB_PATCH_ERR_IO, "Failed to delete file %s: %s", t->display,
                  os_error(en, ebuf, sizeof(ebuf)));
        goto fail;
      }
      e->exists = 0;
      e->touched = 1;
      set_own(e, NULL);
      set_contents(e, NULL, 0);
      add_summary(pl, 'D', h->path, e->path, old, 0, NULL, (size_t)(e - pl->ents));
    } else {
      csb_patch_entity *e = content_ent(pl, t);
      size_t ei = (size_t)(e - pl->ents);
      int en = 0;
      if (!e->exists) {
        en = e->orig_errno ? e->orig_errno : ENOENT;
        if (e->touched) en = ENOENT;
        else en = missing_errno(pl, e->path, en);
      } else if (S_ISDIR(e->mode)) {
        en = EISDIR;
      } else if (!e->loaded && !S_ISREG(e->mode)) {
        en = EINVAL; /* not opened: a socket would fail with ENXIO */
      } else if (!e->loaded && !ent_load(pl, e, &en)) {
        /* en set */
      }
      if (en) {
        if (en == EINVAL || en == EISDIR)
          plan_fail(c, CSB_PATCH_ERR_DATA,
                    "Failed to read file to update %s: path `%s` is not a file", t->display,
                    t->display);
        else
          plan_fail(c, en == ENOENT || en == EISDIR || en == ENOTDIR ? CSB_PATCH_ERR_DATA
                                                                     : CSB_PATCH_ERR_IO,
                    "Failed to read file to update %s: %s", t->display,
                    os_error(en, ebuf, sizeof(ebuf)));
        goto fail;
      }
      size_t n_pieces = 0, new_len = 0;
      const csb_patch_piece *pieces;
      csb_patch_doc *doc = NULL;
      const ahead_item *pre = ah.by_hunk && ah.by_hunk[i] != SIZE_MAX ? &ah.items[ah.by_hunk[i]] : NULL;
      if (pre && (pre->state == 0 || pre->ent != ei)) pre = NULL;
      if (pre && pre->state < 0) {
        if (kind) *kind = CSB_PATCH_ERR_DATA;
        if (err) *err = pre->err;
        if (op->full_msg) csb_buf_append(op->full_msg, pre->full.data, pre->full.len);
        goto fail;
      } else if (pre) {
        pieces = pre->pieces;
        n_pieces = pre->n_pieces;
        new_len = pre->new_len;
      } else if (e->touched && (!h->move_path || !t->entry_is_link)) {
        /* A later hunk on a file an earlier one changed: its lines are
         * kept and updated in place (the entity keeps its old contents
         * only when a move goes through a symlink to it). */
        if (!e->doc) {
          /* The lines point into the contents: out of a heap copy that a
           * later hunk could free, into the arena. */
          if (e->own) {
            set_contents(e, dup_bytes(pl, e->own, e->len), e->len);
            set_own(e, NULL);
          }
          const char *cur = csb_patch_i_ent_flat(pl, e);
          set_doc(e, csb_patch_i_doc_new(cur, e->len, &pl->scratch));
        }
        size_t before = e->len;
        csb_error te;
        if (!csb_patch_i_doc_update(e->doc, h, t->display, op->text_flags, &te, op->full_msg)) {
          if (kind) *kind = CSB_PATCH_ERR_DATA;
          if (err) *err = te;
          goto fail;
        }
        doc = e->doc;
        new_len = csb_patch_i_doc_len(doc);
        e->len = before;
        pieces = NULL;
      } else {
        csb_error te;
        const char *cur = csb_patch_i_ent_flat(pl, e);
        if (!csb_patch_i_update(cur, e->len, h, t->display, op->text_flags, &pl->scratch,
                                &n_pieces, &new_len, &te, op->full_msg)) {
          if (kind) *kind = CSB_PATCH_ERR_DATA;
          if (err) *err = te;
          goto fail;
        }
        /* The new contents stay in pieces (no copy of the bytes); the piece
         * list moves from the scratch space to the arena. */
        csb_patch_piece *pc =
            csb_patch_i_arena_alloc(pl, (n_pieces ? n_pieces : 1) * sizeof(*pc));
        if (n_pieces) memcpy(pc, pl->scratch.pieces, n_pieces * sizeof(*pc));
        pieces = pc;
      }
      size_t old_len = e->len;
      if (h->move_path) {
        csb_patch_target *d = &pl->targets[2 * i + 1];
        mode_t src_mode = e->mode;
        size_t src_attrs = e->attrs_from;
        /* A move onto its own directory entry is a plain update, also when
         * that entry is a symlink: the link stays (the file it leads to is
         * written), as it does for an update without a move. */
        int dwen = 0, dway = way_to(pl, d, 1, &dwen);
        size_t src_index = t->entry_is_link && same_path(t->entry, d->entry)
                               ? ei
                               : (size_t)(unlink_ent(pl, t) - pl->ents);
        csb_patch_entity *de = content_ent(pl, d);
        /* ent_get may have grown the array: re-derive the pointers. */
        csb_patch_entity *src = &pl->ents[src_index];
        e = &pl->ents[ei];
        /* Before the checks of the destination's directory, which fail
         * (ENOTDIR) where a file is in the way, as for an add. */
        if (dway == WAY_CHAIN_DIR) {
          plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to write file %s", d->display);
          goto fail;
        }
        if (dway == WAY_DIR || (!de->touched && !de->exists && !parents_ok(pl, de->path))) {
          plan_fail(c, CSB_PATCH_ERR_DATA,
                    "Failed to create parent directories for %s", d->display);
          goto fail;
        }
        int cen = 0;
        if (!ent_capture(pl, src, &cen) || !ent_capture(pl, de, &cen) ||
            !ent_writable(pl, de, &cen) || !ent_dir_ok(pl, de, &cen)) {
          plan_fail(c, CSB_PATCH_ERR_IO, "Failed to write file %s: %s", d->display,
                    os_error(cen, ebuf, sizeof(ebuf)));
          goto fail;
        }
        if (src != de && !ent_dir_ok(pl, src, &cen)) {
          plan_fail(c, CSB_PATCH_ERR_IO, "Failed to delete file %s: %s", t->display,
                    os_error(cen, ebuf, sizeof(ebuf)));
          goto fail;
        }
        src = &pl->ents[src_index];
        e = &pl->ents[ei];
        if (de->exists && S_ISDIR(de->mode)) {
          plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to write file %s", d->display);
          goto fail;
        }
        if (ent_special(de)) {
          plan_fail(c, CSB_PATCH_ERR_DATA, "Failed to write file %s: path `%s` is not a file",
                    d->display, d->display);
          goto fail;
        }
        char *nb = doc ? NULL : own_copy(e, pieces, n_pieces, new_len);
        de->exists = 1;
        de->touched = 1;
        de->mode = src_mode;
        de->attrs_from = src_attrs;
        if (doc) {
          e->doc = NULL; /* e is src, or de */
          set_doc(de, doc);
        } else {
          set_own(de, nb);
          if (nb)
            set_contents(de, nb, new_len);
          else
            set_pieces(de, pieces, n_pieces, new_len);
        }
        if (src != de) {
          src->exists = 0;
          src->touched = 1;
          set_own(src, NULL);
          set_contents(src, NULL, 0);
        }
        add_summary(pl, 'M', h->move_path, de->path, old_len, new_len, h->path,
                    (size_t)(de - pl->ents));
      } else {
        int wen = 0;
        if (!ent_writable(pl, e, &wen) || !ent_dir_ok(pl, e, &wen)) {
          plan_fail(c, CSB_PATCH_ERR_IO, "Failed to write file %s: %s", t->display,
                    os_error(wen, ebuf, sizeof(ebuf)));
          goto fail;
        }
        char *nb = doc ? NULL : own_copy(e, pieces, n_pieces, new_len);
        e->touched = 1;
        if (doc) {
          set_doc(e, doc);
        } else {
          set_own(e, nb);
          if (nb)
            set_contents(e, nb, new_len);
          else
            set_pieces(e, pieces, n_pieces, new_len);
        }
        add_summary(pl, 'M', h->path, e->path, old_len, new_len, NULL, (size_t)(e - pl->ents));
      }
    }
  }

  ents_drop_setid(pl);

  /* 3. Summary order: adds, then modifications, then deletions. */
  {
    csb_patch_summary_item *sorted = csb_xcalloc(pl->n_sum ? pl->n_sum : 1, sizeof(*sorted));
    size_t k = 0;
    const char order[] = {'A', 'M', 'D'};
    for (size_t oi = 0; oi < 3; oi++)
      for (size_t i = 0; i < pl->n_sum; i++)
        if (pl->sum[i].pub.op == order[oi]) sorted[k++] = pl->sum[i];
    free(pl->sum);
    pl->sum = sorted;
    pl->sum_cap = pl->n_sum;
  }
  ahead_free(&ah);
  pl->pend = NULL;
  return pl;

fail:
  ahead_free(&ah);
  pl->n_targets = nt;
  csb_patch_plan_free(pl);
  return NULL;
}

void csb_patch_plan_free(csb_patch_plan *pl) {
  if (!pl) return;
  for (size_t i = 0; i < pl->n_targets; i++) target_free(&pl->targets[i]);
  free(pl->targets);
  for (size_t i = 0; i < pl->n_ents; i++) {
    free(pl->ents[i].path);
    free(pl->ents[i].own);
    csb_patch_i_doc_free(pl->ents[i].doc);
  }
  csb_patch_i_arena_release(&pl->arena);
  for (size_t i = 0; i < pl->n_ahead_arenas; i++) csb_patch_i_arena_release(&pl->ahead_arenas[i]);
  free(pl->ahead_arenas);
  csb_patch_i_scratch_free(&pl->scratch);
  pfs_dir_unpin(pl->pin_fd);
  free(pl->pin_dir);
  free(pl->ents);
  free(pl->map);
  for (size_t i = 0; i < pl->n_sum; i++) free(pl->sum[i].abs);
  free(pl->sum);
  free(pl->cwd);
  free(pl);
}

size_t csb_patch_plan_summary_len(const csb_patch_plan *pl) { return pl->n_sum; }

const csb_patch_summary_entry *csb_patch_plan_summary_at(const csb_patch_plan *pl, size_t i) {
  return i < pl->n_sum ? &pl->sum[i].pub : NULL;
}

const char *csb_patch_plan_new_contents(csb_patch_plan *pl, size_t i, size_t *len) {
  if (i >= pl->n_sum) return NULL;
  csb_patch_entity *e = &pl->ents[pl->sum[i].ent];
  if (!e->exists) {
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = e->len;
  return csb_patch_i_ent_flat(pl, e);
}
