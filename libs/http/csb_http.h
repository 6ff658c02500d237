/* csb_http.h - strict, bounded HTTP/1.x message-head parsing, body framing,
 * an incremental chunked-body decoder and request-target/authority parsing.
 *
 * Conventions: see csb_base.h. Nothing here allocates except the optional
 * decoded-output buffer of the chunked decoder; parsed heads point into the
 * caller's buffer (which must stay unchanged while they are used).
 *
 * Strictness (anything else is a parse error, i.e. HTTP 400):
 *  - lines end in CRLF; up to 4 empty lines before a request line are
 *    skipped; obsolete line folding is refused;
 *  - request line: METHOD SP TARGET SP HTTP/1.0|HTTP/1.1, METHOD a token,
 *    TARGET visible ASCII only;
 *  - status line: HTTP/1.0|HTTP/1.1 SP 3DIGIT [SP reason];
 *  - header: token ":" OWS value OWS, no whitespace before the colon, no
 *    control characters (except HTAB) in values;
 *  - at most CSB_HTTP_MAX_HEADERS headers and `max_head` bytes per head.
 * Framing refuses Content-Length together with Transfer-Encoding,
 * conflicting or malformed Content-Length values, and any transfer coding
 * other than a single final "chunked" (request smuggling defences).
 */
#ifndef CSB_HTTP_H
#define CSB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CSB_HTTP_MAX_HEADERS 100

typedef enum {
  CSB_HTTP_OK = 0,       /* a complete head was parsed */
  CSB_HTTP_INCOMPLETE,   /* need more bytes (and fewer than max_head seen) */
  CSB_HTTP_ERROR,        /* malformed: see the message */
  CSB_HTTP_TOO_LARGE     /* head larger than max_head, or too many headers */
} csb_http_status;

typedef struct csb_http_header {
  const char *name;
  size_t name_len;
  const char *value; /* without surrounding whitespace */
  size_t value_len;
} csb_http_header;

typedef struct csb_http_head {
  /* request */
  const char *method;
  size_t method_len;
  const char *target;
  size_t target_len;
  /* response */
  int status;
  const char *reason;
  size_t reason_len;
  /* both */
  int version_minor; /* 0 or 1 */
  csb_http_header headers[CSB_HTTP_MAX_HEADERS];
  size_t n_headers;
  size_t head_len; /* bytes of the head, final CRLFCRLF included */
} csb_http_head;

/* Parses a request (resp. response) head at the start of buf[0..len).
 * On CSB_HTTP_ERROR / CSB_HTTP_TOO_LARGE, *why (if non-NULL) points at a
 * static message. */
csb_http_status csb_http_parse_request(const char *buf, size_t len, size_t max_head, csb_http_head *out,
                                       const char **why);
csb_http_status csb_http_parse_response(const char *buf, size_t len, size_t max_head, csb_http_head *out,
                                        const char **why);

/* Case-insensitive header comparison helpers. */
int csb_http_name_is(const csb_http_header *h, const char *name);
/* First header with that name, or NULL. */
const csb_http_header *csb_http_find(const csb_http_head *h, const char *name);
/* Number of headers with that name. */
size_t csb_http_count(const csb_http_head *h, const char *name);
/* 1 when a comma-separated list in any header `name` contains `token`
 * (case-insensitive), e.g. Connection: keep-alive, Upgrade. */
int csb_http_has_token(const csb_http_head *h, const char *name, const char *token);
/* 1 for headers that are hop-by-hop on their own: connection, keep-alive,
 * proxy-connection, proxy-authorization, proxy-authenticate, trailer,
 * transfer-encoding, upgrade, te. Headers named in Connection are
 * hop-by-hop too (csb_http_is_hop_by_hop_in), except Content-Length and
 * Host, which a Connection option never removes: the next hop must frame
 * the body exactly as the proxy did. */
int csb_http_is_hop_by_hop(const char *name, size_t name_len);
int csb_http_is_hop_by_hop_in(const csb_http_head *h, const csb_http_header *hdr);

typedef enum {
  CSB_HTTP_BODY_NONE = 0,
  CSB_HTTP_BODY_LENGTH,
  CSB_HTTP_BODY_CHUNKED,
  CSB_HTTP_BODY_UNTIL_CLOSE /* responses only */
} csb_http_body_kind;

typedef struct csb_http_framing {
  csb_http_body_kind kind;
  uint64_t length; /* the Content-Length value (CSB_HTTP_BODY_LENGTH, or 0) */
  int has_length;  /* framing came from Content-Length headers (all equal);
                      a proxy sends one "Content-Length: length" instead of
                      them, so that the next hop cannot read a list or a
                      repeated header differently */
} csb_http_framing;

/* Body framing of a request. 0 with *why on smuggling-prone or malformed
 * framing, including Content_Length / Transfer_Encoding spelled with '_'
 * (read as the real header by servers that map names to variables). */
int csb_http_request_framing(const csb_http_head *req, csb_http_framing *out, const char **why);
/* Body framing of a response to a request with method `method`. */
int csb_http_response_framing(const csb_http_head *resp, const char *method, size_t method_len,
                              csb_http_framing *out, const char **why);
/* 1 when the connection may stay open after this message (HTTP/1.1 without
 * "Connection: close", or HTTP/1.0 with "Connection: keep-alive"). */
int csb_http_keep_alive(const csb_http_head *h);

/* ---- chunked bodies -------------------------------------------------------- */

typedef struct csb_http_chunked {
  int state;          /* private */
  uint64_t remaining; /* private */
  size_t line_len;    /* private: bytes of the current size/trailer line */
  size_t trailer_bytes;
  int done;           /* the terminating chunk and trailers were consumed */
  int no_trailers;    /* set by the caller: a trailer field is refused */
} csb_http_chunked;

void csb_http_chunked_init(csb_http_chunked *c);
/* Chunk sizes are limited to 8 hex digits and 2^31-1 (so that a next hop
 * with 32-bit sizes reads the same framing).
 * Consumes bytes of a chunked body from p[0..n): returns how many belong
 * to the body (stops right after its end; c->done is then set), or -1 on
 * malformed input (*why set). When `decoded` is non-NULL the chunk data is
 * appended to it. Chunk extensions follow RFC 9112's grammar (";" name
 * ["=" token / quoted-string], whitespace around ";" and "=" and before
 * the CR), since the lines go on as they came. Chunk-size lines
 * (extensions included) and the trailer
 * section are bounded (4 KiB and 16 KiB); trailer lines are field lines
 * (token ":" value, no control characters but HTAB). With `no_trailers`
 * set after csb_http_chunked_init, a body with any trailer field is
 * refused at the field's first byte (-1, "trailer fields not accepted"):
 * nothing of it is consumed. */
long csb_http_chunked_feed(csb_http_chunked *c, const char *p, size_t n, csb_buf *decoded, const char **why);

/* ---- targets and authorities ------------------------------------------------ */

typedef struct csb_http_authority {
  char host[256];     /* as written, without brackets (IPv6) */
  int ipv6_literal;   /* was bracketed */
  int port;           /* 0 when absent */
} csb_http_authority;

/* Parses "host", "host:port", "[v6]" or "[v6]:port". Refuses userinfo
 * ('@'), empty hosts, ports outside 1..65535, characters outside the
 * host grammar and brackets around anything but an IPv6 address (with an
 * optional non-empty zone after "%" or "%25"). */
int csb_http_parse_authority(const char *s, size_t n, csb_http_authority *out, const char **why);

typedef struct csb_http_target {
  int absolute;           /* absolute-form http://authority/... */
  int https;              /* scheme https:// (absolute form) */
  csb_http_authority authority;
  const char *path;       /* origin-form part: "/..." or "?..." with the query;
                             path_len 0 means "/" (nothing after the authority) */
  size_t path_len;
} csb_http_target;

/* Absolute-form ("http://a/b", scheme case-insensitive; http and https
 * only) or origin-form ("/b"). `*` and authority-form are refused here. */
int csb_http_parse_target(const char *s, size_t n, csb_http_target *out, const char **why);

#ifdef __cplusplus
}
#endif

#endif /* CSB_HTTP_H */
