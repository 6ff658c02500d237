/* clienthello.c - the server name of a TLS ClientHello, and after a
 * HelloRetryRequest the second one's place in the client's next flight
 * (see csb_clienthello.h). */
#include <string.h>

#include "csb_clienthello.h"

#define HS_CLIENT_HELLO 1
#define HS_HEADER 4
#define REC_HEADER 5
#define RANDOM_LEN 32
#define MAX_SESSION_ID 32
#define NAME_TYPE_HOST 0
#define MAX_NAME 255

#define FAIL(msg)         \
  do {                    \
    if (why) *why = msg;  \
    return CSB_CLIENTHELLO_ERROR; \
  } while (0)

/* ---- a bounds-checked reader over one buffer ---------------------------------- */

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static int rd_u8(reader *r, unsigned *v) {
  if (r->n < 1) return 0;
  *v = r->p[0];
  r->p++;
  r->n--;
  return 1;
}

static int rd_u16(reader *r, unsigned *v) {
  if (r->n < 2) return 0;
  *v = ((unsigned)r->p[0] << 8) | r->p[1];
  r->p += 2;
  r->n -= 2;
  return 1;
}

static int rd_skip(reader *r, size_t len) {
  if (r->n < len) return 0;
  r->p += len;
  r->n -= len;
  return 1;
}

/* A vector with a length prefix of `width` (1 or 2) bytes, as sub. */
static int rd_vec(reader *r, size_t width, reader *sub) {
  unsigned len;
  if (!(width == 1 ? rd_u8(r, &len) : rd_u16(r, &len))) return 0;
  if (r->n < len) return 0;
  sub->p = r->p;
  sub->n = len;
  r->p += len;
  r->n -= len;
  return 1;
}

int csb_clienthello_name_is_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > MAX_NAME) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
             c == '.';
    if (!ok) return 0;
  }
  return 1;
}

/* server_name extension data: ServerNameList with exactly one host_name. */
static csb_clienthello_status parse_sni(reader data, csb_clienthello_info *out, const char **why) {
  reader list, name;
  unsigned type;
  if (!rd_vec(&data, 2, &list) || data.n != 0) FAIL("server_name extension: bad list length");
  if (list.n == 0) FAIL("server_name extension: empty list");
  if (!rd_u8(&list, &type)) FAIL("server_name extension: truncated entry");
  if (type != NAME_TYPE_HOST) FAIL("server_name extension: a name that is not a host_name");
  if (!rd_vec(&list, 2, &name)) FAIL("server_name extension: bad name length");
  if (list.n != 0) FAIL("server_name extension: more than one name");
  if (name.n == 0 || name.n > MAX_NAME) FAIL("server_name extension: empty or over-long host_name");
  memcpy(out->sni, name.p, name.n);
  out->sni[name.n] = '\0';
  if (strlen(out->sni) != name.n || !csb_clienthello_name_is_valid(out->sni)) {
    out->sni[0] = '\0';
    FAIL("server_name extension: host_name with a character other than [A-Za-z0-9._-]");
  }
  out->has_sni = 1;
  return CSB_CLIENTHELLO_OK;
}

/* The body of a ClientHello (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 without
 * extensions). */
static csb_clienthello_status parse_body(reader r, csb_clienthello_info *out, const char **why) {
  unsigned v;
  reader sid, suites, comp, exts;
  if (!rd_u16(&r, &v)) FAIL("ClientHello: truncated legacy_version");
  if ((v >> 8) != 3) FAIL("ClientHello: legacy_version is not TLS");
  out->version = (uint16_t)v;
  if (!rd_skip(&r, RANDOM_LEN)) FAIL("ClientHello: truncated random");
  if (!rd_vec(&r, 1, &sid) || sid.n > MAX_SESSION_ID) FAIL("ClientHello: bad legacy_session_id");
  if (!rd_vec(&r, 2, &suites) || suites.n < 2 || suites.n % 2 != 0) FAIL("ClientHello: bad cipher_suites");
  if (!rd_vec(&r, 1, &comp) || comp.n < 1) FAIL("ClientHello: bad legacy_compression_methods");
  if (r.n == 0) return CSB_CLIENTHELLO_OK; /* no extensions (TLS 1.2 and older) */
  if (!rd_vec(&r, 2, &exts)) FAIL("ClientHello: bad extensions length");
  if (r.n != 0) FAIL("ClientHello: data after the extensions");
  int seen_sni = 0;
  while (exts.n > 0) {
    unsigned type;
    reader data;
    if (!rd_u16(&exts, &type) || !rd_vec(&exts, 2, &data)) FAIL("ClientHello: truncated extension");
    out->n_extensions++;
    if (type == CSB_CLIENTHELLO_EXT_SERVER_NAME) {
      if (seen_sni) FAIL("ClientHello: two server_name extensions");
      seen_sni = 1;
      csb_clienthello_status st = parse_sni(data, out, why);
      if (st != CSB_CLIENTHELLO_OK) return st;
    } else if (type == CSB_CLIENTHELLO_EXT_ECH) {
      if (out->has_ech) FAIL("ClientHello: two encrypted_client_hello extensions");
      out->has_ech = 1;
    }
  }
  return CSB_CLIENTHELLO_OK;
}

csb_clienthello_status csb_clienthello_parse(const uint8_t *p, size_t n, csb_clienthello_info *out,
                                             const char **why) {
  memset(out, 0, sizeof *out);
  if (n == 0) {
    out->consumed = 1;
    return CSB_CLIENTHELLO_INCOMPLETE;
  }
  if (p[0] != CSB_CLIENTHELLO_RECORD_HANDSHAKE) {
    /* a TLS record of another type (change_cipher_spec, alert,
     * application_data, heartbeat) is TLS all the same: some servers skip
     * a warning alert and read the ClientHello behind it */
    if (p[0] < 20 || p[0] > 24) return CSB_CLIENTHELLO_NOT_TLS;
    if (n < 2) {
      out->consumed = 2;
      return CSB_CLIENTHELLO_INCOMPLETE;
    }
    if (p[1] != 3) return CSB_CLIENTHELLO_NOT_TLS;
    FAIL("a TLS record other than a handshake before the ClientHello");
  }
  uint8_t msg[HS_HEADER + CSB_CLIENTHELLO_MAX_MESSAGE];
  size_t have = 0;        /* bytes of the handshake message gathered */
  size_t want = HS_HEADER; /* the header, then the whole message */
  size_t off = 0;         /* start of the current record */
  for (;;) {
    if (off + REC_HEADER + 1 > CSB_CLIENTHELLO_MAX_INPUT)
      FAIL("ClientHello not complete within 32768 bytes of records");
    size_t avail_hdr = n - off < REC_HEADER ? n - off : REC_HEADER;
    const uint8_t *h = p + off;
    /* judge what there is of the header before waiting for the rest */
    if (avail_hdr >= 1 && h[0] != CSB_CLIENTHELLO_RECORD_HANDSHAKE)
      FAIL("another record before the ClientHello is complete");
    if (avail_hdr >= 2 && h[1] != 3) FAIL("record version is not TLS");
    if (avail_hdr >= 3 && h[2] > 4) FAIL("record version is not TLS");
    if (avail_hdr < REC_HEADER) {
      out->consumed = off + REC_HEADER;
      return CSB_CLIENTHELLO_INCOMPLETE;
    }
    size_t rec_len = ((size_t)h[3] << 8) | h[4];
    if (rec_len == 0) FAIL("empty handshake record");
    if (rec_len > CSB_CLIENTHELLO_MAX_RECORD) FAIL("record longer than 16384 bytes");
    if (off + REC_HEADER + rec_len > CSB_CLIENTHELLO_MAX_INPUT)
      FAIL("ClientHello not complete within 32768 bytes of records");
    const uint8_t *q = h + REC_HEADER;
    size_t avail = n - off - REC_HEADER < rec_len ? n - off - REC_HEADER : rec_len;
    size_t i = 0;
    out->records++;
    while (i < avail) {
      size_t take = want - have < avail - i ? want - have : avail - i;
      memcpy(msg + have, q + i, take);
      have += take;
      i += take;
      /* the message type decides as soon as its byte is there */
      if (msg[0] != HS_CLIENT_HELLO) FAIL("first handshake message is not a ClientHello");
      if (want == HS_HEADER && have == HS_HEADER) {
        size_t len = ((size_t)msg[1] << 16) | ((size_t)msg[2] << 8) | msg[3];
        if (len == 0) FAIL("empty ClientHello");
        if (len > CSB_CLIENTHELLO_MAX_MESSAGE) FAIL("ClientHello longer than 16384 bytes");
        want = HS_HEADER + len;
      }
      if (want > HS_HEADER && have == want) {
        /* the message ends here: so must its record */
        if (i != rec_len) FAIL("data after the ClientHello in its record");
        out->consumed = off + REC_HEADER + rec_len;
        out->message_len = want - HS_HEADER;
        reader body = {msg + HS_HEADER, want - HS_HEADER};
        csb_clienthello_status st = parse_body(body, out, why);
        if (st != CSB_CLIENTHELLO_OK) {
          size_t records = out->records;
          memset(out, 0, sizeof *out);
          out->records = records;
        }
        return st;
      }
    }
    if (avail < rec_len) {
      out->consumed = off + REC_HEADER + rec_len;
      return CSB_CLIENTHELLO_INCOMPLETE;
    }
    off += REC_HEADER + rec_len;
  }
}

/* ---- building (tests, fuzzing) ---------------------------------------------------- */

static int put(uint8_t *out, size_t out_len, size_t *at, const void *src, size_t len) {
  if (out_len - *at < len) return 0;
  memcpy(out + *at, src, len);
  *at += len;
  return 1;
}

static void put16(uint8_t *b, size_t v) {
  b[0] = (uint8_t)(v >> 8);
  b[1] = (uint8_t)v;
}

size_t csb_clienthello_build_records(uint8_t *out, size_t out_len, const uint8_t *msg, size_t len,
                                     size_t record_size, uint16_t version) {
  if (len == 0 || record_size == 0 || record_size > CSB_CLIENTHELLO_MAX_RECORD) return 0;
  size_t at = 0;
  for (size_t off = 0; off < len; off += record_size) {
    size_t k = len - off < record_size ? len - off : record_size;
    uint8_t hdr[REC_HEADER] = {CSB_CLIENTHELLO_RECORD_HANDSHAKE, 0, 0, 0, 0};
    put16(hdr + 1, version);
    put16(hdr + 3, k);
    if (!put(out, out_len, &at, hdr, sizeof hdr) || !put(out, out_len, &at, msg + off, k)) return 0;
  }
  return at;
}

size_t csb_clienthello_build(uint8_t *out, size_t out_len, const char *sni, int ech, size_t record_size) {
  if (record_size == 0 || record_size > CSB_CLIENTHELLO_MAX_RECORD) return 0;
  size_t sni_len = sni ? strlen(sni) : 0;
  if (sni && (sni_len == 0 || sni_len > MAX_NAME)) return 0;
  uint8_t m[HS_HEADER + 512];
  size_t k = HS_HEADER;
  m[k++] = 3; /* legacy_version 1.2 */
  m[k++] = 3;
  for (int i = 0; i < RANDOM_LEN; i++) m[k++] = (uint8_t)(0xa0 + i);
  m[k++] = 0;               /* legacy_session_id */
  put16(m + k, 2);          /* cipher_suites: TLS_AES_128_GCM_SHA256 */
  m[k + 2] = 0x13;
  m[k + 3] = 0x01;
  k += 4;
  m[k++] = 1;               /* legacy_compression_methods: null */
  m[k++] = 0;
  size_t ext_at = k;
  k += 2;
  static const uint8_t versions[] = {0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03};
  memcpy(m + k, versions, sizeof versions);
  k += sizeof versions;
  if (sni) {
    put16(m + k, CSB_CLIENTHELLO_EXT_SERVER_NAME);
    put16(m + k + 2, sni_len + 5);
    put16(m + k + 4, sni_len + 3);
    m[k + 6] = NAME_TYPE_HOST;
    put16(m + k + 7, sni_len);
    memcpy(m + k + 9, sni, sni_len);
    k += 9 + sni_len;
  }
  if (ech) {
    put16(m + k, CSB_CLIENTHELLO_EXT_ECH);
    put16(m + k + 2, 0);
    k += 4;
  }
  put16(m + ext_at, k - ext_at - 2);
  size_t body = k - HS_HEADER;
  m[0] = HS_CLIENT_HELLO;
  m[1] = (uint8_t)(body >> 16);
  m[2] = (uint8_t)(body >> 8);
  m[3] = (uint8_t)body;
  return csb_clienthello_build_records(out, out_len, m, k, record_size, 0x0301);
}

/* ---- the server's answer and the client's second flight ------------------------- */

#define HS_SERVER_HELLO 2
#define REC_CHANGE_CIPHER_SPEC 20
#define REC_HEARTBEAT 24

const uint8_t csb_clienthello_retry_random[RANDOM_LEN] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

static csb_clienthello_retry retry_more(size_t *need, size_t len) {
  if (need) *need = len;
  return CSB_CLIENTHELLO_RETRY_INCOMPLETE;
}

csb_clienthello_retry csb_clienthello_check_retry(const uint8_t *p, size_t n, size_t *need) {
  uint8_t msg[CSB_CLIENTHELLO_SERVER_HELLO_HEAD];
  size_t have = 0, off = 0;
  if (need) *need = 0;
  for (;;) {
    if (off >= n) return retry_more(need, off + 1);
    if (p[off] != CSB_CLIENTHELLO_RECORD_HANDSHAKE) return CSB_CLIENTHELLO_RETRY_NO;
    if (n - off < 2) return retry_more(need, off + 2);
    if (p[off + 1] != 3) return CSB_CLIENTHELLO_RETRY_NO;
    if (n - off < REC_HEADER) return retry_more(need, off + REC_HEADER);
    size_t len = ((size_t)p[off + 3] << 8) | p[off + 4];
    if (len == 0) return CSB_CLIENTHELLO_RETRY_NO;
    size_t avail = n - off - REC_HEADER < len ? n - off - REC_HEADER : len;
    size_t take = avail < sizeof msg - have ? avail : sizeof msg - have;
    memcpy(msg + have, p + off + REC_HEADER, take);
    have += take;
    /* a record header may come before any of its bytes */
    if (have > 0 && msg[0] != HS_SERVER_HELLO) return CSB_CLIENTHELLO_RETRY_NO;
    if (have == sizeof msg)
      return memcmp(msg + 6, csb_clienthello_retry_random, RANDOM_LEN) == 0 ? CSB_CLIENTHELLO_RETRY_YES
                                                                            : CSB_CLIENTHELLO_RETRY_NO;
    if (avail < len) {
      /* the message type decides at once; then the rest of the head
       * does, in this record or from the next one's first byte on */
      size_t rest = sizeof msg - have;
      if (have == 0) return retry_more(need, off + REC_HEADER + 1);
      return retry_more(need, len - avail >= rest ? off + REC_HEADER + avail + rest : off + REC_HEADER + len + 1);
    }
    off += REC_HEADER + len;
  }
}

static int skipped_record_type(uint8_t t) {
  return t >= REC_CHANGE_CIPHER_SPEC && t <= REC_HEARTBEAT && t != CSB_CLIENTHELLO_RECORD_HANDSHAKE;
}

csb_clienthello_flight csb_clienthello_scan_second_flight(const uint8_t *p, size_t n, size_t *pos) {
  size_t off = 0;
  for (;;) {
    if (off >= CSB_CLIENTHELLO_MAX_INPUT) {
      *pos = off;
      return CSB_CLIENTHELLO_FLIGHT_BOUND;
    }
    if (off >= n) {
      *pos = off + 1;
      return CSB_CLIENTHELLO_FLIGHT_INCOMPLETE;
    }
    if (!skipped_record_type(p[off])) break;
    if (n - off < REC_HEADER) {
      *pos = off + REC_HEADER;
      return CSB_CLIENTHELLO_FLIGHT_INCOMPLETE;
    }
    if (p[off + 1] != 3) break;
    off += REC_HEADER + (((size_t)p[off + 3] << 8) | p[off + 4]);
  }
  if (p[off] == CSB_CLIENTHELLO_RECORD_HANDSHAKE && n - off < REC_HEADER + 1) {
    *pos = off + REC_HEADER + 1;
    return CSB_CLIENTHELLO_FLIGHT_INCOMPLETE;
  }
  *pos = off;
  /* n - off > 1 here unless p[off] is outside 20..24 */
  if (p[off] != CSB_CLIENTHELLO_RECORD_HANDSHAKE || p[off + 1] != 3) return CSB_CLIENTHELLO_FLIGHT_NOT_TLS;
  /* p[off + 5] starts the record's data only when it has some */
  size_t rec_len = ((size_t)p[off + 3] << 8) | p[off + 4];
  if (rec_len > 0 && p[off + REC_HEADER] != HS_CLIENT_HELLO) return CSB_CLIENTHELLO_FLIGHT_OTHER;
  return CSB_CLIENTHELLO_FLIGHT_HELLO;
}

size_t csb_clienthello_build_server_hello(uint8_t *out, size_t out_len, const uint8_t *random, size_t record_size) {
  if (record_size == 0 || record_size > CSB_CLIENTHELLO_MAX_RECORD) return 0;
  static const uint8_t tail[] = {
      0x00,                                     /* legacy_session_id_echo */
      0x13, 0x01,                               /* TLS_AES_128_GCM_SHA256 */
      0x00,                                     /* legacy_compression_method */
      0x00, 0x0c,                               /* extensions */
      0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,       /* supported_versions: 1.3 */
      0x00, 0x33, 0x00, 0x02, 0x00, 0x17};      /* key_share: secp256r1 */
  uint8_t m[HS_HEADER + 2 + RANDOM_LEN + sizeof tail];
  size_t body = sizeof m - HS_HEADER;
  m[0] = HS_SERVER_HELLO;
  m[1] = (uint8_t)(body >> 16);
  m[2] = (uint8_t)(body >> 8);
  m[3] = (uint8_t)body;
  m[4] = 3; /* legacy_version 1.2 */
  m[5] = 3;
  memcpy(m + 6, random ? random : csb_clienthello_retry_random, RANDOM_LEN);
  memcpy(m + 6 + RANDOM_LEN, tail, sizeof tail);
  return csb_clienthello_build_records(out, out_len, m, sizeof m, record_size, 0x0303);
}
