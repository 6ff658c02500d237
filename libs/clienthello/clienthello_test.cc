// Unit tests for libs/clienthello.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "csb_clienthello.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

// The first flight of a real client (Python's ssl module, OpenSSL 3, TLS 1.3
// offered, server_hostname "api.example.com").
const char kRealHello[] =
    "1603010200010001fc030320cf6cc03b13d949a06e98fffc024e0485f03338e03245851485cbe646462872209edeaaaa"
    "a6ae958973b25c92f705c92435f0eff2ec69858d52745afcd6f725ba0024130213031301c02cc030c02bc02fcca9cca8"
    "c024c028c023c027009f009e006b006700ff0100018f00000014001200000f6170692e6578616d706c652e636f6d000b"
    "000403000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d002a"
    "0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b00050403"
    "040303002d00020101003300260024001d002058f1788346d0674443d1e0de93bdb4ef60ad3170d0dede574cb96d5f9b"
    "7f0d16001500de0000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000";

Bytes FromHex(const char *hex) {
  Bytes out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
}

Bytes Build(const char *sni, int ech = 0, size_t record = 16384) {
  Bytes b(4096);
  size_t n = csb_clienthello_build(b.data(), b.size(), sni, ech, record);
  b.resize(n);
  return b;
}

csb_clienthello_status Parse(const Bytes &b, csb_clienthello_info *info, const char **why = nullptr) {
  return csb_clienthello_parse(b.data(), b.size(), info, why);
}

// Re-splits the handshake message carried by the records of `b` into
// records of `size` bytes.
Bytes Resplit(const Bytes &b, size_t size) {
  Bytes msg;
  for (size_t off = 0; off + 5 <= b.size();) {
    size_t len = (b[off + 3] << 8) | b[off + 4];
    msg.insert(msg.end(), b.begin() + off + 5, b.begin() + off + 5 + len);
    off += 5 + len;
  }
  Bytes out;
  for (size_t off = 0; off < msg.size(); off += size) {
    size_t len = std::min(size, msg.size() - off);
    out.insert(out.end(), {22, 3, 1, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
    out.insert(out.end(), msg.begin() + off, msg.begin() + off + len);
  }
  return out;
}

TEST(ClientHello, RealClient) {
  Bytes b = FromHex(kRealHello);
  csb_clienthello_info in;
  ASSERT_EQ(Parse(b, &in), CSB_CLIENTHELLO_OK);
  EXPECT_TRUE(in.has_sni);
  EXPECT_STREQ(in.sni, "api.example.com");
  EXPECT_FALSE(in.has_ech);
  EXPECT_EQ(in.consumed, b.size());
  EXPECT_EQ(in.records, 1u);
  EXPECT_EQ(in.version, 0x0303);
  EXPECT_GT(in.n_extensions, 5u);
  // every way to split it over records and TCP segments gives the same name
  for (size_t size : {1, 2, 3, 4, 5, 100, 511}) {
    Bytes r = Resplit(b, size);
    csb_clienthello_info x;
    ASSERT_EQ(Parse(r, &x), CSB_CLIENTHELLO_OK) << size;
    EXPECT_STREQ(x.sni, "api.example.com");
    EXPECT_EQ(x.consumed, r.size());
    EXPECT_EQ(x.records, (b.size() - 5 + size - 1) / size);
    for (size_t cut = 0; cut < r.size(); cut++) {
      csb_clienthello_info p;
      ASSERT_EQ(csb_clienthello_parse(r.data(), cut, &p, nullptr), CSB_CLIENTHELLO_INCOMPLETE) << size << " " << cut;
      EXPECT_GT(p.consumed, cut);
      EXPECT_LE(p.consumed, r.size());
    }
  }
  // early data after the ClientHello is not part of it
  Bytes more = b;
  more.insert(more.end(), {23, 3, 3, 0, 2, 'h', 'i'});
  ASSERT_EQ(Parse(more, &in), CSB_CLIENTHELLO_OK);
  EXPECT_EQ(in.consumed, b.size());
}

TEST(ClientHello, BuiltForms) {
  csb_clienthello_info in;
  ASSERT_EQ(Parse(Build("Allowed.Test."), &in), CSB_CLIENTHELLO_OK);
  EXPECT_STREQ(in.sni, "Allowed.Test.");  // as sent: normalising is the caller's business
  ASSERT_EQ(Parse(Build(nullptr), &in), CSB_CLIENTHELLO_OK);
  EXPECT_FALSE(in.has_sni);
  EXPECT_STREQ(in.sni, "");
  ASSERT_EQ(Parse(Build("public.example", 1), &in), CSB_CLIENTHELLO_OK);
  EXPECT_TRUE(in.has_ech);
  EXPECT_STREQ(in.sni, "public.example");
  std::string longest(255, 'a');
  ASSERT_EQ(Parse(Build(longest.c_str()), &in), CSB_CLIENTHELLO_OK);
  EXPECT_EQ(std::string(in.sni), longest);
  Bytes out(16);
  EXPECT_EQ(csb_clienthello_build(out.data(), out.size(), "x", 0, 16), 0u);  // does not fit
  EXPECT_EQ(csb_clienthello_build(out.data(), out.size(), "x", 0, 0), 0u);
  EXPECT_EQ(csb_clienthello_build(out.data(), out.size(), "", 0, 16), 0u);
}

TEST(ClientHello, NotTlsAndIncomplete) {
  csb_clienthello_info in;
  const char *why = nullptr;
  EXPECT_EQ(Parse(Bytes{}, &in), CSB_CLIENTHELLO_INCOMPLETE);
  EXPECT_EQ(in.consumed, 1u);
  for (Bytes b : {Bytes{'S', 'S', 'H', '-'}, Bytes{'G', 'E', 'T'}, Bytes{0x80, 0x2e, 0x01}, Bytes{23, 'x'},
                  Bytes{21, 2, 3, 0, 2, 2, 40}, Bytes{25, 3, 3}})
    EXPECT_EQ(Parse(b, &in, &why), CSB_CLIENTHELLO_NOT_TLS);
  EXPECT_EQ(Parse(Bytes{22}, &in), CSB_CLIENTHELLO_INCOMPLETE);
  EXPECT_EQ(in.consumed, 5u);
  EXPECT_EQ(Parse(Bytes{22, 3, 1, 0, 10}, &in), CSB_CLIENTHELLO_INCOMPLETE);
  EXPECT_EQ(in.consumed, 15u);
}

// A TLS record of another type first (change_cipher_spec, alert,
// application_data, heartbeat) is TLS, not another protocol: BoringSSL and
// Go servers skip a warning alert and read the ClientHello behind it, whose
// server name must not go unseen.
TEST(ClientHello, OtherRecordFirst) {
  Bytes hello = Build("denied.example");
  for (uint8_t type : {20, 21, 23, 24}) {
    csb_clienthello_info in;
    const char *why = nullptr;
    Bytes b{type, 3, 1, 0, 2, 1, 90};
    b.insert(b.end(), hello.begin(), hello.end());
    EXPECT_EQ(Parse(b, &in, &why), CSB_CLIENTHELLO_ERROR) << int(type);
    EXPECT_STREQ(why, "a TLS record other than a handshake before the ClientHello");
    EXPECT_FALSE(in.has_sni);
    EXPECT_EQ(Parse(Bytes{type, 3}, &in), CSB_CLIENTHELLO_ERROR) << int(type);
    EXPECT_EQ(Parse(Bytes{type}, &in), CSB_CLIENTHELLO_INCOMPLETE) << int(type);
    EXPECT_EQ(in.consumed, 2u);
  }
}

// Record type 22 and then anything that is not a ClientHello: errors, with a message.
TEST(ClientHello, Malformed) {
  Bytes good = Build("a.example", 0, 16384);
  auto expect_error = [](const Bytes &b, const char *what) {
    csb_clienthello_info in;
    const char *why = nullptr;
    EXPECT_EQ(Parse(b, &in, &why), CSB_CLIENTHELLO_ERROR) << what;
    EXPECT_NE(why, nullptr) << what;
    EXPECT_FALSE(in.has_sni) << what;
    EXPECT_STREQ(in.sni, "") << what;
  };
  expect_error(Bytes{22, 'g', 'a', 'r', 'b', 'a', 'g', 'e'}, "garbage after 22");
  expect_error(Bytes{22, 3, 9}, "record version");
  expect_error(Bytes{22, 3, 1, 0, 0}, "empty record");
  expect_error(Bytes{22, 3, 1, 0x40, 0x01}, "over-long record");
  expect_error(Bytes{22, 3, 1, 0, 4, 2, 0, 0, 40}, "ServerHello");
  expect_error(Bytes{22, 3, 1, 0, 4, 1, 0, 0, 0}, "empty ClientHello");
  expect_error(Bytes{22, 3, 1, 0, 4, 1, 0, 0x40, 0x01}, "ClientHello over 16 KiB");
  // a record of another type in the middle of the message
  Bytes split = Resplit(good, 20);
  Bytes mixed(split.begin(), split.begin() + 25);
  mixed.insert(mixed.end(), {23, 3, 3, 0, 1, 0});
  expect_error(mixed, "interleaved record");
  // the record holding the end of the message holds more
  Bytes extra = good;
  extra.push_back(0);
  extra[4]++;
  expect_error(extra, "data after the message in its record");
  // 1-byte records past the input bound
  Bytes many;
  for (uint8_t x : {1, 0, 0x3e, 0x80}) many.insert(many.end(), {22, 3, 1, 0, 1, x});
  for (int i = 0; i < 5500; i++) many.insert(many.end(), {22, 3, 1, 0, 1, 0});
  expect_error(many, "too many records");
  {
    csb_clienthello_info in;
    // 5460 whole records (32760 bytes): one more record may still fit
    EXPECT_EQ(csb_clienthello_parse(many.data(), 32760, &in, nullptr), CSB_CLIENTHELLO_INCOMPLETE);
    EXPECT_EQ(in.consumed, 32765u);
    // 5461 (32766 bytes): none can, so the parser need not wait for one
    EXPECT_EQ(csb_clienthello_parse(many.data(), 32766, &in, nullptr), CSB_CLIENTHELLO_ERROR);
  }
  // lengths inside the message that disagree with their container
  auto at_sni = [&](Bytes b) {
    // position of the server_name extension type in a one-record hello
    for (size_t i = 9; i + 1 < b.size(); i++)
      if (b[i] == 0 && b[i + 1] == 0 && i + 4 < b.size() && b[i + 3] == 14) return i;
    return size_t(0);
  };
  size_t s = at_sni(good);
  ASSERT_NE(s, 0u);
  Bytes b = good;
  b[s + 8] = 10;  // host_name length 10 of 9
  expect_error(b, "name length");
  b = good;
  b[s + 6] = 1;  // name_type 1
  expect_error(b, "name type");
  b = good;
  b[s + 9 + 1] = 0;  // NUL inside the name
  expect_error(b, "NUL in name");
  b = good;
  b[s + 9 + 1] = ':';
  expect_error(b, "colon in name");
  b = good;
  b[9] = 2;  // legacy_version 2.x
  expect_error(b, "legacy_version");
  // two server_name extensions
  Bytes two = Build("a.example");
  {
    // duplicate the extension in place and fix the three lengths
    Bytes ext(two.begin() + s, two.begin() + s + 4 + 14);
    two.insert(two.begin() + s, ext.begin(), ext.end());
    size_t add = ext.size();
    size_t rec = ((two[3] << 8) | two[4]) + add;
    two[3] = rec >> 8;
    two[4] = rec & 0xff;
    size_t msg = ((two[6] << 16) | (two[7] << 8) | two[8]) + add;
    two[7] = msg >> 8;
    two[8] = msg & 0xff;
    size_t el_at = 5 + 4 + 2 + 32 + 1 + 4 + 2;
    size_t el = ((two[el_at] << 8) | two[el_at + 1]) + add;
    two[el_at] = el >> 8;
    two[el_at + 1] = el & 0xff;
  }
  expect_error(two, "two server_name extensions");
}

TEST(ClientHello, NameValidity) {
  EXPECT_TRUE(csb_clienthello_name_is_valid("a"));
  EXPECT_TRUE(csb_clienthello_name_is_valid("xn--bcher-kva.example_1-2."));
  EXPECT_FALSE(csb_clienthello_name_is_valid(""));
  EXPECT_FALSE(csb_clienthello_name_is_valid("a b"));
  EXPECT_FALSE(csb_clienthello_name_is_valid("a:443"));
  EXPECT_FALSE(csb_clienthello_name_is_valid("[::1]"));
  EXPECT_FALSE(csb_clienthello_name_is_valid("caf\xc3\xa9.example"));
  EXPECT_FALSE(csb_clienthello_name_is_valid(std::string(256, 'a').c_str()));
}

TEST(Fuzz, SeedsAndMutations) {
  std::vector<Bytes> seeds = {FromHex(kRealHello), Resplit(FromHex(kRealHello), 7), Build("a.example", 1),
                              Build(nullptr)};
  std::vector<std::string> strs;
  for (const Bytes &b : seeds) strs.emplace_back(b.begin(), b.end());
  // the entry also reads its input as a ClientHello body
  Bytes real = FromHex(kRealHello);
  strs.emplace_back(real.begin() + 9, real.end());
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 11;
  csbtest::ForEachMutation(strs, o, LLVMFuzzerTestOneInput);
}

}  // namespace
