// Unit tests for libs/base: allocation helpers, error records, buffers,
// string vectors, file reading, environments, UTF-8, SHA-256 and the host
// system calls (os.c).
#include "csb_base.h"

#include <random>
#include <vector>
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace {

TEST(Alloc, DupAndPrintf) {
  char *s = csb_xstrdup("hello");
  EXPECT_STREQ("hello", s);
  free(s);
  s = csb_xstrndup("hello", 3);
  EXPECT_STREQ("hel", s);
  free(s);
  s = csb_xstrndup("hi", 10);
  EXPECT_STREQ("hi", s);
  free(s);
  s = csb_xasprintf("%s-%d", "x", 42);
  EXPECT_STREQ("x-42", s);
  free(s);
}

TEST(Alloc, ZeroSizesAreValid) {
  void *p = csb_xmalloc(0);
  ASSERT_NE(nullptr, p);
  free(p);
  p = csb_xcalloc(0, 0);
  ASSERT_NE(nullptr, p);
  free(p);
}

TEST(Alloc, GrowDoublesAndKeepsContents) {
  size_t cap = 0;
  int *v = nullptr;
  for (int i = 0; i < 1000; i++) {
    v = static_cast<int *>(csb_xgrow(v, &cap, static_cast<size_t>(i) + 1, sizeof *v));
    v[i] = i;
  }
  EXPECT_GE(cap, 1000u);
  for (int i = 0; i < 1000; i++) ASSERT_EQ(i, v[i]);
  free(v);
}

TEST(Alloc, OutOfMemoryExits70) {
  EXPECT_EXIT(
      {
        size_t cap = 1;
        void *p = csb_xmalloc(1);
        csb_xgrow(p, &cap, SIZE_MAX, 16);
      },
      ::testing::ExitedWithCode(70), "out of memory");
}

TEST(Error, SetClearPrefixAndNull) {
  csb_error e;
  csb_error_clear(&e);
  EXPECT_STREQ("", e.msg);
  EXPECT_EQ(0, csb_error_set_at(&e, 3, 7, "bad %s", "thing"));
  EXPECT_STREQ("bad thing", e.msg);
  EXPECT_EQ(3, e.line);
  EXPECT_EQ(7, e.col);
  EXPECT_EQ(0, csb_error_set(&e, "plain"));
  EXPECT_EQ(0, e.line);
  csb_error_prefix(&e, "file %d", 1);
  EXPECT_STREQ("file 1: plain", e.msg);
  // NULL is accepted everywhere.
  EXPECT_EQ(0, csb_error_set(nullptr, "x"));
  csb_error_clear(nullptr);
  csb_error_prefix(nullptr, "y");
}

TEST(Error, LongMessagesTruncateSafely) {
  csb_error e;
  std::string big(CSB_ERROR_MSG_MAX + 1000, 'a');
  csb_error_set(&e, "%s", big.c_str());
  EXPECT_EQ(sizeof e.msg - 1, strlen(e.msg));
  csb_error_prefix(&e, "%s", big.c_str());
  EXPECT_EQ(sizeof e.msg - 1, strlen(e.msg));
  // A prefix longer than the room left cuts the old message at its end.
  csb_error_set(&e, "%s", big.c_str());
  csb_error_prefix(&e, "p");
  EXPECT_EQ(sizeof e.msg - 1, strlen(e.msg));
  EXPECT_EQ(0, strncmp(e.msg, "p: aaa", 6));
}

// Messages that name paths of PATH_MAX (4096) bytes keep them whole, even
// four of them, and a prefix naming one keeps both.
TEST(Error, PathsOfPathMaxStayWhole) {
  std::string path = "/" + std::string(4094, 'p');
  csb_error e;
  csb_error_set(&e, "refusing to write %s (%s): read-only: protected metadata %s under writable root %s",
                path.c_str(), path.c_str(), path.c_str(), path.c_str());
  std::string want = "refusing to write " + path + " (" + path + "): read-only: protected metadata " +
                     path + " under writable root " + path;
  EXPECT_EQ(want, e.msg);
  csb_error_set(&e, "cannot read %s", path.c_str());
  csb_error_prefix(&e, "policy %s", path.c_str());
  EXPECT_EQ("policy " + path + ": cannot read " + path, e.msg);
}

TEST(Buf, AppendPrintfSteal) {
  csb_buf b = {};
  csb_buf_puts(&b, "ab");
  csb_buf_putc(&b, 'c');
  csb_buf_printf(&b, "%d", 123);
  csb_buf_append(&b, "\0z", 2);
  EXPECT_EQ(8u, b.len);
  EXPECT_EQ(0, memcmp(b.data, "abc123\0z", 8));
  EXPECT_EQ('\0', b.data[b.len]);
  csb_buf_reset(&b);
  EXPECT_EQ(0u, b.len);
  EXPECT_STREQ("", b.data);
  csb_buf_puts(&b, "kept");
  char *s = csb_buf_steal(&b);
  EXPECT_STREQ("kept", s);
  EXPECT_EQ(nullptr, b.data);
  EXPECT_EQ(0u, b.len);
  free(s);
  // Stealing from an empty buffer yields an empty heap string.
  s = csb_buf_steal(&b);
  EXPECT_STREQ("", s);
  free(s);
  csb_buf_free(&b);
}

TEST(Buf, LargeAppends) {
  csb_buf b;
  csb_buf_init(&b);
  std::string chunk(4097, 'x');
  for (int i = 0; i < 100; i++) csb_buf_append(&b, chunk.data(), chunk.size());
  EXPECT_EQ(chunk.size() * 100, b.len);
  EXPECT_EQ('\0', b.data[b.len]);
  csb_buf_free(&b);
}

TEST(Strv, PushSortUniqueIsArgv) {
  csb_strv v;
  csb_strv_init(&v);
  csb_strv_push(&v, "b");
  csb_strv_push_owned(&v, csb_xstrdup("a"));
  csb_strv_pushf(&v, "%c", 'b');
  csb_strv_push(&v, "c");
  ASSERT_EQ(4u, v.len);
  EXPECT_EQ(nullptr, v.items[v.len]);
  EXPECT_TRUE(csb_strv_contains(&v, "c"));
  EXPECT_FALSE(csb_strv_contains(&v, "d"));
  csb_strv_sort_unique(&v);
  ASSERT_EQ(3u, v.len);
  EXPECT_STREQ("a", v.items[0]);
  EXPECT_STREQ("b", v.items[1]);
  EXPECT_STREQ("c", v.items[2]);
  EXPECT_EQ(nullptr, v.items[3]);
  csb_strv_free(&v);
  EXPECT_EQ(0u, v.len);
  csb_strv_free(&v);  // idempotent
}

TEST(Strv, SortUniqueIsBytewiseOnRandomStrings) {
  // Long shared prefixes, bytes above 0x7f, prefixes of one another and
  // duplicates: the order must be strcmp's (unsigned bytes).
  std::mt19937_64 rng(3);
  const char alphabet[] = "/ab.-\x7f\x80\xff";
  for (int round = 0; round < 50; round++) {
    csb_strv v;
    csb_strv_init(&v);
    std::vector<std::string> want;
    size_t n = rng() % 300;
    for (size_t i = 0; i < n; i++) {
      std::string x = "/tmp/some/long/common/prefix/" + std::string(rng() % 3, 'p');
      for (size_t k = rng() % 20; k > 0; k--) x += alphabet[rng() % (sizeof alphabet - 1)];
      want.push_back(x);
      csb_strv_push(&v, x.c_str());
      if (rng() % 5 == 0) {
        want.push_back(x);
        csb_strv_push(&v, x.c_str());
      }
    }
    std::sort(want.begin(), want.end(), [](const std::string &a, const std::string &b) {
      return strcmp(a.c_str(), b.c_str()) < 0;
    });
    want.erase(std::unique(want.begin(), want.end()), want.end());
    csb_strv_sort_unique(&v);
    ASSERT_EQ(v.len, want.size());
    for (size_t i = 0; i < v.len; i++) ASSERT_EQ(want[i], v.items[i]) << i;
    EXPECT_EQ(nullptr, v.items[v.len]);
    csb_strv_free(&v);
  }
}

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char *tmp = getenv("TEST_TMPDIR");
    dir_ = tmp ? tmp : "/tmp";
    path_ = dir_ + "/base_test_input";
  }
  void Write(const std::string &content) {
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(csb_write_all(fd, content.data(), content.size()));
    close(fd);
  }
  std::string dir_, path_;
};

TEST_F(FileTest, ReadsWholeFileWithNulBytes) {
  std::string content("a\0b\nc", 5);
  Write(content);
  char *out = nullptr;
  size_t len = 0;
  csb_error err;
  ASSERT_TRUE(csb_read_file(path_.c_str(), 1024, &out, &len, &err)) << err.msg;
  EXPECT_EQ(5u, len);
  EXPECT_EQ(0, memcmp(out, content.data(), 5));
  EXPECT_EQ('\0', out[len]);
  free(out);
}

TEST_F(FileTest, RejectsTooLarge) {
  Write(std::string(100, 'x'));
  char *out = nullptr;
  csb_error err;
  EXPECT_FALSE(csb_read_file(path_.c_str(), 99, &out, nullptr, &err));
  EXPECT_NE(nullptr, strstr(err.msg, "larger than 99 bytes")) << err.msg;
  EXPECT_EQ(nullptr, out);
  ASSERT_TRUE(csb_read_file(path_.c_str(), 100, &out, nullptr, &err)) << err.msg;
  free(out);
}

TEST_F(FileTest, HeadOfALargerFile) {
  Write(std::string("ab\0", 3) + std::string(100, 'x'));
  char *out = nullptr;
  size_t len = 0;
  csb_error err;
  ASSERT_TRUE(csb_read_file_head(path_.c_str(), 10, &out, &len, &err)) << err.msg;
  EXPECT_EQ(10u, len);
  EXPECT_EQ(0, memcmp(out, "ab\0xxxxxxx", 10));
  EXPECT_EQ('\0', out[10]);
  free(out);
  ASSERT_TRUE(csb_read_file_head(path_.c_str(), 1000, &out, &len, &err)) << err.msg;
  EXPECT_EQ(103u, len);
  free(out);
  EXPECT_FALSE(csb_read_file_head((dir_ + "/missing").c_str(), 10, &out, &len, &err));
  EXPECT_NE(nullptr, strstr(err.msg, "cannot open")) << err.msg;
}

#if !defined(_WIN32)
// A `.git` pointer file that a sandboxed command swapped for a FIFO after
// the caller looked at it: refused at once, not waited for (csb-bwrap's
// outer stage would otherwise hang while it plans, before the sandbox).
TEST_F(FileTest, HeadOfAFifoIsRefusedWithoutWaiting) {
  std::string fifo = dir_ + "/base_test_fifo";
  unlink(fifo.c_str());
  ASSERT_EQ(0, mkfifo(fifo.c_str(), 0600));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(5);
    char *out = nullptr;
    size_t len = 0;
    csb_error err;
    int ok = csb_read_file_head(fifo.c_str(), 10, &out, &len, &err);
    _exit(!ok && strstr(err.msg, "not a regular file") ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  unlink(fifo.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << (WIFSIGNALED(status) ? "waited for a writer" : "read a FIFO");
  char *out = nullptr;
  size_t len = 0;
  csb_error err;
  EXPECT_FALSE(csb_read_file_head("/dev/null", 10, &out, &len, &err));
}
#endif

TEST_F(FileTest, SizesFromTheFileOrGrowing) {
  // Exactly the size, larger than a page, and a file that reports no size.
  for (size_t n : {size_t(1), size_t(4095), size_t(4096), size_t(70000), size_t(300000)}) {
    std::string content;
    for (size_t i = 0; i < n; i++) content += char('a' + i % 26);
    Write(content);
    char *out = nullptr;
    size_t len = 0;
    csb_error err;
    ASSERT_TRUE(csb_read_file(path_.c_str(), 1 << 20, &out, &len, &err)) << err.msg;
    EXPECT_EQ(n, len);
    EXPECT_EQ(0, memcmp(out, content.data(), n));
    free(out);
    EXPECT_FALSE(csb_read_file(path_.c_str(), n - 1, &out, nullptr, &err));
  }
  char *out = nullptr;
  size_t len = 0;
  ASSERT_TRUE(csb_read_file("/proc/self/status", 1 << 20, &out, &len, nullptr));
  EXPECT_GT(len, 0u);
  EXPECT_NE(nullptr, strstr(out, "Name:"));
  free(out);
}

TEST(Fd, ReadFdFromPipeLargerThanTheBuffer) {
  int p[2];
  ASSERT_EQ(0, pipe(p));
  std::string content(50000, 'z');
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(p[0]);
    _exit(csb_write_all(p[1], content.data(), content.size()) ? 0 : 1);
  }
  close(p[1]);
  char *out = nullptr;
  size_t len = 0;
  ASSERT_TRUE(csb_read_fd(p[0], "pipe", 1 << 20, &out, &len, nullptr));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_EQ(content.size(), len);
  EXPECT_EQ(std::string(out, len), content);
  free(out);
}

TEST_F(FileTest, MissingAndDirectoryFail) {
  char *out = nullptr;
  csb_error err;
  std::string missing = dir_ + "/does-not-exist";
  EXPECT_FALSE(csb_read_file(missing.c_str(), 10, &out, nullptr, &err));
  EXPECT_NE(nullptr, strstr(err.msg, "does-not-exist")) << err.msg;
  EXPECT_FALSE(csb_read_file(dir_.c_str(), 10, &out, nullptr, &err));
  EXPECT_NE(nullptr, strstr(err.msg, "is a directory")) << err.msg;
}

TEST(Fd, ReadFdFromPipe) {
  int p[2];
  ASSERT_EQ(0, pipe(p));
  ASSERT_TRUE(csb_write_all(p[1], "pipe data", 9));
  close(p[1]);
  char *out = nullptr;
  size_t len = 0;
  ASSERT_TRUE(csb_read_fd(p[0], "<pipe>", 100, &out, &len, nullptr));
  close(p[0]);
  EXPECT_EQ(9u, len);
  EXPECT_STREQ("pipe data", out);
  free(out);
}

// `csb-bwrap --policy - <&-`: the message says the input is not open.
TEST(Fd, ReadFdFromAClosedDescriptorSaysSo) {
  int p[2];
  ASSERT_EQ(0, pipe(p));
  close(p[0]);
  close(p[1]);
  char *out = nullptr;
  csb_error err;
  EXPECT_FALSE(csb_read_fd(p[0], "<stdin>", 100, &out, nullptr, &err));
  EXPECT_EQ(nullptr, out);
  EXPECT_EQ(std::string("<stdin>: not open (descriptor ") + std::to_string(p[0]) +
                " is closed; give the input with `< FILE` or a pipe)",
            err.msg);
}

TEST(Buf, JsonStrings) {
  csb_buf b;
  csb_buf_init(&b);
  char *items[] = {(char *)"a", (char *)"q\"\n", nullptr};
  csb_buf_put_json_strings(&b, items, 2);
  EXPECT_STREQ("[\"a\", \"q\\\"\\n\"]", b.data);
  csb_buf_reset(&b);
  csb_buf_put_json_strings(&b, items, 0);
  EXPECT_STREQ("[]", b.data);
  csb_buf_free(&b);
}

TEST(Env, GetMatchesWholeNames) {
  char *env[] = {(char *)"PATH=/bin", (char *)"HOME=/h", (char *)"HOMEX=/x", (char *)"EMPTY=",
                 nullptr};
  EXPECT_STREQ("/h", csb_env_get(env, "HOME"));
  EXPECT_STREQ("/x", csb_env_get(env, "HOMEX"));
  EXPECT_STREQ("", csb_env_get(env, "EMPTY"));
  EXPECT_EQ(nullptr, csb_env_get(env, "HOM"));
  EXPECT_EQ(nullptr, csb_env_get(env, "home"));
  EXPECT_EQ(nullptr, csb_env_get(nullptr, "HOME"));
}

struct Utf8Case {
  const char *bytes;
  size_t n;
  size_t len;      // 0: invalid
  uint32_t cp;     // when valid
  const char *why; // when invalid
};

TEST(Utf8, DecodeFollowsTable3_7) {
  const Utf8Case cases[] = {
      {"A", 1, 1, 0x41, nullptr},
      {"\xC2\x80", 2, 2, 0x80, nullptr},
      {"\xDF\xBF", 2, 2, 0x7FF, nullptr},
      {"\xE0\xA0\x80", 3, 3, 0x800, nullptr},
      {"\xED\x9F\xBF", 3, 3, 0xD7FF, nullptr},
      {"\xEE\x80\x80", 3, 3, 0xE000, nullptr},
      {"\xF0\x90\x80\x80", 4, 4, 0x10000, nullptr},
      {"\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF, nullptr},
      {"\xE2\x82\xAC rest", 7, 3, 0x20AC, nullptr},
      {"\x80", 1, 0, 0, "unexpected UTF-8 continuation byte"},
      {"\xC0\xAF", 2, 0, 0, "overlong UTF-8 encoding"},
      {"\xC1\xBF", 2, 0, 0, "overlong UTF-8 encoding"},
      {"\xE0\x9F\xBF", 3, 0, 0, "overlong UTF-8 encoding"},
      {"\xF0\x8F\xBF\xBF", 4, 0, 0, "overlong UTF-8 encoding"},
      {"\xED\xA0\x80", 3, 0, 0, "UTF-8-encoded surrogate"},
      {"\xF4\x90\x80\x80", 4, 0, 0, "UTF-8 sequence beyond U+10FFFF"},
      {"\xF5\x80\x80\x80", 4, 0, 0, "invalid UTF-8 byte (beyond U+10FFFF)"},
      {"\xFF", 1, 0, 0, "invalid UTF-8 byte (beyond U+10FFFF)"},
      {"\xC3", 1, 0, 0, "truncated UTF-8 sequence"},
      {"\xE2\x82", 2, 0, 0, "truncated UTF-8 sequence"},
      {"\xE2\x82" "A", 3, 0, 0, "truncated UTF-8 sequence"},
      {"\xF0\x9F\x98", 4, 0, 0, "truncated UTF-8 sequence"},  // the NUL ends it
  };
  for (const auto &c : cases) {
    uint32_t cp = 0xDEAD;
    const char *why = nullptr;
    size_t got = csb_utf8_decode(c.bytes, c.n, &cp, &why);
    EXPECT_EQ(c.len, got) << c.bytes;
    if (c.len) {
      EXPECT_EQ(c.cp, cp) << c.bytes;
      EXPECT_EQ(nullptr, why);
    } else {
      ASSERT_NE(nullptr, why) << c.bytes;
      EXPECT_STREQ(c.why, why) << c.bytes;
    }
    EXPECT_EQ(got, csb_utf8_decode(c.bytes, c.n, nullptr, nullptr));
  }
}

TEST(Utf8, ValidReportsTheFirstBadSequence) {
  size_t bad = 99;
  EXPECT_TRUE(csb_utf8_valid("", 0, &bad));
  EXPECT_TRUE(csb_utf8_valid("a\xC3\xA9z\xF0\x9F\x98\x80", 8, &bad));
  EXPECT_EQ(99u, bad);
  EXPECT_FALSE(csb_utf8_valid("ab\xC3\xA9\xED\xA0\x80x", 8, &bad));
  EXPECT_EQ(4u, bad);
  EXPECT_FALSE(csb_utf8_valid("abc\xE2\x82", 5, &bad));
  EXPECT_EQ(3u, bad);
  EXPECT_FALSE(csb_utf8_valid("\x80", 1, nullptr));
  // A NUL byte is a valid (one-byte) character when a length is given.
  EXPECT_TRUE(csb_utf8_valid("a\0b", 3, nullptr));
}

TEST(Utf8, FirstInvalidNamesTheFirstBadString) {
  char a[] = "ok", b[] = "caf\xC3\xA9", c[] = "\xFF", d[] = "x\xC3";
  char *items[] = {a, b, c, d};
  EXPECT_EQ(2u, csb_utf8_first_invalid(items, 4));
  EXPECT_EQ(2u, csb_utf8_first_invalid(items, 2));
  EXPECT_EQ(0u, csb_utf8_first_invalid(items + 3, 1));
  EXPECT_EQ(0u, csb_utf8_first_invalid(items, 0));
}

TEST(Utf8, EncodeRoundTrips) {
  const uint32_t cps[] = {0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
  for (uint32_t cp : cps) {
    char out[4];
    size_t n = csb_utf8_encode(cp, out);
    EXPECT_EQ(n, cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u);
    uint32_t back = 0xDEAD;
    EXPECT_EQ(n, csb_utf8_decode(out, n, &back, nullptr)) << cp;
    EXPECT_EQ(cp, back);
  }
}

static std::string sha_hex(const std::string &s) {
  char hex[65];
  csb_sha256_hex(s.data(), s.size(), hex);
  return hex;
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sha_hex(""));
  EXPECT_EQ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sha_hex("abc"));
  EXPECT_EQ("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  EXPECT_EQ("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            sha_hex(std::string(1000000, 'a')));
}

TEST(Sha256, IncrementalEqualsOneShotAtEveryPaddingBoundary) {
  std::string data;
  for (int i = 0; i < 200; i++) data.push_back(static_cast<char>(i * 7 + 1));
  for (size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    std::string part = data.substr(0, len);
    csb_sha256 s;
    csb_sha256_init(&s);
    for (size_t i = 0; i < part.size(); i += 3) csb_sha256_update(&s, part.data() + i, std::min<size_t>(3, part.size() - i));
    unsigned char d[CSB_SHA256_LEN];
    csb_sha256_final(&s, d);
    char hex[65];
    csb_hex_encode(d, sizeof d, hex);
    EXPECT_EQ(sha_hex(part), hex) << len;
  }
}

TEST(Hex, Encode) {
  char out[9];
  const unsigned char bytes[] = {0x00, 0x1f, 0xa0, 0xff};
  csb_hex_encode(bytes, 4, out);
  EXPECT_STREQ("001fa0ff", out);
  csb_hex_encode(bytes, 0, out);
  EXPECT_STREQ("", out);
}

// ---- the host system (os.c), POSIX side ---------------------------------------

TEST(Os, InitLeavesArgumentsAlone) {
  char a0[] = "tool", a1[] = "x";
  char *args[] = {a0, a1, nullptr};
  int argc = 2;
  char **argv = args;
  csb_os_init(&argc, &argv);
  EXPECT_EQ(argc, 2);
  EXPECT_EQ(argv, args);
}

TEST(Os, Getenv) {
  ASSERT_EQ(setenv("CSB_OS_TEST_VAR", "v\xc3\xa4l", 1), 0);
  char *v = csb_os_getenv("CSB_OS_TEST_VAR");
  ASSERT_NE(v, nullptr);
  EXPECT_STREQ(v, "v\xc3\xa4l");
  free(v);
  ASSERT_EQ(setenv("CSB_OS_TEST_VAR", "", 1), 0);
  v = csb_os_getenv("CSB_OS_TEST_VAR");
  ASSERT_NE(v, nullptr);
  EXPECT_STREQ(v, "");
  free(v);
  unsetenv("CSB_OS_TEST_VAR");
  EXPECT_EQ(csb_os_getenv("CSB_OS_TEST_VAR"), nullptr);
}

TEST(Os, GetcwdAndFileTypes) {
  char *cwd = csb_os_getcwd();
  ASSERT_NE(cwd, nullptr);
  EXPECT_EQ(cwd[0], '/');
  free(cwd);
  const char *tmp = getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/csb_os_types";
  std::string file = dir + "/f", link = dir + "/l", dlink = dir + "/dl";
  mkdir(dir.c_str(), 0700);
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  unlink(link.c_str());
  unlink(dlink.c_str());
  ASSERT_EQ(symlink("f", link.c_str()), 0);
  ASSERT_EQ(symlink(".", dlink.c_str()), 0);
  csb_file_type t;
  ASSERT_TRUE(csb_os_file_type(dir.c_str(), 0, &t));
  EXPECT_EQ(t, CSB_FILE_DIR);
  ASSERT_TRUE(csb_os_file_type(file.c_str(), 0, &t));
  EXPECT_EQ(t, CSB_FILE_REGULAR);
  ASSERT_TRUE(csb_os_file_type(link.c_str(), 0, &t));
  EXPECT_EQ(t, CSB_FILE_LINK);
  ASSERT_TRUE(csb_os_file_type(link.c_str(), 1, &t));
  EXPECT_EQ(t, CSB_FILE_REGULAR);
  ASSERT_TRUE(csb_os_file_type(dlink.c_str(), 1, &t));
  EXPECT_EQ(t, CSB_FILE_DIR);
  ASSERT_TRUE(csb_os_file_type("/dev/null", 1, &t));
  EXPECT_EQ(t, CSB_FILE_OTHER);
  errno = 0;
  EXPECT_FALSE(csb_os_file_type((dir + "/missing").c_str(), 0, &t));
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(t, CSB_FILE_NONE);
  EXPECT_FALSE(csb_os_file_type((file + "/below").c_str(), 1, &t));
  EXPECT_EQ(errno, ENOTDIR);
  fd = csb_os_open(file.c_str(), O_RDONLY, 0);
  EXPECT_GE(fd, 0);
  close(fd);
}

}  // namespace

TEST(Numbers, PortsAreDecimalDigitsUpTo65535) {
  struct {
    const char *s;
    int ok, value;
  } cases[] = {
      {"0", 1, 0},         {"1", 1, 1},         {"80", 1, 80},      {"65535", 1, 65535},
      {"08080", 1, 8080},  {"0000080", 1, 80},  {"65536", 0, 0},    {"99999999999999999999", 0, 0},
      {"", 0, 0},          {"+80", 0, 0},       {"-1", 0, 0},       {" 80", 0, 0},
      {"80 ", 0, 0},       {"8o", 0, 0},        {"0x50", 0, 0},     {"\xd9\xa1", 0, 0},
  };
  for (const auto &c : cases) {
    int v = -7;
    EXPECT_EQ(csb_parse_port(c.s, strlen(c.s), &v), c.ok) << c.s;
    EXPECT_EQ(v, c.ok ? c.value : -7) << c.s;
  }
  int v = -7;
  EXPECT_EQ(csb_parse_port("8080", 2, &v), 1);  // only the first n bytes
  EXPECT_EQ(v, 80);
}

TEST(Os, UserDatabaseHomeIgnoresHome) {
  const char *was = getenv("HOME");
  std::string saved = was ? was : "";
  setenv("HOME", "/elsewhere", 1);
  char *h = csb_os_user_db_home();
  struct passwd *pw = getpwuid(getuid());
  if (pw && pw->pw_dir && pw->pw_dir[0] == '/') {
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h, pw->pw_dir);
  } else {
    EXPECT_EQ(h, nullptr);
  }
  free(h);
  if (was) setenv("HOME", saved.c_str(), 1);
  else unsetenv("HOME");
}

static std::string slurp(const std::string &path) {
  char *text = nullptr;
  size_t len = 0;
  csb_error err;
  if (!csb_read_file(path.c_str(), 1 << 20, &text, &len, &err)) return "<" + std::string(err.msg) + ">";
  std::string s(text, len);
  free(text);
  return s;
}

static std::vector<std::string> names_in(const std::string &dir) {
  std::vector<std::string> v;
  DIR *d = opendir(dir.c_str());
  if (d == nullptr) return v;
  while (struct dirent *e = readdir(d))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) v.push_back(e->d_name);
  closedir(d);
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Os, ReplaceFileIsAllOrNothing) {
  const char *tmp = getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/csb_os_replace";
  std::string f = dir + "/plan.json";
  mkdir(dir.c_str(), 0700);
  unlink(f.c_str());
  csb_error err;
  // a new file: the content, the mode creating it gives, nothing else left
  mode_t mask = umask(022);
  ASSERT_TRUE(csb_os_replace_file(f.c_str(), "new\n", 4, &err)) << err.msg;
  umask(mask);
  EXPECT_EQ(slurp(f), "new\n");
  struct stat st;
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // a replaced file keeps its mode
  ASSERT_EQ(chmod(f.c_str(), 0640), 0);
  ASSERT_TRUE(csb_os_replace_file(f.c_str(), "second", 6, &err)) << err.msg;
  EXPECT_EQ(slurp(f), "second");
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"plan.json"});
  // a write that fails half way (file size limit) leaves the old content
  // and no temporary file
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {3, 3};
    setrlimit(RLIMIT_FSIZE, &rl);
    csb_error e2;
    int ok = csb_os_replace_file(f.c_str(), "too long", 8, &e2);
    _exit(!ok && strstr(e2.msg, "cannot write `") != nullptr && strstr(e2.msg, "too large") ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(slurp(f), "second");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"plan.json"});
  // no such directory: an error naming the path, nothing created
  std::string missing = dir + "/missing/plan.json";
  EXPECT_FALSE(csb_os_replace_file(missing.c_str(), "x", 1, &err));
  EXPECT_EQ(std::string(err.msg), "cannot create `" + missing + "`: No such file or directory");
  // what is not a regular file is written in place: /dev/null stays a device
  ASSERT_TRUE(csb_os_replace_file("/dev/null", "x", 1, &err)) << err.msg;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // and a symbolic link keeps leading to its file
  std::string link = dir + "/link";
  unlink(link.c_str());
  ASSERT_EQ(symlink("plan.json", link.c_str()), 0);
  ASSERT_TRUE(csb_os_replace_file(link.c_str(), "third", 5, &err)) << err.msg;
  struct stat lst;
  ASSERT_EQ(lstat(link.c_str(), &lst), 0);
  EXPECT_TRUE(S_ISLNK(lst.st_mode));
  EXPECT_EQ(slurp(f), "third");
}
