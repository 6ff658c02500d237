// Unit tests for libs/clienthello.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "csb_clienthello.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_retry_one(const uint8_t *data, size_t size);

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

// The handshake bytes carried by the records of b.
Bytes Message(const Bytes &b) {
  Bytes msg;
  for (size_t off = 0; off + 5 <= b.size();) {
    size_t len = (b[off + 3] << 8) | b[off + 4];
    msg.insert(msg.end(), b.begin() + off + 5, b.begin() + off + 5 + len);
    off += 5 + len;
  }
  return msg;
}

// Re-splits the handshake message carried by the records of `b` into
// records of `size` bytes.
Bytes Resplit(const Bytes &b, size_t size) {
  Bytes msg = Message(b);
  Bytes out(msg.size() / size * 5 + msg.size() + 5);
  out.resize(csb_clienthello_build_records(out.data(), out.size(), msg.data(), msg.size(), size, 0x0301));
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
  const uint8_t msg[] = {1, 2, 3};
  ASSERT_EQ(csb_clienthello_build_records(out.data(), out.size(), msg, 3, 2, 0x0303), 13u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 13), (Bytes{22, 3, 3, 0, 2, 1, 2, 22, 3, 3, 0, 1, 3}));
  EXPECT_EQ(csb_clienthello_build_records(out.data(), 12, msg, 3, 2, 0x0303), 0u);
  EXPECT_EQ(csb_clienthello_build_records(out.data(), out.size(), msg, 0, 2, 0x0303), 0u);
  EXPECT_EQ(csb_clienthello_build_records(out.data(), out.size(), msg, 3, 0, 0x0303), 0u);
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
  // the message type decides as soon as its byte is there (no waiting for
  // the records that would complete the header)
  expect_error(Bytes{22, 3, 1, 0, 1, 0}, "hello_request alone in a 1-byte record");
  expect_error(Bytes{22, 3, 1, 0, 4, 2}, "ServerHello's first byte");
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

// ---- the server's answer and the client's second flight ----

Bytes ServerHello(const uint8_t *random = nullptr, size_t record = 16384) {
  Bytes b(4096);
  size_t n = csb_clienthello_build_server_hello(b.data(), b.size(), random, record);
  b.resize(n);
  return b;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &b : parts) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// The verdict on exactly these bytes (a copy of their size, so that a read
// past the end is caught by AddressSanitizer), and the length it asks for.
csb_clienthello_retry Retry(const Bytes &b, size_t n, size_t *need = nullptr) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[n ? n : 1]);
  std::copy(b.begin(), b.begin() + n, copy.get());
  size_t k = 99;
  csb_clienthello_retry r = csb_clienthello_check_retry(copy.get(), n, &k);
  if (need) *need = k;
  return r;
}
csb_clienthello_retry Retry(const Bytes &b, size_t *need = nullptr) { return Retry(b, b.size(), need); }

csb_clienthello_flight Flight(const Bytes &b, size_t n, size_t *pos) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[n ? n : 1]);
  std::copy(b.begin(), b.begin() + n, copy.get());
  return csb_clienthello_scan_second_flight(copy.get(), n, pos);
}
csb_clienthello_flight Flight(const Bytes &b, size_t *pos) { return Flight(b, b.size(), pos); }

// Every prefix of b through answer(cut, &n), a verdict and a length:
// `more` asks for n bytes, more than the prefix holds and at most max_need,
// until one length decides, which no earlier answer asked past; from
// there on the same verdict and length for good. Returns the length that
// decides.
template <class Verdict, class Answer>
size_t DecidedOnce(const Bytes &b, Verdict more, size_t max_need, Answer answer) {
  size_t decided = 0, promised = 0, first_n = 0;
  Verdict first = more;
  for (size_t cut = 0; cut <= b.size(); cut++) {
    size_t n;
    Verdict v = answer(cut, &n);
    if (v == more) {
      EXPECT_EQ(first, more) << cut;
      EXPECT_GT(n, cut);
      EXPECT_LE(n, max_need);
      promised = std::max(promised, n);
      continue;
    }
    if (first == more) {
      EXPECT_LE(promised, cut);
      decided = cut;
      first = v;
      first_n = n;
    }
    EXPECT_EQ(v, first) << cut;
    EXPECT_EQ(n, first_n) << cut;
  }
  EXPECT_NE(first, more);
  return decided;
}

// The same for the HelloRetryRequest check, which must end in `want`.
size_t RetryPrefixes(const Bytes &b, csb_clienthello_retry want) {
  size_t need = 1;
  EXPECT_EQ(Retry(b, &need), want);
  EXPECT_EQ(need, 0u);
  return DecidedOnce(b, CSB_CLIENTHELLO_RETRY_INCOMPLETE, CSB_CLIENTHELLO_RETRY_MAX_INPUT,
                     [&](size_t cut, size_t *n) { return Retry(b, cut, n); });
}

const Bytes kCcs{20, 3, 3, 0, 1, 1};
const Bytes kWarningAlert{21, 3, 3, 0, 2, 1, 112};  // unrecognized_name

TEST(Retry, WholeAndInRecordsOfAnySize) {
  Bytes hrr = ServerHello();
  ASSERT_EQ(hrr.size(), 5u + 4 + 2 + 32 + 18);
  EXPECT_EQ(hrr[0], 22);
  EXPECT_EQ(hrr[5], 2);  // ServerHello
  EXPECT_TRUE(std::equal(hrr.begin() + 11, hrr.begin() + 43, csb_clienthello_retry_random));
  size_t need = 1;
  EXPECT_EQ(Retry(hrr, &need), CSB_CLIENTHELLO_RETRY_YES);
  EXPECT_EQ(need, 0u);
  // the head of the message decides: 5 + 38 bytes
  EXPECT_EQ(RetryPrefixes(hrr, CSB_CLIENTHELLO_RETRY_YES), 43u);
  for (size_t size : {1, 2, 5, 37, 38, 39, 100}) {
    Bytes b = ServerHello(nullptr, size);
    EXPECT_EQ(Retry(b), CSB_CLIENTHELLO_RETRY_YES) << size;
    EXPECT_EQ(Message(b), Message(hrr)) << size;
    RetryPrefixes(b, CSB_CLIENTHELLO_RETRY_YES);
  }
  // one-byte records: 38 of them, the longest first flight that must be read
  Bytes ones = ServerHello(nullptr, 1);
  EXPECT_EQ(RetryPrefixes(ones, CSB_CLIENTHELLO_RETRY_YES), size_t(CSB_CLIENTHELLO_RETRY_MAX_INPUT));
  // what comes after the head is not looked at
  Bytes more = Cat({hrr, kCcs, {23, 3, 3, 0, 3, 'a', 'b', 'c'}});
  EXPECT_EQ(Retry(more), CSB_CLIENTHELLO_RETRY_YES);
  Bytes head(hrr.begin(), hrr.begin() + 43);
  EXPECT_EQ(Retry(head), CSB_CLIENTHELLO_RETRY_YES);
  Bytes out(60);
  EXPECT_EQ(csb_clienthello_build_server_hello(out.data(), out.size(), nullptr, 16384), 0u);  // does not fit
  EXPECT_EQ(csb_clienthello_build_server_hello(out.data(), out.size(), nullptr, 0), 0u);
  EXPECT_EQ(csb_clienthello_build_server_hello(out.data(), out.size(), nullptr, 16385), 0u);
}

TEST(Retry, RecordHeaderAlone) {
  // a server's first read may hold a record header and none of its bytes
  Bytes hrr = ServerHello();
  size_t need;
  EXPECT_EQ(Retry(Bytes(hrr.begin(), hrr.begin() + 5), &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 6u);
  // the same after whole records of the message
  Bytes ones = ServerHello(nullptr, 1);
  EXPECT_EQ(Retry(Bytes(ones.begin(), ones.begin() + 6 * 10 + 5), &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 6u * 11 + 1);  // its byte cannot decide, the next record's first one can
  // and a record that ends before the head does asks for the next one's first byte
  Bytes two = ServerHello(nullptr, 20);
  EXPECT_EQ(Retry(Bytes(two.begin(), two.begin() + 25), &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 26u);
  EXPECT_EQ(Retry(Bytes(two.begin(), two.begin() + 10), &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 26u);
  EXPECT_EQ(Retry(Bytes{}, &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 1u);
  EXPECT_EQ(Retry(Bytes{22}, &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 2u);
  EXPECT_EQ(Retry(Bytes{22, 3, 3}, &need), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
  EXPECT_EQ(need, 5u);
  EXPECT_EQ(csb_clienthello_check_retry(hrr.data(), 5, nullptr), CSB_CLIENTHELLO_RETRY_INCOMPLETE);
}

TEST(Retry, OtherFirstBytes) {
  Bytes hrr = ServerHello();
  // a record of another type first, even before a HelloRetryRequest
  EXPECT_EQ(Retry(Cat({kWarningAlert, hrr})), CSB_CLIENTHELLO_RETRY_NO);
  EXPECT_EQ(Retry(Cat({kCcs, hrr})), CSB_CLIENTHELLO_RETRY_NO);
  EXPECT_EQ(Retry(Bytes{21}), CSB_CLIENTHELLO_RETRY_NO);
  // another record version
  Bytes v = hrr;
  v[1] = 2;
  EXPECT_EQ(Retry(v), CSB_CLIENTHELLO_RETRY_NO);
  EXPECT_EQ(Retry(Bytes{22, 2}), CSB_CLIENTHELLO_RETRY_NO);
  // the minor version is not looked at
  v = hrr;
  v[2] = 9;
  EXPECT_EQ(Retry(v), CSB_CLIENTHELLO_RETRY_YES);
  // another handshake message, decided by its first byte
  EXPECT_EQ(Retry(Bytes{22, 3, 3, 0, 4, 11}), CSB_CLIENTHELLO_RETRY_NO);
  // not TLS at all
  EXPECT_EQ(Retry(Bytes{'H', 'T', 'T', 'P'}), CSB_CLIENTHELLO_RETRY_NO);
  // an empty handshake record, first or between records of the message
  EXPECT_EQ(Retry(Cat({{22, 3, 3, 0, 0}, hrr})), CSB_CLIENTHELLO_RETRY_NO);
  Bytes split = ServerHello(nullptr, 10);
  Bytes gap = Cat({Bytes(split.begin(), split.begin() + 15), {22, 3, 3, 0, 0}, Bytes(split.begin() + 15, split.end())});
  EXPECT_EQ(Retry(gap), CSB_CLIENTHELLO_RETRY_NO);
  EXPECT_EQ(RetryPrefixes(gap, CSB_CLIENTHELLO_RETRY_NO), 20u);
  // a record of another type inside the message
  Bytes mixed = Cat({Bytes(split.begin(), split.begin() + 15), kCcs, Bytes(split.begin() + 15, split.end())});
  EXPECT_EQ(Retry(mixed), CSB_CLIENTHELLO_RETRY_NO);
}

TEST(Retry, ServerHelloWithAnotherRandom) {
  for (size_t i : {0, 17, 31}) {
    uint8_t random[32];
    std::copy(csb_clienthello_retry_random, csb_clienthello_retry_random + 32, random);
    random[i] ^= 0x80;
    for (size_t size : {1, 7, 16384}) {
      Bytes sh = ServerHello(random, size);
      EXPECT_EQ(Retry(sh), CSB_CLIENTHELLO_RETRY_NO) << i << " " << size;
      // decided once the head is whole
      size_t at = RetryPrefixes(sh, CSB_CLIENTHELLO_RETRY_NO);
      if (size == 16384) {
        EXPECT_EQ(at, 43u);
      } else if (size == 1) {
        EXPECT_EQ(at, size_t(CSB_CLIENTHELLO_RETRY_MAX_INPUT));
      }
    }
  }
}

TEST(SecondFlight, ClientHelloBehindChangeCipherSpecAndAlerts) {
  Bytes ch = Build("a.example", 0, 50);
  size_t pos = 99;
  EXPECT_EQ(Flight(ch, &pos), CSB_CLIENTHELLO_FLIGHT_HELLO);
  EXPECT_EQ(pos, 0u);
  Bytes heartbeat{24, 3, 3, 0, 3, 1, 0, 0};
  Bytes early{23, 3, 3, 0, 4, 'd', 'a', 't', 'a'};
  for (const Bytes &pre : {kCcs, kWarningAlert, Cat({kCcs, kWarningAlert, early, heartbeat}),
                           Bytes{21, 3, 1, 0, 0}, Bytes{23, 3, 9, 0, 0}}) {
    Bytes b = Cat({pre, ch, {'a', 'f', 't', 'e', 'r'}});
    ASSERT_EQ(Flight(b, &pos), CSB_CLIENTHELLO_FLIGHT_HELLO);
    EXPECT_EQ(pos, pre.size());
    csb_clienthello_info in;
    ASSERT_EQ(csb_clienthello_parse(b.data() + pos, b.size() - pos, &in, nullptr), CSB_CLIENTHELLO_OK);
    EXPECT_STREQ(in.sni, "a.example");
    EXPECT_EQ(in.consumed, ch.size());
  }
}

TEST(SecondFlight, EmptyHandshakeRecordGoesToTheParser) {
  // a server may skip it (BoringSSL does): the parser refuses it as in the
  // first flight, instead of the next record's type being taken for a
  // message type
  Bytes empty{22, 3, 3, 0, 0};
  Bytes ch = Build("denied.example");
  size_t pos;
  for (const Bytes &pre : {Bytes{}, kCcs}) {
    Bytes b = Cat({pre, empty, ch});
    ASSERT_EQ(Flight(b, &pos), CSB_CLIENTHELLO_FLIGHT_HELLO);
    EXPECT_EQ(pos, pre.size());
    csb_clienthello_info in;
    const char *why = nullptr;
    EXPECT_EQ(csb_clienthello_parse(b.data() + pos, b.size() - pos, &in, &why), CSB_CLIENTHELLO_ERROR);
    EXPECT_STREQ(why, "empty handshake record");
    // its header alone waits for one more byte, as any handshake record's
    EXPECT_EQ(Flight(b, pre.size() + 5, &pos), CSB_CLIENTHELLO_FLIGHT_INCOMPLETE);
    EXPECT_EQ(pos, pre.size() + 6);
  }
}

TEST(SecondFlight, OtherMessagesAndOtherProtocols) {
  size_t pos;
  Bytes finished{22, 3, 3, 0, 5, 20, 0, 0, 1, 0};
  EXPECT_EQ(Flight(Cat({kCcs, finished}), &pos), CSB_CLIENTHELLO_FLIGHT_OTHER);
  EXPECT_EQ(pos, 6u);
  EXPECT_EQ(Flight(Bytes{'G', 'E', 'T', ' '}, &pos), CSB_CLIENTHELLO_FLIGHT_NOT_TLS);
  EXPECT_EQ(pos, 0u);
  EXPECT_EQ(Flight(Cat({kCcs, {22, 2, 1, 0, 1, 1}}), &pos), CSB_CLIENTHELLO_FLIGHT_NOT_TLS);
  EXPECT_EQ(pos, 6u);
  EXPECT_EQ(Flight(Bytes{21, 2, 0, 0, 2, 1, 0}, &pos), CSB_CLIENTHELLO_FLIGHT_NOT_TLS);
  EXPECT_EQ(pos, 0u);
  // a single byte that is not a record type, at the very end of the input
  // (the scan read a record length past it)
  for (const Bytes &b : {Bytes{0x80}, Cat({kCcs, {'x'}}), Cat({kCcs, {32, 3}})}) {
    EXPECT_EQ(Flight(b, &pos), CSB_CLIENTHELLO_FLIGHT_NOT_TLS);
    EXPECT_EQ(pos, b.size() == 1 ? 0u : 6u);
  }
}

TEST(SecondFlight, Bound) {
  size_t pos;
  // skipped records up to the input bound: no room for a ClientHello
  Bytes alert{23, 3, 3, 0x3f, 0xfb};  // 16379 bytes of data, 16384 with the header
  alert.resize(16384, 0);
  Bytes two = Cat({alert, alert});
  EXPECT_EQ(Flight(two, &pos), CSB_CLIENTHELLO_FLIGHT_BOUND);
  EXPECT_EQ(pos, 32768u);
  EXPECT_EQ(Flight(Cat({two, Build("a.example")}), &pos), CSB_CLIENTHELLO_FLIGHT_BOUND);
  EXPECT_EQ(pos, 32768u);
  // decided by the last header, before its data came
  EXPECT_EQ(Flight(two, 16384 + 5, &pos), CSB_CLIENTHELLO_FLIGHT_BOUND);
  EXPECT_EQ(Flight(two, 16384 + 4, &pos), CSB_CLIENTHELLO_FLIGHT_INCOMPLETE);
  EXPECT_EQ(pos, 16384u + 5);
  // one byte short of the bound: a record may still start there
  Bytes shorter = two;
  shorter[16384 + 4]--;
  shorter.pop_back();
  EXPECT_EQ(Flight(shorter, &pos), CSB_CLIENTHELLO_FLIGHT_INCOMPLETE);
  EXPECT_EQ(pos, 32768u);
  shorter.push_back(22);
  EXPECT_EQ(Flight(shorter, &pos), CSB_CLIENTHELLO_FLIGHT_INCOMPLETE);
  EXPECT_EQ(pos, 32767u + 6);
  // a single length field past it
  EXPECT_EQ(Flight(Bytes{21, 3, 3, 0xff, 0xff}, &pos), CSB_CLIENTHELLO_FLIGHT_BOUND);
  EXPECT_EQ(pos, 65540u);
}

TEST(SecondFlight, TruncatedAtEveryLength) {
  Bytes ch = Build("a.example", 1, 50);
  for (const Bytes &b : {Cat({kCcs, kWarningAlert, ch}), Cat({kCcs, {22, 3, 3, 0, 4, 20, 0, 0, 0}}),
                         Cat({kCcs, {22, 3, 3, 0, 0}, ch}), Cat({kCcs, {'x', 'y'}})}) {
    size_t pos_full;
    csb_clienthello_flight full = Flight(b, &pos_full);
    ASSERT_NE(full, CSB_CLIENTHELLO_FLIGHT_INCOMPLETE);
    size_t at = DecidedOnce(b, CSB_CLIENTHELLO_FLIGHT_INCOMPLETE, CSB_CLIENTHELLO_MAX_INPUT + 5,
                            [&](size_t cut, size_t *pos) { return Flight(b, cut, pos); });
    size_t pos;
    EXPECT_EQ(Flight(b, at, &pos), full);
    EXPECT_EQ(pos, pos_full);
  }
  // the lengths asked for on the way to the ClientHello
  Bytes b = Cat({kCcs, kWarningAlert, ch});
  std::vector<size_t> asked;
  for (size_t cut = 0, pos = 0; Flight(b, cut, &pos) == CSB_CLIENTHELLO_FLIGHT_INCOMPLETE; cut = pos)
    asked.push_back(pos);
  EXPECT_EQ(asked, (std::vector<size_t>{1, 5, 7, 11, 14, 19}));
}

TEST(Fuzz, RetrySeedsAndMutations) {
  uint8_t other[32] = {1, 2, 3};
  Bytes hrr = ServerHello();
  std::vector<Bytes> seeds = {hrr, ServerHello(nullptr, 1), ServerHello(other, 7),
                              Bytes(hrr.begin() + 5, hrr.end()),  // the message, which the entry wraps
                              Cat({kCcs, Build("a.example", 0, 50)}),
                              Cat({kCcs, kWarningAlert, {22, 3, 3, 0, 0}, Build("b.example")}),
                              Cat({kCcs, {22, 3, 3, 0, 4, 20, 0, 0, 0}}), Bytes{21, 3, 3, 0xff, 0xf0}};
  std::vector<std::string> strs;
  for (const Bytes &b : seeds) strs.emplace_back(b.begin(), b.end());
  csbtest::MutateOptions o;
  o.rounds = 1000;
  o.seed = 12;
  EXPECT_GT(csbtest::ForEachMutation(strs, o, csb_fuzz_retry_one), 8000u);
}

}  // namespace
