/* fuzz_denials.c - libFuzzer entry point for the Seatbelt denial parser of
 * libs/sbpl: the lines csb-seatbelt reads from `log stream --style ndjson`,
 * whose messages carry process names and paths chosen by the sandboxed
 * command.
 *
 * The input is parsed twice: as an NDJSON line, and (cut at a NUL byte) as
 * the eventMessage of a well-formed line built around it. For every
 * accepted denial:
 *   - the process name and the capability are non-empty pieces of the
 *     message, the name starts it after "Sandbox:" and blanks, the
 *     capability ends it (line endings dropped) and has no line ending at
 *     its end, and the pid is below 10^9;
 *   - the message written again as "Sandbox: NAME(PID) deny(1) CAPABILITY"
 *     parses to the same record;
 *   - a collection holding the record twice keeps it once, and its report
 *     names it in exactly one "(NAME) CAPABILITY" line for its pid (as it
 *     is when both are printable ASCII, else one line of valid UTF-8
 *     without control characters) and in none for another pid.
 * Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -Ilibs/json -Ilibs/policy -Ilibs/sbpl -I<cJSON source> \
 *     libs/base/{base,os,sha256,utf8}.c libs/json/json.c <cJSON source>/cJSON.c \
 *     libs/sbpl/denials.c libs/sbpl/fuzz_denials.c -o /tmp/fuzz_denials
 *   /tmp/fuzz_denials -max_len=2048 -max_total_time=600 /tmp/corpus_denials
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_sbpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* {"eventMessage":"MSG"} with MSG escaped for JSON. Caller frees. */
static char *line_for(const char *msg) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "{\"processID\":0,\"eventMessage\":\"");
  for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
    if (*p == '"' || *p == '\\')
      csb_buf_printf(&b, "\\%c", *p);
    else if (*p < 0x20)
      csb_buf_printf(&b, "\\u%04x", *p);
    else
      csb_buf_putc(&b, (char)*p);
  }
  csb_buf_puts(&b, "\"}\n");
  return csb_buf_steal(&b);
}

static int is_blank(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int printable_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
  return 1;
}

/* A one-denial report whose name or capability held other bytes: still
 * exactly header + one line, valid UTF-8, no control character but the
 * line ends, no C1 code point. */
static void check_inert_report(const char *rep) {
  static const char head[] = "\n=== Sandbox denials ===\n(";
  size_t n = strlen(rep);
  if (strncmp(rep, head, sizeof head - 1) != 0 || rep[n - 1] != '\n') abort();
  if (!csb_utf8_valid(rep, n, NULL)) abort();
  size_t lines = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0;
    size_t len = csb_utf8_decode(rep + i, n - i, &cp, NULL);
    if (len == 0) abort();
    if (cp == '\n') lines++;
    else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) abort();
    i += len;
  }
  if (lines != 3) abort();
}

/* Checks a record parsed out of message `msg` (NULL: the message is not
 * known, the line was parsed as it came). */
static void check(const csb_sbpl_denial *d, const char *msg) {
  if (d->name == NULL || d->capability == NULL || d->name[0] == '\0' || d->capability[0] == '\0') abort();
  if (d->pid < 0 || d->pid >= 1000000000L) abort();
  size_t cl = strlen(d->capability);
  if (d->capability[cl - 1] == '\n' || d->capability[cl - 1] == '\r') abort();
  if (msg != NULL) {
    if (strncmp(msg, "Sandbox:", 8) != 0) abort();
    const char *s = msg + 8;
    while (is_blank(*s)) s++;
    if (strncmp(s, d->name, strlen(d->name)) != 0) abort();
    size_t ml = strlen(msg);
    while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r')) ml--;
    if (ml < cl || memcmp(msg + ml - cl, d->capability, cl) != 0) abort();
  }

  /* written again */
  char *again = csb_xasprintf("Sandbox: %s(%ld) deny(1) %s", d->name, d->pid, d->capability);
  char *line = line_for(again);
  csb_sbpl_denial r;
  if (!csb_sbpl_parse_denial(line, strlen(line), &r)) abort();
  if (strcmp(r.name, d->name) != 0 || r.pid != d->pid || strcmp(r.capability, d->capability) != 0) abort();
  csb_sbpl_denial_clear(&r);
  free(line);
  free(again);

  /* collected twice, reported once */
  csb_sbpl_denials c;
  csb_sbpl_denials_init(&c);
  for (int i = 0; i < 2; i++) {
    csb_sbpl_denial copy = {csb_xstrdup(d->name), d->pid, csb_xstrdup(d->capability)};
    csb_sbpl_denials_add(&c, &copy);
    if (copy.name != NULL || copy.capability != NULL) abort();
  }
  if (c.n != 1 || c.dropped) abort();
  char *rep = csb_sbpl_denials_report(&c, &d->pid, 1);
  if (printable_ascii(d->name) && printable_ascii(d->capability)) {
    char *want = csb_xasprintf("\n=== Sandbox denials ===\n(%s) %s\n", d->name, d->capability);
    if (strcmp(rep, want) != 0) abort();
    free(want);
  } else {
    check_inert_report(rep);
  }
  free(rep);
  long other = d->pid + 1;
  rep = csb_sbpl_denials_report(&c, &other, 1);
  if (strcmp(rep, "\n=== Sandbox denials ===\nNone found.\n") != 0) abort();
  free(rep);
  csb_sbpl_denials_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  csb_sbpl_denial d;
  if (csb_sbpl_parse_denial((const char *)data, size, &d)) {
    check(&d, NULL);
    csb_sbpl_denial_clear(&d);
  } else if (d.name != NULL || d.capability != NULL) {
    abort();
  }

  char *msg = csb_xstrndup((const char *)data, size);
  (void)csb_sbpl_log_is_ready(msg);
  char *line = line_for(msg);
  if (csb_sbpl_parse_denial(line, strlen(line), &d)) {
    check(&d, msg);
    csb_sbpl_denial_clear(&d);
  }
  free(line);
  free(msg);
  return 0;
}
