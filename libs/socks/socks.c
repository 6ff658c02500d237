/* socks.c - SOCKS5 message parsing and building. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "csb_socks.h"

#define SFAIL(msg)       \
  do {                   \
    if (why) *why = msg; \
    return CSB_SOCKS_ERROR; \
  } while (0)

csb_socks_status csb_socks_parse_greeting(const uint8_t *p, size_t n, size_t *consumed, int *no_auth,
                                          const char **why) {
  *consumed = 0;
  *no_auth = 0;
  if (n < 1) return CSB_SOCKS_INCOMPLETE;
  if (p[0] != CSB_SOCKS_VERSION) SFAIL("not a SOCKS5 greeting");
  if (n < 2) return CSB_SOCKS_INCOMPLETE;
  size_t nm = p[1];
  if (nm == 0) SFAIL("no authentication methods offered");
  if (n < 2 + nm) return CSB_SOCKS_INCOMPLETE;
  for (size_t i = 0; i < nm; i++)
    if (p[2 + i] == CSB_SOCKS_METHOD_NONE) *no_auth = 1;
  *consumed = 2 + nm;
  return CSB_SOCKS_OK;
}

/* Parses ATYP ADDR PORT at p; returns the length, 0 when incomplete, -1 on
 * error (with *reply and *why set). */
static long parse_addr(const uint8_t *p, size_t n, csb_socks_addr *a, uint8_t *reply, const char **why) {
  memset(a, 0, sizeof *a);
  if (n < 1) return 0;
  a->atyp = p[0];
  size_t alen;
  switch (p[0]) {
    case CSB_SOCKS_ATYP_IPV4:
      alen = 4;
      break;
    case CSB_SOCKS_ATYP_IPV6:
      alen = 16;
      break;
    case CSB_SOCKS_ATYP_DOMAIN:
      if (n < 2) return 0;
      alen = 1 + (size_t)p[1];
      if (p[1] == 0) {
        *reply = CSB_SOCKS_REP_GENERAL_FAILURE;
        if (why) *why = "empty domain name";
        return -1;
      }
      break;
    default:
      *reply = CSB_SOCKS_REP_ADDRESS_NOT_SUPPORTED;
      if (why) *why = "unsupported address type";
      return -1;
  }
  if (n < 1 + alen + 2) return 0;
  const uint8_t *ad = p + 1;
  uint16_t port = (uint16_t)((p[1 + alen] << 8) | p[2 + alen]);
  a->port = port;
  if (p[0] == CSB_SOCKS_ATYP_IPV4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ip;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, ad, 4);
    s4->sin_port = htons(port);
    inet_ntop(AF_INET, &s4->sin_addr, a->host, sizeof a->host);
  } else if (p[0] == CSB_SOCKS_ATYP_IPV6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ip;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, ad, 16);
    s6->sin6_port = htons(port);
    inet_ntop(AF_INET6, &s6->sin6_addr, a->host, sizeof a->host);
  } else {
    size_t dl = p[1];
    for (size_t i = 0; i < dl; i++) {
      uint8_t c = p[2 + i];
      if (c < 0x21 || c > 0x7e) {
        *reply = CSB_SOCKS_REP_GENERAL_FAILURE;
        if (why) *why = "invalid character in domain name";
        return -1;
      }
    }
    memcpy(a->host, p + 2, dl);
    a->host[dl] = '\0';
  }
  return (long)(1 + alen + 2);
}

csb_socks_status csb_socks_parse_request(const uint8_t *p, size_t n, size_t *consumed, csb_socks_request *out,
                                         uint8_t *reply, const char **why) {
  *consumed = 0;
  *reply = CSB_SOCKS_REP_GENERAL_FAILURE;
  memset(out, 0, sizeof *out);
  if (n < 1) return CSB_SOCKS_INCOMPLETE;
  if (p[0] != CSB_SOCKS_VERSION) SFAIL("not a SOCKS5 request");
  if (n < 2) return CSB_SOCKS_INCOMPLETE;
  out->cmd = p[1];
  if (n < 3) return CSB_SOCKS_INCOMPLETE;
  if (p[2] != 0) SFAIL("reserved byte is not zero");
  long r = parse_addr(p + 3, n - 3, &out->dst, reply, why);
  if (r < 0) return CSB_SOCKS_ERROR;
  if (r == 0) return CSB_SOCKS_INCOMPLETE;
  if (out->cmd != CSB_SOCKS_CMD_CONNECT && out->cmd != CSB_SOCKS_CMD_BIND &&
      out->cmd != CSB_SOCKS_CMD_UDP_ASSOCIATE) {
    *reply = CSB_SOCKS_REP_COMMAND_NOT_SUPPORTED;
    SFAIL("unsupported command");
  }
  *consumed = 3 + (size_t)r;
  return CSB_SOCKS_OK;
}

static size_t put_addr(uint8_t *out, const struct sockaddr *sa) {
  if (sa && sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    out[0] = CSB_SOCKS_ATYP_IPV4;
    memcpy(out + 1, &s4->sin_addr, 4);
    memcpy(out + 5, &s4->sin_port, 2);
    return 7;
  }
  if (sa && sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    out[0] = CSB_SOCKS_ATYP_IPV6;
    memcpy(out + 1, &s6->sin6_addr, 16);
    memcpy(out + 17, &s6->sin6_port, 2);
    return 19;
  }
  out[0] = CSB_SOCKS_ATYP_IPV4;
  memset(out + 1, 0, 6);
  return 7;
}

size_t csb_socks_build_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound) {
  out[0] = CSB_SOCKS_VERSION;
  out[1] = rep;
  out[2] = 0;
  return 3 + put_addr(out + 3, bound);
}

csb_socks_status csb_socks_parse_udp(const uint8_t *p, size_t n, size_t *header_len, uint8_t *frag,
                                     csb_socks_addr *dst, const char **why) {
  *header_len = 0;
  *frag = 0;
  if (n < 4) SFAIL("short UDP datagram");
  if (p[0] != 0 || p[1] != 0) SFAIL("reserved bytes are not zero");
  *frag = p[2];
  uint8_t rep;
  long r = parse_addr(p + 3, n - 3, dst, &rep, why);
  if (r < 0) return CSB_SOCKS_ERROR;
  if (r == 0) SFAIL("short UDP datagram");
  *header_len = 3 + (size_t)r;
  return CSB_SOCKS_OK;
}

size_t csb_socks_build_udp_header(uint8_t *out, const struct sockaddr *src) {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  return 3 + put_addr(out + 3, src);
}
