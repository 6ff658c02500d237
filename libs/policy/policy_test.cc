// Unit tests for libs/policy: evaluation (reference §2.3-§2.5, §3.4),
// derived views (§2.4), legacy projection and round trip (§5.3, §5.4),
// summaries (§7), the strict JSON reader and the canonical writer.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "csb_paths.h"
#include "csb_policy.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" int csb_fuzz_gitdir_one(const uint8_t *data, size_t size);

namespace {

struct E {
  const char *path;
  csb_access access;
  const char *origin;
};

// A managed, restricted policy with the given entries.
csb_policy *Make(const char *cwd, std::initializer_list<E> entries,
                 csb_platform pl = CSB_PLATFORM_LINUX) {
  csb_policy *p = csb_policy_new(pl, cwd);
  for (const E &e : entries)
    csb_policy_add_entry(p, e.path, e.access, e.origin ? e.origin : e.path, 0, 0);
  csb_policy_canonicalize(p);
  return p;
}

csb_access Access(const csb_policy *p, const char *path) {
  csb_verdict v;
  csb_policy_access_for(p, path, &v);
  return v.access;
}

bool CanWrite(const csb_policy *p, const char *path) {
  csb_verdict v;
  csb_policy_access_for(p, path, &v);
  return v.can_write != 0;
}

bool CanRead(const csb_policy *p, const char *path) {
  csb_verdict v;
  csb_policy_access_for(p, path, &v);
  return v.can_read != 0;
}

std::string Describe(const csb_policy *p, const char *path) {
  csb_verdict v;
  csb_policy_access_for(p, path, &v);
  char *d = csb_verdict_describe(p, &v);
  std::string s(d);
  free(d);
  return s;
}

std::string Summary(const csb_policy *p) {
  char *s = csb_policy_summary(p);
  std::string r(s);
  free(s);
  return r;
}

std::vector<std::string> Strs(const csb_strv &v) {
  return std::vector<std::string>(v.items, v.items + v.len);
}

std::string LegacyError(const csb_policy *p) {
  csb_legacy_policy l;
  csb_error err;
  csb_error_clear(&err);
  if (csb_policy_to_legacy(p, &l, &err)) {
    csb_legacy_policy_free(&l);
    return "";
  }
  return err.msg;
}

const char kOutside[] =
    "permissions profile requests filesystem writes outside the workspace root, which is not "
    "supported until the runtime enforces FileSystemSandboxPolicy directly";

// A temporary directory tree, removed at the end of the test.
class TempTree {
 public:
  TempTree() {
    const char *t = getenv("TEST_TMPDIR");
    std::string base = t && *t ? t : "/tmp";
    std::string tmpl = base + "/policy_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char *d = mkdtemp(buf.data());
    EXPECT_NE(d, nullptr);
    // Canonical, so that effective paths equal the lexical ones.
    char *real = realpath(d, nullptr);
    root_ = real;
    free(real);
  }
  ~TempTree() { Remove(root_); }
  const std::string &root() const { return root_; }
  std::string Path(const std::string &rel) const { return root_ + "/" + rel; }
  void Dir(const std::string &rel) const {
    std::string p = root_;
    std::stringstream ss(rel);
    std::string part;
    while (std::getline(ss, part, '/')) {
      p += "/" + part;
      mkdir(p.c_str(), 0755);
    }
  }
  void File(const std::string &rel, const std::string &content) const {
    std::ofstream f(Path(rel));
    f << content;
  }
  void Link(const std::string &rel, const std::string &target) const {
    ASSERT_EQ(symlink(target.c_str(), Path(rel).c_str()), 0);
  }

 private:
  static void Remove(const std::string &p) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(p.c_str());
      if (d) {
        while (dirent *e = readdir(d)) {
          if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
          Remove(p + "/" + e->d_name);
        }
        closedir(d);
      }
      rmdir(p.c_str());
    } else {
      unlink(p.c_str());
    }
  }
  std::string root_;
};

// ---- §2.3 most specific entry wins -------------------------------------------

TEST(Evaluate, MostSpecificEntryReopensUnderDeniedParent) {
  csb_policy *p = Make("/repo", {{"/repo", CSB_ACCESS_WRITE, nullptr},
                                 {"/repo/a", CSB_ACCESS_DENY, nullptr},
                                 {"/repo/a/b", CSB_ACCESS_WRITE, nullptr}});
  EXPECT_EQ(Access(p, "/repo/x"), CSB_ACCESS_WRITE);
  EXPECT_EQ(Access(p, "/repo/a"), CSB_ACCESS_DENY);
  EXPECT_EQ(Access(p, "/repo/a/c"), CSB_ACCESS_DENY);
  EXPECT_EQ(Access(p, "/repo/a/b"), CSB_ACCESS_WRITE);
  EXPECT_EQ(Access(p, "/repo/a/b/c"), CSB_ACCESS_WRITE);
  EXPECT_EQ(Access(p, "/repo-a"), CSB_ACCESS_DENY);  // component-wise, not bytewise
  EXPECT_EQ(Access(p, "/elsewhere"), CSB_ACCESS_DENY);  // unmatched = deny
  EXPECT_EQ(Describe(p, "/repo/a/c"), "deny: /repo/a (entry from /repo/a)");
  EXPECT_EQ(Describe(p, "/elsewhere"), "deny: no rule covers this path");
  // Relative paths are joined onto the cwd, and paths are normalised.
  EXPECT_EQ(Access(p, "a/b/../c"), CSB_ACCESS_DENY);
  EXPECT_EQ(Access(p, "/repo/a/../x"), CSB_ACCESS_WRITE);
  // Overlapping re-open cannot be expressed in the legacy model exactly.
  EXPECT_FALSE(csb_policy_round_trips(p));
  csb_policy_free(p);
}

TEST(Evaluate, EqualDepthPrecedenceDenyWriteRead) {
  csb_policy *p = Make("/", {{"/x", CSB_ACCESS_READ, nullptr},
                             {"/x", CSB_ACCESS_WRITE, "w"},
                             {"/y", CSB_ACCESS_WRITE, nullptr},
                             {"/y", CSB_ACCESS_DENY, "d"},
                             {"/z", CSB_ACCESS_READ, nullptr},
                             {"/z", CSB_ACCESS_DENY, "d"}});
  EXPECT_EQ(Access(p, "/x/f"), CSB_ACCESS_WRITE);
  EXPECT_EQ(Access(p, "/y/f"), CSB_ACCESS_DENY);
  EXPECT_EQ(Access(p, "/z"), CSB_ACCESS_DENY);
  csb_policy_free(p);
}

TEST(Evaluate, EntryOrderIsIrrelevant) {
  csb_policy *a = csb_policy_new(CSB_PLATFORM_LINUX, "/repo");
  csb_policy *b = csb_policy_new(CSB_PLATFORM_LINUX, "/repo");
  csb_policy_add_entry(a, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(a, "/repo", CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  csb_policy_add_entry(a, "/repo/.git", CSB_ACCESS_READ, ":workspace_roots/.git", 0, 0);
  csb_policy_add_entry(b, "/repo/.git", CSB_ACCESS_READ, ":workspace_roots/.git", 0, 0);
  csb_policy_add_entry(b, "/repo", CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  csb_policy_add_entry(b, "/", CSB_ACCESS_READ, ":root", 0, 0);
  for (const char *path : {"/repo/x", "/repo/.git/HEAD", "/etc/passwd", "/repo"}) {
    EXPECT_EQ(Access(a, path), Access(b, path)) << path;
    EXPECT_EQ(CanWrite(a, path), CanWrite(b, path)) << path;
  }
  EXPECT_EQ(csb_policy_round_trips(a), csb_policy_round_trips(b));
  EXPECT_EQ(Summary(a), Summary(b));
  csb_policy_canonicalize(a);
  csb_policy_canonicalize(b);
  char *ja = csb_policy_to_json(a);
  char *jb = csb_policy_to_json(b);
  EXPECT_STREQ(ja, jb);
  free(ja);
  free(jb);
  csb_policy_free(a);
  csb_policy_free(b);
}

TEST(Evaluate, UnrestrictedAndDisabledGrantEverything) {
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  p->enforcement = CSB_ENFORCE_DISABLED;
  p->fs_kind = CSB_FS_UNRESTRICTED;
  EXPECT_TRUE(CanWrite(p, "/etc/passwd"));
  EXPECT_TRUE(CanWrite(p, "/w/.git/config"));  // no metadata protection without a sandbox
  EXPECT_EQ(Describe(p, "/x"), "write: no sandbox (enforcement disabled)");
  p->enforcement = CSB_ENFORCE_EXTERNAL;
  p->fs_kind = CSB_FS_EXTERNAL;
  EXPECT_TRUE(CanWrite(p, "/x"));
  EXPECT_TRUE(csb_policy_full_disk_read(p));
  EXPECT_TRUE(csb_policy_full_disk_write(p));
  csb_policy_free(p);
}

// ---- §2.4 full-disk predicates and shadowing ------------------------------------

TEST(Predicates, RootWriteWithReadChildIsNotFullWrite) {
  csb_policy *p = Make("/repo", {{"/", CSB_ACCESS_WRITE, ":root"}, {"/docs", CSB_ACCESS_READ, nullptr}});
  EXPECT_FALSE(csb_policy_full_disk_write(p));
  EXPECT_TRUE(csb_policy_full_disk_read(p));
  EXPECT_FALSE(csb_policy_round_trips(p));
  EXPECT_EQ(LegacyError(p), kOutside);
  csb_policy_compute_legacy(p, 1);
  EXPECT_EQ(p->legacy.type, CSB_LEGACY_NONE);
  EXPECT_STREQ(p->legacy_error, kOutside);
  EXPECT_EQ(p->linux_backend, CSB_LINUX_BWRAP);
  EXPECT_EQ(Summary(p), "custom permissions");
  csb_policy_free(p);
}

// Only the `:root` rule makes full-disk write: a write entry at `/` from
// another rule (a workspace root at `/`, a `"/" = "write"` key) is a
// writable root whose protected names stay read-only.
TEST(Predicates, SlashWriteFromAnotherRuleIsAWritableRoot) {
  csb_policy *p = Make("/", {{"/", CSB_ACCESS_READ, ":root"}, {"/", CSB_ACCESS_WRITE, ":workspace_roots"}});
  EXPECT_FALSE(csb_policy_full_disk_write(p));
  EXPECT_TRUE(CanWrite(p, "/srv/x"));
  EXPECT_FALSE(CanWrite(p, "/.git/config"));
  EXPECT_FALSE(CanWrite(p, "/.codex"));
  csb_policy_free(p);
  p = Make("/w", {{"/", CSB_ACCESS_WRITE, "/"}});
  EXPECT_FALSE(csb_policy_full_disk_write(p));
  EXPECT_FALSE(CanWrite(p, "/.agents/x"));
  EXPECT_EQ(Summary(p), "custom permissions");
  EXPECT_EQ(LegacyError(p), kOutside);
  csb_policy_free(p);
}

TEST(Predicates, EqualDepthWriteShadowsRead) {
  csb_policy *p = Make("/repo", {{"/", CSB_ACCESS_WRITE, ":root"},
                                 {"/docs", CSB_ACCESS_READ, nullptr},
                                 {"/docs", CSB_ACCESS_WRITE, "w"}});
  EXPECT_TRUE(csb_policy_full_disk_write(p));
  EXPECT_EQ(Summary(p), "external-sandbox");
  p->net_mode = CSB_NET_ENABLED;
  EXPECT_EQ(Summary(p), "danger-full-access");
  csb_legacy_policy l;
  ASSERT_TRUE(csb_policy_to_legacy(p, &l, nullptr));
  EXPECT_EQ(l.type, CSB_LEGACY_DANGER_FULL_ACCESS);
  csb_legacy_policy_free(&l);
  csb_policy_free(p);
}

TEST(Predicates, RootDenyNextToRootWrite) {
  csb_policy *p = Make("/repo", {{"/", CSB_ACCESS_WRITE, ":root"}, {"/", CSB_ACCESS_DENY, ":root"}});
  EXPECT_FALSE(csb_policy_full_disk_write(p));
  EXPECT_FALSE(csb_policy_full_disk_read(p));
  EXPECT_EQ(Access(p, "/"), CSB_ACCESS_DENY);
  EXPECT_EQ(Access(p, "/anything"), CSB_ACCESS_DENY);
  csb_policy_free(p);
}

TEST(Predicates, RootDenyIsNotAnUnreadableRootButChildIsReadable) {
  csb_policy *p = Make("/repo", {{"/", CSB_ACCESS_DENY, ":root"}, {"/repo", CSB_ACCESS_READ, nullptr}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_FALSE(v->full_read);
  EXPECT_TRUE(Strs(v->unreadable_roots).empty());
  EXPECT_EQ(Strs(v->readable_roots), std::vector<std::string>({"/repo"}));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

TEST(Predicates, DenyGlobRemovesFullRead) {
  csb_policy *p = Make("/", {{"/", CSB_ACCESS_READ, ":root"}});
  EXPECT_TRUE(csb_policy_full_disk_read(p));
  csb_policy_add_glob(p, "/**/*.pem", "x");
  EXPECT_FALSE(csb_policy_full_disk_read(p));
  csb_policy_free(p);
}

// ---- §2.5 deny matcher -------------------------------------------------------------

TEST(DenyGlobs, Semantics) {
  csb_policy *p = Make("/r", {{"/", CSB_ACCESS_WRITE, ":root"}, {"/r/secret", CSB_ACCESS_DENY, nullptr}});
  csb_policy_add_glob(p, "/r/**/*.env", "g1");
  csb_policy_add_glob(p, "/r/x?/[0-9]*", "g2");
  csb_policy_add_glob(p, "/r/lit[eral", "g3");
  // exact deny: descendants but not siblings
  EXPECT_FALSE(CanRead(p, "/r/secret"));
  EXPECT_FALSE(CanRead(p, "/r/secret/k"));
  EXPECT_TRUE(CanRead(p, "/r/secret2"));
  // ** matches zero or more directories
  EXPECT_FALSE(CanRead(p, "/r/.env"));
  EXPECT_FALSE(CanRead(p, "/r/a/b/c/.env"));
  EXPECT_TRUE(CanRead(p, "/r/a/b/c/env"));
  // * ? [..] never cross '/'
  EXPECT_FALSE(CanRead(p, "/r/xa/12"));
  EXPECT_TRUE(CanRead(p, "/r/xa/b/12"));
  EXPECT_TRUE(CanRead(p, "/r/x/12"));
  // unclosed [ is a literal
  EXPECT_FALSE(CanRead(p, "/r/lit[eral"));
  EXPECT_TRUE(CanRead(p, "/r/lite"));
  // non-UTF-8 names
  EXPECT_FALSE(CanRead(p, "/r/\xff\xfe/.env"));
  EXPECT_EQ(Describe(p, "/r/q/.env"), "deny: deny glob /r/**/*.env (from g1)");
  // a glob match on a directory does not cover its children
  EXPECT_TRUE(CanRead(p, "/r/a.env/inside"));
  // a deeper write entry cannot re-open a glob match
  csb_policy_add_entry(p, "/r/keep", CSB_ACCESS_WRITE, "w", 0, 0);
  EXPECT_FALSE(CanRead(p, "/r/keep/.env"));
  csb_policy_free(p);
}

TEST(DenyGlobs, AmbiguousUnixPathsKeepExactDeny) {
  csb_policy *p = Make("/", {{"/", CSB_ACCESS_READ, ":root"},
                             {"/server/share/x", CSB_ACCESS_DENY, nullptr},
                             {"/C:/x", CSB_ACCESS_DENY, nullptr}});
  EXPECT_FALSE(CanRead(p, "//server/share/x"));
  EXPECT_FALSE(CanRead(p, "/C:/x/y"));
  EXPECT_TRUE(CanRead(p, "/C:/y"));
  EXPECT_TRUE(CanRead(p, "/server/share"));
  csb_policy_free(p);
}

// ---- §3.4 protected metadata ---------------------------------------------------------

TEST(Metadata, NamesUnderWritableRootAreReadOnlyEvenWhenMissing) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w", CSB_ACCESS_WRITE, ":workspace_roots"}});
  for (const char *name : {".git", ".agents", ".codex", ".csb"}) {
    std::string t = std::string("/w/") + name;
    EXPECT_FALSE(CanWrite(p, t.c_str())) << name;
    EXPECT_TRUE(CanRead(p, t.c_str())) << name;
    EXPECT_FALSE(CanWrite(p, (t + "/config").c_str())) << name;
  }
  EXPECT_TRUE(CanWrite(p, "/w/src/main.c"));
  EXPECT_TRUE(CanWrite(p, "/w/.gitignore"));
  EXPECT_TRUE(CanWrite(p, "/w/sub/.git/config"));  // only directly under a writable root
  csb_verdict v;
  csb_policy_access_for(p, "/w/.git/hooks/pre-commit", &v);
  EXPECT_EQ(v.reason, CSB_REASON_PROTECTED);
  EXPECT_EQ(v.access, CSB_ACCESS_READ);
  EXPECT_STREQ(v.protected_root, "/w/.git");
  EXPECT_STREQ(v.writable_root, "/w");
  EXPECT_EQ(Describe(p, "/w/.codex/x"),
            "read-only: protected metadata /w/.codex under writable root /w");
  csb_policy_free(p);
}

TEST(Metadata, ExplicitWriteAtOrBelowTheNameReopens) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"},
                              {"/w", CSB_ACCESS_WRITE, ":workspace_roots"},
                              {"/w/.codex", CSB_ACCESS_WRITE, nullptr},
                              {"/w/.git/hooks", CSB_ACCESS_WRITE, nullptr}});
  EXPECT_TRUE(CanWrite(p, "/w/.codex/config.toml"));
  EXPECT_TRUE(CanWrite(p, "/w/.git/hooks/x"));
  EXPECT_FALSE(CanWrite(p, "/w/.git/config"));
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  const csb_writable_root *w = nullptr;
  for (size_t i = 0; i < v->n_writable; i++)
    if (!strcmp(v->writable[i].root, "/w")) w = &v->writable[i];
  ASSERT_NE(w, nullptr);
  // The explicit rule at root/.codex suppresses the default carve-out and
  // the name protection for .codex (root == cwd would otherwise force it).
  EXPECT_EQ(Strs(w->protected_names), std::vector<std::string>({".git", ".agents", ".csb"}));
  EXPECT_EQ(Strs(w->read_only_subpaths), std::vector<std::string>({"/w/.csb"}));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

// macOS file systems ignore case by default: `.GIT` is `.git` there, and a
// missing `.codex` created as `.Codex` is what the next session reads.
TEST(Metadata, OtherSpellingsAreProtectedOnMacos) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w", CSB_ACCESS_WRITE, ":workspace_roots"}},
                       CSB_PLATFORM_MACOS);
  for (const char *t : {"/w/.GIT/config", "/w/.Git", "/w/.Codex/config.toml", "/w/.AGENTS/x",
                        "/w/.CSB", "/w/.c\xc5\xbf" "b/config.toml", "/w/.agent\xc5\xbf" "/x"}) {
    EXPECT_FALSE(CanWrite(p, t)) << t;
    EXPECT_TRUE(CanRead(p, t)) << t;
  }
  EXPECT_EQ(Describe(p, "/w/.GIT/hooks/pre-commit"),
            "read-only: protected metadata /w/.GIT under writable root /w");
  for (const char *t : {"/w/.gitx", "/w/.GITIGNORE", "/w/x/.GIT/config", "/w/.c\xc5\xbf", "/w/.cs"})
    EXPECT_TRUE(CanWrite(p, t)) << t;
  csb_policy_free(p);
  // Linux file systems compare bytes: another spelling is another file,
  // unless the evaluator is told to fold (a writer that cannot tell a
  // case-folding directory from another).
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w", CSB_ACCESS_WRITE, ":workspace_roots"}});
  EXPECT_TRUE(CanWrite(p, "/w/.GIT/config"));
  csb_policy_evaluator *ev = csb_policy_evaluator_new(p);
  csb_verdict v;
  csb_policy_evaluator_access_for(ev, "/w/.GIT/config", &v);
  EXPECT_TRUE(v.can_write);
  csb_policy_evaluator_fold_protected_names(ev);
  for (const char *t : {"/w/.GIT/config", "/w/.Codex", "/w/.agent\xc5\xbf/x"}) {
    csb_policy_evaluator_access_for(ev, t, &v);
    EXPECT_FALSE(v.can_write) << t;
    EXPECT_TRUE(v.can_read) << t;
  }
  csb_policy_evaluator_access_for(ev, "/w/.GIT/hooks/pre-commit", &v);
  char *why = csb_verdict_describe(p, &v);
  EXPECT_STREQ(why, "read-only: protected metadata /w/.GIT under writable root /w");
  free(why);
  for (const char *t : {"/w/.gitx", "/w/x/.GIT/config", "/w/src.c"}) {
    csb_policy_evaluator_access_for(ev, t, &v);
    EXPECT_TRUE(v.can_write) << t;
  }
  csb_policy_evaluator_free(ev);
  csb_policy_free(p);
  // A write entry at one spelling reopens that spelling only.
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"},
                  {"/w", CSB_ACCESS_WRITE, ":workspace_roots"},
                  {"/w/.codex", CSB_ACCESS_WRITE, nullptr},
                  {"/w/.GIT/hooks", CSB_ACCESS_WRITE, nullptr}},
           CSB_PLATFORM_MACOS);
  EXPECT_TRUE(CanWrite(p, "/w/.codex/config.toml"));
  EXPECT_FALSE(CanWrite(p, "/w/.CODEX/config.toml"));
  EXPECT_TRUE(CanWrite(p, "/w/.GIT/hooks/x"));
  EXPECT_FALSE(CanWrite(p, "/w/.GIT/config"));
  EXPECT_FALSE(CanWrite(p, "/w/.git/hooks/x"));
  csb_policy_free(p);
}

// Entries made through the API need not be normalised: a write root
// spelled "/w/." longer than the path it covers is still read in bounds.
TEST(Metadata, UnnormalisedWriteRootOnMacos) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w/.", CSB_ACCESS_WRITE, ":workspace_roots"}},
                       CSB_PLATFORM_MACOS);
  EXPECT_TRUE(CanWrite(p, "/w"));
  EXPECT_TRUE(CanWrite(p, "/w/a"));
  EXPECT_FALSE(CanWrite(p, "/w/.GIT/config"));
  csb_policy_free(p);
}

TEST(Metadata, FullDiskWriteHasNoMetadataProtection) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_WRITE, ":root"}});
  EXPECT_TRUE(CanWrite(p, "/w/.git/config"));
  csb_policy_free(p);
}

// ---- views with real trees ---------------------------------------------------------------

// Many sibling write entries (a generated profile): the legacy projection,
// the round-trip views and their indexes take time linear in the entries,
// not quadratic (100,000 of them took over 5 minutes; now seconds, about
// 20 s under ASan).
TEST(Views, ManyWriteEntriesStayLinear) {
  auto start = std::chrono::steady_clock::now();
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, "/repo");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, "/repo", CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  const int n = 100000;
  for (int i = 0; i < n; i++) {
    std::string path = "/srv/w" + std::to_string(i);
    csb_policy_add_entry(p, path.c_str(), CSB_ACCESS_WRITE, "w", 0, 0);
    csb_policy_add_entry(p, path.c_str(), CSB_ACCESS_WRITE, "again", 0, 0);
  }
  csb_policy_canonicalize(p);
  csb_policy_compute_legacy(p, 0);
  ASSERT_EQ(p->legacy.type, CSB_LEGACY_WORKSPACE_WRITE);
  EXPECT_EQ(p->legacy.writable_roots.len, (size_t)n);
  csb_policy_free(p);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(120));
}

TEST(Views, WritableRootsWithRealTree) {
  TempTree t;
  t.Dir("repo/.git");
  t.Dir("repo/.agents");
  t.Dir("repo/src");
  t.Dir("other");
  t.File("other/.codex", "not a dir");
  std::string repo = t.Path("repo"), other = t.Path("other");
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, repo.c_str());
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, repo.c_str(), CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  csb_policy_add_entry(p, other.c_str(), CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  csb_policy_add_entry(p, (repo + "/src/gen").c_str(), CSB_ACCESS_READ, "/gen", 0, 0);
  csb_policy_add_entry(p, (repo + "/secret").c_str(), CSB_ACCESS_DENY, "/secret", 0, 0);
  csb_policy_canonicalize(p);
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_FALSE(v->full_read);  // a deny entry exists
  EXPECT_FALSE(v->full_write);
  ASSERT_EQ(v->n_writable, 2u);
  const csb_writable_root &o = v->writable[0];
  const csb_writable_root &r = v->writable[1];
  EXPECT_EQ(std::string(o.root), other);
  EXPECT_EQ(std::string(r.root), repo);
  // .git and .agents exist; .codex and .csb are protected because repo is the cwd.
  EXPECT_EQ(Strs(r.read_only_subpaths),
            std::vector<std::string>({repo + "/.agents", repo + "/.codex", repo + "/.csb",
                                      repo + "/.git", repo + "/secret", repo + "/src/gen"}));
  // other: nothing exists (a .codex *file* is not a directory), not the cwd.
  EXPECT_TRUE(Strs(o.read_only_subpaths).empty());
  EXPECT_EQ(Strs(o.protected_names), std::vector<std::string>({".git", ".agents", ".codex", ".csb"}));
  EXPECT_EQ(Strs(v->unreadable_roots), std::vector<std::string>({repo + "/secret"}));
  EXPECT_TRUE(csb_writable_root_allows(p, &r, (repo + "/src/x.c").c_str()));
  EXPECT_FALSE(csb_writable_root_allows(p, &r, (repo + "/src/gen/x.c").c_str()));
  EXPECT_FALSE(csb_writable_root_allows(p, &r, (repo + "/.git/config").c_str()));
  EXPECT_FALSE(csb_writable_root_allows(p, &o, (other + "/.git").c_str()));
  EXPECT_FALSE(csb_writable_root_allows(p, &o, (repo + "/x").c_str()));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

// A workspace `repo` of t whose .git points at repo/.gitdata/wt (`target`),
// and its policy: / readable, repo writable.
csb_policy *GitdirWorkspace(TempTree &t, std::string *repo, std::string *target) {
  t.Dir("repo/.gitdata/wt");
  t.File("repo/.git", "gitdir: .gitdata/wt\n");
  *repo = t.Path("repo");
  *target = t.Path("repo/.gitdata/wt");
  return Make(repo->c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                              {repo->c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
}

TEST(Views, GitdirPointerTargetIsProtected) {
  TempTree t;
  t.Dir("store/wt.git");
  t.File("other/.git", "gitdir: ../store/wt.git\n");
  std::string repo, target;
  csb_policy *p = GitdirWorkspace(t, &repo, &target);
  // The gitdir: target is read-only although the writable root covers it.
  EXPECT_FALSE(CanWrite(p, (target + "/HEAD").c_str()));
  EXPECT_TRUE(CanWrite(p, (repo + "/.gitdata/other").c_str()));
  csb_verdict v;
  csb_policy_access_for(p, (target + "/objects/x").c_str(), &v);
  EXPECT_EQ(v.reason, CSB_REASON_PROTECTED);
  EXPECT_EQ(std::string(v.protected_root), target);
  EXPECT_EQ(std::string(v.writable_root), repo);
  EXPECT_FALSE(CanWrite(p, (repo + "/.git").c_str()));
  csb_policy_view *view = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &view, nullptr));
  ASSERT_EQ(view->n_writable, 1u);
  EXPECT_EQ(Strs(view->writable[0].read_only_subpaths),
            std::vector<std::string>({repo + "/.codex", repo + "/.csb", repo + "/.git",
                                      target}));
  EXPECT_FALSE(csb_writable_root_allows(p, &view->writable[0], (target + "/x").c_str()));
  csb_policy_view_free(view);
  // An explicit write rule at the target re-opens it, as for the names.
  csb_policy_add_entry(p, target.c_str(), CSB_ACCESS_WRITE, "explicit", 0, 0);
  EXPECT_TRUE(CanWrite(p, (target + "/HEAD").c_str()));
  csb_policy_free(p);
}

// A caller's memo (one piece of work looking at the same paths) changes no
// answer: the view and the evaluator built through it are those built
// without, and what they recorded is what the file system said.
TEST(Views, SharedMemoGivesTheSameViewAndVerdicts) {
  TempTree t;
  t.Dir("repo/.agents");
  std::string repo, target;
  csb_policy *p = GitdirWorkspace(t, &repo, &target);
  csb_path_memo *memo = csb_path_memo_new();
  csb_policy_view *plain = nullptr, *shared = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &plain, nullptr));
  ASSERT_TRUE(csb_policy_view_build_memo(p, memo, &shared, nullptr));
  ASSERT_EQ(shared->n_writable, plain->n_writable);
  for (size_t i = 0; i < plain->n_writable; i++) {
    EXPECT_EQ(Strs(shared->writable[i].read_only_subpaths), Strs(plain->writable[i].read_only_subpaths));
    EXPECT_EQ(Strs(shared->writable[i].protected_names), Strs(plain->writable[i].protected_names));
  }
  EXPECT_EQ(Strs(shared->readable_roots), Strs(plain->readable_roots));
  csb_file_type ft;
  ASSERT_TRUE(csb_path_file_type_memo(memo, (repo + "/.git").c_str(), &ft));
  EXPECT_EQ(ft, CSB_FILE_REGULAR);
  // The evaluator reuses the memo (NULL: one of its own) and answers alike.
  csb_policy_evaluator *a = csb_policy_evaluator_new_memo(p, memo);
  csb_policy_evaluator *b = csb_policy_evaluator_new_memo(p, nullptr);
  for (const std::string &path : {target + "/HEAD", repo + "/.git", repo + "/.agents/x", repo + "/src",
                                  repo + "/.gitdata/other"}) {
    csb_verdict va, vb, vc;
    csb_policy_evaluator_access_for(a, path.c_str(), &va);
    csb_policy_evaluator_access_for(b, path.c_str(), &vb);
    csb_policy_access_for(p, path.c_str(), &vc);
    EXPECT_EQ(va.can_write, vc.can_write) << path;
    EXPECT_EQ(vb.can_write, vc.can_write) << path;
    EXPECT_EQ(va.reason, vc.reason) << path;
    EXPECT_STREQ(va.protected_root, vc.protected_root) << path;
  }
  EXPECT_FALSE(CanWrite(p, (target + "/HEAD").c_str()));
  csb_policy_evaluator_free(a);
  csb_policy_evaluator_free(b);
  csb_path_memo_free(memo);
  csb_policy_view_free(plain);
  csb_policy_view_free(shared);
  csb_policy_free(p);
}

// Views agree with rule 4 where a write entry is not itself writable.
TEST(Views, WriteEntriesKeepTheirMetadataWhenTheirOwnPathIsDenied) {
  TempTree t;
  t.Dir("w/g/wt");
  t.Dir("w/s");
  t.File("w/s/.git", "gitdir: ../g/wt\n");
  std::string w = t.Path("w"), s = t.Path("w/s"), x = t.Path("w/x.env"), wt = t.Path("w/g/wt");
  csb_policy *p = Make(t.root().c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                          {w.c_str(), CSB_ACCESS_WRITE, nullptr},
                                          {s.c_str(), CSB_ACCESS_WRITE, nullptr},
                                          {s.c_str(), CSB_ACCESS_DENY, nullptr},
                                          {x.c_str(), CSB_ACCESS_WRITE, nullptr}});
  csb_policy_add_glob(p, (w + "/*.env").c_str(), "g");
  // The deny shadows w/s, yet its gitdir: target stays protected; the glob
  // denies w/x.env itself, yet w/x.env/.git stays protected metadata.
  EXPECT_FALSE(CanWrite(p, (wt + "/HEAD").c_str()));
  EXPECT_FALSE(CanWrite(p, (x + "/.git/config").c_str()));
  EXPECT_TRUE(CanWrite(p, (x + "/a").c_str()));
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  ASSERT_EQ(v->n_writable, 2u);
  EXPECT_EQ(std::string(v->writable[0].root), w);
  EXPECT_EQ(Strs(v->writable[0].read_only_subpaths), std::vector<std::string>({wt, s}));
  EXPECT_FALSE(csb_writable_root_allows(p, &v->writable[0], (wt + "/HEAD").c_str()));
  // w/x.env is a writable root (its path is denied by the glob alone).
  EXPECT_EQ(std::string(v->writable[1].root), x);
  EXPECT_EQ(Strs(v->writable[1].protected_names),
            std::vector<std::string>({".git", ".agents", ".codex", ".csb"}));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

// Git reads a .git pointer file up to its first NUL byte: the target it
// then uses is protected, whatever follows.
TEST(Views, GitdirPointerEndsAtNulLikeGit) {
  TempTree t;
  t.Dir("repo");
  t.Dir("wt");
  t.File("repo/.git", std::string("gitdir: ../wt\0junk\n", 19));
  std::string repo = t.Path("repo"), wt = t.Path("wt");
  csb_policy *p = Make(repo.c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                      {t.root().c_str(), CSB_ACCESS_WRITE, ":workspace_roots"},
                                      {repo.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
  EXPECT_FALSE(CanWrite(p, (wt + "/hooks/pre-commit").c_str()));
  EXPECT_TRUE(CanWrite(p, t.Path("other").c_str()));
  csb_policy_free(p);
}

// Git drops every CR and LF at the end of the file, however many, and
// keeps anything else, trailing blanks included: the target it then uses is
// the one protected (as well as the trimmed spelling).
TEST(Views, GitdirPointerReadLikeGitWhateverItsLength) {
  TempTree t;
  t.Dir("repo");
  t.Dir("wt");
  t.Dir("sp ");
  t.Dir("sp");
  t.Dir("other");
  std::string repo = t.Path("repo");
  struct {
    std::string content;
    std::vector<std::string> protected_dirs;
  } cases[] = {
      {"gitdir: ../wt" + std::string(70000, '\n'), {"wt"}},
      {"gitdir: ../wt" + std::string(30000, '\r') + std::string(30000, '\n'), {"wt"}},
      {"gitdir: ../sp \n", {"sp "}},
      {"gitdir:  ../sp\n", {"sp"}},  // git: " ../sp" (missing); the trimmed one is protected
  };
  for (const auto &c : cases) {
    t.File("repo/.git", c.content);
    csb_policy *p = Make(repo.c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                        {t.root().c_str(), CSB_ACCESS_WRITE, ":workspace_roots"},
                                        {repo.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
    for (const std::string &d : c.protected_dirs)
      EXPECT_FALSE(CanWrite(p, (t.Path(d) + "/hooks/pre-commit").c_str())) << d << " " << c.content.size();
    EXPECT_TRUE(CanWrite(p, t.Path("other/x").c_str()));
    csb_policy_free(p);
  }
}

TEST(Views, MissingOrMalformedGitdirKeepsDotGitProtected) {
  TempTree t;
  t.Dir("a");
  t.Dir("b");
  t.File("a/.git", "gitdir: ../nowhere\n");
  t.File("b/.git", "gitdirx: ../b\n");
  for (const char *name : {"a", "b"}) {
    std::string root = t.Path(name);
    csb_policy *p = Make(root.c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                        {root.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
    EXPECT_FALSE(CanWrite(p, (root + "/.git").c_str()));
    EXPECT_TRUE(CanWrite(p, (root + "/x").c_str()));
    csb_policy_view *v = nullptr;
    ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
    ASSERT_EQ(v->n_writable, 1u);
    std::vector<std::string> want = {root + "/.codex", root + "/.csb", root + "/.git"};
    if (std::string(name) == "a") want.push_back(t.Path("nowhere"));  // missing, protected
    EXPECT_EQ(Strs(v->writable[0].read_only_subpaths), want);
    csb_policy_view_free(v);
    csb_policy_free(p);
  }
}

// A gitdir: target that does not exist is protected all the same: created
// from inside the sandbox (hooks, config), git outside would run it.
TEST(Views, MissingGitdirTargetCannotBeCreated) {
  TempTree t;
  t.Dir("ws/repo");
  t.File("ws/repo/.git", "gitdir: ../wt\n");
  std::string ws = t.Path("ws");
  csb_policy *p = Make(ws.c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                    {ws.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"},
                                    {t.Path("ws/repo").c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
  EXPECT_FALSE(CanWrite(p, (ws + "/wt").c_str()));
  EXPECT_FALSE(CanWrite(p, (ws + "/wt/hooks/post-checkout").c_str()));
  EXPECT_TRUE(CanWrite(p, (ws + "/wt2").c_str()));
  csb_policy_free(p);
}

TEST(Views, SymlinkedProtectedSubpathKeepsTheLinkPath) {
  TempTree t;
  t.Dir("repo");
  t.Dir("decoy");
  t.Link("repo/.codex", "../decoy");
  t.Link("repo/.agents", "/");
  std::string repo = t.Path("repo");
  csb_policy *p = Make("/elsewhere", {{"/", CSB_ACCESS_READ, ":root"},
                                      {repo.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  ASSERT_EQ(v->n_writable, 1u);
  EXPECT_EQ(Strs(v->writable[0].read_only_subpaths),
            std::vector<std::string>({repo + "/.agents", repo + "/.codex"}));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

// A protected name that is a symlink protects where it leads too: git
// runs the hooks of the directory `.git` leads to, reached by any path.
// The same for a gitdir: target reached through a symlink.
TEST(Evaluate, SymlinkedProtectedPathProtectsItsTarget) {
  TempTree t;
  t.Dir("repo/repo.git/hooks");
  t.Link("repo/.git", "repo.git");
  t.Dir("repo/cfg");
  t.Link("repo/.codex", "cfg");
  t.Dir("ws/real/store");
  t.Link("ws/store", "real/store");
  t.File("ws/.git", "gitdir: store\n");
  std::string repo = t.Path("repo"), ws = t.Path("ws");
  csb_policy *p = Make(repo.c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                      {repo.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"},
                                      {ws.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
  csb_verdict v;
  csb_policy_access_for(p, (repo + "/repo.git/hooks/pre-commit").c_str(), &v);
  EXPECT_EQ(v.reason, CSB_REASON_PROTECTED);
  EXPECT_EQ(std::string(v.protected_root), repo + "/repo.git");
  EXPECT_EQ(std::string(v.writable_root), repo);
  EXPECT_FALSE(CanWrite(p, (repo + "/cfg/config.toml").c_str()));
  EXPECT_FALSE(CanWrite(p, (ws + "/real/store/hooks/x").c_str()));
  EXPECT_TRUE(CanWrite(p, (ws + "/real/other").c_str()));
  EXPECT_TRUE(CanWrite(p, (repo + "/repo.gitx").c_str()));
  // An explicit write rule at the target re-opens it, as for the names.
  csb_policy_add_entry(p, (repo + "/cfg").c_str(), CSB_ACCESS_WRITE, "explicit", 0, 0);
  EXPECT_TRUE(CanWrite(p, (repo + "/cfg/config.toml").c_str()));
  csb_policy_free(p);
}

// A protected name that is a dangling link protects where it leads before
// that exists: a write creating it would plant what git or codex reads.
TEST(Evaluate, DanglingProtectedLinkProtectsWhereItLeads) {
  TempTree t;
  t.Dir("repo");
  t.Link("repo/.git", "repo.git");
  t.Link("repo/.agents", "a1");
  t.Link("repo/a1", "deep/a2");
  std::string repo = t.Path("repo");
  csb_policy *p = Make(repo.c_str(), {{"/", CSB_ACCESS_READ, ":root"},
                                      {repo.c_str(), CSB_ACCESS_WRITE, ":workspace_roots"}});
  csb_verdict v;
  csb_policy_access_for(p, (repo + "/repo.git/hooks/pre-commit").c_str(), &v);
  EXPECT_EQ(v.reason, CSB_REASON_PROTECTED);
  EXPECT_EQ(std::string(v.protected_root), repo + "/repo.git");
  EXPECT_FALSE(CanWrite(p, (repo + "/deep/a2/skills/x").c_str()));
  EXPECT_TRUE(CanWrite(p, (repo + "/deep/other").c_str()));
  csb_policy_free(p);
}

TEST(Views, SymlinkedRootUsesEffectivePathAndRebasesCarveOuts) {
  TempTree t;
  t.Dir("real/sub");
  t.Dir("top");
  t.Link("top/link", "../real");
  std::string link = t.Path("top/link"), real = t.Path("real");
  csb_policy *p = Make("/elsewhere", {{"/", CSB_ACCESS_READ, ":root"},
                                      {link.c_str(), CSB_ACCESS_WRITE, nullptr},
                                      {(link + "/sub").c_str(), CSB_ACCESS_READ, nullptr}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  ASSERT_EQ(v->n_writable, 1u);
  // The symlink is deeper than the top level, so the logical path is kept.
  EXPECT_EQ(std::string(v->writable[0].root), link);
  EXPECT_EQ(Strs(v->writable[0].read_only_subpaths), std::vector<std::string>({link + "/sub"}));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

TEST(Views, FullReadAndWriteViewsAreEmpty) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_WRITE, ":root"}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_TRUE(v->full_read);
  EXPECT_TRUE(v->full_write);
  EXPECT_EQ(v->n_writable, 0u);
  EXPECT_EQ(v->readable_roots.len, 0u);
  csb_policy_view_free(v);
  csb_policy_free(p);
}

TEST(Views, PlatformDefaultsOnlyWithoutFullRead) {
  csb_policy *p = Make("/w", {{"/w", CSB_ACCESS_READ, nullptr}});
  p->include_platform_defaults = 1;
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_TRUE(v->include_platform_defaults);
  csb_policy_view_free(v);
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_FALSE(v->include_platform_defaults);
  csb_policy_view_free(v);
  csb_policy_free(p);
}

// A top-level symlink to a directory on this host (/bin -> usr/bin on
// merged-/usr systems), or "".
std::string TopLevelDirLink() {
  for (const char *p : {"/bin", "/sbin", "/lib", "/lib64"}) {
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
      return p;
  }
  return "";
}

std::string ReadLink(const std::string &p) {
  char buf[4096];
  ssize_t n = readlink(p.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, (size_t)n) : "";
}

std::string RealPath(const std::string &p) {
  char *r = realpath(p.c_str(), nullptr);
  std::string s = r ? r : "";
  free(r);
  return s;
}

// "path=target>root" per link.
std::vector<std::string> Links(const csb_policy_view *v) {
  std::vector<std::string> out;
  for (size_t i = 0; i < v->n_readable_links; i++)
    out.push_back(std::string(v->readable_links[i].path) + "=" + v->readable_links[i].target + ">" +
                  v->readable_links[i].root);
  return out;
}

TEST(Views, ReadableRootThroughTopLevelSymlinkKeepsTheLink) {
  std::string top = TopLevelDirLink();
  if (top.empty()) GTEST_SKIP() << "no top-level directory symlink on this host";
  std::string real = RealPath(top), target = ReadLink(top);
  csb_policy *p = Make("/w", {{"/w", CSB_ACCESS_WRITE, nullptr}, {top.c_str(), CSB_ACCESS_READ, nullptr}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_EQ(Strs(v->readable_roots), std::vector<std::string>({real, "/w"}));
  // The link's content is kept byte for byte (usually relative).
  EXPECT_EQ(Links(v), std::vector<std::string>({top + "=" + target + ">" + real}));
  EXPECT_EQ(v->platform_read_roots.len, 0u);
  csb_policy_view_free(v);
  // A path below the link: the same link leads to the deeper root.
  std::string below;
  if (DIR *d = opendir(real.c_str())) {
    while (struct dirent *de = readdir(d)) {
      std::string q = real + "/" + de->d_name;
      struct stat st;
      if (de->d_name[0] != '.' && lstat(q.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        below = de->d_name;
        break;
      }
    }
    closedir(d);
  }
  if (!below.empty()) {
    csb_policy_add_entry(p, (top + "/" + below).c_str(), CSB_ACCESS_READ, "below", 0, 0);
    csb_policy_canonicalize(p);
    ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
    EXPECT_EQ(Links(v), std::vector<std::string>({top + "=" + target + ">" + real,
                                                  top + "=" + target + ">" + real + "/" + below}));
    csb_policy_view_free(v);
  }
  csb_policy_free(p);
}

TEST(Views, DeniedOrUnreadRootsGetNoLinks) {
  std::string top = TopLevelDirLink();
  if (top.empty()) GTEST_SKIP() << "no top-level directory symlink on this host";
  // A deny entry is no readable root.
  csb_policy *p = Make("/w", {{"/w", CSB_ACCESS_WRITE, nullptr}, {top.c_str(), CSB_ACCESS_DENY, nullptr}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_TRUE(Links(v).empty());
  csb_policy_view_free(v);
  csb_policy_free(p);
  // Full read binds everything as it is: no links needed.
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {top.c_str(), CSB_ACCESS_READ, nullptr}});
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_TRUE(v->full_read);
  EXPECT_TRUE(Links(v).empty());
  csb_policy_view_free(v);
  csb_policy_free(p);
}

TEST(Views, NestedSymlinksStayLogicalWithoutLinks) {
  TempTree t;
  t.Dir("real/sub");
  t.Link("link", "real");
  std::string link = t.Path("link");
  csb_policy *p = Make("/w", {{link.c_str(), CSB_ACCESS_READ, nullptr},
                              {t.Path("real/sub").c_str(), CSB_ACCESS_READ, nullptr}});
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  EXPECT_EQ(Strs(v->readable_roots), std::vector<std::string>({link, t.Path("real/sub")}));
  EXPECT_TRUE(Links(v).empty());
  csb_policy_view_free(v);
  csb_policy_free(p);
}

TEST(Views, PlatformReadRootsAreEffectiveAndLinked) {
  csb_policy *p = Make("/w", {{"/w", CSB_ACCESS_WRITE, nullptr}});
  p->include_platform_defaults = 1;
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  std::vector<std::string> want, links;
  std::vector<std::pair<std::string, std::string>> pairs;  // (link, root), sorted like the view
  for (const char *r : csb_linux_platform_read_roots) {
    struct stat st;
    if (stat(r, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::string real = RealPath(r);
    if (std::find(want.begin(), want.end(), real) == want.end()) want.push_back(real);
    if (lstat(r, &st) == 0 && S_ISLNK(st.st_mode) && real.rfind(r, 0) != 0) pairs.push_back({r, real});
  }
  std::sort(want.begin(), want.end());
  std::sort(pairs.begin(), pairs.end());
  for (const auto &l : pairs) links.push_back(l.first + "=" + ReadLink(l.first) + ">" + l.second);
  EXPECT_EQ(Strs(v->platform_read_roots), want);
  EXPECT_EQ(Links(v), links);
  // Platform read roots are not readable roots of the document.
  EXPECT_EQ(Strs(v->readable_roots), std::vector<std::string>({"/w"}));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

// ---- §5.3 legacy projection and §5.4 round trip ------------------------------------------

TEST(Legacy, WorkspaceWriteProjection) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"},
                              {"/w", CSB_ACCESS_WRITE, ":workspace_roots"},
                              {"/extra", CSB_ACCESS_WRITE, ":workspace_roots"},
                              {"/tmp", CSB_ACCESS_WRITE, ":slash_tmp"},
                              {"/w/.git", CSB_ACCESS_READ, ":workspace_roots/.git"},
                              {"/w/secret", CSB_ACCESS_DENY, nullptr}});
  p->net_mode = CSB_NET_ENABLED;
  csb_legacy_policy l;
  ASSERT_TRUE(csb_policy_to_legacy(p, &l, nullptr));
  EXPECT_EQ(l.type, CSB_LEGACY_WORKSPACE_WRITE);
  EXPECT_EQ(Strs(l.writable_roots), std::vector<std::string>({"/extra"}));
  EXPECT_TRUE(l.network_access);
  EXPECT_TRUE(l.exclude_tmpdir_env_var);
  EXPECT_FALSE(l.exclude_slash_tmp);
  csb_legacy_policy_free(&l);
  // Nested carve-outs under a writable root need direct enforcement.
  EXPECT_FALSE(csb_policy_round_trips(p));
  p->workspace_roots = nullptr;
  csb_policy_add_workspace_root(p, "/w", "cwd");
  csb_policy_add_workspace_root(p, "/extra", "add-dir");
  EXPECT_EQ(Summary(p), "workspace-write [workdir, /tmp, /extra] (network access enabled)");
  csb_policy_free(p);
}

TEST(Legacy, LegacyWorkspaceWriteRuntimeItselfNeedsDirectEnforcement) {
  // The runtime policy of legacy workspace-write: the metadata names of the
  // writable roots are not all carved out by the legacy model.
  csb_policy *p = Make("/nonexistent-w", {{"/", CSB_ACCESS_READ, ":root"},
                                          {"/nonexistent-w", CSB_ACCESS_WRITE, ":workspace_roots"},
                                          {"/tmp", CSB_ACCESS_WRITE, ":slash_tmp"}});
  EXPECT_FALSE(csb_policy_round_trips(p));
  csb_policy_compute_legacy(p, 1);
  EXPECT_EQ(p->linux_backend, CSB_LINUX_BWRAP);
  csb_policy_free(p);
}

TEST(Legacy, ReadOnlyAndFullAccessRoundTrip) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}});
  EXPECT_TRUE(csb_policy_round_trips(p));
  csb_policy_compute_legacy(p, 1);
  EXPECT_EQ(p->legacy.type, CSB_LEGACY_READ_ONLY);
  EXPECT_EQ(p->linux_backend, CSB_LINUX_LANDLOCK);
  csb_policy_compute_legacy(p, 0);
  EXPECT_EQ(p->linux_backend, CSB_LINUX_BWRAP);
  p->net_mode = CSB_NET_PROXY;
  csb_policy_compute_legacy(p, 1);
  EXPECT_EQ(p->linux_backend, CSB_LINUX_BWRAP);  // never Landlock behind the proxy
  EXPECT_TRUE(p->legacy.network_access);
  csb_policy_free(p);

  p = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  p->enforcement = CSB_ENFORCE_DISABLED;
  p->fs_kind = CSB_FS_UNRESTRICTED;
  p->net_mode = CSB_NET_ENABLED;
  EXPECT_TRUE(csb_policy_round_trips(p));
  csb_policy_compute_legacy(p, 0);
  EXPECT_EQ(p->legacy.type, CSB_LEGACY_DANGER_FULL_ACCESS);
  EXPECT_EQ(Summary(p), "danger-full-access");
  p->enforcement = CSB_ENFORCE_EXTERNAL;
  p->fs_kind = CSB_FS_EXTERNAL;
  csb_policy_compute_legacy(p, 0);
  EXPECT_EQ(p->legacy.type, CSB_LEGACY_EXTERNAL_SANDBOX);
  EXPECT_TRUE(p->legacy.network_access);
  EXPECT_EQ(Summary(p), "external-sandbox (network access enabled)");
  csb_policy_free(p);
}

TEST(Legacy, WritesOutsideTheWorkspaceHaveNoProjection) {
  for (auto origin : {":tmpdir", ":slash_tmp", "/opt/x"}) {
    csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/opt/x", CSB_ACCESS_WRITE, origin}});
    EXPECT_EQ(LegacyError(p), kOutside) << origin;
    EXPECT_EQ(Summary(p), "custom permissions") << origin;
    csb_policy_free(p);
  }
  // Read and deny entries alone project to read-only.
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w/s", CSB_ACCESS_DENY, nullptr}});
  EXPECT_EQ(LegacyError(p), "");
  EXPECT_EQ(Summary(p), "read-only");
  csb_policy_free(p);
}

// ---- §7 summaries ---------------------------------------------------------------------------

TEST(Summary, Variants) {
  csb_policy *p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"},
                              {"/w", CSB_ACCESS_WRITE, ":workspace_roots"},
                              {"/tmp", CSB_ACCESS_WRITE, ":slash_tmp"},
                              {"/t", CSB_ACCESS_WRITE, ":tmpdir"},
                              {"/mem", CSB_ACCESS_WRITE, "internal"}});
  p->entries[2].internal = 1;  // sorted: /, /mem, /t, /tmp, /w
  ASSERT_STREQ(p->entries[1].path, "/mem");
  p->entries[1].internal = 1;
  p->entries[2].internal = 0;
  csb_policy_add_workspace_root(p, "/w", "cwd");
  EXPECT_EQ(Summary(p), "workspace-write [workdir, /tmp, $TMPDIR]");
  csb_policy_free(p);
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w/sub", CSB_ACCESS_WRITE, ":workspace_roots/sub"}});
  EXPECT_EQ(Summary(p), "custom permissions");
  p->net_mode = CSB_NET_ENABLED;
  EXPECT_EQ(Summary(p), "custom permissions (network access enabled)");
  csb_policy_free(p);
  p = Make("/w", {});
  EXPECT_EQ(Summary(p), "read-only");
  csb_policy_free(p);
  // An internal write root alone does not make a read-only profile custom.
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/mem", CSB_ACCESS_WRITE, "internal:memories"}});
  ASSERT_STREQ(p->entries[1].path, "/mem");
  p->entries[1].internal = 1;
  EXPECT_EQ(Summary(p), "read-only");
  csb_policy_free(p);
  // A write entry on the cwd itself is the workspace whatever its origin.
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/w", CSB_ACCESS_WRITE, "legacy:writable_roots"}});
  EXPECT_EQ(Summary(p), "workspace-write [workdir]");
  csb_policy_free(p);
  // /tmp alone is custom on POSIX, not on Windows (no /tmp there).
  p = Make("/w", {{"/", CSB_ACCESS_READ, ":root"}, {"/tmp", CSB_ACCESS_WRITE, ":slash_tmp"}});
  EXPECT_EQ(Summary(p), "custom permissions");
  csb_policy_free(p);
  p = Make("C:\\w", {{"C:\\", CSB_ACCESS_READ, ":root"}, {"C:\\tmp", CSB_ACCESS_WRITE, ":slash_tmp"}},
           CSB_PLATFORM_WINDOWS);
  EXPECT_EQ(Summary(p), "read-only");
  csb_policy_free(p);
}

// ---- Windows documents --------------------------------------------------------------------------

TEST(Windows, CaseInsensitiveDriveAndUncEvaluation) {
  csb_policy *p = Make("C:\\Repo", {{"C:\\", CSB_ACCESS_READ, ":root"},
                                    {"C:\\Repo", CSB_ACCESS_WRITE, ":workspace_roots"},
                                    {"C:\\Repo\\Secret", CSB_ACCESS_DENY, nullptr},
                                    {"C:\\Repo\\Secret\\Open", CSB_ACCESS_WRITE, nullptr},
                                    {"\\\\srv\\share\\x", CSB_ACCESS_READ, nullptr}},
                       CSB_PLATFORM_WINDOWS);
  EXPECT_TRUE(CanWrite(p, "c:\\repo\\src\\a.c"));
  EXPECT_TRUE(CanWrite(p, "C:/Repo/src/a.c"));
  EXPECT_TRUE(CanWrite(p, "\\\\?\\C:\\REPO\\x"));
  EXPECT_FALSE(CanRead(p, "c:\\REPO\\secret\\k"));
  EXPECT_TRUE(CanWrite(p, "C:\\Repo\\SECRET\\open\\f"));
  EXPECT_TRUE(CanRead(p, "C:\\Windows\\system32"));
  EXPECT_FALSE(CanRead(p, "D:\\x"));
  EXPECT_TRUE(CanRead(p, "\\\\SRV\\Share\\x\\y"));
  EXPECT_TRUE(CanRead(p, "\\\\?\\UNC\\srv\\share\\x"));
  EXPECT_FALSE(CanRead(p, "\\\\srv\\share\\y"));
  EXPECT_FALSE(CanWrite(p, "C:\\Repo\\.GIT\\config"));
  EXPECT_FALSE(CanWrite(p, "c:\\repo\\.git"));
  EXPECT_TRUE(CanWrite(p, "C:\\Repo\\sub\\..\\x"));
  EXPECT_TRUE(CanRead(p, "src\\a.c"));  // relative to the cwd
  csb_policy_add_glob(p, "C:\\Repo\\**\\*.PEM", "g");
  EXPECT_FALSE(CanRead(p, "c:\\repo\\a\\key.pem"));
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  ASSERT_EQ(v->n_writable, 2u);
  EXPECT_STREQ(v->writable[0].root, "C:\\Repo");
  // Foreign documents are not probed: only the cwd-forced names appear.
  EXPECT_EQ(Strs(v->writable[0].read_only_subpaths),
            std::vector<std::string>({"C:\\Repo\\.codex", "C:\\Repo\\.csb", "C:\\Repo\\Secret"}));
  EXPECT_FALSE(csb_writable_root_allows(p, &v->writable[0], "C:\\Repo\\.Git\\x"));
  EXPECT_TRUE(csb_writable_root_allows(p, &v->writable[0], "c:\\repo\\src"));
  csb_policy_view_free(v);
  csb_policy_free(p);
}

TEST(Windows, ReaderAcceptsOnlyNormalisedWindowsPaths) {
  std::string doc = R"({"cwd":"C:\\Repo","enforcement":"managed","filesystem":{"deny_globs":[],)"
                    R"("entries":[{"access":"read","origin":":root","path":"C:\\"}],)"
                    R"("include_platform_defaults":false,"kind":"restricted"},)"
                    R"("legacy":{"linux_backend":"bubblewrap","round_trips":true,)"
                    R"("sandbox_policy":{"network_access":false,"type":"read-only"}},)"
                    R"("network":{"allow_local_binding":false,"dangerously_allow_all_unix_sockets":false,)"
                    R"("mode":"restricted","unix_sockets":{}},"platform":"windows",)"
                    R"("profile":{"extends":[],"id":":read-only","kind":"builtin"},)"
                    R"("schema":"csb.policy/v1","summary":"read-only","warnings":[],)"
                    R"("workspace_roots":[{"origin":"cwd","path":"C:\\Repo"}]})";
  csb_policy *p = nullptr;
  csb_error err;
  ASSERT_TRUE(csb_policy_from_json(doc.data(), doc.size(), &p, &err)) << err.msg;
  EXPECT_EQ(p->platform, CSB_PLATFORM_WINDOWS);
  EXPECT_TRUE(CanRead(p, "c:\\anything"));
  csb_policy_free(p);
  std::string bad = doc;
  bad.replace(bad.find(R"("cwd":"C:\\Repo")"), strlen(R"("cwd":"C:\\Repo")"), R"("cwd":"c:/Repo/")");
  EXPECT_FALSE(csb_policy_from_json(bad.data(), bad.size(), &p, &err));
  EXPECT_STREQ(err.msg, "`/cwd`: expected an absolute, normalised path, got `c:/Repo/`");
  // Deny globs: either separator, drive or UNC prefix; no `..`, `.` or
  // empty component.
  // (JSON strings: every backslash doubled.)
  for (auto [g, ok] : std::vector<std::pair<const char *, bool>>{
           {R"(C:\\Repo\\**\\*.env)", true}, {"C:/Repo/*.env", true}, {R"(\\\\srv\\sh\\*)", true},
           {R"(C:\\Repo\\..\\*)", false}, {R"(C:\\Repo\\.\\*)", false}, {"C:/Repo//*", false},
           {R"(\\\\srv\\sh\\x\\..\\*)", false}, {R"(C:\\Repo\\*\\)", false}}) {
    std::string gd = doc;
    gd.replace(gd.find(R"("deny_globs":[])"), strlen(R"("deny_globs":[])"),
               std::string(R"("deny_globs":[{"origin":"o","pattern":")") + g + R"("}])");
    bool parsed = csb_policy_from_json(gd.data(), gd.size(), &p, &err);
    EXPECT_EQ(parsed, ok) << g << ": " << (parsed ? "" : err.msg);
    if (parsed) csb_policy_free(p);
  }
}

// A probe over an in-memory Windows tree: directories, files (with
// contents) and "junctions" (effective-path aliases).
struct FakeFs {
  std::vector<std::string> dirs, files, contents;
  std::vector<std::pair<std::string, std::string>> aliases;  // link -> target
  int stats = 0;
  static std::string Key(std::string s) {
    for (char &c : s) c = (char)tolower((unsigned char)c);
    return s;
  }
  static void Stat(void *ctx, const char *path, csb_probe_stat *st) {
    FakeFs *fs = static_cast<FakeFs *>(ctx);
    fs->stats++;
    for (const std::string &d : fs->dirs)
      if (Key(d) == Key(path)) st->exists = st->is_dir = 1;
    for (const std::string &f : fs->files)
      if (Key(f) == Key(path)) st->exists = st->is_file = 1;
  }
  static char *Read(void *ctx, const char *path, size_t max, size_t *len) {
    FakeFs *fs = static_cast<FakeFs *>(ctx);
    for (size_t i = 0; i < fs->files.size(); i++) {
      if (Key(fs->files[i]) != Key(path)) continue;
      std::string head = fs->contents[i].substr(0, max);
      *len = head.size();
      char *out = static_cast<char *>(malloc(head.size() + 1));
      memcpy(out, head.data(), head.size());
      out[head.size()] = '\0';
      return out;
    }
    return nullptr;
  }
  static char *Effective(void *ctx, const char *path) {
    FakeFs *fs = static_cast<FakeFs *>(ctx);
    for (const auto &a : fs->aliases)
      if (Key(a.first) == Key(path)) return strdup(a.second.c_str());
    return nullptr;
  }
};

TEST(Windows, ProbeDrivesViewsOfForeignDocuments) {
  FakeFs fs;
  fs.dirs = {"C:\\Repo", "C:\\Repo\\.agents", "C:\\Real", "C:\\Repo\\.GIT"};
  fs.files = {"C:\\Wt\\.git"};
  fs.contents = {"gitdir: C:\\Repo\\.GIT\\worktrees\\wt\n"};
  fs.dirs.push_back("C:\\Repo\\.GIT\\worktrees\\wt");
  fs.aliases = {{"C:\\Link", "C:\\Real"}};
  csb_policy_probe probe = {&fs, FakeFs::Stat, FakeFs::Read, FakeFs::Effective};
  csb_policy *p = Make("C:\\Repo", {{"C:\\", CSB_ACCESS_READ, ":root"},
                                    {"C:\\Repo", CSB_ACCESS_WRITE, ":workspace_roots"},
                                    {"C:\\Wt", CSB_ACCESS_WRITE, nullptr},
                                    {"C:\\Link", CSB_ACCESS_WRITE, nullptr}},
                       CSB_PLATFORM_WINDOWS);
  csb_policy_set_probe(p, &probe);
  csb_policy_view *v = nullptr;
  ASSERT_TRUE(csb_policy_view_build(p, &v, nullptr));
  ASSERT_EQ(v->n_writable, 3u);
  EXPECT_STREQ(v->writable[0].root, "C:\\Real");  // the effective form
  EXPECT_STREQ(v->writable[1].root, "C:\\Repo");
  // Existing .agents and .git (found case-insensitively) join the cwd's
  // .codex and .csb; C:\Wt's gitdir: target lies below C:\Repo, so it is
  // carved out of this root too.
  EXPECT_EQ(Strs(v->writable[1].read_only_subpaths),
            std::vector<std::string>({"C:\\Repo\\.GIT\\worktrees\\wt", "C:\\Repo\\.agents",
                                      "C:\\Repo\\.codex", "C:\\Repo\\.csb", "C:\\Repo\\.git"}));
  // A `.git` pointer file: the file and its gitdir: target.
  EXPECT_STREQ(v->writable[2].root, "C:\\Wt");
  EXPECT_EQ(Strs(v->writable[2].read_only_subpaths),
            std::vector<std::string>({"C:\\Repo\\.GIT\\worktrees\\wt", "C:\\Wt\\.git"}));
  csb_policy_view_free(v);
  EXPECT_FALSE(CanWrite(p, "C:\\Repo\\.git\\worktrees\\wt\\HEAD"));
  // Clones keep the probe; resetting it makes the view lexical again.
  csb_policy *c = csb_policy_clone(p);
  EXPECT_EQ(c->probe, &probe);
  csb_policy_set_probe(c, nullptr);
  ASSERT_TRUE(csb_policy_view_build(c, &v, nullptr));
  EXPECT_STREQ(v->writable[0].root, "C:\\Link");
  csb_policy_view_free(v);
  csb_policy_free(c);
  EXPECT_GT(fs.stats, 0);
  // The legacy model of the document is probed the same way.
  csb_legacy_policy l;
  csb_error err;
  ASSERT_TRUE(csb_policy_to_legacy(p, &l, &err)) << err.msg;
  csb_policy *m = csb_policy_legacy_model(p, &l);
  EXPECT_EQ(m->probe, &probe);
  ASSERT_TRUE(csb_policy_view_build(m, &v, nullptr));
  ASSERT_EQ(v->n_writable, 3u);
  EXPECT_STREQ(v->writable[0].root, "C:\\Real");
  csb_policy_view_free(v);
  csb_policy_free(m);
  csb_legacy_policy_free(&l);
  csb_policy_free(p);
}

// ---- JSON reader and writer -------------------------------------------------------------------

const char kDoc[] = R"DOC({
  "cwd": "/home/u/repo",
  "enforcement": "managed",
  "filesystem": {
    "deny_globs": [
      {
        "origin": ":workspace_roots/**/*.env",
        "pattern": "/home/u/repo/**/*.env"
      }
    ],
    "entries": [
      {
        "access": "read",
        "origin": ":root",
        "path": "/"
      },
      {
        "access": "write",
        "internal": true,
        "origin": "internal:memories",
        "path": "/home/u/.codex/memories",
        "skip_if_missing": true
      },
      {
        "access": "write",
        "origin": ":workspace_roots",
        "path": "/home/u/repo"
      }
    ],
    "glob_scan_max_depth": 3,
    "include_platform_defaults": false,
    "kind": "restricted"
  },
  "legacy": {
    "linux_backend": "bubblewrap",
    "round_trips": false,
    "sandbox_policy": {
      "exclude_slash_tmp": true,
      "exclude_tmpdir_env_var": true,
      "network_access": true,
      "type": "workspace-write",
      "writable_roots": [
        "/home/u/.codex/memories"
      ]
    }
  },
  "network": {
    "allow_local_binding": false,
    "dangerously_allow_all_unix_sockets": false,
    "mode": "proxy",
    "proxy": {
      "domains": {
        "example.com": "allow"
      },
      "mode": "limited"
    },
    "unix_sockets": {
      "/run/a.sock": "allow",
      "/run/b.sock": "deny"
    }
  },
  "platform": "linux",
  "profile": {
    "description": "d",
    "extends": [
      ":workspace"
    ],
    "id": "dev",
    "kind": "named"
  },
  "schema": "csb.policy/v1",
  "summary": "workspace-write [workdir] (network access enabled)",
  "warnings": [
    "w1"
  ],
  "workspace_roots": [
    {
      "origin": "cwd",
      "path": "/home/u/repo"
    }
  ]
}
)DOC";

std::string Emit(const csb_policy *p) {
  char *s = csb_policy_to_json(p);
  std::string r(s);
  free(s);
  return r;
}

TEST(Json, CanonicalDocumentRoundTripsByteForByte) {
  csb_policy *p = nullptr;
  csb_error err;
  ASSERT_TRUE(csb_policy_from_json(kDoc, strlen(kDoc), &p, &err)) << err.msg;
  EXPECT_EQ(Emit(p), kDoc);
  EXPECT_EQ(p->n_entries, 3u);
  EXPECT_TRUE(p->entries[1].internal);
  EXPECT_TRUE(p->entries[1].skip_if_missing);
  EXPECT_EQ(p->glob_scan_max_depth, 3);
  EXPECT_EQ(p->net_mode, CSB_NET_PROXY);
  ASSERT_EQ(p->n_unix_sockets, 2u);
  EXPECT_FALSE(p->unix_sockets[1].allow);
  EXPECT_STREQ(p->description, "d");
  csb_policy *c = csb_policy_clone(p);
  EXPECT_EQ(Emit(c), kDoc);
  csb_policy_free(c);
  csb_policy_free(p);
}

std::string ReadError(const std::string &doc) {
  csb_policy *p = nullptr;
  csb_error err;
  csb_error_clear(&err);
  if (csb_policy_from_json(doc.data(), doc.size(), &p, &err)) {
    csb_policy_free(p);
    return "OK";
  }
  return err.msg;
}

std::string Replace(std::string s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// An external-sandbox document (never produced by csb-resolve, which cannot
// select one from a configuration) stays external: it is read and re-emitted
// byte for byte, and neither `disabled` nor `managed` stands in for it.
TEST(Json, ExternalSandboxDocumentStaysExternal) {
  static const char kExternal[] =
      "{\n"
      "  \"cwd\": \"/w\",\n"
      "  \"enforcement\": \"external\",\n"
      "  \"filesystem\": {\n"
      "    \"deny_globs\": [],\n"
      "    \"entries\": [],\n"
      "    \"include_platform_defaults\": false,\n"
      "    \"kind\": \"external\"\n"
      "  },\n"
      "  \"legacy\": {\n"
      "    \"linux_backend\": \"bubblewrap\",\n"
      "    \"round_trips\": true,\n"
      "    \"sandbox_policy\": {\n"
      "      \"network_access\": \"enabled\",\n"
      "      \"type\": \"external-sandbox\"\n"
      "    }\n"
      "  },\n"
      "  \"network\": {\n"
      "    \"allow_local_binding\": false,\n"
      "    \"dangerously_allow_all_unix_sockets\": false,\n"
      "    \"mode\": \"enabled\",\n"
      "    \"unix_sockets\": {}\n"
      "  },\n"
      "  \"platform\": \"linux\",\n"
      "  \"profile\": {\n"
      "    \"extends\": [],\n"
      "    \"id\": \"outer\",\n"
      "    \"kind\": \"named\"\n"
      "  },\n"
      "  \"schema\": \"csb.policy/v1\",\n"
      "  \"summary\": \"external-sandbox (network access enabled)\",\n"
      "  \"warnings\": [],\n"
      "  \"workspace_roots\": [\n"
      "    {\n"
      "      \"origin\": \"cwd\",\n"
      "      \"path\": \"/w\"\n"
      "    }\n"
      "  ]\n"
      "}\n";
  csb_policy *p = nullptr;
  csb_error err;
  ASSERT_TRUE(csb_policy_from_json(kExternal, strlen(kExternal), &p, &err)) << err.msg;
  EXPECT_EQ(p->enforcement, CSB_ENFORCE_EXTERNAL);
  EXPECT_EQ(p->fs_kind, CSB_FS_EXTERNAL);
  EXPECT_EQ(p->legacy.type, CSB_LEGACY_EXTERNAL_SANDBOX);
  EXPECT_EQ(Emit(p), kExternal);
  EXPECT_EQ(Summary(p), "external-sandbox (network access enabled)");
  csb_verdict v;
  csb_policy_access_for(p, "/anything", &v);
  EXPECT_TRUE(v.can_write);
  char *why = csb_verdict_describe(p, &v);
  EXPECT_STREQ(why, "write: external sandbox (filesystem not restricted by csb)");
  free(why);
  csb_policy_free(p);
  std::string d = kExternal;
  EXPECT_EQ(ReadError(Replace(d, "\"enforcement\": \"external\"", "\"enforcement\": \"disabled\"")),
            "`/filesystem`: enforcement `disabled` requires filesystem kind `unrestricted`");
  EXPECT_EQ(ReadError(Replace(d, "\"enforcement\": \"external\"", "\"enforcement\": \"managed\"")),
            "`/filesystem`: filesystem kind `external` requires enforcement `external`");
  EXPECT_EQ(ReadError(Replace(d, "\"kind\": \"external\"", "\"kind\": \"unrestricted\"")),
            "`/filesystem`: enforcement `external` requires filesystem kind `external`");
}

// A document that is valid but not in canonical form (entries and deny
// globs unsorted, members in another order) is read, and emitted in the
// canonical form: the writer never passes on the reader's order. The
// policy read keeps the document's order.
TEST(Json, NonCanonicalDocumentIsEmittedCanonically) {
  std::string d = kDoc;
  const std::string e0 = "      {\n        \"access\": \"read\",\n        \"origin\": \":root\",\n        \"path\": \"/\"\n      },\n";
  const std::string e2 = "      {\n        \"access\": \"write\",\n        \"origin\": \":workspace_roots\",\n        \"path\": \"/home/u/repo\"\n      }\n";
  size_t a = d.find(e0), b = d.find(e2);
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  // entries /home/u/repo, /home/u/.codex/memories, /: the reverse order
  std::string mid = d.substr(a + e0.size(), b - a - e0.size());
  std::string swapped = d.substr(0, a) + e2.substr(0, e2.size() - 1) + ",\n" + mid +
                        e0.substr(0, e0.size() - 2) + "\n" + d.substr(b + e2.size());
  // a second deny glob before the first one
  swapped = Replace(swapped, "    \"deny_globs\": [\n",
                    "    \"deny_globs\": [{\"pattern\": \"/home/u/repo/x/*\", \"origin\": \"o\"},\n");
  swapped = Replace(swapped, "\"/run/a.sock\": \"allow\",\n      \"/run/b.sock\": \"deny\"",
                    "\"/run/b.sock\": \"deny\", \"/run/a.sock\": \"allow\"");
  swapped = Replace(swapped, "\"extends\": [\n      \":workspace\"\n    ],\n    \"id\": \"dev\",",
                    "\"id\": \"dev\", \"extends\": [\":workspace\"],");
  std::string want = Replace(kDoc, "        \"pattern\": \"/home/u/repo/**/*.env\"\n      }\n",
                             "        \"pattern\": \"/home/u/repo/**/*.env\"\n      },\n      {\n"
                             "        \"origin\": \"o\",\n        \"pattern\": \"/home/u/repo/x/*\"\n      }\n");
  csb_policy *p = nullptr;
  csb_error err;
  ASSERT_TRUE(csb_policy_from_json(swapped.data(), swapped.size(), &p, &err)) << err.msg << "\n" << swapped;
  ASSERT_EQ(p->n_entries, 3u);
  EXPECT_STREQ(p->entries[0].path, "/home/u/repo");
  EXPECT_EQ(Emit(p), want);
  csb_policy *q = nullptr;
  std::string again = Emit(p);
  ASSERT_TRUE(csb_policy_from_json(again.data(), again.size(), &q, &err)) << err.msg;
  EXPECT_EQ(Emit(q), want);
  csb_policy_free(q);
  csb_policy_free(p);
}

TEST(Json, StrictReaderErrors) {
  std::string d = kDoc;
  EXPECT_EQ(ReadError(Replace(d, "csb.policy/v1", "csb.policy/v2")),
            "unsupported policy schema `csb.policy/v2` (this csb reads csb.policy/v1)");
  // The schema string is exact: no minor versions, prefixes or spellings.
  for (const char *v : {"csb.policy/v1.1", "csb.policy/v10", "csb.policy/v01", "csb.policy/v1 ",
                        "csb.policy/V1", "csb.policy/"})
    EXPECT_EQ(ReadError(Replace(d, "\"csb.policy/v1\"", std::string("\"") + v + "\"")),
              std::string("unsupported policy schema `") + v + "` (this csb reads csb.policy/v1)");
  EXPECT_EQ(ReadError(Replace(d, "\"csb.policy/v1\"", "\"other/v1\"")),
            "not a csb policy document: schema `other/v1` (expected csb.policy/v1)");
  EXPECT_EQ(ReadError(Replace(d, "\"access\": \"read\"", "\"access\": \"all\"")),
            "`/filesystem/entries/0/access`: expected one of read, write or deny, got `all`");
  EXPECT_EQ(ReadError(Replace(d, "\"kind\": \"named\"", "\"kind\": \"named\", \"color\": 1")),
            "`/profile/color`: unknown field");
  EXPECT_EQ(ReadError(Replace(d, "\"path\": \"/\"", "\"path\": \"/a/../b\"")),
            "`/filesystem/entries/0/path`: expected an absolute, normalised path, got `/a/../b`");
  EXPECT_EQ(ReadError(Replace(d, "\"path\": \"/\"", "\"path\": \"rel\"")),
            "`/filesystem/entries/0/path`: expected an absolute, normalised path, got `rel`");
  EXPECT_EQ(ReadError(Replace(d, "\"glob_scan_max_depth\": 3", "\"glob_scan_max_depth\": 0")),
            "`/filesystem/glob_scan_max_depth`: 0 is out of range [1, 2147483647]")
      << "(message text comes from libs/json)";
  EXPECT_EQ(ReadError(Replace(d, "\"round_trips\": false", "\"round_trips\": \"no\"")),
            "`/legacy/round_trips`: expected boolean, got string");
  EXPECT_EQ(ReadError(Replace(d, "\"/run/b.sock\": \"deny\"", "\"run/b.sock\": \"deny\"")),
            "`/network/unix_sockets/run~1b.sock`: expected an absolute, normalised path as key, "
            "got `run/b.sock`");
  EXPECT_EQ(ReadError(Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"", "\"pattern\": \"**/*.env\"")),
            "`/filesystem/deny_globs/0/pattern`: deny glob `**/*.env` must be absolute");
  // Deny globs are normalised like paths: the verdict matches normalised
  // paths, where `..`, `.` and empty components never occur, while a
  // backend could fold them away (csb-seatbelt denied all of / for
  // `/home/u/repo/../**`, which the verdict matches nowhere).
  for (const char *g : {"/home/u/repo/../**", "/home/u/./*.env", "/home//u/*.env", "/home/u/**/",
                        "/home/u/*/../x*", "/home/u/**/.."}) {
    EXPECT_EQ(ReadError(Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"",
                                std::string("\"pattern\": \"") + g + "\"")),
              std::string("`/filesystem/deny_globs/0/pattern`: deny glob `") + g +
                  "` is not normalised: an empty, `.` or `..` component never matches a path, "
                  "which backends would read differently; write the pattern without it")
        << g;
  }
  for (const char *g : {"/home/u/.*", "/home/u/..x*", "/home/u/{a,b}/*.env", "/*"}) {
    EXPECT_EQ(ReadError(Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"",
                                std::string("\"pattern\": \"") + g + "\"")),
              "OK")
        << g;
  }
  EXPECT_EQ(ReadError(Replace(d, "\"mode\": \"limited\"", "\"mode\": \"sometimes\"")).substr(0, 18),
            "`/network/proxy`: ");
  EXPECT_EQ(ReadError(Replace(d, "\"schema\": \"csb.policy/v1\",", "")),
            "`/schema`: missing required field");
  EXPECT_EQ(ReadError("[]"), "expected object, got array");
  EXPECT_EQ(ReadError("{\"schema\": \"csb.policy/v1\""), "1:27: expected ',' or '}' after object member, got end of input")
      << "(message text comes from libs/json)";
  EXPECT_EQ(ReadError(Replace(d, "\"enforcement\": \"managed\"", "\"enforcement\": \"disabled\"")),
            "`/filesystem`: enforcement `disabled` requires filesystem kind `unrestricted`");
}

// `landlock` is chosen only for a policy that round-trips and does not use
// the proxy (docs/policy.md, `legacy`): a document saying otherwise
// contradicts itself and is refused.
TEST(Json, LandlockBackendNeedsRoundTripAndNoProxy) {
  std::string d = Replace(kDoc, "\"linux_backend\": \"bubblewrap\"", "\"linux_backend\": \"landlock\"");
  const std::string msg =
      "`/legacy/linux_backend`: `landlock` requires `round_trips` true and a network mode other "
      "than `proxy`";
  EXPECT_EQ(ReadError(d), msg);  // round_trips false, mode proxy
  d = Replace(d, "\"round_trips\": false", "\"round_trips\": true");
  EXPECT_EQ(ReadError(d), msg);  // mode proxy
  EXPECT_EQ(ReadError(Replace(d, "\"mode\": \"proxy\"", "\"mode\": \"enabled\"")), "OK");
  EXPECT_EQ(ReadError(Replace(Replace(d, "\"mode\": \"proxy\"", "\"mode\": \"enabled\""),
                              "\"round_trips\": true", "\"round_trips\": false")),
            msg);
}

// A value the reader quotes in an error comes from the document: it is
// shown as libs/json shows keys (controls escaped, about 100 bytes), so that
// a newline cannot end the diagnostic and start a forged one, an escape
// sequence cannot reach the terminal, and a long value cannot fill it.
TEST(Json, ErrorsQuoteDocumentValuesOnOneShortLine) {
  std::string d = kDoc;
  const std::string forged = R"(rel\ncsb-bwrap: note: all good\u001b[0m)";
  EXPECT_EQ(ReadError(Replace(d, "\"path\": \"/\"", "\"path\": \"" + forged + "\"")),
            "`/filesystem/entries/0/path`: expected an absolute, normalised path, got "
            "`rel\\u000acsb-bwrap: note: all good\\u001b[0m`");
  EXPECT_EQ(ReadError(Replace(d, "\"csb.policy/v1\"", "\"csb.policy/v2\\nx\"")),
            "unsupported policy schema `csb.policy/v2\\u000ax` (this csb reads csb.policy/v1)");
  EXPECT_EQ(ReadError(Replace(d, "\"mode\": \"limited\"", "\"mode\": \"x\\ny\"")),
            "`/network/proxy`: network.proxy.mode: expected one of full, limited, got "
            "\"x\\u000ay\"");
  const std::string long_rel(5000, 'a');
  std::vector<std::string> docs = {
      Replace(d, "\"path\": \"/\"", "\"path\": \"" + forged + "\""),
      Replace(d, "\"path\": \"/\"", "\"path\": \"" + long_rel + "\""),
      Replace(d, "\"access\": \"read\"", "\"access\": \"" + forged + "\""),
      Replace(d, "\"access\": \"read\"", "\"access\": \"" + long_rel + "\""),
      Replace(d, "\"csb.policy/v1\"", "\"" + forged + "\""),
      Replace(d, "\"csb.policy/v1\"", "\"csb.policy/" + long_rel + "\""),
      Replace(d, "\"/run/b.sock\": \"deny\"", "\"" + forged + "\": \"deny\""),
      Replace(d, "\"/run/b.sock\": \"deny\"", "\"/run/b.sock\": \"" + forged + "\""),
      Replace(d, "\"/run/b.sock\": \"deny\"", "\"/run/b.sock\": \"" + long_rel + "\""),
      Replace(d, "\"/home/u/.codex/memories\"\n", "\"" + forged + "\"\n"),
      Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"", "\"pattern\": \"" + forged + "\""),
      Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"", "\"pattern\": \"" + long_rel + "\""),
      Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"",
              "\"pattern\": \"/home/u/repo/\\n/../" + long_rel + "\""),
      Replace(d, "\"pattern\": \"/home/u/repo/**/*.env\"",
              "\"pattern\": \"/home/u/repo/\\n{" + long_rel + "\""),
      // The proxy settings, checked by libs/netpolicy.
      Replace(d, "\"example.com\": \"allow\"", "\"" + forged + "\": \"allow\""),
      Replace(d, "\"mode\": \"limited\"", "\"mode\": \"" + forged + "\""),
      Replace(d, "\"mode\": \"limited\"", "\"" + forged + "\": 1"),
      Replace(d, "\"mode\": \"limited\"",
              "\"mitm\": {\"hooks\": {\"" + forged + "\": {\"host\": \"a\"}}}"),
      Replace(d, "\"origin\": \"cwd\",\n      \"path\": \"/home/u/repo\"",
              "\"origin\": \"cwd\",\n      \"path\": \"/a\\nb\"\n    },\n    {\n"
              "      \"origin\": \"add-dir\",\n      \"path\": \"/a\\nb\""),
  };
  for (const std::string &doc : docs) {
    std::string msg = ReadError(doc);
    EXPECT_NE(msg, "OK");
    EXPECT_LT(msg.size(), 600u) << msg.substr(0, 200);
    EXPECT_EQ(std::find_if(msg.begin(), msg.end(),
                           [](char c) { return (unsigned char)c < 0x20 || c == 0x7f; }),
              msg.end())
        << msg.substr(0, 200);
  }
}

// Every JSON document of the csb-resolve golden suites (tests/resolve:
// cases/, and wine_cases/ with the `windows` documents of csb-resolve.exe)
// must parse, and emitting it must give the same bytes.
void ReadGoldenDocuments(const std::string &sub, std::vector<std::string> *docs) {
  std::string dir = "tests/resolve/" + sub;
  if (const char *src = getenv("TEST_SRCDIR")) {
    std::string ws = getenv("TEST_WORKSPACE") ? getenv("TEST_WORKSPACE") : "csb";
    std::string cand = std::string(src) + "/" + ws + "/tests/resolve/" + sub;
    struct stat st;
    if (stat(cand.c_str(), &st) == 0) dir = cand;
  }
  DIR *d = opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.substr(n.size() - 5) == ".case") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string &n : names) {
    std::ifstream f(dir + "/" + n);
    std::string line, body;
    bool in = false;
    while (std::getline(f, line)) {
      if (line.rfind("--- ", 0) == 0) {
        in = line == "--- stdout";
        continue;
      }
      if (in) body += line + "\n";
    }
    if (!body.empty() && body[0] == '{') {
      size_t at;
      // The suites build their trees under /var/tmp, which fixes how $ROOT
      // sorts against other paths (Windows: Z:\var\tmp under Wine,
      // JSON-escaped).
      std::string root = body.find("\"platform\": \"windows\"") != std::string::npos
                             ? "Z:\\\\var\\\\tmp\\\\golden"
                             : "/var/tmp/golden";
      while ((at = body.find("$ROOT")) != std::string::npos) body.replace(at, 5, root);
      docs->push_back(body);
    }
  }
}

std::vector<std::string> GoldenDocuments() {
  std::vector<std::string> docs;
  ReadGoldenDocuments("cases", &docs);
  size_t linux_docs = docs.size();
  ReadGoldenDocuments("wine_cases", &docs);
  if (docs.size() == linux_docs) docs.clear();  // both suites or nothing
  return docs;
}

TEST(Json, EveryGoldenDocumentRoundTrips) {
  std::vector<std::string> docs = GoldenDocuments();
  ASSERT_GE(docs.size(), 25u) << "golden documents not found";
  for (const std::string &doc : docs) {
    csb_policy *p = nullptr;
    csb_error err;
    csb_error_clear(&err);
    ASSERT_TRUE(csb_policy_from_json(doc.data(), doc.size(), &p, &err)) << err.msg << "\n" << doc;
    EXPECT_EQ(Emit(p), doc);
    // The stored summary is the one the library computes.
    EXPECT_EQ(Summary(p), p->summary);
    csb_policy_free(p);
  }
}

// Replays the fuzz target (fuzz_policy_json.c) over the golden documents
// and simple mutations of them, so that every `bazel test` exercises it.
TEST(Fuzz, ReplaysGoldenDocumentsAndMutations) {
  std::vector<std::string> docs = GoldenDocuments();
  docs.push_back(kDoc);
  ASSERT_GE(docs.size(), 2u);
  size_t runs = 0;
  for (const std::string &doc : docs) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(doc.data()), doc.size());
    for (size_t cut = 0; cut < doc.size(); cut += 113) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(doc.data()), cut);
      std::string m = doc;
      for (char c : {'"', '0', '\xff'}) {
        m[cut] = c;
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(m.data()), m.size());
        runs++;
      }
    }
  }
  EXPECT_GT(runs, 100u);
}

struct Pointer {
  std::string exact, lenient;  // "-" for none
};

Pointer ReadPointer(const std::string &text) {
  char *e = nullptr, *l = nullptr;
  csb_policy_gitdir_pointer(text.data(), text.size(), &e, &l);
  Pointer r{e ? e : "-", l ? l : "-"};
  free(e);
  free(l);
  return r;
}

TEST(Gitdir, PointerReadings) {
  struct Case {
    std::string text, exact, lenient;
  } cases[] = {
      {"gitdir: ../wt\n", "../wt", "../wt"},
      {"gitdir: ../wt", "../wt", "../wt"},
      {"gitdir: ../wt\r\n\r\n", "../wt", "../wt"},
      {"gitdir:../wt\n", "-", "../wt"},            // git wants the blank
      {"  gitdir:\t../wt \n", "-", "../wt"},      // trimmed
      {"gitdir: ../sp \n", "../sp ", "../sp"},     // git keeps the blank
      {"gitdir:  ../sp\n", " ../sp", "../sp"},
      {std::string("gitdir: ../wt\0junk\n", 19), "../wt", "../wt"},  // a NUL ends both
      {"gitdir: a\nb\n", "a\nb", "-"},            // two lines: git only
      // Blanks after the ':' are trimmed whatever they are (as Codex
      // trims): a CR or a line break before the path is not part of it.
      {"gitdir: \r../wt\n", "\r../wt", "../wt"},
      {"gitdir:\n../wt\n", "-", "../wt"},
      {"gitdir: \r\n", "-", "-"},
      {"gitdirx: ../b\n", "-", "-"},
      {"xgitdir: ../b\n", "-", "-"},
      {"gitdir ../b\n", "-", "-"},
      {"gitdir: \n", "-", "-"},
      {"gitdir:", "-", "-"},
      {"", "-", "-"},
      {"gitdir: C:/repo/.git/worktrees/x\r\n", "C:/repo/.git/worktrees/x", "C:/repo/.git/worktrees/x"},
  };
  for (const Case &c : cases) {
    Pointer r = ReadPointer(c.text);
    EXPECT_EQ(r.exact, c.exact) << c.text;
    EXPECT_EQ(r.lenient, c.lenient) << c.text;
  }
}

// Replays the fuzz target (fuzz_gitdir.c) over pointer files and
// mutations of them.
TEST(Gitdir, FuzzEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "gitdir: ../wt\n",
      "gitdir: /srv/main/.git/worktrees/feature\r\n",
      " gitdir:\t../sp \n\n",
      std::string("gitdir: ../wt\0junk\n", 19),
      "gitdir: C:\\Repo\\.git\\worktrees\\wt\n",
      "gitdir: a\nb\n",
  };
  csbtest::MutateOptions o;
  o.rounds = 2000;
  o.seed = 11;
  o.alphabet = std::string("gitdr: \t\r\n/.\\\0", 14);
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_gitdir_one), 12000u);
}

TEST(Json, LoadFileAndErrorsNameTheFile) {
  TempTree t;
  t.File("p.json", kDoc);
  t.File("bad.json", "{\"schema\": \"csb.policy/v9\"}");
  csb_policy *p = nullptr;
  csb_error err;
  ASSERT_TRUE(csb_policy_load(t.Path("p.json").c_str(), &p, &err)) << err.msg;
  EXPECT_EQ(Emit(p), kDoc);
  csb_policy_free(p);
  EXPECT_FALSE(csb_policy_load(t.Path("bad.json").c_str(), &p, &err));
  EXPECT_EQ(std::string(err.msg), t.Path("bad.json") +
                                      ": unsupported policy schema `csb.policy/v9` (this csb reads "
                                      "csb.policy/v1)");
  EXPECT_FALSE(csb_policy_load(t.Path("missing.json").c_str(), &p, &err));
  EXPECT_NE(std::string(err.msg).find("missing.json"), std::string::npos);
}

TEST(PolicyArg, TheRule) {
  EXPECT_EQ(csb_policy_arg_from("p.json", 1, 1), CSB_POLICY_FROM_FILE);
  EXPECT_EQ(csb_policy_arg_from("p.json", 0, 0), CSB_POLICY_FROM_FILE);
  EXPECT_EQ(csb_policy_arg_from("-", 1, 1), CSB_POLICY_FROM_STDIN);
  EXPECT_EQ(csb_policy_arg_from(nullptr, 1, 0), CSB_POLICY_FROM_STDIN_IMPLICIT);
  EXPECT_EQ(csb_policy_arg_from(nullptr, 1, 1), CSB_POLICY_FROM_NOWHERE);
  EXPECT_EQ(csb_policy_arg_from(nullptr, 0, 0), CSB_POLICY_FROM_NOWHERE);
}

// Runs fn with standard input replaced by `fd` (restored afterwards).
template <typename F>
static void WithStdin(int fd, F fn) {
  int saved = dup(0);
  ASSERT_GE(saved, 0);
  if (fd >= 0) {
    ASSERT_EQ(dup2(fd, 0), 0);
  } else {
    close(0);
  }
  fn();
  ASSERT_EQ(dup2(saved, 0), 0);
  close(saved);
}

static int PipeWith(const std::string &text) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  EXPECT_EQ(write(p[1], text.data(), text.size()), (ssize_t)text.size());
  close(p[1]);
  return p[0];
}

TEST(PolicyArg, LoadsFromEachSource) {
  TempTree t;
  t.File("p.json", kDoc);
  csb_policy *p = nullptr;
  csb_policy_arg a;
  csb_error err;
  // --policy FILE leaves standard input alone.
  int in = PipeWith("not json");
  const std::string file = t.Path("p.json");  // a.name points into it
  WithStdin(in, [&] {
    ASSERT_TRUE(csb_policy_load_arg(file.c_str(), &p, &a, &err)) << err.msg;
    EXPECT_EQ(std::string(a.name), file);
    EXPECT_FALSE(a.implicit);
    char c;
    EXPECT_EQ(read(0, &c, 1), 1);
  });
  close(in);
  csb_policy_free(p);
  // --policy - and no --policy read a pipe.
  for (const char *arg : {"-", (const char *)nullptr}) {
    in = PipeWith(kDoc);
    WithStdin(in, [&] {
      ASSERT_TRUE(csb_policy_load_arg(arg, &p, &a, &err)) << err.msg;
      EXPECT_STREQ(a.name, "<stdin>");
      EXPECT_EQ(a.implicit, arg == nullptr);
      EXPECT_EQ(Emit(p), kDoc);
    });
    close(in);
    csb_policy_free(p);
  }
  // An invalid document read implicitly is a data error naming <stdin>.
  in = PipeWith("{\"schema\": \"csb.policy/v9\"}");
  WithStdin(in, [&] {
    EXPECT_FALSE(csb_policy_load_arg(nullptr, &p, &a, &err));
    EXPECT_FALSE(a.missing);
    EXPECT_EQ(std::string(err.msg).rfind("<stdin>: unsupported policy schema", 0), 0u) << err.msg;
  });
  close(in);
  // Empty or closed standard input: no policy at all (a usage error).
  in = PipeWith("");
  WithStdin(in, [&] {
    EXPECT_FALSE(csb_policy_load_arg(nullptr, &p, &a, &err));
    EXPECT_TRUE(a.missing);
    EXPECT_EQ(std::string(err.msg).rfind("--policy FILE is required", 0), 0u) << err.msg;
  });
  close(in);
  WithStdin(-1, [&] {
    EXPECT_FALSE(csb_policy_load_arg(nullptr, &p, &a, &err));
    EXPECT_TRUE(a.missing);
    EXPECT_NE(std::string(err.msg).find("closed"), std::string::npos) << err.msg;
  });
  EXPECT_EQ(p, nullptr);
}

TEST(Explain, SummaryFirstThenRules) {
  csb_policy *p = nullptr;
  csb_error err;
  ASSERT_TRUE(csb_policy_from_json(kDoc, strlen(kDoc), &p, &err)) << err.msg;
  p->round_trips = 0;
  char *e = csb_policy_explain(p);
  std::string text(e);
  free(e);
  EXPECT_EQ(text.substr(0, text.find('\n')), "workspace-write [workdir] (network access enabled)");
  EXPECT_NE(text.find("profile: dev (named), extends :workspace\n"), std::string::npos);
  EXPECT_NE(text.find("  write  /home/u/repo  [:workspace_roots]\n"), std::string::npos);
  EXPECT_NE(text.find("  write  /home/u/.codex/memories  [internal:memories, skip if missing, internal]\n"),
            std::string::npos);
  EXPECT_NE(text.find("  deny glob /home/u/repo/**/*.env (from :workspace_roots/**/*.env)\n"),
            std::string::npos);
  EXPECT_NE(text.find("network: proxy; local binding: no\n"), std::string::npos);
  EXPECT_NE(text.find("  unix socket /run/b.sock: deny\n"), std::string::npos);
  EXPECT_NE(text.find("round-trips: no; linux backend: bubblewrap\n"), std::string::npos);
  EXPECT_NE(text.find("warning: w1\n"), std::string::npos);
  csb_policy_free(p);
}

TEST(Model, AccessNamesAndParse) {
  csb_access a;
  EXPECT_TRUE(csb_access_parse("none", &a));
  EXPECT_EQ(a, CSB_ACCESS_DENY);
  EXPECT_TRUE(csb_access_parse("write", &a));
  EXPECT_EQ(a, CSB_ACCESS_WRITE);
  EXPECT_FALSE(csb_access_parse("rw", &a));
  EXPECT_STREQ(csb_access_name(CSB_ACCESS_READ), "read");
  EXPECT_STREQ(csb_platform_name(CSB_PLATFORM_WINDOWS), "windows");
  EXPECT_STREQ(csb_protected_names[3], ".csb");
}

TEST(Model, CanonicalizeSortsAndDeduplicates) {
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, "/");
  csb_policy_add_entry(p, "/b", CSB_ACCESS_DENY, "o", 0, 0);
  csb_policy_add_entry(p, "/a", CSB_ACCESS_WRITE, "o", 0, 0);
  csb_policy_add_entry(p, "/b", CSB_ACCESS_READ, "o", 0, 0);
  csb_policy_add_entry(p, "/a", CSB_ACCESS_WRITE, "o", 0, 0);
  for (int i = 0; i < 40; i++) csb_policy_add_glob(p, i % 2 ? "/x/*" : "/a/*", "g");
  csb_policy_set_unix_socket(p, "/s2", 1);
  csb_policy_set_unix_socket(p, "/s1", 0);
  csb_policy_set_unix_socket(p, "/s2", 0);
  csb_policy_canonicalize(p);
  ASSERT_EQ(p->n_entries, 3u);
  EXPECT_STREQ(p->entries[0].path, "/a");
  EXPECT_EQ(p->entries[1].access, CSB_ACCESS_READ);
  EXPECT_EQ(p->entries[2].access, CSB_ACCESS_DENY);
  ASSERT_EQ(p->n_globs, 2u);
  ASSERT_EQ(p->n_unix_sockets, 2u);
  EXPECT_STREQ(p->unix_sockets[0].path, "/s1");
  EXPECT_FALSE(p->unix_sockets[1].allow);
  csb_policy_free(p);
}

// ---- evaluation and round trip against their definitions ------------------
//
// Evaluation looks only at the entries on a path's way, and the round trip
// skips building views when the policy denies something; these tests check
// both against the rules as docs/policy.md states them, applied by a scan
// of every entry and by building and comparing the views.

std::string Own(char *s) {
  std::string r = s ? s : "<null>";
  free(s);
  return r;
}

bool Under(csb_platform pl, const std::string &prefix, const std::string &path) {
  csb_path_style st = pl == CSB_PLATFORM_WINDOWS ? CSB_PATH_WINDOWS : CSB_PATH_POSIX;
  return csb_spath_is_under(st, prefix.c_str(), path.c_str()) != 0;
}

std::string JoinIn(csb_platform pl, const std::string &dir, const char *name) {
  if (pl != CSB_PLATFORM_WINDOWS) return Own(csb_path_join(dir.c_str(), name));
  char *j = csb_winpath_join(dir.c_str(), name);
  return j ? Own(j) : dir;
}

// The gitdir: target of DIR/.git as the fake file system has it ("" when
// none): git's own reading of the file, else the trimmed one, an existing
// target first, a missing one protected too (the worlds' contents have no
// NUL, no inner newline and no leading blank, so the two readings differ
// only in trailing blanks).
std::string GitdirOf(const FakeFs &fs, csb_platform pl, const std::string &dir) {
  std::string git = JoinIn(pl, dir, ".git");
  for (size_t i = 0; i < fs.files.size(); i++) {
    if (FakeFs::Key(fs.files[i]) != FakeFs::Key(git)) continue;
    std::string c = fs.contents[i];
    std::vector<std::string> readings;
    std::string e = c;
    while (!e.empty() && strchr("\r\n", e.back())) e.pop_back();
    if (e.compare(0, 8, "gitdir: ") == 0 && e.size() > 8) readings.push_back(e.substr(8));
    while (!c.empty() && strchr(" \t\r\n", c.back())) c.pop_back();
    if (c.compare(0, 7, "gitdir:") == 0) {
      std::string v = c.substr(7);
      v.erase(0, std::min(v.size(), v.find_first_not_of(" \t")));
      if (!v.empty()) readings.push_back(v);
    }
    for (const std::string &r : readings) {
      std::string t = JoinIn(pl, dir, r.c_str());
      csb_probe_stat st = {};
      FakeFs::Stat(const_cast<FakeFs *>(&fs), t.c_str(), &st);
      if (st.exists) return t;
    }
    return readings.empty() ? "" : JoinIn(pl, dir, readings[0].c_str());
  }
  return "";
}

// csb_verdict as docs/policy.md "Evaluation" defines it, by scanning every
// entry (deny globs: POSIX documents only).
std::string ReferenceVerdict(const csb_policy *p, const FakeFs &fs, const std::string &in) {
  csb_platform pl = p->platform;
  csb_path_style st = pl == CSB_PLATFORM_WINDOWS ? CSB_PATH_WINDOWS : CSB_PATH_POSIX;
  char *n = csb_spath_normalize(st, in.c_str());
  std::string t = n ? Own(n) : JoinIn(pl, p->cwd, in.c_str());
  int best = -1;
  size_t best_depth = 0;
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry &e = p->entries[i];
    if (!Under(pl, e.path, t)) continue;
    size_t d = csb_spath_depth(st, e.path);
    if (best < 0 || d > best_depth || (d == best_depth && e.access > p->entries[best].access)) {
      best = (int)i;
      best_depth = d;
    }
  }
  csb_access a = best < 0 ? CSB_ACCESS_DENY : p->entries[best].access;
  std::string r = std::string(csb_access_name(a)) + " entry " + std::to_string(best);
  if (a == CSB_ACCESS_DENY) return r;
  for (size_t i = 0; i < p->n_globs; i++) {
    csb_glob *g = nullptr;
    bool match =
        !csb_glob_compile(p->globs[i].pattern, &g, nullptr) || csb_glob_match(g, t.c_str());
    csb_glob_free(g);
    if (match) return "deny glob " + std::to_string(i);
  }
  if (a != CSB_ACCESS_WRITE || csb_policy_full_disk_write(p)) return r;
  auto explicit_write = [&](const std::string &m) {
    for (size_t i = 0; i < p->n_entries; i++)
      if (p->entries[i].access == CSB_ACCESS_WRITE && Under(pl, m, p->entries[i].path) &&
          Under(pl, p->entries[i].path, t))
        return true;
    return false;
  };
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry &w = p->entries[i];
    if (w.access != CSB_ACCESS_WRITE || !Under(pl, w.path, t)) continue;
    for (const char *name : csb_protected_names) {
      std::string m = JoinIn(pl, w.path, name);
      if (Under(pl, m, t) && !explicit_write(m)) return "protected " + m + " in " + w.path;
    }
  }
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry &w = p->entries[i];
    if (w.access != CSB_ACCESS_WRITE) continue;
    std::string g = GitdirOf(fs, pl, w.path);
    if (!g.empty() && Under(pl, g, t) && !explicit_write(g))
      return "protected " + g + " in " + w.path;
  }
  return r;
}

std::string VerdictOf(const csb_policy *p, const std::string &path) {
  csb_verdict v;
  csb_policy_access_for(p, path.c_str(), &v);
  switch (v.reason) {
    case CSB_REASON_DENY_GLOB:
      return "deny glob " + std::to_string(v.glob);
    case CSB_REASON_PROTECTED:
      return std::string("protected ") + v.protected_root + " in " + v.writable_root;
    default:
      return std::string(csb_access_name(v.access)) + " entry " + std::to_string(v.entry);
  }
}

std::string RandomPosixPath(std::mt19937 &rng) {
  static const char *const names[] = {"w", "a", "b", ".git", ".codex", ".agents", ".csb",
                                      "gd", "x", "..", "."};
  std::string p;
  int n = (int)(rng() % 5);
  for (int i = 0; i < n; i++)
    p += std::string("/") + names[rng() % (sizeof names / sizeof names[0])];
  return p.empty() ? "/" : p;
}

std::string RandomWindowsPath(std::mt19937 &rng) {
  static const char *const names[] = {"W", "w", "a", ".git", ".Codex", "gd", ".."};
  std::string p = rng() % 5 ? "C:" : "\\\\s\\h";
  int n = (int)(rng() % 4);
  for (int i = 0; i < n; i++)
    p += std::string("\\") + names[rng() % (sizeof names / sizeof names[0])];
  return n == 0 && p == "C:" ? "C:\\" : p;
}

csb_policy *RandomPolicy(std::mt19937 &rng, csb_platform pl, const csb_policy_probe *probe) {
  bool win = pl == CSB_PLATFORM_WINDOWS;
  csb_policy *p = csb_policy_new(pl, win ? "C:\\w" : "/w");
  csb_policy_set_probe(p, probe);
  int n = (int)(rng() % 12);
  for (int i = 0; i < n; i++) {
    std::string path = win ? RandomWindowsPath(rng) : RandomPosixPath(rng);
    // A root entry is the `:root` rule or (less often) another one.
    csb_path_style st = win ? CSB_PATH_WINDOWS : CSB_PATH_POSIX;
    char *norm = csb_spath_normalize(st, path.c_str());
    bool root = norm != nullptr && csb_spath_is_root(st, norm);
    free(norm);
    const char *origin = root && rng() % 4 != 0 ? ":root" : "o";
    csb_policy_add_entry(p, path.c_str(), (csb_access)(rng() % 3), origin, 0, 0);
  }
  if (!win && rng() % 3 == 0) csb_policy_add_glob(p, "/w/**/.env", "g");
  if (!win && rng() % 4 == 0) csb_policy_add_glob(p, "/w/a/*", "g");
  csb_policy_canonicalize(p);
  return p;
}

// The file system the random policies are evaluated on: `.git` pointer
// files whose targets exist, and one whose target does not.
FakeFs EvaluationWorld(bool win) {
  FakeFs fs;
  fs.files = win ? std::vector<std::string>{"C:\\w\\.git", "C:\\a\\.git"}
                 : std::vector<std::string>{"/w/.git", "/a/.git", "/w/a/.git"};
  fs.contents = win ? std::vector<std::string>{"gitdir: gd", "gitdir: C:\\missing"}
                    : std::vector<std::string>{"gitdir: gd", "gitdir: ../w/x", "gitdir: /nope"};
  fs.dirs = win ? std::vector<std::string>{"C:\\w\\gd"} : std::vector<std::string>{"/w/gd", "/w/x"};
  return fs;
}

// A random query: absolute, or (every fifth) relative, joined to the cwd.
std::string RandomQuery(std::mt19937 &rng, bool win, int q) {
  std::string path = win ? RandomWindowsPath(rng) : RandomPosixPath(rng);
  if (q % 5 == 0) {
    size_t skip = win ? (path.compare(0, 3, "C:\\") == 0 ? 3 : 0) : path.find_first_not_of('/');
    path = skip == std::string::npos ? "." : path.substr(skip);
  }
  return path;
}

void CheckEvaluation(csb_platform pl, unsigned seed) {
  bool win = pl == CSB_PLATFORM_WINDOWS;
  std::mt19937 rng(seed);
  FakeFs fs = EvaluationWorld(win);
  csb_policy_probe probe = {&fs, FakeFs::Stat, FakeFs::Read, FakeFs::Effective};
  for (int round = 0; round < 300; round++) {
    csb_policy *p = RandomPolicy(rng, pl, &probe);
    for (int q = 0; q < 30; q++) {
      std::string path = RandomQuery(rng, win, q);
      ASSERT_EQ(VerdictOf(p, path), ReferenceVerdict(p, fs, path))
          << Own(csb_policy_to_json(p)) << path;
    }
    csb_policy_free(p);
  }
}

TEST(Evaluate, AgreesWithAScanOfEveryEntry) { CheckEvaluation(CSB_PLATFORM_LINUX, 7); }

TEST(Evaluate, AgreesWithAScanOfEveryEntryOnWindows) { CheckEvaluation(CSB_PLATFORM_WINDOWS, 8); }

// Every field of two verdicts, as text (for a readable failure).
std::string VerdictText(const csb_verdict &v) {
  return std::string(csb_access_name(v.access)) + " r" + std::to_string(v.can_read) + " w" +
         std::to_string(v.can_write) + " reason " + std::to_string(v.reason) + " entry " +
         std::to_string(v.entry) + " glob " + std::to_string(v.glob) + " protected " +
         v.protected_root + " in " + v.writable_root;
}

// One evaluator per policy answers exactly what csb_policy_access_for
// answers, for random policies (restricted or not, with `.git` pointer
// files, deny globs, every platform) and many paths asked in any order,
// the same path several times.
void CheckEvaluator(csb_platform pl, unsigned seed) {
  bool win = pl == CSB_PLATFORM_WINDOWS;
  std::mt19937 rng(seed);
  FakeFs fs = EvaluationWorld(win);
  csb_policy_probe probe = {&fs, FakeFs::Stat, FakeFs::Read, FakeFs::Effective};
  int restricted = 0, protected_seen = 0, globbed = 0;
  for (int round = 0; round < 200; round++) {
    csb_policy *p = RandomPolicy(rng, pl, &probe);
    // Documents hold normalised paths (the reader refuses others).
    for (size_t i = 0; i < p->n_entries; i++) {
      char *n = csb_spath_normalize(win ? CSB_PATH_WINDOWS : CSB_PATH_POSIX, p->entries[i].path);
      ASSERT_NE(n, nullptr) << p->entries[i].path;
      free(p->entries[i].path);
      p->entries[i].path = n;
    }
    csb_policy_canonicalize(p);
    switch (rng() % 6) {
      case 0:
        p->enforcement = (csb_enforcement)(1 + rng() % 2);
        break;
      case 1:
        p->fs_kind = (csb_fs_kind)(1 + rng() % 2);
        break;
      default:
        restricted++;
    }
    csb_policy_evaluator *ev = csb_policy_evaluator_new(p);
    std::vector<std::string> asked;
    for (int q = 0; q < 40; q++) {
      std::string path = !asked.empty() && q % 7 == 0 ? asked[rng() % asked.size()]
                                                      : RandomQuery(rng, win, q);
      asked.push_back(path);
      csb_verdict once, reused;
      csb_policy_access_for(p, path.c_str(), &once);
      csb_policy_evaluator_access_for(ev, path.c_str(), &reused);
      protected_seen += once.reason == CSB_REASON_PROTECTED;
      globbed += once.reason == CSB_REASON_DENY_GLOB;
      ASSERT_EQ(VerdictText(reused), VerdictText(once)) << Own(csb_policy_to_json(p)) << path;
    }
    csb_policy_evaluator_free(ev);
    csb_policy_free(p);
  }
  // The random policies exercise what the evaluator precomputes.
  EXPECT_GT(restricted, 100);
  EXPECT_GT(protected_seen, 0);
  if (!win) {
    EXPECT_GT(globbed, 0);
  }
}

TEST(Evaluator, AnswersEqualAccessForOnLinux) { CheckEvaluator(CSB_PLATFORM_LINUX, 11); }
TEST(Evaluator, AnswersEqualAccessForOnMacos) { CheckEvaluator(CSB_PLATFORM_MACOS, 12); }
TEST(Evaluator, AnswersEqualAccessForOnWindows) { CheckEvaluator(CSB_PLATFORM_WINDOWS, 13); }

TEST(Evaluator, FreeNullIsANoOp) { csb_policy_evaluator_free(nullptr); }

std::map<std::string, int> SocketsOf(const csb_policy *p) {
  std::map<std::string, int> m;
  for (size_t i = 0; i < p->n_unix_sockets; i++) {
    if (i > 0) {
      EXPECT_LT(strcmp(p->unix_sockets[i - 1].path, p->unix_sockets[i].path), 0);
    }
    m[p->unix_sockets[i].path] = p->unix_sockets[i].allow;
  }
  EXPECT_EQ(m.size(), p->n_unix_sockets);
  return m;
}

// Many unix socket rules in random order, paths repeated: set at once (and
// merged with rules set before), the result is what setting them one by
// one gives (the last rule of a path wins, sorted by path), byte for byte
// in the document; the JSON reader takes keys in any order.
TEST(Model, ManyUnixSocketsInAnyOrder) {
  std::mt19937 rng(21);
  std::vector<std::string> paths;
  std::vector<csb_unix_socket_rule> rules;
  for (int i = 0; i < 60000; i++) paths.push_back("/s/" + std::to_string(rng() % 40000));
  for (const std::string &path : paths)
    rules.push_back({const_cast<char *>(path.c_str()), (int)(rng() % 2)});
  std::map<std::string, int> want;
  for (const csb_unix_socket_rule &r : rules) want[r.path] = r.allow;

  csb_policy *a = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  size_t half = rules.size() / 2;
  csb_policy_set_unix_sockets(a, rules.data(), half);
  csb_policy_set_unix_socket(a, "/s/extra", 1);  // one more in between, then the rest
  csb_policy_set_unix_sockets(a, rules.data() + half, rules.size() - half);
  want["/s/extra"] = 1;
  EXPECT_EQ(SocketsOf(a), want);
  want.erase("/s/extra");
  csb_policy *cl = csb_policy_clone(a);
  EXPECT_EQ(Own(csb_policy_to_json(cl)), Own(csb_policy_to_json(a)));
  csb_policy_free(cl);

  // One by one (quadratic at worst, so a prefix) gives the same document.
  csb_policy *one = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  csb_policy *all = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  for (size_t i = 0; i < 3000; i++) csb_policy_set_unix_socket(one, rules[i].path, rules[i].allow);
  csb_policy_set_unix_sockets(all, rules.data(), 3000);
  EXPECT_EQ(Own(csb_policy_to_json(all)), Own(csb_policy_to_json(one)));
  csb_policy_set_unix_sockets(all, nullptr, 0);
  EXPECT_EQ(Own(csb_policy_to_json(all)), Own(csb_policy_to_json(one)));
  csb_policy_free(one);
  csb_policy_free(all);

  // A document with every path once, keys in descending order.
  csb_policy *d = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  csb_policy_set_unix_socket(d, "/s/KEYS", 1);
  std::string doc = Own(csb_policy_to_json(d));
  csb_policy_free(d);
  std::string keys;
  for (auto it = want.rbegin(); it != want.rend(); ++it)
    keys += (keys.empty() ? "\"" : ", \"") + it->first + "\": \"" + (it->second ? "allow" : "deny") + "\"";
  size_t at = doc.find("\"/s/KEYS\": \"allow\"");
  ASSERT_NE(at, std::string::npos) << doc;
  doc.replace(at, strlen("\"/s/KEYS\": \"allow\""), keys);
  csb_policy *r = nullptr;
  csb_error err;
  csb_error_clear(&err);
  ASSERT_TRUE(csb_policy_from_json(doc.data(), doc.size(), &r, &err)) << err.msg;
  EXPECT_EQ(SocketsOf(r), want);
  // Equal to the rules set at once, without the extra one.
  csb_policy_set_unix_socket(r, "/s/extra", 1);
  EXPECT_EQ(Own(csb_policy_to_json(r)), Own(csb_policy_to_json(a)));
  csb_policy_free(r);
  csb_policy_free(a);
}

bool SameStrv(const csb_strv &a, const csb_strv &b) { return Strs(a) == Strs(b); }

// csb_policy_round_trips as docs/policy.md defines it: the policy's view
// and that of its legacy model's policy are identical, and the legacy
// model carves out every protected name of a writable root.
bool ReferenceRoundTrips(const csb_policy *p) {
  if (p->enforcement != CSB_ENFORCE_MANAGED || p->fs_kind != CSB_FS_RESTRICTED) return true;
  csb_legacy_policy l;
  if (!csb_policy_to_legacy(p, &l, nullptr)) return false;
  csb_policy *r = csb_policy_legacy_model(p, &l);
  csb_policy_view *pv = nullptr, *lv = nullptr;
  EXPECT_TRUE(csb_policy_view_build(p, &pv, nullptr));
  EXPECT_TRUE(csb_policy_view_build(r, &lv, nullptr));
  bool same = pv->full_read == lv->full_read && pv->full_write == lv->full_write &&
              pv->include_platform_defaults == lv->include_platform_defaults &&
              SameStrv(pv->readable_roots, lv->readable_roots) &&
              SameStrv(pv->unreadable_roots, lv->unreadable_roots) &&
              SameStrv(pv->unreadable_globs, lv->unreadable_globs) &&
              pv->n_writable == lv->n_writable;
  for (size_t i = 0; same && i < pv->n_writable; i++)
    same = strcmp(pv->writable[i].root, lv->writable[i].root) == 0 &&
           SameStrv(pv->writable[i].read_only_subpaths, lv->writable[i].read_only_subpaths) &&
           SameStrv(pv->writable[i].protected_names, lv->writable[i].protected_names);
  bool carved = true;
  for (size_t i = 0; i < pv->n_writable; i++) {
    const csb_writable_root *w = &pv->writable[i];
    const csb_writable_root *m = nullptr;
    for (size_t j = 0; j < lv->n_writable; j++)
      if (Under(p->platform, lv->writable[j].root, w->root) &&
          Under(p->platform, w->root, lv->writable[j].root))
        m = &lv->writable[j];
    for (size_t k = 0; k < w->protected_names.len; k++) {
      std::string sub = JoinIn(p->platform, w->root, w->protected_names.items[k]);
      bool found = false;
      for (size_t j = 0; m != nullptr && j < m->read_only_subpaths.len; j++)
        found = found || (Under(p->platform, sub, m->read_only_subpaths.items[j]) &&
                          Under(p->platform, m->read_only_subpaths.items[j], sub));
      carved = carved && found;
    }
  }
  csb_policy_view_free(pv);
  csb_policy_view_free(lv);
  csb_policy_free(r);
  csb_legacy_policy_free(&l);
  return same && carved;
}

TEST(Legacy, RoundTripsAgreesWithComparingTheViews) {
  std::mt19937 rng(9);
  FakeFs fs;
  fs.dirs = {"/w", "/w/.git", "/w/.codex", "/a"};
  csb_policy_probe probe = {&fs, FakeFs::Stat, FakeFs::Read, FakeFs::Effective};
  int agree_true = 0;
  for (int round = 0; round < 400; round++) {
    csb_policy *p = RandomPolicy(rng, CSB_PLATFORM_LINUX, &probe);
    if (round % 2 == 0) {
      // The legacy model of a workspace policy round-trips more often.
      csb_policy *q = Make("/w", {{"/", CSB_ACCESS_READ, ":root"},
                                  {"/w", CSB_ACCESS_WRITE, ":workspace_roots"},
                                  {"/tmp", CSB_ACCESS_WRITE, ":slash_tmp"}});
      csb_policy_set_probe(q, &probe);
      for (size_t i = 0; i < p->n_entries && i < 2; i++)
        csb_policy_add_entry(q, p->entries[i].path, p->entries[i].access, p->entries[i].origin, 0, 0);
      csb_policy_canonicalize(q);
      csb_policy_free(p);
      p = q;
    }
    bool want = ReferenceRoundTrips(p);
    agree_true += want;
    ASSERT_EQ(csb_policy_round_trips(p) != 0, want) << Own(csb_policy_to_json(p));
    csb_policy_free(p);
  }
  EXPECT_GT(agree_true, 10);
}

}  // namespace
