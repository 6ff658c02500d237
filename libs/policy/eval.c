/* eval.c - csb_policy_access_for and the reusable csb_policy_evaluator
 * (deepest match, deny globs, protected metadata), verdict descriptions
 * and the full-disk predicates. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "csb_policy.h"
#include "policy_internal.h"

static int unrestricted(const csb_policy *p) {
  return p->enforcement != CSB_ENFORCE_MANAGED || p->fs_kind != CSB_FS_RESTRICTED;
}

/* Deepest match among `cover`, the entries covering the path. */
static csb_access resolve_among(const csb_policy *p, const csb_policy_i_eval *ev,
                                const csb_policy_i_hits *cover, int *entry) {
  int best = -1;
  size_t best_depth = 0;
  for (size_t k = 0; k < cover->len; k++) {
    int i = cover->ids[k];
    size_t d = ev->depth[i];
    if (best < 0 || d > best_depth ||
        (d == best_depth && p->entries[i].access > p->entries[best].access)) {
      best = i;
      best_depth = d;
    }
  }
  if (entry) *entry = best;
  return best < 0 ? CSB_ACCESS_DENY : p->entries[best].access;
}

csb_access csb_policy_i_resolve(const csb_policy *p, csb_policy_i_eval *ev, const char *path,
                                int *entry) {
  csb_policy_i_index_covering(&ev->index, path, &ev->cover);
  return resolve_among(p, ev, &ev->cover, entry);
}

/* ---- .git pointer files ---------------------------------------------------- */

/* What is read of a `.git` file: far more than any path (PATH_MAX is 4096). */
#define GITFILE_MAX (64 * 1024)

/* The path git itself takes from a `.git` file (setup.c, read_gitfile):
 * see csb_policy_gitdir_pointer. */
static char *git_pointer(const char *text, size_t len) {
  if (len < 8 || memcmp(text, "gitdir: ", 8) != 0) return NULL;
  size_t end = strnlen(text, len);
  if (end == len)
    while (end > 8 && (text[end - 1] == '\n' || text[end - 1] == '\r')) end--;
  if (end <= 8) return NULL;
  return csb_xstrndup(text + 8, end - 8);
}

static int gitfile_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* A lenient reading (more than git accepts, so that more is protected):
 * trimmed content "gitdir: P", exactly "gitdir" before the first ':' and a
 * non-empty one-line P after it and its blanks; the text ends at a NUL. */
static char *lenient_pointer(const char *text, size_t len) {
  const char *s = text, *end = text + strnlen(text, len);
  while (s < end && gitfile_blank(*s)) s++;
  while (end > s && gitfile_blank(end[-1])) end--;
  const char *colon = memchr(s, ':', (size_t)(end - s));
  if (colon == NULL || colon - s != 6 || memcmp(s, "gitdir", 6) != 0) return NULL;
  const char *v = colon + 1;
  while (v < end && gitfile_blank(*v)) v++;
  if (v == end || memchr(v, '\n', (size_t)(end - v)) != NULL) return NULL;
  return csb_xstrndup(v, (size_t)(end - v));
}

void csb_policy_gitdir_pointer(const char *text, size_t len, char **exact, char **lenient) {
  *exact = git_pointer(text, len);
  *lenient = lenient_pointer(text, len);
}

/* The target of `v` (relative to root) when it exists, else NULL. */
static char *existing_target(const csb_policy *p, csb_path_memo *memo, const char *root, const char *v) {
  char *t = csb_policy_i_path_join(p->platform, root, v);
  csb_probe_stat st;
  csb_policy_i_stat(p, memo, t, &st);
  if (st.exists) return t;
  free(t);
  return NULL;
}

static int printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

char *csb_policy_i_gitdir_target(const csb_policy *p, csb_path_memo *memo, const char *root,
                                 const char *gitfile) {
  char *target = NULL;
  size_t len = 0;
  char *text = csb_policy_i_read_file(p, memo, gitfile, GITFILE_MAX + 1, &len);
  if (text == NULL) return NULL;
  if (len > GITFILE_MAX) text[len = GITFILE_MAX] = '\0'; /* see git_pointer */
  /* The path git uses, exactly as git reads it (a NUL ends it: "gitdir:
   * ../wt\0junk" points at ../wt; CRs and LFs are dropped from the end of
   * the file only, however many), and the lenient reading. */
  char *exact = NULL, *loose = NULL;
  csb_policy_gitdir_pointer(text, len, &exact, &loose);
  /* An existing target first; else the path git would use is protected
   * although missing: the sandboxed command could otherwise create it,
   * hooks and config included, for git to run outside the sandbox. */
  if (exact != NULL) target = existing_target(p, memo, root, exact);
  if (target == NULL && loose != NULL) target = existing_target(p, memo, root, loose);
  if (target == NULL && exact != NULL && printable(exact))
    target = csb_policy_i_path_join(p->platform, root, exact);
  if (target == NULL && loose != NULL && printable(loose))
    target = csb_policy_i_path_join(p->platform, root, loose);
  free(exact);
  free(loose);
  free(text);
  return target;
}

/* A write entry at or below `protected_path` among `cover`, the entries
 * covering the path in question. */
static int explicit_write_below(const csb_policy *p, const csb_policy_i_hits *cover,
                                const char *protected_path) {
  for (size_t k = 0; k < cover->len; k++) {
    const csb_policy_entry *e = &p->entries[cover->ids[k]];
    if (e->access == CSB_ACCESS_WRITE &&
        csb_policy_i_path_has_prefix(p->platform, e->path, protected_path))
      return 1;
  }
  return 0;
}

/* Protected paths per write entry whose symlinks are followed: its
 * ENTRY/NAME paths and its gitdir: target. */
#define LINKED_PER_ENTRY (CSB_PROTECTED_NAMES_COUNT + 1)

/* Where `path` leads through symlinks on this host, when that is another
 * path (else NULL): a `.git` that is a link to `repo.git` makes
 * `repo.git/hooks` the hooks git runs, so writing there is writing the
 * protected metadata; the same when `repo.git` does not exist yet (a
 * write would create it where the link leads). */
static char *linked_target(const csb_policy *p, csb_path_memo *memo, const char *path) {
  if (path == NULL) return NULL;
  char *canon = csb_policy_i_path_leads_to(p, memo, path);
  if (canon == NULL) return NULL;
  if (csb_policy_i_path_equal(p->platform, canon, path)) {
    free(canon);
    return NULL;
  }
  return canon;
}

/* Copies src into a buffer of CSB_POLICY_PATH_MAX bytes, cut to fit. */
static void copy_path(char *dst, const char *src) {
  size_t n = strnlen(src, CSB_POLICY_PATH_MAX - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void csb_policy_i_eval_init(const csb_policy *p, csb_path_memo *memo, csb_policy_i_eval *ev) {
  memset(ev, 0, sizeof(*ev));
  ev->n_globs = p->n_globs;
  ev->globs = csb_xcalloc(ev->n_globs ? ev->n_globs : 1, sizeof(csb_glob *));
  for (size_t i = 0; i < ev->n_globs; i++)
    ev->globs[i] = csb_policy_i_glob_compile(p->platform, p->globs[i].pattern);
  ev->full_write = csb_policy_full_disk_write(p);
  ev->n = p->n_entries;
  ev->paths = csb_xcalloc(ev->n ? ev->n : 1, sizeof(char *));
  ev->depth = csb_xcalloc(ev->n ? ev->n : 1, sizeof(size_t));
  for (size_t i = 0; i < ev->n; i++) {
    ev->paths[i] = p->entries[i].path;
    ev->depth[i] = csb_policy_i_path_depth(p->platform, p->entries[i].path);
  }
  csb_policy_i_index_init(&ev->index, p->platform, ev->paths, ev->n);
  ev->gitdir = csb_xcalloc(ev->n ? ev->n : 1, sizeof(char *));
  size_t n_meta = ev->n * CSB_PROTECTED_NAMES_COUNT;
  ev->meta = csb_xcalloc(n_meta ? n_meta : 1, sizeof(char *));
  ev->meta_paths = csb_xcalloc(n_meta ? n_meta : 1, sizeof(char *));
  ev->meta_of = csb_xcalloc(n_meta ? n_meta : 1, sizeof(int));
  size_t n_linked = ev->n * LINKED_PER_ENTRY;
  ev->linked_paths = csb_xcalloc(n_linked ? n_linked : 1, sizeof(char *));
  ev->linked_of = csb_xcalloc(n_linked ? n_linked : 1, sizeof(int));
  size_t k = 0, l = 0;
  if (!ev->full_write) {
    for (size_t i = 0; i < ev->n; i++) {
      const csb_policy_entry *e = &p->entries[i];
      if (e->access != CSB_ACCESS_WRITE) continue;
      char **prot = &ev->meta[i * CSB_PROTECTED_NAMES_COUNT];
      for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT; n++) {
        prot[n] = csb_policy_i_path_join(p->platform, e->path, csb_protected_names[n]);
        ev->meta_paths[k] = prot[n];
        ev->meta_of[k++] = (int)(i * CSB_PROTECTED_NAMES_COUNT + n);
      }
      ev->gitdir[i] = csb_policy_i_gitdir_target(p, memo, e->path, prot[0]);
      for (size_t n = 0; n < LINKED_PER_ENTRY; n++) {
        char *t = linked_target(p, memo, n < CSB_PROTECTED_NAMES_COUNT ? prot[n] : ev->gitdir[i]);
        if (t == NULL) continue;
        ev->linked_paths[l] = t;
        ev->linked_of[l++] = (int)i;
      }
    }
  }
  csb_policy_i_index_init(&ev->meta_index, p->platform, ev->meta_paths, k);
  ev->n_linked = l;
  csb_policy_i_index_init(&ev->linked_index, p->platform, ev->linked_paths, l);
  /* The gitdir: targets, indexed (in increasing entry order). */
  ev->gitdir_paths = csb_xcalloc(ev->n ? ev->n : 1, sizeof(char *));
  ev->gitdir_of = csb_xcalloc(ev->n ? ev->n : 1, sizeof(int));
  size_t g = 0;
  for (size_t i = 0; i < ev->n; i++) {
    if (ev->gitdir[i] == NULL) continue;
    ev->gitdir_paths[g] = ev->gitdir[i];
    ev->gitdir_of[g++] = (int)i;
  }
  csb_policy_i_index_init(&ev->gitdir_index, p->platform, ev->gitdir_paths, g);
}

void csb_policy_i_eval_free(csb_policy_i_eval *ev) {
  for (size_t i = 0; ev->globs != NULL && i < ev->n_globs; i++) csb_glob_free(ev->globs[i]);
  free(ev->globs);
  ev->globs = NULL;
  for (size_t i = 0; ev->gitdir != NULL && i < ev->n; i++) free(ev->gitdir[i]);
  free(ev->gitdir);
  ev->gitdir = NULL;
  for (size_t i = 0; ev->meta != NULL && i < ev->n * CSB_PROTECTED_NAMES_COUNT; i++)
    free(ev->meta[i]);
  free(ev->meta);
  ev->meta = NULL;
  for (size_t i = 0; i < ev->n_linked; i++) free((char *)ev->linked_paths[i]);
  free(ev->linked_paths);
  free(ev->linked_of);
  csb_policy_i_index_free(&ev->linked_index);
  csb_policy_i_index_free(&ev->meta_index);
  csb_policy_i_index_free(&ev->gitdir_index);
  free(ev->gitdir_paths);
  ev->gitdir_paths = NULL;
  free(ev->gitdir_of);
  ev->gitdir_of = NULL;
  csb_policy_i_hits_free(&ev->meta_hits);
  free(ev->meta_paths);
  ev->meta_paths = NULL;
  free(ev->meta_of);
  ev->meta_of = NULL;
  free(ev->paths);
  ev->paths = NULL;
  free(ev->depth);
  ev->depth = NULL;
  csb_policy_i_index_free(&ev->index);
  csb_policy_i_hits_free(&ev->cover);
}

/* 1 when entry `i` is among `cover` (increasing ids). */
static int covers(const csb_policy_i_hits *cover, int i) {
  size_t lo = 0, hi = cover->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cover->ids[mid] == i) return 1;
    if (cover->ids[mid] < i)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* The first of the protected paths indexed by ix (paths[id], protected for
 * the write entry of_entry[id]) that covers `path` without a write entry
 * at or below it among `cover`: fills the buffers as metadata_denial. */
static int far_denial(const csb_policy *p, csb_policy_i_eval *ev,
                      const csb_policy_i_hits *cover, const csb_policy_i_index *ix,
                      const char *const *paths, const int *of_entry, const char *path,
                      char *protected_path, char *writable_root) {
  csb_policy_i_index_covering(ix, path, &ev->meta_hits);
  for (size_t k = 0; k < ev->meta_hits.len; k++) {
    const char *t = paths[ev->meta_hits.ids[k]];
    if (!explicit_write_below(p, cover, t)) {
      copy_path(protected_path, t);
      copy_path(writable_root, p->entries[of_entry[ev->meta_hits.ids[k]]].path);
      return 1;
    }
  }
  return 0;
}

/* Protected-metadata write check for an absolute normalised path whose
 * covering entries are `cover` (docs/policy.md, rule 4). Returns 1 when a
 * write to `path` is refused and fills the two buffers (each of size
 * CSB_POLICY_PATH_MAX) with the protected path and its writable root. */
static int metadata_denial(const csb_policy *p, csb_policy_i_eval *ev,
                           const csb_policy_i_hits *cover, const char *path,
                           char *protected_path, char *writable_root) {
  if (ev->full_write) return 0;
  /* For every write entry R covering the path (in order), the first name
   * such that R/NAME covers it without a write entry at or below R/NAME
   * covering it too. The protected paths covering the path come in that
   * order. */
  csb_policy_i_index_covering(&ev->meta_index, path, &ev->meta_hits);
  for (size_t k = 0; k < ev->meta_hits.len; k++) {
    int x = ev->meta_of[ev->meta_hits.ids[k]];
    int i = x / CSB_PROTECTED_NAMES_COUNT;
    const csb_policy_entry *r = &p->entries[i];
    if (r->access != CSB_ACCESS_WRITE || !covers(cover, i)) continue;
    const char *m = ev->meta[x];
    if (!explicit_write_below(p, cover, m)) {
      copy_path(protected_path, m);
      copy_path(writable_root, r->path);
      return 1;
    }
  }
  /* macOS file systems ignore case by default: `R/.GIT` is `R/.git` there
   * (and, when missing, creating it creates what git later finds as
   * `.git`). A name directly under a writable root that spells a protected
   * name in another case is read-only the same way, unless a write entry
   * at or below that spelling covers the path. Elsewhere only when asked
   * (a case-insensitive directory cannot be told from the path). */
  if (p->platform == CSB_PLATFORM_MACOS || ev->fold_names) {
    for (size_t k = 0; k < cover->len; k++) {
      const csb_policy_entry *r = &p->entries[cover->ids[k]];
      if (r->access != CSB_ACCESS_WRITE) continue;
      const char *rest = csb_policy_i_path_suffix(p->platform, path, r->path);
      if (rest == NULL || *rest == '\0') continue;
      size_t len = strcspn(rest, "/");
      for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT; n++) {
        const char *name = csb_protected_names[n];
        if ((strlen(name) == len && memcmp(rest, name, len) == 0) ||
            !csb_policy_name_folds_to(rest, len, name))
          continue; /* the exact spelling is decided above */
        char *variant = csb_xstrndup(path, (size_t)(rest - path) + len);
        int protected_here = !explicit_write_below(p, cover, variant);
        if (protected_here) {
          copy_path(protected_path, variant);
          copy_path(writable_root, r->path);
        }
        free(variant);
        if (protected_here) return 1;
      }
    }
  }
  /* gitdir: targets of .git pointer files directly under writable roots
   * (they may lie anywhere, so every write entry is considered): those
   * covering the path, in entry order. */
  if (far_denial(p, ev, cover, &ev->gitdir_index, ev->gitdir_paths, ev->gitdir_of, path,
                 protected_path, writable_root))
    return 1;
  /* Where those protected paths lead through symlinks (anywhere, as
   * gitdir: targets may): a write that reaches them without the link. */
  return far_denial(p, ev, cover, &ev->linked_index, ev->linked_paths, ev->linked_of, path,
                    protected_path, writable_root);
}

struct csb_policy_evaluator {
  const csb_policy *p;  /* borrowed */
  int init;             /* ev was initialised (restricted policies only) */
  csb_policy_i_eval ev; /* zeroed otherwise: unrestricted verdicts need none */
};

csb_policy_evaluator *csb_policy_evaluator_new(const csb_policy *p) {
  return csb_policy_evaluator_new_memo(p, NULL);
}

csb_policy_evaluator *csb_policy_evaluator_new_memo(const csb_policy *p, csb_path_memo *memo) {
  csb_policy_evaluator *e = csb_xcalloc(1, sizeof(*e));
  e->p = p;
  e->init = !unrestricted(p);
  if (e->init) {
    /* the entries' protected paths share their ancestors: one lookup each */
    csb_path_memo *own = memo == NULL ? csb_policy_i_memo_new(p) : NULL;
    csb_policy_i_eval_init(p, memo != NULL ? memo : own, &e->ev);
    csb_path_memo_free(own);
  }
  return e;
}

void csb_policy_evaluator_free(csb_policy_evaluator *e) {
  if (e == NULL) return;
  if (e->init) csb_policy_i_eval_free(&e->ev);
  free(e);
}

void csb_policy_evaluator_fold_protected_names(csb_policy_evaluator *e) { e->ev.fold_names = 1; }

void csb_policy_evaluator_access_for(csb_policy_evaluator *e, const char *path, csb_verdict *out) {
  csb_policy_i_access_for(e->p, &e->ev, path, out);
}

void csb_policy_access_for(const csb_policy *p, const char *path, csb_verdict *out) {
  csb_policy_evaluator *e = csb_policy_evaluator_new(p);
  csb_policy_evaluator_access_for(e, path, out);
  csb_policy_evaluator_free(e);
}

void csb_policy_i_access_for(const csb_policy *p, csb_policy_i_eval *ev, const char *path,
                             csb_verdict *out) {
  memset(out, 0, sizeof(*out));
  out->entry = -1;
  out->glob = -1;
  if (unrestricted(p)) {
    out->access = CSB_ACCESS_WRITE;
    out->can_read = out->can_write = 1;
    out->reason = CSB_REASON_UNRESTRICTED;
    return;
  }
  char *t = csb_policy_i_path_normalize(p->platform, path);
  if (t == NULL) t = csb_policy_i_path_join(p->platform, p->cwd, path);
  const csb_policy_i_hits *cover = &ev->cover;
  csb_policy_i_index_covering(&ev->index, t, &ev->cover);
  int entry = -1;
  csb_access a = resolve_among(p, ev, cover, &entry);
  out->access = a;
  out->entry = entry;
  out->reason = entry < 0 ? CSB_REASON_DEFAULT_DENY : CSB_REASON_ENTRY;
  out->can_read = a != CSB_ACCESS_DENY;
  out->can_write = a == CSB_ACCESS_WRITE;
  if (out->can_read) {
    for (size_t i = 0; i < p->n_globs; i++) {
      if (csb_policy_i_glob_matches(p->platform, i < ev->n_globs ? ev->globs[i] : NULL, t)) {
        out->access = CSB_ACCESS_DENY;
        out->can_read = out->can_write = 0;
        out->reason = CSB_REASON_DENY_GLOB;
        out->glob = (int)i;
        break;
      }
    }
  }
  if (out->can_write &&
      metadata_denial(p, ev, cover, t, out->protected_root, out->writable_root)) {
    out->access = CSB_ACCESS_READ;
    out->can_write = 0;
    out->reason = CSB_REASON_PROTECTED;
  }
  free(t);
}

char *csb_verdict_describe(const csb_policy *p, const csb_verdict *v) {
  switch (v->reason) {
    case CSB_REASON_UNRESTRICTED:
      if (p->enforcement == CSB_ENFORCE_DISABLED)
        return csb_xstrdup("write: no sandbox (enforcement disabled)");
      if (p->enforcement == CSB_ENFORCE_EXTERNAL)
        return csb_xstrdup("write: external sandbox (filesystem not restricted by csb)");
      return csb_xstrdup("write: filesystem unrestricted");
    case CSB_REASON_ENTRY: {
      const csb_policy_entry *e = &p->entries[v->entry];
      return csb_xasprintf("%s: %s (entry from %s%s)", csb_access_name(e->access), e->path,
                           e->origin, e->internal ? ", internal" : "");
    }
    case CSB_REASON_DEFAULT_DENY:
      if (p->include_platform_defaults)
        return csb_xstrdup("deny: no rule covers this path (platform default read roots "
                           "are added by the backend, not evaluated here)");
      return csb_xstrdup("deny: no rule covers this path");
    case CSB_REASON_DENY_GLOB: {
      const csb_policy_glob *g = &p->globs[v->glob];
      return csb_xasprintf("deny: deny glob %s (from %s)", g->pattern, g->origin);
    }
    case CSB_REASON_PROTECTED:
      return csb_xasprintf("read-only: protected metadata %s under writable root %s",
                           v->protected_root, v->writable_root);
  }
  return csb_xstrdup("deny");
}

int csb_policy_full_disk_read(const csb_policy *p) {
  if (unrestricted(p)) return 1;
  int root = 0;
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    if (e->access == CSB_ACCESS_DENY) return 0;
    if (csb_policy_i_entry_is_root(p, e)) root = 1;
  }
  return root && p->n_globs == 0;
}

int csb_policy_full_disk_write(const csb_policy *p) {
  if (unrestricted(p)) return 1;
  if (p->n_globs > 0) return 0;
  int root_write = 0, other_read = 0;
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    int is_root = csb_policy_i_entry_is_root(p, e);
    if (e->access == CSB_ACCESS_DENY) return 0;
    /* Only the `:root` rule: a write entry at `/` from another rule (a
     * workspace root at `/`, a `"/" = "write"` key) is a writable root,
     * with its protected names (reference §2.4). */
    if (e->access == CSB_ACCESS_WRITE && is_root && strcmp(e->origin, ":root") == 0) root_write = 1;
    if (e->access == CSB_ACCESS_READ && !is_root) other_read = 1;
  }
  if (!root_write || !other_read) return root_write;
  /* Every read entry other than the root must be shadowed: a write entry
   * targets the same path. The write entries' paths in a hash set. */
  csb_strv writes;
  csb_strv_init(&writes);
  csb_spath_set set;
  csb_spath_set_init(&set, csb_policy_i_style(p->platform), 0, &writes);
  for (size_t i = 0; i < p->n_entries; i++)
    if (p->entries[i].access == CSB_ACCESS_WRITE) csb_strv_push(&writes, p->entries[i].path);
  int all_shadowed = 1;
  for (size_t i = 0; i < p->n_entries && all_shadowed; i++) {
    const csb_policy_entry *e = &p->entries[i];
    if (e->access == CSB_ACCESS_READ && !csb_policy_i_entry_is_root(p, e))
      all_shadowed = csb_spath_set_find(&set, e->path) >= 0;
  }
  csb_spath_set_free(&set);
  csb_strv_free(&writes);
  return all_shadowed;
}
