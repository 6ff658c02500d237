/* netenv.c - loopback proxy ports from the proxy variables of an
 * environment (network mode `proxy`). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csb_sbpl.h"

/* The variables tools read a proxy from, upper-case; each is also looked
 * up in lower case. */
static const char *const proxy_keys[] = {
    "HTTP_PROXY",          "HTTPS_PROXY",          "WS_PROXY",         "WSS_PROXY",
    "ALL_PROXY",           "FTP_PROXY",            "YARN_HTTP_PROXY",  "YARN_HTTPS_PROXY",
    "NPM_CONFIG_HTTP_PROXY", "NPM_CONFIG_HTTPS_PROXY", "NPM_CONFIG_PROXY", "BUNDLE_HTTP_PROXY",
    "BUNDLE_HTTPS_PROXY",  "PIP_PROXY",            "DOCKER_HTTP_PROXY", "DOCKER_HTTPS_PROXY",
};

static const char *env_get(char *const *envp, const char *key) {
  size_t n = strlen(key);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp(*e, key, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

static int is_blank(const char *s) {
  for (; *s; s++)
    if (!isspace((unsigned char)*s)) return 0;
  return 1;
}

static int scheme_ok(const char *s, size_t n) {
  if (n == 0 || !isalpha((unsigned char)s[0])) return 0;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.') return 0;
  return 1;
}

int csb_sbpl_proxy_url_port(const char *value) {
  while (isspace((unsigned char)*value)) value++;
  size_t vlen = strlen(value);
  while (vlen > 0 && isspace((unsigned char)value[vlen - 1])) vlen--;
  char *v = csb_xstrndup(value, vlen);
  int port = 0;
  const char *scheme = "http";
  size_t slen = 4;
  const char *rest = v;
  char *sep = strstr(v, "://");
  if (sep != NULL) {
    scheme = v;
    slen = (size_t)(sep - v);
    rest = sep + 3;
    if (!scheme_ok(scheme, slen)) goto out;
  }
  size_t alen = strcspn(rest, "/?#");
  const char *auth = rest, *end = rest + alen;
  for (const char *q = auth; q < end; q++)
    if (*q == '@') auth = q + 1;
  const char *host = auth, *hend, *pstart = NULL;
  if (*host == '[') {
    const char *rb = memchr(host, ']', (size_t)(end - host));
    if (rb == NULL) goto out;
    host++;
    hend = rb;
    if (rb + 1 < end) {
      if (rb[1] != ':') goto out;
      pstart = rb + 2;
    }
    if ((size_t)(hend - host) != 3 || strncmp(host, "::1", 3) != 0) goto out;
  } else {
    const char *colon = memchr(host, ':', (size_t)(end - host));
    hend = colon ? colon : end;
    if (colon) pstart = colon + 1;
    size_t hl = (size_t)(hend - host);
    int loopback = (hl == 9 && strncasecmp(host, "localhost", 9) == 0) ||
                   (hl == 9 && strncmp(host, "127.0.0.1", 9) == 0);
    if (!loopback) goto out;
  }
  if (pstart != NULL && pstart < end) {
    long p = 0;
    for (const char *q = pstart; q < end; q++) {
      if (!isdigit((unsigned char)*q) || p > 65535) goto out;
      p = p * 10 + (*q - '0');
    }
    if (p < 1 || p > 65535) goto out;
    port = (int)p;
  } else if ((slen == 5 && strncasecmp(scheme, "https", 5) == 0)) {
    port = 443;
  } else if ((slen == 6 && (strncasecmp(scheme, "socks5", 6) == 0 ||
                            strncasecmp(scheme, "socks4", 6) == 0)) ||
             (slen == 7 && (strncasecmp(scheme, "socks5h", 7) == 0 ||
                            strncasecmp(scheme, "socks4a", 7) == 0))) {
    port = 1080;
  } else {
    port = 80;
  }
out:
  free(v);
  return port;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

void csb_sbpl_proxy_ports(char *const *envp, csb_sbpl_ports *out, csb_strv *warnings) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < CSB_ARRAY_LEN(proxy_keys); i++) {
    const char *key = proxy_keys[i];
    const char *val = env_get(envp, key);
    char lower[64];
    size_t n = strlen(key);
    for (size_t k = 0; k <= n; k++) lower[k] = (char)tolower((unsigned char)key[k]);
    const char *used = key;
    if (val == NULL || is_blank(val)) {
      val = env_get(envp, lower);
      used = lower;
    }
    if (val == NULL || is_blank(val)) continue;
    out->any_set = 1;
    int port = csb_sbpl_proxy_url_port(val);
    if (port == 0) {
      if (warnings)
        csb_strv_pushf(warnings,
                       "proxy variable %s=%s is not a loopback proxy URL (localhost, 127.0.0.1 "
                       "or [::1] with a valid port); it opens no network port (fail closed)",
                       used, val);
      continue;
    }
    int dup = 0;
    for (size_t k = 0; k < out->n; k++) dup |= out->ports[k] == port;
    if (!dup && out->n < CSB_ARRAY_LEN(out->ports)) out->ports[out->n++] = port;
  }
  qsort(out->ports, out->n, sizeof out->ports[0], cmp_int);
}
