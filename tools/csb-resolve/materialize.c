/* materialize.c - from a selected profile to the policy document:
 * workspace roots (cwd, --add-dir, profile roots), one concrete entry per
 * root for `:workspace_roots` rules, `:tmpdir`, `:slash_tmp`, `:root`. */
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "resolve.h"

static void add_entry_unique(csb_policy *p, const char *path, const rs_rule *r) {
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    if (e->access == r->access && strcmp(e->path, path) == 0 && strcmp(e->origin, r->origin) == 0)
      return;
  }
  csb_policy_add_entry(p, path, r->access, r->origin, r->skip_if_missing, 0);
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
  for (size_t i = 0; i < ctx->add_dirs.len; i++)
    csb_policy_add_workspace_root(p, ctx->add_dirs.items[i], "add-dir");
  for (size_t i = 0; i < prof->profile_roots.len; i++)
    csb_policy_add_workspace_root(p, prof->profile_roots.items[i], prof->profile_root_origin);

  p->enforcement = prof->enforcement;
  p->fs_kind = prof->fs_kind;
  p->glob_scan_max_depth = prof->glob_scan_max_depth;
  if (prof->fs_kind == CSB_FS_RESTRICTED) {
    for (size_t i = 0; i < prof->rules.len; i++) {
      const rs_rule *r = &prof->rules.items[i];
      switch (r->kind) {
        case RS_R_PATH: {
          /* Carve-outs for legacy writable roots only where no rule
           * targets the path already. */
          int taken = 0;
          if (strcmp(r->origin, "protected-metadata") == 0)
            for (size_t k = 0; k < p->n_entries; k++)
              if (strcmp(p->entries[k].path, r->arg) == 0) taken = 1;
          if (!taken) add_entry_unique(p, r->arg, r);
          break;
        }
        case RS_R_ROOT: {
          /* The file system root of the cwd (Windows: its drive or share). */
          char *root = csb_spath_root(ctx->style, ctx->cwd);
          add_entry_unique(p, root ? root : "/", r);
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
            add_entry_unique(p, path, r);
            free(path);
          }
          break;
        case RS_R_TMPDIR:
          if (ctx->tmpdir != NULL) add_entry_unique(p, ctx->tmpdir, r);
          break;
        case RS_R_SLASH_TMP:
          /* POSIX only: `/tmp` has no meaning on Windows. */
          if (ctx->style == CSB_PATH_POSIX) add_entry_unique(p, "/tmp", r);
          break;
        case RS_R_UNKNOWN:
          break;
        case RS_R_GLOB:
          csb_policy_add_glob(p, r->arg, r->origin);
          break;
        case RS_R_WS_GLOB:
          for (size_t k = 0; k < p->n_workspace_roots; k++) {
            char *pat = rs_join(ctx, p->workspace_roots[k].path, r->arg);
            csb_policy_add_glob(p, pat, r->origin);
            free(pat);
          }
          break;
      }
    }
  }
  for (size_t i = 0; i < p->n_globs; i++) {
    csb_error err;
    csb_error_clear(&err);
    if (!csb_policy_glob_check(p->platform, p->globs[i].pattern, &err))
      return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", err.msg);
  }
  return rs_network(ctx, prof, p);
}
