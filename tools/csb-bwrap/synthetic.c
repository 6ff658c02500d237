/* synthetic.c - host-side mount targets and their cleanup.
 *
 * A mask on a missing path inside a read-write bind (a missing `.codex`,
 * a denied file that does not exist yet) needs a mount point in the host
 * directory: an empty file or directory. We record each such target in a
 * per-user registry, make it and hold it (bw_synth_make_all) before the
 * run, and remove it afterwards, but only when
 *   - no other live csb-bwrap run still uses the same target (removing a
 *     mount point in the host namespace would detach the other run's
 *     mask): none of ours has a record for it, and no run at all, another
 *     user's included, holds a shared flock on it (see remove_if_ours),
 *     and
 *   - it is still exactly what bubblewrap created (an empty regular file,
 *     or an empty directory), so nothing a person put there is lost.
 *
 * The registry's records live in its lock file, `lock`: one record per
 * run and target, "PID K PATH" and a NUL (K: `d` for an empty directory,
 * `f` for an empty file), rewritten in place under the lock. Registering
 * and dropping records thus allocates no inode: on a disk file system
 * (where /run is not a tmpfs) creating even a symlink costs tens of
 * microseconds, per target and run. Markers of earlier versions are still
 * honoured and swept: a symlink KEY.PID (KEY: 16 hex digits of the target
 * path's FNV-1a hash) whose content is "d:PATH" or "f:PATH", and before
 * that a KEY directory holding a "path" file and one file per PID.
 *
 * All registry operations happen under flock(2). The registry directory
 * must be a real directory owned by us with mode 0700, never a symlink,
 * and is hidden inside the sandbox.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_paths.h"

static int ensure_dir(const char *dir, csb_error *err);

/* Candidates: the places every run hides from its sandbox first (see
 * bw_registry_trusted), most private first: /run (root only),
 * $XDG_RUNTIME_DIR when it is /run/user/UID, /tmp; then
 * $XDG_RUNTIME_DIR elsewhere, only for when another user holds /tmp's
 * (a run in another environment does not hide it, so what its records
 * say is not acted on, see bw_registry_sweep). With `hide_only`, also
 * the usual runtime directory /run/user/UID when $XDG_RUNTIME_DIR names
 * another one (a later run from a login session picks it). Fills `out`
 * (at most BW_REGISTRY_MAX_CANDIDATES) and returns how many. */
size_t bw_registry_candidates(char **out, int hide_only) {
  uid_t u = geteuid();
  size_t n = 0;
  if (u == 0) out[n++] = csb_xstrdup("/run/csb-bwrap");
  const char *x = getenv("XDG_RUNTIME_DIR");
  struct stat st;
  char *xdg = NULL;
  if (x && x[0] == '/' && stat(x, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == u)
    xdg = csb_xasprintf("%s/csb-bwrap", x);
  if (xdg && bw_registry_trusted(xdg)) {
    out[n++] = xdg;
    xdg = NULL;
  }
  if (hide_only) {
    char *run_user = csb_xasprintf("/run/user/%u", (unsigned)u);
    char *cand = csb_xasprintf("%s/csb-bwrap", run_user);
    if (stat(run_user, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == u && (n == 0 || strcmp(out[n - 1], cand) != 0))
      out[n++] = cand;
    else
      free(cand);
    free(run_user);
  }
  out[n++] = csb_xasprintf("/tmp/csb-bwrap-%u", (unsigned)u);
  if (xdg) out[n++] = xdg;
  return n;
}

/* The first candidate we can create and verify wins; when none does, `why`
 * says what was wrong with the last one. */
char *bw_registry_default_dir(csb_error *why) {
  char *cand[BW_REGISTRY_MAX_CANDIDATES];
  size_t n = bw_registry_candidates(cand, 0);
  char *best = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!best && ensure_dir(cand[i], why)) best = cand[i];
    else free(cand[i]);
  }
  return best; /* NULL: no usable registry */
}

int bw_registry_secure(const char *dir, csb_error *err) { return ensure_dir(dir, err); }

int bw_registry_trusted(const char *dir) {
  if (!dir) return 0;
  unsigned u = (unsigned)geteuid();
  char run_user[64], tmp[64];
  snprintf(run_user, sizeof run_user, "/run/user/%u/csb-bwrap", u);
  snprintf(tmp, sizeof tmp, "/tmp/csb-bwrap-%u", u);
  return (u == 0 && strcmp(dir, "/run/csb-bwrap") == 0) || strcmp(dir, run_user) == 0 || strcmp(dir, tmp) == 0;
}

static uint64_t fnv1a(const char *s) { return csb_hash64(s, strlen(s), 0); }

static int ensure_dir(const char *dir, csb_error *err) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return csb_error_set(err, "cannot create mount-target registry %s: %s", dir, strerror(errno));
  struct stat st;
  if (lstat(dir, &st) != 0) return csb_error_set(err, "mount-target registry %s: %s", dir, strerror(errno));
  if (st.st_uid != geteuid())
    return csb_error_set(err, "mount-target registry %s belongs to uid %u, not to uid %u: another user "
                              "made it, and only they or root can remove it", dir, (unsigned)st.st_uid,
                         (unsigned)geteuid());
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
    return csb_error_set(err, "mount-target registry %s must be a directory, not a symlink; remove it", dir);
  if (st.st_mode & 077)
    return csb_error_set(err, "mount-target registry %s must be owned by uid %u with mode 0700; "
                              "remove it", dir, (unsigned)geteuid());
  return 1;
}

int bw_registry_held_by_other(const char *dir, uid_t *owner) {
  struct stat st, pst;
  char *par = csb_path_parent(dir);
  uid_t me = geteuid();
  int held = par && lstat(dir, &st) == 0 && st.st_uid != me && lstat(par, &pst) == 0 && S_ISDIR(pst.st_mode) &&
             (((pst.st_mode & S_ISVTX) && pst.st_uid != me) ||
              faccessat(AT_FDCWD, par, W_OK | X_OK, AT_EACCESS) != 0);
  if (held) *owner = st.st_uid;
  free(par);
  return held;
}

static int pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH); }

/* The directory holding `path`, reached one component at a time without
 * following any symlink (-1 when a component is a symlink, or missing).
 * A target's path was canonical when it was recorded; a symlink on the way
 * now was planted since, typically by the sandboxed command renaming a
 * parent of the mount point inside a writable root and linking its old
 * name elsewhere: following it would make us delete a file of the same
 * name wherever the link points. */
static int open_parent_nofollow(const char *path, const char **leaf) {
  if (path[0] != '/') return -1;
  int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *p = path;
  while (fd >= 0) {
    while (*p == '/') p++;
    const char *end = strchr(p, '/');
    if (!end) {
      *leaf = p;
      return *p ? fd : (close(fd), -1);
    }
    char *comp = csb_xstrndup(p, (size_t)(end - p));
    int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(comp);
    close(fd);
    fd = next;
    p = end;
  }
  return -1;
}

/* The directory holding each of a run of paths, reached as
 * open_parent_nofollow reaches it, and kept open while consecutive paths
 * share it (a workspace's protected names do). */
typedef struct parent_dir {
  char *dir; /* the parent's path, or NULL */
  int dfd;   /* -1 when it could not be reached */
} parent_dir;

#define PARENT_DIR_INIT {NULL, -1}

/* The descriptor of path's directory (owned by p), and its last
 * component in *leaf; -1 when a component is a symlink or missing. */
static int parent_dir_of(parent_dir *p, const char *path, const char **leaf) {
  const char *slash = strrchr(path, '/');
  if (!slash || !slash[1]) return -1;
  size_t len = (size_t)(slash - path);
  if (!p->dir || strlen(p->dir) != len || memcmp(p->dir, path, len) != 0) {
    if (p->dfd >= 0) close(p->dfd);
    free(p->dir);
    const char *l;
    p->dfd = open_parent_nofollow(path, &l);
    p->dir = csb_xstrndup(path, len);
  }
  *leaf = slash + 1;
  return p->dfd;
}

static void parent_dir_close(parent_dir *p) {
  if (p->dfd >= 0) close(p->dfd);
  free(p->dir);
  p->dir = NULL;
  p->dfd = -1;
}

int bw_synth_hold_at(int fd, int dfd, const char *name) {
  for (int i = 0; i < 100 && flock(fd, LOCK_SH | LOCK_NB) != 0; i++) {
    if (errno != EWOULDBLOCK && errno != EINTR) break;
    usleep(10000);
  }
  struct stat held, now;
  return fstat(fd, &held) == 0 && fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
         held.st_dev == now.st_dev && held.st_ino == now.st_ino;
}

/* bw_synth_make_all for one target, `leaf` in the directory dfd. */
static int make_at(int dfd, const char *leaf, bw_synth_kind kind) {
  /* (each round that finds the entry gone was raced by a run removing
   * it: a few at most) */
  for (int round = 0; round < 100; round++) {
    int made;
    if (kind == BW_SYNTH_DIR) {
      made = mkdirat(dfd, leaf, 0755) == 0;
    } else {
      int w = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
      made = w >= 0;
      if (made) close(w);
    }
    if (!made && errno != EEXIST) return -1;
    int fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return -1;
    }
    if (bw_synth_hold_at(fd, dfd, leaf)) return fd;
    close(fd);
  }
  return -1;
}

void bw_synth_make_all(bw_fsargs *f) {
  parent_dir pd = PARENT_DIR_INIT;
  for (size_t i = 0; i < f->n_synth; i++) {
    const bw_synth *t = &f->synth[i];
    if (t->existing) continue;
    const char *leaf;
    int dfd = parent_dir_of(&pd, t->path, &leaf);
    int fd = dfd >= 0 ? make_at(dfd, leaf, t->kind) : -1;
    if (fd >= 0) bw_fsargs_hold(f, fd);
  }
  parent_dir_close(&pd);
}

/* Whether removals from the directory dfd leave their last close to
 * bw_release_after_exit (the mount table read once per mount). */
static int defer_in(bw_registry *r, int dfd) {
  int id = bw_release_mount_id(dfd);
  if (id < 0) return 0;
  for (size_t i = 0; i < r->n_defer; i++)
    if (r->defer_mount[i] == id) return r->defer[i];
  int yes = bw_release_worth_deferring_on(dfd, id);
  if (r->n_defer < CSB_ARRAY_LEN(r->defer)) {
    r->defer_mount[r->n_defer] = id;
    r->defer[r->n_defer++] = yes;
  }
  return yes;
}

void bw_registry_defer_prepare(bw_registry *r, const int *also, size_t n_also) {
  parent_dir pd = PARENT_DIR_INIT;
  int *held = NULL;
  size_t n_held = 0, cap = 0;
  for (size_t i = 0; i < r->n; i++) {
    const char *leaf;
    int dfd = parent_dir_of(&pd, r->targets[i], &leaf);
    if (dfd < 0 || !defer_in(r, dfd) || r->keeper.active) continue;
    /* (whatever is there now: the keeper's hold on an entry that is not
     * ours costs nothing but its last close's moment; but not on another
     * file system, the root of a mount put there meanwhile, which the hold
     * would keep busy) */
    struct stat dst, lst;
    int fd = openat(dfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    if (fstat(dfd, &dst) != 0 || fstat(fd, &lst) != 0 || dst.st_dev != lst.st_dev) {
      close(fd);
      continue;
    }
    held = csb_xgrow(held, &cap, n_held + 1, sizeof *held);
    held[n_held++] = fd;
  }
  parent_dir_close(&pd);
  size_t n_ours = n_held;
  if (n_held) {
    held = csb_xgrow(held, &cap, n_held + n_also, sizeof *held);
    for (size_t i = 0; i < n_also; i++)
      if (also[i] >= 0) held[n_held++] = also[i];
    (void)bw_release_keeper_start(&r->keeper, held, n_held);
  }
  for (size_t i = 0; i < n_ours; i++) close(held[i]);
  free(held);
}

/* Removes the mount target `path` when it is still what bubblewrap made
 * (an empty directory or file) and no run holds it: a run that mounts
 * onto an existing empty entry (perhaps our mount point) holds a shared
 * lock on it (hold_existing in mounts.c), another user's run included,
 * which our registry does not show; removing the entry would detach that
 * run's mask. 0 when such a run holds it (left for a later run of ours),
 * else 1. */
static int remove_if_ours(parent_dir *pd, const char *path, int kind, bw_registry *keep) {
  const char *leaf = NULL;
  int dfd = parent_dir_of(pd, path, &leaf);
  if (dfd < 0) return 1;
  struct stat st, locked;
  int done = 1;
  int ours = fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
             ((kind == BW_SYNTH_DIR && S_ISDIR(st.st_mode)) ||
              (kind == BW_SYNTH_FILE && S_ISREG(st.st_mode) && st.st_size == 0));
  int fd = ours ? openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    done = 0;
  } else if (ours && (fd < 0 || (fstat(fd, &locked) == 0 && locked.st_dev == st.st_dev &&
                                 locked.st_ino == st.st_ino))) {
    /* (a directory: fails harmlessly when something was put inside) */
    if (unlinkat(dfd, leaf, kind == BW_SYNTH_DIR ? AT_REMOVEDIR : 0) == 0 && fd >= 0 && keep &&
        !bw_release_keeper_holds(&keep->keeper, st.st_dev, st.st_ino) && defer_in(keep, dfd)) {
      /* the last reference to the removed entry: dropped by
       * bw_release_after_exit */
      keep->gone_fds = csb_xgrow(keep->gone_fds, &keep->cap_gone, keep->n_gone + 1, sizeof(int));
      keep->gone_fds[keep->n_gone++] = fd;
      fd = -1;
    }
  }
  if (fd >= 0) close(fd);
  return done;
}

/* ---- the registry's entries ---------------------------------------------- */

typedef struct marker {
  char *name;   /* KEY.PID */
  uint64_t key;
  long pid;
} marker;

typedef struct listing {
  marker *m;
  size_t n, cap;
  char **old;   /* KEY directories of the earlier layout */
  size_t n_old, cap_old;
} listing;

static int parse_key(const char *s, uint64_t *key) {
  if (strspn(s, "0123456789abcdef") != 16) return 0;
  char hex[17];
  memcpy(hex, s, 16);
  hex[16] = 0;
  *key = strtoull(hex, NULL, 16);
  return 1;
}

static int list_entry(void *ctx, int dfd, const char *name) {
  listing *l = ctx;
  uint64_t key;
  /* seccomp filters cached by earlier versions (now built in), and deny-glob
   * expansions they cached here (now in glob/) */
  if (strncmp(name, "bpf-", 4) == 0 || strncmp(name, ".bpf-", 5) == 0 || strncmp(name, "glob-", 5) == 0 ||
      strncmp(name, ".glob-", 6) == 0) {
    unlinkat(dfd, name, 0);
    return 1;
  }
  if (!parse_key(name, &key)) return 1;
  const char *rest = name + 16;
  if (*rest == 0) {
    /* Only a real directory is an entry of that layout: what it holds is
     * deleted when its runs are gone, and a symlink there (a damaged
     * registry, or one a command could write) would lead that deletion
     * anywhere the user may write. Anything else is unusable. */
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 1;
    if (!S_ISDIR(st.st_mode)) {
      unlinkat(dfd, name, 0);
      return 1;
    }
    l->old = csb_xgrow(l->old, &l->cap_old, l->n_old + 1, sizeof *l->old);
    l->old[l->n_old++] = csb_xstrdup(name);
    return 1;
  }
  char *end = NULL;
  long pid = rest[0] == '.' ? strtol(rest + 1, &end, 10) : 0;
  if (pid <= 0 || !end || *end) return 1;
  l->m = csb_xgrow(l->m, &l->cap, l->n + 1, sizeof *l->m);
  l->m[l->n].name = csb_xstrdup(name);
  l->m[l->n].key = key;
  l->m[l->n].pid = pid;
  l->n++;
  return 1;
}

static void list_registry(const char *dir, listing *l) {
  memset(l, 0, sizeof *l);
  bw_dir_each(dir, list_entry, l);
}

/* Whether the listing saw a directory of the earliest layout for `key`
 * (the listing is made under the registry's lock). */
static int listed_old(const listing *l, uint64_t key) {
  char name[17];
  snprintf(name, sizeof name, "%016llx", (unsigned long long)key);
  for (size_t i = 0; i < l->n_old; i++)
    if (strcmp(l->old[i], name) == 0) return 1;
  return 0;
}

static void listing_free(listing *l) {
  for (size_t i = 0; i < l->n; i++) free(l->m[i].name);
  for (size_t i = 0; i < l->n_old; i++) free(l->old[i]);
  free(l->m);
  free(l->old);
  memset(l, 0, sizeof *l);
}

/* The target a marker names: kind and path (caller frees), or 0. */
static int read_marker(const char *dir, const char *name, int *kind, char **path) {
  char *p = csb_xasprintf("%s/%s", dir, name);
  char buf[4096 + 3];
  ssize_t n = readlink(p, buf, sizeof buf - 1);
  free(p);
  if (n < 4 || (size_t)n >= sizeof buf - 1 || (buf[0] != 'd' && buf[0] != 'f') || buf[1] != ':' || buf[2] != '/')
    return 0;
  buf[n] = 0;
  *kind = buf[0] == 'd' ? BW_SYNTH_DIR : BW_SYNTH_FILE;
  *path = csb_xstrdup(buf + 2);
  return 1;
}

/* An earlier-layout KEY directory, opened without following a symlink
 * (the listing saw a directory; one swapped in since is not entered). */
static int old_layout_open(const char *mdir) {
  return open(mdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Earlier layout: live PID files (other than ours) in DIR/KEY; the dead
 * ones are deleted. With `kind` non-NULL, the kind of a dead one. */
static int old_layout_live(const char *mdir, int *kind) {
  int dfd = old_layout_open(mdir);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0) close(dfd);
    return 0;
  }
  int live = 0;
  struct dirent *de;
  pid_t self = getpid();
  while ((de = readdir(d)) != NULL) {
    char *end = NULL;
    long pid = strtol(de->d_name, &end, 10);
    if (!de->d_name[0] || *end || pid <= 0 || pid == self) continue;
    if (pid_alive((pid_t)pid)) {
      live++;
      continue;
    }
    if (kind && *kind < 0) {
      char buf[8] = "";
      int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        if (read(fd, buf, sizeof buf - 1) > 0) *kind = buf[0] == 'd' ? BW_SYNTH_DIR : BW_SYNTH_FILE;
        close(fd);
      }
    }
    unlinkat(dirfd(d), de->d_name, 0);
  }
  closedir(d);
  return live;
}

/* The target an earlier-layout KEY directory names (its "path" file), or
 * NULL. */
static char *old_layout_target(const char *mdir) {
  int dfd = old_layout_open(mdir);
  if (dfd < 0) return NULL;
  int fd = openat(dfd, "path", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close(dfd);
  char *target = NULL;
  size_t len = 0;
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !csb_read_fd(fd, "path", 4096, &target, &len, NULL)) {
    free(target);
    target = NULL;
  }
  close(fd);
  return target;
}

/* Removes an earlier-layout KEY directory whose processes are all gone. */
static void old_layout_drop(const char *mdir) {
  int dfd = old_layout_open(mdir);
  if (dfd < 0) return;
  unlinkat(dfd, "path", 0);
  close(dfd);
  rmdir(mdir);
}

/* ---- the records in the lock file ----------------------------------------- */

/* A lock file larger than this holds no registry of ours: its content is
 * dropped (the holds on the mount points still protect live runs). */
#define RECORDS_MAX_BYTES ((size_t)1 << 20)

typedef struct record {
  long pid; /* 0: dropped */
  int kind; /* BW_SYNTH_DIR or BW_SYNTH_FILE */
  char *path;
} record;

typedef struct records {
  record *r;
  size_t n, cap;
  size_t n_read; /* how many came from the file, `size` bytes of it */
  size_t size;
  int changed;    /* some record was dropped: the file must be rewritten */
  int unreadable; /* the file could not be read: it must not be written */
} records;

static void records_add(records *rs, long pid, int kind, const char *path) {
  rs->r = csb_xgrow(rs->r, &rs->cap, rs->n + 1, sizeof *rs->r);
  rs->r[rs->n].pid = pid;
  rs->r[rs->n].kind = kind;
  rs->r[rs->n].path = csb_xstrdup(path);
  rs->n++;
}

static void records_free(records *rs) {
  for (size_t i = 0; i < rs->n; i++) free(rs->r[i].path);
  free(rs->r);
  memset(rs, 0, sizeof *rs);
}

/* One record, "PID K /PATH" (NUL excluded), or 0 when malformed. */
static int record_parse(const char *s, long *pid, int *kind, const char **path) {
  char *end = NULL;
  errno = 0;
  if (s[0] < '1' || s[0] > '9') return 0;
  *pid = strtol(s, &end, 10);
  if (errno || *pid <= 0 || *pid > INT32_MAX || end[0] != ' ' || (end[1] != 'd' && end[1] != 'f') ||
      end[2] != ' ' || end[3] != '/')
    return 0;
  *kind = end[1] == 'd' ? BW_SYNTH_DIR : BW_SYNTH_FILE;
  *path = end + 3;
  return 1;
}

/* Reads the records of the lock file fd (held under LOCK_EX). Malformed
 * ones (a run killed while it rewrote the file) are dropped; a file that
 * cannot be read whole is marked unreadable, and records_write then
 * leaves it alone. */
static void records_read(int fd, records *rs) {
  memset(rs, 0, sizeof *rs);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rs->unreadable = 1;
    return;
  }
  if (st.st_size <= 0) return;
  if ((size_t)st.st_size > RECORDS_MAX_BYTES) {
    rs->changed = 1;
    return;
  }
  size_t len = (size_t)st.st_size, got = 0;
  char *buf = csb_xmalloc(len + 1);
  while (got < len) {
    ssize_t k = pread(fd, buf + got, len - got, (off_t)got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  rs->unreadable = got != len; /* (nothing else writes it while we hold the lock) */
  int dropped = 0;
  for (size_t off = 0; off < got;) {
    const char *rec = buf + off, *nul = memchr(rec, 0, got - off);
    long pid;
    int kind;
    const char *path;
    if (!nul) {
      dropped = 1;
      break;
    }
    off = (size_t)(nul - buf) + 1;
    if (record_parse(rec, &pid, &kind, &path)) records_add(rs, pid, kind, path);
    else dropped = 1;
  }
  rs->changed = dropped;
  rs->n_read = rs->n;
  rs->size = got;
  free(buf);
}

/* Stores rs in the lock file fd: appends the records added since it was
 * read, or, when some were dropped, empties the file and writes those
 * left. (Never the other way round: a run killed between the two steps
 * must not leave the tail of the old content behind, where the end of a
 * record could read as a record of another path.) 0 on failure (errno
 * set). */
static int records_write(int fd, const records *rs) {
  if (rs->unreadable) {
    errno = EIO;
    return 0;
  }
  if (!rs->changed && rs->n == rs->n_read) return 1;
  size_t from = rs->changed ? 0 : rs->n_read;
  off_t at = rs->changed ? 0 : (off_t)rs->size;
  if (rs->changed && ftruncate(fd, 0) != 0) return 0;
  csb_buf b;
  csb_buf_init(&b);
  for (size_t i = from; i < rs->n; i++)
    if (rs->r[i].pid > 0) {
      csb_buf_printf(&b, "%ld %c %s", rs->r[i].pid, rs->r[i].kind == BW_SYNTH_DIR ? 'd' : 'f', rs->r[i].path);
      csb_buf_putc(&b, 0);
    }
  size_t done = 0;
  while (done < b.len) {
    ssize_t k = pwrite(fd, b.data + done, b.len - done, at + (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    done += (size_t)k;
  }
  int ok = done == b.len;
  csb_buf_free(&b);
  return ok;
}

/* Whether a live run other than us uses the target `path` (a record other
 * than rs[skip], an earlier version's marker naming it, or the earliest
 * layout); the records and markers of dead runs for it are dropped. */
static int in_use_by_others(const char *dir, const listing *l, records *rs, size_t skip, pid_t self,
                            const char *path) {
  int live = 0;
  for (size_t i = 0; i < rs->n; i++) {
    record *r = &rs->r[i];
    if (i == skip || r->pid <= 0 || r->pid == self || strcmp(r->path, path) != 0) continue;
    if (pid_alive((pid_t)r->pid)) {
      live = 1;
    } else {
      r->pid = 0;
      rs->changed = 1;
    }
  }
  uint64_t key = fnv1a(path);
  for (size_t i = 0; i < l->n; i++) {
    const marker *m = &l->m[i];
    if (m->key != key || m->pid == self) continue;
    int kind;
    char *p = NULL;
    if (!read_marker(dir, m->name, &kind, &p)) continue;
    int same = strcmp(p, path) == 0;
    free(p);
    if (!same) continue;
    if (pid_alive((pid_t)m->pid)) {
      live = 1;
    } else {
      char *f = csb_xasprintf("%s/%s", dir, m->name);
      unlink(f);
      free(f);
    }
  }
  if (listed_old(l, key)) {
    char *mdir = csb_xasprintf("%s/%016llx", dir, (unsigned long long)key);
    if (old_layout_live(mdir, NULL)) live = 1;
    else old_layout_drop(mdir);
    free(mdir);
  }
  return live;
}

/* ---- sweep, register, cleanup --------------------------------------------- */

/* Targets whose every record belongs to a dead process (a run that was
 * SIGKILLed) are cleaned up by the next run. */
static void sweep_stale(const char *dir, int lock_fd) {
  records rs;
  records_read(lock_fd, &rs);
  listing l;
  list_registry(dir, &l);
  parent_dir pd = PARENT_DIR_INIT;
  pid_t self = getpid();
  for (size_t i = 0; i < rs.n; i++) {
    record *r = &rs.r[i];
    if (r->pid <= 0 || r->pid == self || pid_alive((pid_t)r->pid)) continue;
    /* (one whose target another run holds stays for a later sweep) */
    if (in_use_by_others(dir, &l, &rs, i, self, r->path) || remove_if_ours(&pd, r->path, r->kind, NULL)) {
      r->pid = 0;
      rs.changed = 1;
    }
  }
  for (size_t i = 0; i < l.n; i++) {
    /* an earlier version's marker */
    marker *m = &l.m[i];
    if (m->pid == self || pid_alive((pid_t)m->pid)) continue;
    int kind;
    char *path = NULL;
    char *f = csb_xasprintf("%s/%s", dir, m->name);
    struct stat st;
    if (!read_marker(dir, m->name, &kind, &path)) {
      if (lstat(f, &st) == 0) unlink(f); /* not a marker of ours: unusable */
    } else if (in_use_by_others(dir, &l, &rs, SIZE_MAX, self, path) || remove_if_ours(&pd, path, kind, NULL)) {
      /* (one in_use_by_others deleted is gone already) */
      unlink(f);
    }
    free(f);
    free(path);
  }
  for (size_t i = 0; i < l.n_old; i++) {
    /* earliest layout: every marker dead, and no marker of a live run */
    char *mdir = csb_xasprintf("%s/%s", dir, l.old[i]);
    int kind = -1;
    if (old_layout_live(mdir, &kind) == 0) {
      char *target = kind >= 0 ? old_layout_target(mdir) : NULL;
      if (target && target[0] == '/' && !in_use_by_others(dir, &l, &rs, SIZE_MAX, self, target))
        remove_if_ours(&pd, target, kind, NULL);
      free(target);
      old_layout_drop(mdir);
    }
    free(mdir);
  }
  parent_dir_close(&pd);
  records_write(lock_fd, &rs);
  records_free(&rs);
  listing_free(&l);
}

/* Takes the exclusive lock on fd: 1; 0 with errno on failure, EINTR
 * when the wait for another run's hold ended (see bw_registry_wait). */
static int lock_wait(int fd, const bw_registry_wait *w) {
  /* (held for a moment, as a rule: looked at again after 0.25, 0.5, 1...
   * ms, at most every 32) */
  for (useconds_t wait = 250;;) {
    if (flock(fd, w ? LOCK_EX | LOCK_NB : LOCK_EX) == 0) return 1;
    if (errno == EINTR) continue;
    if (!w || errno != EWOULDBLOCK) return 0;
    if (!w->fn(w->arg)) {
      errno = EINTR;
      return 0;
    }
    usleep(wait);
    if (wait < 32000) wait *= 2;
  }
}

/* The registry's lock file, locked; -1 with errno on failure, EINTR when
 * the wait for another run's hold ended (see bw_registry_wait). */
static int lock_registry(const char *dir, const bw_registry_wait *w) {
  char *lock = csb_xasprintf("%s/lock", dir);
  int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  free(lock);
  if (fd < 0) return -1;
  if (lock_wait(fd, w)) return fd;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

int bw_registry_sweep(const char *dir, const bw_registry_wait *wait) {
  /* A registry no run hides (with $XDG_RUNTIME_DIR elsewhere, where
   * another run's command may have written records) names nothing we
   * remove: a killed run's mount points stay there. */
  if (!bw_registry_trusted(dir)) return 1;
  int fd = lock_registry(dir, wait);
  if (fd < 0) return errno != EINTR;
  sweep_stale(dir, fd);
  flock(fd, LOCK_UN);
  close(fd);
  return 1;
}

/* Whether a record of any run, or an earlier version's marker, names `path`. */
static int registered(const char *dir, const listing *l, const records *rs, const char *path) {
  for (size_t i = 0; i < rs->n; i++)
    if (rs->r[i].pid > 0 && strcmp(rs->r[i].path, path) == 0) return 1;
  uint64_t key = fnv1a(path);
  int had = 0;
  for (size_t j = 0; j < l->n && !had; j++) {
    int kind;
    char *p = NULL;
    if (l->m[j].key == key && read_marker(dir, l->m[j].name, &kind, &p)) had = strcmp(p, path) == 0;
    free(p);
  }
  return had || listed_old(l, key);
}

int bw_registry_register(bw_registry *r, const char *dir, const bw_synth *t, size_t n,
                         const bw_registry_wait *wait, csb_error *err) {
  memset(r, 0, sizeof *r);
  r->lock_fd = -1;
  if (n == 0) return 1;
  if (!ensure_dir(dir, err)) return 0;
  r->dir = csb_xstrdup(dir);
  r->lock_fd = lock_registry(dir, wait);
  if (r->lock_fd < 0 && errno == EINTR) return -1;
  if (r->lock_fd < 0) return csb_error_set(err, "mount-target registry lock %s/lock: %s", dir, strerror(errno));
  r->targets = csb_xcalloc(n, sizeof(char *));
  r->kinds = csb_xcalloc(n, sizeof(int));
  records rs;
  records_read(r->lock_fd, &rs);
  listing l;
  int listed = 0;
  long self = (long)getpid();
  /* (records in a registry no run hides may be planted: an existing path
   * is never taken for a mount point there) */
  int trusted = bw_registry_trusted(dir);
  for (size_t i = 0; i < n; i++) {
    if (t[i].existing) {
      /* An existing empty path is ours only when a run registered it
       * (then it is a mount target bubblewrap made); else it is a real
       * pre-existing path, never to be removed. */
      if (!trusted) continue;
      if (!listed) list_registry(dir, &l);
      listed = 1;
      if (!registered(dir, &l, &rs, t[i].path)) continue;
    }
    int dup = 0;
    for (size_t j = 0; j < rs.n && !dup; j++)
      dup = rs.r[j].pid == self && strcmp(rs.r[j].path, t[i].path) == 0;
    if (!dup) records_add(&rs, self, (int)t[i].kind, t[i].path);
    r->targets[r->n] = csb_xstrdup(t[i].path);
    r->kinds[r->n] = (int)t[i].kind;
    r->n++;
  }
  if (listed) listing_free(&l);
  int ok = records_write(r->lock_fd, &rs) ||
           csb_error_set(err, "mount-target registry %s/lock: %s", dir, strerror(errno));
  records_free(&rs);
  flock(r->lock_fd, LOCK_UN);
  return ok;
}

/* bw_registry_cleanup under the lock. */
static void cleanup_locked(bw_registry *r) {
  records rs;
  records_read(r->lock_fd, &rs);
  listing l;
  list_registry(r->dir, &l);
  parent_dir pd = PARENT_DIR_INIT;
  pid_t self = getpid();
  for (size_t i = r->n; i-- > 0;) {
    /* A target another run holds keeps our record: once we are gone, a
     * later run's sweep removes it if nobody holds it then. */
    if (in_use_by_others(r->dir, &l, &rs, SIZE_MAX, self, r->targets[i]) ||
        remove_if_ours(&pd, r->targets[i], r->kinds[i], r))
      for (size_t j = 0; j < rs.n; j++)
        if (rs.r[j].pid == self && strcmp(rs.r[j].path, r->targets[i]) == 0) {
          rs.r[j].pid = 0;
          rs.changed = 1;
        }
    free(r->targets[i]);
  }
  parent_dir_close(&pd);
  listing_free(&l);
  records_write(r->lock_fd, &rs);
  records_free(&rs);
  flock(r->lock_fd, LOCK_UN);
}

void bw_registry_cleanup(bw_registry *r, const bw_registry_wait *wait) {
  if (!r || r->lock_fd < 0) return;
  if (!lock_wait(r->lock_fd, wait)) {
    /* (the wait ended, or the lock failed: our records and targets stay,
     * for the sweep of a later run once we are gone) */
    for (size_t i = 0; i < r->n; i++) free(r->targets[i]);
    r->n = 0;
  } else {
    cleanup_locked(r);
  }
  close(r->lock_fd);
  r->lock_fd = -1;
  free(r->targets);
  free(r->kinds);
  free(r->dir);
  r->targets = NULL;
  r->kinds = NULL;
  r->dir = NULL;
  r->n = 0; /* (gone_fds stay, for bw_release_after_exit) */
}

const char *bw_registry_change(const char *dir, const struct stat *was) {
  struct stat st;
  if (lstat(dir, &st) != 0)
    return errno == ENOENT || errno == ENOTDIR ? "was removed" : "can no longer be reached";
  if (S_ISLNK(st.st_mode)) return "was replaced by a symlink";
  if (!S_ISDIR(st.st_mode)) return "was replaced by a file";
  if (st.st_dev != was->st_dev || st.st_ino != was->st_ino) return "was replaced by another directory";
  return NULL;
}

void bw_registry_drop_stand_in(const char *dir, const struct stat *was) {
  struct stat st;
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_dev == was->st_dev && st.st_ino == was->st_ino) ||
      st.st_uid != geteuid() || !(st.st_mode & 077))
    return;
  rmdir(dir); /* (fails when something is inside) */
}
