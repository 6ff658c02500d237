/* glob_links.c - what lies below the links a glob expansion stopped at
 * (csb_glob_walk_links; see csb_paths.h). All file-system access goes
 * through the caller's callbacks: this file builds for every target. */
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

typedef struct walk {
  const csb_glob_links_walk *w;
  const csb_glob_links_ops *ops;
  size_t max_visits, visits;
  csb_strv chain; /* canonical directories entered through links */
  csb_error *err;
} walk;

static int walk_dir(walk *W, const char *lex, const char *dir, int depth);
static int walk_link(walk *W, const char *lex, const char *link, int depth);

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `lex` + "/" + `name` (no second '/' after a root such as "/"). */
static char *plain_join(const char *lex, const char *name) {
  size_t n = strlen(lex);
  return csb_xasprintf("%s%s%s", lex, n > 0 && lex[n - 1] == '/' ? "" : "/", name);
}

static int too_deep(const walk *W, const char *lex) {
  return csb_error_set(W->err, "the tree under `%s` is deeper than %d levels",
                       W->w->label ? W->w->label : lex, CSB_GLOB_MAX_WALK_DEPTH);
}

static int too_many(const walk *W) {
  if (W->w->label)
    return csb_error_set(W->err, "more than %zu entries below links under `%s`", W->max_visits,
                         W->w->label);
  return csb_error_set(W->err, "more than %zu entries below symlinked directories", W->max_visits);
}

/* Looks at one entry `name` of the directory `dir`, reached by the
 * lexical path `lex` at `depth`. */
static int walk_entry(walk *W, const char *lex, const char *dir, const char *name, int depth) {
  const csb_glob_links_ops *ops = W->ops;
  const csb_glob *g = W->w->g;
  char *child_lex = ops->lex_join ? ops->lex_join(W->w->ctx, lex, name) : plain_join(lex, name);
  char *child = ops->join(W->w->ctx, dir, name);
  char *test = ops->test_form ? ops->test_form(W->w->ctx, child_lex) : NULL;
  const char *t = test ? test : child_lex;
  int d = depth + 1;
  int matched = csb_glob_match(g, t);
  int below = (W->w->max_depth < 0 || d < W->w->max_depth) && csb_glob_may_match_below(g, t);
  csb_glob_node k = matched || below ? ops->kind(W->w->ctx, child) : CSB_GLOB_NODE_MISSING;
  int ok = !matched || ops->on_match(W->w->ctx, child_lex, child, k, W->err);
  if (ok && below) {
    if (k == CSB_GLOB_NODE_DIR)
      ok = walk_dir(W, child_lex, child, d);
    else if (k == CSB_GLOB_NODE_LINK)
      ok = walk_link(W, child_lex, child, d);
  }
  free(test);
  free(child);
  free(child_lex);
  return ok;
}

/* Walks the directory `dir` (canonical), reached by the lexical path `lex`
 * at `depth` levels below the root. */
static int walk_dir(walk *W, const char *lex, const char *dir, int depth) {
  if (depth >= CSB_GLOB_MAX_WALK_DEPTH) return too_deep(W, lex);
  csb_strv names;
  csb_strv_init(&names);
  int listed = W->ops->list(W->w->ctx, dir, &names, W->err);
  int ok = listed >= 0;
  if (listed > 0) { /* else unreadable or gone: as the walker, or refused */
    if (names.len > 1) qsort(names.items, names.len, sizeof(char *), cmp_names);
    for (size_t i = 0; i < names.len && ok; i++)
      ok = ++W->visits > W->max_visits ? too_many(W)
                                       : walk_entry(W, lex, dir, names.items[i], depth);
  }
  csb_strv_free(&names);
  return ok;
}

/* Walks below the link `link`, reached by `lex` at `depth`, when it leads
 * to a directory. Without a depth limit a link leading to a directory on
 * the chain of those entered (or above one) is not walked again: all
 * below it is reached then. */
static int walk_link(walk *W, const char *lex, const char *link, int depth) {
  const csb_glob_links_ops *ops = W->ops;
  char *t = ops->dir_target(W->w->ctx, link);
  int enter = t != NULL;
  for (size_t i = 0; enter && W->w->max_depth < 0 && i < W->chain.len; i++)
    enter = !ops->under(W->w->ctx, t, W->chain.items[i]);
  int ok = 1;
  if (enter) {
    csb_strv_push(&W->chain, t);
    ok = walk_dir(W, lex, t, depth);
    free(W->chain.items[--W->chain.len]);
    W->chain.items[W->chain.len] = NULL;
  }
  free(t);
  return ok;
}

int csb_glob_walk_links(const csb_glob_links_walk *w, const char *root, const csb_strv *links,
                        csb_error *err) {
  walk W;
  memset(&W, 0, sizeof W);
  W.w = w;
  W.ops = w->ops;
  W.max_visits = w->max_visits ? w->max_visits : CSB_GLOB_LINKS_MAX_VISITS;
  W.err = err;
  csb_strv_init(&W.chain);
  size_t rn = strlen(root);
  int ok = 1;
  for (size_t i = 0; i < links->len && ok; i++) {
    const char *l = links->items[i];
    if (strncmp(l, root, rn) != 0 || !(l[rn] == '/' || (rn > 0 && root[rn - 1] == '/'))) continue;
    const char *tail = l + rn;
    while (*tail == '/') tail++;
    if (*tail == '\0') continue;
    /* Levels below the root: the link's components after it. */
    int depth = 1;
    for (const char *c = tail; *c; c++) depth += *c == '/';
    char *path = w->ops->link_path ? w->ops->link_path(w->ctx, l) : NULL;
    ok = walk_link(&W, l, path ? path : l, depth);
    free(path);
  }
  csb_strv_free(&W.chain);
  return ok;
}
