/* config.c - settings from the policy document and from --config TOML,
 * listener addresses (upstream parse_host_port semantics and loopback
 * clamping), limits. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "config.h"
#include "csb_toml.h"

void px_limits_default(px_limits *l) {
  l->max_connections = 1024;
  l->max_header_bytes = 32768;
  l->handshake_ms = 10000;
  l->idle_ms = 300000;
  l->dns_ms = 2000;
  l->resolver_threads = 4;
  l->decider_ms = 30000;
  l->leaf_cache = 1024;
  l->buffer_bytes = 65536;
}

/* ---- TOML -> JSON ------------------------------------------------------------ */

static cJSON *toml_to_json(const csb_toml_value *v, const char *path, csb_error *err) {
  switch (csb_toml_value_kind(v)) {
    case CSB_TOML_TABLE: {
      cJSON *o = cJSON_CreateObject();
      for (size_t i = 0; i < csb_toml_table_len(v); i++) {
        size_t kl = 0;
        const char *k = csb_toml_table_key_at(v, i, &kl);
        if (strlen(k) != kl) {
          cJSON_Delete(o);
          csb_error_set(err, "%s: key contains a NUL byte", path);
          return NULL;
        }
        char *sub = csb_xasprintf("%s%s%s", path, *path ? "." : "", k);
        cJSON *c = toml_to_json(csb_toml_table_value_at(v, i), sub, err);
        free(sub);
        if (!c) {
          cJSON_Delete(o);
          return NULL;
        }
        cJSON_AddItemToObject(o, k, c);
      }
      return o;
    }
    case CSB_TOML_ARRAY: {
      cJSON *a = cJSON_CreateArray();
      for (size_t i = 0; i < csb_toml_array_len(v); i++) {
        char *sub = csb_xasprintf("%s[%zu]", path, i);
        cJSON *c = toml_to_json(csb_toml_array_at(v, i), sub, err);
        free(sub);
        if (!c) {
          cJSON_Delete(a);
          return NULL;
        }
        cJSON_AddItemToArray(a, c);
      }
      return a;
    }
    case CSB_TOML_STRING: {
      size_t n = 0;
      const char *s = csb_toml_as_string(v, &n);
      if (strlen(s) != n) {
        csb_error_set(err, "%s: string contains a NUL byte", path);
        return NULL;
      }
      return cJSON_CreateString(s);
    }
    case CSB_TOML_INTEGER: {
      int64_t i = 0;
      csb_toml_as_int(v, &i);
      return cJSON_CreateNumber((double)i);
    }
    case CSB_TOML_BOOL: {
      int b = 0;
      csb_toml_as_bool(v, &b);
      return cJSON_CreateBool(b);
    }
    default:
      csb_error_set(err, "%s: unsupported value type %s", path, csb_toml_kind_name(csb_toml_value_kind(v)));
      return NULL;
  }
}

static int limit_ms(const cJSON *o, const char *key, unsigned long max, unsigned long *out, csb_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v) return 1;
  if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > (double)max ||
      v->valuedouble != (double)(unsigned long)v->valuedouble)
    return csb_error_set(err, "config: limits.%s: expected an integer between 1 and %lu", key, max);
  *out = (unsigned long)v->valuedouble;
  return 1;
}

static int apply_limits(const cJSON *o, px_limits *l, csb_error *err) {
  if (!cJSON_IsObject(o)) return csb_error_set(err, "config: limits: expected table");
  static const char *const keys[] = {"max_connections", "max_header_bytes",   "handshake_timeout_ms",
                                     "idle_timeout_ms", "dns_timeout_ms",     "decider_timeout_ms",
                                     "resolver_threads", "leaf_cache",        "buffer_bytes", NULL};
  for (const cJSON *m = o->child; m; m = m->next) {
    int known = 0;
    for (size_t i = 0; keys[i]; i++) known |= strcmp(keys[i], m->string) == 0;
    if (!known) return csb_error_set(err, "config: limits: unknown field `%s`", m->string);
  }
  return limit_ms(o, "max_connections", 1000000, &l->max_connections, err) &&
         limit_ms(o, "max_header_bytes", 1 << 20, &l->max_header_bytes, err) &&
         limit_ms(o, "handshake_timeout_ms", 86400000, &l->handshake_ms, err) &&
         limit_ms(o, "idle_timeout_ms", 86400000, &l->idle_ms, err) &&
         limit_ms(o, "dns_timeout_ms", 600000, &l->dns_ms, err) &&
         limit_ms(o, "decider_timeout_ms", 86400000, &l->decider_ms, err) &&
         limit_ms(o, "resolver_threads", 64, &l->resolver_threads, err) &&
         limit_ms(o, "leaf_cache", 1000000, &l->leaf_cache, err) &&
         limit_ms(o, "buffer_bytes", 16 << 20, &l->buffer_bytes, err);
}

int px_config_load_toml(const char *path, csb_netpolicy *np, px_limits *lim, int *exit_code, csb_error *err) {
  char *data = NULL;
  size_t len = 0;
  *exit_code = 65;
  if (!csb_read_file(path, 16u << 20, &data, &len, err)) {
    *exit_code = 78;
    return 0;
  }
  csb_toml_value *root = NULL;
  if (!csb_toml_parse(data, len, &root, err)) {
    free(data);
    csb_error_prefix(err, "%s", path);
    return 0;
  }
  free(data);
  *exit_code = 78;
  cJSON *j = toml_to_json(root, "", err);
  csb_toml_value_free(root);
  if (!j) {
    csb_error_prefix(err, "%s", path);
    return 0;
  }
  const cJSON *limits = cJSON_GetObjectItemCaseSensitive(j, "limits");
  static const char *const skip[] = {"limits", NULL};
  int ok = (!limits || apply_limits(limits, lim, err)) && csb_netpolicy_apply_config_json(np, j, skip, err);
  cJSON_Delete(j);
  if (!ok) csb_error_prefix(err, "%s", path);
  return ok;
}

/* ---- addresses ------------------------------------------------------------------- */

int px_parse_host_port(const char *url, int default_port, char *host, size_t hn, int *port, csb_error *err) {
  const char *b = url;
  while (isspace((unsigned char)*b)) b++;
  size_t n = strlen(b);
  while (n > 0 && isspace((unsigned char)b[n - 1])) n--;
  if (n == 0) return csb_error_set(err, "missing host in network proxy address: %s", url);
  char *s = csb_xstrndup(b, n);
  *port = default_port;
  struct in6_addr a6;
  if (s[0] != '[' && !strstr(s, "://") && inet_pton(AF_INET6, s, &a6) == 1) {
    snprintf(host, hn, "%s", s);
    free(s);
    return 1;
  }
  const char *h = NULL;
  char *p = s;
  char *scheme = strstr(p, "://");
  if (scheme) p = scheme + 3;
  p[strcspn(p, "/?#")] = '\0';
  char *at = strrchr(p, '@');
  if (at) p = at + 1;
  if (*p == '[') {
    char *close = strchr(p, ']');
    if (!close) {
      free(s);
      return csb_error_set(err, "missing host in network proxy address: %s", url);
    }
    *close = '\0';
    h = p + 1;
    if (close[1] == ':') {
      int pp;
      if (csb_parse_port(close + 2, strlen(close + 2), &pp)) *port = pp;
    }
  } else {
    char *colon = strchr(p, ':');
    if (colon && !strchr(colon + 1, ':')) {
      *colon = '\0';
      int pp;
      if (csb_parse_port(colon + 1, strlen(colon + 1), &pp)) *port = pp;
    }
    h = p;
  }
  /* a cut host would be another host: refuse it */
  int fits = snprintf(host, hn, "%s", h) < (int)hn;
  free(s);
  if (!*host) return csb_error_set(err, "missing host in network proxy address: %s", url);
  if (!fits) return csb_error_set(err, "host in network proxy address is longer than %zu bytes: %s", hn - 1, url);
  return 1;
}

static int is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int px_listen_addr(const char *url, int default_port, const csb_netpolicy *np, struct sockaddr_storage *out,
                   csb_error *err) {
  char host[256];
  int port;
  if (!px_parse_host_port(url, default_port, host, sizeof host, &port, err)) return 0;
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  char *pct = strchr(host, '%');
  if (pct) *pct = '\0';
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
  } else {
    /* "localhost" and any other name: loopback */
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(0x7f000001);
    v4->sin_port = htons((uint16_t)port);
  }
  int unix_enabled = np->unix_sockets.len > 0 || np->dangerously_allow_all_unix_sockets;
  if (!is_loopback(out) && (!np->dangerously_allow_non_loopback_proxy || unix_enabled)) {
    char buf[80];
    fprintf(stderr, "csb-proxy: warning: %s is not a loopback address; listening on 127.0.0.1:%d instead%s\n",
            csb_sock_format((struct sockaddr *)out, buf, sizeof buf), port,
            unix_enabled ? " (Unix socket proxying is enabled)" : "");
    memset(out, 0, sizeof *out);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(0x7f000001);
    v4->sin_port = htons((uint16_t)port);
  } else if (!is_loopback(out)) {
    fprintf(stderr, "csb-proxy: warning: DANGEROUS: listening on non-loopback address %s\n", url);
  }
  return 1;
}
