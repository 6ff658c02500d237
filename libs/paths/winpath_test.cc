// Tests for the lexical Windows path helpers (winpath.c).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "csb_paths.h"
#include "tests/lib/mutate.h"

extern "C" int csb_fuzz_winpath_one(const uint8_t *data, size_t size);

namespace {

std::string Norm(const char *p) {
  char *n = csb_winpath_normalize(p);
  if (n == nullptr) return "<null>";
  std::string s(n);
  free(n);
  return s;
}

TEST(WinPath, Absolute) {
  EXPECT_TRUE(csb_winpath_is_absolute("C:\\x"));
  EXPECT_TRUE(csb_winpath_is_absolute("c:/x"));
  EXPECT_TRUE(csb_winpath_is_absolute("C:\\"));
  EXPECT_TRUE(csb_winpath_is_absolute("\\\\srv\\share"));
  EXPECT_TRUE(csb_winpath_is_absolute("\\\\?\\C:\\x"));
  EXPECT_TRUE(csb_winpath_is_absolute("\\\\?\\UNC\\srv\\share\\x"));
  EXPECT_FALSE(csb_winpath_is_absolute("C:x"));
  EXPECT_FALSE(csb_winpath_is_absolute("\\x"));
  EXPECT_FALSE(csb_winpath_is_absolute("x\\y"));
  // A UNC server `?` or `.` has no normal form (`\\?\s\h` is verbatim,
  // `\\.\s\h` a device path): refused (found by fuzz_winpath).
  EXPECT_FALSE(csb_winpath_is_absolute("\\\\?\\UNC\\?\\UNC\\s\\s"));
  EXPECT_FALSE(csb_winpath_is_absolute("\\\\?\\UNC\\.\\C:\\x"));
  EXPECT_EQ(Norm("\\\\?\\UNC\\?\\UNC\\s\\s"), "<null>");
  EXPECT_EQ(Norm("//?/unc/./share/x"), "<null>");
  EXPECT_EQ(Norm("\\\\?\\UNC\\??\\share\\x"), "\\\\??\\share\\x");
  EXPECT_FALSE(csb_winpath_is_absolute("\\\\srv"));
  EXPECT_FALSE(csb_winpath_is_absolute("\\\\\\srv\\share"));
  EXPECT_FALSE(csb_winpath_is_absolute(""));
}

TEST(WinPath, Normalize) {
  EXPECT_EQ(Norm("c:/Users//me/./x/../y/"), "C:\\Users\\me\\y");
  EXPECT_EQ(Norm("C:\\"), "C:\\");
  EXPECT_EQ(Norm("C:\\.."), "C:\\");
  EXPECT_EQ(Norm("C:\\a\\..\\.."), "C:\\");
  EXPECT_EQ(Norm("\\\\?\\C:\\x\\y"), "C:\\x\\y");
  EXPECT_EQ(Norm("\\\\.\\d:\\x"), "D:\\x");
  EXPECT_EQ(Norm("\\\\?\\UNC\\srv\\share\\x"), "\\\\srv\\share\\x");
  EXPECT_EQ(Norm("//srv/share/a/../b"), "\\\\srv\\share\\b");
  EXPECT_EQ(Norm("\\\\srv\\share\\.."), "\\\\srv\\share");
  EXPECT_EQ(Norm("relative\\x"), "<null>");
}

static std::string Fold(const std::string &s) {
  char *f = csb_winname_fold(s.data(), s.size());
  std::string r(f);
  free(f);
  return r;
}

TEST(WinName, UpcaseTable) {
  EXPECT_EQ(csb_winname_upcase(0x61), 0x41u);        // a -> A
  EXPECT_EQ(csb_winname_upcase(0xE9), 0xC9u);        // é -> É
  EXPECT_EQ(csb_winname_upcase(0x3C9), 0x3A9u);      // ω -> Ω
  EXPECT_EQ(csb_winname_upcase(0x434), 0x414u);      // д -> Д
  EXPECT_EQ(csb_winname_upcase(0x1C6), 0x1C4u);      // ǆ -> Ǆ
  EXPECT_EQ(csb_winname_upcase(0x1C5), 0x1C4u);      // ǅ -> Ǆ
  EXPECT_EQ(csb_winname_upcase(0xDF), 0xDFu);        // ß: upper case is two letters
  EXPECT_EQ(csb_winname_upcase(0x149), 0x149u);      // ŉ: likewise
  EXPECT_EQ(csb_winname_upcase(0x10428), 0x10428u);  // 𐐨: outside the BMP
  EXPECT_EQ(csb_winname_upcase(0x212A), 0x212Au);    // KELVIN SIGN is upper case
  EXPECT_EQ(csb_winname_upcase(0xD800), 0xD800u);    // a surrogate unit
}

TEST(WinName, FoldExactBytes) {
  EXPECT_EQ(Fold("C:\\Users\\ÉLODIE\\Proj"), "c:\\users\\Élodie\\proj");
  EXPECT_EQ(Fold("c:\\users\\élodie\\PROJ"), "c:\\users\\Élodie\\proj");
  EXPECT_EQ(Fold("σοφία"), "ΣΟΦΊΑ");
  EXPECT_EQ(Fold("ёлка"), "ЁЛКА");
  EXPECT_EQ(Fold("straße"), "straße");
  EXPECT_EQ(Fold("𐐨x"), "𐐨x");
  EXPECT_EQ(Fold("\xff\xc3(A"), "\xff\xc3(a");  // not UTF-8: copied, ASCII folded
  EXPECT_EQ(Fold("\xed\xa0\x80"), "\xed\xa0\x80");  // an encoded surrogate: copied
  EXPECT_EQ(Fold("ı"), "i");  // dotless i upper-cases to I, shorter in UTF-8
}

TEST(WinName, EqualAndPaths) {
  EXPECT_TRUE(csb_winpath_equal("C:\\Users\\ÉLODIE\\proj", "C:\\users\\élodie\\PROJ"));
  EXPECT_FALSE(csb_winpath_equal("C:\\repo\\STRASSE", "C:\\repo\\straße"));
  EXPECT_FALSE(csb_winpath_equal("C:\\repo\\𐐀", "C:\\repo\\𐐨"));
  EXPECT_FALSE(csb_winpath_equal("C:\\repo\\K", "C:\\repo\\\xe2\x84\xaa"));  // K vs KELVIN SIGN
  EXPECT_TRUE(csb_winpath_is_under("C:\\ΩMEGA", "C:\\ωmega\\x"));
  EXPECT_FALSE(csb_winpath_is_under("C:\\ΩMEGA", "C:\\ωmegax"));
  // Folding changes the length: `ı` (2 bytes) is `I` (1 byte).
  EXPECT_TRUE(csb_winpath_is_under("C:\\I", "C:\\ı\\sub"));
  EXPECT_EQ(csb_winpath_prefix_bytes("C:\\I", "C:\\ı\\sub"), 5u);
  char *rel = csb_winpath_relative_to("C:\\ı", "C:\\I\\Дом");
  ASSERT_NE(rel, nullptr);
  EXPECT_STREQ(rel, "Дом");
  free(rel);
  char *k = csb_winpath_key("C:\\Users\\ÉLODIE\\");
  EXPECT_STREQ(k, "c:/users/Élodie");
  free(k);
}

TEST(WinPath, CompareCaseInsensitive) {
  EXPECT_TRUE(csb_winpath_equal("C:\\Repo", "c:\\rEPO"));
  EXPECT_FALSE(csb_winpath_equal("C:\\Repo", "C:\\Repo2"));
  EXPECT_TRUE(csb_winpath_is_under("C:\\Repo", "c:\\repo\\A"));
  EXPECT_TRUE(csb_winpath_is_under("C:\\Repo", "C:\\Repo"));
  EXPECT_FALSE(csb_winpath_is_under("C:\\Repo", "C:\\Repo-a"));
  EXPECT_TRUE(csb_winpath_is_under("C:\\", "C:\\x"));
  EXPECT_FALSE(csb_winpath_is_under("C:\\", "D:\\x"));
  EXPECT_TRUE(csb_winpath_is_under("\\\\srv\\share", "\\\\SRV\\Share\\x"));
  EXPECT_FALSE(csb_winpath_is_under("\\\\srv\\share", "\\\\srv\\shared"));
}

TEST(WinPath, DepthRootJoinRelative) {
  EXPECT_EQ(csb_winpath_depth("C:\\"), 0u);
  EXPECT_EQ(csb_winpath_depth("C:\\a\\b"), 2u);
  EXPECT_EQ(csb_winpath_depth("\\\\srv\\share"), 0u);
  EXPECT_EQ(csb_winpath_depth("\\\\srv\\share\\a"), 1u);
  char *r = csb_winpath_root("c:/x/y");
  EXPECT_STREQ(r, "C:\\");
  free(r);
  r = csb_winpath_root("\\\\srv\\share\\x");
  EXPECT_STREQ(r, "\\\\srv\\share");
  free(r);
  EXPECT_EQ(csb_winpath_root("x"), nullptr);
  char *j = csb_winpath_join("C:\\repo", "a/../b\\c");
  EXPECT_STREQ(j, "C:\\repo\\b\\c");
  free(j);
  j = csb_winpath_join("C:\\repo", "D:\\other");
  EXPECT_STREQ(j, "D:\\other");
  free(j);
  char *rel = csb_winpath_relative_to("C:\\Repo", "c:\\repo\\a\\b");
  EXPECT_STREQ(rel, "a\\b");
  free(rel);
  rel = csb_winpath_relative_to("C:\\", "C:\\a");
  EXPECT_STREQ(rel, "a");
  free(rel);
  EXPECT_EQ(csb_winpath_relative_to("C:\\Repo", "C:\\Other"), nullptr);
}

// A rest whose first component is `D:` (stored only by a foreign file
// system, such as a fixture tree) would read as another drive: it is
// returned as `.\D:\...`, so that joining it onto the root gives the path
// back (found by fuzz_winpath).
TEST(WinPath, RelativeRestThatLooksAbsoluteJoinsBack) {
  struct Case {
    const char *root, *path, *rel;
  } cases[] = {
      {"\\\\C:\\Repo", "\\\\C:\\Repo\\D:\\dev", ".\\D:\\dev"},
      {"C:\\", "C:\\D:\\x", ".\\D:\\x"},
      {"C:\\a", "C:\\a\\D:", "D:"},  // `D:` alone is drive-relative, not absolute
      {"C:\\a", "C:\\a\\D:x\\y", "D:x\\y"},
  };
  for (const Case &c : cases) {
    char *rel = csb_winpath_relative_to(c.root, c.path);
    ASSERT_NE(rel, nullptr) << c.path;
    EXPECT_STREQ(rel, c.rel) << c.path;
    char *back = csb_winpath_join(c.root, rel);
    EXPECT_STREQ(back, c.path) << c.path;
    free(back);
    free(rel);
  }
}

std::string Own(char *s) {
  if (s == nullptr) return "<null>";
  std::string r(s);
  free(s);
  return r;
}

TEST(WinPath, RootParentBasenameKey) {
  EXPECT_TRUE(csb_winpath_is_root("C:\\"));
  EXPECT_TRUE(csb_winpath_is_root("\\\\srv\\share"));
  EXPECT_FALSE(csb_winpath_is_root("C:\\a"));
  EXPECT_FALSE(csb_winpath_is_root("x"));
  EXPECT_EQ(Own(csb_winpath_parent("C:\\a\\b")), "C:\\a");
  EXPECT_EQ(Own(csb_winpath_parent("c:/a")), "C:\\");
  EXPECT_EQ(Own(csb_winpath_parent("C:\\")), "<null>");
  EXPECT_EQ(Own(csb_winpath_parent("\\\\srv\\share\\x")), "\\\\srv\\share");
  EXPECT_EQ(Own(csb_winpath_parent("\\\\srv\\share")), "<null>");
  EXPECT_EQ(Own(csb_winpath_parent("rel")), "<null>");
  EXPECT_EQ(Own(csb_winpath_basename("C:\\a\\B.txt")), "B.txt");
  EXPECT_EQ(Own(csb_winpath_basename("C:\\")), "");
  EXPECT_EQ(Own(csb_winpath_basename("\\\\srv\\share")), "");
  EXPECT_EQ(Own(csb_winpath_key("C:\\Repo\\A")), "c:/repo/a");
  EXPECT_EQ(Own(csb_winpath_key("c:/REPO/")), "c:/repo");
  EXPECT_EQ(Own(csb_winpath_key("C:\\")), "c:");
  EXPECT_EQ(Own(csb_winpath_key("\\\\?\\C:\\x")), "c:/x");
  EXPECT_EQ(Own(csb_winpath_key("\\\\Srv\\Sh\\X")), "//srv/sh/x");
  EXPECT_EQ(Own(csb_winpath_key("x")), "<null>");
}

// A file system for csb_winpath_effective_with: comparison keys
// (csb_winpath_key) of the objects that exist, each with its canonical form
// ("" for one that exists but cannot be canonicalised), and every path the
// lookup was asked about.
struct FakeFs {
  std::map<std::string, std::string> canon;
  std::vector<std::string> asked;
};

int FakeCanonical(void *ctx, const char *path, char **out) {
  FakeFs *fs = static_cast<FakeFs *>(ctx);
  fs->asked.push_back(path);
  *out = nullptr;
  char *key = csb_winpath_key(path);
  auto it = fs->canon.find(key);
  free(key);
  if (it == fs->canon.end() || it->second.empty()) return 0;
  *out = csb_xstrdup(it->second.c_str());
  return 1;
}

std::string Effective(FakeFs *fs, const char *path) {
  char *out = nullptr;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_winpath_effective_with(path, FakeCanonical, fs, &out, &err)) {
    EXPECT_EQ(out, nullptr);
    return "<error> " + std::string(err.msg);
  }
  return Own(out);
}

TEST(WinPathEffective, PathExists) {
  FakeFs fs;
  fs.canon["c:/repo/a"] = "C:\\Repo\\A";
  fs.canon["c:/repo"] = "C:\\Repo";
  EXPECT_EQ(Effective(&fs, "c:/repo/./a/"), "C:\\Repo\\A");
  // Asked once, with the normalised path.
  EXPECT_EQ(fs.asked, std::vector<std::string>({"C:\\repo\\a"}));
}

TEST(WinPathEffective, PrefixExistsTailReappended) {
  FakeFs fs;
  fs.canon["c:/repo"] = "D:\\Real\\Repo";  // a junction
  EXPECT_EQ(Effective(&fs, "c:\\repo\\new\\Sub\\f.txt"), "D:\\Real\\Repo\\new\\Sub\\f.txt");
  EXPECT_EQ(fs.asked, std::vector<std::string>({"C:\\repo\\new\\Sub\\f.txt", "C:\\repo\\new\\Sub",
                                                "C:\\repo\\new", "C:\\repo"}));
  // An ancestor that exists but cannot be canonicalised gives way to its
  // parent; the tail keeps its spelling.
  fs.asked.clear();
  fs.canon["c:/repo/broken"] = "";
  EXPECT_EQ(Effective(&fs, "C:\\REPO\\broken\\X"), "D:\\Real\\Repo\\broken\\X");
  EXPECT_EQ(fs.asked,
            std::vector<std::string>({"C:\\REPO\\broken\\X", "C:\\REPO\\broken", "C:\\REPO"}));
  // Only the root exists.
  fs.asked.clear();
  fs.canon["//srv/share"] = "\\\\SRV\\Share";
  EXPECT_EQ(Effective(&fs, "//srv/share/a/b"), "\\\\SRV\\Share\\a\\b");
  EXPECT_EQ(fs.asked, std::vector<std::string>(
                          {"\\\\srv\\share\\a\\b", "\\\\srv\\share\\a", "\\\\srv\\share"}));
}

TEST(WinPathEffective, NothingExists) {
  FakeFs fs;
  EXPECT_EQ(Effective(&fs, "e:/a//b/../c/"), "E:\\a\\c");
  EXPECT_EQ(fs.asked, std::vector<std::string>({"E:\\a\\c", "E:\\a", "E:\\"}));
  fs.asked.clear();
  EXPECT_EQ(Effective(&fs, "\\\\?\\UNC\\srv\\share\\x"), "\\\\srv\\share\\x");
  EXPECT_EQ(fs.asked, std::vector<std::string>({"\\\\srv\\share\\x", "\\\\srv\\share"}));
}

TEST(WinPathEffective, NotAbsolute) {
  FakeFs fs;
  fs.canon["c:/repo"] = "C:\\Repo";
  EXPECT_EQ(Effective(&fs, "repo\\x"), "<error> `repo\\x` is not an absolute Windows path");
  EXPECT_EQ(Effective(&fs, "C:repo"), "<error> `C:repo` is not an absolute Windows path");
  EXPECT_EQ(Effective(&fs, "\\repo"), "<error> `\\repo` is not an absolute Windows path");
  EXPECT_EQ(Effective(&fs, ""), "<error> `` is not an absolute Windows path");
  EXPECT_TRUE(fs.asked.empty());
  // err may be NULL.
  char *out = reinterpret_cast<char *>(1);
  EXPECT_FALSE(csb_winpath_effective_with("x", FakeCanonical, &fs, &out, nullptr));
  EXPECT_EQ(out, nullptr);
}

// csb_spath_*: one call site, either style.
TEST(StylePath, PosixAndWindows) {
  const csb_path_style P = CSB_PATH_POSIX, W = CSB_PATH_WINDOWS;
  EXPECT_EQ(csb_path_style_host(), P);
  EXPECT_TRUE(csb_spath_is_sep(P, '/'));
  EXPECT_FALSE(csb_spath_is_sep(P, '\\'));
  EXPECT_TRUE(csb_spath_is_sep(W, '\\'));
  EXPECT_TRUE(csb_spath_is_sep(W, '/'));
  EXPECT_TRUE(csb_spath_is_absolute(P, "/a"));
  EXPECT_FALSE(csb_spath_is_absolute(P, "C:\\a"));
  EXPECT_TRUE(csb_spath_is_absolute(W, "c:/a"));
  EXPECT_FALSE(csb_spath_is_absolute(W, "/a"));
  EXPECT_EQ(Own(csb_spath_normalize(P, "/a/./b/../c/")), "/a/c");
  EXPECT_EQ(Own(csb_spath_normalize(P, "a/b")), "<null>");
  EXPECT_EQ(Own(csb_spath_normalize(W, "c:/a/./b/../c/")), "C:\\a\\c");
  EXPECT_EQ(Own(csb_spath_normalize(W, "/a")), "<null>");
  EXPECT_EQ(Own(csb_spath_join(P, "/r", "x/../y")), "/r/y");
  EXPECT_EQ(Own(csb_spath_join(P, "/r", "/abs")), "/abs");
  EXPECT_EQ(Own(csb_spath_join(W, "C:\\r", "x/y")), "C:\\r\\x\\y");
  EXPECT_EQ(Own(csb_spath_join(W, "C:\\r", "D:\\abs")), "D:\\abs");
  EXPECT_EQ(Own(csb_spath_parent(P, "/a/b")), "/a");
  EXPECT_EQ(Own(csb_spath_parent(P, "/")), "<null>");
  EXPECT_EQ(Own(csb_spath_parent(P, "rel")), "<null>");
  EXPECT_EQ(Own(csb_spath_parent(W, "C:\\a")), "C:\\");
  EXPECT_EQ(Own(csb_spath_basename(W, "C:\\a\\b")), "b");
  EXPECT_EQ(Own(csb_spath_basename(P, "/a/b")), "b");
  EXPECT_EQ(Own(csb_spath_root(P, "/a/b")), "/");
  EXPECT_EQ(Own(csb_spath_root(P, "a")), "<null>");
  EXPECT_EQ(Own(csb_spath_root(W, "d:\\a\\b")), "D:\\");
  EXPECT_EQ(Own(csb_spath_root(W, "\\\\srv\\sh\\a")), "\\\\srv\\sh");
  EXPECT_TRUE(csb_spath_is_root(P, "/"));
  EXPECT_TRUE(csb_spath_is_root(W, "C:\\"));
  EXPECT_FALSE(csb_spath_is_root(W, "C:\\a"));
  EXPECT_TRUE(csb_spath_equal(W, "C:\\Repo", "c:\\repo"));
  EXPECT_FALSE(csb_spath_equal(P, "/Repo", "/repo"));
  EXPECT_TRUE(csb_spath_is_under(W, "C:\\Repo", "c:\\REPO\\x"));
  EXPECT_FALSE(csb_spath_is_under(P, "/Repo", "/repo/x"));
  EXPECT_TRUE(csb_spath_is_under(P, "/repo", "/repo/x"));
  EXPECT_EQ(csb_spath_depth(P, "/a/b"), 2u);
  EXPECT_EQ(csb_spath_depth(W, "C:\\a\\b"), 2u);
}

// The Windows file system exists only in Windows builds.
TEST(WinPathFs, FailsOffWindows) {
  char *out = reinterpret_cast<char *>(1);
  csb_error err;
  csb_error_clear(&err);
  EXPECT_FALSE(csb_winpath_canonicalize("C:\\x", &out, &err));
  EXPECT_EQ(out, nullptr);
  EXPECT_STREQ(err.msg, "C:\\x: no Windows file system on this host");
  out = reinterpret_cast<char *>(1);
  EXPECT_FALSE(csb_winpath_effective("C:\\x", &out, &err));
  EXPECT_EQ(out, nullptr);
  EXPECT_FALSE(csb_spath_canonicalize(CSB_PATH_WINDOWS, "C:\\x", &out, &err));
  ASSERT_TRUE(csb_spath_canonicalize(CSB_PATH_POSIX, "/", &out, &err)) << err.msg;
  EXPECT_STREQ(out, "/");
  free(out);
}

// Names Win32 would not store as written.
TEST(WinPath, NameProblems) {
  auto problem = [](const char *n) {
    const char *p = csb_winpath_name_problem(n, strlen(n));
    return std::string(p ? p : "");
  };
  EXPECT_EQ(problem("file.txt"), "");
  EXPECT_EQ(problem("."), "");
  EXPECT_EQ(problem(".."), "");
  EXPECT_EQ(problem(".git"), "");
  EXPECT_EQ(problem("con.d"), "a DOS device name");
  EXPECT_EQ(problem("NUL"), "a DOS device name");
  EXPECT_EQ(problem("nul.txt"), "a DOS device name");
  EXPECT_EQ(problem("Com1"), "a DOS device name");
  EXPECT_EQ(problem("lpt9.log"), "a DOS device name");
  EXPECT_EQ(problem("COM10"), "");
  EXPECT_EQ(problem("COM\xc2\xb9"), "a DOS device name");      // COM¹
  EXPECT_EQ(problem("lpt\xc2\xb3.txt"), "a DOS device name");  // lpt³.txt
  EXPECT_EQ(problem("COM\xc2\xb4"), "");                      // ´ is no digit
  EXPECT_EQ(problem("NUL .txt"), "a DOS device name");
  EXPECT_EQ(problem("aux  .d"), "a DOS device name");
  EXPECT_EQ(problem("conin$"), "a DOS device name");
  EXPECT_EQ(problem("CONOUT$.log"), "a DOS device name");
  EXPECT_EQ(problem("CONIN"), "");
  EXPECT_EQ(problem("console"), "");
  EXPECT_EQ(problem("nul_"), "");
  EXPECT_EQ(problem("x."), "a final dot or space, which Windows drops");
  EXPECT_EQ(problem(".git."), "a final dot or space, which Windows drops");
  EXPECT_EQ(problem("x "), "a final dot or space, which Windows drops");
  EXPECT_EQ(problem("a:b"), "a character Windows does not allow in names");
  EXPECT_EQ(problem("a*"), "a character Windows does not allow in names");
  EXPECT_EQ(problem("a\x01"), "a control character");
  EXPECT_EQ(problem(""), "an empty name");
  EXPECT_EQ(csb_winpath_names_problem("C:\\repo\\a\\b.txt"), nullptr);
  EXPECT_EQ(csb_winpath_names_problem("C:\\"), nullptr);
  EXPECT_EQ(csb_winpath_names_problem("\\\\srv\\share\\x"), nullptr);
  EXPECT_STREQ(csb_winpath_names_problem("C:\\repo\\.codex.\\config.toml"),
               "a final dot or space, which Windows drops");
  EXPECT_STREQ(csb_winpath_names_problem("C:\\repo\\a.txt:evil"),
               "a character Windows does not allow in names");
  EXPECT_STREQ(csb_winpath_names_problem("c:/repo/aux/x"), "a DOS device name");
  EXPECT_STREQ(csb_winpath_names_problem("repo"), "not an absolute Windows path");
}

// Replays the fuzz target (fuzz_winpath.c) over drive, UNC, verbatim and
// device paths and mutations of them.
TEST(WinPath, FuzzEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "C:\\Users\\me\\repo\\.git",
      "c:/a/./b/../c/",
      "\\\\srv\\share\\dir\\..\\x",
      "//srv/share",
      "\\\\?\\C:\\a\\b",
      "\\\\?\\UNC\\srv\\share\\a",
      "\\\\.\\D:\\dev",
      "C:\\Repo\\\xce\xa3\xcf\x83\\stra\xc3\x9f""e",
      "C:x\\rel",
  };
  csbtest::MutateOptions o;
  o.rounds = 1500;
  o.seed = 5;
  o.alphabet = "\\/.:?CcUNaz\xc3\x9f ";
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_winpath_one), 13000u);
}

}  // namespace
