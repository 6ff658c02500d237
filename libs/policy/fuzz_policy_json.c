/* fuzz_policy_json.c - libFuzzer entry point for the csb.policy/v1 reader.
 *
 * For every input: parse it as a policy document. When that succeeds, emit
 * it, parse the emitted text (which must succeed), emit again: the two
 * emitted texts must be identical. The parsed policy is also evaluated
 * (access_for on a few paths, summary, explain, legacy projection, views,
 * round trip) so that
 * every reader-accepted document is safe to hand to the rest of the
 * library. Any violation aborts.
 *
 * Build and run (see docs/fuzzing.md; cJSON from third_party):
 *   CJSON=<dir with cJSON.c/cJSON.h, e.g. dpkg-source -x of the pinned cjson>
 *   mkdir -p /tmp/winupcase && python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -Ilibs/json -Ilibs/paths -Ilibs/netpolicy -Ilibs/policy -I$CJSON -I/tmp/winupcase \
 *     libs/base/{base,os,sha256,utf8}.c libs/json/json.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c libs/policy/[elpsv]*.c \
 *     libs/policy/fuzz_policy_json.c $CJSON/cJSON.c -o /tmp/fuzz_policy_json -lpthread
 *   /tmp/fuzz_policy_json -max_len=8192 -max_total_time=600 CORPUS_DIR
 * Seed the corpus with the JSON documents of tests/resolve/cases.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static void exercise(csb_policy *p) {
  const char *paths[4] = {p->cwd, "/", "relative/x", NULL};
  if (p->n_entries > 0) paths[3] = p->entries[p->n_entries - 1].path;
  /* One evaluator for all the paths agrees with evaluating each alone. */
  csb_policy_evaluator *ev = csb_policy_evaluator_new(p);
  for (size_t i = 0; i < 4; i++) {
    if (paths[i] == NULL) continue;
    csb_verdict v, w;
    csb_policy_access_for(p, paths[i], &v);
    csb_policy_evaluator_access_for(ev, paths[i], &w);
    check(v.access == w.access && v.can_read == w.can_read && v.can_write == w.can_write &&
          v.reason == w.reason && v.entry == w.entry && v.glob == w.glob &&
          strcmp(v.protected_root, w.protected_root) == 0 &&
          strcmp(v.writable_root, w.writable_root) == 0);
    check(!v.can_write || v.can_read);
    char *d = csb_verdict_describe(p, &v);
    check(d != NULL && d[0] != '\0');
    free(d);
  }
  csb_policy_evaluator_free(ev);
  char *s = csb_policy_summary(p);
  free(s);
  char *e = csb_policy_explain(p);
  free(e);
  csb_legacy_policy l;
  if (csb_policy_to_legacy(p, &l, NULL)) csb_legacy_policy_free(&l);
  csb_policy_view *view = NULL;
  check(csb_policy_view_build(p, &view, NULL));
  for (size_t i = 0; i < view->n_writable; i++)
    (void)csb_writable_root_allows(p, &view->writable[i], p->cwd);
  csb_policy_view_free(view);
  (void)csb_policy_round_trips(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  csb_policy *p = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_policy_from_json((const char *)data, size, &p, &err)) {
    check(p == NULL && err.msg[0] != '\0');
    return 0;
  }
  char *first = csb_policy_to_json(p);
  csb_policy *q = NULL;
  check(csb_policy_from_json(first, strlen(first), &q, &err));
  char *second = csb_policy_to_json(q);
  check(strcmp(first, second) == 0);
  csb_policy *c = csb_policy_clone(q);
  char *third = csb_policy_to_json(c);
  check(strcmp(first, third) == 0);
  exercise(p);
  free(first);
  free(second);
  free(third);
  csb_policy_free(c);
  csb_policy_free(q);
  csb_policy_free(p);
  return 0;
}
