/* sbpl_check - checks one generated profile (see sbpl_eval.h).
 *
 *     sbpl_check PROFILE_FILE [KEY=VALUE...]
 *
 * The parameters are the -D values of the argv; every reference must be
 * defined and every parameter used. Exit 0 when the profile is fine, 1
 * with a message otherwise. */
#include <stdio.h>
#include <stdlib.h>

#include "sbpl_eval.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sbpl_check PROFILE_FILE [KEY=VALUE...]\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap);
  size_t n;
  while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) text = realloc(text, cap *= 2);
  }
  fclose(f);
  if (!text) return 2;
  text[len] = '\0';
  char err[1024] = "";
  sbpl_program *p = sbpl_parse(text, err, sizeof err);
  int rc = 0;
  if (!p) {
    fprintf(stderr, "%s: %s\n", argv[1], err);
    rc = 1;
  } else if (!sbpl_check(p, (const char *const *)argv + 2, (size_t)(argc - 2), err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", argv[1], err);
    rc = 1;
  } else {
    printf("%zu forms, %zu regexes: ok\n", sbpl_rule_count(p), sbpl_regex_count(p));
  }
  sbpl_free(p);
  free(text);
  return rc;
}
