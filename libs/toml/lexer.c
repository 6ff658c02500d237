/* lexer.c - TOML tokens: whitespace, comments, newlines, keys, the four
 * string forms, and bare scalars (booleans, numbers, dates and times). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

/* ---- cursor ------------------------------------------------------------------ */

void csb_toml_i_lex_init(csb_toml_lexer *lx, const char *data, size_t len,
                         csb_error *err) {
  lx->p = data;
  lx->end = data + len;
  lx->line = 1;
  lx->col = 1;
  lx->err = err;
  csb_buf_init(&lx->scratch);
}

void csb_toml_i_lex_done(csb_toml_lexer *lx) { csb_buf_free(&lx->scratch); }

int csb_toml_i_fail_at(csb_toml_lexer *lx, int line, int col, const char *fmt, ...) {
  if (!lx->err) return 0;
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(lx->err, fmt, ap);
  va_end(ap);
  lx->err->line = line;
  lx->err->col = col;
  return 0;
}

csb_toml_pos csb_toml_i_here(const csb_toml_lexer *lx) {
  csb_toml_pos pos = {lx->line, lx->col, lx->line, lx->col, 0};
  return pos;
}

void csb_toml_i_end(const csb_toml_lexer *lx, csb_toml_pos *pos) {
  pos->end_line = lx->line;
  pos->end_col = lx->col > 1 ? lx->col - 1 : 1;
}

void csb_toml_i_adv(csb_toml_lexer *lx) {
  unsigned char c = (unsigned char)*lx->p++;
  if (c == '\n') {
    lx->line++;
    lx->col = 1;
  } else if ((c & 0xC0) != 0x80) {
    lx->col++;
  }
}

#define HERE_FAIL(lx, ...) csb_toml_i_fail_at((lx), (lx)->line, (lx)->col, __VA_ARGS__)

static int at_eof(const csb_toml_lexer *lx) { return lx->p >= lx->end; }

static int peek_is(const csb_toml_lexer *lx, size_t off, char c) {
  return (size_t)(lx->end - lx->p) > off && lx->p[off] == c;
}

static int is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

/* Describes the character at the cursor for messages. */
static const char *char_desc(const csb_toml_lexer *lx, char buf[32]) {
  if (at_eof(lx)) return "end of input";
  unsigned char c = (unsigned char)*lx->p;
  if (c == '\n' || c == '\r') return "end of line";
  if (c >= 0x21 && c < 0x7F) {
    snprintf(buf, 32, "'%c'", c);
  } else if (c < 0x80) {
    snprintf(buf, 32, "U+%04X", c);
  } else {
    /* Decode for the message (input is valid UTF-8 by now). */
    uint32_t cp = c;
    (void)csb_utf8_decode(lx->p, (size_t)(lx->end - lx->p), &cp, NULL);
    snprintf(buf, 32, "U+%04X", (unsigned)cp);
  }
  return buf;
}

void csb_toml_i_skip_ws(csb_toml_lexer *lx) {
  while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t')) {
    lx->p++;
    lx->col++;
  }
}

int csb_toml_i_eat_newline(csb_toml_lexer *lx) {
  if (at_eof(lx)) return 0;
  if (*lx->p == '\n') {
    csb_toml_i_adv(lx);
    return 1;
  }
  if (*lx->p == '\r' && peek_is(lx, 1, '\n')) {
    lx->p++;
    csb_toml_i_adv(lx);
    return 1;
  }
  return 0;
}

int csb_toml_i_skip_comment(csb_toml_lexer *lx) {
  csb_toml_i_adv(lx); /* '#' */
  while (lx->p < lx->end) {
    unsigned char c = (unsigned char)*lx->p;
    if (c == '\n') break;
    if (c == '\r') {
      if (peek_is(lx, 1, '\n')) break;
      return HERE_FAIL(lx, "carriage return not followed by a newline in comment");
    }
    if (is_control(c))
      return HERE_FAIL(lx, "control character U+%04X is not allowed in a comment", c);
    csb_toml_i_adv(lx);
  }
  return 1;
}

int csb_toml_i_skip_ws_nl(csb_toml_lexer *lx) {
  for (;;) {
    csb_toml_i_skip_ws(lx);
    if (at_eof(lx)) return 1;
    if (*lx->p == '#') {
      if (!csb_toml_i_skip_comment(lx)) return 0;
    } else if (!csb_toml_i_eat_newline(lx)) {
      return 1;
    }
  }
}

int csb_toml_i_end_of_line(csb_toml_lexer *lx, const char *what) {
  csb_toml_i_skip_ws(lx);
  if (!at_eof(lx) && *lx->p == '#' && !csb_toml_i_skip_comment(lx)) return 0;
  if (at_eof(lx) || csb_toml_i_eat_newline(lx)) return 1;
  if (*lx->p == '\r') return HERE_FAIL(lx, "carriage return not followed by a newline");
  char buf[32];
  return HERE_FAIL(lx, "expected a newline after %s, found %s", what, char_desc(lx, buf));
}

/* ---- keys for messages ------------------------------------------------------- */

static int is_bare(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static void key_repr(csb_buf *b, const char *s, size_t len, size_t limit) {
  size_t shown = len > limit ? limit : len;
  while (shown > 0 && shown < len && ((unsigned char)s[shown] & 0xC0) == 0x80) shown--;
  int bare = len > 0;
  for (size_t i = 0; i < len && bare; i++) bare = is_bare((unsigned char)s[i]);
  if (bare) {
    csb_buf_append(b, s, shown);
  } else {
    csb_buf_putc(b, '"');
    for (size_t i = 0; i < shown; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c == '"' || c == '\\')
        csb_buf_printf(b, "\\%c", c);
      else if (c < 0x20 || c == 0x7F)
        csb_buf_printf(b, "\\u%04X", c);
      else
        csb_buf_putc(b, (char)c);
    }
    csb_buf_putc(b, '"');
  }
  if (shown < len) csb_buf_puts(b, "...");
}

void csb_toml_i_key_repr(csb_buf *b, const char *s, size_t len) { key_repr(b, s, len, 64); }

void csb_toml_append_key(csb_buf *b, const char *key, size_t len) {
  key_repr(b, key, len, len);
}

/* ---- strings ----------------------------------------------------------------- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Copies a run of ordinary characters (anything but the quote, control
 * characters, newlines and, in a string with escapes, backslash) into the
 * scratch buffer. */
static void copy_run(csb_toml_lexer *lx, char quote, int escapes) {
  const char *s = lx->p;
  while (lx->p < lx->end) {
    unsigned char c = (unsigned char)*lx->p;
    if (c == (unsigned char)quote || (escapes && c == '\\') || is_control(c)) break;
    if ((c & 0xC0) != 0x80) lx->col++;
    lx->p++;
  }
  csb_buf_append(&lx->scratch, s, (size_t)(lx->p - s));
}

/* At '\\' in a basic string. */
static int lex_escape(csb_toml_lexer *lx, int multiline) {
  int line = lx->line, col = lx->col;
  csb_toml_i_adv(lx);
  if (at_eof(lx)) return csb_toml_i_fail_at(lx, line, col, "unterminated escape sequence");
  char c = *lx->p;
  char out = 0;
  switch (c) {
    case 'b': out = '\b'; break;
    case 't': out = '\t'; break;
    case 'n': out = '\n'; break;
    case 'f': out = '\f'; break;
    case 'r': out = '\r'; break;
    case '"': out = '"'; break;
    case '\\': out = '\\'; break;
    default: break;
  }
  if (out) {
    csb_toml_i_adv(lx);
    csb_buf_putc(&lx->scratch, out);
    return 1;
  }
  if (c == 'u' || c == 'U') {
    int n = c == 'u' ? 4 : 8;
    csb_toml_i_adv(lx);
    uint32_t cp = 0;
    for (int i = 0; i < n; i++) {
      int h = at_eof(lx) ? -1 : hexval(*lx->p);
      if (h < 0)
        return csb_toml_i_fail_at(lx, line, col,
                                  "\\%c escape needs exactly %d hexadecimal digits", c, n);
      cp = (cp << 4) | (uint32_t)h;
      csb_toml_i_adv(lx);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return csb_toml_i_fail_at(lx, line, col,
                                "\\%c escape U+%04X is not a Unicode scalar value", c,
                                (unsigned)cp);
    char buf[4];
    csb_buf_append(&lx->scratch, buf, csb_utf8_encode(cp, buf));
    return 1;
  }
  if (multiline && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
    /* Line-ending backslash: only whitespace may follow it on its line. */
    csb_toml_i_skip_ws(lx);
    if (!csb_toml_i_eat_newline(lx))
      return csb_toml_i_fail_at(lx, line, col,
                                "a backslash followed by whitespace must end the line");
    for (;;) {
      csb_toml_i_skip_ws(lx);
      if (!csb_toml_i_eat_newline(lx)) break;
    }
    return 1;
  }
  char buf[32];
  return csb_toml_i_fail_at(lx, line, col, "invalid escape sequence '\\' followed by %s",
                            char_desc(lx, buf));
}

static int lex_basic(csb_toml_lexer *lx) {
  int line = lx->line, col = lx->col;
  csb_toml_i_adv(lx);
  for (;;) {
    copy_run(lx, '"', 1);
    if (at_eof(lx)) return csb_toml_i_fail_at(lx, line, col, "unterminated string");
    unsigned char c = (unsigned char)*lx->p;
    if (c == '"') {
      csb_toml_i_adv(lx);
      return 1;
    }
    if (c == '\\') {
      if (!lex_escape(lx, 0)) return 0;
    } else if (c == '\n' || c == '\r') {
      return HERE_FAIL(lx, "unterminated string (newlines need a multi-line string)");
    } else {
      return HERE_FAIL(lx, "control character U+%04X must be escaped in a string", c);
    }
  }
}

static int lex_literal(csb_toml_lexer *lx) {
  int line = lx->line, col = lx->col;
  csb_toml_i_adv(lx);
  for (;;) {
    copy_run(lx, '\'', 0);
    if (at_eof(lx)) return csb_toml_i_fail_at(lx, line, col, "unterminated literal string");
    unsigned char c = (unsigned char)*lx->p;
    if (c == '\'') {
      csb_toml_i_adv(lx);
      return 1;
    }
    if (c == '\n' || c == '\r')
      return HERE_FAIL(lx, "unterminated literal string (newlines need a multi-line string)");
    return HERE_FAIL(lx, "control character U+%04X is not allowed in a literal string", c);
  }
}

/* Multi-line basic (quote '"') or literal (quote '\'') string. */
static int lex_multiline(csb_toml_lexer *lx, char quote) {
  int line = lx->line, col = lx->col;
  for (int i = 0; i < 3; i++) csb_toml_i_adv(lx);
  csb_toml_i_eat_newline(lx); /* a newline right after the delimiter is trimmed */
  for (;;) {
    copy_run(lx, quote, quote == '"');
    if (at_eof(lx))
      return csb_toml_i_fail_at(lx, line, col, "unterminated multi-line string");
    unsigned char c = (unsigned char)*lx->p;
    if (c == (unsigned char)quote) {
      size_t k = 0;
      while (peek_is(lx, k, quote)) k++;
      if (k >= 3) {
        if (k > 5) {
          for (size_t i = 0; i < 5; i++) csb_toml_i_adv(lx);
          return HERE_FAIL(lx, "too many quotes at the end of a multi-line string");
        }
        for (size_t i = 3; i < k; i++) csb_buf_putc(&lx->scratch, quote);
        for (size_t i = 0; i < k; i++) csb_toml_i_adv(lx);
        return 1;
      }
      for (size_t i = 0; i < k; i++) {
        csb_buf_putc(&lx->scratch, quote);
        csb_toml_i_adv(lx);
      }
    } else if (c == '\\' && quote == '"') {
      if (!lex_escape(lx, 1)) return 0;
    } else if (c == '\n' || c == '\r') {
      if (!csb_toml_i_eat_newline(lx))
        return HERE_FAIL(lx, "carriage return not followed by a newline in string");
      csb_buf_putc(&lx->scratch, '\n');
    } else {
      return HERE_FAIL(lx, "control character U+%04X %s in a multi-line string", c,
                       quote == '"' ? "must be escaped" : "is not allowed");
    }
  }
}

static void take_scratch(csb_toml_lexer *lx, char **out, size_t *len) {
  *len = lx->scratch.len;
  char *s = csb_xmalloc(*len + 1);
  if (*len) memcpy(s, lx->scratch.data, *len);
  s[*len] = '\0';
  *out = s;
}

int csb_toml_i_lex_string(csb_toml_lexer *lx, char **out, size_t *len) {
  char q = *lx->p;
  int ok;
  csb_buf_reset(&lx->scratch);
  if (peek_is(lx, 1, q) && peek_is(lx, 2, q))
    ok = lex_multiline(lx, q);
  else
    ok = q == '"' ? lex_basic(lx) : lex_literal(lx);
  if (!ok) return 0;
  take_scratch(lx, out, len);
  return 1;
}

int csb_toml_i_lex_key(csb_toml_lexer *lx, char **out, size_t *len,
                       csb_toml_pos *pos) {
  *pos = csb_toml_i_here(lx);
  if (at_eof(lx)) return HERE_FAIL(lx, "expected a key, found end of input");
  char c = *lx->p;
  if (c == '"' || c == '\'') {
    if (peek_is(lx, 1, c) && peek_is(lx, 2, c))
      return HERE_FAIL(lx, "a multi-line string cannot be used as a key");
    csb_buf_reset(&lx->scratch);
    if (!(c == '"' ? lex_basic(lx) : lex_literal(lx))) return 0;
    take_scratch(lx, out, len);
  } else {
    const char *s = lx->p;
    while (lx->p < lx->end && is_bare((unsigned char)*lx->p)) {
      lx->p++;
      lx->col++;
    }
    if (lx->p == s) {
      char buf[32];
      return HERE_FAIL(lx, "expected a key, found %s", char_desc(lx, buf));
    }
    *len = (size_t)(lx->p - s);
    *out = csb_xstrndup(s, *len);
  }
  csb_toml_i_end(lx, pos);
  return 1;
}

/* ---- scalars ----------------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_scalar_char(unsigned char c) {
  return is_bare(c) || c == '+' || c == '.' || c == ':';
}

/* Digits of `base` with single underscores between digits, starting at
 * tok[*i]. Returns 0 with *bad at the offending offset. */
static int scan_digits(const char *tok, size_t n, size_t *i, int base, size_t *bad,
                       const char **msg) {
  size_t start = *i;
  int prev_digit = 0;
  while (*i < n) {
    char c = tok[*i];
    int d = hexval(c);
    if (c == '_') {
      if (!prev_digit) {
        *bad = *i;
        *msg = *i == start ? "a number cannot start with '_'"
                           : "'_' must be between two digits";
        return 0;
      }
      prev_digit = 0;
    } else if (d >= 0 && d < base) {
      prev_digit = 1;
    } else {
      break;
    }
    (*i)++;
  }
  if (*i == start) {
    *bad = *i;
    *msg = "expected a digit";
    return 0;
  }
  if (!prev_digit) {
    *bad = *i - 1;
    *msg = "'_' must be between two digits";
    return 0;
  }
  return 1;
}

static int parse_number(csb_toml_lexer *lx, const char *tok, size_t n, int line, int col,
                        csb_toml_value **out) {
  size_t i = 0, bad = 0;
  const char *msg = NULL;
  int neg = 0, sign = 0;
#define NFAIL(off, ...) csb_toml_i_fail_at(lx, line, col + (int)(off), __VA_ARGS__)
  if (tok[0] == '+' || tok[0] == '-') {
    sign = 1;
    neg = tok[0] == '-';
    i = 1;
  }
  if (n - i >= 2 && tok[i] == '0' && (tok[i + 1] == 'x' || tok[i + 1] == 'o' ||
                                      tok[i + 1] == 'b')) {
    int base = tok[i + 1] == 'x' ? 16 : tok[i + 1] == 'o' ? 8 : 2;
    if (sign) return NFAIL(0, "hexadecimal, octal and binary integers cannot have a sign");
    i += 2;
    size_t ds = i;
    if (!scan_digits(tok, n, &i, base, &bad, &msg)) return NFAIL(bad, "%s", msg);
    if (i != n) return NFAIL(i, "invalid digit in base-%d integer", base);
    uint64_t v = 0;
    for (size_t k = ds; k < n; k++) {
      if (tok[k] == '_') continue;
      uint64_t d = (uint64_t)hexval(tok[k]);
      if (v > ((uint64_t)INT64_MAX - d) / (uint64_t)base)
        return NFAIL(0, "integer does not fit in 64 bits");
      v = v * (uint64_t)base + d;
    }
    csb_toml_value *val = csb_toml_i_new(CSB_TOML_INTEGER);
    val->u.i = (int64_t)v;
    *out = val;
    return 1;
  }
  size_t int_start = i;
  if (!scan_digits(tok, n, &i, 10, &bad, &msg)) return NFAIL(bad, "%s", msg);
  if (tok[int_start] == '0' && i - int_start > 1)
    return NFAIL(int_start, "leading zeros are not allowed");
  int is_float = 0;
  if (i < n && tok[i] == '.') {
    i++;
    if (!scan_digits(tok, n, &i, 10, &bad, &msg))
      return NFAIL(bad, "expected digits after the decimal point");
    is_float = 1;
  }
  if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
    i++;
    if (i < n && (tok[i] == '+' || tok[i] == '-')) i++;
    if (!scan_digits(tok, n, &i, 10, &bad, &msg))
      return NFAIL(bad, "%s in the exponent", msg);
    is_float = 1;
  }
  if (i != n) {
    if (tok[i] == '.' && !is_float) return NFAIL(i, "expected digits after the decimal point");
    return NFAIL(i, "invalid character '%c' in number", tok[i]);
  }
  if (!is_float) {
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t k = int_start; k < n; k++) {
      if (tok[k] == '_') continue;
      uint64_t d = (uint64_t)(tok[k] - '0');
      if (v > (lim - d) / 10) return NFAIL(0, "integer does not fit in 64 bits");
      v = v * 10 + d;
    }
    csb_toml_value *val = csb_toml_i_new(CSB_TOML_INTEGER);
    val->u.i = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    *out = val;
    return 1;
  }
  char *text = csb_xmalloc(n + 1);
  size_t m = 0;
  for (size_t k = 0; k < n; k++)
    if (tok[k] != '_') text[m++] = tok[k];
  text[m] = '\0';
  errno = 0;
  double d = strtod(text, NULL);
  if (errno == ERANGE && isinf(d)) {
    free(text);
    return NFAIL(0, "float is out of range");
  }
  *out = csb_toml_i_float_take(d, text);
  return 1;
#undef NFAIL
}

/* Digits followed by '-' or ':' can only be a date or a time. */
static int looks_like_datetime(const char *tok, size_t n) {
  size_t k = 0;
  while (k < n && is_digit(tok[k])) k++;
  return k > 0 && k < n && (tok[k] == '-' || tok[k] == ':');
}

int csb_toml_i_lex_scalar(csb_toml_lexer *lx, csb_toml_value **out) {
  csb_toml_pos pos = csb_toml_i_here(lx);
  const char *tok = lx->p;
  while (lx->p < lx->end && is_scalar_char((unsigned char)*lx->p)) lx->p++;
  size_t n = (size_t)(lx->p - tok);
  /* A date followed by a space and a time is one local/offset date-time. */
  if (n == 10 && tok[4] == '-' && tok[7] == '-' && lx->end - lx->p >= 4 &&
      lx->p[0] == ' ' && is_digit(lx->p[1]) && is_digit(lx->p[2]) && lx->p[3] == ':') {
    lx->p++;
    while (lx->p < lx->end && is_scalar_char((unsigned char)*lx->p)) lx->p++;
    n = (size_t)(lx->p - tok);
  }
  lx->col += (int)n; /* scalar tokens are ASCII */
  csb_toml_i_end(lx, &pos);
  if (n == 0) {
    char buf[32];
    return csb_toml_i_fail_at(lx, pos.line, pos.col, "expected a value, found %s",
                              char_desc(lx, buf));
  }
  csb_toml_value *v = NULL;
  if ((n == 4 && memcmp(tok, "true", 4) == 0) || (n == 5 && memcmp(tok, "false", 5) == 0)) {
    v = csb_toml_bool_new(n == 4);
  } else if ((n == 3 || n == 4) &&
             (memcmp(tok + n - 3, "inf", 3) == 0 || memcmp(tok + n - 3, "nan", 3) == 0) &&
             (n == 3 || tok[0] == '+' || tok[0] == '-')) {
    double d = tok[n - 3] == 'i' ? INFINITY : NAN;
    if (tok[0] == '-') d = -d;
    v = csb_toml_i_float_take(d, csb_xstrndup(tok, n));
  } else if (looks_like_datetime(tok, n)) {
    csb_toml_datetime dt;
    const char *msg = NULL;
    size_t bad = 0;
    if (!csb_toml_i_datetime_parse(tok, n, &dt, &msg, &bad))
      return csb_toml_i_fail_at(lx, pos.line, pos.col + (int)bad, "invalid date/time: %s",
                                msg);
    v = csb_toml_i_new(csb_toml_i_datetime_kind(&dt));
    v->u.dt->dt = dt;
    csb_toml_i_datetime_format(&dt, v->u.dt->text);
  } else if (is_digit(tok[0]) || tok[0] == '+' || tok[0] == '-') {
    if (n == 1 && !is_digit(tok[0]))
      return csb_toml_i_fail_at(lx, pos.line, pos.col, "expected digits after the sign");
    if (!parse_number(lx, tok, n, pos.line, pos.col, &v)) return 0;
  } else {
    return csb_toml_i_fail_at(lx, pos.line, pos.col,
                              "invalid value `%.*s` (strings must be quoted)",
                              n > 40 ? 40 : (int)n, tok);
  }
  v->pos = pos;
  *out = v;
  return 1;
}
