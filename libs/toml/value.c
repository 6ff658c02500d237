/* value.c - the TOML value tree: construction, accessors, tables with an
 * insertion-ordered entry list plus a hash index, arrays, clone, equality
 * and merge. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

/* Tables up to this many keys are searched linearly. */
#define CSB_TOML_INDEX_MIN 8

/* FNV-1a over the key, started from a per-table seed and finished with a
 * full avalanche so that every bit of the slot index depends on the seed:
 * keys crafted to collide in one table do not collide in another. */
static uint32_t key_hash(uint32_t seed, const char *s, size_t n) {
  uint32_t h = 2166136261u ^ seed;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* The seed comes from the table's (ASLR-randomised) address. */
static csb_toml_table *table_alloc(void) {
  csb_toml_table *t = csb_xcalloc(1, sizeof *t);
  uint64_t a = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ull;
  t->seed = (uint32_t)(a >> 32);
  return t;
}

csb_toml_value *csb_toml_i_new(csb_toml_kind kind) {
  csb_toml_value *v = csb_xcalloc(1, sizeof *v);
  v->kind = (uint8_t)kind;
  if (kind == CSB_TOML_TABLE) v->u.tab = table_alloc();
  if (kind >= CSB_TOML_DATETIME) v->u.dt = csb_xcalloc(1, sizeof *v->u.dt);
  return v;
}

/* ---- free ---------------------------------------------------------------- */

static void table_free(csb_toml_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->len; i++) {
    free(t->ents[i].key);
    csb_toml_value_free(t->ents[i].val);
  }
  free(t->ents);
  free(t->slots);
  free(t);
}

void csb_toml_value_free(csb_toml_value *v) {
  if (!v) return;
  switch ((csb_toml_kind)v->kind) {
    case CSB_TOML_TABLE:
      table_free(v->u.tab);
      break;
    case CSB_TOML_ARRAY:
      for (size_t i = 0; i < v->u.arr.len; i++) csb_toml_value_free(v->u.arr.items[i]);
      free(v->u.arr.items);
      break;
    case CSB_TOML_STRING:
      free(v->u.str.s);
      break;
    case CSB_TOML_FLOAT:
      free(v->u.f.text);
      break;
    case CSB_TOML_DATETIME:
    case CSB_TOML_DATETIME_LOCAL:
    case CSB_TOML_DATE_LOCAL:
    case CSB_TOML_TIME_LOCAL:
      free(v->u.dt);
      break;
    case CSB_TOML_INTEGER:
    case CSB_TOML_BOOL:
      break;
  }
  free(v);
}

/* ---- generic accessors ---------------------------------------------------- */

csb_toml_kind csb_toml_value_kind(const csb_toml_value *v) {
  return v ? (csb_toml_kind)v->kind : (csb_toml_kind)0;
}

const char *csb_toml_kind_name(csb_toml_kind kind) {
  switch (kind) {
    case CSB_TOML_TABLE: return "table";
    case CSB_TOML_ARRAY: return "array";
    case CSB_TOML_STRING: return "string";
    case CSB_TOML_INTEGER: return "integer";
    case CSB_TOML_FLOAT: return "float";
    case CSB_TOML_BOOL: return "bool";
    case CSB_TOML_DATETIME: return "datetime";
    case CSB_TOML_DATETIME_LOCAL: return "datetime-local";
    case CSB_TOML_DATE_LOCAL: return "date-local";
    case CSB_TOML_TIME_LOCAL: return "time-local";
  }
  return "invalid";
}

csb_toml_pos csb_toml_value_pos(const csb_toml_value *v) {
  csb_toml_pos zero = {0, 0, 0, 0, 0};
  return v ? v->pos : zero;
}

void csb_toml_value_set_pos(csb_toml_value *v, const csb_toml_pos *pos) {
  if (v && pos) v->pos = *pos;
}

void csb_toml_set_source(csb_toml_value *v, int source) {
  if (!v) return;
  v->pos.source = source;
  if (v->kind == CSB_TOML_TABLE) {
    csb_toml_table *t = v->u.tab;
    for (size_t i = 0; i < t->len; i++) {
      t->ents[i].key_pos.source = source;
      csb_toml_set_source(t->ents[i].val, source);
    }
  } else if (v->kind == CSB_TOML_ARRAY) {
    for (size_t i = 0; i < v->u.arr.len; i++) csb_toml_set_source(v->u.arr.items[i], source);
  }
}

/* ---- scalars ----------------------------------------------------------------- */

csb_toml_value *csb_toml_i_string_take(char *s, size_t len) {
  csb_toml_value *v = csb_toml_i_new(CSB_TOML_STRING);
  v->u.str.s = s;
  v->u.str.len = len;
  return v;
}

csb_toml_value *csb_toml_string_newn(const char *s, size_t len) {
  char *p = csb_xmalloc(len + 1);
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return csb_toml_i_string_take(p, len);
}

csb_toml_value *csb_toml_string_new(const char *s) {
  return csb_toml_string_newn(s, strlen(s));
}

csb_toml_value *csb_toml_int_new(int64_t i) {
  csb_toml_value *v = csb_toml_i_new(CSB_TOML_INTEGER);
  v->u.i = i;
  return v;
}

csb_toml_value *csb_toml_i_float_take(double d, char *text) {
  csb_toml_value *v = csb_toml_i_new(CSB_TOML_FLOAT);
  v->u.f.d = d;
  v->u.f.text = text;
  return v;
}

/* Shortest %g text that reads back to d, always with a '.', 'e', "inf" or
 * "nan" so that it reads back as a TOML float. */
static char *float_format(double d) {
  if (isnan(d)) return csb_xstrdup("nan");
  if (isinf(d)) return csb_xstrdup(d < 0 ? "-inf" : "inf");
  char buf[64];
  /* Enough significant digits for the integer part, so that %g does not
   * switch to an exponent for numbers below 1e17 ("100.0", not "1e+02"). */
  int min_prec = 1;
  if (fabs(d) < 1e17)
    for (double a = fabs(d); a >= 10; a /= 10) min_prec++;
  for (int prec = min_prec; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  /* "1e+20" is valid TOML as is; "100" needs a fraction. */
  if (!strpbrk(buf, ".e")) {
    size_t n = strlen(buf);
    memcpy(buf + n, ".0", 3);
  }
  return csb_xstrdup(buf);
}

csb_toml_value *csb_toml_float_new(double d) {
  return csb_toml_i_float_take(d, float_format(d));
}

csb_toml_value *csb_toml_bool_new(int b) {
  csb_toml_value *v = csb_toml_i_new(CSB_TOML_BOOL);
  v->u.b = b ? 1 : 0;
  return v;
}

csb_toml_value *csb_toml_datetime_new(const csb_toml_datetime *dt,
                                      csb_error *err) {
  const char *msg = csb_toml_i_datetime_check(dt);
  if (msg) {
    csb_error_set(err, "%s", msg);
    return NULL;
  }
  csb_toml_value *v = csb_toml_i_new(csb_toml_i_datetime_kind(dt));
  v->u.dt->dt = *dt;
  csb_toml_i_datetime_format(dt, v->u.dt->text);
  return v;
}

const char *csb_toml_as_string(const csb_toml_value *v, size_t *len_out) {
  if (!v || v->kind != CSB_TOML_STRING) return NULL;
  if (len_out) *len_out = v->u.str.len;
  return v->u.str.s;
}

int csb_toml_as_int(const csb_toml_value *v, int64_t *out) {
  if (!v || v->kind != CSB_TOML_INTEGER) return 0;
  if (out) *out = v->u.i;
  return 1;
}

int csb_toml_as_double(const csb_toml_value *v, double *out) {
  if (!v || v->kind != CSB_TOML_FLOAT) return 0;
  if (out) *out = v->u.f.d;
  return 1;
}

int csb_toml_as_bool(const csb_toml_value *v, int *out) {
  if (!v || v->kind != CSB_TOML_BOOL) return 0;
  if (out) *out = v->u.b;
  return 1;
}

static int is_datetime_kind(const csb_toml_value *v) {
  return v && v->kind >= CSB_TOML_DATETIME && v->kind <= CSB_TOML_TIME_LOCAL;
}

int csb_toml_as_datetime(const csb_toml_value *v, csb_toml_datetime *out) {
  if (!is_datetime_kind(v)) return 0;
  if (out) *out = v->u.dt->dt;
  return 1;
}

const char *csb_toml_datetime_text(const csb_toml_value *v) {
  return is_datetime_kind(v) ? v->u.dt->text : NULL;
}

const char *csb_toml_float_text(const csb_toml_value *v) {
  return v && v->kind == CSB_TOML_FLOAT ? v->u.f.text : NULL;
}

/* ---- tables ------------------------------------------------------------------ */

csb_toml_value *csb_toml_table_new(void) { return csb_toml_i_new(CSB_TOML_TABLE); }

static const csb_toml_table *as_table(const csb_toml_value *t) {
  return t && t->kind == CSB_TOML_TABLE ? t->u.tab : NULL;
}

static void index_insert(csb_toml_table *t, size_t i) {
  size_t mask = t->nslots - 1;
  size_t s = t->ents[i].hash & mask;
  while (t->slots[s]) s = (s + 1) & mask;
  t->slots[s] = (uint32_t)(i + 1);
}

static void index_rebuild(csb_toml_table *t) {
  free(t->slots);
  t->slots = NULL;
  t->nslots = 0;
  if (t->len < CSB_TOML_INDEX_MIN || t->len >= UINT32_MAX / 4) return;
  size_t n = 16;
  while (n < t->len * 2) n *= 2;
  t->slots = csb_xcalloc(n, sizeof *t->slots);
  t->nslots = n;
  for (size_t i = 0; i < t->len; i++) index_insert(t, i);
}

size_t csb_toml_i_find(const csb_toml_table *t, const char *key, size_t len) {
  if (t->slots) {
    uint32_t h = key_hash(t->seed, key, len);
    size_t mask = t->nslots - 1;
    for (size_t s = h & mask; t->slots[s]; s = (s + 1) & mask) {
      const csb_toml_entry *e = &t->ents[t->slots[s] - 1];
      if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
        return t->slots[s] - 1;
    }
    return (size_t)-1;
  }
  for (size_t i = 0; i < t->len; i++) {
    const csb_toml_entry *e = &t->ents[i];
    if (e->key_len == len && memcmp(e->key, key, len) == 0) return i;
  }
  return (size_t)-1;
}

csb_toml_entry *csb_toml_i_append(csb_toml_value *tv, char *key, size_t len,
                                  csb_toml_value *v) {
  csb_toml_table *t = tv->u.tab;
  /* Most tables hold a few keys: start with room for two, not eight. */
  if (t->cap == 0) {
    t->ents = csb_xmalloc(2 * sizeof *t->ents);
    t->cap = 2;
  }
  t->ents = csb_xgrow(t->ents, &t->cap, t->len + 1, sizeof *t->ents);
  csb_toml_entry *e = &t->ents[t->len];
  memset(e, 0, sizeof *e);
  e->key = key;
  e->key_len = len;
  e->hash = key_hash(t->seed, key, len);
  e->val = v;
  t->len++;
  if (t->slots && t->len * 2 <= t->nslots)
    index_insert(t, t->len - 1);
  else if (t->len >= CSB_TOML_INDEX_MIN)
    index_rebuild(t);
  return &t->ents[t->len - 1];
}

size_t csb_toml_table_len(const csb_toml_value *t) {
  const csb_toml_table *tab = as_table(t);
  return tab ? tab->len : 0;
}

const char *csb_toml_table_key_at(const csb_toml_value *t, size_t i,
                                  size_t *len_out) {
  const csb_toml_table *tab = as_table(t);
  if (!tab || i >= tab->len) return NULL;
  if (len_out) *len_out = tab->ents[i].key_len;
  return tab->ents[i].key;
}

csb_toml_value *csb_toml_table_value_at(const csb_toml_value *t, size_t i) {
  const csb_toml_table *tab = as_table(t);
  return tab && i < tab->len ? tab->ents[i].val : NULL;
}

csb_toml_pos csb_toml_table_key_pos_at(const csb_toml_value *t, size_t i) {
  const csb_toml_table *tab = as_table(t);
  csb_toml_pos zero = {0, 0, 0, 0, 0};
  return tab && i < tab->len ? tab->ents[i].key_pos : zero;
}

void csb_toml_table_set_key_pos_at(csb_toml_value *t, size_t i,
                                   const csb_toml_pos *pos) {
  if (as_table(t) && i < t->u.tab->len && pos) t->u.tab->ents[i].key_pos = *pos;
}

int csb_toml_table_find(const csb_toml_value *t, const char *key, size_t len,
                        size_t *index_out) {
  const csb_toml_table *tab = as_table(t);
  if (!tab) return 0;
  size_t i = csb_toml_i_find(tab, key, len);
  if (i == (size_t)-1) return 0;
  if (index_out) *index_out = i;
  return 1;
}

csb_toml_value *csb_toml_table_getn(const csb_toml_value *t, const char *key,
                                    size_t len) {
  size_t i;
  return csb_toml_table_find(t, key, len, &i) ? t->u.tab->ents[i].val : NULL;
}

csb_toml_value *csb_toml_table_get(const csb_toml_value *t, const char *key) {
  return csb_toml_table_getn(t, key, strlen(key));
}

int csb_toml_table_setn(csb_toml_value *t, const char *key, size_t len,
                        csb_toml_value *v) {
  if (!as_table(t)) {
    csb_toml_value_free(v);
    return 0;
  }
  size_t i = csb_toml_i_find(t->u.tab, key, len);
  if (i != (size_t)-1) {
    csb_toml_entry *e = &t->u.tab->ents[i];
    if (e->val != v) csb_toml_value_free(e->val);
    e->val = v;
    return 1;
  }
  char *k = csb_xmalloc(len + 1);
  if (len) memcpy(k, key, len);
  k[len] = '\0';
  csb_toml_i_append(t, k, len, v);
  return 1;
}

int csb_toml_table_set(csb_toml_value *t, const char *key, csb_toml_value *v) {
  return csb_toml_table_setn(t, key, strlen(key), v);
}

/* Removes entry i from the hash index (backward-shift deletion, so no
 * tombstones are needed) and renumbers the entries that follow it. */
static void index_remove(csb_toml_table *t, size_t i) {
  size_t mask = t->nslots - 1;
  size_t s = t->ents[i].hash & mask;
  while (t->slots[s] != i + 1) s = (s + 1) & mask;
  t->slots[s] = 0;
  for (size_t j = (s + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
    size_t home = t->ents[t->slots[j] - 1].hash & mask;
    /* The entry at j may move into the hole at s unless its home slot
     * lies cyclically in (s, j]. */
    int stays = s < j ? (home > s && home <= j) : (home > s || home <= j);
    if (!stays) {
      t->slots[s] = t->slots[j];
      t->slots[j] = 0;
      s = j;
    }
  }
  for (size_t k = 0; k < t->nslots; k++)
    if (t->slots[k] > i + 1) t->slots[k]--;
}

csb_toml_value *csb_toml_table_take(csb_toml_value *t, const char *key,
                                    size_t len) {
  size_t i;
  if (!csb_toml_table_find(t, key, len, &i)) return NULL;
  csb_toml_table *tab = t->u.tab;
  csb_toml_value *v = tab->ents[i].val;
  if (tab->slots) index_remove(tab, i);
  free(tab->ents[i].key);
  memmove(&tab->ents[i], &tab->ents[i + 1], (tab->len - i - 1) * sizeof *tab->ents);
  tab->len--;
  if (tab->len < CSB_TOML_INDEX_MIN) index_rebuild(tab);
  return v;
}

int csb_toml_table_remove(csb_toml_value *t, const char *key) {
  size_t i;
  if (!csb_toml_table_find(t, key, strlen(key), &i)) return 0;
  csb_toml_value_free(csb_toml_table_take(t, key, strlen(key)));
  return 1;
}

/* ---- arrays ------------------------------------------------------------------ */

csb_toml_value *csb_toml_array_new(void) { return csb_toml_i_new(CSB_TOML_ARRAY); }

size_t csb_toml_array_len(const csb_toml_value *a) {
  return a && a->kind == CSB_TOML_ARRAY ? a->u.arr.len : 0;
}

csb_toml_value *csb_toml_array_at(const csb_toml_value *a, size_t i) {
  return i < csb_toml_array_len(a) ? a->u.arr.items[i] : NULL;
}

int csb_toml_array_push(csb_toml_value *a, csb_toml_value *v) {
  if (!a || a->kind != CSB_TOML_ARRAY) {
    csb_toml_value_free(v);
    return 0;
  }
  a->u.arr.items = csb_xgrow(a->u.arr.items, &a->u.arr.cap, a->u.arr.len + 1,
                             sizeof *a->u.arr.items);
  a->u.arr.items[a->u.arr.len++] = v;
  return 1;
}

int csb_toml_array_set(csb_toml_value *a, size_t i, csb_toml_value *v) {
  if (i >= csb_toml_array_len(a)) {
    csb_toml_value_free(v);
    return 0;
  }
  if (a->u.arr.items[i] != v) csb_toml_value_free(a->u.arr.items[i]);
  a->u.arr.items[i] = v;
  return 1;
}

int csb_toml_array_remove(csb_toml_value *a, size_t i) {
  size_t n = csb_toml_array_len(a);
  if (i >= n) return 0;
  csb_toml_value_free(a->u.arr.items[i]);
  memmove(&a->u.arr.items[i], &a->u.arr.items[i + 1],
          (n - i - 1) * sizeof *a->u.arr.items);
  a->u.arr.len--;
  return 1;
}

int csb_toml_array_is_table_array(const csb_toml_value *a) {
  return a && a->kind == CSB_TOML_ARRAY && (a->flags & CSB_TOML_F_AOT) != 0;
}

/* ---- clone / equal / merge ------------------------------------------------------- */

csb_toml_value *csb_toml_clone(const csb_toml_value *v) {
  if (!v) return NULL;
  csb_toml_value *c = csb_xmalloc(sizeof *c);
  *c = *v;
  switch ((csb_toml_kind)v->kind) {
    case CSB_TOML_TABLE: {
      const csb_toml_table *t = v->u.tab;
      csb_toml_table *n = table_alloc();
      if (t->len) {
        n->ents = csb_xmalloc(t->len * sizeof *n->ents);
        n->cap = t->len;
      }
      for (size_t i = 0; i < t->len; i++) {
        n->ents[i] = t->ents[i];
        n->ents[i].hash = key_hash(n->seed, t->ents[i].key, t->ents[i].key_len);
        n->ents[i].key = csb_xmalloc(t->ents[i].key_len + 1);
        memcpy(n->ents[i].key, t->ents[i].key, t->ents[i].key_len + 1);
        n->ents[i].val = csb_toml_clone(t->ents[i].val);
      }
      n->len = t->len;
      index_rebuild(n);
      c->u.tab = n;
      break;
    }
    case CSB_TOML_ARRAY:
      c->u.arr.items = NULL;
      c->u.arr.cap = 0;
      if (v->u.arr.len) {
        c->u.arr.items = csb_xmalloc(v->u.arr.len * sizeof *c->u.arr.items);
        c->u.arr.cap = v->u.arr.len;
      }
      for (size_t i = 0; i < v->u.arr.len; i++)
        c->u.arr.items[i] = csb_toml_clone(v->u.arr.items[i]);
      break;
    case CSB_TOML_STRING:
      c->u.str.s = csb_xmalloc(v->u.str.len + 1);
      memcpy(c->u.str.s, v->u.str.s, v->u.str.len + 1);
      break;
    case CSB_TOML_FLOAT:
      c->u.f.text = csb_xstrdup(v->u.f.text);
      break;
    case CSB_TOML_DATETIME:
    case CSB_TOML_DATETIME_LOCAL:
    case CSB_TOML_DATE_LOCAL:
    case CSB_TOML_TIME_LOCAL:
      c->u.dt = csb_xmalloc(sizeof *c->u.dt);
      *c->u.dt = *v->u.dt;
      break;
    case CSB_TOML_INTEGER:
    case CSB_TOML_BOOL:
      break;
  }
  return c;
}

int csb_toml_equal(const csb_toml_value *a, const csb_toml_value *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind) return 0;
  switch ((csb_toml_kind)a->kind) {
    case CSB_TOML_TABLE: {
      const csb_toml_table *ta = a->u.tab, *tb = b->u.tab;
      if (ta->len != tb->len) return 0;
      for (size_t i = 0; i < ta->len; i++) {
        size_t j = csb_toml_i_find(tb, ta->ents[i].key, ta->ents[i].key_len);
        if (j == (size_t)-1 || !csb_toml_equal(ta->ents[i].val, tb->ents[j].val))
          return 0;
      }
      return 1;
    }
    case CSB_TOML_ARRAY:
      if (a->u.arr.len != b->u.arr.len) return 0;
      for (size_t i = 0; i < a->u.arr.len; i++)
        if (!csb_toml_equal(a->u.arr.items[i], b->u.arr.items[i])) return 0;
      return 1;
    case CSB_TOML_STRING:
      return a->u.str.len == b->u.str.len &&
             memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case CSB_TOML_INTEGER:
      return a->u.i == b->u.i;
    case CSB_TOML_FLOAT:
      if (isnan(a->u.f.d) || isnan(b->u.f.d)) return isnan(a->u.f.d) && isnan(b->u.f.d);
      return a->u.f.d == b->u.f.d;
    case CSB_TOML_BOOL:
      return a->u.b == b->u.b;
    case CSB_TOML_DATETIME:
    case CSB_TOML_DATETIME_LOCAL:
    case CSB_TOML_DATE_LOCAL:
    case CSB_TOML_TIME_LOCAL: {
      const csb_toml_datetime *x = &a->u.dt->dt, *y = &b->u.dt->dt;
      return x->year == y->year && x->month == y->month && x->day == y->day &&
             x->hour == y->hour && x->minute == y->minute &&
             x->second == y->second && x->nanosecond == y->nanosecond &&
             x->offset_minutes == y->offset_minutes;
    }
  }
  return 0;
}

/* Consumes overlay's table entries into base. */
static void merge_tables(csb_toml_value *base, csb_toml_value *overlay) {
  csb_toml_table *o = overlay->u.tab;
  for (size_t i = 0; i < o->len; i++) {
    csb_toml_entry *oe = &o->ents[i];
    size_t j = csb_toml_i_find(base->u.tab, oe->key, oe->key_len);
    if (j == (size_t)-1) {
      csb_toml_entry *ne = csb_toml_i_append(base, oe->key, oe->key_len, oe->val);
      ne->key_pos = oe->key_pos;
      oe->key = NULL;
      oe->val = NULL;
      continue;
    }
    csb_toml_entry *be = &base->u.tab->ents[j];
    if (be->val->kind == CSB_TOML_TABLE && oe->val->kind == CSB_TOML_TABLE) {
      merge_tables(be->val, oe->val); /* consumes oe->val */
      oe->val = NULL;
    } else {
      csb_toml_value_free(be->val);
      be->val = oe->val;
      be->key_pos = oe->key_pos;
      oe->val = NULL;
    }
  }
  csb_toml_value_free(overlay);
}

int csb_toml_merge(csb_toml_value *base, csb_toml_value *overlay,
                   csb_error *err) {
  if (!as_table(base) || !as_table(overlay)) {
    csb_toml_value_free(overlay);
    return csb_error_set(err, "can only merge a table into a table");
  }
  if (base == overlay) return csb_error_set(err, "cannot merge a table into itself");
  merge_tables(base, overlay);
  return 1;
}
