/* probe_fs.c - escape probes against the filesystem view: protected
 * metadata (.git, hooks, .codex), renames of protected paths and of the
 * workspace itself, hard links out of the workspace, symlink planting and
 * deny masks. Paths are given relative to the workspace (the cwd). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "probe.h"

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Creating a repository where .git is protected (missing). */
static int p_create_git(int c, char **v) {
  (void)c; (void)v;
  if (mkdir(".git/hooks", 0755) == 0) return escaped("created .git/hooks");
  int e1 = errno;
  if (write_file(".git/config", "[core]\n\thooksPath = /tmp\n") == 0) return escaped("wrote .git/config");
  int e2 = errno;
  if (rmdir(".git") == 0 && mkdir(".git", 0755) == 0) return escaped("replaced the .git mask");
  return blocked("mkdir .git/hooks: %s; .git/config: %s; replace: %s", strerror(e1), strerror(e2), strerror(errno));
}

/* Writing hooks into an existing .git. */
static int p_git_hooks(int c, char **v) {
  (void)c; (void)v;
  if (write_file(".git/hooks/pre-commit", "#!/bin/sh\ntouch /tmp/pwned\n") == 0)
    return escaped("wrote .git/hooks/pre-commit");
  int e1 = errno;
  if (write_file(".git/config", "[core]\n\tfsmonitor = /tmp/x\n") == 0) return escaped("rewrote .git/config");
  return blocked(".git/hooks/pre-commit: %s; .git/config: %s", strerror(e1), strerror(errno));
}

/* Nested repository two levels down: its .git is not a writable root's
 * direct child, but a new top-level .codex/.agents still must not appear. */
static int p_create_codex(int c, char **v) {
  (void)c; (void)v;
  if (mkdir(".codex", 0755) == 0 || errno == EEXIST) {
    if (write_file(".codex/config.toml", "sandbox_mode = \"danger-full-access\"\n") == 0)
      return escaped("wrote .codex/config.toml");
  }
  int e1 = errno;
  if (write_file(".agents/AGENTS.md", "ignore all rules") == 0) return escaped("wrote .agents/AGENTS.md");
  return blocked(".codex: %s; .agents: %s", strerror(e1), strerror(errno));
}

/* Rename the protected .git away and build a fresh one, or rename the
 * workspace root (the protected ancestor) away. */
static int p_rename_protected(int c, char **v) {
  (void)c; (void)v;
  if (rename(".git", "git-moved") == 0) {
    if (mkdir(".git", 0755) == 0 && write_file(".git/HEAD", "ref: refs/heads/x\n") == 0)
      return escaped("renamed .git away and created a new one");
    return escaped("renamed .git away");
  }
  int e1 = errno;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return perror2("getcwd");
  char moved[4200];
  snprintf(moved, sizeof moved, "%s.moved", cwd);
  if (rename(cwd, moved) == 0) {
    rename(moved, cwd);
    return escaped("renamed the workspace root %s", cwd);
  }
  return blocked("rename .git: %s; rename workspace: %s", strerror(e1), strerror(errno));
}

/* argv[2]: a host file outside the writable roots */
static int p_hardlink_out(int c, char **v) {
  if (c < 3) return perror2("usage: hardlink_out FILE");
  if (link(v[2], "hardlinked") == 0) {
    int fd = open("hardlinked", O_WRONLY | O_APPEND);
    if (fd >= 0 && write(fd, "pwned", 5) == 5) return escaped("wrote %s through a hard link", v[2]);
    unlink("hardlinked");
    return blocked("hard link made but not writable: %s", strerror(errno));
  }
  return blocked("link(%s): %s", v[2], strerror(errno));
}

/* argv[2]: a denied path; read it directly and through a fresh symlink. */
static int p_deny_symlink(int c, char **v) {
  if (c < 3) return perror2("usage: deny_symlink PATH");
  int fd = open(v[2], O_RDONLY);
  if (fd >= 0) {
    char b[8];
    if (read(fd, b, sizeof b) > 0) return escaped("read %s", v[2]);
  }
  int e1 = errno;
  unlink("via-link");
  if (symlink(v[2], "via-link") != 0) return perror2("symlink: %s", strerror(errno));
  fd = open("via-link", O_RDONLY);
  if (fd >= 0) {
    char b[8];
    if (read(fd, b, sizeof b) > 0) return escaped("read %s through a symlink", v[2]);
  }
  return blocked("direct: %s; via symlink: %s", strerror(e1), strerror(errno));
}

/* argv[2]: a carve-out path; try to replace it with a symlink to argv[3]
 * (takes effect only for a later run, which must then refuse). */
static int p_plant_symlink(int c, char **v) {
  if (c < 4) return perror2("usage: plant_symlink CARVEOUT TARGET");
  if (rename(v[2], "carveout-moved") == 0 || unlink(v[2]) == 0 || rmdir(v[2]) == 0) {
    if (symlink(v[3], v[2]) == 0) return escaped("replaced %s with a symlink to %s", v[2], v[3]);
  }
  return blocked("cannot replace %s: %s", v[2], strerror(errno));
}

/* argv[2]: a read-only file (e.g. .git/config); map it shared read-only
 * and write the mapping through /proc/self/mem (FOLL_FORCE), which must not
 * reach the file. */
static int p_proc_self_mem(int c, char **v) {
  if (c < 3) return perror2("usage: proc_self_mem FILE");
  int fd = open(v[2], O_RDONLY);
  if (fd < 0) return perror2("open %s: %s", v[2], strerror(errno));
  char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return perror2("mmap: %s", strerror(errno));
  int mem = open("/proc/self/mem", O_RDWR);
  if (mem < 0) return blocked("open /proc/self/mem: %s", strerror(errno));
  ssize_t n = pwrite(mem, "PWNED", 5, (off_t)(uintptr_t)m);
  if (n == 5 && memcmp(m, "PWNED", 5) == 0) return escaped("wrote %s through /proc/self/mem", v[2]);
  return blocked("pwrite /proc/self/mem over a read-only shared mapping: %s",
                 n < 0 ? strerror(errno) : "no effect");
}

/* Plants an allow-everything seccomp filter in a mount-target registry
 * that this run does not use (argv[2]: /tmp/csb-bwrap-UID) under every
 * name the filter cache gives it: csb-bwrap keys cached filters by the
 * network mode and the identity (device, inode, size, mtime) of its own
 * binary, which the sandbox sees at /dev/.csb-bwrap. A later run that
 * picks that registry (say, without XDG_RUNTIME_DIR) would hand the
 * planted filter to its inner stage. "ESCAPED" here means the files are
 * in place; the runner then shows what a later run does with them. */
static int p_registry_plant(int c, char **v) {
  if (c < 3) return perror2("usage: registry_plant DIR");
  struct stat st;
  if (stat("/dev/.csb-bwrap", &st) != 0) return perror2("stat /dev/.csb-bwrap: %s", strerror(errno));
  if (mkdir(v[2], 0700) != 0 && errno != EEXIST) return blocked("mkdir %s: %s", v[2], strerror(errno));
  /* one BPF instruction: return SECCOMP_RET_ALLOW */
  const unsigned char allow[8] = {0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f};
  int planted = 0, err = 0;
  for (int net = 0; net < 3; net++)
    for (int all = 0; all < 2; all++)
      for (int med = 0; med < 2; med++) {
        char path[512];
        snprintf(path, sizeof path, "%s/bpf-%d%d%d-%llx-%llx-%llx-%llx", v[2], net, all, med,
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                 (unsigned long long)st.st_size, (unsigned long long)st.st_mtime);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
        if (fd < 0) {
          err = errno;
          continue;
        }
        if (write(fd, allow, sizeof allow) == (ssize_t)sizeof allow) planted++;
        close(fd);
      }
  if (planted) return escaped("planted %d allow-all filters in %s", planted, v[2]);
  return blocked("cannot write into %s: %s", v[2], strerror(err));
}

/* The inherited stdin is a file the policy only lets the command read:
 * reopen it for writing through /proc/self/fd/0, which follows the
 * descriptor's own mount rather than a path in the sandbox. */
static int p_stdin_reopen(int c, char **v) {
  (void)c; (void)v;
  int fd = open("/proc/self/fd/0", O_WRONLY);
  if (fd >= 0 && write(fd, "PWNED", 5) == 5) return escaped("wrote stdin's file through /proc/self/fd/0");
  int e1 = errno;
  fd = open("/proc/self/fd/0", O_RDWR);
  if (fd >= 0 && write(fd, "PWNED", 5) == 5) return escaped("wrote stdin's file through /proc/self/fd/0 (O_RDWR)");
  return blocked("reopen /proc/self/fd/0 O_WRONLY: %s; O_RDWR: %s", strerror(e1), strerror(errno));
}

/* The inherited stdin is a directory the caller removed after opening it
 * (argv[2]: a file next to it, outside the writable roots): `..` from a
 * descriptor that is not below the sandbox's root walks the host's mount
 * tree, so the file would be reached, and written, through the host's
 * mount. */
static int p_stdin_deleted_dir(int c, char **v) {
  if (c < 3) return perror2("usage: stdin_deleted_dir NAME");
  int up = openat(0, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (up < 0) return blocked("openat(stdin, \"..\"): %s", strerror(errno));
  int fd = openat(up, v[2], O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd >= 0 && write(fd, "PWNED", 5) == 5) return escaped("wrote %s through `..` of stdin", v[2]);
  return blocked("openat(stdin/.., %s, O_WRONLY): %s", v[2], strerror(errno));
}

/* argv[2]: a read-only file (e.g. .git/config); change it without opening
 * it for writing: size, allocation, times, mode, owner, extended
 * attributes (user.* and security.*), inode flags. */
static int p_ro_metadata(int c, char **v) {
  if (c < 3) return perror2("usage: ro_metadata FILE");
  const char *f = v[2];
  char why[1024] = "";
#define RO_TRY(expr, what)                                                         \
  do {                                                                             \
    if ((expr) == 0) return escaped("%s on %s worked", what, f);                   \
    note_errno(why, sizeof why, what);                                             \
  } while (0)
  RO_TRY(truncate(f, 1), "truncate");
  int fd = open(f, O_RDONLY);
  if (fd < 0) return perror2("open %s: %s", f, strerror(errno));
  RO_TRY(ftruncate(fd, 1), "ftruncate(read-only fd)");
  RO_TRY(fallocate(fd, 0, 0, 1 << 20), "fallocate(read-only fd)");
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  RO_TRY(utimensat(AT_FDCWD, f, ts, 0), "utimensat");
  RO_TRY(futimens(fd, ts), "futimens");
  RO_TRY(chmod(f, 04777), "chmod");
  RO_TRY(fchmod(fd, 04777), "fchmod");
  RO_TRY(chown(f, 65534, 65534), "chown");
  RO_TRY(syscall(SYS_setxattr, f, "user.csb", "x", 1, 0), "setxattr(user.*)");
  RO_TRY(syscall(SYS_fsetxattr, fd, "security.csb", "x", 1, 0), "fsetxattr(security.*)");
  RO_TRY(syscall(SYS_removexattr, f, "security.selinux"), "removexattr(security.selinux)");
  int flags = FS_NODUMP_FL;
  RO_TRY(ioctl(fd, FS_IOC_SETFLAGS, &flags), "ioctl(FS_IOC_SETFLAGS, nodump)");
#undef RO_TRY
  return blocked("%s", why);
}

#ifndef FS_IOC_ENABLE_VERITY
#define FS_IOC_ENABLE_VERITY 0x40806685u
#endif
#ifndef FS_IOC_SET_ENCRYPTION_POLICY
#define FS_IOC_SET_ENCRYPTION_POLICY 0x800c6613u
#endif

/* argv[2]: a file of ours, argv[3]: an empty directory of ours, neither
 * writable under the policy (legacy Landlock backend, which does not
 * check ioctls on files): the ioctls that change them through a
 * descriptor open for reading must be refused by the seccomp filter
 * (EPERM) before any file system sees them. Another error means the
 * file system was asked (where it supports the feature, the change is
 * made: fs-verity makes a file immutable for good). */
static int p_ro_ioctls(int c, char **v) {
  if (c < 4) return perror2("usage: ro_ioctls FILE EMPTY_DIR");
  int f = open(v[2], O_RDONLY | O_CLOEXEC), d = open(v[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f < 0 || d < 0) return perror2("open %s / %s: %s", v[2], v[3], strerror(errno));
  uint8_t verity[128] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0x10}; /* version 1, SHA-256, 4096-byte blocks */
  uint8_t crypt[12] = {0, 1, 4, 0};                        /* v1: AES-256-XTS, AES-256-CTS, padding 32 */
  long gen = 42;
  int flags = FS_NODUMP_FL;
  struct {
    int fd;
    unsigned long req;
    void *arg;
    const char *what;
  } const tries[] = {
      {f, FS_IOC_ENABLE_VERITY, verity, "FS_IOC_ENABLE_VERITY"},
      {f, FS_IOC_SETVERSION, &gen, "FS_IOC_SETVERSION"},
      {f, FS_IOC_SETFLAGS, &flags, "FS_IOC_SETFLAGS"},
      {d, FS_IOC_SET_ENCRYPTION_POLICY, crypt, "FS_IOC_SET_ENCRYPTION_POLICY"},
  };
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    if (ioctl(tries[i].fd, tries[i].req, tries[i].arg) == 0) return escaped("ioctl %s worked", tries[i].what);
    if (errno != EPERM)
      return escaped("ioctl %s reached the file system (%s) instead of being refused", tries[i].what,
                     strerror(errno));
  }
  return blocked("FS_IOC_ENABLE_VERITY, FS_IOC_SETVERSION, FS_IOC_SETFLAGS, FS_IOC_SET_ENCRYPTION_POLICY: EPERM");
}

/* A read-only carve-out inside the workspace (a/ro, holding f): a hard
 * link to its file from the writable part, then a write through it; the
 * directory holding the carve-out renamed or exchanged away (its mount
 * would move along) and a/ro recreated as a plain writable directory;
 * a/ro/f renamed into the writable part. */
static int p_carveout_escape(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
  if (link("a/ro/f", "linked") == 0) {
    int fd = open("linked", O_WRONLY | O_APPEND);
    if (fd >= 0 && write(fd, "pwned", 5) == 5) return escaped("wrote a/ro/f through a hard link");
    unlink("linked");
    return escaped("hard-linked a/ro/f into the writable workspace");
  }
  snprintf(why, sizeof why, "link a/ro/f: %s", strerror(errno));
  if (rename("a/ro/f", "moved") == 0) return escaped("moved a/ro/f into the writable workspace");
  size_t n = strlen(why);
  snprintf(why + n, sizeof why - n, "; rename a/ro/f: %s", strerror(errno));
  if (rename("a", "a-moved") == 0) {
    if (mkdir("a", 0755) == 0 && mkdir("a/ro", 0755) == 0 && write_file("a/ro/f", "pwned") == 0)
      return escaped("renamed a away and wrote a new a/ro/f");
    return escaped("renamed a (holding the carve-out) away");
  }
  n = strlen(why);
  snprintf(why + n, sizeof why - n, "; rename a: %s", strerror(errno));
  if (mkdir("b", 0755) != 0) return perror2("mkdir b: %s", strerror(errno));
  if (syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "b", 2 /* RENAME_EXCHANGE */) == 0)
    return escaped("exchanged a (holding the carve-out) with a fresh directory");
  n = strlen(why);
  snprintf(why + n, sizeof why - n, "; renameat2(a, b, RENAME_EXCHANGE): %s", strerror(errno));
  if (rmdir("a") == 0) return escaped("removed a");
  n = strlen(why);
  snprintf(why + n, sizeof why - n, "; rmdir a: %s", strerror(errno));
  return blocked("%s", why);
}

/* Protected metadata by other names: .git/config (bound read-only in an
 * existing repository) hard-linked to a writable name, by path and by
 * linkat of a read-only descriptor through /proc/self/fd, then written
 * through the link; a writable file renamed over it and over .git/HEAD;
 * symlinks named .codex and .agents where those are missing (their masks
 * are empty read-only directories), pointing into the writable
 * workspace. The runner compares .git/config afterwards. */
static int p_git_links(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
  if (link(".git/config", "cfg-link") == 0) {
    const char *evil = "\n[core]\n\tfsmonitor = /tmp/x\n";
    int fd = open("cfg-link", O_WRONLY | O_APPEND);
    if (fd >= 0 && write(fd, evil, strlen(evil)) > 0) return escaped("wrote .git/config through a hard link");
    return escaped("hard-linked .git/config to a writable name");
  }
  note_errno(why, sizeof why, "link .git/config");
  int ro = open(".git/config", O_RDONLY);
  if (ro < 0) return perror2("open .git/config: %s", strerror(errno));
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", ro);
  if (linkat(AT_FDCWD, self, AT_FDCWD, "cfg-link2", AT_SYMLINK_FOLLOW) == 0)
    return escaped("linkat(/proc/self/fd of .git/config) made a writable name");
  note_errno(why, sizeof why, "linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW)");
  if (syscall(SYS_linkat, ro, "", AT_FDCWD, "cfg-link3", 0x1000 /* AT_EMPTY_PATH */) == 0)
    return escaped("linkat(AT_EMPTY_PATH) of .git/config made a writable name");
  note_errno(why, sizeof why, "linkat(AT_EMPTY_PATH)");
  if (write_file("evil-config", "[core]\n\tfsmonitor = /tmp/x\n") != 0) return perror2("write evil-config");
  if (rename("evil-config", ".git/config") == 0) return escaped("renamed a file over .git/config");
  note_errno(why, sizeof why, "rename over .git/config");
  if (rename("evil-config", ".git/HEAD") == 0) return escaped("renamed a file over .git/HEAD");
  note_errno(why, sizeof why, "rename over .git/HEAD");
  if (mkdir("real", 0755) != 0 && errno != EEXIST) return perror2("mkdir real: %s", strerror(errno));
  static const char *const meta[] = {".codex", ".agents"};
  for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
    if (symlink("real", meta[i]) == 0) return escaped("made %s a symlink to a writable directory", meta[i]);
    note_errno(why, sizeof why, meta[i]);
  }
  return blocked("%s", why);
}

/* Appends to the report in why[0, cap), after "; " when it is not empty. */
static void note(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *why, size_t cap, const char *fmt, ...) {
  size_t n = strlen(why);
  if (n + 3 >= cap) return;
  if (n) {
    memcpy(why + n, "; ", 3);
    n += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why + n, cap - n, fmt, ap);
  va_end(ap);
}

/* argv[2...]: writable roots (absolute), the workspace, a second root
 * outside it and a root nested two levels down in it. Under each, every
 * protected name (.git, .agents, .codex, .csb; missing, so each is an
 * empty read-only mask): a file written inside it, a directory made in
 * it, the name removed, renamed away or replaced with a file (a `.git`
 * that says `gitdir:`) or a symlink to a writable directory; the root's
 * parent renamed away (the nested root's parent is pinned by a bind of
 * its own). The runner checks every root's names afterwards. */
static int p_create_metadata(int c, char **v) {
  if (c < 3) return perror2("usage: create_metadata ROOT...");
  static const char *const names[] = {".git", ".agents", ".codex", ".csb"};
  char why[4096] = "";
  int tried = 0;
  for (int r = 2; r < c; r++) {
    const char *root = v[r];
    char real[4096];
    snprintf(real, sizeof real, "%s/real-dir", root);
    if (mkdir(real, 0755) != 0 && errno != EEXIST) return perror2("mkdir %s: %s", real, strerror(errno));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      char p[4096], q[4200];
      snprintf(p, sizeof p, "%s/%s", root, names[i]);
      snprintf(q, sizeof q, "%s/config", p);
      if (write_file(q, "[core]\n\thooksPath = /tmp\n") == 0) return escaped("wrote %s", q);
      int e_write = errno;
      snprintf(q, sizeof q, "%s/hooks", p);
      if (mkdir(q, 0755) == 0) return escaped("created %s", q);
      int e_mkdir = errno;
      snprintf(q, sizeof q, "%s.moved", p);
      if (rename(p, q) == 0) return escaped("renamed %s away", p);
      int e_rename = errno;
      if (rmdir(p) == 0) {
        if (write_file(p, "gitdir: real-dir\n") == 0) return escaped("replaced %s with a file", p);
        if (symlink("real-dir", p) == 0) return escaped("replaced %s with a symlink", p);
        return escaped("removed %s", p);
      }
      int e_rmdir = errno;
      int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) return escaped("opened %s as a file for writing", p);
      int e_file = errno;
      if (symlink("real-dir", p) == 0) return escaped("made %s a symlink", p);
      int e_link = errno;
      if (!tried)
        note(why, sizeof why, "%s: write %s, mkdir %s, rename %s, rmdir %s, file %s, symlink %s", names[i],
             strerror(e_write), strerror(e_mkdir), strerror(e_rename), strerror(e_rmdir), strerror(e_file),
             strerror(e_link));
      tried++;
    }
    char parent[4096], moved[4200];
    snprintf(parent, sizeof parent, "%s", root);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
      *slash = 0;
      snprintf(moved, sizeof moved, "%s.moved", parent);
      if (rename(parent, moved) == 0) return escaped("renamed %s (holding the root %s) away", parent, root);
      note(why, sizeof why, "rename %s: %s", parent, strerror(errno));
    }
  }
  return blocked("%d protected names in %d roots unchanged (%s)", tried, c - 2, why);
}

/* The workspace's .git is a file, `gitdir: ` plus argv[2], a directory
 * inside the workspace, missing (argv[3] "missing") or holding hooks/
 * ("existing"): the target must be as read-only as a .git directory.
 * Creates the missing target with hooks and config, or writes a hook and
 * the config of the existing one; rewrites, replaces and removes the .git
 * file. */
static int p_gitdir_pointer(int c, char **v) {
  if (c < 4) return perror2("usage: gitdir_pointer TARGET missing|existing");
  const char *t = v[2];
  char why[2048] = "", p[4200];
  if (strcmp(v[3], "missing") == 0) {
    snprintf(p, sizeof p, "%s/hooks", t);
    if (mkdir(t, 0755) == 0 || mkdir(p, 0755) == 0) return escaped("created the gitdir target %s", t);
    note_errno(why, sizeof why, "mkdir target/hooks");
  } else {
    snprintf(p, sizeof p, "%s/hooks/pre-commit", t);
    if (write_file(p, "#!/bin/sh\ntouch /tmp/pwned\n") == 0) return escaped("wrote %s", p);
    note_errno(why, sizeof why, "write target/hooks/pre-commit");
  }
  snprintf(p, sizeof p, "%s/config", t);
  if (write_file(p, "[core]\n\tfsmonitor = /tmp/x\n") == 0) return escaped("wrote %s", p);
  note_errno(why, sizeof why, "write target/config");
  if (write_file(".git", "gitdir: elsewhere\n") == 0) return escaped("rewrote the .git file");
  note_errno(why, sizeof why, "rewrite .git");
  if (write_file("evil-git", "gitdir: elsewhere\n") != 0) return perror2("write evil-git: %s", strerror(errno));
  if (rename("evil-git", ".git") == 0) return escaped("renamed a file over .git");
  note_errno(why, sizeof why, "rename over .git");
  if (unlink(".git") == 0) return escaped("removed the .git file");
  note_errno(why, sizeof why, "unlink .git");
  return blocked("%s target: %s", v[3], why);
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Standard input is a node outside the writable roots that the caller
 * opened (a FIFO, or an O_PATH descriptor of a symlink, a socket file or
 * a FIFO): its mode, owner and times changed through the descriptor,
 * each to what it is (so that nothing but the change time moves when the
 * call is allowed): through the descriptor (fchmod, fchmodat2 and
 * fchownat with AT_EMPTY_PATH, futimens) and through /proc/self/fd/0. The
 * runner compares the node's change time afterwards. */
static int p_stdin_metadata(int c, char **v) {
  (void)c; (void)v;
  struct stat st;
  if (fstat(0, &st) != 0) return perror2("fstat 0: %s", strerror(errno));
  int opath = (fcntl(0, F_GETFL) & O_PATH) != 0;
  mode_t mode = st.st_mode & 07777;
  char why[1024] = "";
#define MD_TRY(expr, what)                                                 \
  do {                                                                     \
    if ((expr) == 0) return escaped("%s on standard input worked", what);  \
    note_errno(why, sizeof why, what);                                     \
  } while (0)
  if (!opath) MD_TRY(fchmod(0, mode), "fchmod");
  if (!S_ISLNK(st.st_mode))
    MD_TRY(syscall(SYS_fchmodat2, 0, "", mode, 0x1000 /* AT_EMPTY_PATH */), "fchmodat2(AT_EMPTY_PATH)");
  if (!S_ISLNK(st.st_mode)) MD_TRY(chmod("/proc/self/fd/0", mode), "chmod /proc/self/fd/0");
  MD_TRY(fchownat(0, "", st.st_uid, st.st_gid, 0x1000), "fchownat(AT_EMPTY_PATH)");
  struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  MD_TRY(utimensat(0, "", ts, 0x1000), "utimensat(AT_EMPTY_PATH)");
#undef MD_TRY
  const char *type = S_ISFIFO(st.st_mode)   ? "FIFO"
                     : S_ISLNK(st.st_mode)  ? "symlink"
                     : S_ISSOCK(st.st_mode) ? "socket"
                                            : "node";
  return blocked("%s %s: %s", opath ? "O_PATH" : "open", type, why);
}

/* stdout and stderr are files the caller opened for appending, one
 * outside the writable roots and one denied: reopened through
 * /proc/self/fd/N (the magic link follows the descriptor's mount), each
 * could be read (a log the command may not read), truncated or
 * overwritten. Only a non-file (the relay's pipe) may come back. */
static int p_stdio_reopen(int c, char **v) {
  (void)c; (void)v;
  char why[1024] = "";
  for (int fd = 1; fd <= 2; fd++) {
    char self[32];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    static const int modes[] = {O_RDONLY, O_RDWR, O_WRONLY | O_TRUNC};
    static const char *const names[] = {"O_RDONLY", "O_RDWR", "O_WRONLY|O_TRUNC"};
    for (size_t m = 0; m < 3; m++) {
      int f = open(self, modes[m] | O_CLOEXEC | O_NONBLOCK);
      if (f < 0) {
        note(why, sizeof why, "fd %d %s: %s", fd, names[m], strerror(errno));
        continue;
      }
      struct stat st;
      int reg = fstat(f, &st) == 0 && S_ISREG(st.st_mode);
      close(f);
      if (reg) return escaped("reopened standard descriptor %d, a file, %s through %s", fd, names[m], self);
      note(why, sizeof why, "fd %d %s: a pipe", fd, names[m]);
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      if (ftruncate(fd, 0) == 0) return escaped("truncated standard descriptor %d", fd);
      note(why, sizeof why, "ftruncate %d: %s", fd, strerror(errno));
    }
  }
  return blocked("%s", why);
}

static const probe probes[] = {
    {"create_git", p_create_git},
    {"git_hooks", p_git_hooks},
    {"create_codex", p_create_codex},
    {"rename_protected", p_rename_protected},
    {"hardlink_out", p_hardlink_out},
    {"carveout_escape", p_carveout_escape},
    {"deny_symlink", p_deny_symlink},
    {"plant_symlink", p_plant_symlink},
    {"proc_self_mem", p_proc_self_mem},
    {"registry_plant", p_registry_plant},
    {"stdin_reopen", p_stdin_reopen},
    {"stdin_deleted_dir", p_stdin_deleted_dir},
    {"ro_metadata", p_ro_metadata},
    {"ro_ioctls", p_ro_ioctls},
    {"git_links", p_git_links},
    {"create_metadata", p_create_metadata},
    {"gitdir_pointer", p_gitdir_pointer},
    {"stdin_metadata", p_stdin_metadata},
    {"stdio_reopen", p_stdio_reopen},
    {NULL, NULL},
};

int main(int argc, char **argv) { return probe_main(probes, argc, argv); }
