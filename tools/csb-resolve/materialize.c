/* materialize.c - from a selected profile to the policy document:
 * workspace roots (cwd, --add-dir, profile roots), one concrete entry per
 * root for `:workspace_roots` rules, `:tmpdir`, `:slash_tmp`, `:root`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "resolve.h"

/* The document's entries as a hash set of (access, path, origin), so that
 * adding one is not a scan of all of them (profiles may have many). */
typedef struct {
  size_t *slots; /* entry index, SIZE_MAX when free */
  size_t cap, n;
} entry_set;

static size_t entry_hash(csb_access a, const char *path, const char *origin) {
  uint64_t h = csb_hash64(path, strlen(path), 0) ^ (uint64_t)a;
  h = h * 1099511628211ULL ^ csb_hash64(origin, strlen(origin), 0);
  return (size_t)h;
}

static void set_insert(entry_set *es, const csb_policy *p, size_t i) {
  const csb_policy_entry *e = &p->entries[i];
  size_t j = entry_hash(e->access, e->path, e->origin) & (es->cap - 1);
  while (es->slots[j] != SIZE_MAX) j = (j + 1) & (es->cap - 1);
  es->slots[j] = i;
  es->n++;
}

static void set_sync(entry_set *es, const csb_policy *p) {
  if (p->n_entries * 2 >= es->cap) {
    size_t cap = es->cap ? es->cap : 64;
    while (p->n_entries * 2 >= cap) cap *= 2;
    free(es->slots);
    es->slots = csb_xmalloc(cap * sizeof(*es->slots));
    for (size_t i = 0; i < cap; i++) es->slots[i] = SIZE_MAX;
    es->cap = cap;
    es->n = 0;
  }
  while (es->n < p->n_entries) set_insert(es, p, es->n);
}

static void add_entry_unique(entry_set *es, csb_policy *p, const char *path, const rs_rule *r) {
  set_sync(es, p);
  size_t j = entry_hash(r->access, path, r->origin) & (es->cap - 1);
  for (; es->slots[j] != SIZE_MAX; j = (j + 1) & (es->cap - 1)) {
    const csb_policy_entry *e = &p->entries[es->slots[j]];
    if (e->access == r->access && strcmp(e->path, path) == 0 && strcmp(e->origin, r->origin) == 0)
      return;
  }
  csb_policy_add_entry(p, path, r->access, r->origin, r->skip_if_missing, 0);
}

/* The paths of the document's entries (bytewise), to tell whether a rule
 * targets a path already without a scan of all entries. */
typedef struct {
  csb_strv paths; /* of p->entries[0..paths.len) */
  csb_spath_set set;
} taken_paths;

static int path_taken(taken_paths *t, const csb_policy *p, const char *path) {
  while (t->paths.len < p->n_entries) csb_strv_push(&t->paths, p->entries[t->paths.len].path);
  return csb_spath_set_find(&t->set, path) >= 0;
}

int rs_materialize(rs_ctx *ctx, rs_profile *prof, csb_strv *warnings) {
  (void)warnings;
  csb_policy *p = ctx->policy;
  free(p->profile_id);
  p->profile_id = csb_xstrdup(prof->id);
  free(p->profile_kind);
  p->profile_kind = csb_xstrdup(prof->kind);
  csb_strv_free(&p->extends);
  csb_strv_init(&p->extends);
  for (size_t i = 0; i < prof->extends.len; i++) csb_strv_push(&p->extends, prof->extends.items[i]);
  free(p->description);
  p->description = prof->description ? csb_xstrdup(prof->description) : NULL;

  /* Effective workspace roots: runtime (cwd, --add-dir) then profile. */
  csb_policy_add_workspace_root(p, ctx->cwd, "cwd");
  csb_policy_add_workspace_roots(p, (const char *const *)ctx->add_dirs.items, ctx->add_dirs.len,
                                 "add-dir");
  csb_policy_add_workspace_roots(p, (const char *const *)prof->profile_roots.items,
                                 prof->profile_roots.len, prof->profile_root_origin);

  p->enforcement = prof->enforcement;
  p->fs_kind = prof->fs_kind;
  p->glob_scan_max_depth = prof->glob_scan_max_depth;
  entry_set seen = {NULL, 0, 0};
  taken_paths taken;
  csb_strv_init(&taken.paths);
  csb_spath_set_init(&taken.set, CSB_PATH_POSIX, 1, &taken.paths);
  if (prof->fs_kind == CSB_FS_RESTRICTED) {
    for (size_t i = 0; i < prof->rules.len; i++) {
      const rs_rule *r = &prof->rules.items[i];
      switch (r->kind) {
        case RS_R_PATH: {
          /* Carve-outs for legacy writable roots only where no rule
           * targets the path already. */
          if (strcmp(r->origin, "protected-metadata") != 0 || !path_taken(&taken, p, r->arg))
            add_entry_unique(&seen, p, r->arg, r);
          break;
        }
        case RS_R_ROOT: {
          /* The file system root of the cwd (Windows: its drive or share). */
          char *root = csb_spath_root(ctx->style, ctx->cwd);
          add_entry_unique(&seen, p, root ? root : "/", r);
          free(root);
          break;
        }
        case RS_R_MINIMAL:
          if (r->access != CSB_ACCESS_DENY) p->include_platform_defaults = 1;
          break;
        case RS_R_WORKSPACE:
          for (size_t k = 0; k < p->n_workspace_roots; k++) {
            const char *root = p->workspace_roots[k].path;
            char *path = r->arg ? rs_join(ctx, root, r->arg) : csb_xstrdup(root);
            add_entry_unique(&seen, p, path, r);
            free(path);
          }
          break;
        case RS_R_TMPDIR:
          if (ctx->tmpdir != NULL) add_entry_unique(&seen, p, ctx->tmpdir, r);
          break;
        case RS_R_SLASH_TMP:
          /* POSIX only: `/tmp` has no meaning on Windows. */
          if (ctx->style == CSB_PATH_POSIX) add_entry_unique(&seen, p, "/tmp", r);
          break;
        case RS_R_UNKNOWN:
          break;
        case RS_R_GLOB:
          csb_policy_add_glob(p, r->arg, r->origin);
          break;
        case RS_R_WS_GLOB:
          for (size_t k = 0; k < p->n_workspace_roots; k++) {
            char *pat = rs_glob_join(ctx, p->workspace_roots[k].path, r->arg);
            csb_policy_add_glob(p, pat, r->origin);
            free(pat);
          }
          break;
      }
    }
  }
  free(seen.slots);
  csb_spath_set_free(&taken.set);
  csb_strv_free(&taken.paths);
  for (size_t i = 0; i < p->n_globs; i++) {
    csb_error err;
    csb_error_clear(&err);
    if (!csb_policy_glob_check(p->platform, p->globs[i].pattern, &err))
      return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", err.msg);
  }
  return rs_network(ctx, prof, p);
}
