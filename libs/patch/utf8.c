/* utf8.c - Unicode white space for the patch matcher (decoding is
 * csb_utf8_decode of libs/base), and the shared error helper. */
#include <string.h>

#include "csb_base.h"
#include "patch_internal.h"

int csb_patch_is_space(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return 0;
  switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return 1;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

size_t csb_patch_rtrim_len(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  while (n > 0) {
    unsigned char c = p[n - 1];
    if (c < 0x80) {
      if (c == 0x20 || (c >= 0x09 && c <= 0x0D)) {
        n--;
        continue;
      }
      return n;
    }
    /* Find the start of the last sequence (at most 4 bytes back). */
    size_t start = n - 1;
    while (start > 0 && n - start < 4 && (p[start] & 0xC0) == 0x80) start--;
    uint32_t cp;
    size_t k = csb_utf8_decode(s + start, n - start, &cp, NULL);
    if (k == 0 || start + k != n || !csb_patch_is_space(cp)) return n;
    n = start;
  }
  return 0;
}

size_t csb_patch_ltrim_off(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      if (c == 0x20 || (c >= 0x09 && c <= 0x0D)) {
        i++;
        continue;
      }
      return i;
    }
    uint32_t cp;
    size_t k = csb_utf8_decode(s + i, n - i, &cp, NULL);
    if (k == 0 || !csb_patch_is_space(cp)) return i;
    i += k;
  }
  return n;
}

int csb_patch_set_msg(csb_error *err, csb_buf *full, int line, const csb_buf *b) {
  if (err) {
    csb_error_clear(err);
    size_t n = b->len < sizeof(err->msg) - 1 ? b->len : sizeof(err->msg) - 1;
    if (n) memcpy(err->msg, b->data, n);
    err->msg[n] = '\0';
    err->line = line;
  }
  if (full && b->len) csb_buf_append(full, b->data, b->len);
  return 0;
}
