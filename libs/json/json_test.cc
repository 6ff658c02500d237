// json_test.cc - unit tests for libs/json.
#include "csb_json.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

// Owns a parsed tree.
struct Doc {
  cJSON *v = nullptr;
  csb_error err;
  bool ok = false;
  Doc() { csb_error_clear(&err); }
  explicit Doc(const std::string &text, const csb_json_limits *lim = nullptr) {
    csb_error_clear(&err);
    ok = csb_json_parse_limits(text.data(), text.size(), lim, &v, &err) == 1;
  }
  ~Doc() { cJSON_Delete(v); }
  Doc(const Doc &) = delete;
  Doc &operator=(const Doc &) = delete;
};

std::string Print(const cJSON *v, unsigned flags = 0) {
  char *s = csb_json_print_str(v, flags);
  std::string r(s);
  free(s);
  return r;
}

// Parses and returns the compact sorted print; fails the test on error.
std::string Canon(const std::string &text) {
  Doc d(text);
  EXPECT_TRUE(d.ok) << text << ": " << d.err.msg;
  if (!d.ok) return "<error>";
  return Print(d.v, CSB_JSON_COMPACT);
}

// Expects a parse error at line:col whose message contains `needle`.
void ExpectError(const std::string &text, int line, int col, const std::string &needle) {
  Doc d(text);
  ASSERT_FALSE(d.ok) << "accepted: " << text;
  EXPECT_EQ(d.v, nullptr);
  EXPECT_EQ(d.err.line, line) << text << " -> " << d.err.msg;
  EXPECT_EQ(d.err.col, col) << text << " -> " << d.err.msg;
  std::string prefix = std::to_string(line) + ":" + std::to_string(col) + ": ";
  EXPECT_EQ(std::string(d.err.msg).rfind(prefix, 0), 0u) << d.err.msg;
  EXPECT_NE(std::string(d.err.msg).find(needle), std::string::npos)
      << text << " -> " << d.err.msg << " (wanted: " << needle << ")";
}

void ExpectInvalid(const std::string &text) {
  Doc d(text);
  EXPECT_FALSE(d.ok) << "accepted: " << text;
  if (!d.ok) {
    EXPECT_GE(d.err.line, 1) << text;
    EXPECT_GE(d.err.col, 1) << text;
  }
}

std::string Nested(int levels, const std::string &inner = "") {
  return std::string(levels, '[') + inner + std::string(levels, ']');
}

// ---- valid corpus ----------------------------------------------------------

TEST(JsonParse, ValidCorpus) {
  const char *valid[] = {
      "0", "-0", "1", "-1", "12345", "1.5", "-1.5e10", "1E5", "1e+5", "1e-5",
      "0.0", "0e0", "123.456e-789", "true", "false", "null", "\"\"", "\"x\"",
      "[]", "{}", "[[]]", "[{}]", " \t\r\n[ 1 , 2 ]\n\t ", "{\"a\":{\"a\":{}}}",
      "{\"a\":1,\"b\":[1,{\"a\":2}]}", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
      "[\"\\u0041\\u00e9\\u20AC\\uD834\\uDD1E\"]", "\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"",
      "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", "\"\x7f\"", "[1,\"a\",true,false,null,{},[]]",
      "{\"\":0}", "{\"a\":1,\"A\":2}", "{\"a\":1,\"a \":2}", "[{\"a\":1},{\"a\":2}]",
      "\"\\uFFFF\"", "\"\\uDBFF\\uDFFF\"", "1e-400",
  };
  for (const char *t : valid) {
    Doc d(t);
    EXPECT_TRUE(d.ok) << t << ": " << d.err.msg;
  }
}

TEST(JsonParse, ValueTypes) {
  Doc d("{\"s\":\"x\",\"n\":2.5,\"i\":-3,\"t\":true,\"f\":false,\"z\":null,\"a\":[1],\"o\":{}}");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_TRUE(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d.v, "s")));
  EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(d.v, "n")->valuedouble, 2.5);
  EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(d.v, "i")->valuedouble, -3);
  EXPECT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d.v, "t")));
  EXPECT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d.v, "f")));
  EXPECT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d.v, "z")));
  EXPECT_TRUE(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d.v, "a")));
  EXPECT_TRUE(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d.v, "o")));
  EXPECT_EQ(cJSON_GetArraySize(d.v), 8);
}

TEST(JsonParse, StringDecoding) {
  Doc d("[\"\\u0041\\u00e9\\u20AC\\uD834\\uDD1E\\/\", \"\xf0\x9f\x98\x80\"]");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_STREQ(cJSON_GetArrayItem(d.v, 0)->valuestring, "A\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e/");
  EXPECT_STREQ(cJSON_GetArrayItem(d.v, 1)->valuestring, "\xf0\x9f\x98\x80");
}

TEST(JsonParse, InputNeedNotBeTerminated) {
  const char text[] = {'[', '1', ']', 'x'};
  cJSON *v = nullptr;
  csb_error err;
  ASSERT_EQ(csb_json_parse(text, 3, &v, &err), 1) << err.msg;
  cJSON_Delete(v);
  // A prefix of a number must not read past len.
  const char num[] = {'1', '2', '3'};
  ASSERT_EQ(csb_json_parse(num, 2, &v, &err), 1) << err.msg;
  EXPECT_EQ(v->valuedouble, 12);
  cJSON_Delete(v);
}

// ---- invalid corpus ----------------------------------------------------------

TEST(JsonParse, InvalidCorpus) {
  const std::vector<std::string> invalid = {
      // structure
      "", " ", "[", "]", "{", "}", "[1", "[1,", "{\"a\"", "{\"a\":", "{\"a\":1",
      "[1,]", "{\"a\":1,}", "[,1]", "{,}", "[1 2]", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
      "{1:2}", "{a:1}", "{'a':1}", "['a']", "[1]]", "[1][2]", "{}{}", "1 2", "[] x",
      "\"a\" \"b\"", "[1,,2]", "{\"a\"::1}", "{\"a\":1,,\"b\":2}", "/* c */ 1", "1 // c",
      "[1;2]", "{\"a\";1}",
      // literals
      "tru", "truee", "True", "NULL", "nul", "falsy", "undefined", "nil",
      // numbers
      "01", "-01", "00", "+1", ".5", "-.5", "1.", "1.e5", "1e", "1e+", "1E-", "-", "--1",
      "0x10", "1_000", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "1e400",
      "-1e400", "[1e99999]", "0.", "2.e3", "1ee5", "1e5.5", "١",
      // strings
      "\"", "\"abc", "\"\\\"", "\"\\x41\"", "\"\\U0041\"", "\"\\u12\"", "\"\\u12G4\"",
      "\"\\uD800\"", "\"\\uDC00\"", "\"\\uD800\\uD800\"", "\"\\uD800x\"",
      "\"\\uD800\\u0041\"", "\"\\uDBFF\\n\"", "\"\\u0000\"", "\"a\tb\"", "\"a\nb\"",
      "\"\x01\"", "\"\x1f\"", "\"\\'\"", "\"\\a\"", "\"\\0\"",
      // UTF-8
      "\"\x80\"", "\"\xbf\"", "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"",
      "\"\xe0\x9f\xbf\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", "\"\xf0\x80\x80\x80\"",
      "\"\xf0\x8f\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"",
      "\"\xfe\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xf0\x9f\x98\"", "\"\xc3\x28\"",
      "\"\xe2\x28\xa1\"", "\"\xf0\x28\x8c\xbc\"", "\xc3\xa9", "[\xc3\xa9]",
      // BOM, NUL
      "\xef\xbb\xbf{}", std::string("\0", 1), std::string("[1]\0", 4),
      std::string("\"a\0b\"", 5), std::string("[\0]", 3), std::string("{\"a\0\":1}", 8),
      // whitespace JSON does not allow
      "\f[]", "[\v1]", "\xc2\xa0[]",
  };
  for (const std::string &t : invalid) ExpectInvalid(t);
}

TEST(JsonParse, ErrorPositions) {
  ExpectError("", 1, 1, "expected a value, got end of input");
  ExpectError("   ", 1, 4, "end of input");
  ExpectError("[1,]", 1, 3, "trailing comma in array");
  ExpectError("{\"a\":1,}", 1, 7, "trailing comma in object");
  ExpectError("{\n  \"a\": 1,\n  \"b\": 2,\n}", 3, 9, "trailing comma in object");
  ExpectError("[\n  1,\n  2\n  3\n]", 4, 3, "expected ',' or ']' after array element");
  ExpectError("{\"a\" 1}", 1, 6, "expected ':' after object key, got '1'");
  ExpectError("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}' after object member");
  ExpectError("{1:2}", 1, 2, "expected a string key or '}', got '1'");
  ExpectError("{\"a\":1, 1:2}", 1, 9, "expected a string key, got '1'");
  ExpectError("[01]", 1, 2, "leading zeros");
  ExpectError("[-01]", 1, 2, "leading zeros");
  ExpectError("+1", 1, 1, "leading '+'");
  ExpectError(".5", 1, 1, "digit before '.'");
  ExpectError("[1.]", 1, 4, "expected a digit after '.', got ']'");
  ExpectError("1e", 1, 3, "digit in the exponent, got end of input");
  ExpectError("-", 1, 2, "expected a digit after '-'");
  ExpectError("-Infinity", 1, 2, "expected a digit after '-', got 'I'");
  ExpectError("NaN", 1, 1, "expected a value, got 'N'");
  ExpectError("[1e400]", 1, 2, "number out of range");
  ExpectError("[tru]", 1, 2, "invalid literal (expected `true`)");
  ExpectError("nul", 1, 1, "invalid literal (expected `null`)");
  ExpectError("[1] x", 1, 5, "expected end of input after the JSON value, got 'x'");
  ExpectError("{}\n\n  {}", 3, 3, "expected end of input");
  ExpectError("[\"abc", 1, 2, "unterminated string");
  ExpectError("[\"ab\ncd\"]", 1, 2, "unterminated string");
  ExpectError("\"a\x01\"", 1, 3, "unescaped control character U+0001");
  ExpectError("\"ab\\x\"", 1, 4, "invalid escape '\\x'");
  ExpectError("\"\\u12\"", 1, 2, "invalid \\u escape");
  ExpectError("  \"x\\uD800\"", 1, 5, "lone surrogate \\uD800");
  ExpectError("\"\\uDE00\"", 1, 2, "lone surrogate \\uDE00");
  ExpectError("\"\\uD83D\\u0041\"", 1, 2, "lone surrogate \\uD83D");
  ExpectError("\"\\u0000\"", 1, 2, "\\u0000 is not allowed");
  ExpectError("\"a\xc0\x80\"", 1, 3, "overlong UTF-8 encoding");
  ExpectError("\"\xe0\x80\xaf\"", 1, 2, "overlong UTF-8 encoding");
  ExpectError("\"\xf0\x82\x82\xac\"", 1, 2, "overlong UTF-8 encoding");
  ExpectError("\"\xed\xa0\x80\"", 1, 2, "UTF-8-encoded surrogate");
  ExpectError("\"\xf4\x90\x80\x80\"", 1, 2, "beyond U+10FFFF");
  ExpectError("\"\xf8\x88\x80\x80\x80\"", 1, 2, "beyond U+10FFFF");
  ExpectError("\"x\x80\"", 1, 3, "unexpected UTF-8 continuation byte");
  ExpectError("\"\xe2\x82\"", 1, 2, "truncated UTF-8 sequence");
  ExpectError("\"\xe2\x82", 1, 2, "truncated UTF-8 sequence");
  ExpectError("\xef\xbb\xbf[]", 1, 1, "byte order mark");
  ExpectError(std::string("[1,\0]", 5), 1, 4, "NUL byte in document");
  ExpectError(std::string("\"ab\0\"", 5), 1, 4, "NUL byte in document");
  ExpectError(std::string("{}\n\0", 4), 2, 1, "NUL byte in document");
  ExpectError("[\xc3\xa9]", 1, 2, "expected a value, got byte 0xC3");
}

TEST(JsonParse, ColumnsCountBytesAndCrlf) {
  // "é" is two bytes; '\r' is ordinary whitespace, '\n' ends the line.
  ExpectError("[\"\xc3\xa9\", x]", 1, 8, "expected a value, got 'x'");
  ExpectError("[\r\n1,\r\n x]", 3, 2, "got 'x'");
}

// ---- duplicates ------------------------------------------------------------

TEST(JsonParse, DuplicateKeys) {
  ExpectError("{\"a\":1,\"a\":2}", 1, 8, "duplicate key `a` (first at 1:2)");
  ExpectError("{\"a\":1,\"b\":2,\"a\":3}", 1, 14, "duplicate key `a` (first at 1:2)");
  ExpectError("{\"a\":1,\"\\u0061\":2}", 1, 8, "duplicate key `a`");
  ExpectError("{\n \"x\": {\n  \"k\": 1,\n  \"k\": 2\n }\n}", 4, 3,
              "duplicate key `k` (first at 3:3)");
  ExpectError("[{}, [{\"q\":[], \"r\":0, \"q\":{}}]]", 1, 23, "duplicate key `q` (first at 1:8)");
  ExpectError("{\"\":1,\"\":2}", 1, 7, "duplicate key `` (first at 1:2)");
  ExpectError("{\"\xc3\xa9\":1,\"\\u00e9\":2}", 1, 9, "duplicate key `\xc3\xa9`");
  // The key in the message is sanitised.
  ExpectError("{\"a\\nb\":1,\"a\\nb\":2}", 1, 11, "duplicate key `a\\u000ab`");
  // Same key in different objects (and at different depths) is fine.
  EXPECT_TRUE(Doc("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}").ok);
  // Many keys: duplicate detection is not confused by sorting.
  std::string big = "{";
  for (int i = 0; i < 2000; i++) big += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  EXPECT_TRUE(Doc(big + "}").ok);
  ExpectError(big + ",\"k1234\":0}", 1, (int)big.size() + 2, "duplicate key `k1234`");
}

TEST(JsonParse, FirstErrorInDocumentOrderWins) {
  // The duplicate comes before the syntax error.
  ExpectError("{\"a\":1,\"a\":2,\"b\":}", 1, 8, "duplicate key `a`");
  // The syntax error comes before the duplicate.
  ExpectError("{\"a\":1,\"b\":,\"a\":2}", 1, 12, "expected a value");
  // Outer duplicate before an inner one.
  ExpectError("{\"a\":1,\"a\":{\"b\":1,\"b\":2}}", 1, 8, "duplicate key `a`");
  // Inner duplicate before an outer one.
  ExpectError("{\"x\":{\"b\":1,\"b\":2},\"x\":1}", 1, 13, "duplicate key `b`");
  // Duplicate in an enclosing object, error deep inside.
  ExpectError("{\"a\":1,\"a\":[[[1,]]]}", 1, 8, "duplicate key `a`");
}

// ---- limits ------------------------------------------------------------------

TEST(JsonParse, Depth) {
  EXPECT_TRUE(Doc(Nested(CSB_JSON_MAX_DEPTH)).ok);
  ExpectError(Nested(CSB_JSON_MAX_DEPTH + 1), 1, CSB_JSON_MAX_DEPTH + 1,
              "nesting deeper than 64 levels");
  std::string objs;
  for (int i = 0; i < 65; i++) objs += "{\"a\":";
  objs += "1";
  for (int i = 0; i < 65; i++) objs += "}";
  ExpectError(objs, 1, 64 * 5 + 1, "nesting deeper than 64 levels");
  // Deep nesting far beyond the limit fails cleanly (no recursion).
  ExpectError(Nested(1000000), 1, 65, "nesting deeper");
  csb_json_limits lim = {3, 0};
  EXPECT_TRUE(Doc(Nested(3), &lim).ok);
  Doc d(Nested(4), &lim);
  EXPECT_FALSE(d.ok);
  EXPECT_STREQ(d.err.msg, "1:4: nesting deeper than 3 levels");
  csb_json_limits deep = {100000, 0};  // capped
  Doc d3(Nested(CSB_JSON_DEPTH_CAP), &deep);
  ASSERT_TRUE(d3.ok);
  std::string s = Print(d3.v, CSB_JSON_COMPACT);
  EXPECT_EQ(s, Nested(CSB_JSON_DEPTH_CAP));
  Doc d4(Nested(CSB_JSON_DEPTH_CAP + 1), &deep);
  EXPECT_FALSE(d4.ok);
  EXPECT_STREQ(d4.err.msg, "1:10001: nesting deeper than 10000 levels");
}

TEST(JsonParse, SizeLimit) {
  csb_json_limits lim = {0, 8};
  EXPECT_TRUE(Doc("[1,2,3]", &lim).ok);
  Doc d("[1,2,3,4]", &lim);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.err.line, 0);
  EXPECT_STREQ(d.err.msg, "JSON input too large (9 bytes, limit 8)");
  std::string big(CSB_JSON_MAX_INPUT + 1, ' ');
  Doc d2(big);
  EXPECT_FALSE(d2.ok);
}

TEST(JsonParse, NullText) {
  cJSON *v = reinterpret_cast<cJSON *>(1);
  csb_error err;
  EXPECT_EQ(csb_json_parse(nullptr, 0, &v, &err), 0);
  EXPECT_EQ(v, nullptr);
  EXPECT_STREQ(err.msg, "1:1: expected a value, got end of input");
  EXPECT_EQ(csb_json_parse(nullptr, 3, &v, &err), 0);
  EXPECT_EQ(csb_json_parse("1", 1, &v, nullptr), 1);  // err may be NULL
  cJSON_Delete(v);
  EXPECT_EQ(csb_json_parse("[", 1, &v, nullptr), 0);
}

// ---- numbers -------------------------------------------------------------------

TEST(JsonNumbers, IntegersExactTo2Pow53) {
  Doc d("[9007199254740992, -9007199254740992, 9007199254740993, 123456789012345678901234567890]");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(cJSON_GetArrayItem(d.v, 0)->valuedouble, 9007199254740992.0);
  EXPECT_EQ(cJSON_GetArrayItem(d.v, 1)->valuedouble, -9007199254740992.0);
  // Beyond 2^53: nearest double (ties to even).
  EXPECT_EQ(cJSON_GetArrayItem(d.v, 2)->valuedouble, 9007199254740992.0);
  EXPECT_EQ(Print(d.v, CSB_JSON_COMPACT),
            "[9007199254740992,-9007199254740992,9007199254740992,1.2345678901234568e29]");
}

TEST(JsonNumbers, PrintForms) {
  struct {
    const char *in, *out;
  } cases[] = {
      {"0", "0"},
      {"-0", "-0"},
      {"1.0", "1"},
      {"100", "100"},
      {"1e2", "100"},
      {"-1E+2", "-100"},
      {"0.1", "0.1"},
      {"0.30000000000000004", "0.30000000000000004"},
      {"1.5", "1.5"},
      {"-2.25", "-2.25"},
      {"1e-7", "1e-7"},
      {"0.0001", "0.0001"},
      {"0.00001", "1e-5"},
      {"1.5e300", "1.5e300"},
      {"1e16", "1e16"},
      {"9007199254740991", "9007199254740991"},
      {"-9007199254740992", "-9007199254740992"},
      {"9007199254740994", "9007199254740994"},
      {"1e17", "1e17"},
      {"1e21", "1e21"},
      {"4503599627370496.5", "4503599627370496"},
      {"4503599627370495.5", "4503599627370495.5"},
      {"123456789012", "123456789012"},
      {"1.7976931348623157e308", "1.7976931348623157e308"},
      {"5e-324", "5e-324"},
      {"2.2250738585072014e-308", "2.2250738585072014e-308"},
      {"1e-400", "0"},
      {"-1e-400", "-0"},
      {"0.1e1", "1"},
      {"123.456", "123.456"},
      {"100000000000000000000000000000000000000000000000000000000001", "1e59"},
  };
  for (const auto &c : cases) EXPECT_EQ(Canon(c.in), c.out) << c.in;
}

TEST(JsonNumbers, ShortestRoundTrip) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; i++) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    cJSON *n = cJSON_CreateNumber(d);
    std::string s = Print(n, CSB_JSON_COMPACT);
    cJSON_Delete(n);
    Doc back(s);
    ASSERT_TRUE(back.ok) << s << ": " << back.err.msg;
    EXPECT_EQ(back.v->valuedouble, d) << s;
    EXPECT_EQ(Print(back.v, CSB_JSON_COMPACT), s);
    EXPECT_EQ(s.find('+'), std::string::npos) << s;
    // Shortest: with one significant digit less it would not round-trip.
    if (s.find_first_of(".e") != std::string::npos) {
      std::string mant = s.substr(0, s.find('e'));
      int digits = 0;
      bool leading = true;
      for (char c : mant) {
        if (c < '0' || c > '9') continue;
        if (c == '0' && leading) continue;
        leading = false;
        digits++;
      }
      if (digits > 1) {
        char shorter[400];
        snprintf(shorter, sizeof shorter, "%.*g", digits - 1, d);
        EXPECT_NE(strtod(shorter, nullptr), d) << s;
      }
    }
  }
}

// ---- printing ----------------------------------------------------------------

TEST(JsonPrint, PrettySortedExact) {
  Doc d("{\"b\":[1,{\"z\":null,\"y\":true}],\"a\":\"x\",\"c\":{},\"d\":[],\"B\":false}");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Print(d.v),
            "{\n"
            "  \"B\": false,\n"
            "  \"a\": \"x\",\n"
            "  \"b\": [\n"
            "    1,\n"
            "    {\n"
            "      \"y\": true,\n"
            "      \"z\": null\n"
            "    }\n"
            "  ],\n"
            "  \"c\": {},\n"
            "  \"d\": []\n"
            "}\n");
  EXPECT_EQ(Print(d.v, CSB_JSON_COMPACT),
            "{\"B\":false,\"a\":\"x\",\"b\":[1,{\"y\":true,\"z\":null}],\"c\":{},\"d\":[]}");
  EXPECT_EQ(Print(d.v, CSB_JSON_COMPACT | CSB_JSON_KEEP_ORDER),
            "{\"b\":[1,{\"z\":null,\"y\":true}],\"a\":\"x\",\"c\":{},\"d\":[],\"B\":false}");
}

TEST(JsonPrint, Scalars) {
  EXPECT_EQ(Print(nullptr), "null\n");
  EXPECT_EQ(Print(nullptr, CSB_JSON_COMPACT), "null");
  EXPECT_EQ(Canon("[]"), "[]");
  EXPECT_EQ(Canon("{}"), "{}");
  Doc d("  \"x\" ");
  EXPECT_EQ(Print(d.v), "\"x\"\n");
}

TEST(JsonPrint, SortIsBytewise) {
  // Bytewise: uppercase < underscore < lowercase < non-ASCII; prefixes first.
  EXPECT_EQ(Canon("{\"\xc3\xa9\":1,\"e\":2,\"_\":3,\"Z\":4,\"ab\":5,\"a\":6,\"\":7}"),
            "{\"\":7,\"Z\":4,\"_\":3,\"a\":6,\"ab\":5,\"e\":2,\"\xc3\xa9\":1}");
  // Recursively, including objects inside arrays.
  EXPECT_EQ(Canon("[{\"b\":{\"d\":1,\"c\":2},\"a\":0}]"), "[{\"a\":0,\"b\":{\"c\":2,\"d\":1}}]");
}

TEST(JsonPrint, StringEscapes) {
  Doc d("\"q\\\" bs\\\\ sl\\/ / nl\\n tab\\t cr\\r bsp\\b ff\\f \\u0001\\u001F\\u007f \xc3\xa9 \\u2028\"");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Print(d.v, CSB_JSON_COMPACT),
            "\"q\\\" bs\\\\ sl/ / nl\\n tab\\t cr\\r bsp\\b ff\\f \\u0001\\u001f\x7f \xc3\xa9 \xe2\x80\xa8\"");
}

TEST(JsonPrint, HandBuiltTreesStayValid) {
  cJSON *o = csb_json_new_object();
  csb_json_add_number(o, "nan", NAN);
  csb_json_add_number(o, "inf", -INFINITY);
  csb_json_add_string(o, "bad", "a\xff" "b\xc3");
  csb_json_add_string(o, "k\x80", "ok");
  csb_json_add_int(o, "dup", 1);
  csb_json_add_int(o, "dup", 2);
  cJSON_AddItemToObject(o, "raw", cJSON_CreateRaw("[1, 2]"));
  std::string s = Print(o, CSB_JSON_COMPACT);
  EXPECT_EQ(s,
            "{\"bad\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\",\"dup\":1,\"dup\":2,\"inf\":null,"
            "\"k\xef\xbf\xbd\":\"ok\",\"nan\":null,\"raw\":[1, 2]}");
  cJSON_Delete(o);
}

TEST(JsonPrint, LineAndWriteLine) {
  cJSON *o = csb_json_new_object();
  csb_json_add_string(o, "event", "exec");
  csb_json_add_int(o, "pid", 42);
  cJSON *argv = csb_json_add_array(o, "argv");
  csb_json_add_string(argv, nullptr, "/bin/true");
  csb_json_add_bool(o, "ok", true);
  csb_json_add_null(o, "err");
  csb_json_add_object(o, "extra");
  csb_buf b;
  csb_buf_init(&b);
  csb_json_line(o, 0, &b);
  EXPECT_STREQ(b.data,
               "{\"argv\":[\"/bin/true\"],\"err\":null,\"event\":\"exec\",\"extra\":{},\"ok\":true,\"pid\":42}\n");
  csb_buf_reset(&b);
  csb_json_line(o, CSB_JSON_KEEP_ORDER, &b);
  EXPECT_STREQ(b.data,
               "{\"event\":\"exec\",\"pid\":42,\"argv\":[\"/bin/true\"],\"ok\":true,\"err\":null,\"extra\":{}}\n");

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  csb_error err;
  ASSERT_EQ(csb_json_write_line(fds[1], o, CSB_JSON_KEEP_ORDER, &err), 1) << err.msg;
  close(fds[1]);
  char got[256] = {0};
  ssize_t n = read(fds[0], got, sizeof got - 1);
  close(fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_STREQ(got, b.data);
  // Writing to a closed descriptor fails with a message.
  EXPECT_EQ(csb_json_write_line(fds[1], o, 0, &err), 0);
  EXPECT_NE(std::string(err.msg).find("cannot write JSON line"), std::string::npos);
  csb_buf_free(&b);
  cJSON_Delete(o);
}

TEST(JsonPrint, PrintAppends) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "x=");
  Doc d("[1]");
  csb_json_print(d.v, CSB_JSON_COMPACT, &b);
  EXPECT_STREQ(b.data, "x=[1]");
  csb_buf_free(&b);
}

// ---- round-trip property ---------------------------------------------------------

class TreeGen {
 public:
  explicit TreeGen(uint64_t seed) : rng_(seed) {}

  cJSON *Value(int depth) {
    int kind = Pick(depth >= 5 ? 6 : 8);
    switch (kind) {
      case 0: return cJSON_CreateNull();
      case 1: return cJSON_CreateBool(Pick(2));
      case 2: return cJSON_CreateNumber(Number());
      case 3:
      case 4:
      case 5: return cJSON_CreateString(String().c_str());
      case 6: {
        cJSON *a = cJSON_CreateArray();
        for (int i = Pick(5); i > 0; i--) cJSON_AddItemToArray(a, Value(depth + 1));
        return a;
      }
      default: {
        cJSON *o = cJSON_CreateObject();
        std::vector<std::string> keys;
        for (int i = Pick(6); i > 0; i--) {
          std::string k = String();
          bool seen = false;
          for (const auto &s : keys) seen = seen || s == k;
          if (seen) continue;
          keys.push_back(k);
          cJSON_AddItemToObject(o, k.c_str(), Value(depth + 1));
        }
        return o;
      }
    }
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  double Number() {
    switch (Pick(6)) {
      case 0: return Pick(2000) - 1000;
      case 1: return (Pick(2000000) - 1000000) / 1000.0;
      case 2: return static_cast<double>(static_cast<int64_t>(rng_() >> 11)) * (Pick(2) ? 1 : -1);
      case 3: {
        double d;
        do {
          uint64_t bits = rng_();
          std::memcpy(&d, &bits, sizeof d);
        } while (!std::isfinite(d));
        return d;
      }
      case 4: return std::ldexp(1.0, Pick(2100) - 1075);
      default: return 0.1 * Pick(100);
    }
  }

  std::string String() {
    static const char *pieces[] = {"a", "b", "Z", "_", " ", "\"", "\\", "/", "\n", "\t",
                                   "\r", "\b", "\f", "\x01", "\x1f", "\x7f", "\xc3\xa9",
                                   "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "~", "0"};
    std::string s;
    for (int i = Pick(6); i > 0; i--) s += pieces[Pick(CSB_ARRAY_LEN(pieces))];
    return s;
  }

  std::mt19937_64 rng_;
};

TEST(JsonRoundTrip, PrintParsePrintIsStable) {
  const unsigned modes[] = {0, CSB_JSON_COMPACT, CSB_JSON_KEEP_ORDER,
                            CSB_JSON_COMPACT | CSB_JSON_KEEP_ORDER};
  for (uint64_t seed = 1; seed <= 3000; seed++) {
    TreeGen gen(seed);
    cJSON *tree = gen.Value(0);
    for (unsigned m : modes) {
      std::string a = Print(tree, m);
      Doc d(a);
      ASSERT_TRUE(d.ok) << "seed " << seed << ": " << d.err.msg << "\n" << a;
      std::string b = Print(d.v, m);
      ASSERT_EQ(a, b) << "seed " << seed << " mode " << m;
      // Same tree content whatever the layout.
      EXPECT_EQ(Print(d.v, CSB_JSON_COMPACT), Print(tree, CSB_JSON_COMPACT));
      if (m & CSB_JSON_KEEP_ORDER) {
        EXPECT_TRUE(cJSON_Compare(tree, d.v, 1));
      }
    }
    cJSON_Delete(tree);
  }
}

TEST(JsonRoundTrip, FuzzEntryOnCorpusAndMutations) {
  std::vector<std::string> seeds = {
      "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\",\"d\":-0.5e-3}",
      "[true,false,null,\"x\\n\",1e300,{\"\":{}}]",
      "{\"z\":{\"y\":{\"x\":[[[[]]]]}},\"a\":\"\xf0\x9f\x98\x80\"}",
      "\"just a string\"",
      "12345678901234567890",
  };
  csbtest::MutateOptions o;
  o.rounds = 3000;
  o.alphabet = "{}[]:,\"\\u0123456789abcdefnrtE+-. \n\x80\xc3\xa9\xed\xf0";
  o.seed = 7;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

// ---- typed getters -------------------------------------------------------------

const char *kConfig =
    "{\"name\":\"web\",\"on\":true,\"port\":8080,\"ratio\":0.5,\"big\":1e20,"
    "\"neg\":-3,\"frac\":2.5,\"net\":{\"allow\":[\"a.com\",\"b/c~d\"]},\"mixed\":[\"x\",3],"
    "\"nothing\":null,\"a/b~c\":1,\"whole\":7.0}";

TEST(JsonGet, Success) {
  Doc d(kConfig);
  ASSERT_TRUE(d.ok) << d.err.msg;
  csb_error err;
  const char *s = nullptr;
  bool b = false;
  int64_t i = 0;
  double x = 0;
  const cJSON *o = nullptr, *a = nullptr;
  EXPECT_EQ(csb_json_get_string(d.v, "name", &s, &err), 1);
  EXPECT_STREQ(s, "web");
  EXPECT_EQ(csb_json_get_bool(d.v, "on", &b, &err), 1);
  EXPECT_TRUE(b);
  EXPECT_EQ(csb_json_get_int(d.v, "port", &i, &err), 1);
  EXPECT_EQ(i, 8080);
  EXPECT_EQ(csb_json_get_int(d.v, "whole", &i, &err), 1);
  EXPECT_EQ(i, 7);
  EXPECT_EQ(csb_json_get_int_range(d.v, "port", 1, 65535, &i, &err), 1);
  EXPECT_EQ(csb_json_get_int(d.v, "neg", &i, &err), 1);
  EXPECT_EQ(i, -3);
  EXPECT_EQ(csb_json_get_number(d.v, "ratio", &x, &err), 1);
  EXPECT_EQ(x, 0.5);
  EXPECT_EQ(csb_json_get_number(d.v, "port", &x, &err), 1);
  EXPECT_EQ(csb_json_get_object(d.v, "net", &o, &err), 1);
  EXPECT_EQ(csb_json_get_array(o, "allow", &a, &err), 1);
  EXPECT_EQ(cJSON_GetArraySize(a), 2);
  csb_strv v;
  csb_strv_init(&v);
  EXPECT_EQ(csb_json_get_strings(o, "allow", &v, &err), 1);
  ASSERT_EQ(v.len, 2u);
  EXPECT_STREQ(v.items[1], "b/c~d");
  csb_strv_free(&v);
}

void ExpectErr(int rc, const csb_error &err, const char *msg) {
  EXPECT_EQ(rc, 0);
  EXPECT_STREQ(err.msg, msg);
}

TEST(JsonGet, WrongTypesAndMissing) {
  Doc d(kConfig);
  ASSERT_TRUE(d.ok);
  csb_error err;
  const char *s = "default";
  bool b = true;
  int64_t i = 99;
  double x = 1;
  const cJSON *o = nullptr;
  ExpectErr(csb_json_get_string(d.v, "port", &s, &err), err, "`/port`: expected string, got number");
  EXPECT_STREQ(s, "default");
  ExpectErr(csb_json_get_string(d.v, "nothing", &s, &err), err, "`/nothing`: expected string, got null");
  ExpectErr(csb_json_get_bool(d.v, "name", &b, &err), err, "`/name`: expected boolean, got string");
  EXPECT_TRUE(b);
  ExpectErr(csb_json_get_int(d.v, "frac", &i, &err), err, "`/frac`: expected integer, got 2.5");
  ExpectErr(csb_json_get_int(d.v, "name", &i, &err), err, "`/name`: expected integer, got string");
  ExpectErr(csb_json_get_int(d.v, "big", &i, &err), err,
            "`/big`: 1e20 is out of range [-9007199254740992, 9007199254740992]");
  ExpectErr(csb_json_get_int_range(d.v, "port", 0, 1023, &i, &err), err,
            "`/port`: 8080 is out of range [0, 1023]");
  ExpectErr(csb_json_get_int_range(d.v, "neg", 0, INT64_MAX, &i, &err), err,
            "`/neg`: -3 is out of range [0, 9007199254740992]");
  EXPECT_EQ(i, 99);
  ExpectErr(csb_json_get_number(d.v, "on", &x, &err), err, "`/on`: expected number, got boolean");
  ExpectErr(csb_json_get_object(d.v, "mixed", &o, &err), err, "`/mixed`: expected object, got array");
  ExpectErr(csb_json_get_array(d.v, "net", &o, &err), err, "`/net`: expected array, got object");
  ExpectErr(csb_json_get_string(d.v, "absent", &s, &err), err, "`/absent`: missing required field");
  ExpectErr(csb_json_get_string(d.v, "Name", &s, &err), err, "`/Name`: missing required field");
  ExpectErr(csb_json_get_bool(d.v, "a/b~c", &b, &err), err, "`/a~1b~0c`: expected boolean, got number");
  csb_strv v;
  csb_strv_init(&v);
  csb_strv_push(&v, "keep");
  ExpectErr(csb_json_get_strings(d.v, "mixed", &v, &err), err, "`/mixed/1`: expected string, got number");
  ExpectErr(csb_json_get_strings(d.v, "name", &v, &err), err, "`/name`: expected array, got string");
  EXPECT_EQ(v.len, 1u);
  csb_strv_free(&v);
  // Not an object at all.
  const cJSON *arr = csb_json_get(d.v, "mixed");
  ExpectErr(csb_json_get_string(arr, "x", &s, &err), err, "expected object, got array");
  ExpectErr(csb_json_opt_string(arr, "x", &s, &err), err, "expected object, got array");
  ExpectErr(csb_json_get_string(nullptr, "x", &s, &err), err, "`/x`: missing required field");
  // err may be NULL.
  EXPECT_EQ(csb_json_get_string(d.v, "port", &s, nullptr), 0);
  EXPECT_EQ(csb_json_get_string(nullptr, "x", &s, nullptr), 0);
}

TEST(JsonGet, Optional) {
  Doc d(kConfig);
  ASSERT_TRUE(d.ok);
  csb_error err;
  const char *s = "default";
  bool b = true;
  int64_t i = 5;
  double x = 1.5;
  const cJSON *o = nullptr;
  csb_strv v;
  csb_strv_init(&v);
  EXPECT_EQ(csb_json_opt_string(d.v, "absent", &s, &err), 1);
  EXPECT_STREQ(s, "default");
  EXPECT_EQ(csb_json_opt_bool(d.v, "absent", &b, &err), 1);
  EXPECT_TRUE(b);
  EXPECT_EQ(csb_json_opt_int(d.v, "absent", &i, &err), 1);
  EXPECT_EQ(csb_json_opt_int_range(d.v, "absent", 0, 1, &i, &err), 1);
  EXPECT_EQ(i, 5);
  EXPECT_EQ(csb_json_opt_number(d.v, "absent", &x, &err), 1);
  EXPECT_EQ(x, 1.5);
  EXPECT_EQ(csb_json_opt_object(d.v, "absent", &o, &err), 1);
  EXPECT_EQ(csb_json_opt_array(d.v, "absent", &o, &err), 1);
  EXPECT_EQ(o, nullptr);
  EXPECT_EQ(csb_json_opt_strings(d.v, "absent", &v, &err), 1);
  EXPECT_EQ(v.len, 0u);
  // Present: read.
  EXPECT_EQ(csb_json_opt_string(d.v, "name", &s, &err), 1);
  EXPECT_STREQ(s, "web");
  EXPECT_EQ(csb_json_opt_int_range(d.v, "port", 0, 65535, &i, &err), 1);
  EXPECT_EQ(i, 8080);
  // Present with a wrong type: error (null is not "absent").
  ExpectErr(csb_json_opt_bool(d.v, "nothing", &b, &err), err, "`/nothing`: expected boolean, got null");
  ExpectErr(csb_json_opt_int_range(d.v, "port", 0, 10, &i, &err), err,
            "`/port`: 8080 is out of range [0, 10]");
  // A missing optional sub-object reads as empty.
  const cJSON *missing = nullptr;
  EXPECT_EQ(csb_json_opt_object(d.v, "sandbox", &missing, &err), 1);
  EXPECT_EQ(csb_json_opt_bool(missing, "net", &b, &err), 1);
  EXPECT_TRUE(b);
}

TEST(JsonGet, ValueChecks) {
  Doc d("[\"s\", 1, true, null, {}, [], 1.5, -9007199254740992, 9007199254740993]");
  ASSERT_TRUE(d.ok);
  csb_error err;
  const char *s;
  int64_t i;
  bool b;
  const cJSON *o;
  EXPECT_EQ(csb_json_as_string(cJSON_GetArrayItem(d.v, 0), &s, &err), 1);
  ExpectErr(csb_json_as_string(cJSON_GetArrayItem(d.v, 1), &s, &err), err, "expected string, got number");
  EXPECT_EQ(csb_json_as_bool(cJSON_GetArrayItem(d.v, 2), &b, &err), 1);
  ExpectErr(csb_json_as_bool(cJSON_GetArrayItem(d.v, 3), &b, &err), err, "expected boolean, got null");
  EXPECT_EQ(csb_json_as_object(cJSON_GetArrayItem(d.v, 4), &o, &err), 1);
  EXPECT_EQ(csb_json_as_array(cJSON_GetArrayItem(d.v, 5), &o, &err), 1);
  ExpectErr(csb_json_as_array(nullptr, &o, &err), err, "expected array, got nothing");
  ExpectErr(csb_json_as_int(cJSON_GetArrayItem(d.v, 6), &i, &err), err, "expected integer, got 1.5");
  EXPECT_EQ(csb_json_as_int(cJSON_GetArrayItem(d.v, 7), &i, &err), 1);
  EXPECT_EQ(i, -9007199254740992LL);
  // 9007199254740993 was rounded while parsing; it reads as 2^53.
  EXPECT_EQ(csb_json_as_int(cJSON_GetArrayItem(d.v, 8), &i, &err), 1);
  EXPECT_EQ(i, 9007199254740992LL);
  cJSON *nan = cJSON_CreateNumber(NAN);
  ExpectErr(csb_json_as_int(nan, &i, &err), err, "expected integer, got null");
  cJSON_Delete(nan);
  EXPECT_STREQ(csb_json_type_name(cJSON_GetArrayItem(d.v, 2)), "boolean");
  EXPECT_STREQ(csb_json_type_name(nullptr), "nothing");
}

TEST(JsonGet, CheckKeys) {
  Doc d("{\"name\":1,\"port\":2,\"bogus\":3,\"other\":4}");
  ASSERT_TRUE(d.ok);
  csb_error err;
  static const char *const all[] = {"name", "port", "bogus", "other", nullptr};
  static const char *const some[] = {"name", "port", nullptr};
  EXPECT_EQ(csb_json_check_keys(d.v, all, "profile `web`", &err), 1);
  ExpectErr(csb_json_check_keys(d.v, some, "profile `web`", &err), err,
            "unknown field `bogus` in profile `web`");
  ExpectErr(csb_json_check_keys(d.v, some, nullptr, &err), err, "unknown field `bogus`");
  ExpectErr(csb_json_check_keys(d.v, nullptr, "x", &err), err, "unknown field `name` in x");
  EXPECT_EQ(csb_json_check_keys(Doc("{}").v, nullptr, "x", &err), 1);
  Doc arr("[]");
  ExpectErr(csb_json_check_keys(arr.v, some, "x", &err), err, "expected object, got array");
  Doc weird("{\"a\\u0001\\\"\":1}");
  ExpectErr(csb_json_check_keys(weird.v, some, "x", &err), err, "unknown field `a\\u0001\"` in x");
}

TEST(JsonGet, ErrorPathComposition) {
  Doc d("{\"profiles\":{\"web\":{\"mounts\":[{\"src\":\"/a\"},{\"src\":5}]}}}");
  ASSERT_TRUE(d.ok);
  // A nested decoder reports relative to its object; callers push segments.
  const cJSON *mounts = csb_json_lookup(d.v, "/profiles/web/mounts");
  ASSERT_NE(mounts, nullptr);
  csb_error err;
  const char *s;
  size_t idx = 0;
  int rc = 1;
  for (const cJSON *m = mounts->child; m && rc; m = m->next, idx++) {
    rc = csb_json_get_string(m, "src", &s, &err);
    if (!rc) {
      csb_json_error_push_index(&err, idx);
      csb_json_error_push_key(&err, "mounts");
      csb_json_error_push_key(&err, "web");
      csb_json_error_push_key(&err, "profiles");
    }
  }
  ExpectErr(rc, err, "`/profiles/web/mounts/1/src`: expected string, got number");
  // A message without a pointer gains one.
  csb_error_set(&err, "expected object, got array");
  csb_json_error_push_key(&err, "a/b");
  EXPECT_STREQ(err.msg, "`/a~1b`: expected object, got array");
  csb_json_error_push_index(&err, 3);
  EXPECT_STREQ(err.msg, "`/3/a~1b`: expected object, got array");
  csb_json_error_push_key(nullptr, "x");  // no-op
  // Very long keys are shortened and the message stays bounded.
  std::string longkey(5000, 'k');
  for (int i = 0; i < 20; i++) csb_json_error_push_key(&err, longkey.c_str());
  EXPECT_LT(strlen(err.msg), sizeof err.msg);
}

// Values quoted in messages are shown like keys in pointers: one line,
// about 100 bytes, controls and bytes that are not UTF-8 escaped.
TEST(JsonGet, DisplayForMessages) {
  auto show = [](const char *s) {
    char *d = csb_json_display(s);
    std::string r(d);
    free(d);
    return r;
  };
  EXPECT_EQ(show("/a/b~c"), "/a/b~c");
  EXPECT_EQ(show("a\nb\x1b[0m\x7f"), "a\\u000ab\\u001b[0m\\u007f");
  EXPECT_EQ(show("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \\xFF");
  EXPECT_EQ(show(""), "");
  EXPECT_EQ(show(nullptr), "");
  EXPECT_EQ(show(std::string(5000, 'x').c_str()), std::string(100, 'x') + "...");
}

TEST(JsonGet, Lookup) {
  Doc d("{\"a\":{\"b\":[10,{\"c/d\":1,\"e~f\":2}]},\"\":3}");
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(csb_json_lookup(d.v, ""), d.v);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/0")->valuedouble, 10);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/1/c~1d")->valuedouble, 1);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/1/e~0f")->valuedouble, 2);
  EXPECT_EQ(csb_json_lookup(d.v, "/")->valuedouble, 3);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/2"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/01"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/-1"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/99999999999999999999999"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/x"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "a"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/1/e~2f"), nullptr);
  EXPECT_EQ(csb_json_lookup(d.v, "/a/b/0/x"), nullptr);
  EXPECT_EQ(csb_json_lookup(nullptr, "/a"), nullptr);
  EXPECT_EQ(csb_json_get(d.v, "a"), csb_json_lookup(d.v, "/a"));
  EXPECT_EQ(csb_json_get(d.v, nullptr), nullptr);
  EXPECT_EQ(csb_json_get(csb_json_lookup(d.v, "/a/b"), "0"), nullptr);
}

TEST(JsonBuild, AddToArrayAndObject) {
  cJSON *a = csb_json_new_array();
  csb_json_add_int(a, nullptr, -(int64_t{1} << 53));
  csb_json_add_number(a, nullptr, 0.25);
  csb_json_add_string(a, nullptr, nullptr);
  cJSON *o = csb_json_add_object(a, nullptr);
  csb_json_add_array(o, "list");
  EXPECT_EQ(Print(a, CSB_JSON_COMPACT), "[-9007199254740992,0.25,\"\",{\"list\":[]}]");
  cJSON_Delete(a);
}

TEST(JsonBuild, BorrowedStringsPrintLikeCopies) {
  std::string key = "k\"ey", value = "v\nal\xff";
  cJSON *docs[2] = {csb_json_new_object(), csb_json_new_object()};
  cJSON *item = nullptr;
  for (int borrow = 0; borrow < 2; borrow++) {
    auto add = borrow ? csb_json_add_string_ref : csb_json_add_string;
    item = add(docs[borrow], key.c_str(), value.c_str());
    add(docs[borrow], "z", nullptr);
    add(csb_json_add_array(docs[borrow], "a"), nullptr, value.c_str());
  }
  // The item points at the caller's strings, and deleting it leaves them.
  EXPECT_EQ(item->valuestring, value.c_str());
  EXPECT_EQ(item->string, key.c_str());
  EXPECT_EQ(Print(docs[1], 0), Print(docs[0], 0));
  cJSON_Delete(docs[0]);
  cJSON_Delete(docs[1]);
  EXPECT_EQ(value, "v\nal\xff");
}

}  // namespace

namespace {

const char *kLocDoc =
    "{\n"
    "  \"profiles\": {\n"
    "    \"web\": {\n"
    "      \"mounts\": [\n"
    "        {\"src\": \"/a\"},\n"
    "        {\"src\": 5, \"x/y\": [1, {\"\\u00e9\\n\": true}]}\n"
    "      ]\n"
    "    }\n"
    "  },\n"
    "  \"skip\": [\"]}\\\"\", {\"a\": [[], {}]}, -1.5e3, null],\n"
    "  \"last\": 1\n"
    "}\n";

TEST(JsonLocate, Pointers) {
  std::string t = kLocDoc;
  int line = 0, col = 0;
  auto at = [&](const char *ptr, int want_exact, int l, int c) {
    EXPECT_EQ(csb_json_locate(t.data(), t.size(), ptr, &line, &col), want_exact) << ptr;
    EXPECT_EQ(line, l) << ptr;
    EXPECT_EQ(col, c) << ptr;
  };
  at("", 1, 1, 1);
  at("/profiles", 1, 2, 15);
  at("/profiles/web/mounts", 1, 4, 17);
  at("/profiles/web/mounts/0", 1, 5, 9);
  at("/profiles/web/mounts/1/src", 1, 6, 17);
  at("/profiles/web/mounts/1/x~1y/1", 1, 6, 31);
  at("/profiles/web/mounts/1/x~1y/1/\xc3\xa9\n", 1, 6, 44);
  at("/last", 1, 11, 11);
  at("/skip/3", 1, 10, 45);
  // Missing: the deepest ancestor.
  at("/profiles/web/mounts/1/dst", 0, 6, 9);
  at("/profiles/web/mounts/2", 0, 4, 17);
  at("/nope/x", 0, 1, 1);
  at("/profiles/web/mounts/01", 0, 4, 17);
  at("x", 0, 1, 1);
  at(nullptr, 1, 1, 1);
  // Garbage text never crashes.
  EXPECT_EQ(csb_json_locate("{\"a\":[1,", 8, "/a/5", &line, &col), 0);
  EXPECT_EQ(csb_json_locate(nullptr, 0, "/a", &line, &col), 0);
}

TEST(JsonLocate, ErrorLocate) {
  std::string t = kLocDoc;
  Doc d(t);
  ASSERT_TRUE(d.ok) << d.err.msg;
  csb_error err;
  const cJSON *m = csb_json_lookup(d.v, "/profiles/web/mounts/1");
  const char *s;
  ASSERT_EQ(csb_json_get_string(m, "src", &s, &err), 0);
  csb_json_error_push_index(&err, 1);
  csb_json_error_push_key(&err, "mounts");
  csb_json_error_push_key(&err, "web");
  csb_json_error_push_key(&err, "profiles");
  ASSERT_EQ(csb_json_error_locate(&err, t.data(), t.size()), 1);
  EXPECT_STREQ(err.msg, "`/profiles/web/mounts/1/src`: expected string, got number");
  EXPECT_EQ(err.line, 6);
  EXPECT_EQ(err.col, 17);
  // Missing member: the object that lacks it.
  ASSERT_EQ(csb_json_get_string(m, "dst", &s, &err), 0);
  csb_json_error_push_index(&err, 1);
  csb_json_error_push_key(&err, "mounts");
  csb_json_error_push_key(&err, "web");
  csb_json_error_push_key(&err, "profiles");
  ASSERT_EQ(csb_json_error_locate(&err, t.data(), t.size()), 1);
  EXPECT_EQ(err.line, 6);
  EXPECT_EQ(err.col, 9);
  // Escaped key in the message.
  const cJSON *inner = csb_json_lookup(d.v, "/profiles/web/mounts/1/x~1y/1");
  ASSERT_EQ(csb_json_get_string(inner, "\xc3\xa9\n", &s, &err), 0);
  EXPECT_STREQ(err.msg, "`/\xc3\xa9\\u000a`: expected string, got boolean");
  csb_json_error_push_index(&err, 1);
  csb_json_error_push_key(&err, "x/y");
  csb_json_error_push_index(&err, 1);
  csb_json_error_push_key(&err, "mounts");
  csb_json_error_push_key(&err, "web");
  csb_json_error_push_key(&err, "profiles");
  ASSERT_EQ(csb_json_error_locate(&err, t.data(), t.size()), 1);
  EXPECT_EQ(err.line, 6);
  EXPECT_EQ(err.col, 44);
  // No pointer: nothing to do.
  csb_error_set(&err, "expected object, got array");
  EXPECT_EQ(csb_json_error_locate(&err, t.data(), t.size()), 0);
  EXPECT_EQ(err.line, 0);
  EXPECT_EQ(csb_json_error_locate(nullptr, t.data(), t.size()), 0);
}

}  // namespace
