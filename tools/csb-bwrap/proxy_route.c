/* proxy_route.c - network mode `proxy`: egress only through a loopback
 * proxy on the host.
 *
 *  host network namespace                    sandbox network namespace (lo only)
 *  proxy 127.0.0.1:P <-- bridge process <==== listener 127.0.0.1:L <-- CMD
 *                        (forked by the        (bound by the inner stage,
 *                         outer stage)          handed over with SCM_RIGHTS)
 *
 * A listening socket stays in the namespace it was created in, so the
 * bridge (in the host namespace) accepts connections made inside the
 * sandbox and dials the real proxy from the host side. The inner stage
 * keeps nothing: after the hand-off it closes both the listener and the
 * control socket, then rewrites HTTP_PROXY & co. to 127.0.0.1:L.
 *
 * Bridges are hardened: stdio on /dev/null, PDEATHSIG plus a parent check,
 * not dumpable; so are their per-connection workers, which end with their
 * bridge. Proxy URLs never appear in any argv.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_proxyenv.h"

#define READY 0x01
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define HANDOFF_TIMEOUT_MS 30000

int bw_proxy_plan_from_env(char **envp, bw_proxy_plan *out, csb_strv *unrouted, csb_error *err) {
  memset(out, 0, sizeof *out);
  size_t cap_r = 0, cap_e = 0;
  int any = 0;
  for (char **e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || !csb_proxyenv_is_var(*e, (size_t)(eq - *e))) continue;
    const char *val = eq + 1;
    if (csb_proxyenv_is_blank(val)) continue;
    any = 1;
    csb_proxyenv_url u;
    if (!csb_proxyenv_parse_loopback(val, &u)) {
      if (unrouted) csb_strv_push(unrouted, *e);
      continue;
    }
    const char *host = u.addr;
    int port = u.port;
    size_t ep;
    for (ep = 0; ep < out->n_endpoints; ep++)
      if (strcmp(out->endpoints[ep].host, host) == 0 && out->endpoints[ep].port == port) break;
    if (ep == out->n_endpoints) {
      out->endpoints = csb_xgrow(out->endpoints, &cap_e, out->n_endpoints + 1, sizeof *out->endpoints);
      bw_proxy_endpoint *en = &out->endpoints[out->n_endpoints++];
      memset(en, 0, sizeof *en);
      en->host = csb_xstrdup(host);
      en->port = port;
      en->control_fd = -1;
      en->bridge_pid = -1;
    }
    out->routes = csb_xgrow(out->routes, &cap_r, out->n_routes + 1, sizeof *out->routes);
    bw_proxy_route *r = &out->routes[out->n_routes++];
    r->env_key = csb_xstrndup(*e, (size_t)(eq - *e));
    r->value = csb_xstrdup(val);
    r->host = csb_xstrdup(host);
    r->port = port;
    r->endpoint = (int)ep;
  }
  if (out->n_routes == 0) {
    bw_proxy_plan_free(out);
    if (!any)
      return csb_error_set(err, "network mode `proxy` requires a proxy environment variable "
                                "(HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, ...); run under csb-proxy or "
                                "set one pointing at a loopback proxy");
    return csb_error_set(err, "network mode `proxy` requires a loopback proxy endpoint "
                              "(127.0.0.1, ::1 or localhost) in HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/...");
  }
  return 1;
}

void bw_proxy_plan_free(bw_proxy_plan *plan) {
  if (!plan) return;
  for (size_t i = 0; i < plan->n_routes; i++) {
    free(plan->routes[i].env_key);
    free(plan->routes[i].value);
    free(plan->routes[i].host);
  }
  for (size_t i = 0; i < plan->n_endpoints; i++) {
    free(plan->endpoints[i].host);
    if (plan->endpoints[i].control_fd >= 0) close(plan->endpoints[i].control_fd);
  }
  free(plan->routes);
  free(plan->endpoints);
  memset(plan, 0, sizeof *plan);
}

/* ---- the host-side bridge ------------------------------------------------- */

static int wait_readable(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, ms);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

static int recv_listener(int ctl) {
  if (!wait_readable(ctl, HANDOFF_TIMEOUT_MS)) return -1;
  char byte = 0;
  int fd = bw_recv_fd(ctl, &byte);
  if (fd < 0) return -1;
  if (byte != READY) goto bad;
  /* Validate: a listening TCP socket on 127.0.0.1. */
  int v = 0;
  socklen_t vl = sizeof v;
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl) != 0 || v != SOCK_STREAM) goto bad;
  vl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl) != 0 || v != IPPROTO_TCP) goto bad;
  vl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) != 0 || v != 1) goto bad;
  if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0 || sa.sin_family != AF_INET ||
      sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || sa.sin_port == 0)
    goto bad;
  return fd;
bad:
  close(fd);
  return -1;
}

static int dial(const char *host, int port) {
  if (strcmp(host, "::1") == 0) {
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)port);
    a6.sin6_addr = in6addr_loopback;
    int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&a6, sizeof a6) == 0) return s;
    if (s >= 0) close(s);
    return -1;
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) return s;
  if (s >= 0) close(s);
  return -1;
}

/* Copies both ways until both directions saw EOF. */
static void relay(int a, int b) {
  char buf[16384];
  int open_a = 1, open_b = 1;
  while (open_a || open_b) {
    struct pollfd p[2] = {{open_a ? a : -1, POLLIN, 0}, {open_b ? b : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = read(from, buf, sizeof buf);
      if (n <= 0) {
        shutdown(to, SHUT_WR);
        if (i == 0) open_a = 0;
        else open_b = 0;
        continue;
      }
      if (!csb_write_all(to, buf, (size_t)n)) return;
    }
  }
}

static void harden(pid_t parent) {
  int nul = open("/dev/null", O_RDWR);
  if (nul >= 0) {
    dup2(nul, 0);
    dup2(nul, 1);
    dup2(nul, 2);
    if (nul > 2) close(nul);
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_DUMPABLE, 0);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_IGN); /* connection workers are reaped by the kernel */
}

static void bridge_main(int ctl, const char *host, int port) {
  char ready = READY;
  if (!csb_write_all(ctl, &ready, 1)) _exit(1);
  int lfd = recv_listener(ctl);
  if (lfd < 0) _exit(1);
  if (!csb_write_all(ctl, &ready, 1)) _exit(1);
  close(ctl);
  pid_t self = getpid();
  for (;;) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      _exit(0);
    }
    pid_t w = fork();
    if (w == 0) {
      /* A worker ends with its bridge, which ends with csb-bwrap: a
       * connection the proxy keeps open (and the command left open)
       * must not keep a process of ours running after the run. */
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != self) _exit(0);
      close(lfd);
      int up = dial(host, port);
      if (up < 0) _exit(0);
      relay(c, up);
      _exit(0);
    }
    close(c);
  }
}

int bw_proxy_start_bridges(bw_proxy_plan *plan, int start, csb_error *err) {
  pid_t self = getpid();
  for (size_t i = 0; i < plan->n_endpoints; i++) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
      return csb_error_set(err, "proxy bridge: socketpair: %s", strerror(errno));
    /* Keep both ends above stdio. */
    for (int k = 0; k < 2; k++) {
      if (sp[k] <= 2) {
        int nfd = fcntl(sp[k], F_DUPFD_CLOEXEC, 3);
        close(sp[k]);
        sp[k] = nfd;
      }
    }
    plan->endpoints[i].control_fd = sp[0];
    if (!start) {
      close(sp[1]);
      continue;
    }
    pid_t pid = fork();
    if (pid < 0) return csb_error_set(err, "proxy bridge: fork: %s", strerror(errno));
    if (pid == 0) {
      /* Keep only our end of the control socket: anything else we hold
       * (pipes to bubblewrap, other routes) must not stay open here. */
      int ctl = sp[1] == 3 ? 3 : dup2(sp[1], 3);
      if (ctl != 3 || syscall(SYS_close_range, 4U, ~0U, 0U) != 0)
        for (int fd = 4; fd < 4096; fd++) close(fd);
      harden(self);
      bridge_main(3, plan->endpoints[i].host, plan->endpoints[i].port);
      _exit(0);
    }
    close(sp[1]);
    plan->endpoints[i].bridge_pid = pid;
    char b = 0;
    if (!wait_readable(sp[0], HANDOFF_TIMEOUT_MS) || read(sp[0], &b, 1) != 1 || b != READY)
      return csb_error_set(err, "proxy bridge for %s:%d did not start", plan->endpoints[i].host,
                           plan->endpoints[i].port);
  }
  return 1;
}

/* ---- inner side ------------------------------------------------------------ */

int bw_proxy_inner_handoff(int control_fd, int *port_out, csb_error *err) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return csb_error_set(err, "proxy listener: socket: %s", strerror(errno));
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 128) != 0) {
    int e = errno;
    close(s);
    return csb_error_set(err, "proxy listener: bind 127.0.0.1:0 inside the network namespace: %s "
                              "(is the loopback interface up?)", strerror(e));
  }
  socklen_t al = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &al);
  char r = 0;
  if (!bw_send_fd(control_fd, s, READY)) {
    int e = errno;
    close(s);
    return csb_error_set(err, "proxy listener hand-off failed: %s", strerror(e));
  }
  if (!wait_readable(control_fd, HANDOFF_TIMEOUT_MS) || read(control_fd, &r, 1) != 1 || r != READY) {
    close(s);
    return csb_error_set(err, "proxy bridge rejected the listener");
  }
  close(s);
  close(control_fd);
  *port_out = ntohs(a.sin_port);
  return 1;
}
