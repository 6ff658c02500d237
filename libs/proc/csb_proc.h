/* csb_proc.h - child processes on POSIX hosts (Linux, macOS): close-on-exec
 * pipes, starting a helper whose output is read back, and waiting.
 *
 * Conventions (1/0 returns with errno kept, no global mutable state) are
 * those of csb_base.h. Nothing here changes signal dispositions or masks.
 */
#ifndef CSB_PROC_H
#define CSB_PROC_H

#include <sys/types.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pipe(2) with both ends close-on-exec (macOS has no pipe2). 1/0. */
int csb_proc_pipe(int fds[2]);

/* Starts `path` (execv: no PATH search) with argv; the child's stdin is
 * /dev/null and its stdout and stderr are the write end of a new pipe,
 * whose read end (close-on-exec) goes to *fd_out. A child that cannot exec
 * exits 127. *pid_out receives the child. 1/0 (pipe or fork failed). */
int csb_proc_spawn_output(const char *path, char *const argv[], pid_t *pid_out, int *fd_out);

/* waitpid(pid, status, 0), retried on EINTR. 1 once pid is reaped, 0 on
 * another error. status may be NULL. */
int csb_proc_wait(pid_t pid, int *status);

#ifdef __cplusplus
}
#endif

#endif /* CSB_PROC_H */
