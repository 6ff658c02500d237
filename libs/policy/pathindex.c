/* pathindex.c - an index of paths for the component-wise prefix queries
 * that evaluation and views ask about every entry of a policy: a prefix
 * tree of path segments, with the children of every node in one hash
 * table, so that a query costs one lookup per component of the query
 * instead of a comparison with every indexed path.
 *
 * The segments of a path are those of the document's style:
 *
 *  - POSIX: "" for an absolute path or "." for a relative one, then every
 *    component that is neither empty nor ".": "/a//./b" -> "", "a", "b";
 *    "/" -> "". These are exactly the components csb_path_is_under
 *    compares, so a path's segments start with those of a prefix exactly
 *    when the prefix covers the path.
 *  - Windows: the path folded as NTFS compares names (csb_winname_fold:
 *    ASCII letters in lower case, others through the upcase table), cut at
 *    every "\" (a final "\" ends the last segment and adds none):
 *    "C:\A" -> "c:", "a"; "C:\" -> "c:"; "\\s\h" -> "", "", "s", "h".
 *    When a prefix covers a path (csb_winpath_is_under), the path's
 *    segments start with the prefix's; the converse does not always hold
 *    ("C:" is not below "C:\"), so Windows answers are checked with
 *    csb_policy_i_path_has_prefix.
 *
 * Equal paths have equal segments, but not the other way round ("/a//b"
 * has those of "/a/b"), so equality is always checked with
 * csb_policy_i_path_equal. Every answer is exactly what a scan of all
 * paths with those predicates would find. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

struct csb_policy_i_node {
  int parent; /* -1 for the top (no segment) */
  int first_child, next_sibling;
  int last_child; /* so that adding a child does not walk the siblings */
  int first_id;  /* the paths that end here, linked through ix->next_id; -1 */
  uint32_t seg;  /* the segment: ix->segs + seg, seg_len bytes (folded) */
  uint32_t seg_len;
  uint32_t hash; /* of (parent, segment) */
};

static int is_win(csb_platform pl) { return pl == CSB_PLATFORM_WINDOWS; }

/* ---- segments ------------------------------------------------------------ */

typedef struct seg_iter {
  const char *p;
  int win;
  int first; /* POSIX: the "" or "." segment is next */
  int done;
  csb_buf fold; /* Windows: a non-ASCII segment, folded */
} seg_iter;

static void seg_begin(seg_iter *it, csb_platform pl, const char *path) {
  it->p = path;
  it->win = is_win(pl);
  it->first = 1;
  it->done = 0;
  it->fold = (csb_buf){0};
}

static void seg_end(seg_iter *it) { csb_buf_free(&it->fold); }

static int has_non_ascii(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) return 1;
  return 0;
}

/* The next segment of the path, or 0 at the end. Windows segments with
 * non-ASCII bytes come folded (valid until the next call); ASCII letters
 * are folded by the caller. */
static int seg_next(seg_iter *it, const char **s, size_t *len) {
  if (it->done) return 0;
  const char *p = it->p;
  if (it->win) {
    const char *e = strchr(p, '\\');
    if (e == NULL) e = p + strlen(p);
    *s = p;
    *len = (size_t)(e - p);
    if (*e == '\0' || e[1] == '\0') it->done = 1; /* "...\" ends here */
    it->p = *e ? e + 1 : e;
    if (has_non_ascii(*s, *len)) {
      it->fold.len = 0;
      csb_buf_puts(&it->fold, "");
      csb_winname_fold_into(&it->fold, *s, *len);
      *s = it->fold.data;
      *len = it->fold.len;
    }
    return 1;
  }
  if (it->first) {
    it->first = 0;
    *s = p[0] == '/' ? "" : ".";
    *len = p[0] == '/' ? 0 : 1;
    return 1;
  }
  for (;;) {
    while (*p == '/') p++;
    if (*p == '\0') {
      it->done = 1;
      it->p = p;
      return 0;
    }
    const char *c = p;
    while (*p != '\0' && *p != '/') p++;
    if (p - c == 1 && c[0] == '.') continue;
    *s = c;
    *len = (size_t)(p - c);
    it->p = p;
    return 1;
  }
}

/* FNV-1a over the parent and the (folded) segment. */
static uint32_t seg_hash(int parent, const char *s, size_t len, int fold) {
  uint32_t h = 2166136261u;
  uint32_t v = (uint32_t)parent;
  for (int i = 0; i < 4; i++) {
    h ^= (v >> (8 * i)) & 0xffu;
    h *= 16777619u;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    h ^= fold ? (unsigned char)tolower(c) : c;
    h *= 16777619u;
  }
  return h;
}

static int seg_equal(const char *stored, const char *s, size_t len, int fold) {
  if (!fold) return memcmp(stored, s, len) == 0;
  for (size_t i = 0; i < len; i++)
    if (stored[i] != (char)tolower((unsigned char)s[i])) return 0;
  return 1;
}

/* ---- the tree ---------------------------------------------------------------- */

/* The child of `parent` for the segment, or -1. */
static int find_child(const csb_policy_i_index *ix, int parent, const char *s, size_t len,
                      uint32_t h) {
  size_t mask = ix->nslots - 1;
  for (size_t i = h & mask; ix->slots[i] != 0; i = (i + 1) & mask) {
    const csb_policy_i_node *n = &ix->nodes[ix->slots[i] - 1];
    if (n->hash == h && n->parent == parent && n->seg_len == len &&
        seg_equal(ix->segs.data + n->seg, s, len, ix->win))
      return (int)ix->slots[i] - 1;
  }
  return -1;
}

static void slot_insert(csb_policy_i_index *ix, int node) {
  size_t mask = ix->nslots - 1;
  size_t i = ix->nodes[node].hash & mask;
  while (ix->slots[i] != 0) i = (i + 1) & mask;
  ix->slots[i] = (uint32_t)node + 1;
}

static void grow_slots(csb_policy_i_index *ix) {
  free(ix->slots);
  ix->nslots *= 2;
  ix->slots = csb_xcalloc(ix->nslots, sizeof(*ix->slots));
  for (size_t k = 1; k < ix->n_nodes; k++) slot_insert(ix, (int)k);
}

static int add_child(csb_policy_i_index *ix, int parent, const char *s, size_t len, uint32_t h) {
  if (ix->n_nodes >= INT32_MAX / 2 || len >= UINT32_MAX || ix->segs.len >= UINT32_MAX - len)
    csb_oom();
  ix->nodes = csb_xgrow(ix->nodes, &ix->cap_nodes, ix->n_nodes + 1, sizeof(*ix->nodes));
  int k = (int)ix->n_nodes++;
  csb_policy_i_node *n = &ix->nodes[k];
  n->parent = parent;
  n->first_child = -1;
  n->first_id = -1;
  n->seg = (uint32_t)ix->segs.len;
  n->seg_len = (uint32_t)len;
  n->hash = h;
  csb_buf_reserve(&ix->segs, len);
  for (size_t i = 0; i < len; i++)
    ix->segs.data[ix->segs.len + i] = ix->win ? (char)tolower((unsigned char)s[i]) : s[i];
  ix->segs.len += len;
  ix->segs.data[ix->segs.len] = '\0';
  /* Children are kept in the order they were added. */
  n->next_sibling = -1;
  n->last_child = -1;
  csb_policy_i_node *pn = &ix->nodes[parent];
  if (pn->first_child < 0)
    pn->first_child = k;
  else
    ix->nodes[pn->last_child].next_sibling = k;
  pn->last_child = k;
  if (2 * ix->n_nodes > ix->nslots) grow_slots(ix);
  else slot_insert(ix, k);
  return k;
}

void csb_policy_i_index_init(csb_policy_i_index *ix, csb_platform pl, const char *const *paths,
                             size_t n) {
  memset(ix, 0, sizeof(*ix));
  ix->pl = pl;
  ix->win = is_win(pl);
  ix->paths = paths;
  ix->n = n;
  ix->next_id = csb_xcalloc(n ? n : 1, sizeof(int));
  ix->nslots = 64;
  while (ix->nslots < 2 * n) ix->nslots *= 2;
  ix->slots = csb_xcalloc(ix->nslots, sizeof(*ix->slots));
  csb_buf_init(&ix->segs);
  csb_buf_reserve(&ix->segs, 64);
  /* Node 0 is the top, above the first segment of every path. */
  ix->nodes = csb_xgrow(NULL, &ix->cap_nodes, n + 2, sizeof(*ix->nodes));
  ix->n_nodes = 1;
  ix->nodes[0] = (csb_policy_i_node){.parent = -1, .first_child = -1, .next_sibling = -1,
                                     .last_child = -1, .first_id = -1};
  /* Paths are linked in reverse so that each node lists its ids in
   * increasing order. */
  for (size_t i = n; i-- > 0;) {
    seg_iter it;
    seg_begin(&it, pl, paths[i]);
    const char *s;
    size_t len;
    int cur = 0;
    while (seg_next(&it, &s, &len)) {
      uint32_t h = seg_hash(cur, s, len, ix->win);
      int next = find_child(ix, cur, s, len, h);
      cur = next >= 0 ? next : add_child(ix, cur, s, len, h);
    }
    seg_end(&it);
    ix->next_id[i] = ix->nodes[cur].first_id;
    ix->nodes[cur].first_id = (int)i;
  }
}

void csb_policy_i_index_free(csb_policy_i_index *ix) {
  if (ix == NULL) return;
  free(ix->nodes);
  free(ix->slots);
  free(ix->next_id);
  csb_buf_free(&ix->segs);
  memset(ix, 0, sizeof(*ix));
}

void csb_policy_i_hits_free(csb_policy_i_hits *h) {
  if (h == NULL) return;
  free(h->ids);
  memset(h, 0, sizeof(*h));
}

/* ---- queries ----------------------------------------------------------------- */

static void push_id(csb_policy_i_hits *h, int id) {
  if (h->len == h->cap) h->ids = csb_xgrow(h->ids, &h->cap, h->len + 1, sizeof(*h->ids));
  h->ids[h->len++] = id;
}

static int cmp_int(const void *x, const void *y) {
  int a = *(const int *)x, b = *(const int *)y;
  return a < b ? -1 : a > b;
}

static void sort_ids(csb_policy_i_hits *h) {
  if (h->len > 16) {
    qsort(h->ids, h->len, sizeof(*h->ids), cmp_int);
    return;
  }
  for (size_t i = 1; i < h->len; i++)
    for (size_t j = i; j > 0 && h->ids[j - 1] > h->ids[j]; j--) {
      int t = h->ids[j];
      h->ids[j] = h->ids[j - 1];
      h->ids[j - 1] = t;
    }
}

/* The node of the whole path, or -1. With `each`, also pushes the ids of
 * the paths on the way that cover it. */
static int walk(const csb_policy_i_index *ix, const char *path, csb_policy_i_hits *each) {
  seg_iter it;
  seg_begin(&it, ix->pl, path);
  const char *s;
  size_t len;
  int cur = 0;
  while (seg_next(&it, &s, &len)) {
    cur = find_child(ix, cur, s, len, seg_hash(cur, s, len, ix->win));
    if (cur < 0) break;
    if (each == NULL) continue;
    for (int id = ix->nodes[cur].first_id; id >= 0; id = ix->next_id[id])
      if (!ix->win || csb_policy_i_path_has_prefix(ix->pl, path, ix->paths[id]))
        push_id(each, id);
  }
  seg_end(&it);
  return cur;
}

void csb_policy_i_index_covering(const csb_policy_i_index *ix, const char *path,
                                 csb_policy_i_hits *h) {
  h->len = 0;
  if (ix->n == 0) return;
  (void)walk(ix, path, h);
  sort_ids(h);
}

void csb_policy_i_index_under(const csb_policy_i_index *ix, const char *path,
                              csb_policy_i_hits *h) {
  h->len = 0;
  if (ix->n == 0) return;
  int top = walk(ix, path, NULL);
  if (top < 0) return;
  /* Every node of the subtree, depth first without a stack: down to the
   * first child, else on to the next sibling of the nearest ancestor
   * below `top` that has one. */
  int cur = top;
  for (;;) {
    for (int id = ix->nodes[cur].first_id; id >= 0; id = ix->next_id[id])
      if (!ix->win || csb_policy_i_path_has_prefix(ix->pl, ix->paths[id], path)) push_id(h, id);
    if (ix->nodes[cur].first_child >= 0) {
      cur = ix->nodes[cur].first_child;
      continue;
    }
    while (cur != top && ix->nodes[cur].next_sibling < 0) cur = ix->nodes[cur].parent;
    if (cur == top) break;
    cur = ix->nodes[cur].next_sibling;
  }
  sort_ids(h);
}

void csb_policy_i_index_equal(const csb_policy_i_index *ix, const char *path,
                              csb_policy_i_hits *h) {
  h->len = 0;
  if (ix->n == 0) return;
  int node = walk(ix, path, NULL);
  if (node < 0) return;
  /* POSIX equality is byte equality, which segments do not capture
   * ("/a//b" has the segments of "/a/b"). */
  for (int id = ix->nodes[node].first_id; id >= 0; id = ix->next_id[id])
    if (csb_policy_i_path_equal(ix->pl, ix->paths[id], path)) push_id(h, id);
}
