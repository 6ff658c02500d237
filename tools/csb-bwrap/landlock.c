/* landlock.c - the legacy Landlock backend (raw syscalls, no library).
 *
 * Used only when the policy says linux_backend = "landlock" (it round-trips
 * to the legacy model and the user asked for it). Landlock rules only add
 * access, so carve-outs inside writable roots (protected .git/.codex/...,
 * read-only or denied subpaths) and deny rules cannot be expressed, and it
 * does not control chmod, chown, utimes or xattrs, which the filter then
 * refuses everywhere: so policies with deny rules or writable roots (other
 * than full-disk write) are refused rather than enforced partially.
 *
 * ABI negotiation: the handled access set is the one of the kernel's ABI
 * (v1 base rights, v2 REFER, v3 TRUNCATE, v5 IOCTL_DEV); v3 is required
 * (without TRUNCATE a read-only file could be truncated), and a restricted
 * network additionally needs v6 (scoping of abstract Unix sockets, since
 * there is no network namespace on this path).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_paths.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* Kernel ABI (include/uapi/linux/landlock.h), restated. */
struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)
#define LL_TRUNCATE (1ULL << 14)
#define LL_IOCTL_DEV (1ULL << 15)

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

#define LL_READ (LL_EXECUTE | LL_READ_FILE | LL_READ_DIR)
#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)

int bw_landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return v < 1 ? 0 : (int)v;
}

static uint64_t handled_for_abi(int abi) {
  uint64_t h = (LL_MAKE_SYM << 1) - 1; /* v1: bits 0..12 */
  if (abi >= 2) h |= LL_REFER;
  if (abi >= 3) h |= LL_TRUNCATE;
  if (abi >= 5) h |= LL_IOCTL_DEV;
  return h;
}

char *bw_landlock_unsupported(const csb_policy *p, const csb_policy_view *v) {
  return bw_landlock_unsupported_on(p, v, bw_landlock_abi());
}

char *bw_landlock_unsupported_on(const csb_policy *p, const csb_policy_view *v, int abi) {
  if (abi == 0)
    return csb_xstrdup("Landlock is not available on this kernel (needs Linux 5.13+ with "
                       "CONFIG_SECURITY_LANDLOCK and lsm=landlock); use the bubblewrap backend");
  if (abi < 3)
    return csb_xasprintf("Landlock ABI %d cannot stop truncation of read-only files (ABI 3, Linux "
                         "6.2, is needed); use the bubblewrap backend", abi);
  if (p->net_mode == CSB_NET_PROXY)
    return csb_xstrdup("network mode `proxy` needs a network namespace; use the bubblewrap backend");
  /* No PID namespace here: before ABI 6 nothing keeps the command's
   * signals (kill(-1, SIGKILL)) from the caller's processes, nor, with a
   * restricted network, its abstract Unix sockets from the host's. */
  if (abi < 6)
    return csb_xasprintf("without a PID namespace, Landlock ABI 6 (Linux 6.12) is needed to keep the "
                         "command's signals%s from the caller's processes; this kernel has ABI %d; use "
                         "the bubblewrap backend",
                         p->net_mode == CSB_NET_RESTRICTED ? " and abstract Unix sockets" : "", abi);
  if (p->n_unix_sockets > 0 && !p->allow_all_unix_sockets)
    return csb_xstrdup("Unix socket allow lists need the bubblewrap backend");
  if (v->unreadable_roots.len > 0)
    return csb_xasprintf("deny rule %s cannot be expressed with Landlock (rules only grant); use "
                         "the bubblewrap backend", v->unreadable_roots.items[0]);
  if (v->unreadable_globs.len > 0)
    return csb_xasprintf("deny glob %s cannot be expressed with Landlock; use the bubblewrap backend",
                         v->unreadable_globs.items[0]);
  if (!v->full_write) {
    for (size_t i = 0; i < v->n_writable; i++) {
      const csb_writable_root *w = &v->writable[i];
      if (w->read_only_subpaths.len > 0)
        return csb_xasprintf("read-only carve-out %s under writable root %s cannot be expressed "
                             "with Landlock; use the bubblewrap backend",
                             w->read_only_subpaths.items[0], w->root);
      if (w->protected_names.len > 0) {
        char *name = csb_path_join(w->root, w->protected_names.items[0]);
        char *why = csb_xasprintf("protected metadata %s under writable root %s cannot be kept "
                                  "read-only with Landlock; use the bubblewrap backend",
                                  name, w->root);
        free(name);
        return why;
      }
    }
    /* Landlock does not control chmod, chown, utimes or xattrs: the
     * filter refuses them, which only a policy that writes nothing can
     * afford */
    if (v->n_writable > 0)
      return csb_xasprintf("writable root %s: Landlock cannot keep the modes, owners, times and "
                           "extended attributes of files outside it from changing (chmod, touch and "
                           "setfattr reach every file the user owns) while allowing them inside; use "
                           "the bubblewrap backend", v->writable[0].root);
  }
  return NULL;
}

static int add_rule(int ruleset, const char *path, uint64_t access, uint64_t handled,
                    csb_error *err) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    /* missing roots are skipped, and so are those below a file (which
     * cannot exist), as the bubblewrap backend skips them */
    if (errno == ENOENT || errno == ENOTDIR) return 1;
    return csb_error_set(err, "Landlock rule for %s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) access &= LL_FILE_RIGHTS;
  struct ll_path_beneath_attr a = {access & handled, fd};
  long rc = syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &a, 0);
  int e = errno;
  close(fd);
  if (rc != 0) return csb_error_set(err, "landlock_add_rule(%s): %s", path, strerror(e));
  return 1;
}

int bw_landlock_apply(const csb_policy *p, const csb_policy_view *v, csb_error *err) {
  char *why = bw_landlock_unsupported(p, v);
  if (why) {
    csb_error_set(err, "cannot enforce this policy with Landlock: %s", why);
    free(why);
    return 0;
  }
  int abi = bw_landlock_abi();
  uint64_t handled = handled_for_abi(abi);
  struct ll_ruleset_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.handled_access_fs = handled;
  size_t attr_size = abi >= 6 ? sizeof attr : (abi >= 4 ? 16 : 8);
  if (abi >= 6) attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (rs < 0) return csb_error_set(err, "landlock_create_ruleset: %s", strerror(errno));
  int ok = 1;
  uint64_t all = handled;
  if (v->full_write) {
    ok = add_rule(rs, "/", all, handled, err);
  } else {
    if (v->full_read) {
      ok = add_rule(rs, "/", LL_READ, handled, err);
    } else {
      for (size_t i = 0; ok && i < v->readable_roots.len; i++)
        ok = add_rule(rs, v->readable_roots.items[i], LL_READ, handled, err);
      for (size_t i = 0; ok && i < v->platform_read_roots.len; i++)
        ok = add_rule(rs, v->platform_read_roots.items[i], LL_READ, handled, err);
    }
    /* (writable roots are refused here: bw_landlock_unsupported) */
    if (ok) ok = add_rule(rs, "/dev/null", all, handled, err);
  }
  /* No capability survives into the command, as none does in the
   * bubblewrap backend's user namespace: run by root there is no
   * namespace here, and root's capabilities would reach what Landlock and
   * the filter leave to them (the host's network configuration through
   * NETLINK_ROUTE, other users' processes' limits and priorities, SysV IPC
   * of any owner, devices the policy lets it read). After the rules, whose
   * paths root may reach only with its capabilities (a directory of
   * another user's). */
  if (ok) ok = bw_caps_drop_all(err);
  if (ok && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    ok = csb_error_set(err, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
  if (ok && syscall(SYS_landlock_restrict_self, rs, 0) != 0)
    ok = csb_error_set(err, "landlock_restrict_self: %s", strerror(errno));
  close(rs);
  return ok;
}
