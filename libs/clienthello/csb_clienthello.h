/* csb_clienthello.h - reading the server name out of a TLS ClientHello as
 * a client sends it at the start of a connection: TLS records (RFC 8446
 * §5.1) carrying one handshake message (§4) of type client_hello, whose
 * server_name extension (RFC 6066 §3) names the host the client wants.
 *
 * Strict and bounded: the message may be split over any number of records
 * (and arrive in any number of pieces), but it must be whole within
 * CSB_CLIENTHELLO_MAX_INPUT bytes of records and at most
 * CSB_CLIENTHELLO_MAX_MESSAGE bytes long, every length must agree with its
 * container, and a server_name extension must hold exactly one host_name
 * of letters, digits, `-`, `_` and `.`. Anything else after a first byte
 * of 22 (handshake) is an error, so that a caller can refuse what an
 * origin might read differently; so is a first record of another TLS type
 * (20, 21, 23 or 24 and major version 3), since servers may skip one (a
 * warning alert) and read a ClientHello behind it.
 *
 * Conventions: see csb_base.h. Nothing here allocates or keeps state
 * between calls: the parser is given the bytes received so far and says
 * whether a complete ClientHello is there.
 */
#ifndef CSB_CLIENTHELLO_H
#define CSB_CLIENTHELLO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  CSB_CLIENTHELLO_RECORD_HANDSHAKE = 22, /* TLS record content type */
  CSB_CLIENTHELLO_EXT_SERVER_NAME = 0x0000,
  CSB_CLIENTHELLO_EXT_ECH = 0xfe0d,      /* encrypted_client_hello */
  CSB_CLIENTHELLO_MAX_MESSAGE = 16384,   /* handshake message body, bytes */
  CSB_CLIENTHELLO_MAX_INPUT = 32768,     /* records carrying it, headers included */
  CSB_CLIENTHELLO_MAX_RECORD = 16384     /* TLSPlaintext.length limit (2^14) */
};

typedef enum {
  CSB_CLIENTHELLO_OK = 0,
  CSB_CLIENTHELLO_INCOMPLETE, /* a valid beginning: more bytes are needed */
  CSB_CLIENTHELLO_NOT_TLS,    /* the first bytes are not a TLS record */
  CSB_CLIENTHELLO_ERROR       /* handshake records without a well-formed ClientHello */
} csb_clienthello_status;

typedef struct csb_clienthello_info {
  /* OK: the bytes of the records that carry the ClientHello (the message
   * ends exactly at the end of the last of them). INCOMPLETE: the input
   * length below which another call cannot say more (a whole record
   * header or record); callers may wait for that many bytes. */
  size_t consumed;
  size_t records;        /* records the message was split over */
  size_t message_len;    /* handshake body length */
  uint16_t version;      /* legacy_version of the ClientHello */
  int has_sni;           /* a server_name extension with a host_name */
  char sni[256];         /* that host_name as sent, NUL-terminated */
  int has_ech;           /* an encrypted_client_hello extension: `sni` is the
                            outer (public) name, the inner one is encrypted */
  size_t n_extensions;
} csb_clienthello_info;

/* Parses the first n bytes a client sent. NOT_TLS only when n > 0, p[0]
 * is not 22, and p[0] is not 20, 21, 23 or 24 or p[1] is not 3;
 * INCOMPLETE when n is 0, the bytes are a valid beginning of a
 * ClientHello that is not yet whole, or one byte of 20, 21, 23 or 24. On ERROR *why (when
 * why is not NULL) is a static message. `out` is always written. */
csb_clienthello_status csb_clienthello_parse(const uint8_t *p, size_t n, csb_clienthello_info *out,
                                             const char **why);

/* 1 when `name` (NUL-terminated) is acceptable as a host_name here:
 * 1..255 bytes of [A-Za-z0-9._-]. */
int csb_clienthello_name_is_valid(const char *name);

/* Writes a minimal well-formed ClientHello (TLS 1.2 legacy_version, one
 * cipher suite, null compression; a server_name extension when sni is not
 * NULL, an empty encrypted_client_hello extension when ech) split into
 * records of at most record_size bytes (1..CSB_CLIENTHELLO_MAX_RECORD)
 * into out. Returns the length, or 0 when it does not fit out_len or an
 * argument is out of range. For tests and the fuzz target. */
size_t csb_clienthello_build(uint8_t *out, size_t out_len, const char *sni, int ech, size_t record_size);

#ifdef __cplusplus
}
#endif

#endif /* CSB_CLIENTHELLO_H */
