/* ca.c - the managed CA, leaf issuance and the leaf LRU cache. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csb_tlsutil.h"
#include "tls_internal.h"

struct csb_tls_ca {
  char *dir;
  char *cert_path;
  char *key_path;
  X509 *cert;
  EVP_PKEY *key;
  char *pem;
  size_t pem_len;
};

struct csb_tls_leaf {
  int refs;
  CRYPTO_BUFFER *der;
  EVP_PKEY *key;
};

const char *csb_tls_last_error(char *buf, size_t n) {
  uint32_t e = ERR_get_error();
  if (e == 0) {
    snprintf(buf, n, "unknown TLS error");
  } else {
    ERR_error_string_n(e, buf, n);
  }
  ERR_clear_error();
  return buf;
}

static int tls_fail(csb_error *err, const char *what) {
  char b[256];
  return csb_error_set(err, "%s: %s", what, csb_tls_last_error(b, sizeof b));
}

static EVP_PKEY *new_p256(void) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  if (!ec) return NULL;
  if (!EC_KEY_generate_key(ec)) {
    EC_KEY_free(ec);
    return NULL;
  }
  EVP_PKEY *pk = EVP_PKEY_new();
  if (!pk || !EVP_PKEY_assign_EC_KEY(pk, ec)) {
    EVP_PKEY_free(pk);
    EC_KEY_free(ec);
    return NULL;
  }
  return pk;
}

static int set_random_serial(X509 *x) {
  BIGNUM *bn = BN_new();
  int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  ASN1_INTEGER *ai = ok ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
  ok = ai && X509_set_serialNumber(x, ai);
  ASN1_INTEGER_free(ai);
  BN_free(bn);
  return ok;
}

static int add_ext(X509 *issuer, X509 *subject, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
  if (!ext) return 0;
  int ok = X509_add_ext(subject, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

static int set_name_cn(X509_NAME *name, const char *cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
}

static char *bio_to_string(BIO *b, size_t *len) {
  const uint8_t *p;
  size_t n;
  if (!BIO_mem_contents(b, &p, &n)) return NULL;
  char *s = csb_xmalloc(n + 1);
  memcpy(s, p, n);
  s[n] = '\0';
  if (len) *len = n;
  return s;
}

static int make_ca(X509 **cert_out, EVP_PKEY **key_out, csb_error *err) {
  EVP_PKEY *key = new_p256();
  if (!key) return tls_fail(err, "generating the CA key");
  X509 *x = X509_new();
  ASN1_TIME *nb = ASN1_TIME_new(), *na = ASN1_TIME_new();
  X509_NAME *name = X509_NAME_new();
  int ok = x && nb && na && name && X509_set_version(x, X509_VERSION_3) && set_random_serial(x) &&
           ASN1_TIME_set_string(nb, "750101000000Z") && ASN1_TIME_set_string(na, "40960101000000Z") &&
           X509_set1_notBefore(x, nb) && X509_set1_notAfter(x, na) && set_name_cn(name, CSB_TLS_CA_NAME) &&
           X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
           add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
           add_ext(x, x, NID_key_usage, "critical,keyCertSign,digitalSignature,keyEncipherment") &&
           add_ext(x, x, NID_subject_key_identifier, "hash") && X509_sign(x, key, EVP_sha256());
  ASN1_TIME_free(nb);
  ASN1_TIME_free(na);
  X509_NAME_free(name);
  if (!ok) {
    X509_free(x);
    EVP_PKEY_free(key);
    return tls_fail(err, "creating the CA certificate");
  }
  *cert_out = x;
  *key_out = key;
  return 1;
}

static int pem_of(X509 *cert, EVP_PKEY *key, char **cert_pem, size_t *cert_len, char **key_pem, size_t *key_len) {
  BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem());
  int ok = b1 && b2 && PEM_write_bio_X509(b1, cert) &&
           PEM_write_bio_PrivateKey(b2, key, NULL, NULL, 0, NULL, NULL);
  if (ok) {
    *cert_pem = bio_to_string(b1, cert_len);
    *key_pem = bio_to_string(b2, key_len);
    ok = *cert_pem && *key_pem;
  }
  BIO_free(b1);
  BIO_free(b2);
  return ok;
}

static int file_exists(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0;
}

/* Reads one of the CA files (csb_tls_i_read_nofollow: not a symlink, a
 * regular file, still the one checked) and requires it to be owned by the
 * user running csb-proxy with no mode bit of `forbidden` set; a refused
 * file's bytes are wiped. `what` names it in messages ("key",
 * "certificate"). */
static int read_ca_file(const char *path, const char *what, unsigned forbidden, char **data, size_t *len,
                        csb_error *err) {
  struct stat st;
  int r = csb_tls_i_read_nofollow(path, 1 << 20, data, len, &st);
  if (r == 0 && errno == ELOOP)
    return csb_error_set(err, "refusing to use symlink for managed MITM CA %s %s", what, path);
  if (r == 0 && errno == EINVAL)
    return csb_error_set(err, "managed MITM CA %s %s is not a regular file", what, path);
  if (r == 0 && errno == ESTALE)
    return csb_error_set(err, "managed MITM CA %s %s changed while being opened", what, path);
  if (r != 1)
    return csb_error_set(err, "cannot read managed MITM CA %s %s: %s", what, path, strerror(r < 0 ? ENOENT : errno));
  int ok = 1;
  if (st.st_mode & forbidden)
    ok = csb_error_set(err, "managed MITM CA %s %s must not be group/world %s (mode=%03o; expected <= %03o)", what,
                       path, forbidden == 077 ? "accessible" : "writable", (unsigned)(st.st_mode & 0777),
                       0666u & ~forbidden);
  /* a key someone else owns is a key someone else knows; a certificate
   * someone else owns is a trust bundle they may add to */
  else if (st.st_uid != geteuid())
    ok = csb_error_set(err, "managed MITM CA %s %s is owned by uid %u, not by the user running csb-proxy (uid %u)",
                       what, path, (unsigned)st.st_uid, (unsigned)geteuid());
  if (!ok) {
    memset(*data, 0, *len);
    free(*data);
    *data = NULL;
  }
  return ok;
}

static int load_ca(csb_tls_ca *ca, csb_error *err) {
  char *key_pem = NULL;
  size_t key_len = 0;
  if (!read_ca_file(ca->key_path, "key", 077, &key_pem, &key_len, err)) return 0;
  if (!read_ca_file(ca->cert_path, "certificate", 022, &ca->pem, &ca->pem_len, err)) {
    memset(key_pem, 0, key_len);
    free(key_pem);
    return 0;
  }
  BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
  BIO *cb = BIO_new_mem_buf(ca->pem, (int)ca->pem_len);
  ca->key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
  ca->cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
  BIO_free(kb);
  BIO_free(cb);
  memset(key_pem, 0, key_len);
  free(key_pem);
  if (!ca->key) {
    char b[256];
    return csb_error_set(err, "cannot parse the managed MITM CA key %s (%s); it is never replaced: restore it, or "
                              "remove both %s and %s to create a new CA (clients must then trust the new one)",
                         ca->key_path, csb_tls_last_error(b, sizeof b), ca->key_path, ca->cert_path);
  }
  if (!ca->cert) {
    char b[256];
    return csb_error_set(err, "cannot parse the managed MITM CA certificate %s (%s)", ca->cert_path,
                         csb_tls_last_error(b, sizeof b));
  }
  /* ca.pem goes into every bundle the child trusts, whole: it must hold
   * the CA and nothing else (its first block parsed as the certificate) */
  size_t n_blocks = 0;
  for (const char *p = ca->pem; (p = memmem(p, ca->pem_len - (size_t)(p - ca->pem), "-----BEGIN", 10)) != NULL;
       p += 10)
    n_blocks++;
  if (n_blocks != 1)
    return csb_error_set(err, "managed MITM CA certificate %s holds %zu PEM blocks, expected exactly one (the CA "
                              "certificate); remove the others, or remove both %s and %s to create a new CA",
                         ca->cert_path, n_blocks, ca->cert_path, ca->key_path);
  if (!X509_check_private_key(ca->cert, ca->key))
    return csb_error_set(err, "managed MITM CA key %s does not match %s", ca->key_path, ca->cert_path);
  /* leaves issued under a certificate that cannot vouch for them now fail
   * at every client, with an error that does not name the cause */
  const char *why = NULL;
  const ASN1_TIME *t = NULL;
  if (X509_check_ca(ca->cert) != 1) {
    why = "is not a CA certificate (basicConstraints CA:TRUE and keyUsage keyCertSign)";
  } else if (X509_cmp_current_time(X509_get0_notBefore(ca->cert)) >= 0) {
    why = "is not valid yet (notBefore ";
    t = X509_get0_notBefore(ca->cert);
  } else if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0) {
    why = "has expired (notAfter ";
    t = X509_get0_notAfter(ca->cert);
  }
  if (why) {
    char when[64] = "";
    if (t) {
      BIO *tb = BIO_new(BIO_s_mem());
      const uint8_t *tp;
      size_t tn;
      if (tb && ASN1_TIME_print(tb, t) && BIO_mem_contents(tb, &tp, &tn))
        snprintf(when, sizeof when, "%.*s)", (int)(tn < 40 ? tn : 40), (const char *)tp);
      else
        snprintf(when, sizeof when, "?)");
      BIO_free(tb);
      ERR_clear_error();
    }
    return csb_error_set(err, "managed MITM CA certificate %s %s%s; remove both %s and %s to create a new CA "
                              "(clients must then trust the new one)",
                         ca->cert_path, why, when, ca->cert_path, ca->key_path);
  }
  return 1;
}

static int create_ca(csb_tls_ca *ca, csb_error *err) {
  X509 *cert = NULL;
  EVP_PKEY *key = NULL;
  if (!make_ca(&cert, &key, err)) return 0;
  char *cert_pem = NULL, *key_pem = NULL;
  size_t cert_len = 0, key_len = 0;
  if (!pem_of(cert, key, &cert_pem, &cert_len, &key_pem, &key_len)) {
    X509_free(cert);
    EVP_PKEY_free(key);
    return tls_fail(err, "encoding the CA");
  }
  int ok = csb_tls_write_new_file(ca->key_path, key_pem, key_len, 0600, err);
  if (ok) {
    ok = csb_tls_write_new_file(ca->cert_path, cert_pem, cert_len, 0644, err);
    if (!ok) unlink(ca->key_path);
  }
  memset(key_pem, 0, key_len);
  free(key_pem);
  if (!ok) {
    free(cert_pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return 0;
  }
  ca->cert = cert;
  ca->key = key;
  ca->pem = cert_pem;
  ca->pem_len = cert_len;
  return 1;
}

int csb_tls_ca_load_or_create(const char *dir, csb_tls_ca **out, int *created, csb_error *err) {
  csb_error local;
  if (!err) err = &local;
  *out = NULL;
  if (created) *created = 0;
  if (!csb_tls_mkdirs(dir, 0700, err)) return 0;
  /* whoever may write the directory may put a CA of their own in it (or
   * swap ours) before the next start */
  struct stat dst;
  if (stat(dir, &dst) != 0) return csb_error_set(err, "cannot stat %s: %s", dir, strerror(errno));
  if (dst.st_uid != geteuid() && dst.st_uid != 0)
    return csb_error_set(err, "managed MITM CA directory %s is owned by uid %u, not by the user running csb-proxy "
                              "(uid %u)", dir, (unsigned)dst.st_uid, (unsigned)geteuid());
  if (dst.st_mode & 022)
    return csb_error_set(err, "managed MITM CA directory %s must not be group/world writable (mode=%03o)", dir,
                         (unsigned)(dst.st_mode & 0777));
  csb_tls_ca *ca = csb_xcalloc(1, sizeof *ca);
  ca->dir = csb_xstrdup(dir);
  ca->cert_path = csb_xasprintf("%s/ca.pem", dir);
  ca->key_path = csb_xasprintf("%s/ca.key", dir);
  int ok = 0;
  for (int attempt = 0;; attempt++) {
    int ce = file_exists(ca->cert_path), ke = file_exists(ca->key_path);
    csb_error_clear(err);
    int retry = 0;
    if (!ce && !ke) {
      ok = create_ca(ca, err);
      if (ok && created) *created = 1;
      /* lost a race with another process creating the pair: load theirs */
      retry = !ok && strstr(err->msg, "refusing to overwrite") != NULL;
    } else if (ce && ke) {
      ok = load_ca(ca, err);
    } else {
      csb_error_set(err, "both managed MITM CA files must exist (cert=%s, key=%s)", ca->cert_path, ca->key_path);
      retry = 1; /* maybe mid-creation by another process */
    }
    if (ok || !retry || attempt >= 40) break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (!ok) {
    csb_tls_ca_free(ca);
    return 0;
  }
  *out = ca;
  return 1;
}

void csb_tls_ca_free(csb_tls_ca *ca) {
  if (!ca) return;
  X509_free(ca->cert);
  EVP_PKEY_free(ca->key);
  free(ca->pem);
  free(ca->dir);
  free(ca->cert_path);
  free(ca->key_path);
  free(ca);
}

const char *csb_tls_ca_pem(const csb_tls_ca *ca, size_t *len) {
  if (len) *len = ca->pem_len;
  return ca->pem;
}
const char *csb_tls_ca_dir(const csb_tls_ca *ca) { return ca->dir; }

int csb_tls_ca_key_matches(const csb_tls_ca *ca, X509 *cert) {
  EVP_PKEY *pk = cert ? X509_get_pubkey(cert) : NULL;
  int same = pk && EVP_PKEY_cmp(pk, ca->key) == 1;
  EVP_PKEY_free(pk);
  ERR_clear_error();
  return same;
}
const char *csb_tls_ca_cert_path(const csb_tls_ca *ca) { return ca->cert_path; }

/* ---- leaves ---------------------------------------------------------------- */

csb_tls_leaf *csb_tls_leaf_issue(const csb_tls_ca *ca, const char *host, csb_error *err) {
  const char *names[1] = {host};
  return csb_tls_leaf_issue_names(ca, names, 1, err);
}

csb_tls_leaf *csb_tls_leaf_issue_names(const csb_tls_ca *ca, const char *const *names, size_t n_names,
                                       csb_error *err) {
  if (n_names == 0) {
    csb_error_set(err, "invalid host for a leaf certificate");
    return NULL;
  }
  csb_buf sanb;
  csb_buf_init(&sanb);
  for (size_t i = 0; i < n_names; i++) {
    const char *host = names[i];
    if (!host || !*host || strlen(host) > 253) {
      csb_buf_free(&sanb);
      csb_error_set(err, "invalid host for a leaf certificate");
      return NULL;
    }
    for (const char *p = host; *p; p++) {
      if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == ':' || (*p == '*' && p == host && p[1] == '.'))) {
        csb_buf_free(&sanb);
        csb_error_set(err, "invalid host for a leaf certificate: %s", host);
        return NULL;
      }
    }
    unsigned char ipbuf[16];
    int is_ip = inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1;
    csb_buf_printf(&sanb, "%s%s:%s", i ? "," : "", is_ip ? "IP" : "DNS", host);
  }
  const char *host = names[0];
  EVP_PKEY *key = new_p256();
  if (!key) {
    tls_fail(err, "generating a leaf key");
    return NULL;
  }
  X509 *x = X509_new();
  X509_NAME *name = X509_NAME_new();
  char cn[65];
  snprintf(cn, sizeof cn, "%s", host);
  char *san = csb_buf_steal(&sanb);
  int ok = x && name && X509_set_version(x, X509_VERSION_3) && set_random_serial(x) &&
           X509_gmtime_adj(X509_getm_notBefore(x), -86400) &&
           X509_gmtime_adj(X509_getm_notAfter(x), 397L * 86400) && set_name_cn(name, cn) &&
           X509_set_subject_name(x, name) && X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) &&
           X509_set_pubkey(x, key) && add_ext(ca->cert, x, NID_subject_alt_name, san) &&
           add_ext(ca->cert, x, NID_basic_constraints, "critical,CA:FALSE") &&
           add_ext(ca->cert, x, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
           add_ext(ca->cert, x, NID_ext_key_usage, "serverAuth") &&
           add_ext(ca->cert, x, NID_authority_key_identifier, "keyid:always") &&
           X509_sign(x, ca->key, EVP_sha256());
  free(san);
  X509_NAME_free(name);
  uint8_t *der = NULL;
  int der_len = ok ? i2d_X509(x, &der) : -1;
  X509_free(x);
  if (!ok || der_len <= 0) {
    EVP_PKEY_free(key);
    OPENSSL_free(der);
    tls_fail(err, "issuing a leaf certificate");
    return NULL;
  }
  csb_tls_leaf *leaf = csb_xcalloc(1, sizeof *leaf);
  leaf->refs = 1;
  leaf->der = CRYPTO_BUFFER_new(der, (size_t)der_len, NULL);
  OPENSSL_free(der);
  leaf->key = key;
  if (!leaf->der) {
    csb_tls_leaf_free(leaf);
    tls_fail(err, "storing a leaf certificate");
    return NULL;
  }
  return leaf;
}

csb_tls_leaf *csb_tls_leaf_ref(csb_tls_leaf *leaf) {
  leaf->refs++;
  return leaf;
}

void csb_tls_leaf_free(csb_tls_leaf *leaf) {
  if (!leaf || --leaf->refs > 0) return;
  CRYPTO_BUFFER_free(leaf->der);
  EVP_PKEY_free(leaf->key);
  free(leaf);
}

int csb_tls_leaf_apply(const csb_tls_leaf *leaf, SSL *ssl) {
  CRYPTO_BUFFER *chain[1] = {leaf->der};
  return SSL_set_chain_and_key(ssl, chain, 1, leaf->key, NULL);
}

const uint8_t *csb_tls_leaf_der(const csb_tls_leaf *leaf, size_t *len) {
  if (len) *len = CRYPTO_BUFFER_len(leaf->der);
  return CRYPTO_BUFFER_data(leaf->der);
}

int csb_tls_leaf_pem(const csb_tls_leaf *leaf, char **cert_pem, char **key_pem, csb_error *err) {
  const uint8_t *der = CRYPTO_BUFFER_data(leaf->der);
  X509 *x = d2i_X509(NULL, &der, (long)CRYPTO_BUFFER_len(leaf->der));
  if (!x) return tls_fail(err, "decoding a leaf certificate");
  size_t cl, kl;
  int ok = pem_of(x, leaf->key, cert_pem, &cl, key_pem, &kl);
  X509_free(x);
  if (!ok) return tls_fail(err, "encoding a leaf certificate");
  return 1;
}

/* ---- LRU cache --------------------------------------------------------------- */

typedef struct lru_node {
  char *host;
  csb_tls_leaf *leaf;
  struct lru_node *prev, *next; /* recency list, most recent first */
  struct lru_node *hnext;       /* hash chain */
} lru_node;

struct csb_tls_leaf_cache {
  size_t capacity, size;
  lru_node **buckets;
  size_t n_buckets;
  lru_node *head, *tail;
  uint64_t hits, misses;
};

static uint64_t hash_str(const char *s) { return csb_hash64(s, strlen(s), 0); }

csb_tls_leaf_cache *csb_tls_leaf_cache_new(size_t capacity) {
  csb_tls_leaf_cache *c = csb_xcalloc(1, sizeof *c);
  c->capacity = capacity;
  c->n_buckets = 16;
  while (c->n_buckets < capacity * 2 && c->n_buckets < (1u << 20)) c->n_buckets *= 2;
  c->buckets = csb_xcalloc(c->n_buckets, sizeof *c->buckets);
  return c;
}

static void list_unlink(csb_tls_leaf_cache *c, lru_node *n) {
  if (n->prev)
    n->prev->next = n->next;
  else
    c->head = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    c->tail = n->prev;
  n->prev = n->next = NULL;
}

static void list_push_front(csb_tls_leaf_cache *c, lru_node *n) {
  n->prev = NULL;
  n->next = c->head;
  if (c->head) c->head->prev = n;
  c->head = n;
  if (!c->tail) c->tail = n;
}

static void evict(csb_tls_leaf_cache *c, lru_node *n) {
  list_unlink(c, n);
  lru_node **pp = &c->buckets[hash_str(n->host) & (c->n_buckets - 1)];
  while (*pp && *pp != n) pp = &(*pp)->hnext;
  if (*pp) *pp = n->hnext;
  csb_tls_leaf_free(n->leaf);
  free(n->host);
  free(n);
  c->size--;
}

void csb_tls_leaf_cache_free(csb_tls_leaf_cache *c) {
  if (!c) return;
  while (c->head) evict(c, c->head);
  free(c->buckets);
  free(c);
}

csb_tls_leaf *csb_tls_leaf_cache_get(csb_tls_leaf_cache *c, const csb_tls_ca *ca, const char *host,
                                     csb_error *err) {
  if (c->capacity == 0) {
    c->misses++;
    return csb_tls_leaf_issue(ca, host, err);
  }
  size_t b = hash_str(host) & (c->n_buckets - 1);
  for (lru_node *n = c->buckets[b]; n; n = n->hnext) {
    if (strcmp(n->host, host) == 0) {
      c->hits++;
      list_unlink(c, n);
      list_push_front(c, n);
      return csb_tls_leaf_ref(n->leaf);
    }
  }
  c->misses++;
  csb_tls_leaf *leaf = csb_tls_leaf_issue(ca, host, err);
  if (!leaf) return NULL;
  if (c->size >= c->capacity) evict(c, c->tail);
  lru_node *n = csb_xcalloc(1, sizeof *n);
  n->host = csb_xstrdup(host);
  n->leaf = csb_tls_leaf_ref(leaf);
  n->hnext = c->buckets[b];
  c->buckets[b] = n;
  list_push_front(c, n);
  c->size++;
  return leaf;
}

void csb_tls_leaf_cache_stats(const csb_tls_leaf_cache *c, uint64_t *hits, uint64_t *misses, size_t *size) {
  if (hits) *hits = c->hits;
  if (misses) *misses = c->misses;
  if (size) *size = c->size;
}
