// glob_links_test.cc - csb_glob_walk_links over this host's file system:
// a tree with symlinked directories, a link loop and depth limits.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <string>
#include <vector>

#include "csb_paths.h"
#include "tests/lib/mutate.h"

extern "C" int csb_fuzz_glob_links_one(const uint8_t *data, size_t size);

namespace {

int RemoveEntry(const char *path, const struct stat *, int type, struct FTW *) {
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

// ---- the callbacks: this host, as csb-seatbelt's host facts see it -------

struct Match {
  std::string lex, path;
  csb_glob_node kind;
  bool operator==(const Match &o) const { return lex == o.lex && path == o.path && kind == o.kind; }
};

std::ostream &operator<<(std::ostream &os, const Match &m) {
  return os << "{" << m.lex << ", " << m.path << ", " << m.kind << "}";
}

struct Ctx {
  std::vector<Match> matches;
  std::vector<std::string> entered;  // link targets looked at (dir_target)
  size_t stop_after = 0;             // on_match fails after this many (0: never)
  size_t root_len = 0;               // for the test form
  std::string refuse;                // list fails for this directory
};

// Names in reverse order: the walk visits them sorted all the same.
int List(void *ctx, const char *dir, csb_strv *names, csb_error *err) {
  if (static_cast<Ctx *>(ctx)->refuse == dir) return csb_error_set(err, "refused `%s`", dir), -1;
  struct dirent **ents = nullptr;
  int n = scandir(dir, &ents, nullptr, alphasort);
  if (n < 0) return 0;
  while (n-- > 0) {
    if (strcmp(ents[n]->d_name, ".") != 0 && strcmp(ents[n]->d_name, "..") != 0)
      csb_strv_push(names, ents[n]->d_name);
    free(ents[n]);
  }
  free(ents);
  return 1;
}

csb_glob_node Kind(void *, const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return CSB_GLOB_NODE_MISSING;
  if (S_ISLNK(st.st_mode)) return CSB_GLOB_NODE_LINK;
  return S_ISDIR(st.st_mode) ? CSB_GLOB_NODE_DIR : CSB_GLOB_NODE_OTHER;
}

char *DirTarget(void *ctx, const char *link) {
  char *t = nullptr;
  struct stat st;
  if (csb_path_canonicalize(link, &t, nullptr)) {
    static_cast<Ctx *>(ctx)->entered.push_back(t);
    if (stat(t, &st) == 0 && S_ISDIR(st.st_mode)) return t;
  }
  free(t);
  return nullptr;
}

char *Join(void *, const char *dir, const char *name) { return csb_path_join(dir, name); }

int Under(void *, const char *dir, const char *path) { return csb_path_is_under(dir, path); }

int OnMatch(void *ctx, const char *lex, const char *path, csb_glob_node kind, csb_error *err) {
  Ctx *c = static_cast<Ctx *>(ctx);
  c->matches.push_back({lex, path, kind});
  if (c->stop_after && c->matches.size() >= c->stop_after)
    return csb_error_set(err, "stopped after %zu", c->matches.size());
  return 1;
}

// Names below the root upper-cased (as a case-folding host compares them).
char *Upper(void *ctx, const char *lex) {
  char *s = strdup(lex);
  for (char *p = s + static_cast<Ctx *>(ctx)->root_len; *p; p++)
    *p = static_cast<char>(toupper(static_cast<unsigned char>(*p)));
  return s;
}

const csb_glob_links_ops kOps = {List, Kind, DirTarget, Join, nullptr, Under, nullptr, nullptr, OnMatch};

// ---- the tree (in a fresh directory R)
// -----------------------------------------------------------------
//
//   R/w/a.env
//   R/w/lnk  -> R/out       R/w/lnk2 -> R/out   (two ways to one directory)
//   R/out/c.env  R/out/sub/d.env
//   R/out/dangle.env -> R/nowhere               (a match that leads nowhere)
//   R/out/f.env -> c.env                        (a link to a file)
//   R/out/loop -> .                             (back to the directory it is in)
//   R/out/side -> R/side                        (sideways)
//   R/side/e.env  R/side/back -> R/out          (back up the chain)

void Mk(const std::string &p) { ASSERT_EQ(mkdir(p.c_str(), 0755), 0) << p; }

void Touch(const std::string &p) {
  int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << p;
  close(fd);
}

void Link(const std::string &target, const std::string &link) {
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link << ": " << strerror(errno);
}

class GlobLinks : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "csb-links-XXXXXX";
    ASSERT_NE(mkdtemp(&dir[0]), nullptr) << strerror(errno);
    char *real = nullptr;
    ASSERT_TRUE(csb_path_canonicalize(dir.c_str(), &real, nullptr));
    r_ = real;
    free(real);
    Mk(r_ + "/w");
    Mk(r_ + "/out");
    Mk(r_ + "/out/sub");
    Mk(r_ + "/side");
    Touch(r_ + "/w/a.env");
    Touch(r_ + "/out/c.env");
    Touch(r_ + "/out/sub/d.env");
    Touch(r_ + "/side/e.env");
    Link(r_ + "/out", r_ + "/w/lnk");
    Link("../out", r_ + "/w/lnk2");
    Link(r_ + "/nowhere", r_ + "/out/dangle.env");
    Link("c.env", r_ + "/out/f.env");
    Link(".", r_ + "/out/loop");
    Link("../side", r_ + "/out/side");
    Link(r_ + "/out", r_ + "/side/back");
  }

  // R as a pattern.
  std::string Escaped() const {
    char *p = csb_glob_escape(r_.c_str(), 0);
    std::string s(p);
    free(p);
    return s;
  }

  // Expands `pattern` (relative to R) and walks below the links it
  // reports. Returns the walk's result; the error in *msg.
  int Walk(const std::string &pattern, int max_depth, Ctx *c, std::string *msg,
           size_t max_visits = 0, const char *label = nullptr,
           const csb_glob_links_ops *ops = &kOps) {
    csb_glob *g = nullptr;
    csb_error e;
    csb_error_clear(&e);
    EXPECT_TRUE(csb_glob_compile((Escaped() + pattern).c_str(), &g, &e)) << e.msg;
    csb_strv found, links;
    csb_strv_init(&found);
    csb_strv_init(&links);
    csb_glob_expand_opts o;
    memset(&o, 0, sizeof o);
    o.max_depth = max_depth;
    o.threads = 1;
    o.links = &links;
    EXPECT_TRUE(csb_glob_expand_ex(g, &o, &found, &e)) << e.msg;
    links_.assign(links.items, links.items + links.len);
    const csb_glob_links_walk w = {ops, c, g, max_depth, max_visits, label};
    int ok = csb_glob_walk_links(&w, csb_glob_static_prefix(g), &links, &e);
    *msg = ok ? "" : e.msg;
    csb_strv_free(&links);
    csb_strv_free(&found);
    csb_glob_free(g);
    return ok;
  }

  // What a walk reports below the directory R/out reached as `lex`, with
  // entries listed down to `levels` levels below it (0: unlimited).
  std::vector<Match> Out(const std::string &lex, int levels) {
    std::vector<Match> m = {
        {lex + "/c.env", r_ + "/out/c.env", CSB_GLOB_NODE_OTHER},
        {lex + "/dangle.env", r_ + "/out/dangle.env", CSB_GLOB_NODE_LINK},
        {lex + "/f.env", r_ + "/out/f.env", CSB_GLOB_NODE_LINK},
    };
    if (levels == 1) return m;
    auto add = [&m](const std::vector<Match> &more) {
      m.insert(m.end(), more.begin(), more.end());
    };
    // `loop` and `side/back` lead back to R/out: without a depth limit it
    // is on the chain and they are not entered.
    if (levels > 1) add(Out(lex + "/loop", levels - 1));
    if (levels > 2) add(Out(lex + "/side/back", levels - 2));
    m.push_back({lex + "/side/e.env", r_ + "/side/e.env", CSB_GLOB_NODE_OTHER});
    m.push_back({lex + "/sub/d.env", r_ + "/out/sub/d.env", CSB_GLOB_NODE_OTHER});
    return m;
  }

  // Out() below both links.
  std::vector<Match> Both(int levels) {
    std::vector<Match> m = Out(r_ + "/w/lnk", levels);
    std::vector<Match> second = Out(r_ + "/w/lnk2", levels);
    m.insert(m.end(), second.begin(), second.end());
    return m;
  }

  void TearDown() override {
    if (!r_.empty()) nftw(r_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  }

  std::string r_;
  std::vector<std::string> links_;
};

TEST_F(GlobLinks, UnlimitedWalksEachLinkOnceAlongTheChain) {
  Ctx c;
  std::string msg;
  ASSERT_TRUE(Walk("/w/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c, &msg)) << msg;
  EXPECT_EQ(links_, (std::vector<std::string>{r_ + "/w/lnk", r_ + "/w/lnk2"}));
  // Both links lead to R/out and each is walked (the chain is per way
  // down); `loop` and `side/back` lead back to R/out, which is on the
  // chain, and are not entered.
  EXPECT_EQ(c.matches, Both(0));
  // The targets asked about below each link: the link itself, f.env (a
  // file), loop, side, side/back (dangle.env leads nowhere).
  std::vector<std::string> once = {r_ + "/out", r_ + "/out/c.env", r_ + "/out", r_ + "/side",
                                   r_ + "/out"};
  std::vector<std::string> twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  EXPECT_EQ(c.entered, twice);
}

TEST_F(GlobLinks, DepthLimitFollowsTheLoopToTheLimit) {
  Ctx c;
  std::string msg;
  // Depth 4 below R/w: lnk is at 1, R/out's entries at 2, and the loop
  // is entered while a level is left below it.
  ASSERT_TRUE(Walk("/w/**/*.env", 4, &c, &msg)) << msg;
  std::vector<Match> want = Both(3);
  EXPECT_EQ(c.matches, want);
  // A spot check of the shape: the loop twice, then the limit.
  EXPECT_EQ(want[3].lex, r_ + "/w/lnk/loop/c.env");
  EXPECT_EQ(want[6].lex, r_ + "/w/lnk/loop/loop/c.env");
  EXPECT_EQ(want[9].lex, r_ + "/w/lnk/loop/side/e.env");
  for (const auto &m : c.matches) EXPECT_EQ(m.lex.find("/loop/loop/loop/"), std::string::npos);
}

TEST_F(GlobLinks, DepthTwoStopsBelowTheLink) {
  Ctx c;
  std::string msg;
  ASSERT_TRUE(Walk("/w/**/*.env", 2, &c, &msg)) << msg;
  EXPECT_EQ(c.matches, Both(1));
}

TEST_F(GlobLinks, PatternPrunesAndMatchesLexically) {
  Ctx c;
  std::string msg;
  // Only lnk2, and below it only what `s*` may lead to: the glob names
  // the link's path, not its target.
  ASSERT_TRUE(Walk("/w/l*2/s*/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c, &msg)) << msg;
  EXPECT_EQ(links_, (std::vector<std::string>{r_ + "/w/lnk2"}));
  EXPECT_EQ(c.matches, (std::vector<Match>{
                           {r_ + "/w/lnk2/side/e.env", r_ + "/side/e.env", CSB_GLOB_NODE_OTHER},
                           {r_ + "/w/lnk2/sub/d.env", r_ + "/out/sub/d.env", CSB_GLOB_NODE_OTHER},
                       }));
  // Only lnk2 and side were looked up.
  EXPECT_EQ(c.entered, (std::vector<std::string>{r_ + "/out", r_ + "/side"}));
}

TEST_F(GlobLinks, TooDeepNamesTheTreeOrTheLabel) {
  // With a depth limit the chain does not stop the loop: the walk limit
  // does, naming the lexical directory it refused...
  Ctx c;
  std::string msg;
  EXPECT_FALSE(Walk("/w/lnk/**/*.env", 1000, &c, &msg));
  std::string deep = r_ + "/w/lnk";
  for (int i = 0; i < CSB_GLOB_MAX_WALK_DEPTH; i++) deep += "/loop";
  EXPECT_EQ(msg, "the tree under `" + deep + "` is deeper than 256 levels");
  // ...or the label.
  Ctx c2;
  EXPECT_FALSE(Walk("/w/lnk/**/*.env", 1000, &c2, &msg, 0, "C:\\w"));
  EXPECT_EQ(msg, "the tree under `C:\\w` is deeper than 256 levels");
  EXPECT_EQ(c2.matches, c.matches);
}

TEST_F(GlobLinks, TooManyEntries) {
  // lnk: c.env, dangle.env, f.env, loop, side (then side's `back`: the
  // sixth).
  Ctx c;
  std::string msg;
  EXPECT_FALSE(Walk("/w/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c, &msg, 5));
  EXPECT_EQ(msg, "more than 5 entries below symlinked directories");
  EXPECT_EQ(c.matches, Out(r_ + "/w/lnk", 1));
  Ctx c2;
  EXPECT_FALSE(Walk("/w/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c2, &msg, 5, "C:\\w"));
  EXPECT_EQ(msg, "more than 5 entries below links under `C:\\w`");
  // The default cap is far away.
  Ctx c3;
  EXPECT_TRUE(Walk("/w/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c3, &msg, 0)) << msg;
}

TEST_F(GlobLinks, OnMatchStopsTheWalk) {
  Ctx c;
  c.stop_after = 2;
  std::string msg;
  EXPECT_FALSE(Walk("/w/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c, &msg));
  EXPECT_EQ(msg, "stopped after 2");
  EXPECT_EQ(c.matches.size(), 2u);
}

// A directory list refuses (one that may not be read although the user
// could reach what it holds) stops the walk with list's error, while one
// it skips is left out.
TEST_F(GlobLinks, ListRefusalStopsTheWalk) {
  Ctx c;
  c.refuse = r_ + "/out/sub";
  std::string msg;
  EXPECT_EQ(Walk("/w/**/*.env", CSB_GLOB_DEPTH_UNLIMITED, &c, &msg), 0);
  EXPECT_EQ(msg, "refused `" + r_ + "/out/sub`");
  // What was reported before stays reported: below the first link, sub
  // comes after c.env, dangle.env, f.env and side/e.env.
  EXPECT_EQ(c.matches.size(), 4u);
}

TEST_F(GlobLinks, TestFormAndLinkPath) {
  // The glob is tested against the test form (names below R/w upper-cased),
  // lexical paths are joined by lex_join, and a link is walked from the
  // path link_path gives it (here R/w/lnk2 is taken as R/out/side).
  Ctx c;
  c.root_len = r_.size() + strlen("/w");
  csb_glob_links_ops ops = kOps;
  ops.test_form = Upper;
  ops.lex_join = Join;
  ops.link_path = [](void *ctx, const char *lex) -> char * {
    std::string s(lex);
    s.replace(static_cast<Ctx *>(ctx)->root_len, std::string::npos, "/../out/side");
    return csb_path_normalize(s.c_str());
  };
  csb_glob *g = nullptr;
  csb_error e;
  csb_error_clear(&e);
  ASSERT_TRUE(csb_glob_compile((Escaped() + "/w/*/*.ENV").c_str(), &g, &e)) << e.msg;
  csb_strv links;
  csb_strv_init(&links);
  csb_strv_push(&links, "/elsewhere/lnk");  // not below the root: skipped
  csb_strv_push(&links, (r_ + "/w/lnk2").c_str());
  csb_strv_push(&links, (r_ + "/wx").c_str());  // nor is this
  const csb_glob_links_walk w = {&ops, &c, g, CSB_GLOB_DEPTH_UNLIMITED, 0, nullptr};
  EXPECT_TRUE(csb_glob_walk_links(&w, (r_ + "/w").c_str(), &links, &e)) << e.msg;
  EXPECT_EQ(c.matches, (std::vector<Match>{
                           {r_ + "/w/lnk2/e.env", r_ + "/side/e.env", CSB_GLOB_NODE_OTHER},
                       }));
  EXPECT_EQ(c.entered, (std::vector<std::string>{r_ + "/side"}));
  csb_strv_free(&links);
  csb_glob_free(g);
}

// The fuzz entry (fuzz_glob_links.c: in-memory link graphs) over its seeds
// and mutations of them.
TEST(FuzzGlobLinks, EntryOnSeedsAndMutations) {
  // dir a; a/x.env; link l -> a; link a/loop -> the root
  const std::string tree("\x00\x00\x00" "\x01\x0d\x00" "\x00\x12\x01" "\x01\x17\x00", 12);
  std::vector<std::string> seeds = {
      std::string("**/*.env\n") + std::string(1, '\0') + tree,
      std::string("**/*.env\n\x03") + tree,
      std::string("/r/l*/**\n\x01") + tree,
      std::string("l/loop/l/*\n") + std::string(1, '\0') + tree + std::string("\x02\x16\x05", 3),
      std::string("*/[ab]/**/?.env\n\x05") + tree + tree,
  };
  csbtest::MutateOptions o;
  o.rounds = 2000;
  o.seed = 7;
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_glob_links_one), 10000u);
}

}  // namespace
