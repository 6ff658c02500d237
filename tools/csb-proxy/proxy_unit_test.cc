// Unit tests for csb-proxy internals: listener addresses, the upstream
// proxy from the environment, response bodies, audit lines, timestamps and
// the child environment with its undo record.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "config.h"
#include "conn.h"
#include "env.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
}

#include "tests/lib/mutate.h"

namespace {

struct HostPort {
  std::string host;
  int port;
};

HostPort Parse(const char *url, int def = 3128) {
  char host[256] = "";
  int port = 0;
  csb_error err;
  EXPECT_TRUE(px_parse_host_port(url, def, host, sizeof host, &port, &err)) << url << ": " << err.msg;
  return {host, port};
}

TEST(ParseHostPort, UpstreamCases) {
  auto a = Parse("http://127.0.0.1:3128");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 3128);
  a = Parse("127.0.0.1:8081");
  EXPECT_EQ(a.port, 8081);
  a = Parse("  localhost  ");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 3128);
  a = Parse("::1");  // bare IPv6: the default port
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 3128);
  a = Parse("[::1]:9000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 9000);
  a = Parse("http://user@proxy.example:99999/path");  // invalid port: default
  EXPECT_EQ(a.host, "proxy.example");
  EXPECT_EQ(a.port, 3128);
  a = Parse("socks5h://[fe80::1]:1080");
  EXPECT_EQ(a.host, "fe80::1");
  EXPECT_EQ(a.port, 1080);
  char host[256];
  int port;
  csb_error err;
  EXPECT_FALSE(px_parse_host_port("   ", 1, host, sizeof host, &port, &err));
  EXPECT_NE(std::string(err.msg).find("missing host in network proxy address"), std::string::npos);

  // A host that does not fit the buffer is refused, not cut (a cut host
  // is another host, and a port found after it belongs to nobody).
  std::string long_url = "http://" + std::string(300, 'h') + ":8080";
  EXPECT_FALSE(px_parse_host_port(long_url.c_str(), 1, host, sizeof host, &port, &err));
  EXPECT_NE(std::string(err.msg).find("host in network proxy address is longer than 255 bytes"),
            std::string::npos);
  std::string fits = std::string(255, 'h') + ":8080";
  EXPECT_TRUE(px_parse_host_port(fits.c_str(), 1, host, sizeof host, &port, &err)) << err.msg;
  EXPECT_EQ(strlen(host), 255u);
  EXPECT_EQ(port, 8080);
}

std::string ListenAddr(const char *url, csb_netpolicy *np) {
  struct sockaddr_storage ss;
  csb_error err;
  EXPECT_TRUE(px_listen_addr(url, 3128, np, &ss, &err)) << err.msg;
  char buf[80];
  return csb_sock_format(reinterpret_cast<struct sockaddr *>(&ss), buf, sizeof buf);
}

TEST(ListenAddr, ClampsToLoopback) {
  csb_netpolicy *np = csb_netpolicy_new();
  EXPECT_EQ(ListenAddr("http://127.0.0.1:3128", np), "127.0.0.1:3128");
  EXPECT_EQ(ListenAddr("http://proxy.example:1", np), "127.0.0.1:1");  // names -> loopback
  EXPECT_EQ(ListenAddr("0.0.0.0:8080", np), "127.0.0.1:8080");
  EXPECT_EQ(ListenAddr("[::1]:7", np), "[::1]:7");
  np->dangerously_allow_non_loopback_proxy = 1;
  EXPECT_EQ(ListenAddr("0.0.0.0:8080", np), "0.0.0.0:8080");
  csb_error err;
  ASSERT_TRUE(csb_netpolicy_set_unix_socket(np, "/run/x.sock", 1, &err));
  EXPECT_EQ(ListenAddr("0.0.0.0:8080", np), "127.0.0.1:8080");  // forced with Unix sockets
  csb_netpolicy_free(np);
}

TEST(Upstream, FromEnvironment) {
  const char *env1[] = {"HTTP_PROXY=http://corp:3128", "https_proxy=http://sec:8443/", "NO_PROXY=.internal, Local",
                        nullptr};
  px_upstream u;
  px_upstream_from_env(&u, const_cast<char **>(env1));
  EXPECT_TRUE(u.enabled);
  EXPECT_STREQ(u.host, "sec");  // HTTPS_PROXY (either case) first
  EXPECT_EQ(u.port, 8443);
  EXPECT_TRUE(px_upstream_bypass(&u, "a.internal"));
  EXPECT_TRUE(px_upstream_bypass(&u, "internal"));
  EXPECT_TRUE(px_upstream_bypass(&u, "local"));
  EXPECT_FALSE(px_upstream_bypass(&u, "notinternal"));
  px_upstream_free(&u);
  const char *env2[] = {"ALL_PROXY=socks5://s:1", "HTTP_PROXY=  ", nullptr};
  px_upstream_from_env(&u, const_cast<char **>(env2));
  EXPECT_FALSE(u.enabled);  // only http:// proxies
  px_upstream_free(&u);
  const char *env3[] = {"all_proxy=10.0.0.1", nullptr};
  px_upstream_from_env(&u, const_cast<char **>(env3));
  EXPECT_TRUE(u.enabled);
  EXPECT_EQ(u.port, 80);
  px_upstream_free(&u);
}

TEST(Responses, BlockedJson) {
  csb_buf b;
  csb_buf_init(&b);
  px_resp_blocked_json(&b, "evil.example", CSB_BLOCK_DENIED, "deny", SRC_BASELINE, "http", 80, 1);
  std::string s(b.data, b.len);
  std::string body = R"({"status":"blocked","host":"evil.example","reason":"denied","decision":"deny",)"
                     R"("source":"baseline_policy","protocol":"http","port":80,)"
                     R"("message":"Domain denied by the sandbox policy."})";
  EXPECT_EQ(s, "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nx-proxy-error: blocked-by-denylist\r\n"
               "content-length: " + std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body);
  csb_buf_reset(&b);
  px_resp_blocked_json(&b, "unix-socket", CSB_BLOCK_NOT_ALLOWED, "deny", SRC_BASELINE, "http", 0, 0);
  EXPECT_NE(std::string(b.data).find(R"({"status":"blocked","host":"unix-socket","reason":"not_allowed"})"),
            std::string::npos);
  csb_buf_free(&b);
}

TEST(Audit, TimestampAndLine) {
  char ts[32];
  px_format_timestamp(ts);
  EXPECT_TRUE(std::regex_match(std::string(ts), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << ts;
  const char *t = getenv("TEST_TMPDIR");
  std::string path = std::string(t ? t : "/tmp") + "/audit.jsonl";
  unlink(path.c_str());
  csb_error err;
  px_audit *a = px_audit_open(path.c_str(), &err);
  ASSERT_NE(a, nullptr) << err.msg;
  const char *had = nullptr;
  EXPECT_EQ(1, px_audit_set_meta(a, "model", "m1", &had));
  EXPECT_EQ(0, px_audit_set_meta(a, "nope", "x", &had));
  // a key set already keeps its value
  EXPECT_EQ(-1, px_audit_set_meta(a, "model", "m2", &had));
  EXPECT_STREQ("m1", had);
  px_event ev = {};
  ev.domain_scope = 0;
  ev.decision = "deny";
  ev.source = SRC_MODE_GUARD;
  ev.reason = "";
  ev.proto = PROTO_SOCKS5_UDP;
  ev.server = "h";
  ev.port = 53;
  px_audit_emit(a, &ev);
  px_audit_close(a);
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  std::string tail = R"("model":"m1","network.policy.scope":"non_domain","network.policy.decision":"deny",)"
                     R"("network.policy.source":"mode_guard","network.policy.reason":"policy_denied",)"
                     R"("network.transport.protocol":"socks5_udp","server.address":"h","server.port":53,)"
                     R"("http.request.method":"none","client.address":"unknown","network.policy.override":false})";
  std::string head = R"({"event.name":"codex.network_proxy.policy_decision","event.timestamp":")";
  EXPECT_EQ(line.substr(0, head.size()), head);
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail);
  EXPECT_EQ(px_audit_open("fd:notanumber", &err), nullptr);
}

std::map<std::string, std::string> Apply(const std::vector<std::string> &in, const px_env_changes &ch) {
  std::vector<char *> env;
  for (auto &s : in) env.push_back(const_cast<char *>(s.c_str()));
  env.push_back(nullptr);
  csb_strv out;
  px_env_apply(env.data(), &ch, &out);
  std::map<std::string, std::string> m;
  for (size_t i = 0; i < out.len; i++) {
    std::string kv = out.items[i];
    auto eq = kv.find('=');
    m[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  csb_strv_free(&out);
  return m;
}

std::vector<std::string> Flatten(const std::map<std::string, std::string> &m) {
  std::vector<std::string> v;
  for (auto &kv : m) v.push_back(kv.first + "=" + kv.second);
  return v;
}

TEST(ChildEnv, SetAndStripRoundTrip) {
  std::vector<std::string> start = {"PATH=/bin", "HTTP_PROXY=http://user:1", "LANG=C"};
  std::vector<char *> envp;
  for (auto &s : start) envp.push_back(const_cast<char *>(s.c_str()));
  envp.push_back(nullptr);
  px_env_opts o = {};
  o.http_url = "http://127.0.0.1:4000";
  o.socks_url = "socks5h://127.0.0.1:4001";
  o.allow_local_binding = 0;
  px_env_changes ch;
  csb_error err;
  ASSERT_TRUE(px_env_compute(&o, envp.data(), &ch, &err)) << err.msg;
  auto child = Apply(start, ch);
  px_env_changes_free(&ch);
  EXPECT_EQ(child["HTTP_PROXY"], "http://127.0.0.1:4000");
  EXPECT_EQ(child["npm_config_https_proxy"], "http://127.0.0.1:4000");
  EXPECT_EQ(child["ALL_PROXY"], "socks5h://127.0.0.1:4001");
  EXPECT_EQ(child["ftp_proxy"], "socks5h://127.0.0.1:4001");
  EXPECT_EQ(child["NO_PROXY"], "localhost,127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16");
  EXPECT_EQ(child["CSB_NETWORK_PROXY_ACTIVE"], "1");
  EXPECT_EQ(child["CSB_NETWORK_ALLOW_LOCAL_BINDING"], "0");
  EXPECT_EQ(child["NODE_USE_ENV_PROXY"], "1");
  EXPECT_EQ(child.count("SSL_CERT_FILE"), 0u);  // no interception: no CA variables
  // the command changes one variable itself, then strips
  child["no_proxy"] = "mine";
  auto flat = Flatten(child);
  std::vector<char *> cenv;
  for (auto &s : flat) cenv.push_back(const_cast<char *>(s.c_str()));
  cenv.push_back(nullptr);
  px_env_strip_changes(cenv.data(), &ch);
  auto stripped = Apply(flat, ch);
  px_env_changes_free(&ch);
  std::map<std::string, std::string> want = {
      {"PATH", "/bin"}, {"HTTP_PROXY", "http://user:1"}, {"LANG", "C"}, {"no_proxy", "mine"}};
  EXPECT_EQ(stripped, want);
}

TEST(ChildEnv, NestedProxiesUnwindOneLevel) {
  px_env_opts o = {};
  o.http_url = "http://127.0.0.1:1";
  std::vector<std::string> start = {"A=1"};
  std::vector<char *> e0 = {const_cast<char *>(start[0].c_str()), nullptr};
  px_env_changes ch;
  csb_error err;
  ASSERT_TRUE(px_env_compute(&o, e0.data(), &ch, &err));
  auto outer = Apply(start, ch);
  px_env_changes_free(&ch);
  o.http_url = "http://127.0.0.1:2";
  auto f1 = Flatten(outer);
  std::vector<char *> e1;
  for (auto &s : f1) e1.push_back(const_cast<char *>(s.c_str()));
  e1.push_back(nullptr);
  ASSERT_TRUE(px_env_compute(&o, e1.data(), &ch, &err));
  auto inner = Apply(f1, ch);
  px_env_changes_free(&ch);
  EXPECT_EQ(inner["HTTP_PROXY"], "http://127.0.0.1:2");
  auto f2 = Flatten(inner);
  std::vector<char *> e2;
  for (auto &s : f2) e2.push_back(const_cast<char *>(s.c_str()));
  e2.push_back(nullptr);
  px_env_strip_changes(e2.data(), &ch);
  auto back = Apply(f2, ch);
  px_env_changes_free(&ch);
  EXPECT_EQ(back, outer);
}

TEST(ChildEnv, PrintFormats) {
  px_env_changes ch = {};
  px_env_opts o = {};
  o.http_url = "http://127.0.0.1:9/it's";
  o.socks_url = "socks5h://127.0.0.1:8/a\"b\\c";
  std::vector<std::string> start = {"LANG=C"};
  std::vector<char *> e = {const_cast<char *>(start[0].c_str()), nullptr};
  csb_error err;
  ASSERT_TRUE(px_env_compute(&o, e.data(), &ch, &err));
  csb_buf b;
  csb_buf_init(&b);
  px_env_print(&ch, "sh", &b);
  std::string sh(b.data, b.len);
  EXPECT_NE(sh.find("export HTTP_PROXY='http://127.0.0.1:9/it'\\''s'\n"), std::string::npos) << sh;
  EXPECT_NE(sh.find("export ALL_PROXY='socks5h://127.0.0.1:8/a\"b\\c'\n"), std::string::npos) << sh;
  csb_buf_reset(&b);
  px_env_print(&ch, "json", &b);
  std::string js(b.data, b.len);
  EXPECT_EQ(js.substr(0, 1), "{");
  EXPECT_EQ(js.substr(js.size() - 2), "}\n");
  EXPECT_NE(js.find(R"("HTTP_PROXY":"http://127.0.0.1:9/it's")"), std::string::npos) << js;
  EXPECT_NE(js.find(R"("ALL_PROXY":"socks5h://127.0.0.1:8/a\"b\\c")"), std::string::npos) << js;
  // stripping names variables to remove: `unset` and null
  auto child = Flatten(Apply(start, ch));
  px_env_changes_free(&ch);
  std::vector<char *> cenv;
  for (auto &x : child) cenv.push_back(const_cast<char *>(x.c_str()));
  cenv.push_back(nullptr);
  px_env_strip_changes(cenv.data(), &ch);
  csb_buf_reset(&b);
  px_env_print(&ch, "sh", &b);
  sh.assign(b.data, b.len);
  EXPECT_NE(sh.find("unset HTTP_PROXY\n"), std::string::npos) << sh;
  EXPECT_EQ(sh.find("export HTTP_PROXY"), std::string::npos) << sh;
  csb_buf_reset(&b);
  px_env_print(&ch, "json", &b);
  js.assign(b.data, b.len);
  EXPECT_NE(js.find(R"("HTTP_PROXY":null)"), std::string::npos) << js;
  csb_buf_free(&b);
  px_env_changes_free(&ch);
}

TEST(Stream, AttachFailureKeepsNoDescriptor) {
  csb_error err;
  csb_evloop *loop = csb_evloop_new(&err);
  ASSERT_NE(loop, nullptr) << err.msg;
  px_proxy px;
  memset(&px, 0, sizeof px);
  px.loop = loop;
  px_conn c;
  memset(&c, 0, sizeof c);
  c.px = &px;
  c.up.fd = -1;
  // epoll refuses a regular file: the caller closes the descriptor, and the
  // stream must not close that number again later
  FILE *f = tmpfile();
  ASSERT_NE(f, nullptr);
  int fd = fileno(f);
  EXPECT_FALSE(px_stream_attach(&c, &c.up, fd));
  EXPECT_EQ(c.up.fd, -1);
  fclose(f);
  csb_evloop_free(loop);
}

TEST(Fuzz, ConfigEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "http://127.0.0.1:3128\nenabled = true\nmode = \"limited\"\n[limits]\nmax_connections = 10\n"
      "[domains]\n\"*.example.com\" = \"allow\"\n\"evil.com\" = \"deny\"\n",
      "[::1]:8081\nallow_local_binding = false\nunix_sockets = { \"/tmp/s\" = \"allow\" }\n",
      "user@localhost:08080/x\n[limits]\nbogus = 1\n",
      "fe80::1%eth0\nx = [1, 2\n",
      "localhost\n[mitm.hooks.gh]\nhost = \"api.github.com\"\nmethods = [\"POST\"]\n"
      "path_prefixes = [\"/repos/\"]\naction = [\"strip_auth\"]\n[mitm.actions.strip_auth]\n"
      "strip_request_headers = [\"authorization\"]\n[limits]\nidle_timeout_ms = 60000\n",
  };
  csbtest::MutateOptions o;
  o.rounds = 800;
  o.seed = 9;
  o.alphabet = "[]{}=\"'.:/@#0123456789 \n";
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

}  // namespace
