/* sanitizer_canary_test.c - `bazel test --config=asan` really runs the C
 * tests under ASan + UBSan (+ LeakSanitizer), halting on the first error.
 *
 * .bazelrc's asan config sets CSB_EXPECT_SANITIZERS=1 in the test
 * environment. Then this test must have been compiled with the sanitizers,
 * and a child that overflows a heap buffer, one that overflows a signed
 * int and one that leaks must each die with the sanitizer's report. Without
 * it (a plain build) the test checks that no sanitizer was compiled in. */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CSB_HAVE_ASAN 1
#else
#define CSB_HAVE_ASAN 0
#endif

static int failures;

static void check(int ok, const char *what, const char *detail) {
  printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, ok ? "" : ": ", ok ? "" : detail);
  if (!ok) failures++;
}

static void heap_overflow(void) {
  char *volatile p = malloc(8);
  volatile int i = 8;
  p[i] = 1;
  free(p);
}

static void signed_overflow(void) {
  volatile int a = INT_MAX;
  volatile int b = a + 1;
  (void)b;
}

static void *volatile kept;
static void leak(void) {
  kept = malloc(64);
  kept = NULL;
}

/* Runs fn in a child with stderr captured; the child must fail (signal or
 * non-zero exit) and its stderr must contain `want`. */
static void expect_caught(void (*fn)(void), const char *what, const char *want) {
  int fds[2];
  if (pipe(fds) != 0) {
    check(0, what, "pipe failed");
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    fn();
    exit(0);
  }
  close(fds[1]);
  static char err[1 << 16];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof err - 1 && (n = read(fds[0], err + got, sizeof err - 1 - got)) > 0)
    got += (size_t)n;
  err[got] = '\0';
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  char detail[512];
  int failed = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
  snprintf(detail, sizeof detail, "child %s %d, stderr: %.300s",
           WIFSIGNALED(st) ? "killed by signal" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
           err);
  check(failed && strstr(err, want) != NULL, what, detail);
}

int main(void) {
  const char *expect = getenv("CSB_EXPECT_SANITIZERS");
  if (!expect || strcmp(expect, "1") != 0) {
    check(!CSB_HAVE_ASAN, "plain build: no sanitizer compiled in", "__SANITIZE_ADDRESS__ is defined");
    return failures ? 1 : 0;
  }
  check(CSB_HAVE_ASAN, "--config=asan: compiled with -fsanitize=address", "__SANITIZE_ADDRESS__ not defined");
  expect_caught(heap_overflow, "heap buffer overflow stops the test",
                "AddressSanitizer: heap-buffer-overflow");
  expect_caught(signed_overflow, "signed integer overflow stops the test",
                "runtime error: signed integer overflow");
  expect_caught(leak, "a leak fails the test", "LeakSanitizer: detected memory leaks");
  return failures ? 1 : 0;
}
