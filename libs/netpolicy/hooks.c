/* hooks.c - MITM hook matching (method, path prefix or glob, query and
 * header constraints). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "netpolicy_internal.h"

/* Hook hosts are stored as np_host_key gives them: an IP literal finds the
 * hooks of its address however it is spelt (`::ffff:1.2.3.4`, `0:0::5`). */
int csb_netpolicy_host_has_hooks(const csb_netpolicy *np, const char *host) {
  char key[256];
  np_host_key(host, key, sizeof key);
  for (size_t i = 0; i < np->n_hooks; i++)
    if (strcmp(np->hooks[i].host, key) == 0) return 1;
  return 0;
}

/* Path glob with a literal separator: `*` and `?` never match '/', `**`
 * matches anything (including '/'). Whole-path match. */
static int path_glob(const char *p, const char *s) {
  while (*p) {
    if (p[0] == '*' && p[1] == '*') {
      p += 2;
      /* a double star before a slash also matches zero directories */
      if (*p == '/' && path_glob(p + 1, s)) return 1;
      for (const char *t = s;; t++) {
        if (path_glob(p, t)) return 1;
        if (!*t) return 0;
      }
    }
    if (*p == '*') {
      p++;
      for (const char *t = s;; t++) {
        if (path_glob(p, t)) return 1;
        if (!*t || *t == '/') return 0;
      }
    }
    if (!*s) return 0;
    if (*p == '?') {
      if (*s == '/') return 0;
    } else if (*p != *s) {
      return 0;
    }
    p++;
    s++;
  }
  return *s == '\0';
}

static int path_matches(const char *prefix, const char *path) {
  if (strncmp(prefix, "pattern:", 8) == 0) {
    /* bound the recursion of pathological patterns */
    size_t stars = 0;
    for (const char *q = prefix + 8; *q; q++) stars += *q == '*';
    if (stars > 8) return 0;
    return path_glob(prefix + 8, path);
  }
  if (strncmp(prefix, "literal:", 8) == 0) prefix += 8;
  return strncmp(path, prefix, strlen(prefix)) == 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)tolower((unsigned char)c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes percent-encoded text of length n into buf, with '+' read as a
 * space (application/x-www-form-urlencoded) when plus_is_space. */
static void form_decode(const char *s, size_t n, int plus_is_space, csb_buf *out) {
  csb_buf_reset(out);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '+' && plus_is_space) {
      csb_buf_putc(out, ' ');
    } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      csb_buf_putc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      csb_buf_putc(out, s[i]);
    }
  }
  if (!out->data) csb_buf_puts(out, "");
}

/* A path an origin could read as another one than the hook saw: a "." or
 * ".." segment (also spelled %2e, also with ";parameters", which servers
 * such as Tomcat and Jetty strip before resolving dot segments), an
 * encoded '/' or '\\', or a '\\' (servers normalise these before
 * routing). */
static int path_is_ambiguous(const char *path) {
  for (const char *q = path; *q; q++) {
    if (*q == '\\') return 1;
    if (q[0] == '%' && q[1] && q[2] &&
        ((q[1] == '2' && (q[2] == 'f' || q[2] == 'F')) || (q[1] == '5' && (q[2] == 'c' || q[2] == 'C'))))
      return 1;
  }
  const char *seg = path;
  for (;;) {
    const char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    size_t dots = 0, i = 0;
    while (i < n) {
      if (seg[i] == '.') {
        i++;
      } else if (i + 3 <= n && seg[i] == '%' && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
        i += 3;
      } else {
        break;
      }
      dots++;
    }
    if ((i == n || seg[i] == ';') && (dots == 1 || dots == 2)) return 1;
    if (!end) return 0;
    seg = end + 1;
  }
}

/* A byte of a parameter name as some origin reads it: ASCII case folded
 * (ASP.NET), ' ', '.' and '[' as '_' (PHP). */
static int qname_char(unsigned char c) {
  c = (unsigned char)tolower(c);
  return c == ' ' || c == '.' || c == '[' ? '_' : c;
}

static int qname_eq(const char *a, size_t al, const char *b) {
  if (strlen(b) != al) return 0;
  for (size_t i = 0; i < al; i++)
    if (qname_char((unsigned char)a[i]) != qname_char((unsigned char)b[i])) return 0;
  return 1;
}

/* 1 when some origin reads the decoded parameter name as `want`: up to a
 * NUL (C), after leading spaces (PHP), by qname_char, or as the part
 * before a '[' (x[]=, x[k]=: arrays for PHP, Rack and qs). */
static int query_name_is(const csb_buf *name, const char *want) {
  const char *p = name->data;
  const char *nul = memchr(p, '\0', name->len);
  size_t n = nul ? (size_t)(nul - p) : name->len;
  while (n > 0 && *p == ' ') {
    p++;
    n--;
  }
  if (qname_eq(p, n, want)) return 1;
  const char *br = memchr(p, '[', n);
  return br && br != p && qname_eq(p, (size_t)(br - p), want);
}

/* One reading of the query, with parameters separated by any byte of
 * `seps` and '+' a space or not: every occurrence of the name
 * (query_name_is) has an accepted value (and there is one). A value is
 * compared whole: a decoded NUL does not end it. */
static int query_reading_has(const char *query, const csb_netpolicy_kv *kv, const char *seps,
                             int plus_is_space) {
  csb_buf name, value;
  csb_buf_init(&name);
  csb_buf_init(&value);
  int found = 0, bad = 0;
  const char *p = query;
  while (*p && !bad) {
    size_t n = strcspn(p, seps);
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    form_decode(p, kn, plus_is_space, &name);
    if (eq)
      form_decode(eq + 1, n - kn - 1, plus_is_space, &value);
    else
      form_decode("", 0, plus_is_space, &value);
    if (query_name_is(&name, kv->name)) {
      int ok = kv->values.len == 0;
      for (size_t i = 0; i < kv->values.len && !ok; i++)
        ok = strlen(kv->values.items[i]) == value.len && memcmp(kv->values.items[i], value.data, value.len) == 0;
      if (ok)
        found = 1;
      else
        bad = 1;
    }
    p += n;
    if (*p) p++;
  }
  csb_buf_free(&name);
  csb_buf_free(&value);
  return found && !bad;
}

/* Every occurrence of the name has an accepted value (and there is one):
 * an origin may read any of them. Parameters are separated by '&', and by
 * ';' too for some origins (Rack 2, Python's parse_qs before 3.9.2); '+'
 * is a space in form encoding but itself to an origin that decodes the
 * query as a URI component: the query must pass all four readings. */
static int query_has(const char *query, const csb_netpolicy_kv *kv) {
  if (!query) return 0;
  for (int plus = 0; plus < 2; plus++)
    if (!query_reading_has(query, kv, "&", plus) || !query_reading_has(query, kv, "&;", plus)) return 0;
  return 1;
}

int csb_netpolicy_hook_header_is(const char *name, size_t len, const char *want) {
  if (strlen(want) != len) return 0;
  for (size_t i = 0; i < len; i++) {
    char a = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
    char b = want[i] == '_' ? '-' : (char)tolower((unsigned char)want[i]);
    if (a != b) return 0;
  }
  return 1;
}

/* Every header of that name (as an origin may read it) has an accepted
 * value (and there is one). */
static int header_has(const csb_hook_header *h, size_t nh, const csb_netpolicy_kv *kv) {
  int found = 0;
  for (size_t i = 0; i < nh; i++) {
    if (!csb_netpolicy_hook_header_is(h[i].name, h[i].name_len, kv->name)) continue;
    int ok = kv->values.len == 0;
    for (size_t j = 0; j < kv->values.len && !ok; j++) {
      const char *v = kv->values.items[j];
      ok = strlen(v) == h[i].value_len && memcmp(v, h[i].value, h[i].value_len) == 0;
    }
    if (!ok) return 0;
    found = 1;
  }
  return found;
}

csb_hook_result csb_netpolicy_match_hooks(const csb_netpolicy *np, const char *host, const char *method,
                                          const char *target, const csb_hook_header *headers,
                                          size_t n_headers, const csb_netpolicy_hook **hook_out) {
  if (hook_out) *hook_out = NULL;
  if (!csb_netpolicy_host_has_hooks(np, host)) return CSB_HOOK_NONE_FOR_HOST;
  char key[256];
  np_host_key(host, key, sizeof key);
  char mbuf[64];
  size_t ml = strlen(method);
  if (ml >= sizeof mbuf) return CSB_HOOK_HOST_NO_MATCH;
  for (size_t i = 0; i <= ml; i++) mbuf[i] = (char)toupper((unsigned char)method[i]);
  const char *q = strchr(target, '?');
  csb_buf path;
  csb_buf_init(&path);
  csb_buf_append(&path, target, q ? (size_t)(q - target) : strlen(target));
  if (!path.data) csb_buf_puts(&path, "");
  const char *query = q ? q + 1 : NULL;
  csb_hook_result res = CSB_HOOK_HOST_NO_MATCH;
  /* no hook vouches for a path the origin may resolve elsewhere */
  size_t n_hooks = path_is_ambiguous(path.data) ? 0 : np->n_hooks;
  for (size_t i = 0; i < n_hooks && res != CSB_HOOK_MATCHED; i++) {
    const csb_netpolicy_hook *h = &np->hooks[i];
    if (strcmp(h->host, key) != 0) continue;
    if (!csb_strv_contains(&h->methods, mbuf)) continue;
    int pm = 0;
    for (size_t j = 0; j < h->path_prefixes.len && !pm; j++) pm = path_matches(h->path_prefixes.items[j], path.data);
    if (!pm) continue;
    int ok = 1;
    for (size_t j = 0; j < h->n_query && ok; j++) ok = query_has(query, &h->query[j]);
    for (size_t j = 0; j < h->n_headers && ok; j++) ok = header_has(headers, n_headers, &h->headers[j]);
    if (!ok) continue;
    res = CSB_HOOK_MATCHED;
    if (hook_out) *hook_out = h;
  }
  csb_buf_free(&path);
  return res;
}

int csb_netpolicy_hooks_unenforceable(const csb_netpolicy *np, char *buf, size_t n) {
  if (np->n_hooks == 0 || np->mode == CSB_NETMODE_LIMITED) return 0;
  for (size_t i = 0; i < np->n_domains; i++) {
    if (np->domains[i].deny || !np_pattern_is_global(np->domains[i].pattern)) continue;
    snprintf(buf, n,
             "network.proxy.mitm.hooks: the allow entry `%s` lets a tunnel to any other name or address carry "
             "requests for a hooked host (a Host header inside TLS, a cleartext protocol) that no hook sees; "
             "allow only the names needed, or set network.proxy.mode = \"limited\" to intercept every tunnel",
             np->domains[i].pattern);
    return 1;
  }
  return 0;
}
