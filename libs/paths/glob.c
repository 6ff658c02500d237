/* glob.c - deny-glob parsing, NFA matching and POSIX ERE conversion.
 *
 * A pattern is parsed into a small token tree (sequences of tokens, where
 * an alternation token holds several sequences), then compiled into a
 * Thompson NFA over bytes. csb_glob_match simulates the NFA with state
 * sets; the expansion walker (glob_expand.c) runs the same step function
 * behind a lazily built DFA cache. The ERE is produced from the same token
 * tree, so the three views agree by construction (and the tests check it).
 */
#define _GNU_SOURCE
#include "glob_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- token tree ------------------------------------------------------------ */

enum {
  T_LIT,     /* one byte */
  T_ANY,     /* ? : one byte except '/' */
  T_STAR,    /* * : bytes except '/' */
  T_RPREFIX, /* leading ** / : (.* /)? */
  T_RSUFFIX, /* trailing / ** : / .* */
  T_RZM,     /* inner / ** / : / (.* /)? */
  T_CLASS,   /* [...] */
  T_ALT,     /* {a,b} */
};

typedef struct gseq gseq;

typedef struct gtok {
  unsigned char kind;
  unsigned char byte; /* T_LIT */
  uint32_t set;       /* T_CLASS: index into the glob's byte sets */
  gseq *alts;         /* T_ALT */
  size_t nalts;
  size_t raw_end;     /* top level: offset just past the token's source text */
} gtok;

struct gseq {
  gtok *v;
  size_t n, cap;
};

static void seq_free(gseq *q);

static void tok_free(gtok *t) {
  if (t->kind != T_ALT) return;
  for (size_t i = 0; i < t->nalts; i++) seq_free(&t->alts[i]);
  free(t->alts);
  t->alts = NULL;
  t->nalts = 0;
}

static void seq_free(gseq *q) {
  for (size_t i = 0; i < q->n; i++) tok_free(&q->v[i]);
  free(q->v);
  q->v = NULL;
  q->n = q->cap = 0;
}

static void seq_push(gseq *q, gtok t) {
  q->v = csb_xgrow(q->v, &q->cap, q->n + 1, sizeof *q->v);
  q->v[q->n++] = t;
}

/* A sequence whose regex is empty: only alternations that are themselves
 * empty. Such alternatives are dropped, as globset does. */
static int seq_is_empty(const gseq *q);

static int alt_is_empty(const gtok *t) {
  for (size_t i = 0; i < t->nalts; i++)
    if (!seq_is_empty(&t->alts[i])) return 0;
  return 1;
}

static int seq_is_empty(const gseq *q) {
  for (size_t i = 0; i < q->n; i++)
    if (q->v[i].kind != T_ALT || !alt_is_empty(&q->v[i])) return 0;
  return 1;
}

/* ---- byte sets ----------------------------------------------------------- */

static int bs_has(const csb_byteset *s, unsigned b) {
  return (s->bits[b >> 3] >> (b & 7)) & 1;
}
static void bs_add(csb_byteset *s, unsigned b) {
  s->bits[b >> 3] = (uint8_t)(s->bits[b >> 3] | (1u << (b & 7)));
}
static void bs_del(csb_byteset *s, unsigned b) {
  s->bits[b >> 3] = (uint8_t)(s->bits[b >> 3] & ~(1u << (b & 7)));
}
static int bs_count(const csb_byteset *s) {
  int n = 0;
  for (unsigned b = 0; b < 256; b++) n += bs_has(s, b);
  return n;
}

/* ---- parser ------------------------------------------------------------- */

typedef struct parser {
  const unsigned char *s;
  size_t n, i;
  gseq *br; /* stack of open branches; br[0] is the top level */
  size_t nbr, brcap;
  size_t *alt; /* index in br where each open group's first branch starts */
  size_t nalt, altcap;
  csb_byteset *sets;
  size_t nsets, setcap;
  csb_error *err;
} parser;

static gseq *cur_branch(parser *P) { return &P->br[P->nbr - 1]; }

static void push_tok(parser *P, unsigned char kind, unsigned char byte) {
  gtok t;
  memset(&t, 0, sizeof t);
  t.kind = kind;
  t.byte = byte;
  seq_push(cur_branch(P), t);
}

static void push_branch(parser *P) {
  P->br = csb_xgrow(P->br, &P->brcap, P->nbr + 1, sizeof *P->br);
  memset(&P->br[P->nbr], 0, sizeof P->br[P->nbr]);
  P->nbr++;
}

static const char *byte_repr(unsigned char c, char buf[8]) {
  if (c >= 0x20 && c < 0x7f)
    snprintf(buf, 8, "%c", c);
  else
    snprintf(buf, 8, "\\x%02x", c);
  return buf;
}

static int parse_star(parser *P) {
  const unsigned char *s = P->s;
  int prev = P->i > 0 ? s[P->i - 1] : -1;
  if (P->i + 1 >= P->n || s[P->i + 1] != '*') {
    push_tok(P, T_STAR, 0);
    P->i++;
    return 1;
  }
  P->i += 2;
  int in_group = P->nalt > 0;
  gseq *b = cur_branch(P);
  if (b->n == 0) {
    if (P->i < P->n && s[P->i] != '/') {
      push_tok(P, T_STAR, 0);
      push_tok(P, T_STAR, 0);
    } else {
      push_tok(P, T_RPREFIX, 0);
      if (P->i < P->n) P->i++; /* the '/' belongs to the token */
    }
    return 1;
  }
  if (prev != '/' && (!in_group || (prev != ',' && prev != '{'))) {
    push_tok(P, T_STAR, 0);
    push_tok(P, T_STAR, 0);
    return 1;
  }
  int is_suffix;
  if (P->i >= P->n) {
    is_suffix = 1;
  } else if (in_group && (s[P->i] == ',' || s[P->i] == '}')) {
    is_suffix = 1;
  } else if (s[P->i] == '/') {
    P->i++;
    is_suffix = 0;
  } else {
    push_tok(P, T_STAR, 0);
    push_tok(P, T_STAR, 0);
    return 1;
  }
  gtok last = b->v[--b->n];
  unsigned char kind;
  if (last.kind == T_RPREFIX)
    kind = T_RPREFIX;
  else if (last.kind == T_RSUFFIX)
    kind = T_RSUFFIX;
  else
    kind = is_suffix ? T_RSUFFIX : T_RZM;
  tok_free(&last);
  push_tok(P, kind, 0);
  return 1;
}

static int parse_class(parser *P) {
  const unsigned char *s = P->s;
  size_t open = P->i, j = P->i + 1;
  int negated = 0;
  if (j < P->n && (s[j] == '!' || s[j] == '^')) {
    negated = 1;
    j++;
  }
  /* The first member may be ']'; the class ends at the next ']'. */
  size_t close = j + 1;
  while (close < P->n && s[close] != ']') close++;
  if (close >= P->n) {
    /* Unclosed: the '[' is a literal and parsing resumes after it. */
    push_tok(P, T_LIT, '[');
    P->i = open + 1;
    return 1;
  }
  csb_byteset set;
  memset(&set, 0, sizeof set);
  /* globset semantics: members are single bytes or ranges; a '-' after a
   * complete member starts a range that extends the last member. */
  unsigned lo = 0, hi = 0;
  int have_last = 0, in_range = 0, first = 1;
  for (size_t k = j; k < close; k++) {
    unsigned c = s[k];
    if (c == '-' && !first && !in_range) {
      in_range = 1;
      first = 0;
      continue;
    }
    if (in_range) {
      if (c < lo) {
        char b1[8], b2[8];
        return csb_error_set(P->err, "invalid range; '%s' > '%s'",
                             byte_repr((unsigned char)lo, b1),
                             byte_repr((unsigned char)c, b2));
      }
      hi = c;
      in_range = 0;
    } else {
      if (have_last)
        for (unsigned b = lo; b <= hi; b++) bs_add(&set, b);
      lo = hi = c;
      have_last = 1;
    }
    first = 0;
  }
  if (have_last)
    for (unsigned b = lo; b <= hi; b++) bs_add(&set, b);
  if (in_range) bs_add(&set, '-');
  if (negated)
    for (unsigned b = 0; b < 32; b++) set.bits[b] = (uint8_t)~set.bits[b];
  bs_del(&set, '/');
  bs_del(&set, 0);
  int count = bs_count(&set);
  if (count == 0)
    return csb_error_set(P->err,
                         "character class `%.*s` can never match (a class never "
                         "matches '/')",
                         (int)(close + 1 - open), (const char *)s + open);
  P->i = close + 1;
  if (count == 1) {
    for (unsigned b = 1; b < 256; b++)
      if (bs_has(&set, b)) push_tok(P, T_LIT, (unsigned char)b);
    return 1;
  }
  P->sets = csb_xgrow(P->sets, &P->setcap, P->nsets + 1, sizeof *P->sets);
  P->sets[P->nsets] = set;
  gtok t;
  memset(&t, 0, sizeof t);
  t.kind = T_CLASS;
  t.set = (uint32_t)P->nsets++;
  seq_push(cur_branch(P), t);
  return 1;
}

static int parse(parser *P) {
  push_branch(P);
  while (P->i < P->n) {
    unsigned char c = P->s[P->i];
    switch (c) {
      case '?':
        push_tok(P, T_ANY, 0);
        P->i++;
        break;
      case '*':
        if (!parse_star(P)) return 0;
        break;
      case '[':
        if (!parse_class(P)) return 0;
        break;
      case '{':
        if (P->nalt >= CSB_GLOB_MAX_NESTING)
          return csb_error_set(P->err, "alternate groups nested deeper than %d levels",
                               CSB_GLOB_MAX_NESTING);
        P->alt = csb_xgrow(P->alt, &P->altcap, P->nalt + 1, sizeof *P->alt);
        P->alt[P->nalt++] = P->nbr;
        push_branch(P);
        P->i++;
        break;
      case '}': {
        if (P->nalt == 0)
          return csb_error_set(P->err,
                               "unopened alternate group; missing '{' (maybe escape "
                               "'}' with '[}]'?)");
        size_t start = P->alt[--P->nalt];
        gtok t;
        memset(&t, 0, sizeof t);
        t.kind = T_ALT;
        t.nalts = P->nbr - start;
        t.alts = csb_xmalloc(t.nalts * sizeof *t.alts);
        memcpy(t.alts, &P->br[start], t.nalts * sizeof *t.alts);
        P->nbr = start;
        seq_push(cur_branch(P), t);
        P->i++;
        break;
      }
      case ',':
        if (P->nalt == 0)
          push_tok(P, T_LIT, ',');
        else
          push_branch(P);
        P->i++;
        break;
      case '\\':
        if (P->i + 1 >= P->n) return csb_error_set(P->err, "dangling '\\'");
        push_tok(P, T_LIT, P->s[P->i + 1]);
        P->i += 2;
        break;
      default:
        push_tok(P, T_LIT, c);
        P->i++;
        break;
    }
    if (P->nbr == 1 && P->br[0].n > 0) P->br[0].v[P->br[0].n - 1].raw_end = P->i;
  }
  if (P->nalt > 0)
    return csb_error_set(P->err,
                         "unclosed alternate group; missing '}' (maybe escape '{' "
                         "with '[{]'?)");
  return 1;
}

/* ---- NFA construction ------------------------------------------------------ */

typedef struct builder {
  csb_glob *g;
  const csb_byteset *classes; /* parser sets, offset by CSB_SET_FIRST_CLASS */
} builder;

static int32_t new_state(csb_glob *g, unsigned char kind, uint32_t arg, int32_t out,
                         int32_t out1) {
  g->states = csb_xgrow(g->states, &g->states_cap, g->nstates + 1, sizeof *g->states);
  csb_nstate *st = &g->states[g->nstates];
  st->kind = kind;
  st->arg = arg;
  st->out = out;
  st->out1 = out1;
  return (int32_t)g->nstates++;
}

/* (.* /)? followed by `next` */
static int32_t build_any_dirs(csb_glob *g, int32_t next) {
  int32_t slash = new_state(g, CSB_N_BYTE, '/', next, -1);
  int32_t loop = new_state(g, CSB_N_SPLIT, 0, -1, slash);
  int32_t any = new_state(g, CSB_N_SET, CSB_SET_ALL, loop, -1);
  g->states[loop].out = any;
  return new_state(g, CSB_N_SPLIT, 0, loop, next);
}

static int32_t build_seq(csb_glob *g, const gseq *q, int32_t next);

static int32_t build_tok(csb_glob *g, const gtok *t, int32_t next) {
  switch (t->kind) {
    case T_LIT:
      return new_state(g, CSB_N_BYTE, t->byte, next, -1);
    case T_ANY:
      return new_state(g, CSB_N_SET, CSB_SET_NOT_SLASH, next, -1);
    case T_CLASS:
      return new_state(g, CSB_N_SET, CSB_SET_FIRST_CLASS + t->set, next, -1);
    case T_STAR: {
      int32_t loop = new_state(g, CSB_N_SPLIT, 0, -1, next);
      int32_t any = new_state(g, CSB_N_SET, CSB_SET_NOT_SLASH, loop, -1);
      g->states[loop].out = any;
      return loop;
    }
    case T_RPREFIX:
      return build_any_dirs(g, next);
    case T_RZM:
      return new_state(g, CSB_N_BYTE, '/', build_any_dirs(g, next), -1);
    case T_RSUFFIX: {
      int32_t loop = new_state(g, CSB_N_SPLIT, 0, -1, next);
      int32_t any = new_state(g, CSB_N_SET, CSB_SET_ALL, loop, -1);
      g->states[loop].out = any;
      return new_state(g, CSB_N_BYTE, '/', loop, -1);
    }
    case T_ALT: {
      int32_t start = -1;
      for (size_t i = t->nalts; i-- > 0;) {
        if (seq_is_empty(&t->alts[i])) continue;
        int32_t b = build_seq(g, &t->alts[i], next);
        start = start < 0 ? b : new_state(g, CSB_N_SPLIT, 0, b, start);
      }
      return start < 0 ? next : start;
    }
  }
  return next;
}

static int32_t build_seq(csb_glob *g, const gseq *q, int32_t next) {
  for (size_t i = q->n; i-- > 0;) next = build_tok(g, &q->v[i], next);
  return next;
}

static int is_match_all(const gseq *top) {
  return top->n == 1 && top->v[0].kind == T_RPREFIX;
}

/* ---- regex emission -------------------------------------------------------- */

static void re_lit(csb_buf *b, unsigned char c) {
  if (strchr(".[]{}()*+?^$|\\", c) && c != '\0') csb_buf_putc(b, '\\');
  csb_buf_putc(b, (char)c);
}

static int is_range_run_byte(unsigned c, unsigned lo, unsigned hi) {
  return c >= lo && c <= hi;
}

/* Members of `set` (1..255) inside a bracket expression, ordered so that
 * nothing is ambiguous: ']' first, '[' after the ordinary members (so it
 * never precedes '.', '=' or ':'), '^' never first in a non-negated
 * bracket, '-' last. Ranges only within 0-9, A-Z, a-z. */
static void re_bracket_items(csb_buf *b, const unsigned char *in, int negated) {
  size_t start = b->len;
  if (in[']']) csb_buf_putc(b, ']');
  for (unsigned c = 1; c < 256; c++) {
    if (!in[c] || c == ']' || c == '[' || c == '^' || c == '-') continue;
    static const unsigned runs[3][2] = {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}};
    unsigned end = c;
    for (int r = 0; r < 3; r++) {
      if (!is_range_run_byte(c, runs[r][0], runs[r][1])) continue;
      while (end + 1 <= runs[r][1] && in[end + 1]) end++;
    }
    if (end >= c + 2) {
      csb_buf_putc(b, (char)c);
      csb_buf_putc(b, '-');
      csb_buf_putc(b, (char)end);
      c = end;
    } else {
      csb_buf_putc(b, (char)c);
    }
  }
  if (in['[']) csb_buf_putc(b, '[');
  int dash = in['-'];
  if (in['^']) {
    if (b->len == start && !negated && dash) {
      csb_buf_puts(b, "-^");
      dash = 0;
    } else {
      csb_buf_putc(b, '^');
    }
  }
  if (dash) csb_buf_putc(b, '-');
}

void csb_ere_class(csb_buf *b, const unsigned char member[256]) {
  unsigned count = 0;
  for (unsigned c = 1; c < 256; c++) count += member[c] != 0;
  if (count <= 128) {
    csb_buf_putc(b, '[');
    re_bracket_items(b, member, 0);
    csb_buf_putc(b, ']');
    return;
  }
  unsigned char comp[256];
  for (unsigned c = 0; c < 256; c++) comp[c] = c != 0 && !member[c];
  csb_buf_puts(b, "[^");
  re_bracket_items(b, comp, 1);
  csb_buf_putc(b, ']');
}

static void re_class(csb_buf *b, const csb_byteset *set) {
  unsigned char in[256];
  for (unsigned c = 0; c < 256; c++) in[c] = c != 0 && bs_has(set, c);
  csb_ere_class(b, in);
}

static void re_seq(csb_buf *b, const csb_glob *g, const gseq *q);

static void re_tok(csb_buf *b, const csb_glob *g, const gtok *t) {
  switch (t->kind) {
    case T_LIT: re_lit(b, t->byte); break;
    case T_ANY: csb_buf_puts(b, "[^/]"); break;
    case T_STAR: csb_buf_puts(b, "[^/]*"); break;
    case T_CLASS: re_class(b, &g->sets[CSB_SET_FIRST_CLASS + t->set]); break;
    case T_RPREFIX: csb_buf_puts(b, "(.*/)?"); break;
    case T_RSUFFIX: csb_buf_puts(b, "/.*"); break;
    case T_RZM: csb_buf_puts(b, "/(.*/)?"); break;
    case T_ALT: {
      int any = 0;
      for (size_t i = 0; i < t->nalts; i++) {
        if (seq_is_empty(&t->alts[i])) continue;
        csb_buf_putc(b, any ? '|' : '(');
        re_seq(b, g, &t->alts[i]);
        any = 1;
      }
      if (any) csb_buf_putc(b, ')');
      break;
    }
  }
}

static void re_seq(csb_buf *b, const csb_glob *g, const gseq *q) {
  for (size_t i = 0; i < q->n; i++) re_tok(b, g, &q->v[i]);
}

/* ---- ancestor regexes ------------------------------------------------------ */

/* Directory ancestors of the matches: the strings u such that u + "/" + w
 * is matched for some w. For a sequence t1..tn this set is the union over
 * k of L(t1..tk-1) . D(tk), where D(t) is what a single token contributes
 * with a '/' inside its own match: a literal '/' gives the empty string,
 * "**" forms give "" and "/" followed by anything (or anything at all for
 * a leading "**" and "/"), an alternation the union over its branches.
 * `pre` holds the regex of the tokens before; fragments are unanchored and
 * "" stands for the empty string. */
static void anc_push(csb_strv *out, const char *pre, const char *tail) {
  char *f = csb_xasprintf("%s%s", pre, tail);
  if (csb_strv_contains(out, f))
    free(f);
  else
    csb_strv_push_owned(out, f);
}

static void anc_seq(csb_strv *out, const csb_glob *g, const gseq *q, const char *pre);

static void anc_tok(csb_strv *out, const csb_glob *g, const gtok *t, const char *pre) {
  switch (t->kind) {
    case T_LIT:
      if (t->byte == '/') anc_push(out, pre, "");
      break;
    case T_RPREFIX: anc_push(out, pre, ".*"); break;
    case T_RSUFFIX:
    case T_RZM:
      anc_push(out, pre, "");
      anc_push(out, pre, "/.*");
      break;
    case T_ALT:
      for (size_t i = 0; i < t->nalts; i++)
        if (!seq_is_empty(&t->alts[i])) anc_seq(out, g, &t->alts[i], pre);
      break;
    default: break;
  }
}

static void anc_seq(csb_strv *out, const csb_glob *g, const gseq *q, const char *pre) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, pre);
  for (size_t i = 0; i < q->n; i++) {
    anc_tok(out, g, &q->v[i], b.data);
    re_tok(&b, g, &q->v[i]);
  }
  csb_buf_free(&b);
}

static char **ancestor_regexes(const csb_glob *g, const gseq *top, size_t *n) {
  csb_strv frags, res;
  csb_strv_init(&frags);
  csb_strv_init(&res);
  if (is_match_all(top))
    csb_strv_push(&frags, ".*");
  else
    anc_seq(&frags, g, top, "");
  for (size_t i = 0; i < frags.len; i++) {
    /* The empty ancestor is the root of an absolute pattern. */
    const char *f = frags.items[i][0] ? frags.items[i] : "/";
    char *r = csb_xasprintf("^%s$", f);
    if (csb_strv_contains(&res, r))
      free(r);
    else
      csb_strv_push_owned(&res, r);
  }
  csb_strv_free(&frags);
  *n = res.len;
  if (res.items == NULL) return csb_xcalloc(1, sizeof(char *));
  return res.items; /* NULL-terminated; ownership moves to the glob */
}

/* ---- byte classes ---------------------------------------------------------- */

static void refine(csb_glob *g, const csb_byteset *s) {
  int map[512];
  for (int i = 0; i < 2 * g->nclasses; i++) map[i] = -1;
  int next = 0;
  for (unsigned b = 0; b < 256; b++) {
    int key = g->byte_class[b] * 2 + bs_has(s, b);
    if (map[key] < 0) map[key] = next++;
    g->byte_class[b] = (uint8_t)map[key];
  }
  g->nclasses = next;
}

static void compute_byte_classes(csb_glob *g) {
  memset(g->byte_class, 0, sizeof g->byte_class);
  g->nclasses = 1;
  csb_byteset lits;
  memset(&lits, 0, sizeof lits);
  for (size_t i = 0; i < g->nstates; i++)
    if (g->states[i].kind == CSB_N_BYTE) bs_add(&lits, g->states[i].arg);
  for (unsigned c = 0; c < 256; c++) {
    if (!bs_has(&lits, c)) continue;
    csb_byteset one;
    memset(&one, 0, sizeof one);
    bs_add(&one, c);
    refine(g, &one);
  }
  for (size_t i = 0; i < g->nsets; i++) refine(g, &g->sets[i]);
  for (int c = 0; c < g->nclasses; c++) {
    g->class_rep[c] = 0;
    g->class_size[c] = 0;
  }
  for (unsigned b = 256; b-- > 0;) {
    g->class_rep[g->byte_class[b]] = (uint8_t)b;
    g->class_size[g->byte_class[b]]++;
  }
}

/* ---- required tail --------------------------------------------------------- */

/* Appends to `rev`, last byte first, the bytes that every string of `q`
 * ends with, stopping at a '/' or at anything that is not a literal.
 * Returns 1 when the whole of `q` was consumed that way (the caller may
 * go on with the tokens before it). */
static int tail_rev(const gseq *q, csb_buf *rev) {
  for (size_t i = q->n; i-- > 0;) {
    const gtok *t = &q->v[i];
    if (t->kind == T_LIT && t->byte != '/') {
      csb_buf_putc(rev, (char)t->byte);
      continue;
    }
    if (t->kind != T_ALT) return 0;
    if (alt_is_empty(t)) continue; /* matches only "" */
    /* The longest common tail of the non-empty alternatives. */
    csb_buf common;
    csb_buf_init(&common);
    int first = 1, all_whole = 1;
    for (size_t k = 0; k < t->nalts; k++) {
      if (seq_is_empty(&t->alts[k])) continue;
      csb_buf one;
      csb_buf_init(&one);
      int whole = tail_rev(&t->alts[k], &one);
      if (first) {
        csb_buf_append(&common, one.data ? one.data : "", one.len);
        first = 0;
        all_whole = whole;
      } else {
        size_t m = 0;
        while (m < common.len && m < one.len && common.data[m] == one.data[m]) m++;
        if (m != common.len || m != one.len || !whole) all_whole = 0;
        common.len = m;
      }
      csb_buf_free(&one);
    }
    if (common.len) csb_buf_append(rev, common.data, common.len);
    csb_buf_free(&common);
    /* Identical all-literal alternatives ("{x,x}") behave like one
     * literal; anything else ends the tail here. */
    if (!all_whole) return 0;
  }
  return 1;
}

static void compute_tail(csb_glob *g, const gseq *top) {
  csb_buf rev;
  csb_buf_init(&rev);
  (void)tail_rev(top, &rev);
  g->tail_len = rev.len;
  g->tail = csb_xmalloc(rev.len + 1);
  for (size_t i = 0; i < rev.len; i++) g->tail[i] = rev.data[rev.len - 1 - i];
  g->tail[rev.len] = '\0';
  csb_buf_free(&rev);
}

/* ---- compile ------------------------------------------------------------- */

static void parser_free(parser *P) {
  for (size_t i = 0; i < P->nbr; i++) seq_free(&P->br[i]);
  free(P->br);
  free(P->alt);
  free(P->sets);
}

/* Parses the pattern into *P (parser_free it, whatever the outcome). Every
 * error a pattern can have is found here. */
static int parse_pattern(const char *pattern, parser *P, csb_error *err) {
  memset(P, 0, sizeof *P);
  size_t n = strlen(pattern);
  if (n > CSB_GLOB_MAX_PATTERN)
    return csb_error_set(err, "glob pattern longer than %d bytes", CSB_GLOB_MAX_PATTERN);
  P->s = (const unsigned char *)pattern;
  P->n = n;
  P->err = err;
  return parse(P);
}

int csb_glob_check(const char *pattern, csb_error *err) {
  parser P;
  int ok = parse_pattern(pattern, &P, err);
  parser_free(&P);
  return ok;
}

int csb_glob_compile(const char *pattern, csb_glob **out, csb_error *err) {
  *out = NULL;
  parser P;
  if (!parse_pattern(pattern, &P, err)) {
    parser_free(&P);
    return 0;
  }
  gseq *top = &P.br[0];

  csb_glob *g = csb_xcalloc(1, sizeof *g);
  g->pattern = csb_xstrdup(pattern);
  g->nsets = CSB_SET_FIRST_CLASS + P.nsets;
  g->sets = csb_xcalloc(g->nsets, sizeof *g->sets);
  memset(&g->sets[CSB_SET_ALL], 0xff, sizeof g->sets[CSB_SET_ALL]);
  g->sets[CSB_SET_NOT_SLASH] = g->sets[CSB_SET_ALL];
  bs_del(&g->sets[CSB_SET_NOT_SLASH], '/');
  if (P.nsets) memcpy(&g->sets[CSB_SET_FIRST_CLASS], P.sets, P.nsets * sizeof *P.sets);

  /* NFA */
  int32_t match = new_state(g, CSB_N_MATCH, 0, -1, -1);
  if (is_match_all(top)) {
    int32_t loop = new_state(g, CSB_N_SPLIT, 0, -1, match);
    int32_t any = new_state(g, CSB_N_SET, CSB_SET_ALL, loop, -1);
    g->states[loop].out = any;
    g->start = loop;
  } else {
    g->start = build_seq(g, top, match);
  }
  compute_byte_classes(g);

  /* regex */
  csb_buf re;
  csb_buf_init(&re);
  csb_buf_putc(&re, '^');
  if (is_match_all(top))
    csb_buf_puts(&re, ".*");
  else
    re_seq(&re, g, top);
  csb_buf_putc(&re, '$');
  g->regex = csb_buf_steal(&re);
  g->ancestors = ancestor_regexes(g, top, &g->nancestors);
  compute_tail(g, top);

  /* static prefix: the leading literal bytes (plus the '/' that a leading
   * recursive token starts with), cut at the last '/'. */
  csb_buf lit;
  csb_buf_init(&lit);
  csb_buf_puts(&lit, "");
  size_t k = 0;
  while (k < top->n && top->v[k].kind == T_LIT) csb_buf_putc(&lit, (char)top->v[k++].byte);
  g->literal = k == top->n;
  if (k < top->n && (top->v[k].kind == T_RSUFFIX || top->v[k].kind == T_RZM))
    csb_buf_putc(&lit, '/');
  size_t cut = lit.len;
  while (cut > 0 && lit.data[cut - 1] != '/') cut--;
  if (cut == 0)
    lit.len = 0; /* no directory part */
  else if (cut == 1)
    lit.len = 1; /* "/" */
  else
    lit.len = cut - 1;
  lit.data[lit.len] = '\0';
  g->prefix = csb_buf_steal(&lit);
  g->prefix_len = strlen(g->prefix);
  /* Source offset where the prefix ends (one token per prefix byte). */
  size_t plen = g->prefix_len;
  g->prefix_raw_end = plen >= 2 && plen <= top->n ? top->v[plen - 1].raw_end : 0;

  parser_free(&P);
  *out = g;
  return 1;
}

void csb_glob_free(csb_glob *g) {
  if (!g) return;
  free(g->pattern);
  free(g->regex);
  for (size_t i = 0; i < g->nancestors; i++) free(g->ancestors[i]);
  free(g->ancestors);
  free(g->prefix);
  free(g->tail);
  free(g->sets);
  free(g->states);
  free(g);
}

const char *csb_glob_pattern(const csb_glob *g) { return g->pattern; }
const char *csb_glob_static_prefix(const csb_glob *g) { return g->prefix; }
size_t csb_glob_static_prefix_source_len(const csb_glob *g) { return g->prefix_raw_end; }
int csb_glob_is_literal(const csb_glob *g) { return g->literal; }

int csb_glob_scan_depth(const csb_glob *g, int cap) {
  /* Only "**" builds a state that consumes '/' in a loop. */
  for (size_t i = 0; i < g->nstates; i++)
    if (g->states[i].kind == CSB_N_SET && g->states[i].arg == CSB_SET_ALL)
      return cap > 0 ? cap : CSB_GLOB_DEPTH_UNLIMITED;
  /* Otherwise a match has at most one level per separator after the
   * prefix (alternatives included: an upper bound). */
  int levels = 0;
  for (const char *p = g->pattern + g->prefix_raw_end; *p; p++) levels += *p == '/';
  return levels;
}
char *csb_glob_to_regex(const csb_glob *g) { return csb_xstrdup(g->regex); }

size_t csb_glob_ancestor_regexes(const csb_glob *g, const char *const **out) {
  *out = (const char *const *)g->ancestors;
  return g->nancestors;
}

/* Appends `literal` so that the pattern matches exactly its text: POSIX
 * escapes each metacharacter with a backslash; `win` (patterns where `\`
 * separates) writes each as a class of one member (`[[]`, `[]]`). */
static void glob_escape_into(csb_buf *b, const char *literal, int win) {
  for (const char *c = literal; *c; c++) {
    if (win ? strchr("*?[]{},", *c) == NULL : strchr("*?[]{},\\", *c) == NULL) {
      csb_buf_putc(b, *c);
    } else if (win) {
      csb_buf_putc(b, '[');
      csb_buf_putc(b, *c);
      csb_buf_putc(b, ']');
    } else {
      csb_buf_putc(b, '\\');
      csb_buf_putc(b, *c);
    }
  }
}

char *csb_glob_escape(const char *literal, int win) {
  csb_buf b;
  csb_buf_init(&b);
  glob_escape_into(&b, literal, win);
  return csb_buf_steal(&b);
}

int csb_glob_rebase(const csb_glob *g, const char *prefix, char **out, csb_error *err) {
  *out = NULL;
  if (g->prefix_raw_end == 0)
    return csb_error_set(err, "glob `%s` has no static directory prefix below the root",
                         g->pattern);
  if (prefix[0] != '/') return csb_error_set(err, "new prefix `%s` is not absolute", prefix);
  csb_buf b;
  csb_buf_init(&b);
  if (strcmp(prefix, "/") != 0) glob_escape_into(&b, prefix, 0);
  csb_buf_puts(&b, g->pattern + g->prefix_raw_end);
  if (b.len > CSB_GLOB_MAX_PATTERN) {
    csb_buf_free(&b);
    return csb_error_set(err, "glob pattern longer than %d bytes", CSB_GLOB_MAX_PATTERN);
  }
  *out = csb_buf_steal(&b);
  return 1;
}

/* ---- NFA simulation -------------------------------------------------------- */

int csb_nfa_accepts(const csb_glob *g, int32_t s, unsigned char c) {
  const csb_nstate *st = &g->states[s];
  if (st->kind == CSB_N_BYTE) return st->arg == c;
  return bs_has(&g->sets[st->arg], c);
}

void csb_nfa_closure(const csb_glob *g, int32_t s, csb_nfa_scratch *w, int32_t *list,
                     size_t *n, int *accept) {
  size_t sp = 0;
  w->stack[sp++] = s;
  while (sp) {
    int32_t x = w->stack[--sp];
    if (w->mark[x] == w->stamp) continue;
    w->mark[x] = w->stamp;
    const csb_nstate *st = &g->states[x];
    switch (st->kind) {
      case CSB_N_SPLIT:
        w->stack[sp++] = st->out1;
        w->stack[sp++] = st->out;
        break;
      case CSB_N_MATCH:
        *accept = 1;
        break;
      default:
        list[(*n)++] = x;
        break;
    }
  }
}

void csb_nfa_scratch_init(csb_nfa_scratch *w, const csb_glob *g) {
  w->stamp = 0;
  w->mark = csb_xcalloc(g->nstates, sizeof *w->mark);
  w->stack = csb_xmalloc((2 * g->nstates + 2) * sizeof *w->stack);
}

void csb_nfa_scratch_free(csb_nfa_scratch *w) {
  free(w->mark);
  free(w->stack);
}

void csb_nfa_next_stamp(csb_nfa_scratch *w, size_t nstates) {
  if (++w->stamp == 0) {
    memset(w->mark, 0, nstates * sizeof *w->mark);
    w->stamp = 1;
  }
}

/* 1 when `path` lies strictly below the static prefix, as every path the
 * glob matches does: it starts with the prefix and a '/' after it (just
 * "/" for the root; anything for an empty prefix). */
static int below_prefix(const csb_glob *g, const char *path, size_t len) {
  size_t n = g->prefix_len;
  if (n == 0) return 1;
  if (len < n || memcmp(path, g->prefix, n) != 0) return 0;
  return n == 1 || (len > n && path[n] == '/');
}

/* The NFA run over path[0..len): 1 when it accepts; with `below`, 1 when
 * states remain alive after it (some continuation may still match). */
static int nfa_run(const csb_glob *g, const char *path, size_t len, int below);

int csb_glob_match_n(const csb_glob *g, const char *path, size_t len) {
  if (!below_prefix(g, path, len)) return 0;
  return nfa_run(g, path, len, 0);
}

int csb_glob_may_match_below(const csb_glob *g, const char *dir) {
  size_t len = strlen(dir);
  /* `dir` must be the prefix or lie below it (or above it: the prefix
   * itself is then still ahead). */
  size_t n = g->prefix_len;
  if (n > 1) {
    size_t m = len < n ? len : n;
    if (memcmp(dir, g->prefix, m) != 0) return 0;
    if (len < n) {
      if (g->prefix[len] != '/' && len != 1) return 0;
    } else if (len > n && dir[n] != '/') {
      return 0;
    }
  }
  char *d = csb_xmalloc(len + 2);
  memcpy(d, dir, len);
  size_t dl = len;
  if (dl == 0 || d[dl - 1] != '/') d[dl++] = '/';
  d[dl] = '\0';
  int r = nfa_run(g, d, dl, 1);
  free(d);
  return r;
}

static int nfa_run(const csb_glob *g, const char *path, size_t len, int below) {
  csb_nfa_scratch w;
  csb_nfa_scratch_init(&w, g);
  int32_t *a = csb_xmalloc(g->nstates * sizeof *a);
  int32_t *b = csb_xmalloc(g->nstates * sizeof *b);
  size_t na = 0, nb;
  int acc = 0;
  csb_nfa_next_stamp(&w, g->nstates);
  csb_nfa_closure(g, g->start, &w, a, &na, &acc);
  const unsigned char *p = (const unsigned char *)path;
  size_t i = 0;
  for (; i < len && na > 0; i++) {
    csb_nfa_next_stamp(&w, g->nstates);
    nb = 0;
    acc = 0;
    for (size_t k = 0; k < na; k++) {
      int32_t x = a[k];
      if (csb_nfa_accepts(g, x, p[i])) csb_nfa_closure(g, g->states[x].out, &w, b, &nb, &acc);
    }
    int32_t *t = a;
    a = b;
    b = t;
    na = nb;
  }
  int res = i == len ? (below ? na > 0 || acc : acc) : 0;
  free(a);
  free(b);
  csb_nfa_scratch_free(&w);
  return res;
}

int csb_glob_match(const csb_glob *g, const char *path) {
  return csb_glob_match_n(g, path, strlen(path));
}
