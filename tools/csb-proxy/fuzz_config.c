/* fuzz_config.c - libFuzzer entry point for csb-proxy's settings readers:
 * listener addresses (proxy_url / socks_url, upstream parse_host_port
 * semantics) and the --config TOML file.
 *
 * The input is split at its first '\n': the bytes before it (cut at a NUL
 * byte) are a proxy address, the bytes after it a --config document, read
 * from a memfd through /proc/self/fd. For every input:
 *   - an accepted address has a non-empty host that appears in it whole
 *     (never cut to fit), and a port that is the default or one written
 *     after the host; a refused one has a message; a listener for a host name or loopback literal is a
 *     loopback address with that port;
 *   - a config is accepted or refused with a message and exit code 65
 *     (unparsable) or 78 (invalid); an accepted one leaves every limit
 *     within its documented bounds and non-empty domain patterns, and
 *     loading it a second time into the same settings adds no domain entry.
 * Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -Ilibs/evloop -Ilibs/http -Ilibs/netpolicy -Ilibs/toml -I<cJSON source> \
 *     libs/base/{base,os,sha256,utf8}.c libs/evloop/{evloop,sock}.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c libs/toml/{datetime,lexer,parser,value}.c \
 *     <cJSON source>/cJSON.c tools/csb-proxy/config.c tools/csb-proxy/fuzz_config.c \
 *     -o /tmp/fuzz_proxy_config
 *   /tmp/fuzz_proxy_config -max_len=4096 -max_total_time=600 /tmp/corpus_proxy_config
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when `port` is written as decimal right after `host` and a ':' (or
 * "]:") somewhere in s. */
static int port_written(const char *s, const char *host, int port) {
  char a[300], b[300];
  snprintf(a, sizeof a, "%s:%d", host, port);
  snprintf(b, sizeof b, "%s]:%d", host, port);
  for (const char *p = s; *p; p++) {
    if (strncmp(p, a, strlen(a)) == 0 || strncmp(p, b, strlen(b)) == 0) return 1;
    /* leading zeros: "h:08080" */
    size_t hl = strlen(host);
    if (strncmp(p, host, hl) == 0) {
      const char *q = p + hl;
      if (*q == ']') q++;
      if (*q++ != ':') continue;
      long v = 0;
      int digits = 0;
      while (*q >= '0' && *q <= '9' && digits < 6) v = v * 10 + (*q++ - '0'), digits++;
      if (digits > 0 && v == port) return 1;
    }
  }
  return 0;
}

static void check_address(const char *url) {
  char host[256];
  int port = -1;
  csb_error err;
  csb_error_clear(&err);
  if (!px_parse_host_port(url, 3128, host, sizeof host, &port, &err)) {
    if (err.msg[0] == '\0') abort();
    return;
  }
  if (host[0] == '\0' || strlen(host) >= sizeof host || strstr(url, host) == NULL) abort();
  if (port < 0 || port > 65535) abort();
  if (port != 3128 && !port_written(url, host, port)) abort();

  /* a name or a loopback literal: no clamping warning, a loopback listener */
  char bare[256];
  snprintf(bare, sizeof bare, "%s", host);
  char *pct = strchr(bare, '%');
  if (pct) *pct = '\0';
  struct in_addr a4;
  struct in6_addr a6;
  int v4 = inet_pton(AF_INET, bare, &a4) == 1, v6 = !v4 && inet_pton(AF_INET6, bare, &a6) == 1;
  if ((v4 && (ntohl(a4.s_addr) >> 24) != 127) || (v6 && !IN6_IS_ADDR_LOOPBACK(&a6))) return;
  csb_netpolicy *np = csb_netpolicy_new();
  struct sockaddr_storage ss;
  if (!px_listen_addr(url, 3128, np, &ss, &err)) abort();
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
    if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127 || ntohs(s4->sin_port) != port) abort();
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
    if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) || ntohs(s6->sin6_port) != port) abort();
  } else {
    abort();
  }
  csb_netpolicy_free(np);
}

static void check_config(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz_config", MFD_CLOEXEC);
  if (fd < 0) return;
  if (size > 0 && write(fd, data, size) != (ssize_t)size) abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  csb_netpolicy *np = csb_netpolicy_new();
  px_limits lim;
  px_limits_default(&lim);
  int code = 0;
  csb_error err;
  csb_error_clear(&err);
  if (!px_config_load_toml(path, np, &lim, &code, &err)) {
    if (err.msg[0] == '\0' || (code != 65 && code != 78)) abort();
  } else {
    if (lim.max_connections < 1 || lim.max_connections > 1000000 || lim.max_header_bytes < 1 ||
        lim.max_header_bytes > (1u << 20) || lim.handshake_ms < 1 || lim.handshake_ms > 86400000 ||
        lim.idle_ms < 1 || lim.idle_ms > 86400000 || lim.dns_ms < 1 || lim.dns_ms > 600000 ||
        lim.decider_ms < 1 || lim.decider_ms > 86400000 || lim.resolver_threads < 1 ||
        lim.resolver_threads > 64 || lim.leaf_cache < 1 || lim.leaf_cache > 1000000 || lim.buffer_bytes < 1 ||
        lim.buffer_bytes > (16u << 20))
      abort();
    for (size_t i = 0; i < np->n_domains; i++)
      if (np->domains[i].pattern[0] == '\0') abort();
    size_t n = np->n_domains;
    if (np->n_hooks == 0) {
      if (!px_config_load_toml(path, np, &lim, &code, &err)) abort();
      if (np->n_domains != n) abort();
    }
  }
  csb_netpolicy_free(np);
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 16384) return 0;
  const uint8_t *nl = memchr(data, '\n', size);
  size_t alen = nl ? (size_t)(nl - data) : size;
  char *url = csb_xstrndup((const char *)data, alen);
  check_address(url);
  free(url);
  if (nl) check_config(nl + 1, size - alen - 1);
  return 0;
}
