/* json.c - strict JSON parser, deterministic printer and typed getters over
 * cJSON. See csb_json.h for the contract. */
#define _GNU_SOURCE
#include "csb_json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: the largest magnitude below which every integer is a double. */
#define JSON_EXACT_INT_MAX 9007199254740992.0

static cJSON *must(cJSON *item) {
  if (!item) csb_oom();
  return item;
}

/* Appends `s` for use inside an error message: at most ~100 bytes, control
 * characters and invalid UTF-8 escaped so that the message stays one
 * printable line; with `pointer`, '~' and '/' escaped as in RFC 6901. */
static void put_display(csb_buf *b, const char *s, bool pointer) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t shown = 0;
  while (*p) {
    if (shown >= 100) {
      csb_buf_puts(b, "...");
      return;
    }
    unsigned c = *p;
    const char *why;
    size_t n = 1;
    if (pointer && c == '~') {
      csb_buf_puts(b, "~0");
    } else if (pointer && c == '/') {
      csb_buf_puts(b, "~1");
    } else if (c < 0x20 || c == 0x7F) {
      csb_buf_printf(b, "\\u%04x", c);
    } else if (c >= 0x80) {
      n = csb_utf8_decode((const char *)p, 4, NULL, &why);
      if (n) {
        csb_buf_append(b, p, n);
      } else {
        csb_buf_printf(b, "\\x%02X", c);
        n = 1;
      }
    } else {
      csb_buf_putc(b, (char)c);
    }
    p += n;
    shown += n;
  }
}

/* ---- numbers -------------------------------------------------------------- */

/* The C library's number conversions follow LC_NUMERIC; JSON always uses
 * '.'. Returns the locale's decimal point when it is a single byte other
 * than '.', else '.'. */
static char locale_point(void) {
  const struct lconv *lc = localeconv();
  if (lc && lc->decimal_point && lc->decimal_point[0] && !lc->decimal_point[1])
    return lc->decimal_point[0];
  return '.';
}

/* Converts the (already validated) JSON number text s[0..n) to a double,
 * correctly rounded. Uses `tmp` as scratch. */
static double number_value(const unsigned char *s, size_t n, csb_buf *tmp) {
  size_t neg = s[0] == '-';
  bool integral = true;
  for (size_t i = neg; i < n; i++)
    if (s[i] < '0' || s[i] > '9') integral = false;
  if (integral && n - neg <= 15) {
    int64_t v = 0;
    for (size_t i = neg; i < n; i++) v = v * 10 + (s[i] - '0');
    double d = (double)v; /* exact: below 10^15 < 2^53 */
    return neg ? -d : d;
  }
  csb_buf_reset(tmp);
  csb_buf_append(tmp, s, n);
  char point = locale_point();
  if (point != '.') {
    char *dot = strchr(tmp->data, '.');
    if (dot) *dot = point;
  }
  return strtod(tmp->data, NULL);
}

/* Formats a finite or non-finite double as described for csb_json_print. */
static void format_number(double v, char buf[48]) {
  if (!isfinite(v)) {
    strcpy(buf, "null");
    return;
  }
  double mag = v < 0 ? -v : v;
  if (mag <= JSON_EXACT_INT_MAX && (double)(int64_t)v == v) {
    if (v == 0 && signbit(v))
      strcpy(buf, "-0");
    else
      snprintf(buf, 48, "%" PRId64, (int64_t)v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, 48, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  /* Back to JSON syntax: '.' as the decimal point; exponent without '+'
   * and without leading zeros ("1e+07" -> "1e7", "1e-05" -> "1e-5"). */
  char point = locale_point();
  char *w = buf;
  for (const char *r = buf; *r;) {
    if (*r == point) {
      *w++ = '.';
      r++;
    } else if (*r == 'e') {
      *w++ = *r++;
      if (*r == '+')
        r++;
      else if (*r == '-')
        *w++ = *r++;
      while (*r == '0' && r[1]) r++;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

/* ---- parser --------------------------------------------------------------- */

typedef struct key_ent {
  const char *key; /* the member's key, owned by the tree */
  size_t off;
  int line, col;
} key_ent;

typedef struct frame {
  cJSON *node;
  size_t key_start; /* first entry of this object's keys in parser.keys */
  bool is_obj;
} frame;

typedef struct parser {
  const unsigned char *start, *p, *end, *line_start;
  int line;
  size_t max_depth;
  frame *stack;
  size_t depth, stack_cap;
  key_ent *keys;
  size_t nkeys, keys_cap;
  csb_buf key; /* the member key awaiting its value */
  size_t key_off;
  int key_line, key_col;
  csb_buf tmp; /* decoded string value / number text */
  bool failed;
  size_t err_off;
  int err_line, err_col;
  char err_msg[CSB_ERROR_MSG_MAX - 124]; /* room for the position before it */
} parser;

static int clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

/* Column of `at`, which must be on the current line. */
static int col_of(const parser *ps, const unsigned char *at) {
  return clamp_int((size_t)(at - ps->line_start) + 1);
}

static void record_errorv(parser *ps, size_t off, int line, int col,
                          const char *fmt, va_list ap) CSB_PRINTF(5, 0);
static void record_errorv(parser *ps, size_t off, int line, int col,
                          const char *fmt, va_list ap) {
  vsnprintf(ps->err_msg, sizeof ps->err_msg, fmt, ap);
  ps->failed = true;
  ps->err_off = off;
  ps->err_line = line;
  ps->err_col = col;
}

static void record_error(parser *ps, size_t off, int line, int col,
                         const char *fmt, ...) CSB_PRINTF(5, 6);
static void record_error(parser *ps, size_t off, int line, int col,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record_errorv(ps, off, line, col, fmt, ap);
  va_end(ap);
}

static int fail_at(parser *ps, const unsigned char *at, const char *fmt, ...)
    CSB_PRINTF(3, 4);
static int fail_at(parser *ps, const unsigned char *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record_errorv(ps, (size_t)(at - ps->start), ps->line, col_of(ps, at), fmt, ap);
  va_end(ap);
  return 0;
}

/* "WHAT, got 'x'" for the byte at `at`; a NUL byte is always reported as
 * such. */
static int fail_unexpected(parser *ps, const unsigned char *at, const char *what) {
  if (at >= ps->end) return fail_at(ps, at, "%s, got end of input", what);
  unsigned c = *at;
  if (c == 0) return fail_at(ps, at, "NUL byte in document");
  if (c > 0x20 && c < 0x7F) return fail_at(ps, at, "%s, got '%c'", what, (char)c);
  return fail_at(ps, at, "%s, got byte 0x%02X", what, c);
}

static void skip_ws(parser *ps) {
  const unsigned char *p = ps->p;
  while (p < ps->end) {
    unsigned c = *p;
    if (c == ' ' || c == '\t' || c == '\r') {
      p++;
    } else if (c == '\n') {
      p++;
      if (ps->line < INT_MAX) ps->line++;
      ps->line_start = p;
    } else {
      break;
    }
  }
  ps->p = p;
}

static int hex4(const unsigned char *p, const unsigned char *end) {
  if (end - p < 4) return -1;
  int v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i];
    int d;
    if (c >= '0' && c <= '9')
      d = (int)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (int)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (int)(c - 'A' + 10);
    else
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Parses the string literal at ps->p (which is '"') into dst. */
static int parse_string(parser *ps, csb_buf *dst) {
  const unsigned char *open = ps->p, *end = ps->end;
  const unsigned char *p = open + 1;
  csb_buf_reset(dst);
  csb_buf_reserve(dst, 16);
  for (;;) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
    csb_buf_append(dst, run, (size_t)(p - run));
    if (p == end) return fail_at(ps, open, "unterminated string");
    unsigned c = *p;
    if (c == '"') {
      ps->p = p + 1;
      return 1;
    }
    if (c == 0) return fail_at(ps, p, "NUL byte in document");
    if (c < 0x20) {
      if (c == '\n') return fail_at(ps, open, "unterminated string (raw newline)");
      return fail_at(ps, p, "unescaped control character U+%04X in string", c);
    }
    if (c >= 0x80) {
      const char *why = "";
      size_t n = csb_utf8_decode((const char *)p, (size_t)(end - p), NULL, &why);
      if (!n) return fail_at(ps, p, "%s in string (byte 0x%02X)", why, c);
      csb_buf_append(dst, p, n);
      p += n;
      continue;
    }
    /* backslash */
    const unsigned char *esc = p++;
    if (p == end) return fail_at(ps, open, "unterminated string");
    switch (*p) {
      case '"': csb_buf_putc(dst, '"'); break;
      case '\\': csb_buf_putc(dst, '\\'); break;
      case '/': csb_buf_putc(dst, '/'); break;
      case 'b': csb_buf_putc(dst, '\b'); break;
      case 'f': csb_buf_putc(dst, '\f'); break;
      case 'n': csb_buf_putc(dst, '\n'); break;
      case 'r': csb_buf_putc(dst, '\r'); break;
      case 't': csb_buf_putc(dst, '\t'); break;
      case 'u': {
        int cp = hex4(p + 1, end);
        if (cp < 0) return fail_at(ps, esc, "invalid \\u escape (expected 4 hex digits)");
        p += 4;
        if (cp == 0) return fail_at(ps, esc, "\\u0000 is not allowed in strings");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail_at(ps, esc, "lone surrogate \\u%04X in string", (unsigned)cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          int lo = -1;
          if (end - p >= 3 && p[1] == '\\' && p[2] == 'u') lo = hex4(p + 3, end);
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(ps, esc, "lone surrogate \\u%04X in string", (unsigned)cp);
          p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        char u[4];
        csb_buf_append(dst, u, csb_utf8_encode((uint32_t)cp, u));
        break;
      }
      default:
        if (*p > 0x20 && *p < 0x7F)
          return fail_at(ps, esc, "invalid escape '\\%c' in string", (char)*p);
        return fail_at(ps, esc, "invalid escape in string (byte 0x%02X after '\\')", *p);
    }
    p++;
  }
}

static bool is_digit(const parser *ps, const unsigned char *p) {
  return p < ps->end && *p >= '0' && *p <= '9';
}

static int parse_number(parser *ps, double *out) {
  const unsigned char *s = ps->p, *p = s;
  if (*p == '-') {
    p++;
    if (!is_digit(ps, p)) return fail_unexpected(ps, p, "invalid number: expected a digit after '-'");
  }
  if (*p == '0') {
    p++;
    if (is_digit(ps, p)) return fail_at(ps, s, "invalid number: leading zeros are not allowed");
  } else {
    while (is_digit(ps, p)) p++;
  }
  if (p < ps->end && *p == '.') {
    p++;
    if (!is_digit(ps, p)) return fail_unexpected(ps, p, "invalid number: expected a digit after '.'");
    while (is_digit(ps, p)) p++;
  }
  if (p < ps->end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < ps->end && (*p == '+' || *p == '-')) p++;
    if (!is_digit(ps, p)) return fail_unexpected(ps, p, "invalid number: expected a digit in the exponent");
    while (is_digit(ps, p)) p++;
  }
  double v = number_value(s, (size_t)(p - s), &ps->tmp);
  if (isinf(v)) return fail_at(ps, s, "number out of range");
  *out = v;
  ps->p = p;
  return 1;
}

static int parse_literal(parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return fail_at(ps, ps->p, "invalid literal (expected `%s`)", word);
  ps->p += n;
  return 1;
}

/* Parses `"key" :` (leading whitespace allowed) into ps->key and skips the
 * whitespace after the colon. */
static int parse_member_key(parser *ps, const char *what) {
  skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '"') return fail_unexpected(ps, ps->p, what);
  ps->key_off = (size_t)(ps->p - ps->start);
  ps->key_line = ps->line;
  ps->key_col = col_of(ps, ps->p);
  if (!parse_string(ps, &ps->key)) return 0;
  skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != ':') return fail_unexpected(ps, ps->p, "expected ':' after object key");
  ps->p++;
  skip_ws(ps);
  return 1;
}

static int cmp_key_ent(const void *a, const void *b) {
  const key_ent *x = a, *y = b;
  int r = strcmp(x->key, y->key);
  if (r) return r;
  return (x->off > y->off) - (x->off < y->off);
}

/* Sorts k[0..n) and returns the duplicate that comes first in the document
 * (with *first: the key's first occurrence), or NULL. */
static const key_ent *find_dup(key_ent *k, size_t n, const key_ent **first) {
  if (n < 2) return NULL;
  qsort(k, n, sizeof *k, cmp_key_ent);
  const key_ent *best = NULL;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && strcmp(k[j].key, k[i].key) == 0) j++;
    if (j - i > 1 && (!best || k[i + 1].off < best->off)) {
      best = &k[i + 1];
      *first = &k[i];
    }
    i = j;
  }
  return best;
}

static void record_dup(parser *ps, const key_ent *dup, const key_ent *first) {
  csb_buf b;
  csb_buf_init(&b);
  put_display(&b, dup->key, false);
  snprintf(ps->err_msg, sizeof ps->err_msg, "duplicate key `%s` (first at %d:%d)",
           b.data ? b.data : "", first->line, first->col);
  csb_buf_free(&b);
  ps->failed = true;
  ps->err_off = dup->off;
  ps->err_line = dup->line;
  ps->err_col = dup->col;
}

/* Checks the keys of the object open at stack[d]; 0 on a duplicate. */
static int check_frame_dups(parser *ps, size_t d) {
  size_t from = ps->stack[d].key_start;
  size_t to = d + 1 < ps->depth ? ps->stack[d + 1].key_start : ps->nkeys;
  if (to - from < 2) return 1;
  const key_ent *first = NULL;
  const key_ent *dup = find_dup(ps->keys + from, to - from, &first);
  if (!dup) return 1;
  if (!ps->failed || dup->off < ps->err_off) record_dup(ps, dup, first);
  return 0;
}

/* After an error: a duplicate key earlier in the document (in an object
 * that was still open) is reported instead, so the first error wins. */
static void prefer_earlier_dups(parser *ps) {
  for (size_t d = 0; d < ps->depth; d++)
    if (ps->stack[d].is_obj) (void)check_frame_dups(ps, d);
}

/* Links a new value into its parent (or makes it the root). */
static void attach(parser *ps, cJSON **root, cJSON *item) {
  if (ps->depth == 0) {
    *root = item;
    return;
  }
  frame *f = &ps->stack[ps->depth - 1];
  if (!f->is_obj) {
    if (!cJSON_AddItemToArray(f->node, item)) csb_oom();
    return;
  }
  if (!cJSON_AddItemToObject(f->node, ps->key.data, item)) {
    cJSON_Delete(item);
    csb_oom();
  }
  ps->keys = csb_xgrow(ps->keys, &ps->keys_cap, ps->nkeys + 1, sizeof *ps->keys);
  key_ent *k = &ps->keys[ps->nkeys++];
  k->key = item->string;
  k->off = ps->key_off;
  k->line = ps->key_line;
  k->col = ps->key_col;
}

static cJSON *parse_document(parser *ps) {
  cJSON *root = NULL;
  skip_ws(ps);
  if (ps->end - ps->p >= 3 && memcmp(ps->p, "\xEF\xBB\xBF", 3) == 0) {
    fail_at(ps, ps->p, "byte order mark is not allowed");
    goto fail;
  }
  for (;;) {
    /* A value starts at ps->p (whitespace skipped). */
    const unsigned char *at = ps->p;
    cJSON *item = NULL;
    bool open = false;
    double num = 0;
    if (at >= ps->end) {
      fail_unexpected(ps, at, "expected a value");
      goto fail;
    }
    switch (*at) {
      case '{':
      case '[':
        if (ps->depth >= ps->max_depth) {
          fail_at(ps, at, "nesting deeper than %zu levels", ps->max_depth);
          goto fail;
        }
        item = must(*at == '{' ? cJSON_CreateObject() : cJSON_CreateArray());
        ps->p++;
        open = true;
        break;
      case '"':
        if (!parse_string(ps, &ps->tmp)) goto fail;
        item = must(cJSON_CreateString(ps->tmp.data));
        break;
      case 't':
        if (!parse_literal(ps, "true")) goto fail;
        item = must(cJSON_CreateTrue());
        break;
      case 'f':
        if (!parse_literal(ps, "false")) goto fail;
        item = must(cJSON_CreateFalse());
        break;
      case 'n':
        if (!parse_literal(ps, "null")) goto fail;
        item = must(cJSON_CreateNull());
        break;
      case '-':
      case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9':
        if (!parse_number(ps, &num)) goto fail;
        item = must(cJSON_CreateNumber(num));
        break;
      case '+':
        fail_at(ps, at, "invalid number: a leading '+' is not allowed");
        goto fail;
      case '.':
        fail_at(ps, at, "invalid number: expected a digit before '.'");
        goto fail;
      default:
        fail_unexpected(ps, at, "expected a value");
        goto fail;
    }
    attach(ps, &root, item);
    if (open) {
      bool is_obj = *at == '{';
      ps->stack = csb_xgrow(ps->stack, &ps->stack_cap, ps->depth + 1, sizeof *ps->stack);
      ps->stack[ps->depth++] = (frame){item, ps->nkeys, is_obj};
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) {
        ps->p++;
        ps->depth--;
      } else {
        if (is_obj && !parse_member_key(ps, "expected a string key or '}'")) goto fail;
        continue;
      }
    }
    /* A value is complete: separators and closing brackets. */
    for (;;) {
      if (ps->depth == 0) goto done;
      skip_ws(ps);
      frame *f = &ps->stack[ps->depth - 1];
      const unsigned char *p = ps->p;
      if (p < ps->end && *p == ',') {
        int comma_line = ps->line, comma_col = col_of(ps, p);
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == (f->is_obj ? '}' : ']')) {
          record_error(ps, (size_t)(p - ps->start), comma_line, comma_col,
                       "trailing comma in %s", f->is_obj ? "object" : "array");
          goto fail;
        }
        if (f->is_obj && !parse_member_key(ps, "expected a string key")) goto fail;
        break;
      }
      if (p < ps->end && *p == (f->is_obj ? '}' : ']')) {
        if (f->is_obj && !check_frame_dups(ps, ps->depth - 1)) goto fail;
        ps->p++;
        ps->nkeys = f->key_start;
        ps->depth--;
        continue;
      }
      fail_unexpected(ps, p, f->is_obj ? "expected ',' or '}' after object member"
                                       : "expected ',' or ']' after array element");
      goto fail;
    }
  }
done:
  skip_ws(ps);
  if (ps->p < ps->end) {
    fail_unexpected(ps, ps->p, "expected end of input after the JSON value");
    goto fail;
  }
  return root;
fail:
  prefer_earlier_dups(ps);
  cJSON_Delete(root);
  return NULL;
}

int csb_json_parse_limits(const char *text, size_t len,
                          const csb_json_limits *limits, cJSON **out,
                          csb_error *err) {
  size_t max_len = limits && limits->max_len ? limits->max_len : CSB_JSON_MAX_INPUT;
  size_t max_depth = limits && limits->max_depth ? limits->max_depth : CSB_JSON_MAX_DEPTH;
  if (max_depth > CSB_JSON_DEPTH_CAP) max_depth = CSB_JSON_DEPTH_CAP;
  *out = NULL;
  if (len > max_len)
    return csb_error_set(err, "JSON input too large (%zu bytes, limit %zu)", len, max_len);
  if (!text) {
    if (len) return csb_error_set(err, "no JSON input");
    text = "";
  }
  parser ps;
  memset(&ps, 0, sizeof ps);
  ps.start = ps.p = ps.line_start = (const unsigned char *)text;
  ps.end = ps.start + len;
  ps.line = 1;
  ps.max_depth = max_depth;
  csb_buf_init(&ps.key);
  csb_buf_init(&ps.tmp);
  cJSON *root = parse_document(&ps);
  free(ps.stack);
  free(ps.keys);
  csb_buf_free(&ps.key);
  csb_buf_free(&ps.tmp);
  if (!root)
    return csb_error_set_at(err, ps.err_line, ps.err_col, "%d:%d: %s", ps.err_line,
                            ps.err_col, ps.err_msg);
  *out = root;
  return 1;
}

int csb_json_parse(const char *text, size_t len, cJSON **out, csb_error *err) {
  return csb_json_parse_limits(text, len, NULL, out, err);
}

/* ---- locating values ------------------------------------------------------ */

/* Skips the value at ps->p in a document csb_json_parse accepted (without
 * recursion); 0 if the text turns out not to be JSON. */
static int skip_value(parser *ps) {
  size_t level = 0;
  for (;;) {
    skip_ws(ps);
    if (ps->p >= ps->end) return 0;
    unsigned c = *ps->p;
    if (c == '"') {
      if (!parse_string(ps, &ps->tmp)) return 0;
    } else if (c == '{' || c == '[') {
      level++;
      ps->p++;
      continue;
    } else if (c == '}' || c == ']') {
      if (level == 0) return 0;
      level--;
      ps->p++;
    } else if (c == ',' || c == ':') {
      if (level == 0) return 0;
      ps->p++;
      continue;
    } else {
      const unsigned char *q = ps->p;
      while (ps->p < ps->end && *ps->p && !strchr(",:[]{}\" \t\r\n", *ps->p)) ps->p++;
      if (ps->p == q) return 0;
    }
    if (level == 0) return 1;
  }
}

/* With ps->p at an object or array, moves to the start of the member or
 * element named by `seg`; 0 if there is none. */
static int enter(parser *ps, const char *seg) {
  if (ps->p >= ps->end) return 0;
  if (*ps->p == '{') {
    ps->p++;
    for (;;) {
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != '"' || !parse_string(ps, &ps->key)) return 0;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') return 0;
      ps->p++;
      skip_ws(ps);
      if (strcmp(ps->key.data, seg) == 0) return 1;
      if (!skip_value(ps)) return 0;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ',') return 0;
      ps->p++;
    }
  }
  if (*ps->p == '[') {
    size_t idx = 0;
    if (!*seg || (seg[0] == '0' && seg[1])) return 0;
    for (const char *d = seg; *d; d++) {
      if (*d < '0' || *d > '9' || idx > (SIZE_MAX - 9) / 10) return 0;
      idx = idx * 10 + (size_t)(*d - '0');
    }
    ps->p++;
    for (size_t i = 0;; i++) {
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p == ']') return 0;
      if (i == idx) return 1;
      if (!skip_value(ps)) return 0;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ',') return 0;
      ps->p++;
    }
  }
  return 0;
}

int csb_json_locate(const char *text, size_t len, const char *pointer, int *line,
                    int *col) {
  parser ps;
  memset(&ps, 0, sizeof ps);
  if (!text) text = "";
  ps.start = ps.p = ps.line_start = (const unsigned char *)text;
  ps.end = ps.start + len;
  ps.line = 1;
  csb_buf_init(&ps.key);
  csb_buf_init(&ps.tmp);
  csb_buf seg;
  csb_buf_init(&seg);
  skip_ws(&ps);
  *line = ps.line;
  *col = col_of(&ps, ps.p);
  int exact = 1;
  const char *ptr = pointer ? pointer : "";
  if (*ptr && *ptr != '/') exact = 0;
  while (exact && *ptr == '/') {
    ptr++;
    csb_buf_reset(&seg);
    csb_buf_append(&seg, "", 0);
    for (; *ptr && *ptr != '/'; ptr++) {
      if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
        csb_buf_putc(&seg, ptr[1] == '0' ? '~' : '/');
        ptr++;
      } else {
        csb_buf_putc(&seg, *ptr);
      }
    }
    if (!enter(&ps, seg.data)) {
      exact = 0;
      break;
    }
    *line = ps.line;
    *col = col_of(&ps, ps.p);
  }
  csb_buf_free(&seg);
  csb_buf_free(&ps.key);
  csb_buf_free(&ps.tmp);
  return exact;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int csb_json_error_locate(csb_error *err, const char *text, size_t len) {
  if (!err || err->msg[0] != '`' || err->msg[1] != '/') return 0;
  const char *close = strchr(err->msg + 1, '`');
  if (!close) return 0;
  /* Undo the message escapes (\u00XX, \xXX) of put_display. */
  csb_buf ptr;
  csb_buf_init(&ptr);
  for (const char *p = err->msg + 1; p < close; p++) {
    int hi, lo;
    if (p[0] == '\\' && p[1] == 'u' && close - p >= 6 && p[2] == '0' && p[3] == '0' &&
        (hi = hexval(p[4])) >= 0 && (lo = hexval(p[5])) >= 0 && (hi || lo)) {
      csb_buf_putc(&ptr, (char)(hi * 16 + lo));
      p += 5;
    } else if (p[0] == '\\' && p[1] == 'x' && close - p >= 4 && (hi = hexval(p[2])) >= 0 &&
               (lo = hexval(p[3])) >= 0 && (hi || lo)) {
      csb_buf_putc(&ptr, (char)(hi * 16 + lo));
      p += 3;
    } else {
      csb_buf_putc(&ptr, *p);
    }
  }
  int line, col;
  csb_json_locate(text, len, ptr.data, &line, &col);
  csb_buf_free(&ptr);
  err->line = line;
  err->col = col;
  return 1;
}

/* ---- printer -------------------------------------------------------------- */

static void put_string(csb_buf *out, const char *s) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s, *run = p;
  csb_buf_putc(out, '"');
  while (*p) {
    unsigned c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      p++;
      continue;
    }
    if (c >= 0x80) {
      const char *why;
      size_t n = csb_utf8_decode((const char *)p, 4, NULL, &why);
      if (n) {
        p += n;
        continue;
      }
    }
    csb_buf_append(out, run, (size_t)(p - run));
    switch (c) {
      case '"': csb_buf_puts(out, "\\\""); break;
      case '\\': csb_buf_puts(out, "\\\\"); break;
      case '\n': csb_buf_puts(out, "\\n"); break;
      case '\t': csb_buf_puts(out, "\\t"); break;
      case '\r': csb_buf_puts(out, "\\r"); break;
      case '\b': csb_buf_puts(out, "\\b"); break;
      case '\f': csb_buf_puts(out, "\\f"); break;
      default:
        if (c < 0x20) {
          char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          csb_buf_append(out, u, sizeof u);
        } else {
          csb_buf_puts(out, "\xEF\xBF\xBD"); /* invalid UTF-8 byte */
        }
    }
    p++;
    run = p;
  }
  csb_buf_append(out, run, (size_t)(p - run));
  csb_buf_putc(out, '"');
}

typedef struct member {
  const cJSON *item;
  size_t idx;
} member;

static int cmp_member(const void *a, const void *b) {
  const member *x = a, *y = b;
  int r = strcmp(x->item->string ? x->item->string : "",
                 y->item->string ? y->item->string : "");
  if (r) return r;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static void put_newline_indent(csb_buf *out, size_t depth) {
  csb_buf_reserve(out, 1 + 2 * depth);
  csb_buf_putc(out, '\n');
  for (size_t i = 0; i < depth; i++) csb_buf_append(out, "  ", 2);
}

static void print_value(const cJSON *v, unsigned flags, size_t depth, csb_buf *out);

static void print_container(const cJSON *v, bool is_obj, unsigned flags,
                            size_t depth, csb_buf *out) {
  bool pretty = !(flags & CSB_JSON_COMPACT);
  size_t n = 0;
  for (const cJSON *c = v->child; c; c = c->next) n++;
  if (n == 0) {
    csb_buf_puts(out, is_obj ? "{}" : "[]");
    return;
  }
  member *m = csb_xmalloc(n * sizeof *m);
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) m[i] = (member){c, i};
  if (is_obj && !(flags & CSB_JSON_KEEP_ORDER)) qsort(m, n, sizeof *m, cmp_member);
  csb_buf_putc(out, is_obj ? '{' : '[');
  for (i = 0; i < n; i++) {
    if (i) csb_buf_putc(out, ',');
    if (pretty) put_newline_indent(out, depth + 1);
    if (is_obj) {
      put_string(out, m[i].item->string ? m[i].item->string : "");
      csb_buf_puts(out, pretty ? ": " : ":");
    }
    print_value(m[i].item, flags, depth + 1, out);
  }
  free(m);
  if (pretty) put_newline_indent(out, depth);
  csb_buf_putc(out, is_obj ? '}' : ']');
}

static void print_value(const cJSON *v, unsigned flags, size_t depth, csb_buf *out) {
  char num[48];
  if (!v) {
    csb_buf_puts(out, "null");
    return;
  }
  switch (v->type & 0xFF) {
    case cJSON_False: csb_buf_puts(out, "false"); break;
    case cJSON_True: csb_buf_puts(out, "true"); break;
    case cJSON_Number:
      format_number(v->valuedouble, num);
      csb_buf_puts(out, num);
      break;
    case cJSON_String: put_string(out, v->valuestring ? v->valuestring : ""); break;
    case cJSON_Raw: csb_buf_puts(out, v->valuestring ? v->valuestring : "null"); break;
    case cJSON_Array: print_container(v, false, flags, depth, out); break;
    case cJSON_Object: print_container(v, true, flags, depth, out); break;
    default: csb_buf_puts(out, "null"); break;
  }
}

void csb_json_print(const cJSON *v, unsigned flags, csb_buf *out) {
  print_value(v, flags, 0, out);
  if (!(flags & CSB_JSON_COMPACT)) csb_buf_putc(out, '\n');
}

char *csb_json_print_str(const cJSON *v, unsigned flags) {
  csb_buf b;
  csb_buf_init(&b);
  csb_json_print(v, flags, &b);
  return csb_buf_steal(&b);
}

void csb_json_line(const cJSON *v, unsigned flags, csb_buf *out) {
  csb_json_print(v, flags | CSB_JSON_COMPACT, out);
  csb_buf_putc(out, '\n');
}

int csb_json_write_line(int fd, const cJSON *v, unsigned flags, csb_error *err) {
  csb_buf b;
  csb_buf_init(&b);
  csb_json_line(v, flags, &b);
  int ok = csb_write_all(fd, b.data, b.len);
  int e = errno;
  csb_buf_free(&b);
  if (!ok) return csb_error_set(err, "cannot write JSON line: %s", strerror(e));
  return 1;
}

/* ---- building ------------------------------------------------------------- */

cJSON *csb_json_new_object(void) { return must(cJSON_CreateObject()); }

cJSON *csb_json_new_array(void) { return must(cJSON_CreateArray()); }

static cJSON *add_item(cJSON *parent, const char *key, cJSON *item) {
  must(item);
  if (!parent) return item;
  if (key ? !cJSON_AddItemToObject(parent, key, item) : !cJSON_AddItemToArray(parent, item)) {
    cJSON_Delete(item);
    csb_oom();
  }
  return item;
}

cJSON *csb_json_add_string(cJSON *parent, const char *key, const char *s) {
  return add_item(parent, key, cJSON_CreateString(s ? s : ""));
}

cJSON *csb_json_add_string_ref(cJSON *parent, const char *key, const char *s) {
  cJSON *item = must(cJSON_CreateStringReference(s ? s : ""));
  if (!parent) return item;
  if (key ? !cJSON_AddItemToObjectCS(parent, key, item) : !cJSON_AddItemToArray(parent, item)) {
    cJSON_Delete(item);
    csb_oom();
  }
  return item;
}

cJSON *csb_json_add_int(cJSON *parent, const char *key, int64_t n) {
  return add_item(parent, key, cJSON_CreateNumber((double)n));
}

cJSON *csb_json_add_number(cJSON *parent, const char *key, double d) {
  return add_item(parent, key, cJSON_CreateNumber(d));
}

cJSON *csb_json_add_bool(cJSON *parent, const char *key, bool b) {
  return add_item(parent, key, cJSON_CreateBool(b));
}

cJSON *csb_json_add_null(cJSON *parent, const char *key) {
  return add_item(parent, key, cJSON_CreateNull());
}

cJSON *csb_json_add_object(cJSON *parent, const char *key) {
  return add_item(parent, key, cJSON_CreateObject());
}

cJSON *csb_json_add_array(cJSON *parent, const char *key) {
  return add_item(parent, key, cJSON_CreateArray());
}

/* ---- typed access --------------------------------------------------------- */

const char *csb_json_type_name(const cJSON *v) {
  if (!v) return "nothing";
  switch (v->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return "boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "number";
    case cJSON_String: return "string";
    case cJSON_Array: return "array";
    case cJSON_Object: return "object";
    case cJSON_Raw: return "raw";
    default: return "invalid";
  }
}

const cJSON *csb_json_get(const cJSON *obj, const char *key) {
  if (!cJSON_IsObject(obj) || !key) return NULL;
  for (const cJSON *c = obj->child; c; c = c->next)
    if (c->string && strcmp(c->string, key) == 0) return c;
  return NULL;
}

const cJSON *csb_json_lookup(const cJSON *root, const char *pointer) {
  if (!pointer) return NULL;
  const cJSON *cur = root;
  const char *p = pointer;
  csb_buf seg;
  csb_buf_init(&seg);
  while (cur && *p) {
    if (*p != '/') {
      cur = NULL;
      break;
    }
    p++;
    csb_buf_reset(&seg);
    csb_buf_append(&seg, "", 0); /* an empty segment is "" */
    for (; *p && *p != '/'; p++) {
      if (*p == '~') {
        if (p[1] != '0' && p[1] != '1') {
          cur = NULL;
          goto out;
        }
        csb_buf_putc(&seg, p[1] == '0' ? '~' : '/');
        p++;
      } else {
        csb_buf_putc(&seg, *p);
      }
    }
    if (cJSON_IsObject(cur)) {
      cur = csb_json_get(cur, seg.data);
    } else if (cJSON_IsArray(cur)) {
      /* decimal index without leading zeros */
      const char *d = seg.data;
      size_t idx = 0;
      if (!*d || (d[0] == '0' && d[1])) {
        cur = NULL;
        break;
      }
      for (; *d; d++) {
        if (*d < '0' || *d > '9' || idx > (SIZE_MAX - 9) / 10) {
          cur = NULL;
          goto out;
        }
        idx = idx * 10 + (size_t)(*d - '0');
      }
      const cJSON *c = cur->child;
      while (c && idx--) c = c->next;
      cur = c;
    } else {
      cur = NULL;
    }
  }
out:
  csb_buf_free(&seg);
  return cur;
}

static int type_error(csb_error *err, const char *want, const cJSON *v) {
  return csb_error_set(err, "expected %s, got %s", want, csb_json_type_name(v));
}

int csb_json_as_string(const cJSON *v, const char **out, csb_error *err) {
  if (!cJSON_IsString(v) || !v->valuestring) return type_error(err, "string", v);
  *out = v->valuestring;
  return 1;
}

int csb_json_as_bool(const cJSON *v, bool *out, csb_error *err) {
  if (!cJSON_IsBool(v)) return type_error(err, "boolean", v);
  *out = cJSON_IsTrue(v);
  return 1;
}

int csb_json_as_number(const cJSON *v, double *out, csb_error *err) {
  if (!cJSON_IsNumber(v)) return type_error(err, "number", v);
  *out = v->valuedouble;
  return 1;
}

int csb_json_as_int_range(const cJSON *v, int64_t min, int64_t max,
                          int64_t *out, csb_error *err) {
  if (!cJSON_IsNumber(v)) return type_error(err, "integer", v);
  const int64_t exact = (int64_t)1 << 53;
  double d = v->valuedouble;
  char num[48];
  format_number(d, num);
  /* Every double beyond 2^53 in magnitude is integral (and out of range). */
  if (!isfinite(d) ||
      (d >= -JSON_EXACT_INT_MAX && d <= JSON_EXACT_INT_MAX && (double)(int64_t)d != d))
    return csb_error_set(err, "expected integer, got %s", num);
  if (min < -exact) min = -exact;
  if (max > exact) max = exact;
  if (d < (double)min || d > (double)max)
    return csb_error_set(err, "%s is out of range [%" PRId64 ", %" PRId64 "]", num, min, max);
  *out = (int64_t)d;
  return 1;
}

int csb_json_as_int(const cJSON *v, int64_t *out, csb_error *err) {
  return csb_json_as_int_range(v, INT64_MIN, INT64_MAX, out, err);
}

int csb_json_as_object(const cJSON *v, const cJSON **out, csb_error *err) {
  if (!cJSON_IsObject(v)) return type_error(err, "object", v);
  *out = v;
  return 1;
}

int csb_json_as_array(const cJSON *v, const cJSON **out, csb_error *err) {
  if (!cJSON_IsArray(v)) return type_error(err, "array", v);
  *out = v;
  return 1;
}

/* Finds obj[key]. Returns 0 with err set when obj is not an object, or when
 * the member is absent and required; else 1 with *item (NULL if absent). */
static int member_of(const cJSON *obj, const char *key, bool required,
                     const cJSON **item, csb_error *err) {
  *item = NULL;
  if (obj && !cJSON_IsObject(obj)) return type_error(err, "object", obj);
  *item = csb_json_get(obj, key);
  if (!*item && required) {
    csb_error_set(err, "missing required field");
    csb_json_error_push_key(err, key);
    return 0;
  }
  return 1;
}

#define JSON_GETTERS(T, NAME, AS_CALL)                                          \
  int csb_json_get_##NAME(const cJSON *obj, const char *key, T *out,           \
                          csb_error *err) {                                    \
    const cJSON *v;                                                            \
    T tmp = {0};                                                               \
    if (!member_of(obj, key, true, &v, err)) return 0;                         \
    if (!(AS_CALL)) {                                                          \
      csb_json_error_push_key(err, key);                                       \
      return 0;                                                                \
    }                                                                          \
    *out = tmp;                                                                \
    return 1;                                                                  \
  }                                                                            \
  int csb_json_opt_##NAME(const cJSON *obj, const char *key, T *out,           \
                          csb_error *err) {                                    \
    const cJSON *v;                                                            \
    T tmp = {0};                                                               \
    if (!member_of(obj, key, false, &v, err)) return 0;                        \
    if (!v) return 1;                                                          \
    if (!(AS_CALL)) {                                                          \
      csb_json_error_push_key(err, key);                                       \
      return 0;                                                                \
    }                                                                          \
    *out = tmp;                                                                \
    return 1;                                                                  \
  }

JSON_GETTERS(const char *, string, csb_json_as_string(v, &tmp, err))
JSON_GETTERS(bool, bool, csb_json_as_bool(v, &tmp, err))
JSON_GETTERS(double, number, csb_json_as_number(v, &tmp, err))
JSON_GETTERS(int64_t, int, csb_json_as_int(v, &tmp, err))
JSON_GETTERS(const cJSON *, object, csb_json_as_object(v, &tmp, err))
JSON_GETTERS(const cJSON *, array, csb_json_as_array(v, &tmp, err))

static int int_range_member(const cJSON *obj, const char *key, bool required,
                            int64_t min, int64_t max, int64_t *out, csb_error *err) {
  const cJSON *v;
  int64_t tmp = 0;
  if (!member_of(obj, key, required, &v, err)) return 0;
  if (!v) return 1;
  if (!csb_json_as_int_range(v, min, max, &tmp, err)) {
    csb_json_error_push_key(err, key);
    return 0;
  }
  *out = tmp;
  return 1;
}

int csb_json_get_int_range(const cJSON *obj, const char *key, int64_t min,
                           int64_t max, int64_t *out, csb_error *err) {
  return int_range_member(obj, key, true, min, max, out, err);
}

int csb_json_opt_int_range(const cJSON *obj, const char *key, int64_t min,
                           int64_t max, int64_t *out, csb_error *err) {
  return int_range_member(obj, key, false, min, max, out, err);
}

static int strings_member(const cJSON *obj, const char *key, bool required,
                          csb_strv *out, csb_error *err) {
  const cJSON *v;
  if (!member_of(obj, key, required, &v, err)) return 0;
  if (!v) return 1;
  if (!cJSON_IsArray(v)) {
    type_error(err, "array", v);
    csb_json_error_push_key(err, key);
    return 0;
  }
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    if (!cJSON_IsString(c) || !c->valuestring) {
      type_error(err, "string", c);
      csb_json_error_push_index(err, i);
      csb_json_error_push_key(err, key);
      return 0;
    }
  }
  for (const cJSON *c = v->child; c; c = c->next) csb_strv_push(out, c->valuestring);
  return 1;
}

int csb_json_get_strings(const cJSON *obj, const char *key, csb_strv *out,
                         csb_error *err) {
  return strings_member(obj, key, true, out, err);
}

int csb_json_opt_strings(const cJSON *obj, const char *key, csb_strv *out,
                         csb_error *err) {
  return strings_member(obj, key, false, out, err);
}

int csb_json_check_keys(const cJSON *obj, const char *const *allowed,
                        const char *where, csb_error *err) {
  if (!cJSON_IsObject(obj)) return type_error(err, "object", obj);
  for (const cJSON *c = obj->child; c; c = c->next) {
    const char *k = c->string ? c->string : "";
    bool ok = false;
    for (size_t i = 0; allowed && allowed[i]; i++)
      if (strcmp(allowed[i], k) == 0) {
        ok = true;
        break;
      }
    if (ok) continue;
    csb_buf b;
    csb_buf_init(&b);
    put_display(&b, k, false);
    if (where)
      csb_error_set(err, "unknown field `%s` in %s", b.data ? b.data : "", where);
    else
      csb_error_set(err, "unknown field `%s`", b.data ? b.data : "");
    csb_buf_free(&b);
    return 0;
  }
  return 1;
}

char *csb_json_display(const char *s) {
  csb_buf b;
  csb_buf_init(&b);
  put_display(&b, s, false);
  return csb_buf_steal(&b);
}

/* ---- error paths ---------------------------------------------------------- */

static void push_segment(csb_error *err, const csb_buf *seg) {
  csb_buf b;
  csb_buf_init(&b);
  if (err->msg[0] == '`' && err->msg[1] == '/') {
    csb_buf_putc(&b, '`');
    csb_buf_append(&b, seg->data, seg->len);
    csb_buf_puts(&b, err->msg + 1);
  } else {
    csb_buf_putc(&b, '`');
    csb_buf_append(&b, seg->data, seg->len);
    csb_buf_puts(&b, "`: ");
    csb_buf_puts(&b, err->msg);
  }
  size_t n = b.len < sizeof err->msg - 1 ? b.len : sizeof err->msg - 1;
  memcpy(err->msg, b.data, n);
  err->msg[n] = '\0';
  csb_buf_free(&b);
}

void csb_json_error_push_key(csb_error *err, const char *key) {
  if (!err) return;
  csb_buf seg;
  csb_buf_init(&seg);
  csb_buf_putc(&seg, '/');
  put_display(&seg, key, true);
  push_segment(err, &seg);
  csb_buf_free(&seg);
}

void csb_json_error_push_index(csb_error *err, size_t index) {
  if (!err) return;
  csb_buf seg;
  csb_buf_init(&seg);
  csb_buf_printf(&seg, "/%zu", index);
  push_segment(err, &seg);
  csb_buf_free(&seg);
}
