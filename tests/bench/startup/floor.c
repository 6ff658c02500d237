/* floor.c - the least a launcher or a pid 1 can do: start argv[1..] as a
 * child (vfork + exec), reap every child until that one has exited, and
 * exit with its status (128 + signal when it was killed).
 *
 * The startup benchmark runs it in the two places where csb-bwrap runs
 * its own code, around the bare bubblewrap command: as the sandbox's
 * pid 1 (bubblewrap executes it, it starts CMD), and as the launcher
 * (it starts bubblewrap and waits). Those rows are the cost of the
 * two-stage process structure alone, with none of csb-bwrap's work. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: floor CMD [ARGS...]\n", stderr);
    return 64;
  }
  pid_t child = vfork();
  if (child < 0) {
    perror("floor: vfork");
    return 71;
  }
  if (child == 0) {
    execv(argv[1], argv + 1);
    _exit(127);
  }
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      perror("floor: waitpid");
      return 71;
    }
    if (p == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
}
