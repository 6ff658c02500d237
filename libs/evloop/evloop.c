/* evloop.c - epoll loop, timer heap, deferred frees and the post queue. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "csb_evloop.h"

#define MAX_EVENTS 256
#define NOT_ARMED ((size_t)-1)

typedef struct deferred {
  csb_ev_fn fn;
  void *arg;
} deferred;

struct csb_evloop {
  int epfd;
  int wakefd;
  int stop;
  uint64_t now;
  /* timers: binary min-heap by deadline */
  csb_ev_timer **heap;
  size_t heap_len, heap_cap;
  /* deferred frees */
  deferred *defer;
  size_t defer_len, defer_cap;
  /* posted callbacks (mutex protected) */
  pthread_mutex_t mu;
  deferred *posted;
  size_t posted_len, posted_cap;
  /* the current batch, so that stopped watchers can be dropped */
  struct epoll_event events[MAX_EVENTS];
  int n_events;
  int cur_event;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

csb_evloop *csb_evloop_new(csb_error *err) {
  csb_evloop *l = csb_xcalloc(1, sizeof *l);
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0) {
    csb_error_set(err, "epoll_create1: %s", strerror(errno));
    free(l);
    return NULL;
  }
  l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->wakefd < 0) {
    csb_error_set(err, "eventfd: %s", strerror(errno));
    close(l->epfd);
    free(l);
    return NULL;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) != 0) {
    csb_error_set(err, "epoll_ctl: %s", strerror(errno));
    close(l->wakefd);
    close(l->epfd);
    free(l);
    return NULL;
  }
  pthread_mutex_init(&l->mu, NULL);
  l->now = mono_ms();
  return l;
}

static void run_deferred(csb_evloop *l) {
  /* callbacks may defer more work: loop until empty */
  while (l->defer_len > 0) {
    deferred *d = l->defer;
    size_t n = l->defer_len;
    l->defer = NULL;
    l->defer_len = 0;
    l->defer_cap = 0;
    for (size_t i = 0; i < n; i++) d[i].fn(d[i].arg);
    free(d);
  }
}

void csb_evloop_free(csb_evloop *l) {
  if (!l) return;
  run_deferred(l);
  close(l->wakefd);
  close(l->epfd);
  pthread_mutex_destroy(&l->mu);
  free(l->heap);
  free(l->posted);
  free(l);
}

uint64_t csb_evloop_now(const csb_evloop *l) { return l->now; }
uint64_t csb_evloop_update_now(csb_evloop *l) { return l->now = mono_ms(); }

void csb_ev_io_init(csb_ev_io *io, csb_ev_io_cb cb, void *data) {
  io->fd = -1;
  io->events = 0;
  io->cb = cb;
  io->data = data;
}

int csb_ev_io_start(csb_evloop *l, csb_ev_io *io, int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = io};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return 0;
  io->fd = fd;
  io->events = events;
  return 1;
}

int csb_ev_io_modify(csb_evloop *l, csb_ev_io *io, uint32_t events) {
  if (io->fd < 0) return 0;
  if (events == io->events) return 1;
  struct epoll_event ev = {.events = events, .data.ptr = io};
  if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0) return 0;
  io->events = events;
  return 1;
}

void csb_ev_io_stop(csb_evloop *l, csb_ev_io *io) {
  if (io->fd < 0) return;
  epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
  io->fd = -1;
  io->events = 0;
  for (int i = l->cur_event + 1; i < l->n_events; i++)
    if (l->events[i].data.ptr == io) l->events[i].data.ptr = NULL, l->events[i].events = 0;
}

/* ---- timers ------------------------------------------------------------------ */

void csb_ev_timer_init(csb_ev_timer *t, csb_ev_timer_cb cb, void *data) {
  t->deadline_ms = 0;
  t->heap_index_ = NOT_ARMED;
  t->cb = cb;
  t->data = data;
}

int csb_ev_timer_armed(const csb_ev_timer *t) { return t->heap_index_ != NOT_ARMED; }

static void heap_swap(csb_evloop *l, size_t a, size_t b) {
  csb_ev_timer *t = l->heap[a];
  l->heap[a] = l->heap[b];
  l->heap[b] = t;
  l->heap[a]->heap_index_ = a;
  l->heap[b]->heap_index_ = b;
}

static void heap_up(csb_evloop *l, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (l->heap[p]->deadline_ms <= l->heap[i]->deadline_ms) break;
    heap_swap(l, p, i);
    i = p;
  }
}

static void heap_down(csb_evloop *l, size_t i) {
  for (;;) {
    size_t a = 2 * i + 1, b = a + 1, m = i;
    if (a < l->heap_len && l->heap[a]->deadline_ms < l->heap[m]->deadline_ms) m = a;
    if (b < l->heap_len && l->heap[b]->deadline_ms < l->heap[m]->deadline_ms) m = b;
    if (m == i) break;
    heap_swap(l, i, m);
    i = m;
  }
}

void csb_ev_timer_stop(csb_evloop *l, csb_ev_timer *t) {
  size_t i = t->heap_index_;
  if (i == NOT_ARMED) return;
  size_t last = l->heap_len - 1;
  if (i != last) {
    heap_swap(l, i, last);
    l->heap_len--;
    heap_down(l, i);
    heap_up(l, i);
  } else {
    l->heap_len--;
  }
  t->heap_index_ = NOT_ARMED;
}

void csb_ev_timer_set(csb_evloop *l, csb_ev_timer *t, uint64_t deadline_ms) {
  if (t->heap_index_ != NOT_ARMED) {
    uint64_t old = t->deadline_ms;
    t->deadline_ms = deadline_ms;
    if (deadline_ms < old)
      heap_up(l, t->heap_index_);
    else
      heap_down(l, t->heap_index_);
    return;
  }
  t->deadline_ms = deadline_ms;
  l->heap = csb_xgrow(l->heap, &l->heap_cap, l->heap_len + 1, sizeof *l->heap);
  l->heap[l->heap_len] = t;
  t->heap_index_ = l->heap_len;
  l->heap_len++;
  heap_up(l, t->heap_index_);
}

static void run_timers(csb_evloop *l) {
  while (l->heap_len > 0 && l->heap[0]->deadline_ms <= l->now) {
    csb_ev_timer *t = l->heap[0];
    csb_ev_timer_stop(l, t);
    t->cb(l, t);
  }
}

/* ---- deferred / posted -------------------------------------------------------- */

void csb_evloop_defer_free(csb_evloop *l, csb_ev_fn fn, void *arg) {
  l->defer = csb_xgrow(l->defer, &l->defer_cap, l->defer_len + 1, sizeof *l->defer);
  l->defer[l->defer_len].fn = fn;
  l->defer[l->defer_len].arg = arg;
  l->defer_len++;
}

void csb_evloop_post(csb_evloop *l, csb_ev_fn fn, void *arg) {
  pthread_mutex_lock(&l->mu);
  l->posted = csb_xgrow(l->posted, &l->posted_cap, l->posted_len + 1, sizeof *l->posted);
  l->posted[l->posted_len].fn = fn;
  l->posted[l->posted_len].arg = arg;
  l->posted_len++;
  pthread_mutex_unlock(&l->mu);
  uint64_t one = 1;
  ssize_t r = write(l->wakefd, &one, sizeof one);
  (void)r;
}

static void run_posted(csb_evloop *l) {
  uint64_t v;
  ssize_t r = read(l->wakefd, &v, sizeof v);
  (void)r;
  pthread_mutex_lock(&l->mu);
  deferred *d = l->posted;
  size_t n = l->posted_len;
  l->posted = NULL;
  l->posted_len = 0;
  l->posted_cap = 0;
  pthread_mutex_unlock(&l->mu);
  for (size_t i = 0; i < n; i++) d[i].fn(d[i].arg);
  free(d);
}

/* ---- running ---------------------------------------------------------------- */

int csb_evloop_run_once(csb_evloop *l, int timeout_ms) {
  if (l->heap_len > 0) {
    uint64_t now = mono_ms();
    uint64_t d = l->heap[0]->deadline_ms;
    int t = d <= now ? 0 : (d - now > 3600000u ? 3600000 : (int)(d - now));
    if (timeout_ms < 0 || t < timeout_ms) timeout_ms = t;
  }
  int n = epoll_wait(l->epfd, l->events, MAX_EVENTS, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) n = 0;
    else
      return 0;
  }
  l->now = mono_ms();
  l->n_events = n;
  int woke = 0;
  for (l->cur_event = 0; l->cur_event < n; l->cur_event++) {
    struct epoll_event *e = &l->events[l->cur_event];
    if (e->data.ptr == NULL) {
      if (e->events) woke = 1;
      continue;
    }
    csb_ev_io *io = e->data.ptr;
    if (io->fd < 0) continue;
    io->cb(l, io, e->events);
  }
  l->n_events = 0;
  l->cur_event = 0;
  run_deferred(l);
  if (woke) run_posted(l);
  run_deferred(l);
  run_timers(l);
  run_deferred(l);
  return 1;
}

int csb_evloop_run(csb_evloop *l) {
  l->stop = 0;
  while (!l->stop)
    if (!csb_evloop_run_once(l, -1)) return 0;
  return 1;
}

void csb_evloop_stop(csb_evloop *l) { l->stop = 1; }
