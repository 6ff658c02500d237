/* alloc.h - alloc.c's functions under the bw_alloc_* names it takes when
 * built with BW_ALLOC_PREFIX (its unit test). The static csb-bwrap links
 * alloc.c unprefixed instead, as the process's malloc; see alloc.c. */
#ifndef CSB_BWRAP_ALLOC_H
#define CSB_BWRAP_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *bw_alloc_malloc(size_t n);
void bw_alloc_free(void *p);
void *bw_alloc_calloc(size_t a, size_t b);
void *bw_alloc_realloc(void *p, size_t n);
void *bw_alloc_aligned_alloc(size_t align, size_t n);
void *bw_alloc_memalign(size_t align, size_t n);
int bw_alloc_posix_memalign(void **out, size_t align, size_t n);
size_t bw_alloc_malloc_usable_size(void *p);

#ifdef __cplusplus
}
#endif

#endif
