/* fuzz_http.c - libFuzzer entry point for libs/http.
 *
 * Every input is parsed as a request head and as a response head (with a
 * small and a large head limit); a parsed head must lie inside the input,
 * and its framing, target and authority are evaluated. The bytes after the
 * head go through the chunked decoder twice, in one piece and byte by
 * byte; both runs must agree on the consumed length, the decoded bytes and
 * the verdict; the same again refusing trailer fields, which may only turn
 * an accepted body into a refused one, never change what an accepted one
 * consumed. Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -Ilibs/base -Ilibs/http \
 *     libs/base/{base,os,sha256,utf8}.c libs/http/http.c libs/http/fuzz_http.c -o /tmp/fuzz_http
 *   /tmp/fuzz_http -max_len=8192 -max_total_time=600 /tmp/corpus_http
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head(const char *buf, size_t len, const csb_http_head *h) {
  if (h->head_len == 0 || h->head_len > len) abort();
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *x = &h->headers[i];
    if (x->name < buf || x->name + x->name_len > buf + h->head_len) abort();
    if (x->value < buf || x->value + x->value_len > buf + h->head_len) abort();
    if (x->name_len == 0) abort();
    (void)csb_http_is_hop_by_hop_in(h, x);
  }
}

/* Feeds p[0..n) whole and byte by byte; returns the consumed length (-1:
 * refused). */
static long chunked_both_ways(const char *p, size_t n, int no_trailers) {
  csb_http_chunked a, b;
  csb_buf da, db;
  csb_buf_init(&da);
  csb_buf_init(&db);
  csb_http_chunked_init(&a);
  csb_http_chunked_init(&b);
  a.no_trailers = b.no_trailers = no_trailers;
  const char *why = NULL;
  long ra = csb_http_chunked_feed(&a, p, n, &da, &why);
  long rb = 0;
  int failed_b = 0;
  for (size_t i = 0; i < n && !b.done; i++) {
    long r = csb_http_chunked_feed(&b, p + i, 1, &db, &why);
    if (r < 0) {
      failed_b = 1;
      break;
    }
    if (r > 1) abort();
    rb += r;
  }
  if ((ra < 0) != failed_b) abort();
  if (ra >= 0) {
    if (ra != rb || a.done != b.done || (size_t)ra > n) abort();
    if (da.len != db.len || (da.len && memcmp(da.data, db.data, da.len) != 0)) abort();
  }
  csb_buf_free(&da);
  csb_buf_free(&db);
  return ra;
}

static void chunked_checks(const char *p, size_t n) {
  long all = chunked_both_ways(p, n, 0), strict = chunked_both_ways(p, n, 1);
  if (strict >= 0 && strict != all) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  static const size_t limits[] = {64, 65536};
  for (size_t li = 0; li < 2; li++) {
    csb_http_head *h = malloc(sizeof *h);
    const char *why = NULL;
    csb_http_status st = csb_http_parse_request(buf, size, limits[li], h, &why);
    if (st == CSB_HTTP_OK) {
      check_head(buf, size, h);
      if (h->head_len > limits[li]) abort();
      csb_http_framing fr;
      (void)csb_http_request_framing(h, &fr, &why);
      (void)csb_http_keep_alive(h);
      csb_http_target t;
      (void)csb_http_parse_target(h->target, h->target_len, &t, &why);
      csb_http_authority au;
      (void)csb_http_parse_authority(h->target, h->target_len, &au, &why);
      const csb_http_header *host = csb_http_find(h, "host");
      if (host) (void)csb_http_parse_authority(host->value, host->value_len, &au, &why);
      chunked_checks(buf + h->head_len, size - h->head_len);
    } else if (st != CSB_HTTP_INCOMPLETE) {
      if (!why) abort();
    }
    st = csb_http_parse_response(buf, size, limits[li], h, &why);
    if (st == CSB_HTTP_OK) {
      check_head(buf, size, h);
      csb_http_framing fr;
      (void)csb_http_response_framing(h, "GET", 3, &fr, &why);
      (void)csb_http_response_framing(h, "HEAD", 4, &fr, &why);
    }
    free(h);
  }
  chunked_checks(buf, size);
  return 0;
}
