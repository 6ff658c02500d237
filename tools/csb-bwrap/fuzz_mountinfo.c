/* fuzz_mountinfo.c - libFuzzer entry point for the mount-table reading of
 * release.c (bw_release_mountinfo_says_defer), and for its reading of a
 * statmount(2) answer (bw_release_statmount_says_defer: the whole input,
 * an exact-size copy, is the answer; a yes must say `discard`).
 *
 * The first two bytes pick the mount id asked about; the rest is the
 * table's text. Checks that the verdict depends on the asked line alone:
 * the same verdict when the text is cut right after that line's newline,
 * or has unrelated lines added after it, and never a yes for a line that
 * does not say `discard` or whose mount point is not `/`. Any violation
 * aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -Itools/csb-bwrap \
 *     -Ilibs/base -Ilibs/paths -Ilibs/policy libs/base/base.c libs/base/os.c libs/base/utf8.c \
 *     libs/base/sha256.c tools/csb-bwrap/release.c tools/csb-bwrap/dirlist.c tools/csb-bwrap/fuzz_mountinfo.c \
 *     -o /tmp/fuzz_mountinfo
 *   /tmp/fuzz_mountinfo -max_len=4096 -max_total_time=600 /tmp/corpus_mountinfo
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_bwrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *ans = malloc(size ? size : 1);
  if (!ans) return 0;
  memcpy(ans, data, size);
  int sm = bw_release_statmount_says_defer(ans, size);
  if (sm < -1 || sm > 1 || (sm == 1 && !memmem(ans, size, "discard", 7))) abort();
  free(ans);
  if (size < 2) return 0;
  int id = data[0] | (data[1] << 8);
  const char *text = (const char *)data + 2;
  size_t len = size - 2;
  /* an exact-size copy, so that a read past the end is caught */
  char *t = malloc(len ? len : 1);
  if (!t) return 0;
  memcpy(t, text, len);
  int yes = bw_release_mountinfo_says_defer(t, len, id);
  if (yes && !memmem(t, len, "discard", 7)) abort();
  /* cut right after the first line that starts with the id */
  char prefix[16];
  int pl = snprintf(prefix, sizeof prefix, "%d ", id);
  const char *line = NULL;
  for (const char *p = t; p < t + len;) {
    const char *nl = memchr(p, '\n', (size_t)(t + len - p));
    if ((size_t)(t + len - p) >= (size_t)pl && memcmp(p, prefix, (size_t)pl) == 0) {
      line = p;
      if (nl) {
        size_t cut = (size_t)(nl + 1 - t);
        if (bw_release_mountinfo_says_defer(t, cut, id) != yes) abort();
        char *more = malloc(cut + 32);
        if (!more) break;
        memcpy(more, t, cut);
        memcpy(more + cut, "1 1 0:1 / / rw - ext4 x discard\n", 32);
        if (id != 1 && bw_release_mountinfo_says_defer(more, cut + 32, id) != yes) abort();
        free(more);
      }
      break;
    }
    if (!nl) break;
    p = nl + 1;
  }
  if (yes && !line) abort();
  if (yes) {
    /* the mount point of a yes is "/" */
    const char *f = line;
    for (int k = 0; k < 4 && f; k++) {
      const char *sp = memchr(f, ' ', (size_t)(t + len - f));
      f = sp ? sp + 1 : NULL;
    }
    if (!f || f + 2 > t + len || f[0] != '/' || f[1] != ' ') abort();
  }
  free(t);
  return 0;
}
