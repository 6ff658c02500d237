/* arena.c - memory handed out in a few large chunks, released together.
 *
 * The parsed patch (thousands of small arrays) and the plan (file
 * contents, old and new) live in arenas: allocating and freeing them block
 * by block costs more than everything else a patch does. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#if !defined(_WIN32)
#include <sys/mman.h>
#endif

#include "csb_base.h"
#include "patch_internal.h"

#define ARENA_CHUNK_MIN ((size_t)256 << 10)
#define ARENA_CHUNK_MAX ((size_t)8 << 20)
/* Chunks this large are mapped directly and populated in one system call
 * instead of page by page. */
#define ARENA_MAP_MIN ((size_t)1 << 20)
#define HUGE_MIN ((size_t)4 << 20)
/* Linux 5.14; not in every C library's headers yet. */
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  int mapped;
  max_align_t data[];
} arena_chunk;

static arena_chunk *chunk_new(size_t cap) {
  if (cap > SIZE_MAX - sizeof(arena_chunk)) csb_oom();
  size_t total = sizeof(arena_chunk) + cap;
  arena_chunk *c = NULL;
  int mapped = 0;
#if !defined(_WIN32)
  if (total >= ARENA_MAP_MIN) {
#if defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_WRITE)
    /* Large chunks in huge pages where the system offers them: populating
     * and scanning them takes fewer page faults and TLB misses. */
    if (total >= HUGE_MIN) {
      void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        (void)madvise(p, total, MADV_HUGEPAGE);
        if (madvise(p, total, MADV_POPULATE_WRITE) != 0) {
          /* older kernels: fault the pages in as they are used */
        }
        c = p;
        mapped = 1;
      }
    }
#endif
    if (!c) {
      void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (p != MAP_FAILED) {
        c = p;
        mapped = 1;
      }
    }
  }
#endif
  if (!c) c = csb_xmalloc(total);
  c->cap = cap;
  c->used = 0;
  c->mapped = mapped;
  c->next = NULL;
  return c;
}

void *csb_patch_i_arena_take(csb_patch_arena *a, size_t n) {
  if (n > SIZE_MAX - 16) csb_oom();
  n = (n + 15) & ~(size_t)15;
  arena_chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    if (n > ARENA_CHUNK_MAX / 4) {
      /* A large block gets a chunk of its own, behind the current one. */
      c = chunk_new(n);
      if (a->head) {
        c->next = a->head->next;
        a->head->next = c;
      } else {
        a->head = c;
      }
    } else {
      size_t cap = a->head ? a->head->cap * 2 : ARENA_CHUNK_MIN;
      if (cap > ARENA_CHUNK_MAX) cap = ARENA_CHUNK_MAX;
      if (cap < n) cap = n;
      c = chunk_new(cap);
      c->next = a->head;
      a->head = c;
    }
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

void csb_patch_i_arena_release(csb_patch_arena *a) {
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *n = c->next;
#if !defined(_WIN32)
    if (c->mapped)
      munmap(c, sizeof(arena_chunk) + c->cap);
    else
#endif
      free(c);
    c = n;
  }
  a->head = NULL;
}
