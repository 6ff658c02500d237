// Unit tests for libs/proc: close-on-exec pipes, output capture, waiting.
#include "csb_proc.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace {

TEST(Proc, PipeIsCloseOnExec) {
  int p[2];
  ASSERT_TRUE(csb_proc_pipe(p));
  EXPECT_TRUE(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(p[1], F_GETFD) & FD_CLOEXEC);
  close(p[0]);
  close(p[1]);
}

static std::string run(const char *path, char *const argv[], int *status) {
  pid_t pid = -1;
  int fd = -1;
  EXPECT_TRUE(csb_proc_spawn_output(path, argv, &pid, &fd));
  char *text = nullptr;
  size_t len = 0;
  EXPECT_TRUE(csb_read_fd(fd, "child", 1 << 16, &text, &len, nullptr));
  close(fd);
  EXPECT_TRUE(csb_proc_wait(pid, status));
  std::string out(text ? text : "", len);
  free(text);
  return out;
}

TEST(Proc, SpawnOutputCapturesStdoutAndStderrWithStdinEmpty) {
  char *argv[] = {(char *)"sh", (char *)"-c",
                  (char *)"echo out; echo err >&2; cat; echo \"in:$?\"; exit 3", nullptr};
  int status = 0;
  EXPECT_EQ("out\nerr\nin:0\n", run("/bin/sh", argv, &status));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(3, WEXITSTATUS(status));
}

TEST(Proc, SpawnOutputOfAMissingProgramExits127) {
  char *argv[] = {(char *)"nope", nullptr};
  int status = 0;
  EXPECT_EQ("", run("/nonexistent/nope", argv, &status));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(127, WEXITSTATUS(status));
}

TEST(Proc, WaitFailsForAStranger) {
  EXPECT_FALSE(csb_proc_wait(getpid(), nullptr));
}

}  // namespace
