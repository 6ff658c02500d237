/* view.c - the derived views backends enforce: readable, writable (with
 * read-only subpaths and protected names) and unreadable roots, deny
 * globs. Follows the reference's derived predicates (§2.4, §3.4). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csb_policy.h"
#include "policy_internal.h"

/* Per-view caches: evaluation state, each entry's own resolved access and
 * effective path (indexed like the entries' paths), and a query answer to
 * reuse. */
typedef struct vctx {
  const csb_policy *p;
  csb_path_memo *memo;
  csb_policy_i_eval ev;
  csb_access *resolved;
  char **eff;
  csb_policy_i_index eff_index;
  char *cwd_eff;
  csb_policy_i_hits hits;
} vctx;

typedef struct {
  const char *root;
  size_t index;
} root_order;

static int cmp_root_order(const void *a, const void *b) {
  int r = strcmp(((const root_order *)a)->root, ((const root_order *)b)->root);
  if (r) return r;
  size_t x = ((const root_order *)a)->index, y = ((const root_order *)b)->index;
  return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_strv(csb_strv *v) {
  if (v->len > 1) qsort(v->items, v->len, sizeof(char *), cmp_str);
}

/* A symlink to a directory counts as the directory: keep the link path so
 * backends mask the link inode itself. */
static int exists(const vctx *c, const char *path, int want_dir) {
  csb_probe_stat st;
  csb_policy_i_stat(c->p, c->memo, path, &st);
  return want_dir ? st.is_dir : st.exists;
}

static int is_cwd(const vctx *c, const char *root) {
  const csb_policy *p = c->p;
  return csb_policy_i_path_equal(p->platform, root, p->cwd) ||
         csb_policy_i_path_equal(p->platform, root, c->cwd_eff);
}

/* An entry (any access) whose path, as written or effective, is exactly
 * `path`. */
static int has_entry_at(vctx *c, const char *path) {
  csb_policy_i_index_equal(&c->ev.index, path, &c->hits);
  if (c->hits.len > 0) return 1;
  csb_policy_i_index_equal(&c->eff_index, path, &c->hits);
  return c->hits.len > 0;
}

/* Default read-only subpaths of a writable root (reference §3.4 (2)):
 * gitdir: target first, then .git, .agents, .codex, .csb. subs[n] is
 * root/csb_protected_names[n]. */
static void default_subpaths(vctx *c, const char *root, char *const *subs, csb_spath_set *out) {
  const csb_policy *p = c->p;
  char *target = csb_policy_i_gitdir_target(p, c->memo, root, subs[0]);
  if (target != NULL) csb_spath_set_add_owned(out, target);
  for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT; n++) {
    const char *name = csb_protected_names[n];
    const char *sub = subs[n];
    int add;
    if (strcmp(name, ".git") == 0)
      add = exists(c, sub, 0);
    else if (strcmp(name, ".agents") == 0)
      add = exists(c, sub, 1);
    else
      add = exists(c, sub, 1) || is_cwd(c, root);
    if (add && !has_entry_at(c, sub)) csb_spath_set_add(out, sub);
  }
}

/* ---- symlinks to readable roots ----------------------------------------- */

typedef struct link_set {
  csb_view_link *items;
  size_t n, cap;
  size_t *slots; /* hash table of items: index, SIZE_MAX when free */
  size_t nslots; /* a power of two, at least twice n */
} link_set;

static size_t link_hash(const char *path, const char *target, const char *root) {
  uint64_t h = csb_hash64(path, strlen(path), 0);
  h = h * 1099511628211ULL ^ csb_hash64(target, strlen(target), 0);
  h = h * 1099511628211ULL ^ csb_hash64(root, strlen(root), 0);
  return (size_t)h;
}

/* The slot of the link (path, target, root), or of the free slot where it
 * would go. */
static size_t link_slot(const link_set *set, const char *path, const char *target,
                        const char *root) {
  size_t mask = set->nslots - 1;
  size_t j = link_hash(path, target, root) & mask;
  for (; set->slots[j] != SIZE_MAX; j = (j + 1) & mask) {
    const csb_view_link *l = &set->items[set->slots[j]];
    if (strcmp(l->path, path) == 0 && strcmp(l->target, target) == 0 &&
        strcmp(l->root, root) == 0)
      break;
  }
  return j;
}

static void link_slots_grow(link_set *set) {
  if ((set->n + 1) * 2 <= set->nslots) return;
  size_t cap = set->nslots ? set->nslots * 2 : 16;
  while ((set->n + 1) * 2 > cap) cap *= 2;
  free(set->slots);
  set->slots = csb_xmalloc(cap * sizeof(*set->slots));
  for (size_t i = 0; i < cap; i++) set->slots[i] = SIZE_MAX;
  set->nslots = cap;
  for (size_t i = 0; i < set->n; i++) {
    const csb_view_link *l = &set->items[i];
    set->slots[link_slot(set, l->path, l->target, l->root)] = i;
  }
}

/* Records the links from `written` to its effective form `eff`, when the
 * two differ and the written path resolves (on this host) to exactly
 * `eff`. */
static void add_links(const vctx *c, link_set *set, const char *written, const char *eff) {
  const csb_policy *p = c->p;
  if (csb_policy_i_path_equal(p->platform, written, eff)) return;
  char *canon = NULL;
  csb_path_link *links = NULL;
  size_t n = 0;
  if (!csb_policy_i_path_links(p, c->memo, written, &canon, &links, &n)) return;
  if (strcmp(canon, eff) == 0) {
    for (size_t i = 0; i < n; i++) {
      link_slots_grow(set);
      size_t j = link_slot(set, links[i].path, links[i].target, eff);
      if (set->slots[j] != SIZE_MAX) continue; /* recorded already */
      set->slots[j] = set->n;
      set->items = csb_xgrow(set->items, &set->cap, set->n + 1, sizeof *set->items);
      csb_view_link *l = &set->items[set->n++];
      l->path = csb_xstrdup(links[i].path);
      l->target = csb_xstrdup(links[i].target);
      l->root = csb_xstrdup(eff);
    }
  }
  csb_path_links_free(links, n);
  free(canon);
}

static int cmp_link(const void *a, const void *b) {
  const csb_view_link *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  return c ? c : strcmp(x->root, y->root);
}

static int path_writable(vctx *c, const char *path) {
  csb_verdict v;
  csb_policy_i_access_for(c->p, &c->ev, path, &v);
  return v.can_write;
}

/* Appends the ids of `h` to `ids`. */
static void add_ids(csb_policy_i_hits *ids, const csb_policy_i_hits *h) {
  if (h->len == 0) return;
  ids->ids = csb_xgrow(ids->ids, &ids->cap, ids->len + h->len, sizeof(*ids->ids));
  memcpy(ids->ids + ids->len, h->ids, h->len * sizeof(*h->ids));
  ids->len += h->len;
}

static int cmp_id(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return x < y ? -1 : x > y;
}

/* The entries that may lie below a writable root (as written, below its
 * path as written `raw`, or effectively), in increasing order without
 * duplicates: every entry the scan in build_writable_root acts on. */
static void entries_below(vctx *c, const char *root, const char *raw, csb_policy_i_hits *ids) {
  ids->len = 0;
  csb_policy_i_index_under(&c->ev.index, root, &c->hits);
  add_ids(ids, &c->hits);
  if (raw != NULL) {
    csb_policy_i_index_under(&c->ev.index, raw, &c->hits);
    add_ids(ids, &c->hits);
  }
  csb_policy_i_index_under(&c->eff_index, root, &c->hits);
  add_ids(ids, &c->hits);
  if (ids->len > 1) qsort(ids->ids, ids->len, sizeof(*ids->ids), cmp_id);
  size_t w = 0;
  for (size_t k = 0; k < ids->len; k++)
    if (w == 0 || ids->ids[w - 1] != ids->ids[k]) ids->ids[w++] = ids->ids[k];
  ids->len = w;
}

static void build_writable_root(vctx *c, const char *root, const char *raw,
                                csb_writable_root *w) {
  const csb_policy *p = c->p;
  csb_platform pl = p->platform;
  w->root = csb_xstrdup(root);
  csb_strv_init(&w->read_only_subpaths);
  csb_strv_init(&w->protected_names);
  char *subs[CSB_PROTECTED_NAMES_COUNT];
  for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT; n++)
    subs[n] = csb_policy_i_path_join(pl, root, csb_protected_names[n]);
  /* read_only_subpaths without duplicates, in time linear in them */
  csb_spath_set ro;
  csb_spath_set_init(&ro, csb_policy_i_style(pl), 0, &w->read_only_subpaths);
  default_subpaths(c, root, subs, &ro);
  /* gitdir: targets of the other write entries that lie below this root:
   * docs/policy.md rule 4 protects them for every write entry, including
   * one shadowed by a deny entry or outside every writable root. In entry
   * order. */
  csb_policy_i_index_under(&c->ev.gitdir_index, root, &c->hits);
  for (size_t k = 0; k < c->hits.len; k++) {
    const char *t = c->ev.gitdir_paths[c->hits.ids[k]];
    if (csb_policy_i_path_is_below(pl, t, root)) csb_spath_set_add(&ro, t);
  }
  csb_policy_i_hits below = {0};
  entries_below(c, root, raw, &below);
  for (size_t k = 0; k < below.len; k++) {
    size_t i = (size_t)below.ids[k];
    const csb_policy_entry *e = &p->entries[i];
    if (e->access == CSB_ACCESS_WRITE) continue;
    if (c->resolved[i] == CSB_ACCESS_WRITE) continue;
    if (csb_policy_i_path_is_below(pl, e->path, root)) {
      csb_spath_set_add(&ro, e->path);
      continue;
    }
    const char *suffix = raw ? csb_policy_i_path_suffix(pl, e->path, raw) : NULL;
    if (suffix != NULL && suffix[0] != '\0' && !csb_policy_i_path_is_root(pl, root)) {
      csb_spath_set_add_owned(&ro, csb_policy_i_path_join(pl, root, suffix));
      continue;
    }
    if (csb_policy_i_path_is_below(pl, c->eff[i], root))
      csb_spath_set_add(&ro, c->eff[i]);
  }
  csb_spath_set_free(&ro);
  csb_policy_i_hits_free(&below);
  sort_strv(&w->read_only_subpaths);
  for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT; n++) {
    int writable = path_writable(c, subs[n]);
    if (writable && raw != NULL) {
      char *alias = csb_policy_i_path_join(pl, raw, csb_protected_names[n]);
      writable = path_writable(c, alias);
      free(alias);
    }
    if (!writable) csb_strv_push(&w->protected_names, csb_protected_names[n]);
    free(subs[n]);
  }
}

int csb_policy_view_build(const csb_policy *p, csb_policy_view **out, csb_error *err) {
  return csb_policy_view_build_memo(p, NULL, out, err);
}

int csb_policy_view_build_memo(const csb_policy *p, csb_path_memo *memo, csb_policy_view **out,
                               csb_error *err) {
  (void)err;
  csb_path_memo *own = memo == NULL ? csb_policy_i_memo_new(p) : NULL;
  *out = csb_policy_i_view_build(p, memo != NULL ? memo : own);
  csb_path_memo_free(own);
  return 1;
}

csb_policy_view *csb_policy_i_view_build(const csb_policy *p, csb_path_memo *memo) {
  csb_platform pl = p->platform;
  csb_policy_view *v = csb_xcalloc(1, sizeof(*v));
  csb_strv_init(&v->readable_roots);
  csb_strv_init(&v->platform_read_roots);
  csb_strv_init(&v->unreadable_roots);
  csb_strv_init(&v->unreadable_globs);
  v->full_read = csb_policy_full_disk_read(p);
  v->full_write = csb_policy_full_disk_write(p);
  int restricted = p->enforcement == CSB_ENFORCE_MANAGED && p->fs_kind == CSB_FS_RESTRICTED;
  v->include_platform_defaults = !v->full_read && restricted && p->include_platform_defaults;
  v->glob_scan_max_depth = p->glob_scan_max_depth;

  vctx c;
  c.p = p;
  c.memo = memo;
  csb_policy_i_eval_init(p, memo, &c.ev);
  c.resolved = csb_xcalloc(p->n_entries ? p->n_entries : 1, sizeof(csb_access));
  c.eff = csb_xcalloc(p->n_entries ? p->n_entries : 1, sizeof(char *));
  for (size_t i = 0; i < p->n_entries; i++) {
    c.resolved[i] = csb_policy_i_resolve(p, &c.ev, p->entries[i].path, NULL);
    c.eff[i] = csb_policy_i_path_effective(p, memo, p->entries[i].path);
  }
  csb_policy_i_index_init(&c.eff_index, pl, (const char *const *)c.eff, p->n_entries);
  c.cwd_eff = csb_policy_i_path_effective(p, memo, p->cwd);
  memset(&c.hits, 0, sizeof(c.hits));

  if (!v->full_read) {
    link_set links = {NULL, 0, 0, NULL, 0};
    csb_spath_set readable;
    csb_spath_set_init(&readable, csb_policy_i_style(pl), 0, &v->readable_roots);
    for (size_t i = 0; i < p->n_entries; i++) {
      const csb_policy_entry *e = &p->entries[i];
      if (e->access == CSB_ACCESS_DENY || c.resolved[i] == CSB_ACCESS_DENY) continue;
      csb_spath_set_add(&readable, c.eff[i]);
      add_links(&c, &links, e->path, c.eff[i]);
    }
    csb_spath_set_free(&readable);
    sort_strv(&v->readable_roots);
    if (v->include_platform_defaults && pl == CSB_PLATFORM_LINUX) {
      csb_spath_set pset;
      csb_spath_set_init(&pset, csb_policy_i_style(pl), 0, &v->platform_read_roots);
      for (size_t i = 0; i < CSB_LINUX_PLATFORM_READ_ROOTS_COUNT; i++) {
        const char *r = csb_linux_platform_read_roots[i];
        csb_probe_stat st;
        csb_policy_i_stat(p, memo, r, &st);
        if (!st.is_dir) continue;
        char *eff = csb_policy_i_path_effective(p, memo, r);
        csb_spath_set_add(&pset, eff);
        add_links(&c, &links, r, eff);
        free(eff);
      }
      csb_spath_set_free(&pset);
      sort_strv(&v->platform_read_roots);
    }
    free(links.slots);
    if (links.n > 1) qsort(links.items, links.n, sizeof *links.items, cmp_link);
    v->readable_links = links.items;
    v->n_readable_links = links.n;
  }
  if (restricted) {
    csb_spath_set set;
    csb_spath_set_init(&set, csb_policy_i_style(pl), 0, &v->unreadable_roots);
    for (size_t i = 0; i < p->n_entries; i++) {
      const csb_policy_entry *e = &p->entries[i];
      if (e->access != CSB_ACCESS_DENY || csb_policy_i_path_is_root(pl, e->path)) continue;
      if (c.resolved[i] != CSB_ACCESS_DENY) continue;
      csb_spath_set_add(&set, c.eff[i]);
    }
    csb_spath_set_free(&set);
    sort_strv(&v->unreadable_roots);
    csb_spath_set_init(&set, csb_policy_i_style(pl), 1, &v->unreadable_globs);
    for (size_t i = 0; i < p->n_globs; i++) csb_spath_set_add(&set, p->globs[i].pattern);
    csb_spath_set_free(&set);
    sort_strv(&v->unreadable_globs);
  }
  if (!v->full_write) {
    csb_strv roots, raws;
    csb_strv_init(&roots);
    csb_strv_init(&raws);
    csb_spath_set set;
    csb_spath_set_init(&set, csb_policy_i_style(pl), 0, &roots);
    for (size_t i = 0; i < p->n_entries; i++) {
      const csb_policy_entry *e = &p->entries[i];
      /* Every write entry not shadowed by a deny entry is a writable root,
       * even when a deny glob matches its own path: the glob is enforced
       * on its own, and the root's metadata must stay protected (rule 4
       * counts every write entry). */
      if (e->access != CSB_ACCESS_WRITE || c.resolved[i] != CSB_ACCESS_WRITE) continue;
      if (csb_spath_set_add(&set, c.eff[i])) csb_strv_push(&raws, e->path);
    }
    csb_spath_set_free(&set);
    /* Sorted by root for a deterministic view (the roots are distinct). */
    size_t n = roots.len;
    v->writable = csb_xcalloc(n ? n : 1, sizeof(*v->writable));
    root_order *order = csb_xcalloc(n ? n : 1, sizeof(*order));
    for (size_t i = 0; i < n; i++) order[i] = (root_order){roots.items[i], i};
    qsort(order, n, sizeof(*order), cmp_root_order);
    for (size_t i = 0; i < n; i++) {
      size_t k = order[i].index;
      const char *raw = strcmp(raws.items[k], roots.items[k]) != 0 ? raws.items[k] : NULL;
      build_writable_root(&c, roots.items[k], raw, &v->writable[i]);
    }
    v->n_writable = n;
    free(order);
    csb_strv_free(&roots);
    csb_strv_free(&raws);
  }
  csb_policy_i_hits_free(&c.hits);
  csb_policy_i_index_free(&c.eff_index);
  for (size_t i = 0; i < p->n_entries; i++) free(c.eff[i]);
  free(c.eff);
  free(c.resolved);
  free(c.cwd_eff);
  csb_policy_i_eval_free(&c.ev);
  return v;
}

void csb_policy_view_free(csb_policy_view *v) {
  if (v == NULL) return;
  csb_strv_free(&v->readable_roots);
  csb_strv_free(&v->platform_read_roots);
  for (size_t i = 0; i < v->n_readable_links; i++) {
    free(v->readable_links[i].path);
    free(v->readable_links[i].target);
    free(v->readable_links[i].root);
  }
  free(v->readable_links);
  csb_strv_free(&v->unreadable_roots);
  csb_strv_free(&v->unreadable_globs);
  for (size_t i = 0; i < v->n_writable; i++) {
    free(v->writable[i].root);
    csb_strv_free(&v->writable[i].read_only_subpaths);
    csb_strv_free(&v->writable[i].protected_names);
  }
  free(v->writable);
  free(v);
}

int csb_writable_root_allows(const csb_policy *p, const csb_writable_root *w, const char *path) {
  csb_platform pl = p->platform;
  char *t = csb_policy_i_path_normalize(pl, path);
  if (t == NULL) return 0;
  int ok = 0;
  const char *rest = csb_policy_i_path_suffix(pl, t, w->root);
  if (rest == NULL) goto out;
  for (size_t i = 0; i < w->read_only_subpaths.len; i++)
    if (csb_policy_i_path_has_prefix(pl, t, w->read_only_subpaths.items[i])) goto out;
  size_t first = strcspn(rest, pl == CSB_PLATFORM_WINDOWS ? "\\" : "/");
  for (size_t i = 0; i < w->protected_names.len; i++) {
    const char *name = w->protected_names.items[i];
    int same = pl == CSB_PLATFORM_WINDOWS ? csb_winname_equal(rest, first, name, strlen(name))
                                          : first == strlen(name) && strncmp(rest, name, first) == 0;
    if (same) goto out;
  }
  ok = 1;
out:
  free(t);
  return ok;
}
