/* udp.c - SOCKS5 UDP ASSOCIATE: a relay socket per association; every
 * destination is put through the host policy (protocol socks5_udp) once per
 * association, datagrams to it wait while that is pending (at most
 * MAX_QUEUED per destination and buffer_bytes per association; more are
 * dropped) and are dropped when it is blocked. Only datagrams from the
 * client that opened the association are relayed: from the address and
 * port its request named (RFC 1928 section 7), or, when it sent zeros, from
 * its TCP address and the port of its first datagram. Only replies from
 * destinations it wrote to are returned. Fragmented datagrams are dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "csb_socks.h"

#define MAX_DESTS 64
#define MAX_QUEUED 8
#define MAX_DGRAM 65535

typedef struct udp_dest {
  struct px_udp *u;
  char host[256];
  int port;
  int state; /* 0 pending, 1 allowed, 2 blocked */
  csb_host_eval ev;
  int override_;
  struct sockaddr_storage addr;
  csb_buf queue; /* [u16 length][bytes]... */
  size_t n_queued;
  px_resolve_job *rjob;
  px_decide_wait *dwait;
} udp_dest;

struct px_udp {
  px_proxy *px;
  px_conn *ctl;
  int fd, out4, out6;
  csb_ev_io io, io4, io6;
  struct sockaddr_storage peer; /* TCP client address (IP must match) */
  struct sockaddr_storage client; /* the one source datagrams may come from */
  int have_client;                /* client is set (declared, or locked) */
  udp_dest *dests[MAX_DESTS];
  size_t n_dests;
  size_t queued_bytes; /* of all the destinations' queues */
};

/* Datagram sources, the TCP client's address and the destinations are each
 * compared with an address of their own socket's family: no unmapping here
 * (see expect_source for the one comparison across spellings). */
static int same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16) ==
           0;
  return 0;
}

static uint16_t port_of(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET) return ((const struct sockaddr_in *)a)->sin_port;
  if (a->ss_family == AF_INET6) return ((const struct sockaddr_in6 *)a)->sin6_port;
  return 0;
}

static int same_ip_port(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  return same_ip(a, b) && port_of(a) == port_of(b);
}

static void audit(udp_dest *d, const char *decision, px_source s, const char *reason, int override_) {
  px_event ev = {0};
  ev.domain_scope = 1;
  ev.decision = decision;
  ev.source = s;
  ev.reason = reason;
  ev.proto = PROTO_SOCKS5_UDP;
  ev.server = d->host;
  ev.port = d->port;
  ev.method = NULL;
  ev.client = d->u->ctl ? d->u->ctl->client : NULL;
  ev.override_ = override_;
  px_audit_emit(d->u->px->audit, &ev);
}

static int out_socket(px_udp *u, int family) {
  int *fd = family == AF_INET ? &u->out4 : &u->out6;
  csb_ev_io *io = family == AF_INET ? &u->io4 : &u->io6;
  if (*fd >= 0) return *fd;
  *fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (*fd < 0) return -1;
  if (!csb_ev_io_start(u->px->loop, io, *fd, EPOLLIN | EPOLLET)) {
    close(*fd);
    *fd = -1;
  }
  return *fd;
}

static void send_to_dest(udp_dest *d, const uint8_t *p, size_t n) {
  int fd = out_socket(d->u, d->addr.ss_family);
  if (fd < 0) return;
  sendto(fd, p, n, 0, (struct sockaddr *)&d->addr, csb_sock_len((struct sockaddr *)&d->addr));
}

static void flush_queue(udp_dest *d) {
  size_t off = 0;
  while (off + 2 <= d->queue.len) {
    size_t n = (size_t)(((uint8_t)d->queue.data[off] << 8) | (uint8_t)d->queue.data[off + 1]);
    if (d->state == 1) send_to_dest(d, (const uint8_t *)d->queue.data + off + 2, n);
    off += 2 + n;
  }
  d->u->queued_bytes -= d->queue.len;
  csb_buf_free(&d->queue);
  d->n_queued = 0;
}

static void dest_blocked(udp_dest *d, const char *decision, px_source s, csb_block_reason r) {
  d->state = 2;
  audit(d, decision, s, csb_block_reason_name(r), 0);
  flush_queue(d);
}

static void on_dest_resolved(void *arg, const px_addrs *res) {
  udp_dest *d = arg;
  d->rjob = NULL;
  if (res->error || res->n == 0) {
    dest_blocked(d, "deny", SRC_BASELINE, CSB_BLOCK_NOT_ALLOWED_LOCAL);
    return;
  }
  for (size_t i = 0; i < res->n; i++) {
    if (!px_target_allowed(d->u->px, &d->ev, &res->a[i])) {
      dest_blocked(d, "deny", SRC_BASELINE, CSB_BLOCK_NOT_ALLOWED_LOCAL);
      return;
    }
  }
  d->addr = res->a[0];
  d->state = 1;
  audit(d, "allow", d->override_ ? SRC_DECIDER : SRC_BASELINE, d->override_ ? "not_allowed" : "allow",
        d->override_);
  flush_queue(d);
}

static void dest_resolve(udp_dest *d) {
  d->rjob = px_resolve(d->u->px->resolver, d->host, d->port, on_dest_resolved, d);
}

static void on_dest_decided(void *arg, px_decision dec, const char *reason) {
  (void)reason;
  udp_dest *d = arg;
  d->dwait = NULL;
  if (dec == DECIDE_ALLOW) {
    d->override_ = 1;
    dest_resolve(d);
    return;
  }
  dest_blocked(d, dec == DECIDE_ASK ? "ask" : "deny", SRC_DECIDER, CSB_BLOCK_NOT_ALLOWED);
}

static udp_dest *dest_get(px_udp *u, const csb_socks_addr *a) {
  char *norm = csb_netpolicy_normalize_host(a->host);
  for (size_t i = 0; i < u->n_dests; i++) {
    if (u->dests[i]->port == a->port && strcmp(u->dests[i]->host, norm) == 0) {
      free(norm);
      return u->dests[i];
    }
  }
  if (u->n_dests >= MAX_DESTS) {
    free(norm);
    return NULL;
  }
  udp_dest *d = csb_xcalloc(1, sizeof *d);
  d->u = u;
  snprintf(d->host, sizeof d->host, "%s", norm);
  free(norm);
  d->port = a->port;
  u->dests[u->n_dests++] = d;
  px_proxy *px = u->px;
  csb_netpolicy_evaluate_host(px->np, d->host, &d->ev);
  if (d->port == 0 || d->ev.decision == CSB_HOST_BLOCK) {
    dest_blocked(d, "deny", SRC_BASELINE, d->port == 0 ? CSB_BLOCK_NOT_ALLOWED : d->ev.reason);
  } else if (csb_netpolicy_host_has_hooks(px->np, d->ev.host)) {
    /* datagrams (HTTP/3) to a hooked host would never meet its hooks */
    dest_blocked(d, "deny", SRC_MODE_GUARD, CSB_BLOCK_MITM_REQUIRED);
  } else if (d->ev.decision == CSB_HOST_ASK) {
    if (!px->decider)
      dest_blocked(d, "deny", SRC_BASELINE, CSB_BLOCK_NOT_ALLOWED);
    else
      d->dwait = px_decider_ask(px->decider, d->host, d->port, PROTO_SOCKS5_UDP, NULL, u->ctl->client,
                                on_dest_decided, d);
  } else {
    dest_resolve(d);
  }
  return d;
}

static void on_client_dgram(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  (void)events;
  px_udp *u = io->data;
  static uint8_t buf[MAX_DGRAM];
  for (int i = 0; i < 256; i++) {
    struct sockaddr_storage src;
    socklen_t sl = sizeof src;
    ssize_t n = recvfrom(u->fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &sl);
    if (n < 0) return;
    if (!same_ip(&src, &u->peer)) continue;
    if (!u->have_client) {
      u->client = src;
      u->have_client = 1;
    } else if (!same_ip_port(&src, &u->client)) {
      continue;
    }
    size_t hl;
    uint8_t frag;
    csb_socks_addr dst;
    const char *why;
    if (csb_socks_parse_udp(buf, (size_t)n, &hl, &frag, &dst, &why) != CSB_SOCKS_OK || frag != 0) continue;
    if (u->ctl) px_conn_touch(u->ctl);
    udp_dest *d = dest_get(u, &dst);
    if (!d) continue;
    size_t plen = (size_t)n - hl;
    if (d->state == 1) {
      send_to_dest(d, buf + hl, plen);
    } else if (d->state == 0 && d->n_queued < MAX_QUEUED &&
               u->queued_bytes + 2 + plen <= u->px->lim.buffer_bytes) {
      uint8_t lenb[2] = {(uint8_t)(plen >> 8), (uint8_t)plen};
      csb_buf_append(&d->queue, lenb, 2);
      csb_buf_append(&d->queue, buf + hl, plen);
      d->n_queued++;
      u->queued_bytes += 2 + plen;
    }
  }
}

static void on_remote_dgram(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  (void)events;
  px_udp *u = io->data;
  static uint8_t buf[MAX_DGRAM + 32];
  for (int i = 0; i < 256; i++) {
    struct sockaddr_storage src;
    socklen_t sl = sizeof src;
    ssize_t n = recvfrom(io->fd, buf + 32, MAX_DGRAM - 32, 0, (struct sockaddr *)&src, &sl);
    if (n < 0) return;
    if (!u->have_client) continue;
    int known = 0;
    for (size_t k = 0; k < u->n_dests && !known; k++)
      known = u->dests[k]->state == 1 && same_ip_port(&u->dests[k]->addr, &src);
    if (!known) continue;
    uint8_t hdr[32];
    size_t hl = csb_socks_build_udp_header(hdr, (struct sockaddr *)&src);
    memcpy(buf + 32 - hl, hdr, hl);
    sendto(u->fd, buf + 32 - hl, (size_t)n + hl, 0, (struct sockaddr *)&u->client,
           csb_sock_len((struct sockaddr *)&u->client));
    if (u->ctl) px_conn_touch(u->ctl);
  }
}

static void udp_refuse(px_conn *c, px_udp *u, uint8_t rep) {
  free(u);
  uint8_t b[32];
  px_conn_fail_raw(c, b, csb_socks_build_reply(b, rep, NULL));
}

/* DST.ADDR/DST.PORT of the request: where the client will send from.
 * Zeros mean "not known yet" (the TCP client's address, the first
 * datagram's port); an address must be the TCP client's own; names are
 * refused. Returns a SOCKS reply code, 0 when accepted. */
static uint8_t expect_source(px_udp *u, const csb_socks_addr *dst) {
  const struct sockaddr_storage *ip = &dst->ip;
  int zero_ip;
  if (dst->atyp == CSB_SOCKS_ATYP_IPV4)
    zero_ip = ((const struct sockaddr_in *)ip)->sin_addr.s_addr == htonl(INADDR_ANY);
  else if (dst->atyp == CSB_SOCKS_ATYP_IPV6)
    zero_ip = IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ip)->sin6_addr);
  else
    return CSB_SOCKS_REP_ADDRESS_NOT_SUPPORTED;
  /* IPv4-mapped IPv6 and plain IPv4 spellings of an address are the same
   * (a request naming 127.0.0.1 on a dual-stack socket's ::ffff:127.0.0.1) */
  struct sockaddr_storage want, peer;
  csb_sock_unmap_v4(ip, &want);
  csb_sock_unmap_v4(&u->peer, &peer);
  if (!zero_ip && !same_ip(&want, &peer)) return CSB_SOCKS_REP_NOT_ALLOWED;
  if (dst->port != 0) {
    u->client = u->peer;
    csb_sock_set_port(&u->client, dst->port);
    u->have_client = 1;
  }
  return 0;
}

void px_udp_start(px_conn *c, const csb_socks_addr *dst) {
  px_udp *u = csb_xcalloc(1, sizeof *u);
  u->px = c->px;
  u->ctl = c;
  u->fd = u->out4 = u->out6 = -1;
  csb_ev_io_init(&u->io, on_client_dgram, u);
  csb_ev_io_init(&u->io4, on_remote_dgram, u);
  csb_ev_io_init(&u->io6, on_remote_dgram, u);
  socklen_t sl = sizeof u->peer;
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  if (getpeername(c->cli.fd, (struct sockaddr *)&u->peer, &sl) != 0 ||
      getsockname(c->cli.fd, (struct sockaddr *)&local, &ll) != 0) {
    udp_refuse(c, u, CSB_SOCKS_REP_GENERAL_FAILURE);
    return;
  }
  uint8_t rep = expect_source(u, dst);
  if (rep) {
    if (c->px->verbose)
      fprintf(stderr, "csb-proxy: [%llu] udp associate: the client will send from %s:%d, not from its own address\n",
              (unsigned long long)c->id, dst->host, dst->port);
    udp_refuse(c, u, rep);
    return;
  }
  csb_sock_set_port(&local, 0);
  u->fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ll = sizeof local;
  if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&local, csb_sock_len((struct sockaddr *)&local)) != 0 ||
      getsockname(u->fd, (struct sockaddr *)&local, &ll) != 0 ||
      !csb_ev_io_start(c->px->loop, &u->io, u->fd, EPOLLIN | EPOLLET)) {
    if (u->fd >= 0) close(u->fd);
    udp_refuse(c, u, CSB_SOCKS_REP_GENERAL_FAILURE);
    return;
  }
  c->udp = u;
  uint8_t b[32];
  size_t n = csb_socks_build_reply(b, CSB_SOCKS_REP_SUCCEEDED, (struct sockaddr *)&local);
  csb_buf_append(&c->cout, b, n);
  c->state = ST_UDP;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
  c->repump = 1;
}

int px_udp_control_pump(px_conn *c) {
  int progress = 0;
  if (c->cout.len && !px_stream_flush(&c->cli, &c->cout, &progress)) {
    px_conn_close(c);
    return 0;
  }
  /* the control connection carries nothing more; its end ends the relay */
  csb_buf_reset(&c->cin);
  if (!px_stream_fill(&c->cli, &c->cin, 4096, &progress) || c->cli.eof) {
    px_conn_close(c);
    return 0;
  }
  csb_buf_reset(&c->cin);
  return progress;
}

void px_udp_detach(px_conn *c) {
  px_udp *u = c->udp;
  c->udp = NULL;
  if (!u) return;
  csb_evloop *loop = u->px->loop;
  csb_ev_io_stop(loop, &u->io);
  csb_ev_io_stop(loop, &u->io4);
  csb_ev_io_stop(loop, &u->io6);
  if (u->fd >= 0) close(u->fd);
  if (u->out4 >= 0) close(u->out4);
  if (u->out6 >= 0) close(u->out6);
  for (size_t i = 0; i < u->n_dests; i++) {
    udp_dest *d = u->dests[i];
    if (d->rjob) px_resolve_cancel(d->rjob);
    if (d->dwait) px_decider_cancel(u->px->decider, d->dwait);
    csb_buf_free(&d->queue);
    free(d);
  }
  free(u);
}

void px_udp_free_all(px_proxy *px) { (void)px; }
