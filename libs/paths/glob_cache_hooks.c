/* glob_cache_hooks.c - entry points into glob_cache.h for paths_test
 * (which sees only the public header). Test-only. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "glob_cache.h"

int csb_test_glob_cache_settled(int64_t mtime_s, uint32_t mtime_ns, int64_t ctime_s,
                                uint32_t ctime_ns, int64_t start_s, long start_ns);

int csb_test_glob_cache_settled(int64_t mtime_s, uint32_t mtime_ns, int64_t ctime_s,
                                uint32_t ctime_ns, int64_t start_s, long start_ns) {
  gc_id id;
  memset(&id, 0, sizeof id);
  id.mtime_s = mtime_s;
  id.mtime_ns = mtime_ns;
  id.ctime_s = ctime_s;
  id.ctime_ns = ctime_ns;
  struct timespec start = {(time_t)start_s, start_ns};
  return gc_id_settled(&id, &start);
}
