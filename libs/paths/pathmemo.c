/* pathmemo.c - csb_path_memo: a hash map from a path to what lstat(2) and
 * readlink(2) said about it (pathmemo.h), for one piece of work. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "pathmemo.h"

typedef struct memo_ent {
  uint32_t name; /* offset of the path in `names` (NUL-terminated) */
  uint32_t len;
  uint32_t hash;
  csb_path_memo_rec rec;
} memo_ent;

struct csb_path_memo {
  memo_ent *ents; /* in the order they were added */
  size_t n, cap;
  uint32_t *slots; /* open addressing, linear probing: entry + 1, 0 empty */
  size_t nslots;   /* a power of two, at least twice n */
  csb_buf names;
};

#define MEMO_MIN_SLOTS 256

csb_path_memo *csb_path_memo_new(void) {
  csb_path_memo *m = csb_xcalloc(1, sizeof(*m));
  m->nslots = MEMO_MIN_SLOTS;
  m->slots = csb_xcalloc(m->nslots, sizeof(*m->slots));
  csb_buf_init(&m->names);
  return m;
}

static void free_records(csb_path_memo *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->ents[i].rec.link);
    free(m->ents[i].rec.effective);
    free(m->ents[i].rec.st);
  }
}

void csb_path_memo_free(csb_path_memo *m) {
  if (m == NULL) return;
  free_records(m);
  free(m->ents);
  free(m->slots);
  csb_buf_free(&m->names);
  free(m);
}

void csb_path_memo_clear(csb_path_memo *m) {
  if (m == NULL) return;
  free_records(m);
  m->n = 0;
  memset(m->slots, 0, m->nslots * sizeof(*m->slots));
  csb_buf_reset(&m->names);
}

static uint32_t hash_bytes(const char *s, size_t n) { return (uint32_t)csb_hash64(s, n, 0); }

static void slot_insert(uint32_t *slots, size_t nslots, uint32_t hash, size_t ent) {
  size_t i = hash & (nslots - 1);
  while (slots[i] != 0) i = (i + 1) & (nslots - 1);
  slots[i] = (uint32_t)ent + 1;
}

csb_path_memo_rec *csb_path_memo_rec_of(csb_path_memo *m, const char *path) {
  size_t len = strlen(path);
  uint32_t hash = hash_bytes(path, len);
  for (size_t i = hash & (m->nslots - 1); m->slots[i] != 0; i = (i + 1) & (m->nslots - 1)) {
    memo_ent *e = &m->ents[m->slots[i] - 1];
    if (e->hash == hash && e->len == len && memcmp(m->names.data + e->name, path, len) == 0)
      return &e->rec;
  }
  if (len >= UINT32_MAX || m->names.len >= UINT32_MAX - len - 1 || m->n >= UINT32_MAX / 2)
    csb_oom();
  if (2 * (m->n + 1) > m->nslots) {
    /* At most half full, so that probes stay short. */
    free(m->slots);
    m->nslots *= 2;
    m->slots = csb_xcalloc(m->nslots, sizeof(*m->slots));
    for (size_t k = 0; k < m->n; k++) slot_insert(m->slots, m->nslots, m->ents[k].hash, k);
  }
  m->ents = csb_xgrow(m->ents, &m->cap, m->n + 1, sizeof(*m->ents));
  memo_ent *e = &m->ents[m->n];
  memset(e, 0, sizeof(*e));
  e->name = (uint32_t)m->names.len;
  e->len = (uint32_t)len;
  e->hash = hash;
  csb_buf_append(&m->names, path, len + 1);
  slot_insert(m->slots, m->nslots, hash, m->n);
  m->n++;
  return &e->rec;
}
