/* upstream.c - the upstream proxy csb-proxy itself may have to use
 * (allow_upstream_proxy): HTTPS_PROXY, HTTP_PROXY, ALL_PROXY (http:// only)
 * and NO_PROXY from csb-proxy's own environment (upper case first, then
 * lower case, blank meaning unset, as libs/proxyenv reads them). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csb_proxyenv.h"
#include "proxy.h"

/* http://[user@]host[:port][/...] -> host, port (default 80). */
static int parse_http_proxy(const char *v, char *host, size_t hn, int *port) {
  while (isspace((unsigned char)*v)) v++;
  if (strncasecmp(v, "http://", 7) == 0)
    v += 7;
  else if (strstr(v, "://"))
    return 0; /* https://, socks5://: not supported for upstream */
  const char *end = v + strcspn(v, "/?# \t");
  const char *at = memchr(v, '@', (size_t)(end - v));
  if (at) v = at + 1;
  csb_http_authority a;
  const char *why;
  if (!csb_http_parse_authority(v, (size_t)(end - v), &a, &why)) return 0;
  if (strlen(a.host) >= hn) return 0;
  strcpy(host, a.host);
  *port = a.port ? a.port : 80;
  return 1;
}

void px_upstream_from_env(px_upstream *u, char **envp) {
  memset(u, 0, sizeof *u);
  static const char *const keys[][2] = {
      {"HTTPS_PROXY", "https_proxy"}, {"HTTP_PROXY", "http_proxy"}, {"ALL_PROXY", "all_proxy"}};
  for (size_t i = 0; i < CSB_ARRAY_LEN(keys) && !u->enabled; i++) {
    const char *v = csb_proxyenv_get(envp, keys[i][0], keys[i][1], NULL);
    if (v && parse_http_proxy(v, u->host, sizeof u->host, &u->port)) u->enabled = 1;
  }
  const char *np = csb_proxyenv_get(envp, "NO_PROXY", "no_proxy", NULL);
  if (np) {
    char *copy = csb_xstrdup(np);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
      for (char *p = tok; *p; p++) *p = (char)tolower((unsigned char)*p);
      csb_strv_push(&u->no_proxy, tok);
    }
    free(copy);
  }
}

int px_upstream_bypass(const px_upstream *u, const char *host) {
  size_t hl = strlen(host);
  for (size_t i = 0; i < u->no_proxy.len; i++) {
    const char *e = u->no_proxy.items[i];
    if (strcmp(e, "*") == 0) return 1;
    if (*e == '.') e++;
    if (*e == '*' && e[1] == '.') e += 2;
    size_t el = strlen(e);
    if (el == 0) continue;
    if (hl == el && strcasecmp(host, e) == 0) return 1;
    if (hl > el && host[hl - el - 1] == '.' && strcasecmp(host + hl - el, e) == 0) return 1;
  }
  return 0;
}

void px_upstream_free(px_upstream *u) { csb_strv_free(&u->no_proxy); }
