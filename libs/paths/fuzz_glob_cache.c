/* fuzz_glob_cache.c - fuzz entry for the reader of glob cache files
 * (glob_cache.h).
 *
 * The input is a cache file without its 8-byte checksum trailer: the
 * entry appends a correct checksum, so that mutations reach the parser
 * instead of stopping at the checksum. The key is the one the input
 * names (so real cache files are seeds), or "k" when it names none. For
 * every input, gc_parse either rejects the bytes or accepts them; when it
 * accepts:
 *   - every record is found again by gc_find under its own path;
 *   - every listed name is non-empty, without '/' or NUL, not "." or "..";
 *   - encoding the parsed records again gives back the same bytes.
 * Any violation aborts.
 *
 * paths_test replays it over a real cache file and mutations of it. To
 * fuzz for real:
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread \
 *     -DCSB_FUZZ_ENTRY -Ilibs/base -Ilibs/paths libs/paths/fuzz_glob_cache.c \
 *     libs/paths/glob_cache.c libs/base/{base,os,sha256,utf8}.c -o /tmp/fuzz_glob_cache
 *   /tmp/fuzz_glob_cache -max_len=4096 -max_total_time=600 CORPUS_DIR
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob_cache.h"

int csb_fuzz_glob_cache_one(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static void check_name(const char *name, size_t len) {
  check(len > 0);
  check(memchr(name, '/', len) == NULL && memchr(name, '\0', len) == NULL);
  check(!(name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))));
}

int csb_fuzz_glob_cache_one(const uint8_t *data, size_t size) {
  if (size > ((size_t)1 << 20)) return 0;
  unsigned char *buf = malloc(size + 8);
  check(buf != NULL);
  if (size) memcpy(buf, data, size);
  memset(buf + size, 0, 8);
  gc_seal(buf, size + 8);
  char *key = NULL;
  size_t key_len = 0;
  uint32_t kn;
  if (size >= 12) {
    memcpy(&kn, buf + 8, 4);
    if (kn <= size - 12) {
      key_len = kn;
      key = malloc(key_len + 1);
      check(key != NULL);
      memcpy(key, buf + 12, key_len);
    }
  }
  if (!key) {
    key = strdup("k");
    check(key != NULL);
    key_len = 1;
  }
  gc_file f;
  if (!gc_parse(buf, size + 8, key, key_len, &f)) {
    free(buf);
    free(key);
    return 0;
  }
  gc_slice *sl = calloc(f.nrec + 1, sizeof *sl);
  check(sl != NULL);
  for (size_t i = 0; i < f.nrec; i++) {
    const gc_rec *r = &f.recs[i];
    check(gc_find(&f, r->rel, r->rel_len) == r);
    const unsigned char *p = r->matches;
    for (uint32_t k = 0; k < r->nmatch; k++) {
      size_t len;
      unsigned char type;
      const char *name = gc_next_match(&p, &len, &type);
      check_name(name, len);
    }
    check(p == r->children - 4);
    p = r->children;
    for (uint32_t k = 0; k < r->nchild; k++) {
      size_t len;
      const char *name = gc_next_child(&p, &len);
      check_name(name, len);
    }
    check(p == r->raw + r->raw_len);
    sl[i] = (gc_slice){r->raw, r->raw_len, r->rel, r->rel_len};
  }
  csb_buf again;
  gc_encode(key, key_len, sl, f.nrec, &again);
  check(again.len == f.len && memcmp(again.data, f.data, f.len) == 0);
  csb_buf_free(&again);
  free(sl);
  free(key);
  gc_file_free(&f);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return csb_fuzz_glob_cache_one(data, size);
}
#endif
