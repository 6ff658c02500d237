/* fuzz_toml.c - libFuzzer entry point for libs/toml.
 *
 * For every input: parse it as a document, as a single value and as a key.
 * A failed parse must report a position. A successful document parse must
 * give a tree in which every key and value has a position, lookups by name
 * agree with iteration, a clone is equal to the original, merging the tree
 * into an empty table (and into a copy of itself) gives an equal tree, and
 * printing the tree as TOML (everything inline) and parsing that text gives
 * an equal tree. Any violation aborts.
 *
 * Build and run (see also docs/fuzzing.md):
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -Ilibs/toml libs/base/{base,os,sha256,utf8}.c libs/toml/[dlpv]*.c \
 *     libs/toml/fuzz_toml.c -o /tmp/fuzz_toml
 *   /tmp/fuzz_toml -max_len=4096 -max_total_time=600 CORPUS_DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static int is_bare_key(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

static void put_string(csb_buf *b, const char *s, size_t n) {
  csb_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
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

static void put_key(csb_buf *b, const char *s, size_t n) {
  if (is_bare_key(s, n))
    csb_buf_append(b, s, n);
  else
    put_string(b, s, n);
}

static void put_value(csb_buf *b, const csb_toml_value *v) {
  switch (csb_toml_value_kind(v)) {
    case CSB_TOML_TABLE:
      csb_buf_putc(b, '{');
      for (size_t i = 0; i < csb_toml_table_len(v); i++) {
        size_t n;
        const char *k = csb_toml_table_key_at(v, i, &n);
        if (i) csb_buf_puts(b, ", ");
        put_key(b, k, n);
        csb_buf_puts(b, " = ");
        put_value(b, csb_toml_table_value_at(v, i));
      }
      csb_buf_putc(b, '}');
      break;
    case CSB_TOML_ARRAY:
      csb_buf_putc(b, '[');
      for (size_t i = 0; i < csb_toml_array_len(v); i++) {
        if (i) csb_buf_puts(b, ",\n");
        put_value(b, csb_toml_array_at(v, i));
      }
      csb_buf_putc(b, ']');
      break;
    case CSB_TOML_STRING: {
      size_t n;
      const char *s = csb_toml_as_string(v, &n);
      put_string(b, s, n);
      break;
    }
    case CSB_TOML_INTEGER: {
      int64_t i = 0;
      check(csb_toml_as_int(v, &i));
      csb_buf_printf(b, "%" PRId64, i);
      break;
    }
    case CSB_TOML_FLOAT:
      csb_buf_puts(b, csb_toml_float_text(v));
      break;
    case CSB_TOML_BOOL: {
      int x = 0;
      check(csb_toml_as_bool(v, &x));
      csb_buf_puts(b, x ? "true" : "false");
      break;
    }
    case CSB_TOML_DATETIME:
    case CSB_TOML_DATETIME_LOCAL:
    case CSB_TOML_DATE_LOCAL:
    case CSB_TOML_TIME_LOCAL: {
      csb_toml_datetime dt;
      check(csb_toml_as_datetime(v, &dt));
      csb_buf_puts(b, csb_toml_datetime_text(v));
      break;
    }
  }
}

static void check_pos(csb_toml_pos p) {
  check(p.line >= 1 && p.col >= 1);
  check(p.end_line > p.line || (p.end_line == p.line && p.end_col >= p.col));
}

/* Positions everywhere; name lookups agree with iteration. */
static void check_tree(const csb_toml_value *v) {
  check_pos(csb_toml_value_pos(v));
  if (csb_toml_value_kind(v) == CSB_TOML_TABLE) {
    for (size_t i = 0; i < csb_toml_table_len(v); i++) {
      size_t n, idx = (size_t)-1;
      const char *k = csb_toml_table_key_at(v, i, &n);
      check_pos(csb_toml_table_key_pos_at(v, i));
      check(csb_toml_table_find(v, k, n, &idx) && idx == i);
      check(csb_toml_table_getn(v, k, n) == csb_toml_table_value_at(v, i));
      check_tree(csb_toml_table_value_at(v, i));
    }
  } else if (csb_toml_value_kind(v) == CSB_TOML_ARRAY) {
    for (size_t i = 0; i < csb_toml_array_len(v); i++) check_tree(csb_toml_array_at(v, i));
  }
}

static void check_document(const csb_toml_value *root) {
  check(csb_toml_value_kind(root) == CSB_TOML_TABLE);
  check_tree(root);

  csb_toml_value *copy = csb_toml_clone(root);
  check(csb_toml_equal(root, copy));

  csb_toml_value *merged = csb_toml_table_new();
  check(csb_toml_merge(merged, csb_toml_clone(root), NULL));
  check(csb_toml_equal(root, merged));
  check(csb_toml_merge(merged, copy, NULL));
  check(csb_toml_equal(root, merged));

  /* Remove every other key, then every lookup must still agree. */
  size_t n = csb_toml_table_len(merged);
  for (size_t i = n; i-- > 0;) {
    if (i % 2) continue;
    size_t klen;
    const char *k = csb_toml_table_key_at(merged, i, &klen);
    csb_toml_value_free(csb_toml_table_take(merged, k, klen));
  }
  check(csb_toml_table_len(merged) == n / 2);
  for (size_t i = 0; i < csb_toml_table_len(merged); i++) {
    size_t klen, idx;
    const char *k = csb_toml_table_key_at(merged, i, &klen);
    check(csb_toml_table_find(merged, k, klen, &idx) && idx == i);
    check(csb_toml_equal(csb_toml_table_value_at(merged, i), csb_toml_table_getn(root, k, klen)));
  }
  csb_toml_value_free(merged);

  csb_buf text;
  csb_buf_init(&text);
  for (size_t i = 0; i < csb_toml_table_len(root); i++) {
    size_t klen;
    const char *k = csb_toml_table_key_at(root, i, &klen);
    put_key(&text, k, klen);
    csb_buf_puts(&text, " = ");
    put_value(&text, csb_toml_table_value_at(root, i));
    csb_buf_putc(&text, '\n');
  }
  csb_toml_value *again = NULL;
  csb_error err;
  if (!csb_toml_parse(text.data ? text.data : "", text.len, &again, &err)) {
    fprintf(stderr, "reparse failed at %d:%d: %s\n---\n%s\n---\n", err.line, err.col, err.msg,
            text.data);
    abort();
  }
  check(csb_toml_equal(root, again));
  csb_toml_value_free(again);
  csb_buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  csb_error err;
  csb_toml_value *v = NULL;

  if (csb_toml_parse(s, size, &v, &err)) {
    check_document(v);
    csb_toml_value_free(v);
  } else {
    check(v == NULL && err.line >= 1 && err.col >= 1 && err.msg[0]);
  }

  v = NULL;
  if (csb_toml_parse_value(s, size, &v, &err)) {
    check(v != NULL);
    check_tree(v);
    csb_toml_value *c = csb_toml_clone(v);
    check(csb_toml_equal(v, c));
    csb_toml_value_free(c);
    csb_toml_value_free(v);
  } else {
    check(v == NULL && err.line >= 1 && err.col >= 1 && err.msg[0]);
  }

  csb_strv parts;
  csb_strv_init(&parts);
  if (csb_toml_parse_key(s, size, &parts, &err))
    check(parts.len >= 1);
  else
    check(parts.len == 0 && err.line >= 1 && err.col >= 1);
  csb_strv_free(&parts);
  return 0;
}
