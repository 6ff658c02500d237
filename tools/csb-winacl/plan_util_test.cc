// Unit tests for the planner's small pieces (plan_util.c): firewall port
// complements, loopback proxy URLs (reference B3.1), SID syntax, masks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

extern "C" {
#include "plan.h"
}

namespace {

std::string Complement(std::initializer_list<int> ports) {
  int v[16];
  size_t n = 0;
  for (int p : ports) v[n++] = p;
  char *s = wa_port_complement(v, n);
  std::string r(s);
  free(s);
  return r;
}

TEST(PortComplement, Gaps) {
  EXPECT_EQ(Complement({3128, 8080}), "1-3127,3129-8079,8081-65535");
  EXPECT_EQ(Complement({}), "1-65535");
  EXPECT_EQ(Complement({1}), "2-65535");
  EXPECT_EQ(Complement({65535}), "1-65534");
  EXPECT_EQ(Complement({1, 2, 3}), "4-65535");
  EXPECT_EQ(Complement({2, 4}), "1,3,5-65535");
  EXPECT_EQ(Complement({1, 65535}), "2-65534");
}

TEST(PortComplement, EveryPortLeavesNothing) {
  int *all = static_cast<int *>(malloc(65535 * sizeof(int)));
  for (int i = 0; i < 65535; i++) all[i] = i + 1;
  char *s = wa_port_complement(all, 65535);
  EXPECT_STREQ(s, "");
  free(s);
  free(all);
}

TEST(LoopbackUrl, AcceptsExplicitLoopbackPorts) {
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:3128"), 3128);
  EXPECT_EQ(wa_loopback_url_port("http://LOCALHOST:8080/"), 8080);
  EXPECT_EQ(wa_loopback_url_port("socks5h://[::1]:1080"), 1080);
  EXPECT_EQ(wa_loopback_url_port("http://user:pw@localhost:9000"), 9000);
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:65535?x"), 65535);
}

TEST(LoopbackUrl, RejectsEverythingElse) {
  EXPECT_EQ(wa_loopback_url_port("localhost:8080"), 0);         // no scheme
  EXPECT_EQ(wa_loopback_url_port("http://localhost"), 0);       // no default port
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:0"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:65536"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://10.0.0.5:3128"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.2:3128"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://[::2]:3128"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://[::1]"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://localhost:8x"), 0);
  EXPECT_EQ(wa_loopback_url_port(nullptr), 0);
}

TEST(Sid, Syntax) {
  EXPECT_TRUE(wa_is_sid("S-1-5-21-1-2-3-1001"));
  EXPECT_TRUE(wa_is_sid("S-1-1-0"));
  EXPECT_TRUE(wa_is_sid("S-1-5-21-4294967295-1-2-3"));
  EXPECT_FALSE(wa_is_sid("S-1-5-21-4294967296-1-2-3"));
  EXPECT_FALSE(wa_is_sid("S-2-5-21"));
  EXPECT_FALSE(wa_is_sid("S-1-5"));
  EXPECT_FALSE(wa_is_sid("S-1-5-"));
  EXPECT_FALSE(wa_is_sid("S-1-x"));
  EXPECT_FALSE(wa_is_sid("hello"));
  EXPECT_FALSE(wa_is_sid(""));
  EXPECT_FALSE(wa_is_sid(nullptr));
}

TEST(Masks, NamesAndValues) {
  EXPECT_EQ(WA_MASK_READ_EXECUTE, 0x001200a9u);
  EXPECT_EQ(WA_MASK_RWX, 0x001201bfu);
  EXPECT_EQ(WA_MASK_WRITE_ALLOW, 0x001301bfu);
  EXPECT_EQ(WA_MASK_WRITE_ALLOW & WA_FILE_DELETE_CHILD, 0u);
  EXPECT_EQ(WA_MASK_DENY_WRITE, 0x40130156u);
  EXPECT_EQ(WA_MASK_DENY_READ, 0x80120089u);
  EXPECT_STREQ(wa_mask_name(WA_MASK_DENY_READ), "DENY_READ");
  EXPECT_STREQ(wa_mask_name(WA_MASK_WRITE_ALLOW), "READ_WRITE_EXECUTE_DELETE");
  EXPECT_EQ(wa_mask_name(0x1), nullptr);
  EXPECT_EQ(WA_DESKTOP_ALL, 0x000f01ffu);
  EXPECT_EQ(WA_DESKTOP_PARTICIPANT, 0x000201ffu);
}

}  // namespace
