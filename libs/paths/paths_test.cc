// paths_test.cc - unit tests for libs/paths.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/lib/mutate.h"

#include "csb_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_glob_cache_one(const uint8_t *data, size_t size);
extern "C" int csb_test_glob_cache_rekey(const char *dir, const char *file, const char *version);
extern "C" int csb_test_glob_cache_forge_trusted(const char *dir, const char *file);
extern "C" int csb_test_glob_cache_settled(int64_t mtime_s, uint32_t mtime_ns, int64_t ctime_s,
                                           uint32_t ctime_ns, int64_t start_s, long start_ns);

namespace {

std::string Take(char *p) {
  if (!p) return "<null>";
  std::string s(p);
  free(p);
  return s;
}

std::string Norm(const char *p) { return Take(csb_path_normalize(p)); }
std::string Join(const char *a, const char *b) { return Take(csb_path_join(a, b)); }

// ---- temporary trees ------------------------------------------------------

int RemoveEntry(const char *path, const struct stat *, int type, struct FTW *) {
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR) return rmdir(path) == 0 ? 0 : 0;
  unlink(path);
  return 0;
}

int OpenUp(const char *path, const struct stat *st, int type, struct FTW *) {
  if (type == FTW_D || type == FTW_DNR || (st && S_ISDIR(st->st_mode))) chmod(path, 0755);
  return 0;
}

class TempDir {
 public:
  // `world_accessible` places the directory under /tmp so that the tests
  // that drop privileges can reach it (TEST_TMPDIR may live under a
  // private home directory).
  explicit TempDir(bool world_accessible = false) {
    const char *base = world_accessible ? nullptr : getenv("TEST_TMPDIR");
    if (!base || !*base) base = "/tmp";
    std::string templ = std::string(base) + "/csb-paths-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) abort();
    char *real = realpath(buf.data(), nullptr);
    path_ = real;
    free(real);
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() {
    nftw(path_.c_str(), OpenUp, 64, FTW_PHYS);
    nftw(path_.c_str(), RemoveEntry, 64, FTW_DEPTH | FTW_PHYS);
  }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void MkDirs(const std::string &p) {
  std::string cur;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    cur = p.substr(0, j);
    if (!cur.empty()) mkdir(cur.c_str(), 0755);
    i = j + 1;
  }
}

void Touch(const std::string &p) {
  size_t slash = p.rfind('/');
  MkDirs(p.substr(0, slash));
  int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << p;
  close(fd);
}

void Symlink(const std::string &target, const std::string &link) {
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link << ": " << strerror(errno);
}

// Runs fn() without privileges when the tests run as root (permission bits
// do not stop root), in a child process; returns fn's result, or
// kCannotDrop when privileges cannot be dropped.
constexpr int kCannotDrop = 99;
int RunUnprivileged(const std::function<int()> &fn) {
  if (geteuid() != 0) return fn();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(kCannotDrop);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

// ---- glob helpers ------------------------------------------------------------

struct Glob {
  csb_glob *g = nullptr;
  std::string error;
  explicit Glob(const std::string &pattern) {
    csb_error err;
    csb_error_clear(&err);
    if (!csb_glob_compile(pattern.c_str(), &g, &err)) error = err.msg;
  }
  ~Glob() { csb_glob_free(g); }
  bool ok() const { return g != nullptr; }
  bool Match(const std::string &path) const {
    return csb_glob_match_n(g, path.data(), path.size()) != 0;
  }
};

bool GlobMatch(const std::string &pattern, const std::string &path) {
  Glob g(pattern);
  EXPECT_TRUE(g.ok()) << pattern << ": " << g.error;
  return g.ok() && g.Match(path);
}

// The compile error of a pattern, after checking that csb_glob_check
// reports the same without compiling.
std::string CompileError(const std::string &pattern) {
  Glob g(pattern);
  std::string r = g.ok() ? "<compiled>" : g.error;
  csb_error err;
  csb_error_clear(&err);
  int ok = csb_glob_check(pattern.c_str(), &err);
  EXPECT_EQ(ok ? "<compiled>" : std::string(err.msg), r) << pattern;
  return r;
}

struct Expansion {
  bool ok = false;
  std::string error;
  std::vector<std::string> paths;
};

Expansion Expand(const std::string &pattern, int max_depth = CSB_GLOB_DEPTH_UNLIMITED,
                 size_t max_matches = 0, unsigned flags = 0, int threads = 0,
                 const char *cache_dir = nullptr, csb_glob_expand_stats *stats = nullptr) {
  Expansion r;
  Glob g(pattern);
  if (!g.ok()) {
    r.error = g.error;
    return r;
  }
  csb_glob_expand_opts o;
  memset(&o, 0, sizeof o);
  o.max_depth = max_depth;
  o.max_matches = max_matches;
  o.flags = flags;
  o.threads = threads;
  o.cache_dir = cache_dir;
  o.stats = stats;
  csb_strv v;
  csb_strv_init(&v);
  csb_error err;
  csb_error_clear(&err);
  r.ok = csb_glob_expand_ex(g.g, &o, &v, &err) != 0;
  if (!r.ok) r.error = err.msg;
  for (size_t i = 0; i < v.len; i++) r.paths.push_back(v.items[i]);
  csb_strv_free(&v);
  return r;
}

// ============================================================================
// Lexical
// ============================================================================

TEST(PathNormalize, Absolute) {
  EXPECT_EQ(Norm("/"), "/");
  EXPECT_EQ(Norm("//"), "/");
  EXPECT_EQ(Norm("/a//b/"), "/a/b");
  EXPECT_EQ(Norm("/a/./b/."), "/a/b");
  EXPECT_EQ(Norm("/a/../b"), "/b");
  EXPECT_EQ(Norm("/a/b/../../.."), "/");
  EXPECT_EQ(Norm("/.."), "/");
  EXPECT_EQ(Norm("/../a/../../b"), "/b");
  EXPECT_EQ(Norm("/a/.../b"), "/a/.../b");
  EXPECT_EQ(Norm("/a/..b/c"), "/a/..b/c");
}

TEST(PathNormalize, AmbiguousUnixForms) {
  // permissions.md 8.1 #27: these are plain absolute paths on Unix.
  EXPECT_EQ(Norm("//server/share/x"), "/server/share/x");
  EXPECT_EQ(Norm("/C:/x"), "/C:/x");
  EXPECT_EQ(Norm("/C:\\x"), "/C:\\x");
}

TEST(PathNormalize, Relative) {
  EXPECT_EQ(Norm(""), ".");
  EXPECT_EQ(Norm("."), ".");
  EXPECT_EQ(Norm("./a"), "a");
  EXPECT_EQ(Norm("a/.."), ".");
  EXPECT_EQ(Norm("a/../../b"), "../b");
  EXPECT_EQ(Norm("../.."), "../..");
  EXPECT_EQ(Norm("a/b/../c/"), "a/c");
  EXPECT_EQ(Norm("../a/.."), "..");
}

TEST(PathNormalize, NonUtf8BytesPreserved) {
  EXPECT_EQ(Norm("/a/\xff\xfe//x\x80"), "/a/\xff\xfe/x\x80");
}

TEST(PathJoin, Basics) {
  EXPECT_EQ(Join("/a", "b"), "/a/b");
  EXPECT_EQ(Join("/a/", "b/"), "/a/b");
  EXPECT_EQ(Join("/a", "/b/../c"), "/c");
  EXPECT_EQ(Join("/a/b", "../c"), "/a/c");
  EXPECT_EQ(Join("/", "../.."), "/");
  EXPECT_EQ(Join("/a", ""), "/a");
  EXPECT_EQ(Join("", "x/./y"), "x/y");
  EXPECT_EQ(Join("rel", "x"), "rel/x");
}

std::string Home(const char *path, const char *home, std::string *error = nullptr) {
  char *out = nullptr;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_path_expand_home(path, home, &out, &err)) {
    if (error) *error = err.msg;
    return "<error>";
  }
  return Take(out);
}

TEST(PathExpandHome, Forms) {
  // permissions.md 8.4 #61 and 8.1 #26.
  EXPECT_EQ(Home("~", "/home/u"), "/home/u");
  EXPECT_EQ(Home("~/x", "/home/u"), "/home/u/x");
  EXPECT_EQ(Home("~//x", "/home/u"), "/home/u/x");
  EXPECT_EQ(Home("~/x/../y", "/home/u"), "/home/u/y");
  EXPECT_EQ(Home("~/", "/home/u/"), "/home/u");
  EXPECT_EQ(Home("~/a/**/*.env", "/home/u"), "/home/u/a/**/*.env");
}

TEST(PathExpandHome, OtherPathsUnchanged) {
  EXPECT_EQ(Home("~user/x", "/home/u"), "~user/x");
  EXPECT_EQ(Home("~user", "/home/u"), "~user");
  EXPECT_EQ(Home("/abs/~/x", "/home/u"), "/abs/~/x");
  EXPECT_EQ(Home("rel/x", "/home/u"), "rel/x");
  EXPECT_EQ(Home("/a//b", "/home/u"), "/a//b");
  // Paths that need no expansion do not need a home either.
  EXPECT_EQ(Home("/x", nullptr), "/x");
}

TEST(PathExpandHome, UnknownHomeIsAnError) {
  std::string e;
  EXPECT_EQ(Home("~", nullptr, &e), "<error>");
  EXPECT_NE(e.find("home directory is unknown"), std::string::npos) << e;
  EXPECT_EQ(Home("~/x", "", &e), "<error>");
  EXPECT_EQ(Home("~/x", "relative/home", &e), "<error>");
  EXPECT_NE(e.find("not absolute"), std::string::npos) << e;
}

TEST(PathUnder, ComponentWise) {
  EXPECT_TRUE(csb_path_is_under("/repo", "/repo"));
  EXPECT_TRUE(csb_path_is_under("/repo", "/repo/a"));
  EXPECT_TRUE(csb_path_is_under("/repo", "/repo/a/b"));
  EXPECT_FALSE(csb_path_is_under("/repo", "/repo-a"));
  EXPECT_FALSE(csb_path_is_under("/repo", "/rep"));
  EXPECT_FALSE(csb_path_is_under("/repo/a", "/repo"));
  EXPECT_TRUE(csb_path_is_under("/", "/"));
  EXPECT_TRUE(csb_path_is_under("/", "/anything/at/all"));
  EXPECT_TRUE(csb_path_is_under("/repo/", "/repo//a/./b"));
  EXPECT_FALSE(csb_path_is_under("/repo", "repo/a"));
  EXPECT_FALSE(csb_path_is_under("repo", "/repo/a"));
  EXPECT_TRUE(csb_path_is_under("repo", "repo/a"));
  EXPECT_FALSE(csb_path_is_under("/a/..", "/b"));  // ".." compared literally
}

// The rest after a prefix points into the path, never past it, whatever
// the prefix's spelling ("/w/." is longer than the "/w" it covers).
TEST(PathUnder, RestPointsIntoThePath) {
  const char *path = "/w";
  EXPECT_EQ(csb_path_rest_under("/w/.", path), path + 2);
  EXPECT_EQ(csb_spath_rest_under(CSB_PATH_POSIX, "/w/./", path), path + 2);
  EXPECT_EQ(csb_spath_rest_under(CSB_PATH_POSIX, "//w//", path), path + 2);
  const char *deep = "/w/.GIT/x";
  EXPECT_STREQ(csb_spath_rest_under(CSB_PATH_POSIX, "/w/.", deep), "/.GIT/x");
  EXPECT_EQ(csb_spath_rest_under(CSB_PATH_POSIX, "/v", deep), nullptr);
  const char *win = "C:\\W\\.git";
  EXPECT_STREQ(csb_spath_rest_under(CSB_PATH_WINDOWS, "c:\\w", win), "\\.git");
  EXPECT_STREQ(csb_spath_rest_under(CSB_PATH_WINDOWS, "C:\\W\\.GIT", win), "");
}

TEST(PathUnder, Strictly) {
  EXPECT_FALSE(csb_path_is_strictly_under("/repo", "/repo"));
  EXPECT_FALSE(csb_path_is_strictly_under("/repo", "/repo/"));
  EXPECT_TRUE(csb_path_is_strictly_under("/repo", "/repo/a"));
  EXPECT_FALSE(csb_path_is_strictly_under("/repo", "/repo-a/b"));
  EXPECT_FALSE(csb_path_is_strictly_under("/", "/"));
  EXPECT_TRUE(csb_path_is_strictly_under("/", "/x"));
}

TEST(PathUnder, AmbiguousUnixFormsKeepExactSemantics) {
  // permissions.md 8.1 #27.
  std::string unc = Norm("//server/share/x");
  EXPECT_TRUE(csb_path_is_under(unc.c_str(), "/server/share/x/y"));
  EXPECT_FALSE(csb_path_is_under(unc.c_str(), "/server/share/y"));
  EXPECT_FALSE(csb_path_is_under(unc.c_str(), "/server"));
  EXPECT_TRUE(csb_path_is_under("/C:/x", "/C:/x/y"));
  EXPECT_FALSE(csb_path_is_under("/C:/x", "/C:/y"));
  EXPECT_FALSE(csb_path_is_under("/C:/x", "/C:"));
}

TEST(PathParts, DepthParentBasename) {
  EXPECT_EQ(csb_path_depth("/"), 0u);
  EXPECT_EQ(csb_path_depth("/a"), 1u);
  EXPECT_EQ(csb_path_depth("/a//b/./"), 2u);
  EXPECT_EQ(csb_path_depth("a/b/c"), 3u);
  EXPECT_EQ(csb_path_depth(""), 0u);

  EXPECT_EQ(Take(csb_path_parent("/a/b")), "/a");
  EXPECT_EQ(Take(csb_path_parent("/a/b/")), "/a");
  EXPECT_EQ(Take(csb_path_parent("/a")), "/");
  EXPECT_EQ(Take(csb_path_parent("/")), "<null>");
  EXPECT_EQ(Take(csb_path_parent("a")), ".");
  EXPECT_EQ(Take(csb_path_parent("a/b")), "a");
  EXPECT_EQ(Take(csb_path_parent(".")), "<null>");

  EXPECT_EQ(Take(csb_path_basename("/a/b/")), "b");
  EXPECT_EQ(Take(csb_path_basename("/a")), "a");
  EXPECT_EQ(Take(csb_path_basename("/")), "");
  EXPECT_EQ(Take(csb_path_basename("x")), "x");
}

TEST(PathParts, RelativeTo) {
  EXPECT_EQ(Take(csb_path_relative_to("/repo", "/repo")), "");
  EXPECT_EQ(Take(csb_path_relative_to("/repo", "/repo/a//b/")), "a/b");
  EXPECT_EQ(Take(csb_path_relative_to("/", "/a/b")), "a/b");
  EXPECT_EQ(Take(csb_path_relative_to("/repo", "/repo-a/b")), "<null>");
  EXPECT_EQ(Take(csb_path_relative_to("/repo/a", "/repo")), "<null>");
}

TEST(PathParts, HasGlobAndAbsolute) {
  EXPECT_TRUE(csb_path_has_glob("/a/*.env"));
  EXPECT_TRUE(csb_path_has_glob("/a/?"));
  EXPECT_TRUE(csb_path_has_glob("/a/[x"));
  EXPECT_TRUE(csb_path_has_glob("/a/x]"));
  EXPECT_FALSE(csb_path_has_glob("/x/{a,b}"));  // braces alone are literal
  EXPECT_FALSE(csb_path_has_glob("/plain/path"));
  EXPECT_TRUE(csb_path_is_absolute("/x"));
  EXPECT_FALSE(csb_path_is_absolute("x"));
  EXPECT_FALSE(csb_path_is_absolute(""));
  EXPECT_FALSE(csb_path_is_absolute("~/x"));
}

// ============================================================================
// Filesystem-aware
// ============================================================================

std::string Effective(const std::string &p) {
  char *out = nullptr;
  if (!csb_path_effective(p.c_str(), &out, nullptr)) return "<error>";
  return Take(out);
}

std::string CanonPrefix(const std::string &p) {
  char *out = nullptr;
  if (!csb_path_canonical_existing_prefix(p.c_str(), &out, nullptr)) return "<error>";
  return Take(out);
}

std::string Canon(const std::string &p, std::string *error = nullptr) {
  char *out = nullptr;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_path_canonicalize(p.c_str(), &out, &err)) {
    if (error) *error = err.msg;
    return "<error>";
  }
  return Take(out);
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // T/real/dir/file, T/link -> real, T/abslink -> T/real/dir,
    // T/dangling -> nowhere, T/loop1 <-> T/loop2, T/real/up -> ..
    MkDirs(t / "real/dir");
    Touch(t / "real/dir/file");
    Symlink("real", t / "link");
    Symlink(t / "real/dir", t / "abslink");
    Symlink("nowhere", t / "dangling");
    Symlink("loop2", t / "loop1");
    Symlink("loop1", t / "loop2");
    Symlink("..", t / "real/up");
    Symlink("../link/dir", t / "real/chain");
  }
  TempDir t;
};

TEST_F(FsTest, CanonicalizeResolvesEverything) {
  EXPECT_EQ(Canon(t / "link"), t / "real");
  EXPECT_EQ(Canon(t / "link/dir/file"), t / "real/dir/file");
  EXPECT_EQ(Canon(t / "abslink/file"), t / "real/dir/file");
  EXPECT_EQ(Canon(t / "real/up/link/dir"), t / "real/dir");
  EXPECT_EQ(Canon(t / "real/chain/file"), t / "real/dir/file");
  EXPECT_EQ(Canon(t / "real/./dir/../dir"), t / "real/dir");
  EXPECT_EQ(Canon("/"), "/");
}

TEST_F(FsTest, CanonicalizeErrors) {
  std::string e;
  EXPECT_EQ(Canon(t / "missing", &e), "<error>");
  EXPECT_NE(e.find("No such file"), std::string::npos) << e;
  EXPECT_EQ(Canon(t / "loop1", &e), "<error>");
  EXPECT_NE(e.find("too many levels of symbolic links"), std::string::npos) << e;
  EXPECT_EQ(Canon(t / "dangling", &e), "<error>");
  EXPECT_EQ(Canon(t / "real/dir/file/x", &e), "<error>");
  EXPECT_EQ(Canon("relative", &e), "<error>");
  EXPECT_NE(e.find("not absolute"), std::string::npos) << e;
}

// "canonical | link=target | link=target ..." or "<error>".
std::string Links(const std::string &p) {
  char *out = nullptr;
  csb_path_link *links = nullptr;
  size_t n = 0;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_path_resolve_links(p.c_str(), &out, &links, &n, &err)) {
    EXPECT_EQ(links, nullptr);
    EXPECT_EQ(n, 0u);
    return "<error>";
  }
  std::string s = Take(out);
  for (size_t i = 0; i < n; i++) s += std::string(" | ") + links[i].path + "=" + links[i].target;
  csb_path_links_free(links, n);
  return s;
}

TEST_F(FsTest, ResolveLinksReportsEveryLinkInOrder) {
  EXPECT_EQ(Links(t / "real/dir/file"), t / "real/dir/file");
  EXPECT_EQ(Links(t / "link/dir"), t / "real/dir" + " | " + t / "link" + "=real");
  EXPECT_EQ(Links(t / "abslink/file"), t / "real/dir/file" + " | " + t / "abslink" + "=" + t / "real/dir");
  // A link inside a link's target is reported where it really is, with
  // its content byte for byte (relative targets stay relative).
  EXPECT_EQ(Links(t / "real/chain/file"), t / "real/dir/file" + " | " + t / "real/chain" +
                                              "=../link/dir | " + t / "link" + "=real");
  EXPECT_EQ(Links(t / "link/up/link/dir"), t / "real/dir" + " | " + t / "link" + "=real | " +
                                               t / "real/up" + "=.. | " + t / "link" + "=real");
  EXPECT_EQ(Links("/"), "/");
}

TEST_F(FsTest, ResolveLinksFailsLikeCanonicalize) {
  EXPECT_EQ(Links(t / "missing"), "<error>");
  EXPECT_EQ(Links(t / "link/missing"), "<error>");
  EXPECT_EQ(Links(t / "dangling"), "<error>");
  EXPECT_EQ(Links(t / "loop1"), "<error>");
  EXPECT_EQ(Links("relative"), "<error>");
}

TEST_F(FsTest, ReadLinkReturnsTheTargetByteForByte) {
  auto read = [](const std::string &p) -> std::string {
    errno = 0;
    char *s = csb_path_read_link(p.c_str());
    if (s == nullptr) return "<errno " + std::to_string(errno) + ">";
    return Take(s);
  };
  EXPECT_EQ(read(t / "link"), "real");
  EXPECT_EQ(read(t / "abslink"), t / "real/dir");
  EXPECT_EQ(read(t / "dangling"), "nowhere");
  EXPECT_EQ(read(t / "real/chain"), "../link/dir");
  // Not a symlink, missing: NULL with the system call's errno.
  EXPECT_EQ(read(t / "real/dir"), "<errno " + std::to_string(EINVAL) + ">");
  EXPECT_EQ(read(t / "missing"), "<errno " + std::to_string(ENOENT) + ">");
  // A target longer than the first 256-byte buffer comes back whole.
  std::string longt(1000, 'x');
  Symlink(longt, t / "longlink");
  EXPECT_EQ(read(t / "longlink"), longt);
}

TEST_F(FsTest, CanonicalExistingPrefixAppendsMissingSuffix) {
  EXPECT_EQ(CanonPrefix(t / "link/missing/x"), t / "real/missing/x");
  EXPECT_EQ(CanonPrefix(t / "link/dir/file"), t / "real/dir/file");
  EXPECT_EQ(CanonPrefix(t / "real/dir/file/below"), t / "real/dir/file/below");
  // A dangling link exists but cannot be canonicalised: its parent is used.
  EXPECT_EQ(CanonPrefix(t / "dangling/x"), t / "dangling/x");
  EXPECT_EQ(CanonPrefix(t / "loop1/x"), t / "loop1/x");
  EXPECT_EQ(CanonPrefix(t / "link/../link/dir"), t / "real/dir");  // lexical first
  EXPECT_EQ(CanonPrefix("rel"), "<error>");
}

// Where a path leads, or "errno N".
std::string LeadsTo(csb_path_memo *m, const std::string &p) {
  char *out = nullptr;
  errno = 0;
  if (!csb_path_leads_to_memo(m, p.c_str(), &out)) {
    EXPECT_EQ(out, nullptr);
    return "errno " + std::to_string(errno);
  }
  return Take(out);
}

TEST_F(FsTest, LeadsToFollowsDanglingLinksAndKeepsTheMissingRest) {
  Symlink("real/dir/new", t / "tonew");    // dangling, to a missing file
  Symlink("dangling/sub", t / "chain2");   // through a dangling link
  csb_path_memo *m = csb_path_memo_new();
  for (csb_path_memo *mm : {(csb_path_memo *)nullptr, m}) {
    EXPECT_EQ(LeadsTo(mm, t / "link/dir/file"), t / "real/dir/file");
    EXPECT_EQ(LeadsTo(mm, t / "dangling"), t / "nowhere");
    EXPECT_EQ(LeadsTo(mm, t / "dangling/a/../b"), t / "nowhere/b");
    EXPECT_EQ(LeadsTo(mm, t / "tonew/hooks"), t / "real/dir/new/hooks");
    EXPECT_EQ(LeadsTo(mm, t / "chain2/x"), t / "nowhere/sub/x");
    EXPECT_EQ(LeadsTo(mm, t / "link/missing/../dir"), t / "real/dir");
    EXPECT_EQ(LeadsTo(mm, t / "missing"), t / "missing");
    EXPECT_EQ(LeadsTo(mm, t / "loop1/x"), "errno " + std::to_string(ELOOP));
    EXPECT_EQ(LeadsTo(mm, t / "real/dir/file/x"), "errno " + std::to_string(ENOTDIR));
    EXPECT_EQ(LeadsTo(mm, "rel"), "errno " + std::to_string(EINVAL));
  }
  csb_path_memo_free(m);
}

TEST_F(FsTest, EffectiveKeepsNestedSymlinks) {
  // The temp dir is at least two levels deep, so these links are nested.
  EXPECT_EQ(Effective(t / "link"), t / "link");
  EXPECT_EQ(Effective(t / "link/dir/file"), t / "link/dir/file");
  EXPECT_EQ(Effective(t / "link/missing/x"), t / "link/missing/x");
  EXPECT_EQ(Effective(t / "abslink"), t / "abslink");
}

TEST_F(FsTest, EffectiveCanonicalisesWithoutNestedSymlinks) {
  EXPECT_EQ(Effective(t / "real/dir"), t / "real/dir");
  EXPECT_EQ(Effective(t / "real/missing/deeper"), t / "real/missing/deeper");
  EXPECT_EQ(Effective(t / "real//dir/./file"), t / "real/dir/file");
  EXPECT_EQ(Effective(t / "real/dir/../dir"), t / "real/dir");
}

TEST_F(FsTest, EffectiveFailuresKeepLogicalPath) {
  EXPECT_EQ(Effective(t / "dangling"), t / "dangling");
  EXPECT_EQ(Effective(t / "dangling/x/y"), t / "dangling/x/y");
  EXPECT_EQ(Effective(t / "loop1/x"), t / "loop1/x");
  EXPECT_EQ(Effective("/definitely-missing-csb-dir/x"), "/definitely-missing-csb-dir/x");
  EXPECT_EQ(Effective("relative"), "<error>");
}

// ---- csb_path_memo ----------------------------------------------------------

// What the resolution functions answer for `p` through `m` (NULL: none):
// effective path, links (or the error message) and the file type.
std::string Answers(csb_path_memo *m, const std::string &p) {
  std::string s;
  char *out = nullptr;
  s += csb_path_effective_memo(m, p.c_str(), &out, nullptr) ? Take(out) : "<error>";
  csb_path_link *links = nullptr;
  size_t n = 0;
  csb_error err;
  csb_error_clear(&err);
  if (csb_path_resolve_links_memo(m, p.c_str(), &out, &links, &n, &err)) {
    s += " ; " + Take(out);
    for (size_t i = 0; i < n; i++) s += std::string(" | ") + links[i].path + "=" + links[i].target;
    csb_path_links_free(links, n);
  } else {
    s += std::string(" ; ") + err.msg;
  }
  csb_file_type t = CSB_FILE_NONE;
  errno = 0;
  int ok = m != nullptr ? csb_path_file_type_memo(m, p.c_str(), &t)
                        : csb_os_file_type(p.c_str(), 0, &t);
  s += " ; " + (ok ? std::to_string((int)t) : std::string("errno ") + std::to_string(errno));
  return s;
}

TEST_F(FsTest, MemoAnswersLikeTheFileSystem) {
  const char *const rels[] = {"",        "real",          "real/dir",        "real/dir/file",
                              "real/dir/file/x", "link",  "link/dir",        "link/dir/file",
                              "link/missing/x",  "abslink", "abslink/file",  "dangling",
                              "dangling/x/y",    "loop1", "loop1/x",         "real/up",
                              "real/up/link/dir", "real/chain/file", "missing", "real//dir/./file",
                              "real/dir/../dir", "link/up/link/dir"};
  csb_path_memo *m = csb_path_memo_new();
  // Twice: the second round is answered from what the first one recorded.
  for (int round = 0; round < 2; round++)
    for (const char *rel : rels) {
      std::string p = t / rel;
      EXPECT_EQ(Answers(m, p), Answers(nullptr, p)) << p << " round " << round;
    }
  EXPECT_EQ(Answers(m, "/"), Answers(nullptr, "/"));
  EXPECT_EQ(Answers(m, "relative"), Answers(nullptr, "relative"));
  csb_path_memo_free(m);
  csb_path_memo_free(nullptr);
}

TEST_F(FsTest, MemoIsASnapshot) {
  csb_path_memo *m = csb_path_memo_new();
  std::string later = t / "real/later";
  std::string before = Answers(m, later + "/x");
  MkDirs(later);
  // Created after the memo looked: still missing for this memo, there for
  // a new one.
  EXPECT_EQ(Answers(m, later + "/x"), before);
  csb_file_type ft;
  EXPECT_FALSE(csb_path_file_type_memo(m, later.c_str(), &ft));
  EXPECT_EQ(errno, ENOENT);
  csb_path_memo *fresh = csb_path_memo_new();
  EXPECT_TRUE(csb_path_file_type_memo(fresh, later.c_str(), &ft));
  EXPECT_EQ(ft, CSB_FILE_DIR);
  EXPECT_EQ(Answers(fresh, later + "/x"), Answers(nullptr, later + "/x"));
  csb_path_memo_free(fresh);
  csb_path_memo_free(m);
}

TEST_F(FsTest, MemoHoldsManyPaths) {
  csb_path_memo *m = csb_path_memo_new();
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 3000; i++) {
      std::string p = t / ("real/dir/missing" + std::to_string(i));
      csb_file_type ft;
      ASSERT_FALSE(csb_path_file_type_memo(m, p.c_str(), &ft)) << p;
      ASSERT_EQ(errno, ENOENT);
    }
  EXPECT_EQ(Answers(m, t / "link/dir/file"), Answers(nullptr, t / "link/dir/file"));
  csb_path_memo_free(m);
}

// What lstat, stat, faccessat(W_OK|X_OK, AT_EACCESS), canonicalisation and
// the symlink search answer for `p` through `m` (NULL: none).
std::string Syscalls(csb_path_memo *m, const std::string &p) {
  std::string s;
  struct stat st;
  errno = 0;
  s += csb_path_lstat_memo(m, p.c_str(), &st)
           ? "lstat " + std::to_string(st.st_ino) + "/" + std::to_string(st.st_mode)
           : "lstat errno " + std::to_string(errno);
  errno = 0;
  s += csb_path_stat_memo(m, p.c_str(), &st)
           ? " ; stat " + std::to_string(st.st_ino) + "/" + std::to_string(st.st_mode)
           : " ; stat errno " + std::to_string(errno);
  errno = 0;
  s += csb_path_eaccess_memo(m, p.c_str(), W_OK | X_OK) ? std::string(" ; access ok")
                                                          : " ; access errno " + std::to_string(errno);
  char *out = nullptr;
  csb_error err;
  csb_error_clear(&err);
  s += " ; " + (csb_path_canonicalize_memo(m, p.c_str(), &out, &err) ? Take(out) : std::string(err.msg));
  csb_error_clear(&err);
  s += " ; " + (csb_path_find_symlink_memo(m, p.c_str(), nullptr, &out, &err) ? Take(out)
                                                                              : std::string(err.msg));
  return s;
}

TEST_F(FsTest, MemoSyscallsAnswerLikeTheFileSystem) {
  const char *const rels[] = {"",         "real",      "real/dir/file", "real/dir/file/x", "link",
                              "link/dir", "abslink",   "dangling",      "dangling/x",      "loop1",
                              "loop1/x",  "real/up",   "missing",       "missing/x",       "real/chain/file"};
  csb_path_memo *m = csb_path_memo_new();
  // Twice, in both orders of asking: what one call recorded answers the
  // others (a stat from an lstat) exactly as the system would.
  for (int round = 0; round < 2; round++)
    for (const char *rel : rels) {
      std::string p = t / rel;
      EXPECT_EQ(Syscalls(m, p), Syscalls(nullptr, p)) << p << " round " << round;
      struct stat a, b;
      std::string q = p + "/.";
      ASSERT_EQ(csb_path_stat_memo(m, q.c_str(), &a), stat(q.c_str(), &b) == 0) << q;
    }
  EXPECT_EQ(Syscalls(m, "relative"), Syscalls(nullptr, "relative"));
  csb_path_memo_free(m);
}

TEST_F(FsTest, MemoRemembersOneAccessModePerPath) {
  csb_path_memo *m = csb_path_memo_new();
  std::string f = t / "real/dir/file";
  chmod(f.c_str(), 0644);
  EXPECT_EQ(csb_path_eaccess_memo(m, f.c_str(), R_OK), access(f.c_str(), R_OK) == 0);
  // Another mode is asked of the system, not answered by the first one.
  EXPECT_EQ(csb_path_eaccess_memo(m, f.c_str(), X_OK),
            faccessat(AT_FDCWD, f.c_str(), X_OK, AT_EACCESS) == 0);
  EXPECT_EQ(csb_path_eaccess_memo(m, f.c_str(), R_OK), access(f.c_str(), R_OK) == 0);
  csb_path_memo_free(m);
}

TEST_F(FsTest, MemoClearForgetsEverything) {
  csb_path_memo *m = csb_path_memo_new();
  std::string later = t / "real/later";
  std::string before = Syscalls(m, later);
  // Every answer is a snapshot: a directory made afterwards stays missing.
  MkDirs(later);
  EXPECT_EQ(Syscalls(m, later), before);
  struct stat st;
  EXPECT_FALSE(csb_path_stat_memo(m, later.c_str(), &st));
  EXPECT_EQ(errno, ENOENT);
  // Cleared: asked again, the memo as new (and usable for many paths).
  csb_path_memo_clear(m);
  EXPECT_EQ(Syscalls(m, later), Syscalls(nullptr, later));
  EXPECT_NE(Syscalls(m, later), before);
  for (int i = 0; i < 1000; i++) {
    std::string p = t / ("real/dir/missing" + std::to_string(i));
    ASSERT_FALSE(csb_path_lstat_memo(m, p.c_str(), &st));
  }
  csb_path_memo_clear(m);
  EXPECT_EQ(Answers(m, t / "link/dir/file"), Answers(nullptr, t / "link/dir/file"));
  EXPECT_EQ(Syscalls(m, t / "link/dir/file"), Syscalls(nullptr, t / "link/dir/file"));
  csb_path_memo_clear(nullptr);
  csb_path_memo_free(m);
}

// Finds a top-level symlink to a directory on this system (e.g. /lib ->
// usr/lib on merged-/usr systems).
std::string TopLevelDirSymlink() {
  for (const char *p : {"/lib", "/bin", "/sbin", "/lib64", "/var", "/tmp", "/etc"}) {
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && stat(p, &st) == 0 &&
        S_ISDIR(st.st_mode))
      return p;
  }
  return "";
}

TEST(FsTopLevel, TopLevelAliasesAreResolved) {
  std::string top = TopLevelDirSymlink();
  if (top.empty()) GTEST_SKIP() << "no top-level directory symlink on this system";
  char *real = realpath(top.c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  std::string canon = Take(real);
  EXPECT_EQ(Effective(top), canon);
  EXPECT_EQ(Effective(top + "/csb-missing-entry/x"), canon + "/csb-missing-entry/x");
}

TEST(FsTopLevel, NestedSymlinkBelowTopLevelAliasKeepsLogicalPath) {
  std::string top = TopLevelDirSymlink();
  if (top.empty()) GTEST_SKIP() << "no top-level directory symlink on this system";
  // Look for a symlink directly inside the aliased directory: then the
  // whole logical path is kept, the top-level alias included.
  std::string nested;
  if (DIR *d = opendir(top.c_str())) {
    while (struct dirent *de = readdir(d)) {
      std::string p = top + "/" + de->d_name;
      struct stat st;
      if (de->d_name[0] != '.' && lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        nested = p;
        break;
      }
    }
    closedir(d);
  }
  if (nested.empty()) GTEST_SKIP() << "no symlink inside " << top;
  EXPECT_EQ(Effective(nested), nested);
  EXPECT_EQ(Effective(nested + "/csb-missing"), nested + "/csb-missing");
}

std::string FindLink(const std::string &p, const char *under, std::string *error = nullptr) {
  char *link = nullptr;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_path_find_symlink(p.c_str(), under, &link, &err)) {
    if (error) *error = err.msg;
    return "<error>";
  }
  return Take(link);
}

TEST_F(FsTest, FindSymlink) {
  EXPECT_EQ(FindLink(t / "link/dir/file", nullptr), t / "link");
  EXPECT_EQ(FindLink(t / "real/dir/file", nullptr), "<null>");
  EXPECT_EQ(FindLink(t / "real/missing/x", nullptr), "<null>");
  EXPECT_EQ(FindLink(t / "dangling/x", nullptr), t / "dangling");
  // Only components strictly below `under` count.
  std::string link = t / "link";
  EXPECT_EQ(FindLink(t / "link/dir/file", link.c_str()), "<null>");
  EXPECT_EQ(FindLink(t / "link/dir/file", t.path().c_str()), t / "link");
  std::string real = t / "real";
  EXPECT_EQ(FindLink(t / "real/up/link/dir", real.c_str()), t / "real/up");
  EXPECT_EQ(FindLink(t / "link", link.c_str()), "<null>");
  EXPECT_EQ(FindLink("rel/x", nullptr), "<error>");
}

TEST(FsPermissions, FindSymlinkFailsClosedOnUnreadableComponents) {
  TempDir t(true);
  MkDirs(t / "locked/inner");
  Symlink("/etc", t / "locked/inner/l");
  ASSERT_EQ(chmod((t / "locked").c_str(), 0000), 0);
  std::string path = t / "locked/inner/l/x";
  int rc = RunUnprivileged([&]() {
    char *link = nullptr;
    csb_error err;
    csb_error_clear(&err);
    int ok = csb_path_find_symlink(path.c_str(), nullptr, &link, &err);
    free(link);
    if (ok) return 1;
    return strstr(err.msg, "Permission denied") ? 0 : 2;
  });
  chmod((t / "locked").c_str(), 0755);
  if (rc == kCannotDrop) GTEST_SKIP() << "cannot drop privileges";
  EXPECT_EQ(rc, 0);
}

// ============================================================================
// Glob language
// ============================================================================

struct MatchCase {
  const char *pattern;
  const char *path;
  bool match;
};

void CheckTable(const std::vector<MatchCase> &cases) {
  for (const auto &c : cases)
    EXPECT_EQ(GlobMatch(c.pattern, c.path), c.match)
        << "pattern `" << c.pattern << "` path `" << c.path << "`";
}

TEST(GlobMatch, ExactPathsVersusGlobs) {
  // permissions.md 8.1 #24: a glob matches only what it spells; exact-path
  // deny entries cover descendants, globs do not.
  CheckTable({
      {"/repo/secret", "/repo/secret", true},
      {"/repo/secret", "/repo/secret/child", false},
      {"/repo/secret", "/repo/secretx", false},
      {"/repo/secret", "/repo", false},
      {"/repo/*.env", "/repo/.env", true},
      {"/repo/*.env", "/repo/a.env", true},
      {"/repo/*.env", "/repo/a.env/child", false},
      {"/repo/*.env", "/repo/a.envx", false},
      {"/repo/dir/**", "/repo/dir/child", true},
  });
}

TEST(GlobMatch, NonUtf8Names) {
  CheckTable({
      {"/r/*.env", "/r/\xff\xfe.env", true},
      {"/r/\xff*", "/r/\xff\x80x", true},
      {"/r/?.env", "/r/\xff.env", true},
      {"/r/??.env", "/r/\xc3\xa9.env", true},  // '?' is one byte
      {"/r/?.env", "/r/\xc3\xa9.env", false},
      {"/r/[\x80-\xff]", "/r/\x90", true},
      {"/r/[\x80-\xff]", "/r/a", false},
      {"/r/[!a]", "/r/\xff", true},
      {"/r/\xe2\x98\x83", "/r/\xe2\x98\x83", true},
  });
}

TEST(GlobMatch, WildcardsNeverCrossSlash) {
  CheckTable({
      {"/r/*", "/r/a", true},
      {"/r/*", "/r/", true},
      {"/r/*", "/r/a/b", false},
      {"/r/*.env", "/r/a/b.env", false},
      {"/r/a*b", "/r/a/b", false},
      {"/r/?", "/r/a", true},
      {"/r/?", "/r/", false},
      {"/r/a?b", "/r/a/b", false},
      {"/r/[ab/]", "/r/a", true},
      {"/r/x[!a]y", "/r/x/y", false},
      {"/r/x[^a]y", "/r/x/y", false},
      {"/r/x[!a]y", "/r/xby", true},
      {"/r/x[.-0]y", "/r/x/y", false},  // the range '.'..'0' contains '/'
      {"/r/x[.-0]y", "/r/x.y", true},
      {"/r/x[.-0]y", "/r/x0y", true},
      {"/r/a**b", "/r/a/b", false},  // not a whole component: two '*'
      {"/r/a**b", "/r/axyb", true},
      {"/r/**b", "/r/x/b", false},
      {"/r/**b", "/r/xb", true},
  });
}

TEST(GlobMatch, DoubleStarMatchesZeroOrMoreDirectories) {
  CheckTable({
      {"/r/**/*.env", "/r/.env", true},
      {"/r/**/*.env", "/r/a.env", true},
      {"/r/**/*.env", "/r/a/.env", true},
      {"/r/**/*.env", "/r/a/b/c/x.env", true},
      {"/r/**/*.env", "/rx/a.env", false},
      {"/r/**/*.env", "/r/a/b/x.envy", false},
      {"/r/**/x/*.env", "/r/x/a.env", true},
      {"/r/**/x/*.env", "/r/a/b/x/a.env", true},
      {"/r/**/x/*.env", "/r/ax/a.env", false},
      {"/r/**", "/r/a", true},
      {"/r/**", "/r/a/b/c", true},
      {"/r/**", "/r/", true},
      {"/r/**", "/r", false},  // a trailing /** does not match the directory
      {"**", "", true},
      {"**", "/any/thing", true},
      {"**/x", "x", true},
      {"**/x", "/x", true},
      {"**/x", "a/b/x", true},
      {"**/x", "ax", false},
      {"**/x", "x/a", false},
      {"/**", "/", true},
      {"/**", "/a/b", true},
      {"/**/x", "/x", true},
      {"/**/x", "/a/x", true},
      {"/a/**/**/b", "/a/b", true},
      {"/a/**/**/b", "/a/x/y/b", true},
      {"/a/**/**", "/a/x", true},
      {"**/**", "/x/y", true},
  });
}

TEST(GlobMatch, CharacterClasses) {
  CheckTable({
      {"/r/[a-c]", "/r/b", true},
      {"/r/[a-c]", "/r/d", false},
      {"/r/[!a-c]", "/r/d", true},
      {"/r/[!a-c]", "/r/b", false},
      {"/r/[^a-c]", "/r/d", true},
      {"/r/[^a-c]", "/r/a", false},
      {"/r/[0-9][0-9]", "/r/42", true},
      {"/r/[]]", "/r/]", true},
      {"/r/[]a]", "/r/a", true},
      {"/r/[!]]", "/r/]", false},
      {"/r/[!]]", "/r/x", true},
      {"/r/[-]", "/r/-", true},
      {"/r/[a-]", "/r/-", true},
      {"/r/[-a]", "/r/a", true},
      {"/r/[!-]", "/r/-", false},
      {"/r/[]-a]", "/r/_", true},
      {"/r/[--0]", "/r/.", true},
      {"/r/[a-c-e]", "/r/d", true},  // globset: the range extends to 'e'
      {"/r/[*]", "/r/*", true},
      {"/r/[*]", "/r/x", false},
      {"/r/[?]", "/r/?", true},
      {"/r/[[]", "/r/[", true},
      {"/r/[\\]", "/r/\\", true},  // no escapes inside a class
      {"/r/[!!]", "/r/!", false},
      {"/r/[{}]", "/r/{", true},
  });
}

TEST(GlobMatch, UnclosedBracketIsLiteral) {
  CheckTable({
      {"/r/[", "/r/[", true},
      {"/r/[abc", "/r/[abc", true},
      {"/r/[abc", "/r/a", false},
      {"/r/a[", "/r/a[", true},
      {"/r/[]", "/r/[]", true},
      {"/r/[!]", "/r/[!]", true},
      {"/r/[*", "/r/[xyz", true},  // only the '[' is literal
      {"/r/[*", "/r/x", false},
      {"/r/[a-", "/r/[a-", true},
      {"/r/x[z-a", "/r/x[z-a", true},
      {"/r/[?/[*", "/r/[a/[bb", true},
  });
}

TEST(GlobMatch, BackslashEscapes) {
  CheckTable({
      {"/r/\\*", "/r/*", true},
      {"/r/\\*", "/r/a", false},
      {"/r/\\?", "/r/?", true},
      {"/r/\\[a]", "/r/[a]", true},
      {"/r/\\{a,b\\}", "/r/{a,b}", true},
      {"/r/\\\\", "/r/\\", true},
      {"/r/\\a", "/r/a", true},
      {"/r/a\\,b", "/r/a,b", true},
  });
}

// A path escaped for a pattern matches exactly itself, followed by the
// rest of the pattern: backslashes on POSIX, classes of one member for
// Windows patterns (where `\` separates).
TEST(GlobEscape, PathTextIsLiteral) {
  const char *paths[] = {"/r/p[1]", "/r/a*b", "/r/q?", "/r/{a,b}", "/r/x]y", "/r/b\\s", "/r/plain"};
  for (const char *path : paths) {
    for (int win = 0; win < 2; win++) {
      if (win && strchr(path, '\\') != nullptr) continue;  // a separator there
      char *esc = csb_glob_escape(path, win);
      std::string pat = std::string(esc) + "/*.env";
      free(esc);
      EXPECT_TRUE(GlobMatch(pat.c_str(), (std::string(path) + "/x.env").c_str())) << pat;
      EXPECT_FALSE(GlobMatch(pat.c_str(), "/r/p1/x.env")) << pat;
      EXPECT_FALSE(GlobMatch(pat.c_str(), "/r/a/x.env")) << pat;
      EXPECT_FALSE(GlobMatch(pat.c_str(), "/r/aXb/x.env")) << pat;
    }
  }
  char *posix = csb_glob_escape("/r/p[1]{a,b}\\", 0);
  EXPECT_STREQ(posix, "/r/p\\[1\\]\\{a\\,b\\}\\\\");
  free(posix);
  char *win = csb_glob_escape("C:\\r\\p[1]{a,b}", 1);
  EXPECT_STREQ(win, "C:\\r\\p[[]1[]][{]a[,]b[}]");
  free(win);
}

TEST(GlobMatch, Alternation) {
  CheckTable({
      {"/r/*.{env,pem}", "/r/a.env", true},
      {"/r/*.{env,pem}", "/r/a.pem", true},
      {"/r/*.{env,pem}", "/r/a.key", false},
      {"/r/**/*.{env,pem}", "/r/a/b/x.pem", true},
      {"/r/{a,b/**/c}.x", "/r/b/q/r/c.x", true},
      {"/r/{a,b/**/c}.x", "/r/b/c.x", true},
      {"/r/{a,b{c,d}}", "/r/bd", true},
      {"/r/{a,b{c,d}}", "/r/b", false},
      {"/r/{a,{b,{c,d}}}", "/r/d", true},
      {"/r/x{,y}", "/r/xy", true},
      {"/r/x{,y}", "/r/x", false},  // empty alternatives are dropped
      {"/r/x{}", "/r/x", true},
      {"/r/x{,}", "/r/x", true},
      {"/r/{**/a,b}", "/r/q/w/a", true},
      {"/r/{**/a,b}", "/r/b", true},
      {"/r/{a/**,b}", "/r/a/z", true},
      {"/r/a,b", "/r/a,b", true},  // ',' outside a group is literal
      {"/r/{[}],x}", "/r/}", true},
  });
}

TEST(GlobCompile, Errors) {
  EXPECT_EQ(CompileError("/r/{a,b"),
            "unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)");
  EXPECT_EQ(CompileError("/r/a}"),
            "unopened alternate group; missing '{' (maybe escape '}' with '[}]'?)");
  EXPECT_EQ(CompileError("/r/a\\"), "dangling '\\'");
  EXPECT_EQ(CompileError("/r/[z-a]"), "invalid range; 'z' > 'a'");
  EXPECT_EQ(CompileError("/r/[a--]"), "invalid range; 'a' > '-'");
  EXPECT_EQ(CompileError("/r/[\xff-a]"), "invalid range; '\\xff' > 'a'");
  EXPECT_NE(CompileError("/r/a[/]b").find("can never match"), std::string::npos);
  EXPECT_EQ(CompileError("/r/[!/-\xff\x01-.]"),
            "character class `[!/-\xff\x01-.]` can never match (a class never matches "
            "'/')");
  std::string nested16, nested17;
  for (int i = 0; i < 16; i++) nested16 += "{a,";
  nested16 += "b";
  for (int i = 0; i < 16; i++) nested16 += "}";
  nested17 = "{" + nested16 + "}";
  EXPECT_EQ(CompileError(nested16), "<compiled>");
  EXPECT_EQ(CompileError(nested17), "alternate groups nested deeper than 16 levels");
  EXPECT_EQ(CompileError(std::string(CSB_GLOB_MAX_PATTERN + 1, 'a')),
            "glob pattern longer than 4096 bytes");
  EXPECT_EQ(CompileError(std::string(CSB_GLOB_MAX_PATTERN, 'a')), "<compiled>");
  EXPECT_EQ(CompileError(""), "<compiled>");
}

TEST(GlobCompile, EmptyPatternMatchesOnlyEmpty) {
  Glob g("");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g.Match(""));
  EXPECT_FALSE(g.Match("/"));
}

TEST(GlobCompile, StaticPrefixAndLiteral) {
  struct {
    const char *pattern, *prefix;
    bool literal;
  } cases[] = {
      {"/repo/a/**/*.env", "/repo/a", false},
      {"/repo/a/*.env", "/repo/a", false},
      {"/repo/a*", "/repo", false},
      {"/x*", "/", false},
      {"/**", "/", false},
      {"/**/x", "/", false},
      {"**/x", "", false},
      {"*.env", "", false},
      {"a/*.env", "a", false},
      {"/repo/a.env", "/repo", true},
      {"/repo/", "/repo", true},
      {"/repo/\\*x/*.env", "/repo/*x", false},
      {"/repo/[*]x/*.env", "/repo/*x", false},  // single-byte class = literal
      {"/repo/{a,b}/x", "/repo", false},
      {"/repo/[ab]/x", "/repo", false},
      {"/repo/[unclosed/x*", "/repo/[unclosed", false},
      {"/a/b/**", "/a/b", false},
      {"/", "/", true},
      {"", "", true},
  };
  for (const auto &c : cases) {
    Glob g(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.error;
    EXPECT_EQ(std::string(csb_glob_static_prefix(g.g)), c.prefix) << c.pattern;
    EXPECT_EQ(csb_glob_is_literal(g.g) != 0, c.literal) << c.pattern;
    EXPECT_EQ(std::string(csb_glob_pattern(g.g)), c.pattern);
  }
}

TEST(GlobCompile, StaticPrefixSourceLength) {
  struct {
    const char *pattern;
    size_t len;
  } cases[] = {
      {"/repo/a/**/*.env", 7},   // "/repo/a"
      {"/repo/\\*x/*.env", 9},   // "/repo/\\*x" spells "/repo/*x"
      {"/repo/[*]x/*.env", 10},  // "/repo/[*]x"
      {"/r[e]po/x*", 7},         // "/r[e]po" spells "/repo"
      {"c:/[k]eys/**", 9},       // "c:/[k]eys"
      {"c:/*.env", 2},           // "c:"
      {"/x*", 0},                // "/"
      {"*.env", 0},              // ""
  };
  for (const auto &c : cases) {
    Glob g(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.error;
    EXPECT_EQ(csb_glob_static_prefix_source_len(g.g), c.len) << c.pattern;
  }
}

TEST(GlobRegex, Shapes) {
  struct {
    const char *pattern, *regex;
  } cases[] = {
      {"/r/**/*.env", "^/r/(.*/)?[^/]*\\.env$"},
      {"/r/**", "^/r/.*$"},
      {"**", "^.*$"},
      {"**/x", "^(.*/)?x$"},
      {"/r/?", "^/r/[^/]$"},
      {"/r/[a-z]", "^/r/[a-z]$"},
      {"/r/[!a]", "^/r/[^/a]$"},
      {"/r/{a,b}(c)+$|^", "^/r/(a|b)\\(c\\)\\+\\$\\|\\^$"},
      {"/r/[]^-]", "^/r/[]^-]$"},
      {"/r/[-^]", "^/r/[-^]$"},
      {"/r/.[.]", "^/r/\\.\\.$"},
      {"/r/x{,y}", "^/r/x(y)$"},
      {"/r/x{}", "^/r/x$"},
      // globset's tokenisation of "**" in its corner cases
      {"**/", "^.*$"},
      {"**/**", "^.*$"},
      {"**/**/*", "^(.*/)?[^/]*$"},
      {"a/**/**", "^a/.*$"},
      {"a/**/**/b", "^a/(.*/)?b$"},
      {"a**", "^a[^/]*[^/]*$"},
      {"**a", "^[^/]*[^/]*a$"},
      {"***", "^[^/]*[^/]*[^/]*$"},
      {"/**/", "^/(.*/)?$"},
      {"{**/src/**,foo}", "^((.*/)?src/.*|foo)$"},
      {"/r/{a/**}", "^/r/(a/.*)$"},
      {"/r/\\/**", "^/r//.*$"},          // an escaped '/' is a '/'
      {"/r/\\\\/**", "^/r/\\\\/.*$"},  // a literal backslash
  };
  for (const auto &c : cases) {
    Glob g(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern;
    EXPECT_EQ(Take(csb_glob_to_regex(g.g)), c.regex) << c.pattern;
  }
}

// Every regex must compile and agree with csb_glob_match on random patterns
// and paths (including paths derived from the pattern so that matches are
// common).
TEST(GlobRegex, EquivalentToMatcherOnRandomInputs) {
  std::mt19937 rng(12345);
  const std::vector<std::string> pat_atoms = {
      "/", "/", "a", "b", ".", "*", "*", "**", "?", "[", "]", "!", "^", "-",
      "{", "}", ",", "\\", "\xff", "(", "+", "$", "|", "[a-c]", "[!b]", "/**/", "{a,b}",
      "[]]", "[^/]", "e", "=", ":", "[.", "\n"};
  const std::vector<std::string> path_atoms = {"/", "/", "/", "a", "b", "c", ".", "e", "[",
                                               "]", "-", "^", "\xff", "*", "{", "}", ",",
                                               "\\", "(", "+", "$", "|", "!", "=", ":", "\n"};
  auto pick = [&](const std::vector<std::string> &v) { return v[rng() % v.size()]; };
  int compiled = 0, matched = 0, compared = 0;
  for (int iter = 0; iter < 3000; iter++) {
    std::string pat;
    int n = rng() % 9;
    if (rng() % 2) pat = "/";
    for (int i = 0; i < n; i++) pat += pick(pat_atoms);
    Glob g(pat);
    EXPECT_EQ(csb_glob_check(pat.c_str(), nullptr) != 0, g.ok()) << pat;
    if (!g.ok()) continue;
    compiled++;
    std::string re = Take(csb_glob_to_regex(g.g));
    regex_t r;
    int rc = regcomp(&r, re.c_str(), REG_EXTENDED | REG_NOSUB);
    ASSERT_EQ(rc, 0) << "pattern `" << pat << "` regex `" << re << "`";
    std::vector<std::string> paths;
    for (int k = 0; k < 25; k++) {
      std::string p;
      int m = rng() % 8;
      for (int i = 0; i < m; i++) p += pick(path_atoms);
      paths.push_back(p);
    }
    // Derived: replace metacharacters of the pattern with random path atoms.
    for (int k = 0; k < 15; k++) {
      std::string p;
      for (char ch : pat) {
        if (strchr("*?[]{},\\!^", ch) && rng() % 2)
          p += (rng() % 3) ? pick(path_atoms) : std::string();
        else
          p += ch;
      }
      paths.push_back(p);
    }
    for (const auto &p : paths) {
      bool want = regexec(&r, p.c_str(), 0, nullptr, 0) == 0;
      bool got = g.Match(p);
      compared++;
      matched += got;
      ASSERT_EQ(got, want) << "pattern `" << pat << "` regex `" << re << "` path `" << p
                           << "`";
    }
    regfree(&r);
  }
  EXPECT_GT(compiled, 1000);
  EXPECT_GT(matched, 2000);
  EXPECT_GT(compared, 50000);
}

TEST(GlobMatch, ThreadSafeAcrossThreads) {
  // A compiled glob is immutable; csb_glob_match may run concurrently.
  Glob g("/r/**/{a,b}*.env");
  ASSERT_TRUE(g.ok());
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&]() {
      for (int i = 0; i < 2000; i++) {
        bad += !g.Match("/r/x/y/ab.env");
        bad += g.Match("/r/x/y/c.env");
      }
    });
  for (auto &th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// ============================================================================
// Expansion
// ============================================================================

class ExpandTest : public ::testing::Test {
 protected:
  explicit ExpandTest(bool world_accessible = false) : t(world_accessible) {}
  void SetUp() override {
    r = t / "r";
    Touch(r + "/a.env");
    Touch(r + "/b.txt");
    Touch(r + "/.env");
    Touch(r + "/sub/c.env");
    Touch(r + "/sub/deep/d.env");
    Touch(r + "/sub/deep/e/f.env");
    Touch(r + "/sub/deep/e/g.txt");
    Touch(r + "/\xff\xfe.env");
    MkDirs(r + "/dir.env");  // a directory that matches
    Touch(r + "/dir.env/inner.env");
    Symlink("b.txt", r + "/link.env");
    Symlink("sub", r + "/dirlink");     // never entered
    Symlink("missing", r + "/dangling.env");
    Symlink(".", r + "/sub/self");      // a loop through a symlink
  }
  std::vector<std::string> P(std::initializer_list<const char *> rels) {
    std::vector<std::string> v;
    for (const char *rel : rels) v.push_back(r + "/" + rel);
    std::sort(v.begin(), v.end());
    return v;
  }
  TempDir t;
  std::string r;
};

TEST_F(ExpandTest, DoubleStarFindsFilesDirsAndLinks) {
  Expansion e = Expand(r + "/**/*.env");
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.paths, P({".env", "a.env", "dangling.env", "dir.env", "dir.env/inner.env",
                        "link.env", "sub/c.env", "sub/deep/d.env", "sub/deep/e/f.env",
                        "\xff\xfe.env"}));
}

TEST_F(ExpandTest, DepthLimit) {
  Expansion e0 = Expand(r + "/**/*.env", 0);
  ASSERT_TRUE(e0.ok);
  EXPECT_TRUE(e0.paths.empty());
  Expansion e1 = Expand(r + "/**/*.env", 1);
  ASSERT_TRUE(e1.ok);
  EXPECT_EQ(e1.paths, P({".env", "a.env", "dangling.env", "dir.env", "link.env",
                         "\xff\xfe.env"}));
  Expansion e2 = Expand(r + "/**/*.env", 2);
  ASSERT_TRUE(e2.ok);
  EXPECT_EQ(e2.paths, P({".env", "a.env", "dangling.env", "dir.env", "dir.env/inner.env",
                         "link.env", "sub/c.env", "\xff\xfe.env"}));
  Expansion e3 = Expand(r + "/sub/**/*.env", 1);  // depth counts from the prefix
  ASSERT_TRUE(e3.ok);
  EXPECT_EQ(e3.paths, P({"sub/c.env"}));
}

// glob_scan_max_depth caps `**` globs; others are expanded as deep as
// they can match, whatever the cap.
TEST(GlobScanDepth, DoubleStarTakesTheCapOthersTheirLevels) {
  struct Case {
    const char *pattern;
    int cap, depth;
  } cases[] = {
      {"/r/**/*.env", 3, 3},
      {"/r/**/*.env", 0, CSB_GLOB_DEPTH_UNLIMITED},
      {"/r/**", 2, 2},
      {"/r/{a,**/b}", 1, 1},
      {"/r/*/b/*/*.env", 1, 4},
      {"/r/*/b/*/*.env", 0, 4},
      {"/r/a.env", 1, 1},
      {"/r/{a,b/c}/x", 1, 3},  // an upper bound: the longest alternative
      {"/r[e]po/x*", 1, 1},
      {"/r/a**b/c", 1, 2},  // not a whole component: two '*'
      {"/x*", 1, 1},
      {"/r/\\*/y", 1, 1},  // the escaped `*` is part of the prefix /r/*
  };
  for (const Case &c : cases) {
    Glob g(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.error;
    EXPECT_EQ(csb_glob_scan_depth(g.g, c.cap), c.depth) << c.pattern << " cap " << c.cap;
  }
}

TEST_F(ExpandTest, ScanDepthOfGlobsWithoutDoubleStarFindsEveryMatch) {
  for (const char *rel : {"/sub/*/e/*", "/*/*/*/*.env", "/{sub/deep,dir.env}/*.env",
                                 "/sub/deep/e/f.env", "/*"}) {
    Glob g(r + rel);
    ASSERT_TRUE(g.ok()) << rel;
    Expansion all = Expand(r + rel);
    Expansion capped = Expand(r + rel, csb_glob_scan_depth(g.g, 1));
    ASSERT_TRUE(all.ok && capped.ok) << rel;
    EXPECT_FALSE(all.paths.empty()) << rel;
    EXPECT_EQ(capped.paths, all.paths) << rel;
  }
}

TEST_F(ExpandTest, PrunesByComponent) {
  Expansion e = Expand(r + "/sub/*/e/*");
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.paths, P({"sub/deep/e/f.env", "sub/deep/e/g.txt"}));
  Expansion lit = Expand(r + "/sub/deep/d.env");
  ASSERT_TRUE(lit.ok);
  EXPECT_EQ(lit.paths, P({"sub/deep/d.env"}));
  Expansion none = Expand(r + "/sub/deep/missing.env");
  ASSERT_TRUE(none.ok);
  EXPECT_TRUE(none.paths.empty());
  Expansion trailing = Expand(r + "/sub/deep/**");
  ASSERT_TRUE(trailing.ok);
  EXPECT_EQ(trailing.paths, P({"sub/deep/d.env", "sub/deep/e", "sub/deep/e/f.env",
                               "sub/deep/e/g.txt"}));
}

TEST_F(ExpandTest, AlternationAndClasses) {
  Expansion e = Expand(r + "/{sub/deep,dir.env}/*.{env,txt}");
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.paths, P({"dir.env/inner.env", "sub/deep/d.env"}));
  Expansion c = Expand(r + "/[ab].*");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.paths, P({"a.env", "b.txt"}));
}

TEST_F(ExpandTest, FoldCaseMatchesNamesCaseInsensitively) {
  Touch(r + "/sub/SECRET.ENV");
  Touch(r + "/sub/Mixed/Inner.Env");
  // Without the flag, a lower-case pattern misses upper-case names.
  Expansion plain = Expand(r + "/sub/**/*.env");
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_EQ(plain.paths, P({"sub/c.env", "sub/deep/d.env", "sub/deep/e/f.env"}));
  Expansion f = Expand(r + "/sub/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, 0,
                       CSB_GLOB_EXPAND_FOLD_CASE);
  ASSERT_TRUE(f.ok) << f.error;
  EXPECT_EQ(f.paths, P({"sub/Mixed/Inner.Env", "sub/SECRET.ENV", "sub/c.env",
                        "sub/deep/d.env", "sub/deep/e/f.env"}));
  // A literal component below the static prefix is looked up by listing,
  // so its case may differ (the prefix itself is opened as written).
  Expansion lit = Expand(r + "/sub/*/inner.env", CSB_GLOB_DEPTH_UNLIMITED, 0,
                         CSB_GLOB_EXPAND_FOLD_CASE);
  ASSERT_TRUE(lit.ok) << lit.error;
  EXPECT_EQ(lit.paths, P({"sub/Mixed/Inner.Env"}));
}

TEST_F(ExpandTest, MissingPrefixAndRelativePattern) {
  Expansion e = Expand(t / "nope/**/*.env");
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_TRUE(e.paths.empty());
  Expansion f = Expand(r + "/a.env/**");  // prefix is a file
  ASSERT_TRUE(f.ok);
  EXPECT_TRUE(f.paths.empty());
  Expansion rel = Expand("**/*.env");
  EXPECT_FALSE(rel.ok);
  EXPECT_NE(rel.error.find("not absolute"), std::string::npos) << rel.error;
}

TEST_F(ExpandTest, MatchCapIsAnError) {
  Expansion ok = Expand(r + "/**/*.env", -1, 10);
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.paths.size(), 10u);
  for (int threads : {1, 3}) {
    Expansion over = Expand(r + "/**/*.env", -1, 9, 0, threads);
    EXPECT_FALSE(over.ok);
    EXPECT_TRUE(over.paths.empty());
    EXPECT_NE(over.error.find("more than 9 matching paths"), std::string::npos) << over.error;
  }
}

TEST_F(ExpandTest, FailureLeavesOutputUntouched) {
  Glob g(r + "/**/*.env");
  csb_strv v;
  csb_strv_init(&v);
  csb_strv_push(&v, "keep");
  csb_error err;
  EXPECT_FALSE(csb_glob_expand(g.g, -1, 1, &v, &err));
  ASSERT_EQ(v.len, 1u);
  EXPECT_STREQ(v.items[0], "keep");
  EXPECT_TRUE(csb_glob_expand(g.g, 1, 0, &v, &err));
  EXPECT_EQ(v.len, 7u);
  EXPECT_STREQ(v.items[0], "keep");
  csb_strv_free(&v);
}

TEST_F(ExpandTest, NullOptionsAndSpecialFiles) {
  // A FIFO is matched like any entry and never opened (no hang).
  ASSERT_EQ(mkfifo((r + "/sub/pipe.env").c_str(), 0644), 0);
  Glob g(r + "/sub/*.env");
  ASSERT_TRUE(g.ok());
  csb_strv v;
  csb_strv_init(&v);
  csb_error err;
  ASSERT_TRUE(csb_glob_expand_ex(g.g, nullptr, &v, &err)) << err.msg;
  ASSERT_EQ(v.len, 2u);
  EXPECT_EQ(std::string(v.items[0]), r + "/sub/c.env");
  EXPECT_EQ(std::string(v.items[1]), r + "/sub/pipe.env");
  csb_strv_free(&v);
}

// With opts.links, the links the walk reaches and does not enter are
// reported when the pattern could match below them (depth permitting).
TEST_F(ExpandTest, ReportsLinksBelowWhichThePatternCouldMatch) {
  for (int threads : {1, 4}) {
    Glob g(r + "/**/*.env");
    ASSERT_TRUE(g.ok());
    csb_glob_expand_opts o;
    memset(&o, 0, sizeof o);
    o.max_depth = CSB_GLOB_DEPTH_UNLIMITED;
    o.threads = threads;
    csb_strv v, links;
    csb_strv_init(&v);
    csb_strv_init(&links);
    o.links = &links;
    csb_error err;
    ASSERT_TRUE(csb_glob_expand_ex(g.g, &o, &v, &err)) << err.msg;
    std::vector<std::string> got(links.items, links.items + links.len);
    // Every link: the pattern can match below any directory.
    EXPECT_EQ(got, P({"dangling.env", "dirlink", "link.env", "sub/self"}));
    csb_strv_free(&v);
    csb_strv_free(&links);
  }
  // A depth limit that leaves no level below a link, and a pattern that
  // cannot match below it, report nothing.
  struct {
    std::string pattern;
    int depth;
  } none[] = {{r + "/**/*.env", 1}, {r + "/*.env", -1}, {r + "/sub/*.env", -1}};
  for (const auto &c : none) {
    Glob g(c.pattern);
    csb_glob_expand_opts o;
    memset(&o, 0, sizeof o);
    o.max_depth = c.depth;
    csb_strv v, links;
    csb_strv_init(&v);
    csb_strv_init(&links);
    o.links = &links;
    csb_error err;
    ASSERT_TRUE(csb_glob_expand_ex(g.g, &o, &v, &err)) << err.msg;
    EXPECT_EQ(links.len, 0u) << c.pattern << " " << (links.len ? links.items[0] : "");
    csb_strv_free(&v);
    csb_strv_free(&links);
  }
}

TEST_F(ExpandTest, SymlinkLoopsTerminate) {
  Symlink("loop-b", r + "/loop-a");
  Symlink("loop-a", r + "/loop-b");
  Symlink("..", r + "/sub/deep/up");
  Expansion e = Expand(r + "/**");
  ASSERT_TRUE(e.ok) << e.error;
  for (const auto &p : e.paths) {
    EXPECT_EQ(p.find("/self/"), std::string::npos) << p;
    EXPECT_EQ(p.find("/up/"), std::string::npos) << p;
    EXPECT_EQ(p.find("/dirlink/"), std::string::npos) << p;
  }
  EXPECT_TRUE(std::count(e.paths.begin(), e.paths.end(), r + "/loop-a"));
  EXPECT_TRUE(std::count(e.paths.begin(), e.paths.end(), r + "/sub/self"));
}

TEST_F(ExpandTest, SymlinkTargets) {
  Expansion e = Expand(r + "/*.env", -1, 0, CSB_GLOB_EXPAND_SYMLINK_TARGETS);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.paths, P({".env", "a.env", "b.txt", "dangling.env", "dir.env", "link.env",
                        "\xff\xfe.env"}));
  // A prefix that crosses a symlink adds the canonical spelling of every match.
  Symlink("r", t / "rl");
  Expansion viaLink = Expand(t / "rl/sub/*.env", -1, 0, CSB_GLOB_EXPAND_SYMLINK_TARGETS);
  ASSERT_TRUE(viaLink.ok) << viaLink.error;
  std::vector<std::string> want = {t / "rl/sub/c.env", r + "/sub/c.env"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(viaLink.paths, want);
  Expansion plain = Expand(t / "rl/sub/*.env");
  ASSERT_TRUE(plain.ok);
  EXPECT_EQ(plain.paths, std::vector<std::string>{t / "rl/sub/c.env"});
}

class ExpandPublicTest : public ExpandTest {
 protected:
  ExpandPublicTest() : ExpandTest(true) {}
};

// A directory the walk may not list is skipped only when a command run as
// the same user could not reach what it holds either: not when it may be
// searched (`cat traverse-only/z.env` works without listing it), nor when
// the user owns it or the directory above it (chmod makes it readable or
// searchable), since the match in it would stay readable.
TEST_F(ExpandPublicTest, UnreadableDirectoriesAreSkippedOnlyWhenUnreachable) {
  Touch(r + "/locked/x.env");
  Touch(r + "/locked/sub/y.env");
  Touch(r + "/traverse-only/z.env");
  Touch(r + "/list-only/sub/w.env");
  ASSERT_EQ(chmod((r + "/locked").c_str(), 0000), 0);
  ASSERT_EQ(chmod((r + "/list-only").c_str(), 0444), 0);
  std::string pattern = r + "/**/*.env";
  std::string dirs = r + "/**";
  std::string locked = r + "/locked";
  // The runner's own files (when the tests do not run as root) are
  // always reachable by their owner.
  const bool own = geteuid() != 0;
  auto has = [](const Expansion &e, const std::string &text) {
    return !e.ok && e.error.find(text) != std::string::npos;
  };
  int rc = RunUnprivileged([&]() {
    for (int threads : {1, 4}) {
      // Someone else's directories that cannot be searched: skipped.
      Expansion e = Expand(pattern, -1, 0, 0, threads);
      if (own) {
        if (!has(e, "who may make it readable")) return 20;
        continue;
      }
      if (!e.ok) return 10;
      for (const auto &p : e.paths)
        if (p.find("/locked/") != std::string::npos || p.find("/list-only/") != std::string::npos)
          return 11;
      if (e.paths.size() != 11) return 12;
      Expansion all = Expand(dirs, -1, 0, 0, threads);
      if (!all.ok) return 13;
      // The unreadable directory itself is still reported.
      if (!std::count(all.paths.begin(), all.paths.end(), locked)) return 14;
      // As the prefix, or below one that cannot be searched.
      Expansion p = Expand(locked + "/*.env", -1, 0, 0, threads);
      if (!p.ok || !p.paths.empty()) return 15;
      p = Expand(locked + "/sub/*.env", -1, 0, 0, threads);
      if (!p.ok || !p.paths.empty()) return 16;
    }
    return 0;
  });
  if (rc == kCannotDrop) GTEST_SKIP() << "cannot drop privileges";
  EXPECT_EQ(rc, 0);
  if (own) GTEST_SKIP() << "the rest needs root (directories of another user's)";

  // A directory that may be searched but not listed.
  ASSERT_EQ(chmod((r + "/traverse-only").c_str(), 0111), 0);
  std::string msg = "cannot list `" + r + "/traverse-only` (Permission denied), although a command "
                    "run as this user could reach what it holds (it may be searched, so a name in "
                    "it opens without being listed): make it readable, or narrow the deny glob";
  rc = RunUnprivileged([&]() {
    for (int threads : {1, 4}) {
      if (Expand(pattern, -1, 0, 0, threads).error != msg) return 30;
      if (Expand(r + "/traverse-only/*.env", -1, 0, 0, threads).error != msg) return 31;
      // Where the walk only looks one name up, it needs no listing.
      // The directory the glob's fixed part ends at included.
      for (const std::string &pat : {r + "/trav*/z.env", r + "/*/z.env", r + "/{l,t}*/z.env",
                                     r + "/traverse-only/[z].env", r + "/traverse-only/{z}.env",
                                     r + "/traverse-only/z.en[v]"}) {
        Expansion lit = Expand(pat, -1, 0, 0, threads);
        if (!lit.ok || lit.paths != std::vector<std::string>{r + "/traverse-only/z.env"}) {
          fprintf(stderr, "%s: %s\n", pat.c_str(), lit.ok ? "wrong matches" : lit.error.c_str());
          return 32;
        }
      }
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(chmod((r + "/traverse-only").c_str(), 0755), 0);

  // The user's own directories: it could chmod them (in a writable root).
  if (chown(locked.c_str(), 65534, 65534) != 0) GTEST_SKIP() << "chown: " << strerror(errno);
  rc = RunUnprivileged([&]() {
    for (int threads : {1, 4}) {
      if (!has(Expand(pattern, -1, 0, 0, threads),
               "cannot list `" + locked + "` (Permission denied), although a command run as this "
               "user could reach what it holds (it belongs to this user, who may make it readable)"))
        return 40;
      if (!has(Expand(locked + "/sub/*.env", -1, 0, 0, threads),
               "cannot list `" + locked + "/sub` (Permission denied), although a command run as "
               "this user could reach what it holds (a directory on the way to it belongs to this "
               "user, who may make that searchable)"))
        return 41;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(chown(locked.c_str(), 0, 0), 0);
  ASSERT_EQ(chown((r + "/list-only").c_str(), 65534, 65534), 0);
  rc = RunUnprivileged([&]() {
    for (int threads : {1, 4}) {
      if (!has(Expand(pattern, -1, 0, 0, threads),
               "cannot list `" + r + "/list-only/sub` (Permission denied), although a command run "
               "as this user could reach what it holds (the directory holding it belongs to this "
               "user, who may make that searchable)"))
        return 50;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

// Property: over random trees of directories with random owners (root or
// the unprivileged user) and modes, run as that user, an expansion either
// fails naming a directory it cannot list, or reports every matching path
// the user can reach: every directory on the way may be searched by the
// user or is the user's own (chmod would open it).
TEST_F(ExpandPublicTest, RandomModesNeverHideAReachableMatch) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (directories of two owners)";
  std::mt19937 rng(20261124);
  const char *names[] = {"a", "b", ".env", "x.env", "s"};
  const mode_t modes[] = {0755, 0711, 0311, 0111, 0700, 0444, 0000, 0555, 0751};
  const char *patterns[] = {"/**/*.env", "/*/*.env", "/*/x.env", "/a/**", "/{a,b}/*/.env",
                            "/**/s/*", "/?/*/*.env", "/*/s/x.env", "/s/*", "/*/*/*"};
  int failures_seen = 0, refused = 0, checked = 0;
  for (int it = 0; it < 150; it++) {
    std::string root = r + "/it" + std::to_string(it);
    MkDirs(root);
    struct Node {
      std::string path;
      bool dir;
    };
    std::vector<Node> nodes;
    std::vector<std::string> dirs = {root};
    for (size_t i = 0; i < dirs.size() && nodes.size() < 40; i++) {
      int depth = static_cast<int>(std::count(dirs[i].begin() + root.size(), dirs[i].end(), '/'));
      for (int k = static_cast<int>(rng() % 4); k > 0; k--) {
        std::string p = dirs[i] + "/" + names[rng() % 5];
        struct stat st;
        if (lstat(p.c_str(), &st) == 0) continue;
        bool dir = depth < 3 && rng() % 2;
        if (dir) {
          MkDirs(p);
          dirs.push_back(p);
        } else {
          Touch(p);
        }
        nodes.push_back({p, dir});
      }
    }
    std::set<std::string> open_dirs;  // the user's own, or searchable by others
    for (size_t i = 0; i < dirs.size(); i++) {
      bool own = rng() % 3 == 0;
      mode_t mode = i > 0 ? modes[rng() % 9] : 0755;
      if (own) {
        ASSERT_EQ(chown(dirs[i].c_str(), 65534, 65534), 0);
      }
      ASSERT_EQ(chmod(dirs[i].c_str(), mode), 0);
      if (own || (mode & 01)) open_dirs.insert(dirs[i]);
    }
    std::string pattern = root + patterns[rng() % 10];
    int rc = RunUnprivileged([&]() {
      for (int threads : {1, 3}) {
        Expansion e = Expand(pattern, -1, 0, 0, threads);
        if (!e.ok) {
          if (e.error.find("cannot list `") != 0) {
            fprintf(stderr, "%s: unexpected error %s\n", pattern.c_str(), e.error.c_str());
            return 20;
          }
          continue;
        }
        Glob g(pattern);
        for (const Node &n : nodes) {
          if (!g.Match(n.path)) continue;
          bool reachable = true;
          for (std::string d = n.path.substr(0, n.path.rfind('/')); reachable && d.size() >= root.size();
               d = d.substr(0, d.rfind('/')))
            reachable = open_dirs.count(d) > 0;
          if (reachable && !std::count(e.paths.begin(), e.paths.end(), n.path)) {
            fprintf(stderr, "%s (threads %d): %s is reachable and not reported\n", pattern.c_str(),
                    threads, n.path.c_str());
            return 21;
          }
        }
      }
      return 0;
    });
    if (rc == kCannotDrop) GTEST_SKIP() << "cannot drop privileges";
    EXPECT_EQ(rc, 0) << pattern;
    if (rc != 0) {
      for (const std::string &d : dirs) {
        struct stat st;
        if (lstat(d.c_str(), &st) == 0)
          fprintf(stderr, "  %s uid %u mode %o\n", d.c_str(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
      }
      if (++failures_seen > 3) break;
    }
    // What happened, to check that the trees exercise both outcomes.
    rc = RunUnprivileged([&]() { return Expand(pattern, -1, 0, 0, 1).ok ? 0 : 1; });
    refused += rc == 1;
    checked++;
  }
  EXPECT_GT(refused, 10);
  EXPECT_GT(checked - refused, 10);
}

TEST_F(ExpandTest, TooDeepTreeIsAnError) {
  std::string p = r + "/chain";
  for (int i = 0; i < CSB_GLOB_MAX_WALK_DEPTH + 2; i++) p += "/d";
  MkDirs(p);
  Touch(p + "/x.env");
  Expansion e = Expand(r + "/chain/**/x.env");
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.error.find("deeper than 256 levels"), std::string::npos) << e.error;
  Expansion bounded = Expand(r + "/chain/**/x.env", 20);
  EXPECT_TRUE(bounded.ok) << bounded.error;
  EXPECT_TRUE(bounded.paths.empty());
}

TEST_F(ExpandTest, WalkDepthLimitIsExact) {
  // Directories down to CSB_GLOB_MAX_WALK_DEPTH levels below the static
  // prefix are walked; one more level is an error.
  std::string at_limit = r + "/limit";
  for (int i = 0; i < CSB_GLOB_MAX_WALK_DEPTH; i++) at_limit += "/d";
  MkDirs(at_limit);
  Touch(at_limit + "/x.env");
  Expansion ok = Expand(r + "/limit/**/x.env");
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.paths, std::vector<std::string>{at_limit + "/x.env"});

  std::string over = r + "/over";
  for (int i = 0; i < CSB_GLOB_MAX_WALK_DEPTH + 1; i++) over += "/d";
  MkDirs(over);
  Touch(over + "/x.env");
  Expansion e = Expand(r + "/over/**/x.env");
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.error.find("deeper than 256 levels"), std::string::npos) << e.error;
}

TEST_F(ExpandTest, NameTailsOfThePattern) {
  // Names are rejected early by the bytes every match must end with; names
  // around those bytes must still come out exactly as the matcher says.
  Touch(r + "/tails/env");          // shorter than ".env"
  Touch(r + "/tails/x.env.bak");    // ".env" not at the end
  Touch(r + "/tails/*.env");        // a literal star
  Touch(r + "/tails/ab");
  Touch(r + "/tails/cb");
  Touch(r + "/tails/b");
  Touch(r + "/tails/X.ENV");
  Touch(r + "/tails/\xff.env\xfe");
  MkDirs(r + "/tails/no-tail");     // entered although its name lacks the tail
  Touch(r + "/tails/no-tail/y.env");
  auto rel = [&](const Expansion &e) {
    std::vector<std::string> v;
    for (const auto &p : e.paths) v.push_back(p.substr(r.size() + 1));
    return v;
  };
  using V = std::vector<std::string>;
  Expansion star = Expand(r + "/tails/**/*.env");
  ASSERT_TRUE(star.ok) << star.error;
  EXPECT_EQ(rel(star), (V{"tails/*.env", "tails/no-tail/y.env"}));
  Expansion escaped = Expand(r + "/tails/\\*.env");
  ASSERT_TRUE(escaped.ok) << escaped.error;
  EXPECT_EQ(rel(escaped), (V{"tails/*.env"}));
  Expansion common = Expand(r + "/tails/{a,c,}b");  // tail "b" from the group
  ASSERT_TRUE(common.ok) << common.error;
  EXPECT_EQ(rel(common), (V{"tails/ab", "tails/cb"}));
  Expansion same = Expand(r + "/tails/*{.e,.e}nv");  // identical alternatives
  ASSERT_TRUE(same.ok) << same.error;
  EXPECT_EQ(rel(same), (V{"tails/*.env"}));
  Expansion alts = Expand(r + "/tails/*.{env,bak}");
  ASSERT_TRUE(alts.ok) << alts.error;
  EXPECT_EQ(rel(alts), (V{"tails/*.env", "tails/x.env.bak"}));
  Expansion empty_group = Expand(r + "/tails/*{}env");  // an empty group matches ""
  ASSERT_TRUE(empty_group.ok) << empty_group.error;
  EXPECT_EQ(rel(empty_group), (V{"tails/*.env", "tails/env"}));
  Expansion high = Expand(r + "/tails/*.env\xfe");
  ASSERT_TRUE(high.ok) << high.error;
  EXPECT_EQ(rel(high), (V{"tails/\xff.env\xfe"}));
  Expansion folded = Expand(r + "/tails/*.env", CSB_GLOB_DEPTH_UNLIMITED, 0,
                            CSB_GLOB_EXPAND_FOLD_CASE);
  ASSERT_TRUE(folded.ok) << folded.error;
  EXPECT_EQ(rel(folded), (V{"tails/*.env", "tails/X.ENV"}));
  // At the depth limit a directory is matched by its name alone.
  MkDirs(r + "/tails/deeper.env/z");
  Expansion bounded = Expand(r + "/tails/**/*.env", 1);
  ASSERT_TRUE(bounded.ok) << bounded.error;
  EXPECT_EQ(rel(bounded), (V{"tails/*.env", "tails/deeper.env"}));
}

// ---- randomised comparison with a brute-force walk --------------------------

struct TreeEntry {
  std::string path;
  int depth;
};

std::vector<TreeEntry> *g_entries;

int Collect(const char *path, const struct stat *, int, struct FTW *ftw) {
  if (ftw->level == 0) return 0;
  g_entries->push_back({path, ftw->level});
  return 0;
}

std::vector<TreeEntry> AllEntries(const std::string &root) {
  std::vector<TreeEntry> v;
  g_entries = &v;
  nftw(root.c_str(), Collect, 64, FTW_PHYS);
  return v;
}

void MakeRandomTree(std::mt19937 &rng, const std::string &dir, int depth) {
  static const char *names[] = {"a", "b", "ab", ".env", "x.env", "y.pem", "\xff",
                                "[a]", "*", "a,b", "{c}", "sub", "deep", "e"};
  int n = 2 + rng() % 5;
  for (int i = 0; i < n; i++) {
    std::string name = names[rng() % (sizeof names / sizeof *names)];
    std::string p = dir + "/" + name;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0) continue;
    int kind = rng() % 10;
    if (kind < 4 && depth < 4) {
      mkdir(p.c_str(), 0755);
      MakeRandomTree(rng, p, depth + 1);
    } else if (kind < 9) {
      Touch(p);
    } else {
      (void)!symlink(rng() % 2 ? "." : "missing", p.c_str());
    }
  }
}

TEST(ExpandRandom, AgreesWithBruteForce) {
  TempDir t;
  std::mt19937 rng(777);
  std::string root = t / "tree";
  mkdir(root.c_str(), 0755);
  MakeRandomTree(rng, root, 0);
  std::vector<TreeEntry> entries = AllEntries(root);
  ASSERT_GT(entries.size(), 20u);
  const std::vector<std::string> atoms = {"*", "**", "?", "a", "b", ".env", "[ab]",
                                          "{a,x.env}", "e", "\\*", "[!a]*", "*.{env,pem}"};
  int checked = 0;
  for (int iter = 0; iter < 300; iter++) {
    std::string pat = root;
    int comps = 1 + rng() % 4;
    for (int c = 0; c < comps; c++) {
      pat += "/";
      int k = 1 + rng() % 2;
      for (int i = 0; i < k; i++) pat += atoms[rng() % atoms.size()];
    }
    Glob g(pat);
    if (!g.ok()) continue;
    std::string prefix = csb_glob_static_prefix(g.g);
    size_t base_depth = csb_path_depth(prefix.c_str());
    size_t root_depth = csb_path_depth(root.c_str());
    for (int max_depth : {-1, 1, 2, 3}) {
      std::vector<std::string> want;
      for (const auto &e : entries) {
        if (!csb_path_is_strictly_under(prefix.c_str(), e.path.c_str())) continue;
        int rel_depth = (int)(root_depth + (size_t)e.depth - base_depth);
        if (max_depth >= 0 && rel_depth > max_depth) continue;
        if (g.Match(e.path)) want.push_back(e.path);
      }
      std::sort(want.begin(), want.end());
      for (int threads : {1, 3}) {
        Expansion got = Expand(pat, max_depth, 100000, 0, threads);
        ASSERT_TRUE(got.ok) << pat << ": " << got.error;
        ASSERT_EQ(got.paths, want) << "pattern `" << pat << "` depth " << max_depth
                                   << " threads " << threads;
        checked++;
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(ExpandRandom, NameTailsAgreeWithBruteForce) {
  // Last components that end in literals, alternations with and without a
  // common tail, escapes and classes, over names built around them; with
  // and without case folding (brute force: the names below the prefix
  // lower-cased, then the plain matcher).
  TempDir t;
  std::string root = t / "t";
  static const char *names[] = {".env", "env", "a.env", "A.ENV", "x.env.bak", "ab",
                                "cb", "b", "*.env", "nv", "x.pem", "\xff.env"};
  std::mt19937 rng(5);
  std::vector<std::string> dirs = {root};
  for (int i = 0; i < 40; i++) {
    const std::string &parent = dirs[rng() % dirs.size()];
    std::string p = parent + "/" + names[rng() % (sizeof names / sizeof *names)];
    struct stat st;
    if (lstat(p.c_str(), &st) == 0) continue;
    if (rng() % 3 == 0 && csb_path_depth(p.c_str()) < csb_path_depth(root.c_str()) + 3) {
      MkDirs(p);
      dirs.push_back(p);
    } else {
      Touch(p);
    }
  }
  std::vector<TreeEntry> entries = AllEntries(root);
  const std::vector<std::string> lasts = {
      "*.env",  ".env",   "*{.env,nv}", "{a,c,}b", "*{b,b}", "\\*.env", "[.]env",
      "*.{env,bak}", "?nv", "*{,.env}", "{x,}{.env,.ENV}", "*{}env", "a{.e{nv,nv}}",
      "*.[ep]{nv,em}", "*\xff.env", "[!a]*.env"};
  const std::vector<std::string> heads = {"", "**/", "*/", "{a.env,b}/", "**/*/"};
  int checked = 0;
  for (const auto &head : heads) {
    for (const auto &last : lasts) {
      std::string pat = root + "/" + head + last;
      Glob g(pat);
      ASSERT_TRUE(g.ok()) << pat << ": " << g.error;
      std::string prefix = csb_glob_static_prefix(g.g);
      size_t base_depth = csb_path_depth(prefix.c_str());
      size_t root_depth = csb_path_depth(root.c_str());
      for (unsigned flags : {0u, (unsigned)CSB_GLOB_EXPAND_FOLD_CASE}) {
        for (int max_depth : {-1, 1, 2}) {
          std::vector<std::string> want;
          for (const auto &e : entries) {
            if (!csb_path_is_strictly_under(prefix.c_str(), e.path.c_str())) continue;
            int rel_depth = (int)(root_depth + (size_t)e.depth - base_depth);
            if (max_depth >= 0 && rel_depth > max_depth) continue;
            std::string seen = e.path;
            if (flags)
              for (size_t i = prefix.size(); i < seen.size(); i++)
                if (seen[i] >= 'A' && seen[i] <= 'Z') seen[i] = (char)(seen[i] - 'A' + 'a');
            if (g.Match(seen)) want.push_back(e.path);
          }
          std::sort(want.begin(), want.end());
          Expansion got = Expand(pat, max_depth, 100000, flags, 1);
          ASSERT_TRUE(got.ok) << pat << ": " << got.error;
          ASSERT_EQ(got.paths, want) << "pattern `" << pat << "` depth " << max_depth
                                     << " flags " << flags;
          checked++;
        }
      }
    }
  }
  EXPECT_EQ(checked, 5 * 16 * 2 * 3);
}

TEST(ExpandRandom, ManyDfaStatesStayCorrect) {
  // A pattern whose DFA has many states (a '?' run after '**'), on names
  // that exercise them; the result must still equal brute force.
  TempDir t;
  std::string root = t / "t";
  std::mt19937 rng(99);
  for (int i = 0; i < 300; i++) {
    std::string name;
    int n = 8 + rng() % 6;
    for (int k = 0; k < n; k++) name += "ab"[rng() % 2];
    Touch(root + "/d" + std::to_string(i % 7) + "/" + name);
  }
  std::string pat = root + "/**/*a?????b";
  Glob g(pat);
  ASSERT_TRUE(g.ok());
  std::vector<std::string> want;
  for (const auto &e : AllEntries(root))
    if (g.Match(e.path)) want.push_back(e.path);
  std::sort(want.begin(), want.end());
  ASSERT_FALSE(want.empty());
  for (int threads : {1, 2}) {
    Expansion got = Expand(pat, -1, 100000, 0, threads);
    ASSERT_TRUE(got.ok) << got.error;
    EXPECT_EQ(got.paths, want);
  }
}

// ============================================================================
// Expansion cache
// ============================================================================

class ExpandCacheTest : public ExpandTest {
 protected:
  void SetUp() override {
    ExpandTest::SetUp();
    cache = t / "cache";
    ASSERT_EQ(mkdir(cache.c_str(), 0700), 0);
    for (int i = 0; i < 6; i++)
      Touch(r + "/many/d" + std::to_string(i) + "/x" + std::to_string(i) + ".env");
  }
  // Expands with the cache; st receives the statistics.
  Expansion ExpandC(const std::string &pattern, csb_glob_expand_stats *st, unsigned flags = 0,
                    int threads = 1, int max_depth = CSB_GLOB_DEPTH_UNLIMITED,
                    size_t max_matches = 0) {
    return Expand(pattern, max_depth, max_matches, flags, threads, cache.c_str(), st);
  }
  // Expands with the cache and checks the result against an expansion
  // without it, made right after.
  csb_glob_expand_stats Same(const std::string &pattern, unsigned flags = 0, int threads = 1,
                             int max_depth = CSB_GLOB_DEPTH_UNLIMITED) {
    csb_glob_expand_stats st;
    memset(&st, 0xff, sizeof st);
    Expansion got = ExpandC(pattern, &st, flags, threads, max_depth);
    Expansion want = Expand(pattern, max_depth, 0, flags, threads);
    EXPECT_TRUE(got.ok) << got.error;
    EXPECT_TRUE(want.ok) << want.error;
    EXPECT_EQ(got.paths, want.paths) << pattern;
    return st;
  }
  // Directories are trusted by the cache once their times are more than
  // two seconds old.
  static void Settle() { usleep(2200 * 1000); }
  std::vector<std::string> CacheFiles() {
    std::vector<std::string> v;
    DIR *d = opendir(cache.c_str());
    if (!d) return v;
    while (struct dirent *de = readdir(d))
      if (de->d_name[0] != '.') v.push_back(cache + "/" + de->d_name);
    closedir(d);
    std::sort(v.begin(), v.end());
    return v;
  }
  std::string cache;
};

TEST_F(ExpandCacheTest, ReusesExactlyTheSettledUnchangedDirectories) {
  const std::string pat = r + "/**/*.env";
  const unsigned fl = CSB_GLOB_EXPAND_SYMLINK_TARGETS;
  csb_glob_expand_stats st = Same(pat, fl);
  EXPECT_FALSE(st.cache_loaded);
  EXPECT_TRUE(st.cache_stored);
  EXPECT_EQ(st.dirs_reused, 0u);
  const size_t ndirs = st.dirs_read;
  EXPECT_GE(ndirs, 12u);
  ASSERT_EQ(CacheFiles().size(), 1u);
  struct stat fst;
  ASSERT_EQ(stat(CacheFiles()[0].c_str(), &fst), 0);
  EXPECT_EQ(fst.st_mode & 07777, 0600u);

  // Just made: no directory is trusted yet, every one is read again.
  st = Same(pat, fl);
  EXPECT_TRUE(st.cache_loaded);
  EXPECT_EQ(st.dirs_reused, 0u);
  EXPECT_EQ(st.dirs_read, ndirs);

  Settle();
  st = Same(pat, fl);  // records made before settling: still read
  EXPECT_EQ(st.dirs_read, ndirs);
  EXPECT_TRUE(st.cache_stored);
  st = Same(pat, fl);
  EXPECT_TRUE(st.cache_loaded);
  EXPECT_EQ(st.dirs_read, 0u);
  EXPECT_EQ(st.dirs_reused, ndirs);
  EXPECT_FALSE(st.cache_stored);

  // A new match: only its directory is read again (not the one below it).
  Touch(r + "/sub/deep/new.env");
  st = Same(pat, fl);
  EXPECT_EQ(st.dirs_read, 1u);
  EXPECT_EQ(st.dirs_reused, ndirs - 1);
  // It was read unsettled (just changed): no point in a new file.
  EXPECT_FALSE(st.cache_stored);
  {
    Expansion e = ExpandC(pat, &st, fl);
    EXPECT_TRUE(std::count(e.paths.begin(), e.paths.end(), r + "/sub/deep/new.env"));
  }

  // A removed match.
  ASSERT_EQ(unlink((r + "/sub/c.env").c_str()), 0);
  st = Same(pat, fl);
  EXPECT_GE(st.dirs_read, 1u);

  // An entry added while the directory's mtime is set back: its ctime
  // still moves, and the entry is found.
  struct stat before;
  ASSERT_EQ(stat((r + "/many/d0").c_str(), &before), 0);
  Touch(r + "/many/d0/forged.env");
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (r + "/many/d0").c_str(), times, 0), 0);
  {
    Expansion e = ExpandC(pat, &st, fl);
    EXPECT_TRUE(std::count(e.paths.begin(), e.paths.end(), r + "/many/d0/forged.env"));
  }
  Same(pat, fl);

  // A directory replaced by another one, and one replaced by a symlink.
  ASSERT_EQ(rename((r + "/many/d1").c_str(), (r + "/many/d1-old").c_str()), 0);
  Touch(r + "/many/d1/other.env");
  ASSERT_EQ(unlink((r + "/many/d2/x2.env").c_str()), 0);
  ASSERT_EQ(rmdir((r + "/many/d2").c_str()), 0);
  Symlink("../sub", r + "/many/d2");
  Same(pat, fl);
  // A match turned into a directory with a match inside.
  ASSERT_EQ(unlink((r + "/many/d3/x3.env").c_str()), 0);
  Touch(r + "/many/d3/x3.env/in.env");
  Same(pat, fl);

  // Settled again, nothing is read.
  Settle();
  Same(pat, fl);
  st = Same(pat, fl);
  EXPECT_EQ(st.dirs_read, 0u);
  EXPECT_GT(st.dirs_reused, 0u);
}

TEST_F(ExpandCacheTest, PatternsDepthsAndThreads) {
  Settle();
  const std::vector<std::string> pats = {r + "/**/*.env", r + "/sub/**",
                                         r + "/{sub/deep,dir.env}/*.{env,txt}", r + "/**",
                                         r + "/*/d?/*"};
  for (int depth : {CSB_GLOB_DEPTH_UNLIMITED, 2}) {
    for (const auto &p : pats) {
      for (int threads : {1, 4}) {
        Same(p, 0, threads, depth);
        csb_glob_expand_stats st = Same(p, 0, threads, depth);
        EXPECT_TRUE(st.cache_loaded) << p;
        EXPECT_EQ(st.dirs_read, 0u) << p;
      }
    }
  }
  // One file per pattern and depth limit (threads do not matter).
  EXPECT_EQ(CacheFiles().size(), pats.size() * 2);
  // Changed directories are read again, alone; a new one with everything
  // below it, by the walker threads.
  for (int i = 0; i < 6; i++) Touch(r + "/many/d" + std::to_string(i) + "/y.env");
  Touch(r + "/new/a/b/z.env");
  Touch(r + "/new/c/z.env");
  csb_glob_expand_stats st = Same(pats[0], 0, 4);
  // many/d0..d5; r (which gained "new"); new, new/a, new/a/b, new/c.
  EXPECT_EQ(st.dirs_read, 6u + 1 + 4);
  // Folding case is a key of its own.
  Same(r + "/**/*.env", CSB_GLOB_EXPAND_FOLD_CASE, 1);
  EXPECT_EQ(CacheFiles().size(), pats.size() * 2 + 1);
}

// What a command with write access to the tree can do between two
// expansions to put another directory where a recorded one was: each is
// seen, because the directory at the recorded path has another inode or
// newer times (and its parent changed too).
TEST_F(ExpandCacheTest, DirectoriesMovedSwappedOrRecreatedAreReadAgain) {
  const std::string pat = r + "/**/*.env";
  auto cached = [&]() {
    Settle();
    Same(pat);
    csb_glob_expand_stats st = Same(pat);
    ASSERT_EQ(st.dirs_read, 0u);
  };
  auto has = [&](const std::string &rel) {
    csb_glob_expand_stats st;
    Expansion e = ExpandC(pat, &st);
    EXPECT_TRUE(e.ok) << e.error;
    return std::count(e.paths.begin(), e.paths.end(), r + "/" + rel) == 1;
  };
  Touch(r + "/many/d0/deeper/y0.env");
  Touch(r + "/other/keep.txt");
  cached();
  // Two directories swapped in one step (with what lies below them).
  ASSERT_EQ(syscall(SYS_renameat2, AT_FDCWD, (r + "/many/d0").c_str(), AT_FDCWD,
                    (r + "/many/d1").c_str(), 2 /* RENAME_EXCHANGE */),
            0);
  EXPECT_TRUE(has("many/d1/deeper/y0.env"));
  Same(pat);
  cached();
  // A directory moved from another parent onto an emptied recorded one,
  // its times set back to those the recorded one had.
  struct stat old;
  ASSERT_EQ(unlink((r + "/many/d2/x2.env").c_str()), 0);
  ASSERT_EQ(stat((r + "/many/d2").c_str(), &old), 0);
  cached();
  MkDirs(r + "/other/moved");
  Touch(r + "/other/moved/m.env");
  struct timespec ts[2] = {old.st_atim, old.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (r + "/other/moved").c_str(), ts, 0), 0);
  ASSERT_EQ(rename((r + "/other/moved").c_str(), (r + "/many/d2").c_str()), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (r + "/many/d2").c_str(), ts, 0), 0);
  EXPECT_TRUE(has("many/d2/m.env"));
  Same(pat);
  cached();
  // Removed and made again at once (the file system may give it the same
  // inode), with a match and the old times.
  ASSERT_EQ(stat((r + "/many/d3").c_str(), &old), 0);
  ASSERT_EQ(unlink((r + "/many/d3/x3.env").c_str()), 0);
  ASSERT_EQ(rmdir((r + "/many/d3").c_str()), 0);
  MkDirs(r + "/many/d3");
  Touch(r + "/many/d3/again.env");
  struct timespec ts3[2] = {old.st_atim, old.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (r + "/many/d3").c_str(), ts3, 0), 0);
  EXPECT_TRUE(has("many/d3/again.env"));
  Same(pat);
  // The recorded parent unchanged (its times set back) while a directory
  // below it is replaced: the child's own identity still differs.
  cached();
  struct stat parent;
  ASSERT_EQ(stat((r + "/many").c_str(), &parent), 0);
  ASSERT_EQ(rename((r + "/many/d4").c_str(), (r + "/other/d4-old").c_str()), 0);
  Touch(r + "/other/new-d4/n.env");
  ASSERT_EQ(rename((r + "/other/new-d4").c_str(), (r + "/many/d4").c_str()), 0);
  struct timespec tp[2] = {parent.st_atim, parent.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (r + "/many").c_str(), tp, 0), 0);
  EXPECT_TRUE(has("many/d4/n.env"));
  EXPECT_TRUE(has("other/d4-old/x4.env"));
  Same(pat);
}

// A directory trusted by an expansion has times old enough that no change
// made once the expansion started can leave them as they were: not on a
// file system that keeps whole seconds (ext4 with 128-byte inodes), with
// the time stamped by the kernel's coarse clock, up to a few ticks behind
// the clock the expansion reads (HZ=100: 10 ms a tick).
TEST(GlobCacheSettled, NoLaterChangeKeepsTheTimesOfATrustedDirectory) {
  const int64_t c = 1700000000;  // whole seconds, as such a file system keeps them
  const long lag_ns = 50 * 1000 * 1000;
  for (long off_ms = 0; off_ms < 4000; off_ms++) {
    int64_t start_s = c + off_ms / 1000;
    long start_ns = (off_ms % 1000) * 1000000L;
    if (!csb_test_glob_cache_settled(c, 0, c, 0, start_s, start_ns)) continue;
    // The earliest time a change made after the start can be stamped
    // with, truncated to whole seconds, must be past c.
    int64_t earliest_ns = start_s * 1000000000LL + start_ns - lag_ns;
    int64_t stamped = earliest_ns / 1000000000LL;
    EXPECT_GT(stamped, c) << "trusted " << off_ms << " ms after its last change";
  }
  // Not trusted: just changed, or in the future; trusted: long settled.
  EXPECT_FALSE(csb_test_glob_cache_settled(c, 0, c, 0, c, 5));
  EXPECT_FALSE(csb_test_glob_cache_settled(c + 10, 0, c, 0, c + 5, 0));
  EXPECT_FALSE(csb_test_glob_cache_settled(c, 0, c + 10, 0, c + 5, 0));
  EXPECT_TRUE(csb_test_glob_cache_settled(c, 0, c, 0, c + 60, 0));
}

// A file system that keeps 32-bit seconds (ext2, ext3, ext4 with 128-byte
// inodes, XFS without bigtime) stamps every change made once the clock is
// past 2038-01-19T03:14:07Z with that second (and no nanoseconds), as ext4
// and XFS do at the end of their wider ranges: times there say nothing
// about changes.
TEST(GlobCacheSettled, TimesClampedAtTheEndOfAFileSystemsRangeAreNotTrusted) {
  const int64_t later = 4000000000LL;  // 2096
  for (int64_t end : {2147483647LL, 15032385535LL, 16299260424LL}) {
    EXPECT_FALSE(csb_test_glob_cache_settled(end, 0, end, 0, later + end - 2147483647LL, 0)) << end;
    EXPECT_FALSE(csb_test_glob_cache_settled(1700000000, 0, end, 0, later + end - 2147483647LL, 0))
        << end;
    EXPECT_FALSE(csb_test_glob_cache_settled(end, 0, 1700000000, 0, later + end - 2147483647LL, 0))
        << end;
  }
  EXPECT_TRUE(csb_test_glob_cache_settled(2147483646, 0, 2147483646, 0, later, 0));
}

// What a directory contributes changed in this version (records trusted
// under the one-second rule may be ones the two-second rule does not
// trust): files an earlier version wrote are not used.
TEST_F(ExpandCacheTest, FilesOfEarlierVersionsAreNotUsed) {
  Settle();
  const std::string pat = r + "/**/*.env";
  Same(pat);
  csb_glob_expand_stats st = Same(pat);
  ASSERT_TRUE(st.cache_loaded);
  ASSERT_EQ(st.dirs_read, 0u);
  ASSERT_EQ(CacheFiles().size(), 1u);
  const std::string file = CacheFiles()[0];
  const std::string name = file.substr(cache.size() + 1);
  ASSERT_EQ(csb_test_glob_cache_rekey(cache.c_str(), name.c_str(), "csb-glob-cache/1"), 1);
  // The earlier version's file stays; this version's is removed (unless
  // both have the same name).
  if (CacheFiles().size() == 2) {
    ASSERT_EQ(unlink(file.c_str()), 0);
  }
  ASSERT_EQ(CacheFiles().size(), 1u);
  st = Same(pat);
  EXPECT_FALSE(st.cache_loaded);
  EXPECT_EQ(st.dirs_reused, 0u);
}

// A record names its directory's device by number, and a number one
// file system had may be given to another (anonymous devices are reused)
// whose directories show whatever inode and times their server reports
// (FUSE): a record is reused only while its directory is on a file system
// that keeps times exactly now. procfs stands for such a file system here.
TEST_F(ExpandCacheTest, RecordsOfDirectoriesNowOnOtherFileSystemsAreNotReused) {
  const std::string pat = "/proc/sys/kernel/os*";
  Expansion want = Expand(pat);
  if (!want.ok || want.paths.empty()) GTEST_SKIP() << "no /proc/sys/kernel here";
  csb_glob_expand_stats st;
  ASSERT_TRUE(ExpandC(pat, &st).ok);
  ASSERT_EQ(CacheFiles().size(), 1u);
  const std::string name = CacheFiles()[0].substr(cache.size() + 1);
  ASSERT_EQ(csb_test_glob_cache_forge_trusted(cache.c_str(), name.c_str()), 1);
  Expansion got = ExpandC(pat, &st);
  EXPECT_TRUE(st.cache_loaded);
  EXPECT_EQ(st.dirs_reused, 0u);
  EXPECT_EQ(got.paths, want.paths);
}

// Directories whose paths are longer than a path may be (PATH_MAX) cannot
// be looked at by path: they are read again, never reused blindly; and a
// tree grown past the walk's depth limit below a reused directory fails
// as the full walk does.
TEST_F(ExpandCacheTest, PathsLongerThanPathMaxAndTheDepthLimit) {
  const std::string seg(200, 'd');
  std::string rel;
  // The directory rel_path below r, reached one component at a time from
  // its parent's descriptor (made on the way with `make`); -1 on failure.
  auto open_rel = [&](const std::string &rel_path, bool make) {
    int fd = open(r.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; fd >= 0 && i < rel_path.size();) {
      size_t e = rel_path.find('/', i);
      if (e == std::string::npos) e = rel_path.size();
      std::string c = rel_path.substr(i, e - i);
      if (make) mkdirat(fd, c.c_str(), 0755);
      int nfd = openat(fd, c.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      close(fd);
      fd = nfd;
      i = e + 1;
    }
    return fd;
  };
  auto mkdir_at = [&](const std::string &rel_path) {
    int fd = open_rel(rel_path, true);
    ASSERT_GE(fd, 0) << rel_path;
    close(fd);
  };
  auto touch_at = [&](const std::string &rel_dir, const char *name) {
    int fd = open_rel(rel_dir, false);
    ASSERT_GE(fd, 0) << rel_dir;
    int f = openat(fd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    close(fd);
    ASSERT_GE(f, 0);
    close(f);
  };
  for (int i = 0; i < 25; i++) rel += (i ? "/" : "") + seg;  // over 5000 bytes
  mkdir_at(rel);
  touch_at(rel, "deep.env");
  const std::string pat = r + "/**/*.env";
  Settle();
  Same(pat);
  csb_glob_expand_stats st = Same(pat);
  EXPECT_TRUE(st.cache_loaded);
  EXPECT_GT(st.dirs_reused, 0u);
  touch_at(rel, "deeper.env");
  {
    Expansion e = ExpandC(pat, &st);
    ASSERT_TRUE(e.ok) << e.error;
    EXPECT_TRUE(std::count(e.paths.begin(), e.paths.end(), r + "/" + rel + "/deeper.env"));
  }
  Same(pat);
  // Past the depth limit, below a directory the cache reuses.
  std::string deep = "many/d5";
  for (int i = 0; i < CSB_GLOB_MAX_WALK_DEPTH; i++) deep += "/n";
  Settle();
  Same(pat);
  mkdir_at(deep);
  Expansion e = ExpandC(pat, &st);
  Expansion want = Expand(pat);
  EXPECT_FALSE(e.ok);
  EXPECT_FALSE(want.ok);
  EXPECT_EQ(e.error, want.error);
  // The long chain goes by descriptors (the fixture removes by path).
  std::function<void(int, const char *)> rm = [&](int at, const char *name) {
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      DIR *d = fdopendir(fd);
      std::vector<std::string> names;
      while (struct dirent *de = readdir(d))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) names.push_back(de->d_name);
      for (const auto &n : names) {
        if (unlinkat(dirfd(d), n.c_str(), 0) != 0) rm(dirfd(d), n.c_str());
      }
      closedir(d);
    }
    unlinkat(at, name, AT_REMOVEDIR);
  };
  rm(AT_FDCWD, (r + "/" + seg).c_str());
  struct stat gone;
  EXPECT_NE(lstat((r + "/" + seg).c_str(), &gone), 0);
}

TEST_F(ExpandCacheTest, TooManyMatchesFailsAlikeFromTheCache) {
  Settle();
  const std::string pat = r + "/**/*.env";
  csb_glob_expand_stats st;
  Same(pat);
  Expansion e = ExpandC(pat, &st, 0, 1, CSB_GLOB_DEPTH_UNLIMITED, 3);
  EXPECT_TRUE(st.cache_loaded);
  EXPECT_EQ(st.dirs_read, 0u);
  ASSERT_FALSE(e.ok);
  EXPECT_EQ(e.error, Expand(pat, CSB_GLOB_DEPTH_UNLIMITED, 3).error);
  EXPECT_NE(e.error.find("more than 3 matching paths"), std::string::npos) << e.error;
}

std::string ReadAll(const std::string &path) {
  std::string s;
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

void WriteAll(const std::string &path, const std::string &data, mode_t mode = 0600) {
  unlink(path.c_str());
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  chmod(path.c_str(), mode);
}

TEST_F(ExpandCacheTest, DamagedOrForeignFilesAreIgnored) {
  Settle();
  const std::string pat = r + "/**/*.env";
  Same(pat);
  csb_glob_expand_stats st = Same(pat);
  ASSERT_EQ(st.dirs_read, 0u);
  ASSERT_EQ(CacheFiles().size(), 1u);
  const std::string file = CacheFiles()[0];
  const std::string good = ReadAll(file);
  ASSERT_GT(good.size(), 100u);

  auto ignored = [&](const char *what) {
    csb_glob_expand_stats s2 = Same(pat);
    EXPECT_FALSE(s2.cache_loaded) << what;
    EXPECT_EQ(s2.dirs_reused, 0u) << what;
    EXPECT_TRUE(s2.cache_stored) << what;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  WriteAll(file, flipped);
  ignored("a flipped byte");
  WriteAll(file, good.substr(0, good.size() - 9));
  ignored("truncated");
  WriteAll(file, good + "x");
  ignored("trailing byte");
  WriteAll(file, good, 0620);
  ignored("group-writable");
  WriteAll(file, good, 0602);
  ignored("world-writable");
  WriteAll(file + ".real", good);
  unlink(file.c_str());
  Symlink(file + ".real", file);
  ignored("a symlink");
  unlink((file + ".real").c_str());
  WriteAll(file, good);
  if (geteuid() == 0 && chown(file.c_str(), 65534, 65534) == 0)  // not in every user namespace
    ignored("owned by someone else");
  // And the good file is used again.
  WriteAll(file, good);
  st = Same(pat);
  EXPECT_TRUE(st.cache_loaded);
  EXPECT_EQ(st.dirs_read, 0u);

  // The reader under the fuzz entry: the file (without its checksum) and
  // mutations of it.
  std::string body = good.substr(0, good.size() - 8);
  csbtest::MutateOptions o;  // any byte, then mostly separators and sentinels
  o.rounds = 1500;
  o.seed = 5;
  csbtest::ForEachMutation({body}, o, csb_fuzz_glob_cache_one);
  o.alphabet = std::string("/\0.\x01\xff", 5);
  csbtest::ForEachMutation({body}, o, csb_fuzz_glob_cache_one);
}

// ============================================================================
// Fuzz entry replay
// ============================================================================

TEST(FuzzGlob, EntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "/r/**/*.env\n/r/a/b/.env",
      "/r/{a,b{c,d}}/[!x]?\n/r/bd/yz",
      "/r/[]-a]\\*\n/r/_*",
      "**/x\n../a/./x",
      "/r/[unclosed*\n//server/share/x",
      "~/x/*.pem\n~/x/../y",
      "/a/**/**/b/**\n/a/b/c",
  };
  csbtest::MutateOptions o;
  o.rounds = 500;
  o.alphabet = "/*?[]{},!^-\\.~ab\n\x80\xff";
  o.seed = 11;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

}  // namespace

// csb_spath_set keeps the first of equal paths, in order, and takes what
// was pushed to its list directly into account: the same list a scan with
// csb_spath_equal would keep, for 20,000 paths with every one added twice.
TEST(SpathSet, KeepsFirstOfEqualPathsInOrder) {
  csb_strv out;
  csb_strv_init(&out);
  csb_strv_push(&out, "/pre");
  csb_spath_set s;
  csb_spath_set_init(&s, CSB_PATH_POSIX, 0, &out);
  EXPECT_EQ(csb_spath_set_add(&s, "/pre"), 0);
  const size_t n = 20000;
  for (size_t i = 0; i < n; i++) {
    char a[32], b[32];
    snprintf(a, sizeof a, "/r/w%05zu", i);
    snprintf(b, sizeof b, "/r/w%05zu", n - 1 - i);
    csb_spath_set_add(&s, a);
    csb_spath_set_add(&s, b);
  }
  ASSERT_EQ(out.len, 1 + n);
  EXPECT_STREQ(out.items[0], "/pre");
  for (size_t k = 1; k <= n; k++) {
    size_t i = (k - 1) / 2;
    char want[32];
    snprintf(want, sizeof want, "/r/w%05zu", k % 2 ? i : n - 1 - i);
    ASSERT_STREQ(out.items[k], want) << k;
  }
  csb_strv_push(&out, "/direct");
  EXPECT_EQ(csb_spath_set_find(&s, "/direct"), (long)(n + 1));
  EXPECT_EQ(csb_spath_set_find(&s, "/R/w00000"), -1);
  csb_spath_set_free(&s);
  csb_strv_free(&out);
}

TEST(SpathHash, AgreesWithEqual) {
  const char *pairs[][2] = {{"C:\\Repo\\X", "c:\\REPO\\x"},
                            {"C:\\\u00c9\u03a9\u0414", "c:\\\u00e9\u03c9\u0434"},
                            {"\\\\Srv\\Share\\\u01c5", "\\\\srv\\share\\\u01c6"}};
  for (auto &p : pairs) {
    ASSERT_TRUE(csb_spath_equal(CSB_PATH_WINDOWS, p[0], p[1])) << p[0];
    EXPECT_EQ(csb_spath_hash(CSB_PATH_WINDOWS, p[0], strlen(p[0])),
              csb_spath_hash(CSB_PATH_WINDOWS, p[1], strlen(p[1])))
        << p[0];
    EXPECT_NE(csb_spath_hash(CSB_PATH_POSIX, p[0], strlen(p[0])),
              csb_spath_hash(CSB_PATH_POSIX, p[1], strlen(p[1])))
        << p[0];
  }
  // A prefix is hashed as a path of its own.
  const char *full = "C:\\\u00c9\\x";
  EXPECT_EQ(csb_spath_hash(CSB_PATH_WINDOWS, full, 5), csb_spath_hash(CSB_PATH_WINDOWS, "c:\\\u00e9", 5));
}

TEST(SpathSet, WindowsFoldsCaseUnlessBytewise) {
  csb_strv out;
  csb_strv_init(&out);
  csb_spath_set s;
  csb_spath_set_init(&s, CSB_PATH_WINDOWS, 0, &out);
  EXPECT_EQ(csb_spath_set_add(&s, "C:\\Repo\\X"), 1);
  EXPECT_EQ(csb_spath_set_add(&s, "c:\\repo\\x"), 0);
  EXPECT_EQ(csb_spath_set_find(&s, "C:\\REPO\\X"), 0);
  // Names differing in non-ASCII case are one path too (NTFS upcase), but
  // not ß and SS, which the upcase table keeps apart.
  EXPECT_EQ(csb_spath_set_add(&s, "C:\\Users\\\u00c9lodie"), 1);
  EXPECT_EQ(csb_spath_set_add(&s, "c:\\users\\\u00e9LODIE"), 0);
  EXPECT_EQ(csb_spath_set_add(&s, "C:\\Stra\u00dfe"), 1);
  EXPECT_EQ(csb_spath_set_add(&s, "C:\\STRASSE"), 1);
  EXPECT_EQ(out.len, 4u);
  csb_spath_set_free(&s);
  csb_strv_free(&out);
  csb_strv_init(&out);
  csb_spath_set_init(&s, CSB_PATH_WINDOWS, 1, &out);
  EXPECT_EQ(csb_spath_set_add(&s, "C:\\Repo\\X"), 1);
  EXPECT_EQ(csb_spath_set_add(&s, "c:\\repo\\x"), 1);
  EXPECT_EQ(out.len, 2u);
  csb_spath_set_free(&s);
  csb_strv_free(&out);
}
