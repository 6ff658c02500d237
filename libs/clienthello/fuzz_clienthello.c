/* fuzz_clienthello.c - libFuzzer entry point for libs/clienthello.
 *
 * The input is parsed twice: as the bytes a client sent, and as the body of
 * a ClientHello that this entry wraps into a handshake message and splits
 * into records in two ways (so that mutations reach the extension parser).
 * It checks that an accepted ClientHello lies inside the input and ends a
 * record, that every proper prefix of it is incomplete with a promise of
 * bytes it keeps, that bytes after it change nothing, that the name is a
 * valid host_name, that building a ClientHello with that name and any
 * record size parses back to it, and that the record split never changes
 * the verdict. Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -Ilibs/clienthello \
 *     libs/clienthello/clienthello.c libs/clienthello/fuzz_clienthello.c -o /tmp/fuzz_clienthello
 *   /tmp/fuzz_clienthello -max_len=4096 -max_total_time=600 /tmp/corpus_clienthello
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_clienthello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const csb_clienthello_info *a, const csb_clienthello_info *b) {
  return a->has_sni == b->has_sni && a->has_ech == b->has_ech && strcmp(a->sni, b->sni) == 0 &&
         a->version == b->version && a->message_len == b->message_len && a->n_extensions == b->n_extensions;
}

static void check_name(const csb_clienthello_info *in) {
  if (!in->has_sni) {
    if (in->sni[0]) abort();
    return;
  }
  if (!csb_clienthello_name_is_valid(in->sni)) abort();
  static const size_t sizes[] = {1, 5, 300, CSB_CLIENTHELLO_MAX_RECORD};
  static uint8_t buf[8192];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = csb_clienthello_build(buf, sizeof buf, in->sni, in->has_ech, sizes[i]);
    if (n == 0) abort();
    csb_clienthello_info b;
    if (csb_clienthello_parse(buf, n, &b, NULL) != CSB_CLIENTHELLO_OK) abort();
    if (!b.has_sni || strcmp(b.sni, in->sni) != 0 || b.has_ech != in->has_ech || b.consumed != n) abort();
  }
}

/* Properties of a parse of the whole input. */
static csb_clienthello_status check_stream(const uint8_t *data, size_t size, csb_clienthello_info *in,
                                          size_t prefixes) {
  const char *why = NULL;
  csb_clienthello_status st = csb_clienthello_parse(data, size, in, &why);
  switch (st) {
    case CSB_CLIENTHELLO_NOT_TLS:
      if (size == 0 || data[0] == CSB_CLIENTHELLO_RECORD_HANDSHAKE) abort();
      /* a TLS record of another type is never passed as another protocol */
      if (data[0] >= 20 && data[0] <= 24 && (size < 2 || data[1] == 3)) abort();
      return st;
    case CSB_CLIENTHELLO_INCOMPLETE:
      if (in->consumed <= size || in->consumed > CSB_CLIENTHELLO_MAX_INPUT) abort();
      return st;
    case CSB_CLIENTHELLO_ERROR:
      if (!why || !*why) abort();
      return st;
    case CSB_CLIENTHELLO_OK:
      break;
  }
  if (in->consumed > size || in->consumed > CSB_CLIENTHELLO_MAX_INPUT || in->records == 0) abort();
  if (in->message_len == 0 || in->message_len > CSB_CLIENTHELLO_MAX_MESSAGE) abort();
  check_name(in);
  /* what follows the ClientHello is not its business */
  csb_clienthello_info again;
  if (csb_clienthello_parse(data, in->consumed, &again, NULL) != CSB_CLIENTHELLO_OK || !same(in, &again)) abort();
  /* proper prefixes: incomplete, and the bytes they ask for are needed */
  size_t step = in->consumed > prefixes ? in->consumed / prefixes : 1;
  for (size_t i = 0; i < in->consumed; i += step) {
    csb_clienthello_info pre;
    if (csb_clienthello_parse(data, i, &pre, NULL) != CSB_CLIENTHELLO_INCOMPLETE) abort();
    if (pre.consumed <= i || pre.consumed > in->consumed) abort();
  }
  return st;
}

/* The input as a ClientHello body, wrapped into records of `rec` bytes. */
static size_t wrap(const uint8_t *body, size_t len, size_t rec, uint8_t *out, size_t cap) {
  uint8_t msg[4 + CSB_CLIENTHELLO_MAX_MESSAGE];
  if (len > CSB_CLIENTHELLO_MAX_MESSAGE) return 0;
  msg[0] = 1;
  msg[1] = (uint8_t)(len >> 16);
  msg[2] = (uint8_t)(len >> 8);
  msg[3] = (uint8_t)len;
  memcpy(msg + 4, body, len);
  return csb_clienthello_build_records(out, cap, msg, len + 4, rec, 0x0301);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  csb_clienthello_info a, b;
  check_stream(data, size, &a, 1024);
  if (size == 0 || size > 4096) return 0;
  static uint8_t w1[CSB_CLIENTHELLO_MAX_INPUT], w2[CSB_CLIENTHELLO_MAX_INPUT];
  size_t rec = 1 + data[0] % 61;
  size_t n1 = wrap(data, size, CSB_CLIENTHELLO_MAX_RECORD, w1, sizeof w1);
  size_t n2 = wrap(data, size, rec, w2, sizeof w2);
  /* 4100 bytes in 1-byte records stay below the input bound */
  if (n1 == 0 || n2 == 0) abort();
  csb_clienthello_status s1 = check_stream(w1, n1, &a, 32);
  if (s1 == CSB_CLIENTHELLO_INCOMPLETE || s1 == CSB_CLIENTHELLO_NOT_TLS) abort();
  csb_clienthello_status s2 = check_stream(w2, n2, &b, 32);
  if (s1 != s2) abort();
  if (s1 == CSB_CLIENTHELLO_OK && s2 == CSB_CLIENTHELLO_OK && !same(&a, &b)) abort();
  return 0;
}
