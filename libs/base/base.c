/* base.c - allocation, buffers, string vectors, error records, file reads,
 * environments. */
#define _GNU_SOURCE
#include "csb_base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Windows (mingw-w64): files are read in binary mode (no CRLF
 * translation); O_CLOEXEC and O_NOCTTY come from csb_base.h. */
#ifndef O_BINARY
#define O_BINARY 0
#endif

/* Exit status used on allocation failure; equal to CSB_EXIT_INTERNAL in
 * libs/cli (kept literal here so base has no dependencies). */
#define CSB_BASE_OOM_EXIT 70

void csb_oom(void) {
  static const char msg[] = "csb: error: out of memory\n";
  ssize_t r = write(2, msg, sizeof msg - 1);
  (void)r;
  _exit(CSB_BASE_OOM_EXIT);
}

void *csb_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) csb_oom();
  return p;
}

void *csb_xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) csb_oom();
  return p;
}

void *csb_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) csb_oom();
  return q;
}

void *csb_xgrow(void *p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return p;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2) csb_oom();
    ncap *= 2;
  }
  if (size && ncap > SIZE_MAX / size) csb_oom();
  p = csb_xrealloc(p, ncap * size);
  *cap = ncap;
  return p;
}

char *csb_xstrdup(const char *s) { return csb_xstrndup(s, strlen(s)); }

char *csb_xstrndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *p = csb_xmalloc(len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *csb_xvasprintf(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) csb_oom();
  char *p = csb_xmalloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *csb_xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = csb_xvasprintf(fmt, ap);
  va_end(ap);
  return p;
}

/* ---- errors ---- */

void csb_error_clear(csb_error *err) {
  if (!err) return;
  err->msg[0] = '\0';
  err->line = 0;
  err->col = 0;
}

int csb_error_setv(csb_error *err, const char *fmt, va_list ap) {
  if (!err) return 0;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  return 0;
}

int csb_error_set(csb_error *err, const char *fmt, ...) {
  if (!err) return 0;
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(err, fmt, ap);
  va_end(ap);
  err->line = 0;
  err->col = 0;
  return 0;
}

int csb_error_set_at(csb_error *err, int line, int col, const char *fmt, ...) {
  if (!err) return 0;
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(err, fmt, ap);
  va_end(ap);
  err->line = line;
  err->col = col;
  return 0;
}

void csb_error_prefix(csb_error *err, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  va_start(ap, fmt);
  char *prefix = csb_xvasprintf(fmt, ap); /* may name a path: never cut here */
  va_end(ap);
  size_t cap = sizeof err->msg, plen = strlen(prefix), olen = strnlen(err->msg, cap - 1);
  /* The old message moves right by what goes before it (cut at the end). */
  size_t shift = plen + 2 < cap - 1 ? plen + 2 : cap - 1;
  size_t keep = olen < cap - 1 - shift ? olen : cap - 1 - shift;
  memmove(err->msg + shift, err->msg, keep);
  size_t n = 0;
  for (size_t i = 0; i < plen && n < shift; i++) err->msg[n++] = prefix[i];
  for (size_t i = 0; i < 2 && n < shift; i++) err->msg[n++] = ": "[i];
  err->msg[shift + keep] = '\0';
  free(prefix);
}

/* ---- buffers ---- */

void csb_buf_init(csb_buf *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void csb_buf_free(csb_buf *b) {
  free(b->data);
  csb_buf_init(b);
}

void csb_buf_reset(csb_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void csb_buf_reserve(csb_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len - 1) csb_oom();
  b->data = csb_xgrow(b->data, &b->cap, b->len + extra + 1, 1);
}

void csb_buf_append(csb_buf *b, const void *p, size_t n) {
  csb_buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void csb_buf_puts(csb_buf *b, const char *s) { csb_buf_append(b, s, strlen(s)); }

void csb_buf_putc(csb_buf *b, char c) { csb_buf_append(b, &c, 1); }

void csb_buf_vprintf(csb_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) csb_oom();
  csb_buf_reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void csb_buf_printf(csb_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_buf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *csb_buf_steal(csb_buf *b) {
  char *p = b->data;
  if (!p) p = csb_xstrdup("");
  csb_buf_init(b);
  return p;
}

void csb_buf_put_json_string(csb_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  csb_buf_putc(b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        if (c < 0x20) {
          u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
          u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
          esc = u;
        }
    }
    if (esc) {
      csb_buf_append(b, s + i - run, run);
      run = 0;
      csb_buf_puts(b, esc);
    } else {
      run++;
    }
  }
  csb_buf_append(b, s + n - run, run);
  csb_buf_putc(b, '"');
}

void csb_buf_put_json_strings(csb_buf *b, char *const *items, size_t n) {
  csb_buf_putc(b, '[');
  for (size_t i = 0; i < n; i++) {
    if (i) csb_buf_puts(b, ", ");
    csb_buf_put_json_string(b, items[i], strlen(items[i]));
  }
  csb_buf_putc(b, ']');
}

/* ---- string vectors ---- */

void csb_strv_init(csb_strv *v) {
  v->items = NULL;
  v->len = 0;
  v->cap = 0;
}

void csb_strv_free(csb_strv *v) {
  for (size_t i = 0; i < v->len; i++) free(v->items[i]);
  free(v->items);
  csb_strv_init(v);
}

void csb_strv_push_owned(csb_strv *v, char *s) {
  v->items = csb_xgrow(v->items, &v->cap, v->len + 2, sizeof *v->items);
  v->items[v->len++] = s;
  v->items[v->len] = NULL;
}

void csb_strv_push(csb_strv *v, const char *s) { csb_strv_push_owned(v, csb_xstrdup(s)); }

void csb_strv_pushf(csb_strv *v, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = csb_xvasprintf(fmt, ap);
  va_end(ap);
  csb_strv_push_owned(v, s);
}

int csb_strv_contains(const csb_strv *v, const char *s) {
  for (size_t i = 0; i < v->len; i++)
    if (strcmp(v->items[i], s) == 0) return 1;
  return 0;
}

/* A string and its length, for sorting. */
typedef struct skey {
  char *s;
  size_t n;
} skey;

/* Bytewise comparison (as strcmp) eight bytes at a time: sorted paths
 * share long prefixes. */
static int skey_cmp(const skey *a, const skey *b) {
  const unsigned char *x = (const unsigned char *)a->s, *y = (const unsigned char *)b->s;
  size_t n = a->n < b->n ? a->n : b->n, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t p, q;
    memcpy(&p, x + i, 8);
    memcpy(&q, y + i, 8);
    if (p != q) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      p = __builtin_bswap64(p);
      q = __builtin_bswap64(q);
#endif
      return p < q ? -1 : 1;
    }
  }
  for (; i < n; i++)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return a->n < b->n ? -1 : a->n > b->n;
}

/* Bottom-up merge sort (fewer comparisons than some C libraries' qsort,
 * and the same order everywhere). */
static void skey_sort(skey *v, size_t n) {
  skey *tmp = csb_xmalloc(n * sizeof *tmp);
  skey *src = v, *dst = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = skey_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    skey *t = src;
    src = dst;
    dst = t;
  }
  if (src != v) memcpy(v, src, n * sizeof *v);
  free(tmp);
}

void csb_strv_sort_unique(csb_strv *v) {
  if (v->len < 2) return;
  skey *k = csb_xmalloc(v->len * sizeof *k);
  for (size_t i = 0; i < v->len; i++) {
    k[i].s = v->items[i];
    k[i].n = strlen(v->items[i]);
  }
  skey_sort(k, v->len);
  v->items[0] = k[0].s;
  size_t w = 1;
  for (size_t r = 1; r < v->len; r++) {
    if (k[r].n == k[w - 1].n && memcmp(k[r].s, k[w - 1].s, k[r].n) == 0) {
      free(k[r].s);
    } else {
      k[w] = k[r];
      v->items[w++] = k[r].s;
    }
  }
  free(k);
  v->len = w;
  v->items[w] = NULL;
}

/* ---- files ---- */

/* `size_hint`: the size of a regular file (0 when unknown). The buffer
 * starts at that size (one read fills it, the next sees the end) or at a
 * page, and doubles when full: small inputs never take a large buffer
 * (which the allocator would map and unmap for each file). */
/* head: keep the first max_bytes of a larger input instead of failing. */
static int read_fd_sized(int fd, const char *name, size_t max_bytes, size_t size_hint, int head,
                         char **out, size_t *len_out, csb_error *err) {
  csb_buf b;
  csb_buf_init(&b);
  if (head && size_hint > max_bytes) size_hint = max_bytes;
  csb_buf_reserve(&b, size_hint > 0 && size_hint <= max_bytes ? size_hint + 1 : 4095);
  for (;;) {
    if (head && b.len >= max_bytes) {
      b.len = max_bytes;
      break;
    }
    if (b.len > max_bytes) {
      csb_buf_free(&b);
      return csb_error_set(err, "%s: input larger than %zu bytes", name, max_bytes);
    }
    if (b.cap - b.len - 1 == 0) csb_buf_reserve(&b, b.len);
    ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      csb_buf_free(&b);
      return csb_error_set(err, "%s: read failed: %s", name, strerror(e));
    }
    if (n == 0) break;
    b.len += (size_t)n;
  }
  if (b.len > max_bytes) {
    csb_buf_free(&b);
    return csb_error_set(err, "%s: input larger than %zu bytes", name, max_bytes);
  }
  b.data[b.len] = '\0';
  if (len_out) *len_out = b.len;
  *out = csb_buf_steal(&b);
  return 1;
}

int csb_read_fd(int fd, const char *name, size_t max_bytes, char **out,
                size_t *len_out, csb_error *err) {
  struct stat st;
  /* A descriptor the caller's parent closed (`prog - <&-`): say so rather
   * than quote read(2)'s EBADF. */
#if !defined(_WIN32)
  if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
    return csb_error_set(err, "%s: not open (descriptor %d is closed; give the input with `< FILE` or a pipe)",
                         name, fd);
#endif
  size_t hint = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 0;
  return read_fd_sized(fd, name, max_bytes, hint, 0, out, len_out, err);
}

static int read_path(const char *path, size_t max_bytes, int head, char **out, size_t *len_out,
                     csb_error *err) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_BINARY;
#ifdef O_NONBLOCK
  /* The head of a file found in a tree someone else may change (a `.git`
   * pointer file): a FIFO swapped in after the caller looked is refused
   * below, not waited for until a writer comes. */
  if (head) flags |= O_NONBLOCK;
#endif
  int fd = csb_os_open(path, flags, 0);
  if (fd < 0) return csb_error_set(err, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  int have = fstat(fd, &st) == 0;
  if (have && S_ISDIR(st.st_mode)) {
    close(fd);
    return csb_error_set(err, "%s: is a directory", path);
  }
  if (head && !(have && S_ISREG(st.st_mode))) {
    close(fd);
    return csb_error_set(err, "%s: not a regular file", path);
  }
  size_t hint = have && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 0;
  int ok = read_fd_sized(fd, path, max_bytes, hint, head, out, len_out, err);
  close(fd);
  return ok;
}

int csb_parse_port(const char *s, size_t n, int *out) {
  if (n == 0) return 0;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
    if (v > 65535) return 0;
  }
  *out = (int)v;
  return 1;
}

uint64_t csb_hash64(const void *p, size_t n, int fold_case) {
  const unsigned char *c = p;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    unsigned char b = c[i];
    if (fold_case && b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
    h = (h ^ b) * 1099511628211ULL;
  }
  return h;
}

int csb_read_file(const char *path, size_t max_bytes, char **out,
                  size_t *len_out, csb_error *err) {
  if (strcmp(path, "-") == 0) return csb_read_fd(0, "<stdin>", max_bytes, out, len_out, err);
  return read_path(path, max_bytes, 0, out, len_out, err);
}

int csb_read_file_head(const char *path, size_t max_bytes, char **out, size_t *len_out,
                       csb_error *err) {
  return read_path(path, max_bytes, 1, out, len_out, err);
}

int csb_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    c += w;
    n -= (size_t)w;
  }
  return 1;
}

/* ---- environments ---- */

const char *csb_env_get(char *const *envp, const char *name) {
  size_t n = strlen(name);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}
