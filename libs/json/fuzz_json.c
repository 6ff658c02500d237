/* fuzz_json.c - libFuzzer entry point for libs/json.
 *
 * For every input: parse it; on failure the error must carry a position
 * (unless the input is over the size limit). On success, in every printing
 * mode, print -> parse -> print must reproduce the first print byte for
 * byte, and the sorted and unsorted compact forms of the reparsed tree must
 * match those of the original tree. The typed getters are run over the
 * document's members to check that no wrong type can crash them, and every
 * member must be found again in the text by csb_json_locate. Any violation
 * aborts.
 *
 * json_test links this file and replays it over seeds and mutations. To
 * fuzz for real (cJSON comes from Bazel's external repository):
 *
 *   CJ=$(bazel info output_base)/external/cjson
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -I$CJ libs/json/fuzz_json.c libs/json/json.c \
 *     libs/base/{base,os,sha256,utf8}.c $CJ/cJSON.c -o /tmp/fuzz_json
 *   /tmp/fuzz_json -max_len=4096 -max_total_time=300 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *reprint(const char *text, unsigned flags) {
  cJSON *v = NULL;
  csb_error err;
  if (!csb_json_parse(text, strlen(text), &v, &err)) abort();
  char *s = csb_json_print_str(v, flags);
  cJSON_Delete(v);
  return s;
}

static void check_stable(const cJSON *v, unsigned flags) {
  char *a = csb_json_print_str(v, flags);
  char *b = reprint(a, flags);
  if (strcmp(a, b) != 0) abort();
  /* The printed text describes the same tree in the other modes too. */
  char *orig_compact = csb_json_print_str(v, CSB_JSON_COMPACT | (flags & CSB_JSON_KEEP_ORDER));
  char *re_compact = reprint(a, CSB_JSON_COMPACT | (flags & CSB_JSON_KEEP_ORDER));
  if (strcmp(orig_compact, re_compact) != 0) abort();
  free(orig_compact);
  free(re_compact);
  free(a);
  free(b);
}

static void poke_getters(const cJSON *obj, int depth) {
  csb_error err;
  const char *s = NULL;
  bool b = false;
  double d = 0;
  int64_t i = 0;
  const cJSON *sub = NULL;
  csb_strv v;
  csb_strv_init(&v);
  static const char *const allowed[] = {"a", "b", "", NULL};
  (void)csb_json_check_keys(obj, allowed, "fuzz input", &err);
  if (!cJSON_IsObject(obj)) {
    if (csb_json_get_string(obj, "a", &s, &err) || csb_json_opt_bool(obj, "a", &b, &err))
      abort();
    return;
  }
  for (const cJSON *c = obj->child; c; c = c->next) {
    const char *k = c->string ? c->string : "";
    (void)csb_json_get_string(obj, k, &s, &err);
    (void)csb_json_get_bool(obj, k, &b, &err);
    (void)csb_json_get_number(obj, k, &d, &err);
    (void)csb_json_get_int(obj, k, &i, &err);
    (void)csb_json_opt_int_range(obj, k, -5, 5, &i, &err);
    (void)csb_json_get_object(obj, k, &sub, &err);
    (void)csb_json_opt_array(obj, k, &sub, &err);
    (void)csb_json_opt_strings(obj, k, &v, &err);
    if (csb_json_get(obj, k) == NULL) abort();
    if (depth < 4 && cJSON_IsObject(c)) poke_getters(c, depth + 1);
  }
  csb_strv_free(&v);
}

/* Every member and element (a few levels deep) must be found again in the
 * text by csb_json_locate. */
static void check_locate(const cJSON *v, const uint8_t *data, size_t size, csb_buf *ptr,
                         int depth) {
  int line = 0, col = 0;
  if (!csb_json_locate((const char *)data, size, ptr->data ? ptr->data : "", &line, &col))
    abort();
  if (line < 1 || col < 1 || depth >= 3) return;
  size_t keep = ptr->len, i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    if (i >= 8) break;
    csb_buf_putc(ptr, '/');
    if (cJSON_IsObject(v)) {
      for (const char *k = c->string; *k; k++) {
        if (*k == '~')
          csb_buf_puts(ptr, "~0");
        else if (*k == '/')
          csb_buf_puts(ptr, "~1");
        else
          csb_buf_putc(ptr, *k);
      }
    } else {
      csb_buf_printf(ptr, "%zu", i);
    }
    check_locate(c, data, size, ptr, depth + 1);
    ptr->len = keep;
    ptr->data[keep] = '\0';
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *v = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_json_parse((const char *)data, size, &v, &err)) {
    if (v != NULL) abort();
    if (size <= CSB_JSON_MAX_INPUT && (err.line < 1 || err.col < 1)) abort();
    /* Scanning text that is not JSON must still be safe. */
    int line, col;
    (void)csb_json_locate((const char *)data, size, "/a/0/b", &line, &col);
    (void)csb_json_locate((const char *)data, size, "/0/1", &line, &col);
    return 0;
  }
  check_stable(v, 0);
  check_stable(v, CSB_JSON_COMPACT);
  check_stable(v, CSB_JSON_KEEP_ORDER);
  check_stable(v, CSB_JSON_COMPACT | CSB_JSON_KEEP_ORDER);
  csb_buf ptr;
  csb_buf_init(&ptr);
  check_locate(v, data, size, &ptr, 0);
  csb_buf_free(&ptr);
  poke_getters(v, 0);
  if (cJSON_IsArray(v)) {
    for (const cJSON *c = v->child; c; c = c->next) poke_getters(c, 1);
  }
  cJSON_Delete(v);
  return 0;
}
