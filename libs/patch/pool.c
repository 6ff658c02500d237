/* pool.c - running independent steps of a commit on a few threads.
 *
 * The slow part of writing many files is waiting, not computing: file
 * systems do work per created, replaced or synced file (allocating inodes,
 * freeing and discarding the old blocks, flushing the device cache) that
 * blocks the calling thread while the device is idle most of the time.
 * Issuing those calls from a few threads at once overlaps the waits. Every
 * step run this way is independent of the others; ordering between phases
 * is kept by the caller, since csb_patch_i_pool_run returns only when every
 * step of the phase has finished. The threads are started once and serve
 * every phase of a commit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "csb_base.h"
#include "patch_internal.h"

/* What a worker thread is started with. */
typedef struct worker_arg {
  struct csb_patch_pool *pool;
  size_t self; /* 1.. (the calling thread is 0) */
} worker_arg;

struct csb_patch_pool {
  pthread_mutex_t mu;
  pthread_cond_t wake; /* a new phase, or shutdown */
  pthread_cond_t idle; /* a worker finished its part of the phase */
  pthread_t th[CSB_PATCH_MAX_THREADS];
  worker_arg args[CSB_PATCH_MAX_THREADS];
  size_t n_threads;    /* started workers (the caller is not counted) */
  unsigned long gen;   /* phase number, guarded by mu */
  size_t busy;         /* workers still in the current phase, guarded by mu */
  int quit;
  /* the current phase */
  size_t n;
  csb_patch_task_fn fn;
  void *ctx;
  atomic_size_t next;
  atomic_int stop;
};

static void phase_run(csb_patch_pool *p, size_t self) {
  for (;;) {
    if (atomic_load(&p->stop)) return;
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n) return;
    if (!p->fn(p->ctx, i, self)) atomic_store(&p->stop, 1);
  }
}

static void *worker(void *arg) {
  worker_arg *w = arg;
  csb_patch_pool *p = w->pool;
  size_t self = w->self;
  unsigned long seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->quit) break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    phase_run(p, self);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->idle);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

csb_patch_pool *csb_patch_i_pool_new(size_t threads) {
  csb_patch_pool *p = csb_xcalloc(1, sizeof(*p));
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->idle, NULL);
  atomic_init(&p->next, 0);
  atomic_init(&p->stop, 0);
  if (threads > CSB_PATCH_MAX_THREADS) threads = CSB_PATCH_MAX_THREADS;
  if (threads > 1) {
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr) (void)pthread_attr_setstacksize(&attr, (size_t)256 << 10);
    /* A thread that cannot be created only means less overlap: the
     * calling thread works through whatever the others leave. */
    for (size_t i = 1; i < threads; i++) {
      worker_arg *w = &p->args[p->n_threads];
      w->pool = p;
      w->self = p->n_threads + 1;
      if (pthread_create(&p->th[p->n_threads], have_attr ? &attr : NULL, worker, w) != 0) break;
      p->n_threads++;
    }
    if (have_attr) pthread_attr_destroy(&attr);
  }
  return p;
}

int csb_patch_i_pool_run(csb_patch_pool *p, size_t n, csb_patch_task_fn fn, void *ctx) {
  if (n == 0) return 1;
  p->n = n;
  p->fn = fn;
  p->ctx = ctx;
  atomic_store(&p->next, 0);
  atomic_store(&p->stop, 0);
  /* Single steps are not worth waking anyone. */
  size_t helpers = n > 1 ? p->n_threads : 0;
  if (helpers) {
    pthread_mutex_lock(&p->mu);
    p->busy = p->n_threads;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  phase_run(p, 0);
  if (helpers) {
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
  return !atomic_load(&p->stop);
}

void csb_patch_i_pool_free(csb_patch_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < p->n_threads; i++) pthread_join(p->th[i], NULL);
  pthread_cond_destroy(&p->idle);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

size_t csb_patch_i_pool_size(const csb_patch_pool *p) { return p->n_threads + 1; }
