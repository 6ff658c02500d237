/* host.c - host normalisation, IP literal parsing and classification. */
#define _GNU_SOURCE
#if !defined(_WIN32)
#include <arpa/inet.h>
#include <netinet/in.h>
#endif
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "netpolicy_internal.h"

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/* One pass of the upstream rules. Not idempotent on its own: what comes
 * out of brackets, or is left after a port, may be read again in another
 * way (`[:]` gives ":", whose ':' then strips an empty port; `[[x]]` gives
 * "[x"; `a :80` gives "a "). */
static char *normalize_once(const char *host) {
  size_t len = strlen(host);
  size_t b = 0, e = len;
  while (b < e && is_ws(host[b])) b++;
  while (e > b && is_ws(host[e - 1])) e--;
  const char *s = host + b;
  size_t n = e - b;
  csb_buf out;
  csb_buf_init(&out);
  if (n > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    size_t inner = close ? (size_t)(close - s - 1) : n - 1;
    /* decode "%25" (an encoded zone separator) to "%" */
    for (size_t i = 0; i < inner; i++) {
      char c = s[1 + i];
      if (c == '%' && i + 2 < inner && s[2 + i] == '2' && s[3 + i] == '5') {
        csb_buf_putc(&out, '%');
        i += 2;
        continue;
      }
      csb_buf_putc(&out, c);
    }
  } else {
    const char *colon = memchr(s, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) n = (size_t)(colon - s);
    csb_buf_append(&out, s, n);
  }
  if (!out.data) csb_buf_puts(&out, "");
  for (size_t i = 0; i < out.len; i++) out.data[i] = (char)tolower((unsigned char)out.data[i]);
  while (out.len > 0 && out.data[out.len - 1] == '.') out.data[--out.len] = '\0';
  return csb_buf_steal(&out);
}

char *csb_netpolicy_normalize_host(const char *host) {
  /* A result that one more pass would change is no host (every valid one
   * is a fixed point): "" instead, which every pass keeps. So normalising
   * is idempotent, and a document that carries a normalised name (a domain
   * pattern csb-resolve wrote) is read back as the same name, or refused
   * in both places. */
  char *once = normalize_once(host);
  char *again = normalize_once(once);
  int fixed = strcmp(once, again) == 0;
  free(again);
  if (fixed) return once;
  once[0] = '\0';
  return once;
}

int csb_netpolicy_parse_ip(const char *s, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return 1;
  }
  char tmp[INET6_ADDRSTRLEN + 64];
  size_t n = strlen(s);
  const char *pct = strchr(s, '%');
  if (pct) {
    n = (size_t)(pct - s);
    if (pct[1] == '\0') return 0;
    for (const char *q = pct + 1; *q; q++)
      if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-' && *q != '.') return 0;
  }
  if (n == 0 || n >= sizeof tmp) return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET6, tmp, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return 1;
  }
  memset(out, 0, sizeof *out);
  return 0;
}

static int label_all_digits(const char *p, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)p[i])) return 0;
  return 1;
}

static int label_hex_number(const char *p, size_t n) {
  if (n < 2 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X')) return 0;
  for (size_t i = 2; i < n; i++)
    if (!isxdigit((unsigned char)p[i])) return 0;
  return 1;
}

int csb_netpolicy_host_is_valid(const char *host) {
  struct sockaddr_storage ss;
  if (!host || !*host) return 0;
  if (csb_netpolicy_parse_ip(host, &ss)) return 1;
  size_t len = strlen(host);
  if (len > 253) return 0;
  const char *p = host;
  const char *last = host;
  size_t last_len = 0;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n == 0 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)p[i];
      if (!(isalnum(c) || c == '-' || c == '_')) return 0;
      if (isupper(c)) return 0;
    }
    last = p;
    last_len = n;
    if (!dot) break;
    p = dot + 1;
    if (!*p) return 0; /* trailing dot: normalisation strips these */
  }
  if (label_all_digits(last, last_len) || label_hex_number(last, last_len)) return 0;
  return 1;
}

typedef struct v4net {
  uint32_t net;
  int bits;
} v4net;

static const v4net k_v4_non_public[] = {
    {0x00000000u, 8},  {0x0A000000u, 8},  {0x64400000u, 10}, {0x7F000000u, 8},
    {0xA9FE0000u, 16}, {0xAC100000u, 12}, {0xC0000000u, 24}, {0xC0000200u, 24},
    {0xC0A80000u, 16}, {0xC6120000u, 15}, {0xC6336400u, 24}, {0xCB007100u, 24},
    {0xE0000000u, 4},  {0xF0000000u, 4},  {0xA83F8110u, 32}, /* 168.63.129.16 */
};

static int v4_non_public(uint32_t a) {
  for (size_t i = 0; i < CSB_ARRAY_LEN(k_v4_non_public); i++) {
    uint32_t mask = k_v4_non_public[i].bits == 0 ? 0 : 0xFFFFFFFFu << (32 - k_v4_non_public[i].bits);
    if ((a & mask) == k_v4_non_public[i].net) return 1;
  }
  return 0;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The IPv4 address an IPv6 address carries towards an IPv4 host without
 * being it: the deprecated compatible form ::a.b.c.d (not :: or ::1) and
 * 6to4 2002:AABB:CCDD::/48; NULL for any other address. */
static const uint8_t *tunnelled_v4(const uint8_t *a) {
  static const uint8_t zero[12] = {0};
  if (memcmp(a, zero, 12) == 0) return be32(a + 12) > 1 ? a + 12 : NULL;
  return a[0] == 0x20 && a[1] == 0x02 ? a + 2 : NULL;
}

static int v6_non_public(const uint8_t *a) {
  static const uint8_t zero[16] = {0};
  /* :: and ::1 */
  if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) return 1;
  /* ::ffff:a.b.c.d (mapped) */
  if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff) return v4_non_public(be32(a + 12));
  /* ::a.b.c.d (deprecated compatible form), 2002::/16 6to4 (IPv4 in bits 16..47) */
  const uint8_t *t = tunnelled_v4(a);
  if (t) return v4_non_public(be32(t));
  if (a[0] == 0xff) return 1;                      /* multicast */
  if ((a[0] & 0xfe) == 0xfc) return 1;             /* fc00::/7 ULA */
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return 1; /* fe80::/10 */
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return 1; /* fec0::/10 */
  /* 64:ff9b::/96 NAT64 well-known prefix */
  static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (memcmp(a, nat64, 12) == 0) return v4_non_public(be32(a + 12));
  /* 64:ff9b:1::/48 local-use NAT64 */
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0x00 && a[5] == 0x01)
    return 1;
  /* 2001:0000::/32 Teredo */
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x00) return 1;
  return 0;
}

int csb_netpolicy_addr_is_non_public(const struct sockaddr *sa) {
  if (!sa) return 1;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
    return v4_non_public(ntohl(v4->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    return v6_non_public(v6->sin6_addr.s6_addr);
  }
  return 1;
}

const char *csb_netpolicy_addr_str(const struct sockaddr *sa, char *buf, size_t n) {
  if (n == 0) return buf;
  buf[0] = '\0';
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)n);
  else
    snprintf(buf, n, "?");
  return buf;
}

int csb_netpolicy_ip_key(const char *s, char *buf, size_t n) {
  struct sockaddr_storage ss;
  if (!csb_netpolicy_parse_ip(s, &ss)) return 0;
  if (ss.ss_family == AF_INET6) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t *a = ((const struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
      snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
      return 1;
    }
  }
  csb_netpolicy_addr_str((const struct sockaddr *)&ss, buf, n);
  return 1;
}

int np_ipv6_tunnelled_v4(const struct sockaddr_storage *ss, char *buf, size_t n) {
  const uint8_t *v4 =
      ss->ss_family == AF_INET6 ? tunnelled_v4(((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr) : NULL;
  if (!v4) return 0;
  snprintf(buf, n, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
  return 1;
}

void np_host_key(const char *host, char *buf, size_t n) {
  if (!csb_netpolicy_ip_key(host, buf, n)) snprintf(buf, n, "%s", host);
}

void np_strip_scope(const char *host, char *buf, size_t n) {
  if (n == 0) return;
  size_t len = strnlen(host, n - 1); /* what snprintf(buf, n, "%s", host) keeps, without its cost */
  memcpy(buf, host, len);
  buf[len] = '\0';
  char *pct = memchr(buf, '%', len);
  if (pct && memchr(buf, ':', len)) *pct = '\0';
}
