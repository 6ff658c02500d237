/* fuzz_plan.c - fuzz entry for csb-winacl's plan reader: the JSON of
 * `simulate --plan` and `apply --plan` and its check (wa_plan_check,
 * plan_util.c), which the simulator and the applier (elevated, on
 * Windows) run before reading the plan's members.
 *
 * The input is a plan file. For every input:
 *   - it is accepted, or refused with a message;
 *   - an accepted plan printed and read again is accepted and prints the
 *     same (read, print, read is a fixed point);
 *   - without any one of its top-level members an accepted plan is still
 *     accepted, except without `schema`, `backend` or `capability_sids`,
 *     which every reader needs;
 *   - each array of strings the applier hands to Win32 calls (token SID
 *     lists, audit trustees, deny-read records and revocations) with a
 *     number appended makes an accepted plan refused, and so does a
 *     number for the capability record's file.
 * Any violation aborts. plan_util_test replays it over seeds and
 * mutations; fuzzing proper (docs/fuzzing.md):
 *
 *   python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/cli -Ilibs/json -Ilibs/netpolicy -Ilibs/paths -Ilibs/policy \
 *     -I/tmp/winupcase -Ibazel-bin/libs/cli -I<cJSON source> \
 *     libs/base/{base,os,sha256,utf8}.c libs/cli/cli.c libs/json/json.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/policy/{eval,legacy,pathindex,pathstyle,policy,policy_json,summary,view}.c \
 *     <cJSON source>/cJSON.c tools/csb-winacl/plan_util.c tools/csb-winacl/fuzz_plan.c \
 *     -o /tmp/fuzz_plan
 *   /tmp/fuzz_plan -max_len=8192 -max_total_time=180 CORPUS_DIR
 * (libs/cli/cli.c needs csb_version.h: copy bazel-bin/libs/cli/csb_version.h
 * next to winupcase_table.h.) Seed with the plans of tests/winacl/cases.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_json.h"
#include "plan.h"

int csb_fuzz_plan_one(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static int accepted(const cJSON *plan) {
  csb_error err;
  csb_error_clear(&err);
  int ok = wa_plan_check(plan, &err);
  check(ok || err.msg[0] != '\0');
  return ok;
}

/* What main.c's load_plan and then the readers do. */
static int read_plan(const char *text, size_t len, cJSON **out, csb_error *err) {
  *out = NULL;
  if (!csb_json_parse_limits(text, len, &(csb_json_limits){0, WA_MAX_PLAN_BYTES}, out, err))
    return 0;
  if (wa_plan_check(*out, err)) return 1;
  cJSON_Delete(*out);
  *out = NULL;
  return 0;
}

/* The value at a dotted path of objects, or NULL. */
static cJSON *at(cJSON *v, const char *a, const char *b, const char *c) {
  v = cJSON_GetObjectItemCaseSensitive(v, a);
  if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
  if (c) v = cJSON_GetObjectItemCaseSensitive(v, c);
  return v;
}

int csb_fuzz_plan_one(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  cJSON *plan = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!read_plan((const char *)data, size, &plan, &err)) {
    check(plan == NULL && err.msg[0] != '\0');
    return 0;
  }
  check(accepted(plan));

  char *text = csb_json_print_str(plan, 0);
  cJSON *again = NULL;
  check(read_plan(text, strlen(text), &again, &err));
  char *text2 = csb_json_print_str(again, 0);
  check(strcmp(text, text2) == 0);
  free(text2);
  cJSON_Delete(again);
  free(text);

  /* one top-level member less */
  for (const cJSON *m = plan->child; m != NULL; m = m->next) {
    if (m->string == NULL) continue;
    cJSON *copy = cJSON_Duplicate(plan, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(copy, m->string);
    int required = strcmp(m->string, "schema") == 0 || strcmp(m->string, "backend") == 0 ||
                   strcmp(m->string, "capability_sids") == 0;
    /* (a duplicate key: the first one goes, the next is found) */
    if (cJSON_GetObjectItemCaseSensitive(copy, m->string) == NULL)
      check(accepted(copy) == !required);
    cJSON_Delete(copy);
  }

  /* a number where the applier takes strings */
  static const char *const lists[][3] = {
      {"token", "restricting_sids", NULL},       {"token", "default_dacl_generic_all", NULL},
      {"audit", "deny_trustees", NULL},          {"deny_read", "state", "recorded"},
      {"deny_read", "state", "revoke"},
  };
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    cJSON *copy = cJSON_Duplicate(plan, 1);
    cJSON *arr = at(copy, lists[i][0], lists[i][1], lists[i][2]);
    if (cJSON_IsArray(arr)) {
      cJSON_AddItemToArray(arr, cJSON_CreateNumber(7));
      check(!accepted(copy));
    }
    cJSON_Delete(copy);
  }
  cJSON *copy = cJSON_Duplicate(plan, 1);
  cJSON *caps = cJSON_GetObjectItemCaseSensitive(copy, "capability_sids");
  check(cJSON_IsObject(caps));
  cJSON_ReplaceItemInObjectCaseSensitive(caps, "file", cJSON_CreateNumber(1));
  check(!accepted(copy));
  cJSON_Delete(copy);

  cJSON_Delete(plan);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_plan_one(data, size); }
#endif
