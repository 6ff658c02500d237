/* fuzz_glob_links.c - libFuzzer entry point for csb_glob_walk_links over
 * hostile link graphs.
 *
 * A sandboxed command may leave any tree of directories and symlinks in a
 * workspace, and the next run walks below its links for the deny globs.
 * Here the tree lives in memory, behind the walker's callbacks: the input
 * up to its first '\n' is a glob (anchored at /r when it is not already),
 * the next byte the depth limit (-1..4), and every 3 bytes after it add an
 * entry: a directory, a file or a symlink (to any entry made so far, to a
 * later one, or dangling), named from a small set so that names collide
 * with the pattern's. The walk gets the links a walk of the tree that does
 * not enter links reports (as csb_glob_expand_ex does) and a small visit
 * cap. For every input:
 *   - the walk ends (loops of links, links to ancestors, chains of links);
 *   - it succeeds, or fails with a message (too deep, too many entries);
 *   - every match it reports is a lexical path below /r that the glob
 *     matches, within the depth limit, reported once, with the kind of the
 *     entry it was listed as.
 * Any violation aborts.
 *
 * glob_links_test replays it over seeds and mutations. To fuzz for real:
 *
 *   mkdir -p /tmp/winupcase && python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/paths -I/tmp/winupcase libs/paths/fuzz_glob_links.c \
 *     libs/paths/{glob,glob_cache,glob_expand,glob_links,pathmemo,paths,winpath,winfold}.c \
 *     libs/base/{base,os,sha256,utf8}.c -o /tmp/fuzz_glob_links
 *   /tmp/fuzz_glob_links -max_len=256 -max_total_time=600 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

int csb_fuzz_glob_links_one(const uint8_t *data, size_t size);

#define ROOT "/r"
#define MAX_NODES 48
#define MAX_VISITS ((size_t)20000)
#define MAX_HOPS 8

enum { N_DIR, N_FILE, N_LINK };

typedef struct node {
  int parent, kind, target; /* target: for links, a node index or -1 */
  const char *name;
} node;

typedef struct tree {
  node n[MAX_NODES];
  int len;
  const csb_glob *g;
  int max_depth;
  csb_strv lex; /* matches reported */
} tree;

static const char *const k_names[] = {"a", "b", "l", "m", ".env", "x.env", "d", "loop"};

static void check(int cond) {
  if (!cond) abort();
}

static char *node_path(const tree *T, int i) {
  if (i == 0) return csb_xstrdup(ROOT);
  char *p = node_path(T, T->n[i].parent);
  char *r = csb_xasprintf("%s/%s", p, T->n[i].name);
  free(p);
  return r;
}

static int child_named(const tree *T, int dir, const char *name, size_t len) {
  for (int i = 1; i < T->len; i++)
    if (T->n[i].parent == dir && strlen(T->n[i].name) == len && memcmp(T->n[i].name, name, len) == 0)
      return i;
  return -1;
}

/* The entry at `path`, its directories taken as they are (a link on the
 * way is not a directory), or -1. */
static int resolve(const tree *T, const char *path) {
  size_t rn = strlen(ROOT);
  if (strncmp(path, ROOT, rn) != 0 || (path[rn] != '\0' && path[rn] != '/')) return -1;
  int cur = 0;
  for (const char *p = path + rn; *p;) {
    if (*p == '/') {
      p++;
      continue;
    }
    size_t len = strcspn(p, "/");
    if (T->n[cur].kind != N_DIR) return -1;
    cur = child_named(T, cur, p, len);
    if (cur < 0) return -1;
    p += len;
  }
  return cur;
}

static int cb_list(void *ctx, const char *dir, csb_strv *names, csb_error *err) {
  (void)err;
  const tree *T = ctx;
  int d = resolve(T, dir);
  if (d < 0 || T->n[d].kind != N_DIR) return 0;
  for (int i = 1; i < T->len; i++)
    if (T->n[i].parent == d) csb_strv_push(names, T->n[i].name);
  return 1;
}

static csb_glob_node cb_kind(void *ctx, const char *path) {
  const tree *T = ctx;
  int i = resolve(T, path);
  if (i < 0) return CSB_GLOB_NODE_MISSING;
  return T->n[i].kind == N_DIR ? CSB_GLOB_NODE_DIR : T->n[i].kind == N_LINK ? CSB_GLOB_NODE_LINK : CSB_GLOB_NODE_OTHER;
}

static char *cb_dir_target(void *ctx, const char *link) {
  const tree *T = ctx;
  int i = resolve(T, link);
  for (int hops = 0; i >= 0 && T->n[i].kind == N_LINK; hops++) {
    if (hops == MAX_HOPS) return NULL; /* ELOOP */
    i = T->n[i].target;
  }
  return i < 0 || T->n[i].kind != N_DIR ? NULL : node_path(T, i);
}

static char *cb_join(void *ctx, const char *dir, const char *name) {
  (void)ctx;
  return csb_xasprintf("%s/%s", dir, name);
}

static int cb_under(void *ctx, const char *dir, const char *path) {
  (void)ctx;
  size_t n = strlen(dir);
  return strncmp(dir, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int depth_below_root(const char *lex) {
  int d = 0;
  for (const char *c = lex + strlen(ROOT); *c; c++) d += *c == '/';
  return d;
}

static int cb_match(void *ctx, const char *lex, const char *path, csb_glob_node kind, csb_error *err) {
  (void)err;
  tree *T = ctx;
  check(strncmp(lex, ROOT "/", strlen(ROOT) + 1) == 0);
  check(csb_glob_match(T->g, lex));
  check(T->max_depth < 0 || depth_below_root(lex) <= T->max_depth);
  check(kind == cb_kind(T, path));
  csb_strv_push(&T->lex, lex);
  return 1;
}

static const csb_glob_links_ops k_ops = {
    .list = cb_list,
    .kind = cb_kind,
    .dir_target = cb_dir_target,
    .join = cb_join,
    .under = cb_under,
    .on_match = cb_match,
};

/* The links a walk from `dir` (at `depth`) that never enters a link
 * reports, as csb_glob_expand_ex does: within the depth limit, where the
 * glob may still match below. */
static void links_below(const tree *T, int dir, int depth, csb_strv *out) {
  for (int i = 1; i < T->len; i++) {
    if (T->n[i].parent != dir) continue;
    int d = depth + 1;
    if (T->max_depth >= 0 && d >= T->max_depth) continue;
    char *p = node_path(T, i);
    if (csb_glob_may_match_below(T->g, p)) {
      if (T->n[i].kind == N_LINK) csb_strv_push(out, p);
      else if (T->n[i].kind == N_DIR) links_below(T, i, d, out);
    }
    free(p);
  }
}

int csb_fuzz_glob_links_one(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  const char *nl = memchr(buf, '\n', size);
  if (!nl) return 0;
  size_t plen = (size_t)(nl - buf);
  if (memchr(buf, 0, plen)) return 0;
  char *pattern = buf[0] == '/' && plen >= 3 && memcmp(buf, ROOT "/", 3) == 0
                      ? csb_xstrndup(buf, plen)
                      : csb_xasprintf(ROOT "%s%.*s", plen && buf[0] == '/' ? "" : "/", (int)plen, buf);
  csb_glob *g = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_glob_compile(pattern, &g, &err)) {
    check(err.msg[0] != '\0');
    free(pattern);
    return 0;
  }
  tree T;
  memset(&T, 0, sizeof T);
  T.g = g;
  const uint8_t *p = (const uint8_t *)nl + 1, *end = data + size;
  T.max_depth = p < end ? (int)(*p++ % 6) - 1 : -1;
  T.n[0] = (node){-1, N_DIR, -1, ""};
  T.len = 1;
  /* Links are made first with a raw target byte: one may lead to an
   * entry made after it. */
  int raw_target[MAX_NODES];
  for (; end - p >= 3 && T.len < MAX_NODES; p += 3) {
    int dirs[MAX_NODES], nd = 0;
    for (int i = 0; i < T.len; i++)
      if (T.n[i].kind == N_DIR) dirs[nd++] = i;
    int parent = dirs[p[0] % nd];
    const char *name = k_names[p[1] % CSB_ARRAY_LEN(k_names)];
    if (child_named(&T, parent, name, strlen(name)) >= 0) continue;
    T.n[T.len] = (node){parent, (p[1] >> 3) % 3, -1, name};
    raw_target[T.len] = p[2];
    T.len++;
  }
  for (int i = 1; i < T.len; i++)
    if (T.n[i].kind == N_LINK) T.n[i].target = raw_target[i] < 3 * T.len ? raw_target[i] % T.len : -1;
  csb_strv links;
  csb_strv_init(&links);
  csb_strv_init(&T.lex);
  links_below(&T, 0, 0, &links);
  csb_strv_sort_unique(&links);
  csb_glob_links_walk w = {&k_ops, &T, g, T.max_depth, MAX_VISITS, NULL};
  int ok = csb_glob_walk_links(&w, ROOT, &links, &err);
  check(ok || err.msg[0] != '\0');
  if (!ok)
    check(strstr(err.msg, "deeper than") != NULL || strstr(err.msg, "entries below symlinked directories") != NULL);
  /* every lexical path is reported once */
  size_t n = T.lex.len;
  csb_strv_sort_unique(&T.lex);
  check(T.lex.len == n);
  csb_strv_free(&T.lex);
  csb_strv_free(&links);
  csb_glob_free(g);
  free(pattern);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_glob_links_one(data, size); }
#endif
