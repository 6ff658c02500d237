// Unit tests for libs/socks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <random>
#include <string>
#include <vector>

#include "csb_socks.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

TEST(Greeting, Parse) {
  size_t c;
  int na;
  const char *why;
  Bytes g = {5, 2, 2, 0};
  EXPECT_EQ(csb_socks_parse_greeting(g.data(), g.size(), &c, &na, &why), CSB_SOCKS_OK);
  EXPECT_EQ(c, 4u);
  EXPECT_EQ(na, 1);
  Bytes g2 = {5, 1, 2};
  EXPECT_EQ(csb_socks_parse_greeting(g2.data(), g2.size(), &c, &na, &why), CSB_SOCKS_OK);
  EXPECT_EQ(na, 0);
  EXPECT_EQ(csb_socks_parse_greeting(g.data(), 3, &c, &na, &why), CSB_SOCKS_INCOMPLETE);
  Bytes g4 = {4, 1, 0};
  EXPECT_EQ(csb_socks_parse_greeting(g4.data(), g4.size(), &c, &na, &why), CSB_SOCKS_ERROR);
  Bytes g5 = {5, 0};
  EXPECT_EQ(csb_socks_parse_greeting(g5.data(), g5.size(), &c, &na, &why), CSB_SOCKS_ERROR);
}

TEST(Request, Forms) {
  size_t c;
  uint8_t rep;
  const char *why;
  csb_socks_request r;
  Bytes v4 = {5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90};
  ASSERT_EQ(csb_socks_parse_request(v4.data(), v4.size(), &c, &r, &rep, &why), CSB_SOCKS_OK);
  EXPECT_EQ(c, v4.size());
  EXPECT_STREQ(r.dst.host, "127.0.0.1");
  EXPECT_EQ(r.dst.port, 8080);
  Bytes dom = {5, 3, 0, 3, 7, 'a', '.', 'b', '.', 'c', 'o', 'm', 0, 80, 0xAA};
  ASSERT_EQ(csb_socks_parse_request(dom.data(), dom.size(), &c, &r, &rep, &why), CSB_SOCKS_OK);
  EXPECT_EQ(c, dom.size() - 1);
  EXPECT_EQ(r.cmd, CSB_SOCKS_CMD_UDP_ASSOCIATE);
  EXPECT_STREQ(r.dst.host, "a.b.com");
  Bytes v6(22, 0);
  v6[0] = 5;
  v6[1] = 1;
  v6[3] = 4;
  v6[19] = 1;
  v6[21] = 22;
  ASSERT_EQ(csb_socks_parse_request(v6.data(), v6.size(), &c, &r, &rep, &why), CSB_SOCKS_OK);
  EXPECT_STREQ(r.dst.host, "::1");
  EXPECT_EQ(r.dst.port, 22);
  for (size_t i = 0; i < v6.size(); i++)
    EXPECT_EQ(csb_socks_parse_request(v6.data(), i, &c, &r, &rep, &why), CSB_SOCKS_INCOMPLETE);
}

TEST(Request, Errors) {
  size_t c;
  uint8_t rep;
  const char *why;
  csb_socks_request r;
  Bytes badatyp = {5, 1, 0, 9, 0, 0};
  EXPECT_EQ(csb_socks_parse_request(badatyp.data(), badatyp.size(), &c, &r, &rep, &why), CSB_SOCKS_ERROR);
  EXPECT_EQ(rep, CSB_SOCKS_REP_ADDRESS_NOT_SUPPORTED);
  Bytes badcmd = {5, 9, 0, 1, 1, 2, 3, 4, 0, 1};
  EXPECT_EQ(csb_socks_parse_request(badcmd.data(), badcmd.size(), &c, &r, &rep, &why), CSB_SOCKS_ERROR);
  EXPECT_EQ(rep, CSB_SOCKS_REP_COMMAND_NOT_SUPPORTED);
  Bytes nul = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80};
  EXPECT_EQ(csb_socks_parse_request(nul.data(), nul.size(), &c, &r, &rep, &why), CSB_SOCKS_ERROR);
  Bytes empty = {5, 1, 0, 3, 0, 0, 80};
  EXPECT_EQ(csb_socks_parse_request(empty.data(), empty.size(), &c, &r, &rep, &why), CSB_SOCKS_ERROR);
  Bytes rsv = {5, 1, 1, 1, 1, 2, 3, 4, 0, 1};
  EXPECT_EQ(csb_socks_parse_request(rsv.data(), rsv.size(), &c, &r, &rep, &why), CSB_SOCKS_ERROR);
  Bytes ver = {4, 1, 0, 80, 1, 2, 3, 4, 0};
  EXPECT_EQ(csb_socks_parse_request(ver.data(), ver.size(), &c, &r, &rep, &why), CSB_SOCKS_ERROR);
}

TEST(Reply, Build) {
  uint8_t buf[32];
  struct sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(1080);
  sa.sin_addr.s_addr = htonl(0x7f000001);
  size_t n = csb_socks_build_reply(buf, 0, reinterpret_cast<struct sockaddr *>(&sa));
  Bytes want = {5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38};
  EXPECT_EQ(Bytes(buf, buf + n), want);
  n = csb_socks_build_reply(buf, CSB_SOCKS_REP_NOT_ALLOWED, nullptr);
  Bytes want2 = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Bytes(buf, buf + n), want2);
}

TEST(Udp, HeaderRoundTrip) {
  Bytes d = {0, 0, 0, 3, 4, 'h', '.', 'i', 'o', 0, 53, 'x', 'y'};
  size_t hl;
  uint8_t frag;
  csb_socks_addr a;
  const char *why;
  ASSERT_EQ(csb_socks_parse_udp(d.data(), d.size(), &hl, &frag, &a, &why), CSB_SOCKS_OK);
  EXPECT_EQ(hl, 11u);
  EXPECT_STREQ(a.host, "h.io");
  EXPECT_EQ(a.port, 53);
  Bytes f = {0, 0, 1, 1, 1, 2, 3, 4, 0, 1};
  ASSERT_EQ(csb_socks_parse_udp(f.data(), f.size(), &hl, &frag, &a, &why), CSB_SOCKS_OK);
  EXPECT_EQ(frag, 1);
  Bytes s = {0, 0, 0, 1, 1, 2};
  EXPECT_EQ(csb_socks_parse_udp(s.data(), s.size(), &hl, &frag, &a, &why), CSB_SOCKS_ERROR);
}

TEST(Fuzz, SeedsAndMutations) {
  std::vector<Bytes> seeds = {{5, 1, 0}, {5, 1, 0, 1, 127, 0, 0, 1, 0, 80},
                              {5, 1, 0, 3, 3, 'a', '.', 'b', 1, 187}, {0, 0, 0, 1, 1, 2, 3, 4, 0, 53, 'q'}};
  std::vector<std::string> strs;
  for (const Bytes &b : seeds) strs.emplace_back(b.begin(), b.end());
  csbtest::MutateOptions o;
  o.rounds = 5000;
  o.seed = 7;
  csbtest::ForEachMutation(strs, o, LLVMFuzzerTestOneInput);
}

}  // namespace
