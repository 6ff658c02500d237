/* index.c - the domain rules of a finished policy by name, so that a host
 * check costs the same with 10 rules as with 100,000.
 *
 * A rule without wildcards is found by its name, `*.S` and `**.S` (S
 * without wildcards) by S: one hash table holds every such name with
 * flags saying which rules of which list name it. A host is looked up as
 * a whole and at every suffix that follows a dot (not its first byte), in
 * one pass from its end: the hash of a suffix is the hash of the suffix
 * one byte shorter taken one byte further, so all of them together cost
 * one walk over the host. Rules with other wildcards (`*`, `a*.b`,
 * `[ab].c`, `*.*.d`, ...) are kept in a list per allow/deny and matched
 * one by one, as before.
 *
 * What counts as a match is exactly what the linear scan in netpolicy.c
 * decides; the index only finds the rules that can match faster. The
 * scan, kept as the reference, says why each kind is what it is. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "netpolicy_internal.h"

/* What a name stands for in one list (shifted by LIST_SHIFT for deny). */
enum {
  K_EXACT = 1u << 0, /* an allow/deny rule without wildcards names it */
  K_SUB = 1u << 1,   /* `*.NAME`: what follows a dot of the host */
  K_SELF = 1u << 2,  /* `**.NAME`: the host, or what follows a dot */
  K_IPKEY = 1u << 3, /* an unscoped IP literal rule whose ip_key it is */
};
#define LIST_SHIFT 4
#define IN_LIST(kinds, deny) ((unsigned)(kinds) << ((deny) ? LIST_SHIFT : 0))
/* exact_allowlisted: an allow rule without wildcards and without an IPv6
 * scope names it (as the scan compares the host without its scope; for a
 * valid host that is an unscoped IP literal, which the address also finds)
 * / an allow IP literal rule (unscoped, or IPv4) has the address that
 * csb_netpolicy_addr_str prints as it. */
#define F_ALLOW_UNSCOPED (1u << (2 * LIST_SHIFT))
#define F_ALLOW_ADDR (1u << (2 * LIST_SHIFT + 1))

typedef struct entry {
  uint64_t hash;
  size_t off; /* the name: arena + off, NUL-terminated */
  size_t len;
  unsigned flags;
} entry;

struct np_index {
  char *arena;       /* every name and general pattern, NUL-terminated */
  entry *entries;
  size_t n_entries;
  uint32_t *slots;   /* open addressing: 1 + an entries index, 0 empty */
  size_t mask;       /* slots - 1 (a power of two, at least twice the entries) */
  const char **general[2]; /* the other patterns of allow [0] and deny [1] */
  size_t n_general[2];
};

/* FNV-1a over the lower-cased bytes, taken from the last to the first. */
#define HASH_BASIS 0xcbf29ce484222325ull
static uint64_t hash_step(uint64_t h, char c) {
  return (h ^ (unsigned char)tolower((unsigned char)c)) * 0x100000001b3ull;
}

static uint64_t hash_name(const char *s, size_t n) {
  uint64_t h = HASH_BASIS;
  while (n-- > 0) h = hash_step(h, s[n]);
  return h;
}

static size_t slot_of(const np_index *ix, uint64_t h) {
  return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & ix->mask;
}

/* As the glob of a wildcard-free pattern compares: byte by byte, both
 * sides lower-cased. */
static int same_name(const char *name, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)name[i]) != tolower((unsigned char)s[i])) return 0;
  return 1;
}

static const entry *find(const np_index *ix, uint64_t h, const char *s, size_t n) {
  for (size_t i = slot_of(ix, h);; i = (i + 1) & ix->mask) {
    uint32_t e = ix->slots[i];
    if (e == 0) return NULL;
    const entry *en = &ix->entries[e - 1];
    if (en->hash == h && en->len == n && same_name(ix->arena + en->off, s, n)) return en;
  }
}

/* ---- building ---------------------------------------------------------------- */

typedef struct builder {
  np_index *ix;
  csb_buf arena;
  size_t cap_entries;
} builder;

static size_t put_text(builder *b, const char *s) {
  size_t off = b->arena.len;
  csb_buf_append(&b->arena, s, strlen(s) + 1);
  return off;
}

/* Adds `flags` to the entry of `name` (a new one when there is none). */
static void add_name(builder *b, const char *name, unsigned flags) {
  np_index *ix = b->ix;
  size_t n = strlen(name);
  uint64_t h = hash_name(name, n);
  size_t i = slot_of(ix, h);
  for (; ix->slots[i]; i = (i + 1) & ix->mask) {
    entry *en = &ix->entries[ix->slots[i] - 1];
    if (en->hash == h && en->len == n && same_name(b->arena.data + en->off, name, n)) {
      en->flags |= flags;
      return;
    }
  }
  ix->entries = csb_xgrow(ix->entries, &b->cap_entries, ix->n_entries + 1, sizeof *ix->entries);
  ix->entries[ix->n_entries] = (entry){h, put_text(b, name), n, flags};
  ix->slots[i] = (uint32_t)++ix->n_entries;
}

static void add_general(np_index *ix, size_t *offs[2], int deny, size_t off) {
  offs[deny][ix->n_general[deny]++] = off;
}

np_index *np_index_new(const csb_netpolicy_domain *domains, size_t n) {
  /* a rule adds its name, and an IP literal its ip_key and its address */
  size_t names = n;
  for (size_t i = 0; i < n; i++) names += domains[i].is_ip ? 2 : 0;
  if (names >= UINT32_MAX / 2) return NULL; /* the slots hold 32-bit entry numbers */
  np_index *ix = csb_xcalloc(1, sizeof *ix);
  size_t slots = 16;
  while (slots < 2 * names) slots *= 2;
  ix->slots = csb_xcalloc(slots, sizeof *ix->slots);
  ix->mask = slots - 1;
  builder b = {ix, {0}, 0};
  csb_buf_init(&b.arena);
  size_t *general_off[2] = {csb_xcalloc(n + 1, sizeof(size_t)), csb_xcalloc(n + 1, sizeof(size_t))};
  for (size_t i = 0; i < n; i++) {
    const csb_netpolicy_domain *d = &domains[i];
    const char *p = d->pattern;
    int deny = d->deny != 0;
    if (strncmp(p, "**.", 3) == 0 && np_pattern_is_exact(p + 3)) {
      add_name(&b, p + 3, IN_LIST(K_SELF, deny));
    } else if (strncmp(p, "*.", 2) == 0 && np_pattern_is_exact(p + 2)) {
      add_name(&b, p + 2, IN_LIST(K_SUB, deny));
    } else if (np_pattern_is_exact(p)) {
      unsigned flags = IN_LIST(K_EXACT, deny);
      char pu[256];
      np_strip_scope(p, pu, sizeof pu);
      if (!deny && strcmp(p, pu) == 0) flags |= F_ALLOW_UNSCOPED;
      add_name(&b, p, flags);
      if (!deny && d->is_ip && (d->addr.ss_family == AF_INET || !d->scoped)) {
        char addr[64];
        add_name(&b, csb_netpolicy_addr_str((const struct sockaddr *)&d->addr, addr, sizeof addr), F_ALLOW_ADDR);
      }
    } else {
      add_general(ix, general_off, deny, put_text(&b, p));
    }
    if (d->is_ip && !d->scoped) add_name(&b, d->ip_key, IN_LIST(K_IPKEY, deny));
  }
  ix->arena = csb_buf_steal(&b.arena);
  for (int l = 0; l < 2; l++) {
    ix->general[l] = csb_xcalloc(ix->n_general[l] + 1, sizeof *ix->general[l]);
    for (size_t k = 0; k < ix->n_general[l]; k++) ix->general[l][k] = ix->arena + general_off[l][k];
    free(general_off[l]);
  }
  return ix;
}

void np_index_free(np_index *ix) {
  if (!ix) return;
  free(ix->arena);
  free(ix->entries);
  free(ix->slots);
  free(ix->general[0]);
  free(ix->general[1]);
  free(ix);
}

/* ---- lookups ------------------------------------------------------------------- */

/* The entry of `s` when it names `s` with exactly its bytes (names of
 * rules are lower case, so no other entry can). */
static const entry *find_cased(const np_index *ix, const char *s) {
  size_t n = strlen(s);
  const entry *en = find(ix, hash_name(s, n), s, n);
  return en && memcmp(ix->arena + en->off, s, n) == 0 ? en : NULL;
}

/* 1 when the entry of all of `s` has one of `whole`, or the entry of what
 * follows one of its dots (not its first byte) one of `sub`. */
static int walk(const np_index *ix, const char *s, unsigned whole, unsigned sub) {
  size_t n = strlen(s);
  uint64_t h = HASH_BASIS; /* of s[i + 1, n) */
  for (size_t i = n; i-- > 0;) {
    if (s[i] == '.' && i > 0) {
      const entry *en = find(ix, h, s + i + 1, n - i - 1);
      if (en && (en->flags & sub)) return 1;
    }
    h = hash_step(h, s[i]);
  }
  const entry *en = find(ix, h, s, n);
  return en && (en->flags & whole);
}

static int one_matches(const np_index *ix, const char *s, int deny) {
  if (walk(ix, s, IN_LIST(K_EXACT | K_SELF, deny), IN_LIST(K_SUB | K_SELF, deny))) return 1;
  for (size_t k = 0; k < ix->n_general[deny]; k++)
    if (csb_netpolicy_pattern_matches(ix->general[deny][k], s)) return 1;
  return 0;
}

int np_index_list_matches(const np_index *ix, const char *host, const char *unscoped, const char *key,
                          int deny) {
  deny = deny != 0;
  if (one_matches(ix, host, deny)) return 1;
  if (unscoped && one_matches(ix, unscoped, deny)) return 1;
  if (!key) return 0;
  if (one_matches(ix, key, deny)) return 1;
  const entry *en = find_cased(ix, key);
  return en && (en->flags & IN_LIST(K_IPKEY, deny));
}

int np_index_exact_allowlisted(const np_index *ix, const char *host, const char *unscoped,
                               const struct sockaddr_storage *ha) {
  const entry *en = find_cased(ix, host);
  if (en && (en->flags & IN_LIST(K_EXACT, 0))) return 1;
  en = find_cased(ix, unscoped);
  if (en && (en->flags & F_ALLOW_UNSCOPED)) return 1;
  if (!ha) return 0;
  char addr[64];
  csb_netpolicy_addr_str((const struct sockaddr *)ha, addr, sizeof addr);
  en = find(ix, hash_name(addr, strlen(addr)), addr, strlen(addr));
  return en && (en->flags & F_ALLOW_ADDR);
}
