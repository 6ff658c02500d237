/* netpolicy.c - network settings: defaults, JSON input, validation,
 * host evaluation, Unix socket rules and block-reason texts. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "netpolicy_internal.h"

/* ---- reasons ------------------------------------------------------------- */

const char *csb_block_reason_name(csb_block_reason r) {
  switch (r) {
    case CSB_BLOCK_NONE: return "allow";
    case CSB_BLOCK_DENIED: return "denied";
    case CSB_BLOCK_METHOD_NOT_ALLOWED:
    case CSB_BLOCK_BODY_NOT_ALLOWED: return "method_not_allowed";
    case CSB_BLOCK_MITM_HOOK_DENIED: return "mitm_hook_denied";
    case CSB_BLOCK_MITM_REQUIRED: return "mitm_required";
    case CSB_BLOCK_NOT_ALLOWED: return "not_allowed";
    case CSB_BLOCK_NOT_ALLOWED_LOCAL: return "not_allowed_local";
    case CSB_BLOCK_POLICY_DENIED: return "policy_denied";
    case CSB_BLOCK_PROXY_DISABLED: return "proxy_disabled";
    case CSB_BLOCK_UNIX_SOCKET_UNSUPPORTED: return "unix_socket_unsupported";
  }
  return "policy_denied";
}

const char *csb_block_header_value(csb_block_reason r) {
  switch (r) {
    case CSB_BLOCK_NOT_ALLOWED:
    case CSB_BLOCK_NOT_ALLOWED_LOCAL: return "blocked-by-allowlist";
    case CSB_BLOCK_DENIED: return "blocked-by-denylist";
    case CSB_BLOCK_METHOD_NOT_ALLOWED:
    case CSB_BLOCK_BODY_NOT_ALLOWED: return "blocked-by-method-policy";
    case CSB_BLOCK_MITM_HOOK_DENIED: return "blocked-by-mitm-hook";
    case CSB_BLOCK_MITM_REQUIRED: return "blocked-by-mitm-required";
    default: return "blocked-by-policy";
  }
}

const char *csb_block_message(csb_block_reason r) {
  switch (r) {
    case CSB_BLOCK_NOT_ALLOWED: return "Domain not in allowlist.";
    case CSB_BLOCK_NOT_ALLOWED_LOCAL: return "Sandbox policy blocks local/private network addresses.";
    case CSB_BLOCK_DENIED: return "Domain denied by the sandbox policy.";
    case CSB_BLOCK_METHOD_NOT_ALLOWED: return "Method not allowed in limited mode.";
    case CSB_BLOCK_BODY_NOT_ALLOWED: return "Request body not allowed in limited mode.";
    case CSB_BLOCK_MITM_HOOK_DENIED: return "HTTPS request denied by MITM hook policy.";
    case CSB_BLOCK_MITM_REQUIRED: return "MITM required for limited HTTPS.";
    case CSB_BLOCK_PROXY_DISABLED: return "network proxy is disabled";
    default: return "Request blocked by network policy.";
  }
}

int csb_netmode_allows_method(csb_netmode mode, const char *method) {
  if (mode == CSB_NETMODE_FULL) return 1;
  return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
}

int csb_netmode_allows_request_body(csb_netmode mode) { return mode == CSB_NETMODE_FULL; }

/* ---- construction --------------------------------------------------------- */

csb_netpolicy *csb_netpolicy_new(void) {
  csb_netpolicy *np = csb_xcalloc(1, sizeof *np);
  np->enabled = 1;
  np->mode = CSB_NETMODE_FULL;
  np->allow_upstream_proxy = 1;
  np->enable_socks5 = 1;
  np->enable_socks5_udp = 1;
  np->proxy_url = csb_xstrdup("http://127.0.0.1:3128");
  np->socks_url = csb_xstrdup("http://127.0.0.1:8081");
  return np;
}

static void kv_free(csb_netpolicy_kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(kv[i].name);
    csb_strv_free(&kv[i].values);
  }
  free(kv);
}

void csb_netpolicy_free(csb_netpolicy *np) {
  if (!np) return;
  free(np->proxy_url);
  free(np->socks_url);
  for (size_t i = 0; i < np->n_domains; i++) free(np->domains[i].pattern);
  free(np->domains);
  csb_strv_free(&np->unix_sockets);
  csb_strv_free(&np->unix_sockets_real);
  for (size_t i = 0; i < np->n_hooks; i++) {
    csb_netpolicy_hook *h = &np->hooks[i];
    free(h->name);
    free(h->host);
    csb_strv_free(&h->methods);
    csb_strv_free(&h->path_prefixes);
    kv_free(h->query, h->n_query);
    kv_free(h->headers, h->n_headers);
    free(h->actions);
  }
  free(np->hooks);
  for (size_t i = 0; i < np->n_actions; i++) {
    csb_netpolicy_action *a = &np->actions[i];
    free(a->name);
    csb_strv_free(&a->strip_request_headers);
    for (size_t j = 0; j < a->n_inject; j++) {
      free(a->inject[j].name);
      free(a->inject[j].secret_env_var);
      free(a->inject[j].secret_file);
      free(a->inject[j].prefix);
      if (a->inject[j].value) {
        memset(a->inject[j].value, 0, strlen(a->inject[j].value));
        free(a->inject[j].value);
      }
    }
    free(a->inject);
  }
  free(np->actions);
  np_index_free(np->compiled_);
  free(np);
}

int csb_netpolicy_pattern_names_port(const char *pattern) {
  const char *p = pattern;
  while (*p == ' ' || (*p >= '\t' && *p <= '\r')) p++;
  if (strncmp(p, "**.", 3) == 0)
    p += 3;
  else if (strncmp(p, "*.", 2) == 0)
    p += 2;
  if (*p == '[') {
    const char *close = strchr(p, ']');
    return close != NULL && strchr(close, ':') != NULL;
  }
  const char *colon = strchr(p, ':');
  return colon != NULL && strchr(colon + 1, ':') == NULL;
}

/* The normalised pattern of a domain rule, or NULL with err set. */
static char *domain_pattern(const char *pattern, int deny, csb_error *err) {
  /* Upstream drops the port and allows the host on every port. A deny
   * that covers every port is stricter than written; an allow would be
   * wider, so it is refused. */
  char *norm = np_normalize_pattern(pattern, err);
  if (!norm) return NULL;
  if (!deny && csb_netpolicy_pattern_names_port(pattern)) {
    free(norm);
    csb_error_set(err,
                  "invalid allowed domain `%s`: rules cannot name a port (the host would be "
                  "allowed on every port); write the host alone to allow all of its ports",
                  pattern);
    return NULL;
  }
  if (deny && np_pattern_is_global(norm)) {
    free(norm);
    csb_error_set(err,
                  "invalid denied domain `%s`: a global wildcard is not allowed (allowed: "
                  "exact hosts or scoped wildcards like *.example.com or **.example.com)",
                  pattern);
    return NULL;
  }
  return norm;
}

/* Appends a rule for a pattern not yet listed (room must be there); takes
 * `norm`. */
static void append_domain(csb_netpolicy *np, char *norm, int deny) {
  csb_netpolicy_domain *d = &np->domains[np->n_domains++];
  memset(d, 0, sizeof *d);
  d->pattern = norm;
  d->deny = deny;
  /* IP literals are parsed here, once, not on every policy check */
  d->is_ip = csb_netpolicy_parse_ip(norm, &d->addr);
  d->scoped = strchr(norm, '%') != NULL;
  if (d->is_ip) csb_netpolicy_ip_key(norm, d->ip_key, sizeof d->ip_key);
}

/* Rules change: the index of the last csb_netpolicy_finish no longer
 * holds them, and the rules are scanned until the next one. */
static void drop_index(csb_netpolicy *np) {
  np_index_free(np->compiled_);
  np->compiled_ = NULL;
}

int csb_netpolicy_add_domain(csb_netpolicy *np, const char *pattern, int deny, csb_error *err) {
  deny = deny != 0; /* stored as 1/0: the lists are told apart by it */
  char *norm = domain_pattern(pattern, deny, err);
  if (!norm) return 0;
  drop_index(np);
  for (size_t i = 0; i < np->n_domains; i++) {
    if (strcmp(np->domains[i].pattern, norm) == 0) {
      if (deny) np->domains[i].deny = 1; /* strongest permission wins */
      free(norm);
      return 1;
    }
  }
  np->domains = csb_xrealloc(np->domains, (np->n_domains + 1) * sizeof *np->domains);
  append_domain(np, norm, deny);
  return 1;
}

/* A pattern of the merge below: seq < n_domains an existing rule, else new
 * rule seq - n_domains. */
typedef struct {
  const char *pattern;
  size_t seq;
} domain_ref;

static int cmp_domain_ref(const void *a, const void *b) {
  const domain_ref *x = a, *y = b;
  int c = strcmp(x->pattern, y->pattern);
  if (c != 0) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Adds the normalised rules norm[0..n) (taking every string) with the
 * result of calling csb_netpolicy_add_domain on each in turn: a pattern
 * already listed, or listed earlier in norm, keeps its place and gains a
 * deny; the others are appended in order. One sort of all the patterns,
 * where a search of the list per rule took time quadratic in the rules. */
static void add_domains(csb_netpolicy *np, char **norm, const int *deny, size_t n) {
  if (n == 0) return;
  drop_index(np);
  size_t old = np->n_domains, total = old + n;
  domain_ref *refs = csb_xcalloc(total, sizeof *refs);
  for (size_t i = 0; i < old; i++) refs[i] = (domain_ref){np->domains[i].pattern, i};
  for (size_t k = 0; k < n; k++) refs[old + k] = (domain_ref){norm[k], old + k};
  qsort(refs, total, sizeof *refs, cmp_domain_ref);
  int *keep = csb_xcalloc(n, sizeof *keep); /* new rule k: 0 dropped, else 1 + its deny */
  size_t kept = 0;
  for (size_t g = 0; g < total;) {
    size_t e = g + 1;
    int any_deny = refs[g].seq < old ? np->domains[refs[g].seq].deny : deny[refs[g].seq - old];
    for (; e < total && strcmp(refs[e].pattern, refs[g].pattern) == 0; e++)
      if (refs[e].seq >= old && deny[refs[e].seq - old]) any_deny = 1;
    if (refs[g].seq < old) {
      if (any_deny) np->domains[refs[g].seq].deny = 1; /* strongest permission wins */
    } else {
      keep[refs[g].seq - old] = 1 + (any_deny != 0);
      kept++;
    }
    g = e;
  }
  free(refs);
  np->domains = csb_xrealloc(np->domains, (old + kept) * sizeof *np->domains);
  for (size_t k = 0; k < n; k++) {
    if (keep[k])
      append_domain(np, norm[k], keep[k] - 1);
    else
      free(norm[k]);
  }
  free(keep);
}

/* An existing allowed path (seq < its count, allow = 1) or operation
 * seq - count of the batch below. */
typedef struct {
  const char *path;
  size_t seq;
  int allow;
} socket_op;

static int cmp_socket_op(const void *a, const void *b) {
  const socket_op *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  if (c != 0) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int csb_netpolicy_set_unix_sockets(csb_netpolicy *np, const char *const *paths, const int *allow, size_t n,
                                   csb_error *err) {
  size_t valid = n;
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    if (!paths[i] || paths[i][0] != '/') {
      ok = csb_error_set(err, "unix socket path `%s` must be absolute", paths[i] ? paths[i] : "");
      valid = i; /* the paths before it are set, as one by one */
      break;
    }
  }
  if (valid == 0) return ok;
  /* Each path ends as the last operation on it left it (the list as it
   * was when there is none); one sort of the list and the operations,
   * where a search and a sort per path took time quadratic in the paths. */
  size_t old = np->unix_sockets.len, total = old + valid;
  socket_op *ops = csb_xcalloc(total, sizeof *ops);
  for (size_t i = 0; i < old; i++) ops[i] = (socket_op){np->unix_sockets.items[i], i, 1};
  for (size_t k = 0; k < valid; k++) ops[old + k] = (socket_op){paths[k], old + k, allow[k] != 0};
  qsort(ops, total, sizeof *ops, cmp_socket_op);
  csb_strv out;
  csb_strv_init(&out);
  for (size_t g = 0; g < total;) {
    size_t e = g + 1;
    while (e < total && strcmp(ops[e].path, ops[g].path) == 0) e++;
    if (ops[e - 1].allow) csb_strv_push(&out, ops[g].path);
    g = e;
  }
  free(ops);
  csb_strv_free(&np->unix_sockets);
  np->unix_sockets = out;
  return ok;
}

int csb_netpolicy_set_unix_socket(csb_netpolicy *np, const char *path, int allow, csb_error *err) {
  return csb_netpolicy_set_unix_sockets(np, &path, &allow, 1, err);
}

/* ---- JSON input -------------------------------------------------------------- */

static const char *type_name(const cJSON *v) {
  if (!v) return "nothing";
  if (cJSON_IsBool(v)) return "boolean";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsNumber(v)) return "number";
  if (cJSON_IsString(v)) return "string";
  if (cJSON_IsArray(v)) return "array";
  if (cJSON_IsObject(v)) return "object";
  return "invalid";
}

static int want_bool(const cJSON *v, const char *where, const char *key, int *out, csb_error *err) {
  if (!cJSON_IsBool(v)) return csb_error_set(err, "%s.%s: expected boolean, got %s", where, key, type_name(v));
  *out = cJSON_IsTrue(v) ? 1 : 0;
  return 1;
}

static int want_string(const cJSON *v, const char *where, const char *key, const char **out,
                       csb_error *err) {
  if (!cJSON_IsString(v) || !v->valuestring)
    return csb_error_set(err, "%s.%s: expected string, got %s", where, key, type_name(v));
  *out = v->valuestring;
  return 1;
}

/* An HTTP field name (RFC 9110 token). */
static int is_token(const char *s) {
  if (!*s) return 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (!isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p)) return 0;
  return 1;
}

/* Text of an HTTP field value: no control character but HTAB. */
static int is_field_text(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return 0;
  return 1;
}

static int want_strings(const cJSON *v, const char *where, csb_strv *out, int upper, int lower,
                        csb_error *err) {
  if (!cJSON_IsArray(v)) return csb_error_set(err, "%s: expected array, got %s", where, type_name(v));
  int i = 0;
  for (const cJSON *e = v->child; e; e = e->next, i++) {
    if (!cJSON_IsString(e) || !e->valuestring)
      return csb_error_set(err, "%s[%d]: expected string, got %s", where, i, type_name(e));
    char *s = csb_xstrdup(e->valuestring);
    for (char *p = s; *p; p++) {
      if (upper) *p = (char)toupper((unsigned char)*p);
      if (lower) *p = (char)tolower((unsigned char)*p);
    }
    csb_strv_push_owned(out, s);
  }
  return 1;
}

static int parse_domains(csb_netpolicy *np, const cJSON *obj, const char *where, csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  size_t n = 0;
  for (const cJSON *e = obj->child; e; e = e->next) n++;
  char **norm = csb_xcalloc(n ? n : 1, sizeof *norm);
  int *denies = csb_xcalloc(n ? n : 1, sizeof *denies);
  size_t got = 0;
  int ok = 1;
  for (const cJSON *e = obj->child; e && ok; e = e->next) {
    const char *v = NULL;
    if (!cJSON_IsString(e) || !e->valuestring) {
      ok = csb_error_set(err, "%s.\"%s\": expected \"allow\" or \"deny\", got %s", where, e->string,
                         type_name(e));
      break;
    }
    v = e->valuestring;
    int deny;
    if (strcmp(v, "allow") == 0) {
      deny = 0;
    } else if (strcmp(v, "deny") == 0) {
      deny = 1;
    } else {
      ok = csb_error_set(err, "%s.\"%s\": expected \"allow\" or \"deny\", got \"%s\"", where, e->string, v);
      break;
    }
    char *p = domain_pattern(e->string, deny, err);
    if (!p) {
      csb_error_prefix(err, "%s", where);
      ok = 0;
      break;
    }
    norm[got] = p;
    denies[got++] = deny;
  }
  /* the rules before an invalid one are added, as one by one */
  add_domains(np, norm, denies, got);
  free(norm);
  free(denies);
  return ok;
}

static int parse_unix_sockets(csb_netpolicy *np, const cJSON *obj, const char *where, csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  size_t n = 0;
  for (const cJSON *e = obj->child; e; e = e->next) n++;
  const char **paths = csb_xcalloc(n ? n : 1, sizeof *paths);
  int *allows = csb_xcalloc(n ? n : 1, sizeof *allows);
  size_t got = 0;
  const cJSON *bad = NULL; /* the first entry whose value is neither */
  for (const cJSON *e = obj->child; e; e = e->next) {
    int allow;
    if (cJSON_IsString(e) && e->valuestring && strcmp(e->valuestring, "allow") == 0) {
      allow = 1;
    } else if (cJSON_IsString(e) && e->valuestring &&
               (strcmp(e->valuestring, "deny") == 0 || strcmp(e->valuestring, "none") == 0)) {
      allow = 0;
    } else {
      bad = e;
      break;
    }
    paths[got] = e->string;
    allows[got++] = allow;
  }
  /* the entries before an invalid one are set, as one by one */
  int ok = csb_netpolicy_set_unix_sockets(np, paths, allows, got, err);
  free(paths);
  free(allows);
  if (!ok) {
    csb_error_prefix(err, "%s", where);
    return 0;
  }
  if (bad) return csb_error_set(err, "%s.\"%s\": expected \"allow\" or \"deny\"", where, bad->string);
  return 1;
}

static int parse_kv_table(const cJSON *obj, const char *where, int lower_names, csb_netpolicy_kv **out,
                          size_t *n_out, csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  for (const cJSON *e = obj->child; e; e = e->next) {
    *out = csb_xrealloc(*out, (*n_out + 1) * sizeof **out);
    csb_netpolicy_kv *kv = &(*out)[(*n_out)++];
    memset(kv, 0, sizeof *kv);
    kv->name = csb_xstrdup(e->string);
    if (lower_names)
      for (char *p = kv->name; *p; p++) *p = (char)tolower((unsigned char)*p);
    char *w = csb_xasprintf("%s.%s", where, e->string);
    int ok = want_strings(e, w, &kv->values, 0, 0, err);
    free(w);
    if (!ok) return 0;
  }
  return 1;
}

static int parse_actions(csb_netpolicy *np, const cJSON *obj, const char *where, csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  for (const cJSON *e = obj->child; e; e = e->next) {
    np->actions = csb_xrealloc(np->actions, (np->n_actions + 1) * sizeof *np->actions);
    csb_netpolicy_action *a = &np->actions[np->n_actions++];
    memset(a, 0, sizeof *a);
    a->name = csb_xstrdup(e->string);
    if (!cJSON_IsObject(e))
      return csb_error_set(err, "%s.%s: expected object, got %s", where, e->string, type_name(e));
    for (const cJSON *m = e->child; m; m = m->next) {
      char *w = csb_xasprintf("%s.%s.%s", where, e->string, m->string);
      int ok = 1;
      if (strcmp(m->string, "strip_request_headers") == 0) {
        ok = want_strings(m, w, &a->strip_request_headers, 0, 1, err);
      } else if (strcmp(m->string, "inject_request_headers") == 0) {
        if (!cJSON_IsArray(m)) {
          ok = csb_error_set(err, "%s: expected array, got %s", w, type_name(m));
        } else {
          int i = 0;
          for (const cJSON *h = m->child; h && ok; h = h->next, i++) {
            a->inject = csb_xrealloc(a->inject, (a->n_inject + 1) * sizeof *a->inject);
            csb_netpolicy_inject *inj = &a->inject[a->n_inject++];
            memset(inj, 0, sizeof *inj);
            if (!cJSON_IsObject(h)) {
              ok = csb_error_set(err, "%s[%d]: expected object, got %s", w, i, type_name(h));
              break;
            }
            for (const cJSON *f = h->child; f && ok; f = f->next) {
              const char *s = NULL;
              char *wf = csb_xasprintf("%s[%d]", w, i);
              if (strcmp(f->string, "name") == 0 && (ok = want_string(f, wf, f->string, &s, err)))
                inj->name = csb_xstrdup(s);
              else if (strcmp(f->string, "secret_env_var") == 0 && (ok = want_string(f, wf, f->string, &s, err)))
                inj->secret_env_var = csb_xstrdup(s);
              else if (strcmp(f->string, "secret_file") == 0 && (ok = want_string(f, wf, f->string, &s, err)))
                inj->secret_file = csb_xstrdup(s);
              else if (strcmp(f->string, "prefix") == 0 && (ok = want_string(f, wf, f->string, &s, err)))
                inj->prefix = csb_xstrdup(s);
              else if (ok && !s)
                ok = csb_error_set(err, "%s: unknown field `%s`", wf, f->string);
              free(wf);
            }
            if (ok && (!inj->name || !*inj->name))
              ok = csb_error_set(err, "%s[%d].name: missing required field", w, i);
            /* the proxy writes "NAME: PREFIXSECRET" as a header line */
            if (ok && !is_token(inj->name))
              ok = csb_error_set(err, "%s[%d].name: not a header name (letters, digits and !#$%%&'*+-.^_`|~)",
                                 w, i);
            if (ok && inj->prefix && !is_field_text(inj->prefix))
              ok = csb_error_set(err, "%s[%d].prefix: a control character cannot be part of a header value", w,
                                 i);
            if (ok && (!inj->secret_env_var == !inj->secret_file))
              ok = csb_error_set(err, "%s[%d]: expected exactly one of secret_env_var or secret_file", w, i);
          }
        }
      } else {
        ok = csb_error_set(err, "%s: unknown field `%s`", w, m->string);
      }
      free(w);
      if (!ok) return 0;
    }
    if (a->strip_request_headers.len == 0 && a->n_inject == 0)
      return csb_error_set(err, "network.mitm.actions.%s must define at least one operation", a->name);
  }
  return 1;
}

/* A hook names one host exactly as a client sends it: an ASCII DNS name or
 * an IP literal (kept in the canonical form np_host_key gives, so that
 * every spelling of the address finds the hook). Anything else could never
 * match a request, and the host would silently go without its hooks. */
static int check_hook_host(csb_netpolicy_hook *h, csb_error *err) {
  for (const char *p = h->host; *p; p++)
    if ((unsigned char)*p >= 0x80)
      return csb_error_set(err,
                           "network.mitm.hooks.%s.host: `%s` is not ASCII; clients send the IDNA form, so write "
                           "that (`xn--...` labels) instead",
                           h->name, h->host);
  if (strlen(h->host) > 255 || !csb_netpolicy_host_is_valid(h->host))
    return csb_error_set(err,
                         "network.mitm.hooks.%s.host: `%s` is not a host name or IP literal (a hook names one "
                         "host exactly; patterns are not supported, add one hook per host)",
                         h->name, h->host);
  char key[256];
  np_host_key(h->host, key, sizeof key);
  free(h->host);
  h->host = csb_xstrdup(key);
  return 1;
}

static int parse_hooks(csb_netpolicy *np, const cJSON *obj, const char *where, csb_strv *action_refs,
                       csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  for (const cJSON *e = obj->child; e; e = e->next) {
    np->hooks = csb_xrealloc(np->hooks, (np->n_hooks + 1) * sizeof *np->hooks);
    csb_netpolicy_hook *h = &np->hooks[np->n_hooks++];
    memset(h, 0, sizeof *h);
    h->name = csb_xstrdup(e->string);
    if (!cJSON_IsObject(e))
      return csb_error_set(err, "%s.%s: expected object, got %s", where, e->string, type_name(e));
    csb_strv names;
    csb_strv_init(&names);
    int have_action = 0, ok = 1;
    for (const cJSON *m = e->child; m && ok; m = m->next) {
      char *w = csb_xasprintf("%s.%s.%s", where, e->string, m->string);
      const char *s = NULL;
      if (strcmp(m->string, "host") == 0) {
        if ((ok = want_string(m, where, m->string, &s, err))) {
          h->host = csb_netpolicy_normalize_host(s);
        }
      } else if (strcmp(m->string, "methods") == 0) {
        ok = want_strings(m, w, &h->methods, 1, 0, err);
      } else if (strcmp(m->string, "path_prefixes") == 0) {
        ok = want_strings(m, w, &h->path_prefixes, 0, 0, err);
      } else if (strcmp(m->string, "query") == 0) {
        ok = parse_kv_table(m, w, 0, &h->query, &h->n_query, err);
      } else if (strcmp(m->string, "headers") == 0) {
        ok = parse_kv_table(m, w, 1, &h->headers, &h->n_headers, err);
      } else if (strcmp(m->string, "body") == 0) {
        ok = csb_error_set(err, "%s is reserved for a future release and is not yet supported", w);
      } else if (strcmp(m->string, "action") == 0) {
        have_action = 1;
        ok = want_strings(m, w, &names, 0, 0, err);
      } else {
        ok = csb_error_set(err, "%s.%s: unknown field `%s`", where, e->string, m->string);
      }
      free(w);
    }
    if (ok && (!h->host || !*h->host))
      ok = csb_error_set(err, "network.mitm.hooks.%s.host must not be empty", h->name);
    if (ok) ok = check_hook_host(h, err);
    if (ok && h->methods.len == 0)
      ok = csb_error_set(err, "network.mitm.hooks.%s.methods must not be empty", h->name);
    if (ok && h->path_prefixes.len == 0)
      ok = csb_error_set(err, "network.mitm.hooks.%s.path_prefixes must not be empty", h->name);
    if (ok && (!have_action || names.len == 0))
      ok = csb_error_set(err, "network.mitm.hooks.%s.action must not be empty", h->name);
    for (size_t i = 0; ok && i < names.len; i++) csb_strv_pushf(action_refs, "%zu\t%s", np->n_hooks - 1, names.items[i]);
    csb_strv_free(&names);
    if (!ok) return 0;
  }
  return 1;
}

static int parse_mitm(csb_netpolicy *np, const cJSON *obj, const char *where, csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  const cJSON *hooks = NULL, *actions = NULL;
  for (const cJSON *m = obj->child; m; m = m->next) {
    if (strcmp(m->string, "hooks") == 0)
      hooks = m;
    else if (strcmp(m->string, "actions") == 0)
      actions = m;
    else
      return csb_error_set(err, "%s: unknown field `%s`", where, m->string);
  }
  char *w;
  if (actions) {
    w = csb_xasprintf("%s.actions", where);
    int ok = parse_actions(np, actions, w, err);
    free(w);
    if (!ok) return 0;
  }
  csb_strv refs;
  csb_strv_init(&refs);
  int ok = 1;
  if (hooks) {
    w = csb_xasprintf("%s.hooks", where);
    ok = parse_hooks(np, hooks, w, &refs, err);
    free(w);
  }
  for (size_t i = 0; ok && i < refs.len; i++) {
    char *tab = strchr(refs.items[i], '\t');
    size_t hi = strtoul(refs.items[i], NULL, 10);
    const char *name = tab + 1;
    size_t ai;
    for (ai = 0; ai < np->n_actions; ai++)
      if (strcmp(np->actions[ai].name, name) == 0) break;
    if (ai == np->n_actions) {
      ok = csb_error_set(err, "network.mitm.hooks.%s.action references undefined action `%s`",
                         np->hooks[hi].name, name);
      break;
    }
    csb_netpolicy_hook *h = &np->hooks[hi];
    h->actions = csb_xrealloc(h->actions, (h->n_actions + 1) * sizeof *h->actions);
    h->actions[h->n_actions++] = ai;
  }
  csb_strv_free(&refs);
  return ok;
}

static int apply_member(csb_netpolicy *np, const cJSON *m, const char *where, int config, csb_error *err) {
  const char *k = m->string;
  const char *s = NULL;
  char *w;
  int ok;
  if (strcmp(k, "proxy_url") == 0 || strcmp(k, "socks_url") == 0) {
    if (!want_string(m, where, k, &s, err)) return 0;
    char **dst = k[0] == 'p' ? &np->proxy_url : &np->socks_url;
    free(*dst);
    *dst = csb_xstrdup(s);
    return 1;
  }
  if (strcmp(k, "enable_socks5") == 0) return want_bool(m, where, k, &np->enable_socks5, err);
  if (strcmp(k, "enable_socks5_udp") == 0) return want_bool(m, where, k, &np->enable_socks5_udp, err);
  if (strcmp(k, "allow_upstream_proxy") == 0) return want_bool(m, where, k, &np->allow_upstream_proxy, err);
  if (strcmp(k, "dangerously_allow_non_loopback_proxy") == 0)
    return want_bool(m, where, k, &np->dangerously_allow_non_loopback_proxy, err);
  if (strcmp(k, "mode") == 0) {
    if (!want_string(m, where, k, &s, err)) return 0;
    if (strcmp(s, "full") == 0)
      np->mode = CSB_NETMODE_FULL;
    else if (strcmp(s, "limited") == 0)
      np->mode = CSB_NETMODE_LIMITED;
    else
      return csb_error_set(err, "%s.mode: expected one of full, limited, got \"%s\"", where, s);
    return 1;
  }
  if (strcmp(k, "domains") == 0) {
    w = csb_xasprintf("%s.domains", where);
    ok = parse_domains(np, m, w, err);
    free(w);
    return ok;
  }
  if (strcmp(k, "mitm") == 0) {
    w = csb_xasprintf("%s.mitm", where);
    ok = parse_mitm(np, m, w, err);
    free(w);
    return ok;
  }
  if (config) {
    if (strcmp(k, "enabled") == 0) return want_bool(m, where, k, &np->enabled, err);
    if (strcmp(k, "allow_local_binding") == 0) return want_bool(m, where, k, &np->allow_local_binding, err);
    if (strcmp(k, "dangerously_allow_all_unix_sockets") == 0)
      return want_bool(m, where, k, &np->dangerously_allow_all_unix_sockets, err);
    if (strcmp(k, "unix_sockets") == 0) {
      w = csb_xasprintf("%s.unix_sockets", where);
      ok = parse_unix_sockets(np, m, w, err);
      free(w);
      return ok;
    }
  }
  return csb_error_set(err, "%s: unknown field `%s`", where, k);
}

int csb_netpolicy_apply_proxy_json(csb_netpolicy *np, const cJSON *obj, const char *where, csb_error *err) {
  if (!where) where = "network.proxy";
  if (!obj) return 1;
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "%s: expected object, got %s", where, type_name(obj));
  for (const cJSON *m = obj->child; m; m = m->next)
    if (!apply_member(np, m, where, 0, err)) return 0;
  return 1;
}

int csb_netpolicy_apply_config_json(csb_netpolicy *np, const cJSON *obj, const char *const *skip,
                                    csb_error *err) {
  if (!cJSON_IsObject(obj)) return csb_error_set(err, "config: expected table, got %s", type_name(obj));
  for (const cJSON *m = obj->child; m; m = m->next) {
    int skipped = 0;
    for (size_t i = 0; skip && skip[i]; i++)
      if (strcmp(skip[i], m->string) == 0) skipped = 1;
    if (skipped) continue;
    if (!apply_member(np, m, "config", 1, err)) return 0;
  }
  return 1;
}

static int read_secret_file(const char *path, char **out, csb_error *err) {
  char *data = NULL;
  size_t len = 0;
  if (!csb_read_file(path, 65536, &data, &len, err)) return 0;
  if (memchr(data, '\0', len)) {
    free(data);
    return csb_error_set(err, "%s: secret file contains a NUL byte", path);
  }
  size_t b = 0, e = len;
  while (b < e && isspace((unsigned char)data[b])) b++;
  while (e > b && isspace((unsigned char)data[e - 1])) e--;
  *out = csb_xstrndup(data + b, e - b);
  memset(data, 0, len);
  free(data);
  return 1;
}

#if defined(_WIN32)
/* Windows builds: no realpath(3); socket paths compare only as written. */
#define np_realpath(p) NULL
#else
#define np_realpath(p) realpath((p), NULL)
#endif

/* Where each allowed socket path leads now, once: requests are checked
 * against these, never against a resolution made at request time, when a
 * client may have replaced the allowed path by a link to another socket. */
static void resolve_unix_sockets(csb_netpolicy *np) {
  csb_strv_free(&np->unix_sockets_real);
  csb_strv_init(&np->unix_sockets_real);
  for (size_t i = 0; i < np->unix_sockets.len; i++) {
    char *r = np_realpath(np->unix_sockets.items[i]);
    if (r) csb_strv_push_owned(&np->unix_sockets_real, r);
  }
  csb_strv_sort_unique(&np->unix_sockets_real);
}

int csb_netpolicy_finish(csb_netpolicy *np, csb_error *err) {
  for (size_t i = 0; i < np->n_actions; i++) {
    csb_netpolicy_action *a = &np->actions[i];
    for (size_t j = 0; j < a->n_inject; j++) {
      csb_netpolicy_inject *inj = &a->inject[j];
      if (inj->value) continue;
      if (inj->secret_env_var) {
        const char *v = getenv(inj->secret_env_var);
        if (!v) return csb_error_set(err, "missing required environment variable %s", inj->secret_env_var);
        inj->value = csb_xstrdup(v);
      } else if (!read_secret_file(inj->secret_file, &inj->value, err)) {
        csb_error_prefix(err, "network.mitm.actions.%s", a->name);
        return 0;
      }
      for (const char *p = inj->value; *p; p++)
        if (*p == '\r' || *p == '\n')
          return csb_error_set(err, "network.mitm.actions.%s: secret for header `%s` contains a line break",
                               a->name, inj->name);
    }
  }
  np->mitm = np->mode == CSB_NETMODE_LIMITED || np->n_hooks > 0;
  resolve_unix_sockets(np);
  np_index_free(np->compiled_);
  np->compiled_ = np_index_new(np->domains, np->n_domains);
  return 1;
}

/* ---- evaluation ---------------------------------------------------------------- */

/* The reference: every rule of the list in turn. A host matches an entry
 * as written, without its IPv6 scope (`unscoped`, NULL when it has none),
 * and (IP literals) by address: the same address spelt another way must
 * not slip past a deny entry. `key` is csb_netpolicy_ip_key of the host,
 * NULL when the host is not an IP literal. */
static int scan_list(const csb_netpolicy *np, const char *host, const char *unscoped, const char *key,
                     int deny) {
  for (size_t i = 0; i < np->n_domains; i++) {
    const csb_netpolicy_domain *d = &np->domains[i];
    if (d->deny != deny) continue;
    if (csb_netpolicy_pattern_matches(d->pattern, host)) return 1;
    if (unscoped && csb_netpolicy_pattern_matches(d->pattern, unscoped)) return 1;
    if (!key) continue;
    if (csb_netpolicy_pattern_matches(d->pattern, key)) return 1;
    if (d->is_ip && !d->scoped && strcmp(d->ip_key, key) == 0) return 1;
  }
  return 0;
}

/* The index of a finished policy answers as scan_list does; `linear`
 * asks the scan itself (the reference the index is tested against). */
static int list_matches_key(const csb_netpolicy *np, const char *host, const char *key, int deny, int linear) {
  char unscoped[256];
  np_strip_scope(host, unscoped, sizeof unscoped);
  const char *u = strcmp(unscoped, host) != 0 ? unscoped : NULL;
  const np_index *ix = linear ? NULL : np->compiled_;
  if (ix) return np_index_list_matches(ix, host, u, key, deny);
  return scan_list(np, host, u, key, deny);
}

/* A deny list matches `host` (`key` as for list_matches_key), or the IPv4
 * address an IPv6 literal leads to without being it: a deny entry for an
 * IPv4 address also holds for its compatible and 6to4 addresses. */
static int deny_matches_key(const csb_netpolicy *np, const char *host, const char *key,
                            const struct sockaddr_storage *ha, int linear) {
  if (list_matches_key(np, host, key, 1, linear)) return 1;
  char v4[16];
  return ha && np_ipv6_tunnelled_v4(ha, v4, sizeof v4) && list_matches_key(np, v4, v4, 1, linear);
}

static int list_matches(const csb_netpolicy *np, const char *host, int deny, int linear) {
  char key[64];
  const char *k = csb_netpolicy_ip_key(host, key, sizeof key) ? key : NULL;
  if (!deny) return list_matches_key(np, host, k, 0, linear);
  struct sockaddr_storage ss;
  return deny_matches_key(np, host, k, k && csb_netpolicy_parse_ip(host, &ss) ? &ss : NULL, linear);
}

int csb_netpolicy_allow_matches(const csb_netpolicy *np, const char *host) { return list_matches(np, host, 0, 0); }
int csb_netpolicy_deny_matches(const csb_netpolicy *np, const char *host) { return list_matches(np, host, 1, 0); }
int csb_netpolicy_allow_matches_linear(const csb_netpolicy *np, const char *host) {
  return list_matches(np, host, 0, 1);
}
int csb_netpolicy_deny_matches_linear(const csb_netpolicy *np, const char *host) {
  return list_matches(np, host, 1, 1);
}

/* `ha` is the host's address when it is an IP literal, else NULL. */
static int exact_allowlisted(const csb_netpolicy *np, const char *host, const struct sockaddr_storage *ha,
                             int linear) {
  char unscoped[256];
  np_strip_scope(host, unscoped, sizeof unscoped);
  const np_index *ix = linear ? NULL : np->compiled_;
  if (ix) return np_index_exact_allowlisted(ix, host, unscoped, ha);
  for (size_t i = 0; i < np->n_domains; i++) {
    const csb_netpolicy_domain *d = &np->domains[i];
    if (d->deny) continue;
    const char *pat = d->pattern;
    if (!np_pattern_is_exact(pat)) continue;
    if (strcmp(pat, host) == 0) return 1;
    char pu[256];
    np_strip_scope(pat, pu, sizeof pu);
    if (strcmp(pu, unscoped) == 0 && strcmp(pat, pu) == 0) return 1; /* unscoped pattern, scoped host */
    /* compare IP literals by value ("::1" vs "0:0::1") */
    if (ha && d->is_ip && d->addr.ss_family == ha->ss_family) {
      if (ha->ss_family == AF_INET &&
          ((const struct sockaddr_in *)&d->addr)->sin_addr.s_addr ==
              ((const struct sockaddr_in *)ha)->sin_addr.s_addr)
        return 1;
      if (ha->ss_family == AF_INET6 &&
          memcmp(&((const struct sockaddr_in6 *)&d->addr)->sin6_addr, &((const struct sockaddr_in6 *)ha)->sin6_addr,
                 16) == 0 &&
          (!d->scoped || strcmp(pat, host) == 0))
        return 1;
    }
  }
  return 0;
}

static void evaluate_host(const csb_netpolicy *np, const char *host_in, csb_host_eval *out, int linear) {
  memset(out, 0, sizeof *out);
  char *host = csb_netpolicy_normalize_host(host_in ? host_in : "");
  out->decision = CSB_HOST_BLOCK;
  out->reason = CSB_BLOCK_NOT_ALLOWED;
  if (strlen(host) >= sizeof out->host || !csb_netpolicy_host_is_valid(host)) {
    snprintf(out->host, sizeof out->host, "%s", host);
    free(host);
    return;
  }
  snprintf(out->host, sizeof out->host, "%s", host);
  free(host);
  out->is_ip = csb_netpolicy_parse_ip(out->host, &out->addr);
  char keybuf[64];
  const char *key = out->is_ip && csb_netpolicy_ip_key(out->host, keybuf, sizeof keybuf) ? keybuf : NULL;
  if (deny_matches_key(np, out->host, key, out->is_ip ? &out->addr : NULL, linear)) {
    out->reason = CSB_BLOCK_DENIED;
    return;
  }
  if (out->is_ip) out->exact_literal = exact_allowlisted(np, out->host, &out->addr, linear);
  if (!np->allow_local_binding) {
    int local_literal = strcmp(out->host, "localhost") == 0 ||
                        (out->is_ip && csb_netpolicy_addr_is_non_public((struct sockaddr *)&out->addr));
    if (local_literal) {
      if (!(out->is_ip ? out->exact_literal : exact_allowlisted(np, out->host, NULL, linear))) {
        out->reason = CSB_BLOCK_NOT_ALLOWED_LOCAL;
        return;
      }
      out->local_literal_allowed = 1;
      if (!out->is_ip) out->need_dns_guard = 1; /* "localhost": loopback answers only */
    } else if (!out->is_ip) {
      out->need_dns_guard = 1;
    }
  }
  if (!list_matches_key(np, out->host, key, 0, linear)) {
    out->decision = CSB_HOST_ASK;
    out->reason = CSB_BLOCK_NOT_ALLOWED;
    return;
  }
  out->decision = CSB_HOST_ALLOW;
  out->reason = CSB_BLOCK_NONE;
}

void csb_netpolicy_evaluate_host(const csb_netpolicy *np, const char *host, csb_host_eval *out) {
  evaluate_host(np, host, out, 0);
}

void csb_netpolicy_evaluate_host_linear(const csb_netpolicy *np, const char *host, csb_host_eval *out) {
  evaluate_host(np, host, out, 1);
}

static int same_ip(const struct sockaddr *a, const struct sockaddr *b) {
  if (a->sa_family != b->sa_family) return 0;
  if (a->sa_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->sa_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                  16) == 0;
  return 0;
}

static int is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  return 0;
}

int csb_netpolicy_connect_allowed(const csb_netpolicy *np, const csb_host_eval *ev, const struct sockaddr *sa) {
  if (np->allow_local_binding) return 1;
  if (!csb_netpolicy_addr_is_non_public(sa)) return 1;
  if (ev && ev->local_literal_allowed) {
    if (ev->is_ip) return same_ip((const struct sockaddr *)&ev->addr, sa);
    return is_loopback(sa); /* an exactly allow-listed "localhost" */
  }
  return 0;
}

int csb_netpolicy_connect_allowed_on(const csb_netpolicy *np, const csb_host_eval *ev, const struct sockaddr *sa,
                                     int this_host) {
  if (np->allow_local_binding) return 1;
  /* a non-public address of this host (loopback, a private one) is judged
   * by its range as any other */
  if (this_host && !csb_netpolicy_addr_is_non_public(sa))
    return ev && ev->is_ip && ev->exact_literal && same_ip((const struct sockaddr *)&ev->addr, sa);
  return csb_netpolicy_connect_allowed(np, ev, sa);
}

int csb_netpolicy_unix_socket_allowed(const csb_netpolicy *np, const char *path) {
  if (!path || path[0] != '/') return 0;
  if (np->dangerously_allow_all_unix_sockets) return 1;
  return csb_strv_contains(&np->unix_sockets, path) || csb_strv_contains(&np->unix_sockets_real, path);
}
