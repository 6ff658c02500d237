/* csb_bwrap.h - internal interfaces of csb-bwrap (not a library).
 *
 * csb-bwrap runs in two stages:
 *
 *   outer  (main.c, launch.c)   reads the policy, builds a bubblewrap argv
 *                               (mounts.c), finds bwrap (bwrap_find.c),
 *                               registers host-side mount targets
 *                               (synthetic.c), starts proxy bridges
 *                               (proxy_route.c), runs bwrap and cleans up.
 *   inner  (inner.c)            csb-bwrap re-entered inside the namespaces
 *                               through a read-only bind of its own binary:
 *                               no_new_privs, capability check, proxy
 *                               listener hand-off, seccomp (seccomp.c), then
 *                               CMD as a child it reaps, with Unix-socket
 *                               connects mediated by unix_notify.c.
 *
 *   legacy Landlock (landlock.c) replaces both stages when the policy asks
 *                               for it: no bwrap, in-process restriction.
 *
 * Conventions are those of libs/base: 1/0 returns with csb_error.
 */
#ifndef CSB_BWRAP_H
#define CSB_BWRAP_H

#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "csb_base.h"
#include "csb_paths.h"
#include "csb_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the inner stage's binary is bound inside the sandbox. It lives on
 * the tmpfs bubblewrap creates for --dev, so nothing is created on the
 * host and no host directory becomes visible. */
#define BW_INNER_PATH "/dev/.csb-bwrap"
/* Hidden first argument that selects the inner stage. */
#define BW_INNER_FLAG "--csb-inner-stage"

/* When this process runs with privileges its caller does not have (real
 * and effective uid or gid differ, or the kernel marked the exec secure:
 * set-user-ID, set-group-ID, file capabilities), the message refusing to
 * run (caller frees); else NULL. Both stages refuse: the inner stage,
 * named by its hidden flag, runs the command as well. */
char *bw_privileged_launch(void);

/* ---- bwrap discovery (bwrap_find.c) ------------------------------------- */

typedef struct bw_bwrap {
  char *path;        /* what was chosen (absolute) */
  char *exec_path;   /* what to execv: path, or /proc/self/fd/N (bundled) */
  int exec_fd;       /* >= 0 when exec_path is /proc/self/fd/N */
  const char *source; /* "--bwrap", "PATH", "bundled" */
  char *version;     /* "bubblewrap 0.8.0" or NULL */
  int has_argv0;
  int has_ro_bind_fd;
  int has_disable_userns;
  int has_perms;
  int has_as_pid_1;
  int has_info_fd;
  int has_args; /* --args FD: arguments read from a descriptor */
} bw_bwrap;

/* Finds bubblewrap. `override` is --bwrap (NULL when absent); `cwd` is the
 * canonical working directory (PATH entries under it are skipped unless it
 * is "/"); PATH entries where a sandbox under `p` could have put a file
 * (NULL: no policy) are skipped too. On failure err says what was tried
 * and what to do. */
int bw_bwrap_find(const char *override, const char *cwd, const csb_policy *p, bw_bwrap *out,
                  csb_error *err);
void bw_bwrap_free(bw_bwrap *b);
/* Parses `bwrap --help` text into the has_* flags (exposed for tests). */
void bw_bwrap_parse_help(const char *help, bw_bwrap *b);
/* Sets the has_* flags of the option names found in the first `size`
 * bytes of the ELF file fd (bubblewrap embeds its --help text), read in
 * pieces: in its segments without code, or in all of it when those lack
 * --perms or --as-pid-1; 0 when it is not an ELF file or cannot be read
 * (exposed for tests). */
int bw_bwrap_scan_binary(int fd, off_t size, bw_bwrap *b);
/* SHA-256 of an open file descriptor, hex (65 bytes incl. NUL). */
int bw_sha256_fd(int fd, char hex[65], csb_error *err);

/* ---- filesystem arguments (mounts.c) ----------------------------------- */

typedef enum {
  BW_SYNTH_FILE = 0, /* bwrap creates an empty file at the path */
  BW_SYNTH_DIR = 1   /* bwrap creates an empty directory */
} bw_synth_kind;

typedef struct bw_synth {
  char *path;
  bw_synth_kind kind;
  int existing; /* already there (maybe another run's target): only shared */
} bw_synth;

typedef struct bw_mount_opts {
  int mount_proc;       /* --proc /proc, else an empty read-only /proc */
  int has_perms;        /* bwrap supports --perms */
  const char *registry; /* synthetic-target registry dir to hide, or NULL */
  /* The other directories a run may pick as its registry (another
   * environment, another fallback): hidden too, and created first when
   * the sandbox could write there, so that no run can plant cache files
   * (deny-glob expansions) or registry entries that
   * a later run would trust. */
  const char *const *registry_others;
  size_t n_registry_others;
  /* Cache directory of deny-glob expansions (csb_glob_expand_opts), or
   * NULL for none. */
  const char *glob_cache;
  /* Files the inner stage itself needs to start (a dynamically linked
   * build's loader and libraries), bound read-only when the policy does
   * not make them readable anyway. Pairs of (canonical source, path). */
  const char *const *runtime_src;
  const char *const *runtime_dst;
  size_t n_runtime;
  /* Files bound read-only on top of everything else at their paths, with
   * the contents of a descriptor (--perms 0444 --ro-bind-data; each build
   * reads it from offset 0 through a duplicate), e.g. the proxy's CA
   * bundles. */
  const char *const *data_file_dst;
  const int *data_file_fd;
  size_t n_data_files;
  /* Test hook: when set, data-mask fds are not opened; every
   * --ro-bind-data gets this number instead. */
  int fake_data_fd;
  /* The file system's answers for this plan (csb_paths.h; borrowed), so
   * that the caller and the build ask each path once; NULL: the build
   * uses one of its own. A snapshot for one build only: a build after
   * bubblewrap ran (which made mount targets) needs a new one. */
  csb_path_memo *memo;
} bw_mount_opts;

typedef struct bw_fsargs {
  csb_strv argv;       /* filesystem part of the bwrap argv */
  int *data_fds;       /* one fd per --ro-bind-data (must stay open) */
  size_t n_data_fds;
  size_t cap_data_fds;
  bw_synth *synth;     /* paths bubblewrap will create on the host */
  size_t n_synth;
  size_t cap_synth;
  csb_strv explain;    /* one line per decision, for --explain */
  /* Read-only masks inside writable roots: the inner stage re-checks
   * that each is still a read-only mount and not a symlink (a swap during
   * setup would have let bubblewrap mount somewhere else); and, as
   * "w:PATH", read-write binds inside writable roots, re-checked as
   * directories that are still mount points. */
  csb_strv verify;
  int glob_cache_stored; /* a deny-glob expansion wrote a new cache file */
  /* The soft RLIMIT_NOFILE before the build raised it to hold data_fds (the
   * command gets it back), or 0 when it was left alone. */
  unsigned long long nofile_restore;
  /* Shared flock(2)s on the empty entries that masks mount onto: existing
   * ones (they may be another run's mount points, another user's
   * included) and those we make ourselves (bw_synth_make_all); no run removes
   * an entry while another holds it (close-on-exec). */
  int *held_fds;
  size_t n_held_fds;
  size_t cap_held_fds;
} bw_fsargs;

/* Builds the filesystem arguments for the policy `p` with its derived view
 * `v`. Fails closed (err names the rule) when a carve-out crosses a
 * symlink the sandbox could rewrite, a deny glob is too broad, and so on. */
int bw_mounts_build(const csb_policy *p, const csb_policy_view *v,
                    const bw_mount_opts *o, bw_fsargs *out, csb_error *err);
void bw_fsargs_free(bw_fsargs *f);
/* Releases the shared locks (before our own cleanup removes targets). */
void bw_fsargs_release_holds(bw_fsargs *f);
/* Adds fd to the holds of f, which closes it. */
void bw_fsargs_hold(bw_fsargs *f, int fd);

/* ---- directory listing (dirlist.c) -------------------------------------- */

/* Calls fn(ctx, dfd, name) for every entry of `dir` but "." and "..", until
 * fn returns 0 (dfd: the directory, for *at() calls; entries may be removed
 * while listing). Allocates nothing. 0 when `dir` cannot be opened, else 1. */
int bw_dir_each(const char *dir, int (*fn)(void *ctx, int dfd, const char *name), void *ctx);

/* ---- synthetic mount targets (synthetic.c) ------------------------------ */

/* The child that takes the last references to removed mount targets
 * (release.c). */
typedef struct bw_release_keeper {
  int active;
  int pipe_w; /* our end: the keeper exits once it is closed */
  struct {
    dev_t dev;
    ino_t ino;
  } *ids;     /* the targets it holds */
  size_t n;
} bw_release_keeper;

typedef struct bw_registry {
  char *dir;        /* registry directory */
  int lock_fd;
  char **targets;
  int *kinds;
  size_t n;
  /* Descriptors on the targets bw_registry_cleanup removed, the last
   * references to them, where bw_release_worth_deferring_on says so: for
   * bw_release_after_exit. */
  int *gone_fds;
  size_t n_gone, cap_gone;
  /* bw_release_worth_deferring_on for the mounts asked about so far */
  int defer_mount[8], defer[8];
  size_t n_defer;
  /* Holds the targets bw_registry_defer_prepare found worth it, when it
   * could be started: their removal leaves nothing for gone_fds. */
  bw_release_keeper keeper;
} bw_registry;

/* Picks (and creates, mode 0700) the registry directory for this user;
 * NULL when none is usable. */
char *bw_registry_default_dir(csb_error *why);
/* Every directory a run of this user may pick as its registry (another
 * environment picks another one), newly allocated into `out`; with
 * `hide_only`, also those a later run from a login session may pick. */
#define BW_REGISTRY_MAX_CANDIDATES 4
size_t bw_registry_candidates(char **out, int hide_only);
/* 1 when `dir` is a registry every run of this user hides from its sandbox
 * whatever its environment (/run/csb-bwrap for root, /run/user/UID/csb-bwrap,
 * /tmp/csb-bwrap-UID). Elsewhere (XDG_RUNTIME_DIR set to another place) an
 * earlier run with another environment may have let its command write
 * there, so what the registry caches (deny-glob expansions) is not
 * trusted; mount targets are still registered there. */
int bw_registry_trusted(const char *dir);
/* Creates `dir` (mode 0700) when missing and checks that it is a directory
 * of ours that nobody else can write, as the registry must be. */
int bw_registry_secure(const char *dir, csb_error *err);
/* 1 (and its owner) when `dir` is another user's and our processes can
 * neither remove nor rename it (its directory is sticky and not ours, or
 * not writable by us): no run of ours ever uses it as its registry, nor
 * can a command of ours make it its own. */
int bw_registry_held_by_other(const char *dir, uid_t *owner);
/* Waits (at most about a second: a run removing the entry holds its lock
 * for a moment) for a shared flock on fd, an entry opened as `name` in
 * the directory dfd (or AT_FDCWD and a path), and checks that the name
 * still leads to it. 1 when it does (held, or the lock never came: the
 * entry's owner can remove it anyway); 0 when the entry was removed or
 * replaced meanwhile. */
int bw_synth_hold_at(int fd, int dfd, const char *name);
/* Makes the missing mount targets of f (empty directories, mode 0755, or
 * empty files, 0444, less the umask: what bubblewrap would make) before
 * bubblewrap runs, reaching their directories without following
 * symlinks, and holds each among f's holds with a shared flock
 * (bw_synth_hold_at) until the run ends: a concurrent run that made the
 * same entry, and whose registry does not show ours (another user's, or
 * ours with another registry), then leaves it in place when it ends,
 * where it would otherwise remove the mount point under our mask and so
 * detach it. Another run's entry made meanwhile is held likewise. One
 * that cannot be made or held is left to bubblewrap, which makes it as it
 * would have, unheld. */
void bw_synth_make_all(bw_fsargs *f);
/* How to wait for the registry's lock while another run holds it: NULL,
 * in flock (which only a signal the caller handles interrupts), or by
 * looking again after a short, growing sleep, calling fn(arg) before each:
 * the wait ends when it returns 0 (a caller whose signals are blocked
 * takes them there). */
typedef struct bw_registry_wait {
  int (*fn)(void *arg);
  void *arg;
} bw_registry_wait;
/* Removes what runs that died without cleaning up (SIGKILL) left behind.
 * Call before looking at the workspace. 0 when the wait for the lock
 * ended (nothing swept), else 1. */
int bw_registry_sweep(const char *dir, const bw_registry_wait *wait);
/* Registers every target under a lock, with a marker for our pid. 1; 0
 * with why; -1 when the wait for the lock ended (nothing registered, err
 * untouched). */
int bw_registry_register(bw_registry *r, const char *dir, const bw_synth *t,
                         size_t n, const bw_registry_wait *wait, csb_error *err);
/* Reads, while the sandbox runs, what bw_registry_cleanup will ask about
 * the mounts of the registered targets' directories (so that it is not on
 * the way from the command's exit to ours), and starts the keeper on the
 * targets where deferring their last close is worth it (once a run),
 * with copies of the descriptors also[0..n_also) (-1 skipped), whose last
 * close it then takes too. */
void bw_registry_defer_prepare(bw_registry *r, const int *also, size_t n_also);
/* Removes our markers; deletes targets no live process still uses, only if
 * they are still the empty file/directory bubblewrap created. */
void bw_registry_cleanup(bw_registry *r, const bw_registry_wait *wait);
/* Closes the descriptors `fds` (n of them, on entries already unlinked)
 * and frees the array, the closes that free the entries' blocks done by
 * a child of ours that outlives us by the time they take (release.c);
 * done here when there is no such child. Called last, as we exit. */
void bw_release_after_exit(int *fds, size_t n);
/* The id of the mount the directory dfd is on, or -1. */
int bw_release_mount_id(int dfd);
/* 1 when the last close of entries removed from the directory dfd, on the
 * mount mount_id, is worth leaving to a keeper or bw_release_after_exit:
 * it is the root mount of our mount namespace (nobody unmounts it, so the
 * child's descriptors never keep busy a file system the caller unmounts
 * right after us), mounted with `discard`. Asks statmount(2), else reads
 * the mount table. */
int bw_release_worth_deferring_on(int dfd, int mount_id);
/* The decision on /proc/self/mountinfo's text for the mount `mount_id`
 * (0 when it is not listed). */
int bw_release_mountinfo_says_defer(const char *text, size_t len, int mount_id);
/* The decision on statmount(2)'s answer (len bytes of room; its mount
 * point and superblock options asked for): 1 or 0, -1 when the answer
 * does not tell (no options in it, malformed). */
int bw_release_statmount_says_defer(const unsigned char *ans, size_t len);
/* Starts the keeper on the path descriptors fds[0..n) (the caller keeps
 * and closes its own): 1, else 0 with *k inactive. */
int bw_release_keeper_start(bw_release_keeper *k, const int *fds, size_t n);
/* Whether the keeper holds the entry (dev, ino). */
int bw_release_keeper_holds(const bw_release_keeper *k, dev_t dev, ino_t ino);
/* Lets the keeper go (it closes what it holds): called last, as we exit. */
void bw_release_keeper_end(bw_release_keeper *k);
/* What became of the registry directory `dir` since `was` (its lstat when
 * the sandbox was planned): NULL when it is still that directory, else
 * "was removed", "was replaced by a symlink", ... */
const char *bw_registry_change(const char *dir, const struct stat *was);
/* After bubblewrap ran: where `dir`, a directory when the sandbox was
 * planned (`was`), was removed in its parent writable by the sandbox,
 * bubblewrap made an empty directory there to mount over (mode 0755 under
 * the usual umask: no registry any run accepts, and in the way of the
 * next run's); removes it. A registry since made by another run (mode
 * 0700) stays. */
void bw_registry_drop_stand_in(const char *dir, const struct stat *was);

/* ---- proxy routing (proxy_route.c) -------------------------------------- */

typedef struct bw_proxy_route {
  char *env_key;   /* exact name in the environment */
  char *value;     /* original value */
  char *host;      /* 127.0.0.1 or ::1 */
  int port;
  int endpoint;    /* index into endpoints */
} bw_proxy_route;

typedef struct bw_proxy_endpoint {
  char *host;
  int port;
  int control_fd;  /* our end, inherited by bwrap -> inner stage */
  pid_t bridge_pid;
} bw_proxy_endpoint;

typedef struct bw_proxy_plan {
  bw_proxy_route *routes;
  size_t n_routes;
  bw_proxy_endpoint *endpoints;
  size_t n_endpoints;
} bw_proxy_plan;

/* Scans environ for proxy variables (csb_proxyenv_is_var, any letter case)
 * and plans a route for each loopback proxy URL in them
 * (csb_proxyenv_parse_loopback). Fails when there is no proxy variable or
 * none names a loopback endpoint. Each other set one is appended to
 * `unrouted` (may be NULL) as NAME=VALUE: CMD gets it unchanged, and
 * nothing inside can reach it. */
int bw_proxy_plan_from_env(char **envp, bw_proxy_plan *out, csb_strv *unrouted, csb_error *err);
/* Creates a control socketpair and forks a hardened bridge per endpoint.
 * `start` = 0 only creates the socketpairs (for --print-argv). */
int bw_proxy_start_bridges(bw_proxy_plan *plan, int start, csb_error *err);
void bw_proxy_plan_free(bw_proxy_plan *plan);
/* Inner stage: binds a loopback listener, hands it to the host bridge over
 * control_fd and returns the port. */
int bw_proxy_inner_handoff(int control_fd, int *port_out, csb_error *err);

/* ---- descriptor passing (fdpass.c) --------------------------------------- */

/* Sends the byte `tag` with `fd` attached (SCM_RIGHTS). 1/0, errno kept. */
int bw_send_fd(int sock, int fd, char tag);
/* Receives one byte (into *tag, may be NULL) with exactly one descriptor
 * (close-on-exec); -1 for anything else (nothing, truncated data, no or
 * more descriptors, which are closed). */
int bw_recv_fd(int sock, char *tag);

/* ---- the proxy's CA bundles (trust.c) ----------------------------------- */

/* What csb-proxy exports: the bundles it made, `:`-separated. */
#define BW_TRUST_BUNDLES_VAR "CSB_NETWORK_PROXY_CA_BUNDLES"

typedef struct bw_trust_bundles {
  char **paths; /* absolute, normalised, distinct */
  int *fds;     /* sealed copies of what was checked (memfd) */
  size_t n;
} bw_trust_bundles;

/* Checks every bundle BW_TRUST_BUNDLES_VAR lists in envp: an absolute,
 * normalised path, opened without following a final symlink, to a regular
 * file of at most 4 MiB that holds only PEM CERTIFICATE blocks; keeps a
 * sealed copy of each. Unset or empty: no bundles. Fails on the first bad
 * entry, err naming the variable, the path and why. */
int bw_trust_bundles_load(char *const *envp, bw_trust_bundles *out, csb_error *err);
void bw_trust_bundles_free(bw_trust_bundles *b);
/* A memfd named `name` holding `data`, sealed against every change and
 * rewound, close-on-exec; -1 with errno set on failure. */
int bw_sealed_memfd(const char *name, const char *data, size_t len);
/* The two halves of bw_sealed_memfd, for a memfd handed out before its
 * content is known: an empty sealable memfd (close-on-exec) or -1; then
 * data written, sealed and rewound (1, or 0 with errno). */
int bw_sealable_memfd(const char *name);
int bw_memfd_seal(int fd, const char *data, size_t len);
/* 1 when data is one or more PEM CERTIFICATE blocks (base64 lines between
 * BEGIN and END) and blank lines, nothing else; else 0 with *why. */
int bw_pem_only_certificates(const char *data, size_t len, const char **why);

/* ---- seccomp (seccomp.c) ------------------------------------------------ */

typedef enum {
  BW_SECCOMP_NET_RESTRICTED = 0, /* AF_UNIX only */
  BW_SECCOMP_NET_PROXY,          /* AF_INET/AF_INET6 (+AF_UNIX as allowed) */
  BW_SECCOMP_NET_ENABLED         /* host network */
} bw_seccomp_net;

/* Syscall numbers from this one up are newer than every rule of the
 * filter (file_setattr, 469, is the newest it names): they fail with
 * ENOSYS on the native architecture. */
#define BW_SECCOMP_FIRST_UNVETTED 470

typedef struct bw_seccomp_opts {
  bw_seccomp_net net;
  int unix_all;       /* dangerously_allow_all_unix_sockets */
  int unix_mediated;  /* connect() goes to the supervisor (allow list) */
  /* the legacy Landlock backend without a writable root: Landlock leaves
   * modes, owners, times, extended attributes and inode flags alone, so
   * the filter refuses changing them */
  int metadata_read_only;
  /* the legacy Landlock backend: the command shares the caller's PID and
   * IPC namespaces, so the filter refuses changing the scheduling, limits
   * and I/O priority of any process but the caller itself (pid 0), and
   * SysV IPC */
  int shared_namespaces;
  /* For tests: the syscall numbers tested one after the other (libseccomp's
   * default layout) instead of as a binary tree; the decisions are the
   * same. */
  int linear;
} bw_seccomp_opts;

/* Installs the common deny filter on the calling thread (needs
 * no_new_privs). */
int bw_seccomp_install(const bw_seccomp_opts *o, csb_error *err);
/* Installs a second filter that sends connect() to a user-notification
 * listener; returns the listener fd. */
int bw_seccomp_install_notify(int *listener_out, csb_error *err);
/* The command's filter as raw BPF (struct sock_filter[]), written to fd:
 * the guard of BW_SECCOMP_FIRST_UNVETTED, then libseccomp's program
 * (seccomp_gen compiles them into the binary). bw_seccomp_install loads
 * the guard as a filter of its own. */
int bw_seccomp_export_bpf(const bw_seccomp_opts *o, int fd, csb_error *err);
/* That guard as a whole filter (its last instruction allows) into out;
 * its length, or 0 when cap is too small. */
struct sock_filter;
size_t bw_seccomp_guard(struct sock_filter *out, size_t cap);
/* Loads raw BPF on the calling thread (needs no_new_privs). */
int bw_seccomp_load_bpf(const void *prog, size_t len, csb_error *err);
/* Writes the filter in libseccomp's PFC form to fd (for docs and tests). */
int bw_seccomp_export_pfc(const bw_seccomp_opts *o, int fd, csb_error *err);

/* ---- Unix socket mediation (unix_notify.c) ------------------------------ */

/* The socket an allow rule named when the sandbox started, for a rule
 * whose directory the command can write (where it could rename or
 * hard-link another socket to the allowed name). */
typedef struct bw_unix_pin {
  int set;
  dev_t dev;
  ino_t ino;
} bw_unix_pin;

typedef struct bw_unix_rules {
  char **allow;  /* canonical allowed paths (or directories) */
  size_t n_allow;
  char **deny;
  size_t n_deny;
  int allow_all;
  bw_unix_pin *pin; /* parallel to allow (NULL: none pinned) */
  /* 1 when the sandbox has its own network namespace: abstract sockets
   * (scoped to it) reach only the sandbox's own. 0 (the host's namespace):
   * only allow_all lets a connect to one through. */
  int private_netns;
} bw_unix_rules;

/* 1 when a connect to `path` (canonical) is allowed. */
int bw_unix_rules_allow(const bw_unix_rules *r, const char *path);
/* 1 when a connect to `path` (canonical), which reached the socket file
 * `st`, is allowed: as bw_unix_rules_allow, and when the deciding rule is
 * pinned, `st` is the socket pinned. */
int bw_unix_rules_allow_socket(const bw_unix_rules *r, const char *path, const struct stat *st);
/* Handles one pending notification on `listener`. Returns 0 when the
 * listener is gone. */
int bw_unix_notify_handle(int listener, const bw_unix_rules *r);

/* ---- Landlock (landlock.c) ---------------------------------------------- */

/* The best Landlock ABI the kernel offers, 0 when none. */
int bw_landlock_abi(void);
/* Legacy backend: restricts the calling process to the view (read-only
 * readable roots, full access on writable roots and /dev/null). Refuses
 * views it cannot express. */
int bw_landlock_apply(const csb_policy *p, const csb_policy_view *v,
                      csb_error *err);
/* Explains why the view cannot be enforced by Landlock; NULL when it can.
 * Caller frees. */
char *bw_landlock_unsupported(const csb_policy *p, const csb_policy_view *v);
/* The same for a kernel with Landlock ABI `abi` (0: none). */
char *bw_landlock_unsupported_on(const csb_policy *p, const csb_policy_view *v, int abi);

/* ---- inner stage (inner.c) ---------------------------------------------- */

/* A standard descriptor the command gets as a pipe that pid 1 copies into
 * the caller's file (see rebind_stdio in inner.c). */
typedef struct bw_stdio_relay {
  int out;    /* the caller's descriptor, pid 1's copy */
  int in;     /* read end of the pipe, non-blocking; -1 once drained */
  int fds[3]; /* the standard descriptors it stands for */
  int n_fds;
} bw_stdio_relay;

int bw_inner_main(int argc, char **argv);
/* pid-1 duty loop shared with the legacy path: runs argv as a child,
 * forwards signals, reaps everything, returns CMD's exit code. When
 * notify_fd >= 0 it also serves Unix-socket mediation. Returns at once
 * (128+SIGKILL) when the lifeline hangs up: the outer stage is gone. */
int bw_supervise(pid_t child, int notify_fd, int lifeline, const bw_unix_rules *rules,
                 struct bw_stdio_relay *relays, size_t n_relays);

/* ---- capabilities (caps.c) ------------------------------------------------ */

/* Drops every capability: the bounding set first (each one it can: that
 * takes CAP_SETPCAP), then bw_caps_clear. 1, or 0 with err set. */
int bw_caps_drop_all(csb_error *err);
/* Drops capability number cap from the bounding set (CAP_SETPCAP needed).
 * 1, or 0 with err set. */
int bw_caps_drop_bounding(int cap, csb_error *err);
/* Empties the effective, permitted, inheritable (and with them the
 * ambient) sets, and checks. 1, or 0 with err set. */
int bw_caps_clear(csb_error *err);
/* 1 when the process has no capability: none effective, permitted,
 * inheritable or ambient. (The bounding set only limits what an exec may
 * grant, which no_new_privs makes nothing.) */
int bw_caps_none(void);
/* 1 when capability number cap is in the bounding set (or that cannot be
 * read). */
int bw_caps_in_bounding(int cap);

/* ---- the host's device nodes in a root run (devnodes.c) ----------------- */

/* 1 when the sandbox's device nodes must be made read-only: we run as
 * root, whose sandbox would own the host's nodes bubblewrap binds (and
 * the terminal it binds at /dev/console). */
int bw_devnodes_wanted(void);
/* Why bw_tty_seal_apply failed: errno, the step and the path (or NULL);
 * the strings are static or the argument's. */
typedef struct bw_devnodes_error {
  int err;
  const char *step;
  const char *node;
} bw_devnodes_error;
/* The terminals on our standard descriptors that bubblewrap does not bind
 * itself: stdout's goes to /dev/console (--dev); one on stdin or stderr
 * that is another (or stdout is none) is bound at BW_STDIO_TTY_NODE
 * (its descriptor's number) by an option of ours. Their host paths. */
#define BW_STDIO_TTY_NODE "/dev/.csb-tty%d"
typedef struct bw_stdio_ttys {
  size_t n;
  int fd[2];
  char path[2][256];
} bw_stdio_ttys;
void bw_stdio_ttys_find(bw_stdio_ttys *t);
/* For a run by a user other than root with a terminal on a standard
 * descriptor (bubblewrap binds them into the sandbox, see above): their
 * paths (each once) and the maps of a user namespace of ours, made before
 * bw_spawn; `which` names the descriptors, for messages. */
typedef struct bw_tty_seal {
  size_t n;
  char tty[3][256];
  char which[48];
  char uid_map[64], gid_map[64];
} bw_tty_seal;
/* Fills *t and returns 1 when such a run needs bw_tty_seal_apply. */
int bw_tty_seal_wanted(bw_tty_seal *t);
/* In the child of bw_spawn, before bubblewrap is executed: a user
 * namespace mapping our uid and gid to themselves and a mount namespace
 * (a slave of ours) in which each terminal is a read-only bind of itself.
 * 1; 0 with *e filled in. System calls only. */
int bw_tty_seal_apply(const bw_tty_seal *t, bw_devnodes_error *e);
/* In the inner stage, with CAP_SYS_ADMIN and CAP_SETPCAP of the sandbox's
 * user namespace (bubblewrap's --cap-add): remounts bubblewrap's binds of
 * the device nodes (and of the terminals: /dev/console and the
 * BW_STDIO_TTY_NODE ones) read-only, then drops both
 * capabilities (also when the remount failed). 1, or 0 with err set. */
int bw_devnodes_seal(csb_error *err);

/* ---- running bubblewrap (launch.c) -------------------------------------- */

typedef struct bw_launch_result {
  int started;     /* the inner stage reported that setup completed */
  int wait_status; /* bubblewrap's wait status */
  int error;       /* errno of a failed fork */
  char *captured;  /* bubblewrap's stderr before the start (caller frees) */
  int signal;      /* the last SIGINT, SIGTERM, SIGHUP or SIGQUIT forwarded, or 0 */
  bw_devnodes_error tty; /* .err != 0: bubblewrap was not started (bw_tty_seal_apply failed) */
  char tty_which[48];    /* then: the standard descriptors on the terminals ("input, error") */
} bw_launch_result;

/* Starts fn(arg) in a child process that shares our memory until it execs
 * or exits (vfork: no page tables to copy, no copy-on-write faults, which
 * is most of what fork() of a small process costs); we wait suspended
 * until then. fn may only make system calls (no allocation, no stdio
 * buffers) and ends with exec, or returns the child's exit status; what
 * it stores in memory is seen by us afterwards. -1 with errno on failure. */
pid_t bw_spawn(int (*fn)(void *), void *arg);
/* 1 when one of the signals bw_launch_run forwards to the sandbox
 * (SIGINT, SIGTERM, SIGHUP, SIGQUIT: the ones that ask a run to end) is
 * pending, blocked. */
int bw_launch_end_pending(void);
/* Those signals, as a set. */
void bw_launch_end_set(sigset_t *set);
/* Takes those of them that are pending (blocked): the last one's number,
 * or 0. */
int bw_launch_end_take(void);
/* Starts bubblewrap (bw_spawn) with stderr on err_w, clearing FD_CLOEXEC on
 * keep_fds in the child; forwards signals; relays err_r after the start.
 * Closes err_w, info_w and started_w in the parent. bubblewrap starts
 * with the signal mask child_mask (NULL: ours when called), and, when
 * bw_tty_seal_wanted, after bw_tty_seal_apply. */
int bw_launch_run(const char *exec_path, char **argv, const int *keep_fds, size_t n_keep,
                  int err_w, int err_r, int started_r, int info_r, int info_w, int started_w,
                  void (*after_fork)(void *, pid_t), void *after_fork_arg, const sigset_t *child_mask,
                  bw_launch_result *res);
int bw_is_proc_failure(const char *text);
int bw_is_userns_failure(const char *text);

#ifdef __cplusplus
}
#endif

#endif /* CSB_BWRAP_H */
