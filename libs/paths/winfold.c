/* winfold.c - Windows name folding: the upper-case table NTFS compares
 * names with (winupcase_table.h, generated at build time by
 * gen_winupcase.py), applied to UTF-8 text one code point at a time.
 *
 * A BMP code point maps through the table (a simple, one-unit mapping:
 * `é` and `É` fold together, `ß` never becomes `SS`); the result is then
 * put in ASCII lower case, so that ASCII text keeps its familiar folded
 * form (`C:\Repo` -> `c:\repo`). No upper-case letter of the table's image
 * is an ASCII lower-case letter, so two names fold equal exactly when NTFS
 * would upcase them equal. Code points above the BMP (surrogate pairs on
 * disk, which NTFS leaves alone) and bytes that are not UTF-8 are copied
 * unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "winupcase_table.h"

static uint32_t upcase(uint32_t cp) {
  size_t lo = 0, hi = CSB_WINUPCASE_N;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint32_t k = csb_winupcase_pairs[mid][0];
    if (k == cp) return csb_winupcase_pairs[mid][1];
    if (k < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return cp;
}

/* Decodes one BMP code point of 2 or 3 bytes at s (n bytes left); returns
 * its length, or 0 when s does not start one (ASCII, 4-byte, invalid). */
static size_t decode_bmp(const unsigned char *s, size_t n, uint32_t *cp) {
  if (n >= 2 && s[0] >= 0xC2 && s[0] <= 0xDF && (s[1] & 0xC0) == 0x80) {
    *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    return 2;
  }
  if (n >= 3 && (s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
    uint32_t c = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return 3;
  }
  return 0;
}

static void encode(csb_buf *b, uint32_t c) {
  if (c < 0x80) {
    csb_buf_putc(b, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
  } else if (c < 0x800) {
    csb_buf_putc(b, (char)(0xC0 | (c >> 6)));
    csb_buf_putc(b, (char)(0x80 | (c & 0x3F)));
  } else {
    csb_buf_putc(b, (char)(0xE0 | (c >> 12)));
    csb_buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3F)));
    csb_buf_putc(b, (char)(0x80 | (c & 0x3F)));
  }
}

uint32_t csb_winname_upcase(uint32_t cp) { return cp < 0x10000 ? upcase(cp) : cp; }

void csb_winname_fold_into(csb_buf *b, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  csb_buf_reserve(b, n);
  size_t i = 0;
  while (i < n) {
    if (u[i] < 0x80) {
      csb_buf_putc(b, (char)(u[i] >= 'A' && u[i] <= 'Z' ? u[i] + 32 : u[i]));
      i++;
      continue;
    }
    uint32_t cp = 0;
    size_t k = decode_bmp(u + i, n - i, &cp);
    if (k == 0) {
      csb_buf_putc(b, (char)u[i]); /* 4-byte sequences pass byte by byte */
      i++;
      continue;
    }
    encode(b, upcase(cp));
    i += k;
  }
}

size_t csb_winname_prefix_bytes(const char *s, size_t folded_len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, f = 0;
  while (u[i] != '\0' && f < folded_len) {
    uint32_t cp = 0;
    size_t k = u[i] < 0x80 ? 0 : decode_bmp(u + i, strlen(s + i), &cp);
    if (k == 0) {
      i++;
      f++;
      continue;
    }
    uint32_t up = upcase(cp);
    f += up < 0x80 ? 1 : up < 0x800 ? 2 : 3;
    i += k;
  }
  return i;
}

char *csb_winname_fold(const char *s, size_t n) {
  csb_buf b = {0};
  csb_buf_puts(&b, "");
  csb_winname_fold_into(&b, s, n);
  return csb_buf_steal(&b);
}

int csb_winname_equal(const char *a, size_t an, const char *b, size_t bn) {
  if (an == bn) {
    size_t i = 0;
    while (i < an && (unsigned char)a[i] < 0x80 && (unsigned char)b[i] < 0x80) {
      unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
      if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
      if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
      if (x != y) return 0;
      i++;
    }
    if (i == an) return 1;
  }
  char *fa = csb_winname_fold(a, an), *fb = csb_winname_fold(b, bn);
  int eq = strcmp(fa, fb) == 0;
  free(fa);
  free(fb);
  return eq;
}
