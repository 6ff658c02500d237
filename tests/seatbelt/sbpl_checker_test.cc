// sbpl_checker_test.cc - the SBPL checker rejects what it must, and every
// profile in the golden suite passes it (with its -D parameters).
#include <dirent.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sbpl_eval.h"

namespace {

std::string Check(const std::string &text, const std::vector<std::string> &params, bool use_params = true) {
  char err[1024] = "";
  sbpl_program *p = sbpl_parse(text.c_str(), err, sizeof err);
  if (!p) return std::string("parse: ") + err;
  std::vector<const char *> pv;
  for (const auto &s : params) pv.push_back(s.c_str());
  static const char *const kNone[1] = {nullptr};
  const char *const *pp = pv.empty() ? kNone : pv.data();
  int ok = sbpl_check(p, use_params ? pp : nullptr, pv.size(), err, sizeof err);
  sbpl_free(p);
  return ok ? "ok" : std::string("check: ") + err;
}

const char *kHead = "(version 1)\n(deny default)\n";

TEST(Checker, AcceptsTheShapesWeEmit) {
  std::string t = std::string(kHead) +
                  ";; file writes\n"
                  "(allow file-write*\n"
                  "  (require-all (subpath (param \"W\"))\n"
                  "    (require-not (literal (param \"X\")))\n"
                  "    (require-not (regex #\"^/r/\\.git(/.*)?$\"))))\n"
                  "(deny file-write-unlink (require-all (literal (param \"W\")) (vnode-type DIRECTORY)))\n"
                  "(deny file-read* (regex \"^/a\\\"b$\"))\n"
                  "(allow network-outbound (remote ip \"localhost:3128\"))\n"
                  "(allow network-bind (local unix-socket (subpath (param \"U\"))))\n"
                  "(allow system-socket (require-all (socket-domain AF_SYSTEM) (socket-protocol 2)))\n";
  EXPECT_EQ(Check(t, {"W=/r", "X=/r/.git", "U=/s"}), "ok");
}

TEST(Checker, RejectsBrokenProfiles) {
  struct {
    std::string body, want;
  } cases[] = {
      {"(allow file-read*", "parse: line 3: unbalanced '(' (list never closed)"},
      {"(allow file-read*))", "parse: line 3: unbalanced ')'"},
      {"(allow file-raed*)", "check: line 3: unknown operation `file-raed*`"},
      {"(allow file-read* (sub-path \"/x\"))", "check: line 3: unknown filter `sub-path`"},
      {"(allow file-read* (regex #\"^/a[$\"))", "check: line 3: regex `^/a[$` does not compile as a POSIX ERE"},
      {"(allow file-read* (literal (param \"NOPE\")))", "check: line 3: undefined parameter `NOPE`"},
      {"(allow file-read* (literal \"relative\"))", "check: line 3: path literal `relative` is not absolute"},
      {"(allow (literal \"/x\"))", "check: line 3: rule without an operation"},
      {"(allow network-outbound (remote ip \"example.com:80\"))", "check: line 3: bad address `example.com:80`"},
      {"(allow file-read* (require-not (literal \"/a\") (literal \"/b\")))",
       "check: line 3: (require-not) takes one filter"},
      {"(frobnicate)", "check: line 3: top-level form is not allow/deny"},
      {"(allow file-read* (regex \"a\\qb\"))", "parse: line 3: unknown escape in string"},
  };
  for (const auto &c : cases) EXPECT_EQ(Check(std::string(kHead) + c.body + "\n", {}), c.want) << c.body;
  EXPECT_EQ(Check("(deny default)\n", {}), "check: the profile must start with (version 1)");
  EXPECT_EQ(Check("(version 1)\n(allow default)\n", {}), "check: the second form must be (deny default)");
  EXPECT_EQ(Check(std::string(kHead) + "(allow file-read*)\n", {"UNUSED=/x"}),
            "check: parameter `UNUSED=/x` is never used");
}

TEST(Interpreter, LastMatchWinsAndFilters) {
  std::string t = std::string(kHead) +
                  "(allow file-read* (subpath \"/r\"))\n"
                  "(deny file-read* (regex #\"^/r/s(/.*)?$\"))\n"
                  "(allow file-read-data (literal \"/r/s/ok\"))\n"
                  ";; platform defaults\n"
                  "(allow file-write* (require-all (subpath (param \"W\")) (require-not (subpath \"/w/ro\"))))\n"
                  "(deny file-write-unlink (require-all (literal (param \"W\")) (vnode-type DIRECTORY)))\n";
  char err[256];
  sbpl_program *p = sbpl_parse(t.c_str(), err, sizeof err);
  ASSERT_NE(p, nullptr) << err;
  const char *params[] = {"W=/w"};
  struct {
    const char *op, *path, *vnode;
    int allowed;
  } cases[] = {
      {"file-read-data", "/r/x", "REGULAR-FILE", 1},
      {"file-read-metadata", "/r", "DIRECTORY", 1},
      {"file-read-data", "/rx", "REGULAR-FILE", 0},
      {"file-read-data", "/r/s/t", "REGULAR-FILE", 0},
      {"file-read-data", "/r/s/ok", "REGULAR-FILE", 1},
      {"file-read-metadata", "/r/s/ok", "REGULAR-FILE", 0},
      {"file-write-data", "/w/a", "REGULAR-FILE", 1},
      {"file-write-data", "/w/ro/a", "REGULAR-FILE", 0},
      {"file-write-unlink", "/w", "DIRECTORY", 0},
      {"file-write-unlink", "/w", "REGULAR-FILE", 1},
      {"file-write-unlink", "/w/a", "DIRECTORY", 1},
  };
  for (const auto &c : cases) {
    sbpl_decision d;
    sbpl_decide(p, params, 1, c.op, c.path, c.vnode, &d);
    EXPECT_EQ(d.allowed, c.allowed) << c.op << " " << c.path;
  }
  sbpl_decision d;
  sbpl_decide(p, params, 1, "file-write-data", "/w/a", "REGULAR-FILE", &d);
  EXPECT_STREQ(d.section, "platform defaults");
  sbpl_decide(p, params, 1, "file-read-data", "/nowhere", "REGULAR-FILE", &d);
  EXPECT_EQ(d.rule, -1);
  sbpl_free(p);
}

// ---- the golden profiles -------------------------------------------------

std::string CasesDir() {
  const char *src = getenv("TEST_SRCDIR");
  const char *ws = getenv("TEST_WORKSPACE");
  return std::string(src ? src : ".") + "/" + (ws ? ws : "csb") + "/tests/seatbelt/cases";
}

// The body of `--- name` in a case file ("" when absent).
std::string Section(const std::string &text, const std::string &name) {
  std::string marker = "--- " + name + "\n";
  size_t at = text.find(marker);
  if (at == std::string::npos || (at > 0 && text[at - 1] != '\n')) return "";
  size_t start = at + marker.size();
  size_t end = text.find("\n--- ", start - 1);
  return text.substr(start, end == std::string::npos ? std::string::npos : end + 1 - start);
}

TEST(Goldens, EveryProfilePassesTheChecker) {
  DIR *d = opendir(CasesDir().c_str());
  ASSERT_NE(d, nullptr) << CasesDir();
  int profiles = 0;
  size_t regexes = 0;
  struct dirent *e;
  while ((e = readdir(d)) != nullptr) {
    std::string name = e->d_name;
    if (name.size() < 6 || name.substr(name.size() - 5) != ".case") continue;
    std::ifstream in(CasesDir() + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    std::string profile = Section(text, "profile");
    if (profile.empty()) continue;
    std::vector<std::string> params;
    std::istringstream argv(Section(text, "argv"));
    std::string line;
    while (std::getline(argv, line))
      if (line.rfind("\"-D", 0) == 0) params.push_back(line.substr(3, line.size() - 4));
    char err[1024] = "";
    sbpl_program *p = sbpl_parse(profile.c_str(), err, sizeof err);
    ASSERT_NE(p, nullptr) << name << ": " << err;
    std::vector<const char *> pv;
    for (const auto &s : params) pv.push_back(s.c_str());
    EXPECT_TRUE(sbpl_check(p, pv.data(), pv.size(), err, sizeof err)) << name << ": " << err;
    regexes += sbpl_regex_count(p);
    sbpl_free(p);
    profiles++;
  }
  closedir(d);
  printf("%d golden profiles, %zu regex literals checked\n", profiles, regexes);
  EXPECT_GE(profiles, 40);
}

}  // namespace
