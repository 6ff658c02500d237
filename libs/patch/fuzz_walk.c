/* fuzz_walk.c - fuzz entry for the walk of csb-applypatch's paths
 * (plan.c resolve, and the pinned reads behind it): a patch's path is
 * hostile, and where it leads is what the policy check is asked about.
 *
 * The entry builds, once, a small tree in a temporary directory: a base
 * directory (the -C directory) with files, directories and symlinks into
 * it, out of it (to its parent, to `/`, to a file and a directory
 * outside), dangling, looping, chained, and to one of the committer's
 * names. The input's first byte picks the hunk (add, delete, update,
 * update with a move), a check that allows everything or only paths below
 * the base, and whether bytes 0x01-0x0c stand for names of the tree; the
 * rest is the path (for a move, the path, LF, the destination; each path
 * exactly as long as its bytes, NULs included). The hunk is planned
 * (csb_patch_plan_build) against the base. For every input:
 *   - a refusal is an error with a kind and a message, never a crash;
 *   - the first path the check is asked about for a path of the patch is
 *     its lexical form: the base joined with it (or it, when absolute)
 *     with `.`, `..` and empty components taken away by a separate
 *     normaliser, so `q/../P` is `P`; every path asked about is absolute,
 *     normal (normalising it again changes nothing) and has no name of
 *     the committer's files (CSB_PATCH_TMP_PREFIX...);
 *   - `q/../P` is planned as `P` (same outcome, same paths asked about),
 *     and so is an accepted relative path written as its lexical form;
 *   - in an accepted plan, every path a change lands on was asked about
 *     and allowed, no directory above it is a symlink, and it is none
 *     unless the change deletes it (a symlink is deleted, not followed):
 *     with the check for the base, it lies in the base for real.
 * Any violation aborts. patch_test replays it over seeds and mutations;
 * fuzzing proper (docs/fuzzing.md):
 *
 *   python3 libs/paths/gen_winupcase.py > /tmp/winupcase/winupcase_table.h
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -pthread -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/paths -Ilibs/patch -I/tmp/winupcase libs/base/{base,os,sha256,utf8}.c \
 *     libs/paths/{dirfd_win,glob,glob_cache,glob_expand,pathmemo,paths,spath,winfold,winpath,winpath_fs}.c \
 *     libs/patch/{arena,commit,fsys_win,parse,pending,plan,pool,text,utf8}.c libs/patch/fuzz_walk.c \
 *     -o /tmp/fuzz_walk
 *   /tmp/fuzz_walk -max_len=512 -max_total_time=600 CORPUS_DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csb_base.h"
#include "csb_patch.h"
#include "csb_paths.h"

int csb_fuzz_walk_one(const uint8_t *data, size_t size);

static void check_at(int ok, int line) {
  if (ok) return;
  fprintf(stderr, "fuzz_walk.c:%d: check failed\n", line);
  abort();
}
#define check(ok) check_at((ok), __LINE__)

/* ---- the tree --------------------------------------------------------------- */

static char *tree_root; /* canonical */
static char *base;      /* tree_root/base: the -C directory */

/* The names bytes 0x01-0x0c stand for. */
static const char *const kTokens[12] = {
    "d", "f", "ln_d", "ln_up", "ln_abs", "ln_out", "ln_f", "ln_fout", "ln_dangle", "ln_loop", "..",
    ".csb-applypatch-1-0000000000000000.t0"};

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
  free(tree_root);
  free(base);
  tree_root = base = NULL;
}

static void tree_add(const char *rel, char kind, const char *target) {
  char *p = csb_xasprintf("%s/%s", tree_root, rel);
  if (kind == 'd') {
    check(mkdir(p, 0755) == 0);
  } else if (kind == 'f') {
    int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    check(fd >= 0);
    check(write(fd, target, strlen(target)) == (ssize_t)strlen(target));
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
  char *templ = csb_xasprintf("%s/csb-fuzz-walk-XXXXXX", tmp);
  check(mkdtemp(templ) != NULL);
  check(csb_path_canonicalize(templ, &tree_root, NULL));
  free(templ);
  base = csb_xasprintf("%s/base", tree_root);
  static const struct {
    const char *rel;
    char kind;
    const char *target; /* a link's target, a file's contents */
  } spec[] = {
      {"base", 'd', 0},
      {"out", 'd', 0},
      {"out/secret", 'f', "f\n"},
      {"base/d", 'd', 0},
      {"base/d/e", 'd', 0},
      {"base/d/f", 'f', "f\n"},
      {"base/f", 'f', "f\n"},
      {"base/ln_d", 'l', "d"},
      {"base/ln_up", 'l', ".."},
      {"base/ln_abs", 'l', "/"},
      {"base/ln_out", 'l', "../out"},
      {"base/ln_f", 'l', "d/f"},
      {"base/ln_fout", 'l', "../out/secret"},
      {"base/ln_dangle", 'l', "missing/x"},
      {"base/ln_loop", 'l', "ln_loop"},
      {"base/d/ln_back", 'l', "../d"},
      {"base/ln_chain", 'l', "ln_d/ln_back/f"},
      {"base/ln_art", 'l', ".csb-applypatch-1-0000000000000000.t0"},
  };
  for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++)
    tree_add(spec[i].rel, spec[i].kind, spec[i].target);
  atexit(tree_cleanup);
}

/* ---- the oracle ------------------------------------------------------------- */

/* The lexical form of path (len bytes, no NUL) against cwd, normalised
 * component by component. */
static char *lexical(const char *cwd, const char *path, size_t len) {
  csb_buf out;
  csb_buf_init(&out);
  if (len == 0 || path[0] != '/') csb_buf_puts(&out, cwd);
  size_t i = 0;
  while (i <= len) {
    size_t j = i;
    while (j < len && path[j] != '/') j++;
    size_t n = j - i;
    if (n == 0 || (n == 1 && path[i] == '.')) {
      /* nothing */
    } else if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
      while (out.len > 0 && out.data[out.len - 1] != '/') out.len--;
      if (out.len > 0) out.len--;
    } else {
      csb_buf_putc(&out, '/');
      csb_buf_append(&out, path + i, n);
    }
    i = j + 1;
  }
  if (out.len == 0) csb_buf_putc(&out, '/');
  csb_buf_putc(&out, '\0');
  return csb_buf_steal(&out);
}

typedef struct {
  int narrow; /* allow only paths below the base */
  size_t n;
  char *spelling[16];
  char *abs[16];
  int allowed[16];
} asked;

static int on_check(void *ctx, const char *spelling, const char *abs_path, csb_error *err) {
  asked *a = ctx;
  int ok = !a->narrow ||
           (strncmp(abs_path, base, strlen(base)) == 0 && abs_path[strlen(base)] == '/');
  if (a->n < 16) {
    a->spelling[a->n] = csb_xstrdup(spelling);
    a->abs[a->n] = csb_xstrdup(abs_path);
    a->allowed[a->n] = ok;
    a->n++;
  }
  if (!ok) csb_error_set(err, "refusing %s", abs_path);
  return ok;
}

static void asked_free(asked *a) {
  for (size_t i = 0; i < a->n; i++) {
    free(a->spelling[i]);
    free(a->abs[i]);
  }
  a->n = 0;
}

/* 1 when no existing component of path (absolute) is a symlink. */
static int no_link_on_way(const char *path) {
  char *p = csb_xstrdup(path);
  int ok = 1;
  for (size_t i = 1; ok; i++) {
    char c = p[i];
    if (c != '/' && c != '\0') continue;
    p[i] = '\0';
    struct stat st;
    if (lstat(p, &st) != 0) break; /* missing from here on */
    if (S_ISLNK(st.st_mode)) ok = 0;
    p[i] = c;
    if (c == '\0') break;
  }
  free(p);
  return ok;
}

typedef struct {
  csb_patch_err_kind kind;
  int has_plan;
  asked a;
  size_t n_sum;
  char *sum_abs[2];
  char sum_op[2];
} outcome;

static void outcome_free(outcome *o) {
  asked_free(&o->a);
  for (size_t i = 0; i < o->n_sum; i++) free(o->sum_abs[i]);
  o->n_sum = 0;
}

static const char *const kOld[1] = {"f"};

/* Plans one hunk of kind k (3: an update with a move) on path (and move). */
static void plan(int k, int narrow, const char *path, size_t plen, const char *move, size_t mlen,
                 outcome *o) {
  memset(o, 0, sizeof *o);
  o->a.narrow = narrow;
  char *p = csb_xmalloc(plen + 1); /* exactly the path's bytes, then NUL */
  memcpy(p, path, plen);
  p[plen] = '\0';
  char *m = NULL;
  if (move) {
    m = csb_xmalloc(mlen + 1);
    memcpy(m, move, mlen);
    m[mlen] = '\0';
  }
  csb_patch_line old_l = {kOld[0], 1}, new_l = {"g", 1};
  csb_patch_chunk ch;
  memset(&ch, 0, sizeof ch);
  ch.old_lines = &old_l;
  ch.n_old = 1;
  ch.new_lines = &new_l;
  ch.n_new = 1;
  ch.line = 2;
  csb_patch_hunk h;
  memset(&h, 0, sizeof h);
  h.kind = k == 0 ? CSB_PATCH_ADD : k == 1 ? CSB_PATCH_DELETE : CSB_PATCH_UPDATE;
  h.path = p;
  h.path_len = plen;
  h.move_path = m;
  h.move_path_len = mlen;
  h.contents = (char *)"new\n";
  h.contents_len = 4;
  if (h.kind == CSB_PATCH_UPDATE) {
    h.chunks = &ch;
    h.n_chunks = 1;
  }
  h.line = 1;
  csb_patch patch;
  memset(&patch, 0, sizeof patch);
  patch.hunks = &h;
  patch.n_hunks = 1;
  csb_patch_plan_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.cwd = base;
  opts.check = on_check;
  opts.check_ctx = &o->a;
  csb_error err;
  csb_error_clear(&err);
  csb_patch_plan *pl = csb_patch_plan_build(&patch, &opts, &o->kind, &err);
  if (!pl) {
    check(o->kind != CSB_PATCH_ERR_NONE && err.msg[0] != '\0');
  } else {
    o->has_plan = 1;
    check(o->kind == CSB_PATCH_ERR_NONE);
    size_t n = csb_patch_plan_summary_len(pl);
    check(n >= 1 && n <= 2);
    for (size_t i = 0; i < n; i++) {
      o->sum_op[o->n_sum] = csb_patch_plan_summary_at(pl, i)->op;
      o->sum_abs[o->n_sum++] = csb_xstrdup(csb_patch_plan_summary_at(pl, i)->abs_path);
    }
    csb_patch_plan_free(pl);
  }
  free(p);
  free(m);
}

/* The properties of one outcome for the paths spelt. */
static void check_outcome(const outcome *o, const char *path, size_t plen, const char *move,
                          size_t mlen) {
  size_t pre = strlen(CSB_PATCH_TMP_PREFIX);
  for (size_t i = 0; i < o->a.n; i++) {
    const char *abs = o->a.abs[i];
    check(abs[0] == '/');
    char *again = lexical("/", abs, strlen(abs));
    check(strcmp(again, abs) == 0);
    free(again);
    const char *last = strrchr(abs, '/') + 1;
    check(strncmp(last, CSB_PATCH_TMP_PREFIX, pre) != 0);
  }
  /* the first path asked about for a spelling is its lexical form */
  for (int m = 0; m < 2; m++) {
    const char *sp = m ? move : path;
    size_t sl = m ? mlen : plen;
    if (!sp) continue;
    for (size_t i = 0; i < o->a.n; i++) {
      if (strlen(o->a.spelling[i]) != sl || memcmp(o->a.spelling[i], sp, sl) != 0) continue;
      check(memchr(sp, '\0', sl) == NULL);
      char *lex = lexical(base, sp, sl);
      check(strcmp(o->a.abs[i], lex) == 0);
      free(lex);
      break;
    }
  }
  if (!o->has_plan) return;
  for (size_t s = 0; s < o->n_sum; s++) {
    const char *abs = o->sum_abs[s];
    int seen = 0;
    for (size_t i = 0; i < o->a.n; i++) seen |= strcmp(o->a.abs[i], abs) == 0 && o->a.allowed[i];
    check(seen);
    /* a delete removes a symlink itself; nothing else lands on one */
    char *parent = csb_path_parent(abs);
    check(parent != NULL && no_link_on_way(parent));
    free(parent);
    struct stat st;
    check(o->sum_op[s] == 'D' || lstat(abs, &st) != 0 || !S_ISLNK(st.st_mode));
    if (o->a.narrow) check(strncmp(abs, base, strlen(base)) == 0 && abs[strlen(base)] == '/');
  }
}

static int same_outcome(const outcome *x, const outcome *y) {
  if (x->kind != y->kind || x->has_plan != y->has_plan || x->n_sum != y->n_sum || x->a.n != y->a.n)
    return 0;
  for (size_t i = 0; i < x->a.n; i++)
    if (strcmp(x->a.abs[i], y->a.abs[i]) != 0 || x->a.allowed[i] != y->a.allowed[i]) return 0;
  for (size_t i = 0; i < x->n_sum; i++)
    if (strcmp(x->sum_abs[i], y->sum_abs[i]) != 0) return 0;
  return 1;
}

/* The path with bytes 0x01-0x0c replaced by the names they stand for. */
static void expand(const uint8_t *s, size_t n, int tokens, csb_buf *out) {
  for (size_t i = 0; i < n; i++) {
    if (tokens && s[i] >= 1 && s[i] <= 12)
      csb_buf_puts(out, kTokens[s[i] - 1]);
    else
      csb_buf_putc(out, (char)s[i]);
  }
}

int csb_fuzz_walk_one(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  tree_init();
  uint8_t flags = data[0];
  int k = flags & 3, narrow = !(flags & 4), tokens = (flags & 8) != 0;
  const uint8_t *rest = data + 1;
  size_t rl = size - 1;
  const uint8_t *lf = k == 3 ? memchr(rest, '\n', rl) : NULL;
  csb_buf p, m;
  csb_buf_init(&p);
  csb_buf_init(&m);
  expand(rest, lf ? (size_t)(lf - rest) : rl, tokens, &p);
  if (lf) expand(lf + 1, rl - (size_t)(lf - rest) - 1, tokens, &m);
  const char *move = lf ? (m.data ? m.data : "") : NULL;

  outcome o;
  plan(k == 3 ? 2 : k, narrow, p.data ? p.data : "", p.len, move, m.len, &o);
  check_outcome(&o, p.data ? p.data : "", p.len, move, m.len);

  /* q/../P is P */
  csb_buf q;
  csb_buf_init(&q);
  csb_buf_puts(&q, "q/../");
  if (p.len) csb_buf_append(&q, p.data, p.len);
  if (p.len == 0 || p.data[0] != '/') {
    outcome o2;
    plan(k == 3 ? 2 : k, narrow, q.data, q.len, move, m.len, &o2);
    check(same_outcome(&o, &o2));
    outcome_free(&o2);
  }
  /* an accepted relative path is its lexical form */
  if (o.a.n > 0 && p.len > 0 && p.data[0] != '/') {
    char *lex = lexical(base, p.data, p.len);
    outcome o3;
    plan(k == 3 ? 2 : k, narrow, lex, strlen(lex), move, m.len, &o3);
    check(same_outcome(&o, &o3));
    outcome_free(&o3);
    free(lex);
  }
  outcome_free(&o);
  csb_buf_free(&q);
  csb_buf_free(&p);
  csb_buf_free(&m);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tree_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_walk_one(data, size); }
#endif
