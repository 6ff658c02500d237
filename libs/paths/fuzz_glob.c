/* fuzz_glob.c - libFuzzer entry point for the glob language and the
 * lexical path helpers of libs/paths.
 *
 * The input is split at its first '\n': the bytes before it are a glob
 * pattern, the bytes after it a path (both cut at a NUL byte, since neither
 * can contain one). For every input:
 *   - compiling the pattern either fails with a message or succeeds;
 *   - the glob's ERE must compile with regcomp(REG_EXTENDED) and agree with
 *     csb_glob_match on the path;
 *   - a matching path must lie strictly below the static prefix;
 *   - the lexical helpers keep their invariants on the path (normalisation
 *     is idempotent, a path is under itself and strictly under its parent,
 *     relative_to(parent) is the basename, joining is consistent);
 *   - the pattern, anchored in a small fixed tree (created once under
 *     $TMPDIR, removed at exit; awkward names, symlink loops, a symlink
 *     out of the tree), expands (depth and thread count taken from the last
 *     input byte) to exactly the tree entries below the static prefix that
 *     csb_glob_match accepts: this checks the walker, its lazy DFA, pruning
 *     and single-name probing against the plain matcher.
 * Any violation aborts.
 *
 * paths_test links this file and replays it over seeds and mutations. To
 * fuzz for real:
 *
 *   mkdir -p /tmp/winupcase && python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread \
 *     -Ilibs/base -Ilibs/paths -I/tmp/winupcase libs/paths/fuzz_glob.c \
 *     libs/paths/{glob,glob_cache,glob_expand,pathmemo,paths,winfold,winpath}.c \
 *     libs/base/{base,os,sha256,utf8}.c -o /tmp/fuzz_glob
 *   /tmp/fuzz_glob -max_len=512 -max_total_time=600 CORPUS_DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_paths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static void check_glob(const char *pattern, const char *path) {
  csb_glob *g = NULL;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_glob_compile(pattern, &g, &err)) {
    check(err.msg[0] != '\0');
    return;
  }
  check(strcmp(csb_glob_pattern(g), pattern) == 0);
  int m = csb_glob_match(g, path);
  check(m == csb_glob_match_n(g, path, strlen(path)));

  char *re = csb_glob_to_regex(g);
  regex_t r;
  check(regcomp(&r, re, REG_EXTENDED | REG_NOSUB) == 0);
  check((regexec(&r, path, 0, NULL, 0) == 0) == (m != 0));
  regfree(&r);
  free(re);

  const char *prefix = csb_glob_static_prefix(g);
  size_t plen = strlen(prefix);
  if (m && plen > 0) {
    if (strcmp(prefix, "/") == 0) {
      check(path[0] == '/');
    } else {
      check(strncmp(path, prefix, plen) == 0 && path[plen] == '/');
    }
  }
  csb_glob_free(g);
}

static void check_lexical(const char *path) {
  char *n = csb_path_normalize(path);
  char *n2 = csb_path_normalize(n);
  check(strcmp(n, n2) == 0);
  check(csb_path_is_under(n, n));
  if (!strstr(path, "..")) check(csb_path_is_under(n, path) && csb_path_is_under(path, n));
  check(csb_path_depth(n) == csb_path_depth(path) || strstr(path, ".."));
  check(csb_path_is_absolute(n) == csb_path_is_absolute(path));

  char *parent = csb_path_parent(n);
  if (parent && strstr(n, "..") == NULL) {
    char *base = csb_path_basename(n);
    check(csb_path_is_strictly_under(parent, n));
    char *rel = csb_path_relative_to(parent, n);
    check(rel && strcmp(rel, base) == 0);
    char *joined = csb_path_join(parent, base);
    check(strcmp(joined, n) == 0);
    free(joined);
    free(rel);
    free(base);
  }
  free(parent);

  char *joined = csb_path_join("/base", path);
  check(csb_path_is_absolute(joined));
  free(joined);

  char *home = NULL;
  if (csb_path_expand_home(path, "/home/u", &home, NULL)) {
    if (path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
      check(csb_path_is_under("/home/u", home) || strstr(path, ".."));
    else
      check(strcmp(home, path) == 0);
    free(home);
  }
  free(n);
  free(n2);
}

/* ---- expansion against a fixed tree ---------------------------------------- */

typedef struct tree_entry {
  char *path;
  int depth; /* below the tree root */
} tree_entry;

static char *tree_root;
static tree_entry *tree_entries;
static size_t tree_n, tree_cap;

static int collect_entry(const char *path, const struct stat *st, int type, struct FTW *f) {
  (void)st;
  (void)type;
  if (f->level == 0) return 0;
  tree_entries = csb_xgrow(tree_entries, &tree_cap, tree_n + 1, sizeof *tree_entries);
  tree_entries[tree_n].path = csb_xstrdup(path);
  tree_entries[tree_n].depth = f->level;
  tree_n++;
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f) {
  (void)st;
  (void)f;
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

static void tree_cleanup(void) {
  if (!tree_root) return;
  nftw(tree_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  for (size_t i = 0; i < tree_n; i++) free(tree_entries[i].path);
  free(tree_entries);
  free(tree_root);
  tree_root = NULL;
}

static void tree_add(const char *rel, char kind, const char *target) {
  char *p = csb_xasprintf("%s/%s", tree_root, rel);
  if (kind == 'd') {
    check(mkdir(p, 0755) == 0);
  } else if (kind == 'f') {
    int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    check(fd >= 0);
    close(fd);
  } else {
    check(symlink(target, p) == 0);
  }
  free(p);
}

static void tree_init(void) {
  if (tree_root) return;
  const char *tmp = getenv("TEST_TMPDIR");
  if (!tmp || !*tmp) tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  char *templ = csb_xasprintf("%s/csb-fuzz-glob-XXXXXX", tmp);
  check(mkdtemp(templ) != NULL);
  check(csb_path_canonicalize(templ, &tree_root, NULL));
  free(templ);
  static const struct {
    const char *rel;
    char kind;
    const char *target;
  } spec[] = {
      {"a", 'd', 0},         {"a/b", 'd', 0},        {"a/b/x.env", 'f', 0},
      {"a/b/.env", 'f', 0},  {"a/x.env", 'f', 0},    {"a/ab", 'f', 0},
      {"a/b/c", 'd', 0},     {"a/b/c/a", 'f', 0},    {"a/b/c/b.pem", 'f', 0},
      {"b", 'd', 0},         {"b/a", 'd', 0},        {"b/a/x.env", 'f', 0},
      {"b/[a]", 'f', 0},     {"b/*", 'f', 0},        {"b/a,b", 'f', 0},
      {"b/\xff", 'f', 0},   {"\xff\xfe.env", 'f', 0}, {"x.env", 'f', 0},
      {".env", 'f', 0},      {"ab", 'd', 0},         {"ab/ab", 'd', 0},
      {"ab/ab/ab", 'f', 0},  {"{c}", 'd', 0},        {"{c}/e", 'f', 0},
      {"loop", 'l', "."},    {"a/up", 'l', ".."},    {"out", 'l', "/"},
      {"dangling.env", 'l', "missing"},              {"a/b/link.env", 'l', "x.env"},
  };
  for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
    tree_add(spec[i].rel, spec[i].kind, spec[i].target);
  }
  nftw(tree_root, collect_entry, 16, FTW_PHYS);
  atexit(tree_cleanup);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_expand(const char *suffix, unsigned char opt) {
  tree_init();
  char *pattern = csb_xasprintf("%s/%s", tree_root, suffix);
  csb_glob *g = NULL;
  if (!csb_glob_compile(pattern, &g, NULL)) {
    free(pattern);
    return;
  }
  /* Stay inside the tree, and keep the prefix free of symlinks (the walk
   * follows them in the prefix, the brute-force listing does not). */
  const char *prefix = csb_glob_static_prefix(g);
  char *norm = csb_path_normalize(prefix);
  char *link = NULL;
  int inside = strcmp(norm, prefix) == 0 && csb_path_is_under(tree_root, prefix) &&
               csb_path_find_symlink(prefix, tree_root, &link, NULL) && link == NULL;
  free(link);
  free(norm);
  if (inside) {
    csb_glob_expand_opts o;
    memset(&o, 0, sizeof o);
    o.max_depth = (int)(opt % 5) - 1; /* -1 .. 3 */
    o.threads = 1 + (opt >> 7);
    o.max_matches = 1000;
    csb_strv got;
    csb_strv_init(&got);
    check(csb_glob_expand_ex(g, &o, &got, NULL));

    size_t base = csb_path_depth(prefix) - csb_path_depth(tree_root);
    csb_strv want;
    csb_strv_init(&want);
    for (size_t i = 0; i < tree_n; i++) {
      const tree_entry *e = &tree_entries[i];
      if (!csb_path_is_strictly_under(prefix, e->path)) continue;
      if (o.max_depth >= 0 && (size_t)e->depth > base + (size_t)o.max_depth) continue;
      if (csb_glob_match(g, e->path)) csb_strv_push(&want, e->path);
    }
    if (want.len > 1) qsort(want.items, want.len, sizeof *want.items, cmp_str);
    check(got.len == want.len);
    for (size_t i = 0; i < got.len; i++) check(strcmp(got.items[i], want.items[i]) == 0);
    csb_strv_free(&got);
    csb_strv_free(&want);
  }
  csb_glob_free(g);
  free(pattern);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *nl = memchr(buf, '\n', size);
  const char *pattern = buf, *path = "";
  if (nl) {
    *nl = '\0';
    path = nl + 1;
  }
  check_glob(pattern, path);
  check_lexical(path);
  if (strlen(pattern) < 256) check_expand(pattern, size ? data[size - 1] : 0);
  free(buf);
  return 0;
}
