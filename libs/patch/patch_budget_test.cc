// patch_budget_test.cc - the seek budget bounds the work on one file across
// all the hunks that name it (libs/patch built with a budget of 10^6 line
// comparisons per file).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <fstream>
#include <string>
#include <vector>
#include "csb_patch.h"

namespace {

// Plans `hunks` update hunks on one file of 2,000 "a" lines and a "b":
// each seeks 100 "a" lines then "b", about 2·10^5 comparisons for the
// exact pass. Returns the plan's error message, "" when it planned.
std::string PlanHunks(int hunks) {
  std::string t = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
                  "/patch_budget_test.XXXXXX";
  std::vector<char> dir(t.begin(), t.end());
  dir.push_back('\0');
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  std::string root = dir.data();
  std::string body;
  for (int i = 0; i < 2000; i++) body += "a\n";
  body += "b\n";
  std::ofstream(root + "/f", std::ios::binary) << body;
  std::string patch = "*** Begin Patch\n";
  for (int k = 0; k < hunks; k++) {
    patch += "*** Update File: f\n@@\n";
    for (int i = 0; i < 100; i++) patch += " a\n";
    patch += "-b\n+b\n";
  }
  patch += "*** End Patch\n";
  csb_patch *p = nullptr;
  csb_error err;
  EXPECT_EQ(csb_patch_parse(patch.data(), patch.size(), 0, &p, &err, nullptr), 1) << err.msg;
  csb_patch_plan_opts o = {root.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
  csb_patch_err_kind kind;
  csb_patch_plan *plan = csb_patch_plan_build(p, &o, &kind, &err);
  std::string msg = plan ? "" : err.msg;
  csb_patch_plan_free(plan);
  csb_patch_free(p);
  std::string cmd = "rm -rf '" + root + "'";
  (void)system(cmd.c_str());
  return msg;
}

TEST(Budget, HunksWithinOneFilesBudgetPlan) { EXPECT_EQ(PlanHunks(3), ""); }

// Each hunk alone is well within the budget; together they are not: the
// plan stops instead of searching the file once per hunk without bound.
TEST(Budget, SharedByTheHunksOfOneFile) {
  std::string msg = PlanHunks(20);
  EXPECT_NE(msg.find("search too expensive"), std::string::npos) << msg;
}

}  // namespace
