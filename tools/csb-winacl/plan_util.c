/* plan_util.c - small pieces of the planner shared with the applier:
 * names, masks, SIDs, firewall port sets, proxy URLs. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"
#include "plan.h"

void wa_opts_init(wa_opts *o) {
  memset(o, 0, sizeof(*o));
  csb_strv_init(&o->temp_dirs);
  csb_strv_init(&o->sids);
  o->private_desktop = 1;
  o->max_deny_read_paths = WA_DEFAULT_MAX_DENY_READ_PATHS;
}

void wa_opts_free(wa_opts *o) {
  free(o->csb_home);
  free(o->user_profile);
  csb_strv_free(&o->temp_dirs);
  csb_strv_free(&o->sids);
}

const char *wa_backend_name(wa_backend b) { return b == WA_ELEVATED ? "elevated" : "unelevated"; }

const char *wa_mask_name(uint32_t mask) {
  switch (mask) {
    case WA_MASK_READ_EXECUTE:
      return "READ_EXECUTE";
    case WA_MASK_RWX:
      return "READ_WRITE_EXECUTE";
    case WA_MASK_WRITE_ALLOW:
      return "READ_WRITE_EXECUTE_DELETE";
    case WA_MASK_DENY_WRITE:
      return "DENY_WRITE";
    case WA_MASK_DENY_READ:
      return "DENY_READ";
    case WA_GENERIC_ALL:
      return "GENERIC_ALL";
    case WA_DELETE:
      return "DELETE";
    default:
      return NULL;
  }
}

static int parse_uint(const char **s, unsigned long long max, unsigned long long *out) {
  const char *p = *s;
  if (!isdigit((unsigned char)*p)) return 0;
  unsigned long long v = 0;
  while (isdigit((unsigned char)*p)) {
    v = v * 10 + (unsigned long long)(*p - '0');
    if (v > max) return 0;
    p++;
  }
  *s = p;
  *out = v;
  return 1;
}

int wa_is_sid(const char *s) {
  if (s == NULL || (s[0] != 'S' && s[0] != 's') || s[1] != '-') return 0;
  const char *p = s + 2;
  unsigned long long v;
  if (!parse_uint(&p, 255, &v) || v != 1 || *p != '-') return 0; /* revision 1 */
  p++;
  if (!parse_uint(&p, 0xFFFFFFFFFFFFull, &v)) return 0; /* identifier authority */
  int subs = 0;
  while (*p == '-') {
    p++;
    if (!parse_uint(&p, 0xFFFFFFFFull, &v)) return 0;
    subs++;
  }
  return *p == '\0' && subs >= 1 && subs <= 15;
}

char *wa_sid_canonical(const char *s) {
  csb_buf b = {0};
  csb_buf_puts(&b, "S");
  const char *p = s + 1;
  while (*p == '-') {
    p++;
    unsigned long long v = strtoull(p, (char **)&p, 10);
    csb_buf_printf(&b, "-%llu", v);
  }
  return csb_buf_steal(&b);
}

int wa_is_cap_sid(const char *s) {
  if (!wa_is_sid(s) || strncmp(s + 1, "-1-5-21-", 8) != 0) return 0;
  int dashes = 0;
  for (const char *p = s; *p; p++) dashes += *p == '-';
  return dashes == 7; /* S-1-5-21-a-b-c-d */
}

char *wa_port_complement(const int *ports, size_t n) {
  csb_buf b = {0};
  csb_buf_puts(&b, "");
  int next = 1; /* first port not yet covered */
  for (size_t i = 0; i <= n; i++) {
    int stop = i < n ? ports[i] : 65536;
    if (stop < 1 || stop < next) continue;
    if (stop > next) {
      if (b.len) csb_buf_putc(&b, ',');
      if (stop - 1 == next)
        csb_buf_printf(&b, "%d", next);
      else
        csb_buf_printf(&b, "%d-%d", next, stop - 1);
    }
    next = stop + 1;
  }
  return csb_buf_steal(&b);
}

static int ieq(const char *a, size_t n, const char *b) {
  if (strlen(b) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

int wa_loopback_url_port(const char *url) {
  if (url == NULL) return 0;
  const char *p = strstr(url, "://");
  if (p == NULL) return 0;
  p += 3;
  size_t alen = strcspn(p, "/?#");
  const char *at = memchr(p, '@', alen);
  if (at != NULL) {
    alen -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  const char *host = p, *port = NULL;
  size_t hlen;
  if (p[0] == '[') {
    const char *close = memchr(p, ']', alen);
    if (close == NULL) return 0;
    host = p + 1;
    hlen = (size_t)(close - host);
    if ((size_t)(close + 1 - p) >= alen || close[1] != ':') return 0;
    port = close + 2;
    if (!ieq(host, hlen, "::1")) return 0;
  } else {
    const char *colon = memchr(p, ':', alen);
    if (colon == NULL) return 0;
    hlen = (size_t)(colon - p);
    port = colon + 1;
    if (!ieq(host, hlen, "localhost") && !ieq(host, hlen, "127.0.0.1")) return 0;
  }
  int v = 0;
  return csb_parse_port(port, alen - (size_t)(port - p), &v) ? v : 0;
}

/* ---- reading a plan (simulate, apply) -------------------------------------- */

/* The shape of what the applier and the simulator read from a plan and
 * use without looking first: "PATH:TYPE", PATH keys joined by '.', `[]`
 * for every item of an array and `*` for every member of an object;
 * TYPE s(tring), n(umber), o(bject), a(rray) or p(ath: a string holding a
 * normalised absolute Windows path, as the planner writes them; `..` or
 * `/` would lead out of the fs root), with `?` when the value may be
 * missing or null (then nothing below it is checked). */
static const char *const plan_shape[] = {
    "schema:s",
    "backend:s",
    "csb_home:p?",
    "identity:o?",
    "identity.kind:s?",
    "principals:o?",
    "principals.*:o",
    "principals.*.sid:s?",
    "capability_sids:o",
    "capability_sids.file:p",
    "capability_sids.status:s",
    "capability_sids.entries:a?",
    "capability_sids.entries[]:o",
    "capability_sids.entries[].slot:s",
    "capability_sids.entries[].key:s?",
    "capability_sids.entries[].sid:s?",
    "capability_sids.entries[].trustee:s",
    "deny_read:o?",
    "deny_read.state:o?",
    "deny_read.state.file:p",
    "deny_read.state.status:s",
    "deny_read.state.recorded:a?",
    "deny_read.state.recorded[]:s",
    "deny_read.state.revoke:a?",
    "deny_read.state.revoke[]:p",
    "mkdir:a?",
    "mkdir[]:o",
    "mkdir[].path:p",
    "aces:a?",
    "aces[]:o",
    "aces[].path:s",
    "aces[].trustee:s",
    "aces[].type:s",
    "aces[].mask:s",
    "aces[].source:s",
    "aces[].inherit:s",
    "audit:o?",
    "audit.budget_ms:n",
    "audit.max_checks:n",
    "audit.max_entries_per_dir:n",
    "audit.deny_trustees:a?",
    "audit.deny_trustees[]:s",
    "write_roots:a?",
    "write_roots[]:o",
    "write_roots[].path:p",
    "dir_locks:a?",
    "dir_locks[]:o",
    "dir_locks[].path:p",
    "dir_locks[].aces:a?",
    "dir_locks[].aces[]:o",
    "dir_locks[].aces[].trustee:s",
    "dir_locks[].aces[].type:s",
    "dir_locks[].aces[].mask:s",
    "firewall:a?",
    "firewall[]:o",
    "wfp:o?",
    "wfp.sublayer_weight:n",
    "wfp.filters:a?",
    "env:o?",
    "env.set:o?",
    "env.default:o?",
    "token:o?",
    "token.restricting_sids:a?",
    "token.restricting_sids[]:s",
    "token.default_dacl_generic_all:a?",
    "token.default_dacl_generic_all[]:s",
    "desktop:o?",
    "setup_marker:o?",
    "setup_marker.file:p",
};

/* A normalised absolute Windows path (csb_winpath_normalize leaves it as
 * it is). */
static int is_plan_path(const char *s) {
  char *n = csb_winpath_normalize(s);
  int ok = n != NULL && strcmp(n, s) == 0;
  free(n);
  return ok;
}

static int has_type(const cJSON *v, char t) {
  switch (t) {
    case 's':
      return cJSON_IsString(v);
    case 'p':
      return cJSON_IsString(v) && is_plan_path(v->valuestring);
    case 'n':
      return cJSON_IsNumber(v);
    case 'o':
      return cJSON_IsObject(v);
    default:
      return cJSON_IsArray(v);
  }
}

/* Checks the rest of a shape path (`path`, up to `end`) below v, whose
 * name so far is in `where`. */
static int check_shape(const cJSON *v, const char *path, const char *end, char type, int optional,
                       csb_buf *where, csb_error *err) {
  if (path == end) {
    if (optional && (v == NULL || cJSON_IsNull(v))) return 1;
    if (v == NULL) return csb_error_set(err, "malformed plan: `%s` is missing", where->data);
    if (has_type(v, type)) return 1;
    static const char *const names[] = {"a string", "a number", "an object", "an array",
                                        "a normalised absolute Windows path"};
    size_t k = type == 's' ? 0 : type == 'n' ? 1 : type == 'o' ? 2 : type == 'a' ? 3 : 4;
    return csb_error_set(err, "malformed plan: `%s` is not %s", where->data, names[k]);
  }
  size_t saved = where->len;
  int ok = 1;
  if (path[0] == '[') { /* "[]": every item */
    size_t i = 0;
    for (const cJSON *x = v->child; ok && x != NULL; x = x->next, i++) {
      where->len = saved;
      csb_buf_printf(where, "[%zu]", i);
      ok = check_shape(x, path + 2, end, type, optional, where, err);
    }
  } else {
    const char *seg = path[0] == '.' ? path + 1 : path;
    size_t n = strcspn(seg, ".[");
    if (seg + n > end) n = (size_t)(end - seg);
    if (n == 1 && seg[0] == '*') {
      for (const cJSON *x = v->child; ok && x != NULL; x = x->next) {
        where->len = saved;
        csb_buf_printf(where, "%s%s", saved ? "." : "", x->string ? x->string : "");
        ok = check_shape(x, seg + 1, end, type, optional, where, err);
      }
    } else {
      csb_buf_printf(where, "%s%.*s", saved ? "." : "", (int)n, seg);
      char *key = csb_xstrndup(seg, n);
      const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, key);
      free(key);
      /* Below a value that may be missing (its own line, earlier in the
       * list, checked that): nothing to check when it is. */
      if ((x == NULL || cJSON_IsNull(x)) && seg + n != end)
        ok = 1;
      else
        ok = check_shape(x, seg + n, end, type, optional, where, err);
    }
  }
  where->len = saved;
  if (where->data) where->data[saved] = '\0';
  return ok;
}

int wa_plan_check(const cJSON *plan, csb_error *err) {
  if (!cJSON_IsObject(plan)) return csb_error_set(err, "not a %s plan", WA_PLAN_SCHEMA);
  const cJSON *schema = cJSON_GetObjectItemCaseSensitive(plan, "schema");
  if (!cJSON_IsString(schema) || strcmp(schema->valuestring, WA_PLAN_SCHEMA) != 0)
    return csb_error_set(err, "not a %s plan", WA_PLAN_SCHEMA);
  csb_buf where = {0};
  int ok = 1;
  /* A private desktop is named and secured from these (apply). */
  static const char *const private_desktop_shape[] = {"desktop.name_prefix:s", "desktop.sddl:s"};
  const cJSON *desktop = cJSON_GetObjectItemCaseSensitive(plan, "desktop");
  int private_desktop = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(desktop, "private"));
  size_t n = CSB_ARRAY_LEN(plan_shape) + (private_desktop ? CSB_ARRAY_LEN(private_desktop_shape) : 0);
  for (size_t i = 0; ok && i < n; i++) {
    const char *spec = i < CSB_ARRAY_LEN(plan_shape) ? plan_shape[i]
                                                     : private_desktop_shape[i - CSB_ARRAY_LEN(plan_shape)];
    const char *colon = strrchr(spec, ':');
    int optional = colon[2] == '?';
    csb_buf_reset(&where);
    ok = check_shape(plan, spec, colon, colon[1], optional, &where, err);
  }
  csb_buf_free(&where);
  /* ACEs name files, except the null device's (a kernel object). */
  const cJSON *aces = cJSON_GetObjectItemCaseSensitive(plan, "aces");
  size_t i = 0;
  for (const cJSON *a = cJSON_IsArray(aces) ? aces->child : NULL; ok && a; a = a->next, i++) {
    const char *source = cJSON_GetObjectItemCaseSensitive(a, "source")->valuestring;
    const char *path = cJSON_GetObjectItemCaseSensitive(a, "path")->valuestring;
    if (strcmp(source, "null_device") == 0 ? strcmp(path, "\\\\.\\NUL") != 0 : !is_plan_path(path))
      ok = csb_error_set(err, "malformed plan: `aces[%zu].path` is not a normalised absolute "
                              "Windows path", i);
  }
  return ok;
}

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void wa_state_revocations(const cJSON *state, const cJSON *stored, int sid_known, csb_strv *out) {
  if (sid_known) {
    const cJSON *revoke = cJSON_GetObjectItemCaseSensitive(state, "revoke");
    for (const cJSON *r = revoke ? revoke->child : NULL; r; r = r->next)
      if (cJSON_IsString(r)) csb_strv_push(out, r->valuestring);
    return;
  }
  /* The record's names folded as NTFS compares them, sorted: each stored
   * path is looked up once (both lists may hold up to
   * --max-deny-read-paths). */
  const cJSON *record = cJSON_GetObjectItemCaseSensitive(state, "record");
  size_t n = 0;
  for (const cJSON *r = record ? record->child : NULL; r; r = r->next) n += cJSON_IsString(r) != 0;
  char **keys = csb_xmalloc((n ? n : 1) * sizeof *keys);
  n = 0;
  for (const cJSON *r = record ? record->child : NULL; r; r = r->next)
    if (cJSON_IsString(r)) keys[n++] = csb_winname_fold(r->valuestring, strlen(r->valuestring));
  qsort(keys, n, sizeof *keys, cmp_strp);
  for (const cJSON *s = stored ? stored->child : NULL; s; s = s->next) {
    if (!cJSON_IsString(s)) continue;
    char *key = csb_winname_fold(s->valuestring, strlen(s->valuestring));
    int kept = n > 0 && bsearch(&key, keys, n, sizeof *keys, cmp_strp) != NULL;
    free(key);
    if (!kept) csb_strv_push(out, s->valuestring);
  }
  for (size_t i = 0; i < n; i++) free(keys[i]);
  free(keys);
}

int wa_state_recorded_same(const cJSON *have, const cJSON *recorded) {
  const cJSON *x = cJSON_IsArray(have) ? have->child : NULL;
  const cJSON *y = cJSON_IsArray(recorded) ? recorded->child : NULL;
  for (; x && y; x = x->next, y = y->next)
    if (!cJSON_IsString(x) || !cJSON_IsString(y) || strcmp(x->valuestring, y->valuestring) != 0) return 0;
  return x == NULL && y == NULL;
}
