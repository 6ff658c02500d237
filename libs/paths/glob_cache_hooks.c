/* glob_cache_hooks.c - entry points into glob_cache.h for paths_test
 * (which sees only the public header). Test-only. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob_cache.h"

int csb_test_glob_cache_rekey(const char *dir, const char *file, const char *version);

/* Writes the cache file `file` of `dir` again under the key it holds with
 * its leading version string (up to the first NUL) replaced by `version`,
 * as an earlier csb would have written it. 1 when written. */
/* The bytes of the cache file `file` of `dir` (at most the cache's size
 * limit; caller frees) and its key's length in *kn; NULL when it cannot
 * be read or is too short to hold its key. */
static unsigned char *read_cache_file(const char *dir, const char *file, size_t *len, uint32_t *kn) {
  char *path = csb_xasprintf("%s/%s", dir, file);
  FILE *f = fopen(path, "rb");
  free(path);
  if (!f) return NULL;
  unsigned char *data = csb_xmalloc(CSB_GLOB_CACHE_MAX_BYTES);
  *len = fread(data, 1, CSB_GLOB_CACHE_MAX_BYTES, f);
  fclose(f);
  *kn = 0;
  if (*len >= 12) memcpy(kn, data + 8, 4);
  if (*len < 12 || *kn > *len - 12) {
    free(data);
    return NULL;
  }
  return data;
}

int csb_test_glob_cache_rekey(const char *dir, const char *file, const char *version) {
  size_t len;
  uint32_t kn;
  unsigned char *data = read_cache_file(dir, file, &len, &kn);
  if (!data) return 0;
  char *key = csb_xmalloc(kn + 1);
  memcpy(key, data + 12, kn);
  key[kn] = '\0';
  gc_file cf;
  if (!gc_parse(data, len, key, kn, &cf)) {
    free(data);
    free(key);
    return 0;
  }
  csb_buf nk;
  csb_buf_init(&nk);
  csb_buf_puts(&nk, version);
  size_t vl = strlen(key);
  csb_buf_append(&nk, key + vl, kn - vl);
  gc_slice *sl = csb_xcalloc(cf.nrec + 1, sizeof *sl);
  for (size_t i = 0; i < cf.nrec; i++)
    sl[i] = (gc_slice){cf.recs[i].raw, cf.recs[i].raw_len, cf.recs[i].rel, cf.recs[i].rel_len};
  int ok = gc_store(dir, nk.data, nk.len, sl, cf.nrec);
  free(sl);
  csb_buf_free(&nk);
  gc_file_free(&cf);
  free(key);
  return ok;
}

int csb_test_glob_cache_settled(int64_t mtime_s, uint32_t mtime_ns, int64_t ctime_s,
                                uint32_t ctime_ns, int64_t start_s, long start_ns);
int csb_test_glob_cache_forge_trusted(const char *dir, const char *file);

/* Rewrites the cache file `file` of `dir` with every record marked as
 * trusted and without its matches: what a record made on a file system
 * that keeps times exactly would say of an unchanged directory with no
 * match, were its device now another file system's. 1 when written. */
int csb_test_glob_cache_forge_trusted(const char *dir, const char *file) {
  size_t len;
  uint32_t kn;
  unsigned char *data = read_cache_file(dir, file, &len, &kn);
  if (!data) return 0;
  gc_file cf;
  if (!gc_parse(data, len, (const char *)data + 12, kn, &cf)) {
    free(data);
    return 0;
  }
  csb_buf recs;
  csb_buf_init(&recs);
  size_t *off = csb_xcalloc(cf.nrec + 1, sizeof *off);
  for (size_t i = 0; i < cf.nrec; i++) {
    const gc_rec *r = &cf.recs[i];
    off[i] = recs.len;
    const char **names = csb_xcalloc(r->nchild + 1, sizeof *names);
    size_t *lens = csb_xcalloc(r->nchild + 1, sizeof *lens);
    const unsigned char *p = r->children;
    for (uint32_t k = 0; k < r->nchild; k++) names[k] = gc_next_child(&p, &lens[k]);
    gc_put_record(&recs, r->rel, r->rel_len, &r->id, GC_TRUSTED, NULL, NULL, NULL, 0, names, lens,
                  r->nchild);
    free(names);
    free(lens);
  }
  gc_slice *sl = csb_xcalloc(cf.nrec + 1, sizeof *sl);
  for (size_t i = 0; i < cf.nrec; i++)
    sl[i] = (gc_slice){(const unsigned char *)recs.data + off[i],
                       (i + 1 < cf.nrec ? off[i + 1] : recs.len) - off[i], cf.recs[i].rel,
                       cf.recs[i].rel_len};
  int ok = gc_store(dir, (const char *)data + 12, kn, sl, cf.nrec);
  free(sl);
  free(off);
  csb_buf_free(&recs);
  gc_file_free(&cf);
  return ok;
}

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
