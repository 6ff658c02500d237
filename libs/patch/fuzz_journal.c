/* fuzz_journal.c - fuzz entry for csb-applypatch's crash-recovery journal
 * reader (commit.c), which decides what a later run undoes or redoes after
 * an interrupted commit: it must never accept a record it cannot act on
 * exactly.
 *
 * The input is a journal file. For every input,
 * csb_patch_i_journal_reformat either refuses it or accepts it; when it
 * accepts:
 *   - the text written back starts with the journal's magic line and an
 *     id line, and is accepted again and written back unchanged (read,
 *     write, read is a fixed point);
 *   - every line written back is a whole line of the input: a record is
 *     accepted only in the one spelling the committer writes (no NUL in
 *     an id, no sign, blank or leading zero in a number);
 *   - a torn last line (no final LF) is ignored: the input cut after its
 *     last LF reads the same;
 *   - a `commit` line and then an `abort` line appended to a complete
 *     journal each add exactly that mark.
 * Any violation aborts. patch_test replays it over seeds and mutations;
 * fuzzing proper (docs/fuzzing.md):
 *
 *   python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/paths -Ilibs/patch -I/tmp/winupcase libs/base/{base,os,sha256,utf8}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/patch/{arena,commit,fsys_win,parse,pending,plan,pool,text,utf8}.c libs/patch/fuzz_journal.c \
 *     -o /tmp/fuzz_journal
 *   /tmp/fuzz_journal -max_len=2048 -max_total_time=180 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_base.h"
#include "patch_internal.h"

int csb_fuzz_journal_one(const uint8_t *data, size_t size);

#define MAGIC "csb-applypatch-journal 1\n"

static void check(int ok) {
  if (!ok) abort();
}

/* 1 when line[0..n) (its LF included) is a whole line of text[0..len). */
static int has_line(const char *text, size_t len, const char *line, size_t n) {
  for (size_t i = 0; i + n <= len; i++)
    if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, line, n) == 0) return 1;
  return 0;
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && memcmp(s + n - t, tail, t) == 0;
}

int csb_fuzz_journal_one(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  const char *text = (const char *)data;
  char *out = NULL;
  if (!csb_patch_i_journal_reformat(text, size, &out)) {
    check(out == NULL);
    return 0;
  }
  check(out != NULL);
  size_t ml = strlen(MAGIC);
  check(strncmp(out, MAGIC, ml) == 0 && strncmp(out + ml, "id ", 3) == 0);
  check(strlen(out) > 0 && out[strlen(out) - 1] == '\n');

  for (const char *l = out; *l;) {
    const char *nl = strchr(l, '\n');
    check(nl != NULL);
    check(has_line(text, size, l, (size_t)(nl - l) + 1));
    l = nl + 1;
  }

  char *again = NULL;
  check(csb_patch_i_journal_reformat(out, strlen(out), &again));
  check(strcmp(again, out) == 0);
  free(again);

  /* a torn last line is ignored */
  size_t cut = size;
  while (cut > 0 && text[cut - 1] != '\n') cut--;
  char *whole = NULL;
  check(csb_patch_i_journal_reformat(text, cut, &whole));
  check(strcmp(whole, out) == 0);
  free(whole);

  /* the commit and abort marks */
  csb_buf b = {0};
  csb_buf_append(&b, text, cut);
  csb_buf_puts(&b, "commit\n");
  char *committed = NULL;
  check(csb_patch_i_journal_reformat(b.data, b.len, &committed));
  check(ends_with(committed, "commit\n") || ends_with(committed, "commit\nabort\n"));
  csb_buf_puts(&b, "abort\n");
  char *aborted = NULL;
  check(csb_patch_i_journal_reformat(b.data, b.len, &aborted));
  check(ends_with(aborted, "commit\nabort\n"));
  free(aborted);
  free(committed);
  csb_buf_free(&b);
  free(out);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_journal_one(data, size); }
#endif
