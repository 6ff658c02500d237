// glob_ancestors_test.cc - csb_glob_ancestor_regexes and csb_glob_rebase.
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csb_paths.h"

namespace {

struct Glob {
  csb_glob *g = nullptr;
  std::string error;
  explicit Glob(const std::string &p) {
    csb_error e;
    csb_error_clear(&e);
    if (!csb_glob_compile(p.c_str(), &g, &e)) error = e.msg;
  }
  ~Glob() { csb_glob_free(g); }
  bool ok() const { return g != nullptr; }
  std::vector<std::string> Ancestors() const {
    const char *const *a = nullptr;
    size_t n = csb_glob_ancestor_regexes(g, &a);
    return std::vector<std::string>(a, a + n);
  }
};

struct Regexes {
  std::vector<regex_t> rs;
  explicit Regexes(const std::vector<std::string> &v) {
    for (const auto &s : v) {
      regex_t r;
      EXPECT_EQ(regcomp(&r, s.c_str(), REG_EXTENDED | REG_NOSUB), 0) << s;
      rs.push_back(r);
    }
  }
  ~Regexes() {
    for (auto &r : rs) regfree(&r);
  }
  bool Any(const std::string &s) const {
    for (const auto &r : rs)
      if (regexec(&r, s.c_str(), 0, nullptr, 0) == 0) return true;
    return false;
  }
};

TEST(GlobAncestors, Shapes) {
  struct {
    const char *pattern;
    std::vector<std::string> want;
  } cases[] = {
      {"/r/a/x.env", {"^/$", "^/r$", "^/r/a$"}},
      {"/r/*/x.env", {"^/$", "^/r$", "^/r/[^/]*$"}},
      {"/r/**/*.env", {"^/$", "^/r$", "^/r/.*$"}},
      {"/r/**", {"^/$", "^/r$", "^/r/.*$"}},
      {"/r/{a,b/c}/x", {"^/$", "^/r$", "^/r/b$", "^/r/(a|b/c)$"}},
      {"/r/a.b/[xy]", {"^/$", "^/r$", "^/r/a\\.b$"}},
      {"/", {"^/$"}},
      {"/x", {"^/$"}},
      {"**", {"^.*$"}},
      {"x", {}},
  };
  for (const auto &c : cases) {
    Glob g(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.error;
    EXPECT_EQ(g.Ancestors(), c.want) << c.pattern;
  }
}

// Brute force over a small alphabet: the regexes describe exactly the
// proper '/'-prefixes of the matching strings.
TEST(GlobAncestors, AgreeWithBruteForce) {
  std::mt19937 rng(4242);
  const std::vector<std::string> atoms = {"/", "/",   "a",     "b",      "*",     "?",
                                          "**", "/**", "/**/", "{a,b/a}", "[ab]", "{a,/b}"};
  const std::string alpha = "ab/";
  std::vector<std::string> strings = {""};
  for (size_t i = 0; i < strings.size(); i++)
    if (strings[i].size() < 8)
      for (char c : alpha) strings.push_back(strings[i] + c);
  int checked = 0;
  for (int iter = 0; iter < 400; iter++) {
    std::string pat = "/";
    int n = 1 + rng() % 4;
    for (int i = 0; i < n; i++) pat += atoms[rng() % atoms.size()];
    if (pat.find("//") != std::string::npos) continue;  // nothing normalised matches
    Glob g(pat);
    if (!g.ok()) continue;
    Regexes re(g.Ancestors());
    std::set<std::string> truth;
    for (const auto &s : strings) {
      if (s.find("//") != std::string::npos || !csb_glob_match(g.g, s.c_str())) continue;
      for (size_t i = 0; i < s.size(); i++)
        if (s[i] == '/') truth.insert(i == 0 ? "/" : s.substr(0, i));
    }
    for (const auto &u : truth) {
      EXPECT_TRUE(re.Any(u)) << "pattern `" << pat << "` misses ancestor `" << u << "`";
      checked++;
    }
    // Short candidates the regexes accept must be real ancestors (their
    // completions fit in the enumerated strings).
    for (const auto &u : strings) {
      if (u.empty() || u[0] != '/' || u.size() > 2 || u.find("//") != std::string::npos) continue;
      if (u.size() > 1 && u.back() == '/') continue;
      if (re.Any(u)) {
        EXPECT_TRUE(truth.count(u)) << "pattern `" << pat << "` wrongly lists `" << u << "`";
        checked++;
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

// csb_glob_may_match_below(dir) holds exactly for the directories the
// ancestor regexes describe (proper '/'-prefixes of matching paths).
TEST(GlobMayMatchBelow, AgreesWithAncestorRegexes) {
  EXPECT_TRUE(csb_glob_may_match_below(Glob("/r/*/x.env").g, "/r"));
  EXPECT_TRUE(csb_glob_may_match_below(Glob("/r/*/x.env").g, "/r/a"));
  EXPECT_FALSE(csb_glob_may_match_below(Glob("/r/*/x.env").g, "/r/a/b"));
  EXPECT_FALSE(csb_glob_may_match_below(Glob("/r/*/x.env").g, "/q"));
  EXPECT_FALSE(csb_glob_may_match_below(Glob("/r/*/x.env").g, "/rr"));
  EXPECT_TRUE(csb_glob_may_match_below(Glob("/r/*/x.env").g, "/"));
  EXPECT_TRUE(csb_glob_may_match_below(Glob("/r/**/*.env").g, "/r/a/b/c"));
  std::mt19937 rng(777);
  const std::vector<std::string> atoms = {"/", "a", "b", "*", "?", "**", "/**", "/**/", "{a,b/a}",
                                          "[ab]"};
  const std::string alpha = "ab/";
  std::vector<std::string> dirs = {"/"};
  for (size_t i = 0; i < dirs.size(); i++)
    if (dirs[i].size() < 6)
      for (char c : alpha) dirs.push_back(dirs[i] + c);
  int compared = 0;
  for (int iter = 0; iter < 300; iter++) {
    std::string pat = "/";
    int n = 1 + rng() % 4;
    for (int i = 0; i < n; i++) pat += atoms[rng() % atoms.size()];
    if (pat.find("//") != std::string::npos) continue;
    Glob g(pat);
    if (!g.ok()) continue;
    Regexes re(g.Ancestors());
    for (const auto &d : dirs) {
      if (d.find("//") != std::string::npos || (d.size() > 1 && d.back() == '/')) continue;
      EXPECT_EQ(csb_glob_may_match_below(g.g, d.c_str()) != 0, re.Any(d))
          << "pattern `" << pat << "`, dir `" << d << "`";
      compared++;
    }
  }
  EXPECT_GT(compared, 1000);
}

TEST(GlobRebase, Shapes) {
  struct {
    const char *pattern, *prefix, *want;
  } cases[] = {
      {"/tmp/x/**/*.env", "/private/tmp/x", "/private/tmp/x/**/*.env"},
      {"/a/b/**", "/c", "/c/**"},
      {"/a/\\*b/c*", "/z", "/z/c*"},
      {"/a/[b]/c*", "/z", "/z/c*"},
      {"/a/b/{c,d}", "/y/*{x}", "/y/\\*\\{x\\}/{c,d}"},
      {"/a/b.env", "/q", "/q/b.env"},
      {"/a/b/c", "/", "/c"},
  };
  for (const auto &c : cases) {
    Glob g(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern;
    char *out = nullptr;
    csb_error e;
    csb_error_clear(&e);
    ASSERT_TRUE(csb_glob_rebase(g.g, c.prefix, &out, &e)) << c.pattern << ": " << e.msg;
    EXPECT_EQ(std::string(out), c.want) << c.pattern;
    free(out);
  }
  for (const char *p : {"/x*", "/**", "**/x", "*.env"}) {
    Glob g(p);
    ASSERT_TRUE(g.ok()) << p;
    char *out = nullptr;
    csb_error e;
    csb_error_clear(&e);
    EXPECT_FALSE(csb_glob_rebase(g.g, "/q", &out, &e)) << p;
    EXPECT_EQ(out, nullptr);
  }
}

TEST(GlobRebase, MatchesTheSameSuffixes) {
  std::mt19937 rng(99);
  const std::vector<std::string> atoms = {"/",  "a",   "b",    "*",       "?",    "**",
                                          "/**", "/**/", "[ab]", "{a,b/a}", "\\*", "."};
  const std::vector<std::string> tails = {"", "/a", "/b", "/a/b", "/ab", "/a/a/b", "/.", "/*",
                                          "/b/a", "/ba", "/a.", "/"};
  int compared = 0;
  for (int iter = 0; iter < 500; iter++) {
    std::string pat = "/p";
    if (rng() % 2) pat += "/q.r";
    int n = 1 + rng() % 4;
    for (int i = 0; i < n; i++) pat += atoms[rng() % atoms.size()];
    Glob g(pat);
    if (!g.ok()) continue;
    std::string old_prefix = csb_glob_static_prefix(g.g);
    if (old_prefix.size() < 2) continue;
    char *out = nullptr;
    ASSERT_TRUE(csb_glob_rebase(g.g, "/N[e]w*", &out, nullptr)) << pat;
    Glob h(out);
    ASSERT_TRUE(h.ok()) << pat << " -> " << out << ": " << h.error;
    EXPECT_EQ(std::string(csb_glob_static_prefix(h.g)), "/N[e]w*") << out;
    free(out);
    for (const auto &t1 : tails)
      for (const auto &t2 : tails) {
        std::string s = t1 + t2;
        bool a = csb_glob_match(g.g, (old_prefix + s).c_str());
        bool b = csb_glob_match(h.g, ("/N[e]w*" + s).c_str());
        EXPECT_EQ(a, b) << pat << " suffix " << s;
        compared++;
      }
  }
  EXPECT_GT(compared, 10000);
}

}  // namespace
