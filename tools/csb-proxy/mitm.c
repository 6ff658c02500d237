/* mitm.c - TLS interception: the managed CA, the leaf cache, the server
 * handshake with the client and the verified client handshake with the
 * origin. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "csb_tlsutil.h"

int px_mitm_init(px_proxy *px, const char *ca_dir, const char *upstream_roots_pem, size_t roots_len,
                 csb_error *err) {
  px_mitm *m = csb_xcalloc(1, sizeof *m);
  int created = 0;
  if (!csb_tls_ca_load_or_create(ca_dir, &m->ca, &created, err)) {
    free(m);
    return 0;
  }
  if (created && px->verbose) fprintf(stderr, "csb-proxy: created the MITM CA in %s\n", ca_dir);
  m->leaves = csb_tls_leaf_cache_new(px->lim.leaf_cache);
  m->server_ctx = csb_tls_server_ctx_new(err);
  if (m->server_ctx) m->client_ctx = csb_tls_client_ctx_new(upstream_roots_pem, roots_len, m->ca, err);
  if (!m->server_ctx || !m->client_ctx) {
    px_mitm_free(m);
    return 0;
  }
  SSL_CTX_set_mode(m->server_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_mode(m->client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  px->mitm = m;
  return 1;
}

void px_mitm_free(px_mitm *m) {
  if (!m) return;
  csb_tls_leaf_cache_free(m->leaves);
  if (m->server_ctx) SSL_CTX_free(m->server_ctx);
  if (m->client_ctx) SSL_CTX_free(m->client_ctx);
  csb_tls_ca_free(m->ca);
  free(m);
}

void px_mitm_start_accept(px_conn *c) {
  px_mitm *m = c->px->mitm;
  csb_error err;
  csb_tls_leaf *leaf = csb_tls_leaf_cache_get(m->leaves, m->ca, c->mitm_host, &err);
  if (!leaf) {
    fprintf(stderr, "csb-proxy: warning: %s\n", err.msg);
    px_conn_close(c);
    return;
  }
  SSL *ssl = SSL_new(m->server_ctx);
  if (!ssl || !csb_tls_leaf_apply(leaf, ssl) || !SSL_set_fd(ssl, c->cli.fd)) {
    csb_tls_leaf_free(leaf);
    if (ssl) SSL_free(ssl);
    px_conn_close(c);
    return;
  }
  csb_tls_leaf_free(leaf);
  SSL_set_accept_state(ssl);
  c->pending_ssl = ssl;
  c->state = ST_TLS_ACCEPT;
  px_conn_set_deadline(c, c->px->lim.handshake_ms);
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.handshake_ms;
  c->repump = 1;
}

int px_mitm_pump_accept(px_conn *c) {
  int progress = 0;
  /* the plaintext "200" / SOCKS reply goes out before the handshake */
  if (!px_conn_flush_cout(c, &progress)) return progress;
  if (c->pending_ssl) {
    c->cli.ssl = c->pending_ssl;
    c->pending_ssl = NULL;
    progress = 1;
  }
  int r = SSL_do_handshake(c->cli.ssl);
  if (r == 1) {
    c->in_mitm = 1;
    c->state = ST_HTTP_HEAD;
    c->kind = REQ_NONE;
    c->resp_bytes = 0;
    c->head_scanned = 0;
    csb_buf_free(&c->cout);
    if (c->px->verbose)
      fprintf(stderr, "csb-proxy: [%llu] intercepting %s:%d\n", (unsigned long long)c->id, c->mitm_host, c->mitm_port);
    return 1;
  }
  int e = SSL_get_error(c->cli.ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return progress;
  if (c->px->verbose) {
    char b[256];
    fprintf(stderr, "csb-proxy: [%llu] client TLS handshake failed: %s\n", (unsigned long long)c->id,
            csb_tls_last_error(b, sizeof b));
  }
  ERR_clear_error();
  px_conn_close(c);
  return 0;
}

void px_mitm_start_upstream(px_conn *c) {
  px_mitm *m = c->px->mitm;
  SSL *ssl = SSL_new(m->client_ctx);
  if (!ssl || !csb_tls_client_prepare(ssl, c->host) || !SSL_set_fd(ssl, c->up.fd)) {
    if (ssl) SSL_free(ssl);
    px_http_on_connect_failed(c, "cannot set up upstream TLS");
    return;
  }
  SSL_set_connect_state(ssl);
  c->up.ssl = ssl;
  c->state = ST_UP_TLS;
  c->repump = 1;
}

int px_mitm_pump_upstream(px_conn *c) {
  int r = SSL_do_handshake(c->up.ssl);
  if (r == 1) {
    px_http_mitm_upstream_ready(c);
    return 1;
  }
  int e = SSL_get_error(c->up.ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  /* the verification result names the cause only when verification is
   * what failed: before the certificate was seen (an origin offering
   * nothing above TLS 1.1, ...) it holds no verdict */
  char b[256];
  uint32_t pe = ERR_peek_error();
  long vr = SSL_get_verify_result(c->up.ssl);
  const char *why;
  if (ERR_GET_LIB(pe) == ERR_LIB_SSL && ERR_GET_REASON(pe) == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK)
    why = X509_verify_cert_error_string(vr);
  else if (pe == 0)
    why = "connection closed during the TLS handshake";
  else
    why = csb_tls_last_error(b, sizeof b);
  fprintf(stderr, "csb-proxy: warning: TLS to %s:%d failed: %s\n", c->host, c->port, why);
  ERR_clear_error();
  px_http_on_connect_failed(c, why);
  return 1;
}
