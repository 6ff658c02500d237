/* csb_tlsutil.h - BoringSSL helpers for TLS interception: the managed CA
 * (created atomically, never overwritten), per-host leaf certificates with
 * an LRU cache, server and client SSL_CTX set-up (upstream certificates
 * verified against the system roots, fail closed), system trust roots and
 * persisted trust bundles.
 *
 * Conventions: see csb_base.h. Objects are not thread-safe. Files:
 *
 *   DIR/ca.pem                   the CA certificate (0644)
 *   DIR/ca.key                   its PKCS#8 P-256 key (0600; must not be a
 *                                symlink or group/world accessible)
 *   DIR/ca-bundle-SHA256.pem     trust bundles (0644), named by the SHA-256
 *                                of their contents
 */
#ifndef CSB_TLSUTIL_H
#define CSB_TLSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

/* Subject common name of CAs created here. */
#define CSB_TLS_CA_NAME "csb-proxy MITM CA"

/* ---- files ---------------------------------------------------------------- */

/* Creates `path` with exactly these bytes and mode, atomically: a temporary
 * file in the same directory is written, fsync'ed and hard-linked to
 * `path`; an existing `path` is never replaced ("refusing to overwrite
 * existing file ..."). The directory is fsync'ed. */
int csb_tls_write_new_file(const char *path, const void *data, size_t len, unsigned mode, csb_error *err);
/* mkdir -p with the given mode for created components. */
int csb_tls_mkdirs(const char *dir, unsigned mode, csb_error *err);

/* ---- CA ------------------------------------------------------------------- */

typedef struct csb_tls_ca csb_tls_ca;

/* Loads DIR/ca.pem + DIR/ca.key, or creates both when neither exists
 * (P-256 ECDSA, SHA-256, CN=CSB_TLS_CA_NAME, basicConstraints CA:TRUE and
 * keyUsage keyCertSign, digitalSignature, keyEncipherment (both critical),
 * subjectKeyIdentifier, valid 1975-01-01 to 4096-01-01). Exactly one of the
 * two existing is an error, as is a key that is a symlink, not a regular
 * file, group/world accessible, owned by another user, unparsable (never
 * regenerated) or does not match the certificate, a certificate file that
 * is a symlink, not a regular file, group/world writable, owned by another
 * user or holds any PEM block besides the CA certificate (it goes whole
 * into every trust bundle), a certificate that is not a CA or not valid
 * now (expired or not yet valid), and a directory that is group/world writable
 * or owned by another user (root excepted).
 * *created (may be NULL) tells whether the files were made now. */
int csb_tls_ca_load_or_create(const char *dir, csb_tls_ca **out, int *created, csb_error *err);
void csb_tls_ca_free(csb_tls_ca *ca);
/* The CA certificate in PEM (exact bytes of ca.pem). */
const char *csb_tls_ca_pem(const csb_tls_ca *ca, size_t *len);
const char *csb_tls_ca_dir(const csb_tls_ca *ca);
const char *csb_tls_ca_cert_path(const csb_tls_ca *ca);
/* 1 when `cert` carries the CA's public key (the CA itself, or a copy of
 * it re-issued or cross-signed under another name). */
int csb_tls_ca_key_matches(const csb_tls_ca *ca, X509 *cert);

/* ---- leaves ---------------------------------------------------------------- */

typedef struct csb_tls_leaf csb_tls_leaf;

/* Issues a certificate for `host` (a DNS name, or an IPv4/IPv6 literal ->
 * IP SAN) with a fresh P-256 key: CN=host, SAN, EKU serverAuth, keyUsage
 * digitalSignature+keyEncipherment, valid from a day ago for 397 days,
 * signed by the CA. The result is reference counted. */
csb_tls_leaf *csb_tls_leaf_issue(const csb_tls_ca *ca, const char *host, csb_error *err);
/* The same for several names (the first one is also the CN). */
csb_tls_leaf *csb_tls_leaf_issue_names(const csb_tls_ca *ca, const char *const *names, size_t n, csb_error *err);
csb_tls_leaf *csb_tls_leaf_ref(csb_tls_leaf *leaf);
void csb_tls_leaf_free(csb_tls_leaf *leaf); /* drops one reference */
/* Installs the leaf (certificate + key) on a server SSL. 1/0. */
int csb_tls_leaf_apply(const csb_tls_leaf *leaf, SSL *ssl);
/* DER of the leaf certificate. */
const uint8_t *csb_tls_leaf_der(const csb_tls_leaf *leaf, size_t *len);
/* The certificate and its PKCS#8 key in PEM (e.g. for test servers);
 * caller frees both. */
int csb_tls_leaf_pem(const csb_tls_leaf *leaf, char **cert_pem, char **key_pem, csb_error *err);

typedef struct csb_tls_leaf_cache csb_tls_leaf_cache;

/* An LRU cache of leaves by host; capacity 0 disables caching (every
 * lookup issues a new leaf). */
csb_tls_leaf_cache *csb_tls_leaf_cache_new(size_t capacity);
void csb_tls_leaf_cache_free(csb_tls_leaf_cache *c);
/* A new reference to the leaf for host (cached or issued and cached). */
csb_tls_leaf *csb_tls_leaf_cache_get(csb_tls_leaf_cache *c, const csb_tls_ca *ca, const char *host,
                                     csb_error *err);
void csb_tls_leaf_cache_stats(const csb_tls_leaf_cache *c, uint64_t *hits, uint64_t *misses, size_t *size);

/* ---- contexts ---------------------------------------------------------------- */

/* Server side of interception: TLS 1.2 and 1.3, ALPN "http/1.1" when the
 * client offers it (never h2). The certificate is set per connection with
 * csb_tls_leaf_apply. */
SSL_CTX *csb_tls_server_ctx_new(csb_error *err);

/* Client side towards origin servers: TLS 1.2+, peer verification against
 * the PEM roots in `roots_pem` (NULL: the system roots, see
 * csb_tls_system_roots_pem), ALPN "http/1.1". `distrust` (NULL: none) is
 * the managed CA, never trusted for an origin: roots carrying its key are
 * dropped and a chain holding a certificate with its key fails
 * verification ("certificate rejected"); it must outlive the context.
 * Fails when no root could be loaded. */
SSL_CTX *csb_tls_client_ctx_new(const char *roots_pem, size_t roots_len, const csb_tls_ca *distrust,
                                csb_error *err);
/* Per connection: SNI (host names only) and host name / IP verification
 * against `host`; host names are matched against the subjectAltName only
 * (never the subject CN), without partial wildcards. 1/0. */
int csb_tls_client_prepare(SSL *ssl, const char *host);

/* Text of the last BoringSSL error on this thread (and clears the queue). */
const char *csb_tls_last_error(char *buf, size_t n);

/* ---- roots and bundles ------------------------------------------------------- */

/* The system trust roots as PEM: certificates from the first existing file
 * of /etc/ssl/certs/ca-certificates.crt, /etc/pki/ca-trust/extracted/pem/
 * tls-ca-bundle.pem, /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/ca-bundle.pem,
 * /etc/pki/tls/cacert.pem, /etc/ssl/cert.pem, /opt/etc/ssl/certs/
 * ca-certificates.crt, /etc/ssl/certs/cacert.pem, plus the files of the
 * existing directories /etc/ssl/certs, /etc/pki/tls/certs,
 * /etc/security/certificates; deduplicated, sorted by DER, re-encoded.
 * SSL_CERT_FILE and SSL_CERT_DIR are deliberately ignored. `root` (NULL or
 * "") prefixes every path (for tests). Appends to out; 0 when none found. */
int csb_tls_system_roots_pem(const char *root, csb_buf *out, csb_error *err);

/* Parses every PEM certificate of a buffer; returns how many were valid
 * (0 when none) and appends their re-encoded PEM to out when non-NULL. */
size_t csb_tls_pem_certs(const char *pem, size_t len, csb_buf *out);

/* Writes DIR/ca-bundle-HEX.pem (HEX = SHA-256 of the contents) or reuses an
 * identical existing file; refuses a symlink ("refusing to reuse symlink
 * ..."), a mismatched file ("refusing to reuse existing mismatched
 * file ...") and one that is group/world writable or owned by another user
 * ("refusing to reuse PATH: ..."), which could change after the check. *path_out receives the path (caller frees). */
int csb_tls_persist_bundle(const char *dir, const char *pem, size_t len, char **path_out, csb_error *err);

/* 1 when `path` is a bundle persisted by csb_tls_persist_bundle in `dir`
 * whose name matches its SHA-256 and that contains the exact CA PEM. */
int csb_tls_is_managed_bundle(const char *dir, const char *ca_pem, size_t ca_len, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* CSB_TLSUTIL_H */
