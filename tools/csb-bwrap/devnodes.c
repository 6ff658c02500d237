/* devnodes.c - the host's device nodes, read-only for a root run.
 *
 * bubblewrap's --dev binds the host's /dev/null, zero, full, random,
 * urandom and tty into the sandbox's /dev, read-write (its read-only
 * binds add nodev, which would make the nodes unusable). A node's mode,
 * owner and times change through the mount it is reached by, and run by
 * root the sandbox's uid 0 is the nodes' owner: the command could
 * `chmod 000 /dev/null` for every other user of the host. When our
 * standard output is a terminal, bubblewrap also binds it at
 * /dev/console, and whoever runs us owns that: the command could
 * `chmod 666 /dev/console` and hand the caller's terminal to every local
 * user (run by another user: below). A terminal on stdin or stderr (that
 * is not stdout's) we bind ourselves, at /dev/.csb-tty0 or 2, for the
 * same treatment: the command's descriptors on the caller's terminals are
 * reopened through these binds (inner.c), and the inner stage refuses to
 * go on when one is left on a writable mount, where `fchmod` would reach
 * the terminal all the same.
 *
 * So, run by root, bubblewrap leaves the inner stage two capabilities of
 * the sandbox's user namespace (--cap-add; they reach nothing of the
 * host's): with CAP_SYS_ADMIN it remounts each of these binds read-only
 * (keeping the mount's other flags, devices usable), then, with
 * CAP_SETPCAP, drops both from its bounding set, clears every other set
 * and checks that no capability is left, before it reads anything the
 * command controls (only its own arguments are parsed before).
 * Reading and writing a device node does not need a writable mount;
 * changing its metadata does (EROFS). Undoing the remount takes
 * CAP_SYS_ADMIN in the sandbox's user namespace, which nothing there has
 * again (no_new_privs; the filter refuses unshare, setns and mount), and
 * a namespace made below it would get the flag locked.
 *
 * (A mount namespace of our own, with the nodes bound read-only before
 * bubblewrap starts, does the same from outside; but bubblewrap's
 * recursive bind of `/` then copies, remounts and tears down six more
 * mounts, which costs a run about 0.6 ms.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "csb_bwrap.h"

/* capability numbers (linux/capability.h) */
#define CSB_CAP_SETPCAP 8
#define CSB_CAP_SYS_ADMIN 21

/* (/dev/console: bubblewrap binds the caller's terminal there when our
 * standard output is one; /dev/.csb-tty0 and 2: we bind one on stdin or
 * stderr, see bw_stdio_ttys_find) */
static const char *const nodes[] = {"/dev/null", "/dev/zero",    "/dev/full",     "/dev/random",  "/dev/urandom",
                                    "/dev/tty",  "/dev/console", "/dev/.csb-tty0", "/dev/.csb-tty2"};

static unsigned long mount_flags_of(const struct statvfs *sv) {
  static const struct {
    unsigned long st, ms;
  } map[] = {{ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
             {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
  unsigned long f = 0;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (sv->f_flag & map[i].st) f |= map[i].ms;
  return f;
}

int bw_devnodes_wanted(void) { return geteuid() == 0; }

/* ---- the terminal, for a run by another user ---------------------------
 *
 * Another user's sandbox does not own the device nodes, but it owns the
 * terminal bubblewrap binds at /dev/console. Its user namespace is a
 * nested one (bubblewrap maps the caller to root to mount devpts, then
 * makes another that maps the caller back), which does not own the mount
 * namespace: capabilities there cannot remount anything. So bubblewrap
 * starts in a user namespace of ours, which maps our uid and gid to
 * themselves, and a mount namespace of its, a slave of the caller's, in
 * which the terminal is a read-only bind of itself; bubblewrap's bind
 * copies the flag, locked in its namespaces. That costs a run about
 * 0.6 ms (bubblewrap's recursive bind of `/` copies one more mount), for
 * runs on a terminal only. */

/* The host path of the terminal on fd (ttyname's, which names that very
 * device), or 0. */
static int tty_path(int fd, char *path, size_t size, dev_t *rdev) {
  struct stat st, pst;
  if (!isatty(fd) || fstat(fd, &st) != 0 || ttyname_r(fd, path, size) != 0 || path[0] != '/' ||
      stat(path, &pst) != 0 || !S_ISCHR(pst.st_mode) || pst.st_rdev != st.st_rdev)
    return 0;
  *rdev = st.st_rdev;
  return 1;
}

/* Whether rdev is among seen[0..n). */
static int seen_before(const dev_t *seen, size_t n, dev_t rdev) {
  for (size_t i = 0; i < n; i++)
    if (seen[i] == rdev) return 1;
  return 0;
}

void bw_stdio_ttys_find(bw_stdio_ttys *t) {
  memset(t, 0, sizeof *t);
  struct stat out;
  int out_tty = isatty(1) && fstat(1, &out) == 0;
  dev_t seen[2];
  for (int fd = 0; fd <= 2; fd += 2) {
    dev_t rdev;
    if (!tty_path(fd, t->path[t->n], sizeof t->path[t->n], &rdev)) continue;
    if ((out_tty && rdev == out.st_rdev) /* /dev/console */ || seen_before(seen, t->n, rdev)) continue;
    seen[t->n] = rdev;
    t->fd[t->n++] = fd;
  }
}

int bw_tty_seal_wanted(bw_tty_seal *t) {
  memset(t, 0, sizeof *t);
  if (geteuid() == 0) return 0;
  static const char *const names[] = {"input", "output", "error"};
  dev_t seen[3];
  for (int fd = 0; fd <= 2; fd++) {
    dev_t rdev;
    if (!tty_path(fd, t->tty[t->n], sizeof t->tty[t->n], &rdev)) continue;
    size_t l = strlen(t->which);
    snprintf(t->which + l, sizeof t->which - l, "%s%s", l ? ", " : "", names[fd]);
    if (!seen_before(seen, t->n, rdev)) seen[t->n++] = rdev;
  }
  if (t->n == 0) return 0;
  snprintf(t->uid_map, sizeof t->uid_map, "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
  snprintf(t->gid_map, sizeof t->gid_map, "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
  return 1;
}

static int fail(bw_devnodes_error *e, const char *step, const char *node) {
  e->err = errno ? errno : EIO;
  e->step = step;
  e->node = node;
  return 0;
}

/* Writes text (no allocation) to the file `name`. */
static int write_proc(const char *name, const char *text) {
  int fd = open(name, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)len;
}

int bw_tty_seal_apply(const bw_tty_seal *t, bw_devnodes_error *e) {
  e->err = 0;
  e->step = e->node = NULL;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return fail(e, "unshare(CLONE_NEWUSER|CLONE_NEWNS)", NULL);
  if (!write_proc("/proc/self/setgroups", "deny")) return fail(e, "writing /proc/self/setgroups", NULL);
  if (!write_proc("/proc/self/uid_map", t->uid_map)) return fail(e, "writing /proc/self/uid_map", NULL);
  if (!write_proc("/proc/self/gid_map", t->gid_map)) return fail(e, "writing /proc/self/gid_map", NULL);
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) return fail(e, "mount(/, MS_REC|MS_SLAVE)", NULL);
  for (size_t i = 0; i < t->n; i++) {
    struct statvfs sv;
    if (statvfs(t->tty[i], &sv) != 0) return fail(e, "statvfs", t->tty[i]);
    if (mount(t->tty[i], t->tty[i], NULL, MS_BIND, NULL) != 0) return fail(e, "bind mount", t->tty[i]);
    unsigned long f = mount_flags_of(&sv) & ~(unsigned long)MS_NODEV;
    if (mount(NULL, t->tty[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | f, NULL) != 0)
      return fail(e, "read-only remount", t->tty[i]);
  }
  return 1;
}

int bw_devnodes_seal(csb_error *err) {
  int ok = 1;
  for (size_t i = 0; ok && i < sizeof nodes / sizeof nodes[0]; i++) {
    struct statvfs sv;
    if (statvfs(nodes[i], &sv) != 0) {
      if (errno == ENOENT) continue; /* the host has none: bubblewrap bound none */
      ok = csb_error_set(err, "statvfs %s: %s", nodes[i], strerror(errno));
      break;
    }
    unsigned long f = mount_flags_of(&sv) & ~(unsigned long)MS_NODEV;
    if (mount(NULL, nodes[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | f, NULL) != 0)
      ok = csb_error_set(err, "read-only remount of %s: %s", nodes[i], strerror(errno));
  }
  /* The two capabilities go whatever happened: from the bounding set
   * (CAP_SETPCAP last: it is what that takes), then from every other.
   * bubblewrap left no other one (--cap-drop ALL; the caller checks the
 * process's sets: bw_caps_none). */
  csb_error drop, clear;
  csb_error_clear(&drop);
  csb_error_clear(&clear);
  int dropped = bw_caps_drop_bounding(CSB_CAP_SYS_ADMIN, &drop) && bw_caps_drop_bounding(CSB_CAP_SETPCAP, &drop);
  if (dropped && (bw_caps_in_bounding(CSB_CAP_SYS_ADMIN) || bw_caps_in_bounding(CSB_CAP_SETPCAP)))
    dropped = csb_error_set(&drop, "CAP_SYS_ADMIN or CAP_SETPCAP still in the bounding set");
  int cleared = bw_caps_clear(&clear);
  if (ok && !(dropped && cleared)) ok = csb_error_set(err, "%s", dropped ? clear.msg : drop.msg);
  return ok;
}
