/* proxyenv.c - proxy variable names and loopback proxy URLs. */
#include "csb_proxyenv.h"

#include <string.h>

#define BOTH CSB_PROXYENV_LOWER_TOO
#define ANY CSB_PROXYENV_ANY_PROTOCOL

const csb_proxyenv_var csb_proxyenv_vars[CSB_PROXYENV_N_VARS] = {
    {"HTTP_PROXY", "http_proxy", BOTH},
    {"HTTPS_PROXY", "https_proxy", BOTH},
    {"WS_PROXY", "ws_proxy", BOTH},
    {"WSS_PROXY", "wss_proxy", BOTH},
    {"ALL_PROXY", "all_proxy", BOTH | ANY},
    {"FTP_PROXY", "ftp_proxy", BOTH | ANY},
    {"YARN_HTTP_PROXY", "yarn_http_proxy", 0},
    {"YARN_HTTPS_PROXY", "yarn_https_proxy", 0},
    {"NPM_CONFIG_HTTP_PROXY", "npm_config_http_proxy", BOTH},
    {"NPM_CONFIG_HTTPS_PROXY", "npm_config_https_proxy", BOTH},
    {"NPM_CONFIG_PROXY", "npm_config_proxy", BOTH},
    {"BUNDLE_HTTP_PROXY", "bundle_http_proxy", 0},
    {"BUNDLE_HTTPS_PROXY", "bundle_https_proxy", 0},
    {"PIP_PROXY", "pip_proxy", 0},
    {"DOCKER_HTTP_PROXY", "docker_http_proxy", 0},
    {"DOCKER_HTTPS_PROXY", "docker_https_proxy", 0},
};

/* ASCII only: the C library's notion of case and space depends on the
 * locale, these names and URLs must not. */
static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* 1 when s[0..n) equals the NUL-terminated word, ignoring ASCII case. */
static int eq_fold(const char *s, size_t n, const char *word) {
  if (strlen(word) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower(s[i]) != lower(word[i])) return 0;
  return 1;
}

int csb_proxyenv_is_var(const char *name, size_t n) {
  for (size_t i = 0; i < CSB_PROXYENV_N_VARS; i++)
    if (eq_fold(name, n, csb_proxyenv_vars[i].upper)) return 1;
  return 0;
}

int csb_proxyenv_is_blank(const char *s) {
  for (; *s; s++)
    if (!is_space(*s)) return 0;
  return 1;
}

const char *csb_proxyenv_get(char *const *envp, const char *upper, const char *lower_name,
                             const char **name_out) {
  const char *names[2] = {upper, lower_name};
  for (int i = 0; i < 2; i++) {
    const char *v = names[i] ? csb_env_get(envp, names[i]) : NULL;
    if (v && !csb_proxyenv_is_blank(v)) {
      if (name_out) *name_out = names[i];
      return v;
    }
  }
  return NULL;
}

static int scheme_ok(const char *s, size_t n) {
  if (n == 0 || !is_alpha(s[0])) return 0;
  for (size_t i = 1; i < n; i++)
    if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.') return 0;
  return 1;
}

static int default_port(const char *scheme, size_t n) {
  if (eq_fold(scheme, n, "https")) return 443;
  if (n >= 5 && eq_fold(scheme, 5, "socks")) return 1080;
  return 80;
}

int csb_proxyenv_parse_loopback(const char *value, csb_proxyenv_url *out) {
  size_t start = 0, end = strlen(value);
  while (start < end && is_space(value[start])) start++;
  while (end > start && is_space(value[end - 1])) end--;
  const char *v = value + start, *vend = value + end;
  const char *scheme = "http", *rest = v;
  size_t slen = 4;
  for (const char *q = v; q + 3 <= vend; q++) {
    if (memcmp(q, "://", 3) == 0) {
      scheme = v;
      slen = (size_t)(q - v);
      rest = q + 3;
      break;
    }
  }
  if (rest != v && !scheme_ok(scheme, slen)) return 0;
  const char *aend = rest;
  while (aend < vend && *aend != '/' && *aend != '?' && *aend != '#') {
    /* URL parsers disagree on a backslash here (WHATWG ends the authority
     * at it for http and https, curl keeps it in the user name): a value
     * clients may read as another host is not a usable loopback proxy. */
    if (*aend == '\\') return 0;
    aend++;
  }
  const char *host = rest;
  for (const char *q = rest; q < aend; q++)
    if (*q == '@') host = q + 1;
  const char *hend, *port = NULL;
  const char *addr;
  if (host < aend && *host == '[') {
    const char *rb = memchr(host, ']', (size_t)(aend - host));
    if (rb == NULL || (size_t)(rb - host - 1) != 3 || memcmp(host + 1, "::1", 3) != 0) return 0;
    hend = rb + 1;
    if (hend < aend) {
      if (*hend != ':') return 0;
      port = hend + 1;
    }
    addr = "::1";
  } else {
    const char *colon = memchr(host, ':', (size_t)(aend - host));
    hend = colon ? colon : aend;
    if (colon) port = colon + 1;
    size_t hl = (size_t)(hend - host);
    if (!eq_fold(host, hl, "localhost") && !(hl == 9 && memcmp(host, "127.0.0.1", 9) == 0)) return 0;
    addr = "127.0.0.1";
  }
  int p = 0;
  if (port != NULL && port < aend) {
    if (!csb_parse_port(port, (size_t)(aend - port), &p) || p == 0) return 0;
  } else {
    p = default_port(scheme, slen);
  }
  out->addr = addr;
  out->port = p;
  out->url_start = start;
  out->url_end = end;
  out->authority_start = (size_t)(host - value);
  out->authority_end = (size_t)(aend - value);
  return 1;
}

char *csb_proxyenv_rewrite_loopback(const char *value, int port) {
  csb_proxyenv_url u;
  if (!csb_proxyenv_parse_loopback(value, &u)) return NULL;
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_append(&b, value + u.url_start, u.authority_start - u.url_start);
  csb_buf_printf(&b, "127.0.0.1:%d", port);
  csb_buf_append(&b, value + u.authority_end, u.url_end - u.authority_end);
  return csb_buf_steal(&b);
}
