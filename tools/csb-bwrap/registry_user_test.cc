// registry_user_test.cc - which registry candidates belong to another user
// out of our reach (bw_registry_held_by_other), seen by root and by an
// unprivileged user (the test runs as root and switches to uid 65534 in a
// child; skipped otherwise).
#include <gtest/gtest.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "csb_bwrap.h"

namespace {

class Tree {
 public:
  Tree() {
    char tmpl[] = "/tmp/csb-bwrap-registry-XXXXXX";
    path_ = mkdtemp(tmpl);
    chmod(path_.c_str(), 0755);
  }
  ~Tree() { std::string cmd = "rm -rf '" + path_ + "'"; (void)!system(cmd.c_str()); }
  // DIR (mode, owner) holding csb-bwrap-N of `reg_owner`; returns the latter.
  std::string Candidate(const std::string &name, mode_t mode, uid_t owner, uid_t reg_owner) const {
    std::string d = path_ + "/" + name, r = d + "/csb-bwrap-n";
    if (mkdir(d.c_str(), 0700) != 0 || chown(d.c_str(), owner, owner) != 0 || chmod(d.c_str(), mode) != 0 ||
        mkdir(r.c_str(), 0700) != 0 || chown(r.c_str(), reg_owner, reg_owner) != 0)
      return "";
    return r;
  }

 private:
  std::string path_;
};

int Held(const std::string &dir, uid_t *owner) { return bw_registry_held_by_other(dir.c_str(), owner); }

TEST(Registry, AnotherUsersCandidateOutOfOurReach) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create files of other users";
  Tree t;
  // as root: another user's sticky directory; ours (root's, like /tmp);
  // a plain directory
  std::string theirs = t.Candidate("theirs", 01777, 4321, 1234);
  if (theirs.empty()) GTEST_SKIP() << "cannot give files to other users here (a user namespace?)";
  std::string tmp_like = t.Candidate("tmp", 01777, 0, 1234);
  std::string plain = t.Candidate("plain", 0777, 0, 1234);
  std::string closed = t.Candidate("closed", 0755, 0, 1234);
  std::string own = t.Candidate("own", 01777, 0, 65534);
  uid_t owner = 0;
  EXPECT_EQ(Held(theirs, &owner), 1);
  EXPECT_EQ(owner, 1234u);
  EXPECT_EQ(Held(tmp_like, &owner), 0) << "root owns the sticky directory: it may remove the entry";
  EXPECT_EQ(Held(plain, &owner), 0);
  EXPECT_EQ(Held(t.Candidate("x", 01777, 4321, 1234) + "-missing", &owner), 0);
  csb_error e;
  csb_error_clear(&e);
  EXPECT_EQ(bw_registry_secure(theirs.c_str(), &e), 0);
  EXPECT_NE(std::string(e.msg).find("belongs to uid 1234, not to uid 0: another user made it"), std::string::npos)
      << e.msg;

  // as uid 65534: /tmp-like (root's sticky directory) keeps another
  // user's entry out of reach, a plain writable one does not, a directory
  // it cannot write does; its own entry is never another user's
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(10);
    uid_t o = 0;
    if (Held(tmp_like, &o) != 1 || o != 1234) _exit(11);
    if (Held(plain, &o) != 0) _exit(12);
    if (Held(closed, &o) != 1) _exit(13);
    if (Held(own, &o) != 0) _exit(14);
    _exit(0);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "10: cannot switch users; 11-14: the check that failed";
}

}  // namespace
