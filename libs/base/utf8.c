/* utf8.c - decoding, validating and encoding UTF-8 (Unicode Table 3-7). */
#include "csb_base.h"
#include <string.h>

size_t csb_utf8_decode(const char *s, size_t n, uint32_t *cp, const char **why) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned c = p[0];
  if (c < 0x80) {
    if (cp) *cp = c;
    return 1;
  }
  const char *reason = "truncated UTF-8 sequence";
  unsigned lo = 0x80, hi = 0xBF;
  size_t len;
  uint32_t v;
  if (c < 0xC0) {
    reason = "unexpected UTF-8 continuation byte";
    goto bad;
  }
  if (c < 0xC2) {
    reason = "overlong UTF-8 encoding";
    goto bad;
  }
  if (c < 0xE0) {
    len = 2;
    v = c & 0x1Fu;
  } else if (c < 0xF0) {
    len = 3;
    v = c & 0x0Fu;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c < 0xF5) {
    len = 4;
    v = c & 0x07u;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    reason = "invalid UTF-8 byte (beyond U+10FFFF)";
    goto bad;
  }
  /* The second byte narrows the range (no overlongs, surrogates or values
   * above U+10FFFF); the others are plain continuation bytes. Bytes are
   * looked at in order and never past the first bad one. */
  if (n < 2 || p[1] < 0x80 || p[1] > 0xBF) goto bad;
  if (p[1] < lo) {
    reason = "overlong UTF-8 encoding";
    goto bad;
  }
  if (p[1] > hi) {
    reason = c == 0xED ? "UTF-8-encoded surrogate" : "UTF-8 sequence beyond U+10FFFF";
    goto bad;
  }
  for (size_t i = 1; i < len; i++) {
    if (i >= n || (p[i] & 0xC0) != 0x80) goto bad;
    v = (v << 6) | (p[i] & 0x3Fu);
  }
  if (cp) *cp = v;
  return len;
bad:
  if (why) *why = reason;
  return 0;
}

int csb_utf8_valid(const char *s, size_t n, size_t *bad_off) {
  size_t i = 0;
  while (i < n) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = csb_utf8_decode(s + i, n - i, NULL, NULL);
    if (k == 0) {
      if (bad_off) *bad_off = i;
      return 0;
    }
    i += k;
  }
  return 1;
}

size_t csb_utf8_first_invalid(char *const *items, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!csb_utf8_valid(items[i], strlen(items[i]), NULL)) return i;
  return n;
}

size_t csb_utf8_encode(uint32_t cp, char out[4]) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}
