/* text.c - locating chunks in a file and computing its new bytes.
 *
 * A file is split into lines on LF, CRLF and lone CR; each line remembers
 * its own ending. Chunks are located with the seek ladder; the located
 * ranges are split around the chunk's context lines so that context lines
 * keep their original bytes, and only the gaps are replaced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_patch.h"
#include "patch_internal.h"

enum { EOL_NONE = 0, EOL_LF = 1, EOL_CRLF = 2, EOL_CR = 3 };

static const char *const eol_bytes[] = {"", "\n", "\r\n", "\r"};
static const size_t eol_len[] = {0, 1, 2, 1};

typedef struct {
  csb_patch_line *lines;
  unsigned char *eol;
  size_t n;
} file_lines;

/* Line endings are found eight bytes at a time: eol_mask(w) has the high
 * bit set in the bytes of w that are LF or CR (and only in those). */
#define ONES 0x0101010101010101ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL

static inline uint64_t zero_bytes(uint64_t x) { return ~(((x & LOW7) + LOW7) | x | LOW7); }

static inline uint64_t eol_mask(uint64_t w) {
  return zero_bytes(w ^ (ONES * '\n')) | zero_bytes(w ^ (ONES * '\r'));
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
#define WORD_SCAN 1
#else
#define WORD_SCAN 0
#endif

/* Index of the first LF or CR at or after i, or len. */
static size_t next_eol(const char *s, size_t len, size_t i) {
#if WORD_SCAN
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, sizeof(w));
    uint64_t m = eol_mask(w);
    if (m) return i + (size_t)(__builtin_ctzll(m) >> 3);
  }
#endif
  for (; i < len; i++)
    if (s[i] == '\n' || s[i] == '\r') return i;
  return len;
}

/* Makes room for at least one more line in the scratch arrays. */
static void lines_grow(csb_patch_scratch *sc, size_t hint) {
  size_t c = sc->lines_cap ? sc->lines_cap * 2 : (hint > 256 ? hint : 256);
  if (c > SIZE_MAX / sizeof(*sc->lines)) csb_oom();
  sc->lines = csb_xrealloc(sc->lines, c * sizeof(*sc->lines));
  sc->eol = csb_xrealloc(sc->eol, c);
  sc->lines_cap = c;
}

/* Splits s into lines in one pass. The line arrays live in the scratch
 * space, reused (and grown) from call to call. */
static void split_file(const char *s, size_t len, file_lines *f, csb_patch_scratch *sc) {
  size_t n = 0, pos = 0;
  while (pos < len) {
    if (n == sc->lines_cap) lines_grow(sc, len / 32);
    size_t at = next_eol(s, len, pos);
    unsigned char e;
    size_t next;
    if (at == len) {
      e = EOL_NONE;
      next = len;
    } else if (s[at] == '\n') {
      e = EOL_LF;
      next = at + 1;
    } else if (at + 1 < len && s[at + 1] == '\n') {
      e = EOL_CRLF;
      next = at + 2;
    } else {
      e = EOL_CR;
      next = at + 1;
    }
    sc->lines[n] = (csb_patch_line){s + pos, at - pos};
    sc->eol[n] = e;
    n++;
    pos = next;
  }
  f->lines = sc->lines;
  f->eol = sc->eol;
  f->n = n;
}

/* ---- the seek ladder ------------------------------------------------------ */

/* Maps a code point for the normalised pass: dashes to '-', single quotes
 * to '\'', double quotes to '"', exotic spaces to ' '. */
static uint32_t norm_cp(uint32_t c) {
  if ((c >= 0x2010 && c <= 0x2015) || c == 0x2212) return '-';
  if (c >= 0x2018 && c <= 0x201B) return '\'';
  if (c >= 0x201C && c <= 0x201F) return '"';
  if (c == 0xA0 || (c >= 0x2002 && c <= 0x200A) || c == 0x202F || c == 0x205F ||
      c == 0x3000)
    return ' ';
  return c;
}

static int eq_exact(csb_patch_line a, csb_patch_line b) {
  return a.n == b.n && (a.n == 0 || memcmp(a.s, b.s, a.n) == 0);
}

static int eq_rtrim(csb_patch_line a, csb_patch_line b) {
  size_t an = csb_patch_rtrim_len(a.s, a.n), bn = csb_patch_rtrim_len(b.s, b.n);
  return an == bn && (an == 0 || memcmp(a.s, b.s, an) == 0);
}

static csb_patch_line trimmed(csb_patch_line a) {
  size_t off = csb_patch_ltrim_off(a.s, a.n);
  csb_patch_line r = {a.s + off, a.n - off};
  r.n = csb_patch_rtrim_len(r.s, r.n);
  return r;
}

static int eq_trim(csb_patch_line a, csb_patch_line b) {
  return eq_exact(trimmed(a), trimmed(b));
}

static int eq_norm(csb_patch_line a, csb_patch_line b) {
  a = trimmed(a);
  b = trimmed(b);
  const unsigned char *p = (const unsigned char *)a.s, *q = (const unsigned char *)b.s;
  size_t i = 0, j = 0;
  while (i < a.n && j < b.n) {
    if (p[i] < 0x80 && q[j] < 0x80) {
      if (p[i] != q[j]) return 0;
      i++;
      j++;
      continue;
    }
    uint32_t c1, c2;
    size_t k1 = csb_utf8_decode(a.s + i, a.n - i, &c1, NULL);
    size_t k2 = csb_utf8_decode(b.s + j, b.n - j, &c2, NULL);
    if (k1 == 0 || k2 == 0) {
      /* Invalid bytes stand for themselves. */
      if (k1 != k2 || p[i] != q[j]) return 0;
      k1 = k2 = 1;
    } else if (norm_cp(c1) != norm_cp(c2)) {
      return 0;
    }
    i += k1;
    j += k2;
  }
  return i == a.n && j == b.n;
}

typedef int (*eq_fn)(csb_patch_line, csb_patch_line);
static const eq_fn passes[] = {eq_exact, eq_rtrim, eq_trim, eq_norm};

/* 1 when pat matches at i under pass fn; -1 when the budget ran out. */
static int match_at(const csb_patch_line *lines, const csb_patch_line *pat, size_t n_pat,
                    size_t i, eq_fn fn, unsigned long long *budget) {
  for (size_t j = 0; j < n_pat; j++) {
    if (budget) {
      if (*budget == 0) return -1;
      (*budget)--;
    }
    if (!fn(lines[i + j], pat[j])) return 0;
  }
  return 1;
}

int csb_patch_seek(const csb_patch_line *lines, size_t n_lines,
                   const csb_patch_line *pat, size_t n_pat, size_t start, int eof,
                   size_t *at, unsigned long long *budget) {
  if (n_pat == 0) {
    *at = start;
    return 1;
  }
  if (n_pat > n_lines) return 0;
  size_t last = n_lines - n_pat;
  /* A chunk anchored at the end of the file matches there or nowhere. */
  if (eof) {
    if (last < start) return 0;
    for (size_t p = 0; p < CSB_ARRAY_LEN(passes); p++) {
      int r = match_at(lines, pat, n_pat, last, passes[p], budget);
      if (r < 0) return 0;
      if (r) {
        *at = last;
        return 1;
      }
    }
    return 0;
  }
  if (start > last) return 0;
  for (size_t p = 0; p < CSB_ARRAY_LEN(passes); p++) {
    for (size_t i = start; i <= last; i++) {
      int r = match_at(lines, pat, n_pat, i, passes[p], budget);
      if (r < 0) return 0;
      if (r) {
        *at = i;
        return 1;
      }
    }
  }
  return 0;
}

/* ---- an editable, indexed line sequence -------------------------------------
 *
 * A file updated by several hunks is kept between them as a sequence of
 * lines in blocks of at most DOC_BLOCK lines, so that a hunk costs what it
 * searches and changes instead of a split and a copy of the whole file.
 * For each pass of the ladder a block keeps, once a search needs them, a
 * hash of every line's key (the bytes the pass compares) and a Bloom
 * filter of those hashes: a search visits the blocks in order, skips those
 * whose filter rules the pattern's anchor line out and checks the
 * candidates of the others with the pass's own comparison, so the match
 * chosen is the one the plain ladder (csb_patch_seek) chooses. */

#define DOC_BLOCK 1024
#define BLOOM_WORDS 128 /* 8192 bits */
#define N_PASSES 4

typedef struct doc_block {
  csb_patch_line *l;
  unsigned char *eol;
  size_t n, cap;
  uint64_t *h[N_PASSES]; /* n hashes, then BLOOM_WORDS words; or NULL */
} doc_block;

struct csb_patch_doc {
  doc_block **b;
  size_t nb, cap;
  size_t *first;  /* index of each block's first line (when !stale) */
  size_t first_cap;
  int stale;
  size_t n;       /* lines */
  size_t bytes;   /* bytes of the contents */
  unsigned long long budget; /* line comparisons left for its hunks */
};

/* Work budget for one file: line comparisons across all chunks of its
 * first hunk, and across all chunks of all its later hunks together (the
 * doc's), so that a patch naming one file many times stops as soon. Test
 * builds may lower it (patch_budget_test). */
#ifdef CSB_PATCH_SEEK_BUDGET
#define SEEK_BUDGET ((unsigned long long)(CSB_PATCH_SEEK_BUDGET))
#else
#define SEEK_BUDGET 2000000000ULL
#endif

static uint64_t fmix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

static uint64_t fnv(uint64_t h, uint32_t v) { return (h ^ v) * 1099511628211ULL; }

/* A hash of a line's key under pass p: equal keys (the pass's eq_fn says
 * the lines match) give equal hashes. */
static uint64_t key_hash(csb_patch_line a, size_t p) {
  uint64_t h = 1469598103934665603ULL;
  if (p == 1) a.n = csb_patch_rtrim_len(a.s, a.n);
  if (p >= 2) a = trimmed(a);
  const unsigned char *s = (const unsigned char *)a.s;
  if (p < 3) {
    for (size_t i = 0; i < a.n; i++) h = fnv(h, s[i]);
    return fmix(h ^ a.n);
  }
  /* The tokens eq_norm compares: normalised code points, and invalid
   * bytes standing for themselves (outside the code point range). */
  size_t i = 0, k = 0;
  while (i < a.n) {
    uint32_t c = s[i];
    size_t len = 1;
    if (c >= 0x80) {
      len = csb_utf8_decode(a.s + i, a.n - i, &c, NULL);
      if (len == 0) {
        c = 0x110000u + s[i];
        len = 1;
      } else {
        c = norm_cp(c);
      }
    }
    h = fnv(h, c);
    i += len;
    k++;
  }
  return fmix(h ^ k);
}

static void bloom_set(uint64_t *bl, uint64_t h) {
  bl[(h & 8191) >> 6] |= 1ULL << (h & 63);
  bl[((h >> 13) & 8191) >> 6] |= 1ULL << ((h >> 13) & 63);
}

static int bloom_has(const uint64_t *bl, uint64_t h) {
  return (bl[(h & 8191) >> 6] >> (h & 63) & 1) && (bl[((h >> 13) & 8191) >> 6] >> ((h >> 13) & 63) & 1);
}

static void block_invalidate(doc_block *b) {
  for (size_t p = 0; p < N_PASSES; p++) {
    free(b->h[p]);
    b->h[p] = NULL;
  }
}

static const uint64_t *block_hashes(doc_block *b, size_t p) {
  if (!b->h[p]) {
    uint64_t *h = csb_xcalloc(b->n + BLOOM_WORDS, sizeof(uint64_t));
    for (size_t i = 0; i < b->n; i++) {
      h[i] = key_hash(b->l[i], p);
      bloom_set(h + b->n, h[i]);
    }
    b->h[p] = h;
  }
  return b->h[p];
}

static doc_block *block_new(size_t cap) {
  doc_block *b = csb_xcalloc(1, sizeof(*b));
  b->cap = cap ? cap : 1;
  b->l = csb_xmalloc(b->cap * sizeof(*b->l));
  b->eol = csb_xmalloc(b->cap);
  return b;
}

static void block_free(doc_block *b) {
  if (!b) return;
  block_invalidate(b);
  free(b->l);
  free(b->eol);
  free(b);
}

/* Inserts blocks v[0..k) at index at. */
static void doc_insert_blocks(csb_patch_doc *d, size_t at, doc_block **v, size_t k) {
  d->b = csb_xgrow(d->b, &d->cap, d->nb + k, sizeof(*d->b));
  memmove(d->b + at + k, d->b + at, (d->nb - at) * sizeof(*d->b));
  memcpy(d->b + at, v, k * sizeof(*v));
  d->nb += k;
  d->stale = 1;
}

static void doc_remove_block(csb_patch_doc *d, size_t at) {
  block_free(d->b[at]);
  memmove(d->b + at, d->b + at + 1, (d->nb - at - 1) * sizeof(*d->b));
  d->nb--;
  d->stale = 1;
}

/* Appends lines to a new run of blocks, half full so that insertions have
 * room. */
static void doc_put_blocks(csb_patch_doc *d, size_t at, const csb_patch_line *l,
                           const unsigned char *eol, size_t n) {
  size_t per = DOC_BLOCK / 2, k = (n + per - 1) / per;
  if (k == 0) return;
  doc_block **v = csb_xmalloc(k * sizeof(*v));
  for (size_t i = 0; i < k; i++) {
    size_t m = n - i * per < per ? n - i * per : per;
    v[i] = block_new(DOC_BLOCK);
    memcpy(v[i]->l, l + i * per, m * sizeof(*l));
    memcpy(v[i]->eol, eol + i * per, m);
    v[i]->n = m;
  }
  doc_insert_blocks(d, at, v, k);
  free(v);
}

csb_patch_doc *csb_patch_i_doc_new(const char *s, size_t len, csb_patch_scratch *sc) {
  file_lines f;
  split_file(s, len, &f, sc);
  csb_patch_doc *d = csb_xcalloc(1, sizeof(*d));
  doc_put_blocks(d, 0, f.lines, f.eol, f.n);
  d->n = f.n;
  d->bytes = len;
  d->budget = SEEK_BUDGET;
  return d;
}

void csb_patch_i_doc_free(csb_patch_doc *d) {
  if (!d) return;
  for (size_t i = 0; i < d->nb; i++) block_free(d->b[i]);
  free(d->b);
  free(d->first);
  free(d);
}

size_t csb_patch_i_doc_len(const csb_patch_doc *d) { return d->bytes; }

void csb_patch_i_doc_write(const csb_patch_doc *d, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < d->nb; i++) {
    const doc_block *b = d->b[i];
    for (size_t j = 0; j < b->n; j++) {
      if (b->l[j].n) memcpy(out + o, b->l[j].s, b->l[j].n);
      o += b->l[j].n;
      memcpy(out + o, eol_bytes[b->eol[j]], eol_len[b->eol[j]]);
      o += eol_len[b->eol[j]];
    }
  }
}

/* The block holding line i (i < d->n), and i's offset in it. */
static size_t doc_find(csb_patch_doc *d, size_t i, size_t *off) {
  if (d->stale) {
    d->first = csb_xgrow(d->first, &d->first_cap, d->nb + 1, sizeof(size_t));
    size_t f = 0;
    for (size_t k = 0; k < d->nb; k++) {
      d->first[k] = f;
      f += d->b[k]->n;
    }
    d->stale = 0;
  }
  size_t lo = 0, hi = d->nb; /* last block whose first line <= i */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->first[mid] <= i)
      lo = mid;
    else
      hi = mid;
  }
  while (lo + 1 < d->nb && d->b[lo]->n == i - d->first[lo] + 0 && i - d->first[lo] >= d->b[lo]->n)
    lo++;
  *off = i - d->first[lo];
  return lo;
}

static csb_patch_line *doc_at(csb_patch_doc *d, size_t i, unsigned char **eol) {
  size_t off, k = doc_find(d, i, &off);
  if (eol) *eol = &d->b[k]->eol[off];
  return &d->b[k]->l[off];
}

/* Replaces lines [pos, pos + del) with ins[0..n_ins). */
static void doc_splice(csb_patch_doc *d, size_t pos, size_t del, const csb_patch_line *ins,
                       const unsigned char *ins_eol, size_t n_ins) {
  if (d->nb == 0) {
    doc_put_blocks(d, 0, ins, ins_eol, n_ins);
    d->n = n_ins;
    for (size_t i = 0; i < n_ins; i++) d->bytes += ins[i].n + eol_len[ins_eol[i]];
    return;
  }
  size_t bi, off;
  if (pos == d->n) {
    bi = d->nb - 1;
    off = d->b[bi]->n;
  } else {
    bi = doc_find(d, pos, &off);
  }
  /* Deletion, possibly across blocks. */
  size_t left = del, k = bi, o = off;
  while (left > 0) {
    doc_block *b = d->b[k];
    size_t m = b->n - o < left ? b->n - o : left;
    for (size_t j = o; j < o + m; j++) d->bytes -= b->l[j].n + eol_len[b->eol[j]];
    memmove(b->l + o, b->l + o + m, (b->n - o - m) * sizeof(*b->l));
    memmove(b->eol + o, b->eol + o + m, b->n - o - m);
    b->n -= m;
    block_invalidate(b);
    left -= m;
    if (b->n == 0 && k != bi) {
      doc_remove_block(d, k);
    } else {
      k++;
      o = 0;
    }
  }
  d->n -= del;
  /* Insertion into block bi at off. */
  doc_block *b = d->b[bi];
  for (size_t i = 0; i < n_ins; i++) d->bytes += ins[i].n + eol_len[ins_eol[i]];
  d->n += n_ins;
  if (b->n + n_ins <= DOC_BLOCK) {
    if (n_ins) {
      if (b->n + n_ins > b->cap) {
        b->cap = DOC_BLOCK;
        b->l = csb_xrealloc(b->l, b->cap * sizeof(*b->l));
        b->eol = csb_xrealloc(b->eol, b->cap);
      }
      memmove(b->l + off + n_ins, b->l + off, (b->n - off) * sizeof(*b->l));
      memmove(b->eol + off + n_ins, b->eol + off, b->n - off);
      memcpy(b->l + off, ins, n_ins * sizeof(*ins));
      memcpy(b->eol + off, ins_eol, n_ins);
      b->n += n_ins;
      block_invalidate(b);
    }
    if (b->n == 0 && d->nb > 1) doc_remove_block(d, bi);
  } else {
    size_t total = b->n + n_ins;
    csb_patch_line *l = csb_xmalloc(total * sizeof(*l));
    unsigned char *e = csb_xmalloc(total);
    memcpy(l, b->l, off * sizeof(*l));
    memcpy(e, b->eol, off);
    memcpy(l + off, ins, n_ins * sizeof(*l));
    memcpy(e + off, ins_eol, n_ins);
    memcpy(l + off + n_ins, b->l + off, (b->n - off) * sizeof(*l));
    memcpy(e + off + n_ins, b->eol + off, b->n - off);
    doc_remove_block(d, bi);
    doc_put_blocks(d, bi, l, e, total);
    free(l);
    free(e);
  }
  d->stale = 1;
}

/* 1 when pat matches at line i under pass p; -1 when the budget ran out. */
static int doc_match_at(csb_patch_doc *d, const csb_patch_line *pat, const uint64_t *ph,
                        size_t n_pat, size_t i, size_t p, unsigned long long *budget) {
  size_t off, k = doc_find(d, i, &off);
  for (size_t j = 0; j < n_pat; j++) {
    if (budget) {
      if (*budget == 0) return -1;
      (*budget)--;
    }
    while (off >= d->b[k]->n) {
      k++;
      off = 0;
    }
    doc_block *b = d->b[k];
    if (ph && block_hashes(b, p)[off] != ph[j]) return 0;
    if (!passes[p](b->l[off], pat[j])) return 0;
    off++;
  }
  return 1;
}

/* The first i in [start, last] where pat matches under pass p. */
static int doc_find_first(csb_patch_doc *d, const csb_patch_line *pat, const uint64_t *ph,
                          size_t n_pat, size_t start, size_t last, size_t p, size_t *at,
                          unsigned long long *budget) {
  /* The anchor: the longest pattern line, likely the rarest. */
  size_t a = 0;
  for (size_t j = 1; j < n_pat; j++)
    if (pat[j].n > pat[a].n) a = j;
  size_t q = start + a, qmax = last + a, off;
  size_t k = doc_find(d, q, &off);
  for (; k < d->nb; k++, off = 0) {
    doc_block *b = d->b[k];
    size_t f = d->first[k];
    if (f > qmax) break;
    if (budget) {
      if (*budget == 0) return -1;
      (*budget)--;
    }
    const uint64_t *h = block_hashes(b, p);
    if (!bloom_has(h + b->n, ph[a])) continue;
    size_t end = qmax - f + 1 < b->n ? qmax - f + 1 : b->n;
    for (size_t j = off; j < end; j++) {
      if (h[j] != ph[a]) continue;
      int r = doc_match_at(d, pat, ph, n_pat, f + j - a, p, budget);
      if (r) {
        if (r > 0) *at = f + j - a;
        return r;
      }
      /* doc_match_at may have refreshed the block index: b, h, f stay
       * valid (no edit happens during a search). */
    }
  }
  return 0;
}

/* csb_patch_seek over a doc. */
static int doc_seek(csb_patch_doc *d, const csb_patch_line *pat, size_t n_pat, size_t start,
                    int eof, size_t *at, unsigned long long *budget) {
  if (n_pat == 0) {
    *at = start;
    return 1;
  }
  if (n_pat > d->n) return 0;
  size_t last = d->n - n_pat;
  if (eof) {
    if (last < start) return 0;
    for (size_t p = 0; p < N_PASSES; p++) {
      int r = doc_match_at(d, pat, NULL, n_pat, last, p, budget);
      if (r < 0) return 0;
      if (r) {
        *at = last;
        return 1;
      }
    }
    return 0;
  }
  if (start > last) return 0;
  uint64_t *ph = csb_xmalloc(n_pat * sizeof(*ph));
  int found = 0;
  for (size_t p = 0; p < N_PASSES && !found; p++) {
    for (size_t j = 0; j < n_pat; j++) ph[j] = key_hash(pat[j], p);
    int r = doc_find_first(d, pat, ph, n_pat, start, last, p, at, budget);
    if (r < 0) break;
    found = r;
  }
  free(ph);
  return found;
}

/* ---- replacements ----------------------------------------------------------- */

typedef struct {
  size_t start;    /* first replaced line of the file */
  size_t old_len;  /* lines removed */
  const csb_patch_line *new_lines;
  size_t n_new;
  size_t seq;      /* insertion order, for a stable sort */
} repl;

typedef struct {
  repl *v;
  size_t n, cap;
} repl_vec;

static void add_repl(repl_vec *r, size_t start, size_t old_len, const csb_patch_line *nl,
                     size_t n_new) {
  if (old_len == 0 && n_new == 0) return;
  r->v = csb_xgrow(r->v, &r->cap, r->n + 1, sizeof(*r->v));
  r->v[r->n] = (repl){start, old_len, nl, n_new, r->n};
  r->n++;
}

static int repl_cmp(const void *a, const void *b) {
  const repl *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Adds the replacements of a chunk located at s, split around its context
 * lines (pairs whose indices are within n_old/n_new). */
static void add_chunk_repls(repl_vec *r, const csb_patch_chunk *c, size_t s, size_t n_old,
                            size_t n_new) {
  size_t po = 0, pn = 0; /* next old / new index not yet covered */
  for (size_t k = 0; k < c->n_ctx; k++) {
    size_t oi = c->ctx_old[k], ni = c->ctx_new[k];
    if (oi >= n_old || ni >= n_new) break;
    add_repl(r, s + po, oi - po, c->new_lines ? c->new_lines + pn : NULL, ni - pn);
    po = oi + 1;
    pn = ni + 1;
  }
  add_repl(r, s + po, n_old - po, c->new_lines ? c->new_lines + pn : NULL, n_new - pn);
}

static void join_lines(csb_buf *b, const csb_patch_line *l, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (i) csb_buf_putc(b, '\n');
    csb_buf_append(b, l[i].s, l[i].n);
  }
}

/* Collects the new contents as pieces in the scratch space, merging a piece
 * of the old contents with the previous one when it continues it (kept
 * lines with their own endings form one piece per untouched stretch). */
typedef struct {
  csb_patch_scratch *sc;
  uintptr_t old, old_end; /* the old contents' addresses */
  size_t n;   /* pieces */
  size_t len; /* bytes */
} sink;

static void emit(sink *o, const char *s, size_t n) {
  if (n == 0) return;
  csb_patch_scratch *sc = o->sc;
  o->len += n;
  uintptr_t a = (uintptr_t)s;
  if (o->n && a >= o->old && a < o->old_end) {
    csb_patch_piece *last = &sc->pieces[o->n - 1];
    uintptr_t b = (uintptr_t)last->s;
    if (b >= o->old && b < o->old_end && b + last->n == a) {
      last->n += n;
      return;
    }
  }
  sc->pieces = csb_xgrow(sc->pieces, &sc->pieces_cap, o->n + 1, sizeof(*sc->pieces));
  sc->pieces[o->n++] = (csb_patch_piece){s, n};
}

void csb_patch_i_scratch_free(csb_patch_scratch *sc) {
  free(sc->lines);
  free(sc->eol);
  free(sc->pieces);
  memset(sc, 0, sizeof(*sc));
}

/* A search over some lines: csb_patch_seek's contract. */
typedef int (*seek_fn)(void *src, const csb_patch_line *pat, size_t n_pat, size_t start,
                       int eof, size_t *at, unsigned long long *budget);

/* The lines of one update: searched with the plain ladder while that has
 * cost at most about twice the file's lines in all (a chunk found near
 * where the previous one ended, or one search through the file), then in
 * a doc made of them, so that a hunk of many chunks the plain ladder would
 * each search to the end of the file costs what the doc search does. */
typedef struct {
  const file_lines *f;
  unsigned long long plain_left;
  csb_patch_doc *doc;
} flat_src;

static int seek_flat(void *src, const csb_patch_line *pat, size_t n_pat, size_t start, int eof,
                     size_t *at, unsigned long long *budget) {
  flat_src *fs = src;
  if (!fs->doc && fs->plain_left > 0) {
    unsigned long long b = fs->plain_left < *budget ? fs->plain_left : *budget;
    unsigned long long b0 = b;
    int found = csb_patch_seek(fs->f->lines, fs->f->n, pat, n_pat, start, eof, at, &b);
    fs->plain_left -= b0 - b;
    *budget -= b0 - b;
    if (found || b > 0 || *budget == 0) return found;
  }
  if (!fs->doc) {
    fs->doc = csb_xcalloc(1, sizeof(*fs->doc));
    doc_put_blocks(fs->doc, 0, fs->f->lines, fs->f->eol, fs->f->n);
    fs->doc->n = fs->f->n;
  }
  return doc_seek(fs->doc, pat, n_pat, start, eof, at, budget);
}

static int seek_doc(void *src, const csb_patch_line *pat, size_t n_pat, size_t start, int eof,
                    size_t *at, unsigned long long *budget) {
  return doc_seek(src, pat, n_pat, start, eof, at, budget);
}

/* Locates every chunk of h, in order, each searched forward from where the
 * previous one ended, in n lines searched by seek; adds their
 * replacements to r (unsorted). */
static int locate(void *src, size_t n, seek_fn seek, const csb_patch_hunk *h,
                  const char *display, repl_vec *r, csb_error *err, csb_buf *full,
                  unsigned long long *budget_left) {
  unsigned long long budget = *budget_left;
  size_t cursor = 0;
  csb_buf msg = {0};
  for (size_t ci = 0; ci < h->n_chunks; ci++) {
    const csb_patch_chunk *c = &h->chunks[ci];
    if (c->has_context) {
      size_t at;
      if (!seek(src, &c->context, 1, cursor, 0, &at, &budget)) {
        if (budget == 0) goto too_complex;
        csb_buf_puts(&msg, "Failed to find context '");
        csb_buf_append(&msg, c->context.s, c->context.n);
        csb_buf_printf(&msg, "' in %s", display);
        goto fail;
      }
      cursor = at + 1;
    }
    if (c->n_old == 0) {
      add_repl(r, n, 0, c->new_lines, c->n_new);
      continue;
    }
    size_t n_old = c->n_old, n_new = c->n_new, at;
    int found = seek(src, c->old_lines, n_old, cursor, c->is_end_of_file, &at, &budget);
    if (!found && budget > 0 && c->old_lines[n_old - 1].n == 0) {
      n_old--;
      if (n_new > 0 && c->new_lines[n_new - 1].n == 0) n_new--;
      found = seek(src, c->old_lines, n_old, cursor, c->is_end_of_file, &at, &budget);
    }
    if (!found) {
      if (budget == 0) goto too_complex;
      csb_buf_printf(&msg, "Failed to find expected lines in %s:\n", display);
      join_lines(&msg, c->old_lines, c->n_old);
      goto fail;
    }
    add_chunk_repls(r, c, at, n_old, n_new);
    cursor = at + n_old;
  }
  *budget_left = budget;
  return 1;

too_complex:
  csb_buf_printf(&msg, "Failed to find expected lines in %s: search too expensive", display);
fail:
  *budget_left = budget;
  csb_patch_set_msg(err, full, 0, &msg);
  csb_buf_free(&msg);
  return 0;
}

int csb_patch_i_update(const char *old, size_t old_len, const csb_patch_hunk *h,
                       const char *display, unsigned flags, csb_patch_scratch *sc,
                       size_t *n_pieces, size_t *out_len, csb_error *err, csb_buf *full) {
  file_lines f;
  split_file(old, old_len, &f, sc);
  repl_vec r = {0};
  flat_src fs = {&f, 2 * (unsigned long long)f.n + 65536, NULL};
  unsigned long long budget = SEEK_BUDGET;
  int found = locate(&fs, f.n, seek_flat, h, display, &r, err, full, &budget);
  csb_patch_i_doc_free(fs.doc);
  if (!found) {
    free(r.v);
    return 0;
  }

  if (r.n > 1) qsort(r.v, r.n, sizeof(*r.v), repl_cmp);

  {
    unsigned char pref = EOL_LF;
    for (size_t i = 0; i < f.n; i++)
      if (f.eol[i] != EOL_NONE) {
        pref = f.eol[i];
        break;
      }
    sink o = {sc, (uintptr_t)old, (uintptr_t)old + old_len, 0, 0};
    /* The line ending owed by the last line put (put once another line
     * follows, or at the end): a kept line's own ending bytes, the
     * preferred ending for a new line, or none for a kept last line that
     * has none (it gets the preferred one only if a line follows). */
    int owed = 0, owed_none = 0;
    const char *owe_s = NULL;
    size_t owe_n = 0;
#define FLUSH()                                          \
  do {                                                   \
    if (owed) {                                          \
      if (owed_none)                                     \
        emit(&o, eol_bytes[pref], eol_len[pref]);        \
      else                                               \
        emit(&o, owe_s, owe_n);                          \
    }                                                    \
  } while (0)
#define OWE_OWN(i)                                        \
  do {                                                    \
    owed = 1;                                             \
    owed_none = f.eol[i] == EOL_NONE;                     \
    owe_s = f.lines[i].s + f.lines[i].n;                  \
    owe_n = eol_len[f.eol[i]];                            \
  } while (0)
    size_t pos = 0;
    size_t k = 0;
    while (pos < f.n || k < r.n) {
      if (k < r.n && r.v[k].start <= pos) {
        const repl *x = &r.v[k++];
        for (size_t j = 0; j < x->n_new; j++) {
          FLUSH();
          emit(&o, x->new_lines[j].s, x->new_lines[j].n);
          owed = 1;
          owed_none = 0;
          owe_s = eol_bytes[pref];
          owe_n = eol_len[pref];
        }
        pos = x->start + x->old_len > pos ? x->start + x->old_len : pos;
        continue;
      }
      if (pos >= f.n) break;
      /* Keep untouched lines up to the next replacement in one go. */
      size_t stop = k < r.n && r.v[k].start < f.n ? r.v[k].start : f.n;
      FLUSH();
      /* Lines pos..stop-2 all end with their own ending (only the last
       * line of a file can lack one). */
      const char *from = f.lines[pos].s;
      const char *to = f.lines[stop - 1].s + f.lines[stop - 1].n;
      emit(&o, from, (size_t)(to - from));
      OWE_OWN(stop - 1);
      pos = stop;
    }
    if (owed) {
      if (!owed_none)
        emit(&o, owe_s, owe_n);
      else if (flags & CSB_PATCH_TEXT_ADD_FINAL_NEWLINE)
        emit(&o, eol_bytes[pref], eol_len[pref]);
    }
#undef FLUSH
#undef OWE_OWN
    *n_pieces = o.n;
    *out_len = o.len;
  }
  free(r.v);
  return 1;
}

size_t csb_patch_i_join(const csb_patch_piece *pc, size_t n, char *out) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (pc[i].n) memcpy(out + len, pc[i].s, pc[i].n);
    len += pc[i].n;
  }
  return len;
}

int csb_patch_update_text(const char *old, size_t old_len, const csb_patch_hunk *h,
                          const char *display, unsigned flags, csb_buf *out, csb_error *err,
                          csb_buf *full) {
  csb_patch_scratch sc = {0};
  size_t n = 0, len = 0;
  int ok = csb_patch_i_update(old, old_len, h, display, flags, &sc, &n, &len, err, full);
  if (ok) {
    csb_buf_reserve(out, len);
    out->len += csb_patch_i_join(sc.pieces, n, out->data + out->len);
    out->data[out->len] = '\0';
  }
  csb_patch_i_scratch_free(&sc);
  return ok;
}

/* ---- updating a doc in place ---------------------------------------------- */

typedef struct {
  csb_patch_line *l;
  unsigned char *e;
  size_t n, cap_l, cap_e;
} line_vec;

static void lv_push(line_vec *v, const char *s, size_t n, unsigned char e) {
  v->l = csb_xgrow(v->l, &v->cap_l, v->n + 1, sizeof(*v->l));
  v->e = csb_xgrow(v->e, &v->cap_e, v->n + 1, 1);
  v->l[v->n] = (csb_patch_line){s, n};
  v->e[v->n++] = e;
}

/* A new line t with ending e, as the lines split_file makes of its bytes:
 * a CR inside t ends a line (and with an LF ending after it, a final CR
 * and that LF are one CRLF). */
static void lv_push_new(line_vec *v, csb_patch_line t, unsigned char e) {
  size_t from = 0;
  for (size_t i = 0; i < t.n; i++) {
    if (t.s[i] != '\r') continue;
    if (i + 1 == t.n && e == EOL_LF) {
      lv_push(v, t.s + from, i - from, EOL_CRLF);
      return;
    }
    lv_push(v, t.s + from, i - from, EOL_CR);
    from = i + 1;
  }
  lv_push(v, t.s + from, t.n - from, e);
}

typedef struct {
  size_t start, del, ins, n_ins;
} edit;

/* Line p ends with a lone CR and line p + 1 is an empty line ending with
 * LF: their bytes are one CRLF line. */
static void doc_join_at(csb_patch_doc *d, size_t p) {
  if (p + 1 >= d->n) return;
  unsigned char *e1, *e2;
  doc_at(d, p, &e1);
  csb_patch_line *b = doc_at(d, p + 1, &e2);
  if (*e1 != EOL_CR || b->n != 0 || *e2 != EOL_LF) return;
  doc_splice(d, p + 1, 1, NULL, NULL, 0);
  doc_at(d, p, &e1);
  *e1 = EOL_CRLF;
  d->bytes += 1;
}

int csb_patch_i_doc_update(csb_patch_doc *d, const csb_patch_hunk *h, const char *display,
                           unsigned flags, csb_error *err, csb_buf *full) {
  repl_vec r = {0};
  /* On top of the file's budget, each hunk may step through every block
   * once per pass and chunk: what a search that the Bloom filters skip
   * costs, so that many hunks of a large file, each found cheaply, never
   * run out. */
  d->budget += 4ULL * (d->nb + 1) * (h->n_chunks + 1);
  if (!locate(d, d->n, seek_doc, h, display, &r, err, full, &d->budget)) {
    free(r.v);
    return 0;
  }
  if (r.n > 1) qsort(r.v, r.n, sizeof(*r.v), repl_cmp);
  unsigned char pref = EOL_LF;
  for (size_t k = 0, got = 0; k < d->nb && !got; k++)
    for (size_t j = 0; j < d->b[k]->n; j++)
      if (d->b[k]->eol[j] != EOL_NONE) {
        pref = d->b[k]->eol[j];
        got = 1;
        break;
      }
  /* The same walk as csb_patch_i_update's, as edits that do not overlap:
   * a replacement starting inside an earlier one's range inserts its lines
   * where that range ends and removes what remains of its own. */
  size_t n = d->n, pos = 0, appended = 0;
  unsigned char *last_eol = NULL;
  if (n) doc_at(d, n - 1, &last_eol);
  int last_kept = n && *last_eol == EOL_NONE;
  line_vec iv = {0};
  edit *ed = csb_xcalloc(r.n ? r.n : 1, sizeof(*ed));
  for (size_t k = 0; k < r.n; k++) {
    const repl *x = &r.v[k];
    size_t es = x->start > pos ? x->start : pos;
    size_t ee = x->start + x->old_len > pos ? x->start + x->old_len : pos;
    if (es <= n - 1 && ee > n - 1) last_kept = 0;
    size_t off = iv.n;
    for (size_t j = 0; j < x->n_new; j++) lv_push_new(&iv, x->new_lines[j], pref);
    ed[k] = (edit){es, ee - es, off, iv.n - off};
    if (es == n) appended += iv.n - off;
    pos = ee;
  }
  for (size_t k = r.n; k-- > 0;)
    doc_splice(d, ed[k].start, ed[k].del, iv.l + ed[k].ins, iv.e + ed[k].ins, ed[k].n_ins);
  if (last_kept && (appended || (flags & CSB_PATCH_TEXT_ADD_FINAL_NEWLINE))) {
    doc_at(d, d->n - 1 - appended, &last_eol);
    *last_eol = pref;
    d->bytes += eol_len[pref];
  }
  /* Where edits made lines adjacent, their bytes may split differently:
   * join those pairs, from the end so that indices stay valid. */
  size_t shift = 0;
  for (size_t k = 0; k < r.n; k++) {
    ed[k].start += shift;
    shift += ed[k].n_ins - ed[k].del;
  }
  for (size_t k = r.n; k-- > 0;) {
    if (ed[k].start + ed[k].n_ins > 0) doc_join_at(d, ed[k].start + ed[k].n_ins - 1);
    if (ed[k].start > 0) doc_join_at(d, ed[k].start - 1);
  }
  free(ed);
  free(iv.l);
  free(iv.e);
  free(r.v);
  return 1;
}
