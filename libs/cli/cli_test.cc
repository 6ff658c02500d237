// Unit tests for libs/cli.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csb_cli.h"

namespace {

enum { OPT_POLICY = 1, OPT_VERBOSE, OPT_CD, OPT_DRY, OPT_ADD };

const csb_cli_opt kOpts[] = {
    {"policy", 'p', CSB_ARG_REQUIRED, OPT_POLICY, "FILE", "policy document"},
    {"verbose", 'v', CSB_ARG_NONE, OPT_VERBOSE, nullptr, "more output"},
    {"cd", 'C', CSB_ARG_REQUIRED, OPT_CD, "DIR", "working directory"},
    {"dry-run", 0, CSB_ARG_NONE, OPT_DRY, nullptr, "do nothing"},
    {"add", 'a', CSB_ARG_LIST, OPT_ADD, "X", "add X (repeatable)"},
    {nullptr, 0, CSB_ARG_NONE, 0, nullptr, nullptr},
};

// Holds argv storage for the lifetime of a test.
struct Argv {
  std::vector<std::string> store;
  std::vector<char *> ptrs;
  explicit Argv(std::vector<std::string> a) : store(std::move(a)) {
    for (auto &s : store) ptrs.push_back(&s[0]);
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(store.size()); }
  char **argv() { return ptrs.data(); }
};

// Captures what a callable writes to fd `fd`.
template <typename F>
std::string Capture(int fd, F f) {
  char path[] = "/tmp/csb-cli-test-XXXXXX";
  int tmp = mkstemp(path);
  EXPECT_GE(tmp, 0);
  unlink(path);
  fflush(stdout);
  int saved = dup(fd);
  dup2(tmp, fd);
  f();
  fflush(stdout);
  dup2(saved, fd);
  close(saved);
  std::string out;
  lseek(tmp, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = read(tmp, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(tmp);
  return out;
}

struct Parsed {
  std::vector<std::pair<int, std::string>> items;
  int last = 0;
  std::vector<std::string> rest;
  int has_dashdash = 0;
  int exit_code = -1;
};

Parsed ParseAll(std::vector<std::string> args) {
  Argv a(std::move(args));
  csb_cli cli;
  csb_cli_init(&cli, "csb-test", "csb-test [OPTIONS] -- CMD...", "Tests.", kOpts, a.argc(),
               a.argv());
  Parsed p;
  for (;;) {
    const char *arg = nullptr;
    int id = csb_cli_next(&cli, &arg);
    p.last = id;
    if (id == CSB_CLI_END || id == CSB_CLI_STOP) break;
    p.items.emplace_back(id, arg ? arg : "<null>");
  }
  if (p.last == CSB_CLI_STOP) p.exit_code = cli.exit_code;
  for (int i = 0; i < cli.rest_argc; i++) p.rest.push_back(cli.rest_argv[i]);
  EXPECT_EQ(cli.rest_argv[cli.rest_argc], nullptr);
  p.has_dashdash = cli.has_dashdash;
  return p;
}

TEST(Cli, LongShortAndPositionals) {
  Parsed p;
  std::string err = Capture(2, [&] {
    p = ParseAll({"t", "--add", "a", "x", "-v", "--cd=/tmp", "-ab", "-vpP", "--add=c",
                  "--dry-run", "y"});
  });
  EXPECT_EQ(err, "");
  ASSERT_EQ(p.last, CSB_CLI_END);
  std::vector<std::pair<int, std::string>> want = {
      {OPT_ADD, "a"},      {CSB_CLI_POSITIONAL, "x"}, {OPT_VERBOSE, "<null>"},
      {OPT_CD, "/tmp"},    {OPT_ADD, "b"},            {OPT_VERBOSE, "<null>"},
      {OPT_POLICY, "P"},   {OPT_ADD, "c"},            {OPT_DRY, "<null>"},
      {CSB_CLI_POSITIONAL, "y"},
  };
  EXPECT_EQ(p.items, want);
  EXPECT_TRUE(p.rest.empty());
  EXPECT_EQ(p.has_dashdash, 0);
}

// Which of two policies was meant? A single-valued option given twice is
// refused, however each occurrence is spelled; flags may repeat.
TEST(Cli, SingleValuedOptionsGivenTwiceAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"t", "--policy", "a.json", "--policy", "b.json"},
      {"t", "--policy=a.json", "-pb.json"},
      {"t", "-p", "a.json", "-v", "x", "--policy", "b.json"},
      {"t", "-vpa.json", "--policy=b.json", "--", "cmd"},
  };
  for (const auto &args : cases) {
    Parsed p;
    std::string err = Capture(2, [&] { p = ParseAll(args); });
    EXPECT_EQ(p.last, CSB_CLI_STOP) << args[1];
    EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE) << args[1];
    EXPECT_EQ(err, "csb-test: error: option '--policy' given twice ('a.json', then 'b.json'); "
                   "give it once\nTry 'csb-test --help'.\n");
    // Nothing after the second occurrence was handed out.
    for (const auto &item : p.items) EXPECT_NE(item.second, "b.json");
  }
  // The same value twice is still two occurrences.
  Parsed p;
  std::string err = Capture(2, [&] { p = ParseAll({"t", "-C", "/d", "-C", "/d"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_NE(err.find("option '--cd' given twice ('/d', then '/d')"), std::string::npos) << err;
  // Flags and list options repeat; a parser started afresh forgets.
  err = Capture(2, [&] { p = ParseAll({"t", "-vv", "--verbose", "-a1", "-a", "1", "--add=1", "-p", "x"}); });
  EXPECT_EQ(err, "");
  ASSERT_EQ(p.last, CSB_CLI_END);
  EXPECT_EQ(p.items.size(), 7u);
  err = Capture(2, [&] { p = ParseAll({"t", "-p", "x"}); });
  EXPECT_EQ(err, "");
  EXPECT_EQ(p.last, CSB_CLI_END);
}

TEST(Cli, DashDashStopsParsing) {
  Parsed p = ParseAll({"t", "-v", "--", "cmd", "--policy", "-v", "--"});
  ASSERT_EQ(p.last, CSB_CLI_END);
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.rest, (std::vector<std::string>{"cmd", "--policy", "-v", "--"}));
  EXPECT_EQ(p.has_dashdash, 1);
}

TEST(Cli, LoneDashIsPositional) {
  Parsed p = ParseAll({"t", "-"});
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].first, CSB_CLI_POSITIONAL);
  EXPECT_EQ(p.items[0].second, "-");
}

TEST(Cli, UnknownOptionsAreUsageErrors) {
  Parsed p;
  std::string err = Capture(2, [&] { p = ParseAll({"t", "--nope"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_EQ(err, "csb-test: error: unknown option '--nope'\nTry 'csb-test --help'.\n");
  err = Capture(2, [&] { p = ParseAll({"t", "-vx"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_EQ(err, "csb-test: error: unknown option '-x'\nTry 'csb-test --help'.\n");
}

TEST(Cli, MissingAndUnexpectedValues) {
  Parsed p;
  std::string err = Capture(2, [&] { p = ParseAll({"t", "--policy"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_NE(err.find("option '--policy' needs a value"), std::string::npos);
  err = Capture(2, [&] { p = ParseAll({"t", "-p"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_NE(err.find("option '-p' needs a value"), std::string::npos);
  err = Capture(2, [&] { p = ParseAll({"t", "--verbose=1"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_NE(err.find("option '--verbose' takes no value"), std::string::npos);
}

// `--help=x` and `--version=x` are options given a value, not unknown ones.
TEST(Cli, HelpAndVersionTakeNoValue) {
  for (const char *name : {"help", "version"}) {
    Parsed p;
    std::string out;
    std::string err = Capture(2, [&] {
      out = Capture(1, [&] { p = ParseAll({"t", std::string("--") + name + "=1"}); });
    });
    EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE) << name;
    EXPECT_EQ(out, "") << name;
    EXPECT_EQ(err, std::string("csb-test: error: option '--") + name +
                       "' takes no value\nTry 'csb-test --help'.\n");
  }
}

TEST(Cli, EmptyValuesAreUsageErrors) {
  // `-C "$DIR"` with DIR unset must not quietly mean the current directory.
  const std::vector<std::vector<std::string>> cases = {
      {"t", "--policy="}, {"t", "--policy", ""}, {"t", "-p", ""}};
  for (const auto &args : cases) {
    Parsed p;
    std::string err = Capture(2, [&] { p = ParseAll(args); });
    EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE) << args[1];
    std::string want = args[1][1] == '-' ? "option '--policy' needs a value, not an empty one"
                                         : "option '-p' needs a value, not an empty one";
    EXPECT_NE(err.find(want), std::string::npos) << err;
  }
}

TEST(Cli, HelpAndVersion) {
  Parsed p;
  std::string out = Capture(1, [&] { p = ParseAll({"t", "--help"}); });
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(out.rfind("usage: csb-test [OPTIONS] -- CMD...\n", 0), 0u);
  EXPECT_NE(out.find("-p, --policy FILE"), std::string::npos);
  EXPECT_NE(out.find("--dry-run"), std::string::npos);
  out = Capture(1, [&] { p = ParseAll({"t", "--version"}); });
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(out, std::string("csb-test ") + csb_cli_version() + "\n");
  out = Capture(1, [&] { p = ParseAll({"t", "-h"}); });
  EXPECT_EQ(p.exit_code, 0);
}

// --help and --version write to stdout like any other output: a full disk
// or a closed descriptor is a failure (71), not a silent success.
TEST(Cli, HelpAndVersionReportWriteErrors) {
  int full = open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0);
  for (const char *flag : {"--help", "-h", "--version"}) {
    Parsed p;
    std::string err = Capture(2, [&] {
      fflush(stdout);
      int saved = dup(1);
      dup2(full, 1);
      p = ParseAll({"t", flag});
      dup2(saved, 1);
      close(saved);
      clearerr(stdout);
    });
    EXPECT_EQ(p.exit_code, CSB_EXIT_OSERR) << flag;
    EXPECT_EQ(err, "csb-test: error: cannot write to standard output: " +
                       std::string(strerror(ENOSPC)) + "\n")
        << flag;
  }
  close(full);
  Parsed p;
  std::string err = Capture(2, [&] {
    fflush(stdout);
    int saved = dup(1);
    close(1);
    p = ParseAll({"t", "--error-format=json", "--version"});
    dup2(saved, 1);
    close(saved);
    clearerr(stdout);
  });
  EXPECT_EQ(p.exit_code, CSB_EXIT_OSERR);
  EXPECT_EQ(err, "{\"exit\":71,\"kind\":\"oserr\",\"level\":\"error\",\"message\":\"cannot "
                 "write to standard output: " + std::string(strerror(EBADF)) +
                 "\",\"tool\":\"csb-test\"}\n");
}

TEST(Cli, HelpIsWrappedAt79Columns) {
  const csb_cli_opt opts[] = {
      {"a-rather-long-option-name", 'l', CSB_ARG_REQUIRED, 1, "VALUE",
       "a help text long enough that it has to go on two lines, or even three, `never "
       "broken inside` backticks"},
      {nullptr, 0, CSB_ARG_NONE, 0, nullptr, nullptr},
  };
  Argv a({"t", "--help"});
  csb_cli cli;
  csb_cli_init(&cli, "csb-test",
               "csb-test [--first-option FILE] [--second-option elevated|unelevated] "
               "[--third DIR] -- CMD",
               "A summary that runs on well past the seventy-ninth column, so that it is "
               "wrapped at a space.\nAn explicit line break starts a new line.",
               opts, a.argc(), a.argv());
  const char *arg = nullptr;
  std::string out = Capture(1, [&] { EXPECT_EQ(csb_cli_next(&cli, &arg), CSB_CLI_STOP); });
  EXPECT_EQ(out.substr(0, out.find("\n  -h, --help")),
            "usage: csb-test [--first-option FILE] [--second-option elevated|unelevated]\n"
            "                [--third DIR] -- CMD\n"
            "\n"
            "A summary that runs on well past the seventy-ninth column, so that it is\n"
            "wrapped at a space.\n"
            "An explicit line break starts a new line.\n"
            "\n"
            "options:\n"
            "  -l, --a-rather-long-option-name VALUE\n"
            "                             a help text long enough that it has to go on two\n"
            "                             lines, or even three, `never broken inside`\n"
            "                             backticks\n"
            "      --error-format FMT     diagnostics as text (default) or json");
}

TEST(Cli, JsonErrors) {
  Parsed p;
  std::string err = Capture(2, [&] { p = ParseAll({"t", "--bogus", "--error-format=json"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_EQ(err,
            "{\"exit\":64,\"kind\":\"usage\",\"level\":\"error\",\"message\":\"unknown option "
            "'--bogus' (try 'csb-test --help')\",\"tool\":\"csb-test\"}\n");
  err = Capture(2, [&] { p = ParseAll({"t", "--error-format", "xml"}); });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_NE(err.find("must be text or json"), std::string::npos);
}

// JSON diagnostics stay valid JSON (UTF-8) whatever bytes a message
// quotes: a byte that is not UTF-8 is shown as \xHH, as csb_json_display
// shows it; well-formed multi-byte characters are kept.
TEST(Cli, JsonErrorsAreUtf8) {
  Parsed p;
  std::string err = Capture(2, [&] {
    p = ParseAll({"t", "--error-format=json", "--\xff\xc3\xa9\xe2\x82"});
  });
  EXPECT_EQ(p.exit_code, CSB_EXIT_USAGE);
  EXPECT_EQ(err,
            "{\"exit\":64,\"kind\":\"usage\",\"level\":\"error\",\"message\":\"unknown option "
            "'--\\\\xff\xc3\xa9\\\\xe2\\\\x82' (try 'csb-test --help')\",\"tool\":\"csb-test\"}\n");
  Argv a({"t"});
  csb_cli cli;
  csb_cli_init(&cli, "csb-x", "csb-x", nullptr, kOpts, a.argc(), a.argv());
  cli.json_errors = 1;
  err = Capture(2, [&] { csb_cli_warn(&cli, "path `/tmp/\x80\xed\xa0\x80`"); });
  EXPECT_EQ(err,
            "{\"level\":\"warning\",\"message\":\"path `/tmp/\\\\x80\\\\xed\\\\xa0\\\\x80`\","
            "\"tool\":\"csb-x\"}\n");
  // Text diagnostics show the same bytes the same way, and so too the
  // controls a terminal would act on (a file name from a hostile tree must
  // not move the cursor or set the window title); newline and tab stay.
  cli.json_errors = 0;
  err = Capture(2, [&] { csb_cli_warn(&cli, "\xff"); });
  EXPECT_EQ(err, "csb-x: warning: \\xff\n");
  err = Capture(2, [&] {
    csb_cli_warn(&cli, "a\x1b]0;pwned\x07" "b\x7f\xc2\x9b" "2J\tc\nd \xc3\xa9");
  });
  EXPECT_EQ(err, "csb-x: warning: a\\x1b]0;pwned\\x07b\\x7f\\xc2\\x9b2J\tc\nd \xc3\xa9\n");
}

TEST(Cli, ErrorWarnAndNoteFormatting) {
  Argv a({"t"});
  csb_cli cli;
  csb_cli_init(&cli, "csb-x", "csb-x", nullptr, kOpts, a.argc(), a.argv());
  std::string err = Capture(2, [&] {
    EXPECT_EQ(csb_cli_error(&cli, CSB_EXIT_CONFIG, "bad \"%s\"\n", "k"), CSB_EXIT_CONFIG);
  });
  EXPECT_EQ(err, "csb-x: error: bad \"k\"\n\n");
  err = Capture(2, [&] { csb_cli_note(&cli, "did %s", "it"); });
  EXPECT_EQ(err, "csb-x: note: did it\n");
  cli.json_errors = 1;
  err = Capture(2, [&] { csb_cli_note(&cli, "did %s", "it"); });
  EXPECT_EQ(err, "{\"level\":\"note\",\"message\":\"did it\",\"tool\":\"csb-x\"}\n");
  err = Capture(2, [&] { csb_cli_warn(&cli, "tab\there %d", 5); });
  EXPECT_EQ(err,
            "{\"level\":\"warning\",\"message\":\"tab\\there 5\",\"tool\":\"csb-x\"}\n");
  err = Capture(2, [&] { csb_cli_error(&cli, CSB_EXIT_POLICY, "no \x01"); });
  EXPECT_EQ(err,
            "{\"exit\":77,\"kind\":\"policy\",\"level\":\"error\",\"message\":\"no "
            "\\u0001\",\"tool\":\"csb-x\"}\n");
}

TEST(Cli, ExitCodes) {
  EXPECT_STREQ(csb_exit_kind(CSB_EXIT_USAGE), "usage");
  EXPECT_STREQ(csb_exit_kind(CSB_EXIT_DATA), "data");
  EXPECT_STREQ(csb_exit_kind(CSB_EXIT_CONFIG), "config");
  EXPECT_STREQ(csb_exit_kind(CSB_EXIT_POLICY), "policy");
  EXPECT_STREQ(csb_exit_kind(CSB_EXIT_UNAVAILABLE), "unavailable");
  EXPECT_STREQ(csb_exit_kind(CSB_EXIT_INTERNAL), "internal");
  EXPECT_STREQ(csb_exit_kind(42), "child");
  EXPECT_EQ(csb_exit_for_exec_errno(ENOENT), 127);
  EXPECT_EQ(csb_exit_for_exec_errno(EACCES), 126);

  pid_t pid = fork();
  if (pid == 0) _exit(42);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_EQ(csb_exit_from_wait_status(st), 42);
  pid = fork();
  if (pid == 0) {
    raise(SIGTERM);
    _exit(0);
  }
  waitpid(pid, &st, 0);
  EXPECT_EQ(csb_exit_from_wait_status(st), 128 + SIGTERM);
}

// docs/exit-codes.md and the code agree: every row `| CODE | `NAME` |` of
// the table is the code csb_exit_kind names NAME, every code with a name
// has a row, and the summary --help prints quotes only documented codes.
TEST(Cli, ExitCodeTableMatchesDocs) {
  std::ifstream f("docs/exit-codes.md");
  ASSERT_TRUE(f) << "docs/exit-codes.md not in the runfiles";
  std::map<int, std::string> doc;
  std::regex row(R"(^\|\s*([0-9]+)\s*\|\s*`([a-z-]+)`\s*\|)");
  std::string line;
  while (std::getline(f, line)) {
    std::smatch m;
    if (std::regex_search(line, m, row)) {
      int code = std::stoi(m[1]);
      EXPECT_EQ(doc.count(code), 0u) << "code " << code << " documented twice";
      doc[code] = m[2];
    }
  }
  ASSERT_GE(doc.size(), 11u) << "table rows not found in docs/exit-codes.md";
  for (const auto &[code, name] : doc)
    EXPECT_STREQ(csb_exit_kind(code), name.c_str()) << "docs/exit-codes.md row " << code;
  for (int code = 0; code < 256; code++) {
    if (strcmp(csb_exit_kind(code), "child") != 0) {
      EXPECT_EQ(doc.count(code), 1u)
          << "code " << code << " (" << csb_exit_kind(code) << ") missing from docs/exit-codes.md";
    }
  }

  Argv a({"csb-x", "--help"});
  csb_cli cli;
  csb_cli_init(&cli, "csb-x", "csb-x", "Does x.", kOpts, a.argc(), a.argv());
  const char *arg = nullptr;
  std::string out = Capture(1, [&] { EXPECT_EQ(csb_cli_next(&cli, &arg), CSB_CLI_STOP); });
  size_t at = out.find("exit codes:");
  ASSERT_NE(at, std::string::npos) << out;
  std::string summary = out.substr(at);
  std::regex cited(R"((^|[(,\s])([0-9]+) )");
  int n = 0;
  for (std::sregex_iterator it(summary.begin(), summary.end(), cited), end; it != end; ++it, ++n)
    EXPECT_EQ(doc.count(std::stoi((*it)[2])), 1u) << "--help cites undocumented code " << (*it)[2];
  EXPECT_GE(n, 8) << summary;
}

TEST(Cli, ParseUint) {
  Argv a({"t"});
  csb_cli cli;
  csb_cli_init(&cli, "csb-x", "csb-x", nullptr, kOpts, a.argc(), a.argv());
  unsigned long v = 0;
  EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", "17", 100, &v), 1);
  EXPECT_EQ(v, 17u);
  std::string err = Capture(2, [&] {
    EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", "101", 100, &v), 0);
    EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", "-1", 100, &v), 0);
    EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", "1x", 100, &v), 0);
    EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", "", 100, &v), 0);
  });
  EXPECT_NE(err.find("between 0 and 100"), std::string::npos);
  EXPECT_EQ(v, 17u);
  // strtoul would skip white space and take a sign: digits only
  for (const char *bad : {" 5", "\t5", "\n5", "+5", " -5", "0x10"}) {
    err = Capture(2, [&] { EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", bad, 100, &v), 0) << bad; });
    EXPECT_NE(err.find("--n"), std::string::npos) << bad;
  }
  EXPECT_EQ(v, 17u);
}

// A failed parse leaves the usage status in cli->exit_code, which callers
// return from main(): the message alone with exit 0 would read as success.
TEST(Cli, ParseUintFailureSetsUsageExitCode) {
  Argv a({"t"});
  csb_cli cli;
  csb_cli_init(&cli, "csb-x", "csb-x", nullptr, kOpts, a.argc(), a.argv());
  unsigned long v = 0;
  for (const char *bad : {"-1", "101", "", "x"}) {
    cli.exit_code = 0;
    std::string err = Capture(2, [&] { EXPECT_EQ(csb_cli_parse_uint(&cli, "--n", bad, 100, &v), 0); });
    EXPECT_EQ(cli.exit_code, CSB_EXIT_USAGE) << bad;
    EXPECT_EQ(err.rfind("csb-x: error: option '--n' needs ", 0), 0u) << err;
  }
}

}  // namespace
