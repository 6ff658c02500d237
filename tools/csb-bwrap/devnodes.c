/* devnodes.c - the host's device nodes, read-only for a root run.
 *
 * bubblewrap's --dev binds the host's /dev/null, zero, full, random,
 * urandom and tty into the sandbox's /dev, read-write (its read-only
 * binds add nodev, which would make the nodes unusable). A node's mode,
 * owner and times change through the mount it is reached by, and run by
 * root the sandbox's uid 0 is the nodes' owner: the command could
 * `chmod 000 /dev/null` for every other user of the host.
 *
 * So, run by root, bubblewrap starts in a mount namespace of our own in
 * which each of these nodes is bound onto itself read-only (keeping the
 * mount's other flags, and devices usable); bubblewrap's bind inherits
 * the read-only flag, and in the sandbox's user namespace it is locked.
 * Reading and writing a device node does not need a writable mount;
 * changing its metadata does (EROFS). Our namespace is a slave of the
 * host's: nothing mounted here reaches the host, what the host mounts
 * later still reaches us.
 *
 * A root without CAP_SYS_ADMIN (a container's, say) cannot make a mount
 * namespace of the host's user namespace: it makes a user namespace of
 * its own first, which maps uid and gid 0 to themselves and nothing else
 * (bubblewrap's then nests in it, as it does for any caller), and the
 * read-only flags, set from outside the sandbox's, are locked there too.
 *
 * bw_devnodes_seal runs in the child of bw_spawn: system calls only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "csb_bwrap.h"

static const char *const nodes[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};

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

static int fail(bw_devnodes_error *e, const char *step, const char *node) {
  e->err = errno ? errno : EIO;
  e->step = step;
  e->node = node;
  return 0;
}

/* Writes TEXT (no allocation) to the /proc/self file NAME. */
static int write_proc(const char *name, const char *text, size_t len) {
  int fd = open(name, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = write(fd, text, len);
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)len;
}

static int own_user_namespace(bw_devnodes_error *e) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
    return fail(e, "unshare(CLONE_NEWNS), then unshare(CLONE_NEWUSER|CLONE_NEWNS)", NULL);
  static const char deny[] = "deny", map[] = "0 0 1\n";
  if (!write_proc("/proc/self/setgroups", deny, sizeof deny - 1))
    return fail(e, "writing /proc/self/setgroups", NULL);
  if (!write_proc("/proc/self/uid_map", map, sizeof map - 1)) return fail(e, "writing /proc/self/uid_map", NULL);
  if (!write_proc("/proc/self/gid_map", map, sizeof map - 1)) return fail(e, "writing /proc/self/gid_map", NULL);
  return 1;
}

int bw_devnodes_seal(bw_devnodes_error *e) {
  e->err = 0;
  e->step = e->node = NULL;
  if (unshare(CLONE_NEWNS) != 0) {
    if (errno != EPERM) return fail(e, "unshare(CLONE_NEWNS)", NULL);
    if (!own_user_namespace(e)) return 0;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) return fail(e, "mount(/, MS_REC|MS_SLAVE)", NULL);
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    struct statvfs sv;
    if (statvfs(nodes[i], &sv) != 0) {
      if (errno == ENOENT) continue; /* bubblewrap says so itself */
      return fail(e, "statvfs", nodes[i]);
    }
    if (mount(nodes[i], nodes[i], NULL, MS_BIND, NULL) != 0) return fail(e, "bind mount", nodes[i]);
    unsigned long f = mount_flags_of(&sv) & ~(unsigned long)MS_NODEV;
    if (mount(NULL, nodes[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | f, NULL) != 0)
      return fail(e, "read-only remount", nodes[i]);
  }
  return 1;
}
