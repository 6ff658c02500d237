// Unit tests for libs/proxyenv: variable names, lookups, loopback proxy
// URLs and their rewriting.
#include "csb_proxyenv.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

TEST(Vars, TableAndCaseInsensitiveNames) {
  EXPECT_STREQ("HTTP_PROXY", csb_proxyenv_vars[0].upper);
  EXPECT_STREQ("docker_https_proxy", csb_proxyenv_vars[CSB_PROXYENV_N_VARS - 1].lower);
  for (size_t i = 0; i < CSB_PROXYENV_N_VARS; i++) {
    const csb_proxyenv_var &v = csb_proxyenv_vars[i];
    ASSERT_EQ(strlen(v.upper), strlen(v.lower));
    for (size_t k = 0; v.upper[k]; k++) EXPECT_EQ(tolower(v.upper[k]), v.lower[k]) << v.upper;
    EXPECT_TRUE(csb_proxyenv_is_var(v.upper, strlen(v.upper)));
    EXPECT_TRUE(csb_proxyenv_is_var(v.lower, strlen(v.lower)));
  }
  EXPECT_TRUE(csb_proxyenv_is_var("Https_Proxy", 11));
  EXPECT_TRUE(csb_proxyenv_is_var("HTTP_PROXY=x", 10));
  EXPECT_FALSE(csb_proxyenv_is_var("HTTP_PROXY=x", 12));
  EXPECT_FALSE(csb_proxyenv_is_var("NO_PROXY", 8));
  EXPECT_FALSE(csb_proxyenv_is_var("HTTP_PROX", 9));
  EXPECT_EQ(CSB_PROXYENV_LOWER_TOO | CSB_PROXYENV_ANY_PROTOCOL, csb_proxyenv_vars[4].flags);
  EXPECT_STREQ("ALL_PROXY", csb_proxyenv_vars[4].upper);
  EXPECT_EQ(0u, csb_proxyenv_vars[6].flags);  // YARN_HTTP_PROXY
}

TEST(Vars, GetPrefersUpperCaseAndSkipsBlanks) {
  char *env[] = {(char *)"HTTP_PROXY=  ", (char *)"http_proxy=http://127.0.0.1:1",
                 (char *)"HTTPS_PROXY=http://a:2", (char *)"https_proxy=http://b:3",
                 (char *)"no_proxy=", nullptr};
  const char *name = nullptr;
  EXPECT_STREQ("http://127.0.0.1:1", csb_proxyenv_get(env, "HTTP_PROXY", "http_proxy", &name));
  EXPECT_STREQ("http_proxy", name);
  EXPECT_STREQ("http://a:2", csb_proxyenv_get(env, "HTTPS_PROXY", "https_proxy", &name));
  EXPECT_STREQ("HTTPS_PROXY", name);
  EXPECT_EQ(nullptr, csb_proxyenv_get(env, "NO_PROXY", "no_proxy", nullptr));
  EXPECT_EQ(nullptr, csb_proxyenv_get(nullptr, "HTTP_PROXY", "http_proxy", nullptr));
  EXPECT_TRUE(csb_proxyenv_is_blank(""));
  EXPECT_TRUE(csb_proxyenv_is_blank(" \t\n"));
  EXPECT_FALSE(csb_proxyenv_is_blank(" x "));
}

TEST(Url, LoopbackPortsAndAddresses) {
  struct {
    const char *url;
    int port;  // 0: refused
    const char *addr;
  } cases[] = {
      {"http://127.0.0.1:3128", 3128, "127.0.0.1"},
      {"  http://localhost:8080/  ", 8080, "127.0.0.1"},
      {"127.0.0.1:9000", 9000, "127.0.0.1"},
      {"localhost", 80, "127.0.0.1"},
      {"localhost:", 80, "127.0.0.1"},
      {"https://LOCALHOST", 443, "127.0.0.1"},
      {"HTTPS://localhost", 443, "127.0.0.1"},
      {"socks5h://127.0.0.1", 1080, "127.0.0.1"},
      {"socks5://127.0.0.1", 1080, "127.0.0.1"},
      {"socks4a://localhost", 1080, "127.0.0.1"},
      {"socks://localhost", 1080, "127.0.0.1"},
      {"socks5h://user:pw@127.0.0.1", 1080, "127.0.0.1"},
      {"http://user:pw@127.0.0.1:81", 81, "127.0.0.1"},
      {"http://a@b@127.0.0.1:82/p@q", 82, "127.0.0.1"},
      {"http://[::1]:8443", 8443, "::1"},
      {"http://[::1]:9/", 9, "::1"},
      {"http://[::1]", 80, "::1"},
      {"http://LOCALHOST:81/path", 81, "127.0.0.1"},
      {"http://127.0.0.1:08080", 8080, "127.0.0.1"},
      {"http://10.0.0.1:3128", 0, nullptr},
      {"http://proxy.example:3128", 0, nullptr},
      {"http://proxy.example", 0, nullptr},
      {"http://127.0.0.2:3128", 0, nullptr},
      {"http://127.0.0.1:0", 0, nullptr},
      {"http://127.0.0.1:65536", 0, nullptr},
      {"http://127.0.0.1:70000", 0, nullptr},
      {"http://127.0.0.1:99999999999999999999", 0, nullptr},
      {"http://127.0.0.1:80x", 0, nullptr},
      {"http://127.0.0.1:+80", 0, nullptr},
      {"http://127.0.0.1: 80", 0, nullptr},
      {"http://[::2]:80", 0, nullptr},
      {"http://[::1]x:80", 0, nullptr},
      {"http://::1:80", 0, nullptr},
      {"1http://127.0.0.1:1", 0, nullptr},
      {"://127.0.0.1:1", 0, nullptr},
      {"ht tp://127.0.0.1:1", 0, nullptr},
      {"http://[::1", 0, nullptr},
      {"http://", 0, nullptr},
      {"", 0, nullptr},
      {"   ", 0, nullptr},
      // a backslash in the authority: WHATWG parsers read host evil.example
      {"http://evil.example\\@localhost:3128", 0, nullptr},
      {"http://127.0.0.1:3128\\@evil.example", 0, nullptr},
      {"http://localhost\\:3128", 0, nullptr},
      {"http://localhost:3128/a\\b", 3128, "127.0.0.1"},
  };
  for (const auto &c : cases) {
    csb_proxyenv_url u;
    memset(&u, 0, sizeof u);
    int ok = csb_proxyenv_parse_loopback(c.url, &u);
    EXPECT_EQ(c.port != 0, ok != 0) << c.url;
    if (ok && c.port) {
      EXPECT_EQ(c.port, u.port) << c.url;
      EXPECT_STREQ(c.addr, u.addr) << c.url;
    }
  }
}

TEST(Url, Ranges) {
  const char *v = "  socks5h://u:p@[::1]:8081/x?y \n";
  csb_proxyenv_url u;
  ASSERT_TRUE(csb_proxyenv_parse_loopback(v, &u));
  EXPECT_EQ("socks5h://u:p@[::1]:8081/x?y", std::string(v + u.url_start, u.url_end - u.url_start));
  EXPECT_EQ("[::1]:8081", std::string(v + u.authority_start, u.authority_end - u.authority_start));
}

TEST(Url, RewriteKeepsSchemeUserinfoAndPath) {
  struct {
    const char *in;
    const char *out;  // nullptr: not a loopback proxy URL
  } cases[] = {
      {"socks5h://u:p@127.0.0.1:8081/x?y", "socks5h://u:p@127.0.0.1:43210/x?y"},
      {"localhost:3128", "127.0.0.1:43210"},
      {" http://[::1]:3128/ \t", "http://127.0.0.1:43210/"},
      {"https://localhost#frag", "https://127.0.0.1:43210#frag"},
      {"http://proxy.example:3128", nullptr},
  };
  for (const auto &c : cases) {
    char *got = csb_proxyenv_rewrite_loopback(c.in, 43210);
    if (c.out) {
      ASSERT_NE(nullptr, got) << c.in;
      EXPECT_STREQ(c.out, got);
    } else {
      EXPECT_EQ(nullptr, got) << c.in;
    }
    free(got);
  }
}

TEST(Fuzz, SeedsAndMutations) {
  std::vector<std::string> seeds = {"http://127.0.0.1:3128", " socks5h://user:pw@localhost/x?y#z ",
                                    "[::1]:8080", "https://LOCALHOST:", "ftp://a@b@127.0.0.1:65535#c",
                                    "http://proxy.example:3128"};
  csbtest::MutateOptions o;
  o.rounds = 3000;
  o.seed = 11;
  o.alphabet = ":/@[]#?.0123456789 \tlocahst";
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
  o.alphabet.clear();
  o.seed = 12;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

}  // namespace
