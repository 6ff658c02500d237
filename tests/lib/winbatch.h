/* winbatch.h - runs a tool's entry function for many cases in one Windows
 * process. Under Wine every process start costs about a second, so the
 * Wine suites (tests/resolve, tests/applypatch) run their cases through a
 * test-only build of the tool whose main() is csb_winbatch_main:
 *
 *     TOOL-batch.exe SPEC RESULTS
 *
 * SPEC is a JSON array of cases, each
 *
 *     {"cwd": DIR, "env": {NAME: VALUE or null}, "args": [ARGV0, ...],
 *      "stdin": FILE or null, "stdout": FILE, "stderr": FILE}
 *
 * For each case the working directory and the named environment variables
 * are set (null: removed), standard input is FILE (else NUL), standard
 * output and error go to their files (binary mode), and the tool runs with
 * `args` as its UTF-8 argv. RESULTS receives a JSON array of the exit
 * statuses, in order. The shipped .exe runs the same tool function behind
 * csb_os_init; the suites also run it directly for a few cases. */
#ifndef CSB_TESTS_WINBATCH_H
#define CSB_TESTS_WINBATCH_H

typedef int (*csb_winbatch_tool)(int argc, char **argv);

int csb_winbatch_main(int argc, char **argv, csb_winbatch_tool tool);

#endif
