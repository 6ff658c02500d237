/* plan_util.c - small pieces of the planner shared with the applier:
 * names, masks, SIDs, firewall port sets, proxy URLs. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
  size_t plen = alen - (size_t)(port - p);
  if (plen == 0 || plen > 5) return 0;
  int v = 0;
  for (size_t i = 0; i < plen; i++) {
    if (!isdigit((unsigned char)port[i])) return 0;
    v = v * 10 + (port[i] - '0');
  }
  return v >= 1 && v <= 65535 ? v : 0;
}
