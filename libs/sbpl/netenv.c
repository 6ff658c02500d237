/* netenv.c - loopback proxy ports from the proxy variables of an
 * environment (network mode `proxy`); names and URLs per libs/proxyenv. */
#include <stdlib.h>
#include <string.h>

#include "csb_proxyenv.h"
#include "csb_sbpl.h"

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

void csb_sbpl_proxy_ports(char *const *envp, csb_sbpl_ports *out, csb_strv *warnings) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < CSB_PROXYENV_N_VARS; i++) {
    const csb_proxyenv_var *var = &csb_proxyenv_vars[i];
    const char *used = NULL;
    const char *val = csb_proxyenv_get(envp, var->upper, var->lower, &used);
    if (val == NULL) continue;
    out->any_set = 1;
    csb_proxyenv_url u;
    if (!csb_proxyenv_parse_loopback(val, &u)) {
      if (warnings)
        csb_strv_pushf(warnings,
                       "proxy variable %s=%s is not a loopback proxy URL (localhost, 127.0.0.1 "
                       "or [::1] with a valid port); it opens no network port (fail closed)",
                       used, val);
      continue;
    }
    int dup = 0;
    for (size_t k = 0; k < out->n; k++) dup |= out->ports[k] == u.port;
    if (!dup && out->n < CSB_ARRAY_LEN(out->ports)) out->ports[out->n++] = u.port;
  }
  qsort(out->ports, out->n, sizeof out->ports[0], cmp_int);
}
