/* roots.c - system trust roots and PEM certificate re-encoding. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csb_tlsutil.h"

typedef struct der_set {
  uint8_t **der;
  size_t *len;
  size_t n, cap;
} der_set;

static void der_add(der_set *s, X509 *x) {
  uint8_t *d = NULL;
  int l = i2d_X509(x, &d);
  if (l <= 0) return;
  for (size_t i = 0; i < s->n; i++) {
    if (s->len[i] == (size_t)l && memcmp(s->der[i], d, (size_t)l) == 0) {
      OPENSSL_free(d);
      return;
    }
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->der = csb_xrealloc(s->der, s->cap * sizeof *s->der);
    s->len = csb_xrealloc(s->len, s->cap * sizeof *s->len);
  }
  s->der[s->n] = d;
  s->len[s->n] = (size_t)l;
  s->n++;
}

static size_t der_add_pem(der_set *s, const char *pem, size_t len) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  size_t n = 0;
  X509 *x;
  while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    der_add(s, x);
    X509_free(x);
    n++;
  }
  ERR_clear_error();
  BIO_free(bio);
  return n;
}

static void der_free(der_set *s) {
  for (size_t i = 0; i < s->n; i++) OPENSSL_free(s->der[i]);
  free(s->der);
  free(s->len);
}

static void put_pem(csb_buf *out, const uint8_t *der, size_t len) {
  size_t b64len;
  EVP_EncodedLength(&b64len, len);
  uint8_t *b64 = csb_xmalloc(b64len);
  size_t n = EVP_EncodeBlock(b64, der, len);
  csb_buf_puts(out, "-----BEGIN CERTIFICATE-----\n");
  for (size_t i = 0; i < n; i += 64) {
    csb_buf_append(out, b64 + i, n - i < 64 ? n - i : 64);
    csb_buf_putc(out, '\n');
  }
  csb_buf_puts(out, "-----END CERTIFICATE-----\n");
  free(b64);
}

static int der_cmp_idx(const der_set *s, size_t a, size_t b) {
  size_t m = s->len[a] < s->len[b] ? s->len[a] : s->len[b];
  int c = memcmp(s->der[a], s->der[b], m);
  if (c) return c;
  return s->len[a] < s->len[b] ? -1 : s->len[a] > s->len[b];
}

static void der_emit_sorted(der_set *s, csb_buf *out) {
  /* insertion sort of an index array (a few hundred certificates) */
  size_t *idx = csb_xmalloc((s->n ? s->n : 1) * sizeof *idx);
  for (size_t i = 0; i < s->n; i++) {
    size_t j = i;
    while (j > 0 && der_cmp_idx(s, idx[j - 1], i) > 0) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  for (size_t i = 0; i < s->n; i++) put_pem(out, s->der[idx[i]], s->len[idx[i]]);
  free(idx);
}

size_t csb_tls_pem_certs(const char *pem, size_t len, csb_buf *out) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  size_t n = 0;
  X509 *x;
  while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    uint8_t *d = NULL;
    int l = i2d_X509(x, &d);
    if (l > 0) {
      if (out) put_pem(out, d, (size_t)l);
      n++;
    }
    OPENSSL_free(d);
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  return n;
}

static int read_small(const char *path, char **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (4 << 20)) {
    close(fd);
    return 0;
  }
  csb_error e;
  int ok = csb_read_fd(fd, path, 4u << 20, data, len, &e);
  close(fd);
  return ok;
}

static const char *const k_root_files[] = {
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",   "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",            "/etc/ssl/cert.pem",
    "/opt/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/cacert.pem",
};
static const char *const k_root_dirs[] = {"/etc/ssl/certs", "/etc/pki/tls/certs", "/etc/security/certificates"};

int csb_tls_system_roots_pem(const char *root, csb_buf *out, csb_error *err) {
  if (!root) root = "";
  der_set s = {0};
  for (size_t i = 0; i < CSB_ARRAY_LEN(k_root_files); i++) {
    char *p = csb_xasprintf("%s%s", root, k_root_files[i]);
    char *data = NULL;
    size_t len = 0;
    int ok = read_small(p, &data, &len);
    free(p);
    if (ok) {
      der_add_pem(&s, data, len);
      free(data);
      break;
    }
  }
  for (size_t i = 0; i < CSB_ARRAY_LEN(k_root_dirs); i++) {
    char *d = csb_xasprintf("%s%s", root, k_root_dirs[i]);
    DIR *dir = opendir(d);
    if (dir) {
      struct dirent *e;
      size_t entries = 0;
      while ((e = readdir(dir)) != NULL && entries < 4096) {
        if (e->d_name[0] == '.') continue;
        entries++;
        char *p = csb_xasprintf("%s/%s", d, e->d_name);
        char *data = NULL;
        size_t len = 0;
        if (read_small(p, &data, &len)) {
          if (memmem(data, len, "-----BEGIN CERTIFICATE-----", 27)) der_add_pem(&s, data, len);
          free(data);
        }
        free(p);
      }
      closedir(dir);
    }
    free(d);
  }
  if (s.n == 0) {
    der_free(&s);
    return csb_error_set(err, "no system trust roots found (looked at /etc/ssl/certs/ca-certificates.crt and others)");
  }
  der_emit_sorted(&s, out);
  der_free(&s);
  return 1;
}
