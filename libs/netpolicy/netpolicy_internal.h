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

#endif
