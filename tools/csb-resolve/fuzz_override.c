/* fuzz_override.c - fuzz entry for csb-resolve's `-c KEY=VALUE` overrides
 * (rs_parse_override, config.c) and the type checker that reads the layer
 * they make (rs_check_layer, strict.c).
 *
 * The input (cut at a NUL byte, as an argument is) is one argument. For
 * every input:
 *   - it is refused, with a message, exactly when it has no '=', its key
 *     is blank, or the key has more than CSB_TOML_MAX_DEPTH parts;
 *   - an accepted one is a chain of tables with one key each whose keys,
 *     joined by '.', are the key without its outer blanks (or
 *     `features.use_legacy_landlock` for `use_legacy_landlock`); the leaf
 *     equals the value parsed as TOML when it parses, else is the string
 *     of the value without outer blanks and one pair of matching quotes;
 *   - key positions are on line 1, inside the argument, one after the
 *     other (both parts of `use_legacy_landlock`'s key on it);
 *   - written back as `KEY=VALUE` with the keys joined again (and a
 *     string leaf that is valid UTF-8 as a TOML basic string) it reads
 *     back as an equal tree;
 *   - the type checker, plain and strict, accepts the layer or fails
 *     with a `session-flags:LINE:COL: ` message.
 * Any violation aborts. resolve_unit_test replays it over seeds and
 * mutations; fuzzing proper (docs/fuzzing.md):
 *
 *   python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/cli -Ilibs/json -Ilibs/netpolicy -Ilibs/paths -Ilibs/policy \
 *     -Ilibs/toml -I/tmp/winupcase -Ibazel-bin/libs/cli -I<cJSON source> \
 *     libs/base/{base,os,sha256,utf8}.c libs/cli/cli.c libs/json/json.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/policy/{eval,legacy,pathindex,pathstyle,policy,policy_json,summary,view}.c \
 *     libs/toml/{datetime,lexer,parser,value}.c <cJSON source>/cJSON.c \
 *     tools/csb-resolve/{compile,config,homes,main,materialize,network,requirements,select,strict}.c \
 *     tools/csb-resolve/fuzz_override.c -o /tmp/fuzz_override
 *   /tmp/fuzz_override -max_len=1024 -max_total_time=180 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

int csb_fuzz_override_one(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static int blank(char c) { return c == ' ' || c == '\t'; }

/* Characters (UTF-8 lead bytes and others) in s[0..n). */
static int chars(const char *s, size_t n) {
  int c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* Appends s[0..n) as a TOML basic string (the escapes of
 * csb_toml_append_key), or returns 0 when it is not valid UTF-8, which
 * TOML cannot hold. */
static int put_toml_string(csb_buf *b, const char *s, size_t n) {
  if (!csb_utf8_valid(s, n, NULL)) return 0;
  csb_buf k = {0};
  csb_toml_append_key(&k, s, n);
  int quoted = k.len > 0 && k.data[0] == '"';
  csb_buf_printf(b, quoted ? "%s" : "\"%s\"", k.data);
  csb_buf_free(&k);
  return 1;
}

/* The value the override should hold: the TOML value, else the string. */
static csb_toml_value *expected_value(const char *vs) {
  csb_toml_value *v = NULL;
  csb_error err;
  if (csb_toml_parse_value(vs, strlen(vs), &v, &err)) return v;
  size_t n = strlen(vs);
  while (n > 0 && blank(*vs)) vs++, n--;
  while (n > 0 && blank(vs[n - 1])) n--;
  if (n >= 2 && (vs[0] == '"' || vs[0] == '\'') && vs[n - 1] == vs[0]) vs++, n -= 2;
  return csb_toml_string_newn(vs, n);
}

static void check_layer(const char *arg, csb_toml_value *tree) {
  rs_layer l;
  memset(&l, 0, sizeof(l));
  l.name = "session-flags";
  l.base_dir = "/";
  l.text = (char *)arg;
  l.tree = tree;
  l.is_cli = 1;
  csb_buf msg = {0};
  for (int strict = 0; strict < 2; strict++) {
    if (!rs_check_layer(&l, strict, &msg)) {
      check(msg.data != NULL && strncmp(msg.data, "session-flags:", 14) == 0);
      check(msg.data[14] >= '1' && msg.data[14] <= '9');
    }
  }
  csb_buf_free(&msg);
}

int csb_fuzz_override_one(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *arg = malloc(size + 1);
  memcpy(arg, data, size);
  arg[size] = '\0';

  const char *eq = strchr(arg, '=');
  const char *ks = arg, *ke = eq ? eq : arg;
  while (ks < ke && blank(*ks)) ks++;
  while (ke > ks && blank(ke[-1])) ke--;
  size_t parts = 1;
  for (const char *q = ks; q < ke; q++) parts += *q == '.';
  int want_ok = eq != NULL && ke > ks && parts <= CSB_TOML_MAX_DEPTH;

  csb_toml_value *tree = NULL;
  csb_error err;
  csb_error_clear(&err);
  int ok = rs_parse_override(arg, &tree, NULL, &err);
  check(ok == want_ok);
  if (!ok) {
    check(tree == NULL && err.msg[0] != '\0');
    free(arg);
    return 0;
  }

  /* the chain of keys */
  char *key = csb_xstrndup(ks, (size_t)(ke - ks));
  if (strcmp(key, "use_legacy_landlock") == 0) {
    free(key);
    key = csb_xstrdup("features.use_legacy_landlock");
  }
  size_t key_parts = 1;
  for (const char *q = key; *q; q++) key_parts += *q == '.';
  csb_buf joined = {0};
  const csb_toml_value *cur = tree;
  const csb_toml_value *leaf = NULL;
  int total = chars(arg, strlen(arg));
  int last_end = 0, last_col = 0;
  size_t depth = 0;
  for (;;) {
    check(csb_toml_value_kind(cur) == CSB_TOML_TABLE && csb_toml_table_len(cur) == 1);
    size_t kl = 0;
    const char *k = csb_toml_table_key_at(cur, 0, &kl);
    check(memchr(k, '.', kl) == NULL);
    if (depth++ > 0) csb_buf_putc(&joined, '.');
    csb_buf_append(&joined, k, kl);
    csb_toml_pos kp = csb_toml_table_key_pos_at(cur, 0);
    check(kp.line == 1 && kp.end_line == 1 && kp.col <= total + 1);
    check(key_parts != parts && depth > 1 ? kp.col == last_col : kp.col > last_end);
    check(kp.end_col >= kp.col - 1 && kp.end_col <= total);
    last_end = kp.end_col;
    last_col = depth == 1 ? kp.col : last_col;
    const csb_toml_value *next = csb_toml_table_value_at(cur, 0);
    if (depth == key_parts) {
      leaf = next;
      break;
    }
    cur = next;
  }
  check(joined.len == strlen(key) && memcmp(joined.data, key, joined.len) == 0);
  csb_toml_value *want = expected_value(eq + 1);
  check(csb_toml_equal(leaf, want));

  /* written back and read again */
  csb_buf back = {0};
  csb_buf_puts(&back, key);
  csb_buf_putc(&back, '=');
  int writable = 1;
  size_t sl = 0;
  const char *s = csb_toml_as_string(leaf, &sl);
  if (s != NULL)
    writable = put_toml_string(&back, s, sl);
  else
    csb_buf_puts(&back, eq + 1);
  if (writable) {
    csb_toml_value *again = NULL;
    csb_error e2;
    check(rs_parse_override(back.data, &again, NULL, &e2));
    check(csb_toml_equal(again, tree));
    csb_toml_value_free(again);
  }
  csb_buf_free(&back);

  check_layer(arg, tree);

  csb_toml_value_free(want);
  csb_buf_free(&joined);
  free(key);
  csb_toml_value_free(tree);
  free(arg);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_override_one(data, size); }
#endif
