/* ctx.c - SSL_CTX set-up for interception (server) and origin (client). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csb_tlsutil.h"

static int alpn_select(SSL *ssl, const uint8_t **out, uint8_t *out_len, const uint8_t *in, unsigned in_len,
                       void *arg) {
  (void)ssl;
  (void)arg;
  unsigned i = 0;
  while (i < in_len) {
    unsigned l = in[i];
    if (i + 1 + l > in_len) break;
    if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *out_len = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + l;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *csb_tls_server_ctx_new(csb_error *err) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  if (!ctx) {
    char b[256];
    csb_error_set(err, "SSL_CTX_new: %s", csb_tls_last_error(b, sizeof b));
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  return ctx;
}

/* Chain verification for origins: the usual checks, then no certificate of
 * the chain may carry the managed CA's key (the proxy never trusts its own
 * CA for an origin, whatever the roots hold). */
static int verify_origin_chain(X509_STORE_CTX *sctx, void *arg) {
  const csb_tls_ca *distrust = arg;
  if (X509_verify_cert(sctx) != 1) return 0;
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);
  for (size_t i = 0; chain && i < sk_X509_num(chain); i++) {
    if (csb_tls_ca_key_matches(distrust, sk_X509_value(chain, i))) {
      X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
  }
  return 1;
}

SSL_CTX *csb_tls_client_ctx_new(const char *roots_pem, size_t roots_len, const csb_tls_ca *distrust,
                                csb_error *err) {
  csb_buf sys;
  csb_buf_init(&sys);
  if (!roots_pem) {
    if (!csb_tls_system_roots_pem(NULL, &sys, err)) {
      csb_buf_free(&sys);
      return NULL;
    }
    roots_pem = sys.data;
    roots_len = sys.len;
  }
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  char b[256];
  if (!ctx) {
    csb_error_set(err, "SSL_CTX_new: %s", csb_tls_last_error(b, sizeof b));
    csb_buf_free(&sys);
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  static const uint8_t alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  BIO *bio = BIO_new_mem_buf(roots_pem, (int)roots_len);
  size_t added = 0;
  X509 *x;
  while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (!(distrust && csb_tls_ca_key_matches(distrust, x)) && X509_STORE_add_cert(store, x)) added++;
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  csb_buf_free(&sys);
  if (added == 0) {
    SSL_CTX_free(ctx);
    csb_error_set(err, "no trust roots could be loaded for upstream TLS verification");
    return NULL;
  }
  if (distrust) SSL_CTX_set_cert_verify_callback(ctx, verify_origin_chain, (void *)distrust);
  return ctx;
}

int csb_tls_client_prepare(SSL *ssl, const char *host) {
  unsigned char ip[16];
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
    return X509_VERIFY_PARAM_set1_ip_asc(param, host);
  if (!SSL_set_tlsext_host_name(ssl, host)) return 0;
  /* names come from subjectAltName only: a certificate without one does
   * not vouch for a host through its subject CN */
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  return X509_VERIFY_PARAM_set1_host(param, host, strlen(host));
}
