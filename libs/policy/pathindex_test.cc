// Unit tests for the path index of libs/policy (pathindex.c): every query
// answers exactly what a scan of all paths with the document's own
// predicates (csb_policy_i_path_has_prefix, csb_policy_i_path_equal)
// finds, in increasing order, for well-formed and odd paths of both styles.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

extern "C" {
#include "policy_internal.h"
}

namespace {

using Ids = std::vector<int>;

struct Index {
  Index(csb_platform pl, const std::vector<std::string> &paths) : pl(pl), paths(paths) {
    for (const std::string &p : this->paths) ptrs.push_back(p.c_str());
    csb_policy_i_index_init(&ix, pl, ptrs.data(), ptrs.size());
  }
  ~Index() {
    csb_policy_i_index_free(&ix);
    csb_policy_i_hits_free(&hits);
  }
  Ids Get(void (*query)(const csb_policy_i_index *, const char *, csb_policy_i_hits *),
          const std::string &q) {
    query(&ix, q.c_str(), &hits);
    return Ids(hits.ids, hits.ids + hits.len);
  }
  Ids Covering(const std::string &q) { return Get(csb_policy_i_index_covering, q); }
  Ids Under(const std::string &q) { return Get(csb_policy_i_index_under, q); }
  Ids Equal(const std::string &q) { return Get(csb_policy_i_index_equal, q); }

  // The same answers by a scan.
  Ids ScanCovering(const std::string &q) const {
    Ids r;
    for (size_t i = 0; i < paths.size(); i++)
      if (csb_policy_i_path_has_prefix(pl, q.c_str(), paths[i].c_str())) r.push_back((int)i);
    return r;
  }
  Ids ScanUnder(const std::string &q) const {
    Ids r;
    for (size_t i = 0; i < paths.size(); i++)
      if (csb_policy_i_path_has_prefix(pl, paths[i].c_str(), q.c_str())) r.push_back((int)i);
    return r;
  }
  Ids ScanEqual(const std::string &q) const {
    Ids r;
    for (size_t i = 0; i < paths.size(); i++)
      if (csb_policy_i_path_equal(pl, paths[i].c_str(), q.c_str())) r.push_back((int)i);
    return r;
  }

  csb_platform pl;
  std::vector<std::string> paths;
  std::vector<const char *> ptrs;
  csb_policy_i_index ix;
  csb_policy_i_hits hits = {};
};

TEST(PathIndex, PosixQueries) {
  Index ix(CSB_PLATFORM_LINUX, {"/", "/repo", "/repo/a", "/repo-a", "/repo/a/b", "/repo",
                                "/other", "rel", "rel/x"});
  EXPECT_EQ(ix.Covering("/repo/a/b/c"), Ids({0, 1, 2, 4, 5}));
  EXPECT_EQ(ix.Covering("/repo"), Ids({0, 1, 5}));
  EXPECT_EQ(ix.Covering("/repo-a/x"), Ids({0, 3}));
  EXPECT_EQ(ix.Covering("/nowhere"), Ids({0}));
  EXPECT_EQ(ix.Covering("rel/x/y"), Ids({7, 8}));  // relative paths only cover relative ones
  EXPECT_EQ(ix.Under("/repo"), Ids({1, 2, 4, 5}));
  EXPECT_EQ(ix.Under("/"), Ids({0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ix.Under("/repo/a/b/c"), Ids());
  EXPECT_EQ(ix.Under("rel"), Ids({7, 8}));
  EXPECT_EQ(ix.Equal("/repo"), Ids({1, 5}));
  EXPECT_EQ(ix.Equal("/repo/"), Ids());  // equality is byte equality
  EXPECT_EQ(ix.Equal("/missing"), Ids());
}

TEST(PathIndex, PosixComponentsAreThoseOfThePrefixTest) {
  // Empty and "." components do not count; ".." is a name like any other.
  Index ix(CSB_PLATFORM_LINUX, {"/a//b/", "/a/./b", "/a/../b", "//a"});
  EXPECT_EQ(ix.Covering("/a/b/c"), Ids({0, 1, 3}));
  EXPECT_EQ(ix.Covering("/a/../b/c"), Ids({2, 3}));
  EXPECT_EQ(ix.Under("/a"), Ids({0, 1, 2, 3}));
  EXPECT_EQ(ix.Equal("/a/./b"), Ids({1}));
}

TEST(PathIndex, WindowsQueries) {
  Index ix(CSB_PLATFORM_WINDOWS, {"C:\\", "C:\\Repo", "c:\\repo\\A", "C:\\Repo-A", "\\\\srv\\share",
                                  "\\\\srv\\share\\x", "D:\\", "C:"});
  // Case folded; "C:" (not a normalised path) covers the whole drive.
  EXPECT_EQ(ix.Covering("C:\\REPO\\a\\b"), Ids({0, 1, 2, 7}));
  EXPECT_EQ(ix.Covering("\\\\SRV\\Share\\x\\y"), Ids({4, 5}));
  // "C:" has the segments of "C:\" but is not below it.
  EXPECT_EQ(ix.Covering("C:"), Ids({7}));
  EXPECT_EQ(ix.Covering("C:\\"), Ids({0, 7}));
  EXPECT_EQ(ix.Under("c:\\"), Ids({0, 1, 2, 3}));
  EXPECT_EQ(ix.Equal("c:\\REPO"), Ids({1}));
}

TEST(PathIndex, EmptyIndex) {
  Index ix(CSB_PLATFORM_LINUX, {});
  EXPECT_EQ(ix.Covering("/a"), Ids());
  EXPECT_EQ(ix.Under("/"), Ids());
  EXPECT_EQ(ix.Equal("/"), Ids());
}

// Random paths over a few names, so that they share prefixes, with the odd
// forms (doubled and final separators, "." and "..", relative paths).
std::string RandomPath(std::mt19937 &rng, bool windows) {
  static const char *const names[] = {"a", "b", "ab", ".git", "..", ".", "", "A", "x y"};
  std::string p;
  int start = (int)(rng() % 8);
  if (windows) {
    static const char *const roots[] = {"C:\\", "c:\\", "C:",  "\\\\s\\h",
                                        "\\\\S\\H\\", "D:/", "",    "C:\\\\"};
    p = roots[start];
  } else {
    p = start == 0 ? "" : start == 1 ? "//" : "/";
  }
  int n = (int)(rng() % 5);
  for (int i = 0; i < n; i++) {
    if (i > 0 || (!p.empty() && p.back() != '/' && p.back() != '\\'))
      p += windows && rng() % 4 == 0 ? "/" : windows ? "\\" : "/";
    p += names[rng() % (sizeof names / sizeof names[0])];
  }
  if (rng() % 6 == 0) p += windows ? "\\" : "/";
  return p;
}

void CheckRandom(csb_platform pl, unsigned seed) {
  std::mt19937 rng(seed);
  bool windows = pl == CSB_PLATFORM_WINDOWS;
  for (int round = 0; round < 40; round++) {
    std::vector<std::string> paths;
    int n = (int)(rng() % 60);
    for (int i = 0; i < n; i++) paths.push_back(RandomPath(rng, windows));
    Index ix(pl, paths);
    for (int q = 0; q < 200; q++) {
      std::string query = q % 4 == 0 && n > 0 ? paths[rng() % n] : RandomPath(rng, windows);
      ASSERT_EQ(ix.Covering(query), ix.ScanCovering(query)) << query;
      ASSERT_EQ(ix.Under(query), ix.ScanUnder(query)) << query;
      ASSERT_EQ(ix.Equal(query), ix.ScanEqual(query)) << query;
    }
  }
}

TEST(PathIndex, AgreesWithAScanOnRandomPosixPaths) { CheckRandom(CSB_PLATFORM_LINUX, 1); }

TEST(PathIndex, AgreesWithAScanOnRandomWindowsPaths) { CheckRandom(CSB_PLATFORM_WINDOWS, 2); }

TEST(PathIndex, ManyPathsGrowTheTree) {
  std::vector<std::string> paths;
  for (int i = 0; i < 3000; i++)
    paths.push_back("/r/" + std::to_string(i % 37) + "/" + std::to_string(i) + "/leaf");
  Index ix(CSB_PLATFORM_LINUX, paths);
  EXPECT_EQ(ix.Covering("/r/5/42/leaf/below"), Ids({42}));
  EXPECT_EQ(ix.Under("/r/5"), ix.ScanUnder("/r/5"));
  EXPECT_EQ(ix.Under("/r/5").size(), 81u);
  EXPECT_EQ(ix.Under("/").size(), 3000u);
}

}  // namespace
