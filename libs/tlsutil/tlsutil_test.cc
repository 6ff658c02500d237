// Unit tests for libs/tlsutil.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pool.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "csb_tlsutil.h"

namespace {

std::string TempDir() {
  const char *t = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(t ? t : "/tmp") + "/tlsXXXXXX";
  char *d = mkdtemp(&tmpl[0]);
  EXPECT_NE(d, nullptr);
  return tmpl;
}

std::string Slurp(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Spit(const std::string &p, const std::string &data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

TEST(Files, WriteNewNeverOverwrites) {
  std::string d = TempDir();
  csb_error err;
  std::string p = d + "/f";
  ASSERT_TRUE(csb_tls_write_new_file(p.c_str(), "abc", 3, 0600, &err)) << err.msg;
  EXPECT_EQ(Slurp(p), "abc");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(csb_tls_write_new_file(p.c_str(), "xyz", 3, 0600, &err));
  EXPECT_NE(std::string(err.msg).find("refusing to overwrite existing file"), std::string::npos);
  EXPECT_EQ(Slurp(p), "abc");
}

// A fresh directory holding a newly created CA (DIR/ca.pem, DIR/ca.key).
std::string NewCaDir() {
  std::string d = TempDir() + "/proxy";
  csb_error err;
  csb_tls_ca *ca = nullptr;
  EXPECT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << err.msg;
  csb_tls_ca_free(ca);
  return d;
}

TEST(Ca, CreateReloadAndChecks) {
  std::string d = TempDir() + "/proxy";
  csb_error err;
  csb_tls_ca *ca = nullptr;
  int created = 0;
  ASSERT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, &created, &err)) << err.msg;
  EXPECT_EQ(created, 1);
  size_t len;
  std::string pem(csb_tls_ca_pem(ca, &len));
  EXPECT_EQ(pem, Slurp(d + "/ca.pem"));
  struct stat st;
  ASSERT_EQ(stat((d + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_NE(Slurp(d + "/ca.key").find("-----BEGIN PRIVATE KEY-----"), std::string::npos);

  // certificate contents
  BIO *b = BIO_new_mem_buf(pem.data(), pem.size());
  X509 *x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ASSERT_NE(x, nullptr);
  char cn[128];
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, CSB_TLS_CA_NAME);
  EXPECT_EQ(X509_check_ca(x), 1);
  EVP_PKEY *pk = X509_get_pubkey(x);
  EXPECT_EQ(EVP_PKEY_id(pk), EVP_PKEY_EC);
  EVP_PKEY_free(pk);
  X509_free(x);
  csb_tls_ca_free(ca);

  // reload: same files, not recreated
  ASSERT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, &created, &err)) << err.msg;
  EXPECT_EQ(created, 0);
  EXPECT_EQ(std::string(csb_tls_ca_pem(ca, &len)), pem);
  csb_tls_ca_free(ca);

  // group-readable key is refused
  chmod((d + "/ca.key").c_str(), 0640);
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, &created, &err));
  EXPECT_NE(std::string(err.msg).find("must not be group/world accessible"), std::string::npos) << err.msg;
  chmod((d + "/ca.key").c_str(), 0600);

  // a symlinked key is refused
  ASSERT_EQ(rename((d + "/ca.key").c_str(), (d + "/real.key").c_str()), 0);
  ASSERT_EQ(symlink((d + "/real.key").c_str(), (d + "/ca.key").c_str()), 0);
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, &created, &err));
  EXPECT_NE(std::string(err.msg).find("refusing to use symlink"), std::string::npos) << err.msg;
  unlink((d + "/ca.key").c_str());
  ASSERT_EQ(rename((d + "/real.key").c_str(), (d + "/ca.key").c_str()), 0);
  ASSERT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, &created, &err)) << err.msg;
  csb_tls_ca_free(ca);
}

TEST(Ca, DirectoryAndKeyOwnershipAreChecked) {
  std::string d = NewCaDir();
  csb_error err;
  csb_tls_ca *ca = nullptr;
  std::string pem = Slurp(d + "/ca.pem");
  // a directory others may write: they could plant a CA of their own
  for (mode_t m : {0770, 0703, 01777}) {
    ASSERT_EQ(chmod(d.c_str(), m), 0);
    EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
    EXPECT_NE(std::string(err.msg).find("must not be group/world writable"), std::string::npos) << err.msg;
  }
  // nor is a CA created in one
  std::string fresh = TempDir() + "/fresh";
  ASSERT_EQ(mkdir(fresh.c_str(), 0700), 0);
  ASSERT_EQ(chmod(fresh.c_str(), 0777), 0);
  EXPECT_FALSE(csb_tls_ca_load_or_create(fresh.c_str(), &ca, nullptr, &err));
  EXPECT_EQ(access((fresh + "/ca.key").c_str(), F_OK), -1);
  ASSERT_EQ(chmod(d.c_str(), 0750), 0);
  ASSERT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << err.msg;
  csb_tls_ca_free(ca);
  // a corrupted key is an error naming the file, and nothing is replaced
  std::string key = Slurp(d + "/ca.key");
  ASSERT_EQ(unlink((d + "/ca.key").c_str()), 0);
  Spit(d + "/ca.key", "garbage\n");
  ASSERT_EQ(chmod((d + "/ca.key").c_str(), 0600), 0);
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_NE(std::string(err.msg).find("cannot parse the managed MITM CA key " + d + "/ca.key"), std::string::npos)
      << err.msg;
  EXPECT_EQ(Slurp(d + "/ca.key"), "garbage\n");
  EXPECT_EQ(Slurp(d + "/ca.pem"), pem);
  ASSERT_EQ(unlink((d + "/ca.key").c_str()), 0);
  Spit(d + "/ca.key", key);
  ASSERT_EQ(chmod((d + "/ca.key").c_str(), 0600), 0);
  // a key (or a directory) owned by someone else: they know the key (this
  // part needs chown(2) to another user: root outside a user namespace)
  if (geteuid() != 0 || chown((d + "/ca.key").c_str(), 65534, (gid_t)-1) != 0) return;
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_NE(std::string(err.msg).find("is owned by uid 65534"), std::string::npos) << err.msg;
  ASSERT_EQ(chown((d + "/ca.key").c_str(), 0, (gid_t)-1), 0);
  ASSERT_EQ(chown(d.c_str(), 65534, (gid_t)-1), 0);
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_NE(std::string(err.msg).find("directory " + d + " is owned by uid 65534"), std::string::npos) << err.msg;
  ASSERT_EQ(chown(d.c_str(), 0, (gid_t)-1), 0);
  ASSERT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << err.msg;
  csb_tls_ca_free(ca);
}

// ca.pem goes whole into the bundle every child trusts: a certificate file
// others may write, a symlink, or one holding more than the CA is refused
TEST(Ca, CertificateFileIsChecked) {
  std::string d = NewCaDir();
  csb_error err;
  csb_tls_ca *ca = nullptr;
  std::string cert = d + "/ca.pem", pem = Slurp(cert);
  for (mode_t m : {0664, 0646}) {
    ASSERT_EQ(chmod(cert.c_str(), m), 0);
    EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
    EXPECT_NE(std::string(err.msg).find("certificate " + cert + " must not be group/world writable"),
              std::string::npos)
        << err.msg;
  }
  ASSERT_EQ(chmod(cert.c_str(), 0644), 0);
  ASSERT_EQ(rename(cert.c_str(), (d + "/real.pem").c_str()), 0);
  ASSERT_EQ(symlink((d + "/real.pem").c_str(), cert.c_str()), 0);
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_NE(std::string(err.msg).find("refusing to use symlink for managed MITM CA certificate"), std::string::npos)
      << err.msg;
  ASSERT_EQ(unlink(cert.c_str()), 0);
  ASSERT_EQ(rename((d + "/real.pem").c_str(), cert.c_str()), 0);
  // another root appended (or a block that does not parse) would be trusted by every child
  std::string other = NewCaDir();
  for (const std::string &extra : {Slurp(other + "/ca.pem"), std::string("-----BEGIN CERTIFICATE-----\nx\n")}) {
    Spit(cert, pem + extra);
    EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
    EXPECT_NE(std::string(err.msg).find("certificate " + cert + " holds 2 PEM blocks, expected exactly one"),
              std::string::npos)
        << err.msg;
  }
  Spit(cert, pem);
  ASSERT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << err.msg;
  csb_tls_ca_free(ca);
}

TEST(Ca, OnlyOneFileIsAnError) {
  std::string d = TempDir();
  Spit(d + "/ca.pem", "x");
  csb_error err;
  csb_tls_ca *ca = nullptr;
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_NE(std::string(err.msg).find("both managed MITM CA files must exist"), std::string::npos) << err.msg;
}

// A CA directory holding `cert` and `key` as ca.pem (0644) and ca.key (0600).
std::string WriteCaDir(X509 *cert, EVP_PKEY *key) {
  std::string d = TempDir() + "/proxy";
  EXPECT_EQ(mkdir(d.c_str(), 0700), 0);
  BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
  EXPECT_TRUE(PEM_write_bio_X509(cb, cert));
  EXPECT_TRUE(PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr));
  const uint8_t *p;
  size_t n;
  BIO_mem_contents(cb, &p, &n);
  Spit(d + "/ca.pem", std::string(reinterpret_cast<const char *>(p), n));
  BIO_mem_contents(kb, &p, &n);
  Spit(d + "/ca.key", std::string(reinterpret_cast<const char *>(p), n));
  BIO_free(cb);
  BIO_free(kb);
  EXPECT_EQ(chmod((d + "/ca.pem").c_str(), 0644), 0);
  EXPECT_EQ(chmod((d + "/ca.key").c_str(), 0600), 0);
  return d;
}

// A self-signed P-256 certificate valid from now+nb to now+na seconds, a
// CA (basicConstraints CA:TRUE, keyUsage keyCertSign) unless `ca` is false.
X509 *SelfSigned(EVP_PKEY *key, long nb, long na, bool ca) {
  X509 *x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), nb);
  X509_gmtime_adj(X509_getm_notAfter(x), na);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>("Some CA"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, key);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  const char *bc = ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  const char *ku = ca ? "critical,keyCertSign,digitalSignature" : "critical,digitalSignature";
  for (auto e : {std::make_pair(NID_basic_constraints, bc), std::make_pair(NID_key_usage, ku)}) {
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(nullptr, &v3, e.first, e.second);
    EXPECT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_TRUE(X509_sign(x, key, EVP_sha256()));
  return x;
}

// A CA that cannot vouch for anything now (expired, not yet valid, or not
// a CA at all) would only make every interception fail at the client with
// a certificate error naming nothing of the cause: refused when loading,
// and (like every existing CA) never replaced.
TEST(Ca, CertificateThatCannotIssueNowIsRefused) {
  struct Case {
    long nb, na;
    bool ca;
    const char *msg;
  } cases[] = {
      {-7200, -3600, true, "has expired (notAfter "},
      {3600, 7200, true, "is not valid yet (notBefore "},
      {-3600, 86400, false, "is not a CA certificate (basicConstraints CA:TRUE and keyUsage keyCertSign)"},
  };
  for (const Case &k : cases) {
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    EC_KEY_generate_key(ec);
    EVP_PKEY *key = EVP_PKEY_new();
    EVP_PKEY_assign_EC_KEY(key, ec);
    X509 *x = SelfSigned(key, k.nb, k.na, k.ca);
    std::string d = WriteCaDir(x, key);
    std::string pem = Slurp(d + "/ca.pem"), keypem = Slurp(d + "/ca.key");
    csb_error err;
    csb_tls_ca *ca = nullptr;
    EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << k.msg;
    EXPECT_EQ(ca, nullptr);
    std::string want = "managed MITM CA certificate " + d + "/ca.pem " + k.msg;
    EXPECT_EQ(std::string(err.msg).find(want), 0u) << err.msg;
    EXPECT_NE(std::string(err.msg).find("; remove both " + d + "/ca.pem and " + d + "/ca.key to create a new CA"),
              std::string::npos)
        << err.msg;
    EXPECT_EQ(Slurp(d + "/ca.pem"), pem);
    EXPECT_EQ(Slurp(d + "/ca.key"), keypem);
    X509_free(x);
    EVP_PKEY_free(key);
  }
  // the same kind of files, valid now, load
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EC_KEY_generate_key(ec);
  EVP_PKEY *key = EVP_PKEY_new();
  EVP_PKEY_assign_EC_KEY(key, ec);
  X509 *x = SelfSigned(key, -3600, 86400, true);
  std::string d = WriteCaDir(x, key);
  csb_error err;
  csb_tls_ca *ca = nullptr;
  EXPECT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << err.msg;
  csb_tls_ca_free(ca);
  X509_free(x);
  EVP_PKEY_free(key);
}

// A certificate whose key is another one, and a key file cut short, are
// refused and left alone.
TEST(Ca, MismatchedOrTruncatedKeyIsRefused) {
  std::string d = NewCaDir(), other = NewCaDir();
  std::string pem = Slurp(d + "/ca.pem"), key = Slurp(d + "/ca.key");
  csb_error err;
  csb_tls_ca *ca = nullptr;
  Spit(d + "/ca.pem", Slurp(other + "/ca.pem"));
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_EQ(std::string(err.msg), "managed MITM CA key " + d + "/ca.key does not match " + d + "/ca.pem");
  Spit(d + "/ca.pem", pem);
  Spit(d + "/ca.key", key.substr(0, key.size() / 2));
  EXPECT_FALSE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err));
  EXPECT_EQ(std::string(err.msg).find("cannot parse the managed MITM CA key " + d + "/ca.key"), 0u) << err.msg;
  EXPECT_EQ(Slurp(d + "/ca.key"), key.substr(0, key.size() / 2));
  Spit(d + "/ca.key", key);
  EXPECT_TRUE(csb_tls_ca_load_or_create(d.c_str(), &ca, nullptr, &err)) << err.msg;
  csb_tls_ca_free(ca);
}

struct Fixture {
  std::string dir = TempDir();
  csb_tls_ca *ca = nullptr;
  Fixture() {
    csb_error err;
    EXPECT_TRUE(csb_tls_ca_load_or_create(dir.c_str(), &ca, nullptr, &err)) << err.msg;
  }
  ~Fixture() { csb_tls_ca_free(ca); }
};

bool LeafVerifies(csb_tls_ca *ca, csb_tls_leaf *leaf, const char *host, bool ip) {
  size_t n;
  const uint8_t *der = csb_tls_leaf_der(leaf, &n);
  X509 *x = d2i_X509(nullptr, &der, static_cast<long>(n));
  size_t pl;
  const char *pem = csb_tls_ca_pem(ca, &pl);
  BIO *b = BIO_new_mem_buf(pem, pl);
  X509 *cax = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  X509_STORE *st = X509_STORE_new();
  X509_STORE_add_cert(st, cax);
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, st, x, nullptr);
  X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
  if (ip)
    X509_VERIFY_PARAM_set1_ip_asc(p, host);
  else
    X509_VERIFY_PARAM_set1_host(p, host, strlen(host));
  X509_VERIFY_PARAM_set_purpose(p, X509_PURPOSE_SSL_SERVER);
  int ok = X509_verify_cert(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(st);
  X509_free(cax);
  X509_free(x);
  return ok == 1;
}

TEST(Leaf, IssueDnsAndIp) {
  Fixture f;
  csb_error err;
  csb_tls_leaf *l = csb_tls_leaf_issue(f.ca, "api.example.test", &err);
  ASSERT_NE(l, nullptr) << err.msg;
  EXPECT_TRUE(LeafVerifies(f.ca, l, "api.example.test", false));
  EXPECT_FALSE(LeafVerifies(f.ca, l, "other.example.test", false));
  csb_tls_leaf_free(l);
  l = csb_tls_leaf_issue(f.ca, "127.0.0.1", &err);
  ASSERT_NE(l, nullptr) << err.msg;
  EXPECT_TRUE(LeafVerifies(f.ca, l, "127.0.0.1", true));
  csb_tls_leaf_free(l);
  l = csb_tls_leaf_issue(f.ca, "::1", &err);
  ASSERT_NE(l, nullptr) << err.msg;
  EXPECT_TRUE(LeafVerifies(f.ca, l, "::1", true));
  csb_tls_leaf_free(l);
  EXPECT_EQ(csb_tls_leaf_issue(f.ca, "a,b", &err), nullptr);
  EXPECT_EQ(csb_tls_leaf_issue(f.ca, "", &err), nullptr);
}

TEST(Leaf, LruCache) {
  Fixture f;
  csb_error err;
  csb_tls_leaf_cache *c = csb_tls_leaf_cache_new(2);
  csb_tls_leaf *a1 = csb_tls_leaf_cache_get(c, f.ca, "a.test", &err);
  csb_tls_leaf *a2 = csb_tls_leaf_cache_get(c, f.ca, "a.test", &err);
  EXPECT_EQ(a1, a2);
  csb_tls_leaf *b = csb_tls_leaf_cache_get(c, f.ca, "b.test", &err);
  csb_tls_leaf *a3 = csb_tls_leaf_cache_get(c, f.ca, "a.test", &err);  // a most recent
  csb_tls_leaf *cc = csb_tls_leaf_cache_get(c, f.ca, "c.test", &err);  // evicts b
  csb_tls_leaf *b2 = csb_tls_leaf_cache_get(c, f.ca, "b.test", &err);  // miss, evicts a
  EXPECT_NE(b, b2);
  uint64_t hits, misses;
  size_t size;
  csb_tls_leaf_cache_stats(c, &hits, &misses, &size);
  EXPECT_EQ(hits, 2u);
  EXPECT_EQ(misses, 4u);
  EXPECT_EQ(size, 2u);
  for (auto *l : {a1, a2, b, a3, cc, b2}) csb_tls_leaf_free(l);
  csb_tls_leaf_cache_free(c);
  c = csb_tls_leaf_cache_new(0);
  a1 = csb_tls_leaf_cache_get(c, f.ca, "a.test", &err);
  a2 = csb_tls_leaf_cache_get(c, f.ca, "a.test", &err);
  EXPECT_NE(a1, a2);
  csb_tls_leaf_free(a1);
  csb_tls_leaf_free(a2);
  csb_tls_leaf_cache_free(c);
}

// Drives a client and a server SSL over a socketpair until both finish.
bool Handshake(SSL *cli, SSL *srv) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  SSL_set_fd(cli, sv[0]);
  SSL_set_fd(srv, sv[1]);
  SSL_set_connect_state(cli);
  SSL_set_accept_state(srv);
  bool cdone = false, sdone = false, failed = false;
  for (int i = 0; i < 1000 && !(cdone && sdone) && !failed; i++) {
    if (!cdone) {
      int r = SSL_do_handshake(cli);
      if (r == 1)
        cdone = true;
      else if (SSL_get_error(cli, r) != SSL_ERROR_WANT_READ)
        failed = true;
    }
    if (!sdone && !failed) {
      int r = SSL_do_handshake(srv);
      if (r == 1)
        sdone = true;
      else if (SSL_get_error(srv, r) != SSL_ERROR_WANT_READ)
        failed = true;
    }
  }
  close(sv[0]);
  close(sv[1]);
  return cdone && sdone && !failed;
}

TEST(Ctx, HandshakeVerifiesAgainstGivenRoots) {
  Fixture f;
  csb_error err;
  SSL_CTX *sctx = csb_tls_server_ctx_new(&err);
  ASSERT_NE(sctx, nullptr) << err.msg;
  size_t pl;
  const char *pem = csb_tls_ca_pem(f.ca, &pl);
  SSL_CTX *cctx = csb_tls_client_ctx_new(pem, pl, nullptr, &err);
  ASSERT_NE(cctx, nullptr) << err.msg;
  csb_tls_leaf *leaf = csb_tls_leaf_issue(f.ca, "good.test", &err);
  for (const char *name : {"good.test", "bad.test"}) {
    SSL *s = SSL_new(sctx);
    SSL *c = SSL_new(cctx);
    ASSERT_TRUE(csb_tls_leaf_apply(leaf, s));
    ASSERT_TRUE(csb_tls_client_prepare(c, name));
    bool ok = Handshake(c, s);
    EXPECT_EQ(ok, std::string(name) == "good.test") << name;
    if (ok) {
      const uint8_t *proto;
      unsigned plen;
      SSL_get0_alpn_selected(c, &proto, &plen);
      EXPECT_EQ(std::string(reinterpret_cast<const char *>(proto), plen), "http/1.1");
    }
    SSL_free(s);
    SSL_free(c);
  }
  csb_tls_leaf_free(leaf);
  SSL_CTX_free(cctx);
  // a client trusting other roots fails closed
  Fixture other;
  const char *opem = csb_tls_ca_pem(other.ca, &pl);
  cctx = csb_tls_client_ctx_new(opem, pl, nullptr, &err);
  leaf = csb_tls_leaf_issue(f.ca, "good.test", &err);
  SSL *s = SSL_new(sctx);
  SSL *c = SSL_new(cctx);
  csb_tls_leaf_apply(leaf, s);
  csb_tls_client_prepare(c, "good.test");
  EXPECT_FALSE(Handshake(c, s));
  SSL_free(s);
  SSL_free(c);
  csb_tls_leaf_free(leaf);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  EXPECT_EQ(csb_tls_client_ctx_new("garbage", 7, nullptr, &err), nullptr);
}

// The CA of a fixture as objects: its certificate and its key (read from
// the files it wrote).
X509 *CaCert(csb_tls_ca *ca) {
  size_t pl;
  const char *pem = csb_tls_ca_pem(ca, &pl);
  BIO *b = BIO_new_mem_buf(pem, pl);
  X509 *x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return x;
}

// A client context trusting the fixture's managed CA alone, or NULL.
SSL_CTX *ClientTrustingManagedCa(const Fixture &f) {
  size_t pl;
  const char *pem = csb_tls_ca_pem(f.ca, &pl);
  csb_error err;
  SSL_CTX *cctx = csb_tls_client_ctx_new(pem, pl, nullptr, &err);
  EXPECT_NE(cctx, nullptr) << err.msg;
  return cctx;
}

EVP_PKEY *CaKey(const std::string &dir) {
  std::string pem = Slurp(dir + "/ca.key");
  BIO *b = BIO_new_mem_buf(pem.data(), pem.size());
  EVP_PKEY *k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return k;
}

// A certificate for `pub` named CN=cn, issued by `issuer` (NULL: self) and
// signed with `sign_key`: a CA, or a server certificate with `san` as its
// DNS subjectAltName (none when empty).
X509 *MakeCert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *sign_key, bool ca, const std::string &san) {
  X509 *x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>(cn), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
  X509_set_pubkey(x, pub);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> exts;
  if (ca) {
    exts = {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign"}};
  } else {
    exts = {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_ext_key_usage, "serverAuth"}};
    if (!san.empty()) exts.push_back({NID_subject_alt_name, "DNS:" + san});
  }
  for (auto &e : exts) {
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(nullptr, &v3, e.first, e.second.c_str());
    EXPECT_NE(ext, nullptr) << e.second;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_TRUE(X509_sign(x, sign_key, EVP_sha256()));
  return x;
}

EVP_PKEY *NewKey() {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EC_KEY_generate_key(ec);
  EVP_PKEY *k = EVP_PKEY_new();
  EVP_PKEY_assign_EC_KEY(k, ec);
  return k;
}

// A client of `cctx` connecting to `host`, served `chain` (leaf first) with
// `key`: did the handshake succeed?
bool ServeChain(SSL_CTX *cctx, const std::vector<X509 *> &chain, EVP_PKEY *key, const char *host) {
  csb_error err;
  SSL_CTX *sctx = csb_tls_server_ctx_new(&err);
  std::vector<CRYPTO_BUFFER *> bufs;
  for (X509 *x : chain) {
    uint8_t *der = nullptr;
    int n = i2d_X509(x, &der);
    bufs.push_back(CRYPTO_BUFFER_new(der, n, nullptr));
    OPENSSL_free(der);
  }
  SSL *s = SSL_new(sctx);
  SSL *c = SSL_new(cctx);
  EXPECT_TRUE(SSL_set_chain_and_key(s, bufs.data(), bufs.size(), key, nullptr));
  EXPECT_TRUE(csb_tls_client_prepare(c, host));
  bool ok = Handshake(c, s);
  SSL_free(s);
  SSL_free(c);
  for (auto *b : bufs) CRYPTO_BUFFER_free(b);
  SSL_CTX_free(sctx);
  return ok;
}

std::string Pem(X509 *x) {
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  const uint8_t *p;
  size_t n;
  BIO_mem_contents(b, &p, &n);
  std::string s(reinterpret_cast<const char *>(p), n);
  BIO_free(b);
  return s;
}

TEST(Ctx, OriginsAreNeverVerifiedWithTheManagedCa) {
  // the proxy's own CA must not vouch for an origin, even when the roots
  // hold it (installed system-wide, or in --upstream-ca): it signs every
  // interception leaf
  Fixture managed;
  EVP_PKEY *other_key = NewKey(), *leaf_key = NewKey();
  X509 *other_cert = MakeCert("Other Root", other_key, nullptr, other_key, true, "");
  size_t l1;
  std::string roots = Pem(other_cert) + csb_tls_ca_pem(managed.ca, &l1);
  csb_error err;
  SSL_CTX *trusting = csb_tls_client_ctx_new(roots.data(), roots.size(), nullptr, &err);
  ASSERT_NE(trusting, nullptr) << err.msg;
  SSL_CTX *cctx = csb_tls_client_ctx_new(roots.data(), roots.size(), managed.ca, &err);
  ASSERT_NE(cctx, nullptr) << err.msg;
  X509 *managed_cert = CaCert(managed.ca);
  EVP_PKEY *managed_key = CaKey(managed.dir);
  // a leaf issued by the managed CA
  X509 *leaf = MakeCert("good.test", leaf_key, managed_cert, managed_key, false, "good.test");
  EXPECT_TRUE(ServeChain(trusting, {leaf}, leaf_key, "good.test"));
  EXPECT_FALSE(ServeChain(cctx, {leaf}, leaf_key, "good.test"));
  // the managed key certified by a trusted root (a cross-signed copy of the CA)
  X509 *cross = MakeCert("Cross", managed_key, other_cert, other_key, true, "");
  X509 *leaf2 = MakeCert("good.test", leaf_key, cross, managed_key, false, "good.test");
  EXPECT_TRUE(ServeChain(trusting, {leaf2, cross}, leaf_key, "good.test"));
  EXPECT_FALSE(ServeChain(cctx, {leaf2, cross}, leaf_key, "good.test"));
  // other roots still verify
  X509 *leaf3 = MakeCert("good.test", leaf_key, other_cert, other_key, false, "good.test");
  EXPECT_TRUE(ServeChain(cctx, {leaf3}, leaf_key, "good.test"));
  // roots holding nothing but the managed CA leave nothing to trust
  EXPECT_EQ(csb_tls_client_ctx_new(csb_tls_ca_pem(managed.ca, &l1), l1, managed.ca, &err), nullptr);
  for (X509 *x : {managed_cert, other_cert, leaf, cross, leaf2, leaf3}) X509_free(x);
  for (EVP_PKEY *k : {managed_key, other_key, leaf_key}) EVP_PKEY_free(k);
  SSL_CTX_free(trusting);
  SSL_CTX_free(cctx);
}

TEST(Ctx, SubjectCommonNameIsNotAHostName) {
  // only subjectAltName names a host (RFC 6125, CA/Browser Forum): a
  // certificate without one proves nothing about the name in its CN
  Fixture f;
  SSL_CTX *cctx = ClientTrustingManagedCa(f);
  ASSERT_NE(cctx, nullptr);
  X509 *ca = CaCert(f.ca);
  EVP_PKEY *ca_key = CaKey(f.dir), *leaf_key = NewKey();
  X509 *cn_only = MakeCert("good.test", leaf_key, ca, ca_key, false, "");
  X509 *with_san = MakeCert("good.test", leaf_key, ca, ca_key, false, "good.test");
  EXPECT_FALSE(ServeChain(cctx, {cn_only}, leaf_key, "good.test"));
  EXPECT_TRUE(ServeChain(cctx, {with_san}, leaf_key, "good.test"));
  for (X509 *x : {ca, cn_only, with_san}) X509_free(x);
  for (EVP_PKEY *k : {ca_key, leaf_key}) EVP_PKEY_free(k);
  SSL_CTX_free(cctx);
}

TEST(Bundles, PersistReuseAndRefuse) {
  Fixture f;
  csb_error err;
  size_t pl;
  std::string ca(csb_tls_ca_pem(f.ca, &pl));
  std::string bundle = "other\n" + ca;
  char *path = nullptr;
  ASSERT_TRUE(csb_tls_persist_bundle(f.dir.c_str(), bundle.data(), bundle.size(), &path, &err)) << err.msg;
  std::string p1 = path;
  free(path);
  EXPECT_EQ(Slurp(p1), bundle);
  ASSERT_TRUE(csb_tls_persist_bundle(f.dir.c_str(), bundle.data(), bundle.size(), &path, &err)) << err.msg;
  EXPECT_EQ(p1, path);
  free(path);
  EXPECT_TRUE(csb_tls_is_managed_bundle(f.dir.c_str(), ca.data(), ca.size(), p1.c_str()));
  EXPECT_FALSE(csb_tls_is_managed_bundle("/elsewhere", ca.data(), ca.size(), p1.c_str()));
  // a bundle others could change after it was compared is not reused
  for (mode_t m : {0664, 0646}) {
    ASSERT_EQ(chmod(p1.c_str(), m), 0);
    EXPECT_FALSE(csb_tls_persist_bundle(f.dir.c_str(), bundle.data(), bundle.size(), &path, &err));
    EXPECT_NE(std::string(err.msg).find("refusing to reuse " + p1 + ": group/world writable"), std::string::npos)
        << err.msg;
  }
  ASSERT_EQ(chmod(p1.c_str(), 0644), 0);
  if (geteuid() == 0 && chown(p1.c_str(), 65534, (gid_t)-1) == 0) {
    EXPECT_FALSE(csb_tls_persist_bundle(f.dir.c_str(), bundle.data(), bundle.size(), &path, &err));
    EXPECT_NE(std::string(err.msg).find("owned by uid 65534"), std::string::npos) << err.msg;
    ASSERT_EQ(chown(p1.c_str(), 0, (gid_t)-1), 0);
  }
  Spit(p1, bundle + "tampered");
  EXPECT_FALSE(csb_tls_is_managed_bundle(f.dir.c_str(), ca.data(), ca.size(), p1.c_str()));
  EXPECT_FALSE(csb_tls_persist_bundle(f.dir.c_str(), bundle.data(), bundle.size(), &path, &err));
  EXPECT_NE(std::string(err.msg).find("refusing to reuse existing mismatched file"), std::string::npos);
  unlink(p1.c_str());
  ASSERT_EQ(symlink("/dev/null", p1.c_str()), 0);
  EXPECT_FALSE(csb_tls_persist_bundle(f.dir.c_str(), bundle.data(), bundle.size(), &path, &err));
  EXPECT_NE(std::string(err.msg).find("refusing to reuse symlink"), std::string::npos);
}

TEST(Roots, FromAFakeRootAndDeduplicated) {
  Fixture f1, f2;
  std::string root = TempDir();
  ASSERT_TRUE(csb_tls_mkdirs((root + "/etc/ssl/certs").c_str(), 0755, nullptr));
  size_t l1, l2;
  std::string c1(csb_tls_ca_pem(f1.ca, &l1)), c2(csb_tls_ca_pem(f2.ca, &l2));
  Spit(root + "/etc/ssl/certs/ca-certificates.crt", c1 + c2);
  Spit(root + "/etc/ssl/certs/one.pem", c1);
  Spit(root + "/etc/ssl/certs/junk.txt", "not a cert");
  csb_buf out;
  csb_buf_init(&out);
  csb_error err;
  ASSERT_TRUE(csb_tls_system_roots_pem(root.c_str(), &out, &err)) << err.msg;
  EXPECT_EQ(csb_tls_pem_certs(out.data, out.len, nullptr), 2u);
  csb_buf_free(&out);
  std::string empty = TempDir();
  EXPECT_FALSE(csb_tls_system_roots_pem(empty.c_str(), &out, &err));
}

}  // namespace

namespace {

// `x` valid from now+nb to now+na seconds, signed again with `key`.
X509 *Revalidate(X509 *x, long nb, long na, EVP_PKEY *key) {
  X509_gmtime_adj(X509_getm_notBefore(x), nb);
  X509_gmtime_adj(X509_getm_notAfter(x), na);
  EXPECT_TRUE(X509_sign(x, key, EVP_sha256()));
  return x;
}

}  // namespace

// What origins may present: a certificate valid now, from the roots, for
// the host; an IP literal only through an IP subjectAltName.
TEST(Ctx, OriginCertificatesAreCheckedForTimeIssuerAndName) {
  Fixture f;
  SSL_CTX *cctx = ClientTrustingManagedCa(f);
  ASSERT_NE(cctx, nullptr);
  X509 *ca = CaCert(f.ca);
  EVP_PKEY *ca_key = CaKey(f.dir), *leaf_key = NewKey();
  X509 *good = MakeCert("good.test", leaf_key, ca, ca_key, false, "good.test");
  EXPECT_TRUE(ServeChain(cctx, {good}, leaf_key, "good.test"));
  EXPECT_FALSE(ServeChain(cctx, {good}, leaf_key, "other.test"));
  X509 *expired = Revalidate(MakeCert("good.test", leaf_key, ca, ca_key, false, "good.test"), -7200, -3600, ca_key);
  EXPECT_FALSE(ServeChain(cctx, {expired}, leaf_key, "good.test"));
  X509 *early = Revalidate(MakeCert("good.test", leaf_key, ca, ca_key, false, "good.test"), 3600, 7200, ca_key);
  EXPECT_FALSE(ServeChain(cctx, {early}, leaf_key, "good.test"));
  X509 *self = MakeCert("good.test", leaf_key, nullptr, leaf_key, false, "good.test");
  EXPECT_FALSE(ServeChain(cctx, {self}, leaf_key, "good.test"));
  // an IP literal: the text of the address as a DNS name does not vouch for it
  X509 *ip_as_dns = MakeCert("127.0.0.1", leaf_key, ca, ca_key, false, "127.0.0.1");
  EXPECT_FALSE(ServeChain(cctx, {ip_as_dns}, leaf_key, "127.0.0.1"));
  csb_error err;
  for (const char *ip : {"127.0.0.1", "::1"}) {
    csb_tls_leaf *l = csb_tls_leaf_issue(f.ca, ip, &err);
    ASSERT_NE(l, nullptr) << err.msg;
    SSL_CTX *sctx = csb_tls_server_ctx_new(&err);
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    ASSERT_TRUE(csb_tls_leaf_apply(l, s));
    ASSERT_TRUE(csb_tls_client_prepare(c, ip));
    EXPECT_TRUE(Handshake(c, s)) << ip;
    SSL_free(s);
    SSL_free(c);
    s = SSL_new(sctx);
    c = SSL_new(cctx);
    ASSERT_TRUE(csb_tls_leaf_apply(l, s));
    ASSERT_TRUE(csb_tls_client_prepare(c, std::string(ip) == "::1" ? "127.0.0.1" : "::1"));
    EXPECT_FALSE(Handshake(c, s)) << ip;
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sctx);
    csb_tls_leaf_free(l);
  }
  for (X509 *x : {ca, good, expired, early, self, ip_as_dns}) X509_free(x);
  for (EVP_PKEY *k : {ca_key, leaf_key}) EVP_PKEY_free(k);
  SSL_CTX_free(cctx);
}

// A leaf names exactly the host it was issued for, and the cache never
// serves it for another: one entry per (normalised) host string.
TEST(Leaf, CacheNeverServesALeafForAnotherHost) {
  Fixture f;
  csb_error err;
  csb_tls_leaf_cache *c = csb_tls_leaf_cache_new(8);
  const char *hosts[] = {"a.test", "b.test", "127.0.0.1", "::1", "xn--bcher-kva.test"};
  for (int round = 0; round < 2; round++) {
    for (const char *h : hosts) {
      csb_tls_leaf *l = csb_tls_leaf_cache_get(c, f.ca, h, &err);
      ASSERT_NE(l, nullptr) << err.msg;
      bool ip = strchr(h, ':') || (h[0] >= '0' && h[0] <= '9');
      EXPECT_TRUE(LeafVerifies(f.ca, l, h, ip)) << h;
      for (const char *o : hosts) {
        if (strcmp(o, h) == 0) continue;
        bool oip = strchr(o, ':') || (o[0] >= '0' && o[0] <= '9');
        EXPECT_FALSE(LeafVerifies(f.ca, l, o, oip)) << h << " vouches for " << o;
      }
      csb_tls_leaf_free(l);
    }
  }
  uint64_t hits, misses;
  size_t size;
  csb_tls_leaf_cache_stats(c, &hits, &misses, &size);
  EXPECT_EQ(misses, 5u);
  EXPECT_EQ(hits, 5u);
  // names that are not host names, or longer than 253 bytes, get no leaf
  EXPECT_EQ(csb_tls_leaf_cache_get(c, f.ca, "a b.test", &err), nullptr);
  EXPECT_EQ(csb_tls_leaf_cache_get(c, f.ca, std::string(254, 'a').c_str(), &err), nullptr);
  csb_tls_leaf_cache_free(c);
}
