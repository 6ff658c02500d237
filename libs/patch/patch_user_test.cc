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

// What an unprivileged user gets: the group of an updated file is kept
// when the user belongs to it, and a file the user may not write (mode
// 0444) is not replaced, like upstream's write in place fails. Runs as
// root only, to switch to uid 1000 in groups 1000 and 1001.
TEST(Unprivileged, UpdateKeepsGroupAndRefusesReadOnlyFile) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  char tmpl[] = "/tmp/patch_test_user.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  if (chown(dir.c_str(), 1000, 1000) != 0) {
    rmdir(tmpl);
    GTEST_SKIP() << "cannot give files to uid 1000 here (a user namespace?)";
  }
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  for (const char *name : {"g.txt", "ro.txt"}) {
    std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << "old\n";
    ASSERT_EQ(chown(p.c_str(), 1000, strcmp(name, "g.txt") == 0 ? 1001 : 1000), 0);
    ASSERT_EQ(chmod(p.c_str(), strcmp(name, "g.txt") == 0 ? 0664 : 0444), 0);
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    gid_t groups[] = {1000, 1001};
    if (setgroups(2, groups) != 0 || setgid(1000) != 0 || setuid(1000) != 0) _exit(10);
    int rc = 0;
    for (const char *name : {"g.txt", "ro.txt"}) {
      std::string text = std::string("*** Begin Patch\n*** Update File: ") + name +
                         "\n@@\n-old\n+new\n*** End Patch\n";
      csb_patch *p = nullptr;
      csb_patch_plan_opts o = {dir.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
      csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
      csb_error err;
      csb_patch_plan *plan = nullptr;
      if (csb_patch_parse(text.data(), text.size(), 0, &p, &err, nullptr))
        plan = csb_patch_plan_build(p, &o, &kind, &err);
      if (plan) {
        csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
        (void)csb_patch_commit(plan, &co, &kind, &err);
      }
      csb_patch_plan_free(plan);
      csb_patch_free(p);
      if (strcmp(name, "g.txt") == 0 && kind != CSB_PATCH_ERR_NONE) rc |= 1;
      if (strcmp(name, "ro.txt") == 0 &&
          (kind != CSB_PATCH_ERR_IO ||
           strcmp(err.msg, ("Failed to write file " + dir + "/ro.txt: Permission denied (os "
                            "error 13)").c_str()) != 0))
        rc |= 2;
    }
    _exit(rc);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the update of g.txt failed, 2: ro.txt was not refused";
  struct stat st;
  ASSERT_EQ(stat((dir + "/g.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 0664u);
  std::ifstream g(dir + "/g.txt"), ro(dir + "/ro.txt");
  std::string gl, rl;
  std::getline(g, gl);
  std::getline(ro, rl);
  EXPECT_EQ(gl, "new");
  EXPECT_EQ(rl, "old");
  ASSERT_EQ(stat((dir + "/ro.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  std::string cmd = "rm -rf '" + dir + "'";
  (void)system(cmd.c_str());
}


// A moved file keeps its source's group with its mode (0640: readable by
// that group only), whether it goes to a new path or replaces a file of
// another group: the file replaced does not lend its group to contents
// that were private to the source's.
TEST(Unprivileged, MoveKeepsTheSourcesGroup) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  char tmpl[] = "/tmp/patch_test_user.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  if (chown(dir.c_str(), 1000, 1000) != 0) {
    rmdir(tmpl);
    GTEST_SKIP() << "cannot give files to uid 1000 here (a user namespace?)";
  }
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  for (const char *name : {"s1.txt", "s2.txt", "dest.txt"}) {
    std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << "old\n";
    int dest = strcmp(name, "dest.txt") == 0;
    ASSERT_EQ(chown(p.c_str(), 1000, dest ? 1000 : 1001), 0);
    ASSERT_EQ(chmod(p.c_str(), dest ? 0644 : 0640), 0);
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    gid_t groups[] = {1000, 1001};
    if (setgroups(2, groups) != 0 || setgid(1000) != 0 || setuid(1000) != 0) _exit(10);
    std::string text =
        "*** Begin Patch\n*** Update File: s1.txt\n*** Move to: new.txt\n@@\n-old\n+new\n"
        "*** Update File: s2.txt\n*** Move to: dest.txt\n@@\n-old\n+new\n*** End Patch\n";
    csb_patch *p = nullptr;
    csb_patch_plan_opts o = {dir.c_str(), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
    csb_patch_err_kind kind = CSB_PATCH_ERR_NONE;
    csb_error err;
    csb_patch_plan *plan = nullptr;
    if (csb_patch_parse(text.data(), text.size(), 0, &p, &err, nullptr))
      plan = csb_patch_plan_build(p, &o, &kind, &err);
    int ok = 0;
    if (plan) {
      csb_patch_commit_opts co = {1, nullptr, nullptr, nullptr, nullptr};
      ok = csb_patch_commit(plan, &co, &kind, &err);
    }
    csb_patch_plan_free(plan);
    csb_patch_free(p);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (const char *name : {"new.txt", "dest.txt"}) {
    struct stat st;
    ASSERT_EQ(stat((dir + "/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_uid, 1000u) << name;
    EXPECT_EQ(st.st_gid, 1001u) << name;
    EXPECT_EQ(st.st_mode & 07777, 0640u) << name;
  }
  std::string cmd = "rm -rf '" + dir + "'";
  (void)system(cmd.c_str());
}

}  // namespace
