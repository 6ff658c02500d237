/* parser.c - TOML 1.0 document structure: key/value pairs, dotted keys,
 * [table] and [[array of tables]] headers with the definition rules,
 * arrays and inline tables, nesting limits. */
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

typedef struct key_part {
  char *s; /* owned until moved into a table */
  size_t len;
  csb_toml_pos pos;
} key_part;

typedef struct parser {
  csb_toml_lexer lx;
  key_part *keys;
  size_t nkeys, capkeys;
  csb_buf msg; /* scratch for key names in messages */
} parser;

static int at_eof(const parser *ps) { return ps->lx.p >= ps->lx.end; }
static char cur(const parser *ps) { return *ps->lx.p; }

static void keys_clear(parser *ps) {
  for (size_t i = 0; i < ps->nkeys; i++) free(ps->keys[i].s);
  ps->nkeys = 0;
}

/* Formats keys[0..n) as a dotted key for messages (into ps->msg). */
static const char *keys_repr(parser *ps, size_t n) {
  csb_buf_reset(&ps->msg);
  for (size_t i = 0; i < n; i++) {
    if (i) csb_buf_putc(&ps->msg, '.');
    csb_toml_i_key_repr(&ps->msg, ps->keys[i].s, ps->keys[i].len);
  }
  if (!ps->msg.data) csb_buf_puts(&ps->msg, "");
  return ps->msg.data;
}

/* An error at the start of pos, or where the lexer stands; 0. */
#define fail_pos(ps, pos, ...) csb_toml_i_fail_at(&(ps)->lx, (pos)->line, (pos)->col, __VA_ARGS__)
#define fail_here(ps, ...) csb_toml_i_fail_at(&(ps)->lx, (ps)->lx.line, (ps)->lx.col, __VA_ARGS__)

static int fail_depth(parser *ps, const csb_toml_pos *pos) {
  return fail_pos(ps, pos, "nesting is deeper than %d levels", CSB_TOML_MAX_DEPTH);
}

/* Reads a dotted key into ps->keys. */
static int parse_key(parser *ps) {
  keys_clear(ps);
  for (;;) {
    if (ps->nkeys >= CSB_TOML_MAX_DEPTH) {
      csb_toml_pos here = csb_toml_i_here(&ps->lx);
      return fail_pos(ps, &here, "key has more than %d parts", CSB_TOML_MAX_DEPTH);
    }
    ps->keys = csb_xgrow(ps->keys, &ps->capkeys, ps->nkeys + 1, sizeof *ps->keys);
    key_part *k = &ps->keys[ps->nkeys];
    if (!csb_toml_i_lex_key(&ps->lx, &k->s, &k->len, &k->pos)) return 0;
    ps->nkeys++;
    csb_toml_i_skip_ws(&ps->lx);
    if (at_eof(ps) || cur(ps) != '.') return 1;
    csb_toml_i_adv(&ps->lx);
    csb_toml_i_skip_ws(&ps->lx);
  }
}

/* Creates a table under t for key part i (the part stays intact for
 * messages; the table gets a copy of the key). */
static csb_toml_value *add_table(parser *ps, csb_toml_value *t, size_t i, unsigned flags) {
  const key_part *k = &ps->keys[i];
  csb_toml_value *nt = csb_toml_table_new();
  nt->flags = (uint8_t)flags;
  nt->pos = k->pos;
  char *key = csb_xmalloc(k->len + 1);
  memcpy(key, k->s, k->len + 1);
  csb_toml_entry *e = csb_toml_i_append(t, key, k->len, nt);
  e->key_pos = k->pos;
  return nt;
}

static const char *describe(const csb_toml_value *v) {
  if (v->kind == CSB_TOML_TABLE) {
    if (v->flags & CSB_TOML_F_INLINE) return "an inline table";
    return "a table";
  }
  if (v->kind == CSB_TOML_ARRAY)
    return (v->flags & CSB_TOML_F_AOT) ? "an array of tables" : "an array";
  switch ((csb_toml_kind)v->kind) {
    case CSB_TOML_STRING: return "a string";
    case CSB_TOML_INTEGER: return "an integer";
    case CSB_TOML_FLOAT: return "a float";
    case CSB_TOML_BOOL: return "a boolean";
    default: return "a date/time";
  }
}

static int parse_value(parser *ps, int depth, csb_toml_value **out);

/* key = value into table t (at tree depth `depth`). `in_inline` is set
 * inside inline tables, whose tables are sealed once closed. */
static int parse_keyval(parser *ps, csb_toml_value *t, int depth, int in_inline) {
  if (!parse_key(ps)) return 0;
  if (at_eof(ps) || cur(ps) != '=') {
    if (!at_eof(ps) && (cur(ps) == '\n' || cur(ps) == '\r'))
      return fail_here(ps, "expected '=' after key `%s`, found end of line",
                       keys_repr(ps, ps->nkeys));
    return fail_here(ps, "expected '=' after key `%s`", keys_repr(ps, ps->nkeys));
  }
  csb_toml_i_adv(&ps->lx);
  csb_toml_i_skip_ws(&ps->lx);
  size_t n = ps->nkeys;
  for (size_t i = 0; i + 1 < n; i++) {
    key_part *k = &ps->keys[i];
    size_t idx = csb_toml_i_find(t->u.tab, k->s, k->len);
    csb_toml_value *child;
    if (idx == (size_t)-1) {
      if (depth + 1 > CSB_TOML_MAX_DEPTH) return fail_depth(ps, &k->pos);
      child = add_table(ps, t, i, CSB_TOML_F_DOTTED | (in_inline ? CSB_TOML_F_INLINE : 0));
    } else {
      child = t->u.tab->ents[idx].val;
      if (child->kind != CSB_TOML_TABLE || !(child->flags & CSB_TOML_F_DOTTED)) {
        int line = t->u.tab->ents[idx].key_pos.line;
        const char *what = describe(child);
        if (child->kind == CSB_TOML_TABLE && !(child->flags & CSB_TOML_F_INLINE))
          return fail_pos(ps, &k->pos,
                          "cannot add to table `%s` (defined by a [header] near line %d) "
                          "with a dotted key",
                          keys_repr(ps, i + 1), line);
        return fail_pos(ps, &k->pos, "key `%s` is already %s (line %d) and cannot be extended",
                        keys_repr(ps, i + 1), what, line);
      }
    }
    t = child;
    depth++;
  }
  key_part *last = &ps->keys[n - 1];
  size_t idx = csb_toml_i_find(t->u.tab, last->s, last->len);
  if (idx != (size_t)-1)
    return fail_pos(ps, &last->pos, "duplicate key `%s` (first defined at line %d)",
                    keys_repr(ps, n), t->u.tab->ents[idx].key_pos.line);
  char *key = last->s;
  size_t key_len = last->len;
  csb_toml_pos key_pos = last->pos;
  last->s = NULL;
  keys_clear(ps);
  csb_toml_value *v = NULL;
  if (!parse_value(ps, depth + 1, &v)) {
    free(key);
    return 0;
  }
  csb_toml_entry *e = csb_toml_i_append(t, key, key_len, v);
  e->key_pos = key_pos;
  return 1;
}

/* At the bracket that opens an inline array or table: steps over it and
 * returns the empty container from `make`, inline, positioned there; NULL
 * when it would nest deeper than the limit. */
static csb_toml_value *open_inline(parser *ps, int depth, csb_toml_value *(*make)(void)) {
  csb_toml_pos pos = csb_toml_i_here(&ps->lx);
  if (depth > CSB_TOML_MAX_DEPTH) {
    fail_depth(ps, &pos);
    return NULL;
  }
  csb_toml_i_adv(&ps->lx);
  csb_toml_value *v = make();
  v->flags = CSB_TOML_F_INLINE;
  v->pos = pos;
  return v;
}

/* At the bracket that closes v: steps over it, ends v's position there and
 * hands v out; 1. */
static int close_inline(parser *ps, csb_toml_value *v, csb_toml_value **out) {
  csb_toml_i_adv(&ps->lx);
  csb_toml_i_end(&ps->lx, &v->pos);
  *out = v;
  return 1;
}

static int parse_array(parser *ps, int depth, csb_toml_value **out) {
  csb_toml_value *a = open_inline(ps, depth, csb_toml_array_new);
  if (a == NULL) return 0;
  for (;;) {
    if (!csb_toml_i_skip_ws_nl(&ps->lx)) goto fail;
    if (at_eof(ps)) {
      fail_pos(ps, &a->pos, "unterminated array");
      goto fail;
    }
    if (cur(ps) == ']') break;
    csb_toml_value *v = NULL;
    if (!parse_value(ps, depth + 1, &v)) goto fail;
    csb_toml_array_push(a, v);
    if (!csb_toml_i_skip_ws_nl(&ps->lx)) goto fail;
    if (at_eof(ps)) {
      fail_pos(ps, &a->pos, "unterminated array");
      goto fail;
    }
    if (cur(ps) == ',') {
      csb_toml_i_adv(&ps->lx);
      continue;
    }
    if (cur(ps) == ']') break;
    fail_here(ps, "expected ',' or ']' after an array element");
    goto fail;
  }
  return close_inline(ps, a, out);
fail:
  csb_toml_value_free(a);
  return 0;
}

static int parse_inline_table(parser *ps, int depth, csb_toml_value **out) {
  csb_toml_value *t = open_inline(ps, depth, csb_toml_table_new);
  if (t == NULL) return 0;
  csb_toml_i_skip_ws(&ps->lx);
  if (!at_eof(ps) && cur(ps) == '}') goto done;
  for (;;) {
    if (!at_eof(ps) && (cur(ps) == '\n' || cur(ps) == '\r')) {
      fail_here(ps, "newlines are not allowed in an inline table");
      goto fail;
    }
    if (!parse_keyval(ps, t, depth, 1)) goto fail;
    csb_toml_i_skip_ws(&ps->lx);
    if (at_eof(ps)) {
      fail_pos(ps, &t->pos, "unterminated inline table");
      goto fail;
    }
    if (cur(ps) == '}') break;
    if (cur(ps) == ',') {
      csb_toml_i_adv(&ps->lx);
      csb_toml_i_skip_ws(&ps->lx);
      if (!at_eof(ps) && cur(ps) == '}') {
        fail_here(ps, "trailing comma is not allowed in an inline table");
        goto fail;
      }
      continue;
    }
    if (cur(ps) == '\n' || cur(ps) == '\r')
      fail_here(ps, "newlines are not allowed in an inline table");
    else
      fail_here(ps, "expected ',' or '}' after a key/value pair in an inline table");
    goto fail;
  }
done:
  return close_inline(ps, t, out);
fail:
  csb_toml_value_free(t);
  return 0;
}

/* Any value; `depth` is the tree depth a container value would have. */
static int parse_value(parser *ps, int depth, csb_toml_value **out) {
  if (at_eof(ps)) return fail_here(ps, "expected a value, found end of input");
  char c = cur(ps);
  if (c == '"' || c == '\'') {
    csb_toml_pos pos = csb_toml_i_here(&ps->lx);
    char *s;
    size_t len;
    if (!csb_toml_i_lex_string(&ps->lx, &s, &len)) return 0;
    *out = csb_toml_i_string_take(s, len);
    csb_toml_i_end(&ps->lx, &pos);
    (*out)->pos = pos;
    return 1;
  }
  if (c == '[') return parse_array(ps, depth, out);
  if (c == '{') return parse_inline_table(ps, depth, out);
  if (c == '\n' || c == '\r' || c == '#')
    return fail_here(ps, "expected a value, found end of line");
  return csb_toml_i_lex_scalar(&ps->lx, out);
}

/* [a.b.c] or [[a.b.c]]; *cur_out receives the table that following
 * key/value pairs go to. */
static int parse_header(parser *ps, csb_toml_value *root, csb_toml_value **cur_out,
                        int *depth_out) {
  csb_toml_pos hpos = csb_toml_i_here(&ps->lx);
  csb_toml_i_adv(&ps->lx);
  int aot = 0;
  if (!at_eof(ps) && cur(ps) == '[') {
    aot = 1;
    csb_toml_i_adv(&ps->lx);
  }
  csb_toml_i_skip_ws(&ps->lx);
  if (!parse_key(ps)) return 0;
  if (at_eof(ps) || cur(ps) != ']')
    return fail_here(ps, "expected ']' to close the table header");
  csb_toml_i_adv(&ps->lx);
  if (aot) {
    if (at_eof(ps) || cur(ps) != ']')
      return fail_here(ps, "expected ']]' to close the array-of-tables header");
    csb_toml_i_adv(&ps->lx);
  }
  csb_toml_i_end(&ps->lx, &hpos);
  if (!csb_toml_i_end_of_line(&ps->lx, "a table header")) return 0;

  size_t n = ps->nkeys;
  csb_toml_value *t = root;
  int depth = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    key_part *k = &ps->keys[i];
    size_t idx = csb_toml_i_find(t->u.tab, k->s, k->len);
    csb_toml_value *child;
    if (idx == (size_t)-1) {
      if (depth + 1 > CSB_TOML_MAX_DEPTH) return fail_depth(ps, &k->pos);
      child = add_table(ps, t, i, CSB_TOML_F_IMPLICIT);
    } else {
      child = t->u.tab->ents[idx].val;
      int line = t->u.tab->ents[idx].key_pos.line;
      if (child->kind == CSB_TOML_ARRAY && (child->flags & CSB_TOML_F_AOT)) {
        depth++;
        child = child->u.arr.items[child->u.arr.len - 1];
      } else if (child->kind != CSB_TOML_TABLE || (child->flags & CSB_TOML_F_INLINE)) {
        return fail_pos(ps, &k->pos, "key `%s` is already %s (line %d) and cannot be extended",
                        keys_repr(ps, i + 1), describe(child), line);
      }
    }
    t = child;
    depth++;
  }
  key_part *last = &ps->keys[n - 1];
  size_t idx = csb_toml_i_find(t->u.tab, last->s, last->len);
  if (depth + 1 + aot > CSB_TOML_MAX_DEPTH) return fail_depth(ps, &last->pos);
  if (!aot) {
    csb_toml_value *tab;
    if (idx == (size_t)-1) {
      tab = add_table(ps, t, n - 1, CSB_TOML_F_DEFINED);
    } else {
      csb_toml_entry *e = &t->u.tab->ents[idx];
      tab = e->val;
      if (tab->kind != CSB_TOML_TABLE || tab->flags != CSB_TOML_F_IMPLICIT) {
        if (tab->kind == CSB_TOML_TABLE && (tab->flags & CSB_TOML_F_DEFINED))
          return fail_pos(ps, &last->pos, "table `%s` is defined twice (first at line %d)",
                          keys_repr(ps, n), e->key_pos.line);
        if (tab->kind == CSB_TOML_TABLE && (tab->flags & CSB_TOML_F_DOTTED))
          return fail_pos(ps, &last->pos,
                          "table `%s` was already defined by dotted keys (line %d)",
                          keys_repr(ps, n), e->key_pos.line);
        return fail_pos(ps, &last->pos, "key `%s` is already %s (line %d)", keys_repr(ps, n),
                        describe(tab), e->key_pos.line);
      }
      tab->flags = CSB_TOML_F_DEFINED;
      e->key_pos = last->pos;
    }
    tab->pos = hpos;
    *cur_out = tab;
    *depth_out = depth + 1;
  } else {
    csb_toml_value *arr;
    if (idx == (size_t)-1) {
      arr = csb_toml_array_new();
      arr->flags = CSB_TOML_F_AOT;
      arr->pos = hpos;
      csb_toml_entry *e = csb_toml_i_append(t, last->s, last->len, arr);
      e->key_pos = last->pos;
      last->s = NULL;
    } else {
      csb_toml_entry *e = &t->u.tab->ents[idx];
      arr = e->val;
      if (arr->kind != CSB_TOML_ARRAY || !(arr->flags & CSB_TOML_F_AOT))
        return fail_pos(ps, &last->pos,
                        "key `%s` is already %s (line %d) and cannot be an array of tables",
                        keys_repr(ps, n), describe(arr), e->key_pos.line);
    }
    csb_toml_value *tab = csb_toml_table_new();
    tab->flags = CSB_TOML_F_DEFINED;
    tab->pos = hpos;
    csb_toml_array_push(arr, tab);
    *cur_out = tab;
    *depth_out = depth + 2;
  }
  keys_clear(ps);
  return 1;
}

static void parser_done(parser *ps) {
  keys_clear(ps);
  free(ps->keys);
  csb_buf_free(&ps->msg);
  csb_toml_i_lex_done(&ps->lx);
}

/* Validates size and encoding; reports the position of a bad byte. */
static int check_input(const char *data, size_t len, csb_error *err) {
  if (len > CSB_TOML_MAX_INPUT)
    return csb_error_set(err, "input is too large (%zu bytes, limit %zu)", len,
                         CSB_TOML_MAX_INPUT);
  size_t bad;
  if (csb_utf8_valid(data, len, &bad)) return 1;
  int line = 1, col = 1;
  for (size_t i = 0; i < bad; i++) {
    unsigned char c = (unsigned char)data[i];
    if (c == '\n') {
      line++;
      col = 1;
    } else if ((c & 0xC0) != 0x80) {
      col++;
    }
  }
  return csb_error_set_at(err, line, col, "invalid UTF-8 (byte 0x%02X)",
                          (unsigned char)data[bad]);
}

/* Starts ps on data (NULL: empty) once check_input accepts it; 0, with ps
 * not started, when it does not. */
static int parser_start(parser *ps, const char *data, size_t len, csb_error *err) {
  if (!data) {
    data = "";
    len = 0;
  }
  if (!check_input(data, len, err)) return 0;
  memset(ps, 0, sizeof *ps);
  csb_toml_i_lex_init(&ps->lx, data, len, err);
  csb_buf_init(&ps->msg);
  return 1;
}

int csb_toml_parse(const char *data, size_t len, csb_toml_value **out, csb_error *err) {
  *out = NULL;
  parser ps;
  if (!parser_start(&ps, data, len, err)) return 0;
  if (ps.lx.end - ps.lx.p >= 3 && memcmp(ps.lx.p, "\xEF\xBB\xBF", 3) == 0) ps.lx.p += 3;
  csb_toml_value *root = csb_toml_table_new();
  root->flags = CSB_TOML_F_DEFINED;
  root->pos = csb_toml_i_here(&ps.lx);
  csb_toml_value *table = root;
  int depth = 0;
  for (;;) {
    csb_toml_i_skip_ws(&ps.lx);
    if (at_eof(&ps)) break;
    char c = cur(&ps);
    if (c == '#') {
      if (!csb_toml_i_end_of_line(&ps.lx, "a comment")) goto fail;
    } else if (c == '\n' || c == '\r') {
      if (!csb_toml_i_eat_newline(&ps.lx)) {
        fail_here(&ps, "carriage return not followed by a newline");
        goto fail;
      }
    } else if (c == '[') {
      if (!parse_header(&ps, root, &table, &depth)) goto fail;
    } else {
      if (!parse_keyval(&ps, table, depth, 0)) goto fail;
      if (!csb_toml_i_end_of_line(&ps.lx, "a key/value pair")) goto fail;
    }
  }
  parser_done(&ps);
  *out = root;
  return 1;
fail:
  parser_done(&ps);
  csb_toml_value_free(root);
  return 0;
}

int csb_toml_parse_value(const char *data, size_t len, csb_toml_value **out,
                         csb_error *err) {
  *out = NULL;
  parser ps;
  if (!parser_start(&ps, data, len, err)) return 0;
  csb_toml_value *v = NULL;
  if (!csb_toml_i_skip_ws_nl(&ps.lx) || !parse_value(&ps, 1, &v) ||
      !csb_toml_i_skip_ws_nl(&ps.lx))
    goto fail;
  if (!at_eof(&ps)) {
    fail_here(&ps, "unexpected text after the value");
    goto fail;
  }
  parser_done(&ps);
  *out = v;
  return 1;
fail:
  parser_done(&ps);
  csb_toml_value_free(v);
  return 0;
}

int csb_toml_parse_key(const char *data, size_t len, csb_strv *out, csb_error *err) {
  parser ps;
  if (!parser_start(&ps, data, len, err)) return 0;
  int ok = 0;
  csb_toml_i_skip_ws(&ps.lx);
  if (!parse_key(&ps)) goto done;
  if (!at_eof(&ps)) {
    fail_here(&ps, "unexpected text after the key");
    goto done;
  }
  for (size_t i = 0; i < ps.nkeys; i++) {
    if (memchr(ps.keys[i].s, '\0', ps.keys[i].len)) {
      fail_pos(&ps, &ps.keys[i].pos, "key part contains a NUL character");
      goto done;
    }
  }
  for (size_t i = 0; i < ps.nkeys; i++) {
    csb_strv_push_owned(out, ps.keys[i].s);
    ps.keys[i].s = NULL;
  }
  ok = 1;
done:
  parser_done(&ps);
  return ok;
}
