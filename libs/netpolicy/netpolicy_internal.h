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

#endif
