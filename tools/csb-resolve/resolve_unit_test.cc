// Unit tests for csb-resolve's input readers that run without a process:
// `-c KEY=VALUE` overrides (config.c) and the requirements file
// (requirements.c), with replays of their fuzz entry points.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

extern "C" {
#include "resolve.h"
int csb_fuzz_override_one(const uint8_t *data, size_t size);
int csb_fuzz_requirements_one(const uint8_t *data, size_t size);
}

#include "tests/lib/mutate.h"

namespace {

// The override's tree as "k1.k2.k3 = KIND" (keys joined with '.').
std::string Shape(const char *arg, std::string *err = nullptr) {
  csb_toml_value *t = nullptr;
  csb_error e;
  csb_error_clear(&e);
  if (!rs_parse_override(arg, &t, nullptr, &e)) {
    if (err) *err = e.msg;
    return "<refused>";
  }
  std::string keys;
  const csb_toml_value *cur = t;
  for (;;) {
    size_t kl = 0;
    const char *k = csb_toml_table_key_at(cur, 0, &kl);
    if (!keys.empty()) keys += '|';
    keys.append(k, kl);
    const csb_toml_value *next = csb_toml_table_value_at(cur, 0);
    if (csb_toml_value_kind(next) != CSB_TOML_TABLE || csb_toml_table_len(next) != 1 ||
        std::string(k, kl) == "t") {
      size_t sl = 0;
      const char *s = csb_toml_as_string(next, &sl);
      keys += " = ";
      keys += s ? "\"" + std::string(s, sl) + "\"" : csb_toml_kind_name(csb_toml_value_kind(next));
      break;
    }
    cur = next;
  }
  csb_toml_value_free(t);
  return keys;
}

TEST(Override, KeysSplitOnEveryDotAndValuesParseAsTomlElseString) {
  EXPECT_EQ(Shape("a.b.c=1"), "a|b|c = integer");
  EXPECT_EQ(Shape("  sandbox_mode\t= read-only "), "sandbox_mode = \"read-only\"");
  EXPECT_EQ(Shape("x='quoted'"), "x = \"quoted\"");
  EXPECT_EQ(Shape("x=\"unterminated"), "x = \"\"unterminated\"");
  EXPECT_EQ(Shape("x=[1, 2]"), "x = array");
  EXPECT_EQ(Shape("x.t={a=1}"), "x|t = table");
  EXPECT_EQ(Shape("use_legacy_landlock=true"), "features|use_legacy_landlock = bool");
  // No quoting in keys (as upstream): quotes are part of the names and
  // every '.' splits, also inside them; empty parts are kept.
  EXPECT_EQ(Shape("a.\"b.c\"=1"), "a|\"b|c\" = integer");
  EXPECT_EQ(Shape("a..b=1"), "a||b = integer");
  EXPECT_EQ(Shape("k=a=b"), "k = \"a=b\"");
  std::string err;
  EXPECT_EQ(Shape("novalue", &err), "<refused>");
  EXPECT_EQ(err, "invalid -c override `novalue`: expected KEY=VALUE");
  EXPECT_EQ(Shape(" \t=1", &err), "<refused>");
  EXPECT_EQ(err, "invalid -c override ` \t=1`: empty key");
  std::string deep(CSB_TOML_MAX_DEPTH, '.');
  EXPECT_EQ(Shape((deep + "=1").c_str(), &err), "<refused>");
  EXPECT_EQ(err, "invalid -c override: key has more than 128 parts");
  EXPECT_NE(Shape((deep.substr(1) + "=1").c_str()), "<refused>");
}

TEST(Override, KeyPositionsCountCharactersOfTheArgument) {
  csb_toml_value *t = nullptr;
  csb_error e;
  size_t parts = 0;
  ASSERT_TRUE(rs_parse_override(" \xc3\xa9t\xc3\xa9.b=1", &t, &parts, &e));
  EXPECT_EQ(parts, 2u);
  csb_toml_pos p = csb_toml_table_key_pos_at(t, 0);
  EXPECT_EQ(p.col, 2);
  EXPECT_EQ(p.end_col, 4);
  const csb_toml_value *inner = csb_toml_table_value_at(t, 0);
  p = csb_toml_table_key_pos_at(inner, 0);
  EXPECT_EQ(p.col, 6);
  EXPECT_EQ(p.end_col, 6);
  p = csb_toml_value_pos(csb_toml_table_value_at(inner, 0));
  EXPECT_EQ(p.col, 8);
  csb_toml_value_free(t);
}

// `use_legacy_landlock` stands for `features.use_legacy_landlock`: both
// parts point at the key as written, not past the end of the argument
// (found by fuzz_override).
TEST(Override, RenamedKeyPointsAtTheWrittenKey) {
  csb_toml_value *t = nullptr;
  csb_error e;
  size_t parts = 0;
  ASSERT_TRUE(rs_parse_override(" use_legacy_landlock=1", &t, &parts, &e));
  EXPECT_EQ(parts, 2u);
  csb_toml_pos p = csb_toml_table_key_pos_at(t, 0);
  EXPECT_EQ(p.col, 2);
  EXPECT_EQ(p.end_col, 20);
  const csb_toml_value *features = csb_toml_table_value_at(t, 0);
  p = csb_toml_table_key_pos_at(features, 0);
  EXPECT_EQ(p.col, 2);
  EXPECT_EQ(p.end_col, 20);
  EXPECT_EQ(csb_toml_value_pos(csb_toml_table_value_at(features, 0)).col, 22);
  csb_toml_value_free(t);
}

TEST(Override, FuzzEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "sandbox_mode=workspace-write",
      "permissions.ci.filesystem={\":root\"=\"read\",\"/srv/out\"=\"write\"}",
      "default_permissions=ci",
      " use_legacy_landlock = true ",
      "sandbox_workspace_write.writable_roots=[\"/a\", '/b']",
      "projects.\"/w\".trust_level='trusted'",
      "x=\"\xc3\xa9\\u0000\"",
      "a.b=[1,\n2]",
  };
  csbtest::MutateOptions o;
  o.rounds = 600;
  o.seed = 21;
  o.alphabet = "=.\"'[]{}, \t\n#01az:\\";
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_override_one), 4000u);
}

struct Req {
  int rc;
  std::string msg;
  std::vector<std::string> modes, deny;
};

Req ReadRequirements(const std::string &text, csb_path_style st = CSB_PATH_POSIX,
                     const char *home = "/home/u") {
  rs_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.style = st;
  ctx.cwd = const_cast<char *>(st == CSB_PATH_POSIX ? "/w" : "C:\\w");
  ctx.home = const_cast<char *>(home);
  rs_requirements r;
  memset(&r, 0, sizeof(r));
  r.path = strdup(st == CSB_PATH_POSIX ? "/etc/csb/requirements.toml"
                                       : "C:\\ProgramData\\csb\\requirements.toml");
  csb_buf msg = {nullptr, 0, 0};
  Req out;
  out.rc = rs_requirements_parse(&ctx, text.data(), text.size(), &r, &msg);
  out.msg = msg.data ? msg.data : "";
  for (size_t i = 0; i < r.modes_order.len; i++) out.modes.push_back(r.modes_order.items[i]);
  for (size_t i = 0; i < r.deny_read.len; i++) out.deny.push_back(r.deny_read.items[i]);
  csb_buf_free(&msg);
  rs_requirements_free(&r);
  return out;
}

TEST(Requirements, ModesAndDenyRead) {
  Req r = ReadRequirements(
      "allowed_sandbox_modes = [\"workspace-write\", \"read-only\", \"workspace-write\"]\n"
      "[permissions.filesystem]\n"
      "deny_read = [\"secrets\", \"~/.ssh\", \"/etc/../etc/shadow\", \"/srv/*/key\", \"*.pem\", "
      "\"/etc/shadow\"]\n");
  ASSERT_EQ(r.rc, 0) << r.msg;
  EXPECT_EQ(r.modes, (std::vector<std::string>{"WorkspaceWrite", "ReadOnly"}));
  // Each entry after its kind: G pattern, P path.
  EXPECT_EQ(r.deny, (std::vector<std::string>{"G/etc/csb/*.pem", "G/srv/*/key", "P/etc/csb/secrets",
                                              "P/etc/shadow", "P/home/u/.ssh"}));
  r = ReadRequirements("[permissions.filesystem]\ndeny_read = ['c:/x/../y', 'z\\*', '\\\\?\\C:\\v*']\n",
                       CSB_PATH_WINDOWS, nullptr);
  ASSERT_EQ(r.rc, 0) << r.msg;
  EXPECT_EQ(r.deny, (std::vector<std::string>{"GC:\\ProgramData\\csb\\z\\*", "GC:\\v*", "PC:\\y"}));
  // The home is a path: its `[1]` is matched literally in a pattern and
  // does not make a plain entry a pattern.
  r = ReadRequirements("[permissions.filesystem]\ndeny_read = ['~/s', '~/k/*.pem']\n", CSB_PATH_POSIX,
                       "/home/u[1]");
  ASSERT_EQ(r.rc, 0) << r.msg;
  EXPECT_EQ(r.deny, (std::vector<std::string>{"G/home/u\\[1\\]/k/*.pem", "P/home/u[1]/s"}));
  r = ReadRequirements("[permissions.filesystem]\ndeny_read = ['~\\s', '~\\k\\*.pem']\n",
                       CSB_PATH_WINDOWS, "C:\\Users\\u[1]");
  ASSERT_EQ(r.rc, 0) << r.msg;
  EXPECT_EQ(r.deny, (std::vector<std::string>{"GC:\\Users\\u[[]1[]]\\k\\*.pem", "PC:\\Users\\u[1]\\s"}));
}

TEST(Requirements, Errors) {
  Req r = ReadRequirements("allowed_sandbox_modes = [\"workspace-write\"]\n");
  EXPECT_EQ(r.rc, CSB_EXIT_CONFIG);
  EXPECT_EQ(r.msg,
            "/etc/csb/requirements.toml: invalid value for `allowed_sandbox_modes`: the allowed set "
            "must include 'read-only' to allow any PermissionProfile");
  r = ReadRequirements("allowed_sandbox_modes = [\"read-only\", \"yolo\"]\n");
  EXPECT_EQ(r.msg,
            "/etc/csb/requirements.toml: invalid value for `allowed_sandbox_modes`: unknown sandbox "
            "mode `yolo`");
  r = ReadRequirements("x = [\n");
  EXPECT_EQ(r.rc, CSB_EXIT_DATA);
  EXPECT_EQ(r.msg.rfind("/etc/csb/requirements.toml:1:5: ", 0), 0u) << r.msg;
  r = ReadRequirements("[permissions.filesystem]\ndeny_read = [\"~/x\"]\n", CSB_PATH_POSIX, nullptr);
  EXPECT_EQ(r.rc, CSB_EXIT_CONFIG);
  EXPECT_NE(r.msg.find("it needs a home directory, but HOME is not set"), std::string::npos) << r.msg;
  r = ReadRequirements("[experimental_network]\n");
  EXPECT_EQ(r.rc, CSB_EXIT_CONFIG);
  r = ReadRequirements("k = \"a\\u0000b\"\n");
  EXPECT_EQ(r.rc, CSB_EXIT_CONFIG);
  EXPECT_NE(r.msg.find(RS_NUL_MESSAGE), std::string::npos);
}

TEST(Requirements, FuzzEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n",
      "[permissions.filesystem]\ndeny_read = [\"~/.ssh\", \"secrets/*.key\", \"/etc/shadow\", "
      "\"C:\\\\Users\\\\*\\\\.aws\", \"\\\\\\\\?\\\\C:\\\\x\"]\n",
      "allowed_sandbox_modes = [\"read-only\"]\n[permissions.filesystem]\ndeny_read = []\n",
      "[permissions.filesystem]\ndescription = \"x\"\n",
      "remote_sandbox_config = {}\n",
  };
  csbtest::MutateOptions o;
  o.rounds = 500;
  o.seed = 3;
  o.alphabet = "[]=\"'.,~/\\*?:\n acdor";
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_requirements_one), 2000u);
}

}  // namespace

namespace {

// The rules a `[permissions.<id>.filesystem]` table (TOML text) compiles
// to, as "KIND ACCESS ARG" lines, or "error: MESSAGE".
std::string Rules(csb_path_style style, const char *toml) {
  rs_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.style = style;
  ctx.cwd = strdup(style == CSB_PATH_WINDOWS ? "C:\\repo" : "/repo");
  ctx.home = strdup(style == CSB_PATH_WINDOWS ? "C:\\Users\\u" : "/home/u");
  csb_toml_value *fs = nullptr;
  csb_error e;
  csb_error_clear(&e);
  EXPECT_TRUE(csb_toml_parse(toml, strlen(toml), &fs, &e)) << e.msg;
  rs_rules rules = {nullptr, 0, 0};
  csb_strv warnings;
  csb_strv_init(&warnings);
  int depth = 0;
  std::string out;
  if (!rs_compile_filesystem(&ctx, "p", fs, &rules, &depth, &warnings, &e)) {
    out = std::string("error: ") + e.msg;
  } else {
    for (size_t i = 0; i < rules.len; i++) {
      const rs_rule *r = &rules.items[i];
      out += std::to_string((int)r->kind) + " " + csb_access_name(r->access) + " " +
             (r->arg ? r->arg : "-") + "\n";
    }
  }
  rs_rules_free(&rules);
  csb_strv_free(&warnings);
  csb_toml_value_free(fs);
  free(ctx.cwd);
  free(ctx.home);
  return out;
}

TEST(Filesystem, WindowsSubpathsStayUnderTheirKey) {
  // A subpath starting with a drive named a path on that drive (`D:\x`,
  // which the join took as absolute) or kept the drive in a component.
  const std::string refused =
      "error: filesystem subpath `%s` must be a descendant path without `.` or `..` components";
  auto err = [&](const char *sub) {
    std::string m = refused;
    return m.replace(m.find("%s"), 2, sub);
  };
  EXPECT_EQ(Rules(CSB_PATH_WINDOWS, "\"C:\\\\data\" = { \"D:\\\\x\" = \"write\" }\n"),
            err("D:\\x"));
  EXPECT_EQ(Rules(CSB_PATH_WINDOWS, "\"C:\\\\data\" = { \"a:b\" = \"write\" }\n"), err("a:b"));
  EXPECT_EQ(Rules(CSB_PATH_WINDOWS, "\":workspace_roots\" = { \"D:\\\\x\" = \"write\" }\n"),
            err("D:\\x"));
  EXPECT_EQ(Rules(CSB_PATH_WINDOWS, "\":workspace_roots\" = { \"D:x\" = \"write\" }\n"), err("D:x"));
  EXPECT_EQ(Rules(CSB_PATH_WINDOWS, "\"C:\\\\data\" = { \"D:\\\\*.key\" = \"deny\" }\n"),
            err("D:\\*.key"));
  // Not a drive: a name holding ':' further on, and POSIX names.
  EXPECT_EQ(Rules(CSB_PATH_WINDOWS, "\"C:\\\\data\" = { \"ab:c\" = \"write\" }\n"),
            "0 write C:\\data\\ab:c\n");
  EXPECT_EQ(Rules(CSB_PATH_POSIX, "\"/data\" = { \"D:x\" = \"write\" }\n"), "0 write /data/D:x\n");
}

}  // namespace
