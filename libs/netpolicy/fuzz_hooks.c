/* fuzz_hooks.c - libFuzzer entry point for MITM hook matching in
 * libs/netpolicy (csb_netpolicy_match_hooks): the request target's path
 * and query as a client sends them inside an intercepted tunnel.
 *
 * The input is a request target (cut at its first NUL or newline),
 * matched against one hook: host h.test, methods GET, a path pattern (`/v`,
 * one segment's rest, `/items/`, anything), query x in {1, 2, "a b",
 * "c+d"}, header X-Kind: k. For every input:
 *   - a target whose path (up to '?') has a `.` or `..` segment once
 *     percent-decoded (also with `;parameters` after it), a backslash, or
 *     an encoded '/' or '\' matches no hook;
 *   - a target that matches stops matching when one more occurrence of x
 *     with a value the hook does not accept is appended, however an
 *     origin may spell its name (X, x[], %78, a leading space) or
 *     separate it (`&`, `;`);
 *   - it stops matching with the header X-Kind (or X_Kind) given a second
 *     time with another value, or with another method;
 *   - matching twice gives the same answer.
 * Any violation aborts. netpolicy_test replays it over seeds and
 * mutations; fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/netpolicy -I<cJSON source> libs/base/{base,os,sha256,utf8}.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c <cJSON source>/cJSON.c \
 *     libs/netpolicy/fuzz_hooks.c -o /tmp/fuzz_hooks
 *   /tmp/fuzz_hooks -max_len=512 -max_total_time=600 /tmp/corpus_hooks
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "csb_base.h"
#include "csb_netpolicy.h"

int csb_fuzz_hooks_one(const uint8_t *data, size_t size);

static const char kConfig[] =
    "{\"mitm\":{\"hooks\":{\"b\":{\"host\":\"h.test\",\"methods\":[\"GET\"],"
    "\"path_prefixes\":[\"pattern:/v*/items/**\"],\"query\":{\"x\":[\"1\",\"2\",\"a b\",\"c+d\"]},"
    "\"headers\":{\"X-Kind\":[\"k\"]},\"action\":[\"s\"]}},"
    "\"actions\":{\"s\":{\"strip_request_headers\":[\"authorization\"]}}}}";

static csb_netpolicy *hook_policy(void) {
  csb_netpolicy *np = csb_netpolicy_new();
  cJSON *j = cJSON_Parse(kConfig);
  csb_error err;
  csb_error_clear(&err);
  if (!j || !csb_netpolicy_apply_proxy_json(np, j, "network.proxy", &err) || !csb_netpolicy_finish(np, &err))
    abort();
  cJSON_Delete(j);
  return np;
}

static int hexv(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 1 when the path part of target could name another path at the origin:
 * a "." or ".." segment (percent-decoded once, ";..." after it ignored),
 * a backslash, or an encoded '/' or '\'. */
static int ambiguous_path(const char *target) {
  size_t n = strcspn(target, "?");
  char *dec = malloc(n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (target[i] == '\\') {
      free(dec);
      return 1;
    }
    if (target[i] == '%' && i + 2 < n && hexv((unsigned char)target[i + 1]) >= 0 &&
        hexv((unsigned char)target[i + 2]) >= 0) {
      int c = hexv((unsigned char)target[i + 1]) * 16 + hexv((unsigned char)target[i + 2]);
      if (c == '/' || c == '\\') {
        free(dec);
        return 1;
      }
      dec[k++] = (char)c;
      i += 2;
    } else {
      dec[k++] = target[i];
    }
  }
  dec[k] = '\0';
  int amb = 0;
  for (char *seg = dec; seg && !amb;) {
    char *slash = memchr(seg, '/', (size_t)(dec + k - seg));
    size_t len = slash ? (size_t)(slash - seg) : (size_t)(dec + k - seg);
    size_t core = 0;
    while (core < len && seg[core] != ';') core++;
    if ((core == 1 && seg[0] == '.') || (core == 2 && seg[0] == '.' && seg[1] == '.')) amb = 1;
    seg = slash ? slash + 1 : NULL;
  }
  free(dec);
  return amb;
}

static csb_hook_result match(const csb_netpolicy *np, const char *method, const char *target,
                             const csb_hook_header *h, size_t nh) {
  const csb_netpolicy_hook *hook = NULL;
  return csb_netpolicy_match_hooks(np, "h.test", method, target, h, nh, &hook);
}

int csb_fuzz_hooks_one(const uint8_t *data, size_t size) {
  if (size > 512) return 0;
  char *target = malloc(size + 1);
  memcpy(target, data, size);
  target[size] = '\0';
  target[strcspn(target, "\n")] = '\0';
  csb_netpolicy *np = hook_policy();
  const csb_hook_header kind[] = {{"X-Kind", 6, "k", 1}};
  csb_hook_result r = match(np, "GET", target, kind, 1);
  if (match(np, "GET", target, kind, 1) != r) abort();
  if (r == CSB_HOOK_MATCHED) {
    if (ambiguous_path(target)) abort();
    if (match(np, "POST", target, kind, 1) == CSB_HOOK_MATCHED) abort();
    const csb_hook_header two[] = {{"X-Kind", 6, "k", 1}, {"x_kind", 6, "j", 1}};
    if (match(np, "GET", target, two, 2) == CSB_HOOK_MATCHED) abort();
    static const char *const extra[] = {"&x=9", ";x=9", "&X=9", "&x[]=9", "&x%5B0%5D=9", "&%78=9",
                                        "&%20x=9", "&x=1%00", "&x=a+b", "&x=", "&x"};
    if (!strchr(target, '?')) abort(); /* the hook needs x: a match has a query */
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
      char *t2 = csb_xasprintf("%s%s", target, extra[i]);
      if (match(np, "GET", t2, kind, 1) == CSB_HOOK_MATCHED) abort();
      free(t2);
    }
  }
  csb_netpolicy_free(np);
  free(target);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_hooks_one(data, size); }
#endif
