/* commit.c - writing a plan all-or-nothing, and recovering after a crash.
 *
 * Artifacts (all named ".csb-applypatch-TXID.SUFFIX", in the directory of
 * the file they belong to):
 *   .j    the journal (in the first directory), locked while live
 *   .p    a pointer to the journal (a symlink; on Windows a file holding
 *         its path), in every other directory involved
 *   .tN   the new contents of file N
 *   .rN   the old contents of file N, written only to roll back after
 *         the commit point
 *
 * Sequence: journal (created and locked), pointers, the journal's
 * contents (fsynced with the rest, "prepared"), created directories,
 * temporary files (fsynced), "commit" record (the commit point), renames
 * and unlinks (directories fsynced), cleanup (journal last). A failure
 * before the commit point removes everything. After it, restore copies of
 * the old contents (kept in memory by the plan) are written and fsynced,
 * then an "abort" record, then they are renamed back. After a crash, the
 * next run rolls an aborted transaction back and any other committed one
 * forward; anything before the commit point is removed.
 *
 * The live transaction first pins every directory involved (pfs_dir_pin:
 * reached from "/" without following symlinks) and works relative to the
 * pinned directories from then on, so a directory swapped for a symlink
 * after the plan's checks cannot redirect a write, rename or unlink.
 * Recovery does the same once it has checked a journal's paths.
 *
 * Recovery also runs without changing anything (csb_patch_pending_scan,
 * for dry runs): the same code, with its renames and removals recorded
 * in a csb_patch_pending (pending.c) and its lookups answered from it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_patch.h"
#include "csb_paths.h"
#include "fsys.h"
#include "patch_internal.h"
#include "plan_internal.h"

/* The file system calls are those of fsys.h (POSIX, or their Win32
 * counterparts). */
#define JOURNAL_MAGIC "csb-applypatch-journal 1\n"
#define MAX_JOURNAL_BYTES ((size_t)64 << 20)
/* Up to this many files, each temporary file is fsynced on the thread that
 * wrote it (the syncs overlap, and concurrent device cache flushes are
 * merged); above, one syncfs() per file system replaces them. syncfs also
 * waits for whatever else is dirty on the file system, which on a busy
 * machine can take much longer than syncing a few hundred files. */
#define FSYNC_EACH_MAX 1000
/* Threads for the independent per-file steps (see pool.c). */
#define COMMIT_THREADS 8

enum { OP_WRITE = 1, OP_DELETE = 2 };

typedef struct tx_op {
  int kind;
  size_t n;
  char *target;
  char *dir;
  int orig_exists;
  /* the new contents, borrowed from the plan: pieces, or (pieces NULL)
   * the single block `whole` */
  const csb_patch_piece *pieces;
  size_t n_pieces;
  csb_patch_piece whole;
  mode_t mode;
  /* The new file's owner and group: those of the file whose mode and
   * attributes it carries (the file replaced, or a move's source). */
  uid_t uid;
  gid_t gid;
  int chown; /* 1: owner and group (root), 2: the group, best effort */
  /* The same for the restore copy: the original's. */
  uid_t orig_uid;
  gid_t orig_gid;
  int orig_chown;
  /* progress */
  /* the original, for rolling back after the commit point */
  const char *orig_data;
  size_t orig_len;
  const char *orig_link;
  mode_t orig_mode;
  /* The regular file whose extended attributes and ACLs the new file
   * carries (the file replaced, or a move's source; NULL for none), as
   * the plan saw it, and those attributes once read (task_write); the
   * same of the original file, for its restore copy. */
  const char *attrs_path;
  dev_t attrs_dev;
  ino_t attrs_ino;
  csb_buf attrs;
  dev_t orig_dev;
  ino_t orig_ino;
  pfs_stamp orig_stamp;
  csb_buf orig_attrs;
  /* The original's file capabilities, for its restore copy only. */
  csb_buf orig_caps;
  int dfd; /* its directory, pinned (borrowed from tx.dfds) */
  /* progress */
  int temp_made, done;
  int err_no; /* errno of this file's failed step, else 0 */
} tx_op;

typedef struct tx {
  char id[64];
  char *journal;
  char *journal_dir;
  int jfd;
  tx_op *ops;
  size_t n_ops, ops_cap;
  csb_strv mkdirs;   /* parents first */
  size_t mkdirs_made;
  csb_strv pointers;
  size_t pointers_made;
  csb_strv dirs;     /* every directory holding artifacts or targets */
  int *dfds;         /* per dirs item: pinned (pfs_dir_pin), or -1 */
  int prepared, committed, aborted;
  int fsync_each;    /* fsync each file (else one syncfs per file system) */
  csb_patch_pool *pool; /* threads for the per-file steps */
  size_t *order;     /* op indices, directories interleaved (see spread) */
  /* Recovery only: where its changes are recorded instead of made (NULL:
   * made). */
  csb_patch_pending *sim;
  /* fault injection (test builds only) */
  long fi_step;
  atomic_long fi_count;
  int fi_mode; /* 0 kill, 1 _exit, 2 fail, 3 swap, 4 stop */
} tx;

char *csb_patch_i_artifact_name(const char *id, char kind, size_t n) {
  if (kind == 't' || kind == 'r') return csb_xasprintf(CSB_PATCH_TMP_PREFIX "%s.%c%zu", id, kind, n);
  return csb_xasprintf(CSB_PATCH_TMP_PREFIX "%s.%c", id, kind);
}

char *csb_patch_i_artifact_path(const char *dir, const char *id, char kind, size_t n) {
  size_t dl = strlen(dir);
  char *name = csb_patch_i_artifact_name(id, kind, n);
  char *full = csb_xasprintf("%s%s%s", dir, dl && dir[dl - 1] == PFS_SEP ? "" : PFS_SEP_STR, name);
  free(name);
  return full;
}

/* The journal ("j") or pointer ("p") of transaction id in dir. */
static char *art_n(const char *dir, const char *id, char kind, size_t n) {
  return csb_patch_i_artifact_path(dir, id, kind, n);
}

static char *art(const char *dir, const char *id, const char *suffix) {
  return art_n(dir, id, suffix[0], 0);
}

/* The last component of a path. */
static const char *base_of(const char *p) {
  const char *s = strrchr(p, PFS_SEP);
  return s ? s + 1 : p;
}

static int find_dir(const void *key, const void *item) {
  return strcmp((const char *)key, *(char *const *)item);
}

#ifdef CSB_FAULT_INJECTION
/* The test knobs are read with csb_os_getenv, so that a Windows test driver
 * can set them in its own process. */
static char *fi_env(const char *name) {
  char *v = csb_os_getenv(name);
  if (v && !*v) {
    free(v);
    v = NULL;
  }
  return v;
}

static int fi_env_is(const char *name, const char *want) {
  char *v = fi_env(name);
  int is = v && strcmp(v, want) == 0;
  free(v);
  return is;
}
#endif

/* One forward step. Returns 0 (errno = EIO) when a fault is injected. */
static int step(tx *t) {
#ifdef CSB_FAULT_INJECTION
  long n = atomic_fetch_add(&t->fi_count, 1) + 1;
  if (t->fi_step > 0 && n == t->fi_step) {
    if (t->fi_mode == 0) pfs_kill_self();
    if (t->fi_mode == 1) _exit(86);
    if (t->fi_mode == 3) {
      /* What a racing process can do: CSB_PATCH_FAULT_SWAP_DIR moves
       * aside (to DIR.orig) and becomes a symlink to
       * CSB_PATCH_FAULT_SWAP_TO; the step itself goes on. */
      char *dir = fi_env("CSB_PATCH_FAULT_SWAP_DIR"), *to = fi_env("CSB_PATCH_FAULT_SWAP_TO");
      char *aside = dir ? csb_xasprintf("%s.orig", dir) : NULL;
      if (!dir || !to || pfs_rename(dir, aside) != 0 || pfs_symlink(to, dir) != 0) _exit(87);
      free(aside);
      free(dir);
      free(to);
      return 1;
    }
#ifdef SIGSTOP
    if (t->fi_mode == 4) {
      /* Stopped before the step, for a concurrent run to go meanwhile
       * (the test resumes it with SIGCONT); then the step goes on. */
      raise(SIGSTOP);
      return 1;
    }
#endif
    errno = EIO;
    return 0;
  }
#else
  (void)t;
#endif
  return 1;
}

/* The live transaction counts steps for CSB_PATCH_FAULT_STEP, the
 * recovery of an interrupted one (recovery 1) for
 * CSB_PATCH_FAULT_RECOVERY_STEP. */
static void fi_init(tx *t, int recovery) {
#ifdef CSB_FAULT_INJECTION
  char *s = fi_env(recovery ? "CSB_PATCH_FAULT_RECOVERY_STEP" : "CSB_PATCH_FAULT_STEP");
  atomic_init(&t->fi_count, 0);
  t->fi_step = s ? strtol(s, NULL, 10) : 0;
  free(s);
  t->fi_mode = 0;
  if (fi_env_is("CSB_PATCH_FAULT_MODE", "exit")) t->fi_mode = 1;
  if (fi_env_is("CSB_PATCH_FAULT_MODE", "fail")) t->fi_mode = 2;
  if (fi_env_is("CSB_PATCH_FAULT_MODE", "swap")) t->fi_mode = 3;
  if (fi_env_is("CSB_PATCH_FAULT_MODE", "stop")) t->fi_mode = 4;
#else
  (void)t;
  (void)recovery;
#endif
}

/* FSYNC_EACH_MAX, which test builds can lower (CSB_PATCH_FAULT_FSYNC_EACH_MAX)
 * to take the syncfs path with a few files. */
static size_t fsync_each_max(void) {
  if (!PFS_DIR_SYNC) return SIZE_MAX; /* no syncfs: every file on its own */
#ifdef CSB_FAULT_INJECTION
  char *s = fi_env("CSB_PATCH_FAULT_FSYNC_EACH_MAX");
  if (s) {
    size_t n = (size_t)strtoul(s, NULL, 10);
    free(s);
    return n;
  }
#endif
  return FSYNC_EACH_MAX;
}

/* fsync(), which test builds can turn off (CSB_PATCH_FAULT_NOSYNC=1) to
 * run the fault-injection suite quickly: it cannot observe durability. */
static int sync_fd(int fd, int data_only) {
#ifdef CSB_FAULT_INJECTION
  if (fi_env_is("CSB_PATCH_FAULT_NOSYNC", "1")) return 0;
#endif
  return data_only ? pfs_fdatasync(fd) : pfs_fsync(fd);
}

/* Where t->dfds keeps the pinned directory of dir (t->dirs is sorted). */
static int *dfd_slot(const tx *t, const char *dir) {
  if (!t->dfds) return NULL;
  char *const *hit = bsearch(dir, t->dirs.items, t->dirs.len, sizeof(char *), find_dir);
  return hit ? &t->dfds[hit - t->dirs.items] : NULL;
}

/* The pinned directory holding path (-1 with EBADF when there is none). */
static int dfd_of(const tx *t, const char *path) {
  char *dir = csb_spath_parent(PFS_STYLE, path);
  int *slot = dir ? dfd_slot(t, dir) : NULL;
  free(dir);
  if (!slot || *slot < 0) {
    errno = EBADF;
    return -1;
  }
  return *slot;
}

/* A directory of t opened to be synced: through its pin when it has one. */
static int open_dir(const tx *t, const char *dir) {
  int *slot = dfd_slot(t, dir);
  if (slot && *slot >= 0) return pfs_dir_open_pinned(*slot, dir);
  return pfs_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

static int fsync_path(const tx *t, const char *dir) {
  if (!PFS_DIR_SYNC || t->sim) return 1;
  int fd = open_dir(t, dir);
  if (fd < 0) return 0;
  int r = sync_fd(fd, 0);
  int e = errno;
  close(fd);
  errno = e;
  return r == 0 || errno == EINVAL;
}

static int syncfs_path(const tx *t, const char *dir) {
  int fd = open_dir(t, dir);
  if (fd < 0) return 0;
  int r;
#ifdef CSB_FAULT_INJECTION
  if (fi_env_is("CSB_PATCH_FAULT_NOSYNC", "1"))
    r = 0;
  else
#endif
    r = pfs_syncfs(fd);
  int e = errno;
  close(fd);
  errno = e;
  return r == 0;
}

static int exists(const char *p) {
  struct stat st;
  return pfs_lstat(p, &st) == 0;
}

static void tx_free(tx *t) {
  for (size_t i = 0; i < t->n_ops; i++) {
    free(t->ops[i].target);
    free(t->ops[i].dir);
    csb_buf_free(&t->ops[i].attrs);
    csb_buf_free(&t->ops[i].orig_attrs);
    csb_buf_free(&t->ops[i].orig_caps);
  }
  free(t->ops);
  csb_patch_i_pool_free(t->pool);
  t->pool = NULL;
  free(t->order);
  t->order = NULL;
  csb_strv_free(&t->mkdirs);
  csb_strv_free(&t->pointers);
  for (size_t i = 0; t->dfds && i < t->dirs.len; i++) pfs_dir_unpin(t->dfds[i]);
  free(t->dfds);
  t->dfds = NULL;
  csb_strv_free(&t->dirs);
  free(t->journal);
  free(t->journal_dir);
  if (t->jfd >= 0) close(t->jfd);
  t->jfd = -1;
}

/* ---- journal text ------------------------------------------------------------ */

static void put_path(csb_buf *b, const char *p) {
  csb_buf_printf(b, "%zu:", strlen(p));
  csb_buf_puts(b, p);
}

/* The journal's header and records, as they are first written. */
static void journal_records(const tx *t, csb_buf *b) {
  csb_buf_puts(b, JOURNAL_MAGIC);
  csb_buf_printf(b, "id %s\n", t->id);
  for (size_t i = 0; i < t->pointers.len; i++) {
    csb_buf_puts(b, "P ");
    put_path(b, t->pointers.items[i]);
    csb_buf_putc(b, '\n');
  }
  for (size_t i = 0; i < t->mkdirs.len; i++) {
    csb_buf_puts(b, "D ");
    put_path(b, t->mkdirs.items[i]);
    csb_buf_putc(b, '\n');
  }
  for (size_t i = 0; i < t->n_ops; i++) {
    const tx_op *o = &t->ops[i];
    csb_buf_printf(b, "%c %zu %d ", o->kind == OP_WRITE ? 'W' : 'X', o->n, o->orig_exists);
    put_path(b, o->target);
    csb_buf_putc(b, '\n');
  }
}

static char *journal_text(const tx *t) {
  csb_buf b = {0};
  journal_records(t, &b);
  csb_buf_puts(&b, "prepared\n");
  return csb_buf_steal(&b);
}

/* Results of reading a journal record: malformed, whole, or cut short
 * by the end of the text (a torn last record). */
enum { REC_BAD = 0, REC_OK = 1, REC_TORN = -1 };

/* Reads "LEN:BYTES" at *pp (LEN without a leading zero), bounded by end.
 * The bytes are taken by their length, not up to a line end: a directory
 * name or a symlink target can hold a newline. */
static int get_path(const char **pp, const char *end, char **out) {
  const char *p = *pp;
  size_t n = 0;
  int digits = 0;
  while (p < end && *p >= '0' && *p <= '9' && digits < 8) {
    n = n * 10 + (size_t)(*p - '0');
    p++;
    digits++;
  }
  if (p >= end) return REC_TORN;
  if (!digits || (digits > 1 && **pp == '0') || *p != ':' || n == 0) return REC_BAD;
  p++;
  if ((size_t)(end - p) < n) return REC_TORN;
  if (memchr(p, '\0', n) != NULL) return REC_BAD;
  *out = csb_xstrndup(p, n);
  *pp = p + n;
  return REC_OK;
}

/* Reads a file index at *pp: decimal as the committer writes it (no
 * sign, blank or leading zero), at most 100000000, then a blank. */
static int get_index(const char **pp, const char *end, size_t *out) {
  const char *p = *pp;
  size_t n = 0, digits = 0;
  while (p < end && *p >= '0' && *p <= '9' && digits < 10) {
    n = n * 10 + (size_t)(*p - '0');
    p++;
    digits++;
  }
  if (p >= end) return REC_TORN;
  if (digits == 0 || (digits > 1 && **pp == '0') || n > 100000000u || *p != ' ') return REC_BAD;
  *pp = p + 1;
  *out = n;
  return REC_OK;
}

static int valid_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 40) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
      return 0;
  return 1;
}

/* A transaction name as make_id writes it: the process ID in hex (at most
 * 16 digits, no leading zero), '-', 16 hex digits. The scan of a directory
 * acts on no other name: a user's file that merely looks like one of ours
 * is left alone. */
static int committer_id(const char *id) {
  size_t p = strspn(id, "0123456789abcdef");
  return p >= 1 && p <= 16 && (id[0] != '0' || p == 1) && id[p] == '-' &&
         strspn(id + p + 1, "0123456789abcdef") == 16 && id[p + 17] == '\0';
}

static int normalised_abs(const char *p) {
  char *n = csb_spath_normalize(PFS_STYLE, p);
  int ok = n != NULL && strcmp(n, p) == 0 && !csb_spath_is_root(PFS_STYLE, p);
  free(n);
  return ok;
}

int csb_patch_i_pointer_names_journal(const char *text, const char *id) {
  if (!normalised_abs(text)) return 0;
  char *b = csb_spath_basename(PFS_STYLE, text);
  char *w = csb_patch_i_artifact_name(id, 'j', 0);
  int ok = b && strcmp(b, w) == 0;
  free(w);
  free(b);
  return ok;
}

/* memmem(3), which not every C library has. */
static int contains(const char *s, size_t n, const char *what) {
  size_t w = strlen(what);
  for (size_t i = 0; i + w <= n; i++)
    if (memcmp(s + i, what, w) == 0) return 1;
  return 0;
}

/* Reads the record at *pp that names a path ("P LEN:PATH", "D LEN:PATH",
 * "W N 0|1 LEN:PATH", "X N 0|1 LEN:PATH", then LF) into t. */
static int path_record(const char **pp, const char *end, tx *t) {
  const char *p = *pp, *q = p + 2;
  char kind = p[0];
  size_t n = 0;
  int orig = 0, r;
  if (kind == 'W' || kind == 'X') {
    if ((r = get_index(&q, end, &n)) != REC_OK) return r;
    if (end - q < 2) return REC_TORN;
    if ((q[0] != '0' && q[0] != '1') || q[1] != ' ') return REC_BAD;
    orig = q[0] == '1';
    q += 2;
  }
  char *path = NULL;
  if ((r = get_path(&q, end, &path)) != REC_OK) return r;
  if (q >= end) {
    free(path);
    return REC_TORN;
  }
  if (*q != '\n' || !normalised_abs(path)) {
    free(path);
    return REC_BAD;
  }
  if (kind == 'P' || kind == 'D') {
    csb_strv_push_owned(kind == 'P' ? &t->pointers : &t->mkdirs, path);
  } else {
    t->ops = csb_xgrow(t->ops, &t->ops_cap, t->n_ops + 1, sizeof(*t->ops));
    tx_op *o = &t->ops[t->n_ops++];
    memset(o, 0, sizeof(*o));
    o->kind = kind == 'W' ? OP_WRITE : OP_DELETE;
    o->n = n;
    o->target = path;
    o->dir = csb_spath_parent(PFS_STYLE, path);
    o->orig_exists = orig;
  }
  *pp = q + 1;
  return REC_OK;
}

/* Parses a journal into t (ops, mkdirs, pointers, state flags). A torn
 * last line (no final LF) is ignored. */
static int journal_parse(const char *text, size_t len, tx *t) {
  const char *p = text, *end = text + len;
  size_t ml = strlen(JOURNAL_MAGIC);
  if (len < ml || memcmp(text, JOURNAL_MAGIC, ml) != 0) return 0;
  p += ml;
  int have_id = 0;
  while (p < end) {
    if (*p != '\0' && strchr("PDWX", *p) != NULL && end - p >= 2 && p[1] == ' ') {
      int r = path_record(&p, end, t);
      /* Cut short: a torn last line when no LF follows (the committer
       * writes each record whole, so one cut after a LF of its path is
       * not a record of ours). */
      if (r == REC_TORN && memchr(p, '\n', (size_t)(end - p)) == NULL) break;
      if (r != REC_OK) return 0;
      continue;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break; /* torn last record: ignored */
    if (nl - p >= 3 && memcmp(p, "id ", 3) == 0) {
      size_t n = (size_t)(nl - p - 3);
      if (n >= sizeof(t->id)) return 0;
      memcpy(t->id, p + 3, n);
      t->id[n] = '\0';
      /* (a NUL would cut it to another id) */
      if (strlen(t->id) != n || !valid_id(t->id)) return 0;
      have_id = 1;
    } else if (nl - p == 8 && memcmp(p, "prepared", 8) == 0) {
      t->prepared = 1;
    } else if (nl - p == 6 && memcmp(p, "commit", 6) == 0) {
      t->committed = 1;
    } else if (nl - p == 5 && memcmp(p, "abort", 5) == 0) {
      t->aborted = 1;
    } else {
      return 0;
    }
    p = nl + 1;
  }
  return have_id;
}

int csb_patch_i_journal_reformat(const char *text, size_t len, char **out) {
  *out = NULL;
  tx t;
  memset(&t, 0, sizeof(t));
  t.jfd = -1;
  int ok = journal_parse(text, len, &t);
  if (ok) {
    csb_buf b = {0};
    journal_records(&t, &b);
    if (t.prepared) csb_buf_puts(&b, "prepared\n");
    if (t.committed) csb_buf_puts(&b, "commit\n");
    if (t.aborted) csb_buf_puts(&b, "abort\n");
    *out = csb_buf_steal(&b);
  }
  tx_free(&t);
  return ok;
}

/* ---- undo / redo (shared by the live path and recovery) --------------------- */

/* File operations on the paths of a transaction: in its pinned
 * directories when it has them (the live path, and recovery once it has
 * checked the paths), else by path; recorded instead when t->sim. */
static int tx_unlink(const tx *t, const char *p) {
  if (t->sim) return csb_patch_i_pend_unlink(t->sim, p);
  return t->dfds ? pfs_unlink_in(dfd_of(t, p), p, base_of(p)) : pfs_unlink(p);
}

static int tx_rmdir(const tx *t, const char *p) {
  if (t->sim) return csb_patch_i_pend_rmdir(t->sim, p);
  return t->dfds ? pfs_rmdir_in(dfd_of(t, p), p, base_of(p)) : pfs_rmdir(p);
}

/* from and to are in the same directory. */
static int tx_rename(const tx *t, const char *from, const char *to) {
  if (t->sim) return csb_patch_i_pend_rename(t->sim, from, to);
  return t->dfds ? pfs_rename_in(dfd_of(t, to), from, base_of(from), to, base_of(to))
                 : pfs_rename(from, to);
}

/* The kinds of object the committer makes, renames and removes. */
enum { K_NONE = 0, K_REG = 1, K_LNK = 2, K_DIR = 4, K_OTHER = 8 };
/* A pointer is a symlink (Windows: a small regular file). */
#define K_POINTER (PFS_POINTER_IS_LINK ? K_LNK : K_REG)
/* A temporary file is a regular file; a restore copy is one, or a symlink
 * when the file it restores was one; a file the committer deletes is
 * either (it never removes a FIFO, socket or device). */
#define K_TEMP K_REG
#define K_RESTORE (K_REG | K_LNK)

static int kind_of(mode_t m) {
  if (S_ISREG(m)) return K_REG;
  if (S_ISLNK(m)) return K_LNK;
  if (S_ISDIR(m)) return K_DIR;
  return K_OTHER;
}

/* What p is now (K_NONE when it does not exist). */
static int tx_kind(const tx *t, const char *p) {
  struct stat st;
  int r = t->sim     ? csb_patch_i_pend_lstat(t->sim, p, &st)
          : t->dfds ? pfs_lstat_in(dfd_of(t, p), p, base_of(p), &st)
                    : pfs_lstat(p, &st);
  return r == 0 ? kind_of(st.st_mode) : K_NONE;
}

/* Best effort, and only when p is of one of the kinds `want`, that is
 * what the transaction would have made there: what cannot be removed now,
 * a later run retries. */
static void tx_rm_quiet(const tx *t, const char *p, int want) {
  if (tx_kind(t, p) & want) (void)tx_unlink(t, p);
}

static void remove_pointers_dirs_journal(tx *t, int rmdirs) {
  for (size_t i = t->pointers.len; i-- > 0;) tx_rm_quiet(t, t->pointers.items[i], K_POINTER);
  /* A journal kept in a directory the transaction created goes first, so
   * that the directory can go too. */
  int jfirst = rmdirs && t->journal_dir && csb_strv_contains(&t->mkdirs, t->journal_dir);
  if (t->journal && jfirst) tx_rm_quiet(t, t->journal, K_REG);
  if (rmdirs)
    for (size_t i = t->mkdirs.len; i-- > 0;) (void)tx_rmdir(t, t->mkdirs.items[i]);
  if (t->journal && !jfirst) tx_rm_quiet(t, t->journal, K_REG);
}

/* Nothing was renamed yet: drop every artifact. */
static void undo_prepared(tx *t) {
  for (size_t i = 0; i < t->n_ops; i++) {
    tx_op *o = &t->ops[i];
    char *tp = art_n(o->dir, t->id, 't', o->n);
    char *rp = art_n(o->dir, t->id, 'r', o->n);
    tx_rm_quiet(t, tp, K_TEMP);
    tx_rm_quiet(t, rp, K_RESTORE);
    free(tp);
    free(rp);
  }
  remove_pointers_dirs_journal(t, 1);
}

/* Committed and not aborted: finish the renames and unlinks. Anything
 * else than what the committer makes in their place (a temporary file
 * that is no regular file, a FIFO to delete) fails. */
static int redo_committed(tx *t) {
  int ok = 1;
  for (size_t i = 0; i < t->n_ops; i++) {
    tx_op *o = &t->ops[i];
    char *tp = art_n(o->dir, t->id, 't', o->n);
    char *rp = art_n(o->dir, t->id, 'r', o->n);
    if (o->kind == OP_WRITE) {
      int k = tx_kind(t, tp);
      if (k != K_NONE && (k != K_TEMP || tx_rename(t, tp, o->target) != 0)) ok = 0;
    } else {
      int k = tx_kind(t, o->target);
      if (k != K_NONE && (!(k & (K_REG | K_LNK)) || tx_unlink(t, o->target) != 0)) ok = 0;
    }
    tx_rm_quiet(t, rp, K_RESTORE); /* restore copies of an abort that never got recorded */
    free(tp);
    free(rp);
  }
  if (!ok) return 0;
  for (size_t i = 0; i < t->dirs.len; i++) (void)fsync_path(t, t->dirs.items[i]);
  remove_pointers_dirs_journal(t, 0);
  return 1;
}

/* Aborted after the commit point: every changed file has a restore copy
 * (.rN) of its old contents, written before the abort record. */
static int undo_committed(tx *t) {
  int ok = 1;
  for (size_t i = t->n_ops; i-- > 0;) {
    tx_op *o = &t->ops[i];
    char *tp = art_n(o->dir, t->id, 't', o->n);
    char *rp = art_n(o->dir, t->id, 'r', o->n);
    int kr = tx_kind(t, rp), kt = tx_kind(t, tp);
    if (kr != K_NONE) {
      if (!(kr & K_RESTORE) || tx_rename(t, rp, o->target) != 0) ok = 0;
    } else if (kt != K_NONE) {
      /* never renamed: the old file is still in place */
      if (kt == K_TEMP) tx_rm_quiet(t, tp, K_TEMP);
      else ok = 0;
    } else if (o->kind == OP_WRITE && !o->orig_exists) {
      /* an added file: the committer made a regular file */
      int k = tx_kind(t, o->target);
      if (k != K_NONE && (k != K_REG || tx_unlink(t, o->target) != 0)) ok = 0;
    }
    free(tp);
    free(rp);
  }
  if (!ok) return 0;
  for (size_t i = 0; i < t->dirs.len; i++) (void)fsync_path(t, t->dirs.items[i]);
  remove_pointers_dirs_journal(t, 1);
  return 1;
}

/* ---- recovery ---------------------------------------------------------------------- */

static void collect_dirs(tx *t) {
  for (size_t i = 0; i < t->n_ops; i++) {
    if (t->ops[i].dir) csb_strv_push(&t->dirs, t->ops[i].dir);
    /* The file whose attributes a new file carries is read in its pinned
     * directory too: a moved symlink's target may lie in a directory no
     * operation writes in. */
    char *ad = t->ops[i].attrs_path ? csb_spath_parent(PFS_STYLE, t->ops[i].attrs_path) : NULL;
    if (ad) csb_strv_push_owned(&t->dirs, ad);
  }
  /* A created directory's own entry lives in its parent. */
  for (size_t i = 0; i < t->mkdirs.len; i++) {
    char *p = csb_spath_parent(PFS_STYLE, t->mkdirs.items[i]);
    if (p) csb_strv_push_owned(&t->dirs, p);
  }
  if (t->journal_dir) csb_strv_push(&t->dirs, t->journal_dir);
  csb_strv_sort_unique(&t->dirs);
}

/* Whether p's parent directory is reached without a symlink (Windows: a
 * reparse point): its canonical form is itself. */
static int parent_is_canonical(const char *p) {
  char *parent = csb_spath_parent(PFS_STYLE, p);
  char *canon = NULL;
  csb_error ce;
  int ok = parent && pfs_canonical_existing_prefix(parent, &canon, &ce) &&
           csb_spath_equal(PFS_STYLE, canon, parent);
  free(canon);
  free(parent);
  return ok;
}

/* Reads the pointer at pp (as sim leaves it) into buf, NUL-terminated:
 * the length, or 0 when there is none. */
static size_t read_pointer(const csb_patch_pending *sim, const char *pp, char *buf, size_t cap) {
  const char *real = csb_patch_i_pend_where(sim, pp);
  ssize_t n = real ? pfs_pointer_read(real, buf, cap - 1) : -1;
  if (n <= 0) return 0;
  buf[n] = '\0';
  return (size_t)n;
}

/* Whether the file at pp is a pointer to the journal jpath. */
static int is_pointer_to(const csb_patch_pending *sim, const char *pp, const char *jpath) {
  char buf[4096];
  size_t n = read_pointer(sim, pp, buf, sizeof(buf));
  return n > 0 && csb_spath_equal(PFS_STYLE, buf, jpath);
}

/* Keeps the files of a recovered journal that it may act on: those in the
 * journal's own directory or in one holding a pointer to it (the
 * committer makes one in every other directory it works in, and removes
 * them only when every file is in place, so a directory without one has
 * nothing left to do), and the pointers that point to it. A journal
 * planted in a writable directory thus cannot name files elsewhere to
 * remove or replace, also when no policy is checked. */
static void keep_pointed(tx *t, const char *jpath) {
  char *jdir = csb_spath_parent(PFS_STYLE, jpath);
  /* Created directories: only those the transaction would have made,
   * which lie on the way to a directory of one of its files, below a
   * directory that holds the journal or a pointer to it (the committer
   * puts one in every existing directory it creates directories in,
   * before it creates any; a directory it was not allowed to put one in
   * keeps the directories created there after a crash). An empty
   * directory elsewhere, named by a planted journal, is left alone. */
  csb_strv dirs_kept;
  csb_strv_init(&dirs_kept);
  for (size_t i = 0; i < t->mkdirs.len; i++) {
    const char *d = t->mkdirs.items[i];
    int on_way = 0;
    for (size_t j = 0; j < t->n_ops && !on_way; j++)
      on_way = t->ops[j].dir && (csb_spath_equal(PFS_STYLE, d, t->ops[j].dir) ||
                                 csb_spath_is_under(PFS_STYLE, d, t->ops[j].dir));
    char *root = csb_spath_parent(PFS_STYLE, d);
    while (root && csb_strv_contains(&t->mkdirs, root)) {
      char *up = csb_spath_parent(PFS_STYLE, root);
      free(root);
      root = up;
    }
    int marked = 0;
    if (on_way && root) {
      char *pp = art(root, t->id, "p");
      marked = (jdir && csb_spath_equal(PFS_STYLE, root, jdir)) || is_pointer_to(t->sim, pp, jpath);
      free(pp);
    }
    free(root);
    if (marked) csb_strv_push(&dirs_kept, d);
  }
  csb_strv_free(&t->mkdirs);
  t->mkdirs = dirs_kept;
  size_t k = 0;
  for (size_t i = 0; i < t->n_ops; i++) {
    tx_op *o = &t->ops[i];
    int here = jdir && o->dir && csb_spath_equal(PFS_STYLE, o->dir, jdir);
    if (!here && o->dir) {
      char *pp = art(o->dir, t->id, "p");
      here = is_pointer_to(t->sim, pp, jpath);
      free(pp);
    }
    if (here) {
      t->ops[k++] = *o;
    } else {
      free(o->target);
      free(o->dir);
    }
  }
  t->n_ops = k;
  csb_strv kept;
  csb_strv_init(&kept);
  for (size_t i = 0; i < t->pointers.len; i++)
    if (is_pointer_to(t->sim, t->pointers.items[i], jpath))
      csb_strv_push(&kept, t->pointers.items[i]);
  csb_strv_free(&t->pointers);
  t->pointers = kept;
  free(jdir);
}

/* Whether the check (none: everything) allows writing p. */
static int allowed(csb_patch_check_fn check, void *ctx, const char *p) {
  csb_error ce;
  return !check || check(ctx, p, p, &ce);
}

static int refuse_journal(csb_error *err, const char *jpath) {
  return csb_error_set(err, "refusing to recover %s: it names paths outside what may be written",
                       jpath);
}

/* Removes the journal jpath if it is still the file `held` describes, in
 * its directory reached without a symlink. */
static void rm_journal(const char *jpath, const struct stat *held) {
  char *dir = csb_spath_parent(PFS_STYLE, jpath);
  int dfd = dir ? pfs_dir_pin(dir) : -1;
  struct stat st;
  if (dfd >= 0 && pfs_lstat_in(dfd, jpath, base_of(jpath), &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_dev == held->st_dev && st.st_ino == held->st_ino)
    (void)pfs_unlink_in(dfd, jpath, base_of(jpath));
  pfs_dir_unpin(dfd);
  free(dir);
}

/* Appends a transaction recovery finished to done (when not NULL). */
static void log_recovered(csb_patch_pending *done, const char *jpath, csb_patch_recovery action) {
  if (!done) return;
  csb_patch_i_pend_begin(done, jpath, action);
  csb_patch_i_pend_end(done);
}

/* Recovers the transaction of the journal jpath, or (sim) records what its
 * recovery does; each one recovered is listed in done (may be NULL). */
static int recover_journal(const char *jpath, csb_patch_check_fn check, void *ctx,
                           csb_patch_pending *sim, csb_patch_pending *done, csb_error *err) {
  const char *jreal = csb_patch_i_pend_where(sim, jpath);
  int fd = jreal ? pfs_open(jreal, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0) : -1;
  if (!jreal) errno = ENOENT;
  if (fd < 0) return errno == ENOENT ? 1 : csb_error_set(err, "cannot open %s: %s", jpath, strerror(errno));
  if (pfs_trylock(fd) != 0) {
    close(fd);
    return 1; /* a live transaction */
  }
  struct stat st;
  if (pfs_fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink == 0) {
    close(fd);
    return 1;
  }
  /* The journal goes in the end: it must be a file the check allows, in a
   * directory reached without a symlink (a pointer may name any path). */
  if (!allowed(check, ctx, jpath) || !parent_is_canonical(jpath)) {
    close(fd);
    return refuse_journal(err, jpath);
  }
  char *text = NULL;
  size_t len = 0;
  csb_error re;
  if (!csb_read_fd(fd, jpath, MAX_JOURNAL_BYTES, &text, &len, &re)) {
    close(fd);
    return csb_error_set(err, "cannot read %s", jpath);
  }
  tx t;
  memset(&t, 0, sizeof(t));
  t.jfd = fd;
  t.sim = sim;
  if (!contains(text, len, "\nprepared\n")) {
    /* Never completed: no temporary file exists yet and nothing
     * was renamed. Drop the journal; pointers elsewhere are orphans that
     * the scan of their directory removes. */
    free(text);
    if (sim) {
      csb_patch_i_pend_begin(sim, jpath, CSB_PATCH_ROLL_BACK);
      (void)csb_patch_i_pend_unlink(sim, jpath);
    } else {
      rm_journal(jpath, &st);
      log_recovered(done, jpath, CSB_PATCH_ROLL_BACK);
    }
    close(fd);
    return 1;
  }
  int ok = journal_parse(text, len, &t);
  free(text);
  char *base = csb_spath_basename(PFS_STYLE, jpath);
  char want[128];
  snprintf(want, sizeof(want), CSB_PATCH_TMP_PREFIX "%s.j", t.id);
  if (ok && strcmp(base, want) != 0) ok = 0;
  free(base);
  if (!ok) {
    tx_free(&t);
    return csb_error_set(err, "refusing to recover from malformed journal %s", jpath);
  }
  /* Only paths that the current check allows, and artifacts with our
   * names, are ever touched: the files, their temporary files and restore
   * copies, the created directories and the pointers. */
  for (size_t i = 0; i < t.n_ops && ok; i++) {
    tx_op *o = &t.ops[i];
    char *tp = art_n(o->dir, t.id, 't', o->n), *rp = art_n(o->dir, t.id, 'r', o->n);
    ok = allowed(check, ctx, o->target) && allowed(check, ctx, tp) && allowed(check, ctx, rp);
    free(tp);
    free(rp);
  }
  for (size_t i = 0; i < t.mkdirs.len && ok; i++) ok = allowed(check, ctx, t.mkdirs.items[i]);
  for (size_t i = 0; i < t.pointers.len && ok; i++) {
    char *b = csb_spath_basename(PFS_STYLE, t.pointers.items[i]);
    char w[128];
    snprintf(w, sizeof(w), CSB_PATCH_TMP_PREFIX "%s.p", t.id);
    if (strcmp(b, w) != 0 || !allowed(check, ctx, t.pointers.items[i])) ok = 0;
    free(b);
  }
  /* A journal of ours names canonical paths; a parent that now resolves
   * elsewhere (a directory replaced by a symlink or junction) would move
   * the renames and unlinks to where no check was made. */
  for (size_t i = 0; i < t.n_ops && ok; i++) ok = parent_is_canonical(t.ops[i].target);
  for (size_t i = 0; i < t.mkdirs.len && ok; i++) ok = parent_is_canonical(t.mkdirs.items[i]);
  for (size_t i = 0; i < t.pointers.len && ok; i++) ok = parent_is_canonical(t.pointers.items[i]);
  if (!ok) {
    tx_free(&t);
    return refuse_journal(err, jpath);
  }
  keep_pointed(&t, jpath);
  t.journal = csb_xstrdup(jpath);
  t.journal_dir = csb_spath_parent(PFS_STYLE, jpath);
  collect_dirs(&t);
  /* Every directory pinned (pfs_dir_pin) before anything changes, so that
   * what is renamed and removed is in the directories just checked, even
   * when one is swapped for a symlink meanwhile. A missing one has
   * nothing to act on. */
  t.dfds = csb_xmalloc((t.dirs.len ? t.dirs.len : 1) * sizeof(int));
  for (size_t i = 0; i < t.dirs.len; i++) t.dfds[i] = -1;
  for (size_t i = 0; i < t.dirs.len; i++) {
    if ((t.dfds[i] = pfs_dir_pin(t.dirs.items[i])) >= 0 || errno == ENOENT) continue;
    int e = errno;
    csb_error_set(err, "refusing to recover %s: cannot open directory %s: %s", jpath,
                  t.dirs.items[i], strerror(e));
    tx_free(&t);
    return 0;
  }
  csb_patch_recovery action =
      t.committed && !t.aborted ? CSB_PATCH_ROLL_FORWARD : CSB_PATCH_ROLL_BACK;
  if (sim) {
    csb_patch_i_pend_begin(sim, jpath, action);
  } else {
    fi_init(&t, 1);
    (void)step(&t);
  }
  int r;
  if (!t.committed)
    undo_prepared(&t), r = 1;
  else if (!t.aborted)
    r = redo_committed(&t);
  else
    r = undo_committed(&t);
  tx_free(&t);
  if (!r) return csb_error_set(err, "cannot finish the interrupted change recorded in %s", jpath);
  if (!sim) log_recovered(done, jpath, action);
  return 1;
}

int csb_patch_i_artifact_parse(const char *name, char id[64], char *kind, size_t *n) {
  size_t pl = strlen(CSB_PATCH_TMP_PREFIX);
  if (strncmp(name, CSB_PATCH_TMP_PREFIX, pl) != 0) return 0;
  const char *rest = name + pl;
  const char *dot = strchr(rest, '.');
  if (!dot || (size_t)(dot - rest) >= 64) return 0;
  memcpy(id, rest, (size_t)(dot - rest));
  id[dot - rest] = '\0';
  if (!committer_id(id)) return 0;
  const char *suf = dot + 1;
  *kind = suf[0];
  *n = 0;
  if ((suf[0] == 'j' || suf[0] == 'p') && suf[1] == '\0') return 1;
  if (suf[0] != 't' && suf[0] != 'r') return 0;
  const char *d = suf + 1;
  size_t nd = strspn(d, "0123456789");
  if (nd == 0 || nd > 9 || d[nd] != '\0' || (nd > 1 && d[0] == '0')) return 0;
  *n = (size_t)strtoul(d, NULL, 10);
  return 1;
}

/* The kinds of object an artifact of another directory's scan may be
 * (kind 'p', 't' or 'r' of csb_patch_i_artifact_parse), or 0 (a journal,
 * which only recovery removes). */
static int artifact_kind(char kind) {
  return kind == 'p' ? K_POINTER : kind == 't' ? K_TEMP : kind == 'r' ? K_RESTORE : 0;
}

/* dir pinned at its canonical path, which *canon receives (caller frees;
 * NULL and -1 when it cannot be pinned). */
static int pin_canonical(const char *dir, char **canon) {
  csb_error ce;
  *canon = NULL;
  int fd = pfs_canonical_existing_prefix(dir, canon, &ce) ? pfs_dir_pin(*canon) : -1;
  if (fd < 0) {
    free(*canon);
    *canon = NULL;
  }
  return fd;
}

/* csb_patch_recover_dir (listing what it recovers in done, which may be
 * NULL), or (sim) csb_patch_pending_scan; *found as csb_patch_i_recover_dir
 * says. */
static int recover_dir(const char *dir, csb_patch_check_fn check, void *ctx,
                       csb_patch_pending *sim, csb_patch_pending *done, int *found,
                       csb_error *err) {
  int dfd = -2; /* dir pinned once something is to be removed from it */
  char *cdir = NULL; /* the canonical path it was pinned at */
  csb_strv all;
  csb_strv_init(&all);
  const char *dreal = csb_patch_i_pend_where(sim, dir);
  if (!dreal) errno = ENOENT;
  if (!dreal || !pfs_list(dreal, &all)) {
    csb_strv_free(&all);
    return errno == ENOENT || errno == ENOTDIR ? 1 : csb_error_set(err, "cannot read %s: %s", dir, strerror(errno));
  }
  csb_patch_i_pend_filter(sim, dir, &all);
  csb_strv ids, names;
  csb_strv_init(&ids);
  csb_strv_init(&names);
  for (size_t a = 0; a < all.len; a++) {
    const char *d_name = all.items[a];
    char id[64], kind;
    size_t n;
    if (!csb_patch_i_artifact_parse(d_name, id, &kind, &n)) continue;
    csb_strv_push(&ids, id);
    csb_strv_push(&names, d_name);
  }
  csb_strv_free(&all);
  csb_strv_sort_unique(&ids);
  if (found && ids.len) *found = 1;
  int ok = 1;
  for (size_t i = 0; i < ids.len; i++) {
    const char *id = ids.items[i];
    char *jp = art(dir, id, "j");
    char *pp = art(dir, id, "p");
    char *journal = NULL;
    struct stat st;
    if (csb_patch_i_pend_lstat(sim, jp, &st) == 0) {
      journal = csb_xstrdup(jp);
    } else if (csb_patch_i_pend_lstat(sim, pp, &st) == 0) {
      char buf[4096];
      if (read_pointer(sim, pp, buf, sizeof(buf)) > 0 && csb_patch_i_pointer_names_journal(buf, id) &&
          csb_patch_i_pend_lstat(sim, buf, &st) == 0)
        journal = csb_xstrdup(buf);
    }
    if (journal) {
      if (!recover_journal(journal, check, ctx, sim, done, err)) ok = 0;
      if (sim) csb_patch_i_pend_end(sim);
    }
    /* Whatever of this transaction is left here now has no live journal
     * (or belongs to one we refused): remove our own artifacts, unless the
     * journal is still held by a live process. */
    int live = 0;
    const char *jreal = journal ? csb_patch_i_pend_where(sim, journal) : NULL;
    if (jreal && exists(jreal)) {
      int fd = pfs_open(jreal, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
      if (fd >= 0) {
        if (pfs_trylock(fd) != 0) live = 1;
        close(fd);
      }
    }
    if (!live && ok) {
      for (size_t k = 0; k < names.len; k++) {
        char nid[64], kind;
        size_t n;
        if (!csb_patch_i_artifact_parse(names.items[k], nid, &kind, &n) || strcmp(nid, id) != 0)
          continue;
        /* Journals are removed by recovery only; and only names and kinds
         * the committer makes, where the check allows it. */
        int want = artifact_kind(kind);
        if (!want) continue;
        size_t dl = strlen(dir);
        char *full = csb_xasprintf("%s%s%s", dir, dl && dir[dl - 1] == PFS_SEP ? "" : PFS_SEP_STR,
                                   names.items[k]);
        struct stat ast;
        if (allowed(check, ctx, full) && sim) {
          if (csb_patch_i_pend_lstat(sim, full, &ast) == 0 && (kind_of(ast.st_mode) & want))
            (void)csb_patch_i_pend_unlink(sim, full);
        } else if (!sim && allowed(check, ctx, full)) {
          if (dfd == -2) dfd = pin_canonical(dir, &cdir);
          /* The check holds for the directory the name is removed from:
           * the one pinned, at its canonical path (not where dir leads
           * through a symlink, nor where it was swapped for one since
           * it was listed and checked). */
          char *cfull = dfd >= 0 ? csb_spath_join(PFS_STYLE, cdir, names.items[k]) : NULL;
          if (cfull && allowed(check, ctx, cfull) &&
              pfs_lstat_in(dfd, cfull, names.items[k], &ast) == 0 && (kind_of(ast.st_mode) & want))
            (void)pfs_unlink_in(dfd, cfull, names.items[k]);
          free(cfull);
        }
        free(full);
      }
    }
    free(journal);
    free(jp);
    free(pp);
  }
  csb_strv_free(&ids);
  csb_strv_free(&names);
  if (dfd >= 0) pfs_dir_unpin(dfd);
  free(cdir);
  return ok;
}

int csb_patch_recover_dir(const char *dir, csb_patch_check_fn check, void *ctx, csb_error *err) {
  return recover_dir(dir, check, ctx, NULL, NULL, NULL, err);
}

int csb_patch_i_recover_dir(csb_patch_pending *done, const char *dir, csb_patch_check_fn check,
                            void *ctx, int *found, csb_error *err) {
  return recover_dir(dir, check, ctx, NULL, done, found, err);
}

int csb_patch_pending_scan(csb_patch_pending *pd, const char *dir, csb_patch_check_fn check,
                           void *ctx, csb_error *err) {
  return recover_dir(dir, check, ctx, pd, NULL, NULL, err);
}

/* ---- the live transaction --------------------------------------------------------- */

void csb_patch_i_make_id(char id[64], unsigned long pid, const unsigned char r[8]) {
  snprintf(id, 64, "%lx-%02x%02x%02x%02x%02x%02x%02x%02x", pid, r[0], r[1], r[2], r[3], r[4], r[5],
           r[6], r[7]);
}

static void make_id(tx *t) {
  unsigned char r[8] = {0};
  pfs_random(r, sizeof(r));
  csb_patch_i_make_id(t->id, pfs_pid(), r);
}

static void strv_truncate(csb_strv *v, size_t n) {
  while (v->len > n) {
    free(v->items[--v->len]);
    v->items[v->len] = NULL;
  }
}

static int op_cmp(const void *a, const void *b) {
  return strcmp(((const tx_op *)a)->target, ((const tx_op *)b)->target);
}

CSB_PRINTF(3, 4)
static int cfail(csb_patch_err_kind *kind, csb_error *err, const char *fmt, ...) {
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  csb_buf b = {0};
  csb_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  csb_buf_printf(&b, ": %s (os error %d)", strerror(e), e);
  csb_patch_set_msg(err, NULL, 0, &b);
  csb_buf_free(&b);
  if (kind) *kind = CSB_PATCH_ERR_IO;
  return 0;
}

/* Writes n pieces to fd, several per system call. */
static int write_pieces(int fd, const csb_patch_piece *pc, size_t n) {
  size_t i = 0, off = 0; /* the next byte to write is pc[i].s[off] */
  for (;;) {
    while (i < n && off == pc[i].n) {
      i++;
      off = 0;
    }
    if (i == n) return 1;
    struct iovec v[64];
    int k = 0;
    for (size_t j = i; j < n && k < (int)CSB_ARRAY_LEN(v); j++) {
      size_t skip = j == i ? off : 0;
      if (pc[j].n == skip) continue;
      v[k].iov_base = (void *)(pc[j].s + skip);
      v[k].iov_len = pc[j].n - skip;
      k++;
    }
    ssize_t w = pfs_writev(fd, v, k);
    if (w < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    if (w == 0) {
      errno = EIO;
      return 0;
    }
    size_t left = (size_t)w;
    while (left > 0) {
      size_t avail = pc[i].n - off;
      if (left < avail) {
        off += left;
        break;
      }
      left -= avail;
      i++;
      off = 0;
    }
  }
}

/* Gives a new file an owner and group (how: see tx_op.chown): 0 with
 * errno on failure, but for a change the user may not make (EPERM) and
 * for a group, which is only attempted. */
static int set_owner(int fd, int how, uid_t uid, gid_t gid) {
  if (!how) return 1;
  if (pfs_fchown(fd, uid, gid) == 0 || how == 2 || errno == EPERM) return 1;
  return 0;
}

/* Reads the carried attributes of the regular file at path (opened in its
 * pinned directory), which must still be the file the plan saw, and its
 * file capabilities when caps is not NULL. */
static int read_attrs_of(const tx *t, const char *path, dev_t dev, ino_t ino, csb_buf *out,
                         csb_buf *caps) {
  int fd = pfs_open_in(dfd_of(t, path), path, base_of(path),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct stat st;
  int ok = pfs_fstat(fd, &st) == 0;
  if (ok && (!S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino)) {
    errno = ESTALE; /* replaced since the plan read it */
    ok = 0;
  }
  ok = ok && pfs_attrs_get(fd, out) && (!caps || pfs_fcaps_get(fd, caps));
  int e = errno;
  close(fd);
  errno = e;
  return ok;
}

/* Reads, before the commit point, the attributes and file capabilities of
 * the file o replaces or deletes (for its restore copy) and the
 * attributes its new file carries. */
static int read_attrs(const tx *t, tx_op *o) {
  if (!PFS_HAS_ATTRS) return 1;
  if (o->orig_exists && S_ISREG(o->orig_mode) &&
      !read_attrs_of(t, o->target, o->orig_dev, o->orig_ino, &o->orig_attrs, &o->orig_caps))
    return 0;
  if (o->kind != OP_WRITE || !o->attrs_path || strcmp(o->attrs_path, o->target) == 0) return 1;
  return read_attrs_of(t, o->attrs_path, o->attrs_dev, o->attrs_ino, &o->attrs, NULL);
}

/* The attributes o's new file carries. */
static const csb_buf *new_attrs(const tx_op *o) {
  return o->attrs_path && strcmp(o->attrs_path, o->target) == 0 ? &o->orig_attrs : &o->attrs;
}

/* Gives fd the attributes read_attrs kept in b: 0 with errno when the
 * file system refuses one. */
static int set_attrs(int fd, const csb_buf *b) {
  return b->len == 0 || pfs_attrs_set(fd, b->data, b->len);
}

/* Writes file o's temporary file (and syncs it when t->fsync_each). Runs on
 * a pool thread: on failure it records errno in o->err_no and returns 0. */
static int write_temp(tx *t, tx_op *o) {
  char *tp = art_n(o->dir, t->id, 't', o->n);
  int fd = -1, ok = 0;
  if (!step(t) || (fd = pfs_open_in(o->dfd, tp, base_of(tp),
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
    goto out;
  o->temp_made = 1;
  if (!step(t) ||
      !(o->pieces ? write_pieces(fd, o->pieces, o->n_pieces) : csb_write_all(fd, o->whole.s, o->whole.n)) ||
      /* Owner first: a change of owner clears the set-user-ID and
       * set-group-ID bits, which the mode then restores; then the
       * extended attributes and ACLs (an ACL sets the group bits, which
       * the mode, consistent with it, sets again). */
      !set_owner(fd, o->chown, o->uid, o->gid) ||
      (new_attrs(o)->len && (!step(t) || !set_attrs(fd, new_attrs(o)))) ||
      pfs_fchmod(fd, o->mode & 07777) != 0 ||
      (t->fsync_each && (!step(t) || sync_fd(fd, 0) != 0)))
    goto out;
  ok = 1;
out:
  if (!ok) o->err_no = errno ? errno : EIO;
  if (fd >= 0 && close(fd) != 0 && ok) {
    o->err_no = errno;
    ok = 0;
  }
  free(tp);
  return ok;
}

static int task_write(void *ctx, size_t i, size_t self) {
  (void)self;
  tx *t = ctx;
  tx_op *o = &t->ops[t->order[i]];
  if (!read_attrs(t, o)) {
    o->err_no = errno ? errno : EIO;
    return 0;
  }
  return o->kind != OP_WRITE || write_temp(t, o);
}

/* Renames file i's temporary file over its target, or unlinks a deleted
 * one. Only after the commit point. */
static int task_apply(void *ctx, size_t i, size_t self) {
  (void)self;
  tx *t = ctx;
  tx_op *o = &t->ops[t->order[i]];
  int ok;
  if (o->kind == OP_WRITE) {
    char *tp = art_n(o->dir, t->id, 't', o->n);
    /* Hold the file being replaced open so that freeing it happens at the
     * close() below instead of inside rename(), which holds the directory
     * locked meanwhile: otherwise renames in one directory would queue
     * behind each other's block freeing. */
    int hold = PFS_HOLD_REPLACED && o->orig_exists
                   ? pfs_open_in(o->dfd, o->target, base_of(o->target),
                                 O_PATH | O_NOFOLLOW | O_CLOEXEC, 0)
                   : -1;
    ok = step(t) && pfs_rename_in(o->dfd, tp, base_of(tp), o->target, base_of(o->target)) == 0;
    int e = errno;
    if (hold >= 0) close(hold);
    errno = e;
    free(tp);
  } else {
    ok = step(t) && pfs_unlink_in(o->dfd, o->target, base_of(o->target)) == 0;
  }
  if (!ok) {
    o->err_no = errno ? errno : EIO;
    return 0;
  }
  o->done = 1;
  return 1;
}

/* The first file the patch replaces or deletes that is no longer the
 * regular file the plan read, as it read it (another file renamed there,
 * or the same one written in place: its size or times differ), or that
 * it adds where the plan found nothing and something is now, with errno
 * (ESTALE when changed); NULL when none. The plan's new contents were
 * computed from what it read: committing would drop the other write. */
static tx_op *changed_since_read(const tx *t) {
  for (size_t i = 0; i < t->n_ops; i++) {
    const tx_op *o = &t->ops[i];
    struct stat st;
    if (!o->orig_exists) {
      if (o->kind != OP_WRITE) continue;
      if (pfs_lstat_in(o->dfd, o->target, base_of(o->target), &st) == 0) {
        errno = ESTALE; /* made since the plan found none */
        return &t->ops[i];
      }
      if (errno != ENOENT) return &t->ops[i];
      continue;
    }
    if (!S_ISREG(o->orig_mode)) continue;
    if (pfs_lstat_in(o->dfd, o->target, base_of(o->target), &st) != 0)
      return &t->ops[i];
    pfs_stamp now = pfs_stamp_of(&st);
    if (!S_ISREG(st.st_mode) || st.st_dev != o->orig_dev || st.st_ino != o->orig_ino ||
        !pfs_stamp_equal(&now, &o->orig_stamp)) {
      errno = ESTALE;
      return &t->ops[i];
    }
  }
  return NULL;
}

/* Syncs directory i of t->dirs (index t->dirs.len: the journal's data). */
typedef struct {
  tx *t;
  int *err_no; /* per index, 0 when synced */
} sync_job;

static int task_sync_dir(void *ctx, size_t i, size_t self) {
  (void)self;
  sync_job *j = ctx;
  tx *t = j->t;
  int ok;
  if (i == t->dirs.len)
    ok = step(t) && sync_fd(t->jfd, 1) == 0;
  else
    ok = step(t) && fsync_path(t, t->dirs.items[i]);
  if (!ok) j->err_no[i] = errno ? errno : EIO;
  return ok;
}

/* Syncs every directory of t->dirs (and the journal's data when with_journal)
 * in parallel. On failure returns 0 with errno set and *which the failed
 * path (the journal for index dirs.len). */
static int sync_dirs(tx *t, int with_journal, const char **which) {
  size_t n = t->dirs.len + (with_journal ? 1 : 0);
  sync_job j = {t, csb_xcalloc(n ? n : 1, sizeof(int))};
  int ok = csb_patch_i_pool_run(t->pool, n, task_sync_dir, &j);
  if (!ok)
    for (size_t i = 0; i < n; i++)
      if (j.err_no[i]) {
        *which = i == t->dirs.len ? t->journal : t->dirs.items[i];
        errno = j.err_no[i];
        break;
      }
  free(j.err_no);
  return ok;
}

/* One syncfs() per file system holding a directory of the transaction. */
static int sync_filesystems(tx *t, const char **which) {
  dev_t seen[8];
  size_t n_seen = 0;
  for (size_t i = 0; i < t->dirs.len; i++) {
    struct stat st;
    int have = pfs_stat(t->dirs.items[i], &st) == 0;
    if (have) {
      size_t k = 0;
      while (k < n_seen && seen[k] != st.st_dev) k++;
      if (k < n_seen) continue;
      if (n_seen < CSB_ARRAY_LEN(seen)) seen[n_seen++] = st.st_dev;
    }
    /* A directory that cannot be stat()ed is synced on its own account. */
    if (!step(t) || !(have ? syncfs_path(t, t->dirs.items[i]) : fsync_path(t, t->dirs.items[i]))) {
      *which = t->dirs.items[i];
      return 0;
    }
  }
  return 1;
}

/* Orders the ops for the pool so that files of one directory are far apart:
 * creating or renaming a file locks its directory, so threads working in
 * different directories do not wait for each other. */
typedef struct {
  const char *dir;
  size_t rank, group, op;
} spread_key;

static int by_dir(const void *a, const void *b) {
  const spread_key *x = a, *y = b;
  int c = strcmp(x->dir, y->dir);
  if (c) return c;
  return x->op < y->op ? -1 : (x->op > y->op);
}

static int by_rank(const void *a, const void *b) {
  const spread_key *x = a, *y = b;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  return x->group < y->group ? -1 : (x->group > y->group);
}

static void spread(tx *t) {
  size_t n = t->n_ops;
  spread_key *k = csb_xcalloc(n ? n : 1, sizeof(*k));
  for (size_t i = 0; i < n; i++) k[i] = (spread_key){t->ops[i].dir, 0, 0, i};
  qsort(k, n, sizeof(*k), by_dir);
  for (size_t i = 1; i < n; i++) {
    int same = strcmp(k[i].dir, k[i - 1].dir) == 0;
    k[i].group = k[i - 1].group + !same;
    k[i].rank = same ? k[i - 1].rank + 1 : 0;
  }
  qsort(k, n, sizeof(*k), by_rank);
  t->order = csb_xcalloc(n ? n : 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++) t->order[i] = k[i].op;
  free(k);
}

/* The first failed file of a parallel phase, in target order. */
static tx_op *first_failed(tx *t) {
  for (size_t i = 0; i < t->n_ops; i++)
    if (t->ops[i].err_no) {
      errno = t->ops[i].err_no;
      return &t->ops[i];
    }
  errno = EIO;
  return NULL;
}

/* The first file of t (in target order) below dir: the one the directory
 * is created for, which the message of a failure names, as the plan's
 * does (upstream names the file it writes). */
static const char *file_below(const tx *t, const char *dir) {
  for (size_t i = 0; i < t->n_ops; i++)
    if (csb_spath_is_under(PFS_STYLE, dir, t->ops[i].target)) return t->ops[i].target;
  return dir;
}

/* Creates the directories of t->mkdirs (parents first), each pinned as
 * it is made. */
static int make_dirs(tx *t, csb_patch_err_kind *kind, csb_error *err) {
  for (size_t i = 0; i < t->mkdirs.len; i++) {
    const char *d = t->mkdirs.items[i];
    int pfd = dfd_of(t, d);
    int *slot = dfd_slot(t, d);
    if (!step(t) || pfs_mkdir_in(pfd, d, base_of(d)) != 0)
      return cfail(kind, err, "Failed to create parent directories for %s", file_below(t, d));
    t->mkdirs_made = i + 1;
    if (slot && (*slot = pfs_dir_pin_in(pfd, d, base_of(d))) < 0)
      return cfail(kind, err, "Failed to create parent directories for %s", file_below(t, d));
  }
  return 1;
}

/* A refusal of the check: kind POLICY and its message. */
static int policy_fail(csb_patch_err_kind *kind, csb_error *err, const csb_error *ce) {
  csb_patch_set_msg(err, NULL, 0, &(csb_buf){(char *)ce->msg, strlen(ce->msg), 0});
  if (kind) *kind = CSB_PATCH_ERR_POLICY;
  return 0;
}

/* Whether the check (none: everything) allows writing p; else fails. */
static int check_or_fail(csb_patch_check_fn check, void *ctx, const char *p,
                         csb_patch_err_kind *kind, csb_error *err) {
  csb_error ce;
  if (!check || check(ctx, p, p, &ce)) return 1;
  return policy_fail(kind, err, &ce);
}

/* Writes o's restore copy (.rN) for a rollback after the commit point: the
 * old symlink, or the old bytes with the owner, attributes, mode and file
 * capabilities of the original. On failure returns 0 and appends to why
 * what could not be restored. */
static int write_restore(tx *t, tx_op *o, csb_buf *why) {
  char *rp = art_n(o->dir, t->id, 'r', o->n);
  int ok, fd = -1;
  if (o->orig_link) {
    ok = pfs_symlink_in(o->orig_link, o->dfd, rp, base_of(rp)) == 0;
  } else {
    fd = pfs_open_in(o->dfd, rp, base_of(rp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600);
    ok = fd >= 0 && csb_write_all(fd, o->orig_data ? o->orig_data : "", o->orig_len) &&
         set_owner(fd, o->orig_chown, o->orig_uid, o->orig_gid) &&
         set_attrs(fd, &o->orig_attrs) &&
         pfs_fchmod(fd, o->orig_mode & 07777) == 0;
  }
  if (!ok) csb_buf_printf(why, "cannot restore %s: %s", o->target, strerror(errno));
  /* The kernel leaves out of a mode what the process may not set (a
   * set-group-ID bit for a group it is not in, without CAP_FSETID). */
  struct stat st;
  if (ok && fd >= 0 && PFS_HAS_MODES && pfs_fstat(fd, &st) == 0 &&
      (st.st_mode & 07777) != (o->orig_mode & 07777)) {
    csb_buf_printf(why, "cannot restore the mode %04o of %s", (unsigned)(o->orig_mode & 07777),
                   o->target);
    ok = 0;
  }
  if (ok && o->orig_caps.len && !pfs_fcaps_set(fd, o->orig_caps.data, o->orig_caps.len)) {
    csb_buf_printf(why, "cannot restore the file capabilities of %s: %s", o->target,
                   strerror(errno));
    ok = 0;
  }
  if (ok && fd >= 0 && sync_fd(fd, 0) != 0) {
    csb_buf_printf(why, "cannot restore %s: %s", o->target, strerror(errno));
    ok = 0;
  }
  if (fd >= 0) close(fd);
  free(rp);
  return ok;
}

/* How a file made in place of (or from) the file `from` (NULL: none) is
 * given its owner (see tx_op.chown): as root, its owner and group (but
 * root's own, which it has); else its group, which a user may set to any
 * group of theirs (a file shared with a group stays shared); the owner
 * cannot change. */
static void owner_to_keep(const csb_patch_entity *from, int as_root, int *how, uid_t *uid,
                          gid_t *gid) {
  *how = 0;
  if (!from) return;
  if (as_root && (from->orig_uid != 0 || from->orig_gid != 0)) {
    *how = 1;
    *uid = from->orig_uid;
    *gid = from->orig_gid;
  } else if (!as_root) {
    *how = 2;
    *uid = (uid_t)-1;
    *gid = from->orig_gid;
  }
}

/* What commit() goes through: the whole transaction (csb_patch_commit);
 * only up to the placement checks (csb_patch_commit_check), nothing made
 * or written; only the recovery of the directories it works in
 * (csb_patch_commit_recover). */
typedef enum { COMMIT_RUN, COMMIT_CHECK, COMMIT_RECOVER } commit_mode;

/* The live transaction, as far as mode says. */
static int commit(csb_patch_plan *pl, const csb_patch_commit_opts *opts, commit_mode mode,
                  csb_patch_err_kind *kind, csb_error *err) {
  if (kind) *kind = CSB_PATCH_ERR_NONE;
  tx t;
  memset(&t, 0, sizeof(t));
  t.jfd = -1;
  fi_init(&t, 0);

  /* Operations, sorted by target. */
  int as_root = pfs_is_root();
  for (size_t i = 0; i < pl->n_ents; i++) {
    csb_patch_entity *e = &pl->ents[i];
    if (!e->touched) continue;
    int kindop = e->exists ? OP_WRITE : (e->orig_exists ? OP_DELETE : 0);
    if (!kindop) continue;
    t.ops = csb_xgrow(t.ops, &t.ops_cap, t.n_ops + 1, sizeof(*t.ops));
    tx_op *o = &t.ops[t.n_ops++];
    memset(o, 0, sizeof(*o));
    o->kind = kindop;
    o->target = csb_xstrdup(e->path);
    o->dir = csb_spath_parent(PFS_STYLE, e->path);
    o->orig_exists = e->orig_exists;
    if (e->doc) csb_patch_i_ent_flat(pl, e);
    if (e->pieces) {
      o->pieces = e->pieces;
      o->n_pieces = e->n_pieces;
    } else {
      o->whole = (csb_patch_piece){e->data ? e->data : "", e->len};
    }
    o->mode = e->mode;
    o->orig_data = e->orig_data;
    o->orig_len = e->orig_len;
    o->orig_link = e->orig_link;
    o->orig_mode = e->orig_mode;
    o->orig_dev = e->orig_dev;
    o->orig_ino = e->orig_ino;
    o->orig_stamp = e->orig_stamp;
    if (e->attrs_from != SIZE_MAX && e->exists) {
      const csb_patch_entity *src = &pl->ents[e->attrs_from];
      o->attrs_path = src->path;
      o->attrs_dev = src->orig_dev;
      o->attrs_ino = src->orig_ino;
    }
    /* A moved file's owner and group are its source's, as its mode is
     * (a file private to them is not handed to the owner or group of the
     * file it replaces); else those of the file replaced. */
    const csb_patch_entity *own = e->exists && e->attrs_from != SIZE_MAX ? &pl->ents[e->attrs_from]
                                  : e->orig_exists                   ? e
                                                                     : NULL;
    owner_to_keep(own, as_root, &o->chown, &o->uid, &o->gid);
    owner_to_keep(e->orig_exists ? e : NULL, as_root, &o->orig_chown, &o->orig_uid, &o->orig_gid);
  }
  if (t.n_ops == 0) {
    tx_free(&t);
    return 1;
  }
  qsort(t.ops, t.n_ops, sizeof(*t.ops), op_cmp);
  for (size_t i = 0; i < t.n_ops; i++) t.ops[i].n = i;

  /* Directories: missing ones to create (parents first), existing anchors
   * (checking or recovering alone: as the recovery recorded in
   * opts->pending, when set, leaves them). */
  csb_patch_pending *sim = mode != COMMIT_RUN && opts ? opts->pending : NULL;
  csb_strv anchors;
  csb_strv_init(&anchors);
  for (size_t i = 0; i < t.n_ops; i++) {
    /* ops are sorted by target: a directory's files mostly come together */
    if (i > 0 && strcmp(t.ops[i].dir, t.ops[i - 1].dir) == 0) continue;
    char *d = csb_patch_i_pend_anchor(sim, t.ops[i].dir, &t.mkdirs);
    if (d) csb_strv_push_owned(&anchors, d);
  }
  csb_strv_sort_unique(&t.mkdirs);
  csb_strv_sort_unique(&anchors);
  collect_dirs(&t);

  /* Leftovers in the anchors: recovered, or (checking or recovering
   * alone) given opts->pending recorded there. What csb_patch_recover_for
   * did not find before the plan, and changes a file of the plan or a
   * directory above one, a dry run cannot tell the outcome of: the plan
   * read that file, or computed these directories, before. Recovering
   * alone, the plan is used no further (a caller plans again over what
   * the recovery left). */
  if (opts && (mode == COMMIT_RECOVER || (opts->recover_first && (mode == COMMIT_RUN || sim)))) {
    size_t mark = csb_patch_i_pend_mark(sim);
    int ok = 1;
    for (size_t i = 0; i < anchors.len && ok; i++) {
      csb_error re;
      if (!(ok = recover_dir(anchors.items[i], opts->check, opts->check_ctx, sim,
                             sim ? NULL : opts->recovered, NULL, &re))) {
        csb_patch_set_msg(err, NULL, 0, &(csb_buf){re.msg, strlen(re.msg), 0});
        if (kind) *kind = CSB_PATCH_ERR_IO;
      }
    }
    csb_patch_i_pend_change ch;
    for (size_t i = 0; i < t.n_ops && ok && sim && mode == COMMIT_CHECK; i++)
      if (csb_patch_i_pend_changed_since(sim, mark, t.ops[i].target, &ch))
        ok = csb_patch_i_pend_fail(&ch, "where the patch writes", t.ops[i].target, kind, err, NULL);
    if (!ok) {
      csb_strv_free(&anchors);
      tx_free(&t);
      return 0;
    }
  }
  if (mode == COMMIT_RECOVER) {
    csb_strv_free(&anchors);
    tx_free(&t);
    return 1;
  }

  make_id(&t);
  /* Every file and directory the run makes is a path the check allows:
   * created directories and temporary files where they must be; the
   * journal in the first existing directory that allows it (else in the
   * first created directory holding files, created before it), pointers
   * in the other existing directories that allow one (a directory that
   * does not holds none: the run makes nothing else there but the
   * directories it creates) and in every created directory holding
   * files. */
  csb_patch_check_fn check = opts ? opts->check : NULL;
  void *cctx = opts ? opts->check_ctx : NULL;
  csb_strv created; /* created directories that hold files */
  csb_strv_init(&created);
  for (size_t i = 0; i < t.mkdirs.len; i++)
    for (size_t k = 0; k < t.n_ops; k++)
      if (strcmp(t.ops[k].dir, t.mkdirs.items[i]) == 0) {
        csb_strv_push(&created, t.mkdirs.items[i]);
        break;
      }
  int placed = 1, journal_created = 0;
  for (size_t i = 0; i < t.mkdirs.len && placed; i++)
    placed = check_or_fail(check, cctx, t.mkdirs.items[i], kind, err);
  for (size_t i = 0; i < t.n_ops && placed; i++) {
    if (t.ops[i].kind != OP_WRITE) continue;
    char *tp = art_n(t.ops[i].dir, t.id, 't', t.ops[i].n);
    csb_error ce;
    if (check && !check(cctx, t.ops[i].target, tp, &ce)) placed = policy_fail(kind, err, &ce);
    free(tp);
  }
  for (size_t i = 0; i < anchors.len + created.len && placed && !t.journal; i++) {
    const char *d = i < anchors.len ? anchors.items[i] : created.items[i - anchors.len];
    char *jp = art(d, t.id, "j");
    if (allowed(check, cctx, jp)) {
      t.journal_dir = csb_xstrdup(d);
      t.journal = jp;
      journal_created = i >= anchors.len;
    } else {
      free(jp);
    }
  }
  if (placed && !t.journal) {
    char *jp = art(anchors.items[0], t.id, "j");
    placed = check_or_fail(check, cctx, jp, kind, err);
    free(jp);
  }
  size_t n_anchor_ptrs = 0;
  for (size_t i = 0; i < anchors.len && placed; i++) {
    if (strcmp(anchors.items[i], t.journal_dir) == 0) continue;
    char *pp = art(anchors.items[i], t.id, "p");
    if (allowed(check, cctx, pp)) {
      csb_strv_push_owned(&t.pointers, pp);
      n_anchor_ptrs++;
    } else {
      free(pp);
    }
  }
  for (size_t i = 0; i < created.len && placed; i++) {
    if (strcmp(created.items[i], t.journal_dir) == 0) continue;
    char *pp = art(created.items[i], t.id, "p");
    placed = check_or_fail(check, cctx, pp, kind, err);
    csb_strv_push_owned(&t.pointers, pp);
  }
  csb_strv_free(&created);
  csb_strv_free(&anchors);
  if (!placed || mode == COMMIT_CHECK) {
    tx_free(&t);
    return placed;
  }
  collect_dirs(&t);
  t.fsync_each = t.n_ops <= fsync_each_max();

  /* Pin every existing directory involved (created ones are pinned as
   * they are made): from here on, files are created, renamed and removed
   * relative to them, never through a path that could have been changed
   * into a symlink since the plan checked it. */
  t.dfds = csb_xmalloc((t.dirs.len ? t.dirs.len : 1) * sizeof(int));
  for (size_t i = 0; i < t.dirs.len; i++) t.dfds[i] = -1;
  for (size_t i = 0; i < t.dirs.len; i++) {
    if (csb_strv_contains(&t.mkdirs, t.dirs.items[i])) continue;
    if ((t.dfds[i] = pfs_dir_pin(t.dirs.items[i])) < 0) {
      cfail(kind, err, "Failed to open directory %s", t.dirs.items[i]);
      goto undo_no_journal;
    }
  }

  /* A journal that goes in a created directory: the directories first. */
  if (journal_created && !make_dirs(&t, kind, err)) goto undo_no_journal;

  /* a. the journal, locked before anything points to it: a concurrent
   * run that finds a pointer to a journal that does not exist (yet)
   * removes it as an orphan */
  {
    if (!step(&t) ||
        (t.jfd = pfs_open_in(dfd_of(&t, t.journal), t.journal, base_of(t.journal),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
      cfail(kind, err, "Failed to write file %s", t.journal);
      goto undo_no_journal;
    }
    struct stat st;
    if (pfs_lock(t.jfd) != 0 || pfs_fstat(t.jfd, &st) != 0 || st.st_nlink == 0) {
      cfail(kind, err, "Failed to lock %s", t.journal);
      goto undo;
    }
  }

  /* b. pointers in the existing directories */
  for (size_t i = 0; i < n_anchor_ptrs; i++) {
    const char *pp = t.pointers.items[i];
    if (!step(&t) || pfs_pointer_make_in(t.journal, dfd_of(&t, pp), pp, base_of(pp)) != 0) {
      cfail(kind, err, "Failed to write file %s", pp);
      goto undo;
    }
    t.pointers_made = i + 1;
  }

  /* The journal's contents. */
  {
    /* Not synced here: until the commit record, a journal lost in a crash
     * only leaves uncommitted temporary files, which the next run removes;
     * step e syncs it together with them. */
    char *text = journal_text(&t);
    int ok = step(&t) && csb_write_all(t.jfd, text, strlen(text));
    free(text);
    if (!ok) {
      cfail(kind, err, "Failed to write file %s", t.journal);
      goto undo;
    }
    t.prepared = 1;
  }

  /* c. created directories (and their pointers) */
  if (!journal_created && !make_dirs(&t, kind, err)) goto undo;
  for (size_t i = n_anchor_ptrs; i < t.pointers.len; i++) {
    const char *pp = t.pointers.items[i];
    if (!step(&t) || pfs_pointer_make_in(t.journal, dfd_of(&t, pp), pp, base_of(pp)) != 0) {
      cfail(kind, err, "Failed to write file %s", pp);
      goto undo;
    }
    t.pointers_made = i + 1;
  }
  for (size_t i = 0; i < t.n_ops; i++) t.ops[i].dfd = dfd_of(&t, t.ops[i].target);

  /* d. temporary files, several at a time */
  t.pool = csb_patch_i_pool_new(t.n_ops < COMMIT_THREADS ? t.n_ops : COMMIT_THREADS);
  spread(&t);
  if (!csb_patch_i_pool_run(t.pool, t.n_ops, task_write, &t)) {
    tx_op *o = first_failed(&t);
    cfail(kind, err, "Failed to write file %s", o ? o->target : t.journal);
    goto undo;
  }

  /* e. make everything durable before the commit point: the temporary
   * files (synced in d, or here by one syncfs per file system), their
   * directory entries, created directories, pointers, and the journal (so
   * that the commit record never lands in a journal whose beginning was
   * lost) */
  {
    const char *which = NULL;
    int ok = t.fsync_each ? sync_dirs(&t, 1, &which) : sync_filesystems(&t, &which);
    if (!ok) {
      cfail(kind, err, "Failed to sync %s", which ? which : t.journal);
      goto undo;
    }
  }

  /* f. the commit point, once every file the patch replaces or deletes
   * is found as the plan read it (as late as can be: a write in place
   * after this check is lost, as it would be a moment later) */
  if (!step(&t)) {
    cfail(kind, err, "Failed to write file %s", t.journal);
    goto undo;
  }
  {
    tx_op *o = changed_since_read(&t);
    if (o) {
      cfail(kind, err, o->kind == OP_DELETE ? "Failed to delete file %s" : "Failed to write file %s",
            o->target);
      goto undo;
    }
  }
  if (!csb_write_all(t.jfd, "commit\n", 7) || !step(&t) || sync_fd(t.jfd, 1) != 0) {
    cfail(kind, err, "Failed to write file %s", t.journal);
    goto undo;
  }
  t.committed = 1;

  /* g. renames and unlinks, several at a time: they are independent, and
   * replacing a file can block while the file system frees (and discards)
   * the old one's blocks. Recovery redoes any of them in any order. */
  if (!csb_patch_i_pool_run(t.pool, t.n_ops, task_apply, &t)) {
    tx_op *o = first_failed(&t);
    cfail(kind, err, o && o->kind == OP_DELETE ? "Failed to delete file %s" : "Failed to write file %s",
          o ? o->target : t.journal);
    goto abort;
  }

  /* h. make the renames durable before the journal goes: not every file
   * system persists metadata in order (ext2, ext4 without a journal), and
   * a journal removed ahead of a lost rename would leave a mix of old and
   * new files after a power failure. A failure here rolls back. */
  {
    const char *which = NULL;
    if (!sync_dirs(&t, 0, &which)) {
      cfail(kind, err, "Failed to sync %s", which ? which : t.journal);
      goto abort;
    }
  }

  /* i. cleanup: pointers, then the journal (only when every pointer is
   * gone, so that a leftover stays listed for the next run). */
  {
    int clean = 1;
    for (size_t i = 0; i < t.pointers_made; i++)
      if (!step(&t) || (tx_unlink(&t, t.pointers.items[i]) != 0 && errno != ENOENT)) clean = 0;
    if (clean && step(&t)) tx_rm_quiet(&t, t.journal, K_REG);
  }
  tx_free(&t);
  return 1;

abort: {
  /* Restore copies first, then the abort record: a crash in between still
   * finishes the change forward (the journal says committed). */
  csb_error saved;
  if (err) saved = *err;
  int ok = 1;
  csb_buf why = {0};
  for (size_t i = 0; i < t.n_ops && ok; i++)
    if (t.ops[i].done && t.ops[i].orig_exists) ok = write_restore(&t, &t.ops[i], &why);
  for (size_t i = 0; i < t.dirs.len && ok; i++)
    if (!(ok = fsync_path(&t, t.dirs.items[i])))
      csb_buf_printf(&why, "cannot sync %s: %s", t.dirs.items[i], strerror(errno));
  if (ok && !(ok = csb_write_all(t.jfd, "abort\n", 6) && sync_fd(t.jfd, 1) == 0))
    csb_buf_printf(&why, "cannot write %s: %s", t.journal, strerror(errno));
  if (ok) {
    t.aborted = 1;
    ok = undo_committed(&t);
  } else if (redo_committed(&t)) {
    /* Each file is then entirely new (with what a write leaves of its
     * mode and capabilities), rather than old without them. */
    if (err) {
      *err = saved;
      csb_error_prefix(err, "cannot roll back (%s), the patch was applied completely instead",
                       why.data ? why.data : "");
    }
    csb_buf_free(&why);
    tx_free(&t);
    return 0;
  }
  csb_buf_free(&why);
  if (!ok && err) {
    *err = saved;
    csb_error_prefix(err, "rollback incomplete (the next run finishes it)");
  }
  tx_free(&t);
  return 0;
}

undo:
  /* Nothing renamed: remove the artifacts made so far. */
  strv_truncate(&t.pointers, t.pointers_made);
  strv_truncate(&t.mkdirs, t.mkdirs_made);
  undo_prepared(&t);
  tx_free(&t);
  return 0;

undo_no_journal:
  free(t.journal);
  t.journal = NULL;
  goto undo;
}

int csb_patch_commit(csb_patch_plan *pl, const csb_patch_commit_opts *opts,
                     csb_patch_err_kind *kind, csb_error *err) {
  return commit(pl, opts, COMMIT_RUN, kind, err);
}

int csb_patch_commit_check(csb_patch_plan *pl, const csb_patch_commit_opts *opts,
                           csb_patch_err_kind *kind, csb_error *err) {
  return commit(pl, opts, COMMIT_CHECK, kind, err);
}

int csb_patch_commit_recover(csb_patch_plan *pl, const csb_patch_commit_opts *opts,
                             csb_patch_err_kind *kind, csb_error *err) {
  return commit(pl, opts, COMMIT_RECOVER, kind, err);
}
