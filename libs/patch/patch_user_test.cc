// patch_user_test.cc - libs/patch run by an unprivileged user (the test
// runs as root and switches to uid 1000 in a child; skipped otherwise).
#include <grp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "csb_patch.h"

namespace {

// A directory of uid 1000 (mode 0755) under /tmp, removed afterwards;
// skipped unless run as root where files can be given to uid 1000.
class Unprivileged : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
    char tmpl[] = "/tmp/patch_test_user.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    if (chown(tmpl, 1000, 1000) != 0) {
      rmdir(tmpl);
      GTEST_SKIP() << "cannot give files to uid 1000 here (a user namespace?)";
    }
    dir_ = tmpl;
    ASSERT_EQ(chmod(tmpl, 0755), 0);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)system(cmd.c_str());
  }
  // NAME in the directory, holding "old\n", owned by 1000:GID with MODE.
  void Old(const char *name, gid_t gid, mode_t mode) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << "old\n";
    ASSERT_EQ(chown(p.c_str(), 1000, gid), 0);
    ASSERT_EQ(chmod(p.c_str(), mode), 0);
  }
  // Applies TEXT in the directory as uid 1000 (groups 1000 and 1001),
  // parsed, planned and committed in a child process. Returns what
  // check(kind, error message) returns there, or 10 when switching users
  // failed.
  int ApplyAsUser(const std::string &text, int (*check)(csb_patch_err_kind, const char *, const std::string &)) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      gid_t groups[] = {1000, 1001};
      if (setgroups(2, groups) != 0 || setgid(1000) != 0 || setuid(1000) != 0) _exit(10);
      csb_patch *p = nullptr;
      csb_patch_plan_opts o = {dir_.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
      csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
      csb_error err;
      csb_error_clear(&err);
      csb_patch_plan *plan = nullptr;
      if (csb_patch_parse(text.data(), text.size(), 0, &p, &err, nullptr))
        plan = csb_patch_plan_build(p, &o, &kind, &err);
      if (plan) {
        csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
        (void)csb_patch_commit(plan, &co, &kind, &err);
      }
      csb_patch_plan_free(plan);
      csb_patch_free(p);
      _exit(check(kind, err.msg, dir_));
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }
  std::string dir_;
};

std::string Update(const char *name) {
  return std::string("*** Begin Patch\n*** Update File: ") + name + "\n@@\n-old\n+new\n*** End Patch\n";
}

std::string FirstLine(const std::string &path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// What an unprivileged user gets: the group of an updated file is kept
// when the user belongs to it, and a file the user may not write (mode
// 0444) is not replaced, like upstream's write in place fails.
TEST_F(Unprivileged, UpdateKeepsGroupAndRefusesReadOnlyFile) {
  Old("g.txt", 1001, 0664);
  Old("ro.txt", 1000, 0444);
  EXPECT_EQ(ApplyAsUser(Update("g.txt"),
                        [](csb_patch_err_kind kind, const char *, const std::string &) {
                          return kind == CSB_PATCH_ERR_NONE ? 0 : 1;
                        }),
            0)
      << "the update of g.txt failed";
  EXPECT_EQ(ApplyAsUser(Update("ro.txt"),
                        [](csb_patch_err_kind kind, const char *msg, const std::string &dir) {
                          std::string want = "Failed to write file " + dir + "/ro.txt: Permission denied (os error 13)";
                          return kind == CSB_PATCH_ERR_IO && want == msg ? 0 : 1;
                        }),
            0)
      << "ro.txt was not refused with upstream's message";
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/g.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 0664u);
  EXPECT_EQ(FirstLine(dir_ + "/g.txt"), "new");
  EXPECT_EQ(FirstLine(dir_ + "/ro.txt"), "old");
  ASSERT_EQ(stat((dir_ + "/ro.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
}

// A moved file keeps its source's group with its mode (0640: readable by
// that group only), whether it goes to a new path or replaces a file of
// another group: the file replaced does not lend its group to contents
// that were private to the source's.
TEST_F(Unprivileged, MoveKeepsTheSourcesGroup) {
  Old("s1.txt", 1001, 0640);
  Old("s2.txt", 1001, 0640);
  Old("dest.txt", 1000, 0644);
  std::string text =
      "*** Begin Patch\n*** Update File: s1.txt\n*** Move to: new.txt\n@@\n-old\n+new\n"
      "*** Update File: s2.txt\n*** Move to: dest.txt\n@@\n-old\n+new\n*** End Patch\n";
  EXPECT_EQ(ApplyAsUser(text,
                        [](csb_patch_err_kind kind, const char *, const std::string &) {
                          return kind == CSB_PATCH_ERR_NONE ? 0 : 1;
                        }),
            0);
  for (const char *name : {"new.txt", "dest.txt"}) {
    struct stat st;
    ASSERT_EQ(stat((dir_ + "/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_uid, 1000u) << name;
    EXPECT_EQ(st.st_gid, 1001u) << name;
    EXPECT_EQ(st.st_mode & 07777, 0640u) << name;
  }
}

}  // namespace
