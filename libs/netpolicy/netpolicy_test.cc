// Unit tests for libs/netpolicy.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "cJSON.h"
#include "csb_netpolicy.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_hooks_one(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_connect_one(const uint8_t *data, size_t size);

namespace {

std::string Norm(const char *h) {
  char *s = csb_netpolicy_normalize_host(h);
  std::string r(s);
  free(s);
  return r;
}

bool NonPublic(const char *ip) {
  struct sockaddr_storage ss;
  EXPECT_TRUE(csb_netpolicy_parse_ip(ip, &ss)) << ip;
  return csb_netpolicy_addr_is_non_public(reinterpret_cast<struct sockaddr *>(&ss));
}

struct Policy {
  csb_netpolicy *np = csb_netpolicy_new();
  ~Policy() { csb_netpolicy_free(np); }
  void Allow(const char *p) {
    csb_error err;
    ASSERT_TRUE(csb_netpolicy_add_domain(np, p, 0, &err)) << err.msg;
  }
  void Deny(const char *p) {
    csb_error err;
    ASSERT_TRUE(csb_netpolicy_add_domain(np, p, 1, &err)) << err.msg;
  }
  void Finish() {
    csb_error err;
    ASSERT_TRUE(csb_netpolicy_finish(np, &err)) << err.msg;
  }
  csb_host_eval Eval(const char *host) {
    csb_host_eval ev;
    csb_netpolicy_evaluate_host(np, host, &ev);
    return ev;
  }
  bool Json(const char *text, std::string *msg = nullptr) {
    cJSON *j = cJSON_Parse(text);
    EXPECT_NE(j, nullptr) << text;
    csb_error err;
    csb_error_clear(&err);
    int ok = csb_netpolicy_apply_proxy_json(np, j, "network.proxy", &err);
    if (ok) ok = csb_netpolicy_finish(np, &err);
    cJSON_Delete(j);
    if (msg) *msg = err.msg;
    return ok;
  }
};

TEST(NormalizeHost, UpstreamCases) {
  EXPECT_EQ(Norm("  Example.COM  "), "example.com");
  EXPECT_EQ(Norm("example.com:443"), "example.com");
  EXPECT_EQ(Norm("example.com.:80"), "example.com");
  EXPECT_EQ(Norm("example.com..."), "example.com");
  EXPECT_EQ(Norm("::1"), "::1");
  EXPECT_EQ(Norm("[::1]:443"), "::1");
  EXPECT_EQ(Norm("[fe80::1%25lo0]"), "fe80::1%lo0");
  EXPECT_EQ(Norm("fe80::1%lo0"), "fe80::1%lo0");
  EXPECT_EQ(Norm(""), "");
  EXPECT_EQ(Norm("   "), "");
}

// Normalising twice gives what normalising once gives. One pass of the
// upstream rules did not: `[:]` gave ":", whose ':' then stripped an empty
// port, so csb-resolve wrote the domain pattern ":" that csb-proxy read as
// empty. A result one more pass would change is no host: "".
TEST(NormalizeHost, IsIdempotent) {
  const char *const odd[] = {"[:]", "[a:b]", "[example.com:443]", "[[x]]", "[ x]", "[x. ]",
                             "a :80", "a. :80", "[:]:80", " [ : ] "};
  for (const char *in : odd) {
    EXPECT_EQ(Norm(in), "") << in;
    EXPECT_EQ(Norm(Norm(in).c_str()), Norm(in)) << in;
  }
  const char *const fine[] = {"Example.COM.", "example.com:443", "[::1]:443", "[fe80::1%25lo0]",
                              "[127.0.0.1]:80", "[example.com]", "::1", ":", "", "[]", "[",
                              "x]", "a:b:c", "[::ffff:1.2.3.4].", "%2525"};
  for (const char *in : fine) {
    std::string once = Norm(in);
    EXPECT_EQ(Norm(once.c_str()), once) << in;
  }
  EXPECT_EQ(Norm("[example.com]"), "example.com");
  EXPECT_EQ(Norm("[127.0.0.1]:80"), "127.0.0.1");
  EXPECT_EQ(Norm("a:b:c"), "a:b:c");
  EXPECT_EQ(Norm("[::ffff:1.2.3.4]."), "::ffff:1.2.3.4");
}

// A domain pattern is accepted as it is stored, or refused, whichever of
// the two spellings a document holds.
TEST(NormalizeHost, PatternsReadBackTheSame) {
  struct {
    const char *pattern;
    const char *stored; /* nullptr: refused */
    const char *message;
  } const cases[] = {
      {"[:]", nullptr, "invalid glob pattern: [:]"},
      {"[a:b]", nullptr, "invalid glob pattern: [a:b]"},
      {"a :80", nullptr, "invalid glob pattern: a :80"},
      {":80", nullptr, "invalid domain pattern `:80`: empty host"},
      {"*.Example.com.", "*.example.com", nullptr},
      // The port is dropped (upstream): an allow would then cover every
      // port of the host, which is refused (a deny may cover more).
      {"[::1]:443", nullptr,
       "invalid allowed domain `[::1]:443`: rules cannot name a port (the host would be "
       "allowed on every port); write the host alone to allow all of its ports"},
      {"*.example.com:8080", nullptr,
       "invalid allowed domain `*.example.com:8080`: rules cannot name a port (the host would be "
       "allowed on every port); write the host alone to allow all of its ports"},
  };
  for (const auto &c : cases) {
    csb_netpolicy *np = csb_netpolicy_new();
    csb_error err;
    csb_error_clear(&err);
    int ok = csb_netpolicy_add_domain(np, c.pattern, 0, &err);
    if (c.stored == nullptr) {
      EXPECT_FALSE(ok) << c.pattern;
      EXPECT_STREQ(err.msg, c.message);
    } else {
      ASSERT_TRUE(ok) << c.pattern << ": " << err.msg;
      ASSERT_EQ(np->n_domains, 1u);
      EXPECT_STREQ(np->domains[0].pattern, c.stored);
      csb_netpolicy *again = csb_netpolicy_new();
      ASSERT_TRUE(csb_netpolicy_add_domain(again, np->domains[0].pattern, 0, &err)) << err.msg;
      EXPECT_STREQ(again->domains[0].pattern, c.stored);
      csb_netpolicy_free(again);
    }
    csb_netpolicy_free(np);
  }
  for (const char *denied : {"[::1]:443", "127.0.0.1:9999", "**.example.com.:80"}) {
    csb_netpolicy *np = csb_netpolicy_new();
    csb_error err;
    ASSERT_TRUE(csb_netpolicy_add_domain(np, denied, 1, &err)) << denied << ": " << err.msg;
    csb_netpolicy_free(np);
  }
  // IPv6 literals are not host:port.
  for (const char *allowed : {"2001:db8::10", "::1", "fe80::1%25lo0"}) {
    csb_netpolicy *np = csb_netpolicy_new();
    csb_error err;
    EXPECT_TRUE(csb_netpolicy_add_domain(np, allowed, 0, &err)) << allowed << ": " << err.msg;
    csb_netpolicy_free(np);
  }
  // As hosts, these are refused too (empty), never matched.
  csb_netpolicy *np = csb_netpolicy_new();
  csb_error err;
  ASSERT_TRUE(csb_netpolicy_add_domain(np, "*", 0, &err));
  ASSERT_TRUE(csb_netpolicy_finish(np, &err));
  csb_host_eval ev;
  csb_netpolicy_evaluate_host(np, "[:]", &ev);
  EXPECT_EQ(ev.decision, CSB_HOST_BLOCK);
  EXPECT_EQ(ev.reason, CSB_BLOCK_NOT_ALLOWED);
  EXPECT_STREQ(ev.host, "");
  csb_netpolicy_free(np);
}

TEST(HostValidity, RefusesNumericAndOddNames) {
  EXPECT_TRUE(csb_netpolicy_host_is_valid("example.com"));
  EXPECT_TRUE(csb_netpolicy_host_is_valid("a_b-c.example"));
  EXPECT_TRUE(csb_netpolicy_host_is_valid("127.0.0.1"));
  EXPECT_TRUE(csb_netpolicy_host_is_valid("::ffff:127.0.0.1"));
  EXPECT_TRUE(csb_netpolicy_host_is_valid("fe80::1%lo0"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("2130706433"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("0177.0.0.1"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("0x7f.1"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("127.1"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("allowed.com@evil.com"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("a..b"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("caf\xc3\xa9.com"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid(""));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("a/b"));
  EXPECT_FALSE(csb_netpolicy_host_is_valid("Upper.com"));
}

TEST(Classification, UpstreamTableAndExtensions) {
  const char *non_public[] = {"127.0.0.1",   "10.1.2.3",     "172.16.0.1",     "172.31.255.255",
                              "192.168.1.1", "169.254.169.254", "0.0.0.0",      "100.64.0.1",
                              "100.100.100.200", "192.0.0.8", "192.0.2.1",      "198.18.0.1",
                              "198.51.100.2", "203.0.113.9",  "224.0.0.1",      "255.255.255.255",
                              "240.0.0.1",   "168.63.129.16", "::1",            "::",
                              "ff02::1",     "fc00::1",      "fd00:ec2::254",  "fe80::1",
                              "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1",
                              "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "::127.0.0.1", "2001::1",
                              "64:ff9b:1::1", "fec0::1"};
  for (const char *ip : non_public) EXPECT_TRUE(NonPublic(ip)) << ip;
  const char *pub[] = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111",
                       "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::", "2001:db8::1",
                       "192.169.0.1", "11.0.0.1"};
  for (const char *ip : pub) EXPECT_FALSE(NonPublic(ip)) << ip;
}

TEST(Patterns, WildcardForms) {
  EXPECT_TRUE(csb_netpolicy_pattern_matches("*.openai.com", "api.openai.com"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("*.openai.com", "a.b.openai.com"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("*.openai.com", "openai.com"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("*.openai.com", "evilopenai.com"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("**.openai.com", "openai.com"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("**.openai.com", "x.openai.com"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("**.openai.com", "evilopenai.com"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("openai.com", "api.openai.com"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("*", "anything.example"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("region*.v2.argotunnel.com", "region1.v2.argotunnel.com"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("region*.v2.argotunnel.com", "region.v2.argotunnel.com"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("region*.v2.argotunnel.com", "xregion1.v2.argotunnel.com"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("region*.v2.argotunnel.com", "a.region1.v2.argotunnel.com"));
  /* `*` matches dots too, as upstream's globs do */
  EXPECT_TRUE(csb_netpolicy_pattern_matches("region*.v2.argotunnel.com", "region1.x.v2.argotunnel.com"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("a?c.test", "abc.test"));
  EXPECT_TRUE(csb_netpolicy_pattern_matches("[ab]x.test", "bx.test"));
  EXPECT_FALSE(csb_netpolicy_pattern_matches("[ab]x.test", "cx.test"));
}

TEST(Patterns, CompileRules) {
  Policy p;
  csb_error err;
  EXPECT_FALSE(csb_netpolicy_add_domain(p.np, "*", 1, &err));
  EXPECT_NE(std::string(err.msg).find("global wildcard"), std::string::npos);
  EXPECT_FALSE(csb_netpolicy_add_domain(p.np, "[*]", 1, &err));
  EXPECT_FALSE(csb_netpolicy_add_domain(p.np, "**.[*]", 1, &err));
  EXPECT_TRUE(csb_netpolicy_add_domain(p.np, "*", 0, &err));
  EXPECT_FALSE(csb_netpolicy_add_domain(p.np, "[", 0, &err));
  EXPECT_NE(std::string(err.msg).find("invalid glob pattern"), std::string::npos);
  EXPECT_TRUE(csb_netpolicy_add_domain(p.np, "Example.COM.", 0, &err));
  EXPECT_TRUE(csb_netpolicy_add_domain(p.np, "example.com", 0, &err));
  EXPECT_EQ(p.np->n_domains, 2u);  // "*" and "example.com" (deduplicated)
  EXPECT_TRUE(csb_netpolicy_add_domain(p.np, "example.com", 1, &err));
  EXPECT_EQ(p.np->n_domains, 2u);
  EXPECT_EQ(p.np->domains[1].deny, 1);  // deny wins on the same pattern
}

// A domains object adds its rules as csb_netpolicy_add_domain one by one
// would: a pattern already listed (or listed earlier in the object) keeps
// its place and gains a deny, new ones follow in order, and the rules
// before an invalid one are kept.
TEST(Json, DomainsMergeInOrder) {
  Policy p;
  p.Allow("b.test");
  p.Deny("c.test");
  std::string msg;
  ASSERT_TRUE(p.Json(R"({"domains":{"z.test":"allow","B.test.":"deny","a.test":"allow","c.test":"allow",
      "Z.TEST":"allow","a.test.":"deny","y.test":"allow"}})", &msg)) << msg;
  std::vector<std::string> got;
  for (size_t i = 0; i < p.np->n_domains; i++)
    got.push_back(std::string(p.np->domains[i].pattern) + (p.np->domains[i].deny ? "=deny" : "=allow"));
  EXPECT_EQ(got, (std::vector<std::string>{"b.test=deny", "c.test=deny", "z.test=allow", "a.test=deny",
                                            "y.test=allow"}));
  EXPECT_FALSE(p.Json(R"({"domains":{"x.test":"allow","b.test":"deny","*":"deny","w.test":"allow"}})", &msg));
  EXPECT_NE(msg.find("global wildcard"), std::string::npos) << msg;
  ASSERT_EQ(p.np->n_domains, 6u);
  EXPECT_STREQ(p.np->domains[5].pattern, "x.test");
}

// unix_sockets: each path ends as the last entry for it left it, the list
// stays sorted, and the entries before an invalid one are applied.
TEST(Json, UnixSocketsLastEntryWins) {
  Policy p;
  csb_error err;
  ASSERT_TRUE(csb_netpolicy_set_unix_socket(p.np, "/run/old.sock", 1, &err));
  ASSERT_TRUE(csb_netpolicy_set_unix_socket(p.np, "/run/gone.sock", 1, &err));
  const char *paths[] = {"/run/z.sock", "/run/gone.sock", "/run/a.sock", "/run/z.sock", "/run/a.sock",
                         "/run/z.sock"};
  const int allow[] = {1, 0, 1, 0, 0, 1};
  ASSERT_TRUE(csb_netpolicy_set_unix_sockets(p.np, paths, allow, 6, &err)) << err.msg;
  std::vector<std::string> got(p.np->unix_sockets.items, p.np->unix_sockets.items + p.np->unix_sockets.len);
  EXPECT_EQ(got, (std::vector<std::string>{"/run/old.sock", "/run/z.sock"}));
  const char *bad[] = {"/run/b.sock", "rel.sock", "/run/c.sock"};
  const int yes[] = {1, 1, 1};
  EXPECT_FALSE(csb_netpolicy_set_unix_sockets(p.np, bad, yes, 3, &err));
  EXPECT_STREQ(err.msg, "unix socket path `rel.sock` must be absolute");
  got.assign(p.np->unix_sockets.items, p.np->unix_sockets.items + p.np->unix_sockets.len);
  EXPECT_EQ(got, (std::vector<std::string>{"/run/b.sock", "/run/old.sock", "/run/z.sock"}));
  cJSON *j = cJSON_Parse(R"({"unix_sockets":{"/run/d.sock":"allow","/run/z.sock":"maybe","/run/e.sock":"allow"}})");
  EXPECT_FALSE(csb_netpolicy_apply_config_json(p.np, j, nullptr, &err));
  cJSON_Delete(j);
  EXPECT_STREQ(err.msg, "config.unix_sockets.\"/run/z.sock\": expected \"allow\" or \"deny\"");
  EXPECT_TRUE(csb_netpolicy_unix_socket_allowed(p.np, "/run/d.sock"));
  EXPECT_FALSE(csb_netpolicy_unix_socket_allowed(p.np, "/run/e.sock"));
}

TEST(Evaluate, DenyWinsAndAllowlistRequired) {
  Policy p;
  p.Allow("**.example.com");
  p.Deny("bad.example.com");
  p.np->allow_local_binding = 1;
  p.Finish();
  EXPECT_EQ(p.Eval("www.example.com").decision, CSB_HOST_ALLOW);
  EXPECT_EQ(p.Eval("example.com").decision, CSB_HOST_ALLOW);
  auto d = p.Eval("BAD.example.com.");
  EXPECT_EQ(d.decision, CSB_HOST_BLOCK);
  EXPECT_EQ(d.reason, CSB_BLOCK_DENIED);
  auto n = p.Eval("other.org");
  EXPECT_EQ(n.decision, CSB_HOST_ASK);
  EXPECT_EQ(n.reason, CSB_BLOCK_NOT_ALLOWED);
  EXPECT_EQ(p.Eval("8.8.8.8").decision, CSB_HOST_ASK);  // public literal needs the allowlist
  auto e = p.Eval("");
  EXPECT_EQ(e.decision, CSB_HOST_BLOCK);
  EXPECT_EQ(e.reason, CSB_BLOCK_NOT_ALLOWED);
  EXPECT_EQ(p.Eval("2130706433").decision, CSB_HOST_BLOCK);
}

TEST(Evaluate, GlobalWildcardExceptDenied) {
  Policy p;
  p.Allow("*");
  p.Deny("evil.example");
  p.Finish();
  auto a = p.Eval("anything.example");
  EXPECT_EQ(a.decision, CSB_HOST_ALLOW);
  EXPECT_TRUE(a.need_dns_guard);
  EXPECT_EQ(p.Eval("evil.example").reason, CSB_BLOCK_DENIED);
  // "*" does not make local literals reachable
  EXPECT_EQ(p.Eval("localhost").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
  EXPECT_EQ(p.Eval("127.0.0.1").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
}

TEST(Evaluate, LocalLiterals) {
  Policy p;
  p.Finish();
  EXPECT_EQ(p.Eval("127.0.0.1").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);  // empty allowlist
  EXPECT_EQ(p.Eval("localhost.").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
  EXPECT_EQ(p.Eval("10.0.0.1").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
  EXPECT_EQ(p.Eval("[::ffff:127.0.0.1]").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
  EXPECT_EQ(p.Eval("[64:ff9b::7f00:1]:80").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);

  Policy q;
  q.Allow("127.0.0.1");
  q.Allow("localhost");
  q.Allow("fe80::1%lo0");
  q.Allow("*.internal");
  q.Finish();
  auto a = q.Eval("127.0.0.1:8080");
  EXPECT_EQ(a.decision, CSB_HOST_ALLOW);
  EXPECT_TRUE(a.local_literal_allowed);
  struct sockaddr_in lo = {};
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_TRUE(csb_netpolicy_connect_allowed(q.np, &a, reinterpret_cast<struct sockaddr *>(&lo)));
  struct sockaddr_in lo2 = lo;
  lo2.sin_addr.s_addr = htonl(0x7f000002);
  EXPECT_FALSE(csb_netpolicy_connect_allowed(q.np, &a, reinterpret_cast<struct sockaddr *>(&lo2)));
  EXPECT_EQ(q.Eval("localhost").decision, CSB_HOST_ALLOW);
  EXPECT_EQ(q.Eval("127.0.0.2").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
  EXPECT_EQ(q.Eval("[fe80::1%25lo0]").decision, CSB_HOST_ALLOW);
  EXPECT_EQ(q.Eval("fe80::1%eth0").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
  // a wildcard never allow-lists a local literal
  EXPECT_EQ(q.Eval("10.0.0.5").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
}

TEST(Evaluate, ScopedDeny) {
  Policy p;
  p.Allow("*");
  p.Deny("fe80::1%lo0");
  p.Finish();
  EXPECT_EQ(p.Eval("fe80::1%lo0").reason, CSB_BLOCK_DENIED);
  EXPECT_EQ(p.Eval("[fe80::1%lo0]").reason, CSB_BLOCK_DENIED);
  EXPECT_EQ(p.Eval("[fe80::1%25lo0]").reason, CSB_BLOCK_DENIED);
  EXPECT_EQ(p.Eval("fe80::1").reason, CSB_BLOCK_NOT_ALLOWED_LOCAL);
}

TEST(Evaluate, IpLiteralsMatchWhateverTheSpelling) {
  // the same address written differently must not slip past a deny entry
  Policy p;
  p.Allow("*");
  p.Deny("93.184.216.34");
  p.Deny("2001:db8::5");
  p.Deny("198.51.*");
  p.Deny("::ffff:203.0.113.9");
  p.Deny("2001:0DB8:0::0007");
  p.np->allow_local_binding = 1;
  p.Finish();
  for (const char *h : {"93.184.216.34", "[::ffff:93.184.216.34]", "::ffff:5db8:d822", "[0:0:0:0:0:ffff:93.184.216.34]",
                        "[64:ff9b::93.184.216.34]", "[2001:db8::5]", "[2001:0db8::5]", "2001:db8:0:0:0:0:0:5",
                        "[2001:DB8::0005]", "[2001:db8::5%25eth0]", "[::ffff:198.51.100.7]", "203.0.113.9",
                        "[2001:db8::7]"})
    EXPECT_EQ(p.Eval(h).reason, CSB_BLOCK_DENIED) << h;
  EXPECT_EQ(p.Eval("[::ffff:93.184.216.35]").decision, CSB_HOST_ALLOW);
  EXPECT_EQ(p.Eval("[2001:db8::6]").decision, CSB_HOST_ALLOW);

  Policy q;
  q.Allow("93.184.216.34");
  q.Allow("2001:0db8::5");
  q.Finish();
  EXPECT_EQ(q.Eval("[::ffff:93.184.216.34]").decision, CSB_HOST_ALLOW);
  EXPECT_EQ(q.Eval("[2001:db8:0::5]").decision, CSB_HOST_ALLOW);
  EXPECT_EQ(q.Eval("[2001:db8::6]").decision, CSB_HOST_ASK);
}

TEST(Evaluate, ConnectGuard) {
  Policy p;
  p.Allow("*");
  p.Finish();
  auto ev = p.Eval("rebind.example");
  EXPECT_TRUE(ev.need_dns_guard);
  struct sockaddr_storage ss;
  ASSERT_TRUE(csb_netpolicy_parse_ip("127.0.0.1", &ss));
  EXPECT_FALSE(csb_netpolicy_connect_allowed(p.np, &ev, reinterpret_cast<struct sockaddr *>(&ss)));
  ASSERT_TRUE(csb_netpolicy_parse_ip("::ffff:169.254.169.254", &ss));
  EXPECT_FALSE(csb_netpolicy_connect_allowed(p.np, &ev, reinterpret_cast<struct sockaddr *>(&ss)));
  ASSERT_TRUE(csb_netpolicy_parse_ip("93.184.216.34", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed(p.np, &ev, reinterpret_cast<struct sockaddr *>(&ss)));
  p.np->allow_local_binding = 1;
  ASSERT_TRUE(csb_netpolicy_parse_ip("127.0.0.1", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed(p.np, nullptr, reinterpret_cast<struct sockaddr *>(&ss)));
}

TEST(Evaluate, ConnectGuardForExactlyAllowListedLocalHosts) {
  // An exactly allow-listed "localhost" reaches loopback answers only; an
  // exactly allow-listed private literal reaches that address only.
  Policy p;
  p.Allow("localhost");
  p.Allow("10.0.0.5");
  p.Finish();
  auto lh = p.Eval("localhost");
  ASSERT_EQ(lh.decision, CSB_HOST_ALLOW);
  EXPECT_TRUE(lh.local_literal_allowed);
  struct sockaddr_storage ss;
  auto sa = reinterpret_cast<struct sockaddr *>(&ss);
  ASSERT_TRUE(csb_netpolicy_parse_ip("127.0.0.1", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed(p.np, &lh, sa));
  ASSERT_TRUE(csb_netpolicy_parse_ip("::1", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed(p.np, &lh, sa));
  for (const char *a : {"10.0.0.5", "169.254.169.254", "192.168.1.1", "::ffff:10.0.0.5", "fd00::1"}) {
    ASSERT_TRUE(csb_netpolicy_parse_ip(a, &ss)) << a;
    EXPECT_FALSE(csb_netpolicy_connect_allowed(p.np, &lh, sa)) << a;
  }
  auto ip = p.Eval("10.0.0.5");
  ASSERT_EQ(ip.decision, CSB_HOST_ALLOW);
  ASSERT_TRUE(csb_netpolicy_parse_ip("10.0.0.5", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed(p.np, &ip, sa));
  for (const char *a : {"10.0.0.6", "127.0.0.1"}) {
    ASSERT_TRUE(csb_netpolicy_parse_ip(a, &ss)) << a;
    EXPECT_FALSE(csb_netpolicy_connect_allowed(p.np, &ip, sa)) << a;
  }
}

TEST(Evaluate, ConnectGuardForAddressesOfThisHost) {
  // An address of one of this host's interfaces reaches its services as
  // loopback does: local whatever its range, reachable only as the exactly
  // allow-listed literal itself (or with allow_local_binding).
  Policy p;
  p.Allow("*");
  p.Allow("2001:db8::10");
  p.Allow("localhost");
  p.Allow("127.0.0.1");
  p.Finish();
  struct sockaddr_storage ss;
  auto sa = reinterpret_cast<struct sockaddr *>(&ss);
  auto name = p.Eval("pub.example");
  for (const char *a : {"93.184.216.34", "2001:db8::10", "::ffff:93.184.216.34"}) {
    ASSERT_TRUE(csb_netpolicy_parse_ip(a, &ss)) << a;
    EXPECT_TRUE(csb_netpolicy_connect_allowed_on(p.np, &name, sa, 0)) << a;
    EXPECT_FALSE(csb_netpolicy_connect_allowed_on(p.np, &name, sa, 1)) << a;
    EXPECT_FALSE(csb_netpolicy_connect_allowed_on(p.np, nullptr, sa, 1)) << a;
  }
  auto lit = p.Eval("93.184.216.34");  // allowed by "*" only
  EXPECT_EQ(lit.decision, CSB_HOST_ALLOW);
  EXPECT_FALSE(lit.exact_literal);
  ASSERT_TRUE(csb_netpolicy_parse_ip("93.184.216.34", &ss));
  EXPECT_FALSE(csb_netpolicy_connect_allowed_on(p.np, &lit, sa, 1));
  auto exact = p.Eval("[2001:0db8::10]");  // an exact entry, however spelt
  EXPECT_TRUE(exact.exact_literal);
  EXPECT_FALSE(exact.local_literal_allowed);  // public: no local exception needed by range
  ASSERT_TRUE(csb_netpolicy_parse_ip("2001:db8::10", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed_on(p.np, &exact, sa, 1));
  ASSERT_TRUE(csb_netpolicy_parse_ip("2001:db8::11", &ss));
  EXPECT_FALSE(csb_netpolicy_connect_allowed_on(p.np, &exact, sa, 1));
  // non-public addresses of this host keep the rules of their range
  auto lh = p.Eval("localhost");
  ASSERT_TRUE(csb_netpolicy_parse_ip("127.0.0.1", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed_on(p.np, &lh, sa, 1));
  EXPECT_FALSE(csb_netpolicy_connect_allowed_on(p.np, &name, sa, 1));
  auto lo = p.Eval("127.0.0.1");
  EXPECT_TRUE(lo.exact_literal);
  EXPECT_TRUE(csb_netpolicy_connect_allowed_on(p.np, &lo, sa, 1));
  p.np->allow_local_binding = 1;
  ASSERT_TRUE(csb_netpolicy_parse_ip("93.184.216.34", &ss));
  EXPECT_TRUE(csb_netpolicy_connect_allowed_on(p.np, &name, sa, 1));
}

TEST(Methods, LimitedMode) {
  EXPECT_TRUE(csb_netmode_allows_method(CSB_NETMODE_FULL, "POST"));
  EXPECT_TRUE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, "GET"));
  EXPECT_TRUE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, "HEAD"));
  EXPECT_TRUE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, "OPTIONS"));
  EXPECT_FALSE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, "get"));
  EXPECT_FALSE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, "POST"));
  EXPECT_FALSE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, "CONNECT"));
  // Whole tokens only: a method that starts like an allowed one is another.
  for (const char *m : {"GETX", "GET ", "HEADX", "OPTIONSX", "GE", "HEA", "OPTION", ""})
    EXPECT_FALSE(csb_netmode_allows_method(CSB_NETMODE_LIMITED, m)) << '"' << m << '"';
}

TEST(Methods, RequestBodiesOnlyInFullMode) {
  EXPECT_TRUE(csb_netmode_allows_request_body(CSB_NETMODE_FULL));
  EXPECT_FALSE(csb_netmode_allows_request_body(CSB_NETMODE_LIMITED));
}

TEST(Reasons, Texts) {
  EXPECT_STREQ(csb_block_reason_name(CSB_BLOCK_NOT_ALLOWED_LOCAL), "not_allowed_local");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_NOT_ALLOWED_LOCAL), "blocked-by-allowlist");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_DENIED), "blocked-by-denylist");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_METHOD_NOT_ALLOWED), "blocked-by-method-policy");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_MITM_HOOK_DENIED), "blocked-by-mitm-hook");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_MITM_REQUIRED), "blocked-by-mitm-required");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_PROXY_DISABLED), "blocked-by-policy");
  EXPECT_STREQ(csb_block_message(CSB_BLOCK_NOT_ALLOWED), "Domain not in allowlist.");
  EXPECT_STREQ(csb_block_message(CSB_BLOCK_POLICY_DENIED), "Request blocked by network policy.");
  // a body refused in limited mode is reported as a refused method, with its own message
  EXPECT_STREQ(csb_block_reason_name(CSB_BLOCK_BODY_NOT_ALLOWED), "method_not_allowed");
  EXPECT_STREQ(csb_block_header_value(CSB_BLOCK_BODY_NOT_ALLOWED), "blocked-by-method-policy");
  EXPECT_STREQ(csb_block_message(CSB_BLOCK_METHOD_NOT_ALLOWED), "Method not allowed in limited mode.");
  EXPECT_STREQ(csb_block_message(CSB_BLOCK_BODY_NOT_ALLOWED), "Request body not allowed in limited mode.");
}

TEST(Json, FullDocument) {
  Policy p;
  std::string msg;
  ASSERT_TRUE(p.Json(R"({"proxy_url":"http://127.0.0.1:1","socks_url":"127.0.0.1:2",
    "enable_socks5":false,"enable_socks5_udp":false,"allow_upstream_proxy":false,
    "dangerously_allow_non_loopback_proxy":true,"mode":"limited",
    "domains":{"*.openai.com":"allow","evil.example":"deny"},
    "mitm":{"hooks":{"gh":{"host":"API.github.com","methods":["post","PUT"],
       "path_prefixes":["/repos/openai/"],"action":["strip"]}},
       "actions":{"strip":{"strip_request_headers":["Authorization"]}}}})",
                     &msg))
      << msg;
  EXPECT_EQ(p.np->mode, CSB_NETMODE_LIMITED);
  EXPECT_EQ(p.np->enable_socks5, 0);
  EXPECT_EQ(p.np->allow_upstream_proxy, 0);
  EXPECT_EQ(p.np->mitm, 1);
  ASSERT_EQ(p.np->n_hooks, 1u);
  EXPECT_STREQ(p.np->hooks[0].host, "api.github.com");
  EXPECT_STREQ(p.np->hooks[0].methods.items[0], "POST");
  EXPECT_STREQ(p.np->actions[0].strip_request_headers.items[0], "authorization");
}

TEST(Json, Errors) {
  struct Case {
    const char *doc;
    const char *want;
  } cases[] = {
      {R"({"bogus":1})", "unknown field `bogus`"},
      {R"({"mode":"fast"})", "network.proxy.mode: expected one of full, limited"},
      {R"({"enable_socks5":"yes"})", "network.proxy.enable_socks5: expected boolean"},
      {R"({"domains":{"a.com":"maybe"}})", "expected \"allow\" or \"deny\""},
      {R"({"domains":{"*":"deny"}})", "global wildcard"},
      {R"({"domains":[]})", "network.proxy.domains: expected object"},
      {R"({"mitm":true})", "network.proxy.mitm: expected object"},
      {R"({"mitm":{"actions":{"a":{}}}})", "network.mitm.actions.a must define at least one operation"},
      {R"({"mitm":{"hooks":{"h":{"host":"x.com","methods":["GET"],"path_prefixes":["/"],"action":[]}}}})",
       "network.mitm.hooks.h.action must not be empty"},
      {R"({"mitm":{"hooks":{"h":{"host":"","methods":["GET"],"path_prefixes":["/"],"action":["a"]}},
          "actions":{"a":{"strip_request_headers":["x"]}}}})",
       "network.mitm.hooks.h.host must not be empty"},
      {R"({"mitm":{"hooks":{"h":{"host":"x.com","methods":[],"path_prefixes":["/"],"action":["a"]}},
          "actions":{"a":{"strip_request_headers":["x"]}}}})",
       "methods must not be empty"},
      {R"({"mitm":{"hooks":{"h":{"host":"x.com","methods":["GET"],"path_prefixes":["/"],"action":["nope"]}}}})",
       "network.mitm.hooks.h.action references undefined action `nope`"},
      {R"({"mitm":{"hooks":{"h":{"host":"x.com","methods":["GET"],"path_prefixes":["/"],"body":{},"action":["a"]}},
          "actions":{"a":{"strip_request_headers":["x"]}}}})",
       "reserved for a future release"},
      {R"({"mitm":{"hooks":{"h":{"host":"b\u00fccher.example","methods":["GET"],"path_prefixes":["/"],
          "action":["a"]}},"actions":{"a":{"strip_request_headers":["x"]}}}})",
       "network.mitm.hooks.h.host: `b\xc3\xbc" "cher.example` is not ASCII; clients send the IDNA form"},
      {R"({"mitm":{"hooks":{"h":{"host":"*.github.com","methods":["GET"],"path_prefixes":["/"],"action":["a"]}},
          "actions":{"a":{"strip_request_headers":["x"]}}}})",
       "network.mitm.hooks.h.host: `*.github.com` is not a host name or IP literal"},
      {R"({"mitm":{"hooks":{"h":{"host":"0x7f.1","methods":["GET"],"path_prefixes":["/"],"action":["a"]}},
          "actions":{"a":{"strip_request_headers":["x"]}}}})",
       "network.mitm.hooks.h.host: `0x7f.1` is not a host name or IP literal"},
      {R"({"mitm":{"actions":{"a":{"inject_request_headers":[{"name":"x"}]}}}})",
       "expected exactly one of secret_env_var or secret_file"},
      {R"({"mitm":{"actions":{"a":{"inject_request_headers":[{"name":"x","secret_env_var":"CSB_TEST_SURELY_UNSET_VAR"}]}}}})",
       "missing required environment variable CSB_TEST_SURELY_UNSET_VAR"},
      // the proxy writes "NAME: PREFIXSECRET\r\n": neither may end the line or the name
      {R"({"mitm":{"actions":{"a":{"inject_request_headers":[{"name":"x-a: 1\r\nx-b",
          "secret_env_var":"CSB_TEST_SURELY_UNSET_VAR"}]}}}})",
       "mitm.actions.a.inject_request_headers[0].name: not a header name"},
      {R"({"mitm":{"actions":{"a":{"inject_request_headers":[{"name":"x a",
          "secret_env_var":"CSB_TEST_SURELY_UNSET_VAR"}]}}}})",
       "mitm.actions.a.inject_request_headers[0].name: not a header name"},
      {R"({"mitm":{"actions":{"a":{"inject_request_headers":[{"name":"x","prefix":"Bearer\r\nx-b: 1\r\n",
          "secret_env_var":"CSB_TEST_SURELY_UNSET_VAR"}]}}}})",
       "mitm.actions.a.inject_request_headers[0].prefix: a control character"},
  };
  for (const auto &c : cases) {
    Policy p;
    std::string msg;
    EXPECT_FALSE(p.Json(c.doc, &msg)) << c.doc;
    EXPECT_NE(msg.find(c.want), std::string::npos) << c.doc << " -> " << msg;
  }
}

TEST(Json, ConfigKeys) {
  Policy p;
  cJSON *j = cJSON_Parse(R"({"allow_local_binding":true,"unix_sockets":{"/run/a.sock":"allow","/run/b.sock":"deny"},
      "limits":{"x":1},"enabled":false})");
  const char *skip[] = {"limits", nullptr};
  csb_error err;
  ASSERT_TRUE(csb_netpolicy_apply_config_json(p.np, j, skip, &err)) << err.msg;
  EXPECT_EQ(p.np->allow_local_binding, 1);
  EXPECT_EQ(p.np->enabled, 0);
  EXPECT_TRUE(csb_netpolicy_unix_socket_allowed(p.np, "/run/a.sock"));
  EXPECT_FALSE(csb_netpolicy_unix_socket_allowed(p.np, "/run/b.sock"));
  EXPECT_FALSE(csb_netpolicy_unix_socket_allowed(p.np, "relative.sock"));
  cJSON_Delete(j);
  j = cJSON_Parse(R"({"unix_sockets":{"rel.sock":"allow"}})");
  EXPECT_FALSE(csb_netpolicy_apply_config_json(p.np, j, nullptr, &err));
  EXPECT_NE(std::string(err.msg).find("must be absolute"), std::string::npos);
  cJSON_Delete(j);
  p.np->dangerously_allow_all_unix_sockets = 1;
  EXPECT_TRUE(csb_netpolicy_unix_socket_allowed(p.np, "/any/thing.sock"));
  EXPECT_FALSE(csb_netpolicy_unix_socket_allowed(p.np, "relative.sock"));
}

TEST(Hooks, Matching) {
  Policy p;
  std::string msg;
  ASSERT_TRUE(p.Json(R"({"mitm":{"hooks":{
      "a":{"host":"api.github.com","methods":["POST"],"path_prefixes":["/repos/openai/"],"action":["s"]},
      "b":{"host":"api.github.com","methods":["GET"],"path_prefixes":["pattern:/v*/items/**"],
           "query":{"x":["1","2","a b","c+d"]},"headers":{"X-Kind":["k"]},"action":["s"]}},
      "actions":{"s":{"strip_request_headers":["authorization"]}}}})",
                     &msg))
      << msg;
  const csb_netpolicy_hook *h = nullptr;
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "other.com", "GET", "/", nullptr, 0, &h), CSB_HOOK_NONE_FOR_HOST);
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "post", "/repos/openai/x?y", nullptr, 0, &h),
            CSB_HOOK_MATCHED);
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->name, "a");
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "POST", "/repos/other/x", nullptr, 0, &h),
            CSB_HOOK_HOST_NO_MATCH);
  csb_hook_header hdr[] = {{"x-kind", 6, "k", 1}};
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a/b?x=2", hdr, 1, &h),
            CSB_HOOK_MATCHED);
  EXPECT_STREQ(h->name, "b");
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a/b?x=3", hdr, 1, &h),
            CSB_HOOK_HOST_NO_MATCH);
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a/b?x=1", nullptr, 0, &h),
            CSB_HOOK_HOST_NO_MATCH);
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/x/items/a?x=1", hdr, 1, &h),
            CSB_HOOK_HOST_NO_MATCH);
  EXPECT_TRUE(csb_netpolicy_host_has_hooks(p.np, "api.github.com"));
  // a path the origin could resolve elsewhere matches no hook
  for (const char *t : {"/repos/openai/../../orgs/x", "/repos/openai/%2e%2E/x", "/repos/openai/./x",
                        "/repos/openai/.%2e", "/repos/openai/x%2f..%2fy", "/repos/openai/x%5Cy",
                        "/repos/openai/x\\y", "/repos/openai/..;/..;/orgs/x", "/repos/openai/.;x/y",
                        "/repos/openai/%2e%2E;p=1/x"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "POST", t, nullptr, 0, &h), CSB_HOOK_HOST_NO_MATCH)
        << t;
  for (const char *t : {"/repos/openai/...", "/repos/openai/.x", "/repos/openai/x..", "/repos/openai/a.b?p=../x",
                        "/repos/openai/x;..", "/repos/openai/...;x"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "POST", t, nullptr, 0, &h), CSB_HOOK_MATCHED) << t;
  // every occurrence of a constrained query parameter or header must be accepted
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a?x=1&x=9", hdr, 1, &h),
            CSB_HOOK_HOST_NO_MATCH);
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a?x=1&x=2&y=9", hdr, 1, &h),
            CSB_HOOK_MATCHED);
  csb_hook_header two[] = {{"X-Kind", 6, "k", 1}, {"x-kind", 6, "other", 5}};
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a?x=1", two, 2, &h),
            CSB_HOOK_HOST_NO_MATCH);
  // a value is accepted whole: an encoded NUL does not end it ("1\0" + "9" is not "1")
  for (const char *t : {"/v2/items/a?x=1%009", "/v2/items/a?x=1%00", "/v2/items/a?x=%001"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_HOST_NO_MATCH)
        << t;
  // ';' separates parameters for some origins (Rack 2, Python before 3.9.2): both readings must pass
  for (const char *t : {"/v2/items/a?x=1;x=9", "/v2/items/a?x=1&y=2;x=9", "/v2/items/a?y=2;x=1&x=1;x=9",
                        "/v2/items/a?x=1;y=2"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_HOST_NO_MATCH)
        << t;
  for (const char *t : {"/v2/items/a?y=1;z=2&x=1", "/v2/items/a?x=2&y=a;b", "/v2/items/a?x=1&y=2;z"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_MATCHED) << t;
  // '+' is a space in form encoding (PHP, Rack, parse_qs) but itself to origins that
  // decode the query as a URI component: both readings must be accepted values
  for (const char *t : {"/v2/items/a?x=a+b", "/v2/items/a?x=c+d", "/v2/items/a?x=1+", "/v2/items/a?x+=1"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_HOST_NO_MATCH)
        << t;
  for (const char *t : {"/v2/items/a?x=a%20b", "/v2/items/a?x=c%2Bd", "/v2/items/a?x=c%2bd"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_MATCHED) << t;
  // other spellings of the name that origins read as x: case (ASP.NET), arrays, PHP's '.'/' '/'[' as '_'
  for (const char *t : {"/v2/items/a?x=1&X=9", "/v2/items/a?x=1&x[]=9", "/v2/items/a?x=1&x%5B0%5D=9",
                        "/v2/items/a?x=1&%20x=9", "/v2/items/a?x=1&x%00y=9"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_HOST_NO_MATCH)
        << t;
  for (const char *t : {"/v2/items/a?X=1", "/v2/items/a?x[]=2", "/v2/items/a?x=1&xx=9&[x]=9&y[x]=9"})
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", t, hdr, 1, &h), CSB_HOOK_MATCHED) << t;
  // X_Kind is X-Kind to origins that map names to variables (CGI, WSGI): another occurrence
  csb_hook_header under[] = {{"X-Kind", 6, "k", 1}, {"X_Kind", 6, "other", 5}};
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a?x=1", under, 2, &h),
            CSB_HOOK_HOST_NO_MATCH);
  csb_hook_header under_ok[] = {{"x_kind", 6, "k", 1}};
  EXPECT_EQ(csb_netpolicy_match_hooks(p.np, "api.github.com", "GET", "/v2/items/a?x=1", under_ok, 1, &h),
            CSB_HOOK_MATCHED);
  EXPECT_TRUE(csb_netpolicy_hook_header_is("X_API-key", 9, "x-api-key"));
  EXPECT_TRUE(csb_netpolicy_hook_header_is("x-api-key", 9, "X_Api_Key"));
  EXPECT_FALSE(csb_netpolicy_hook_header_is("x-api-keys", 10, "x-api-key"));
  EXPECT_FALSE(csb_netpolicy_hook_header_is("x.api-key", 9, "x-api-key"));
}

// A hook finds its host however a request spells it: the normalisation of
// CONNECT hosts (case, trailing dots, ports), and for IP literals every
// spelling of the address (canonical IPv6, IPv4-mapped, NAT64, scoped).
TEST(Hooks, HostSpellings) {
  Policy p;
  std::string msg;
  ASSERT_TRUE(p.Json(R"({"mitm":{"hooks":{
      "n":{"host":"API.GitHub.com.","methods":["GET"],"path_prefixes":["/"],"action":["s"]},
      "v4":{"host":"[::FFFF:203.0.113.7]:443","methods":["GET"],"path_prefixes":["/"],"action":["s"]},
      "v6":{"host":"2001:0DB8:0:0::5","methods":["GET"],"path_prefixes":["/"],"action":["s"]}},
      "actions":{"s":{"strip_request_headers":["authorization"]}}}})",
                     &msg))
      << msg;
  EXPECT_STREQ(p.np->hooks[0].host, "api.github.com");
  EXPECT_STREQ(p.np->hooks[1].host, "203.0.113.7");
  EXPECT_STREQ(p.np->hooks[2].host, "2001:db8::5");
  for (const char *in : {"api.github.com", "API.GITHUB.COM", "api.github.com.", "api.github.com:443",
                         "Api.GitHub.Com..:8443"}) {
    char *host = csb_netpolicy_normalize_host(in);
    EXPECT_TRUE(csb_netpolicy_host_has_hooks(p.np, host)) << in;
    const csb_netpolicy_hook *h = nullptr;
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, host, "POST", "/", nullptr, 0, &h), CSB_HOOK_HOST_NO_MATCH) << in;
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, host, "GET", "/", nullptr, 0, &h), CSB_HOOK_MATCHED) << in;
    EXPECT_STREQ(h ? h->name : "", "n") << in;
    free(host);
  }
  for (const char *in : {"203.0.113.7", "[::ffff:203.0.113.7]:443", "[::ffff:cb00:7107]", "[64:ff9b::cb00:7107]",
                         "[0:0:0:0:0:ffff:203.0.113.7]"}) {
    char *host = csb_netpolicy_normalize_host(in);
    const csb_netpolicy_hook *h = nullptr;
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, host, "GET", "/", nullptr, 0, &h), CSB_HOOK_MATCHED) << in;
    EXPECT_STREQ(h ? h->name : "", "v4") << in;
    free(host);
  }
  for (const char *in : {"[2001:db8::5]", "[2001:DB8:0000::0005]:443", "[2001:db8::5%25eth0]"}) {
    char *host = csb_netpolicy_normalize_host(in);
    const csb_netpolicy_hook *h = nullptr;
    EXPECT_EQ(csb_netpolicy_match_hooks(p.np, host, "GET", "/", nullptr, 0, &h), CSB_HOOK_MATCHED) << in;
    EXPECT_STREQ(h ? h->name : "", "v6") << in;
    free(host);
  }
  // other names and addresses are not hooked
  for (const char *in : {"api.github.com.evil", "xapi.github.com", "203.0.113.8", "[2001:db8::6]", "github.com"}) {
    char *host = csb_netpolicy_normalize_host(in);
    EXPECT_FALSE(csb_netpolicy_host_has_hooks(p.np, host)) << in;
    free(host);
  }
}

// Hooks next to an allow-everything entry cannot hold: any tunnel can front.
TEST(Hooks, UnenforceableWarning) {
  const char *hooks = R"("mitm":{"hooks":{"h":{"host":"api.example","methods":["GET"],"path_prefixes":["/"],
      "action":["s"]}},"actions":{"s":{"strip_request_headers":["authorization"]}}})";
  struct Case {
    std::string doc;
    bool warn;
  } cases[] = {
      {std::string(R"({"domains":{"*":"allow"},)") + hooks + "}", true},
      {std::string(R"({"domains":{"**.[*]":"allow"},)") + hooks + "}", true},
      {std::string(R"({"domains":{"*":"allow"},"mode":"limited",)") + hooks + "}", false},
      {std::string(R"({"domains":{"**.example":"allow"},)") + hooks + "}", false},
      {R"({"domains":{"*":"allow"}})", false},
  };
  for (const auto &c : cases) {
    Policy p;
    std::string msg;
    ASSERT_TRUE(p.Json(c.doc.c_str(), &msg)) << c.doc << " -> " << msg;
    char buf[512] = "";
    EXPECT_EQ(csb_netpolicy_hooks_unenforceable(p.np, buf, sizeof buf), c.warn ? 1 : 0) << c.doc;
    if (c.warn) {
      EXPECT_NE(std::string(buf).find("network.proxy.mitm.hooks: the allow entry `"), std::string::npos) << buf;
      EXPECT_NE(std::string(buf).find("mode = \"limited\""), std::string::npos) << buf;
    }
  }
}

TEST(Patterns, SubdomainFormsNeverMatchTheEmptyHost) {
  // `*.REST` looks for a dot after the first byte: an empty host has none
  // (and nothing to read after its NUL).
  // (on the heap, so that ASan builds see a read past it)
  char *empty = strdup("");
  for (const char *pat : {"*.example.com", "**.example.com", "*.*", "*.[a-z]"})
    EXPECT_FALSE(csb_netpolicy_pattern_matches(pat, empty)) << pat;
  EXPECT_TRUE(csb_netpolicy_pattern_matches("*", empty));
  free(empty);
}

TEST(Fuzz, HostEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "*.example.com\nwww.Example.com.:443", "**.exa[m-p]ple.c?m\n[::1]:80",
      "10.0.0.*\n::ffff:10.0.0.7",          "fe80::1\nFE80:0::1%25eth0",
      "*\n64:ff9b::192.0.2.1",              "[!a]*.org\nx.org",
      "127.0.0.1\nlocalhost",               "**.ex*a[m-p]ple*.e\n",
      "[:]\nhost",                           "1.2.3.4\n2002:102:304::1",
      "93.184.216.*\n::93.184.216.34",
  };
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 3;
  o.alphabet = "*?[]!^-.:%25abcfxAF019 \n";
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
  o.alphabet.clear();
  o.seed = 4;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

TEST(Fuzz, HooksEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "/v2/items/a?x=1",         "/v1/items/?x=a%20b&y=2", "/v3/items/q?x=c%2Bd;z=1",
      "/v2/items/a/../b?x=2",    "/v2/items/%2e%2e?x=1",   "/v2/items/.;p/x?x=1",
      "/v2/items/a%2fb?x=1",     "/v2/items/a?X=1&xx=3",   "/v2/items/a?x[]=2&x[]=1",
      "/v2/items/a?%20x=1#f",    "/vv/items/a\\b?x=1",    "/v2/items/a?x=1%00",
  };
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 5;
  o.alphabet = "/.;?&=%+[]\\#xX0129abcef2 ";
  csbtest::ForEachMutation(seeds, o, csb_fuzz_hooks_one);
  o.alphabet.clear();
  o.seed = 6;
  csbtest::ForEachMutation(seeds, o, csb_fuzz_hooks_one);
}

// An input of fuzz_connect.c: flags, own addresses, then the target, the
// other address and the own ones, each a kind byte (even IPv4, odd IPv6,
// 6 for the target another family) and 16 address bytes.
std::string ConnectSeed(uint8_t flags, const std::vector<std::string> &addrs, size_t n_own) {
  std::string s;
  s += static_cast<char>(flags);
  s += static_cast<char>(n_own);
  for (const std::string &a : addrs) {
    unsigned char b[16] = {0};
    char kind = 1;
    if (inet_pton(AF_INET, a.c_str(), b) == 1)
      kind = 0;
    else if (a == "other")
      kind = 6;
    else
      EXPECT_EQ(inet_pton(AF_INET6, a.c_str(), b), 1) << a;
    s += kind;
    s.append(reinterpret_cast<const char *>(b), 16);
  }
  return s;
}

TEST(Fuzz, ConnectEntryOnSeedsAndMutations) {
  // flags: 1 allow_local_binding; host (<<1) 0 the target, 1 localhost, 2 a
  // name, 3 the other address; its spelling (<<3) plain, mapped, NAT64;
  // 0x20 an exact allow entry for it; 0x40 `*` allowed
  std::vector<std::string> seeds = {
      ConnectSeed(0x60, {"10.0.0.5", "0.0.0.0"}, 0),
      ConnectSeed(0x68, {"10.0.0.5", "0.0.0.0"}, 0),
      ConnectSeed(0x70, {"192.168.1.1", "192.168.1.1"}, 0),
      ConnectSeed(0x42, {"127.0.0.1", "0.0.0.0"}, 0),
      ConnectSeed(0x62, {"::1", "0.0.0.0"}, 0),
      ConnectSeed(0x44, {"93.184.216.34", "0.0.0.0", "93.184.216.34"}, 1),
      ConnectSeed(0x60, {"93.184.216.34", "0.0.0.0", "10.0.0.1", "::ffff:93.184.216.34"}, 2),
      ConnectSeed(0x61, {"2001:db8::10", "0.0.0.0", "2001:db8::10"}, 1),
      ConnectSeed(0x60, {"fe80::1", "0.0.0.0"}, 0),
      ConnectSeed(0x46, {"fd00::1", "100.64.0.1"}, 0),
      ConnectSeed(0x40, {"64:ff9b::a00:5", "0.0.0.0"}, 0),
      ConnectSeed(0x40, {"64:ff9b:1::5", "0.0.0.0"}, 0),
      ConnectSeed(0x40, {"2002:a00:5::1", "0.0.0.0"}, 0),
      ConnectSeed(0x60, {"other", "0.0.0.0"}, 0),
      ConnectSeed(0x40, {"168.63.129.16", "0.0.0.0"}, 0),
  };
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 7;
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_connect_one), 20000u);
}

}  // namespace
