/* deps_link_probe.c - proves the third-party libraries link statically with
 * musl and work: an in-memory TLS 1.3 handshake with a certificate generated
 * in-process (BoringSSL libssl + libcrypto), a seccomp filter loaded and
 * enforced (libseccomp, including a syscall only Debian's patched table
 * knows), and a JSON document parsed (cJSON). Prints one line per check and
 * exits 0 only if all pass. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <seccomp.h>

#include "cJSON.h"

static int failures;

static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  if (!ok) failures++;
}

/* ---- TLS ---------------------------------------------------------------- */

static X509 *self_signed(EVP_PKEY *pkey) {
  X509 *x = X509_new();
  X509_NAME *name = X509_NAME_new();
  ASN1_INTEGER *serial = ASN1_INTEGER_new();
  int ok = x && name && serial && X509_set_version(x, X509_VERSION_3) &&
           ASN1_INTEGER_set(serial, 1) && X509_set_serialNumber(x, serial) &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                      (const unsigned char *)"csb.test", -1, -1, 0) &&
           X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
           X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
           X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
           X509_set_pubkey(x, pkey);
  X509_EXTENSION *san = NULL;
  ok = ok && (san = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name,
                                          "DNS:csb.test")) != NULL &&
       X509_add_ext(x, san, -1) && X509_sign(x, pkey, EVP_sha256());
  X509_EXTENSION_free(san);
  ASN1_INTEGER_free(serial);
  X509_NAME_free(name);
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static int tls_handshake(void) {
  int ok = 0;
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  X509 *cert = NULL;
  SSL_CTX *sctx = SSL_CTX_new(TLS_method());
  SSL_CTX *cctx = SSL_CTX_new(TLS_method());
  SSL *server = NULL, *client = NULL;
  BIO *sbio = NULL, *cbio = NULL;

  if (!ec || !pkey || !sctx || !cctx || !EC_KEY_generate_key(ec) ||
      !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
    EC_KEY_free(ec);
    goto out;
  }
  if (!(cert = self_signed(pkey))) goto out;
  if (!SSL_CTX_use_certificate(sctx, cert) || !SSL_CTX_use_PrivateKey(sctx, pkey))
    goto out;
  SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
  SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
  /* The client trusts exactly the generated certificate. */
  X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), cert);
  SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);

  server = SSL_new(sctx);
  client = SSL_new(cctx);
  if (!server || !client || !BIO_new_bio_pair(&sbio, 0, &cbio, 0)) goto out;
  SSL_set_bio(server, sbio, sbio);
  SSL_set_bio(client, cbio, cbio);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  SSL_set_tlsext_host_name(client, "csb.test");
  X509_VERIFY_PARAM_set1_host(SSL_get0_param(client), "csb.test", strlen("csb.test"));

  int cdone = 0, sdone = 0;
  for (int i = 0; i < 100 && !(cdone && sdone); i++) {
    if (!cdone) {
      int r = SSL_do_handshake(client);
      if (r == 1) cdone = 1;
      else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ) goto out;
    }
    if (!sdone) {
      int r = SSL_do_handshake(server);
      if (r == 1) sdone = 1;
      else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ) goto out;
    }
  }
  if (!cdone || !sdone) goto out;
  if (SSL_version(client) != TLS1_3_VERSION) goto out;
  if (SSL_get_verify_result(client) != X509_V_OK) goto out;

  /* Application data both ways. */
  char buf[64];
  if (SSL_write(client, "ping", 4) != 4) goto out;
  if (SSL_read(server, buf, sizeof buf) != 4 || memcmp(buf, "ping", 4) != 0) goto out;
  if (SSL_write(server, "pong", 4) != 4) goto out;
  if (SSL_read(client, buf, sizeof buf) != 4 || memcmp(buf, "pong", 4) != 0) goto out;
  ok = 1;
out:
  if (!ok) {
    ERR_print_errors_fp(stderr);
    if (client && SSL_get_verify_result(client) != X509_V_OK)
      fprintf(stderr, "certificate verification: %s\n",
              X509_verify_cert_error_string(SSL_get_verify_result(client)));
  }
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  X509_free(cert);
  EVP_PKEY_free(pkey);
  return ok;
}

/* ---- seccomp ------------------------------------------------------------ */

static int seccomp_names(void) {
  /* Syscalls added by Debian's patch to libseccomp 2.5.4's table: they only
   * resolve if the gperf table was regenerated from the patched CSV. */
  return seccomp_syscall_resolve_name("landlock_create_ruleset") == 444 &&
         seccomp_syscall_resolve_name("cachestat") == 451 &&
         seccomp_syscall_resolve_name("openat") == SYS_openat;
}

static int seccomp_filter(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return 0;
  int ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(getpriority), 0) == 0 &&
           seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  if (!ok) return 0;
  errno = 0;
  long r = syscall(SYS_getpriority, 0 /* PRIO_PROCESS */, 0);
  int blocked = r == -1 && errno == EPERM;
  /* Everything else still works. */
  int others = getpid() > 0 && syscall(SYS_getppid) > 0;
  return blocked && others;
}

/* ---- JSON --------------------------------------------------------------- */

static int json_parse(void) {
  const char *doc = "{\"schema\":\"csb.policy/v1\",\"paths\":[\"/a\",\"/b\"],\"n\":3}";
  cJSON *root = cJSON_Parse(doc);
  if (!root) return 0;
  const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
  const cJSON *paths = cJSON_GetObjectItemCaseSensitive(root, "paths");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "n");
  int ok = cJSON_IsString(schema) && strcmp(schema->valuestring, "csb.policy/v1") == 0 &&
           cJSON_IsArray(paths) && cJSON_GetArraySize(paths) == 2 && cJSON_IsNumber(n) &&
           n->valueint == 3;
  cJSON_Delete(root);
  cJSON *bad = cJSON_Parse("{\"unterminated\": [1, 2");
  ok = ok && bad == NULL;
  cJSON_Delete(bad);
  return ok;
}

int main(void) {
  check(tls_handshake(), "TLS 1.3 handshake over a BIO pair with an in-process certificate");
  check(json_parse(), "JSON document parsed with cJSON");
  check(seccomp_names(), "libseccomp resolves Debian-patched syscall names");
  check(seccomp_filter(), "seccomp filter loaded: getpriority -> EPERM");
  if (failures) {
    fprintf(stderr, "deps_link_probe: %d check(s) failed\n", failures);
    return 1;
  }
  printf("deps_link_probe: all checks passed\n");
  return 0;
}
