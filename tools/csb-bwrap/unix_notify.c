/* unix_notify.c - connect() mediation for Unix socket allow lists.
 *
 * The command's connect() calls stop in the kernel (SECCOMP_RET_USER_NOTIF)
 * and the sandbox's pid 1 decides. It never lets the original call
 * continue (the arguments live in the command's memory and could change
 * after the check); instead it copies the address once, decides on the
 * copy, takes a duplicate of the command's socket (pidfd_getfd) and
 * performs the connect itself in a forked helper (so that a connect that
 * waits never blocks other requests), which returns its result:
 *
 *   pathname Unix sockets  opened O_PATH (following symlinks, relative to
 *                          the command's cwd), checked by canonical path
 *                          against the allow list (and, for a rule in a
 *                          directory the command can write, by device and
 *                          inode against the socket it named at start),
 *                          and connected through /proc/self/fd/N, so the
 *                          checked inode is the one reached;
 *   abstract Unix sockets  allowed only in a private network namespace;
 *   other families         connected as asked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "csb_bwrap.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
/* pidfd_open flag for a thread that need not lead its group (Linux 6.9). */
#define CSB_PIDFD_THREAD O_EXCL

static int path_under(const char *root, const char *path) {
  size_t n = strlen(root);
  if (strcmp(root, "/") == 0) return path[0] == '/';
  return strncmp(root, path, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* The deciding allow rule for `path` (index), -1 when denied. */
static long deciding_allow(const bw_unix_rules *r, const char *path) {
  size_t best_allow = 0, best_deny = 0;
  int allowed = 0, denied = 0;
  long which = -1;
  for (size_t i = 0; i < r->n_allow; i++)
    if (path_under(r->allow[i], path) && strlen(r->allow[i]) >= best_allow) {
      best_allow = strlen(r->allow[i]);
      allowed = 1;
      which = (long)i;
    }
  for (size_t i = 0; i < r->n_deny; i++)
    if (path_under(r->deny[i], path) && strlen(r->deny[i]) >= best_deny) {
      best_deny = strlen(r->deny[i]);
      denied = 1;
    }
  if (!allowed) return -1;
  if (denied && best_deny >= best_allow) return -1;
  return which;
}

int bw_unix_rules_allow(const bw_unix_rules *r, const char *path) {
  return r->allow_all || deciding_allow(r, path) >= 0;
}

int bw_unix_rules_allow_socket(const bw_unix_rules *r, const char *path, const struct stat *st) {
  if (r->allow_all) return 1;
  long i = deciding_allow(r, path);
  if (i < 0) return 0;
  const bw_unix_pin *pin = r->pin ? &r->pin[i] : NULL;
  return !pin || !pin->set || (pin->dev == st->st_dev && pin->ino == st->st_ino);
}

static int read_child(pid_t pid, unsigned long addr, void *buf, size_t len) {
  struct iovec local = {buf, len};
  struct iovec remote = {(void *)addr, len};
  ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  return n == (ssize_t)len;
}

/* The thread group of thread `tid` (its "Tgid:" in /proc), -1 unknown. */
static pid_t thread_group(pid_t tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char *t = strstr(buf, "\nTgid:");
  if (!t) return -1;
  char *end = NULL;
  long v = strtol(t + 6, &end, 10);
  return end != t + 6 && v > 0 && v <= INT_MAX ? (pid_t)v : -1;
}

/* A pidfd for the thread that made the call (req->pid is a thread id, and
 * only a thread group's leader has a plain pidfd): PIDFD_THREAD (Linux
 * 6.9), else the pidfd of its thread group, which shares its descriptor
 * table. -1 with errno on failure. */
static int thread_pidfd(pid_t tid) {
  int fd = (int)syscall(SYS_pidfd_open, tid, CSB_PIDFD_THREAD);
  if (fd >= 0 || errno != EINVAL) return fd;
  pid_t tgid = thread_group(tid);
  if (tgid < 0) {
    errno = ESRCH;
    return -1;
  }
  return (int)syscall(SYS_pidfd_open, tgid, 0);
}

/* Decides a connect to a Unix address: 0 when it may go ahead, with *via
 * the socket file to connect through (opened O_PATH; -1 for an abstract
 * name, connected as asked), or an errno value. Relative names are
 * resolved from `cwd`, the calling thread's working directory. */
static int unix_decide(int cwd, const struct sockaddr_un *sa, socklen_t len, const bw_unix_rules *r,
                       int *via) {
  *via = -1;
  /* The kernel refuses an address longer than struct sockaddr_un, and so
   * do we: the path is copied into a buffer sized for sun_path. */
  if (len > sizeof *sa) return EINVAL;
  size_t plen = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (plen == 0) return EINVAL;
  if (sa->sun_path[0] == 0) {
    /* abstract: scoped to the network namespace */
    if (!r->allow_all && !r->private_netns) return EPERM;
    return 0;
  }
  char path[sizeof sa->sun_path + 1];
  memcpy(path, sa->sun_path, plen);
  path[plen] = 0;
  if (path[0] != '/' && cwd < 0) return EPERM;
  int pfd;
  char *canon = NULL;
  int e = csb_os_pin_path(path[0] == '/' ? AT_FDCWD : cwd, path, &pfd, &canon);
  if (e != 0) return e == ENOTSUP ? EPERM : e;
  struct stat st;
  /* A pinned rule allows the socket it named when the sandbox started,
   * not another one renamed or hard-linked to its name since. */
  int ok = fstat(pfd, &st) == 0 && S_ISSOCK(st.st_mode);
  int err = !ok ? ECONNREFUSED : bw_unix_rules_allow_socket(r, canon, &st) ? 0 : EPERM;
  free(canon);
  if (err != 0) {
    close(pfd);
    return err;
  }
  *via = pfd;
  return 0;
}

/* 1 when a Unix address names a path relative to the caller's cwd. */
static int unix_relative(const struct sockaddr_storage *ss, socklen_t len) {
  const struct sockaddr_un *sa = (const struct sockaddr_un *)ss;
  return ss->ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) && sa->sun_path[0] != 0 &&
         sa->sun_path[0] != '/';
}

int bw_unix_notify_handle(int listener, const bw_unix_rules *r) {
  struct seccomp_notif *req = NULL;
  struct seccomp_notif_resp *resp = NULL;
  if (seccomp_notify_alloc(&req, &resp) != 0) return 0;
  int keep = 1, pidfd = -1, cwd = -1, sock = -1, via = -1;
  if (seccomp_notify_receive(listener, req) != 0) {
    /* the caller died (ENOENT) or we were interrupted */
    keep = errno == ENOENT || errno == EINTR || errno == EAGAIN || errno == 0;
    goto out;
  }
  resp->id = req->id;
  resp->flags = 0;
  resp->val = 0;
  resp->error = -EPERM;
  int sockfd = (int)req->data.args[0];
  unsigned long addr = (unsigned long)req->data.args[1];
  socklen_t len = (socklen_t)req->data.args[2];
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (len < sizeof(sa_family_t) || len > sizeof ss) {
    resp->error = -EINVAL;
    goto respond;
  }
  /* Everything looked up by the caller's thread id (its pidfd, memory and
   * working directory) is taken before SECCOMP_IOCTL_NOTIF_ID_VALID: once
   * that says the call is still pending, the id had not been reused. */
  pidfd = thread_pidfd(req->pid);
  if (pidfd < 0) goto respond;
  if (!read_child(req->pid, addr, &ss, len)) {
    resp->error = -EFAULT;
    goto respond;
  }
  if (unix_relative(&ss, len)) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cwd", (int)req->pid);
    cwd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (seccomp_notify_id_valid(listener, req->id) != 0) goto out;
  sock = (int)syscall(SYS_pidfd_getfd, pidfd, sockfd, 0);
  if (sock < 0) {
    resp->error = errno == EBADF ? -EBADF : -EPERM;
    goto respond;
  }
  if (ss.ss_family == AF_UNIX) {
    int e = unix_decide(cwd, (const struct sockaddr_un *)&ss, len, r, &via);
    if (e != 0) {
      resp->error = -e;
      goto respond;
    }
    if (via >= 0) {
      /* through the descriptor, so that the checked inode is the one
       * reached */
      struct sockaddr_un *un = (struct sockaddr_un *)&ss;
      memset(&ss, 0, sizeof ss);
      un->sun_family = AF_UNIX;
      snprintf(un->sun_path, sizeof un->sun_path, "/proc/self/fd/%d", via);
      len = (socklen_t)sizeof *un;
    }
  }
  /* The connect itself runs in a helper, so that one that waits (a Unix
   * server's full backlog, a slow TCP handshake) never blocks other
   * requests, signals or reaping. */
  pid_t h = fork();
  if (h == 0) {
    int rc = connect(sock, (struct sockaddr *)&ss, len);
    resp->error = rc == 0 ? 0 : -errno;
    seccomp_notify_respond(listener, resp);
    _exit(0);
  }
  if (h < 0) {
    resp->error = -EAGAIN;
    goto respond;
  }
  goto out;
respond:
  if (seccomp_notify_respond(listener, resp) != 0 && errno != ENOENT) keep = 1;
out:
  if (via >= 0) close(via);
  if (sock >= 0) close(sock);
  if (cwd >= 0) close(cwd);
  if (pidfd >= 0) close(pidfd);
  seccomp_notify_free(req, resp);
  return keep;
}
