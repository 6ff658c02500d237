/* csb-bwrap - run a command confined by a csb.policy/v1 document on Linux
 * (bubblewrap + seccomp, or legacy Landlock). See docs/csb-bwrap.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "bw_filters.h"
#include "csb_cli.h"
#include "csb_paths.h"

extern char **environ;

int bw_seccomp_install_common(const bw_seccomp_opts *o, int supervisor, csb_error *err);

enum { OPT_POLICY, OPT_BWRAP, OPT_PRINT_ARGV, OPT_EXPLAIN, OPT_NO_PROC, OPT_CWD, OPT_PRINT_SECCOMP, OPT_NO_GLOB_CACHE };

static const csb_cli_opt opts[] = {
    {"policy", 'p', CSB_ARG_REQUIRED, OPT_POLICY, "FILE", "policy document (csb.policy/v1); - reads stdin, as does no --policy when stdin is not a terminal"},
    {"cwd", 'C', CSB_ARG_REQUIRED, OPT_CWD, "DIR", "run CMD in DIR (default: the current directory)"},
    {"bwrap", 0, CSB_ARG_REQUIRED, OPT_BWRAP, "PATH", "use this bubblewrap instead of searching"},
    {"no-proc", 0, CSB_ARG_NONE, OPT_NO_PROC, NULL, "do not mount a fresh /proc (an empty one instead)"},
    {"no-glob-cache", 0, CSB_ARG_NONE, OPT_NO_GLOB_CACHE, NULL, "read every directory for deny globs (no expansion cache)"},
    {"print-argv", 0, CSB_ARG_NONE, OPT_PRINT_ARGV, NULL, "print the bubblewrap argv as JSON and exit"},
    {"print-seccomp", 0, CSB_ARG_NONE, OPT_PRINT_SECCOMP, NULL, "print the seccomp filter (libseccomp PFC) and exit"},
    {"explain", 0, CSB_ARG_NONE, OPT_EXPLAIN, NULL, "print what would be enforced and why, and exit"},
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL},
};

typedef struct runtime_files {
  csb_strv src, dst;
} runtime_files;

typedef struct outer {
  csb_cli cli;
  const char *policy_path; /* NULL: see csb_policy_load_arg */
  csb_policy_arg policy_arg;
  const char *bwrap_override;
  const char *cwd_opt;
  int print_argv, explain, no_proc, print_seccomp, no_glob_cache;
  char **cmd;
  csb_policy *p;
  csb_policy_view *v; /* see ensure_view */
  csb_path_memo *memo; /* the lookups of the working directory, until the view is made */
  char *cwd; /* canonical */
  runtime_files runtime;
} outer;

/* The policy's view of the file system, made on first use from the
 * lookups of the working directory (o->memo, then freed: what comes next
 * changes the tree, the registry's sweep and the mount targets, and the
 * plan takes a snapshot of its own). 0, or the exit code after saying why. */
static int ensure_view(outer *o) {
  if (o->v) return 0;
  csb_error e;
  csb_error_clear(&e);
  int ok = csb_policy_view_build_memo(o->p, o->memo, &o->v, &e);
  csb_path_memo_free(o->memo);
  o->memo = NULL;
  return ok ? 0 : csb_cli_error(&o->cli, CSB_EXIT_DATA, "policy %s: %s", o->policy_arg.name, e.msg);
}

static int is_wsl1(void) {
  char text[1024];
  int fd = open("/proc/version", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  size_t len = (size_t)n;
  text[len] = 0;
  for (size_t i = 0; i < len; i++) text[i] = (char)tolower((unsigned char)text[i]);
  int wsl1 = 0, seen = 0;
  for (char *p = strstr(text, "wsl"); p; p = strstr(p + 3, "wsl")) {
    if (isdigit((unsigned char)p[3])) {
      seen = 1;
      wsl1 = atoi(p + 3) == 1;
      break;
    }
  }
  if (!seen) wsl1 = strstr(text, "microsoft") && !strstr(text, "microsoft-standard");
  return wsl1;
}

static bw_seccomp_net net_of(const csb_policy *p) {
  switch (p->net_mode) {
  case CSB_NET_ENABLED: return BW_SECCOMP_NET_ENABLED;
  case CSB_NET_PROXY: return BW_SECCOMP_NET_PROXY;
  default: return BW_SECCOMP_NET_RESTRICTED;
  }
}

static const char *net_name(const csb_policy *p) {
  return p->net_mode == CSB_NET_ENABLED ? "enabled" : p->net_mode == CSB_NET_PROXY ? "proxy" : "restricted";
}

static int n_unix_allow(const csb_policy *p) {
  int n = 0;
  for (size_t i = 0; i < p->n_unix_sockets; i++) n += p->unix_sockets[i].allow;
  return n;
}

static void exec_direct(outer *o) {
  if (o->cwd && chdir(o->cwd) != 0) {
    csb_cli_error(&o->cli, CSB_EXIT_OSERR, "cannot enter %s: %s", o->cwd, strerror(errno));
    exit(CSB_EXIT_OSERR);
  }
  execvp(o->cmd[0], o->cmd);
  int e = errno;
  exit(csb_cli_error(&o->cli, csb_exit_for_exec_errno(e), "cannot run %s: %s", o->cmd[0], strerror(e)));
}

/* ---- our own runtime files ------------------------------------------------- */

static void add_runtime(runtime_files *r, const char *path) {
  if (!path || path[0] != '/') return;
  char *canon = realpath(path, NULL);
  if (!canon) return;
  if (!csb_strv_contains(&r->dst, path)) {
    csb_strv_push(&r->src, canon);
    csb_strv_push(&r->dst, path);
  }
  free(canon);
}

static int runtime_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  add_runtime(data, info->dlpi_name);
  return 0;
}

/* A dynamically linked csb-bwrap (the host build used by tests) needs its
 * ELF interpreter and shared libraries inside the sandbox to start the
 * inner stage; the shipped static build needs none. */
static void collect_runtime(runtime_files *r) {
  csb_strv_init(&r->src);
  csb_strv_init(&r->dst);
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
  size_t n = getauxval(AT_PHNUM);
  const ElfW(Phdr) *interp = NULL;
  for (size_t i = 0; ph && i < n; i++)
    if (ph[i].p_type == PT_INTERP) interp = &ph[i];
  if (!interp) return; /* static */
  dl_iterate_phdr(runtime_cb, r);
  /* the interpreter: its path from the loaded image */
  for (size_t i = 0; ph && i < n; i++) {
    if (ph[i].p_type != PT_PHDR) continue;
    uintptr_t base = (uintptr_t)ph - ph[i].p_vaddr;
    add_runtime(r, (const char *)(base + interp->p_vaddr));
  }
}

/* ---- legacy Landlock -------------------------------------------------------- */

static int run_landlock(outer *o) {
  csb_error e;
  csb_error_clear(&e);
  char *why = bw_landlock_unsupported(o->p, o->v);
  if (o->explain) {
    printf("backend: legacy Landlock (ABI %d)%s%s\n", bw_landlock_abi(), why ? "; REFUSED: " : "",
           why ? why : "");
    free(why);
    return 0;
  }
  if (why) {
    int rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "cannot enforce this policy with the legacy "
                                                          "Landlock backend: %s", why);
    free(why);
    return rc;
  }
  if (o->print_argv) return csb_cli_error(&o->cli, CSB_EXIT_USAGE, "--print-argv: the Landlock backend runs no bubblewrap");
  if (o->cwd && chdir(o->cwd) != 0)
    return csb_cli_error(&o->cli, CSB_EXIT_OSERR, "cannot enter %s: %s", o->cwd, strerror(errno));
  if (!bw_landlock_apply(o->p, o->v, &e)) return csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
  bw_seccomp_opts so = {net_of(o->p), o->p->allow_all_unix_sockets, 0, !o->v->full_write, 1, 0};
  if (!bw_seccomp_install_common(&so, 0, &e)) return csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
  if (syscall(436 /* close_range */, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {}
  exec_direct(o);
  return CSB_EXIT_INTERNAL;
}

/* ---- bubblewrap --------------------------------------------------------------- */

typedef struct plan {
  bw_registry *reg; /* the run's registry entries (for after_start) */
  csb_strv argv;
  bw_fsargs fs;
  bw_bwrap bw;
  bw_proxy_plan proxy;
  bw_trust_bundles trust;
  int self_fd, stderr_fd;
  int err_pipe[2], started_pipe[2], info_pipe[2], seccomp_pipe[2];
  /* The inner stage's lifeline: the read end goes to the sandbox, the
   * write end stays here alone (close-on-exec, not kept for bubblewrap),
   * so that it hangs up exactly when this process is gone. */
  int lifeline[2];
  /* The read-only masks the inner stage re-checks (NUL-separated paths in
   * a sealed memfd: there can be thousands), or -1. */
  int verify_fd;
  size_t sep; /* index in argv of the "--" before the inner stage */
  /* An early start (see early_eligible): the pipe bubblewrap reads its
   * options from, and the memfd for the masks' list, made before the
   * plan and filled after it. */
  int args_pipe[2];
  int verify_early;
  bw_seccomp_opts so;
  const char *registry;
  /* Every directory a run may pick as its registry (hidden as well). */
  char *registry_all[BW_REGISTRY_MAX_CANDIDATES];
  size_t n_registry_all;
  /* Each of them once the plan was built, when it was a directory (which
   * the plan mounts over to hide it where the sandbox would see it). */
  struct stat registry_st[BW_REGISTRY_MAX_CANDIDATES];
  int registry_was_dir[BW_REGISTRY_MAX_CANDIDATES];
  /* The deny-glob expansion cache (glob_cache_dir), or NULL. */
  char *glob_cache;
  int glob_cache_looked;
} plan;

static void evict_cache_files(const char *dir, const char *prefix, size_t keep);
static void close_fd(int *fd);

/* How many deny-glob expansions the registry keeps (one file per pattern
 * and depth limit; see csb_glob_expand_opts.cache_dir). */
#define GLOB_CACHE_MAX 64

/* An allow rule names a path, and pid 1 connects to whatever socket the
 * name shows. Where the command can write (the rule's path, or anything
 * below a directory rule), it could rename or hard-link a socket it may
 * not reach to an allowed name: such a rule must name a socket that
 * exists now, which pid 1 pins by device and inode before the command
 * starts (`--unix-allow-pinned`); anything else is refused. */
static int command_can_write(const csb_policy *p, csb_policy_evaluator *ev, const char *path,
                             const char **below) {
  csb_verdict v;
  csb_policy_evaluator_access_for(ev, path, &v);
  *below = NULL;
  for (size_t i = 0; !v.can_write && !*below && i < p->n_entries; i++)
    if (p->entries[i].access == CSB_ACCESS_WRITE && csb_path_is_strictly_under(path, p->entries[i].path))
      *below = p->entries[i].path;
  return v.can_write || *below;
}

static int unix_rule_flag(const csb_policy *p, csb_policy_evaluator *ev, const char *path,
                          const char **flag, csb_error *err) {
  /* The inner stage resolves the symlinks of the rule's directory
   * (canonical_parent in inner.c): a directory reached through a link
   * counts as the one it leads to. */
  char *dir = csb_path_parent(path), *canon_dir = NULL, *resolved = NULL;
  csb_error ignored;
  if (dir && csb_path_canonical_existing_prefix(dir, &canon_dir, &ignored)) {
    char *base = csb_path_basename(path);
    resolved = csb_path_join(canon_dir, base);
    free(base);
  }
  free(dir);
  free(canon_dir);
  const char *below = NULL, *seen = path;
  int writable = command_can_write(p, ev, path, &below);
  if (!writable && resolved && strcmp(resolved, path) != 0) {
    writable = command_can_write(p, ev, resolved, &below);
    seen = resolved;
  }
  struct stat st;
  int ok = !writable;
  if (writable && !below && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
    *flag = "--unix-allow-pinned";
    ok = 1;
  }
  if (!ok)
    csb_error_set(err,
                  "cannot enforce network.unix_sockets allow rule %s: the command can write %s, so it "
                  "could rename or hard-link a socket it may not reach to an allowed name, and this "
                  "rule names no socket that exists now to pin (backend: bubblewrap; fix: start the "
                  "server before the sandbox so that its socket is pinned, name the socket itself, "
                  "or make the directory read-only in the policy)",
                  path, below ? below : seen);
  free(resolved);
  return ok;
}

/* The deny-glob expansion cache: REGISTRY/glob, made on first use, apart
 * from the registry's records so that listing those stays short. NULL
 * where the registry is not one every run hides from its sandbox, or the
 * directory is not ours alone. */
static char *glob_cache_dir(const char *registry) {
  if (!bw_registry_trusted(registry)) return NULL;
  char *dir = csb_xasprintf("%s/glob", registry);
  struct stat st;
  if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
      st.st_uid == geteuid() && (st.st_mode & 077) == 0)
    return dir;
  free(dir);
  return NULL;
}

/* The inner stage's command line ("--" INNER FLAGS "--" CMD...), the part
 * of bubblewrap's argv after its options. What it names is known before
 * the mounts are planned (an early start passes it to bubblewrap first),
 * except for the allow rules' flags (memo: the plan's snapshot), the
 * open-file limit to restore and the standard descriptors' paths without
 * /proc, which no early start has. */
static int push_inner(const outer *o, const plan *pl, csb_strv *a, int mount_proc, csb_path_memo *memo,
                      csb_error *err) {
  csb_strv_push(a, "--");
  csb_strv_push(a, BW_INNER_PATH);
  csb_strv_push(a, BW_INNER_FLAG);
  if (o->cli.json_errors) csb_strv_push(a, "--error-format-json");
  if (bw_devnodes_wanted()) csb_strv_push(a, "--seal-devnodes");
  csb_strv_push(a, "--net");
  csb_strv_push(a, net_name(o->p));
  if (o->p->allow_all_unix_sockets) csb_strv_push(a, "--unix-all");
  csb_policy_evaluator *ev = NULL; /* for the allow rules' paths, made on first use */
  for (size_t i = 0; i < o->p->n_unix_sockets; i++) {
    const char *flag = o->p->unix_sockets[i].allow ? "--unix-allow" : "--unix-deny";
    if (o->p->unix_sockets[i].allow && !o->p->allow_all_unix_sockets) {
      if (ev == NULL) ev = csb_policy_evaluator_new_memo(o->p, memo);
      if (!unix_rule_flag(o->p, ev, o->p->unix_sockets[i].path, &flag, err)) {
        csb_policy_evaluator_free(ev);
        return 0;
      }
    }
    csb_strv_push(a, flag);
    csb_strv_push(a, o->p->unix_sockets[i].path);
  }
  csb_policy_evaluator_free(ev);
  if (pl->verify_fd >= 0) {
    csb_strv_push(a, "--verify-fd");
    csb_strv_pushf(a, "%d", pl->verify_fd);
  }
  if (pl->fs.nofile_restore) {
    csb_strv_push(a, "--nofile");
    csb_strv_pushf(a, "%llu", pl->fs.nofile_restore);
  }
  if (pl->seccomp_pipe[0] >= 0) {
    csb_strv_push(a, "--seccomp-fd");
    csb_strv_pushf(a, "%d", pl->seccomp_pipe[0]);
  }
  if (!mount_proc) {
    /* The sandbox has no /proc to read the standard descriptors' paths
     * from (inner.c, rebind_stdio): ours, which it checks by device and
     * inode. */
    for (int fd = 0; fd <= 2; fd++) {
      char link[32], target[4096];
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n <= 0 || target[0] != '/') continue;
      target[n] = 0;
      csb_strv_push(a, "--stdio-path");
      csb_strv_pushf(a, "%d:%s", fd, target);
    }
  }
  csb_strv_push(a, "--stderr-fd");
  csb_strv_pushf(a, "%d", pl->stderr_fd);
  csb_strv_push(a, "--started-fd");
  csb_strv_pushf(a, "%d", pl->started_pipe[1]);
  csb_strv_push(a, "--lifeline-fd");
  csb_strv_pushf(a, "%d", pl->lifeline[0]);
  for (size_t e = 0; e < pl->proxy.n_endpoints; e++) {
    csb_buf keys;
    csb_buf_init(&keys);
    for (size_t r = 0; r < pl->proxy.n_routes; r++) {
      if (pl->proxy.routes[r].endpoint != (int)e) continue;
      if (keys.len) csb_buf_putc(&keys, ',');
      csb_buf_puts(&keys, pl->proxy.routes[r].env_key);
    }
    csb_strv_push(a, "--proxy");
    csb_strv_pushf(a, "%d=%s", pl->proxy.endpoints[e].control_fd, keys.data ? keys.data : "");
    csb_buf_free(&keys);
  }
  csb_strv_push(a, "--");
  for (char **c = o->cmd; *c; c++) csb_strv_push(a, *c);
  return 1;
}

static int build_argv(outer *o, plan *pl, int mount_proc, const char *registry, csb_error *err) {
  /* pid 1 opens the command's working directory (/proc/PID/cwd) and
   * connects to an allowed socket through its own descriptor
   * (/proc/self/fd/N): without a /proc every connect would be refused. */
  if (!mount_proc && pl->so.unix_mediated)
    return csb_error_set(err,
                         "cannot enforce the network.unix_sockets allow rules without a fresh /proc in "
                         "the sandbox (%s): pid 1 decides and performs each connect() through /proc "
                         "(backend: bubblewrap; fix: %s, or remove the allow rules)",
                         o->no_proc ? "--no-proc was given" : "this host refused one",
                         o->no_proc ? "drop --no-proc" : "run where the sandbox may mount /proc");
  bw_mount_opts mo;
  memset(&mo, 0, sizeof mo);
  mo.mount_proc = mount_proc;
  mo.has_perms = pl->bw.has_perms;
  mo.registry = registry;
  mo.registry_others = (const char *const *)pl->registry_all;
  mo.n_registry_others = pl->n_registry_all;
  if (!pl->glob_cache_looked && !o->no_glob_cache && o->p->n_globs) pl->glob_cache = glob_cache_dir(registry);
  pl->glob_cache_looked = 1;
  mo.glob_cache = pl->glob_cache;
  mo.runtime_src = (const char *const *)o->runtime.src.items;
  mo.runtime_dst = (const char *const *)o->runtime.dst.items;
  mo.n_runtime = o->runtime.dst.len;
  mo.data_file_dst = (const char *const *)pl->trust.paths;
  mo.data_file_fd = pl->trust.fds;
  mo.n_data_files = pl->trust.n;
  /* One snapshot of the file system for this plan: the build and the
   * checks of the allow rules below look at the same paths. */
  mo.memo = csb_path_memo_new();
  /* A rebuild (the retry without /proc) finds the limit raised already:
   * the command still gets the original one back. */
  unsigned long long nofile_restore = pl->fs.nofile_restore;
  /* The entries the last build held stay held through the rebuild (which
   * holds them again): released in between, another run could remove
   * one. */
  int *held = pl->fs.held_fds;
  size_t n_held = pl->fs.n_held_fds;
  pl->fs.held_fds = NULL;
  pl->fs.n_held_fds = pl->fs.cap_held_fds = 0;
  bw_fsargs_free(&pl->fs);
  int built = bw_mounts_build(o->p, o->v, &mo, &pl->fs, err);
  for (size_t i = 0; i < n_held; i++) bw_fsargs_hold(&pl->fs, held[i]);
  free(held);
  if (!built) {
    csb_path_memo_free(mo.memo);
    return 0;
  }
  if (!pl->fs.nofile_restore) pl->fs.nofile_restore = nofile_restore;
  /* Only a run that wrote a cache file can have grown the registry. */
  if (mo.glob_cache && pl->fs.glob_cache_stored)
    evict_cache_files(mo.glob_cache, "glob-", GLOB_CACHE_MAX);
  csb_strv *a = &pl->argv;
  csb_strv_free(a);
  csb_strv_push(a, pl->bw.path);
  csb_strv_push(a, "--new-session");
  for (size_t i = 0; i < pl->fs.argv.len; i++) csb_strv_push(a, pl->fs.argv.items[i]);
  /* the caller's terminals on stdin and stderr (stdout's is /dev/console):
   * the inner stage reopens the descriptors through these binds, made
   * read-only (devnodes.c) */
  bw_stdio_ttys ttys;
  bw_stdio_ttys_find(&ttys);
  for (size_t i = 0; i < ttys.n; i++) {
    csb_strv_push(a, "--dev-bind");
    csb_strv_push(a, ttys.path[i]);
    csb_strv_pushf(a, BW_STDIO_TTY_NODE, ttys.fd[i]);
  }
  csb_strv_push(a, "--unshare-user");
  csb_strv_push(a, "--unshare-pid");
  csb_strv_push(a, "--unshare-ipc");
  csb_strv_push(a, "--unshare-uts");
  csb_strv_push(a, "--unshare-cgroup-try");
  if (o->p->net_mode != CSB_NET_ENABLED) csb_strv_push(a, "--unshare-net");
  /* No --disable-userns: it costs a nested user namespace per run, and the
   * seccomp filter already refuses every way to create one. */
  csb_strv_push(a, "--cap-drop");
  csb_strv_push(a, "ALL");
  if (bw_devnodes_wanted()) {
    /* the inner stage's, to make the device nodes read-only (devnodes.c);
     * it drops them before it reads anything the command controls */
    csb_strv_push(a, "--cap-add");
    csb_strv_push(a, "CAP_SYS_ADMIN");
    csb_strv_push(a, "--cap-add");
    csb_strv_push(a, "CAP_SETPCAP");
  }
  csb_strv_push(a, "--as-pid-1");
  if (pl->bw.has_info_fd) {
    csb_strv_push(a, "--info-fd");
    csb_strv_pushf(a, "%d", pl->info_pipe[1]);
  }
  csb_strv_push(a, "--chdir");
  csb_strv_push(a, o->cwd);
  if (pl->bw.has_argv0) {
    csb_strv_push(a, "--argv0");
    csb_strv_push(a, "csb-bwrap");
  }
  /* Our own binary, read-only, on bubblewrap's /dev tmpfs: the last
   * option, so that options cut short (an early start's pipe closed by a
   * launcher killed while writing them) leave nothing to execute. */
  if (pl->bw.has_ro_bind_fd) {
    csb_strv_push(a, "--ro-bind-fd");
    csb_strv_pushf(a, "%d", pl->self_fd);
  } else {
    csb_strv_push(a, "--ro-bind");
    csb_strv_pushf(a, "/proc/self/fd/%d", pl->self_fd);
  }
  csb_strv_push(a, BW_INNER_PATH);
  /* The read-only masks the inner stage re-checks: in the memfd an early
   * start made, else in one of their own when there are any. */
  csb_buf list;
  csb_buf_init(&list);
  for (size_t i = 0; i < pl->fs.verify.len; i++)
    csb_buf_append(&list, pl->fs.verify.items[i], strlen(pl->fs.verify.items[i]) + 1);
  int listed = 1;
  if (pl->verify_early) {
    listed = bw_memfd_seal(pl->verify_fd, list.data, list.len);
  } else {
    close_fd(&pl->verify_fd);
    if (list.len) listed = (pl->verify_fd = bw_sealed_memfd("csb-bwrap-masks", list.data, list.len)) >= 0;
  }
  csb_buf_free(&list);
  if (!listed) {
    csb_path_memo_free(mo.memo);
    return csb_error_set(err, "cannot hand the list of read-only masks to the sandbox: memfd: %s",
                         strerror(errno));
  }
  pl->sep = a->len;
  int ok = push_inner(o, pl, a, mount_proc, mo.memo, err);
  csb_path_memo_free(mo.memo);
  return ok;
}

/* 0 when the text did not all reach standard output. */
static int print_explain(outer *o, plan *pl) {
  char *summary = csb_policy_summary(o->p);
  printf("policy: %s (profile %s)\n", summary ? summary : "?", o->p->profile_id ? o->p->profile_id : "?");
  free(summary);
  printf("backend: bubblewrap %s (%s)\n", pl->bw.path, pl->bw.source);
  printf("command cwd: %s\n", o->cwd);
  printf("network: %s", net_name(o->p));
  if (o->p->net_mode == CSB_NET_RESTRICTED) printf(" (own network namespace; seccomp allows AF_UNIX sockets only)\n");
  else if (o->p->net_mode == CSB_NET_PROXY) printf(" (own network namespace; loopback listener bridged to the host proxy; AF_INET/AF_INET6 only)\n");
  else printf(" (host network; seccomp denies raw, packet, vsock and non-route netlink sockets)\n");
  if (o->p->allow_all_unix_sockets) printf("unix sockets: all allowed (dangerously_allow_all_unix_sockets)\n");
  else if (n_unix_allow(o->p) > 0) {
    printf("unix sockets: connect() mediated; allowed:");
    for (size_t i = 0; i < o->p->n_unix_sockets; i++)
      if (o->p->unix_sockets[i].allow) printf(" %s", o->p->unix_sockets[i].path);
    printf("\n");
  } else {
    printf("unix sockets: no connect() to any Unix socket path\n");
  }
  for (size_t i = 0; i < pl->proxy.n_routes; i++)
    printf("proxy route: %s -> %s:%d (rewritten to a loopback listener inside)\n",
           pl->proxy.routes[i].env_key, pl->proxy.routes[i].host, pl->proxy.routes[i].port);
  printf("seccomp: ptrace, process_vm_*, io_uring, bpf, perf_event_open, keyctl, mount family, "
         "unshare/setns/namespace clone, kexec/modules, TIOCSTI/TIOCLINUX/TIOCSETD/TIOCEXCL denied; other "
         "architectures killed (docs/csb-bwrap.md)\n");
  printf("filesystem:\n");
  for (size_t i = 0; i < pl->fs.explain.len; i++) printf("  %s\n", pl->fs.explain.items[i]);
  for (size_t i = 0; i < pl->fs.n_synth; i++)
    if (!pl->fs.synth[i].existing)
      printf("  host mount target %s (%s) removed after the run\n", pl->fs.synth[i].path,
             pl->fs.synth[i].kind == BW_SYNTH_DIR ? "empty dir" : "empty file");
  for (size_t i = 0; i < o->p->warnings.len; i++) printf("warning: %s\n", o->p->warnings.items[i]);
  return fflush(stdout) == 0 && !ferror(stdout);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Keeps at most `keep` of the registry's cache files named PREFIX... (the
 * most recently written), and removes what an interrupted writer left (".PREFIX..." temporary
 * files and PREFIX...PID ones, older than a minute). */
static void evict_cache_files(const char *dir, const char *prefix, size_t keep) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct {
    char name[256];
    time_t mtime;
  } old[64];
  if (keep > CSB_ARRAY_LEN(old)) keep = CSB_ARRAY_LEN(old);
  size_t n = 0, plen = strlen(prefix);
  time_t now = time(NULL);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    struct stat st;
    const char *nm = de->d_name;
    int temp = nm[0] == '.' && strncmp(nm + 1, prefix, plen) == 0;
    if ((!temp && strncmp(nm, prefix, plen) != 0) ||
        fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (temp || strchr(nm, '.')) {
      if (now - st.st_mtime > 60) unlinkat(dirfd(d), nm, 0);
      continue;
    }
    size_t k = n;
    if (n == keep) { /* full: drop the oldest of the list and this one */
      if (keep == 0) {
        unlinkat(dirfd(d), nm, 0);
        continue;
      }
      k = 0;
      for (size_t i = 1; i < n; i++)
        if (old[i].mtime < old[k].mtime) k = i;
      if (st.st_mtime < old[k].mtime) {
        unlinkat(dirfd(d), nm, 0);
        continue;
      }
      unlinkat(dirfd(d), old[k].name, 0);
    } else {
      n++;
    }
    snprintf(old[k].name, sizeof old[k].name, "%s", nm);
    old[k].mtime = st.st_mtime;
  }
  closedir(d);
}

/* Runs while bubblewrap sets up the namespaces: hands the command's
 * seccomp filter to the inner stage through a pipe. The filters are
 * compiled at build time (seccomp_gen.c), never read from a file a
 * sandboxed command could have written. On failure nothing is written and
 * the inner stage refuses to run. Then reads what the cleanup will want
 * to know of the mount targets' file systems and starts the keeper of
 * their last references where it is worth it (bw_registry_defer_prepare),
 * which is time the run does not wait for here. */
static void after_start(void *arg, pid_t bwrap) {
  (void)bwrap;
  plan *pl = arg;
  if (pl->seccomp_pipe[1] >= 0) {
    for (size_t i = 0; i < CSB_ARRAY_LEN(bw_prebuilt_filters); i++) {
      const bw_prebuilt_filter *f = &bw_prebuilt_filters[i];
      if (f->net == pl->so.net && f->unix_all == pl->so.unix_all && !pl->so.unix_mediated) {
        csb_write_all(pl->seccomp_pipe[1], f->prog, f->len);
        break;
      }
    }
    close_fd(&pl->seccomp_pipe[1]);
  }
  /* (the masks' memfd: the last close of it frees its pages) */
  if (pl->reg) bw_registry_defer_prepare(pl->reg, &pl->verify_fd, 1);
}

/* Options longer than this go to bubblewrap through --args (exec's own
 * limit is a quarter of the stack limit, 2 MiB by default, environment
 * included). */
#define ARGS_INLINE_MAX (128 * 1024)
/* bubblewrap refuses to parse more arguments than this, --args included
 * (MAX_ARGS in bubblewrap.c, every version). */
#define BWRAP_MAX_ARGS 9000

/* 1 when bubblewrap takes as many arguments as the plan has, else 0 with
 * why (the same words whether bubblewrap was started early or not). */
static int args_countable(const plan *pl, csb_error *err) {
  if (pl->argv.len + 2 <= BWRAP_MAX_ARGS) return 1;
  if (pl->fs.n_data_fds == 0)
    return csb_error_set(err,
                         "cannot enforce this policy with bubblewrap: it needs %zu bubblewrap "
                         "arguments, and bubblewrap accepts at most %d",
                         pl->argv.len, BWRAP_MAX_ARGS);
  return csb_error_set(err,
                       "cannot enforce this policy with bubblewrap: its masks (%zu files, more "
                       "directories) and the command need %zu bubblewrap arguments, and "
                       "bubblewrap accepts at most %d; narrow the deny globs, or deny the "
                       "directories that hold the matches instead of each file",
                       pl->fs.n_data_fds, pl->argv.len, BWRAP_MAX_ARGS);
}

/* bubblewrap's options (its argv between its name and the inner stage's
 * "--"), NUL-terminated each, as --args reads them. */
static void options_blob(const plan *pl, csb_buf *b) {
  csb_buf_init(b);
  for (size_t i = 1; i < pl->sep; i++) csb_buf_append(b, pl->argv.items[i], strlen(pl->argv.items[i]) + 1);
}

/* `BWRAP --args FD REST...` (NULL-terminated; [2] is allocated). */
static char **args_argv(const char *bwrap, int fd, char *const *rest, size_t n_rest) {
  char **v = csb_xcalloc(n_rest + 4, sizeof *v);
  size_t n = 0;
  v[n++] = (char *)bwrap;
  v[n++] = "--args";
  v[n++] = csb_xasprintf("%d", fd);
  for (size_t i = 0; i < n_rest; i++) v[n++] = rest[i];
  return v;
}

/* What to exec: pl->argv itself (*fd = -1, *out = NULL), or, when the
 * options are too long for exec, `bwrap --args FD -- INNER...` with the
 * options before the inner stage's "--" in a sealed memfd (bubblewrap reads
 * only options from there). Fails when bubblewrap would refuse the count. */
static int pack_args(const plan *pl, int *fd, char ***out, csb_error *err) {
  *fd = -1;
  *out = NULL;
  if (!args_countable(pl, err)) return 0;
  size_t total = 0;
  for (size_t i = 0; i < pl->argv.len; i++) total += strlen(pl->argv.items[i]) + 1 + sizeof(char *);
  if (total <= ARGS_INLINE_MAX) return 1;
  if (!pl->bw.has_args)
    return csb_error_set(err,
                         "cannot enforce this policy with %s: its masks make a bubblewrap argument "
                         "list of %zu bytes, more than exec takes, and this bubblewrap has no "
                         "--args to read it from a descriptor; use a newer bubblewrap (or the "
                         "bundled one) or narrow the deny globs",
                         pl->bw.path, total);
  csb_buf b;
  options_blob(pl, &b);
  *fd = bw_sealed_memfd("csb-bwrap-args", b.data, b.len);
  csb_buf_free(&b);
  if (*fd < 0) return csb_error_set(err, "cannot hand bubblewrap its arguments: memfd: %s", strerror(errno));
  *out = args_argv(pl->argv.items[0], *fd, pl->argv.items + pl->sep, pl->argv.len - pl->sep);
  return 1;
}

static void note_registries(plan *pl) {
  for (size_t i = 0; i < pl->n_registry_all; i++)
    pl->registry_was_dir[i] =
        lstat(pl->registry_all[i], &pl->registry_st[i]) == 0 && S_ISDIR(pl->registry_st[i].st_mode);
}

/* A registry directory the plan mounts over that is no longer what it was
 * when the plan was built (removed, say, by a cleaner of /tmp before
 * bubblewrap reached it): its index, and what became of it in *what; -1
 * when there is none. */
static int registry_changed(const plan *pl, const char **what) {
  for (size_t i = 0; i < pl->n_registry_all; i++) {
    const char *w = pl->registry_was_dir[i] ? bw_registry_change(pl->registry_all[i], &pl->registry_st[i]) : NULL;
    for (size_t j = 1; w && j < pl->sep; j++)
      if (strcmp(pl->argv.items[j], pl->registry_all[i]) == 0) {
        *what = w;
        return (int)i;
      }
  }
  return -1;
}

/* The mount targets the plan makes on the host: registered first (a run
 * killed from then on leaves them to a later sweep), then made. 0, or the
 * exit code after saying why; -1 (nothing made, nothing said) when the
 * wait for another run's hold on the registry's lock ended. */
static int make_targets(outer *o, plan *pl, bw_registry *reg, const csb_error *reg_why,
                        const bw_registry_wait *wait) {
  csb_error e;
  csb_error_clear(&e);
  note_registries(pl);
  size_t n_new_synth = 0;
  for (size_t i = 0; i < pl->fs.n_synth; i++) n_new_synth += !pl->fs.synth[i].existing;
  if (n_new_synth > 0 && !pl->registry)
    return csb_cli_error(&o->cli, CSB_EXIT_OSERR,
                         "no usable directory for the mount-target registry (/run/csb-bwrap when "
                         "run as root, $XDG_RUNTIME_DIR/csb-bwrap, /tmp/csb-bwrap-UID), which masks "
                         "on missing paths need so that their mount points are removed after the "
                         "run: %s (or set XDG_RUNTIME_DIR to a directory of your own)",
                         reg_why->msg[0] ? reg_why->msg : "none could be created");
  int registered = bw_registry_register(reg, pl->registry, pl->fs.synth, pl->registry ? pl->fs.n_synth : 0, wait, &e);
  if (registered < 0) return -1;
  if (!registered) return csb_cli_error(&o->cli, CSB_EXIT_OSERR, "%s", e.msg);
  bw_synth_make_all(&pl->fs);
  return 0;
}

/* New pipes for another start of bubblewrap (the last one took the write
 * ends of these with it). */
static int renew_pipes(plan *pl) {
  close_fd(&pl->err_pipe[0]);
  close_fd(&pl->started_pipe[0]);
  close_fd(&pl->info_pipe[0]);
  close_fd(&pl->seccomp_pipe[0]);
  close_fd(&pl->seccomp_pipe[1]);
  return pipe2(pl->err_pipe, O_CLOEXEC) == 0 && pipe2(pl->started_pipe, O_CLOEXEC) == 0 &&
         pipe2(pl->info_pipe, O_CLOEXEC) == 0 &&
         (pl->so.unix_mediated || pipe2(pl->seccomp_pipe, O_CLOEXEC) == 0);
}

/* The plan again, for another start of bubblewrap. 0, or the exit code
 * after saying why. */
static int replan(outer *o, plan *pl, int mount_proc) {
  csb_error e;
  csb_error_clear(&e);
  if (!renew_pipes(pl)) return csb_cli_error(&o->cli, CSB_EXIT_OSERR, "pipe: %s", strerror(errno));
  if (!build_argv(o, pl, mount_proc, pl->registry, &e))
    return csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
  return 0;
}

/* ---- early start ----------------------------------------------------------
 *
 * bubblewrap takes about a millisecond to load and start, and the plan
 * (the mounts, the registry's sweep, the mount targets) a few tenths of
 * one. Where the plan cannot change how bubblewrap is started, bubblewrap
 * is started first, with `--args FD -- INNER...`, and reads its options
 * from a pipe while the plan is made: it has loaded by the time they
 * come. That is a policy whose deny rules name directories (masks on
 * files are descriptors bubblewrap must inherit), without network.unix_sockets
 * allow rules (their flags depend on the plan) and not in proxy mode (its
 * bridges and CA bundles are descriptors too), a bubblewrap with --args,
 * and a fresh /proc. A plan that turns out to need descriptors after all
 * kills the early bubblewrap, still blocked on the pipe, and starts
 * another; so does a refused plan, which then runs nothing. The options
 * end with the bind of our own binary, which the inner stage's command
 * names: a pipe closed before they were all written (we were killed)
 * leaves bubblewrap nothing to execute. */

enum { EARLY_NONE, EARLY_READY, EARLY_SENT, EARLY_AGAIN, EARLY_REFUSED };

typedef struct early {
  outer *o;
  plan *pl;
  bw_registry *reg;
  const csb_error *reg_why;
  csb_strv tail; /* the inner stage's command line bubblewrap was started with */
  int state;
  int rc; /* EARLY_REFUSED: the exit code, its message printed */
  /* The numbers bubblewrap has the write ends of these pipes under (ours
   * are closed by then): the options name them. */
  int started_w, info_w;
} early;

static int early_eligible(const outer *o, const plan *pl) {
  if (o->print_argv || o->explain || o->no_proc || !pl->bw.has_args) return 0;
  if (o->p->net_mode == CSB_NET_PROXY || o->p->n_globs) return 0;
  if (!o->p->allow_all_unix_sockets && n_unix_allow(o->p) > 0) return 0;
  /* A denied directory is masked with a tmpfs; a denied file, or a path
   * that does not exist yet, with a descriptor. (A guess: a plan that
   * needs descriptors all the same starts bubblewrap again.) */
  for (size_t i = 0; i < o->p->n_entries; i++) {
    struct stat st;
    if (o->p->entries[i].access == CSB_ACCESS_DENY &&
        (lstat(o->p->entries[i].path, &st) != 0 || !S_ISDIR(st.st_mode)))
      return 0;
  }
  return 1;
}

/* Whether the options fit in the pipe bubblewrap reads them from (made as
 * large as they need, and not to be waited on): bubblewrap may not read
 * them at once (a terminal's ^Z stops it too while it loads), and a write
 * waiting for it would keep us from stopping in turn (the signals wait,
 * blocked, until the options are written). */
static int options_fit(plan *pl, size_t len) {
  int fd = pl->args_pipe[1];
  int size = fcntl(fd, F_GETPIPE_SZ), fl = fcntl(fd, F_GETFL);
  return size >= 0 && fl >= 0 &&
         ((size_t)size >= len || (len <= INT_MAX && fcntl(fd, F_SETPIPE_SZ, (int)len) >= 0)) &&
         fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* The options into the pipe, which is then closed; on failure (errno) it
 * is left open, to close once bubblewrap is killed. bubblewrap holds the
 * only read end: gone, it fails the write with EPIPE (SIGPIPE is caught or
 * ignored, see survive_broken_pipes). */
static int send_options(plan *pl, const csb_buf *b) {
  if (!csb_write_all(pl->args_pipe[1], b->data, b->len)) return 0;
  close_fd(&pl->args_pipe[1]);
  return 1;
}

/* The signals wait (blocked) while an early plan is made, and those that
 * ask us to end from bubblewrap's start to our exit, but not for another
 * run's hold on the registry's lock, which has no bound: one that asks us
 * to end ends the wait (an early plan then ends as one that needs another
 * bubblewrap after we were asked to end, which starts none; the cleanup
 * leaves the targets to a later run's sweep); a terminal's stop, blocked
 * while an early plan is made, stops us meanwhile (as it stopped
 * bubblewrap), until `fg`. */
static int end_lock_wait(void *arg) {
  (void)arg;
  if (bw_launch_end_pending()) return 0;
  sigset_t tstp;
  sigemptyset(&tstp);
  sigaddset(&tstp, SIGTSTP);
  struct timespec now = {0, 0};
  if (sigtimedwait(&tstp, NULL, &now) == SIGTSTP) kill(getpid(), SIGSTOP);
  return 1;
}

/* In the launcher, right after bubblewrap was started (signals blocked):
 * the plan, then its options and the seccomp filter to their pipes; or
 * bubblewrap killed. */
static void early_plan(void *arg, pid_t bwrap) {
  early *es = arg;
  outer *o = es->o;
  plan *pl = es->pl;
  csb_error e;
  csb_error_clear(&e);
  csb_buf blob;
  csb_buf_init(&blob);
  /* bubblewrap has its own read end: ours would keep the pipe (made as
   * large as the options, up to pipe-max-size, which counts against the
   * caller's pipe quota) for the whole run, and a bubblewrap that is gone
   * could not be told from one that reads. */
  close_fd(&pl->args_pipe[0]);
  es->state = EARLY_REFUSED;
  bw_registry_wait wait = {end_lock_wait, NULL};
  if ((es->rc = ensure_view(o)) != 0) goto kill;
  if (pl->registry && !bw_registry_sweep(pl->registry, &wait)) {
    es->state = EARLY_AGAIN;
    goto kill;
  }
  pl->started_pipe[1] = es->started_w;
  pl->info_pipe[1] = es->info_w;
  int built = build_argv(o, pl, 1, pl->registry, &e);
  pl->started_pipe[1] = pl->info_pipe[1] = -1;
  if (!built) {
    es->rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
    goto kill;
  }
  int same = pl->fs.n_data_fds == 0 && pl->argv.len - pl->sep == es->tail.len;
  for (size_t i = 0; same && i < es->tail.len; i++) same = strcmp(pl->argv.items[pl->sep + i], es->tail.items[i]) == 0;
  if (same) options_blob(pl, &blob);
  if (!same || !options_fit(pl, blob.len)) {
    es->state = EARLY_AGAIN;
    goto kill;
  }
  if (!args_countable(pl, &e)) {
    es->rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
    goto kill;
  }
  if ((es->rc = make_targets(o, pl, es->reg, es->reg_why, &wait)) != 0) {
    if (es->rc < 0) es->state = EARLY_AGAIN;
    goto kill;
  }
  if (!send_options(pl, &blob)) {
    /* Gone already (it could not start, and said why on the pipe we
     * read its errors from, which is analysed as any failed setup is) */
    if (errno == EPIPE) {
      close_fd(&pl->args_pipe[1]);
      es->state = EARLY_SENT;
      goto done;
    }
    es->rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "cannot hand bubblewrap its options: %s", strerror(errno));
    goto kill;
  }
  es->state = EARLY_SENT;
  after_start(pl, bwrap);
  goto done;
kill:
  kill(bwrap, SIGKILL);
  close_fd(&pl->args_pipe[1]);
done:
  csb_buf_free(&blob);
}

static int run_bwrap(outer *o) {
  plan pl;
  memset(&pl, 0, sizeof pl);
  pl.self_fd = pl.stderr_fd = pl.verify_fd = -1;
  for (int i = 0; i < 2; i++)
    pl.err_pipe[i] = pl.started_pipe[i] = pl.info_pipe[i] = pl.seccomp_pipe[i] = pl.lifeline[i] =
        pl.args_pipe[i] = -1;
  pl.so.net = net_of(o->p);
  pl.so.unix_all = o->p->allow_all_unix_sockets;
  pl.so.unix_mediated = !o->p->allow_all_unix_sockets && n_unix_allow(o->p) > 0;
  csb_error e;
  csb_error_clear(&e);
  int rc = CSB_EXIT_INTERNAL;
  bw_registry reg;
  memset(&reg, 0, sizeof reg);
  sigset_t ends_before;
  int ends_blocked = 0;
  bw_registry_wait end_wait = {end_lock_wait, NULL};
  reg.lock_fd = -1;
  int bwrap_ran = 0;
  csb_error reg_why;
  csb_error_clear(&reg_why);
  char *registry = bw_registry_default_dir(&reg_why);
  pl.registry = registry;
  pl.n_registry_all = bw_registry_candidates(pl.registry_all, 1);
  early es;
  memset(&es, 0, sizeof es);
  es.o = o;
  es.pl = &pl;
  es.reg = pl.reg = &reg;
  es.reg_why = &reg_why;
  csb_strv_init(&es.tail);

  if (!bw_bwrap_find(o->bwrap_override, o->cwd, o->p, &pl.bw, &e)) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
    goto out;
  }
  if (o->p->net_mode == CSB_NET_PROXY) {
    csb_strv unrouted;
    csb_strv_init(&unrouted);
    int planned = bw_proxy_plan_from_env(environ, &pl.proxy, &unrouted, &e);
    for (size_t i = 0; planned && i < unrouted.len; i++)
      csb_cli_warn(&o->cli, "network mode `proxy`: %s is not a loopback proxy URL (localhost, "
                            "127.0.0.1 or [::1] with a port); CMD gets it unchanged and "
                            "cannot reach it", unrouted.items[i]);
    csb_strv_free(&unrouted);
    if (!planned) {
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
      goto out;
    }
    if (!bw_trust_bundles_load(environ, &pl.trust, &e)) {
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE,
                         "network mode `proxy`: refusing to bind the proxy's CA bundle into the "
                         "sandbox: %s (only a regular file of PEM certificates is bound)",
                         e.msg);
      goto out;
    }
  }
  pl.self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (pl.self_fd < 0) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "cannot open our own binary: %s", strerror(errno));
    goto out;
  }
  pl.stderr_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (pl.stderr_fd < 0 || pipe2(pl.err_pipe, O_CLOEXEC) != 0 || pipe2(pl.started_pipe, O_CLOEXEC) != 0 ||
      pipe2(pl.info_pipe, O_CLOEXEC) != 0 || pipe2(pl.lifeline, O_CLOEXEC) != 0) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "pipe: %s", strerror(errno));
    goto out;
  }
  /* Without connect() mediation pid 1 and the command share one filter,
   * compiled here while bubblewrap works. */
  if (!pl.so.unix_mediated && pipe2(pl.seccomp_pipe, O_CLOEXEC) != 0) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "pipe: %s", strerror(errno));
    goto out;
  }
  int start_bridges = !(o->print_argv || o->explain);
  if (pl.proxy.n_endpoints && !bw_proxy_start_bridges(&pl.proxy, start_bridges, &e)) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "network mode `proxy`: %s", e.msg);
    goto out;
  }
  int mount_proc = !o->no_proc;
  if (early_eligible(o, &pl) && pipe2(pl.args_pipe, O_CLOEXEC) == 0 &&
      (pl.verify_fd = bw_sealable_memfd("csb-bwrap-masks")) >= 0) {
    pl.verify_early = 1;
    if (push_inner(o, &pl, &es.tail, mount_proc, NULL, &e)) es.state = EARLY_READY;
  }
  if (es.state != EARLY_READY) {
    pl.verify_early = 0;
    close_fd(&pl.verify_fd);
    close_fd(&pl.args_pipe[0]);
    close_fd(&pl.args_pipe[1]);
    if ((rc = ensure_view(o)) != 0) goto out;
    if (registry && !o->print_argv && !o->explain) bw_registry_sweep(registry, NULL);
    if (!build_argv(o, &pl, mount_proc, registry, &e)) {
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
      goto out;
    }
    if (o->print_argv) {
      rc = csb_cli_print_argv(&o->cli, pl.argv.items, pl.argv.len);
      goto out;
    }
    if (o->explain) {
      rc = 0;
      if (!print_explain(o, &pl))
        rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "cannot write to standard output: %s", strerror(errno));
      goto out;
    }
    if ((rc = make_targets(o, &pl, &reg, &reg_why, NULL)) != 0) goto out;
  }
  /* From here to our exit, a signal that asks us to end waits (blocked):
   * bw_launch_run forwards it to the sandbox while bubblewrap runs; one
   * that comes after bubblewrap is gone is taken once the run is cleaned
   * up (the exit code says it), which it thus never cuts short. */
  sigset_t ending;
  bw_launch_end_set(&ending);
  sigprocmask(SIG_BLOCK, &ending, &ends_before);
  ends_blocked = 1;
  for (int attempt = 0; attempt < 2; attempt++) {
    int fixed[] = {pl.self_fd, pl.stderr_fd, pl.started_pipe[1], pl.info_pipe[1],
                   /* bubblewrap's parent holds a reader too: its report never
                    * fails (which would kill it, stranding its child) once we
                    * are gone */
                   pl.info_pipe[0], pl.lifeline[0], pl.seccomp_pipe[0], pl.verify_fd, pl.args_pipe[0]};
    int *keep = NULL;
    size_t nk = 0, cap = 0;
    keep = csb_xgrow(keep, &cap, CSB_ARRAY_LEN(fixed) + pl.fs.n_data_fds + pl.proxy.n_endpoints + 1,
                     sizeof *keep);
    for (size_t i = 0; i < CSB_ARRAY_LEN(fixed); i++)
      if (fixed[i] >= 0) keep[nk++] = fixed[i];
    for (size_t i = 0; i < pl.fs.n_data_fds; i++) keep[nk++] = pl.fs.data_fds[i];
    for (size_t i = 0; i < pl.proxy.n_endpoints; i++) keep[nk++] = pl.proxy.endpoints[i].control_fd;
    char **packed = NULL;
    int args_fd = -1;
    void (*after_fork)(void *, pid_t) = after_start;
    void *after_fork_arg = &pl;
    if (es.state == EARLY_READY) {
      /* bwrap --args PIPE -- INNER...: the options follow (early_plan) */
      packed = args_argv(pl.bw.path, pl.args_pipe[0], es.tail.items, es.tail.len);
      after_fork = early_plan;
      after_fork_arg = &es;
    } else if (!pack_args(&pl, &args_fd, &packed, &e)) {
      /* Thousands of masks make an argument list longer than exec allows:
       * bubblewrap then reads it from a descriptor (--args). */
      free(keep);
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "%s", e.msg);
      goto out;
    }
    char **argv = packed ? packed : pl.argv.items;
    if (args_fd >= 0) keep[nk++] = args_fd;
    bw_launch_result res;
    int err_w = pl.err_pipe[1], started_w = pl.started_pipe[1], info_w = pl.info_pipe[1];
    pl.err_pipe[1] = pl.started_pipe[1] = pl.info_pipe[1] = -1;
    es.started_w = started_w;
    es.info_w = info_w;
    int launched = bw_launch_run(pl.bw.exec_path, argv, keep, nk, err_w, pl.err_pipe[0], pl.started_pipe[0],
                                 pl.info_pipe[0], info_w, started_w, after_fork, after_fork_arg, &ends_before,
                                 &res);
    free(keep);
    close_fd(&args_fd);
    close_fd(&pl.args_pipe[0]);
    close_fd(&pl.args_pipe[1]);
    if (packed) free(packed[2]);
    free(packed);
    if (!launched) {
      rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "fork: %s", strerror(res.error));
      goto out;
    }
    if (res.tty.err) {
      free(res.captured);
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE,
                         "the terminal on standard %s, which is bound into the sandbox (stdout's at "
                         "/dev/console), is yours, and the command could change its mode for every local user; "
                         "making it read-only for the sandbox failed (%s: %s); nothing ran (backend: bubblewrap; "
                         "fix: run with no terminal on the standard descriptors, e.g. `</dev/null 2>&1 | cat`, "
                         "or allow unprivileged user namespaces)",
                         res.tty_which, res.tty.step, strerror(res.tty.err));
      goto out;
    }
    if (es.state == EARLY_REFUSED) {
      /* killed before it read anything: it said nothing (a signal that
       * asked us to end meanwhile makes the exit code, as it would have
       * once bubblewrap ran) */
      free(res.captured);
      rc = res.signal ? CSB_EXIT_SIGNAL_BASE + res.signal : es.rc;
      goto out;
    }
    pl.verify_early = 0; /* (sealed now; a rebuild makes a memfd of its own) */
    if (es.state == EARLY_AGAIN) {
      free(res.captured);
      es.state = EARLY_NONE;
      /* (the plan's descriptors, which the killed bubblewrap never got:
       * the plan made again opens its own) */
      for (size_t i = 0; i < pl.fs.n_data_fds; i++) close(pl.fs.data_fds[i]);
      pl.fs.n_data_fds = 0;
      if (res.signal || bw_launch_end_pending()) {
        /* asked to end while the plan was made (the signal waited, blocked
         * since bubblewrap started, or ended the wait for the registry's
         * lock), or since: no other bubblewrap is started (the exit code
         * is set at the end) */
        rc = res.signal ? CSB_EXIT_SIGNAL_BASE + res.signal : 0;
        goto out;
      }
      if ((rc = replan(o, &pl, mount_proc)) != 0 || (rc = make_targets(o, &pl, &reg, &reg_why, &end_wait)) != 0) {
        if (rc < 0) rc = 0; /* (asked to end: the exit code is set at the end) */
        goto out;
      }
      attempt--;
      continue;
    }
    es.state = EARLY_NONE;
    bwrap_ran = 1;
    for (size_t i = 0; i < pl.fs.n_data_fds; i++) close(pl.fs.data_fds[i]);
    pl.fs.n_data_fds = 0;
    close_fd(&pl.verify_fd);
    if (res.started || !res.captured || !res.captured[0]) {
      /* Either CMD ran (its status passes through), or the inner stage
       * failed and already said why on the real stderr. */
      free(res.captured);
      rc = csb_exit_from_wait_status(res.wait_status);
      goto out;
    }
    if (attempt == 0 && mount_proc && bw_is_proc_failure(res.captured)) {
      if (res.signal || bw_launch_end_pending()) {
        /* asked to end meanwhile: not started again */
        free(res.captured);
        rc = res.signal ? CSB_EXIT_SIGNAL_BASE + res.signal : 0;
        goto out;
      }
      csb_cli_warn(&o->cli, "this host refused a fresh /proc for the sandbox (%s); retrying with "
                            "an empty /proc (use --no-proc to skip this attempt)",
                   strtok(res.captured, "\n"));
      free(res.captured);
      mount_proc = 0;
      if ((rc = replan(o, &pl, mount_proc)) != 0) goto out;
      note_registries(&pl);
      continue;
    }
    /* bubblewrap failed before CMD could start */
    size_t l = strlen(res.captured);
    while (l && res.captured[l - 1] == '\n') res.captured[--l] = 0;
    const char *what = NULL;
    int changed = registry_changed(&pl, &what);
    if (changed >= 0) {
      const char *dir = pl.registry_all[changed];
      int in_use = registry && strcmp(dir, registry) == 0;
      rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR,
                         "%s%s%s %s while the sandbox was set up, before bubblewrap could mount over it to "
                         "hide it from the command (%s); nothing ran: the command was not started; run it again",
                         in_use ? "csb-bwrap's mount-target registry " : "", dir,
                         in_use ? "" : ", a directory csb-bwrap may pick as its registry,", what, res.captured);
    } else if (bw_is_userns_failure(res.captured)) {
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE,
                         "cannot create the sandbox's user namespace (%s). Fix: allow unprivileged "
                         "user namespaces (Ubuntu 24.04+: an AppArmor profile granting `userns` to "
                         "%s, or sysctl kernel.apparmor_restrict_unprivileged_userns=0; elsewhere "
                         "sysctl user.max_user_namespaces>0 / kernel.unprivileged_userns_clone=1; in "
                         "a container: --security-opt seccomp=unconfined --security-opt "
                         "apparmor=unconfined)",
                         res.captured, pl.bw.path);
    } else if (bw_is_proc_failure(res.captured)) {
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "bubblewrap cannot mount /proc: %s", res.captured);
    } else {
      rc = csb_cli_error(&o->cli, CSB_EXIT_UNAVAILABLE, "bubblewrap (%s) failed to set up the sandbox: %s",
                         pl.bw.path, res.captured);
    }
    free(res.captured);
    goto out;
  }
out:
  bw_fsargs_release_holds(&pl.fs); /* (ours would keep our own cleanup from removing a target) */
  bw_registry_cleanup(&reg, ends_blocked ? &end_wait : NULL);
  for (size_t i = 0; bwrap_ran && i < pl.n_registry_all; i++)
    if (pl.registry_was_dir[i]) bw_registry_drop_stand_in(pl.registry_all[i], &pl.registry_st[i]);
  for (size_t i = 0; i < pl.fs.n_data_fds; i++) close(pl.fs.data_fds[i]);
  pl.fs.n_data_fds = 0;
  /* The process exits next: outside sanitizer builds its memory goes
   * back with it, which after a run is on the way from the command's
   * exit to ours (see CSB_FREE_BEFORE_EXIT). */
  if (CSB_FREE_BEFORE_EXIT) {
    free(registry);
    free(pl.glob_cache);
    bw_fsargs_free(&pl.fs);
    csb_strv_free(&pl.argv);
    for (size_t i = 0; i < pl.n_registry_all; i++) free(pl.registry_all[i]);
    bw_trust_bundles_free(&pl.trust);
    bw_bwrap_free(&pl.bw);
  }
  bw_proxy_plan_free(&pl.proxy);
  close_fd(&pl.self_fd);
  close_fd(&pl.stderr_fd);
  close_fd(&pl.verify_fd);
  for (int i = 0; i < 2; i++) {
    close_fd(&pl.err_pipe[i]);
    close_fd(&pl.started_pipe[i]);
    close_fd(&pl.info_pipe[i]);
    close_fd(&pl.seccomp_pipe[i]);
    close_fd(&pl.lifeline[i]);
    close_fd(&pl.args_pipe[i]);
  }
  csb_strv_free(&es.tail);
  if (ends_blocked) {
    /* asked to end after bubblewrap was gone (or in the cleanup's wait) */
    int sig = bw_launch_end_take();
    if (sig && rc < CSB_EXIT_SIGNAL_BASE) rc = CSB_EXIT_SIGNAL_BASE + sig;
    sigprocmask(SIG_SETMASK, &ends_before, NULL);
  }
  bw_release_after_exit(reg.gone_fds, reg.n_gone);
  bw_release_keeper_end(&reg.keeper);
  return rc;
}

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

/* --print-seccomp: libseccomp writes the PFC text through a stdio stream
 * of its own and ignores write errors, so it writes into a memfd and the
 * text is copied to stdout from there, where a full disk or a closed
 * stdout is noticed (71). */
static int print_seccomp(outer *o, const bw_seccomp_opts *so) {
  csb_error e;
  csb_error_clear(&e);
  int fd = (int)syscall(SYS_memfd_create, "csb-bwrap-pfc", MFD_CLOEXEC);
  if (fd >= 0 && fd <= 2) { /* a closed stdout must stay closed */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = high;
  }
  if (fd < 0) return csb_cli_error(&o->cli, CSB_EXIT_OSERR, "memfd_create: %s", strerror(errno));
  char *text = NULL;
  size_t len = 0;
  int rc = 0;
  if (!bw_seccomp_export_pfc(so, fd, &e)) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_INTERNAL, "%s", e.msg);
  } else if (lseek(fd, 0, SEEK_SET) != 0 ||
             !csb_read_fd(fd, "the seccomp filter text", (size_t)64 << 20, &text, &len, &e)) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "reading back the seccomp filter text: %s",
                       e.msg[0] ? e.msg : strerror(errno));
  } else if (!csb_write_all(1, text, len)) {
    rc = csb_cli_error(&o->cli, CSB_EXIT_OSERR, "cannot write to standard output: %s", strerror(errno));
  }
  free(text);
  close(fd);
  return rc;
}

static void on_sigpipe(int sig) { (void)sig; }

/* A write to a stderr or stdout nobody reads any more fails with EPIPE
 * instead of killing us between making mount targets and removing them.
 * A handler rather than SIG_IGN: exec resets it, so bubblewrap and CMD get
 * the default disposition they had (one the caller ignores stays ignored). */
static void survive_broken_pipes(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL) return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigpipe;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
}

static int outer_main(int argc, char **argv) {
  outer o;
  memset(&o, 0, sizeof o);
  survive_broken_pipes();
  csb_cli_init(&o.cli, "csb-bwrap", "csb-bwrap [--policy FILE|-] [OPTIONS] -- CMD [ARGS...]",
               "Runs CMD confined by a csb.policy/v1 document: bubblewrap namespaces, a seccomp "
               "filter and, when the policy asks for it, legacy Landlock.",
               opts, argc, argv);
  /* Installed set-user-ID or set-group-ID (or with file capabilities),
   * csb-bwrap would read the caller's policy with its owner's rights and
   * hand them to the command: the Landlock backend has no user namespace
   * to shed them in, so the command ran with the owner's effective uid.
   * A sandbox launcher needs no privilege: refuse before anything else. */
  char *privileged = bw_privileged_launch();
  if (privileged) {
    int rc = csb_cli_error(&o.cli, CSB_EXIT_UNAVAILABLE, "%s", privileged);
    free(privileged);
    return rc;
  }
  const char *arg;
  int id;
  while ((id = csb_cli_next(&o.cli, &arg)) != CSB_CLI_END) {
    switch (id) {
    case CSB_CLI_STOP: return o.cli.exit_code;
    case CSB_CLI_POSITIONAL:
      return csb_cli_usage_error(&o.cli, "unexpected argument `%s` (put the command after --)", arg);
    case OPT_POLICY: o.policy_path = arg; break;
    case OPT_BWRAP: o.bwrap_override = arg; break;
    case OPT_CWD: o.cwd_opt = arg; break;
    case OPT_NO_PROC: o.no_proc = 1; break;
    case OPT_NO_GLOB_CACHE: o.no_glob_cache = 1; break;
    case OPT_PRINT_ARGV: o.print_argv = 1; break;
    case OPT_PRINT_SECCOMP: o.print_seccomp = 1; break;
    case OPT_EXPLAIN: o.explain = 1; break;
    default: return csb_cli_usage_error(&o.cli, "unexpected option");
    }
  }
  if (o.print_argv + o.print_seccomp + o.explain > 1) {
    /* one of them would print, the other be dropped without a word */
    const char *a = o.print_argv ? "--print-argv" : "--print-seccomp";
    const char *b = o.explain ? "--explain" : "--print-seccomp";
    return csb_cli_usage_error(&o.cli, "%s and %s cannot be combined", a, b);
  }
  if (!o.print_seccomp && (!o.cli.has_dashdash || o.cli.rest_argc == 0))
    return csb_cli_usage_error(&o.cli, "no command: use csb-bwrap --policy FILE -- CMD [ARGS...]");
  o.cmd = o.cli.rest_argv;

  csb_error e;
  csb_error_clear(&e);
  csb_path_memo *memo = NULL; /* the lookups of the cwd and the view */
  if (!csb_policy_load_arg(o.policy_path, &o.p, &o.policy_arg, &e))
    return o.policy_arg.missing ? csb_cli_usage_error(&o.cli, "%s", e.msg)
                                : csb_cli_error(&o.cli, CSB_EXIT_DATA, "%s", e.msg);
  int rc;
  if (o.p->platform != CSB_PLATFORM_LINUX) {
    rc = csb_cli_error(&o.cli, CSB_EXIT_UNAVAILABLE,
                       "the policy was resolved for platform `%s`; csb-bwrap enforces Linux policies "
                       "only (resolve it on this host with csb-resolve)",
                       csb_platform_name(o.p->platform));
    goto done;
  }
  if (o.print_seccomp) {
    bw_seccomp_opts so = {net_of(o.p), o.p->allow_all_unix_sockets,
                          !o.p->allow_all_unix_sockets && n_unix_allow(o.p) > 0, 0, 0, 0};
    so.metadata_read_only = o.p->linux_backend == CSB_LINUX_LANDLOCK && !csb_policy_full_disk_write(o.p);
    so.shared_namespaces = o.p->linux_backend == CSB_LINUX_LANDLOCK;
    rc = print_seccomp(&o, &so);
    goto done;
  }
  /* The working directory and the view look at the same paths (the
   * workspace is the working directory, as a rule): asked once. */
  memo = csb_path_memo_new();
  {
    char here[4096];
    const char *c = o.cwd_opt;
    if (!c) c = getcwd(here, sizeof here);
    if (!c) {
      rc = csb_cli_error(&o.cli, CSB_EXIT_OSERR, "getcwd: %s", strerror(errno));
      goto done;
    }
    if (!csb_path_canonicalize_memo(memo, c, &o.cwd, &e)) {
      rc = csb_cli_error(&o.cli, CSB_EXIT_USAGE, "working directory: %s", e.msg);
      goto done;
    }
  }
  if (o.p->enforcement == CSB_ENFORCE_DISABLED ||
      (o.p->enforcement == CSB_ENFORCE_EXTERNAL && o.p->net_mode == CSB_NET_ENABLED)) {
    if (o.explain) {
      printf("enforcement: %s; CMD runs without a csb sandbox\n",
             o.p->enforcement == CSB_ENFORCE_DISABLED ? "disabled" : "external (outer sandbox assumed)");
      rc = 0;
      if (fflush(stdout) != 0 || ferror(stdout))
        rc = csb_cli_error(&o.cli, CSB_EXIT_OSERR, "cannot write to standard output: %s", strerror(errno));
      goto done;
    }
    if (o.print_argv) {
      rc = csb_cli_error(&o.cli, CSB_EXIT_USAGE, "--print-argv: enforcement is %s, no bubblewrap runs",
                         o.p->enforcement == CSB_ENFORCE_DISABLED ? "disabled" : "external");
      goto done;
    }
    csb_path_memo_free(memo);
    exec_direct(&o);
  }
  if (is_wsl1()) {
    rc = csb_cli_error(&o.cli, CSB_EXIT_UNAVAILABLE,
                       "csb-bwrap uses bubblewrap, which WSL1 cannot run (no user namespaces); use WSL2");
    goto done;
  }
  /* The view is made later (ensure_view): with bubblewrap, while it loads. */
  o.memo = memo;
  memo = NULL;
  if (o.p->linux_backend == CSB_LINUX_LANDLOCK) {
    rc = ensure_view(&o);
    if (rc == 0) rc = run_landlock(&o);
  } else {
    collect_runtime(&o.runtime);
    rc = run_bwrap(&o);
    if (CSB_FREE_BEFORE_EXIT) {
      csb_strv_free(&o.runtime.src);
      csb_strv_free(&o.runtime.dst);
    }
  }
done:
  csb_path_memo_free(memo);
  csb_path_memo_free(o.memo);
  if (CSB_FREE_BEFORE_EXIT) {
    csb_policy_view_free(o.v);
    csb_policy_free(o.p);
    free(o.cwd);
  }
  return rc;
}

int main(int argc, char **argv) {
  /* The inner stage ends with _exit: it runs under its own seccomp filter,
   * where exit-time hooks of instrumented builds (leak checkers stopping
   * the world with ptrace) cannot work. */
  if (argc >= 2 && strcmp(argv[1], BW_INNER_FLAG) == 0) _exit(bw_inner_main(argc, argv));
  return outer_main(argc, argv);
}
