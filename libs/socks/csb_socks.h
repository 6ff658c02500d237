/* csb_socks.h - SOCKS5 (RFC 1928) message parsing and building, strict and
 * bounded: method negotiation, requests (CONNECT, BIND, UDP ASSOCIATE with
 * IPv4, IPv6 and domain addresses), replies and UDP datagram headers.
 *
 * Conventions: see csb_base.h. Nothing here allocates or keeps state
 * between calls; every parser is given the bytes received so far and says
 * whether a complete message is there.
 */
#ifndef CSB_SOCKS_H
#define CSB_SOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  CSB_SOCKS_VERSION = 5,
  CSB_SOCKS_METHOD_NONE = 0x00,
  CSB_SOCKS_METHOD_UNACCEPTABLE = 0xff,
  CSB_SOCKS_CMD_CONNECT = 1,
  CSB_SOCKS_CMD_BIND = 2,
  CSB_SOCKS_CMD_UDP_ASSOCIATE = 3,
  CSB_SOCKS_ATYP_IPV4 = 1,
  CSB_SOCKS_ATYP_DOMAIN = 3,
  CSB_SOCKS_ATYP_IPV6 = 4,
  /* reply codes */
  CSB_SOCKS_REP_SUCCEEDED = 0,
  CSB_SOCKS_REP_GENERAL_FAILURE = 1,
  CSB_SOCKS_REP_NOT_ALLOWED = 2,
  CSB_SOCKS_REP_NETWORK_UNREACHABLE = 3,
  CSB_SOCKS_REP_HOST_UNREACHABLE = 4,
  CSB_SOCKS_REP_CONNECTION_REFUSED = 5,
  CSB_SOCKS_REP_TTL_EXPIRED = 6,
  CSB_SOCKS_REP_COMMAND_NOT_SUPPORTED = 7,
  CSB_SOCKS_REP_ADDRESS_NOT_SUPPORTED = 8
};

typedef enum {
  CSB_SOCKS_OK = 0,
  CSB_SOCKS_INCOMPLETE,
  CSB_SOCKS_ERROR
} csb_socks_status;

/* Method selection: VER NMETHODS METHODS... . *consumed is the message
 * length; *no_auth is 1 when method 0x00 was offered. */
csb_socks_status csb_socks_parse_greeting(const uint8_t *p, size_t n, size_t *consumed, int *no_auth,
                                          const char **why);

typedef struct csb_socks_addr {
  uint8_t atyp;
  char host[256];  /* domain (validated: visible ASCII), or the IP as text */
  struct sockaddr_storage ip; /* for IPv4/IPv6 (port set too) */
  uint16_t port;
} csb_socks_addr;

typedef struct csb_socks_request {
  uint8_t cmd;
  csb_socks_addr dst;
} csb_socks_request;

/* VER CMD RSV ATYP DST.ADDR DST.PORT. On CSB_SOCKS_ERROR *reply holds the
 * reply code to send (e.g. ADDRESS_NOT_SUPPORTED for an unknown ATYP,
 * COMMAND_NOT_SUPPORTED for an unknown command, GENERAL_FAILURE else). */
csb_socks_status csb_socks_parse_request(const uint8_t *p, size_t n, size_t *consumed, csb_socks_request *out,
                                         uint8_t *reply, const char **why);

/* Writes VER REP RSV ATYP BND.ADDR BND.PORT for `bound` (IPv4/IPv6; NULL or
 * another family -> 0.0.0.0:0) into out (at least 22 bytes). Returns the
 * length. */
size_t csb_socks_build_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound);

/* UDP request header: RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA.
 * *header_len is the header length; *frag the fragment number (callers
 * drop fragmented datagrams). */
csb_socks_status csb_socks_parse_udp(const uint8_t *p, size_t n, size_t *header_len, uint8_t *frag,
                                     csb_socks_addr *dst, const char **why);
/* Writes a UDP header for a datagram from `src` (IPv4/IPv6) into out (at
 * least 22 bytes). Returns the length. */
size_t csb_socks_build_udp_header(uint8_t *out, const struct sockaddr *src);

#ifdef __cplusplus
}
#endif

#endif /* CSB_SOCKS_H */
