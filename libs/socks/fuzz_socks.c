/* fuzz_socks.c - libFuzzer entry point for libs/socks.
 *
 * The input is parsed as a greeting, a request and a UDP header, whole and
 * as every prefix of it: a prefix of a complete message must never be an
 * error that the whole message is not, results must stay inside the input,
 * and a parsed request re-encoded as a reply or UDP header must parse back
 * to the same address. Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -Ilibs/socks \
 *     libs/socks/socks.c libs/socks/fuzz_socks.c -o /tmp/fuzz_socks
 *   /tmp/fuzz_socks -max_len=1024 -max_total_time=600 /tmp/corpus_socks
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_socks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const csb_socks_addr *a) {
  if (a->atyp == CSB_SOCKS_ATYP_DOMAIN) {
    if (strlen(a->host) == 0 || strlen(a->host) > 255) abort();
    return;
  }
  uint8_t buf[32];
  size_t n = csb_socks_build_udp_header(buf, (const struct sockaddr *)&a->ip);
  size_t hl;
  uint8_t frag;
  csb_socks_addr b;
  const char *why;
  if (csb_socks_parse_udp(buf, n, &hl, &frag, &b, &why) != CSB_SOCKS_OK) abort();
  if (hl != n || b.port != a->port || strcmp(a->host, b.host) != 0) abort();
  n = csb_socks_build_reply(buf, 0, (const struct sockaddr *)&a->ip);
  if (n != 10 && n != 22) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *why = NULL;
  size_t consumed = 0;
  int no_auth = 0;
  csb_socks_status g = csb_socks_parse_greeting(data, size, &consumed, &no_auth, &why);
  if (g == CSB_SOCKS_OK && (consumed > size || consumed < 3)) abort();
  csb_socks_request req;
  uint8_t rep;
  csb_socks_status r = csb_socks_parse_request(data, size, &consumed, &req, &rep, &why);
  if (r == CSB_SOCKS_OK) {
    if (consumed > size) abort();
    roundtrip(&req.dst);
    /* every proper prefix is incomplete */
    for (size_t i = 0; i < consumed; i++) {
      size_t c2;
      csb_socks_request r2;
      if (csb_socks_parse_request(data, i, &c2, &r2, &rep, &why) != CSB_SOCKS_INCOMPLETE) abort();
    }
  }
  size_t hl;
  uint8_t frag;
  csb_socks_addr dst;
  if (csb_socks_parse_udp(data, size, &hl, &frag, &dst, &why) == CSB_SOCKS_OK) {
    if (hl > size) abort();
    roundtrip(&dst);
  }
  return 0;
}
