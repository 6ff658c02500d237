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
 * After a first ClientHello a TLS 1.3 server may answer with a
 * HelloRetryRequest (RFC 8446 §4.1.3), and the client then sends a second
 * ClientHello, whose server name servers read again: csb_clienthello_check_retry
 * reads the server's first bytes, csb_clienthello_scan_second_flight finds
 * the second ClientHello in the client's next bytes as a server does.
 *
 * Conventions: see csb_base.h. Nothing here allocates or keeps state
 * between calls: each function is given the bytes received so far and
 * says what they are, or that more are needed and how many. A verdict
 * other than "more are needed" depends only on bytes before the length
 * that gave it: more bytes never change it.
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
  CSB_CLIENTHELLO_MAX_RECORD = 16384,    /* TLSPlaintext.length limit (2^14) */
  CSB_CLIENTHELLO_SERVER_HELLO_HEAD = 38, /* what says whether a ServerHello asks
                                             again: type, length, legacy_version, random */
  CSB_CLIENTHELLO_RETRY_MAX_INPUT = 228  /* server bytes that always decide: that head
                                            in 38 one-byte records, headers included */
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

/* Writes the handshake bytes msg[0..len) as handshake records of at most
 * record_size bytes (1..CSB_CLIENTHELLO_MAX_RECORD) with the record version
 * `version` (0x0301 as in a client's first flight, 0x0303 as servers
 * write) into out. Returns the length, or 0 when it does not fit out_len,
 * len is 0 or record_size is out of range. For tests and the fuzz targets
 * (both builders use it). */
size_t csb_clienthello_build_records(uint8_t *out, size_t out_len, const uint8_t *msg, size_t len,
                                     size_t record_size, uint16_t version);

/* ---- the server's answer and the client's second flight ---- */

/* The random of a ServerHello that is a HelloRetryRequest (RFC 8446 §4.1.3). */
extern const uint8_t csb_clienthello_retry_random[32];

typedef enum {
  CSB_CLIENTHELLO_RETRY_NO = 0,    /* not a HelloRetryRequest */
  CSB_CLIENTHELLO_RETRY_YES,       /* a HelloRetryRequest: a second ClientHello follows */
  CSB_CLIENTHELLO_RETRY_INCOMPLETE /* not decided yet: more bytes are needed */
} csb_clienthello_retry;

/* Reads the first n bytes a server sent in answer to a ClientHello: YES
 * when they start handshake records (type 22, major version 3; the minor
 * version is not looked at) that carry a ServerHello with the random of a
 * HelloRetryRequest, however the first CSB_CLIENTHELLO_SERVER_HELLO_HEAD
 * bytes of the message are split over non-empty records; NO as soon as a
 * byte shows otherwise (another record type or version, an empty record,
 * another message type, another random); INCOMPLETE before. Bytes after
 * that head are not looked at, so CSB_CLIENTHELLO_RETRY_MAX_INPUT bytes
 * always decide. On INCOMPLETE *need (when need is not NULL) is the input
 * length below which another call cannot decide (n < *need <=
 * CSB_CLIENTHELLO_RETRY_MAX_INPUT); otherwise it is 0. */
csb_clienthello_retry csb_clienthello_check_retry(const uint8_t *p, size_t n, size_t *need);

typedef enum {
  CSB_CLIENTHELLO_FLIGHT_HELLO = 0,  /* a handshake record that may carry the ClientHello */
  CSB_CLIENTHELLO_FLIGHT_INCOMPLETE, /* more bytes are needed */
  CSB_CLIENTHELLO_FLIGHT_NOT_TLS,    /* bytes that are not a TLS record */
  CSB_CLIENTHELLO_FLIGHT_OTHER,      /* a handshake record with another message */
  CSB_CLIENTHELLO_FLIGHT_BOUND       /* no handshake record within CSB_CLIENTHELLO_MAX_INPUT bytes */
} csb_clienthello_flight;

/* Scans the first n bytes a client sent after a HelloRetryRequest as a
 * server reads them: TLS records of type 20, 21, 23 or 24 (change_cipher_spec,
 * alert, application_data, heartbeat) with major version 3 are skipped,
 * whatever their length, until a record of another kind starts.
 *   HELLO: *pos is where a handshake record with major version 3 starts
 *     that is empty or whose data starts with a client_hello (1), and
 *     *pos + 6 <= n (an empty one too): csb_clienthello_parse(p + *pos,
 *     n - *pos) reads the ClientHello (and refuses an empty record, which a
 *     server may skip).
 *   OTHER: *pos is where a non-empty handshake record with major version
 *     3 and another message type starts (a server refuses it).
 *   NOT_TLS: *pos is where bytes start that are not a TLS record (a first
 *     byte outside 20..24, or another major version; a server refuses them).
 *   BOUND: the records skipped reach CSB_CLIENTHELLO_MAX_INPUT bytes;
 *     *pos is where the next record would start.
 *   INCOMPLETE: *pos is the input length below which another call cannot
 *     say more (the next record header, or the first byte after it for a
 *     handshake record, or the first byte after a skipped record).
 * *pos is always written; pos must not be NULL. */
csb_clienthello_flight csb_clienthello_scan_second_flight(const uint8_t *p, size_t n, size_t *pos);

/* Writes a ServerHello shaped as a HelloRetryRequest of a TLS 1.3 server
 * (legacy_version 1.2, `random`, an empty legacy_session_id_echo,
 * TLS_AES_128_GCM_SHA256, null compression, supported_versions 1.3 and a
 * key_share that names secp256r1)
 * split into records (version 1.2) of at most record_size bytes
 * (1..CSB_CLIENTHELLO_MAX_RECORD) into out; random is 32 bytes, or NULL
 * for csb_clienthello_retry_random (a HelloRetryRequest). Returns the
 * length, or 0 when it does not fit out_len or record_size is out of
 * range. For tests and the fuzz target. */
size_t csb_clienthello_build_server_hello(uint8_t *out, size_t out_len, const uint8_t *random, size_t record_size);

#ifdef __cplusplus
}
#endif

#endif /* CSB_CLIENTHELLO_H */
