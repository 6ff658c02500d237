/* explain.c - the plan for humans (`csb-winacl plan --explain`). Reads
 * the same JSON the planner prints, so the two never disagree. */
#include "explain.h"

#include <string.h>

#include "csb_json.h"

static const char *str(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static void list_strings(csb_buf *b, const cJSON *arr, const char *empty) {
  int n = 0;
  for (const cJSON *x = arr ? arr->child : NULL; x; x = x->next) {
    if (cJSON_IsString(x))
      csb_buf_printf(b, "%s%s", n ? ", " : "", x->valuestring);
    else if (cJSON_IsNumber(x))
      csb_buf_printf(b, "%s%d", n ? ", " : "", (int)x->valuedouble);
    n++;
  }
  if (n == 0) csb_buf_puts(b, empty);
}

static void ace_section(csb_buf *b, const cJSON *aces, const char *source, const char *title) {
  int header = 0;
  for (const cJSON *a = aces ? aces->child : NULL; a; a = a->next) {
    const char *s = str(a, "source");
    if (s == NULL || strcmp(s, source) != 0) continue;
    if (!header) {
      csb_buf_printf(b, "\n%s:\n", title);
      header = 1;
    }
    const char *rights = str(a, "rights");
    csb_buf_printf(b, "  %-5s %-44s %-20s %s\n", str(a, "type"), str(a, "path"), str(a, "trustee"),
                   rights ? rights : str(a, "mask"));
  }
}

char *wa_explain(const cJSON *plan) {
  csb_buf b = {0};
  const cJSON *id = get(plan, "identity");
  const cJSON *tok = get(plan, "token");
  const cJSON *net = get(plan, "network");
  csb_buf_printf(&b, "csb-winacl plan: %s backend\n", str(plan, "backend"));
  csb_buf_printf(&b, "policy: %s\ncwd: %s\ncsb home: %s\n", str(plan, "summary"), str(plan, "cwd"),
                 str(plan, "csb_home"));
  const char *kind = str(id, "kind");
  if (kind && strcmp(kind, "real_user") == 0)
    csb_buf_printf(&b, "identity: the current user, restricted token (%s)\n", str(id, "launch"));
  else
    csb_buf_printf(&b, "identity: %s user %s in group %s (%s)\n", kind, str(id, "account"),
                   str(id, "group"), str(id, "launch"));
  csb_buf_printf(&b, "token: %s; restricting SIDs: ", str(tok, "mode"));
  list_strings(&b, get(tok, "restricting_sids"), "none");
  csb_buf_printf(&b, "\nnetwork: %s, enforced by %s; proxy ports: ", str(net, "mode"),
                 str(net, "enforcement"));
  list_strings(&b, get(net, "proxy_ports"), "none");
  csb_buf_printf(&b, "; local binding: %s\n", cJSON_IsTrue(get(net, "allow_local_binding")) ? "yes" : "no");

  const cJSON *caps = get(get(plan, "capability_sids"), "entries");
  csb_buf_printf(&b, "\ncapability SIDs (%s, %s):\n", str(get(plan, "capability_sids"), "file"),
                 str(get(plan, "capability_sids"), "status"));
  for (const cJSON *c = caps ? caps->child : NULL; c; c = c->next) {
    const char *sid = str(c, "sid");
    csb_buf_printf(&b, "  %-40s %s\n", str(c, "trustee"), sid ? sid : "(created at apply)");
  }

  const cJSON *aces = get(plan, "aces");
  ace_section(&b, aces, "deny_read", "deny-read (applied first, before the command starts)");
  const cJSON *dr = get(plan, "deny_read");
  const cJSON *globs = get(dr, "globs");
  for (const cJSON *g = globs ? globs->child : NULL; g; g = g->next) {
    const cJSON *d = get(g, "max_depth");
    csb_buf_printf(&b, "  glob %s: %d match(es) under %s, depth ", str(g, "pattern"),
                   (int)get(g, "matches")->valuedouble, str(g, "scan_root"));
    if (cJSON_IsNumber(d))
      csb_buf_printf(&b, "%d\n", (int)d->valuedouble);
    else
      csb_buf_puts(&b, "unlimited\n");
  }
  const cJSON *st = get(dr, "state");
  if (st) {
    csb_buf_printf(&b, "deny-read state (%s, %s): revoke ", str(st, "file"), str(st, "status"));
    list_strings(&b, get(st, "revoke"), "nothing");
    csb_buf_putc(&b, '\n');
  }
  ace_section(&b, aces, "read_root", "read roots");
  ace_section(&b, aces, "write_root", "write roots");
  ace_section(&b, aces, "deny_write", "deny-write carve-outs");
  ace_section(&b, aces, "protected_ancestor", "directories above carve-outs (no rename)");
  ace_section(&b, aces, "null_device", "null device");
  const cJSON *audit = get(plan, "audit");
  if (cJSON_IsObject(audit))
    csb_buf_printf(&b, "\naudit: deny writes to Everyone-writable directories outside the write "
                   "roots (%d ms budget, %d checks)\n",
                   (int)get(audit, "budget_ms")->valuedouble, (int)get(audit, "max_checks")->valuedouble);

  const cJSON *mk = get(plan, "mkdir");
  if (mk && mk->child) {
    csb_buf_puts(&b, "\ndirectories created first:\n");
    for (const cJSON *m = mk->child; m; m = m->next)
      csb_buf_printf(&b, "  %-44s (%s)\n", str(m, "path"), str(m, "for"));
  }
  const cJSON *locks = get(plan, "dir_locks");
  if (locks && locks->child) {
    csb_buf_puts(&b, "\nsandbox directory locks:\n");
    for (const cJSON *l = locks->child; l; l = l->next) {
      csb_buf_printf(&b, "  %s%s:", str(l, "path"), cJSON_IsTrue(get(l, "protected")) ? " (protected)" : "");
      for (const cJSON *a = get(l, "aces")->child; a; a = a->next)
        csb_buf_printf(&b, " %s %s %s;", str(a, "type"), str(a, "trustee"), str(a, "mask"));
      csb_buf_putc(&b, '\n');
    }
  }
  const cJSON *fw = get(plan, "firewall");
  if (fw && fw->child) {
    csb_buf_puts(&b, "\nfirewall (outbound, offline user):\n");
    for (const cJSON *r = fw->child; r; r = r->next) {
      const char *op = str(r, "op");
      csb_buf_printf(&b, "  %-6s %s", op, str(r, "name"));
      if (strcmp(op, "ensure") == 0)
        csb_buf_printf(&b, " %s to %s ports %s", str(r, "protocol"), str(r, "remote_addresses"),
                       str(r, "remote_ports"));
      else if (strcmp(op, "narrow") == 0)
        csb_buf_printf(&b, " to ports %s", str(r, "remote_ports"));
      csb_buf_putc(&b, '\n');
    }
  }
  const cJSON *wfp = get(plan, "wfp");
  if (cJSON_IsObject(wfp))
    csb_buf_printf(&b, "WFP: %d block filters for the offline user (ICMP, DNS, DoT, SMB)\n",
                   cJSON_GetArraySize(get(wfp, "filters")));
  const cJSON *marker = get(plan, "setup_marker");
  if (cJSON_IsObject(marker))
    csb_buf_printf(&b, "setup marker: %s%s%s\n", str(marker, "status"),
                   str(marker, "reason") ? " - " : "", str(marker, "reason") ? str(marker, "reason") : "");
  const cJSON *desk = get(plan, "desktop");
  if (cJSON_IsTrue(get(desk, "private")))
    csb_buf_printf(&b, "desktop: private %s<nonce>, %s\n", str(desk, "name_prefix"), str(desk, "sddl"));
  else
    csb_buf_printf(&b, "desktop: %s\n", str(desk, "name"));

  const cJSON *pend = get(plan, "pending");
  csb_buf_printf(&b,
                 "\npending changes: %d directories, %d capability SIDs, %d stale deny-read ACEs; "
                 "deny-read state %s; setup marker %s\n",
                 (int)get(pend, "mkdir")->valuedouble,
                 (int)get(pend, "create_capability_sids")->valuedouble,
                 (int)get(pend, "revoke")->valuedouble,
                 cJSON_IsTrue(get(pend, "write_deny_read_state")) ? "rewritten" : "unchanged",
                 cJSON_IsTrue(get(pend, "write_setup_marker")) ? "rewritten" : "unchanged");
  const cJSON *notes = get(plan, "notes");
  if (notes && notes->child) {
    csb_buf_puts(&b, "notes:\n");
    for (const cJSON *n = notes->child; n; n = n->next) csb_buf_printf(&b, "  - %s\n", n->valuestring);
  }
  return csb_buf_steal(&b);
}
