/* fuzz_winpath.c - fuzz entry for the lexical Windows path functions
 * (csb_winpath_*): drive letters, UNC shares, `\\?\` and `\\.\` prefixes,
 * either separator, as csb-resolve, csb-winacl and the policy reader
 * take them from documents, configuration and the command line.
 *
 * The input (cut at a NUL byte) is a path. For every input:
 *   - it is absolute exactly when it has a normal form N, and then N is
 *     absolute, its own normal form, without `/`, without an empty, "."
 *     or ".." component below its root, without a trailing `\` unless it
 *     is a drive root, and with an upper-case drive letter;
 *   - writing every separator as `/`, or every one as `\`, keeps N;
 *   - N equals itself with its ASCII letters' case swapped, and both have
 *     the same comparison key and hash;
 *   - N's root is a root, a prefix of N, N is under it, and N relative to
 *     it joined onto it gives N again;
 *   - unless N is a root, its parent is a normal form one component
 *     shorter, N is under it and not the other way round, and the parent
 *     joined with N's last component gives N;
 *   - the effective path, with only the root existing on the file system,
 *     is N (checked up to 16 components); csb_spath_* in the Windows style agree with csb_winpath_*.
 * Any violation aborts. paths_test replays it over seeds and mutations;
 * fuzzing proper (docs/fuzzing.md):
 *
 *   python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/paths -I/tmp/winupcase libs/base/{base,os,sha256,utf8}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/paths/fuzz_winpath.c -o /tmp/fuzz_winpath
 *   /tmp/fuzz_winpath -max_len=512 -max_total_time=180 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

int csb_fuzz_winpath_one(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static int streq(const char *a, const char *b) { return a != NULL && b != NULL && strcmp(a, b) == 0; }

static char *with_seps(const char *s, char sep) {
  char *t = csb_xstrdup(s);
  for (char *c = t; *c; c++)
    if (*c == '/' || *c == '\\') *c = sep;
  return t;
}

static char *swap_ascii_case(const char *s) {
  char *t = csb_xstrdup(s);
  for (char *c = t; *c; c++) {
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 'a' + 'A');
    else if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  }
  return t;
}

/* The file system of csb_winpath_effective_with in which only `ctx` (a
 * root) exists. */
static int only_root(void *ctx, const char *path, char **out) {
  if (strcmp(path, (const char *)ctx) != 0) return 0;
  *out = csb_xstrdup(path);
  return 1;
}

static void check_normal_form(const char *n) {
  check(csb_winpath_is_absolute(n));
  char *again = csb_winpath_normalize(n);
  check(streq(again, n));
  free(again);
  check(strchr(n, '/') == NULL);
  size_t len = strlen(n);
  int unc = n[0] == '\\';
  if (!unc) check(n[0] >= 'A' && n[0] <= 'Z' && n[1] == ':' && n[2] == '\\');
  char *root = csb_winpath_root(n);
  check(root != NULL && strncmp(root, n, strlen(root)) == 0);
  size_t rl = strlen(root);
  free(root);
  if (len > rl) check(n[len - 1] != '\\');
  /* components below the root */
  const char *p = n + rl;
  if (*p == '\\') p++;
  while (*p != '\0') {
    const char *e = strchr(p, '\\');
    size_t cl = e ? (size_t)(e - p) : strlen(p);
    check(cl > 0);
    check(!(cl == 1 && p[0] == '.') && !(cl == 2 && p[0] == '.' && p[1] == '.'));
    p += cl;
    if (*p == '\\') p++;
  }
}

int csb_fuzz_winpath_one(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *in = malloc(size + 1);
  memcpy(in, data, size);
  in[size] = '\0';

  char *n = csb_winpath_normalize(in);
  check((n != NULL) == csb_winpath_is_absolute(in));
  check(csb_spath_is_absolute(CSB_PATH_WINDOWS, in) == csb_winpath_is_absolute(in));
  char *sn = csb_spath_normalize(CSB_PATH_WINDOWS, in);
  check((sn == NULL && n == NULL) || streq(sn, n));
  free(sn);
  (void)csb_winpath_names_problem(in);
  char *key = csb_winpath_key(in);
  check((key == NULL) == (n == NULL));

  /* either separator */
  for (int k = 0; k < 2; k++) {
    char *t = with_seps(in, k ? '/' : '\\');
    char *tn = csb_winpath_normalize(t);
    check((tn == NULL && n == NULL) || streq(tn, n));
    free(tn);
    free(t);
  }

  if (n != NULL) {
    check_normal_form(n);
    char *nk = csb_winpath_key(n);
    check(streq(nk, key));
    free(nk);
    check(csb_winpath_equal(n, n) && csb_winpath_is_under(n, n));
    char *sw = swap_ascii_case(n);
    check(csb_winpath_equal(n, sw) && csb_winpath_equal(sw, n));
    check(csb_spath_equal(CSB_PATH_WINDOWS, n, sw));
    check(csb_spath_hash(CSB_PATH_WINDOWS, n, strlen(n)) ==
          csb_spath_hash(CSB_PATH_WINDOWS, sw, strlen(sw)));
    char *swk = csb_winpath_key(sw);
    check(streq(swk, key));
    free(swk);
    free(sw);

    char *root = csb_winpath_root(n);
    check(root != NULL && csb_winpath_is_root(root) && csb_winpath_depth(root) == 0);
    check(csb_winpath_is_under(root, n));
    check(csb_winpath_is_root(n) == (strcmp(root, n) == 0));
    char *rel = csb_winpath_relative_to(root, n);
    check(rel != NULL);
    char *back = csb_winpath_join(root, rel);
    check(streq(back, n));
    free(back);
    free(rel);

    /* (it normalises every ancestor: quadratic in the depth) */
    if (csb_winpath_depth(n) <= 16) {
      char *eff = NULL;
      csb_error err;
      check(csb_winpath_effective_with(n, only_root, root, &eff, &err));
      check(streq(eff, n));
      free(eff);
    }

    char *parent = csb_winpath_parent(n);
    char *base = csb_winpath_basename(n);
    if (csb_winpath_is_root(n)) {
      check(parent == NULL && base[0] == '\0');
    } else {
      check(parent != NULL);
      check_normal_form(parent);
      check(csb_winpath_depth(parent) + 1 == csb_winpath_depth(n));
      check(csb_winpath_is_under(parent, n) && !csb_winpath_is_under(n, parent));
      check(!csb_winpath_equal(parent, n));
      check(base[0] != '\0' && strchr(base, '\\') == NULL);
      char *joined = csb_winpath_join(parent, base);
      check(streq(joined, n));
      free(joined);
      check(csb_winpath_prefix_bytes(parent, n) == strlen(parent));
    }
    char *sp = csb_spath_parent(CSB_PATH_WINDOWS, n);
    check((sp == NULL && parent == NULL) || streq(sp, parent));
    free(sp);
    free(parent);
    free(base);
    free(root);
  }
  free(key);
  free(n);
  free(in);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_winpath_one(data, size); }
#endif
