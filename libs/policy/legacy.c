/* legacy.c - projection to the legacy sandbox-mode model (reference §5.3)
 * and the "round-trips without changing semantics" verdict (§5.4). */
#include <stdlib.h>
#include <string.h>

#include "csb_policy.h"
#include "policy_internal.h"

#define WRITES_OUTSIDE_WORKSPACE                                                              \
  "permissions profile requests filesystem writes outside the workspace root, which is not " \
  "supported until the runtime enforces FileSystemSandboxPolicy directly"

static int is_origin(const csb_policy_entry *e, const char *origin) {
  return strcmp(e->origin, origin) == 0;
}

int csb_policy_to_legacy(const csb_policy *p, csb_legacy_policy *out, csb_error *err) {
  int net = p->net_mode != CSB_NET_RESTRICTED;
  memset(out, 0, sizeof(*out));
  csb_strv_init(&out->writable_roots);
  if (p->enforcement == CSB_ENFORCE_DISABLED) {
    out->type = CSB_LEGACY_DANGER_FULL_ACCESS;
    return 1;
  }
  if (p->enforcement == CSB_ENFORCE_EXTERNAL || p->fs_kind == CSB_FS_EXTERNAL) {
    out->type = CSB_LEGACY_EXTERNAL_SANDBOX;
    out->network_access = net;
    return 1;
  }
  if (p->fs_kind == CSB_FS_UNRESTRICTED || csb_policy_full_disk_write(p)) {
    out->type = net ? CSB_LEGACY_DANGER_FULL_ACCESS : CSB_LEGACY_EXTERNAL_SANDBOX;
    out->network_access = 0;
    return 1;
  }
  int ws = 0, tmpdir = 0, slash = 0, root_write = 0;
  csb_strv roots;
  csb_strv_init(&roots);
  csb_spath_set seen;
  csb_spath_set_init(&seen, csb_policy_i_style(p->platform), 0, &roots);
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    if (e->access != CSB_ACCESS_WRITE) continue;
    /* Only the `:root` rule is a root write: a workspace root at `/` (a
     * cwd of `/`) is the workspace, and a `"/" = "write"` key a writable
     * root like any other path (reference §5.3). */
    if (csb_policy_i_entry_is_root(p, e) && is_origin(e, ":root")) {
      root_write = 1;
    } else if (is_origin(e, ":tmpdir")) {
      tmpdir = 1;
    } else if (is_origin(e, ":slash_tmp")) {
      slash = 1;
    } else if (csb_policy_i_path_equal(p->platform, e->path, p->cwd)) {
      ws = 1;
    } else {
      csb_spath_set_add(&seen, e->path);
    }
  }
  csb_spath_set_free(&seen);
  if (ws) {
    out->type = CSB_LEGACY_WORKSPACE_WRITE;
    out->writable_roots = roots;
    out->network_access = net;
    out->exclude_tmpdir_env_var = !tmpdir;
    out->exclude_slash_tmp = !slash;
    return 1;
  }
  int slash_counts = slash && p->platform != CSB_PLATFORM_WINDOWS;
  if (root_write || roots.len > 0 || tmpdir || slash_counts) {
    csb_strv_free(&roots);
    return csb_error_set(err, "%s", WRITES_OUTSIDE_WORKSPACE);
  }
  csb_strv_free(&roots);
  out->type = CSB_LEGACY_READ_ONLY;
  out->network_access = net;
  return 1;
}

/* The filesystem the legacy model would enforce for `l` (reference §5.4
 * legacy_runtime_fs), as a policy of the same platform and cwd. */
csb_policy *csb_policy_legacy_model(const csb_policy *p, const csb_legacy_policy *l) {
  csb_path_memo *memo = csb_policy_i_memo_new(p);
  csb_policy *r = csb_policy_i_legacy_model(p, l, memo);
  csb_path_memo_free(memo);
  return r;
}

csb_policy *csb_policy_i_legacy_model(const csb_policy *p, const csb_legacy_policy *l,
                                      csb_path_memo *memo) {
  csb_policy *r = csb_policy_new(p->platform, p->cwd);
  r->probe = p->probe;
  r->net_mode = p->net_mode;
  char *root = csb_policy_i_path_normalize(p->platform, p->cwd);
  if (root == NULL) root = csb_xstrdup(p->cwd);
  /* The filesystem root of the cwd. */
  while (!csb_policy_i_path_is_root(p->platform, root)) {
    char *up = csb_policy_i_path_join(p->platform, root, "..");
    free(root);
    root = up;
  }
  switch (l->type) {
    case CSB_LEGACY_DANGER_FULL_ACCESS:
      r->enforcement = CSB_ENFORCE_DISABLED;
      r->fs_kind = CSB_FS_UNRESTRICTED;
      break;
    case CSB_LEGACY_EXTERNAL_SANDBOX:
      r->enforcement = CSB_ENFORCE_EXTERNAL;
      r->fs_kind = CSB_FS_EXTERNAL;
      break;
    case CSB_LEGACY_READ_ONLY:
    case CSB_LEGACY_NONE:
      csb_policy_add_entry(r, root, CSB_ACCESS_READ, ":root", 0, 0);
      break;
    case CSB_LEGACY_WORKSPACE_WRITE: {
      csb_policy_add_entry(r, root, CSB_ACCESS_READ, ":root", 0, 0);
      csb_policy_add_entry(r, p->cwd, CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
      if (!l->exclude_slash_tmp && p->platform != CSB_PLATFORM_WINDOWS)
        csb_policy_add_entry(r, "/tmp", CSB_ACCESS_WRITE, ":slash_tmp", 0, 0);
      if (!l->exclude_tmpdir_env_var) {
        for (size_t i = 0; i < p->n_entries; i++)
          if (is_origin(&p->entries[i], ":tmpdir"))
            csb_policy_add_entry(r, p->entries[i].path, CSB_ACCESS_WRITE, ":tmpdir", 0, 0);
      }
      for (size_t i = 0; i < l->writable_roots.len; i++)
        csb_policy_add_entry(r, l->writable_roots.items[i], CSB_ACCESS_WRITE,
                             "legacy:writable_roots", 0, 0);
      /* Skip-missing read carve-outs: the cwd's default protected subpaths
       * (.codex and .csb even when missing) and each writable root's
       * existing ones. */
      csb_policy *probe = csb_policy_new(p->platform, p->cwd);
      probe->probe = p->probe;
      csb_policy_add_entry(probe, root, CSB_ACCESS_READ, ":root", 0, 0);
      csb_policy_add_entry(probe, p->cwd, CSB_ACCESS_WRITE, "cwd", 0, 0);
      for (size_t i = 0; i < l->writable_roots.len; i++)
        csb_policy_add_entry(probe, l->writable_roots.items[i], CSB_ACCESS_WRITE, "root", 0, 0);
      csb_policy_view *v = csb_policy_i_view_build(probe, memo);
      for (size_t w = 0; w < v->n_writable; w++)
        for (size_t k = 0; k < v->writable[w].read_only_subpaths.len; k++)
          csb_policy_add_entry(r, v->writable[w].read_only_subpaths.items[k], CSB_ACCESS_READ,
                               "legacy:protected", 1, 0);
      csb_policy_view_free(v);
      csb_policy_free(probe);
      break;
    }
  }
  free(root);
  csb_policy_canonicalize(r);
  return r;
}

static int strv_equal(const csb_strv *a, const csb_strv *b) {
  if (a->len != b->len) return 0;
  for (size_t i = 0; i < a->len; i++)
    if (strcmp(a->items[i], b->items[i]) != 0) return 0;
  return 1;
}

static int same_signature(const csb_policy_view *a, const csb_policy_view *b) {
  if (a->full_read != b->full_read || a->full_write != b->full_write ||
      a->include_platform_defaults != b->include_platform_defaults)
    return 0;
  if (!strv_equal(&a->readable_roots, &b->readable_roots) ||
      !strv_equal(&a->unreadable_roots, &b->unreadable_roots) ||
      !strv_equal(&a->unreadable_globs, &b->unreadable_globs) || a->n_writable != b->n_writable)
    return 0;
  for (size_t i = 0; i < a->n_writable; i++) {
    const csb_writable_root *x = &a->writable[i], *y = &b->writable[i];
    if (strcmp(x->root, y->root) != 0 ||
        !strv_equal(&x->read_only_subpaths, &y->read_only_subpaths) ||
        !strv_equal(&x->protected_names, &y->protected_names))
      return 0;
  }
  return 1;
}

/* Reference protected_metadata_names_need_direct: a protected name of a
 * writable root that the legacy model would not carve out. */
static int names_need_direct(const csb_policy *p, const csb_policy_view *pv,
                             const csb_policy_view *lv) {
  for (size_t i = 0; i < pv->n_writable; i++) {
    const csb_writable_root *w = &pv->writable[i];
    const csb_writable_root *l = NULL;
    for (size_t j = 0; j < lv->n_writable; j++)
      if (csb_policy_i_path_equal(p->platform, lv->writable[j].root, w->root)) l = &lv->writable[j];
    if (l == NULL) {
      if (w->protected_names.len > 0) return 1;
      continue;
    }
    for (size_t n = 0; n < w->protected_names.len; n++) {
      char *sub = csb_policy_i_path_join(p->platform, w->root, w->protected_names.items[n]);
      int found = 0;
      for (size_t k = 0; k < l->read_only_subpaths.len; k++)
        if (csb_policy_i_path_equal(p->platform, l->read_only_subpaths.items[k], sub)) found = 1;
      free(sub);
      if (!found) return 1;
    }
  }
  return 0;
}

/* A deny glob, or a deny entry other than the filesystem root. Such a
 * rule is in the policy's view (an unreadable glob; an unreadable root,
 * since a deny entry always decides its own path: no covering entry is
 * deeper and deny wins at equal depth), while the legacy model, made of
 * read and write entries only, has neither. */
static int has_denials(const csb_policy *p) {
  if (p->n_globs > 0) return 1;
  for (size_t i = 0; i < p->n_entries; i++)
    if (p->entries[i].access == CSB_ACCESS_DENY && !csb_policy_i_entry_is_root(p, &p->entries[i]))
      return 1;
  return 0;
}

int csb_policy_round_trips(const csb_policy *p) {
  if (p->enforcement != CSB_ENFORCE_MANAGED || p->fs_kind != CSB_FS_RESTRICTED) return 1;
  /* The signatures compared below would differ: no need to build them. */
  if (has_denials(p)) return 0;
  csb_legacy_policy l;
  if (!csb_policy_to_legacy(p, &l, NULL)) return 0;
  /* One memo for the three views: they look at the same paths. */
  csb_path_memo *memo = csb_policy_i_memo_new(p);
  csb_policy *r = csb_policy_i_legacy_model(p, &l, memo);
  csb_policy_view *pv = csb_policy_i_view_build(p, memo);
  csb_policy_view *lv = csb_policy_i_view_build(r, memo);
  int ok = !names_need_direct(p, pv, lv) && same_signature(pv, lv);
  csb_policy_view_free(pv);
  csb_policy_view_free(lv);
  csb_policy_free(r);
  csb_path_memo_free(memo);
  csb_legacy_policy_free(&l);
  return ok;
}

void csb_policy_compute_legacy(csb_policy *p, int want_landlock) {
  csb_error err;
  csb_error_clear(&err);
  csb_legacy_policy_free(&p->legacy);
  free(p->legacy_error);
  p->legacy_error = NULL;
  if (!csb_policy_to_legacy(p, &p->legacy, &err)) {
    memset(&p->legacy, 0, sizeof(p->legacy));
    p->legacy.type = CSB_LEGACY_NONE;
    p->legacy_error = csb_xstrdup(err.msg);
  }
  p->round_trips = csb_policy_round_trips(p);
  p->linux_backend = (want_landlock && p->round_trips && p->net_mode != CSB_NET_PROXY)
                         ? CSB_LINUX_LANDLOCK
                         : CSB_LINUX_BWRAP;
}
