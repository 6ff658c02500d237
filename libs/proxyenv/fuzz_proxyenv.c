/* fuzz_proxyenv.c - libFuzzer entry point for libs/proxyenv: proxy
 * variable values (HTTP_PROXY & co.) as csb-bwrap, libs/sbpl and csb-proxy
 * read them from the environment of the sandboxed command.
 *
 * The input (cut at a NUL byte, as an environment value would be) is a
 * proxy URL. For every input:
 *   - an accepted loopback URL has its URL and authority spans inside the
 *     input, the authority inside the URL, no white space at either end of
 *     the URL, an address that is 127.0.0.1 or ::1 and a port in 1-65535
 *     that is the one written in the authority (or the scheme's default);
 *   - surrounding the value with white space changes nothing but the
 *     offsets; a blank value is never a URL;
 *   - rewriting it to another port keeps everything outside the authority
 *     and gives a loopback URL with exactly that port and 127.0.0.1, and
 *     rewriting that again is a fixed point; a rejected URL is not
 *     rewritten;
 *   - the value found through csb_proxyenv_get in an environment holding it
 *     is the input itself, unless it is blank.
 * Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -Ilibs/proxyenv libs/base/{base,os,sha256,utf8}.c \
 *     libs/proxyenv/proxyenv.c libs/proxyenv/fuzz_proxyenv.c -o /tmp/fuzz_proxyenv
 *   /tmp/fuzz_proxyenv -max_len=512 -max_total_time=600 /tmp/corpus_proxyenv
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_proxyenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* The port written after the host of an authority, or -1 when none is. */
static int written_port(const char *a, size_t n) {
  const char *colon = NULL;
  if (n > 0 && a[0] == '[') {
    const char *rb = memchr(a, ']', n);
    if (rb == NULL) abort();
    if ((size_t)(rb - a) + 1 < n) colon = rb + 1;
  } else {
    colon = memchr(a, ':', n);
  }
  if (colon == NULL || (size_t)(colon - a) + 1 == n) return -1;
  long p = 0;
  for (const char *q = colon + 1; q < a + n; q++) {
    if (*q < '0' || *q > '9') abort();
    p = p * 10 + (*q - '0');
    if (p > 65535) abort();
  }
  return (int)p;
}

static void check_url(const char *v, const csb_proxyenv_url *u) {
  size_t len = strlen(v);
  if (!(u->url_start <= u->authority_start && u->authority_start <= u->authority_end &&
        u->authority_end <= u->url_end && u->url_end <= len))
    abort();
  if (u->url_start == u->url_end || is_space(v[u->url_start]) || is_space(v[u->url_end - 1])) abort();
  if (u->port < 1 || u->port > 65535) abort();
  if (strcmp(u->addr, "127.0.0.1") != 0 && strcmp(u->addr, "::1") != 0) abort();
  int wp = written_port(v + u->authority_start, u->authority_end - u->authority_start);
  if (wp >= 0 && wp != u->port) abort();
  for (size_t i = u->authority_start; i < u->authority_end; i++)
    if (v[i] == '/' || v[i] == '?' || v[i] == '#' || v[i] == '@') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *v = malloc(size + 1);
  memcpy(v, data, size);
  v[size] = '\0';
  size_t len = strlen(v);

  csb_proxyenv_url u;
  int ok = csb_proxyenv_parse_loopback(v, &u);
  if (ok) check_url(v, &u);
  if (ok && csb_proxyenv_is_blank(v)) abort();

  /* white space around the value only moves the offsets */
  char *padded = malloc(len + 5);
  memcpy(padded, " \t", 2);
  memcpy(padded + 2, v, len);
  memcpy(padded + 2 + len, "\n ", 3);
  csb_proxyenv_url pu;
  int pok = csb_proxyenv_parse_loopback(padded, &pu);
  if (pok != ok) abort();
  if (ok) {
    if (strcmp(pu.addr, u.addr) != 0 || pu.port != u.port) abort();
    if (pu.authority_start - pu.url_start != u.authority_start - u.url_start ||
        pu.url_end - pu.url_start != u.url_end - u.url_start ||
        pu.authority_end - pu.authority_start != u.authority_end - u.authority_start)
      abort();
  }
  free(padded);

  int port = 1 + (int)(len * 7919 % 65535);
  char *r = csb_proxyenv_rewrite_loopback(v, port);
  if ((r != NULL) != ok) abort();
  if (r) {
    csb_proxyenv_url ru;
    if (!csb_proxyenv_parse_loopback(r, &ru)) abort();
    check_url(r, &ru);
    if (ru.port != port || strcmp(ru.addr, "127.0.0.1") != 0) abort();
    size_t pre = u.authority_start - u.url_start, post = u.url_end - u.authority_end;
    if (ru.url_start != 0 || ru.url_end != strlen(r)) abort();
    if (ru.authority_start != pre || strlen(r) - ru.authority_end != post) abort();
    if (memcmp(r, v + u.url_start, pre) != 0 || memcmp(r + ru.authority_end, v + u.authority_end, post) != 0)
      abort();
    char *again = csb_proxyenv_rewrite_loopback(r, port);
    if (again == NULL || strcmp(again, r) != 0) abort();
    free(again);
    free(r);
  }

  /* lookup through an environment */
  char *entry = malloc(len + 12);
  memcpy(entry, "HTTP_PROXY=", 11);
  memcpy(entry + 11, v, len + 1);
  char *envp[] = {entry, NULL};
  const char *name = NULL;
  const char *got = csb_proxyenv_get(envp, "HTTP_PROXY", "http_proxy", &name);
  if (csb_proxyenv_is_blank(v)) {
    if (got != NULL) abort();
  } else if (got == NULL || strcmp(got, v) != 0 || strcmp(name, "HTTP_PROXY") != 0) {
    abort();
  }
  free(entry);

  (void)csb_proxyenv_is_var(v, len);
  free(v);
  return 0;
}
