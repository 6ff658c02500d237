/* conn.c - connection lifecycle: accept, streams, timeouts, the pump, the
 * policy pipeline (host policy -> decider -> resolution -> address guard)
 * and connecting to the destination. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"

#define LINGER_MS 2000
#define LINGER_BYTES (256 * 1024)

/* ---- buffers and streams --------------------------------------------------- */

void px_buf_consume(csb_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data) b->data[b->len] = '\0';
}

/* Empty buffers go back to the proxy's pool (when they have the pool's
 * size) or to the allocator; an idle connection holds none. */
static void release(px_proxy *px, csb_buf *b) {
  if (b->len != 0 || !b->data) return;
  if (b->cap == PX_POOL_BUF && px->pool_len < PX_POOL_MAX) {
    if (!px->pool) px->pool = csb_xmalloc(PX_POOL_MAX * sizeof *px->pool);
    px->pool[px->pool_len++] = b->data;
    csb_buf_init(b);
    return;
  }
  csb_buf_free(b);
}

void px_conn_release_buffers(px_conn *c) {
  release(c->px, &c->cin);
  release(c->px, &c->uin);
  release(c->px, &c->cout);
  release(c->px, &c->uout);
}

void px_pool_free(px_proxy *px) {
  for (size_t i = 0; i < px->pool_len; i++) free(px->pool[i]);
  free(px->pool);
  px->pool = NULL;
  px->pool_len = 0;
  px_pipes_free(px);
}

static void take_pooled(px_proxy *px, csb_buf *b) {
  if (b->data || px->pool_len == 0) return;
  b->data = px->pool[--px->pool_len];
  b->cap = PX_POOL_BUF;
  b->len = 0;
  b->data[0] = '\0';
}

static void on_io(csb_evloop *loop, csb_ev_io *io, uint32_t events);

int px_stream_attach(px_conn *c, px_stream *s, int fd) {
  s->eof = s->shut_wr = s->err = s->unclean = 0;
  csb_ev_io_init(&s->io, on_io, c);
  if (!csb_ev_io_start(c->px->loop, &s->io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
    /* the caller closes fd: the stream must not close that number again
     * (by then it may be another descriptor, e.g. a resolver thread's) */
    s->fd = -1;
    return 0;
  }
  s->fd = fd;
  return 1;
}

void px_stream_close(px_conn *c, px_stream *s) {
  csb_ev_io_stop(c->px->loop, &s->io);
  if (s->ssl) {
    SSL_free(s->ssl);
    s->ssl = NULL;
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  s->eof = s->shut_wr = s->err = s->unclean = 0;
}

/* Reads into b (up to cap bytes in b). Returns 1 when the stream is still
 * usable. *progress is set when bytes arrived or the state changed. */
static int stream_fill(px_proxy *px, px_stream *s, csb_buf *b, size_t cap, int *progress);

int px_stream_fill(px_stream *s, csb_buf *b, size_t cap, int *progress) {
  return stream_fill(NULL, s, b, cap, progress);
}

int px_conn_fill(px_conn *c, px_stream *s, csb_buf *b, size_t cap, int *progress) {
  return stream_fill(c->px, s, b, cap, progress);
}

static int stream_fill(px_proxy *px, px_stream *s, csb_buf *b, size_t cap, int *progress) {
  if (s->fd < 0 || s->eof || s->err) return !s->err;
  if (px) take_pooled(px, b);
  while (b->len < cap) {
    /* grow in small steps: large buffers would come from mmap(2) and be
     * unmapped again after every exchange */
    size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
    if (room < 2048) {
      /* PX_POOL_BUF - 1 plus the NUL makes the capacity exactly PX_POOL_BUF */
      size_t step = cap - b->len < PX_POOL_BUF - 1 ? cap - b->len : PX_POOL_BUF - 1;
      csb_buf_reserve(b, step);
      room = b->cap - b->len - 1;
    }
    size_t want = room < cap - b->len ? room : cap - b->len;
    ssize_t n;
    if (s->ssl) {
      int r = SSL_read(s->ssl, b->data + b->len, (int)want);
      if (r > 0) {
        n = r;
      } else {
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 1;
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
          ERR_clear_error();
          s->eof = 1;
          s->unclean = e != SSL_ERROR_ZERO_RETURN;
          *progress = 1;
          return 1;
        }
        ERR_clear_error();
        s->err = 1;
        *progress = 1;
        return 0;
      }
    } else {
      n = recv(s->fd, b->data + b->len, want, 0);
      if (n == 0) {
        s->eof = 1;
        *progress = 1;
        return 1;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return 1;
        s->err = 1;
        *progress = 1;
        return 0;
      }
    }
    b->len += (size_t)n;
    b->data[b->len] = '\0';
    *progress = 1;
    if ((size_t)n < want && !s->ssl) return 1;
  }
  return 1;
}

/* Writes as much of b as possible. Returns 1 when the stream is usable. */
int px_stream_flush(px_stream *s, csb_buf *b, int *progress) {
  if (s->fd < 0 || s->err) return 0;
  size_t off = 0;
  while (off < b->len) {
    ssize_t n;
    size_t want = b->len - off;
    if (s->ssl) {
      int r = SSL_write(s->ssl, b->data + off, (int)(want > 1 << 20 ? 1 << 20 : want));
      if (r > 0) {
        n = r;
      } else {
        int e = SSL_get_error(s->ssl, r);
        ERR_clear_error();
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        s->err = 1;
        *progress = 1;
        px_buf_consume(b, b->len);
        return 0;
      }
    } else {
      n = send(s->fd, b->data + off, want, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        s->err = 1;
        *progress = 1;
        px_buf_consume(b, b->len);
        return 0;
      }
    }
    off += (size_t)n;
    *progress = 1;
  }
  if (off) px_buf_consume(b, off);
  return 1;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void conn_free(void *p) {
  px_conn *c = p;
  csb_buf_reset(&c->cin);
  csb_buf_reset(&c->uin);
  csb_buf_reset(&c->cout);
  csb_buf_reset(&c->uout);
  px_conn_release_buffers(c);
  csb_buf_free(&c->cin);
  csb_buf_free(&c->uin);
  csb_buf_free(&c->cout);
  csb_buf_free(&c->uout);
  free(c->req_head);
  free(c->unix_path);
  if (c->unix_fd >= 0) close(c->unix_fd);
  free(c->addrs);
  if (c->pending_ssl) SSL_free(c->pending_ssl);
  free(c);
}

void px_conn_close(px_conn *c) {
  if (c->dead) return;
  c->dead = 1;
  px_proxy *px = c->px;
  if (c->rjob) px_resolve_cancel(c->rjob);
  c->rjob = NULL;
  if (c->dwait) px_decider_cancel(px->decider, c->dwait);
  c->dwait = NULL;
  csb_ev_timer_stop(px->loop, &c->timer);
  csb_ev_timer_stop(px->loop, &c->dns_timer);
  if (c->udp) px_udp_detach(c);
  px_stream_close(c, &c->cli);
  px_stream_close(c, &c->up);
  px_tunnel_release(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    px->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  px->n_conns--;
  if (px->verbose) fprintf(stderr, "csb-proxy: [%llu] closed\n", (unsigned long long)c->id);
  csb_evloop_defer_free(px->loop, conn_free, c);
}

void px_conn_close_all(px_proxy *px) {
  while (px->conns) px_conn_close(px->conns);
}

void px_conn_set_deadline(px_conn *c, unsigned long ms) {
  c->deadline = csb_evloop_now(c->px->loop) + ms;
  if (!csb_ev_timer_armed(&c->timer) || c->timer.deadline_ms > c->deadline)
    csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
}

void px_conn_await_decider(px_conn *c) {
  /* an answer may take the decider's whole timeout (which then denies):
   * the handshake deadline must not end the connection first */
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.decider_ms + c->px->lim.handshake_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
}

void px_conn_touch(px_conn *c) {
  /* extends the idle deadline only outside handshakes */
  switch (c->state) {
    case ST_TUNNEL_PEEK:
      /* idle until a TLS handshake begins, then the handshake timeout */
      if (!c->sni_started) c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
      break;
    case ST_FORWARD:
    case ST_TUNNEL:
    case ST_UDP:
      c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
      break;
    default:
      break;
  }
}

static void on_timer(csb_evloop *loop, csb_ev_timer *t) {
  px_conn *c = t->data;
  uint64_t now = csb_evloop_now(loop);
  if (now < c->deadline) {
    csb_ev_timer_set(loop, t, c->deadline);
    return;
  }
  if (c->px->verbose)
    fprintf(stderr, "csb-proxy: [%llu] timeout in state %d\n", (unsigned long long)c->id, (int)c->state);
  if (c->state == ST_TUNNEL_PEEK && c->sni_started) {
    px_sni_timeout(c);
    return;
  }
  if (c->state == ST_HTTP_HEAD && c->cin.len > 0 && !c->in_mitm) {
    px_conn_fail(c, 408, "Request Timeout", "request timeout", NULL);
    px_conn_pump(c);
    return;
  }
  if (c->state == ST_FORWARD && !c->resp_bytes) {
    /* nothing of a response yet: say who went quiet */
    if (c->req_done)
      px_conn_fail(c, 504, "Gateway Timeout", "upstream timeout", NULL);
    else
      px_conn_fail(c, 408, "Request Timeout", "request timeout", NULL);
    px_conn_pump(c);
    return;
  }
  if ((c->state == ST_CONNECT || c->state == ST_UP_TLS || c->state == ST_UP_PROXY_CONNECT)) {
    if (c->kind == REQ_SOCKS)
      px_socks_on_connect_failed(c, ETIMEDOUT);
    else
      px_http_on_connect_failed(c, "connect timeout");
    return;
  }
  px_conn_close(c);
}

/* c->cout holds the final response: the upstream goes now, the client
 * once the response is written (ST_CLOSING). */
static void close_after_cout(px_conn *c) {
  c->state = ST_CLOSING;
  c->resp_bytes = 1;
  px_stream_close(c, &c->up);
  px_conn_set_deadline(c, LINGER_MS);
  c->repump = 1;
}

void px_conn_fail(px_conn *c, int status, const char *reason, const char *body, const char *proxy_error) {
  if (c->resp_bytes) {
    /* part of a response already went out: nothing sensible to add */
    px_conn_close(c);
    return;
  }
  /* interim (1xx) heads still queued go out whole before it: dropped, one
   * partly written already would run into this response */
  if (!c->interim_queued) csb_buf_reset(&c->cout);
  px_resp_text(&c->cout, status, reason, body, proxy_error);
  close_after_cout(c);
}

void px_conn_fail_raw(px_conn *c, const void *data, size_t len) {
  csb_buf_reset(&c->cout);
  csb_buf_append(&c->cout, data, len);
  close_after_cout(c);
}

int px_conn_flush_cout(px_conn *c, int *progress) {
  if (c->cout.len) {
    if (!px_stream_flush(&c->cli, &c->cout, progress)) {
      px_conn_close(c);
      *progress = 0;
      return 0;
    }
    if (c->cout.len) return 0;
  }
  return 1;
}

/* ST_CLOSING: write the final response, shut down writing, then discard
 * input for a while so that the peer reads the response before a reset. */
static int pump_closing(px_conn *c) {
  int progress = 0;
  if (!px_conn_flush_cout(c, &progress)) return progress;
  if (!c->cli.shut_wr) {
    if (c->cli.ssl && !c->no_close_notify) SSL_shutdown(c->cli.ssl);
    shutdown(c->cli.fd, SHUT_WR);
    c->cli.shut_wr = 1;
    progress = 1;
  }
  char buf[4096];
  for (int i = 0; i < LINGER_BYTES / (int)sizeof buf; i++) {
    ssize_t n = recv(c->cli.fd, buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return progress;
    px_conn_close(c);
    return 0;
  }
  px_conn_close(c);
  return 0;
}

void px_conn_pump(px_conn *c) {
  if (c->in_pump) {
    c->repump = 1;
    return;
  }
  c->in_pump = 1;
  for (int guard = 0; guard < 10000 && !c->dead; guard++) {
    c->repump = 0;
    int progress = 0;
    switch (c->state) {
      case ST_HTTP_HEAD:
        progress = px_http_pump_head(c);
        break;
      case ST_CHECK:
        if (c->cli.err || (c->cli.eof && c->cin.len == 0)) px_conn_close(c);
        break;
      case ST_CONNECT:
        break; /* driven by the upstream watcher */
      case ST_UP_PROXY_CONNECT:
        progress = px_up_proxy_pump(c);
        break;
      case ST_UP_TLS:
        progress = px_mitm_pump_upstream(c);
        break;
      case ST_FORWARD:
        progress = px_http_pump_forward(c);
        break;
      case ST_TUNNEL_PEEK:
        progress = px_sni_pump(c);
        break;
      case ST_TUNNEL:
        progress = px_tunnel_pump(c);
        break;
      case ST_TLS_ACCEPT:
        progress = px_mitm_pump_accept(c);
        break;
      case ST_SOCKS_GREET:
      case ST_SOCKS_REQ:
        progress = px_socks_pump(c);
        break;
      case ST_UDP:
        progress = px_udp_control_pump(c);
        break;
      case ST_CLOSING:
        progress = pump_closing(c);
        break;
    }
    if (!progress && !c->repump) break;
  }
  c->in_pump = 0;
}

static void on_connect_ready(px_conn *c);

static void on_io(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  px_conn *c = io->data;
  if (c->dead) return;
  if (io == &c->up.io && c->state == ST_CONNECT) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connect_ready(c);
    return;
  }
  if (io == &c->up.io && c->up_idle && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    /* the origin closed (or spoke on) an idle keep-alive connection */
    px_stream_close(c, &c->up);
    c->up_idle = 0;
    return;
  }
  if (io == &c->cli.io && (events & (EPOLLERR)) && c->state != ST_CLOSING) {
    px_conn_close(c);
    return;
  }
  px_conn_touch(c);
  px_conn_pump(c);
}

static px_conn *conn_new(px_proxy *px, int fd, int socks) {
  px_conn *c = csb_xcalloc(1, sizeof *c);
  c->px = px;
  c->id = ++px->next_id;
  c->socks = socks;
  c->cli.fd = -1;
  c->up.fd = -1;
  c->unix_fd = -1;
  c->pipe_cu.rd = c->pipe_cu.wr = c->pipe_uc.rd = c->pipe_uc.wr = -1;
  csb_ev_timer_init(&c->timer, on_timer, c);
  csb_ev_timer_init(&c->dns_timer, NULL, c);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
    csb_sock_format((struct sockaddr *)&ss, c->client, sizeof c->client);
  else
    snprintf(c->client, sizeof c->client, "unknown");
  c->next = px->conns;
  if (px->conns) px->conns->prev = c;
  px->conns = c;
  px->n_conns++;
  if (!px_stream_attach(c, &c->cli, fd)) {
    close(fd);
    c->cli.fd = -1;
    px_conn_close(c);
    return NULL;
  }
  c->state = socks ? ST_SOCKS_GREET : ST_HTTP_HEAD;
  px_conn_set_deadline(c, px->lim.handshake_ms);
  return c;
}

/* Refuses an accepted connection: a 503 for HTTP clients, a close for
 * SOCKS ones (which have not spoken yet). */
static void refuse(int fd, int socks) {
  if (!socks) {
    static const char busy[] =
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
        "content-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n";
    ssize_t r = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)r;
  }
  close(fd);
}

/* accept4 failed with EMFILE/ENFILE: takes the pending connection with
 * the reserve descriptor and refuses it. 0 when there is no reserve (the
 * caller stops for this round). */
static int refuse_without_descriptor(px_proxy *px, int lfd, int socks) {
  if (px->reserve_fd < 0) px->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (px->reserve_fd < 0) return 0;
  close(px->reserve_fd);
  int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    px->refused_fds++;
    refuse(fd, socks);
  }
  px->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

static void do_accept(px_proxy *px, int lfd, int socks) {
  for (int i = 0; i < 64; i++) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == ECONNABORTED || errno == EINTR) continue;
      if ((errno == EMFILE || errno == ENFILE) && refuse_without_descriptor(px, lfd, socks)) continue;
      return;
    }
    px->accepted++;
    if (px->n_conns >= px->lim.max_connections) {
      px->refused_limit++;
      refuse(fd, socks);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
    px_conn *c = conn_new(px, fd, socks);
    if (c && px->verbose)
      fprintf(stderr, "csb-proxy: [%llu] accepted %s on %s\n", (unsigned long long)c->id, c->client,
              socks ? "socks" : "http");
  }
}

void px_accept_http(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  (void)events;
  px_proxy *px = io->data;
  do_accept(px, io->fd, 0);
}

void px_accept_socks(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  (void)events;
  px_proxy *px = io->data;
  do_accept(px, io->fd, 1);
}

/* ---- policy pipeline ---------------------------------------------------------------- */

void px_audit_block(px_conn *c, int domain, csb_block_reason r, px_source s, const char *decision) {
  px_event ev = {0};
  ev.domain_scope = domain;
  ev.decision = decision ? decision : "deny";
  ev.source = s;
  ev.reason = csb_block_reason_name(r);
  ev.proto = c->proto;
  ev.server = c->kind == REQ_UNIX ? "unix-socket" : c->host;
  ev.port = c->kind == REQ_UNIX ? 0 : c->port;
  ev.method = c->method;
  ev.client = c->client;
  px_audit_emit(c->px->audit, &ev);
  if (c->px->verbose)
    fprintf(stderr, "csb-proxy: [%llu] blocked %s %s:%d (%s, %s)\n", (unsigned long long)c->id,
            px_proto_audit_name(c->proto), c->host, c->port, csb_block_reason_name(r), px_source_name(s));
}

void px_audit_allow(px_conn *c, int override_) {
  px_event ev = {0};
  ev.domain_scope = c->kind != REQ_UNIX;
  ev.decision = "allow";
  ev.source = override_ ? SRC_DECIDER : SRC_BASELINE;
  ev.reason = override_ ? "not_allowed" : "allow";
  ev.proto = c->proto;
  ev.server = c->kind == REQ_UNIX ? "unix-socket" : c->host;
  ev.port = c->kind == REQ_UNIX ? 0 : c->port;
  ev.method = c->method;
  ev.client = c->client;
  ev.override_ = override_;
  px_audit_emit(c->px->audit, &ev);
}

static void check_blocked(px_conn *c, csb_block_reason r, px_source s, const char *decision, int audit_domain) {
  px_audit_block(c, audit_domain, r, s, decision);
  if (c->kind == REQ_SOCKS)
    px_socks_on_blocked(c, r, s, decision);
  else
    px_http_on_blocked(c, r, s, decision);
  px_conn_pump(c);
}

static void check_allowed(px_conn *c) {
  px_audit_allow(c, c->check_override);
  if (c->kind == REQ_SOCKS)
    px_socks_on_allowed(c);
  else
    px_http_on_allowed(c);
  px_conn_pump(c);
}

/* Resolved destinations live only while a connection is being set up. */
static px_addrs *addrs_of(px_conn *c) {
  if (!c->addrs) c->addrs = csb_xcalloc(1, sizeof *c->addrs);
  return c->addrs;
}

static void resolve_done(px_conn *c, const px_addrs *res) {
  csb_ev_timer_stop(c->px->loop, &c->dns_timer);
  c->rjob = NULL;
  if (res->error || res->n == 0) {
    if (c->ev.need_dns_guard) {
      /* upstream semantics: an unresolvable name is not shown to be public */
      check_blocked(c, CSB_BLOCK_NOT_ALLOWED_LOCAL, SRC_BASELINE, "deny", 1);
      return;
    }
    addrs_of(c)->n = 0;
    snprintf(c->addrs->msg, sizeof c->addrs->msg, "%s", res->msg);
    c->addrs->error = res->error ? res->error : -1;
    check_allowed(c); /* allowed; the connect step reports the failure */
    return;
  }
  for (size_t i = 0; i < res->n; i++) {
    if (!px_target_allowed(c->px, &c->ev, &res->a[i])) {
      check_blocked(c, CSB_BLOCK_NOT_ALLOWED_LOCAL, SRC_BASELINE, "deny", 1);
      return;
    }
  }
  *addrs_of(c) = *res;
  for (size_t i = 0; i < c->addrs->n; i++) csb_sock_set_port(&c->addrs->a[i], c->port);
  check_allowed(c);
}

static void on_resolved(void *arg, const px_addrs *res) { resolve_done(arg, res); }

static void on_dns_timeout(csb_evloop *loop, csb_ev_timer *t) {
  (void)loop;
  px_conn *c = t->data;
  if (c->rjob) px_resolve_cancel(c->rjob);
  c->rjob = NULL;
  px_addrs none = {0};
  none.error = -1;
  snprintf(none.msg, sizeof none.msg, "name resolution timed out");
  resolve_done(c, &none);
}

void px_make_up_key(px_conn *c, char *out, size_t n) {
  if (c->kind == REQ_UNIX)
    snprintf(out, n, "unix|%s", c->unix_path ? c->unix_path : "");
  else
    snprintf(out, n, "%s|%s|%d|%d", c->kind == REQ_MITM ? "tls" : "tcp", c->host, c->port, c->via_upstream);
}

static void check_resolve(px_conn *c) {
  px_proxy *px = c->px;
  c->via_upstream = px->np->allow_upstream_proxy && px->upstream.enabled && c->kind != REQ_UNIX &&
                    !px_upstream_bypass(&px->upstream, c->host);
  /* an idle connection to the same destination was checked when opened */
  if ((c->kind == REQ_PLAIN || c->kind == REQ_MITM) && c->up.fd >= 0 && c->up_idle) {
    char key[320];
    px_make_up_key(c, key, sizeof key);
    if (strcmp(key, c->up_key) == 0) {
      check_allowed(c);
      return;
    }
  }
  memset(addrs_of(c), 0, sizeof *c->addrs);
  if (c->ev.is_ip) {
    c->addrs->a[0] = c->ev.addr;
    c->addrs->n = 1;
    csb_sock_set_port(&c->addrs->a[0], c->port);
    /* also when an upstream proxy makes the connection: it reaches this
     * host's own addresses as a direct one would (a name resolving to one
     * is refused below the same way) */
    if (!px_target_allowed(px, &c->ev, &c->addrs->a[0])) {
      check_blocked(c, CSB_BLOCK_NOT_ALLOWED_LOCAL, SRC_BASELINE, "deny", 1);
      return;
    }
    check_allowed(c);
    return;
  }
  if (c->via_upstream && !c->ev.need_dns_guard) {
    check_allowed(c);
    return;
  }
  c->state = ST_CHECK;
  csb_ev_timer_init(&c->dns_timer, on_dns_timeout, c);
  csb_ev_timer_set(px->loop, &c->dns_timer, csb_evloop_now(px->loop) + px->lim.dns_ms);
  c->rjob = px_resolve(px->resolver, c->host, c->port, on_resolved, c);
}

static void on_decided(void *arg, px_decision d, const char *reason) {
  px_conn *c = arg;
  c->dwait = NULL;
  (void)reason;
  if (d == DECIDE_ALLOW) {
    c->check_override = 1;
    check_resolve(c);
    return;
  }
  check_blocked(c, CSB_BLOCK_NOT_ALLOWED, SRC_DECIDER, d == DECIDE_ASK ? "ask" : "deny", 1);
}

void px_check_start(px_conn *c) {
  px_proxy *px = c->px;
  c->check_override = 0;
  c->state = ST_CHECK;
  csb_netpolicy_evaluate_host(px->np, c->host, &c->ev);
  snprintf(c->host, sizeof c->host, "%s", c->ev.host);
  if (c->ev.decision == CSB_HOST_BLOCK) {
    check_blocked(c, c->ev.reason, SRC_BASELINE, "deny", 1);
    return;
  }
  if (c->ev.decision == CSB_HOST_ASK && c->kind == REQ_MITM && c->mitm_approved) {
    /* the tunnel itself was approved: its requests are too */
    c->check_override = 1;
    check_resolve(c);
    return;
  }
  if (c->ev.decision == CSB_HOST_ASK) {
    if (!px->decider) {
      check_blocked(c, CSB_BLOCK_NOT_ALLOWED, SRC_BASELINE, "deny", 1);
      return;
    }
    c->dwait = px_decider_ask(px->decider, c->host, c->port, c->proto, c->method, c->client, on_decided, c);
    if (c->dwait) {
      if (px->verbose)
        fprintf(stderr, "csb-proxy: [%llu] waiting for the decider on %s:%d\n", (unsigned long long)c->id,
                c->host, c->port);
      px_conn_await_decider(c);
    }
    return;
  }
  check_resolve(c);
}

/* ---- connecting ---------------------------------------------------------------------- */

static void connect_failed(px_conn *c, int err) {
  if (c->kind == REQ_SOCKS)
    px_socks_on_connect_failed(c, err);
  else
    px_http_on_connect_failed(c, strerror(err));
  px_conn_pump(c);
}

static void connected(px_conn *c) {
  int one = 1;
  free(c->addrs);
  c->addrs = NULL;
  if (c->kind != REQ_UNIX) setsockopt(c->up.fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
  if (c->via_upstream && c->kind != REQ_PLAIN) {
    /* tunnel through the upstream proxy first */
    csb_buf_reset(&c->uout);
    char hp[300];
    if (strchr(c->host, ':'))
      snprintf(hp, sizeof hp, "[%s]:%d", c->host, c->port);
    else
      snprintf(hp, sizeof hp, "%s:%d", c->host, c->port);
    csb_buf_printf(&c->uout, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hp, hp);
    csb_buf_reset(&c->uin);
    c->state = ST_UP_PROXY_CONNECT;
    px_conn_set_deadline(c, c->px->lim.handshake_ms);
    px_conn_pump(c);
    return;
  }
  if (c->kind == REQ_SOCKS)
    px_socks_on_connected(c);
  else
    px_http_on_connected(c);
  px_conn_pump(c);
}

static int sa_port(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)a)->sin_port);
  if (a->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
  return -1;
}

static int sa_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                  16) == 0;
  return 0;
}

/* Loopback (127/8, ::1) or unspecified (0.0.0.0, ::): a connection to it
 * stays on this host. `a` has no IPv4-mapped form. */
static int sa_is_loopback_or_any(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET) {
    uint32_t x = ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr);
    return (x >> 24) == 127 || x == INADDR_ANY;
  }
  if (a->ss_family == AF_INET6) {
    const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(x) || IN6_IS_ADDR_UNSPECIFIED(x);
  }
  return 0;
}

/* An address of one of this host's interfaces; when they cannot be listed,
 * every address counts (a loop is refused rather than risked). */
static int sa_is_interface_address(const struct sockaddr_storage *a) {
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0) return 1;
  int found = 0;
  for (struct ifaddrs *i = list; i != NULL && !found; i = i->ifa_next) {
    if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
    struct sockaddr_storage ia;
    memset(&ia, 0, sizeof ia);
    memcpy(&ia, i->ifa_addr,
           i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    found = sa_same_ip(&ia, a);
  }
  freeifaddrs(list);
  return found;
}

/* 1 when the kernel delivers what is sent to `a` (no IPv4-mapped form) to
 * this host: its route is of type local (an address of one of its
 * interfaces, or a local route such as `ip route add local PREFIX dev lo`,
 * which no interface lists) or anycast (an IPv6 subnet-router anycast
 * address of its own); 0 when it goes elsewhere or nowhere; -1 when the
 * routing table gave no answer (RTM_GETROUTE over netlink: a kernel
 * without IPv6, a netlink that does not look up single routes, no
 * descriptor left). */
static int sa_routes_to_this_host(const struct sockaddr_storage *a) {
  int fam = a->ss_family;
  if (fam != AF_INET && fam != AF_INET6) return -1;
  size_t alen = fam == AF_INET ? 4 : 16;
  const void *addr = fam == AF_INET ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
                                    : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;
  struct {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[RTA_SPACE(16)];
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = (unsigned char)fam;
  req.rt.rtm_dst_len = (unsigned char)(alen * 8);
  struct rtattr *rta = (struct rtattr *)req.attrs;
  rta->rta_type = RTA_DST;
  rta->rta_len = (unsigned short)RTA_LENGTH(alen);
  memcpy(RTA_DATA(rta), addr, alen);
  req.nh.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof req.rt) + RTA_SPACE(alen));
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  union {
    struct nlmsghdr nh;
    char b[8192];
  } resp;
  ssize_t n = -1;
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) == (ssize_t)req.nh.nlmsg_len) {
    /* rtnetlink answers within sendto: the reply is queued already, and
     * the event loop must not wait (none there: no answer, -1) */
    do
      n = recv(fd, resp.b, sizeof resp.b, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
  }
  close(fd);
  int local = -1;
  for (struct nlmsghdr *h = &resp.nh; n > 0 && NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_seq != 1) continue;
    if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
      int e = -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
      /* no route: a connection goes nowhere, this host included */
      if (e == ENETUNREACH || e == EHOSTUNREACH) local = 0;
      break;
    }
    if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
      const struct rtmsg *rt = NLMSG_DATA(h);
      local = rt->rtm_type == RTN_LOCAL || rt->rtm_type == RTN_ANYCAST;
      break;
    }
  }
  return local;
}

int px_target_allowed(px_proxy *px, const csb_host_eval *ev, const struct sockaddr_storage *sa) {
  const csb_netpolicy *np = px->np;
  /* the routes are asked about only for what the ranges would let through;
   * without an answer, the interfaces' addresses are compared (every
   * address counts as this host's when they cannot be listed either) */
  int this_host = 0;
  if (!np->allow_local_binding && !csb_netpolicy_addr_is_non_public((const struct sockaddr *)sa)) {
    struct sockaddr_storage a;
    csb_sock_unmap_v4(sa, &a);
    this_host = sa_routes_to_this_host(&a);
    if (this_host < 0) this_host = sa_is_interface_address(&a);
  }
  return csb_netpolicy_connect_allowed_on(np, ev, (const struct sockaddr *)sa, this_host);
}

/* 1 when connecting to `dst` would reach the listener bound at `l`: the
 * same port and either the listener's own address, this host's loopback
 * or unspecified address in any spelling (127/8, ::1, 0.0.0.0, ::, their
 * IPv4-mapped forms), or, for a wildcard listener (0.0.0.0, ::, which an
 * IPv4 connection can reach too), an address of one of this host's
 * interfaces. Any other host on that port is another server. */
static int same_endpoint(const struct sockaddr_storage *dst, const struct sockaddr_storage *l) {
  struct sockaddr_storage a, la;
  csb_sock_unmap_v4(dst, &a);
  csb_sock_unmap_v4(l, &la);
  if (sa_port(&a) < 0 || sa_port(&a) != sa_port(&la)) return 0;
  if (sa_same_ip(&a, &la) || sa_is_loopback_or_any(&a)) return 1;
  int wildcard = (la.ss_family == AF_INET &&
                  ((const struct sockaddr_in *)&la)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
                 (la.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&la)->sin6_addr));
  return wildcard && sa_is_interface_address(&a);
}

static int is_own_listener(px_proxy *px, const struct sockaddr_storage *a) {
  return (px->http_fd >= 0 && same_endpoint(a, &px->http_addr)) ||
         (px->socks_fd >= 0 && same_endpoint(a, &px->socks_addr));
}

/* fd, a connection under way to the one place c may go (a Unix socket,
 * the upstream proxy), becomes c's upstream stream, or c fails. */
static void attach_upstream(px_conn *c, int fd) {
  if (!px_stream_attach(c, &c->up, fd)) {
    close(fd);
    connect_failed(c, errno);
    return;
  }
  c->state = ST_CONNECT;
}

static void try_next_address(px_conn *c) {
  px_proxy *px = c->px;
  int last_err = ECONNREFUSED;
  if (c->kind == REQ_UNIX) {
    /* through the descriptor pinned when the path was checked: the socket
     * checked is the one reached, whatever the path names by now */
    if (c->unix_fd < 0) {
      connect_failed(c, c->unix_err);
      return;
    }
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "/proc/self/fd/%d", c->unix_fd);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int e = fd < 0 || (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0 && errno != EINPROGRESS &&
                       errno != EAGAIN)
                ? errno
                : 0;
    close(c->unix_fd);
    c->unix_fd = -1;
    if (e) {
      if (fd >= 0) close(fd);
      connect_failed(c, e);
      return;
    }
    attach_upstream(c, fd);
    return;
  }
  if (c->via_upstream) {
    if (c->addr_idx > 0) {
      connect_failed(c, c->addrs && c->addrs->error > 0 ? c->addrs->error : ECONNREFUSED);
      return;
    }
    c->addr_idx = 1;
    struct sockaddr_storage *ua = (struct sockaddr_storage *)&px->upstream_addr;
    int fd = csb_sock_connect_nb((struct sockaddr *)ua, csb_sock_len((struct sockaddr *)ua));
    if (fd < 0) {
      connect_failed(c, errno);
      return;
    }
    attach_upstream(c, fd);
    return;
  }
  while (c->addrs && c->addr_idx < c->addrs->n) {
    struct sockaddr_storage *a = &c->addrs->a[c->addr_idx++];
    if (is_own_listener(px, a)) {
      last_err = ELOOP; /* a request to the proxy itself would loop */
      continue;
    }
    /* connect-time guard (defence in depth against rebinding) */
    if (!px_target_allowed(px, &c->ev, a)) {
      check_blocked(c, CSB_BLOCK_NOT_ALLOWED_LOCAL, SRC_BASELINE, "deny", 1);
      return;
    }
    int fd = csb_sock_connect_nb((struct sockaddr *)a, csb_sock_len((struct sockaddr *)a));
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    if (!px_stream_attach(c, &c->up, fd)) {
      last_err = errno;
      close(fd);
      continue;
    }
    c->state = ST_CONNECT;
    return;
  }
  if (c->addrs && c->addrs->n == 0 && c->addrs->error) last_err = EHOSTUNREACH;
  connect_failed(c, last_err);
}

static void on_connect_ready(px_conn *c) {
  int e = csb_sock_connect_result(c->up.fd);
  if (e == 0) {
    connected(c);
    return;
  }
  px_stream_close(c, &c->up);
  if (c->px->verbose) fprintf(stderr, "csb-proxy: [%llu] connect: %s\n", (unsigned long long)c->id, strerror(e));
  if (c->kind == REQ_UNIX || c->via_upstream) {
    connect_failed(c, e);
    return;
  }
  try_next_address(c);
}

void px_connect_start(px_conn *c) {
  c->addr_idx = 0;
  px_stream_close(c, &c->up);
  /* nothing read from an earlier destination reaches this one's client */
  csb_buf_reset(&c->uin);
  c->up_idle = 0;
  c->up_reused = 0;
  px_conn_set_deadline(c, c->px->lim.handshake_ms);
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.handshake_ms;
  try_next_address(c);
}
