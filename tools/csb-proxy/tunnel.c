/* tunnel.c - opaque relays (CONNECT without interception, SOCKS CONNECT).
 *
 * Bytes move between the two sockets inside the kernel with splice(2)
 * through a pipe per direction; `--relay copy` uses a bounded user-space
 * buffer per direction instead (see tests/bench/proxy for what each costs).
 * Half-closes are propagated.
 *
 * Pipes are a per-user resource: the kernel charges their capacity to the
 * user (fs.pipe-user-pages-soft, 64 MiB by default) and, once a user is
 * over that, gives every new pipe of that user (the sandboxed command's
 * included) two pages. So a direction holds a pipe only while bytes are in
 * flight, spare pipes are reused, and the capacity of all the proxy's pipes
 * is bounded: PX_PIPE_BUDGET in all, of which PX_PIPE_BIG_BUDGET for pipes
 * enlarged to PIPE_BIG once a direction has shown it streams (a full
 * default pipe in one pass). A burst that finds no pipe within the budget
 * (or no descriptor, or only a shrunken pipe) is relayed through a bounded
 * buffer instead; the order of bytes is kept because a direction switches
 * only when both its pipe and its buffer are empty. */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

#define PIPE_DEFAULT (64u << 10)        /* what pipe(2) gives an unprivileged user */
#define PIPE_BIG (1u << 20)             /* a streaming direction */
#define PX_PIPE_BUDGET (16u << 20)      /* capacity of all the proxy's pipes */
#define PX_PIPE_BIG_BUDGET (8u << 20)   /* ... of which enlarged pipes */
#define SPLICE_CHUNK (1 << 20)
#define COPY_BUF (256 * 1024)           /* --relay copy, per direction */

/* The part of a pipe's capacity above the default. */
static size_t big_part(size_t cap) { return cap > PIPE_DEFAULT ? cap - PIPE_DEFAULT : 0; }

static void pipe_close(px_proxy *px, px_pipe *p) {
  if (p->rd < 0) return;
  close(p->rd);
  close(p->wr);
  px->pipe_bytes -= p->cap;
  px->pipe_big_bytes -= big_part(p->cap);
  p->rd = p->wr = -1;
  p->cap = 0;
  p->no_grow = 0;
}

/* A spare pipe, or a new one within the budget. 0 when none. */
static int pipe_acquire(px_proxy *px, px_pipe *p) {
  if (px->pipes_len > 0) {
    *p = px->pipes[--px->pipes_len];
    return 1;
  }
  if (px->pipe_bytes + PIPE_DEFAULT > PX_PIPE_BUDGET) return 0;
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return 0;
  int sz = fcntl(fds[1], F_GETPIPE_SZ);
  if (sz < (int)PIPE_DEFAULT || px->pipe_bytes + (size_t)sz > PX_PIPE_BUDGET) {
    /* the user is over its pipe allowance (splicing through a page or two
     * would cost more than copying), or pipes are bigger than expected */
    close(fds[0]);
    close(fds[1]);
    return 0;
  }
  p->rd = fds[0];
  p->wr = fds[1];
  p->cap = (size_t)sz;
  p->no_grow = 0;
  px->pipe_bytes += p->cap;
  px->pipe_big_bytes += big_part(p->cap);
  return 1;
}

/* An empty pipe becomes spare (or is closed when there are enough). */
static void pipe_release(px_proxy *px, px_pipe *p) {
  if (p->rd < 0) return;
  if (px->pipes_len < PX_PIPE_SPARE) {
    px->pipes[px->pipes_len++] = *p;
    p->rd = p->wr = -1;
    p->cap = 0;
    p->no_grow = 0;
    return;
  }
  pipe_close(px, p);
}

/* Closes the oldest enlarged spare pipe. 0 when there is none. */
static int evict_big_spare(px_proxy *px) {
  for (size_t i = 0; i < px->pipes_len; i++) {
    if (px->pipes[i].cap <= PIPE_DEFAULT) continue;
    pipe_close(px, &px->pipes[i]);
    memmove(&px->pipes[i], &px->pipes[i + 1], (px->pipes_len - i - 1) * sizeof *px->pipes);
    px->pipes_len--;
    return 1;
  }
  return 0;
}

/* Enlarges a streaming direction's pipe to PIPE_BIG when the budgets allow
 * (spare enlarged pipes give way). */
static void pipe_grow(px_proxy *px, px_pipe *p) {
  if (p->no_grow || p->cap >= PIPE_BIG) return;
  for (;;) {
    int fits = px->pipe_big_bytes - big_part(p->cap) + big_part(PIPE_BIG) <= PX_PIPE_BIG_BUDGET &&
               px->pipe_bytes - p->cap + PIPE_BIG <= PX_PIPE_BUDGET;
    if (fits) break;
    if (!evict_big_spare(px)) return;
  }
  int sz = fcntl(p->wr, F_SETPIPE_SZ, (int)PIPE_BIG);
  if (sz <= 0 || (size_t)sz <= p->cap) {
    p->no_grow = 1; /* EPERM: the user is over its pipe allowance */
    return;
  }
  px->pipe_bytes += (size_t)sz - p->cap;
  px->pipe_big_bytes += big_part((size_t)sz) - big_part(p->cap);
  p->cap = (size_t)sz;
}

void px_pipes_free(px_proxy *px) {
  while (px->pipes_len > 0) pipe_close(px, &px->pipes[--px->pipes_len]);
  /* with every connection gone, every pipe is closed */
  assert(px->conns || (px->pipe_bytes == 0 && px->pipe_big_bytes == 0));
}

void px_tunnel_release(px_conn *c) {
  px_pipe *p[2] = {&c->pipe_cu, &c->pipe_uc};
  size_t *in[2] = {&c->in_cu, &c->in_uc};
  for (int i = 0; i < 2; i++) {
    if (*in[i] == 0)
      pipe_release(c->px, p[i]);
    else
      pipe_close(c->px, p[i]);
    *in[i] = 0;
  }
}

void px_tunnel_start(px_conn *c) {
  /* bytes the client sent after the request (e.g. a pipelined TLS hello)
   * stay in cin: they are the start of the first flight; bytes an upstream
   * proxy sent right after its 200 (a server-first greeting) follow the
   * confirmation in cout */
  if (c->uin.len) csb_buf_append(&c->cout, c->uin.data, c->uin.len);
  csb_buf_free(&c->uin);
  c->in_cu = c->in_uc = 0;
  c->sni_started = 0;
  c->sni_need = 0;
  c->sni_phase = 0;
  c->state = ST_TUNNEL_PEEK;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
  c->repump = 1;
}

void px_tunnel_open(px_conn *c) {
  /* the inspected bytes go to the destination first */
  if (c->cin.len) {
    csb_buf_append(&c->uout, c->cin.data, c->cin.len);
    csb_buf_reset(&c->cin);
  }
  c->state = ST_TUNNEL;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
  c->repump = 1;
}

/* One direction through a bounded buffer of at most cap bytes (which starts
 * with any bytes queued for dst). Returns -1 on error, else progress. */
static int relay_copy(px_conn *c, px_stream *src, px_stream *dst, csb_buf *buf, size_t cap) {
  int progress = 0;
  for (int rounds = 0; rounds < 64; rounds++) {
    int moved = 0;
    if (buf->len) {
      if (!px_stream_flush(dst, buf, &moved)) return -1;
      progress |= moved;
      if (buf->len) break;
    }
    if (src->eof) {
      if (!dst->shut_wr) {
        shutdown(dst->fd, SHUT_WR);
        dst->shut_wr = 1;
        progress = 1;
      }
      break;
    }
    size_t before = buf->len;
    if (!px_conn_fill(c, src, buf, cap, &moved)) return -1;
    progress |= moved;
    if (buf->len == before && !src->eof) break;
  }
  return progress;
}

/* One direction: src -> pipe -> dst, or through `pending` when there is no
 * pipe to be had. Returns -1 on error, else progress. */
static int relay(px_conn *c, px_stream *src, px_stream *dst, px_pipe *p, size_t *in_pipe, csb_buf *pending) {
  px_proxy *px = c->px;
  int progress = 0;
  if (pending->len) {
    if (!px_stream_flush(dst, pending, &progress)) return -1;
    if (pending->len) return progress;
  }
  if (p->rd < 0 && !src->eof && !pipe_acquire(px, p)) {
    if (px->relay_fallbacks++ == 0 && px->verbose)
      fprintf(stderr, "csb-proxy: [%llu] no tunnel pipe within the budget; relaying through a buffer\n",
              (unsigned long long)c->id);
    int r = relay_copy(c, src, dst, pending, px->lim.buffer_bytes);
    if (r >= 0 && pending->len == 0) px_conn_release_buffers(c);
    return r < 0 ? -1 : (progress | r);
  }
  size_t pulled = 0;
  for (int rounds = 0; rounds < 16; rounds++) {
    int moved = 0;
    if (!src->eof) {
      ssize_t n = splice(src->fd, NULL, p->wr, NULL, SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        *in_pipe += (size_t)n;
        pulled += (size_t)n;
        moved = 1;
      } else if (n == 0) {
        src->eof = 1;
        moved = 1;
      } else if (errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (*in_pipe > 0) {
      ssize_t n = splice(p->rd, NULL, dst->fd, NULL, *in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        *in_pipe -= (size_t)n;
        moved = 1;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (src->eof && *in_pipe == 0 && !dst->shut_wr) {
      shutdown(dst->fd, SHUT_WR);
      dst->shut_wr = 1;
      moved = 1;
    }
    if (!moved) break;
    progress = 1;
  }
  /* streaming (half a pipe in one pass): a bigger pipe means fewer system
   * calls per byte */
  if (p->rd >= 0 && pulled >= p->cap / 2) pipe_grow(px, p);
  /* nothing in flight: the pipe can serve another tunnel meanwhile */
  if (*in_pipe == 0) pipe_release(px, p);
  return progress;
}

int px_tunnel_relay_down(px_conn *c) {
  if (c->px->relay_copy) return relay_copy(c, &c->up, &c->cli, &c->cout, COPY_BUF);
  return relay(c, &c->up, &c->cli, &c->pipe_uc, &c->in_uc, &c->cout);
}

/* Client -> origin, as px_tunnel_relay_down. */
static int relay_up(px_conn *c) {
  if (c->px->relay_copy) return relay_copy(c, &c->cli, &c->up, &c->uout, COPY_BUF);
  return relay(c, &c->cli, &c->up, &c->pipe_cu, &c->in_cu, &c->uout);
}

int px_tunnel_pump(px_conn *c) {
  int progress = 0;
  int r = relay_up(c);
  if (r >= 0) {
    progress |= r;
    r = px_tunnel_relay_down(c);
  }
  if (r < 0) {
    px_conn_close(c);
    return 0;
  }
  progress |= r;
  if (progress) px_conn_touch(c);
  if (c->cli.shut_wr && c->up.shut_wr) {
    px_conn_close(c);
    return 0;
  }
  return progress;
}
