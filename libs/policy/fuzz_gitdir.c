/* fuzz_gitdir.c - libFuzzer entry point for the `.git` pointer file reader
 * (csb_policy_gitdir_pointer), which finds the `gitdir:` targets that
 * views protect (csb-bwrap, csb-seatbelt, csb-winacl) and the main
 * repository of a worktree for csb-resolve's trust decision.
 *
 * The input is the text of a `.git` file. For every input:
 *   - git's reading, when there is one, is non-empty, holds no NUL and is
 *     the text after "gitdir: " up to the first NUL, or (without a NUL)
 *     up to a tail of CRs and LFs only;
 *   - the lenient reading, when there is one, is non-empty, one line, with
 *     no blank at either end, found in the text before its first NUL, and
 *     there the text is blanks, "gitdir:", blanks, the path, blanks;
 *   - blanks and line ends around the text change no lenient reading;
 *   - each reading P written back as "gitdir: P\n" is read back as P by
 *     git's reading (unless P ends in a CR or LF) and by the lenient one
 *     (when P is one line without outer blanks), and the two readings
 *     agree whenever git's is such a line.
 * Any violation aborts. policy_test replays it over seeds and mutations;
 * fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/json -Ilibs/netpolicy -Ilibs/paths -Ilibs/policy -I/tmp/winupcase -I<cJSON source> \
 *     libs/base/{base,os,sha256,utf8}.c libs/json/json.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/policy/{eval,legacy,pathindex,pathstyle,policy,policy_json,summary,view}.c \
 *     <cJSON source>/cJSON.c libs/policy/fuzz_gitdir.c -o /tmp/fuzz_gitdir
 *   /tmp/fuzz_gitdir -max_len=1024 -max_total_time=180 /tmp/corpus_gitdir
 *
 * (libs/paths/winfold.c needs winupcase_table.h: `python3
 * libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h` and
 * `-I/tmp/winupcase`.)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_policy.h"

int csb_fuzz_gitdir_one(const uint8_t *data, size_t size);

static int blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* One line without a blank at either end. */
static int plain(const char *p) {
  size_t n = strlen(p);
  return n > 0 && strchr(p, '\n') == NULL && !blank(p[0]) && !blank(p[n - 1]);
}

/* "gitdir: " + p + "\n" read back: git's reading is p (p does not end in
 * a CR or LF), and so is the lenient one when p is plain. */
static void write_back(const char *p) {
  size_t n = strlen(p);
  char *t = malloc(n + 10);
  memcpy(t, "gitdir: ", 8);
  memcpy(t + 8, p, n);
  t[8 + n] = '\n';
  char *e = NULL, *l = NULL;
  csb_policy_gitdir_pointer(t, n + 9, &e, &l);
  if (e == NULL || strcmp(e, p) != 0) abort();
  if (plain(p) && (l == NULL || strcmp(l, p) != 0)) abort();
  free(e);
  free(l);
  free(t);
}

static void check_exact(const char *text, size_t len, const char *e) {
  if (e == NULL) return;
  size_t n = strlen(e);
  if (n == 0 || len < 8 + n || memcmp(text, "gitdir: ", 8) != 0 || memcmp(text + 8, e, n) != 0)
    abort();
  if (memchr(text, '\0', len) != NULL) {
    if (text[8 + n] != '\0') abort();
  } else {
    for (size_t i = 8 + n; i < len; i++)
      if (text[i] != '\r' && text[i] != '\n') abort();
  }
  if (e[n - 1] != '\r' && e[n - 1] != '\n') write_back(e);
}

static void check_lenient(const char *text, size_t len, const char *l) {
  if (l == NULL) return;
  size_t n = strlen(l);
  if (n == 0 || strchr(l, '\n') != NULL || blank(l[0]) || blank(l[n - 1])) abort();
  size_t tl = strnlen(text, len);
  size_t s = 0, e = tl;
  while (s < e && blank(text[s])) s++;
  while (e > s && blank(text[e - 1])) e--;
  if (e - s < 7 + n || memcmp(text + s, "gitdir:", 7) != 0 || memcmp(text + e - n, l, n) != 0)
    abort();
  for (size_t i = s + 7; i < e - n; i++)
    if (!blank(text[i])) abort();
  write_back(l);
}

int csb_fuzz_gitdir_one(const uint8_t *data, size_t size) {
  if (size > 64 * 1024) return 0;
  const char *text = (const char *)data;
  char *e = NULL, *l = NULL;
  csb_policy_gitdir_pointer(text, size, &e, &l);
  check_exact(text, size, e);
  check_lenient(text, size, l);

  /* the two readings agree on a plain one-line path */
  if (e != NULL && plain(e) && (l == NULL || strcmp(l, e) != 0)) abort();

  /* blanks and line ends around the text (up to its NUL) */
  size_t tl = strnlen(text, size);
  char *padded = malloc(tl + 5);
  memcpy(padded, " \r\n\t", 4);
  memcpy(padded + 4, text, tl);
  padded[4 + tl] = '\n';
  char *pe = NULL, *pl = NULL;
  csb_policy_gitdir_pointer(padded, tl + 5, &pe, &pl);
  if ((pl == NULL) != (l == NULL) || (l != NULL && strcmp(pl, l) != 0)) abort();
  if (pe != NULL) abort(); /* git wants "gitdir: " at the very start */
  free(pl);
  free(padded);
  free(e);
  free(l);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_gitdir_one(data, size); }
#endif
