/* tunnel.c - opaque relays (CONNECT without interception, SOCKS CONNECT)
 * with splice(2) through a pipe per direction: bytes move between the two
 * sockets inside the kernel. `--relay copy` uses a bounded user-space
 * buffer per direction instead (faster on some virtual machines, see
 * tests/bench/proxy). Half-closes are propagated. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

#define PIPE_BYTES (1 << 20)
#define SPLICE_CHUNK (1 << 20)


static int make_pipe(int p[2], size_t *cap) {
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return 0;
  int sz = fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
  if (sz <= 0) sz = fcntl(p[1], F_GETPIPE_SZ);
  *cap = sz > 0 ? (size_t)sz : 65536;
  return 1;
}

void px_tunnel_start(px_conn *c) {
  /* bytes the client sent after the request (e.g. a pipelined TLS hello)
   * go to the destination first */
  if (c->cin.len) {
    csb_buf_append(&c->uout, c->cin.data, c->cin.len);
    csb_buf_reset(&c->cin);
  }
  csb_buf_free(&c->uin);
  c->in_cu = c->in_uc = 0;
  c->state = ST_TUNNEL;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
  c->repump = 1;
}

/* One direction: src -> pipe -> dst. Returns -1 on error, else progress. */
static int relay(px_conn *c, px_stream *src, px_stream *dst, int p[2], size_t *in_pipe, csb_buf *pending) {
  int progress = 0;
  if (pending->len) {
    if (!px_stream_flush(dst, pending, &progress)) return -1;
    if (pending->len) return progress;
    csb_buf_free(pending);
  }
  if (p[0] < 0) {
    size_t cap;
    if (!make_pipe(p, &cap)) return -1;
  }
  for (int rounds = 0; rounds < 16; rounds++) {
    int moved = 0;
    if (!src->eof) {
      ssize_t n = splice(src->fd, NULL, p[1], NULL, SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        *in_pipe += (size_t)n;
        moved = 1;
      } else if (n == 0) {
        src->eof = 1;
        moved = 1;
      } else if (errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (*in_pipe > 0) {
      ssize_t n = splice(p[0], NULL, dst->fd, NULL, *in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
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
  (void)c;
  return progress;
}

#define COPY_BUF (256 * 1024)

/* One direction through a bounded buffer (which starts with any bytes
 * queued for dst). Returns -1 on error, else progress. */
static int relay_copy(px_conn *c, px_stream *src, px_stream *dst, csb_buf *buf) {
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
    if (!px_conn_fill(c, src, buf, COPY_BUF, &moved)) return -1;
    progress |= moved;
    if (buf->len == before && !src->eof) break;
  }
  return progress;
}

int px_tunnel_pump(px_conn *c) {
  int progress = 0;
  int r;
  if (c->px->relay_copy) {
    r = relay_copy(c, &c->cli, &c->up, &c->uout);
    if (r >= 0) {
      progress |= r;
      r = relay_copy(c, &c->up, &c->cli, &c->cout);
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
  r = relay(c, &c->cli, &c->up, c->pipe_cu, &c->in_cu, &c->uout);
  if (r < 0) {
    px_conn_close(c);
    return 0;
  }
  progress |= r;
  r = relay(c, &c->up, &c->cli, c->pipe_uc, &c->in_uc, &c->cout);
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
