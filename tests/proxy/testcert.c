/* testcert - test helper: creates (or reuses) a CA in DIR and writes
 * DIR/server.pem + DIR/server.key for the given names, issued by it.
 *
 *   testcert DIR NAME [NAME...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_tlsutil.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: testcert DIR NAME [NAME...]\n");
    return 64;
  }
  csb_error err;
  csb_tls_ca *ca = NULL;
  if (!csb_tls_ca_load_or_create(argv[1], &ca, NULL, &err)) {
    fprintf(stderr, "testcert: %s\n", err.msg);
    return 1;
  }
  csb_tls_leaf *leaf = csb_tls_leaf_issue_names(ca, (const char *const *)argv + 2, (size_t)(argc - 2), &err);
  char *cert = NULL, *key = NULL;
  if (!leaf || !csb_tls_leaf_pem(leaf, &cert, &key, &err)) {
    fprintf(stderr, "testcert: %s\n", err.msg);
    return 1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/server.pem", argv[1]);
  FILE *f = fopen(path, "w");
  if (!f || fputs(cert, f) < 0 || fclose(f) != 0) return 1;
  snprintf(path, sizeof path, "%s/server.key", argv[1]);
  f = fopen(path, "w");
  if (!f || fputs(key, f) < 0 || fclose(f) != 0) return 1;
  free(cert);
  free(key);
  csb_tls_leaf_free(leaf);
  csb_tls_ca_free(ca);
  return 0;
}
