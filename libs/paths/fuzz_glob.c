/* fuzz_glob.c - libFuzzer entry point for the glob language and the
 * lexical path helpers of libs/paths.
 *
 * The input is split at its first '\n': the bytes before it are a glob
 * pattern, the bytes after it a path (both cut at a NUL byte, since neither
 * can contain one). For every input:
 *   - compiling the pattern either fails with a message or succeeds;
 *   - the glob's ERE must compile with regcomp(REG_EXTENDED) and agree with
 *     csb_glob_match on the path;
 *   - a matching path must lie strictly below the static prefix;
 *   - the lexical helpers keep their invariants on the path (normalisation
 *     is idempotent, a path is under itself and strictly under its parent,
 *     relative_to(parent) is the basename, joining is consistent).
 * Any violation aborts. The filesystem is never touched.
 *
 * paths_test links this file and replays it over seeds and mutations. To
 * fuzz for real:
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread \
 *     -Ilibs/base -Ilibs/paths libs/paths/fuzz_glob.c libs/paths/glob.c \
 *     libs/paths/glob_expand.c libs/paths/paths.c libs/paths/winpath.c \
 *     libs/base/base.c -o /tmp/fuzz_glob
 *   /tmp/fuzz_glob -max_len=512 -max_total_time=600 CORPUS_DIR
 */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static void check_glob(const char *pattern, const char *path) {
  csb_glob *g = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_glob_compile(pattern, &g, &err)) {
    check(err.msg[0] != '\0');
    return;
  }
  check(strcmp(csb_glob_pattern(g), pattern) == 0);
  int m = csb_glob_match(g, path);
  check(m == csb_glob_match_n(g, path, strlen(path)));

  char *re = csb_glob_to_regex(g);
  regex_t r;
  check(regcomp(&r, re, REG_EXTENDED | REG_NOSUB) == 0);
  check((regexec(&r, path, 0, NULL, 0) == 0) == (m != 0));
  regfree(&r);
  free(re);

  const char *prefix = csb_glob_static_prefix(g);
  size_t plen = strlen(prefix);
  if (m && plen > 0) {
    if (strcmp(prefix, "/") == 0) {
      check(path[0] == '/');
    } else {
      check(strncmp(path, prefix, plen) == 0 && path[plen] == '/');
    }
  }
  csb_glob_free(g);
}

static void check_lexical(const char *path) {
  char *n = csb_path_normalize(path);
  char *n2 = csb_path_normalize(n);
  check(strcmp(n, n2) == 0);
  check(csb_path_is_under(n, n));
  if (!strstr(path, "..")) check(csb_path_is_under(n, path) && csb_path_is_under(path, n));
  check(csb_path_depth(n) == csb_path_depth(path) || strstr(path, ".."));
  check(csb_path_is_absolute(n) == csb_path_is_absolute(path));

  char *parent = csb_path_parent(n);
  if (parent && strstr(n, "..") == NULL) {
    char *base = csb_path_basename(n);
    check(csb_path_is_strictly_under(parent, n));
    char *rel = csb_path_relative_to(parent, n);
    check(rel && strcmp(rel, base) == 0);
    char *joined = csb_path_join(parent, base);
    check(strcmp(joined, n) == 0);
    free(joined);
    free(rel);
    free(base);
  }
  free(parent);

  char *joined = csb_path_join("/base", path);
  check(csb_path_is_absolute(joined));
  free(joined);

  char *home = NULL;
  if (csb_path_expand_home(path, "/home/u", &home, NULL)) {
    if (path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
      check(csb_path_is_under("/home/u", home) || strstr(path, ".."));
    else
      check(strcmp(home, path) == 0);
    free(home);
  }
  free(n);
  free(n2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *nl = memchr(buf, '\n', size);
  const char *pattern = buf, *path = "";
  if (nl) {
    *nl = '\0';
    path = nl + 1;
  }
  check_glob(pattern, path);
  check_lexical(path);
  free(buf);
  return 0;
}
