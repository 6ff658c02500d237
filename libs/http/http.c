/* http.c - HTTP/1.x head parsing, framing, chunked decoding, targets. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "csb_http.h"

/* tchar per RFC 9110 */
static int is_tchar(unsigned char c) {
  if (isalnum(c)) return 1;
  return strchr("!#$%&'*+-.^_`|~", c) != NULL && c != '\0';
}

static int is_vchar_or_obs(unsigned char c) { return (c >= 0x21 && c <= 0x7e) || c >= 0x80; }

/* Finds the end of the line starting at p (within [p, end)); returns the
 * position of '\r' of the CRLF, NULL when incomplete, or sets *bad on a
 * bare LF / lone CR. */
static const char *line_end(const char *p, const char *end, int *bad) {
  for (const char *q = p; q < end; q++) {
    if (*q == '\n') {
      *bad = 1;
      return NULL;
    }
    if (*q == '\r') {
      if (q + 1 >= end) return NULL;
      if (q[1] != '\n') {
        *bad = 1;
        return NULL;
      }
      return q;
    }
  }
  return NULL;
}

#define FAIL(msg)          \
  do {                     \
    if (why) *why = (msg); \
    return CSB_HTTP_ERROR; \
  } while (0)

static csb_http_status need_more(size_t len, size_t max_head, const char **why) {
  if (len >= max_head) {
    if (why) *why = "header section too large";
    return CSB_HTTP_TOO_LARGE;
  }
  return CSB_HTTP_INCOMPLETE;
}

static int parse_version(const char *p, size_t n, int *minor) {
  if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0) return 0;
  if (p[7] == '0')
    *minor = 0;
  else if (p[7] == '1')
    *minor = 1;
  else
    return 0;
  return 1;
}

static csb_http_status parse_headers(const char *p, const char *end, const char *start, size_t max_head,
                                     csb_http_head *out, const char **why) {
  out->n_headers = 0;
  for (;;) {
    int bad = 0;
    const char *le = line_end(p, end, &bad);
    if (bad) FAIL("malformed line ending");
    if (!le) {
      size_t seen = (size_t)(end - start);
      if ((size_t)(end - start) > max_head) seen = max_head;
      return need_more(seen, max_head, why);
    }
    if ((size_t)(le + 2 - start) > max_head) {
      if (why) *why = "header section too large";
      return CSB_HTTP_TOO_LARGE;
    }
    if (le == p) {
      out->head_len = (size_t)(le + 2 - start);
      return CSB_HTTP_OK;
    }
    if (*p == ' ' || *p == '\t') FAIL("obsolete header line folding");
    const char *colon = p;
    while (colon < le && is_tchar((unsigned char)*colon)) colon++;
    if (colon == p || colon >= le || *colon != ':') FAIL("malformed header name");
    const char *v = colon + 1;
    while (v < le && (*v == ' ' || *v == '\t')) v++;
    const char *ve = le;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    for (const char *q = v; q < ve; q++) {
      unsigned char c = (unsigned char)*q;
      if (!(is_vchar_or_obs(c) || c == ' ' || c == '\t')) FAIL("invalid character in header value");
    }
    if (out->n_headers >= CSB_HTTP_MAX_HEADERS) {
      if (why) *why = "too many header fields";
      return CSB_HTTP_TOO_LARGE;
    }
    csb_http_header *h = &out->headers[out->n_headers++];
    h->name = p;
    h->name_len = (size_t)(colon - p);
    h->value = v;
    h->value_len = (size_t)(ve - v);
    p = le + 2;
  }
}

csb_http_status csb_http_parse_request(const char *buf, size_t len, size_t max_head, csb_http_head *out,
                                       const char **why) {
  memset(out, 0, offsetof(csb_http_head, headers));
  out->n_headers = 0;
  out->head_len = 0;
  const char *p = buf, *end = buf + len;
  for (int i = 0; i < 4 && end - p >= 2 && p[0] == '\r' && p[1] == '\n'; i++) p += 2;
  int bad = 0;
  const char *le = line_end(p, end, &bad);
  if (bad) FAIL("malformed line ending");
  if (!le) {
    /* fail early on garbage instead of waiting for a line end */
    for (const char *q = p; q < end; q++) {
      unsigned char c = (unsigned char)*q;
      if (c < 0x20 && c != '\r') FAIL("malformed request line");
      if (c >= 0x7f) FAIL("malformed request line");
    }
    return need_more(len, max_head, why);
  }
  if ((size_t)(le - buf) + 2 > max_head) {
    if (why) *why = "request line too long";
    return CSB_HTTP_TOO_LARGE;
  }
  const char *m = p;
  while (p < le && is_tchar((unsigned char)*p)) p++;
  if (p == m || p >= le || *p != ' ') FAIL("malformed request line");
  out->method = m;
  out->method_len = (size_t)(p - m);
  p++;
  const char *t = p;
  while (p < le && *p >= 0x21 && *p <= 0x7e) p++;
  if (p == t || p >= le || *p != ' ') FAIL("malformed request line");
  out->target = t;
  out->target_len = (size_t)(p - t);
  p++;
  if (!parse_version(p, (size_t)(le - p), &out->version_minor)) FAIL("unsupported HTTP version");
  return parse_headers(le + 2, end, buf, max_head, out, why);
}

csb_http_status csb_http_parse_response(const char *buf, size_t len, size_t max_head, csb_http_head *out,
                                        const char **why) {
  memset(out, 0, offsetof(csb_http_head, headers));
  out->n_headers = 0;
  out->head_len = 0;
  const char *p = buf, *end = buf + len;
  int bad = 0;
  const char *le = line_end(p, end, &bad);
  if (bad) FAIL("malformed line ending");
  if (!le) {
    if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0) FAIL("malformed status line");
    return need_more(len, max_head, why);
  }
  if ((size_t)(le - buf) + 2 > max_head) {
    if (why) *why = "status line too long";
    return CSB_HTTP_TOO_LARGE;
  }
  if (le - p < 12 || !parse_version(p, 8, &out->version_minor) || p[8] != ' ') FAIL("malformed status line");
  p += 9;
  if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
    FAIL("malformed status code");
  out->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
  if (out->status < 100) FAIL("malformed status code");
  p += 3;
  if (p < le) {
    if (*p != ' ') FAIL("malformed status line");
    p++;
    for (const char *q = p; q < le; q++) {
      unsigned char c = (unsigned char)*q;
      if (!(is_vchar_or_obs(c) || c == ' ' || c == '\t')) FAIL("invalid character in reason phrase");
    }
    out->reason = p;
    out->reason_len = (size_t)(le - p);
  }
  return parse_headers(le + 2, end, buf, max_head, out, why);
}

#undef FAIL

int csb_http_name_is(const csb_http_header *h, const char *name) {
  size_t n = strlen(name);
  return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

const csb_http_header *csb_http_find(const csb_http_head *h, const char *name) {
  for (size_t i = 0; i < h->n_headers; i++)
    if (csb_http_name_is(&h->headers[i], name)) return &h->headers[i];
  return NULL;
}

size_t csb_http_count(const csb_http_head *h, const char *name) {
  size_t c = 0;
  for (size_t i = 0; i < h->n_headers; i++)
    if (csb_http_name_is(&h->headers[i], name)) c++;
  return c;
}

/* Iterates comma-separated list elements of a value (trimmed). */
static int list_contains(const char *v, size_t n, const char *token, size_t tl) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t s = i;
    while (i < n && v[i] != ',') i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
    if (e - s == tl && strncasecmp(v + s, token, tl) == 0) return 1;
  }
  return 0;
}

int csb_http_has_token(const csb_http_head *h, const char *name, const char *token) {
  size_t tl = strlen(token);
  for (size_t i = 0; i < h->n_headers; i++)
    if (csb_http_name_is(&h->headers[i], name) &&
        list_contains(h->headers[i].value, h->headers[i].value_len, token, tl))
      return 1;
  return 0;
}

int csb_http_is_hop_by_hop(const char *name, size_t n) {
  static const char *const names[] = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
                                      "proxy-authenticate", "trailer", "transfer-encoding", "upgrade", "te"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(names); i++)
    if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0) return 1;
  return 0;
}

int csb_http_is_hop_by_hop_in(const csb_http_head *h, const csb_http_header *hdr) {
  if (csb_http_is_hop_by_hop(hdr->name, hdr->name_len)) return 1;
  /* Content-Length frames the message and Host names its target: dropping
   * either because Connection names it would leave the next hop reading
   * the body as another request */
  if (csb_http_name_is(hdr, "content-length") || csb_http_name_is(hdr, "host")) return 0;
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *c = &h->headers[i];
    if (!csb_http_name_is(c, "connection")) continue;
    /* a header named in Connection, however long its name */
    if (list_contains(c->value, c->value_len, hdr->name, hdr->name_len)) return 1;
  }
  return 0;
}

static int parse_content_length(const char *v, size_t n, uint64_t *out) {
  if (n == 0 || n > 18) return 0;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)v[i])) return 0;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  *out = x;
  return 1;
}

/* Content-Length from all headers (each may be a list of equal values). */
static int content_length(const csb_http_head *h, int *present, uint64_t *out, const char **why) {
  *present = 0;
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *c = &h->headers[i];
    if (!csb_http_name_is(c, "content-length")) continue;
    size_t j = 0;
    while (j <= c->value_len) {
      size_t s = j;
      while (j < c->value_len && c->value[j] != ',') j++;
      size_t a = s, b = j;
      while (a < b && (c->value[a] == ' ' || c->value[a] == '\t')) a++;
      while (b > a && (c->value[b - 1] == ' ' || c->value[b - 1] == '\t')) b--;
      uint64_t v;
      if (!parse_content_length(c->value + a, b - a, &v)) {
        if (why) *why = "invalid Content-Length";
        return 0;
      }
      if (*present && v != *out) {
        if (why) *why = "conflicting Content-Length values";
        return 0;
      }
      *present = 1;
      *out = v;
      j++;
    }
  }
  return 1;
}

/* 1 when Transfer-Encoding is present; *chunked when it is exactly one
 * "chunked" coding. */
static int transfer_encoding(const csb_http_head *h, int *chunked) {
  int present = 0, codings = 0, last_chunked = 0;
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *c = &h->headers[i];
    if (!csb_http_name_is(c, "transfer-encoding")) continue;
    present = 1;
    size_t j = 0;
    while (j < c->value_len) {
      while (j < c->value_len && (c->value[j] == ' ' || c->value[j] == '\t' || c->value[j] == ',')) j++;
      size_t s = j;
      while (j < c->value_len && c->value[j] != ',') j++;
      size_t e = j;
      while (e > s && (c->value[e - 1] == ' ' || c->value[e - 1] == '\t')) e--;
      if (e > s) {
        codings++;
        last_chunked = (e - s == 7 && strncasecmp(c->value + s, "chunked", 7) == 0);
      }
    }
  }
  *chunked = present && codings == 1 && last_chunked;
  return present;
}

/* The header's name is `name` with some '-' written as '_': servers that
 * map header names to variables (CGI, some front ends) read it as `name`. */
static int name_is_underscored(const csb_http_header *h, const char *name) {
  size_t n = strlen(name);
  if (h->name_len != n || !memchr(h->name, '_', n)) return 0;
  for (size_t i = 0; i < n; i++) {
    char a = h->name[i] == '_' ? '-' : (char)tolower((unsigned char)h->name[i]);
    if (a != name[i]) return 0;
  }
  return 1;
}

int csb_http_request_framing(const csb_http_head *req, csb_http_framing *out, const char **why) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < req->n_headers; i++) {
    if (name_is_underscored(&req->headers[i], "content-length") ||
        name_is_underscored(&req->headers[i], "transfer-encoding")) {
      if (why) *why = "a framing header name written with '_'";
      return 0;
    }
  }
  int chunked = 0, cl_present = 0;
  uint64_t cl = 0;
  int te = transfer_encoding(req, &chunked);
  if (!content_length(req, &cl_present, &cl, why)) return 0;
  if (te && cl_present) {
    if (why) *why = "both Transfer-Encoding and Content-Length";
    return 0;
  }
  if (te) {
    if (!chunked || req->version_minor == 0) {
      if (why) *why = "unsupported Transfer-Encoding";
      return 0;
    }
    out->kind = CSB_HTTP_BODY_CHUNKED;
    return 1;
  }
  out->has_length = cl_present;
  out->length = cl;
  if (cl_present && cl > 0) out->kind = CSB_HTTP_BODY_LENGTH;
  return 1;
}

int csb_http_response_framing(const csb_http_head *resp, const char *method, size_t method_len,
                              csb_http_framing *out, const char **why) {
  memset(out, 0, sizeof *out);
  if ((method_len == 4 && memcmp(method, "HEAD", 4) == 0) || (resp->status >= 100 && resp->status < 200) ||
      resp->status == 204 || resp->status == 304)
    return 1;
  int chunked = 0, cl_present = 0;
  uint64_t cl = 0;
  int te = transfer_encoding(resp, &chunked);
  if (!content_length(resp, &cl_present, &cl, why)) return 0;
  if (te && cl_present) {
    if (why) *why = "both Transfer-Encoding and Content-Length";
    return 0;
  }
  if (te) {
    out->kind = chunked && resp->version_minor == 1 ? CSB_HTTP_BODY_CHUNKED : CSB_HTTP_BODY_UNTIL_CLOSE;
    return 1;
  }
  if (cl_present) {
    out->has_length = 1;
    out->length = cl;
    if (cl > 0) out->kind = CSB_HTTP_BODY_LENGTH;
    return 1;
  }
  out->kind = CSB_HTTP_BODY_UNTIL_CLOSE;
  return 1;
}

int csb_http_keep_alive(const csb_http_head *h) {
  if (csb_http_has_token(h, "connection", "close")) return 0;
  if (h->version_minor == 0) return csb_http_has_token(h, "connection", "keep-alive");
  return 1;
}

/* ---- chunked ---------------------------------------------------------------- */

enum {
  CH_SIZE = 0,   /* hex digits */
  CH_EXT,        /* after the size or an extension: BWS, then ";" or CR */
  CH_EXT_NAME0,  /* after ";": BWS, then an extension name */
  CH_EXT_NAME,
  CH_EXT_NAME_END, /* BWS after the name: "=", ";" or CR */
  CH_EXT_VAL0,   /* after "=": BWS, then a token or a quoted string */
  CH_EXT_TOKEN,
  CH_EXT_QUOTED,
  CH_EXT_QPAIR,  /* the byte after a backslash in a quoted string */
  CH_SIZE_LF,    /* expect LF after size line CR */
  CH_DATA,
  CH_DATA_CR,
  CH_DATA_LF,
  CH_TRAILER,    /* at the start of a trailer line */
  CH_TRAILER_NAME, /* its field name, up to the colon */
  CH_TRAILER_LINE, /* its field value */
  CH_TRAILER_LF, /* LF ending a non-empty trailer line */
  CH_END_LF,     /* LF ending the final empty line */
  CH_DONE
};

#define CHUNK_LINE_MAX 4096
#define CHUNK_SIZE_DIGITS_MAX 8
#define CHUNK_SIZE_MAX 0x7fffffffu
#define TRAILER_MAX 16384

void csb_http_chunked_init(csb_http_chunked *c) { memset(c, 0, sizeof *c); }

static int hexv(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* The state after byte ch of a chunk extension (RFC 9112 7.1.1:
 * *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), BWS
 * also before the CR), or -1. The size line goes on as it came: anything
 * outside the grammar might end it elsewhere for a next hop (in an
 * unclosed quote, at a backslash before the CR) or hold another size. */
static int ext_next(int st, unsigned char ch) {
  int ws = ch == ' ' || ch == '\t';
  int qd = ws || (ch >= 0x21 && ch != 0x7f); /* qdtext, '"' and '\\' handled first */
  switch (st) {
    case CH_EXT:
      if (ws) return st;
      if (ch == ';') return CH_EXT_NAME0;
      break;
    case CH_EXT_NAME0:
      if (ws) return st;
      if (is_tchar(ch)) return CH_EXT_NAME;
      break;
    case CH_EXT_NAME:
    case CH_EXT_NAME_END:
      if (st == CH_EXT_NAME && is_tchar(ch)) return st;
      if (ws) return CH_EXT_NAME_END;
      if (ch == '=') return CH_EXT_VAL0;
      if (ch == ';') return CH_EXT_NAME0;
      break;
    case CH_EXT_VAL0:
      if (ws) return st;
      if (ch == '"') return CH_EXT_QUOTED;
      if (is_tchar(ch)) return CH_EXT_TOKEN;
      break;
    case CH_EXT_TOKEN:
      if (is_tchar(ch)) return st;
      if (ws) return CH_EXT;
      if (ch == ';') return CH_EXT_NAME0;
      break;
    case CH_EXT_QUOTED:
      if (ch == '"') return CH_EXT;
      if (ch == '\\') return CH_EXT_QPAIR;
      if (qd) return st;
      break;
    case CH_EXT_QPAIR:
      if (qd) return CH_EXT_QUOTED;
      break;
    default:
      break;
  }
  return -1;
}

long csb_http_chunked_feed(csb_http_chunked *c, const char *p, size_t n, csb_buf *decoded, const char **why) {
  size_t i = 0;
#define CFAIL(msg)       \
  do {                   \
    if (why) *why = msg; \
    return -1;           \
  } while (0)
  while (i < n && c->state != CH_DONE) {
    unsigned char ch = (unsigned char)p[i];
    switch (c->state) {
      case CH_SIZE: {
        int v = hexv(ch);
        if (v >= 0) {
          /* At most 8 digits and 2^31-1: the raw chunk lines are what the
           * next hop reads, and a 32-bit parser there must see the same
           * size (a wrapped one would take the rest for a new message). */
          if (c->line_len >= CHUNK_SIZE_DIGITS_MAX) CFAIL("chunk size too large");
          c->remaining = c->remaining * 16 + (uint64_t)v;
          if (c->remaining > CHUNK_SIZE_MAX) CFAIL("chunk size too large");
          c->line_len++;
          i++;
          break;
        }
        if (c->line_len == 0) CFAIL("malformed chunk size");
        if (ch == '\r') {
          c->state = CH_SIZE_LF;
          i++;
        } else if (ch == ';' || ch == ' ' || ch == '\t') {
          c->state = ch == ';' ? CH_EXT_NAME0 : CH_EXT;
          i++;
        } else {
          CFAIL("malformed chunk size");
        }
        break;
      }
      case CH_EXT:
      case CH_EXT_NAME0:
      case CH_EXT_NAME:
      case CH_EXT_NAME_END:
      case CH_EXT_VAL0:
      case CH_EXT_TOKEN:
      case CH_EXT_QUOTED:
      case CH_EXT_QPAIR: {
        if (++c->line_len > CHUNK_LINE_MAX) CFAIL("chunk extension too long");
        /* the line may end after the size, a name or a value, not in the
         * middle of an extension */
        int next = ch == '\r' && (c->state == CH_EXT || c->state == CH_EXT_NAME || c->state == CH_EXT_NAME_END ||
                                  c->state == CH_EXT_TOKEN)
                       ? CH_SIZE_LF
                       : ext_next(c->state, ch);
        if (next < 0) CFAIL("malformed chunk extension");
        c->state = next;
        i++;
        break;
      }
      case CH_SIZE_LF:
        if (ch != '\n') CFAIL("malformed chunk size line");
        i++;
        c->line_len = 0;
        c->state = c->remaining == 0 ? CH_TRAILER : CH_DATA;
        break;
      case CH_DATA: {
        size_t take = n - i;
        if ((uint64_t)take > c->remaining) take = (size_t)c->remaining;
        if (decoded) csb_buf_append(decoded, p + i, take);
        i += take;
        c->remaining -= take;
        if (c->remaining == 0) c->state = CH_DATA_CR;
        break;
      }
      case CH_DATA_CR:
        if (ch != '\r') CFAIL("missing CRLF after chunk data");
        i++;
        c->state = CH_DATA_LF;
        break;
      case CH_DATA_LF:
        if (ch != '\n') CFAIL("missing CRLF after chunk data");
        i++;
        c->state = CH_SIZE;
        c->line_len = 0;
        c->remaining = 0;
        break;
      case CH_TRAILER:
        if (ch == '\r') {
          c->state = CH_END_LF;
          i++;
          break;
        }
        if (ch == ' ' || ch == '\t' || !is_tchar(ch)) CFAIL("malformed trailer");
        if (c->no_trailers) CFAIL("trailer fields not accepted");
        c->state = CH_TRAILER_NAME;
        break;
      case CH_TRAILER_NAME:
        /* a field line, as in a head: the lines go on as they came, and a
         * next hop must not read them as the end of the body or a request */
        if (++c->trailer_bytes > TRAILER_MAX) CFAIL("trailer section too large");
        if (ch == ':')
          c->state = CH_TRAILER_LINE;
        else if (!is_tchar(ch))
          CFAIL("malformed trailer");
        i++;
        break;
      case CH_TRAILER_LINE:
        if (++c->trailer_bytes > TRAILER_MAX) CFAIL("trailer section too large");
        if (ch == '\r') {
          c->state = CH_TRAILER_LF;
        } else if (ch == '\n' || (ch < 0x20 && ch != '\t') || ch == 0x7f) {
          CFAIL("malformed trailer");
        }
        i++;
        break;
      case CH_TRAILER_LF:
        if (ch != '\n') CFAIL("malformed trailer");
        i++;
        c->state = CH_TRAILER;
        break;
      case CH_END_LF:
        if (ch != '\n') CFAIL("malformed end of chunked body");
        i++;
        c->state = CH_DONE;
        c->done = 1;
        break;
      default:
        CFAIL("internal chunked state");
    }
  }
#undef CFAIL
  return (long)i;
}

/* ---- targets ---------------------------------------------------------------- */

static int host_char(unsigned char c) { return isalnum(c) || c == '-' || c == '.' || c == '_'; }

int csb_http_parse_authority(const char *s, size_t n, csb_http_authority *out, const char **why) {
  memset(out, 0, sizeof *out);
  if (memchr(s, '@', n)) {
    if (why) *why = "userinfo in authority";
    return 0;
  }
  size_t hs = 0, he = 0, i = 0;
  if (n > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close) {
      if (why) *why = "invalid host";
      return 0;
    }
    hs = 1;
    he = (size_t)(close - s);
    for (size_t k = hs; k < he; k++) {
      unsigned char c = (unsigned char)s[k];
      if (!(isxdigit(c) || c == ':' || c == '.' || c == '%' || isalnum(c) || c == '_' || c == '-')) {
        if (why) *why = "invalid host";
        return 0;
      }
    }
    /* brackets hold an IPv6 address (RFC 3986 IP-literal; a zone after
     * "%" or "%25"), nothing else: "[a.example]" would be checked and
     * reached as a name that no client meant */
    const char *pct = memchr(s + hs, '%', he - hs);
    size_t al = pct ? (size_t)(pct - (s + hs)) : he - hs;
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    /* the zone: after "%25" (RFC 6874) or "%"; never empty */
    size_t zl = pct ? (size_t)(s + he - pct) - 1 : 0;
    if (pct && zl >= 2 && pct[1] == '2' && pct[2] == '5') zl -= 2;
    if (al == 0 || al >= sizeof addr || (pct && zl == 0)) {
      if (why) *why = "invalid host";
      return 0;
    }
    memcpy(addr, s + hs, al);
    addr[al] = '\0';
    if (inet_pton(AF_INET6, addr, &a6) != 1) {
      if (why) *why = "invalid host";
      return 0;
    }
    out->ipv6_literal = 1;
    i = he + 1;
  } else {
    while (i < n && s[i] != ':') i++;
    hs = 0;
    he = i;
    for (size_t k = hs; k < he; k++)
      if (!host_char((unsigned char)s[k])) {
        if (why) *why = "invalid host";
        return 0;
      }
  }
  if (he == hs || he - hs >= sizeof out->host) {
    if (why) *why = "invalid host";
    return 0;
  }
  memcpy(out->host, s + hs, he - hs);
  out->host[he - hs] = '\0';
  if (i < n) {
    int port = 0;
    if (s[i] != ':' || !csb_parse_port(s + i + 1, n - i - 1, &port) || port == 0) {
      if (why) *why = "invalid port";
      return 0;
    }
    out->port = port;
  }
  return 1;
}

int csb_http_parse_target(const char *s, size_t n, csb_http_target *out, const char **why) {
  memset(out, 0, sizeof *out);
  if (n > 0 && s[0] == '/') {
    out->path = s;
    out->path_len = n;
    return 1;
  }
  size_t skip;
  if (n >= 7 && strncasecmp(s, "http://", 7) == 0) {
    skip = 7;
  } else if (n >= 8 && strncasecmp(s, "https://", 8) == 0) {
    skip = 8;
    out->https = 1;
  } else {
    if (why) *why = "unsupported request target";
    return 0;
  }
  out->absolute = 1;
  const char *a = s + skip;
  size_t rest = n - skip;
  size_t al = 0;
  while (al < rest && a[al] != '/' && a[al] != '?' && a[al] != '#') al++;
  if (al == 0) {
    if (why) *why = "missing host";
    return 0;
  }
  if (!csb_http_parse_authority(a, al, &out->authority, why)) return 0;
  if (al < rest && a[al] == '#') {
    if (why) *why = "fragment in request target";
    return 0;
  }
  out->path = a + al;
  out->path_len = rest - al;
  if (memchr(out->path, '#', out->path_len)) {
    if (why) *why = "fragment in request target";
    return 0;
  }
  return 1;
}
