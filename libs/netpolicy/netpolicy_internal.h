/* netpolicy_internal.h - helpers shared by the netpolicy sources. */
#ifndef CSB_NETPOLICY_INTERNAL_H
#define CSB_NETPOLICY_INTERNAL_H

#include <stdlib.h>

#include "csb_netpolicy.h"

/* Normalised pattern (new string) or NULL with err set. */
char *np_normalize_pattern(const char *pattern, csb_error *err);
/* `*`, `**`, `[*]`, `**.[*]`, `*.*`, ...: matches (nearly) every host. */
int np_pattern_is_global(const char *pattern);
/* No wildcard or class characters. */
int np_pattern_is_exact(const char *pattern);

/* A normalised host as hooks compare it: csb_netpolicy_ip_key for IP literals, the
 * name itself otherwise. */
void np_host_key(const char *host, char *buf, size_t n);
/* The IPv4 address an IPv6 address carries towards an IPv4 host (the
 * deprecated compatible form ::a.b.c.d, 6to4 2002:AABB:CCDD::/48), as
 * dotted text in buf (16 bytes suffice); 0 for any other address. (The
 * mapped and NAT64 forms are the IPv4 address itself: np_host_key.) */
int np_ipv6_tunnelled_v4(const struct sockaddr_storage *ss, char *buf, size_t n);
/* `host` with an IPv6 %scope dropped (when it has both '%' and ':'),
 * truncated to n - 1 bytes, into buf. */
void np_strip_scope(const char *host, char *buf, size_t n);

/* ---- index.c: the domain rules by name ------------------------------------------ */

typedef struct np_index np_index;
/* An index of domains[0..n) (copied: it does not refer to them later), or
 * NULL when there are too many to number (then the rules are scanned).
 * Freed with np_index_free. */
np_index *np_index_new(const csb_netpolicy_domain *domains, size_t n);
void np_index_free(np_index *ix);
/* What the scan of every rule of the list (deny 1, allow 0) in
 * netpolicy.c answers for the host as written, `unscoped` (the host
 * without its IPv6 scope, NULL when it has none) and `key` (its ip_key,
 * NULL when it is no IP literal). */
int np_index_list_matches(const np_index *ix, const char *host, const char *unscoped, const char *key,
                          int deny);
/* What the scan in netpolicy.c's exact_allowlisted answers; `unscoped` is
 * np_strip_scope of the host (256 bytes), `ha` its address or NULL. */
int np_index_exact_allowlisted(const np_index *ix, const char *host, const char *unscoped,
                               const struct sockaddr_storage *ha);

#endif
