// toml_test.cc - unit tests for libs/toml.
#include "csb_toml.h"

#include <chrono>
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

// Owns a parsed document (or the error).
struct Doc {
  csb_toml_value *v = nullptr;
  csb_error err;
  bool ok = false;
  explicit Doc(const std::string &text) {
    csb_error_clear(&err);
    ok = csb_toml_parse(text.data(), text.size(), &v, &err) == 1;
  }
  ~Doc() { csb_toml_value_free(v); }
  Doc(const Doc &) = delete;
  Doc &operator=(const Doc &) = delete;
};

// Owns a parsed standalone value.
struct Val {
  csb_toml_value *v = nullptr;
  csb_error err;
  bool ok = false;
  explicit Val(const std::string &text) {
    csb_error_clear(&err);
    ok = csb_toml_parse_value(text.data(), text.size(), &v, &err) == 1;
  }
  ~Val() { csb_toml_value_free(v); }
  Val(const Val &) = delete;
  Val &operator=(const Val &) = delete;
};

// Owning pointer for values built by hand.
struct Owned {
  csb_toml_value *v;
  explicit Owned(csb_toml_value *x) : v(x) {}
  ~Owned() { csb_toml_value_free(v); }
  Owned(const Owned &) = delete;
  Owned &operator=(const Owned &) = delete;
};

// Walks a dotted path of bare keys.
const csb_toml_value *Get(const csb_toml_value *t, const std::string &path) {
  size_t start = 0;
  while (t) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    t = csb_toml_table_getn(t, part.data(), part.size());
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return t;
}

std::string Str(const csb_toml_value *v) {
  size_t n = 0;
  const char *s = csb_toml_as_string(v, &n);
  EXPECT_NE(s, nullptr);
  return s ? std::string(s, n) : std::string();
}

int64_t Int(const csb_toml_value *v) {
  int64_t i = 0;
  EXPECT_TRUE(csb_toml_as_int(v, &i));
  return i;
}

double Dbl(const csb_toml_value *v) {
  double d = 0;
  EXPECT_TRUE(csb_toml_as_double(v, &d));
  return d;
}

std::vector<std::string> Keys(const csb_toml_value *t) {
  std::vector<std::string> r;
  for (size_t i = 0; i < csb_toml_table_len(t); i++) {
    size_t n;
    const char *k = csb_toml_table_key_at(t, i, &n);
    r.emplace_back(k, n);
  }
  return r;
}

// Position of key `key` in table t.
csb_toml_pos KeyPos(const csb_toml_value *t, const std::string &key) {
  size_t i = 0;
  EXPECT_TRUE(csb_toml_table_find(t, key.data(), key.size(), &i)) << key;
  return csb_toml_table_key_pos_at(t, i);
}

// Parses text and expects an error at line:col whose message contains `frag`.
void ExpectError(const std::string &text, int line, int col, const std::string &frag = "") {
  Doc d(text);
  ASSERT_FALSE(d.ok) << "accepted: " << text;
  EXPECT_EQ(d.v, nullptr);
  EXPECT_EQ(d.err.line, line) << text << " -> " << d.err.msg;
  EXPECT_EQ(d.err.col, col) << text << " -> " << d.err.msg;
  if (!frag.empty()) {
    EXPECT_NE(std::string(d.err.msg).find(frag), std::string::npos) << d.err.msg;
  }
}

void ExpectInvalid(const std::string &text) {
  Doc d(text);
  EXPECT_FALSE(d.ok) << "accepted: " << text;
  if (!d.ok) {
    EXPECT_GE(d.err.line, 1) << text;
    EXPECT_GE(d.err.col, 1) << text;
  }
}

void ExpectValid(const std::string &text) {
  Doc d(text);
  EXPECT_TRUE(d.ok) << text << " -> " << d.err.line << ":" << d.err.col << ": " << d.err.msg;
}

// ---- value types ---------------------------------------------------------------

TEST(TomlValues, Strings) {
  Doc d(
      "basic = \"tab\\tquote\\\"back\\\\slash\\u00e9\\U0001F600\\b\\f\\n\\r\"\n"
      "literal = 'C:\\Users\\x'\n"
      "ml = \"\"\"\nline1\nline2\"\"\"\n"
      "ml_cont = \"\"\"\\\n    The quick \\\n\n    fox\"\"\"\n"
      "ml_quotes = \"\"\"a\"\"b\"\"\"\"\"\n"
      "mll = '''\nraw \\n 'q' ''x'''''\n"
      "nul = \"a\\u0000b\"\n"
      "crlf = \"\"\"a\r\nb\"\"\"\n"
      "empty = ''\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Str(Get(d.v, "basic")),
            "tab\tquote\"back\\slash\xc3\xa9\xf0\x9f\x98\x80\b\f\n\r");
  EXPECT_EQ(Str(Get(d.v, "literal")), "C:\\Users\\x");
  EXPECT_EQ(Str(Get(d.v, "ml")), "line1\nline2");
  EXPECT_EQ(Str(Get(d.v, "ml_cont")), "The quick fox");
  EXPECT_EQ(Str(Get(d.v, "ml_quotes")), "a\"\"b\"\"");
  EXPECT_EQ(Str(Get(d.v, "mll")), "raw \\n 'q' ''x''");
  EXPECT_EQ(Str(Get(d.v, "nul")), std::string("a\0b", 3));
  EXPECT_EQ(Str(Get(d.v, "crlf")), "a\nb");  // newlines are normalised to LF
  EXPECT_EQ(Str(Get(d.v, "empty")), "");
  EXPECT_EQ(csb_toml_value_kind(Get(d.v, "nul")), CSB_TOML_STRING);
}

TEST(TomlValues, Integers) {
  Doc d(
      "a = 99\nb = +17\nc = -17\nd = 0\ne = -0\nf = 1_000_000\n"
      "g = 0xDEAD_beef\nh = 0o755\ni = 0b1101_0110\n"
      "max = 9223372036854775807\nmin = -9223372036854775808\n"
      "hmax = 0x7FFFFFFFFFFFFFFF\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Int(Get(d.v, "a")), 99);
  EXPECT_EQ(Int(Get(d.v, "b")), 17);
  EXPECT_EQ(Int(Get(d.v, "c")), -17);
  EXPECT_EQ(Int(Get(d.v, "d")), 0);
  EXPECT_EQ(Int(Get(d.v, "e")), 0);
  EXPECT_EQ(Int(Get(d.v, "f")), 1000000);
  EXPECT_EQ(Int(Get(d.v, "g")), 0xDEADBEEF);
  EXPECT_EQ(Int(Get(d.v, "h")), 0755);
  EXPECT_EQ(Int(Get(d.v, "i")), 0xD6);
  EXPECT_EQ(Int(Get(d.v, "max")), INT64_MAX);
  EXPECT_EQ(Int(Get(d.v, "min")), INT64_MIN);
  EXPECT_EQ(Int(Get(d.v, "hmax")), INT64_MAX);

  ExpectError("x = 9223372036854775808\n", 1, 5, "64 bits");
  ExpectError("x = -9223372036854775809\n", 1, 5, "64 bits");
  ExpectError("x = 0x8000000000000000\n", 1, 5, "64 bits");
  ExpectError("x = 012\n", 1, 5, "leading zeros");
  ExpectError("x = 1__2\n", 1, 7, "between two digits");
  ExpectError("x = 1_\n", 1, 6, "between two digits");
  ExpectError("x = -0x1\n", 1, 5, "sign");
  ExpectError("x = 0xG\n", 1, 7);
  ExpectError("x = 0o8\n", 1, 7);
  ExpectError("x = 0b2\n", 1, 7);
  ExpectInvalid("x = 0X1\n");
  ExpectInvalid("x = +\n");
  ExpectInvalid("x = 1 2\n");
}

TEST(TomlValues, Floats) {
  Doc d(
      "a = 1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\n"
      "g = 6.626e-34\nh = 224_617.445_991_228\ni = inf\nj = +inf\nk = -inf\n"
      "l = nan\nm = +nan\nn = -nan\no = -0.0\np = 1e2\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Dbl(Get(d.v, "a")), 1.0);
  EXPECT_EQ(Dbl(Get(d.v, "b")), 3.1415);
  EXPECT_EQ(Dbl(Get(d.v, "d")), 5e22);
  EXPECT_EQ(Dbl(Get(d.v, "e")), 1e6);
  EXPECT_EQ(Dbl(Get(d.v, "f")), -0.02);
  EXPECT_EQ(Dbl(Get(d.v, "h")), 224617.445991228);
  EXPECT_TRUE(std::isinf(Dbl(Get(d.v, "i"))) && Dbl(Get(d.v, "i")) > 0);
  EXPECT_TRUE(std::isinf(Dbl(Get(d.v, "k"))) && Dbl(Get(d.v, "k")) < 0);
  EXPECT_TRUE(std::isnan(Dbl(Get(d.v, "l"))));
  EXPECT_TRUE(std::isnan(Dbl(Get(d.v, "n"))));
  EXPECT_TRUE(std::signbit(Dbl(Get(d.v, "o"))));
  // The written form is kept (minus underscores).
  EXPECT_STREQ(csb_toml_float_text(Get(d.v, "p")), "1e2");
  EXPECT_STREQ(csb_toml_float_text(Get(d.v, "h")), "224617.445991228");
  EXPECT_STREQ(csb_toml_float_text(Get(d.v, "j")), "+inf");
  EXPECT_STREQ(csb_toml_float_text(Get(d.v, "e")), "1e06");
  // An integer is not a double.
  Doc i("x = 1\n");
  double dd;
  EXPECT_FALSE(csb_toml_as_double(Get(i.v, "x"), &dd));

  ExpectError("x = 1e400\n", 1, 5, "out of range");
  ExpectError("x = .5\n", 1, 5);
  ExpectError("x = 5.\n", 1, 7, "decimal point");
  ExpectError("x = 1.e5\n", 1, 7);
  ExpectError("x = 1e\n", 1, 7, "exponent");
  ExpectInvalid("x = 01.5\n");
  ExpectInvalid("x = 1._5\n");
  ExpectInvalid("x = 1.5_\n");
  ExpectInvalid("x = 1e_5\n");
  ExpectInvalid("x = Inf\n");
  ExpectInvalid("x = NaN\n");
  ExpectInvalid("x = infinity\n");
  ExpectInvalid("x = 1.2.3\n");
}

TEST(TomlValues, FloatTextOfBuiltValues) {
  struct {
    double d;
    const char *text;
  } cases[] = {{1.0, "1.0"}, {0.1, "0.1"}, {-2.5, "-2.5"}, {1e300, "1e+300"},
               {100, "100.0"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"}};
  for (const auto &c : cases) {
    Owned v(csb_toml_float_new(c.d));
    EXPECT_STREQ(csb_toml_float_text(v.v), c.text);
    // The text reads back as the same float.
    Val back(c.text);
    ASSERT_TRUE(back.ok) << c.text;
    EXPECT_TRUE(csb_toml_equal(v.v, back.v)) << c.text;
  }
}

TEST(TomlValues, Booleans) {
  Doc d("t = true\nf = false\n");
  ASSERT_TRUE(d.ok);
  int b = -1;
  EXPECT_TRUE(csb_toml_as_bool(Get(d.v, "t"), &b));
  EXPECT_EQ(b, 1);
  EXPECT_TRUE(csb_toml_as_bool(Get(d.v, "f"), &b));
  EXPECT_EQ(b, 0);
  EXPECT_FALSE(csb_toml_as_bool(nullptr, &b));
  ExpectInvalid("x = True\n");
  ExpectInvalid("x = truee\n");
  ExpectInvalid("x = t\n");
}

TEST(TomlValues, DateTimes) {
  Doc d(
      "odt1 = 1979-05-27T07:32:00Z\n"
      "odt2 = 1979-05-27T00:32:00-07:00\n"
      "odt3 = 1979-05-27T00:32:00.999999+05:30\n"
      "odt4 = 1979-05-27 07:32:00z\n"
      "odt5 = 1979-05-27t07:32:00+00:00\n"
      "ldt1 = 1979-05-27T07:32:00\n"
      "ldt2 = 1979-05-27T00:32:00.1234567891234\n"
      "ld = 1979-05-27\n"
      "lt = 00:32:00.5\n"
      "leap = 2000-02-29\n"
      "sec60 = 23:59:60\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  struct {
    const char *key;
    csb_toml_kind kind;
    const char *text;
  } cases[] = {
      {"odt1", CSB_TOML_DATETIME, "1979-05-27T07:32:00Z"},
      {"odt2", CSB_TOML_DATETIME, "1979-05-27T00:32:00-07:00"},
      {"odt3", CSB_TOML_DATETIME, "1979-05-27T00:32:00.999999+05:30"},
      {"odt4", CSB_TOML_DATETIME, "1979-05-27T07:32:00Z"},
      {"odt5", CSB_TOML_DATETIME, "1979-05-27T07:32:00+00:00"},
      {"ldt1", CSB_TOML_DATETIME_LOCAL, "1979-05-27T07:32:00"},
      {"ldt2", CSB_TOML_DATETIME_LOCAL, "1979-05-27T00:32:00.123456789"},
      {"ld", CSB_TOML_DATE_LOCAL, "1979-05-27"},
      {"lt", CSB_TOML_TIME_LOCAL, "00:32:00.5"},
      {"leap", CSB_TOML_DATE_LOCAL, "2000-02-29"},
      {"sec60", CSB_TOML_TIME_LOCAL, "23:59:60"},
  };
  for (const auto &c : cases) {
    const csb_toml_value *v = Get(d.v, c.key);
    ASSERT_NE(v, nullptr) << c.key;
    EXPECT_EQ(csb_toml_value_kind(v), c.kind) << c.key;
    EXPECT_STREQ(csb_toml_datetime_text(v), c.text) << c.key;
  }
  csb_toml_datetime dt;
  ASSERT_TRUE(csb_toml_as_datetime(Get(d.v, "odt3"), &dt));
  EXPECT_TRUE(dt.has_date && dt.has_time && dt.has_offset);
  EXPECT_EQ(dt.year, 1979);
  EXPECT_EQ(dt.month, 5);
  EXPECT_EQ(dt.day, 27);
  EXPECT_EQ(dt.hour, 0);
  EXPECT_EQ(dt.minute, 32);
  EXPECT_EQ(dt.second, 0);
  EXPECT_EQ(dt.nanosecond, 999999000);
  EXPECT_EQ(dt.frac_digits, 6);
  EXPECT_EQ(dt.offset_minutes, 5 * 60 + 30);
  ASSERT_TRUE(csb_toml_as_datetime(Get(d.v, "lt"), &dt));
  EXPECT_FALSE(dt.has_date);
  EXPECT_EQ(dt.nanosecond, 500000000);
  // Z and +00:00 are the same instant.
  EXPECT_TRUE(csb_toml_equal(Get(d.v, "odt1"), Get(d.v, "odt5")));
  EXPECT_FALSE(csb_toml_equal(Get(d.v, "odt1"), Get(d.v, "ldt1")));

  ExpectError("x = 1979-13-01\n", 1, 10, "month");
  ExpectError("x = 1979-02-29\n", 1, 13, "day");
  ExpectError("x = 1900-02-29\n", 1, 13, "day");
  ExpectError("x = 1979-04-31\n", 1, 13, "day");
  ExpectError("x = 24:00:00\n", 1, 5, "hour");
  ExpectError("x = 07:60:00\n", 1, 8, "minute");
  ExpectError("x = 07:32:61\n", 1, 11, "second");
  ExpectError("x = 07:32\n", 1, 10, "seconds are required");
  ExpectError("x = 1979-05-27T07:32:00+24:00\n", 1, 24, "offset");
  ExpectError("x = 1979-05-27T07:32:00.\n", 1, 25, "digits");
  ExpectError("x = 1979-5-27\n", 1, 10, "month");
  ExpectInvalid("x = 1979-05-27T\n");
  ExpectInvalid("x = 1979-05-27T07:32:00X\n");
  ExpectInvalid("x = 07:32:00Z\n");
  ExpectInvalid("x = 07:32:00+01:00\n");
  ExpectInvalid("x = 12345-01-01\n");
}

TEST(TomlValues, DateTimeNew) {
  csb_toml_datetime dt = {};
  dt.has_date = 1;
  dt.year = 2024;
  dt.month = 2;
  dt.day = 29;
  csb_error err;
  Owned v(csb_toml_datetime_new(&dt, &err));
  ASSERT_NE(v.v, nullptr);
  EXPECT_EQ(csb_toml_value_kind(v.v), CSB_TOML_DATE_LOCAL);
  EXPECT_STREQ(csb_toml_datetime_text(v.v), "2024-02-29");
  dt.has_time = 1;
  dt.hour = 1;
  dt.has_offset = 1;
  dt.offset_minutes = -90;
  dt.frac_digits = 3;
  dt.nanosecond = 120000000;
  Owned w(csb_toml_datetime_new(&dt, &err));
  ASSERT_NE(w.v, nullptr);
  EXPECT_STREQ(csb_toml_datetime_text(w.v), "2024-02-29T01:00:00.120-01:30");
  dt.day = 30;
  EXPECT_EQ(csb_toml_datetime_new(&dt, &err), nullptr);
  EXPECT_NE(std::string(err.msg).find("day"), std::string::npos);
}

TEST(TomlValues, ArraysAndInlineTables) {
  Doc d(
      "a = [1, 'two', 3.0, [4], {x = 5}]\n"
      "b = [\n  1, # comment\n  2,\n]\n"
      "c = []\n"
      "d = {}\n"
      "e = {a.b = 1, a.c = 2, \"q k\" = [1,\n2]}\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  const csb_toml_value *a = Get(d.v, "a");
  ASSERT_EQ(csb_toml_array_len(a), 5u);
  EXPECT_EQ(Int(csb_toml_array_at(a, 0)), 1);
  EXPECT_EQ(Str(csb_toml_array_at(a, 1)), "two");
  EXPECT_EQ(csb_toml_value_kind(csb_toml_array_at(a, 2)), CSB_TOML_FLOAT);
  EXPECT_EQ(csb_toml_value_kind(csb_toml_array_at(a, 3)), CSB_TOML_ARRAY);
  EXPECT_EQ(Int(Get(csb_toml_array_at(a, 4), "x")), 5);
  EXPECT_EQ(csb_toml_array_at(a, 5), nullptr);
  EXPECT_EQ(csb_toml_array_len(Get(d.v, "b")), 2u);
  EXPECT_EQ(csb_toml_array_len(Get(d.v, "c")), 0u);
  EXPECT_EQ(csb_toml_value_kind(Get(d.v, "d")), CSB_TOML_TABLE);
  EXPECT_EQ(Int(Get(d.v, "e.a.c")), 2);
  EXPECT_EQ(csb_toml_array_len(Get(d.v, "e.q k")), 2u);
  EXPECT_FALSE(csb_toml_array_is_table_array(a));

  ExpectError("x = [1 2]\n", 1, 8, "','");
  ExpectError("x = [1,,2]\n", 1, 8);
  ExpectError("x = [1,\n", 1, 5, "unterminated array");
  ExpectError("x = {a = 1,}\n", 1, 12, "trailing comma");
  ExpectError("x = {a = 1\n}\n", 1, 11, "newline");
  ExpectError("x = {\na = 1}\n", 1, 6, "newline");
  ExpectError("x = {a = 1, a = 2}\n", 1, 13, "duplicate key `a`");
  ExpectError("x = {a = {}, a.b = 1}\n", 1, 14, "inline table");
}

// ---- structure rules ------------------------------------------------------------

TEST(TomlTables, HeadersAndDottedKeys) {
  Doc d(
      "top = 1\n"
      "[a.b.c]\nx = 1\n"
      "[a]\ny = 2\n"
      "[a.b]\nz = 3\n"
      "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n"
      "[fruit.apple.texture]\nsmooth = true\n"
      "[\"quoted . key\".'lit']\nq = 1\n"
      "[ spaced . header ]\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Keys(d.v), (std::vector<std::string>{"top", "a", "fruit", "quoted . key", "spaced"}));
  EXPECT_EQ(Int(Get(d.v, "a.b.c.x")), 1);
  EXPECT_EQ(Int(Get(d.v, "a.y")), 2);
  EXPECT_EQ(Int(Get(d.v, "a.b.z")), 3);
  EXPECT_EQ(Str(Get(d.v, "fruit.apple.color")), "red");
  EXPECT_NE(Get(d.v, "fruit.apple.texture.smooth"), nullptr);
  const csb_toml_value *q = csb_toml_table_get(d.v, "quoted . key");
  EXPECT_EQ(Int(Get(csb_toml_table_get(q, "lit"), "q")), 1);
  EXPECT_NE(Get(d.v, "spaced.header"), nullptr);
}

TEST(TomlTables, ArraysOfTables) {
  Doc d(
      "[[fruits]]\nname = 'apple'\n"
      "[fruits.physical]\ncolor = 'red'\n"
      "[[fruits.varieties]]\nname = 'red delicious'\n"
      "[[fruits.varieties]]\nname = 'granny smith'\n"
      "[[fruits]]\nname = 'banana'\n"
      "[[fruits.varieties]]\nname = 'plantain'\n");
  ASSERT_TRUE(d.ok) << d.err.msg;
  const csb_toml_value *f = Get(d.v, "fruits");
  ASSERT_EQ(csb_toml_array_len(f), 2u);
  EXPECT_TRUE(csb_toml_array_is_table_array(f));
  EXPECT_EQ(Str(Get(csb_toml_array_at(f, 0), "physical.color")), "red");
  EXPECT_EQ(csb_toml_array_len(Get(csb_toml_array_at(f, 0), "varieties")), 2u);
  EXPECT_EQ(csb_toml_array_len(Get(csb_toml_array_at(f, 1), "varieties")), 1u);
  EXPECT_EQ(Str(Get(csb_toml_array_at(f, 1), "name")), "banana");
}

TEST(TomlTables, DefinitionRules) {
  // Valid combinations.
  ExpectValid("[a.b]\n[a]\n");
  ExpectValid("[a]\nb.c = 1\n[a.b.d]\n");
  ExpectValid("a.b = 1\na.c = 2\n");
  ExpectValid("[[a]]\n[a.b]\n[[a]]\n[a.b]\n");
  ExpectValid("[a]\n[b]\n[a.c]\n");
  ExpectValid("\"\" = 1\n");
  ExpectValid("[a]\n[\"a\".b]\n");

  ExpectError("a = 1\na = 2\n", 2, 1, "duplicate key `a` (first defined at line 1)");
  ExpectError("[a]\n[a]\n", 2, 2, "defined twice");
  ExpectError("[a]\nb = 1\n[a.b]\n", 3, 4, "already an integer");
  ExpectError("[a.b]\n[a]\nb = 1\n", 3, 1, "duplicate key");
  ExpectError("[fruit]\napple.color = 1\n[fruit.apple]\n", 3, 8, "dotted keys");
  ExpectError("a.b = 1\n[a]\n", 2, 2, "dotted keys");
  ExpectError("[a.b.c]\n[a]\nb.d = 1\n", 3, 1, "[header]");
  ExpectError("[[a]]\n[a]\n", 2, 2, "array of tables");
  ExpectError("a = []\n[[a]]\n", 2, 3, "array");
  ExpectError("[a]\n[[a]]\n", 2, 3, "table");
  ExpectError("a = [{b = 1}]\n[a.c]\n", 2, 2, "array");
  ExpectError("a = {b = 1}\n[a]\n", 2, 2, "inline table");
  ExpectError("a = {b = 1}\n[a.c]\n", 2, 2, "inline table");
  ExpectError("a = {b = 1}\na.c = 2\n", 2, 1, "inline table");
  ExpectError("a = {b = {c = 1}}\n[a.b.d]\n", 2, 2, "inline table");
  ExpectError("a = 1\na.b = 2\n", 2, 1, "already an integer");
  ExpectError("[[a.b]]\n[a]\nb.c = 1\n", 3, 1, "array of tables");
  ExpectError("[]\n", 1, 2, "expected a key");
  ExpectError("[a]]\n", 1, 4, "newline");
  ExpectError("[[a]\n", 1, 5, "']]'");
  ExpectError("[a\n", 1, 3, "']'");
  ExpectError("a = 1 b = 2\n", 1, 7, "newline");
  ExpectError("a\n", 1, 2, "'='");
  ExpectError("= 1\n", 1, 1, "key");
  ExpectError("a = \n", 1, 5, "value");
  ExpectError("a = \"\"\"x\"\"\"\"\"\"\n", 1, 14, "quotes");
  ExpectError("\"\"\"k\"\"\" = 1\n", 1, 1, "multi-line");
}

TEST(TomlSyntax, WhitespaceCommentsNewlines) {
  Doc d("\xEF\xBB\xBF# comment \xc3\xa9\r\n\ta\t=\t1 # trailing\r\n\r\n[t] # c\nb = 2");
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(Int(Get(d.v, "a")), 1);
  EXPECT_EQ(Int(Get(d.v, "t.b")), 2);
  ExpectValid("");
  ExpectValid("# only a comment");
  ExpectValid("\n\n\n");

  ExpectError("a = 1\r\n\rb = 2\n", 2, 1, "carriage return");
  ExpectError("a = 1 # x\x7f\n", 1, 10, "U+007F");
  ExpectError("# \x01\n", 1, 3, "U+0001");
  ExpectError("a = \"x\x01\"\n", 1, 7, "U+0001");
  ExpectError("a = 'x\x1f'\n", 1, 7, "U+001F");
  ExpectError("a = \"\"\"x\x7f\"\"\"\n", 1, 9, "U+007F");
  ExpectError("a = \"x\ny\"\n", 1, 7, "unterminated string");
  ExpectError("a = \"abc\n", 1, 9, "unterminated");
  ExpectError("a = \"\"\"abc\n", 1, 5, "unterminated multi-line");
  ExpectError("a = \"\\q\"\n", 1, 6, "invalid escape");
  ExpectError("a = \"\\u12\"\n", 1, 6, "4 hexadecimal");
  ExpectError("a = \"\\uD800\"\n", 1, 6, "scalar");
  ExpectError("a = \"\\U00110000\"\n", 1, 6, "scalar");
  ExpectError("a = \"\"\"\\ x\n\"\"\"\n", 1, 8, "backslash");
  ExpectError("a = \"\\\n\"\n", 1, 6, "invalid escape");
  ExpectError("\xEF\xBB\xBF" "a = 1\n\xEF\xBB\xBF" "b = 2\n", 2, 1, "U+FEFF");
}

TEST(TomlSyntax, Utf8Validation) {
  ExpectValid("a = \"\xe2\x82\xac \xf0\x9f\x98\x80\"\n");
  ExpectError("a = \"\xc0\xaf\"\n", 1, 6, "UTF-8");             // overlong '/'
  ExpectError("a = \"\xe0\x80\xaf\"\n", 1, 6, "UTF-8");         // overlong
  ExpectError("a = \"\xed\xa0\x80\"\n", 1, 6, "UTF-8");         // surrogate
  ExpectError("a = \"\xf4\x90\x80\x80\"\n", 1, 6, "UTF-8");     // > U+10FFFF
  ExpectError("a = \"\xf8\x88\x80\x80\x80\"\n", 1, 6, "UTF-8");  // 5-byte form
  ExpectError("a = \"\xe2\x82\"\n", 1, 6, "UTF-8");             // truncated
  ExpectError("# \xc3\xa9\xc3\n", 1, 4, "UTF-8");               // truncated at end
  ExpectError("\xc3\xa9\xc3\xa9 = \"\x80\"\n", 1, 7, "UTF-8");    // columns in characters
  ExpectError("a = 1\nb = \xff\n", 2, 5, "UTF-8");
  // Characters of a comment count one column each, however many bytes.
  ExpectError("# \xc3\xa9\xe2\x82\xac\x01\n", 1, 5, "control character U+0001");
}

// ---- positions -----------------------------------------------------------------------

TEST(TomlPositions, KeysAndValues) {
  Doc d(
      "name = \"csb\"\n"                         // line 1
      "  \"quoted key\" = 42\n"                   // line 2
      "\"\xc3\xa9t\xc3\xa9\" = '\xc3\xbc'  # c\n"  // line 3: "été" = 'ü'
      "[server.http]\n"                           // line 4
      "port.number = [1,\n  2]\n"                 // lines 5-6
      "[[items]]\n"                               // line 7
      "x = {a = 1}\n");                           // line 8
  ASSERT_TRUE(d.ok) << d.err.msg;
  csb_toml_pos p = KeyPos(d.v, "name");
  EXPECT_EQ(p.line, 1);
  EXPECT_EQ(p.col, 1);
  EXPECT_EQ(p.end_line, 1);
  EXPECT_EQ(p.end_col, 4);
  p = csb_toml_value_pos(Get(d.v, "name"));
  EXPECT_EQ(p.line, 1);
  EXPECT_EQ(p.col, 8);
  EXPECT_EQ(p.end_col, 12);

  p = KeyPos(d.v, "quoted key");
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.col, 3);
  EXPECT_EQ(p.end_col, 14);
  p = csb_toml_value_pos(Get(d.v, "quoted key"));
  EXPECT_EQ(p.col, 18);
  EXPECT_EQ(p.end_col, 19);

  // Columns count characters, not bytes.
  p = KeyPos(d.v, "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(p.line, 3);
  EXPECT_EQ(p.col, 1);
  EXPECT_EQ(p.end_col, 5);
  p = csb_toml_value_pos(Get(d.v, "\xc3\xa9t\xc3\xa9"));
  EXPECT_EQ(p.col, 9);
  EXPECT_EQ(p.end_col, 11);

  // Header parts: the implicit parent and the defined table.
  const csb_toml_value *server = Get(d.v, "server");
  p = KeyPos(d.v, "server");
  EXPECT_EQ(p.line, 4);
  EXPECT_EQ(p.col, 2);
  EXPECT_EQ(p.end_col, 7);
  p = KeyPos(server, "http");
  EXPECT_EQ(p.col, 9);
  EXPECT_EQ(p.end_col, 12);
  p = csb_toml_value_pos(Get(server, "http"));  // the header
  EXPECT_EQ(p.line, 4);
  EXPECT_EQ(p.col, 1);
  EXPECT_EQ(p.end_col, 13);

  // Dotted key parts each have their own position; multi-line value end.
  const csb_toml_value *http = Get(server, "http");
  p = KeyPos(http, "port");
  EXPECT_EQ(p.line, 5);
  EXPECT_EQ(p.col, 1);
  EXPECT_EQ(p.end_col, 4);
  p = KeyPos(Get(http, "port"), "number");
  EXPECT_EQ(p.col, 6);
  EXPECT_EQ(p.end_col, 11);
  p = csb_toml_value_pos(Get(http, "port.number"));
  EXPECT_EQ(p.line, 5);
  EXPECT_EQ(p.col, 15);
  EXPECT_EQ(p.end_line, 6);
  EXPECT_EQ(p.end_col, 4);
  p = csb_toml_value_pos(csb_toml_array_at(Get(http, "port.number"), 1));
  EXPECT_EQ(p.line, 6);
  EXPECT_EQ(p.col, 3);

  const csb_toml_value *item = csb_toml_array_at(Get(d.v, "items"), 0);
  p = csb_toml_value_pos(item);
  EXPECT_EQ(p.line, 7);
  EXPECT_EQ(p.col, 1);
  EXPECT_EQ(p.end_col, 9);
  p = KeyPos(Get(item, "x"), "a");
  EXPECT_EQ(p.line, 8);
  EXPECT_EQ(p.col, 6);
  p = csb_toml_value_pos(Get(item, "x.a"));
  EXPECT_EQ(p.col, 10);
}

TEST(TomlPositions, SourceTags) {
  Doc d("a = 1\n[t]\nb = [1, {c = 2}]\n");
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(KeyPos(d.v, "a").source, 0);
  csb_toml_set_source(d.v, 7);
  EXPECT_EQ(KeyPos(d.v, "a").source, 7);
  EXPECT_EQ(KeyPos(Get(d.v, "t"), "b").source, 7);
  const csb_toml_value *inner = csb_toml_array_at(Get(d.v, "t.b"), 1);
  EXPECT_EQ(csb_toml_value_pos(inner).source, 7);
  EXPECT_EQ(KeyPos(inner, "c").source, 7);
  EXPECT_EQ(csb_toml_value_pos(Get(inner, "c")).source, 7);
}

// ---- standalone values and keys ------------------------------------------------------

TEST(TomlParseValue, Values) {
  {
    Val v("\"workspace-write\"");
    ASSERT_TRUE(v.ok);
    EXPECT_EQ(Str(v.v), "workspace-write");
    EXPECT_EQ(csb_toml_value_pos(v.v).col, 1);
    EXPECT_EQ(csb_toml_value_pos(v.v).end_col, 17);
  }
  {
    Val v("  [1, 2, 3]  # comment\n");
    ASSERT_TRUE(v.ok) << v.err.msg;
    EXPECT_EQ(csb_toml_array_len(v.v), 3u);
    EXPECT_EQ(csb_toml_value_pos(v.v).col, 3);
  }
  {
    Val v("{a = 1, b.c = 'x'}");
    ASSERT_TRUE(v.ok);
    EXPECT_EQ(Str(Get(v.v, "b.c")), "x");
  }
  {
    Val v("true");
    ASSERT_TRUE(v.ok);
    EXPECT_EQ(csb_toml_value_kind(v.v), CSB_TOML_BOOL);
  }
  {
    Val v("1979-05-27 07:32:00");
    ASSERT_TRUE(v.ok);
    EXPECT_EQ(csb_toml_value_kind(v.v), CSB_TOML_DATETIME_LOCAL);
  }
  {
    Val v("read-only");  // not TOML: the caller falls back to a string
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.err.line, 1);
    EXPECT_EQ(v.err.col, 1);
  }
  {
    Val v("1 2");
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.err.col, 3);
  }
  {
    Val v("");
    EXPECT_FALSE(v.ok);
  }
}

TEST(TomlParseKey, Parts) {
  csb_strv parts;
  csb_strv_init(&parts);
  csb_error err;
  const std::string k = "permissions.\"my.profile\" . 'fs'.read";
  ASSERT_TRUE(csb_toml_parse_key(k.data(), k.size(), &parts, &err)) << err.msg;
  ASSERT_EQ(parts.len, 4u);
  EXPECT_STREQ(parts.items[0], "permissions");
  EXPECT_STREQ(parts.items[1], "my.profile");
  EXPECT_STREQ(parts.items[2], "fs");
  EXPECT_STREQ(parts.items[3], "read");
  csb_strv_free(&parts);
  csb_strv_init(&parts);
  const char *bad[] = {"a.", ".a", "a b", "a..b", "", "\"a\\u0000\""};
  for (const char *b : bad) {
    EXPECT_FALSE(csb_toml_parse_key(b, strlen(b), &parts, &err)) << b;
    EXPECT_EQ(parts.len, 0u) << b;
  }
  csb_strv_free(&parts);
}

TEST(TomlParseKey, AppendKeyRoundTrips) {
  const std::string keys[] = {"plain_key-1", "", "with.dot", "sp ace", "q\"uote",
                              std::string("n\0ul", 4), "\xc3\xa9", "tab\there"};
  for (const auto &k : keys) {
    csb_buf b;
    csb_buf_init(&b);
    csb_toml_append_key(&b, k.data(), k.size());
    std::string text(b.data, b.len);
    csb_buf_free(&b);
    Doc d(text + " = 1\n");
    ASSERT_TRUE(d.ok) << text << ": " << d.err.msg;
    EXPECT_EQ(Keys(d.v), std::vector<std::string>{k}) << text;
  }
  csb_buf b;
  csb_buf_init(&b);
  csb_toml_append_key(&b, "abc", 3);
  EXPECT_STREQ(b.data, "abc");
  csb_buf_reset(&b);
  csb_toml_append_key(&b, "a.b", 3);
  EXPECT_STREQ(b.data, "\"a.b\"");
  csb_buf_free(&b);
}

// ---- limits ------------------------------------------------------------------------------

TEST(TomlLimits, Depth) {
  auto nested_arrays = [](int n) { return "a = " + std::string(n, '[') + std::string(n, ']') + "\n"; };
  ExpectValid(nested_arrays(CSB_TOML_MAX_DEPTH));
  ExpectError(nested_arrays(CSB_TOML_MAX_DEPTH + 1), 1, 5 + CSB_TOML_MAX_DEPTH, "deeper");
  ExpectInvalid(nested_arrays(100000));  // no stack overflow

  std::string inl = "a = ";
  for (int i = 0; i < 100000; i++) inl += "{b = ";
  ExpectInvalid(inl);

  // Header parts count too: [t1.t2...] and [[...]] nest tables.
  std::string hdr = "[k";
  for (int i = 1; i < CSB_TOML_MAX_DEPTH; i++) hdr += ".k";
  ExpectValid(hdr + "]\n");
  ExpectInvalid(hdr + ".k]\n");
  ExpectInvalid(hdr + "]\nx = []\n");
  ExpectInvalid(hdr + "]\nx.y = 1\n");
  std::string dotted = "k";
  for (int i = 1; i < 1000; i++) dotted += ".k";
  ExpectInvalid(dotted + " = 1\n");
}

TEST(TomlLimits, LargeInputsAreLinear) {
  // A 1,000,000-element array, a 200,000-key table and 50,000 tables.
  std::string big = "arr = [";
  for (int i = 0; i < 1000000; i++) big += std::to_string(i) + ",";
  big += "]\n[wide]\n";
  for (int i = 0; i < 200000; i++) big += "k" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  for (int i = 0; i < 50000; i++) big += "[t" + std::to_string(i) + ".sub]\nv = 'x'\n";
  ASSERT_GT(big.size(), 10u << 20);
  auto start = std::chrono::steady_clock::now();
  Doc d(big);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(d.ok) << d.err.msg;
  EXPECT_EQ(csb_toml_array_len(Get(d.v, "arr")), 1000000u);
  const csb_toml_value *wide = Get(d.v, "wide");
  EXPECT_EQ(csb_toml_table_len(wide), 200000u);
  EXPECT_EQ(Int(Get(wide, "k199999")), 199999);
  EXPECT_EQ(Keys(wide)[12345], "k12345");
  EXPECT_EQ(csb_toml_table_len(d.v), 2u + 50000u);
  // Generous bound (sanitizers, loaded machines); quadratic behaviour
  // would take minutes.
  EXPECT_LT(secs, 30.0);
}

TEST(TomlLimits, HugeKeyNamesInMessagesAreTruncated) {
  std::string k(5000, 'k');
  Doc d(k + " = 1\n" + k + " = 2\n");
  ASSERT_FALSE(d.ok);
  EXPECT_LT(strlen(d.err.msg), 200u);
  EXPECT_EQ(d.err.line, 2);
}

// ---- editing API -------------------------------------------------------------------------

TEST(TomlEdit, TablesKeepInsertionOrder) {
  Owned t(csb_toml_table_new());
  EXPECT_TRUE(csb_toml_table_set(t.v, "zeta", csb_toml_int_new(1)));
  EXPECT_TRUE(csb_toml_table_set(t.v, "alpha", csb_toml_string_new("a")));
  EXPECT_TRUE(csb_toml_table_set(t.v, "mid", csb_toml_bool_new(1)));
  EXPECT_EQ(Keys(t.v), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  // Replacing keeps the place.
  EXPECT_TRUE(csb_toml_table_set(t.v, "zeta", csb_toml_string_new("z")));
  EXPECT_EQ(Keys(t.v), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(Str(csb_toml_table_get(t.v, "zeta")), "z");
  EXPECT_TRUE(csb_toml_table_remove(t.v, "alpha"));
  EXPECT_FALSE(csb_toml_table_remove(t.v, "alpha"));
  EXPECT_EQ(Keys(t.v), (std::vector<std::string>{"zeta", "mid"}));
  csb_toml_value *taken = csb_toml_table_take(t.v, "mid", 3);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(csb_toml_value_kind(taken), CSB_TOML_BOOL);
  csb_toml_value_free(taken);
  EXPECT_EQ(csb_toml_table_len(t.v), 1u);
  // Keys may contain NUL.
  EXPECT_TRUE(csb_toml_table_setn(t.v, "a\0b", 3, csb_toml_int_new(3)));
  EXPECT_EQ(csb_toml_table_get(t.v, "a"), nullptr);
  EXPECT_EQ(Int(csb_toml_table_getn(t.v, "a\0b", 3)), 3);
  // Wrong kinds are refused (and the value is still consumed).
  Owned arr(csb_toml_array_new());
  EXPECT_FALSE(csb_toml_table_set(arr.v, "x", csb_toml_int_new(1)));
  EXPECT_FALSE(csb_toml_array_push(t.v, csb_toml_int_new(1)));
  EXPECT_EQ(csb_toml_table_len(arr.v), 0u);
  EXPECT_EQ(csb_toml_table_key_at(t.v, 99, nullptr), nullptr);
  EXPECT_EQ(csb_toml_table_value_at(t.v, 99), nullptr);
  EXPECT_EQ(csb_toml_table_key_pos_at(t.v, 99).line, 0);
}

TEST(TomlEdit, LargeTableIndexStaysConsistent) {
  Owned t(csb_toml_table_new());
  const int n = 6000;
  for (int i = 0; i < n; i++)
    csb_toml_table_set(t.v, ("key" + std::to_string(i)).c_str(), csb_toml_int_new(i));
  for (int i = 0; i < n; i += 2)
    EXPECT_TRUE(csb_toml_table_remove(t.v, ("key" + std::to_string(i)).c_str()));
  ASSERT_EQ(csb_toml_table_len(t.v), size_t(n / 2));
  for (int i = 0; i < n; i++) {
    const csb_toml_value *v = csb_toml_table_get(t.v, ("key" + std::to_string(i)).c_str());
    if (i % 2) {
      EXPECT_EQ(Int(v), i);
    } else {
      EXPECT_EQ(v, nullptr);
    }
  }
  EXPECT_EQ(Keys(t.v)[0], "key1");
  EXPECT_EQ(Keys(t.v).back(), "key" + std::to_string(n - 1));
}

TEST(TomlEdit, Arrays) {
  Owned a(csb_toml_array_new());
  for (int i = 0; i < 5; i++) EXPECT_TRUE(csb_toml_array_push(a.v, csb_toml_int_new(i)));
  EXPECT_TRUE(csb_toml_array_set(a.v, 1, csb_toml_string_new("one")));
  EXPECT_FALSE(csb_toml_array_set(a.v, 5, csb_toml_int_new(9)));
  EXPECT_TRUE(csb_toml_array_remove(a.v, 0));
  EXPECT_FALSE(csb_toml_array_remove(a.v, 4));
  ASSERT_EQ(csb_toml_array_len(a.v), 4u);
  EXPECT_EQ(Str(csb_toml_array_at(a.v, 0)), "one");
  EXPECT_EQ(Int(csb_toml_array_at(a.v, 3)), 4);
}

TEST(TomlEdit, CloneIsDeepAndIndependent) {
  Doc d("a = 1\n[t]\nb = [1, {c = 'x'}]\nf = 1.5e3\nd = 1979-05-27\n");
  ASSERT_TRUE(d.ok);
  Owned c(csb_toml_clone(d.v));
  EXPECT_TRUE(csb_toml_equal(d.v, c.v));
  EXPECT_EQ(KeyPos(Get(c.v, "t"), "b").line, 3);
  EXPECT_EQ(csb_toml_value_pos(Get(c.v, "t.f")).col, 5);
  EXPECT_STREQ(csb_toml_float_text(Get(c.v, "t.f")), "1.5e3");
  csb_toml_table_set(const_cast<csb_toml_value *>(Get(c.v, "t")), "new", csb_toml_int_new(1));
  csb_toml_value *inner = csb_toml_array_at(Get(c.v, "t.b"), 1);
  csb_toml_table_set(inner, "c", csb_toml_string_new("changed"));
  EXPECT_FALSE(csb_toml_equal(d.v, c.v));
  EXPECT_EQ(Get(d.v, "t.new"), nullptr);
  EXPECT_EQ(Str(Get(csb_toml_array_at(Get(d.v, "t.b"), 1), "c")), "x");
  EXPECT_EQ(csb_toml_clone(nullptr), nullptr);
}

TEST(TomlEdit, MergeSemantics) {
  Doc base(
      "model = 'a'\n"
      "list = [1, 2, 3]\n"
      "[sandbox]\nmode = 'read-only'\nnet = false\n"
      "[sandbox.write]\nroots = ['/a']\n"
      "[keep]\nx = 1\n"
      "[typed]\ny = 1\n");
  Doc overlay(
      "list = [9]\n"
      "extra = true\n"
      "typed = 'now a string'\n"
      "[sandbox]\nnet = true\nnew = 1\n"
      "[sandbox.write]\nroots = ['/b']\n"
      "[model]\nnow = 'a table'\n");
  ASSERT_TRUE(base.ok && overlay.ok);
  csb_error err;
  ASSERT_TRUE(csb_toml_merge(base.v, csb_toml_clone(overlay.v), &err));
  // Base order kept; new keys appended in overlay order.
  EXPECT_EQ(Keys(base.v),
            (std::vector<std::string>{"model", "list", "sandbox", "keep", "typed", "extra"}));
  // Arrays replaced, not concatenated.
  ASSERT_EQ(csb_toml_array_len(Get(base.v, "list")), 1u);
  EXPECT_EQ(Int(csb_toml_array_at(Get(base.v, "list"), 0)), 9);
  // Tables merge recursively.
  EXPECT_EQ(Str(Get(base.v, "sandbox.mode")), "read-only");
  int b = 0;
  EXPECT_TRUE(csb_toml_as_bool(Get(base.v, "sandbox.net"), &b));
  EXPECT_EQ(b, 1);
  EXPECT_EQ(Int(Get(base.v, "sandbox.new")), 1);
  EXPECT_EQ(Keys(Get(base.v, "sandbox")), (std::vector<std::string>{"mode", "net", "write", "new"}));
  EXPECT_EQ(Str(csb_toml_array_at(Get(base.v, "sandbox.write.roots"), 0)), "/b");
  EXPECT_EQ(Int(Get(base.v, "keep.x")), 1);
  // Type mismatches: the overlay wins either way.
  EXPECT_EQ(Str(Get(base.v, "typed")), "now a string");
  EXPECT_EQ(Str(Get(base.v, "model.now")), "a table");
  // Replaced keys take the overlay's position.
  EXPECT_EQ(KeyPos(base.v, "typed").line, 3);
  EXPECT_EQ(KeyPos(Get(base.v, "sandbox"), "net").line, 5);
  EXPECT_EQ(KeyPos(Get(base.v, "sandbox"), "mode").line, 4);

  // Merging an equal tree is a no-op.
  Owned snap(csb_toml_clone(base.v));
  ASSERT_TRUE(csb_toml_merge(base.v, csb_toml_clone(snap.v), &err));
  EXPECT_TRUE(csb_toml_equal(base.v, snap.v));

  // Non-tables are refused; the overlay is still consumed.
  EXPECT_FALSE(csb_toml_merge(base.v, csb_toml_int_new(1), &err));
  EXPECT_FALSE(csb_toml_merge(const_cast<csb_toml_value *>(Get(base.v, "list")),
                              csb_toml_table_new(), &err));
}

TEST(TomlEdit, BuildAndSetOverride) {
  // The `-c a.b.c=VALUE` flow: split the key, parse the value, build
  // tables, merge.
  csb_strv parts;
  csb_strv_init(&parts);
  csb_error err;
  const std::string key = "sandbox_workspace_write.network_access";
  ASSERT_TRUE(csb_toml_parse_key(key.data(), key.size(), &parts, &err));
  Val value("true");
  ASSERT_TRUE(value.ok);
  csb_toml_value *overlay = csb_toml_table_new();
  csb_toml_value *t = overlay;
  for (size_t i = 0; i + 1 < parts.len; i++) {
    csb_toml_value *nt = csb_toml_table_new();
    csb_toml_table_set(t, parts.items[i], nt);
    t = nt;
  }
  csb_toml_table_set(t, parts.items[parts.len - 1], csb_toml_clone(value.v));
  Doc base("[sandbox_workspace_write]\nwritable_roots = []\n");
  ASSERT_TRUE(base.ok);
  ASSERT_TRUE(csb_toml_merge(base.v, overlay, &err));
  int b = 0;
  EXPECT_TRUE(csb_toml_as_bool(Get(base.v, "sandbox_workspace_write.network_access"), &b));
  EXPECT_EQ(b, 1);
  EXPECT_NE(Get(base.v, "sandbox_workspace_write.writable_roots"), nullptr);
  csb_strv_free(&parts);
}

TEST(TomlEdit, KindNamesAndNulls) {
  EXPECT_STREQ(csb_toml_kind_name(CSB_TOML_TABLE), "table");
  EXPECT_STREQ(csb_toml_kind_name(CSB_TOML_DATETIME_LOCAL), "datetime-local");
  EXPECT_STREQ(csb_toml_kind_name(CSB_TOML_TIME_LOCAL), "time-local");
  csb_toml_value_free(nullptr);
  EXPECT_EQ(csb_toml_table_len(nullptr), 0u);
  EXPECT_EQ(csb_toml_array_len(nullptr), 0u);
  EXPECT_EQ(csb_toml_as_string(nullptr, nullptr), nullptr);
  EXPECT_EQ(csb_toml_datetime_text(nullptr), nullptr);
  EXPECT_EQ(csb_toml_float_text(nullptr), nullptr);
  EXPECT_TRUE(csb_toml_equal(nullptr, nullptr));
  Owned s(csb_toml_string_newn("x\0y", 3));
  size_t n = 0;
  const char *p = csb_toml_as_string(s.v, &n);
  EXPECT_EQ(std::string(p, n), std::string("x\0y", 3));
  EXPECT_EQ(csb_toml_value_pos(s.v).line, 0);
}

// ---- fuzz entry point over seeds and mutations ------------------------------------------------

TEST(TomlFuzz, EntryPointOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "a = 1\n[t]\nb = \"x\\u00e9\"\n[[arr]]\nc = [1, 2.5, true, 1979-05-27T07:32:00Z]\n",
      "a.b.c = {d = [{e = 'f'}], g = 07:32:00}\n\"q\" = '''\nml'''\n",
      "[x.y]\nz = 0x1F\n[x]\nw = -inf\n[[x.y.v]]\n",
      "s = \"\"\"\\\n  a\\tb\"\"\"\nd = 1979-05-27 00:00:00.123-07:00\n",
  };
  csbtest::MutateOptions o;
  o.rounds = 3000;
  o.max_edits = 4;
  o.alphabet = "[]{}=,.\"'#\n\r\t \\u0123456789abefinrtxzTZ:+-_\xc3\xa9\x80\xed";
  o.seed = 11;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

}  // namespace
