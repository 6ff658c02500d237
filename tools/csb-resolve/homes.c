/* homes.c - the configuration a later session reads is read-only to the
 * sandboxed command even when a writable root covers it from above (a
 * workspace at `/`, `/home` or `/Users`): the csb home, the Codex home,
 * the system layer and the requirements (docs/policy.md, "Configuration
 * homes"). Otherwise the command could rewrite `config.toml` so that the
 * next session starts with `sandbox_mode = "danger-full-access"`. */
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "resolve.h"

typedef struct {
  char *path;         /* absolute, normalised (owned) */
  const char *origin; /* the entry's origin */
} protected_place;

enum { PLACE_KEEP = 0, PLACE_FROM_ABOVE, PLACE_GRANTED };

/* Whether a write of `path` is allowed only through a write entry above
 * it (PLACE_FROM_ABOVE): the deepest entry covering it is a write entry at
 * a strict ancestor, and no protected-metadata rule already makes it
 * read-only. A write entry at exactly `path` (the workspace is the home, a
 * profile grants the home) is an explicit grant and is left alone
 * (PLACE_GRANTED); write entries below `path` are deeper than the entry
 * added here and keep deciding their own subtrees. */
static int place_state(const rs_ctx *ctx, csb_policy_evaluator *ev, const char *path) {
  const csb_policy *p = ctx->policy;
  csb_verdict v;
  csb_policy_evaluator_access_for(ev, path, &v);
  if (v.entry < 0 || v.reason == CSB_REASON_PROTECTED) return PLACE_KEEP;
  const csb_policy_entry *e = &p->entries[v.entry];
  /* With a deny glob matching `path` itself, its entries below may still
   * be writable through `e`: the reason is then the glob, the entry `e`. */
  if (e->access != CSB_ACCESS_WRITE) return PLACE_KEEP;
  return csb_spath_equal(ctx->style, e->path, path) ? PLACE_GRANTED : PLACE_FROM_ABOVE;
}

/* Where the place `path` leads through symlinks on this host, when that
 * is another path (else NULL): a home that is a link into a writable root
 * (`~/.codex` -> `~/dotfiles/codex`) is rewritten there, whatever covers
 * the link's own path. A missing target counts: creating it creates the
 * home. POSIX only (csb_path_leads_to_memo). */
static char *place_target(const rs_ctx *ctx, const char *path) {
  char *t = NULL;
  if (ctx->style != CSB_PATH_POSIX || !csb_path_leads_to_memo(NULL, path, &t)) return NULL;
  if (csb_spath_equal(ctx->style, t, path)) {
    free(t);
    return NULL;
  }
  return t;
}

/* A configuration file named on the command line, as an absolute path;
 * NULL when it exists and is not a regular file (`/dev/null`, a pipe from
 * `<(...)`): nothing a later session reads from there can be rewritten in
 * place, and a device must stay writable. Relative names are read from
 * the process's directory, like the file itself. */
static char *config_file(const rs_ctx *ctx, const char *name) {
  csb_file_type ft;
  if (csb_os_file_type(name, 1, &ft) && ft != CSB_FILE_REGULAR) return NULL;
  if (csb_spath_is_absolute(ctx->style, name)) return csb_spath_normalize(ctx->style, name);
  char *proc = csb_os_getcwd();
  if (proc == NULL) return NULL;
  char *abs = rs_join(ctx, proc, name);
  free(proc);
  return abs;
}

static void add_place(protected_place *places, size_t *n, char *path, const char *origin) {
  if (path == NULL) return;
  places[*n].path = path;
  places[(*n)++].origin = origin;
}

void rs_protect_config_homes(rs_ctx *ctx) {
  csb_policy *p = ctx->policy;
  /* No filesystem sandbox at all (`:danger-full-access`, an external
   * sandbox, an unrestricted file system, `:root` writable with nothing
   * narrowing it): the user asked for none, and protected metadata is not
   * enforced there either. */
  if (csb_policy_full_disk_write(p)) return;
  protected_place places[14];
  size_t n = 0;
  add_place(places, &n, ctx->csb_home_dir ? csb_xstrdup(ctx->csb_home_dir) : NULL, ":csb_home");
  add_place(places, &n, ctx->codex_home_dir ? csb_xstrdup(ctx->codex_home_dir) : NULL,
            ":codex_home");
  /* The built-in locations (a later session without the options reads
   * them) and the ones named on the command line. */
  add_place(places, &n, config_file(ctx, ctx->builtin_system_config), ":system_config");
  if (ctx->system_config_explicit)
    add_place(places, &n, config_file(ctx, ctx->system_config), ":system_config");
  add_place(places, &n, config_file(ctx, ctx->builtin_requirements), ":requirements");
  if (ctx->requirements_explicit)
    add_place(places, &n, config_file(ctx, ctx->requirements_path), ":requirements");
  /* Codex's system layer, requirements and legacy managed configuration
   * (the files in /etc/codex): Codex reads them at its next start, whichever tool
   * launched this one; the directory as a whole, so no new file appears. */
  add_place(places, &n, ctx->codex_system_dir ? csb_xstrdup(ctx->codex_system_dir) : NULL, ":codex_system");
  /* Every place is judged against the policy as resolved, then the
   * entries are added: the result does not depend on their order. */
  /* Then where each leads through symlinks, unless the place itself is
   * granted explicitly (the grant then holds wherever it leads). */
  int protect[14] = {0};
  size_t added = 0, n_named = n;
  csb_policy_evaluator *ev = csb_policy_evaluator_new(p);
  for (size_t i = 0; i < n_named; i++) {
    int state = place_state(ctx, ev, places[i].path);
    if ((protect[i] = state == PLACE_FROM_ABOVE)) added++;
    if (state != PLACE_GRANTED) add_place(places, &n, place_target(ctx, places[i].path), places[i].origin);
  }
  for (size_t i = n_named; i < n; i++)
    if ((protect[i] = place_state(ctx, ev, places[i].path) == PLACE_FROM_ABOVE)) added++;
  csb_policy_evaluator_free(ev);
  for (size_t i = 0; i < n; i++) {
    if (protect[i]) csb_policy_add_entry(p, places[i].path, CSB_ACCESS_READ, places[i].origin, 0, 0);
    free(places[i].path);
  }
  if (added == 0) return;
  csb_policy_canonicalize(p);
  csb_policy_compute_legacy(p, ctx->want_landlock);
}

void rs_hide_proxy_ca_key(rs_ctx *ctx) {
  csb_policy *p = ctx->policy;
  /* Windows: the unelevated backend cannot deny reads, and the key is
   * kept from other accounts by its ACL there. No file system sandbox:
   * the user asked for none. */
  if (p->platform == CSB_PLATFORM_WINDOWS || ctx->csb_home_dir == NULL || csb_policy_full_disk_write(p))
    return;
  /* The whole CA directory once it exists, not only the key: csb-proxy
   * creates the key (again, after it was removed) while the command may
   * run, and a mask on the directory hides what is created below it
   * later. A mask on a missing key would need a mount target where the
   * proxy creates it and make it fail. The certificate and the trust
   * bundles kept there reach the command through
   * CSB_NETWORK_PROXY_CA_BUNDLES, which csb-bwrap binds as checked
   * copies. A directory that does not exist yet is not denied: every
   * document would then need bubblewrap (Landlock cannot deny), and the
   * mask would need a mount target where csb-proxy creates its directory
   * (docs/policy.md, "The proxy's CA key"). */
  char *dir = rs_join(ctx, ctx->csb_home_dir, "proxy");
  char *key = rs_join(ctx, dir, "ca.key");
  csb_file_type ft;
  csb_verdict v;
  csb_policy_access_for(p, key, &v);
  if (v.can_read && csb_os_file_type(dir, 0, &ft) && (ft == CSB_FILE_DIR || ft == CSB_FILE_LINK)) {
    csb_policy_add_entry(p, dir, CSB_ACCESS_DENY, ":proxy_ca_key", 0, 0);
    csb_policy_canonicalize(p);
    csb_policy_compute_legacy(p, ctx->want_landlock);
  }
  free(key);
  free(dir);
}
