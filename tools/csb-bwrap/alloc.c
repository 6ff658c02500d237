/* alloc.c - the allocator of the static csb-bwrap.
 *
 * musl's allocator hands memory back to the kernel as soon as a group of
 * blocks is free. Every munmap(2) shoots down the TLB of each CPU the
 * process ran on, which a virtual machine pays for with inter-processor
 * interrupts: 0.1 ms, and several ms when the other vCPU is asleep, on
 * the 2-vCPU machines the startup benchmark runs on (five such calls made
 * up a fifth of the launcher's time). The launcher lives a few
 * milliseconds and the inner stage allocates next to nothing once the
 * command runs, so small blocks are never given back here: power-of-two
 * size classes with a free list each, carved from a static area and then
 * from 1 MiB mappings. Blocks above 256 KiB get a mapping of their own,
 * unmapped when freed. One lock serialises everything (the glob walker
 * runs threads); like any malloc, none of this is async-signal-safe.
 *
 * Every block carries a 16-byte header right before the pointer handed
 * out (a magic word, the size class, the offset from the block's start);
 * freeing or resizing a pointer without a valid header, or one already
 * freed, aborts rather than corrupting the lists. A small block's header
 * lies in memory never given back, but a large block's goes away with its
 * mapping, so the pointer says which to expect before anything is read:
 * small blocks start at multiples of 32 bytes and malloc hands out the
 * address 16 past one, whose header is read at once; every other pointer
 * handed out (a large block's, an aligned small one's) is a multiple of
 * 32, and its header is read only once the pointer is found in the list of
 * live large mappings (under the lock; they are few) or inside the static
 * area or a chunk (each chunk starts with a link to the one made before
 * it). So a large block freed twice, or resized or measured once freed,
 * aborts instead of faulting on its unmapped header, and so does a pointer
 * that was never handed out and is a multiple of 32 (or neither a multiple
 * of 32 nor 16 past one); one 16 past a multiple of 32 is taken for a
 * small block's, and faults when the 16 bytes before it are not mapped.
 *
 * Linked into the musl build only (//third_party/musl:is_musl): musl lets a
 * static program replace malloc, and its own internal allocations go
 * through its separate __libc_malloc. Host builds, sanitizers included,
 * keep the C library's allocator. Built with BW_ALLOC_PREFIX the same
 * code defines bw_alloc_malloc() and so on for the unit test instead. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef BW_ALLOC_PREFIX
#define A(name) bw_alloc_##name
#include "alloc.h"
#else
#define A(name) name
#include <malloc.h>
#endif

#define HDR 16u
#define MIN_SHIFT 5  /* 32-byte blocks: header + 16 bytes */
#define MAX_SHIFT 18 /* 256 KiB, the largest class */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define LARGE 0xffffu
#define LARGE_OFF 32u /* a large block starts with a large_link */
#define CHUNK_OFF 32u /* a chunk starts with the address of the one before */
#define CHUNK ((size_t)1 << 20)
#define MAGIC 0x61627363u

typedef struct hdr {
  uint32_t magic;
  uint32_t cls;
  size_t off; /* from the block's start to the pointer handed out */
} hdr;
_Static_assert(sizeof(hdr) == HDR, "block header is 16 bytes");

typedef struct free_block {
  struct free_block *next;
} free_block;

/* The start of a large block's mapping. */
typedef struct large_link {
  size_t len;          /* of the mapping */
  unsigned char *next; /* the next live large block's mapping */
} large_link;
_Static_assert(sizeof(large_link) + HDR <= LARGE_OFF, "a large block's link and header fit before its data");

static alignas(4096) unsigned char initial_area[256 * 1024];
static unsigned char *bump = initial_area;
static unsigned char *bump_end = initial_area + sizeof initial_area;
static free_block *free_lists[NCLASS];
static unsigned char *large_blocks; /* live large blocks' mappings, newest first */
static unsigned char *chunks;       /* the chunks, newest first */
static atomic_flag busy = ATOMIC_FLAG_INIT;

static void lock(void) {
  while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) sched_yield();
}

static void unlock(void) { atomic_flag_clear_explicit(&busy, memory_order_release); }

/* Whether the header of a, a multiple of 32, lies in the static area or
 * a chunk. Called with the lock held. */
static int in_small_area(uintptr_t a) {
  if (a - (uintptr_t)initial_area - HDR < sizeof initial_area - HDR) return 1;
  for (unsigned char *c = chunks; c; c = *(unsigned char **)(void *)c)
    if (a - (uintptr_t)c - CHUNK_OFF < CHUNK - CHUNK_OFF) return 1;
  return 0;
}

/* The header of p, a live block's pointer, or abort (see the top of the
 * file). With unlink set, a large block is taken off the live list. */
static hdr *header_of(void *p, int unlink) {
  uintptr_t a = (uintptr_t)p;
  hdr *h = (hdr *)(a - HDR);
  if ((a & 31) == 16) {
    if (h->magic != MAGIC || h->cls >= NCLASS) abort();
    return h;
  }
  if (a & 31) abort();
  lock();
  for (unsigned char **at = &large_blocks; *at; at = &((large_link *)(void *)*at)->next) {
    large_link *l = (large_link *)(void *)*at;
    if (a - (uintptr_t)l >= l->len) continue;
    /* inside a live mapping: its block's own pointer, or abort */
    if (a - (uintptr_t)l < LARGE_OFF || h->magic != MAGIC || h->cls != LARGE || a - h->off != (uintptr_t)l) abort();
    if (unlink) *at = l->next;
    unlock();
    return h;
  }
  int ours = in_small_area(a);
  unlock();
  if (!ours || h->magic != MAGIC || h->cls >= NCLASS) abort();
  return h;
}

static size_t usable(void *p, const hdr *h) {
  unsigned char *base = (unsigned char *)p - h->off;
  size_t cap = h->cls == LARGE ? ((large_link *)(void *)base)->len : (size_t)1 << (h->cls + MIN_SHIFT);
  return cap - h->off;
}

/* A block of class cls, from its free list or carved fresh; NULL when the
 * kernel has no memory. Called with the lock held. */
static unsigned char *small_block(unsigned cls) {
  free_block *f = free_lists[cls];
  if (f) {
    free_lists[cls] = f->next;
    return (unsigned char *)f;
  }
  size_t size = (size_t)1 << (cls + MIN_SHIFT);
  if ((size_t)(bump_end - bump) < size) {
    void *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    *(unsigned char **)m = chunks;
    chunks = m;
    bump = chunks + CHUNK_OFF;
    bump_end = chunks + CHUNK;
  }
  unsigned char *b = bump;
  bump += size;
  return b;
}

/* n bytes aligned to align (a power of two, at least 16). */
static void *allocate(size_t n, size_t align) {
  if (n == 0) n = 1;
  size_t slack = align > HDR ? align - HDR : 0;
  if (n > SIZE_MAX / 2 - slack - 2 * LARGE_OFF) {
    errno = ENOMEM;
    return NULL;
  }
  unsigned char *base;
  uint32_t cls;
  size_t min_off;
  if (n + HDR + slack <= (size_t)1 << MAX_SHIFT) {
    unsigned s = MIN_SHIFT;
    while (((size_t)1 << s) < n + HDR + slack) s++;
    cls = s - MIN_SHIFT;
    lock();
    base = small_block(cls);
    unlock();
    min_off = HDR;
  } else {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (n + LARGE_OFF + slack + page - 1) / page * page;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base = m == MAP_FAILED ? NULL : m;
    if (base) ((large_link *)m)->len = len;
    cls = LARGE;
    min_off = LARGE_OFF;
  }
  if (!base) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t p = ((uintptr_t)base + min_off + align - 1) & ~(uintptr_t)(align - 1);
  hdr *h = (hdr *)(p - HDR);
  h->magic = MAGIC;
  h->cls = cls;
  h->off = p - (uintptr_t)base;
  if (cls == LARGE) {
    lock();
    ((large_link *)(void *)base)->next = large_blocks;
    large_blocks = base;
    unlock();
  }
  return (void *)p;
}

void *A(malloc)(size_t n) { return allocate(n, HDR); }

void A(free)(void *p) {
  if (!p) return;
  hdr *h = header_of(p, 1);
  unsigned char *base = (unsigned char *)p - h->off;
  uint32_t cls = h->cls;
  h->magic = 0;
  if (cls == LARGE) {
    munmap(base, ((large_link *)(void *)base)->len);
    return;
  }
  free_block *f = (free_block *)(void *)base;
  lock();
  f->next = free_lists[cls];
  free_lists[cls] = f;
  unlock();
}

void *A(calloc)(size_t a, size_t b) {
  size_t n;
  if (__builtin_mul_overflow(a, b, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = allocate(n, HDR);
  if (p) memset(p, 0, n);
  return p;
}

void *A(realloc)(void *p, size_t n) {
  if (!p) return allocate(n, HDR);
  size_t have = usable(p, header_of(p, 0));
  if (n <= have) return p;
  void *q = allocate(n, HDR);
  if (!q) return NULL;
  memcpy(q, p, have);
  A(free)(p);
  return q;
}

void *A(aligned_alloc)(size_t align, size_t n) {
  if (align == 0 || (align & (align - 1)) != 0 || align > ((size_t)1 << 30)) {
    errno = EINVAL;
    return NULL;
  }
  return allocate(n, align < HDR ? HDR : align);
}

void *A(memalign)(size_t align, size_t n) { return A(aligned_alloc)(align, n); }

int A(posix_memalign)(void **out, size_t align, size_t n) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0 || align > ((size_t)1 << 30)) return EINVAL;
  void *p = allocate(n, align < HDR ? HDR : align);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

size_t A(malloc_usable_size)(void *p) { return p ? usable(p, header_of(p, 0)) : 0; }
