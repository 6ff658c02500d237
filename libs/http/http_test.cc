// Unit tests for libs/http.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "csb_http.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

csb_http_status Req(const std::string &s, csb_http_head *h, const char **why = nullptr, size_t max = 8192) {
  return csb_http_parse_request(s.data(), s.size(), max, h, why);
}

std::string Val(const csb_http_header *h) { return std::string(h->value, h->value_len); }

TEST(Request, Basic) {
  csb_http_head h;
  std::string s = "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\nX-A:  v 1 \r\n\r\nBODY";
  ASSERT_EQ(Req(s, &h), CSB_HTTP_OK);
  EXPECT_EQ(std::string(h.method, h.method_len), "GET");
  EXPECT_EQ(std::string(h.target, h.target_len), "http://example.com/a?b");
  EXPECT_EQ(h.version_minor, 1);
  ASSERT_EQ(h.n_headers, 2u);
  EXPECT_EQ(Val(&h.headers[1]), "v 1");
  EXPECT_EQ(h.head_len, s.size() - 4);
  EXPECT_NE(csb_http_find(&h, "x-a"), nullptr);
}

TEST(Request, Incremental) {
  std::string s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  csb_http_head h;
  for (size_t i = 0; i < s.size() - 3; i++) {
    EXPECT_EQ(csb_http_parse_request(s.data(), i, 8192, &h, nullptr), CSB_HTTP_INCOMPLETE) << i;
  }
  EXPECT_EQ(Req(s, &h), CSB_HTTP_OK);
}

TEST(Request, LeadingEmptyLines) {
  csb_http_head h;
  std::string s = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(Req(s, &h), CSB_HTTP_OK);
}

TEST(Request, Malformed) {
  const char *bad[] = {
      "GET / HTTP/1.1\nHost: a\n\n",          // bare LF
      "GET  / HTTP/1.1\r\n\r\n",              // double space
      "GET / HTTP/2.0\r\n\r\n",               // version
      "GET / http/1.1\r\n\r\n",               // case
      "G(T / HTTP/1.1\r\n\r\n",               // method token
      "GET /\x01 HTTP/1.1\r\n\r\n",           // control in target
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",   // space before colon
      "GET / HTTP/1.1\r\n Host: a\r\n\r\n",   // folding
      "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", // folding
      "GET / HTTP/1.1\r\nA: b\x00x\r\n\r\n",  // NUL
      "GET / HTTP/1.1\r\n: b\r\n\r\n",        // empty name
      "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",    // lone CR
      "\x16\x03\x01\x02\x00",                 // TLS hello on the plain port
  };
  for (const char *b : bad) {
    csb_http_head h;
    const char *why = nullptr;
    std::string s(b, b == bad[9] ? 26 : strlen(b));
    EXPECT_EQ(Req(s, &h, &why), CSB_HTTP_ERROR) << b;
    EXPECT_NE(why, nullptr);
  }
}

TEST(Request, Limits) {
  csb_http_head h;
  const char *why = nullptr;
  std::string big = "GET / HTTP/1.1\r\nA: " + std::string(10000, 'x') + "\r\n\r\n";
  EXPECT_EQ(Req(big, &h, &why, 4096), CSB_HTTP_TOO_LARGE);
  EXPECT_EQ(Req(big.substr(0, 5000), &h, &why, 4096), CSB_HTTP_TOO_LARGE);
  EXPECT_EQ(Req(big.substr(0, 3000), &h, &why, 4096), CSB_HTTP_INCOMPLETE);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; i++) many += "A: b\r\n";
  many += "\r\n";
  EXPECT_EQ(Req(many, &h, &why), CSB_HTTP_TOO_LARGE);
}

TEST(Framing, SmugglingDefences) {
  struct Case {
    const char *head;
    int ok;
    csb_http_body_kind kind;
    uint64_t len;
  } cases[] = {
      {"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 1, CSB_HTTP_BODY_LENGTH, 5},
      {"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 1, CSB_HTTP_BODY_LENGTH, 5},
      {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1, CSB_HTTP_BODY_CHUNKED, 0},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", 1, CSB_HTTP_BODY_CHUNKED, 0},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
       CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"GET / HTTP/1.1\r\n\r\n", 1, CSB_HTTP_BODY_NONE, 0},
      // framing headers spelled with '_' (variables to CGI-style servers)
      {"POST / HTTP/1.1\r\nContent_Length: 5\r\n\r\n", 0, CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nContent-Length: 5\r\ntransfer_ENCODING: chunked\r\n\r\n", 0,
       CSB_HTTP_BODY_NONE, 0},
      {"POST / HTTP/1.1\r\nX_Content_Length: 5\r\nContent-Length: 5\r\n\r\n", 1, CSB_HTTP_BODY_LENGTH, 5},
  };
  for (const auto &c : cases) {
    csb_http_head h;
    std::string text = c.head;
    ASSERT_EQ(Req(text, &h), CSB_HTTP_OK) << c.head;
    csb_http_framing f;
    const char *why = nullptr;
    EXPECT_EQ(csb_http_request_framing(&h, &f, &why), c.ok) << c.head;
    if (c.ok) {
      EXPECT_EQ(f.kind, c.kind) << c.head;
      EXPECT_EQ(f.length, c.len) << c.head;
      EXPECT_EQ(f.has_length, strstr(c.head, "Content-Length") != nullptr) << c.head;
    }
  }
}

TEST(Response, ParseAndFraming) {
  csb_http_head h;
  std::string s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_EQ(csb_http_parse_response(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_OK);
  EXPECT_EQ(h.status, 200);
  csb_http_framing f;
  ASSERT_TRUE(csb_http_response_framing(&h, "GET", 3, &f, nullptr));
  EXPECT_EQ(f.kind, CSB_HTTP_BODY_LENGTH);
  EXPECT_EQ(f.length, 3u);
  EXPECT_EQ(f.has_length, 1);
  ASSERT_TRUE(csb_http_response_framing(&h, "HEAD", 4, &f, nullptr));
  EXPECT_EQ(f.kind, CSB_HTTP_BODY_NONE);
  EXPECT_EQ(f.has_length, 0); /* describes the GET representation: passed on as is */
  s = "HTTP/1.0 200\r\n\r\n";
  ASSERT_EQ(csb_http_parse_response(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_OK);
  ASSERT_TRUE(csb_http_response_framing(&h, "GET", 3, &f, nullptr));
  EXPECT_EQ(f.kind, CSB_HTTP_BODY_UNTIL_CLOSE);
  EXPECT_FALSE(csb_http_keep_alive(&h));
  s = "HTTP/1.1 204 No Content\r\nConnection: keep-alive, x-y\r\nx-y: 1\r\n\r\n";
  ASSERT_EQ(csb_http_parse_response(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_OK);
  ASSERT_TRUE(csb_http_response_framing(&h, "GET", 3, &f, nullptr));
  EXPECT_EQ(f.kind, CSB_HTTP_BODY_NONE);
  EXPECT_TRUE(csb_http_keep_alive(&h));
  EXPECT_TRUE(csb_http_is_hop_by_hop_in(&h, &h.headers[1]));
  EXPECT_TRUE(csb_http_is_hop_by_hop_in(&h, &h.headers[0]));
  s = "HTTP/1.1 99 x\r\n\r\n";
  EXPECT_EQ(csb_http_parse_response(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_ERROR);
  s = "SSH-2.0-OpenSSH\r\n";
  EXPECT_EQ(csb_http_parse_response(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_ERROR);
}

TEST(HopByHop, ConnectionCannotNameFramingOrHost) {
  csb_http_head h;
  std::string s =
      "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nConnection: content-length, Host, x-y\r\n"
      "Content-Length: 5\r\nx-y: 1\r\n\r\n";
  ASSERT_EQ(csb_http_parse_request(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_OK);
  EXPECT_FALSE(csb_http_is_hop_by_hop_in(&h, &h.headers[0]));  // Host
  EXPECT_TRUE(csb_http_is_hop_by_hop_in(&h, &h.headers[1]));   // Connection
  EXPECT_FALSE(csb_http_is_hop_by_hop_in(&h, &h.headers[2]));  // Content-Length
  EXPECT_TRUE(csb_http_is_hop_by_hop_in(&h, &h.headers[3]));   // x-y
}

TEST(HopByHop, ConnectionNamesLongHeaderNames) {
  csb_http_head h;
  std::string name(200, 'x');
  std::string s = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nConnection: " + name + "\r\n" + name +
                  ": 1\r\n" + name + "y: 2\r\n\r\n";
  ASSERT_EQ(csb_http_parse_request(s.data(), s.size(), 8192, &h, nullptr), CSB_HTTP_OK);
  EXPECT_TRUE(csb_http_is_hop_by_hop_in(&h, &h.headers[2]));
  EXPECT_FALSE(csb_http_is_hop_by_hop_in(&h, &h.headers[3]));
}

TEST(HopByHop, Names) {
  EXPECT_TRUE(csb_http_is_hop_by_hop("Proxy-Connection", 16));
  EXPECT_TRUE(csb_http_is_hop_by_hop("te", 2));
  EXPECT_FALSE(csb_http_is_hop_by_hop("x-forwarded-for", 15));
  EXPECT_FALSE(csb_http_is_hop_by_hop("host", 4));
}

std::string Decode(const std::string &in, long *consumed, bool *done, bool bytewise = false) {
  csb_http_chunked c;
  csb_http_chunked_init(&c);
  csb_buf out;
  csb_buf_init(&out);
  const char *why = nullptr;
  *consumed = 0;
  if (bytewise) {
    for (size_t i = 0; i < in.size() && !c.done; i++) {
      long r = csb_http_chunked_feed(&c, in.data() + i, 1, &out, &why);
      if (r < 0) {
        *consumed = -1;
        break;
      }
      *consumed += r;
    }
  } else {
    *consumed = csb_http_chunked_feed(&c, in.data(), in.size(), &out, &why);
  }
  *done = c.done;
  std::string r(out.data ? out.data : "", out.len);
  csb_buf_free(&out);
  return r;
}

TEST(Chunked, Decode) {
  long n;
  bool done;
  std::string body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
  for (bool bw : {false, true}) {
    EXPECT_EQ(Decode(body, &n, &done, bw), "Wikipedia in\r\n\r\nchunks.");
    EXPECT_TRUE(done);
    EXPECT_EQ(n, (long)body.size() - 4);
  }
  EXPECT_EQ(Decode("0\r\n\r\n", &n, &done), "");
  EXPECT_TRUE(done);
  Decode("3\r\nab", &n, &done);
  EXPECT_FALSE(done);
  EXPECT_EQ(n, 5);
  // The largest chunk size a 32-bit parser downstream reads the same way.
  Decode("7fffffff\r\nab", &n, &done);
  EXPECT_EQ(n, 12);
  EXPECT_FALSE(done);
  Decode("00000003\r\nabc\r\n0\r\n\r\n", &n, &done);
  EXPECT_TRUE(done);
  const char *bad[] = {"x\r\n", "3\r\nabcX", "3\nabc", "-1\r\n", "10000000000000000\r\n",
                       "0\r\n bad\r\n\r\n", "3;\n", ";\r\n",
                       // wraps to 0 or to a small size in 32 bits; 9 digits
                       "100000000\r\n", "100000003\r\n", "80000000\r\n", "000000003\r\n"};
  for (const char *b : bad) {
    Decode(b, &n, &done);
    EXPECT_EQ(n, -1) << b;
  }
}

TEST(Chunked, ExtensionsFollowTheGrammar) {
  long n;
  bool done;
  for (bool bw : {false, true}) {
    // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
    const char *ok[] = {"2;a\r\nok\r\n0\r\n\r\n",
                        "2 ;a=1;b = \"x y\"\r\nok\r\n0;c\r\n\r\n",
                        "2\t; a\t=\t\"q\\\"\\\\\x80\" \r\nok\r\n0\r\n\r\n",
                        "2 \r\nok\r\n0\r\n\r\n"};
    for (const char *o : ok) {
      Decode(o, &n, &done, bw);
      EXPECT_TRUE(done) << o << " bytewise " << bw;
      EXPECT_EQ(n, (long)strlen(o)) << o;
    }
    // Anything else is refused: the size line goes on as it came, and a
    // next hop might end it elsewhere (in an unclosed quote, at a backslash
    // before the CR) or read another size in it ("2 1").
    const char *bad[] = {"2 1\r\nok\r\n0\r\n\r\n",     "2 x\r\nok\r\n0\r\n\r\n",
                         "2;\r\nok\r\n0\r\n\r\n",      "2;=1\r\nok\r\n0\r\n\r\n",
                         "2;a=\r\nok\r\n0\r\n\r\n",    "2;a b\r\nok\r\n0\r\n\r\n",
                         "2;a=\"x\r\nok\r\n0\r\n\r\n",  "2;a=\"x\\\r\nok\r\n0\r\n\r\n",
                         "2;a=\"x\"y\r\nok\r\n0\r\n\r\n", "2;a=(x)\r\nok\r\n0\r\n\r\n",
                         "2;a=x,y\r\nok\r\n0\r\n\r\n",  "2;a=\"\x01\"\r\nok\r\n0\r\n\r\n"};
    for (const char *b : bad) {
      Decode(b, &n, &done, bw);
      EXPECT_EQ(n, -1) << b << " bytewise " << bw;
    }
  }
}

TEST(Chunked, TrailerLinesAreFieldLines) {
  long n;
  bool done;
  for (bool bw : {false, true}) {
    std::string ok = "0\r\nX-T: 1\r\nY:\r\nZ:\t\x80v \r\n\r\n";
    Decode(ok, &n, &done, bw);
    EXPECT_TRUE(done);
    EXPECT_EQ(n, (long)ok.size());
    // A trailer section the next hop could end elsewhere, or read as a
    // request (its lines go on as they came): refused like such a header.
    const char *bad[] = {"0\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "0\r\nX\r\n\r\n", "0\r\nX-T 1\r\n\r\n",
                         "0\r\nX-T : 1\r\n\r\n", "0\r\nX(: 1\r\n\r\n", "0\r\nX-T: 1\r\n:v\r\n\r\n"};
    for (const char *b : bad) {
      Decode(b, &n, &done, bw);
      EXPECT_EQ(n, -1) << b << " bytewise " << bw;
    }
  }
}

TEST(Chunked, NoTrailersRefusesTheFirstField) {
  for (bool bw : {false, true}) {
    std::string in = "3\r\nabc\r\n0\r\nAuthorization: x\r\n\r\n";
    csb_http_chunked c;
    csb_http_chunked_init(&c);
    c.no_trailers = 1;
    const char *why = nullptr;
    long total = 0, r = 0;
    for (size_t i = 0; i < in.size(); i += bw ? 1 : in.size()) {
      r = csb_http_chunked_feed(&c, in.data() + i, bw ? 1 : in.size(), nullptr, &why);
      if (r < 0) break;
      total += r;
    }
    EXPECT_EQ(r, -1);
    EXPECT_STREQ(why, "trailer fields not accepted");
    EXPECT_FALSE(c.done);
    // Bytewise, everything before the field was consumed, nothing of it.
    if (bw) {
      EXPECT_EQ(total, (long)in.find("Authorization"));
    }
    // An empty trailer section is fine.
    std::string ok = "3\r\nabc\r\n0\r\n\r\n";
    csb_http_chunked_init(&c);
    c.no_trailers = 1;
    EXPECT_EQ(csb_http_chunked_feed(&c, ok.data(), ok.size(), nullptr, &why), (long)ok.size());
    EXPECT_TRUE(c.done);
  }
}

TEST(Targets, AbsoluteAndOrigin) {
  csb_http_target t;
  const char *why;
  std::string s = "http://Example.com:8080/p?q=1";
  ASSERT_TRUE(csb_http_parse_target(s.data(), s.size(), &t, &why));
  EXPECT_TRUE(t.absolute);
  EXPECT_STREQ(t.authority.host, "Example.com");
  EXPECT_EQ(t.authority.port, 8080);
  EXPECT_EQ(std::string(t.path, t.path_len), "/p?q=1");
  s = "http://[::1]:80";
  ASSERT_TRUE(csb_http_parse_target(s.data(), s.size(), &t, &why));
  EXPECT_STREQ(t.authority.host, "::1");
  EXPECT_TRUE(t.authority.ipv6_literal);
  EXPECT_EQ(t.path_len, 0u);
  s = "/x";
  ASSERT_TRUE(csb_http_parse_target(s.data(), s.size(), &t, &why));
  EXPECT_FALSE(t.absolute);
  const char *bad[] = {"http://", "http://a@b/", "ftp://a/", "*", "a.com:443", "http://a:0/", "http://a:65536/",
                       "http://a:x/", "http://a b/", "http://a/#f", "http://[::1/"};
  for (const char *b : bad) EXPECT_FALSE(csb_http_parse_target(b, strlen(b), &t, &why)) << b;
}

TEST(Authority, ConnectForm) {
  csb_http_authority a;
  const char *why;
  ASSERT_TRUE(csb_http_parse_authority("example.com:443", 15, &a, &why));
  EXPECT_EQ(a.port, 443);
  ASSERT_TRUE(csb_http_parse_authority("[fe80::1%25lo0]:22", 18, &a, &why));
  EXPECT_STREQ(a.host, "fe80::1%25lo0");
  EXPECT_FALSE(csb_http_parse_authority(":443", 4, &a, &why));
  EXPECT_FALSE(csb_http_parse_authority("a.com:", 6, &a, &why));
  EXPECT_FALSE(csb_http_parse_authority("a.com:123456", 12, &a, &why));
  // brackets hold IPv6 addresses only
  for (const char *ok : {"[::1]:80", "[::ffff:127.0.0.1]:80", "[fe80::1%lo0]:80", "[2001:DB8::5]"})
    EXPECT_TRUE(csb_http_parse_authority(ok, strlen(ok), &a, &why)) << ok;
  for (const char *bad : {"[allowed.example]:443", "[127.0.0.1]:80", "[]:80", "[%25lo0]:80", "[::1%]:80",
                          "[::1%25]:80", "[1:2:3:4:5:6:7:8:9]:80", "[::1]x"})
    EXPECT_FALSE(csb_http_parse_authority(bad, strlen(bad), &a, &why)) << bad;
}

TEST(Fuzz, SeedsAndMutations) {
  std::vector<std::string> seeds = {
      "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "CONNECT a:443 HTTP/1.1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      "3\r\nabc\r\n0\r\nT: x\r\n\r\n",
  };
  csbtest::MutateOptions o;
  o.rounds = 2000;
  o.max_edits = 4;
  o.seed = 12345;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

}  // namespace
