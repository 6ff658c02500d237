/* proc.c - close-on-exec pipes, output-capturing helpers, waiting. */
#define _GNU_SOURCE
#include "csb_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int csb_proc_pipe(int fds[2]) {
  if (pipe(fds) != 0) return 0;
  for (int i = 0; i < 2; i++) {
    if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
      int e = errno;
      close(fds[0]);
      close(fds[1]);
      errno = e;
      return 0;
    }
  }
  return 1;
}

int csb_proc_spawn_output(const char *path, char *const argv[], pid_t *pid_out, int *fd_out) {
  int pfd[2];
  if (!csb_proc_pipe(pfd)) return 0;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(pfd[0]);
    close(pfd[1]);
    errno = e;
    return 0;
  }
  if (pid == 0) {
    dup2(pfd[1], 1);
    dup2(pfd[1], 2);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul >= 0) dup2(nul, 0);
    execv(path, argv);
    _exit(127);
  }
  close(pfd[1]);
  *pid_out = pid;
  *fd_out = pfd[0];
  return 1;
}

int csb_proc_wait(pid_t pid, int *status) {
  for (;;) {
    if (waitpid(pid, status, 0) == pid) return 1;
    if (errno != EINTR) return 0;
  }
}
