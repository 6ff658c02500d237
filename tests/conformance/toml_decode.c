/* toml_decode.c - the toml-test decoder interface: reads TOML on stdin and
 * prints the "tagged JSON" form on stdout; every leaf becomes
 * {"type": T, "value": "TEXT"}. Exit 0 on valid input, 1 on invalid input
 * (with the error on stderr), 2 when stdin cannot be read. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csb_base.h"
#include "csb_toml.h"

/* 64 MiB: far above any test vector, small enough to bound memory. */
#define MAX_INPUT ((size_t)64 << 20)

static void put_json_string(csb_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  csb_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
      case '"': csb_buf_puts(b, "\\\""); break;
      case '\\': csb_buf_puts(b, "\\\\"); break;
      case '\b': csb_buf_puts(b, "\\b"); break;
      case '\f': csb_buf_puts(b, "\\f"); break;
      case '\n': csb_buf_puts(b, "\\n"); break;
      case '\r': csb_buf_puts(b, "\\r"); break;
      case '\t': csb_buf_puts(b, "\\t"); break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
          csb_buf_puts(b, esc);
        } else {
          csb_buf_putc(b, (char)c);
        }
    }
  }
  csb_buf_putc(b, '"');
}

static void put_leaf(csb_buf *b, const char *type, const char *text, size_t n) {
  csb_buf_puts(b, "{\"type\": \"");
  csb_buf_puts(b, type);
  csb_buf_puts(b, "\", \"value\": ");
  put_json_string(b, text, n);
  csb_buf_putc(b, '}');
}

static void put_indent(csb_buf *b, int depth) {
  csb_buf_putc(b, '\n');
  for (int i = 0; i < depth; i++) csb_buf_puts(b, "  ");
}

/* The float in the spelling toml-test uses: "inf", "-inf", "nan", else
 * the number as written (underscores already removed). */
static const char *float_spelling(const char *text) {
  const char *t = text[0] == '+' ? text + 1 : text;
  if (strcmp(t, "nan") == 0 || strcmp(t, "-nan") == 0) return "nan";
  return t;
}

static void put_value(csb_buf *b, const csb_toml_value *v, int depth) {
  switch (csb_toml_value_kind(v)) {
    case CSB_TOML_TABLE: {
      size_t n = csb_toml_table_len(v);
      csb_buf_putc(b, '{');
      for (size_t i = 0; i < n; i++) {
        size_t klen;
        const char *k = csb_toml_table_key_at(v, i, &klen);
        if (i) csb_buf_putc(b, ',');
        put_indent(b, depth + 1);
        put_json_string(b, k, klen);
        csb_buf_puts(b, ": ");
        put_value(b, csb_toml_table_value_at(v, i), depth + 1);
      }
      if (n) put_indent(b, depth);
      csb_buf_putc(b, '}');
      break;
    }
    case CSB_TOML_ARRAY: {
      size_t n = csb_toml_array_len(v);
      csb_buf_putc(b, '[');
      for (size_t i = 0; i < n; i++) {
        if (i) csb_buf_putc(b, ',');
        put_indent(b, depth + 1);
        put_value(b, csb_toml_array_at(v, i), depth + 1);
      }
      if (n) put_indent(b, depth);
      csb_buf_putc(b, ']');
      break;
    }
    case CSB_TOML_STRING: {
      size_t n;
      const char *s = csb_toml_as_string(v, &n);
      put_leaf(b, "string", s, n);
      break;
    }
    case CSB_TOML_INTEGER: {
      int64_t i = 0;
      char buf[32];
      (void)csb_toml_as_int(v, &i);
      snprintf(buf, sizeof buf, "%" PRId64, i);
      put_leaf(b, "integer", buf, strlen(buf));
      break;
    }
    case CSB_TOML_FLOAT: {
      const char *t = float_spelling(csb_toml_float_text(v));
      put_leaf(b, "float", t, strlen(t));
      break;
    }
    case CSB_TOML_BOOL: {
      int x = 0;
      (void)csb_toml_as_bool(v, &x);
      put_leaf(b, "bool", x ? "true" : "false", x ? 4 : 5);
      break;
    }
    case CSB_TOML_DATETIME:
    case CSB_TOML_DATETIME_LOCAL:
    case CSB_TOML_DATE_LOCAL:
    case CSB_TOML_TIME_LOCAL: {
      const char *t = csb_toml_datetime_text(v);
      put_leaf(b, csb_toml_kind_name(csb_toml_value_kind(v)), t, strlen(t));
      break;
    }
  }
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: toml-decode < FILE.toml\n");
    return 2;
  }
  char *data = NULL;
  size_t len = 0;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_read_fd(0, "<stdin>", MAX_INPUT, &data, &len, &err)) {
    fprintf(stderr, "toml-decode: error: %s\n", err.msg);
    return 2;
  }
  csb_toml_value *root = NULL;
  if (!csb_toml_parse(data, len, &root, &err)) {
    fprintf(stderr, "toml-decode: error: <stdin>:%d:%d: %s\n", err.line, err.col, err.msg);
    free(data);
    return 1;
  }
  free(data);
  csb_buf out;
  csb_buf_init(&out);
  put_value(&out, root, 0);
  csb_buf_putc(&out, '\n');
  csb_toml_value_free(root);
  int ok = csb_write_all(1, out.data, out.len);
  csb_buf_free(&out);
  if (!ok) {
    fprintf(stderr, "toml-decode: error: writing stdout failed\n");
    return 2;
  }
  return 0;
}
