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

/* The text an IP literal is compared under: its IPv4 address when it is
 * IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96), which reach that
 * IPv4 host, else its canonical form ("2001:0DB8:0::5" -> "2001:db8::5").
 * The scope is dropped. 0 when `s` is not an IP literal. */
int np_ip_key(const char *s, char *buf, size_t n);
/* A normalised host as hooks compare it: np_ip_key for IP literals, the
 * name itself otherwise. */
void np_host_key(const char *host, char *buf, size_t n);

#endif
