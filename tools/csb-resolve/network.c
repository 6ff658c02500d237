/* network.c - the network part of the document (reference §4): the
 * sandbox network bit, Unix sockets, local binding, and the proxy settings
 * passed through for csb-proxy (`features.network_proxy` → mode `proxy`). */
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "csb_json.h"
#include "csb_netpolicy.h"
#include "resolve.h"

static const char *const proxy_keys[] = {"proxy_url",
                                         "socks_url",
                                         "enable_socks5",
                                         "enable_socks5_udp",
                                         "allow_upstream_proxy",
                                         "dangerously_allow_non_loopback_proxy",
                                         "mode",
                                         "domains",
                                         "mitm",
                                         NULL};

static int is_proxy_key(const char *k) {
  for (size_t i = 0; proxy_keys[i]; i++)
    if (strcmp(proxy_keys[i], k) == 0) return 1;
  return 0;
}

/* TOML value → JSON (dates as their RFC 3339 text). */
static cJSON *to_json(const csb_toml_value *v) {
  switch (csb_toml_value_kind(v)) {
    case CSB_TOML_TABLE: {
      cJSON *o = csb_json_new_object();
      for (size_t i = 0; i < csb_toml_table_len(v); i++) {
        cJSON *c = to_json(csb_toml_table_value_at(v, i));
        cJSON_AddItemToObject(o, csb_toml_table_key_at(v, i, NULL), c);
      }
      return o;
    }
    case CSB_TOML_ARRAY: {
      cJSON *a = csb_json_new_array();
      for (size_t i = 0; i < csb_toml_array_len(v); i++)
        cJSON_AddItemToArray(a, to_json(csb_toml_array_at(v, i)));
      return a;
    }
    case CSB_TOML_STRING: {
      cJSON *tmp = csb_json_new_array();
      csb_json_add_string(tmp, NULL, csb_toml_as_string(v, NULL));
      cJSON *s = cJSON_DetachItemFromArray(tmp, 0);
      cJSON_Delete(tmp);
      return s;
    }
    case CSB_TOML_INTEGER: {
      int64_t i = 0;
      (void)csb_toml_as_int(v, &i);
      cJSON *tmp = csb_json_new_array();
      csb_json_add_int(tmp, NULL, i);
      cJSON *n = cJSON_DetachItemFromArray(tmp, 0);
      cJSON_Delete(tmp);
      return n;
    }
    case CSB_TOML_FLOAT: {
      double d = 0;
      (void)csb_toml_as_double(v, &d);
      cJSON *tmp = csb_json_new_array();
      csb_json_add_number(tmp, NULL, d);
      cJSON *n = cJSON_DetachItemFromArray(tmp, 0);
      cJSON_Delete(tmp);
      return n;
    }
    case CSB_TOML_BOOL: {
      int b = 0;
      (void)csb_toml_as_bool(v, &b);
      cJSON *tmp = csb_json_new_array();
      csb_json_add_bool(tmp, NULL, b != 0);
      cJSON *n = cJSON_DetachItemFromArray(tmp, 0);
      cJSON_Delete(tmp);
      return n;
    }
    default: {
      cJSON *tmp = csb_json_new_array();
      const char *t = csb_toml_datetime_text(v);
      csb_json_add_string(tmp, NULL, t ? t : "");
      cJSON *n = cJSON_DetachItemFromArray(tmp, 0);
      cJSON_Delete(tmp);
      return n;
    }
  }
}

/* A key of the table being laid over `domains`, and where it stands. */
typedef struct {
  const char *key;
  size_t index;
} domain_key;

static int cmp_domain_key(const void *a, const void *b) {
  const domain_key *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c != 0) return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

static const domain_key *find_domain_key(const domain_key *keys, size_t n, const char *k) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(keys[mid].key, k);
    if (c == 0) return &keys[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Lays the TOML table `v` over the JSON object `d` as if each of its keys
 * in turn were removed from `d` and appended to it: the members `v` does
 * not name keep their order, those it names follow in its order (a key
 * named twice where it was named last). One sort of the keys instead of a
 * search of `d` per key, which took time quadratic in the domains. */
static void overlay_domains(cJSON *d, const csb_toml_value *v) {
  size_t n = csb_toml_table_len(v);
  if (n == 0) return;
  domain_key *keys = csb_xcalloc(n, sizeof *keys);
  for (size_t j = 0; j < n; j++) keys[j] = (domain_key){csb_toml_table_key_at(v, j, NULL), j};
  qsort(keys, n, sizeof *keys, cmp_domain_key);
  unsigned char *last = csb_xcalloc(n, 1); /* by index: the key's last occurrence */
  for (size_t j = 0; j < n; j++)
    if (j + 1 == n || strcmp(keys[j].key, keys[j + 1].key) != 0) last[keys[j].index] = 1;
  for (cJSON *c = d->child, *next; c != NULL; c = next) {
    next = c->next;
    if (c->string != NULL && find_domain_key(keys, n, c->string) != NULL)
      cJSON_Delete(cJSON_DetachItemViaPointer(d, c));
  }
  for (size_t j = 0; j < n; j++) {
    if (!last[j]) continue;
    const char *host = csb_toml_table_key_at(v, j, NULL);
    const char *val = csb_toml_as_string(csb_toml_table_value_at(v, j), NULL);
    csb_json_add_string(d, host, val && strcmp(val, "allow") == 0 ? "allow" : "deny");
  }
  free(last);
  free(keys);
}

/* Overlays the proxy keys of a TOML network table onto `proxy` (a JSON
 * object): domains merge per key, everything else replaces. */
static void overlay_proxy(cJSON *proxy, const csb_toml_value *net) {
  for (size_t i = 0; i < csb_toml_table_len(net); i++) {
    const char *k = csb_toml_table_key_at(net, i, NULL);
    if (!is_proxy_key(k)) continue;
    const csb_toml_value *v = csb_toml_table_value_at(net, i);
    if (strcmp(k, "domains") == 0 && csb_toml_value_kind(v) == CSB_TOML_TABLE) {
      cJSON *d = cJSON_GetObjectItemCaseSensitive(proxy, "domains");
      if (d == NULL) d = csb_json_add_object(proxy, "domains");
      overlay_domains(d, v);
      continue;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(proxy, k);
    cJSON_AddItemToObject(proxy, k, to_json(v));
  }
}

/* Unix sockets, local binding and the all-sockets switch. */
static int overlay_flags(rs_ctx *ctx, csb_policy *p, const csb_toml_value *net) {
  int b = 0;
  if (csb_toml_as_bool(csb_toml_table_get(net, "allow_local_binding"), &b)) p->allow_local_binding = b;
  if (csb_toml_as_bool(csb_toml_table_get(net, "dangerously_allow_all_unix_sockets"), &b))
    p->allow_all_unix_sockets = b;
  const csb_toml_value *socks = csb_toml_table_get(net, "unix_sockets");
  size_t n = socks != NULL ? csb_toml_table_len(socks) : 0;
  /* Set at once, in the table's order (a later key for the same path wins). */
  csb_unix_socket_rule *rules = csb_xcalloc(n ? n : 1, sizeof(*rules));
  int rc = 0;
  size_t got = 0;
  for (size_t i = 0; i < n; i++) {
    const char *k = csb_toml_table_key_at(socks, i, NULL);
    const char *v = csb_toml_as_string(csb_toml_table_value_at(socks, i), NULL);
    char *abs = rs_abs_path(ctx, k, NULL);
    if (abs == NULL) {
      rc = csb_cli_error(ctx->cli, CSB_EXIT_CONFIG,
                         "network unix socket path `%s` must be absolute or start with `~/`", k);
      break;
    }
    rules[got++] = (csb_unix_socket_rule){abs, v != NULL && strcmp(v, "allow") == 0};
  }
  if (rc == 0) csb_policy_set_unix_sockets(p, rules, got);
  for (size_t i = 0; i < got; i++) free(rules[i].path);
  free(rules);
  return rc;
}

/* The proxy settings must be valid for csb-proxy: validated with the same
 * library (types, modes, domain patterns, MITM hooks and actions). */
static int check_proxy(rs_ctx *ctx, const cJSON *proxy) {
  csb_netpolicy *np = csb_netpolicy_new();
  csb_error err;
  csb_error_clear(&err);
  int ok = csb_netpolicy_apply_proxy_json(np, proxy, "network", &err);
  csb_netpolicy_free(np);
  if (ok) return 0;
  return csb_cli_error(ctx->cli, CSB_EXIT_CONFIG, "%s", err.msg);
}

int rs_network(rs_ctx *ctx, rs_profile *prof, csb_policy *p) {
  int enabled = prof->network_enabled || prof->enforcement == CSB_ENFORCE_DISABLED;
  cJSON *proxy = csb_json_new_object();
  int rc = 0;
  if (prof->network != NULL) {
    overlay_proxy(proxy, prof->network);
    if ((rc = overlay_flags(ctx, p, prof->network)) != 0) goto out;
  }
  /* features.network_proxy: true, or a table (enabled unless it says
   * `enabled = false`) whose settings overlay the profile's. */
  const csb_toml_value *feat = rs_get(ctx->merged, "features.network_proxy");
  int feature_on = 0;
  if (feat != NULL) {
    if (csb_toml_value_kind(feat) == CSB_TOML_TABLE) {
      feature_on = 1;
      (void)csb_toml_as_bool(csb_toml_table_get(feat, "enabled"), &feature_on);
    } else {
      (void)csb_toml_as_bool(feat, &feature_on);
    }
  }
  int proxied = feature_on && enabled && prof->enforcement == CSB_ENFORCE_MANAGED;
  if (proxied && csb_toml_value_kind(feat) == CSB_TOML_TABLE) {
    overlay_proxy(proxy, feat);
    if ((rc = overlay_flags(ctx, p, feat)) != 0) goto out;
  }
  p->net_mode = !enabled ? CSB_NET_RESTRICTED : proxied ? CSB_NET_PROXY : CSB_NET_ENABLED;
  if ((rc = check_proxy(ctx, proxy)) != 0) goto out;
  if (proxy->child != NULL) {
    cJSON_Delete(p->proxy);
    p->proxy = proxy;
    proxy = NULL;
  }
out:
  cJSON_Delete(proxy);
  return rc;
}
