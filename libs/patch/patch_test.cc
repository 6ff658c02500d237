// patch_test.cc - unit tests for libs/patch.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "csb_patch.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_journal_one(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_artifact_one(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_walk_one(const uint8_t *data, size_t size);
extern "C" int csb_patch_i_journal_reformat(const char *text, size_t len, char **out);

namespace {

struct Parsed {
  csb_patch *p = nullptr;
  csb_error err{};
  std::string full;
  bool ok = false;
  ~Parsed() { csb_patch_free(p); }
};

void Parse(const std::string &text, Parsed *r, unsigned flags = 0) {
  csb_buf full = {};
  r->ok = csb_patch_parse(text.data(), text.size(), flags, &r->p, &r->err, &full) == 1;
  r->full.assign(full.data ? full.data : "", full.len);
  csb_buf_free(&full);
}

std::string L(const csb_patch_line &l) { return std::string(l.s, l.n); }

// Applies the single update hunk of `patch` to `file`.
bool Update(const std::string &file, const std::string &patch, std::string *out,
            unsigned flags = 0, std::string *msg = nullptr) {
  Parsed r;
  Parse(patch, &r);
  EXPECT_TRUE(r.ok) << r.err.msg;
  if (!r.ok) return false;
  EXPECT_EQ(r.p->n_hunks, 1u);
  csb_buf b = {};
  csb_buf full = {};
  csb_error err;
  bool ok = csb_patch_update_text(file.data(), file.size(), &r.p->hunks[0], "/x/f", flags, &b,
                                  &err, &full) == 1;
  if (ok) out->assign(b.data ? b.data : "", b.len);
  if (!ok && msg) msg->assign(full.data, full.len);
  csb_buf_free(&b);
  csb_buf_free(&full);
  return ok;
}

std::string P(const std::string &body) { return "*** Begin Patch\n" + body + "*** End Patch\n"; }

// ---- parser --------------------------------------------------------------------

TEST(Parse, AllHunkKinds) {
  Parsed r;
  Parse(P("*** Add File: a.txt\n+one\n+two\n*** Delete File: b.txt\n"
          "*** Update File: c.txt\n*** Move to: d.txt\n@@ def f\n ctx\n-old\n+new\n"),
        &r);
  ASSERT_TRUE(r.ok) << r.err.msg;
  ASSERT_EQ(r.p->n_hunks, 3u);
  EXPECT_EQ(r.p->hunks[0].kind, CSB_PATCH_ADD);
  EXPECT_STREQ(r.p->hunks[0].path, "a.txt");
  EXPECT_EQ(std::string(r.p->hunks[0].contents, r.p->hunks[0].contents_len), "one\ntwo\n");
  EXPECT_EQ(r.p->hunks[0].line, 2);
  EXPECT_EQ(r.p->hunks[1].kind, CSB_PATCH_DELETE);
  EXPECT_EQ(r.p->hunks[1].line, 5);
  const csb_patch_hunk &u = r.p->hunks[2];
  EXPECT_EQ(u.kind, CSB_PATCH_UPDATE);
  EXPECT_STREQ(u.move_path, "d.txt");
  ASSERT_EQ(u.n_chunks, 1u);
  EXPECT_TRUE(u.chunks[0].has_context);
  EXPECT_EQ(L(u.chunks[0].context), "def f");
  ASSERT_EQ(u.chunks[0].n_old, 2u);
  ASSERT_EQ(u.chunks[0].n_new, 2u);
  EXPECT_EQ(L(u.chunks[0].old_lines[1]), "old");
  EXPECT_EQ(L(u.chunks[0].new_lines[1]), "new");
  ASSERT_EQ(u.chunks[0].n_ctx, 1u);
  EXPECT_EQ(u.chunks[0].ctx_old[0], 0u);
}

TEST(Parse, ZeroHunksAndEmptyAdd) {
  Parsed r;
  Parse("*** Begin Patch\n*** End Patch", &r);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.p->n_hunks, 0u);
  Parsed r2;
  Parse(P("*** Add File: e\n"), &r2);
  ASSERT_TRUE(r2.ok);
  EXPECT_EQ(r2.p->hunks[0].contents_len, 0u);
}

TEST(Parse, BoundaryErrors) {
  Parsed a;
  Parse("bad\n*** End Patch", &a);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.err.line, 0);
  EXPECT_STREQ(a.err.msg, "The first line of the patch must be '*** Begin Patch'");
  Parsed b;
  Parse("*** Begin Patch\n*** Add File: x\n+1\n", &b);
  EXPECT_STREQ(b.err.msg, "The last line of the patch must be '*** End Patch'");
  Parsed c;
  Parse("  \n\t", &c);
  EXPECT_STREQ(c.err.msg, "The last line of the patch must be '*** End Patch'");
  Parsed d;
  Parse("*** Begin Patch", &d);
  EXPECT_STREQ(d.err.msg, "The last line of the patch must be '*** End Patch'");
}

TEST(Parse, LenientWhitespaceAndCrlf) {
  Parsed r;
  Parse("\n\n  *** Begin Patch  \r\n  *** Add File: a\r\n+x\r\n *** End Patch \n\n", &r);
  ASSERT_TRUE(r.ok) << r.err.msg;
  EXPECT_EQ(std::string(r.p->hunks[0].contents, r.p->hunks[0].contents_len), "x\n");
  // Unicode whitespace around the whole text is trimmed too.
  Parsed u;
  Parse("\xe3\x80\x80*** Begin Patch\n*** Delete File: a\n*** End Patch\xc2\xa0", &u);
  EXPECT_TRUE(u.ok) << u.err.msg;
}

TEST(Parse, Heredoc) {
  for (const char *open : {"<<EOF", "<<'EOF'", "<<\"EOF\""}) {
    Parsed r;
    Parse(std::string(open) + "\n*** Begin Patch\n*** Delete File: a\n*** End Patch\nEOF\n", &r);
    EXPECT_TRUE(r.ok) << open << ": " << r.err.msg;
  }
  Parsed bad;
  Parse("<<'EOF\"\n*** Begin Patch\n*** Delete File: a\n*** End Patch\nEOF\n", &bad);
  EXPECT_FALSE(bad.ok);
  EXPECT_STREQ(bad.err.msg, "The first line of the patch must be '*** Begin Patch'");
  Parsed inner;
  Parse("<<EOF\n*** Begin Patch\n*** Delete File: a\nEOF\n", &inner);
  EXPECT_FALSE(inner.ok);
  EXPECT_STREQ(inner.err.msg, "The last line of the patch must be '*** End Patch'");
  // The shell form is a csb extension behind a flag.
  std::string shell = "apply_patch <<'EOF'\n*** Begin Patch\n*** Delete File: a\n*** End Patch\nEOF";
  Parsed s1, s2;
  Parse(shell, &s1);
  EXPECT_FALSE(s1.ok);
  Parse(shell, &s2, CSB_PATCH_PARSE_SHELL_HEREDOC);
  EXPECT_TRUE(s2.ok) << s2.err.msg;
}

TEST(Parse, HunkErrorsWithLineNumbers) {
  Parsed a;
  Parse(P("*** Frobnicate File: x\n"), &a);
  EXPECT_EQ(a.err.line, 2);
  EXPECT_STREQ(a.err.msg,
               "'*** Frobnicate File: x' is not a valid hunk header. Valid hunk headers: "
               "'*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'");
  Parsed b;
  Parse(P("*** Update File: x\n"), &b);
  EXPECT_EQ(b.err.line, 2);
  EXPECT_STREQ(b.err.msg, "Update file hunk for path 'x' is empty");
  Parsed c;
  Parse(P("*** Update File: x\n@@\n"), &c);
  EXPECT_EQ(c.err.line, 4);
  EXPECT_STREQ(c.err.msg, "Update hunk does not contain any lines");
  Parsed d;
  Parse(P("*** Update File: x\n@@\n*** End of File\n"), &d);
  EXPECT_EQ(d.err.line, 4);
  EXPECT_STREQ(d.err.msg, "Update hunk does not contain any lines");
  Parsed e;
  Parse(P("*** Update File: x\n@@ a\n@@ b\n-x\n"), &e);
  EXPECT_EQ(e.err.line, 4);
  EXPECT_STREQ(e.err.msg,
               "Unexpected line found in update hunk: '@@ b'. Every line should start with ' ' "
               "(context line), '+' (added line), or '-' (removed line)");
  Parsed f;
  Parse(P("*** Update File: x\n@@\n-a\n+b\nbad\n"), &f);
  EXPECT_EQ(f.err.line, 6);
  Parsed g;
  Parse(P("*** Update File: x\n@@\n-a\n*** End of File\n-q\n"), &g);
  EXPECT_FALSE(g.ok);
  EXPECT_EQ(g.err.line, 6);
  EXPECT_STREQ(g.err.msg,
               "Expected update hunk to start with a @@ context marker, got: '-q'");
}

TEST(Parse, ChunkDetails) {
  Parsed r;
  Parse(P("*** Update File: x\n\n ctx\n\n-rm\n+add\n*** End of File\n@@ two\n+z\n"), &r);
  ASSERT_TRUE(r.ok) << r.err.msg;
  const csb_patch_hunk &h = r.p->hunks[0];
  ASSERT_EQ(h.n_chunks, 2u);
  // The first chunk may omit @@; a blank line before it begins it (as
  // upstream), and a blank line inside a chunk is context.
  EXPECT_FALSE(h.chunks[0].has_context);
  EXPECT_TRUE(h.chunks[0].is_end_of_file);
  ASSERT_EQ(h.chunks[0].n_old, 4u);
  EXPECT_EQ(L(h.chunks[0].old_lines[0]), "");
  EXPECT_EQ(L(h.chunks[0].old_lines[1]), "ctx");
  EXPECT_EQ(L(h.chunks[0].old_lines[2]), "");
  EXPECT_EQ(h.chunks[0].n_ctx, 3u);
  EXPECT_EQ(h.chunks[1].line, 9);
}

TEST(Parse, RejectsInvalidUtf8AndHuge) {
  Parsed r;
  Parse(P("*** Add File: \xff\n+x\n"), &r);
  EXPECT_FALSE(r.ok);
  EXPECT_STREQ(r.err.msg, "patch is not valid UTF-8");
}

TEST(Parse, LongMessagesAreKeptWhole) {
  std::string line(5000, 'q');
  Parsed r;
  Parse(P("*** Update File: x\n@@\n" + line + "\n"), &r);
  EXPECT_FALSE(r.ok);
  EXPECT_LT(strlen(r.err.msg), sizeof(r.err.msg));
  EXPECT_NE(r.full.find(line), std::string::npos);
}

// ---- seek ladder ---------------------------------------------------------------

std::vector<csb_patch_line> Lines(const std::vector<std::string> &v) {
  std::vector<csb_patch_line> r;
  for (const auto &s : v) r.push_back({s.data(), s.size()});
  return r;
}

TEST(Seek, Ladder) {
  std::vector<std::string> file = {"foo", "bar  ", "  baz  ", "x \xe2\x80\x94 y \xe2\x80\x9cq\xe2\x80\x9d"};
  auto fl = Lines(file);
  size_t at = 99;
  std::vector<std::string> p1 = {"bar  "};
  auto l1 = Lines(p1);
  ASSERT_TRUE(csb_patch_seek(fl.data(), fl.size(), l1.data(), 1, 0, 0, &at, nullptr));
  EXPECT_EQ(at, 1u);
  std::vector<std::string> p2 = {"bar"};
  auto l2 = Lines(p2);
  ASSERT_TRUE(csb_patch_seek(fl.data(), fl.size(), l2.data(), 1, 0, 0, &at, nullptr));
  EXPECT_EQ(at, 1u);
  std::vector<std::string> p3 = {"baz"};
  auto l3 = Lines(p3);
  ASSERT_TRUE(csb_patch_seek(fl.data(), fl.size(), l3.data(), 1, 0, 0, &at, nullptr));
  EXPECT_EQ(at, 2u);
  std::vector<std::string> p4 = {"x - y \"q\""};
  auto l4 = Lines(p4);
  ASSERT_TRUE(csb_patch_seek(fl.data(), fl.size(), l4.data(), 1, 0, 0, &at, nullptr));
  EXPECT_EQ(at, 3u);
  // Start index respected; longer pattern finds nothing; empty pattern is start.
  EXPECT_FALSE(csb_patch_seek(fl.data(), fl.size(), l1.data(), 1, 2, 0, &at, nullptr));
  std::vector<std::string> big(5, "foo");
  auto lb = Lines(big);
  EXPECT_FALSE(csb_patch_seek(fl.data(), fl.size(), lb.data(), 5, 0, 0, &at, nullptr));
  ASSERT_TRUE(csb_patch_seek(fl.data(), fl.size(), nullptr, 0, 2, 0, &at, nullptr));
  EXPECT_EQ(at, 2u);
}

std::string Utf8(uint32_t cp) {
  char b[4];
  size_t n = csb_utf8_encode(cp, b);
  return std::string(b, n);
}

// Found by the first pass of the ladder that matches (1-based), 0 if none.
int PassFound(const std::string &file_line, const std::string &pat_line) {
  std::vector<std::string> file = {"unrelated", file_line};
  std::vector<std::string> pat = {pat_line};
  auto fl = Lines(file);
  auto pl = Lines(pat);
  size_t at = 99;
  if (!csb_patch_seek(fl.data(), fl.size(), pl.data(), 1, 0, 0, &at, nullptr)) return 0;
  EXPECT_EQ(at, 1u);
  return 1;
}

// Upstream's normalised pass maps exactly these code points (dashes to '-',
// single quotes to '\'', double quotes to '"', spaces to ' '); their
// neighbours stand for themselves.
TEST(Seek, NormalisedPassMapsExactlyUpstreamsCodePoints) {
  struct Map {
    uint32_t lo, hi;
    char to;
  };
  const Map maps[] = {{0x2010, 0x2015, '-'}, {0x2212, 0x2212, '-'}, {0x2018, 0x201B, '\''},
                      {0x201C, 0x201F, '"'}, {0x00A0, 0x00A0, ' '}, {0x2002, 0x200A, ' '},
                      {0x202F, 0x202F, ' '}, {0x205F, 0x205F, ' '}, {0x3000, 0x3000, ' '}};
  for (const Map &m : maps)
    for (uint32_t c = m.lo; c <= m.hi; c++) {
      std::string f = "a" + Utf8(c) + "b", p = std::string("a") + m.to + "b";
      EXPECT_EQ(PassFound(f, p), 1) << std::hex << c;
      EXPECT_EQ(PassFound(p, f), 1) << std::hex << c;  // either side may hold it
    }
  for (uint32_t c : {0x200Fu, 0x2016u, 0x2017u, 0x2020u, 0x2211u, 0x2213u, 0x2000u, 0x2001u,
                     0x200Bu, 0x2028u, 0x2029u, 0x1680u, 0x0085u, 0x2060u, 0x3001u, 0x00ADu,
                     0xFF0Du}) {
    std::string f = "a" + Utf8(c) + "b";
    EXPECT_EQ(PassFound(f, "a-b"), 0) << std::hex << c;
    EXPECT_EQ(PassFound(f, "a'b"), 0) << std::hex << c;
    EXPECT_EQ(PassFound(f, "a\"b"), 0) << std::hex << c;
    EXPECT_EQ(PassFound(f, "a b"), 0) << std::hex << c;
  }
}

// The trimming passes trim Unicode White_Space (as Rust's trim does) at
// either end, and nothing else.
TEST(Seek, TrimPassesTrimUnicodeWhiteSpace) {
  std::vector<uint32_t> ws = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
                              0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
  for (uint32_t c = 0x2000; c <= 0x200A; c++) ws.push_back(c);
  for (uint32_t c : ws) {
    EXPECT_EQ(PassFound("x" + Utf8(c), "x"), 1) << std::hex << c;
    EXPECT_EQ(PassFound(Utf8(c) + "x" + Utf8(c), "x"), 1) << std::hex << c;
    EXPECT_EQ(PassFound("x", Utf8(c) + Utf8(c) + "x" + Utf8(c)), 1) << std::hex << c;
  }
  for (uint32_t c : {0x200Bu, 0x200Cu, 0x200Du, 0x2060u, 0xFEFFu, 0x180Eu, 0x1Cu, 0x7Fu}) {
    EXPECT_EQ(PassFound("x" + Utf8(c), "x"), 0) << std::hex << c;
    EXPECT_EQ(PassFound(Utf8(c) + "x", "x"), 0) << std::hex << c;
  }
}

// Each pass scans the whole file before the next, looser one is tried: an
// exact match further down wins over a looser one higher up.
TEST(Seek, EarlierPassWinsOverEarlierLine) {
  struct Case {
    std::vector<std::string> file;
    std::string pat;
    size_t want;
  };
  const Case cases[] = {
      {{"foo  ", " foo", "foo\xc2\xa0", "foo"}, "foo", 3},               // exact
      {{" foo", "\xe2\x80\x83" "foo", "foo \t"}, "foo", 2},              // rtrim
      {{"a\xe2\x80\x93" "b", " a-b "}, "a-b", 1},                        // trim
      {{"x", "a\xe2\x80\x93" "b"}, "a-b", 1},                            // normalised
  };
  for (const Case &c : cases) {
    auto fl = Lines(c.file);
    std::vector<std::string> p = {c.pat};
    auto pl = Lines(p);
    size_t at = 99;
    ASSERT_TRUE(csb_patch_seek(fl.data(), fl.size(), pl.data(), 1, 0, 0, &at, nullptr)) << c.pat;
    EXPECT_EQ(at, c.want) << c.file[0];
  }
}

TEST(Seek, EofPrefersLastPosition) {
  std::vector<std::string> file = {"a", "b", "a", "b"};
  auto fl = Lines(file);
  std::vector<std::string> p = {"a", "b"};
  auto lp = Lines(p);
  size_t at;
  ASSERT_TRUE(csb_patch_seek(fl.data(), 4, lp.data(), 2, 0, 1, &at, nullptr));
  EXPECT_EQ(at, 2u);
  ASSERT_TRUE(csb_patch_seek(fl.data(), 4, lp.data(), 2, 0, 0, &at, nullptr));
  EXPECT_EQ(at, 0u);
  // Anchored at the end, a pattern that is not there is not looked for
  // elsewhere (as upstream).
  std::vector<std::string> q = {"a"};
  auto lq = Lines(q);
  EXPECT_FALSE(csb_patch_seek(fl.data(), 4, lq.data(), 1, 0, 1, &at, nullptr));
}

TEST(Seek, BudgetStopsWork) {
  std::vector<std::string> file(1000, "x");
  auto fl = Lines(file);
  std::vector<std::string> p = {"x", "y"};
  auto lp = Lines(p);
  unsigned long long budget = 100;
  size_t at;
  EXPECT_FALSE(csb_patch_seek(fl.data(), fl.size(), lp.data(), 2, 0, 0, &at, &budget));
  EXPECT_EQ(budget, 0u);
}

// ---- new contents ---------------------------------------------------------------

TEST(Update, SimpleReplace) {
  std::string out;
  ASSERT_TRUE(Update("a\nb\nc\n", P("*** Update File: f\n@@\n a\n-b\n+B\n"), &out));
  EXPECT_EQ(out, "a\nB\nc\n");
}

TEST(Update, CrlfPreserved) {
  std::string out;
  ASSERT_TRUE(Update("a\r\nb\r\nc\r\n", P("*** Update File: f\n@@\n a\n-b\n+B\n+\n"), &out));
  EXPECT_EQ(out, "a\r\nB\r\n\r\nc\r\n");
}

TEST(Update, MixedEndingsKeepOwn) {
  std::string out;
  ASSERT_TRUE(Update("a\nb\r\nc\rd\n", P("*** Update File: f\n@@\n b\n-c\n+C\n"), &out));
  // Preferred ending = first line's (LF); context line b keeps CRLF.
  EXPECT_EQ(out, "a\nb\r\nC\nd\n");
}

TEST(Update, MissingFinalNewline) {
  std::string out;
  // Untouched last line: kept without newline (csb), added upstream-style.
  ASSERT_TRUE(Update("a\nb\nc", P("*** Update File: f\n@@\n-a\n+A\n"), &out));
  EXPECT_EQ(out, "A\nb\nc");
  ASSERT_TRUE(Update("a\nb\nc", P("*** Update File: f\n@@\n-a\n+A\n"), &out,
                     CSB_PATCH_TEXT_ADD_FINAL_NEWLINE));
  EXPECT_EQ(out, "A\nb\nc\n");
  // Changed last line gets the preferred ending.
  ASSERT_TRUE(Update("a\r\nc", P("*** Update File: f\n@@\n a\n-c\n+C\n"), &out));
  EXPECT_EQ(out, "a\r\nC\r\n");
  // Context last line stays last: still no newline.
  ASSERT_TRUE(Update("a\nc", P("*** Update File: f\n@@\n-a\n+A\n c\n"), &out));
  EXPECT_EQ(out, "A\nc");
  // Appending after it gives it an ending.
  ASSERT_TRUE(Update("a\nc", P("*** Update File: f\n@@\n c\n+d\n"), &out));
  EXPECT_EQ(out, "a\nc\nd\n");
}

TEST(Update, PureAdditionGoesToEnd) {
  std::string out;
  ASSERT_TRUE(Update("a\nb\n", P("*** Update File: f\n@@ a\n+x\n"), &out));
  EXPECT_EQ(out, "a\nb\nx\n");
  ASSERT_TRUE(Update("", P("*** Update File: f\n@@\n+x\n"), &out));
  EXPECT_EQ(out, "x\n");
}

TEST(Update, PureAdditionThenRemoval) {
  std::string out;
  ASSERT_TRUE(Update("a\nb\nc\n", P("*** Update File: f\n@@\n+x\n@@\n-b\n"), &out));
  EXPECT_EQ(out, "a\nc\nx\n");
}

TEST(Update, MultipleChunksAndEof) {
  std::string out;
  ASSERT_TRUE(Update("1\n2\n3\n4\n5\n1\n2\n",
                     P("*** Update File: f\n@@\n-2\n+two\n@@\n 1\n-2\n+TWO\n*** End of File\n"),
                     &out));
  EXPECT_EQ(out, "1\ntwo\n3\n4\n5\n1\nTWO\n");
}

TEST(Update, TrailingEmptyLineRetry) {
  std::string out;
  ASSERT_TRUE(Update("a\nb\n", P("*** Update File: f\n@@\n-b\n+c\n\n"), &out));
  EXPECT_EQ(out, "a\nc\n");
}

TEST(Update, UnicodeFuzz) {
  std::string out;
  ASSERT_TRUE(Update("x = \xe2\x80\x9chi\xe2\x80\x9d \xe2\x80\x93 ok\n",
                     P("*** Update File: f\n@@\n-x = \"hi\" - ok\n+x = 1\n"), &out));
  EXPECT_EQ(out, "x = 1\n");
}

TEST(Update, NonUtf8OutsideTouchedLines) {
  std::string out;
  ASSERT_TRUE(Update(std::string("\xff\xfe\n\0bin\nkeep\n", 13),
                     P("*** Update File: f\n@@\n-keep\n+kept\n"), &out));
  EXPECT_EQ(out, std::string("\xff\xfe\n\0bin\nkept\n", 13));
}

TEST(Update, ErrorsCarryUpstreamText) {
  std::string out, msg;
  EXPECT_FALSE(Update("a\n", P("*** Update File: f\n@@ nope\n-a\n"), &out, 0, &msg));
  EXPECT_EQ(msg, "Failed to find context 'nope' in /x/f");
  EXPECT_FALSE(Update("a\n", P("*** Update File: f\n@@\n-q\n-r\n"), &out, 0, &msg));
  EXPECT_EQ(msg, "Failed to find expected lines in /x/f:\nq\nr");
}

// One hunk of many chunks against a large file, each chunk only found by
// a later pass of the ladder (the file has trailing white space, or
// typographic dashes): every chunk is searched forward from the previous
// one and the bytes are exact.
TEST(Update, ManyChunksLaterPassesLargeFile) {
  const int n = 60000;
  std::string file, want, body = "*** Update File: f\n";
  for (int i = 0; i < n; i++) {
    std::string l = "line " + std::to_string(i) + (i % 3 ? " \t" : " \xe2\x80\x94 x");
    file += l + "\n";
    if (i % 20 == 5) {
      std::string pat = "line " + std::to_string(i) + (i % 3 ? "" : " - x");
      body += "@@\n-" + pat + "\n+new " + std::to_string(i) + "\n";
      want += "new " + std::to_string(i) + "\n";
    } else {
      want += l + "\n";
    }
  }
  // And a line added after the last one.
  body += "@@\n line 59999 \t\n+end\n";
  want += "end\n";
  std::string out;
  ASSERT_TRUE(Update(file, P(body), &out));
  EXPECT_EQ(out.size(), want.size());
  EXPECT_TRUE(out == want);
}

TEST(Update, RepeatedLinesOrder) {
  std::string out;
  ASSERT_TRUE(Update("x\r\nx\r\nx\r\n", P("*** Update File: f\n@@\n x\n-x\n+y\n x\n"), &out));
  EXPECT_EQ(out, "x\r\ny\r\nx\r\n");
}

// ---- plans and commits on a real tree ---------------------------------------------

class Tree : public ::testing::Test {
 protected:
  std::string root;
  void SetUp() override {
    char tmpl[] = "/tmp/patch_test.XXXXXX";
    const char *tmpdir = getenv("TEST_TMPDIR");
    std::string t = std::string(tmpdir ? tmpdir : "/tmp") + "/patch_test.XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    (void)tmpl;
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    char real[4096];
    ASSERT_NE(realpath(buf.data(), real), nullptr);
    root = real;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + root + "'";
    (void)system(cmd.c_str());
  }
  void Write(const std::string &rel, const std::string &data, mode_t mode = 0644) {
    std::string p = root + "/" + rel;
    std::string dir = p.substr(0, p.rfind('/'));
    std::string cmd = "mkdir -p '" + dir + "'";
    (void)system(cmd.c_str());
    std::ofstream(p, std::ios::binary) << data;
    chmod(p.c_str(), mode);
  }
  std::string Read(const std::string &rel) {
    std::ifstream f(root + "/" + rel, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  bool Exists(const std::string &rel) {
    struct stat st;
    return lstat((root + "/" + rel).c_str(), &st) == 0;
  }
  std::vector<std::string> Leftovers() {
    std::vector<std::string> r;
    std::string cmd = "find '" + root + "' -name '.csb-applypatch-*'";
    FILE *f = popen(cmd.c_str(), "r");
    char line[4096];
    while (f && fgets(line, sizeof(line), f)) r.push_back(line);
    if (f) pclose(f);
    return r;
  }
  // A journal record naming root/rel ("W 0 1 LEN:PATH\n").
  std::string Rec(const std::string &kind, const std::string &rel) {
    std::string p = root + "/" + rel;
    return kind + " " + std::to_string(p.size()) + ":" + p + "\n";
  }
  // The journal of transaction id in dir (relative to root; "" for root).
  void PlantJournal(const std::string &dir, const std::string &id, const std::string &records) {
    Write((dir.empty() ? "" : dir + "/") + ".csb-applypatch-" + id + ".j",
          "csb-applypatch-journal 1\nid " + id + "\n" + records);
  }
  // A committed transaction interrupted before it renamed anything: a.txt
  // and sub/b.txt (a pointer to the journal beside it) old.
  void PlantCommitted() {
    std::string id = "1-00000000000000aa", pre = ".csb-applypatch-" + id;
    Write("a.txt", "old\n");
    Write("sub/b.txt", "oldb\n");
    Write(pre + ".t0", "new\n");
    Write("sub/" + pre + ".t1", "newb\n");
    ASSERT_EQ(symlink((root + "/" + pre + ".j").c_str(), (root + "/sub/" + pre + ".p").c_str()), 0);
    PlantJournal("", id, Rec("P", "sub/" + pre + ".p") + Rec("W 0 1", "a.txt") +
                             Rec("W 1 1", "sub/b.txt") + "prepared\ncommit\n");
  }
  // Interrupted while rolling back, in dir: dir/a.txt already holds the new
  // contents and its restore copy (mode 0640) exists; dir/b.txt (added) was
  // renamed in; dir/c.txt was never renamed (its temporary file is there).
  void PlantAbort(const std::string &dir) {
    std::string d = dir.empty() ? "" : dir + "/", id = "5-00000000000000ee";
    std::string pre = d + ".csb-applypatch-" + id;
    Write(d + "a.txt", "new\n");
    Write(d + "b.txt", "added\n");
    Write(d + "c.txt", "old c\n");
    Write(pre + ".r0", "old a\n", 0640);
    Write(pre + ".t2", "new c\n");
    PlantJournal(dir, id, Rec("W 0 1", d + "a.txt") + Rec("W 1 0", d + "b.txt") +
                              Rec("W 2 1", d + "c.txt") + "prepared\ncommit\nabort\n");
  }
  // Every entry below root: path, type, mode, link target, and contents.
  std::string State() {
    std::string cmd = "cd '" + root + "' && find . -printf '%p %y %m %l\\n' | sort && " +
                      "find . -type f | sort | xargs cat";
    std::string out;
    FILE *f = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    if (f) pclose(f);
    return out;
  }
  // Parses, plans and commits; returns the error kind (NONE on success).
  csb_patch_err_kind Apply(const std::string &patch, std::string *msg = nullptr,
                           csb_patch_check_fn check = nullptr, void *ctx = nullptr) {
    Parsed r;
    Parse(patch, &r);
    EXPECT_TRUE(r.ok) << r.err.msg;
    csb_buf full = {};
    csb_patch_plan_opts o = {root.c_str(), 0, check, ctx, &full, nullptr, nullptr};
    csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
    csb_error err;
    csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
    if (plan) {
      csb_patch_commit_opts co = {1, check, ctx, nullptr, nullptr};
      if (!csb_patch_commit(plan, &co, &kind, &err)) full.len = 0;
    }
    if (kind != CSB_PATCH_ERR_NONE && msg) *msg = full.len ? std::string(full.data, full.len) : err.msg;
    csb_buf_free(&full);
    csb_patch_plan_free(plan);
    return kind;
  }
};

TEST_F(Tree, AddUpdateDeleteMove) {
  Write("u.txt", "1\n2\n");
  Write("d.txt", "bye\n");
  Write("m.txt", "m\n", 0755);
  ASSERT_EQ(Apply(P("*** Add File: new/dir/a.txt\n+hi\n*** Delete File: d.txt\n"
                    "*** Update File: u.txt\n@@\n-2\n+two\n"
                    "*** Update File: m.txt\n*** Move to: moved/m.sh\n@@\n-m\n+M\n")),
            CSB_PATCH_ERR_NONE);
  EXPECT_EQ(Read("new/dir/a.txt"), "hi\n");
  EXPECT_FALSE(Exists("d.txt"));
  EXPECT_EQ(Read("u.txt"), "1\ntwo\n");
  EXPECT_FALSE(Exists("m.txt"));
  EXPECT_EQ(Read("moved/m.sh"), "M\n");
  struct stat st;
  ASSERT_EQ(stat((root + "/moved/m.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_TRUE(Leftovers().empty());
}

// A name the system refuses fails the plan (so a dry run too), not only
// the commit.
TEST_F(Tree, NameTooLongFailsThePlan) {
  std::string name(256, 'n');
  Parsed r;
  Parse(P("*** Add File: ok.txt\n+ok\n*** Add File: " + name + "\n+x\n"), &r);
  ASSERT_TRUE(r.ok) << r.err.msg;
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
  csb_error err;
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  EXPECT_EQ(plan, nullptr);
  csb_patch_plan_free(plan);
  EXPECT_EQ(kind, CSB_PATCH_ERR_IO);
  EXPECT_EQ(std::string(err.msg), "Failed to write file " + root + "/" + name + ": " +
                                      strerror(ENAMETOOLONG) + " (os error " +
                                      std::to_string(ENAMETOOLONG) + ")");
  EXPECT_FALSE(Exists("ok.txt"));
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(Tree, ModePreservedOnUpdate) {
  Write("x.sh", "a\n", 0750);
  ASSERT_EQ(Apply(P("*** Update File: x.sh\n@@\n-a\n+b\n")), CSB_PATCH_ERR_NONE);
  struct stat st;
  ASSERT_EQ(stat((root + "/x.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST_F(Tree, AllOrNothing) {
  Write("a.txt", "a\n");
  std::string msg;
  EXPECT_EQ(Apply(P("*** Add File: b.txt\n+b\n*** Update File: a.txt\n@@\n-a\n+A\n"
                    "*** Delete File: missing.txt\n"),
                  &msg),
            CSB_PATCH_ERR_DATA);
  EXPECT_EQ(msg, "Failed to delete file " + root + "/missing.txt");
  EXPECT_FALSE(Exists("b.txt"));
  EXPECT_EQ(Read("a.txt"), "a\n");
}

TEST_F(Tree, SequentialSemantics) {
  ASSERT_EQ(Apply(P("*** Add File: s.txt\n+1\n*** Update File: s.txt\n@@\n-1\n+2\n")),
            CSB_PATCH_ERR_NONE);
  EXPECT_EQ(Read("s.txt"), "2\n");
  std::string msg;
  EXPECT_EQ(Apply(P("*** Delete File: s.txt\n*** Update File: s.txt\n@@\n-2\n+3\n"), &msg),
            CSB_PATCH_ERR_DATA);
  EXPECT_EQ(msg, "Failed to read file to update " + root +
                     "/s.txt: No such file or directory (os error 2)");
  EXPECT_EQ(Read("s.txt"), "2\n");
}

// Many files in several directories (written, synced and renamed on
// several threads), with a file updated by two hunks and kept in pieces in
// between.
TEST_F(Tree, ManyFilesAllOrNothing) {
  std::string patch;
  for (int i = 0; i < 40; i++) {
    std::string rel = "d" + std::to_string(i % 5) + "/f" + std::to_string(i) + ".txt";
    std::string body;
    for (int k = 0; k < 50; k++) body += "line " + std::to_string(k) + (i % 3 ? "\n" : "\r\n");
    Write(rel, body);
    patch += "*** Update File: " + rel + "\n@@\n line 9\n-line 10\n+LINE 10\n@@\n-line 40\n+LINE 40\n";
  }
  patch += "*** Update File: d0/f0.txt\n@@\n-LINE 10\n+again\n";
  patch += "*** Add File: d9/new.txt\n+n\n*** Delete File: d1/f1.txt\n";
  ASSERT_EQ(Apply(P(patch)), CSB_PATCH_ERR_NONE);
  EXPECT_EQ(Read("d0/f0.txt").substr(0, 16), "line 0\r\nline 1\r\n");
  EXPECT_NE(Read("d0/f0.txt").find("line 9\r\nagain\r\nline 11\r\n"), std::string::npos);
  EXPECT_NE(Read("d2/f2.txt").find("line 39\nLINE 40\nline 41\n"), std::string::npos);
  EXPECT_EQ(Read("d9/new.txt"), "n\n");
  EXPECT_FALSE(Exists("d1/f1.txt"));
  EXPECT_TRUE(Leftovers().empty());
  // One hunk that does not fit: nothing changes.
  std::string msg;
  EXPECT_EQ(Apply(P(patch), &msg), CSB_PATCH_ERR_DATA);
  EXPECT_NE(Read("d2/f2.txt").find("LINE 40"), std::string::npos);
  EXPECT_TRUE(Leftovers().empty());
}

// Updates computed ahead on several threads keep the in-order semantics:
// the first failing hunk in patch order is reported, files named twice
// (directly and through a symlink) see the earlier hunk, and a move of an
// updated file works.
TEST_F(Tree, ReadAheadKeepsOrder) {
  for (int i = 0; i < 6; i++) Write("f" + std::to_string(i), "x\ny\n");
  ASSERT_EQ(symlink("f1", (root + "/ln").c_str()), 0);
  std::string msg;
  EXPECT_EQ(Apply(P("*** Update File: f0\n@@\n-x\n+X\n"
                    "*** Update File: f2\n@@\n-nope2\n+Z\n"
                    "*** Update File: f3\n@@\n-nope3\n+Z\n"
                    "*** Update File: f4\n@@\n-x\n+X\n"),
                  &msg),
            CSB_PATCH_ERR_DATA);
  EXPECT_EQ(msg, "Failed to find expected lines in " + root + "/f2:\nnope2");
  EXPECT_EQ(Apply(P("*** Update File: f3\n@@\n-x\n+X\n"
                    "*** Update File: f5/sub\n@@\n-x\n+X\n"
                    "*** Update File: f4\n@@\n-nope\n+X\n"),
                  &msg),
            CSB_PATCH_ERR_DATA);
  EXPECT_EQ(msg, "Failed to read file to update " + root +
                     "/f5/sub: Not a directory (os error 20)");
  EXPECT_EQ(Read("f0"), "x\ny\n");
  ASSERT_EQ(Apply(P("*** Update File: f1\n@@\n-x\n+X\n"
                    "*** Update File: ln\n@@\n-X\n+XX\n"
                    "*** Update File: f2\n*** Move to: moved/f2\n@@\n-y\n+Y\n"
                    "*** Update File: f3\n@@\n-y\n+Y\n")),
            CSB_PATCH_ERR_NONE);
  EXPECT_EQ(Read("f1"), "XX\ny\n");
  EXPECT_EQ(Read("moved/f2"), "x\nY\n");
  EXPECT_FALSE(Exists("f2"));
  EXPECT_EQ(Read("f3"), "x\nY\n");
  EXPECT_TRUE(Leftovers().empty());
}

// A file rewritten in many pieces (more than one writev() takes) comes out
// as the in-memory update says, and the plan's joined contents agree.
TEST_F(Tree, ManyPiecesWritten) {
  std::string body, patch = "*** Update File: big.txt\n";
  for (int k = 0; k < 2000; k++) body += "row " + std::to_string(k) + "\n";
  for (int k = 5; k < 2000; k += 7)
    patch += "@@\n-row " + std::to_string(k) + "\n+ROW " + std::to_string(k) + "\n+extra\n";
  Write("big.txt", body);
  std::string expect;
  ASSERT_TRUE(Update(body, P(patch), &expect));
  Parsed r;
  Parse(P(patch), &r);
  ASSERT_TRUE(r.ok);
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
  ASSERT_EQ(csb_patch_commit(plan, &co, &kind, &err), 1) << err.msg;
  size_t len = 0;
  const char *data = csb_patch_plan_new_contents(plan, 0, &len);
  EXPECT_EQ(std::string(data, len), expect);
  csb_patch_plan_free(plan);
  EXPECT_EQ(Read("big.txt"), expect);
}

// Peak resident memory (kB) since the last PeakReset(), or -1 when this
// kernel does not say.
void PeakReset() {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd >= 0) {
    (void)!write(fd, "5", 1);
    close(fd);
  }
}
long PeakKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return atol(line.c_str() + 6);
  return -1;
}

// Many hunks updating one large file, also through a move and a symlink:
// the result is that of applying them one after the other, and the plan
// holds about one copy of the file, not one per hunk (800 hunks on a
// 1 MiB file took 800 MiB).
TEST_F(Tree, ManyHunksOnOneFileKeepOneCopy) {
  std::string body = "head\n";
  for (int k = 0; k < 10000; k++) body += std::string(99, 'y') + "\n";
  Write("big.txt", body);
  ASSERT_EQ(symlink("moved.txt", (root + "/ln").c_str()), 0);
  std::string patch;
  const int n = 800;
  for (int k = 0; k < n; k++) {
    std::string name = k < n / 2 ? "big.txt" : k % 2 ? "ln" : "moved.txt";
    patch += "*** Update File: " + name + "\n";
    if (k == n / 2 - 1) patch += "*** Move to: moved.txt\n";
    patch += "@@\n-" + (k ? "v" + std::to_string(k - 1) : std::string("head")) + "\n+v" +
             std::to_string(k) + "\n";
  }
  Parsed r;
  Parse(P(patch), &r);
  ASSERT_TRUE(r.ok) << r.err.msg;
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  PeakReset();
  long before = PeakKb();
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  long grew = PeakKb() - before;
  ASSERT_NE(plan, nullptr) << err.msg;
  // ASan keeps freed blocks in quarantine (256 MiB by default).
  if (before > 0) {
    EXPECT_LT(grew, 400 * 1024) << "kB";
  }
  size_t i = csb_patch_plan_summary_len(plan) - 1;
  size_t len = 0;
  const char *data = csb_patch_plan_new_contents(plan, i, &len);
  std::string want = "v" + std::to_string(n - 1) + body.substr(4);
  EXPECT_EQ(std::string(data, len), want);
  csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
  ASSERT_EQ(csb_patch_commit(plan, &co, &kind, &err), 1) << err.msg;
  csb_patch_plan_free(plan);
  EXPECT_FALSE(Exists("big.txt"));
  EXPECT_EQ(Read("moved.txt"), want);
  EXPECT_TRUE(Leftovers().empty());
}

// The new contents of the last summary entry after planning `patch` in
// root, or the error message.
bool PlanLast(const std::string &root, const std::string &patch, unsigned flags,
              std::string *out) {
  Parsed r;
  Parse(patch, &r);
  EXPECT_TRUE(r.ok) << r.err.msg;
  if (!r.ok) return false;
  csb_buf full = {};
  csb_patch_plan_opts o = {root.c_str(), flags, nullptr, nullptr, &full, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  bool ok = plan != nullptr;
  if (ok) {
    size_t len = 0;
    const char *d = csb_patch_plan_new_contents(plan, csb_patch_plan_summary_len(plan) - 1, &len);
    out->assign(d ? d : "", len);
  } else {
    out->assign(full.data ? full.data : "", full.len);
  }
  csb_buf_free(&full);
  csb_patch_plan_free(plan);
  return ok;
}

// Lines as the applier splits them (LF, CRLF, lone CR), without endings.
std::vector<std::string> SplitLines(const std::string &s) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of("\r\n", i);
    if (j == std::string::npos) {
      v.push_back(s.substr(i));
      break;
    }
    v.push_back(s.substr(i, j - i));
    i = j + (s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n' ? 2 : 1);
  }
  return v;
}

// Several update hunks on one file (kept as lines between hunks) give
// exactly what applying them one at a time to the bytes gives: mixed and
// missing line endings, lines joined by an edit ("x\r" then "\n"), new
// lines holding CR, every pass of the ladder, pure additions, End of File,
// and the first failing hunk's message.
TEST_F(Tree, SequentialHunksMatchOneAtATime) {
  std::mt19937 rng(20261123);
  const std::vector<std::string> vocab = {"a", "b", "c", "a ", "  b", "", "x\xe2\x80\x94y",
                                          "x-y", "q\xc2\xa0", "}"};
  // (The parser drops one CR before each LF: "r\r\r" adds "r\r".)
  const std::vector<std::string> added = {"n", "", "p\rq", "r\r\r", "\r\r", "a", "}"};
  const char *eols[] = {"\n", "\r\n", "\r"};
  int checked_ok = 0, checked_fail = 0;
  for (int iter = 0; iter < 1000; iter++) {
    std::string file;
    int nl = (int)(rng() % 30);
    int eol_kind = (int)(rng() % 4); // 3: mixed
    for (int i = 0; i < nl; i++) {
      file += vocab[rng() % vocab.size()];
      if (i + 1 < nl || rng() % 3) file += eols[eol_kind == 3 ? rng() % 3 : eol_kind];
    }
    unsigned flags = rng() % 4 == 0 ? CSB_PATCH_TEXT_ADD_FINAL_NEWLINE : 0;
    std::string want = file, want_msg, patch;
    bool want_ok = true;
    int hunks = 2 + (int)(rng() % 4);
    for (int k = 0; k < hunks; k++) {
      std::vector<std::string> cur = SplitLines(want);
      std::string h = "*** Update File: f.txt\n";
      int chunks = 1 + (int)(rng() % 2);
      size_t from = 0;
      for (int c = 0; c < chunks; c++) {
        h += "@@\n";
        if (rng() % 10 == 0 || from >= cur.size()) {
          h += "+" + added[rng() % added.size()] + "\n";
          continue;
        }
        size_t s0 = from + rng() % (cur.size() - from);
        size_t n0 = 1 + rng() % 3;
        if (s0 + n0 > cur.size()) n0 = cur.size() - s0;
        for (size_t i = s0; i < s0 + n0; i++) {
          std::string l = cur[i];
          if (rng() % 5 == 0) l += " ";           // trailing-whitespace pass
          if (rng() % 7 == 0) l = "  " + l;       // trimmed pass
          if (rng() % 50 == 0) l = "zz";          // not found
          h += (rng() % 2 ? " " : "-") + l + "\n";
          if (rng() % 3 == 0) h += "+" + added[rng() % added.size()] + "\n";
        }
        if (s0 + n0 == cur.size() && rng() % 3 == 0) h += "*** End of File\n";
        from = s0 + n0;
      }
      patch += h;
      if (want_ok) {
        Parsed r;
        Parse(P(h), &r);
        ASSERT_TRUE(r.ok) << r.err.msg;
        csb_buf b = {}, full = {};
        csb_error err;
        std::string display = root + "/f.txt";
        if (csb_patch_update_text(want.data(), want.size(), &r.p->hunks[0], display.c_str(),
                                  flags, &b, &err, &full)) {
          want.assign(b.data ? b.data : "", b.len);
        } else {
          want_ok = false;
          want_msg.assign(full.data, full.len);
        }
        csb_buf_free(&b);
        csb_buf_free(&full);
      }
    }
    std::ofstream(root + "/f.txt", std::ios::binary | std::ios::trunc) << file;
    std::string got;
    bool ok = PlanLast(root, P(patch), flags, &got);
    ASSERT_EQ(ok, want_ok) << "iteration " << iter << "\n" << patch << "\n" << got;
    ASSERT_EQ(got, want_ok ? want : want_msg) << "iteration " << iter << "\n" << patch;
    (want_ok ? checked_ok : checked_fail)++;
  }
  EXPECT_GT(checked_ok, 100);
  EXPECT_GT(checked_fail, 10);
}

// An edit that leaves a line ending with CR before an empty line ending
// with LF makes one CRLF line of them for the next hunk, as reading the
// bytes again would.
TEST_F(Tree, EditJoinsCrAndLfLinesForTheNextHunk) {
  Write("f.txt", "a\nx\ry\n");
  std::string got;
  ASSERT_TRUE(PlanLast(root, P("*** Update File: f.txt\n@@\n x\n-y\n+\n"
                               "*** Update File: f.txt\n@@\n x\n+z\n"),
                       0, &got))
      << got;
  EXPECT_EQ(got, "a\nx\r\nz\n");
  // And a new line ending with CR takes the LF after it (the parser drops
  // up to two CRs before each LF of the patch, as upstream).
  Write("g.txt", "a\nb\n");
  ASSERT_TRUE(PlanLast(root, P("*** Update File: g.txt\n@@\n-a\n+p\r\r\r\n"
                               "*** Update File: g.txt\n@@\n p\n+q\n"),
                       0, &got))
      << got;
  EXPECT_EQ(got, "p\r\nq\r\nb\n");
}

// A large file updated by many hunks, in no particular order (each
// searches from the top again), some only matching with trailing white
// space ignored, then by one hunk of many chunks: exact bytes.
TEST_F(Tree, LargeFileManyHunksAndChunks) {
  const int n = 100000, hunks = 2000;
  std::vector<std::string> lines(n);
  std::string body;
  for (int i = 0; i < n; i++) {
    char b[64];
    snprintf(b, sizeof(b), "line %06d%s", i, i % 7 == 3 ? "  " : "");
    lines[i] = b;
    body += lines[i] + "\n";
  }
  Write("big.txt", body);
  std::vector<int> order(hunks);
  for (int k = 0; k < hunks; k++) order[k] = k;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::string patch;
  std::vector<std::string> want = lines;
  for (int k : order) {
    int i = k * (n / hunks) + 3; // 3 mod 7 for some: the file has trailing spaces there
    char b[64];
    snprintf(b, sizeof(b), "line %06d", i);
    patch += "*** Update File: big.txt\n@@\n-" + std::string(b) + "\n+hunk " +
             std::to_string(k) + "\n+added " + std::to_string(k) + "\n";
    want[i] = "hunk " + std::to_string(k) + "\nadded " + std::to_string(k);
  }
  patch += "*** Update File: big.txt\n";
  for (int i = 1; i < n - 1; i += 50) {
    patch += "@@\n " + want[i - 1] .substr(0, want[i - 1].find('\n')) + "\n";
    patch += "-" + want[i].substr(0, want[i].find('\n')) + "\n+chunk " + std::to_string(i) + "\n";
  }
  // The chunk's context is the first line of a replaced pair at most once
  // per 50 lines, so build the expectation the same way.
  for (int i = 1; i < n - 1; i += 50) {
    std::string rest = want[i].find('\n') == std::string::npos ? "" : want[i].substr(want[i].find('\n'));
    want[i] = "chunk " + std::to_string(i) + rest;
  }
  std::string expect;
  for (const auto &l : want) expect += l + "\n";
  std::string got;
  ASSERT_TRUE(PlanLast(root, P(patch), 0, &got)) << got;
  EXPECT_EQ(got.size(), expect.size());
  EXPECT_TRUE(got == expect);
}

// A write cut short (here by the file size limit, after part of the data
// went out) rolls everything back.
TEST_F(Tree, ShortWriteRollsBack) {
  std::string body;
  for (int k = 0; k < 400; k++) body += "row " + std::to_string(k) + "\n";
  Write("a.txt", "a\n");
  Write("big.txt", body);
  std::string patch = "*** Update File: a.txt\n@@\n-a\n+A\n*** Update File: big.txt\n";
  for (int k = 3; k < 400; k += 4)
    patch += "@@\n-row " + std::to_string(k) + "\n+a much longer row " + std::to_string(k) + "\n";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {(rlim_t)body.size(), (rlim_t)body.size()};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(99);
    std::string msg;
    _exit(Apply(P(patch), &msg) == CSB_PATCH_ERR_IO ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Read("a.txt"), "a\n");
  EXPECT_EQ(Read("big.txt"), body);
  EXPECT_TRUE(Leftovers().empty());
}

static int deny_outside(void *ctx, const char *, const char *abs, csb_error *err) {
  const std::string *root = static_cast<const std::string *>(ctx);
  if (strncmp(abs, root->c_str(), root->size()) == 0 && abs[root->size()] == '/') return 1;
  csb_error_set(err, "refusing to write %s", abs);
  return 0;
}

TEST_F(Tree, PolicyCallbackSeesSymlinkTargets) {
  std::string inside = root + "/in";
  Write("in/f.txt", "x\n");
  Write("out/secret.txt", "s\n");
  ASSERT_EQ(symlink((root + "/out/secret.txt").c_str(), (inside + "/link").c_str()), 0);
  std::string msg;
  EXPECT_EQ(Apply(P("*** Update File: in/link\n@@\n-s\n+pwned\n"), &msg, deny_outside, &inside),
            CSB_PATCH_ERR_POLICY);
  EXPECT_EQ(msg, "refusing to write " + root + "/out/secret.txt");
  EXPECT_EQ(Read("out/secret.txt"), "s\n");
  EXPECT_EQ(Apply(P("*** Add File: in/../out/x\n+1\n"), &msg, deny_outside, &inside),
            CSB_PATCH_ERR_POLICY);
  EXPECT_EQ(Apply(P("*** Update File: in/f.txt\n@@\n-x\n+y\n"), &msg, deny_outside, &inside),
            CSB_PATCH_ERR_NONE);
}

static int deny_exactly(void *ctx, const char *, const char *abs, csb_error *err) {
  if (*static_cast<const std::string *>(ctx) != abs) return 1;
  csb_error_set(err, "refusing to write %s", abs);
  return 0;
}

// csb_patch_commit_check refuses where csb_patch_commit would (here a
// directory it would create), and neither refusing nor allowing makes a
// directory or a file.
TEST_F(Tree, CommitCheckRefusesLikeCommitWithoutWriting) {
  Write("ro/r.txt", "r\n");
  std::string denied = root + "/ro/c";
  Parsed r;
  Parse(P("*** Add File: ro/c/d/f.txt\n+f\n"), &r);
  ASSERT_TRUE(r.ok);
  csb_patch_plan_opts o = {root.c_str(), 0, deny_exactly, &denied, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
  csb_error err;
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  csb_patch_commit_opts co = {1, deny_exactly, &denied, nullptr, nullptr};
  for (int dry : {1, 0}) {
    kind = CSB_PATCH_ERR_NONE;
    EXPECT_EQ((dry ? csb_patch_commit_check : csb_patch_commit)(plan, &co, &kind, &err), 0);
    EXPECT_EQ(kind, CSB_PATCH_ERR_POLICY);
    EXPECT_EQ(std::string(err.msg), "refusing to write " + denied);
    EXPECT_FALSE(Exists("ro/c"));
    EXPECT_TRUE(Leftovers().empty());
  }
  csb_patch_commit_opts all = {1, nullptr, nullptr, nullptr, nullptr};
  EXPECT_EQ(csb_patch_commit_check(plan, &all, &kind, &err), 1);
  EXPECT_FALSE(Exists("ro/c"));
  EXPECT_TRUE(Leftovers().empty());
  EXPECT_EQ(csb_patch_commit(plan, &all, &kind, &err), 1);
  EXPECT_EQ(Read("ro/c/d/f.txt"), "f\n");
  csb_patch_plan_free(plan);
}

// A process racing the plan: once the last path is checked, directory
// `dir` is moved aside and becomes a symlink to `to`.
struct SwapAfterChecks {
  std::string dir, to;
  int calls = 0, at = 0;
};

static int swap_after_checks(void *ctx, const char *, const char *, csb_error *) {
  SwapAfterChecks *s = static_cast<SwapAfterChecks *>(ctx);
  if (++s->calls == s->at) {
    EXPECT_EQ(rename(s->dir.c_str(), (s->dir + ".orig").c_str()), 0);
    EXPECT_EQ(symlink(s->to.c_str(), s->dir.c_str()), 0);
  }
  return 1;
}

// The plan reads a file through the directories it checked: a directory
// swapped for a symlink after the checks does not make it read (and then
// copy into the tree) a file elsewhere. One update is read in order, two
// are read ahead.
TEST_F(Tree, PlanDoesNotReadThroughSwappedDirectory) {
  for (int hunks : {1, 2}) {
    std::string sub = "t" + std::to_string(hunks);
    Write(sub + "/d/a.txt", "a\n");
    Write(sub + "/d/b.txt", "b\n");
    Write(sub + "/out/a.txt", "secret a\n");
    Write(sub + "/out/b.txt", "secret b\n");
    std::string body = "*** Update File: d/a.txt\n*** Move to: leak-a.txt\n@@\n+x\n";
    if (hunks == 2) body += "*** Update File: d/b.txt\n*** Move to: leak-b.txt\n@@\n+x\n";
    Parsed r;
    Parse(P(body), &r);
    ASSERT_TRUE(r.ok);
    SwapAfterChecks sw;
    sw.dir = root + "/" + sub + "/d";
    sw.to = root + "/" + sub + "/out";
    sw.at = 2 * hunks;  // the source and the destination of each move
    std::string cwd = root + "/" + sub;
    csb_buf full = {};
    csb_patch_plan_opts o = {cwd.c_str(), 0, swap_after_checks, &sw, &full, nullptr, nullptr};
    csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
    csb_error err;
    csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
    EXPECT_EQ(sw.calls, 2 * hunks);
    for (size_t i = 0; plan && i < csb_patch_plan_summary_len(plan); i++) {
      size_t n = 0;
      const char *c = csb_patch_plan_new_contents(plan, i, &n);
      EXPECT_EQ(std::string(c ? c : "", n).find("secret"), std::string::npos) << hunks;
    }
    EXPECT_EQ(plan, nullptr) << hunks;
    EXPECT_EQ(std::string(full.data ? full.data : "", full.len),
              "Failed to read file to update " + cwd + "/d/a.txt: Not a directory (os error 20)")
        << hunks;
    csb_buf_free(&full);
    csb_patch_plan_free(plan);
  }
}

TEST_F(Tree, WritesThroughSymlinkKeepLink) {
  Write("real.txt", "a\n");
  ASSERT_EQ(symlink("real.txt", (root + "/ln").c_str()), 0);
  ASSERT_EQ(Apply(P("*** Update File: ln\n@@\n-a\n+b\n")), CSB_PATCH_ERR_NONE);
  struct stat st;
  ASSERT_EQ(lstat((root + "/ln").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(Read("real.txt"), "b\n");
  // Deleting a link removes the link, not its target.
  ASSERT_EQ(Apply(P("*** Delete File: ln\n")), CSB_PATCH_ERR_NONE);
  EXPECT_FALSE(Exists("ln"));
  EXPECT_EQ(Read("real.txt"), "b\n");
}

TEST_F(Tree, RecoveryRollsCommittedForward) {
  PlantCommitted();
  csb_error err;
  ASSERT_TRUE(csb_patch_recover_dir((root + "/sub").c_str(), nullptr, nullptr, &err)) << err.msg;
  EXPECT_EQ(Read("a.txt"), "new\n");
  EXPECT_EQ(Read("sub/b.txt"), "newb\n");
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(Tree, RecoveryRollsUncommittedBack) {
  Write("a.txt", "old\n");
  std::string id = "2-00000000000000bb";
  std::string pre = ".csb-applypatch-" + id;
  Write(pre + ".t0", "new\n");
  std::string a = root + "/a.txt";
  Write(pre + ".j", "csb-applypatch-journal 1\nid " + id + "\nW 0 1 " + std::to_string(a.size()) +
                        ":" + a + "\nprepared\n");
  Write("orphan/.csb-applypatch-4-00000000000000dd.t3", "zzz");  // an unrelated id without a journal
  csb_error err;
  ASSERT_TRUE(csb_patch_recover_dir(root.c_str(), nullptr, nullptr, &err)) << err.msg;
  ASSERT_TRUE(csb_patch_recover_dir((root + "/orphan").c_str(), nullptr, nullptr, &err));
  EXPECT_EQ(Read("a.txt"), "old\n");
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(Tree, RecoveryLeavesNamesTheCommitterNeverWrites) {
  // The committer writes its process ID in hex without a leading zero: a
  // file whose id has one is a user's, left alone, while one in the
  // committer's own spelling without a journal is a leftover.
  Write(".csb-applypatch-01-00000000000000aa.t0", "mine\n");
  Write(".csb-applypatch-0001-00000000000000aa.r1", "mine too\n");
  Write(".csb-applypatch-1-00000000000000aa.t0", "left over\n");
  Write(".csb-applypatch-0-00000000000000aa.t2", "pid 0\n");
  csb_error err;
  ASSERT_TRUE(csb_patch_recover_dir(root.c_str(), nullptr, nullptr, &err)) << err.msg;
  EXPECT_EQ(Read(".csb-applypatch-01-00000000000000aa.t0"), "mine\n");
  EXPECT_EQ(Read(".csb-applypatch-0001-00000000000000aa.r1"), "mine too\n");
  EXPECT_FALSE(Exists(".csb-applypatch-1-00000000000000aa.t0"));
  EXPECT_FALSE(Exists(".csb-applypatch-0-00000000000000aa.t2"));
}

TEST_F(Tree, RecoveryFinishesAnAbort) {
  // Interrupted while rolling back: a.txt already holds the new contents
  // and its restore copy exists; b.txt (added) was renamed in; c.txt was
  // never renamed (its temporary file is still there).
  PlantAbort("");
  csb_error err;
  ASSERT_TRUE(csb_patch_recover_dir(root.c_str(), nullptr, nullptr, &err)) << err.msg;
  EXPECT_EQ(Read("a.txt"), "old a\n");
  EXPECT_FALSE(Exists("b.txt"));
  EXPECT_EQ(Read("c.txt"), "old c\n");
  struct stat st;
  ASSERT_EQ(stat((root + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(Tree, RecoveryRefusesForeignPaths) {
  std::string id = "3-00000000000000cc";
  std::string pre = ".csb-applypatch-" + id;
  Write(pre + ".t0", "evil\n");
  Write(pre + ".j", "csb-applypatch-journal 1\nid " + id +
                        "\nW 0 0 14:/etc/evil.conf\nprepared\ncommit\n");
  std::string inside = root;
  csb_error err;
  EXPECT_FALSE(csb_patch_recover_dir(root.c_str(), deny_outside, &inside, &err));
  struct stat st;
  EXPECT_NE(stat("/etc/evil.conf", &st), 0);
}

// A check that allows only paths below `inside`, and once it has allowed
// `at` calls, has `dir` moved aside and made a symlink to `to` (a process
// racing the scan of a directory for leftovers).
struct SwapInside {
  std::string inside, dir, to;
  int calls = 0, at = 1;
};

static int swap_inside(void *ctx, const char *spelling, const char *abs, csb_error *err) {
  SwapInside *s = static_cast<SwapInside *>(ctx);
  if (!deny_outside(&s->inside, spelling, abs, err)) return 0;
  if (++s->calls == s->at) {
    EXPECT_EQ(rename(s->dir.c_str(), (s->dir + ".orig").c_str()), 0);
    EXPECT_EQ(symlink(s->to.c_str(), s->dir.c_str()), 0);
  }
  return 1;
}

// The scan removes a leftover without a journal only in the directory
// whose path the check allowed: a directory swapped for a symlink to one
// outside after that check, or named through a symlink that leads
// outside, does not make it remove a file of that name there.
TEST_F(Tree, RecoveryScanRemovesNothingOutside) {
  const std::string name = ".csb-applypatch-5-00000000000000ee.t0";
  for (int swapped : {1, 0}) {
    std::string sub = swapped ? "race" : "link";
    Write(sub + "/in/d/" + name, "left over\n");
    Write(sub + "/out/" + name, "not ours to remove\n");
    SwapInside s;
    s.inside = root + "/" + sub + "/in";
    s.dir = s.inside + "/d";
    s.to = root + "/" + sub + "/out";
    s.at = swapped ? 1 : 0;
    std::string scanned = s.dir;
    if (!swapped) {
      scanned = s.inside + "/ln";
      ASSERT_EQ(symlink(s.to.c_str(), scanned.c_str()), 0);
    }
    csb_error err;
    EXPECT_TRUE(csb_patch_recover_dir(scanned.c_str(), swap_inside, &s, &err)) << err.msg;
    EXPECT_EQ(Read(sub + "/out/" + name), "not ours to remove\n") << sub;
  }
}

// The summary lines and new contents of a plan of `patch` (given pd: over
// the recovery it records), or "error KIND: MESSAGE".
std::string PlanOutcome(const std::string &root, const std::string &patch,
                        const csb_patch_pending *pd) {
  Parsed r;
  Parse(patch, &r);
  EXPECT_TRUE(r.ok) << r.err.msg;
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, pd, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  if (!plan) return "error " + std::to_string(kind) + ": " + err.msg;
  std::string out;
  for (size_t i = 0; i < csb_patch_plan_summary_len(plan); i++) {
    const csb_patch_summary_entry *e = csb_patch_plan_summary_at(plan, i);
    size_t n = 0;
    const char *c = csb_patch_plan_new_contents(plan, i, &n);
    out += std::string(1, e->op) + " " + e->path + " " + std::to_string(e->old_bytes) + " [" +
           std::string(c ? c : "", n) + "]\n";
  }
  csb_patch_plan_free(plan);
  return out;
}

TEST_F(Tree, PendingScanWritesNothingAndPlansAsRecoveryLeaves) {
  PlantCommitted();
  PlantAbort("two");
  Write("two/.csb-applypatch-4-00000000000000dd.t3", "orphan");  // no journal
  std::string patch = P("*** Update File: a.txt\n@@\n-new\n+A\n*** Update File: sub/b.txt\n@@\n"
                        "-newb\n+B\n*** Update File: two/a.txt\n@@\n-old a\n+A2\n"
                        "*** Add File: two/b.txt\n+b\n*** Delete File: two/c.txt\n");
  // Over the leftovers as they are, the patch does not fit.
  EXPECT_EQ(PlanOutcome(root, patch, nullptr),
            "error 1: Failed to find expected lines in " + root + "/a.txt:\nnew");
  std::string before = State();
  csb_patch_pending *pd = csb_patch_pending_new();
  csb_error err;
  for (const char *d : {"", "/sub", "/two"})
    ASSERT_TRUE(csb_patch_pending_scan(pd, (root + d).c_str(), nullptr, nullptr, &err)) << err.msg;
  EXPECT_EQ(State(), before);
  ASSERT_EQ(csb_patch_pending_len(pd), 2u);
  const csb_patch_pending_tx *x = csb_patch_pending_at(pd, 0);
  EXPECT_STREQ(x->id, "1-00000000000000aa");
  EXPECT_EQ(x->journal, root + "/.csb-applypatch-1-00000000000000aa.j");
  EXPECT_EQ(x->action, CSB_PATCH_ROLL_FORWARD);
  x = csb_patch_pending_at(pd, 1);
  EXPECT_EQ(x->journal, root + "/two/.csb-applypatch-5-00000000000000ee.j");
  EXPECT_EQ(x->action, CSB_PATCH_ROLL_BACK);
  EXPECT_EQ(csb_patch_pending_at(pd, 2), nullptr);
  std::string predicted = PlanOutcome(root, patch, pd);
  EXPECT_EQ(State(), before);
  csb_patch_pending_free(pd);
  // The same plan once the leftovers are recovered.
  for (const char *d : {"", "/sub", "/two"})
    ASSERT_TRUE(csb_patch_recover_dir((root + d).c_str(), nullptr, nullptr, &err)) << err.msg;
  EXPECT_TRUE(Leftovers().empty());
  EXPECT_EQ(predicted, PlanOutcome(root, patch, nullptr));
  EXPECT_EQ(predicted,
            "A two/b.txt 0 [b\n]\nM a.txt 4 [A\n]\nM sub/b.txt 5 [B\n]\nM two/a.txt 6 [A2\n]\n"
            "D two/c.txt 6 []\n");
}

TEST_F(Tree, PendingPlanRefusesAPathThroughALinkRecoveryRestores) {
  // An aborted deletion of the symlink ln (to d): rolling back puts it back.
  Write("d/f.txt", "f\n");
  ASSERT_EQ(symlink("d", (root + "/.csb-applypatch-6-00000000000000ab.r0").c_str()), 0);
  PlantJournal("", "6-00000000000000ab", Rec("X 0 1", "ln") + "prepared\ncommit\nabort\n");
  csb_patch_pending *pd = csb_patch_pending_new();
  csb_error err;
  ASSERT_TRUE(csb_patch_pending_scan(pd, root.c_str(), nullptr, nullptr, &err)) << err.msg;
  std::string patch = P("*** Update File: ln/f.txt\n@@\n-f\n+F\n");
  EXPECT_EQ(PlanOutcome(root, patch, pd),
            "error " + std::to_string(CSB_PATCH_ERR_PENDING) +
                ": cannot predict the outcome exactly: recovering the interrupted transaction "
                "6-00000000000000ab (" + root + "/.csb-applypatch-6-00000000000000ab.j) first "
                "changes " + root + "/ln, on the way to " + root + "/ln/f.txt");
  csb_patch_pending_free(pd);
  // A path that does not go through it is planned over the recovery.
  pd = csb_patch_pending_new();
  ASSERT_TRUE(csb_patch_pending_scan(pd, root.c_str(), nullptr, nullptr, &err)) << err.msg;
  EXPECT_EQ(PlanOutcome(root, P("*** Update File: d/f.txt\n@@\n-f\n+F\n"), pd), "M d/f.txt 2 [F\n]\n");
  csb_patch_pending_free(pd);
}

TEST_F(Tree, RecoverForRecoversTheDirectoriesOfThePatchFirst) {
  PlantCommitted();
  Parsed r;
  Parse(P("*** Update File: sub/b.txt\n@@\n-newb\n+B\n"), &r);
  ASSERT_TRUE(r.ok);
  csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  // A path the check refuses: nothing is recovered (the plan fails).
  std::string inside = root + "/elsewhere";
  csb_patch_plan_opts refused = {root.c_str(), 0,       deny_outside, &inside,
                                 nullptr,      nullptr, nullptr};
  std::string before = State();
  ASSERT_TRUE(csb_patch_recover_for(r.p, &refused, &co, &kind, &err));
  EXPECT_EQ(State(), before);
  // The refusal is left in kind and err for a caller that only recovers.
  EXPECT_EQ(kind, CSB_PATCH_ERR_POLICY);
  EXPECT_NE(std::string(err.msg).find("sub/b.txt"), std::string::npos) << err.msg;
  // Given a record, it only fills it.
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
  co.pending = csb_patch_pending_new();
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(State(), before);
  EXPECT_EQ(csb_patch_pending_len(co.pending), 1u);
  csb_patch_pending_free(co.pending);
  co.pending = nullptr;
  // Else the change is finished, through the pointer in sub/, and listed.
  co.recovered = csb_patch_pending_new();
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(kind, CSB_PATCH_ERR_NONE);
  EXPECT_EQ(Read("a.txt"), "new\n");
  EXPECT_EQ(Read("sub/b.txt"), "newb\n");
  EXPECT_TRUE(Leftovers().empty());
  ASSERT_EQ(csb_patch_pending_len(co.recovered), 1u);
  const csb_patch_pending_tx *x = csb_patch_pending_at(co.recovered, 0);
  EXPECT_EQ(x->action, CSB_PATCH_ROLL_FORWARD);
  EXPECT_EQ(std::string(x->journal), root + "/.csb-applypatch-" + x->id + ".j");
  // Nothing left: nothing more is listed.
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(csb_patch_pending_len(co.recovered), 1u);
  csb_patch_pending_free(co.recovered);
}

TEST_F(Tree, CommitRecoverRecoversTheDirectoriesTheCommitWorksIn) {
  // Uncommitted, in d (which it created): rolled back, d goes. Committed,
  // in the top directory: found only once the patch creates d from there.
  std::string a = ".csb-applypatch-a-00000000000000a1", b = ".csb-applypatch-b-00000000000000b2";
  Write("d/" + a + ".t0", "x\n");
  ASSERT_EQ(symlink((root + "/" + a + ".j").c_str(), (root + "/d/" + a + ".p").c_str()), 0);
  PlantJournal("", "a-00000000000000a1",
               Rec("P", "d/" + a + ".p") + Rec("D", "d") + Rec("W 0 0", "d/x.txt") + "prepared\n");
  Write("o.txt", "old o\n");
  Write(b + ".t0", "new o\n");
  PlantJournal("", "b-00000000000000b2", Rec("W 0 1", "o.txt") + "prepared\ncommit\n");
  Parsed r;
  Parse(P("*** Add File: d/y.txt\n+y\n"), &r);
  ASSERT_TRUE(r.ok);
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
  csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, csb_patch_pending_new()};
  csb_patch_err_kind kind;
  csb_error err;
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  ASSERT_EQ(csb_patch_pending_len(co.recovered), 1u);
  EXPECT_FALSE(Exists("d"));
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  // Given a record, it only fills it; else it recovers, and lists, b.
  std::string before = State();
  csb_patch_commit_opts sim = {0, nullptr, nullptr, csb_patch_pending_new(), nullptr};
  ASSERT_TRUE(csb_patch_commit_recover(plan, &sim, &kind, &err)) << err.msg;
  EXPECT_EQ(State(), before);
  ASSERT_EQ(csb_patch_pending_len(sim.pending), 1u);
  EXPECT_STREQ(csb_patch_pending_at(sim.pending, 0)->id, "b-00000000000000b2");
  csb_patch_pending_free(sim.pending);
  co.recover_first = 0;
  ASSERT_TRUE(csb_patch_commit_recover(plan, &co, &kind, &err)) << err.msg;
  ASSERT_EQ(csb_patch_pending_len(co.recovered), 2u);
  const csb_patch_pending_tx *x = csb_patch_pending_at(co.recovered, 1);
  EXPECT_EQ(x->journal, root + "/" + b + ".j");
  EXPECT_EQ(x->action, CSB_PATCH_ROLL_FORWARD);
  // Nothing of the patch is made; nothing is left to recover.
  EXPECT_EQ(Read("o.txt"), "new o\n");
  EXPECT_FALSE(Exists("d"));
  EXPECT_TRUE(Leftovers().empty());
  ASSERT_TRUE(csb_patch_commit_recover(plan, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(csb_patch_pending_len(co.recovered), 2u);
  csb_patch_plan_free(plan);
  csb_patch_pending_free(co.recovered);
}

// Counts the paths it is asked about; allows those under the root it holds.
struct CountingCheck {
  std::string root;
  int calls = 0;
};

static int count_check(void *ctx, const char *spelling, const char *abs, csb_error *err) {
  CountingCheck *c = static_cast<CountingCheck *>(ctx);
  c->calls++;
  return deny_outside(&c->root, spelling, abs, err);
}

TEST_F(Tree, NamesLikeTheCommittersWithAnotherSuffixAreNoLeftovers) {
  // A name with a committer's id but a suffix it never writes (another
  // extension, a number with a leading zero) is no leftover of a killed
  // run: the recovery finds nothing, and the plan takes its resolution over.
  Write("a.txt", "a\n");
  Write(".csb-applypatch-1-00000000000000aa.txt", "mine\n");
  Write(".csb-applypatch-1-00000000000000aa.t01", "mine\n");
  Write(".csb-applypatch-1-00000000000000aa.j.x", "mine\n");
  Parsed r;
  Parse(P("*** Update File: a.txt\n@@\n-a\n+A\n"), &r);
  ASSERT_TRUE(r.ok);
  CountingCheck cc{root};
  csb_patch_resolved *res = csb_patch_resolved_new();
  csb_patch_plan_opts o = {root.c_str(), 0, count_check, &cc, nullptr, nullptr, res};
  csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(cc.calls, 1);
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  EXPECT_EQ(cc.calls, 1);
  csb_patch_plan_free(plan);
  csb_patch_resolved_free(res);
  EXPECT_EQ(Read(".csb-applypatch-1-00000000000000aa.txt"), "mine\n");
  EXPECT_EQ(Read(".csb-applypatch-1-00000000000000aa.t01"), "mine\n");
  EXPECT_EQ(Read(".csb-applypatch-1-00000000000000aa.j.x"), "mine\n");
}

TEST_F(Tree, PlanTakesOverTheResolutionOfARecoveryThatChangedNothing) {
  Write("a.txt", "a\n");
  Write("sub/b.txt", "b\n");
  Parsed r;
  Parse(P("*** Update File: a.txt\n@@\n-a\n+A\n*** Update File: sub/b.txt\n*** Move to: "
          "c.txt\n@@\n-b\n+B\n"),
        &r);
  ASSERT_TRUE(r.ok);
  CountingCheck cc{root};
  csb_patch_resolved *res = csb_patch_resolved_new();
  csb_patch_plan_opts o = {root.c_str(), 0, count_check, &cc, nullptr, nullptr, res};
  csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_error err;
  // Nothing to recover: the plan checks nothing again (3 paths, one check each).
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(cc.calls, 3);
  csb_patch_plan *plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  EXPECT_EQ(cc.calls, 3);
  ASSERT_EQ(csb_patch_plan_summary_len(plan), 2u);
  EXPECT_EQ(std::string(csb_patch_plan_summary_at(plan, 1)->abs_path), root + "/c.txt");
  csb_patch_plan_free(plan);
  // Taken: a second plan resolves and checks again.
  plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  EXPECT_EQ(cc.calls, 6);
  csb_patch_plan_free(plan);
  // Under another check context (or cwd, or check): resolved again.
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  CountingCheck other{root};
  csb_patch_plan_opts o2 = o;
  o2.check_ctx = &other;
  plan = csb_patch_plan_build(r.p, &o2, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  EXPECT_EQ(other.calls, 3);
  csb_patch_plan_free(plan);
  // A dry run's record with nothing in it: taken; with a change: resolved
  // again over it.
  cc.calls = 0;
  co.pending = csb_patch_pending_new();
  o.pending = co.pending;
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  ASSERT_NE(plan, nullptr) << err.msg;
  EXPECT_EQ(cc.calls, 3);
  csb_patch_plan_free(plan);
  csb_patch_pending_free(co.pending);
  PlantCommitted();
  co.pending = csb_patch_pending_new();
  o.pending = co.pending;
  cc.calls = 0;
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_EQ(csb_patch_pending_len(co.pending), 1u);
  plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  EXPECT_EQ(plan, nullptr);
  EXPECT_EQ(cc.calls, 6);
  csb_patch_pending_free(co.pending);
  co.pending = nullptr;
  o.pending = nullptr;
  // A run that recovers something: resolved again after it.
  cc.calls = 0;
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err)) << err.msg;
  EXPECT_TRUE(Leftovers().empty());
  plan = csb_patch_plan_build(r.p, &o, &kind, &err);
  EXPECT_EQ(plan, nullptr);  // sub/b.txt holds "newb" now
  EXPECT_EQ(cc.calls, 6);
  // A refused path: nothing kept; the plan fails with the same message.
  Write("sub/b.txt", "b\n");
  std::string narrow = root + "/sub";
  CountingCheck in_sub{narrow};
  o.check_ctx = &in_sub;
  ASSERT_TRUE(csb_patch_recover_for(r.p, &o, &co, &kind, &err));
  EXPECT_EQ(kind, CSB_PATCH_ERR_POLICY);
  std::string first = err.msg;
  EXPECT_EQ(in_sub.calls, 1);
  EXPECT_EQ(csb_patch_plan_build(r.p, &o, &kind, &err), nullptr);
  EXPECT_EQ(kind, CSB_PATCH_ERR_POLICY);
  EXPECT_EQ(first, err.msg);
  EXPECT_EQ(in_sub.calls, 2);
  csb_patch_resolved_free(res);
}

// ---- the fuzz entry point over a few seeds and random mutations ----------------

TEST(Fuzz, Replay) {
  std::vector<std::string> seeds = {
      std::string("a\nb\nc\n") + '\0' + P("*** Update File: f\n@@\n a\n-b\n+B\n"),
      std::string("x\r\ny") + '\0' + P("*** Update File: f\n@@\n-y\n+z\n*** End of File\n"),
      P("*** Add File: a\n+1\n*** Delete File: b\n"),
      "<<EOF\n" + P("*** Update File: f\n@@ q\n+1\n") + "EOF\n",
      "garbage",
  };
  csbtest::MutateOptions o;  // any byte, then the patch grammar's own
  o.rounds = 150;
  o.max_edits = 4;
  o.seed = 1234;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
  o.alphabet = "\n+- @*\r";
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

// "LEN:PATH".
std::string JPath(const std::string &p) { return std::to_string(p.size()) + ":" + p; }

const std::string kJournalMagic = "csb-applypatch-journal 1\n";

std::vector<std::string> JournalSeeds() {
  const std::string ptr = "/w/sub/.csb-applypatch-1-00000000000000aa.p";
  return {
      kJournalMagic + "id 1-00000000000000aa\nP " + JPath(ptr) + "\nD " + JPath("/w/new") +
          "\nW 0 1 " + JPath("/w/a.txt") + "\nW 1 0 " + JPath("/w/new/b.txt") + "\nX 2 1 " +
          JPath("/w/c.txt") + "\nprepared\ncommit\n",
      kJournalMagic + "id 2-00000000000000bb\nW 0 1 " + JPath("/w/a b.txt") + "\nprepared\n",
      kJournalMagic + "id 3-00000000000000cc\nX 0 1 " + JPath("/w/d") + "\nprepared\ncommit\nabort\n",
      kJournalMagic + "id 4-00000000000000dd\nW 0 0 " + JPath("/w/torn") + "\nprep",
      kJournalMagic + "id 5-00000000000000ee\nP " + JPath("/w/a\nb/.csb-applypatch-5-00000000000000ee.p") +
          "\nW 0 1 " + JPath("/w/a\nb/f") + "\nprepared\ncommit\n",
  };
}

std::string Reformat(const std::string &text) {
  char *out = nullptr;
  if (!csb_patch_i_journal_reformat(text.data(), text.size(), &out)) return "<refused>";
  std::string r(out);
  free(out);
  return r;
}

TEST(Journal, ReadAndWrittenBack) {
  std::vector<std::string> seeds = JournalSeeds();
  // Written back in the committer's order: pointers, directories, files.
  std::string shuffled = kJournalMagic + "id 5-ee\nW 0 1 " + JPath("/w/a") + "\nprepared\nD " +
                         JPath("/w/d") + "\n";
  EXPECT_EQ(Reformat(shuffled),
            kJournalMagic + "id 5-ee\nD " + JPath("/w/d") + "\nW 0 1 " + JPath("/w/a") + "\nprepared\n");
  EXPECT_EQ(Reformat(seeds[0]), seeds[0]);
  // A torn last line is ignored.
  EXPECT_EQ(Reformat(seeds[3]), kJournalMagic + "id 4-00000000000000dd\nW 0 0 " + JPath("/w/torn") + "\n");
  // Refused: no id, a relative, unnormalised or root path, a wrong length,
  // an unknown record.
  EXPECT_EQ(Reformat(kJournalMagic + "prepared\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nW 0 1 " + JPath("w/a") + "\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nW 0 1 " + JPath("/w/../a") + "\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nD " + JPath("/") + "\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nW 0 1 9:/w/a\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nZ\n"), "<refused>");
  EXPECT_EQ(Reformat("csb-applypatch-journal 2\nid 6-ff\n"), "<refused>");
  // Only the spelling the committer writes (found by fuzz_journal): a NUL
  // cut the id to another one, and a sign, blank or leading zero in a
  // number was read past.
  EXPECT_EQ(Reformat(kJournalMagic + std::string("id 6-f\0f\nprepared\n", 18)), "<refused>");
  for (const char *bad : {"W +1 1 ", "W  1 1 ", "W 01 1 ", "W -0 1 ", "X 1 1  "})
    EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\n" + bad + JPath("/w/a") + "\n"), "<refused>") << bad;
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nD 04:/w/a\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nW 10 1 4:/w/a\n"),
            kJournalMagic + "id 6-ff\nW 10 1 4:/w/a\n");
  // Paths are read by their length: a directory name may hold a newline.
  // A record cut short is a torn last line only when no LF follows its
  // start.
  std::string nl = kJournalMagic + "id 6-ff\nP " + JPath("/w/a\nb/.csb-applypatch-6-ff.p") +
                   "\nD " + JPath("/w/a\nb/c") + "\nW 0 1 " + JPath("/w/a\nb/c/f") +
                   "\nX 1 1 " + JPath("/w/a\nprepared\ncommit\n") + "\nprepared\n";
  EXPECT_EQ(Reformat(nl), nl);
  EXPECT_EQ(Reformat(nl + "commit\n"), nl + "commit\n");
  std::string cut = kJournalMagic + "id 6-ff\nW 0 1 " + JPath("/w/a\nb/c");
  EXPECT_EQ(Reformat(cut.substr(0, cut.size() - 2)), "<refused>");
  EXPECT_EQ(Reformat(cut + "X"), "<refused>");
  EXPECT_EQ(Reformat(cut + "\nprepared\n"), cut + "\nprepared\n");
  EXPECT_EQ(Reformat(cut.substr(0, cut.size() - 2) + "\nprepared\n"), "<refused>");
  EXPECT_EQ(Reformat(kJournalMagic + "id 6-ff\nW 0 1 12:/w/a"), kJournalMagic + "id 6-ff\n");
}

// Replays the fuzz target (fuzz_journal.c) over journals and mutations.
TEST(Journal, FuzzEntryOnSeedsAndMutations) {
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 77;
  o.alphabet = std::string("0123456789:/ \nWXPD-+.abcdefid\0", 30);
  EXPECT_GT(csbtest::ForEachMutation(JournalSeeds(), o, csb_fuzz_journal_one), 6000u);
}

// Replays the fuzz target (fuzz_artifact.c) over names, pointers and
// mutations.
TEST(Artifacts, FuzzEntryOnSeedsAndMutations) {
  const std::string id = "1a2-0123456789abcdef";
  const std::string pre = ".csb-applypatch-";
  std::vector<std::string> seeds;
  for (const char *suf : {"j", "p", "t0", "r12", "t999999999", "t01", "x", "j.x"})
    seeds.push_back(pre + id + "." + suf + std::string(1, '\0') + "/w/d/" + pre + id + ".j");
  for (const char *name : {"0-0000000000000000.t1", "01-00000000000000aa.t0",
                           "ffffffffffffffff-ffffffffffffffff.r0", "1-0123456789ABCDEF.j"})
    seeds.push_back(pre + name);
  seeds.push_back(pre + id + ".p" + std::string(1, '\0') + "/" + pre + id + ".j");
  seeds.push_back(pre + id + ".p" + std::string(1, '\0') + "/w/../" + pre + id + ".j");
  seeds.push_back(pre + id + ".p" + std::string(1, '\0') + "w/" + pre + id + ".j");
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 79;
  o.alphabet = std::string("0123456789abcdefjptrx-./A\0", 27);
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_artifact_one), 20000u);
}

// Replays the fuzz target (fuzz_walk.c) over paths and mutations. The
// first byte: 0 add, 1 delete, 2 update, 3 update with a move (PATH LF
// DEST); 4 allows every path (else only those below the base); 8 makes
// bytes 0x01-0x0c stand for names of its tree (0x03 ln_d, 0x04 ln_up,
// 0x05 ln_abs, 0x06 ln_out, 0x07 ln_f, 0x08 ln_fout, 0x0b `..`).
TEST(Walk, FuzzEntryOnSeedsAndMutations) {
  using namespace std::string_literals;
  std::vector<std::string> seeds = {
      "\x02f"s,          "\x00d/new"s,          "\x01d/f"s,          "\x03f\nd/g"s,
      "\x02ln_f"s,       "\x02ln_fout"s,        "\x00ln_up/x"s,      "\x02ln_out/secret"s,
      "\x00ln_abs/tmp/x"s, "\x00ln_dangle"s,    "\x02ln_loop"s,      "\x02ln_chain"s,
      "\x01ln_chain"s,   "\x00ln_art"s,         "\x00../base/d/./e/x"s, "\x02/etc/passwd"s,
      "\x00d/../../out/x"s, "\x00a\0b"s,        "\x00d/"s,           "\x00d/.."s,
      "\x00"s + std::string(300, 'x'), "\x0a\x03/\x04"s, "\x04ln_fout"s, "\x00\xff\xfe/x"s,
      "\x00.csb-applypatch-1-0000000000000000.j"s, "\x03d/f\nln_out/y"s, "\x02ln_d/ln_back/f"s,
      "\x08\x04/\x0b/\x06/x"s, "\x09\x03/\x0b/\x02"s, "\x0a\x05\x0b/\x08"s,
  };
  csbtest::MutateOptions o;
  o.rounds = 120;
  o.seed = 81;
  o.alphabet = std::string("/.\n\0xdf_\x01\x02\x03\x04\x05\x06\x07\x0b", 16);
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_walk_one), 3000u);
}

}  // namespace
