/* csb_evloop.h - a single-threaded epoll event loop with timers, deferred
 * frees, a thread-safe post queue, and non-blocking socket helpers.
 *
 * Conventions: see csb_base.h. A loop and its watchers are used from one
 * thread only, except csb_evloop_post(), which any thread may call.
 *
 * Watchers (csb_ev_io, csb_ev_timer) are embedded in the caller's objects.
 * An object whose watcher may still appear in the current batch of epoll
 * events must not be freed directly: remove the watcher and hand the
 * object to csb_evloop_defer_free(), which frees it after the batch.
 */
#ifndef CSB_EVLOOP_H
#define CSB_EVLOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct csb_evloop csb_evloop;
typedef struct csb_ev_io csb_ev_io;
typedef struct csb_ev_timer csb_ev_timer;

typedef void (*csb_ev_io_cb)(csb_evloop *loop, csb_ev_io *io, uint32_t events);
typedef void (*csb_ev_timer_cb)(csb_evloop *loop, csb_ev_timer *t);
typedef void (*csb_ev_fn)(void *arg);

struct csb_ev_io {
  int fd;          /* -1 when not registered */
  uint32_t events; /* EPOLLIN | EPOLLOUT | EPOLLET ... */
  csb_ev_io_cb cb;
  void *data;      /* caller's */
};

struct csb_ev_timer {
  uint64_t deadline_ms; /* monotonic */
  size_t heap_index_;   /* private; (size_t)-1 when not armed */
  csb_ev_timer_cb cb;
  void *data;
};

csb_evloop *csb_evloop_new(csb_error *err);
/* Frees the loop (watchers still registered are simply forgotten; pending
 * deferred frees run; posted callbacks that never ran are dropped). */
void csb_evloop_free(csb_evloop *loop);

/* Milliseconds of CLOCK_MONOTONIC, cached at the start of each iteration. */
uint64_t csb_evloop_now(const csb_evloop *loop);
/* Refreshes and returns the cached time. */
uint64_t csb_evloop_update_now(csb_evloop *loop);

void csb_ev_io_init(csb_ev_io *io, csb_ev_io_cb cb, void *data);
/* Registers fd with the given events (io->fd must be -1). 1/0, errno kept. */
int csb_ev_io_start(csb_evloop *loop, csb_ev_io *io, int fd, uint32_t events);
/* Changes the events of a registered watcher (no-op when unchanged). */
int csb_ev_io_modify(csb_evloop *loop, csb_ev_io *io, uint32_t events);
/* Unregisters (the fd stays open); pending events for it in the current
 * batch are dropped. No-op when not registered. */
void csb_ev_io_stop(csb_evloop *loop, csb_ev_io *io);

void csb_ev_timer_init(csb_ev_timer *t, csb_ev_timer_cb cb, void *data);
/* Arms (or re-arms) the timer for an absolute monotonic deadline. */
void csb_ev_timer_set(csb_evloop *loop, csb_ev_timer *t, uint64_t deadline_ms);
void csb_ev_timer_stop(csb_evloop *loop, csb_ev_timer *t);
int csb_ev_timer_armed(const csb_ev_timer *t);

/* Runs fn(arg) after the current batch of events (before the next wait). */
void csb_evloop_defer_free(csb_evloop *loop, csb_ev_fn fn, void *arg);
/* Thread-safe: queues fn(arg) to run on the loop thread and wakes it. */
void csb_evloop_post(csb_evloop *loop, csb_ev_fn fn, void *arg);

/* Runs until csb_evloop_stop(). 1, or 0 when epoll_wait fails (errno). */
int csb_evloop_run(csb_evloop *loop);
void csb_evloop_stop(csb_evloop *loop);
/* One iteration, waiting at most timeout_ms (-1: until an event or timer).
 * Returns 1, or 0 on epoll failure. */
int csb_evloop_run_once(csb_evloop *loop, int timeout_ms);

/* ---- sockets ------------------------------------------------------------------ */

/* Parses "HOST:PORT", "[V6]:PORT" or "V6" (IP literals only, no names;
 * "localhost" means 127.0.0.1) into a sockaddr. *len_out gets its size. */
int csb_sock_parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len_out, csb_error *err);
/* "1.2.3.4:80" / "[::1]:80". */
const char *csb_sock_format(const struct sockaddr *sa, char *buf, size_t n);
int csb_sock_set_nonblock(int fd);
/* A non-blocking, close-on-exec listening TCP socket (SO_REUSEADDR). -1 on
 * failure with err. */
int csb_sock_listen_tcp(const struct sockaddr *sa, socklen_t len, int backlog, csb_error *err);
/* Starts a non-blocking connect; returns the fd (connection in progress or
 * done) or -1 with errno. */
int csb_sock_connect_nb(const struct sockaddr *sa, socklen_t len);
/* After EPOLLOUT on a connecting socket: 0 when connected, else the errno. */
int csb_sock_connect_result(int fd);
socklen_t csb_sock_len(const struct sockaddr *sa);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the AF_INET address it
 * reaches, port kept; any other address copied as is. */
void csb_sock_unmap_v4(const struct sockaddr_storage *in, struct sockaddr_storage *out);
/* Sets the port (host order) of an AF_INET or AF_INET6 address; others
 * are left alone. */
void csb_sock_set_port(struct sockaddr_storage *ss, int port);

#ifdef __cplusplus
}
#endif

#endif /* CSB_EVLOOP_H */
