/* fuzz_retry.c - libFuzzer entry point for what follows a first
 * ClientHello (libs/clienthello): the HelloRetryRequest check of the
 * server's first bytes and the scan of the client's second flight.
 *
 * The input is read as a server's first bytes, as a client's second flight,
 * and as a handshake message that this entry wraps into records of two
 * sizes. For every input:
 *   - a verdict on a prefix is the verdict on every longer input, and the
 *     length a "more bytes" answer asks for is longer than the input,
 *     bounded (CSB_CLIENTHELLO_RETRY_MAX_INPUT, and CSB_CLIENTHELLO_MAX_INPUT
 *     plus a record header and a byte) and never past the length that
 *     decides; the server's first CSB_CLIENTHELLO_RETRY_MAX_INPUT bytes
 *     always decide;
 *   - the wrapped message is a HelloRetryRequest exactly when it starts
 *     with a ServerHello head with the HelloRetryRequest random, whatever
 *     the record size;
 *   - a built HelloRetryRequest (record sizes from the input, bytes after
 *     it) is one, and a built ServerHello with the input's random is one
 *     exactly when that random is the HelloRetryRequest's;
 *   - the second flight's ClientHello record lies inside the input behind
 *     whole skipped records (types 20, 21, 23, 24), is a handshake record
 *     that is empty or starts a client_hello, and its bytes parse with
 *     csb_clienthello_parse as TLS, with a verdict that longer inputs keep
 *     (an empty record is an error); another handshake message there is an
 *     error for the parser too; the bytes before it followed by a built
 *     ClientHello give that ClientHello at the same place.
 * Any violation aborts. clienthello_test replays it over seeds and
 * mutations; fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -ftrivial-auto-var-init=pattern \
 *     -DCSB_FUZZ_ENTRY -Ilibs/clienthello libs/clienthello/clienthello.c libs/clienthello/fuzz_retry.c \
 *     -o /tmp/fuzz_retry
 *   /tmp/fuzz_retry -max_len=4096 -max_total_time=600 /tmp/corpus_retry
 *
 * (-ftrivial-auto-var-init=pattern: the check gathers the ServerHello head
 * in a local array, and a byte of it read before it was copied would hold
 * what the previous call left there, most likely the right value; with
 * the pattern it is 0xAA and the verdict changes with the next byte.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_clienthello.h"

int csb_fuzz_retry_one(const uint8_t *data, size_t size);

#define HEAD CSB_CLIENTHELLO_SERVER_HELLO_HEAD
/* the longest "more bytes" answer of the second-flight scan: a handshake
 * record header just below the bound and the byte after it */
#define FLIGHT_MAX_NEED (CSB_CLIENTHELLO_MAX_INPUT + 5)

static uint8_t buf[CSB_CLIENTHELLO_MAX_INPUT + 8192];

/* ---- the server's first bytes ---- */

/* Every prefix up to the one that decides and a few past it (the check
 * reads no further), and the whole input; returns the verdict on the
 * whole input. */
static csb_clienthello_retry check_retry_stream(const uint8_t *p, size_t n) {
  size_t need = 1;
  csb_clienthello_retry full = csb_clienthello_check_retry(p, n, &need);
  if (full == CSB_CLIENTHELLO_RETRY_INCOMPLETE) {
    if (need <= n || need > CSB_CLIENTHELLO_RETRY_MAX_INPUT) abort();
  } else if (need != 0) {
    abort();
  }
  if (n >= CSB_CLIENTHELLO_RETRY_MAX_INPUT && full == CSB_CLIENTHELLO_RETRY_INCOMPLETE) abort();
  size_t promised = 0; /* the longest "more bytes" answer so far */
  int decided = 0;
  size_t lim = n;
  for (size_t i = 0; i <= lim; i++) {
    csb_clienthello_retry r = csb_clienthello_check_retry(p, i, &need);
    if (r == CSB_CLIENTHELLO_RETRY_INCOMPLETE) {
      if (decided || need <= i || need > CSB_CLIENTHELLO_RETRY_MAX_INPUT) abort();
      if (need > promised) promised = need;
      continue;
    }
    /* decided: by a length no earlier answer promised to be too short, for good */
    if (need != 0 || r != full || promised > i) abort();
    if (!decided && n - i > 4) lim = i + 4;
    decided = 1;
  }
  return full;
}

/* What the verdict on a ServerHello head `m` (len bytes of the message,
 * however split into non-empty handshake records) must be. */
static csb_clienthello_retry expected_retry(const uint8_t *m, size_t len) {
  if (len >= 1 && m[0] != 2) return CSB_CLIENTHELLO_RETRY_NO;
  if (len < HEAD) return CSB_CLIENTHELLO_RETRY_INCOMPLETE;
  return memcmp(m + 6, csb_clienthello_retry_random, 32) == 0 ? CSB_CLIENTHELLO_RETRY_YES : CSB_CLIENTHELLO_RETRY_NO;
}

static void check_built_server_hello(const uint8_t *random, size_t rec, const uint8_t *after, size_t after_len) {
  size_t n = csb_clienthello_build_server_hello(buf, sizeof buf - after_len, random, rec);
  if (n == 0 || n > sizeof buf - after_len) abort();
  int retry = !random || memcmp(random, csb_clienthello_retry_random, 32) == 0;
  csb_clienthello_retry want = retry ? CSB_CLIENTHELLO_RETRY_YES : CSB_CLIENTHELLO_RETRY_NO;
  if (csb_clienthello_check_retry(buf, n, NULL) != want) abort();
  /* what the server sends next changes nothing (and the prefixes are those of the message) */
  if (after_len) memcpy(buf + n, after, after_len);
  if (check_retry_stream(buf, n + after_len) != want) abort();
}

/* ---- the client's second flight ---- */

/* 1 when p[0..pos) is whole records of the types the scan skips, each
 * starting below the bound. */
static int skipped_records_up_to(const uint8_t *p, size_t n, size_t pos) {
  size_t off = 0;
  while (off < pos) {
    if (off >= CSB_CLIENTHELLO_MAX_INPUT || off + 5 > n) return 0;
    if (p[off] < 20 || p[off] > 24 || p[off] == CSB_CLIENTHELLO_RECORD_HANDSHAKE || p[off + 1] != 3) return 0;
    off += 5 + (((size_t)p[off + 3] << 8) | p[off + 4]);
  }
  return off == pos;
}

typedef struct flight {
  csb_clienthello_flight st;
  size_t pos;
  /* HELLO: csb_clienthello_parse of p + pos */
  csb_clienthello_status hello;
  csb_clienthello_info info;
} flight;

/* The scan of p[0..n) and, for a ClientHello record, its parse; aborts
 * when a single answer is wrong. */
static flight scan(const uint8_t *p, size_t n) {
  flight f;
  memset(&f, 0, sizeof f);
  f.st = csb_clienthello_scan_second_flight(p, n, &f.pos);
  f.hello = CSB_CLIENTHELLO_INCOMPLETE;
  switch (f.st) {
    case CSB_CLIENTHELLO_FLIGHT_INCOMPLETE:
      if (f.pos <= n || f.pos > FLIGHT_MAX_NEED) abort();
      return f;
    case CSB_CLIENTHELLO_FLIGHT_BOUND:
      if (f.pos < CSB_CLIENTHELLO_MAX_INPUT || !skipped_records_up_to(p, n, f.pos)) abort();
      return f;
    case CSB_CLIENTHELLO_FLIGHT_NOT_TLS:
      if (f.pos >= n || !skipped_records_up_to(p, n, f.pos)) abort();
      if (p[f.pos] >= 20 && p[f.pos] <= 24 && (f.pos + 1 >= n || p[f.pos + 1] == 3)) abort();
      return f;
    case CSB_CLIENTHELLO_FLIGHT_OTHER:
    case CSB_CLIENTHELLO_FLIGHT_HELLO:
      break;
  }
  if (f.pos + 6 > n || !skipped_records_up_to(p, n, f.pos)) abort();
  const uint8_t *h = p + f.pos;
  size_t rec_len = ((size_t)h[3] << 8) | h[4];
  if (h[0] != CSB_CLIENTHELLO_RECORD_HANDSHAKE || h[1] != 3) abort();
  const char *why = NULL;
  f.hello = csb_clienthello_parse(h, n - f.pos, &f.info, &why);
  if (f.hello == CSB_CLIENTHELLO_NOT_TLS) abort();
  if (f.hello == CSB_CLIENTHELLO_ERROR && (!why || !*why)) abort();
  if (f.st == CSB_CLIENTHELLO_FLIGHT_OTHER) {
    /* another message: the parser never takes it for a ClientHello */
    if (rec_len == 0 || h[5] == 1 || f.hello == CSB_CLIENTHELLO_OK) abort();
    return f;
  }
  if (rec_len == 0 && f.hello != CSB_CLIENTHELLO_ERROR) abort();
  if (rec_len > 0 && h[5] != 1) abort();
  if (f.hello == CSB_CLIENTHELLO_INCOMPLETE && f.info.consumed <= n - f.pos) abort();
  if (f.hello == CSB_CLIENTHELLO_OK && f.info.consumed > n - f.pos) abort();
  return f;
}

/* The input length below which the scan cannot say more, or the
 * ClientHello cannot be whole; 0 when everything is said. */
static size_t flight_need(const flight *f) {
  if (f->st == CSB_CLIENTHELLO_FLIGHT_INCOMPLETE) return f->pos;
  if (f->st == CSB_CLIENTHELLO_FLIGHT_HELLO && f->hello == CSB_CLIENTHELLO_INCOMPLETE)
    return f->pos + f->info.consumed;
  return 0;
}

/* 1 when a, the answer on some bytes, agrees with b, the answer on the
 * first j bytes of the same input, j at least as many. */
static int consistent(const flight *a, const flight *b, size_t j) {
  if (a->st == CSB_CLIENTHELLO_FLIGHT_INCOMPLETE) {
    /* nothing is said below the length asked for, and it is asked for again */
    return j >= a->pos || (b->st == CSB_CLIENTHELLO_FLIGHT_INCOMPLETE && b->pos == a->pos);
  }
  if (b->st != a->st || b->pos != a->pos) return 0;
  if (a->st != CSB_CLIENTHELLO_FLIGHT_HELLO) return 1;
  if (a->hello == CSB_CLIENTHELLO_INCOMPLETE) {
    /* no ClientHello is whole before the length asked for */
    if (b->hello != CSB_CLIENTHELLO_OK) return 1;
    return j >= a->pos + a->info.consumed && b->info.consumed >= a->info.consumed;
  }
  if (b->hello != a->hello) return 0;
  return a->hello != CSB_CLIENTHELLO_OK || (a->info.consumed == b->info.consumed &&
                                            a->info.has_sni == b->info.has_sni &&
                                            strcmp(a->info.sni, b->info.sni) == 0);
}

static void check_flight_stream(const uint8_t *p, size_t n, uint32_t salt) {
  flight full = scan(p, n);
  /* follow the answers from the empty input on: each agrees with the
   * whole input's, and the scan asks for the same length one byte short */
  size_t i = 0;
  flight f = scan(p, 0);
  for (;;) {
    if (!consistent(&f, &full, n)) abort();
    size_t need = flight_need(&f);
    if (need == 0) break;
    if (need <= i) abort();
    if (f.st == CSB_CLIENTHELLO_FLIGHT_INCOMPLETE && need - 1 > i && need - 1 <= n) {
      flight g = scan(p, need - 1);
      if (g.st != CSB_CLIENTHELLO_FLIGHT_INCOMPLETE || g.pos != need) abort();
    }
    if (need > n) break;
    i = need;
    f = scan(p, i);
  }
  /* and pairs of lengths anywhere */
  for (int k = 0; k < 4 && n > 0; k++) {
    salt = salt * 1103515245u + 12345u;
    size_t a = (salt >> 8) % (n + 1);
    salt = salt * 1103515245u + 12345u;
    size_t b = a + (salt >> 8) % (n + 1 - a);
    flight fa = scan(p, a), fb = scan(p, b);
    if (!consistent(&fa, &fb, b) || !consistent(&fb, &full, n)) abort();
  }
  if (full.st != CSB_CLIENTHELLO_FLIGHT_HELLO && full.st != CSB_CLIENTHELLO_FLIGHT_OTHER) return;
  /* whatever was skipped, a ClientHello behind it is found there */
  static const size_t sizes[] = {1, 50, CSB_CLIENTHELLO_MAX_RECORD};
  size_t rec = sizes[salt % 3];
  size_t len = csb_clienthello_build(buf + full.pos, sizeof buf - full.pos, "a.example", 0, rec);
  if (len == 0) abort();
  memcpy(buf, p, full.pos);
  flight b = scan(buf, full.pos + len);
  if (b.st != CSB_CLIENTHELLO_FLIGHT_HELLO || b.pos != full.pos || b.hello != CSB_CLIENTHELLO_OK ||
      b.info.consumed != len || strcmp(b.info.sni, "a.example") != 0)
    abort();
}

int csb_fuzz_retry_one(const uint8_t *data, size_t size) {
  uint32_t salt = 2166136261u;
  for (size_t i = 0; i < size && i < 64; i++) salt = (salt ^ data[i]) * 16777619u;
  check_retry_stream(data, size);
  check_flight_stream(data, size, salt);
  if (size > 4096) return 0;
  /* the input as a ServerHello message, in records of two sizes */
  csb_clienthello_retry want = expected_retry(data, size);
  size_t rec = size ? 1 + data[0] % 61 : 1;
  static uint8_t w[8 * 4096 + 8];
  size_t n = csb_clienthello_build_records(w, sizeof w, data, size, CSB_CLIENTHELLO_MAX_RECORD, 0x0303);
  if (check_retry_stream(w, n) != want) abort();
  n = csb_clienthello_build_records(w, sizeof w, data, size, rec, 0x0303);
  if (check_retry_stream(w, n) != want) abort();
  /* built ones */
  size_t rec2 = size >= 2 ? 1 + (((size_t)data[0] << 8 | data[1]) % CSB_CLIENTHELLO_MAX_RECORD) : 7;
  size_t after = size < 64 ? size : 64;
  check_built_server_hello(NULL, rec, data, after);
  check_built_server_hello(NULL, rec2, data, after);
  if (size >= 32) {
    uint8_t random[32];
    memcpy(random, data + size - 32, 32);
    check_built_server_hello(random, rec, NULL, 0);
    /* one bit off the HelloRetryRequest's: another ServerHello */
    memcpy(random, csb_clienthello_retry_random, 32);
    random[data[0] % 32] ^= (uint8_t)(1u << (data[1] % 8));
    check_built_server_hello(random, rec2, data, after);
  }
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_retry_one(data, size); }
#endif
