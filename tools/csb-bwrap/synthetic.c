/* synthetic.c - host-side mount targets and their cleanup.
 *
 * A mask on a missing path inside a read-write bind (a missing `.codex`,
 * a denied file that does not exist yet) needs a mount point, which
 * bubblewrap creates in the host directory: an empty file or directory.
 * We record each such target in a per-user registry before the run and
 * remove it afterwards, but only when
 *   - no other live csb-bwrap run still uses the same target (one marker
 *     file per pid in the target's directory; removing a mount point in
 *     the host namespace would detach the other run's mask), and
 *   - it is still exactly what bubblewrap created (an empty regular file,
 *     or an empty directory), so nothing a person put there is lost.
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
#include <unistd.h>

#include "csb_bwrap.h"

static int ensure_dir(const char *dir, csb_error *err);

/* Candidates, most private first: /run (root only), $XDG_RUNTIME_DIR,
 * then /tmp. The first one we can create and verify wins. */
char *bw_registry_default_dir(void) {
  uid_t u = geteuid();
  char *cand[3] = {NULL, NULL, NULL};
  size_t n = 0;
  if (u == 0) cand[n++] = csb_xstrdup("/run/csb-bwrap");
  const char *x = getenv("XDG_RUNTIME_DIR");
  struct stat st;
  if (x && x[0] == '/' && stat(x, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == u)
    cand[n++] = csb_xasprintf("%s/csb-bwrap", x);
  cand[n++] = csb_xasprintf("/tmp/csb-bwrap-%u", (unsigned)u);
  char *best = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!best && ensure_dir(cand[i], NULL)) best = cand[i];
    else free(cand[i]);
  }
  return best; /* NULL: no usable registry */
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ULL;
  }
  return h;
}

static int ensure_dir(const char *dir, csb_error *err) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return csb_error_set(err, "cannot create mount-target registry %s: %s", dir, strerror(errno));
  struct stat st;
  if (lstat(dir, &st) != 0) return csb_error_set(err, "mount-target registry %s: %s", dir, strerror(errno));
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
    return csb_error_set(err, "mount-target registry %s must be a directory, not a symlink; remove it", dir);
  if (st.st_uid != geteuid() || (st.st_mode & 077))
    return csb_error_set(err, "mount-target registry %s must be owned by uid %u with mode 0700; "
                              "remove it", dir, (unsigned)geteuid());
  return 1;
}

static int pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH); }

/* Live markers other than ours in mdir; stale ones are deleted. */
static int other_live_markers(const char *mdir) {
  DIR *d = opendir(mdir);
  if (!d) return 0;
  int live = 0;
  struct dirent *de;
  pid_t self = getpid();
  while ((de = readdir(d)) != NULL) {
    char *end = NULL;
    long pid = strtol(de->d_name, &end, 10);
    if (!de->d_name[0] || *end || pid <= 0) continue;
    if (pid == self) continue;
    if (pid_alive((pid_t)pid)) {
      live++;
    } else {
      char *f = csb_xasprintf("%s/%s", mdir, de->d_name);
      unlink(f);
      free(f);
    }
  }
  closedir(d);
  return live;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  int ok = csb_write_all(fd, text, strlen(text));
  close(fd);
  return ok;
}

static void remove_if_ours(const char *path, int kind);

/* Targets whose every marker belongs to a dead process (a run that was
 * SIGKILLed) are cleaned up by the next registration. */
static void sweep_stale(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  pid_t self = getpid();
  while ((de = readdir(d)) != NULL) {
    if (strlen(de->d_name) != 16 || strspn(de->d_name, "0123456789abcdef") != 16) continue;
    char *mdir = csb_xasprintf("%s/%s", dir, de->d_name);
    DIR *m = opendir(mdir);
    int live = 0, kind = -1;
    if (m) {
      struct dirent *me;
      while ((me = readdir(m)) != NULL) {
        char *end = NULL;
        long pid = strtol(me->d_name, &end, 10);
        if (!me->d_name[0] || *end || pid <= 0) continue;
        if (pid == self || pid_alive((pid_t)pid)) {
          live = 1;
          break;
        }
        if (kind < 0) {
          char *mf = csb_xasprintf("%s/%s", mdir, me->d_name);
          char buf[8] = "";
          int fd = open(mf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          if (fd >= 0) {
            ssize_t k = read(fd, buf, sizeof buf - 1);
            if (k > 0) kind = buf[0] == 'd' ? BW_SYNTH_DIR : BW_SYNTH_FILE;
            close(fd);
          }
          free(mf);
        }
      }
      closedir(m);
    }
    if (!live) {
      char *pf = csb_xasprintf("%s/path", mdir);
      char *target = NULL;
      size_t len = 0;
      if (kind >= 0 && csb_read_file(pf, 4096, &target, &len, NULL) && target[0] == '/')
        remove_if_ours(target, kind);
      free(target);
      other_live_markers(mdir); /* deletes the dead markers */
      unlink(pf);
      free(pf);
      rmdir(mdir);
    }
    free(mdir);
  }
  closedir(d);
}

void bw_registry_sweep(const char *dir) {
  char *lock = csb_xasprintf("%s/lock", dir);
  int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  free(lock);
  if (fd < 0) return;
  while (flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) {
      close(fd);
      return;
    }
  sweep_stale(dir);
  flock(fd, LOCK_UN);
  close(fd);
}

int bw_registry_register(bw_registry *r, const char *dir, const bw_synth *t, size_t n,
                         csb_error *err) {
  memset(r, 0, sizeof *r);
  r->lock_fd = -1;
  if (n == 0) return 1;
  if (!ensure_dir(dir, err)) return 0;
  r->dir = csb_xstrdup(dir);
  char *lock = csb_xasprintf("%s/lock", dir);
  r->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  free(lock);
  if (r->lock_fd < 0) return csb_error_set(err, "mount-target registry lock: %s", strerror(errno));
  while (flock(r->lock_fd, LOCK_EX) != 0)
    if (errno != EINTR) return csb_error_set(err, "flock: %s", strerror(errno));
  r->marker_dirs = csb_xcalloc(n, sizeof(char *));
  r->targets = csb_xcalloc(n, sizeof(char *));
  r->kinds = csb_xcalloc(n, sizeof(int));
  int ok = 1;
  for (size_t i = 0; ok && i < n; i++) {
    char *mdir = csb_xasprintf("%s/%016llx", dir, (unsigned long long)fnv1a(t[i].path));
    struct stat st;
    int had = lstat(mdir, &st) == 0 && S_ISDIR(st.st_mode);
    if (t[i].existing && !had) {
      free(mdir); /* never registered: a real pre-existing path, not ours */
      continue;
    }
    if (!had && mkdir(mdir, 0700) != 0) {
      ok = csb_error_set(err, "mount-target registry: %s: %s", mdir, strerror(errno));
      free(mdir);
      break;
    }
    char *pf = csb_xasprintf("%s/path", mdir);
    if (!had) write_file(pf, t[i].path);
    free(pf);
    char *mf = csb_xasprintf("%s/%d", mdir, (int)getpid());
    if (!write_file(mf, t[i].kind == BW_SYNTH_DIR ? "dir\n" : "file\n"))
      ok = csb_error_set(err, "mount-target registry: %s: %s", mf, strerror(errno));
    free(mf);
    r->marker_dirs[r->n] = mdir;
    r->targets[r->n] = csb_xstrdup(t[i].path);
    r->kinds[r->n] = (int)t[i].kind;
    r->n++;
  }
  flock(r->lock_fd, LOCK_UN);
  return ok;
}

static void remove_if_ours(const char *path, int kind) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (kind == BW_SYNTH_DIR && S_ISDIR(st.st_mode)) {
    rmdir(path); /* fails harmlessly when something was put inside */
  } else if (kind == BW_SYNTH_FILE && S_ISREG(st.st_mode) && st.st_size == 0) {
    unlink(path);
  }
}

void bw_registry_cleanup(bw_registry *r) {
  if (!r || r->lock_fd < 0) return;
  while (flock(r->lock_fd, LOCK_EX) != 0 && errno == EINTR) {}
  for (size_t i = r->n; i-- > 0;) {
    char *mf = csb_xasprintf("%s/%d", r->marker_dirs[i], (int)getpid());
    unlink(mf);
    free(mf);
    if (other_live_markers(r->marker_dirs[i]) == 0) {
      remove_if_ours(r->targets[i], r->kinds[i]);
      char *pf = csb_xasprintf("%s/path", r->marker_dirs[i]);
      unlink(pf);
      free(pf);
      rmdir(r->marker_dirs[i]);
    }
    free(r->marker_dirs[i]);
    free(r->targets[i]);
  }
  flock(r->lock_fd, LOCK_UN);
  close(r->lock_fd);
  free(r->marker_dirs);
  free(r->targets);
  free(r->kinds);
  free(r->dir);
  memset(r, 0, sizeof *r);
  r->lock_fd = -1;
}
