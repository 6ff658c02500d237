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
  if (eof && last >= start) {
    for (size_t p = 0; p < CSB_ARRAY_LEN(passes); p++) {
      int r = match_at(lines, pat, n_pat, last, passes[p], budget);
      if (r < 0) return 0;
      if (r) {
        *at = last;
        return 1;
      }
    }
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

/* Work budget for one file: line comparisons across all chunks. */
#define SEEK_BUDGET 2000000000ULL

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

int csb_patch_i_update(const char *old, size_t old_len, const csb_patch_hunk *h,
                       const char *display, unsigned flags, csb_patch_scratch *sc,
                       size_t *n_pieces, size_t *out_len, csb_error *err, csb_buf *full) {
  file_lines f;
  split_file(old, old_len, &f, sc);
  repl_vec r = {0};
  unsigned long long budget = SEEK_BUDGET;
  size_t cursor = 0;
  int ok = 0;
  csb_buf msg = {0};

  for (size_t ci = 0; ci < h->n_chunks; ci++) {
    const csb_patch_chunk *c = &h->chunks[ci];
    if (c->has_context) {
      size_t at;
      if (!csb_patch_seek(f.lines, f.n, &c->context, 1, cursor, 0, &at, &budget)) {
        if (budget == 0) goto too_complex;
        csb_buf_puts(&msg, "Failed to find context '");
        csb_buf_append(&msg, c->context.s, c->context.n);
        csb_buf_printf(&msg, "' in %s", display);
        goto fail;
      }
      cursor = at + 1;
    }
    if (c->n_old == 0) {
      add_repl(&r, f.n, 0, c->new_lines, c->n_new);
      continue;
    }
    size_t n_old = c->n_old, n_new = c->n_new, at;
    int found = csb_patch_seek(f.lines, f.n, c->old_lines, n_old, cursor, c->is_end_of_file,
                               &at, &budget);
    if (!found && budget > 0 && c->old_lines[n_old - 1].n == 0) {
      n_old--;
      if (n_new > 0 && c->new_lines[n_new - 1].n == 0) n_new--;
      found = csb_patch_seek(f.lines, f.n, c->old_lines, n_old, cursor, c->is_end_of_file,
                             &at, &budget);
    }
    if (!found) {
      if (budget == 0) goto too_complex;
      csb_buf_printf(&msg, "Failed to find expected lines in %s:\n", display);
      join_lines(&msg, c->old_lines, c->n_old);
      goto fail;
    }
    add_chunk_repls(&r, c, at, n_old, n_new);
    cursor = at + n_old;
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
  ok = 1;
  goto done;

too_complex:
  csb_buf_printf(&msg, "Failed to find expected lines in %s: search too expensive", display);
fail:
  csb_patch_set_msg(err, full, 0, &msg);
done:
  csb_buf_free(&msg);
  free(r.v);
  return ok;
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
