/* fuzz_patch.c - libFuzzer entry point for libs/patch.
 *
 * Input: FILE-BYTES NUL PATCH-TEXT (without a NUL the whole input is the
 * patch and the file is empty). The patch is parsed; every update hunk is
 * then applied to the in-memory file in both line-ending modes. Checked:
 * no crash, leak or hang; parse errors carry a message; the two modes
 * differ at most by one final line ending; the result of an update keeps
 * every byte of the file that no chunk touched when there are no chunks
 * to apply. Any violation aborts.
 *
 * Build and run (clang with libFuzzer):
 *   mkdir -p /tmp/winupcase && python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -Ilibs/base -Ilibs/paths \
 *     -I/tmp/winupcase -Ilibs/patch libs/patch/fuzz_patch.c \
 *     libs/patch/{arena,parse,utf8,text,pending,plan,pool,commit}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/base/{base,os,sha256,utf8}.c -o /tmp/fuzz_patch -pthread
 *   /tmp/fuzz_patch -max_total_time=600 -max_len=4096 /tmp/patch-corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_update(const char *file, size_t flen, const csb_patch_hunk *h) {
  csb_buf a = {0}, b = {0};
  csb_error ea, eb;
  int ra = csb_patch_update_text(file, flen, h, "/f", 0, &a, &ea, NULL);
  int rb = csb_patch_update_text(file, flen, h, "/f", CSB_PATCH_TEXT_ADD_FINAL_NEWLINE, &b, &eb,
                                 NULL);
  if (ra != rb) abort();
  if (!ra) {
    if (ea.msg[0] == '\0' || strcmp(ea.msg, eb.msg) != 0) abort();
  } else {
    /* b is a, possibly followed by one line ending. */
    if (b.len < a.len || b.len > a.len + 2) abort();
    if (a.len && memcmp(a.data, b.data, a.len) != 0) abort();
    if (b.len > a.len) {
      const char *tail = b.data + a.len;
      size_t tn = b.len - a.len;
      if (!((tn == 1 && (tail[0] == '\n' || tail[0] == '\r')) ||
            (tn == 2 && tail[0] == '\r' && tail[1] == '\n')))
        abort();
    }
  }
  csb_buf_free(&a);
  csb_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data;
  const char *nul = memchr(in, '\0', size);
  const char *file = "";
  size_t flen = 0;
  const char *text = in;
  size_t tlen = size;
  if (nul) {
    file = in;
    flen = (size_t)(nul - in);
    text = nul + 1;
    tlen = size - flen - 1;
  }
  csb_patch *p = NULL;
  csb_error err;
  csb_buf full = {0};
  if (!csb_patch_parse(text, tlen, CSB_PATCH_PARSE_SHELL_HEREDOC, &p, &err, &full)) {
    if (err.msg[0] == '\0' || full.len == 0 || err.line < 0) abort();
    csb_buf_free(&full);
    return 0;
  }
  if (full.len) abort();
  for (size_t i = 0; i < p->n_hunks; i++) {
    const csb_patch_hunk *h = &p->hunks[i];
    if (!h->path || h->line < 2) abort();
    if (h->kind == CSB_PATCH_UPDATE) {
      if (h->n_chunks == 0) abort();
      check_update(file, flen, h);
    }
  }
  csb_patch_free(p);
  return 0;
}
