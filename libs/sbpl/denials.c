/* denials.c - Seatbelt denials from `log stream --style ndjson`: the line
 * parser, the readiness banner and the collected report. Pure functions;
 * the tool runs `log` and tracks the process tree. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "csb_json.h"
#include "csb_sbpl.h"

const char *const csb_sbpl_log_stream_argv[] = {
    "/usr/bin/log",
    "stream",
    "--style",
    "ndjson",
    "--predicate",
    "(((processID == 0) AND (senderImagePath CONTAINS \"/Sandbox\")) OR "
    "(subsystem == \"com.apple.sandbox.reporting\"))",
    NULL,
};

int csb_sbpl_log_is_ready(const char *line) {
  static const char banner[] = "Filtering the log data using ";
  return strncmp(line, banner, sizeof banner - 1) == 0;
}

void csb_sbpl_denial_clear(csb_sbpl_denial *d) {
  if (d == NULL) return;
  free(d->name);
  free(d->capability);
  memset(d, 0, sizeof *d);
}

/* "Sandbox: NAME(PID) deny(N) CAPABILITY": NAME is the shortest prefix
 * followed by "(digits)", blanks and "deny(". */
static int parse_message(const char *m, csb_sbpl_denial *out) {
  if (strncmp(m, "Sandbox:", 8) != 0) return 0;
  const char *s = m + 8;
  while (isspace((unsigned char)*s)) s++;
  if (*s == '\0') return 0; /* no name: and the search below starts after s */
  for (const char *open = strchr(s + 1, '('); open != NULL; open = strchr(open + 1, '(')) {
    if (open == s) continue;
    const char *d = open + 1;
    long pid = 0;
    while (isdigit((unsigned char)*d) && pid < 100000000) pid = pid * 10 + (*d++ - '0');
    if (d == open + 1 || *d != ')') continue;
    const char *t = d + 1;
    if (!isspace((unsigned char)*t)) continue;
    while (isspace((unsigned char)*t)) t++;
    if (strncmp(t, "deny(", 5) != 0) continue;
    const char *close = strchr(t + 5, ')');
    if (close == NULL) return 0;
    const char *cap = close + 1;
    while (isspace((unsigned char)*cap)) cap++;
    size_t cl = strlen(cap);
    while (cl > 0 && (cap[cl - 1] == '\n' || cap[cl - 1] == '\r')) cl--;
    if (cl == 0) return 0;
    out->name = csb_xstrndup(s, (size_t)(open - s));
    out->pid = pid;
    out->capability = csb_xstrndup(cap, cl);
    return 1;
  }
  return 0;
}

int csb_sbpl_parse_denial(const char *line, size_t len, csb_sbpl_denial *out) {
  memset(out, 0, sizeof *out);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if (len == 0 || line[0] != '{') return 0;
  cJSON *root = NULL;
  if (!csb_json_parse(line, len, &root, NULL)) return 0;
  const char *msg = NULL;
  int ok = csb_json_get_string(root, "eventMessage", &msg, NULL) && parse_message(msg, out);
  cJSON_Delete(root);
  return ok;
}

void csb_sbpl_denials_init(csb_sbpl_denials *d) { memset(d, 0, sizeof *d); }

void csb_sbpl_denials_free(csb_sbpl_denials *d) {
  if (d == NULL) return;
  for (size_t i = 0; i < d->n; i++) csb_sbpl_denial_clear(&d->items[i]);
  free(d->items);
  memset(d, 0, sizeof *d);
}

void csb_sbpl_denials_add(csb_sbpl_denials *d, csb_sbpl_denial *rec) {
  for (size_t i = 0; i < d->n; i++) {
    const csb_sbpl_denial *o = &d->items[i];
    if (o->pid == rec->pid && strcmp(o->name, rec->name) == 0 &&
        strcmp(o->capability, rec->capability) == 0) {
      csb_sbpl_denial_clear(rec);
      return;
    }
  }
  if (d->n >= CSB_SBPL_MAX_DENIALS) {
    d->dropped = 1;
    csb_sbpl_denial_clear(rec);
    return;
  }
  d->items = csb_xgrow(d->items, &d->cap, d->n + 1, sizeof *d->items);
  d->items[d->n++] = *rec;
  memset(rec, 0, sizeof *rec);
}

/* Appends s with the bytes a terminal would act on (every C0 control,
 * newline included, DEL, C1 such as the one-byte CSI) and those that are
 * not UTF-8 written as the text \xHH: a path the sandboxed command chose
 * can neither start a line of its own nor drive the user's terminal. */
static void put_inert(csb_buf *b, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0;
    size_t len = csb_utf8_decode(s + i, n - i, &cp, NULL);
    if (len != 0 && cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0)) {
      csb_buf_append(b, s + i, len);
      i += len;
      continue;
    }
    for (size_t k = 0; k < (len ? len : 1); k++)
      csb_buf_printf(b, "\\x%02x", (unsigned char)s[i + k]);
    i += len ? len : 1;
  }
}

char *csb_sbpl_denials_report(const csb_sbpl_denials *d, const long *pids, size_t npids) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "\n=== Sandbox denials ===\n");
  size_t shown = 0;
  for (size_t i = 0; i < d->n; i++) {
    const csb_sbpl_denial *r = &d->items[i];
    int tracked = 0;
    for (size_t k = 0; k < npids && !tracked; k++) tracked = pids[k] == r->pid;
    if (!tracked) continue;
    int seen = 0;
    for (size_t k = 0; k < i && !seen; k++) {
      const csb_sbpl_denial *o = &d->items[k];
      int otracked = 0;
      for (size_t q = 0; q < npids && !otracked; q++) otracked = pids[q] == o->pid;
      seen = otracked && strcmp(o->name, r->name) == 0 && strcmp(o->capability, r->capability) == 0;
    }
    if (seen) continue;
    csb_buf_putc(&b, '(');
    put_inert(&b, r->name);
    csb_buf_puts(&b, ") ");
    put_inert(&b, r->capability);
    csb_buf_putc(&b, '\n');
    shown++;
  }
  if (shown == 0) csb_buf_puts(&b, "None found.\n");
  if (d->dropped) csb_buf_printf(&b, "(more than %d denials; the rest were not kept)\n", CSB_SBPL_MAX_DENIALS);
  return csb_buf_steal(&b);
}
