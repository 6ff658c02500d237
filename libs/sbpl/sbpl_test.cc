// sbpl_test.cc - unit tests for libs/sbpl. The full profiles are covered
// by the golden suite in tests/seatbelt; these pin the pieces.
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csb_sbpl.h"
#include "tests/lib/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

std::string Take(char *p) {
  std::string s = p ? p : "<null>";
  free(p);
  return s;
}

std::vector<std::string> Vec(const csb_strv &v) {
  return std::vector<std::string>(v.items, v.items + v.len);
}

class TempDir {
 public:
  TempDir() {
    const char *base = getenv("TEST_TMPDIR");
    std::string t = std::string(base ? base : "/tmp") + "/sbplXXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    char *d = mkdtemp(buf.data());
    EXPECT_NE(d, nullptr);
    char *real = realpath(d, nullptr);
    path_ = real;
    free(real);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string &path() const { return path_; }
  std::string Mkdir(const std::string &rel) const {
    std::string p = path_ + "/" + rel;
    EXPECT_EQ(mkdir(p.c_str(), 0755), 0) << p;
    return p;
  }
  std::string Symlink(const std::string &target, const std::string &rel) const {
    std::string p = path_ + "/" + rel;
    EXPECT_EQ(symlink(target.c_str(), p.c_str()), 0) << p;
    return p;
  }

 private:
  std::string path_;
};

// ---- regex pieces -------------------------------------------------------

TEST(Regex, EreEscape) {
  EXPECT_EQ(Take(csb_sbpl_ere_escape("/a.b/c+d(e)[f]{g}*?^$|\\")),
            "/a\\.b/c\\+d\\(e\\)\\[f\\]\\{g\\}\\*\\?\\^\\$\\|\\\\");
  EXPECT_EQ(Take(csb_sbpl_ere_escape("/plain-name_1 x")), "/plain-name_1 x");
}

TEST(Regex, LiteralForms) {
  char *out = nullptr;
  csb_error e;
  ASSERT_TRUE(csb_sbpl_regex_literal("^/a\\.b$", &out, &e));
  EXPECT_EQ(Take(out), "#\"^/a\\.b$\"");
  ASSERT_TRUE(csb_sbpl_regex_literal("^/a\"b\\.c$", &out, &e));
  EXPECT_EQ(Take(out), "\"^/a\\\"b\\\\.c$\"");
  ASSERT_TRUE(csb_sbpl_regex_literal("^/caf\xc3\xa9$", &out, &e));
  EXPECT_EQ(Take(out), "#\"^/caf\xc3\xa9$\"");
  csb_error_clear(&e);
  EXPECT_FALSE(csb_sbpl_regex_literal("^/a\nb$", &out, &e));
  EXPECT_STREQ(e.msg,
               "its regex would contain a control character (0x0a), which a Seatbelt profile "
               "cannot carry");
  EXPECT_FALSE(csb_sbpl_regex_literal("^/a\xff$", &out, &e));
  EXPECT_STREQ(e.msg, "its regex would not be valid UTF-8, which a Seatbelt profile cannot carry");
  EXPECT_FALSE(csb_sbpl_regex_literal("^/\xed\xa0\x80$", &out, &e));  // surrogate
}

// ---- proxy ports --------------------------------------------------------

TEST(Proxy, PortsFromEnvironment) {
  const char *env[] = {"PATH=/bin",
                       "HTTP_PROXY=http://127.0.0.1:3128",
                       "https_proxy=http://localhost:3128",
                       "ALL_PROXY=socks5h://127.0.0.1:8081",
                       "FTP_PROXY=http://proxy.corp:8080",
                       "NO_PROXY=localhost",
                       "PIP_PROXY=   ",
                       nullptr};
  csb_sbpl_ports ports;
  csb_strv warnings;
  csb_strv_init(&warnings);
  csb_sbpl_proxy_ports(const_cast<char *const *>(env), &ports, &warnings);
  ASSERT_EQ(ports.n, 2u);
  EXPECT_EQ(ports.ports[0], 3128);
  EXPECT_EQ(ports.ports[1], 8081);
  EXPECT_TRUE(ports.any_set);
  ASSERT_EQ(warnings.len, 1u);
  EXPECT_STREQ(warnings.items[0],
               "proxy variable FTP_PROXY=http://proxy.corp:8080 is not a loopback proxy URL "
               "(localhost, 127.0.0.1 or [::1] with a valid port); it opens no network port "
               "(fail closed)");
  csb_strv_free(&warnings);

  const char *none[] = {"PATH=/bin", "http_proxy=", nullptr};
  csb_sbpl_proxy_ports(const_cast<char *const *>(none), &ports, nullptr);
  EXPECT_EQ(ports.n, 0u);
  EXPECT_FALSE(ports.any_set);
  csb_sbpl_proxy_ports(nullptr, &ports, nullptr);
  EXPECT_FALSE(ports.any_set);
}

// ---- denials ------------------------------------------------------------

TEST(Denials, ReadyBanner) {
  EXPECT_TRUE(csb_sbpl_log_is_ready("Filtering the log data using \"x\""));
  EXPECT_FALSE(csb_sbpl_log_is_ready("{\"eventMessage\":\"x\"}"));
}

TEST(Denials, ParseLines) {
  csb_sbpl_denial d;
  std::string line =
      "{\"eventMessage\":\"Sandbox: cat(4242) deny(1) file-read-data /etc/master.passwd\","
      "\"processID\":0}\n";
  ASSERT_TRUE(csb_sbpl_parse_denial(line.data(), line.size(), &d));
  EXPECT_STREQ(d.name, "cat");
  EXPECT_EQ(d.pid, 4242);
  EXPECT_STREQ(d.capability, "file-read-data /etc/master.passwd");
  csb_sbpl_denial_clear(&d);

  // Names may contain parentheses and spaces; the shortest name wins.
  line = "{\"eventMessage\":\"Sandbox:   Python (3)(77) deny(1) network-outbound 1.2.3.4:443\"}";
  ASSERT_TRUE(csb_sbpl_parse_denial(line.data(), line.size(), &d));
  EXPECT_STREQ(d.name, "Python (3)");
  EXPECT_EQ(d.pid, 77);
  EXPECT_STREQ(d.capability, "network-outbound 1.2.3.4:443");
  csb_sbpl_denial_clear(&d);

  for (const char *bad : {
           "",
           "not json",
           "{\"eventMessage\":\"hello\"}",
           "{\"eventMessage\":\"Sandbox: cat(12) allow file-read-data /x\"}",
           "{\"eventMessage\":\"Sandbox: cat(12) deny(1)\"}",
           "{\"eventMessage\":\"Sandbox: (12) deny(1) file-read-data /x\"}",
           "{\"eventMessage\":\"Sandbox: cat(x) deny(1) file-read-data /x\"}",
           "{\"eventMessage\":42}",
           "{\"other\":\"Sandbox: cat(12) deny(1) file-read-data /x\"}",
           "{\"eventMessage\":\"Sandbox: cat(12) deny(1) /x\"",
           // Nothing after the prefix: the name search must not start past the end.
           "{\"eventMessage\":\"Sandbox:\"}",
           "{\"eventMessage\":\"Sandbox:  \\t\"}",
       }) {
    EXPECT_FALSE(csb_sbpl_parse_denial(bad, strlen(bad), &d)) << bad;
  }
}

TEST(Denials, ReportFiltersAndDeduplicates) {
  csb_sbpl_denials c;
  csb_sbpl_denials_init(&c);
  auto add = [&](const char *name, long pid, const char *cap) {
    csb_sbpl_denial r;
    r.name = strdup(name);
    r.pid = pid;
    r.capability = strdup(cap);
    csb_sbpl_denials_add(&c, &r);
  };
  add("cat", 10, "file-read-data /a");
  add("mds", 99, "file-read-data /b");
  add("cat", 11, "file-read-data /a");
  add("sh", 11, "file-write-create /c");
  add("cat", 10, "file-read-data /a");
  long pids[] = {10, 11};
  EXPECT_EQ(Take(csb_sbpl_denials_report(&c, pids, 2)),
            "\n=== Sandbox denials ===\n(cat) file-read-data /a\n(sh) file-write-create /c\n");
  // What the sandboxed command chose (names, paths) cannot forge a line or
  // reach the terminal: controls, C1 and bytes that are not UTF-8 are shown.
  add("e\x1b[2Jvil", 10, "file-read-data /x\n(cat) file-read-data /forged\xc2\x9b" "1m\xff/\xc3\xa9");
  EXPECT_EQ(Take(csb_sbpl_denials_report(&c, pids, 2)),
            "\n=== Sandbox denials ===\n(cat) file-read-data /a\n(sh) file-write-create /c\n"
            "(e\\x1b[2Jvil) file-read-data /x\\x0a(cat) file-read-data /forged\\xc2\\x9b1m\\xff/\xc3\xa9\n");
  long other[] = {5};
  EXPECT_EQ(Take(csb_sbpl_denials_report(&c, other, 1)), "\n=== Sandbox denials ===\nNone found.\n");
  csb_sbpl_denials_free(&c);
}

// ---- host facts ---------------------------------------------------------

TEST(Host, MacosAliasesAreAssumed) {
  const csb_sbpl_host *h = csb_sbpl_host_system(1);
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/tmp")), "/private/tmp");
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/tmp/x/y")), "/private/tmp/x/y");
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/var/folders/ab/T")), "/private/var/folders/ab/T");
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/etc")), "/private/etc");
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/tmpx")), "/tmpx");
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/Users/me")), "/Users/me");
  EXPECT_EQ(Take(csb_sbpl_dealias(h, "/")), "/");
  // /private does not exist here: canonical keeps the dealiased path.
  EXPECT_EQ(Take(csb_sbpl_canonical(h, "/tmp/nope")), "/private/tmp/nope");
}

TEST(Host, SystemFactsOnARealTree) {
  TempDir t;
  t.Mkdir("real");
  t.Mkdir("real/sub");
  t.Symlink(t.path() + "/real", "link");
  const csb_sbpl_host *h = csb_sbpl_host_system(0);
  EXPECT_EQ(h->kind(h->ctx, (t.path() + "/real").c_str()), CSB_SBPL_DIR);
  EXPECT_EQ(h->kind(h->ctx, (t.path() + "/link").c_str()), CSB_SBPL_OTHER);
  EXPECT_EQ(h->kind(h->ctx, (t.path() + "/none").c_str()), CSB_SBPL_MISSING);
  EXPECT_EQ(Take(csb_sbpl_canonical(h, (t.path() + "/link/sub/missing/x").c_str())),
            t.path() + "/real/sub/missing/x");
  EXPECT_EQ(Take(h->realpath(h->ctx, (t.path() + "/missing").c_str())), "<null>");
  char *link = nullptr;
  ASSERT_TRUE(h->nested_symlink(h->ctx, (t.path() + "/link/sub").c_str(), &link, nullptr));
  EXPECT_EQ(Take(link), t.path() + "/link");
  ASSERT_TRUE(h->nested_symlink(h->ctx, (t.path() + "/real/sub").c_str(), &link, nullptr));
  EXPECT_EQ(link, nullptr);
}

TEST(Host, NoneHostKnowsNothing) {
  const csb_sbpl_host *h = csb_sbpl_host_none();
  EXPECT_EQ(Take(csb_sbpl_canonical(h, "/tmp/x")), "/tmp/x");
  EXPECT_EQ(h->kind(h->ctx, "/"), CSB_SBPL_MISSING);
}

// ---- policies -------------------------------------------------------------

struct Gen {
  csb_policy *p = nullptr;
  csb_policy_view *v = nullptr;
  csb_sbpl_profile *prof = nullptr;
  csb_error err;
  ~Gen() {
    csb_sbpl_profile_free(prof);
    csb_policy_view_free(v);
    csb_policy_free(p);
  }
  bool Run(csb_policy *doc, const csb_sbpl_host *h, const csb_sbpl_opts *o = nullptr) {
    csb_policy_canonicalize(doc);
    p = csb_sbpl_policy_dealias(doc, h);
    csb_policy_free(doc);
    csb_error_clear(&err);
    if (!csb_policy_view_build(p, &v, &err)) return false;
    return csb_sbpl_generate(p, v, h, o, &prof, &err);
  }
  std::string Text() const { return prof ? prof->text : ""; }
  std::vector<std::string> Params() const { return Vec(prof->params); }
};

TEST(Policy, DealiasRewritesEveryPath) {
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/tmp/w");
  csb_policy_add_workspace_root(p, "/tmp/w", "cwd");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, "/tmp/w", CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  csb_policy_add_entry(p, "/private/tmp/w", CSB_ACCESS_READ, "/private/tmp/w", 0, 0);
  csb_policy_add_glob(p, "/var/x/**/*.env", "g");
  csb_policy_add_glob(p, "/tm*/y", "g");
  csb_policy_set_unix_socket(p, "/tmp/s.sock", 0);
  csb_policy_set_unix_socket(p, "/private/tmp/s.sock", 1);
  csb_policy_canonicalize(p);
  csb_policy *d = csb_sbpl_policy_dealias(p, csb_sbpl_host_system(1));
  EXPECT_STREQ(d->cwd, "/private/tmp/w");
  EXPECT_STREQ(d->workspace_roots[0].path, "/private/tmp/w");
  ASSERT_EQ(d->n_entries, 3u);
  EXPECT_STREQ(d->entries[0].path, "/");
  EXPECT_STREQ(d->entries[1].path, "/private/tmp/w");
  EXPECT_EQ(d->entries[1].access, CSB_ACCESS_READ);
  EXPECT_STREQ(d->entries[2].path, "/private/tmp/w");
  EXPECT_EQ(d->entries[2].access, CSB_ACCESS_WRITE);
  ASSERT_EQ(d->n_globs, 2u);
  EXPECT_STREQ(d->globs[0].pattern, "/private/var/x/**/*.env");
  EXPECT_STREQ(d->globs[1].pattern, "/tm*/y");
  ASSERT_EQ(d->n_unix_sockets, 1u);
  EXPECT_STREQ(d->unix_sockets[0].path, "/private/tmp/s.sock");
  EXPECT_EQ(d->unix_sockets[0].allow, 0);  // a deny wins
  csb_policy_free(d);
  csb_policy_free(p);
}

// Seatbelt sees /tmp/x as /private/tmp/x: a glob whose form below the
// resolved prefix cannot be built would deny nothing there, so the profile
// is refused.
TEST(Policy, DenyGlobTooLongBelowItsResolvedPrefixIsRefused) {
  std::string pat = "/tmp/" + std::string(60, 'a') + "/";
  for (int i = 0; i < 19; i++) pat += std::string(200, 'b') + "/";
  pat += std::string(202, 'c') + "*.pem";
  ASSERT_EQ(pat.size(), 4092u);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/Users/a/w");
  csb_policy_add_workspace_root(p, "/Users/a/w", "cwd");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, "/tmp", CSB_ACCESS_WRITE, ":slash_tmp", 0, 0);
  csb_policy_add_glob(p, pat.c_str(), "g");
  Gen g;
  EXPECT_FALSE(g.Run(p, csb_sbpl_host_system(1)));
  std::string msg = g.err.msg;
  EXPECT_EQ(msg, "deny-read glob `" + pat + "`: cannot rewrite it below `/private" +
                     pat.substr(0, pat.rfind('/')) + "`, where Seatbelt sees its prefix "
                     "(glob pattern longer than 4096 bytes), so csb-seatbelt would deny "
                     "nothing there; write the glob below that path, shorter");
}

// "/t?p/x" matches /tmp/x, which Seatbelt sees as /private/tmp/x: the glob
// is also denied below /private. Globs that cannot match below an alias
// get no such form.
TEST(Policy, DenyGlobThatMayMatchBelowAnAliasCoversItsTarget) {
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/Users/a/w");
  csb_policy_add_workspace_root(p, "/Users/a/w", "cwd");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, "/tmp", CSB_ACCESS_WRITE, ":slash_tmp", 0, 0);
  csb_policy_add_glob(p, "/t?p/x.key", "g");
  csb_policy_add_glob(p, "/*/y.key", "g");
  csb_policy_add_glob(p, "/Users/*/z.key", "g");
  Gen g;
  ASSERT_TRUE(g.Run(p, csb_sbpl_host_system(1))) << g.err.msg;
  std::string t = g.Text();
  // (In every spelling: see DenyGlobMatchesEverySpelling.)
  for (const char *re :
       {"^/[pP][rR][iI][vV][aA][tT][eE]/[tT]([^/]|\xc5\xbf|\xe2\x84\xaa|\xcd\xbe|\xe1\xbf\xaf)[pP]/"
        "[xX]\\.(k|K|\xe2\x84\xaa)[eE][yY]$",
        "^/[pP][rR][iI][vV][aA][tT][eE]/[^/]*/[yY]\\.(k|K|\xe2\x84\xaa)[eE][yY]$"}) {
    EXPECT_NE(t.find(std::string("(deny file-read* (regex #\"") + re + "\"))"), std::string::npos)
        << re << "\n" << t;
    EXPECT_NE(t.find(std::string("(deny file-write* (regex #\"") + re + "\"))"), std::string::npos)
        << re;
  }
  EXPECT_EQ(t.find("^/[pP][rR][iI][vV][aA][tT][eE]/[uU]"), std::string::npos) << t;
  // A host without aliases needs no second form.
  p = csb_policy_new(CSB_PLATFORM_MACOS, "/Users/a/w");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_glob(p, "/t?p/x.key", "g");
  Gen g2;
  ASSERT_TRUE(g2.Run(p, csb_sbpl_host_none())) << g2.err.msg;
  EXPECT_EQ(g2.Text().find("^/[pP][rR][iI][vV]"), std::string::npos);
}

// On a case-insensitive volume a deny glob denies every spelling of the
// names it matches: literal letters and classes gain the other case, `?`
// the characters outside ASCII that stand for one ASCII character, and
// what it matches cannot run either. A glob with a character outside
// ASCII that does not fold to ASCII cannot be spelled so: refused.
TEST(Policy, DenyGlobMatchesEverySpelling) {
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/w");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_glob(p, "/w/[a-c]?x/[!a]", "g");
  Gen g;
  ASSERT_TRUE(g.Run(p, csb_sbpl_host_none())) << g.err.msg;
  std::string t = g.Text();
  std::string re =
      "^/[wW]/[A-Ca-c]([^/]|\xc5\xbf|\xe2\x84\xaa|\xcd\xbe|\xe1\xbf\xaf)[xX]/"
      "([^/]|\xc5\xbf|\xe2\x84\xaa|\xcd\xbe|\xe1\xbf\xaf)$";
  for (const char *op : {"file-read*", "file-write*", "process-exec"})
    EXPECT_NE(t.find(std::string("(deny ") + op + " (regex #\"" + re + "\"))"), std::string::npos)
        << op << "\n" << t;
  for (const char *pat : {"/w/caf\xc3\xa9/*", "/w/[\xc3\xa9]"}) {
    p = csb_policy_new(CSB_PLATFORM_MACOS, "/w");
    csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
    csb_policy_add_glob(p, pat, "g");
    Gen g2;
    EXPECT_FALSE(g2.Run(p, csb_sbpl_host_none())) << pat;
    EXPECT_NE(std::string(g2.err.msg).find("non-ASCII"), std::string::npos) << g2.err.msg;
  }
}

TEST(Policy, RefusesOtherPlatformsAndDisabledEnforcement) {
  Gen g;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, "/w");
  EXPECT_FALSE(g.Run(p, csb_sbpl_host_none()));
  EXPECT_STREQ(g.err.msg,
               "the policy was resolved for platform `linux`; csb-seatbelt enforces macOS "
               "policies only (resolve it on the Mac with csb-resolve)");
  Gen g2;
  p = csb_policy_new(CSB_PLATFORM_MACOS, "/w");
  p->enforcement = CSB_ENFORCE_DISABLED;
  EXPECT_FALSE(g2.Run(p, csb_sbpl_host_none()));
  EXPECT_STREQ(g2.err.msg,
               "enforcement is `disabled` (no sandbox): there is no Seatbelt profile to build");
}

// A missing carve-out's name is spelled in every way a case-insensitive
// volume takes it; each `ss` run doubles the spellings, so a name of many
// stops early and refuses the policy instead of growing without bound.
TEST(Policy, MissingCarveOutWithTooManySpellingsIsRefused) {
  Gen g;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/nonexistent-csb/r");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, "/nonexistent-csb/r", CSB_ACCESS_WRITE, "r", 0, 0);
  std::string ro = "/nonexistent-csb/r/" + std::string(250, 's');
  csb_policy_add_entry(p, ro.c_str(), CSB_ACCESS_READ, "ro", 0, 0);
  EXPECT_FALSE(g.Run(p, csb_sbpl_host_none()));
  EXPECT_NE(strstr(g.err.msg, "non-ASCII (or overlong) name"), nullptr) << g.err.msg;
}

TEST(Policy, NestedWritableRootsKeepInnerCarveOuts) {
  Gen g;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/nonexistent-csb/r");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, "/nonexistent-csb/r", CSB_ACCESS_WRITE, "r", 0, 0);
  csb_policy_add_entry(p, "/nonexistent-csb/r/a/s", CSB_ACCESS_WRITE, "s", 0, 0);
  csb_policy_add_entry(p, "/nonexistent-csb/r/a/s/ro", CSB_ACCESS_READ, "ro", 0, 0);
  ASSERT_TRUE(g.Run(p, csb_sbpl_host_none())) << g.err.msg;
  std::string t = g.Text();
  // The outer root excludes the inner root's .git by regex.
  EXPECT_NE(t.find("(require-not (regex #\"^/nonexistent-csb/r/a/s/\\.[gG][iI][tT](/.*)?$\"))"),
            std::string::npos)
      << t;
  std::vector<std::string> want = {
      "WRITABLE_ROOT_0=/nonexistent-csb/r",
      "WRITABLE_ROOT_0_EXCLUDED_0=/nonexistent-csb/r/.codex",
      "WRITABLE_ROOT_0_EXCLUDED_1=/nonexistent-csb/r/.csb",
      "WRITABLE_ROOT_0_EXCLUDED_2=/nonexistent-csb/r/a/s/ro",
      "WRITABLE_ROOT_1=/nonexistent-csb/r/a/s",
      "WRITABLE_ROOT_1_EXCLUDED_0=/nonexistent-csb/r/a/s/ro",
      "PROTECTED_ANCESTOR_0=/nonexistent-csb/r",
      "PROTECTED_ANCESTOR_1=/nonexistent-csb/r/a",
      "PROTECTED_ANCESTOR_2=/nonexistent-csb/r/a/s",
  };
  EXPECT_EQ(g.Params(), want);
}

TEST(Policy, SymlinkedWritableRootIsRefused) {
  TempDir t;
  t.Mkdir("real");
  t.Symlink(t.path() + "/real", "link");
  Gen g;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, t.path().c_str());
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, (t.path() + "/link").c_str(), CSB_ACCESS_WRITE, "x", 0, 0);
  EXPECT_FALSE(g.Run(p, csb_sbpl_host_system(0)));
  std::string want = "writable root `" + t.path() + "/link` contains the symlink `" + t.path() +
                     "/link`: Seatbelt checks the resolved path of every access, so "
                     "csb-seatbelt refuses symlinked writable roots; write the resolved path `" +
                     t.path() + "/real` in the configuration instead";
  EXPECT_EQ(std::string(g.err.msg), want);
}

TEST(Policy, ArgvShape) {
  Gen g;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/nonexistent-csb");
  csb_policy_add_entry(p, "/nonexistent-csb/w", CSB_ACCESS_WRITE, "w", 0, 0);
  ASSERT_TRUE(g.Run(p, csb_sbpl_host_none())) << g.err.msg;
  csb_strv argv;
  csb_strv_init(&argv);
  char *cmd[] = {const_cast<char *>("ls"), const_cast<char *>("-l"), nullptr};
  csb_sbpl_argv(g.prof, cmd, &argv);
  std::vector<std::string> a = Vec(argv);
  ASSERT_GE(a.size(), 6u);
  EXPECT_EQ(a[0], "/usr/bin/sandbox-exec");
  EXPECT_EQ(a[1], "-p");
  EXPECT_EQ(a[2], g.Text());
  EXPECT_EQ(a[3], "-DREADABLE_ROOT_0=/nonexistent-csb/w");
  EXPECT_EQ(a[a.size() - 3], "--");
  EXPECT_EQ(a[a.size() - 1], "-l");
  csb_strv_free(&argv);
}

TEST(Denials, FuzzEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "{\"eventMessage\":\"Sandbox: cat(123) deny(1) file-read-data /etc/passwd\",\"processID\":0}\n",
      "Sandbox: my (weird) app(42) deny(1) network-outbound 1.2.3.4:443\r\n",
      "Sandbox:bash(7)\tdeny(2)   file-write-create /tmp/x(1) deny(1)",
      "Sandbox:",
      "Filtering the log data using \"x\"",
  };
  csbtest::MutateOptions o;
  o.rounds = 3000;
  o.seed = 5;
  o.alphabet = "() :0123456789deny\t\r\n\"\\{}";
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
  o.alphabet.clear();
  o.seed = 6;
  csbtest::ForEachMutation(seeds, o, LLVMFuzzerTestOneInput);
}

}  // namespace
