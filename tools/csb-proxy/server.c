/* server.c - the two listeners and shutdown. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

static int listen_one(px_proxy *px, const struct sockaddr *sa, int *fd_out, csb_ev_io *io,
                      struct sockaddr_storage *bound, csb_ev_io_cb cb, csb_error *err) {
  int fd = csb_sock_listen_tcp(sa, csb_sock_len(sa), 1024, err);
  if (fd < 0) return 0;
  socklen_t sl = sizeof *bound;
  if (getsockname(fd, (struct sockaddr *)bound, &sl) != 0) {
    csb_error_set(err, "getsockname: %s", strerror(errno));
    close(fd);
    return 0;
  }
  csb_ev_io_init(io, cb, px);
  if (!csb_ev_io_start(px->loop, io, fd, EPOLLIN)) {
    csb_error_set(err, "epoll: %s", strerror(errno));
    close(fd);
    return 0;
  }
  *fd_out = fd;
  return 1;
}

int px_listen(px_proxy *px, const struct sockaddr *http, const struct sockaddr *socks, csb_error *err) {
  px->http_fd = px->socks_fd = -1;
  if (!listen_one(px, http, &px->http_fd, &px->http_io, &px->http_addr, px_accept_http, err)) return 0;
  if (socks && !listen_one(px, socks, &px->socks_fd, &px->socks_io, &px->socks_addr, px_accept_socks, err)) {
    csb_ev_io_stop(px->loop, &px->http_io);
    close(px->http_fd);
    px->http_fd = -1;
    return 0;
  }
  return 1;
}

void px_shutdown(px_proxy *px) {
  if (px->http_fd >= 0) {
    csb_ev_io_stop(px->loop, &px->http_io);
    close(px->http_fd);
    px->http_fd = -1;
  }
  if (px->socks_fd >= 0) {
    csb_ev_io_stop(px->loop, &px->socks_io);
    close(px->socks_fd);
    px->socks_fd = -1;
  }
  px_conn_close_all(px);
}
