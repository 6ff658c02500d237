/* parse.c - the Codex patch grammar with upstream's lenient mode.
 *
 *   start       : "*** Begin Patch" LF hunk* "*** End Patch" LF?
 *   hunk        : add | delete | update
 *   add         : "*** Add File: " path LF ("+" text LF)*
 *   delete      : "*** Delete File: " path LF
 *   update      : "*** Update File: " path LF ("*** Move to: " path LF)? chunk+
 *   chunk       : ("@@" | "@@ " text) LF? ((" "|"+"|"-") text LF | LF)+
 *                 ("*** End of File" LF)?
 *
 * The whole text is trimmed of Unicode whitespace, split on LF (up to two
 * CRs before each LF are dropped: upstream turns CRLF into LF, then drops
 * one CR at the end of each line); the marker lines compare after trimming.
 * As upstream: an update hunk ends only at the next hunk's header or the
 * end marker (another line there starts a chunk, and so needs "@@");
 * blank lines before its first chunk begin that chunk; an end marker
 * followed by blank lines only (then the last one) ends the hunks. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "csb_patch.h"
#include "patch_internal.h"

#define BEGIN_MARKER "*** Begin Patch"
#define END_MARKER "*** End Patch"
#define ADD_MARKER "*** Add File: "
#define DELETE_MARKER "*** Delete File: "
#define UPDATE_MARKER "*** Update File: "
#define MOVE_MARKER "*** Move to: "
#define EOF_MARKER "*** End of File"

typedef struct {
  csb_patch_line *v;
  size_t n;
  size_t cap;
} line_vec;

/* The parser's working state: the patch's arena, where every array and
 * string of the result goes, and growable vectors reused from hunk to hunk
 * (a finished hunk's chunks are copied to the arena at their final size). */
typedef struct {
  csb_patch_arena *arena;
  csb_patch_chunk *chunks;
  size_t n_chunks, cap_chunks;
  csb_buf add;
} parser;

static void parser_free(parser *x) {
  free(x->chunks);
  csb_buf_free(&x->add);
}

/* A copy of n bytes in the arena (NULL when n is 0). */
static void *arena_copy(parser *x, const void *src, size_t n) {
  if (n == 0) return NULL;
  void *d = csb_patch_i_arena_take(x->arena, n);
  memcpy(d, src, n);
  return d;
}

/* Formats a message into err (truncated) and full (untruncated). */
CSB_PRINTF(4, 5)
static int fail(csb_error *err, csb_buf *full, int line, const char *fmt, ...) {
  csb_buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  csb_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  int r = csb_patch_set_msg(err, full, line, &b);
  csb_buf_free(&b);
  return r;
}

/* Appends a line's bytes (which may hold NUL) to a buffer. */
static void put_line(csb_buf *b, csb_patch_line l) { csb_buf_append(b, l.s, l.n); }

/* A message made of literal parts around one line of text. */
static int fail_with_line(csb_error *err, csb_buf *full, int line, const char *pre,
                          csb_patch_line l, const char *post) {
  csb_buf b = {0};
  csb_buf_puts(&b, pre);
  put_line(&b, l);
  csb_buf_puts(&b, post);
  csb_patch_set_msg(err, full, line, &b);
  csb_buf_free(&b);
  return 0;
}

static csb_patch_line trim_line(csb_patch_line l) {
  size_t off = csb_patch_ltrim_off(l.s, l.n);
  csb_patch_line r = {l.s + off, l.n - off};
  r.n = csb_patch_rtrim_len(r.s, r.n);
  return r;
}

static int line_eq(csb_patch_line l, const char *lit) {
  size_t n = strlen(lit);
  return l.n == n && memcmp(l.s, lit, n) == 0;
}

static int line_starts(csb_patch_line l, const char *lit) {
  size_t n = strlen(lit);
  return l.n >= n && memcmp(l.s, lit, n) == 0;
}

static int line_ends(csb_patch_line l, const char *lit) {
  size_t n = strlen(lit);
  return l.n >= n && memcmp(l.s + l.n - n, lit, n) == 0;
}

/* l without trailing Unicode whitespace. */
static csb_patch_line rtrim_line(csb_patch_line l) {
  l.n = csb_patch_rtrim_len(l.s, l.n);
  return l;
}

/* Whether a line of an update hunk (at its start, trailing whitespace
 * aside) ends it: the next hunk's header with a path, or the end marker.
 * Other lines there, `*`-lines included, start a chunk, as upstream. */
static int ends_update_hunk(csb_patch_line l) {
  csb_patch_line r = rtrim_line(l);
  return (r.n > strlen(ADD_MARKER) && line_starts(r, ADD_MARKER)) ||
         (r.n > strlen(DELETE_MARKER) && line_starts(r, DELETE_MARKER)) ||
         (r.n > strlen(UPDATE_MARKER) && line_starts(r, UPDATE_MARKER)) || line_eq(r, END_MARKER);
}

/* A NUL-terminated copy of n bytes, in the arena when x is given. */
static char *dup_bytes(parser *x, const char *s, size_t n) {
  char *p = x ? csb_patch_i_arena_take(x->arena, n + 1) : csb_xmalloc(n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static int check_boundaries(const csb_patch_line *lines, size_t n, csb_error *err,
                            csb_buf *full) {
  /* An empty patch reports the last line, as upstream does. */
  if (n > 0 && !line_eq(trim_line(lines[0]), BEGIN_MARKER))
    return fail(err, full, 0, "The first line of the patch must be '*** Begin Patch'");
  if (n == 0 || !line_eq(trim_line(lines[n - 1]), END_MARKER))
    return fail(err, full, 0, "The last line of the patch must be '*** End Patch'");
  return 1;
}

/* "apply_patch <<'EOF'"-style opener (csb extension). */
static int is_shell_heredoc_opener(csb_patch_line l) {
  static const char *const cmds[] = {"apply_patch", "applypatch"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(cmds); i++) {
    size_t cn = strlen(cmds[i]);
    if (l.n <= cn || memcmp(l.s, cmds[i], cn) != 0) continue;
    csb_patch_line rest = {l.s + cn, l.n - cn};
    size_t sp = 0;
    while (sp < rest.n && (rest.s[sp] == ' ' || rest.s[sp] == '\t')) sp++;
    if (sp == 0) continue;
    rest.s += sp;
    rest.n -= sp;
    rest.n = csb_patch_rtrim_len(rest.s, rest.n);
    if (line_eq(rest, "<<EOF") || line_eq(rest, "<<'EOF'") || line_eq(rest, "<<\"EOF\""))
      return 1;
  }
  return 0;
}

void csb_patch_free(csb_patch *p) {
  if (!p) return;
  free(p->hunks);
  if (p->arena_) {
    csb_patch_i_arena_release(p->arena_);
    free(p->arena_);
  }
  free(p->text_);
  free(p);
}

static const char k_unexpected_post[] =
    "'. Every line should start with ' ' (context line), '+' (added line), or '-' "
    "(removed line)";

/* Parses one chunk of an update hunk from lines[0..n). *used gets the
 * number of lines consumed. */
static int parse_chunk(parser *x, const csb_patch_line *lines, size_t n, int line_number,
                       int allow_missing_context, csb_patch_chunk *c, size_t *used,
                       csb_error *err, csb_buf *full) {
  memset(c, 0, sizeof(*c));
  c->line = line_number;
  if (n == 0) return fail(err, full, line_number, "Update hunk does not contain any lines");
  size_t start;
  /* Upstream reads the marker line without its trailing whitespace: "@@ "
   * and "@@\t" are "@@", "@@ x " has the context "x". */
  csb_patch_line head = rtrim_line(lines[0]);
  if (line_eq(head, "@@")) {
    start = 1;
  } else if (line_starts(head, "@@ ")) {
    c->has_context = 1;
    c->context.s = head.s + 3;
    c->context.n = head.n - 3;
    start = 1;
  } else {
    if (!allow_missing_context)
      return fail_with_line(err, full, line_number,
                            "Expected update hunk to start with a @@ context marker, got: '",
                            lines[0], "'");
    start = 0;
  }
  if (start >= n)
    return fail(err, full, line_number + 1, "Update hunk does not contain any lines");
  /* Two passes over the chunk: the first checks it and counts its lines,
   * the second fills arrays of exactly that size in the arena (no growing
   * copies: a chunk of millions of lines costs its arrays once). */
  size_t parsed = 0, n_old = 0, n_new = 0, n_ctx = 0;
  for (size_t i = start; i < n; i++) {
    csb_patch_line l = lines[i];
    if (line_eq(l, EOF_MARKER)) {
      if (parsed == 0)
        return fail(err, full, line_number + 1, "Update hunk does not contain any lines");
      c->is_end_of_file = 1;
      parsed++;
      break;
    }
    if (l.n == 0 || l.s[0] == ' ') {
      n_old++;
      n_new++;
      n_ctx++;
    } else if (l.s[0] == '+') {
      n_new++;
    } else if (l.s[0] == '-') {
      n_old++;
    } else {
      if (parsed == 0)
        return fail_with_line(err, full, line_number + (int)start,
                              "Unexpected line found in update hunk: '", l, k_unexpected_post);
      break;
    }
    parsed++;
  }
  c->old_lines = n_old ? csb_patch_i_arena_take(x->arena, n_old * sizeof(*c->old_lines)) : NULL;
  c->new_lines = n_new ? csb_patch_i_arena_take(x->arena, n_new * sizeof(*c->new_lines)) : NULL;
  c->ctx_old = n_ctx ? csb_patch_i_arena_take(x->arena, n_ctx * sizeof(size_t)) : NULL;
  c->ctx_new = n_ctx ? csb_patch_i_arena_take(x->arena, n_ctx * sizeof(size_t)) : NULL;
  size_t body_lines = parsed - (size_t)c->is_end_of_file;
  for (size_t i = start; i < start + body_lines; i++) {
    csb_patch_line l = lines[i];
    if (l.n == 0 || l.s[0] == ' ') {
      csb_patch_line body = l.n ? (csb_patch_line){l.s + 1, l.n - 1} : l;
      c->ctx_old[c->n_ctx] = c->n_old;
      c->ctx_new[c->n_ctx] = c->n_new;
      c->n_ctx++;
      c->old_lines[c->n_old++] = body;
      c->new_lines[c->n_new++] = body;
    } else if (l.s[0] == '+') {
      c->new_lines[c->n_new++] = (csb_patch_line){l.s + 1, l.n - 1};
    } else {
      c->old_lines[c->n_old++] = (csb_patch_line){l.s + 1, l.n - 1};
    }
  }
  *used = parsed + start;
  return 1;
}

/* Parses one hunk from lines[0..n); *used gets the lines consumed. */
static int parse_hunk(parser *x, const csb_patch_line *lines, size_t n, int line_number,
                      csb_patch_hunk *h, size_t *used, csb_error *err, csb_buf *full) {
  memset(h, 0, sizeof(*h));
  h->line = line_number;
  csb_patch_line first = trim_line(lines[0]);
  if (line_starts(first, ADD_MARKER)) {
    size_t k = strlen(ADD_MARKER);
    h->kind = CSB_PATCH_ADD;
    h->path = dup_bytes(x, first.s + k, first.n - k);
    h->path_len = first.n - k;
    csb_buf *b = &x->add;
    b->len = 0;
    size_t i = 1;
    for (; i < n && lines[i].n > 0 && lines[i].s[0] == '+'; i++) {
      csb_buf_append(b, lines[i].s + 1, lines[i].n - 1);
      csb_buf_putc(b, '\n');
    }
    h->contents_len = b->len;
    h->contents = dup_bytes(x, b->len ? b->data : "", b->len);
    *used = i;
    return 1;
  }
  if (line_starts(first, DELETE_MARKER)) {
    size_t k = strlen(DELETE_MARKER);
    h->kind = CSB_PATCH_DELETE;
    h->path = dup_bytes(x, first.s + k, first.n - k);
    h->path_len = first.n - k;
    *used = 1;
    return 1;
  }
  if (line_starts(first, UPDATE_MARKER)) {
    size_t k = strlen(UPDATE_MARKER);
    h->kind = CSB_PATCH_UPDATE;
    h->path = dup_bytes(x, first.s + k, first.n - k);
    h->path_len = first.n - k;
    size_t i = 1;
    /* "*** End of File" lines before the move (and before the first
     * chunk, below) are passed over, as upstream. */
    while (i < n && line_eq(lines[i], EOF_MARKER)) i++;
    /* Upstream takes the move's path without trailing whitespace, and
     * "*** Move to: " without one is a line of a chunk. */
    csb_patch_line mv = i < n ? rtrim_line(lines[i]) : (csb_patch_line){NULL, 0};
    if (i < n && mv.n > strlen(MOVE_MARKER) && line_starts(mv, MOVE_MARKER)) {
      size_t m = strlen(MOVE_MARKER);
      h->move_path = dup_bytes(x, mv.s + m, mv.n - m);
      h->move_path_len = mv.n - m;
      i++;
    }
    x->n_chunks = 0;
    while (i < n) {
      /* Blank lines between chunks are skipped; before the first one,
       * they begin it (as context lines), as upstream. */
      if (x->n_chunks > 0 && trim_line(lines[i]).n == 0) {
        i++;
        continue;
      }
      if (ends_update_hunk(lines[i])) break;
      /* Before the first chunk, "*** End of File" is passed over. */
      if (x->n_chunks == 0 && line_eq(lines[i], EOF_MARKER)) {
        i++;
        continue;
      }
      csb_patch_chunk c;
      size_t cu = 0;
      if (!parse_chunk(x, lines + i, n - i, line_number + (int)i, x->n_chunks == 0, &c, &cu,
                       err, full)) {
        memset(h, 0, sizeof(*h));
        return 0;
      }
      x->chunks = csb_xgrow(x->chunks, &x->cap_chunks, x->n_chunks + 1, sizeof(*x->chunks));
      x->chunks[x->n_chunks++] = c;
      i += cu;
    }
    h->chunks = arena_copy(x, x->chunks, x->n_chunks * sizeof(*x->chunks));
    h->n_chunks = x->n_chunks;
    if (h->n_chunks == 0) {
      csb_buf b = {0};
      csb_buf_puts(&b, "Update file hunk for path '");
      csb_buf_append(&b, h->path, h->path_len);
      csb_buf_puts(&b, "' is empty");
      csb_patch_line l = {b.data, b.len};
      fail_with_line(err, full, line_number, "", l, "");
      csb_buf_free(&b);
      memset(h, 0, sizeof(*h));
      return 0;
    }
    *used = i;
    return 1;
  }
  return fail_with_line(err, full, line_number, "'", first,
                        "' is not a valid hunk header. Valid hunk headers: '*** Add File: "
                        "{path}', '*** Delete File: {path}', '*** Update File: {path}'");
}

int csb_patch_parse(const char *text, size_t len, unsigned flags, csb_patch **out,
                    csb_error *err, csb_buf *full) {
  *out = NULL;
  if (len > CSB_PATCH_MAX_PATCH_BYTES)
    return fail(err, full, 0, "patch is larger than %zu bytes", CSB_PATCH_MAX_PATCH_BYTES);
  if (!csb_utf8_valid(text, len, NULL)) return fail(err, full, 0, "patch is not valid UTF-8");

  csb_patch *p = csb_xcalloc(1, sizeof(*p));
  p->text_ = dup_bytes(NULL, text, len);
  p->arena_ = csb_xcalloc(1, sizeof(*p->arena_));
  parser x;
  memset(&x, 0, sizeof(x));
  x.arena = p->arena_;
  const char *s = p->text_;
  size_t off = csb_patch_ltrim_off(s, len);
  size_t end = off + csb_patch_rtrim_len(s + off, len - off);

  /* The lines, in an array of exactly their number. */
  line_vec lv = {0};
  if (end > off) {
    size_t count = 1;
    for (const char *q = s + off; (q = memchr(q, '\n', (size_t)(s + end - q))) != NULL; q++) count++;
    lv.v = csb_xcalloc(count, sizeof(*lv.v));
    lv.cap = count;
  }
  size_t pos = off;
  while (pos < end) {
    const char *nl = memchr(s + pos, '\n', end - pos);
    size_t stop = nl ? (size_t)(nl - s) : end;
    csb_patch_line l = {s + pos, stop - pos};
    /* Upstream turns each CRLF into LF and then drops one CR at the end of
     * each line: up to two CRs before an LF go. */
    if (nl && l.n > 0 && l.s[l.n - 1] == '\r') l.n--;
    if (l.n > 0 && l.s[l.n - 1] == '\r') l.n--;
    lv.v[lv.n++] = l;
    pos = nl ? stop + 1 : end;
  }

  const csb_patch_line *lines = lv.v;
  size_t n = lv.n;
  csb_error strict_err;
  csb_buf strict_full = {0};
  if (!check_boundaries(lines, n, &strict_err, &strict_full)) {
    int opener = n >= 4 && (line_eq(lines[0], "<<EOF") || line_eq(lines[0], "<<'EOF'") ||
                            line_eq(lines[0], "<<\"EOF\""));
    if (!opener && n >= 4 && (flags & CSB_PATCH_PARSE_SHELL_HEREDOC))
      opener = is_shell_heredoc_opener(lines[0]);
    if (opener && line_ends(lines[n - 1], "EOF")) {
      lines++;
      n -= 2;
      if (!check_boundaries(lines, n, err, full)) goto fail;
    } else {
      if (err) *err = strict_err;
      if (full) csb_buf_append(full, strict_full.data, strict_full.len);
      goto fail;
    }
  }

  {
    size_t i = 1, last = n - 1, cap = 0;
    int line_number = 2;
    while (i < last) {
      /* An end marker before the last line ends the hunks when only
       * blank lines follow it, as upstream; otherwise the patch does not
       * end there. */
      if (line_eq(trim_line(lines[i]), END_MARKER)) {
        for (size_t k = i + 1; k < last; k++) {
          if (trim_line(lines[k]).n == 0) continue;
          fail(err, full, 0, "The last line of the patch must be '*** End Patch'");
          goto fail;
        }
        break;
      }
      csb_patch_hunk h;
      size_t used = 0;
      if (!parse_hunk(&x, lines + i, last - i, line_number, &h, &used, err, full)) goto fail;
      p->hunks = csb_xgrow(p->hunks, &cap, p->n_hunks + 1, sizeof(*p->hunks));
      p->hunks[p->n_hunks++] = h;
      i += used;
      line_number += (int)used;
    }
  }
  csb_buf_free(&strict_full);
  free(lv.v);
  parser_free(&x);
  *out = p;
  return 1;

fail:
  csb_buf_free(&strict_full);
  free(lv.v);
  parser_free(&x);
  csb_patch_free(p);
  return 0;
}
