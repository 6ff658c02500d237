/* fuzz_artifact.c - fuzz entry for the names csb-applypatch's committer
 * gives its own files and the scan of a directory for those a killed run
 * left (commit.c): that scan removes files and follows pointers, so it
 * must take exactly what the committer writes and nothing a user may have
 * named alike.
 *
 * The input is a directory entry name, a NUL, and a pointer's text (the
 * path a pointer file holds; cut at a further NUL). For every input:
 *   - csb_patch_i_artifact_parse takes the name exactly when a matcher
 *     written from the format does: CSB_PATCH_TMP_PREFIX, 1 to 16 hex
 *     digits without a leading zero, '-', 16 hex digits, '.', then `j`,
 *     `p`, or `t`/`r` and 1 to 9 decimal digits without a leading zero;
 *   - a name it takes is written back by csb_patch_i_artifact_name from
 *     the id, kind and number read, and the id by csb_patch_i_make_id
 *     from the process ID and random bytes it spells;
 *   - names written from the input's bytes as a process ID, random bytes,
 *     a kind and a number are taken, with those values;
 *   - the pointer's text names the journal of the name's id (or of an id
 *     made from the input) exactly when it is a normalised absolute path
 *     other than the root whose last component is that journal's name;
 *     such a text is the journal's path in its parent directory, as
 *     csb_patch_i_artifact_path writes it.
 * Any violation aborts. patch_test replays it over seeds and mutations;
 * fuzzing proper (docs/fuzzing.md):
 *
 *   python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/paths -Ilibs/patch -I/tmp/winupcase libs/base/{base,os,sha256,utf8}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/patch/{arena,commit,fsys_win,parse,pending,plan,pool,text,utf8}.c libs/patch/fuzz_artifact.c \
 *     -o /tmp/fuzz_artifact
 *   /tmp/fuzz_artifact -max_len=512 -max_total_time=600 CORPUS_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_base.h"
#include "csb_patch.h"
#include "csb_paths.h"
#include "patch_internal.h"

int csb_fuzz_artifact_one(const uint8_t *data, size_t size);

static void check_at(int ok, int line) {
  if (ok) return;
  fprintf(stderr, "fuzz_artifact.c:%d: check failed\n", line);
  abort();
}
#define check(ok) check_at((ok), __LINE__)

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
static int is_dec(char c) { return c >= '0' && c <= '9'; }

/* A run of 1..max digits without a leading zero at s; its length or 0. */
static size_t number(const char *s, int (*digit)(char), size_t max) {
  size_t n = 0;
  while (digit(s[n])) n++;
  if (n == 0 || n > max || (n > 1 && s[0] == '0')) return 0;
  return n;
}

/* The format, matched again. */
static int ref_name(const char *s) {
  const char *pre = CSB_PATCH_TMP_PREFIX;
  if (strncmp(s, pre, strlen(pre)) != 0) return 0;
  s += strlen(pre);
  size_t n = number(s, is_hex, 16);
  if (!n || s[n] != '-') return 0;
  s += n + 1;
  for (int i = 0; i < 16; i++)
    if (!is_hex(*s++)) return 0;
  if (*s++ != '.') return 0;
  if ((s[0] == 'j' || s[0] == 'p') && s[1] == '\0') return 1;
  if (s[0] != 't' && s[0] != 'r') return 0;
  n = number(s + 1, is_dec, 9);
  return n && s[1 + n] == '\0';
}

static int hexval(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

/* The pointer's text against the journal of id, read again. */
static void check_pointer(const char *text, const char *id) {
  int got = csb_patch_i_pointer_names_journal(text, id);
  char *norm = csb_spath_normalize(CSB_PATH_POSIX, text);
  char *jname = csb_patch_i_artifact_name(id, 'j', 0);
  size_t tl = strlen(text), jl = strlen(jname);
  int want = text[0] == '/' && norm && strcmp(norm, text) == 0 && tl >= jl + 1 &&
             strcmp(text + tl - jl, jname) == 0 && text[tl - jl - 1] == '/';
  check(got == want);
  if (got) {
    char *parent = csb_spath_parent(CSB_PATH_POSIX, text);
    check(parent != NULL);
    char *again = csb_patch_i_artifact_path(parent, id, 'j', 0);
    check(strcmp(again, text) == 0);
    free(again);
    free(parent);
  }
  free(jname);
  free(norm);
}

int csb_fuzz_artifact_one(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *in = csb_xmalloc(size + 1);
  memcpy(in, data, size);
  in[size] = '\0';
  const char *name = in;
  size_t nl = strlen(name);
  const char *pointer = nl < size ? in + nl + 1 : NULL;

  char id[64], kind = 0;
  size_t n = 0;
  int got = csb_patch_i_artifact_parse(name, id, &kind, &n);
  check(got == ref_name(name));
  if (got) {
    char *again = csb_patch_i_artifact_name(id, kind, n);
    check(strcmp(again, name) == 0);
    free(again);
    /* the id from the process ID and random bytes it spells */
    unsigned long pid = 0;
    const char *p = id;
    for (; *p != '-'; p++) pid = pid * 16 + (unsigned long)hexval(*p);
    unsigned char r[8];
    for (int i = 0; i < 8; i++) r[i] = (unsigned char)(hexval(p[1 + 2 * i]) * 16 + hexval(p[2 + 2 * i]));
    char made[64];
    csb_patch_i_make_id(made, pid, r);
    check(strcmp(made, id) == 0);
  }

  /* written from the input's bytes: taken back with the same values */
  uint8_t b[24] = {0};
  memcpy(b, data, size < sizeof b ? size : sizeof b);
  unsigned long pid = 0;
  for (int i = 0; i < 8; i++) pid = (pid << 8) | b[i];
  char made[64];
  csb_patch_i_make_id(made, pid, b + 8);
  static const char kinds[4] = {'j', 'p', 't', 'r'};
  char wk = kinds[b[16] % 4];
  size_t wn = wk == 't' || wk == 'r'
                  ? (((size_t)b[17] << 24 | (size_t)b[18] << 16 | (size_t)b[19] << 8 | b[20]) % 1000000000u)
                  : 0;
  char *written = csb_patch_i_artifact_name(made, wk, wn);
  char rid[64], rk = 0;
  size_t rn = 1;
  check(csb_patch_i_artifact_parse(written, rid, &rk, &rn));
  check(strcmp(rid, made) == 0 && rk == wk && rn == wn);
  free(written);

  if (pointer) {
    check_pointer(pointer, got ? id : made);
    if (got) check_pointer(pointer, made);
  }
  free(in);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_artifact_one(data, size); }
#endif
