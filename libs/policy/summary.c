/* summary.c - the one-line summary (reference §7) and the --explain table. */
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "csb_policy.h"
#include "policy_internal.h"

#define NETWORK_SUFFIX " (network access enabled)"

char *csb_policy_summary(const csb_policy *p) {
  int net = p->net_mode != CSB_NET_RESTRICTED;
  if (p->enforcement == CSB_ENFORCE_DISABLED) return csb_xstrdup("danger-full-access");
  if (p->enforcement == CSB_ENFORCE_EXTERNAL || p->fs_kind == CSB_FS_EXTERNAL)
    return csb_xasprintf("external-sandbox%s", net ? NETWORK_SUFFIX : "");
  if (csb_policy_full_disk_write(p))
    return csb_xstrdup(net ? "danger-full-access" : "external-sandbox");
  int workspace = 0, other = 0, tmpdir = 0, slash = 0;
  for (size_t i = 0; i < p->n_entries; i++) {
    const csb_policy_entry *e = &p->entries[i];
    if (e->access != CSB_ACCESS_WRITE || e->internal) continue;
    if (strcmp(e->origin, ":tmpdir") == 0)
      tmpdir = 1;
    else if (strcmp(e->origin, ":slash_tmp") == 0)
      slash = 1;
    else if (strcmp(e->origin, ":workspace_roots") == 0 ||
             csb_policy_i_path_equal(p->platform, e->path, p->cwd))
      workspace = 1;
    else
      other = 1;
  }
  csb_buf b = {0};
  if (workspace) {
    csb_buf_puts(&b, "workspace-write [workdir");
    if (slash) csb_buf_puts(&b, ", /tmp");
    if (tmpdir) csb_buf_puts(&b, ", $TMPDIR");
    for (size_t i = 0; i < p->n_workspace_roots; i++) {
      const char *r = p->workspace_roots[i].path;
      if (!csb_policy_i_path_equal(p->platform, r, p->cwd)) csb_buf_printf(&b, ", %s", r);
    }
    csb_buf_putc(&b, ']');
  } else if (other || tmpdir || (slash && p->platform != CSB_PLATFORM_WINDOWS)) {
    csb_buf_puts(&b, "custom permissions");
  } else {
    csb_buf_puts(&b, "read-only");
  }
  if (net) csb_buf_puts(&b, NETWORK_SUFFIX);
  return csb_buf_steal(&b);
}

/* ---- --explain table ----------------------------------------------------- */

static const char *yes_no(int b) { return b ? "yes" : "no"; }

static const char *net_mode_name(csb_net_mode m) {
  switch (m) {
    case CSB_NET_ENABLED:
      return "enabled";
    case CSB_NET_PROXY:
      return "proxy";
    default:
      return "restricted";
  }
}

static void put_padded(csb_buf *b, const char *s, size_t width) {
  csb_buf_puts(b, s);
  for (size_t n = strlen(s); n < width; n++) csb_buf_putc(b, ' ');
}

static void legacy_line(const csb_policy *p, csb_buf *b) {
  const csb_legacy_policy *l = &p->legacy;
  csb_buf_puts(b, "legacy sandbox mode: ");
  switch (l->type) {
    case CSB_LEGACY_NONE:
      csb_buf_printf(b, "none (%s)", p->legacy_error ? p->legacy_error : "no projection");
      break;
    case CSB_LEGACY_READ_ONLY:
      csb_buf_puts(b, "read-only");
      break;
    case CSB_LEGACY_WORKSPACE_WRITE:
      csb_buf_puts(b, "workspace-write");
      for (size_t i = 0; i < l->writable_roots.len; i++)
        csb_buf_printf(b, "%s%s", i ? ", " : " (writable roots: ", l->writable_roots.items[i]);
      if (l->writable_roots.len) csb_buf_putc(b, ')');
      break;
    case CSB_LEGACY_DANGER_FULL_ACCESS:
      csb_buf_puts(b, "danger-full-access");
      break;
    case CSB_LEGACY_EXTERNAL_SANDBOX:
      csb_buf_puts(b, "external-sandbox");
      break;
  }
  csb_buf_printf(b, "\nround-trips: %s; linux backend: %s\n", yes_no(p->round_trips),
                 p->linux_backend == CSB_LINUX_LANDLOCK ? "landlock" : "bubblewrap");
}

char *csb_policy_explain(const csb_policy *p) {
  csb_buf b = {0};
  char *summary = csb_policy_summary(p);
  csb_buf_printf(&b, "%s\n\n", summary);
  free(summary);
  csb_buf_printf(&b, "profile: %s (%s)", p->profile_id ? p->profile_id : "", p->profile_kind ? p->profile_kind : "");
  for (size_t i = 0; i < p->extends.len; i++)
    csb_buf_printf(&b, "%s%s", i ? " -> " : ", extends ", p->extends.items[i]);
  if (p->description != NULL) csb_buf_printf(&b, "\ndescription: %s", p->description);
  csb_buf_printf(&b, "\ncwd: %s\n", p->cwd);
  for (size_t i = 0; i < p->n_workspace_roots; i++)
    csb_buf_printf(&b, "workspace root: %s (%s)\n", p->workspace_roots[i].path,
                   p->workspace_roots[i].origin);

  if (p->enforcement == CSB_ENFORCE_DISABLED) {
    csb_buf_puts(&b, "\nfilesystem: no sandbox (everything readable and writable)\n");
  } else if (p->enforcement == CSB_ENFORCE_EXTERNAL || p->fs_kind != CSB_FS_RESTRICTED) {
    csb_buf_printf(&b, "\nfilesystem: %s (everything readable and writable)\n",
                   p->fs_kind == CSB_FS_EXTERNAL ? "external sandbox" : "unrestricted");
  } else {
    csb_buf_puts(&b, "\nfilesystem (deepest rule wins; deny > write > read at equal depth; "
                     "no rule: deny):\n");
    for (size_t i = 0; i < p->n_entries; i++) {
      const csb_policy_entry *e = &p->entries[i];
      csb_buf_puts(&b, "  ");
      put_padded(&b, csb_access_name(e->access), 7);
      csb_buf_printf(&b, "%s  [%s%s%s]\n", e->path, e->origin,
                     e->skip_if_missing ? ", skip if missing" : "", e->internal ? ", internal" : "");
    }
    if (p->n_entries == 0) csb_buf_puts(&b, "  (no entries: nothing is readable)\n");
    if (p->include_platform_defaults) csb_buf_puts(&b, "  platform default read roots: yes\n");
    for (size_t i = 0; i < p->n_globs; i++)
      csb_buf_printf(&b, "  deny glob %s (from %s)\n", p->globs[i].pattern, p->globs[i].origin);
    if (p->glob_scan_max_depth > 0)
      csb_buf_printf(&b, "  glob scan max depth: %d\n", p->glob_scan_max_depth);
    int any_write = 0;
    for (size_t i = 0; i < p->n_entries; i++)
      if (p->entries[i].access == CSB_ACCESS_WRITE) any_write = 1;
    if (any_write && !csb_policy_full_disk_write(p))
      csb_buf_puts(&b, "  protected under writable roots (read-only): .git (and its gitdir: "
                       "target), .agents, .codex, .csb\n");
  }

  csb_buf_printf(&b, "\nnetwork: %s; local binding: %s", net_mode_name(p->net_mode),
                 yes_no(p->allow_local_binding));
  if (p->allow_all_unix_sockets) csb_buf_puts(&b, "; all unix sockets allowed");
  csb_buf_putc(&b, '\n');
  for (size_t i = 0; i < p->n_unix_sockets; i++)
    csb_buf_printf(&b, "  unix socket %s: %s\n", p->unix_sockets[i].path,
                   p->unix_sockets[i].allow ? "allow" : "deny");
  if (p->proxy != NULL) {
    const cJSON *domains = cJSON_GetObjectItemCaseSensitive(p->proxy, "domains");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(p->proxy, "mode");
    csb_buf_printf(&b, "  proxy settings: mode %s, %d domain rule(s)\n",
                   cJSON_IsString(mode) ? mode->valuestring : "full",
                   cJSON_IsObject(domains) ? cJSON_GetArraySize(domains) : 0);
  }
  csb_buf_putc(&b, '\n');
  legacy_line(p, &b);
  for (size_t i = 0; i < p->warnings.len; i++)
    csb_buf_printf(&b, "%swarning: %s\n", i == 0 ? "\n" : "", p->warnings.items[i]);
  return csb_buf_steal(&b);
}
