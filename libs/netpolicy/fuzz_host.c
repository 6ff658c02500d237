/* fuzz_host.c - libFuzzer entry point for the host side of libs/netpolicy:
 * host normalisation, IP literals, host validity, domain patterns and the
 * allow/deny decision csb-proxy takes on a request's host.
 *
 * The input is split at its first '\n': the bytes before it are a domain
 * pattern (as written in a policy or --config), the bytes after it a host
 * (as a client sends it in a request target, Host header, CONNECT or SOCKS5
 * request); both are cut at a NUL byte. For every input:
 *   - the normalised host is lower case, has no trailing dot and is no
 *     longer than the input; normalising it again changes nothing (valid
 *     or not: `[:]` once normalised to ":", which normalises to "");
 *     a valid host is an IP literal or a DNS name of [a-z0-9_-] labels;
 *   - an IPv4 literal prints back exactly as written (no octal, hex or short
 *     forms are accepted); an IPv6 literal prints as text that parses back to
 *     the same address;
 *   - a pattern is accepted, or refused with a message; an accepted one
 *     is accepted again as it was stored (a policy csb-resolve writes is
 *     read back the same), and matches the host exactly when a separate
 *     matcher (dynamic programming over the pattern's tokens instead of
 *     star backtracking) says so;
 *   - with the pattern as the only allow entry, a valid host it matches is
 *     allowed and an unmatched one is asked about; with `*` allowed and the
 *     pattern denied, a valid host it matches is denied, and so is every
 *     other spelling of the same IP address (IPv4-mapped, NAT64, bracketed
 *     with a port, upper case; for IPv4 also its 6to4 and compatible IPv6
 *     addresses) when the pattern matches the address's canonical text;
 *   - the index csb_netpolicy_finish builds answers as the scan of every
 *     rule does (csb_netpolicy_evaluate_host_linear, *_matches_linear): for
 *     both policies above and for one of rules placed around the host (the
 *     host itself, its parent domains as `*.` and `**.` rules, its address's
 *     canonical text, the pattern again in the other list), allow or deny
 *     as the input's bytes pick.
 * Any violation aborts. Fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Ilibs/base -Ilibs/netpolicy -I<cJSON source> libs/base/{base,os,sha256,utf8}.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c <cJSON source>/cJSON.c \
 *     libs/netpolicy/fuzz_host.c -o /tmp/fuzz_host
 *   /tmp/fuzz_host -max_len=1024 -max_total_time=600 /tmp/corpus_host
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_netpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a second matcher ------------------------------------------------------ */

/* A pattern body as tokens: a literal byte (lower case), `?`, `*`, or a
 * class given as the set of (lower-case) bytes it accepts. */
enum { T_LIT, T_ANY, T_STAR, T_CLASS };
typedef struct tok {
  int kind;
  unsigned char c;
  unsigned char set[256];
} tok;

static unsigned char lc(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* Tokens of a validated pattern body; the count, or -1 when a class does not
 * close (never the case for an accepted pattern). */
static int tokenize(const char *p, tok *out, int max) {
  int n = 0;
  while (*p) {
    if (n == max) abort();
    tok *t = &out[n++];
    memset(t, 0, sizeof *t);
    if (*p == '*') {
      t->kind = T_STAR;
      p++;
    } else if (*p == '?') {
      t->kind = T_ANY;
      p++;
    } else if (*p == '[') {
      t->kind = T_CLASS;
      const char *q = p + 1;
      int neg = 0;
      if (*q == '!' || *q == '^') {
        neg = 1;
        q++;
      }
      int first = 1;
      while (*q && (*q != ']' || first)) {
        first = 0;
        unsigned char lo = lc((unsigned char)*q), hi = lo;
        if (q[1] == '-' && q[2] && q[2] != ']') {
          hi = lc((unsigned char)q[2]);
          q += 3;
        } else {
          q++;
        }
        /* host bytes are compared after lower-casing, as signed chars */
        for (int c = 0; c < 256; c++) {
          signed char sc = (signed char)c, slo = (signed char)lo, shi = (signed char)hi;
          if (sc >= slo && sc <= shi) t->set[c] = 1;
        }
      }
      if (*q != ']') return -1;
      if (neg)
        for (int c = 0; c < 256; c++) t->set[c] = !t->set[c];
      p = q + 1;
    } else {
      t->kind = T_LIT;
      t->c = lc((unsigned char)*p++);
    }
  }
  return n;
}

/* Whether tokens t[0..nt) match all of s[0..ns) (case-insensitive). */
static int dp_match(const tok *t, int nt, const char *s, size_t ns) {
  /* m[j]: tokens so far match s[0..j) */
  unsigned char *m = calloc(ns + 1, 1), *next = calloc(ns + 1, 1);
  m[0] = 1;
  for (int i = 0; i < nt; i++) {
    memset(next, 0, ns + 1);
    for (size_t j = 0; j <= ns; j++) {
      if (t[i].kind == T_STAR) {
        next[j] = m[j] || (j > 0 && next[j - 1]);
        continue;
      }
      if (j == 0 || !m[j - 1]) continue;
      unsigned char c = lc((unsigned char)s[j - 1]);
      if (t[i].kind == T_ANY || (t[i].kind == T_LIT && t[i].c == c) || (t[i].kind == T_CLASS && t[i].set[c]))
        next[j] = 1;
    }
    unsigned char *x = m;
    m = next;
    next = x;
  }
  int r = m[ns];
  free(m);
  free(next);
  return r;
}

static int ref_glob(const char *body, const char *s) {
  static tok toks[1100];
  int nt = tokenize(body, toks, (int)(sizeof toks / sizeof toks[0]));
  if (nt < 0) abort();
  return dp_match(toks, nt, s, strlen(s));
}

/* Pattern semantics of the allow/deny lists: `**.REST` is REST or a
 * subdomain of it, `*.REST` only a subdomain, anything else a glob. */
static int ref_matches(const char *pat, const char *host) {
  const char *rest = NULL;
  int self = 0;
  if (strncmp(pat, "**.", 3) == 0) {
    rest = pat + 3;
    self = 1;
  } else if (strncmp(pat, "*.", 2) == 0) {
    rest = pat + 2;
  } else {
    return ref_glob(pat, host);
  }
  if (self && ref_glob(rest, host)) return 1;
  for (size_t i = 1; host[0] && host[i]; i++)
    if (host[i] == '.' && ref_glob(rest, host + i + 1)) return 1;
  return 0;
}

/* ---- checks ------------------------------------------------------------------ */

static void check_host(const char *raw, const char *norm) {
  if (strlen(norm) > strlen(raw)) abort();
  for (const char *q = norm; *q; q++)
    if (*q >= 'A' && *q <= 'Z') abort();
  size_t n = strlen(norm);
  if (n > 0 && norm[n - 1] == '.') abort();
  char *again = csb_netpolicy_normalize_host(norm);
  if (strcmp(again, norm) != 0) abort();
  free(again);
  if (!csb_netpolicy_host_is_valid(norm)) return;
  struct sockaddr_storage ss;
  if (csb_netpolicy_parse_ip(norm, &ss)) {
    char buf[64];
    csb_netpolicy_addr_str((const struct sockaddr *)&ss, buf, sizeof buf);
    if (ss.ss_family == AF_INET) {
      if (strcmp(buf, norm) != 0) abort();
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_storage back;
      if (!csb_netpolicy_parse_ip(buf, &back) || back.ss_family != AF_INET6 ||
          memcmp(&((struct sockaddr_in6 *)&back)->sin6_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16) != 0)
        abort();
    } else {
      abort();
    }
    return;
  }
  if (n > 253) abort();
  for (const char *q = norm; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' || *q == '.'))
      abort();
}

static csb_netpolicy *policy(const char *allow, const char *deny) {
  csb_netpolicy *np = csb_netpolicy_new();
  csb_error err;
  np->allow_local_binding = 1;
  if (allow && !csb_netpolicy_add_domain(np, allow, 0, &err)) abort();
  if (deny && !csb_netpolicy_add_domain(np, deny, 1, &err)) abort();
  if (!csb_netpolicy_finish(np, &err)) abort();
  return np;
}

static void expect(const csb_netpolicy *np, const char *host, csb_host_decision d, csb_block_reason r) {
  csb_host_eval ev;
  csb_netpolicy_evaluate_host(np, host, &ev);
  if (ev.decision != d || (d != CSB_HOST_ALLOW && ev.reason != r)) abort();
}

static void check_spellings(const csb_netpolicy *deny_np, const char *canon, int v4) {
  char alt[128];
  expect(deny_np, canon, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
  if (v4) {
    static const char *const forms[][2] = {{"::ffff:", ""}, {"[::ffff:", "]:443"}, {"64:ff9b::", ""},
                                           {"::FFFF:", "."}, {" [0:0:0:0:0:ffff:", "] "}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
      snprintf(alt, sizeof alt, "%s%s%s", forms[i][0], canon, forms[i][1]);
      expect(deny_np, alt, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
    }
    unsigned a, b, c, d;
    if (sscanf(canon, "%u.%u.%u.%u", &a, &b, &c, &d) != 4) abort();
    snprintf(alt, sizeof alt, "::ffff:%x:%x", (a << 8) | b, (c << 8) | d);
    expect(deny_np, alt, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
    /* addresses that lead to the host: 6to4, the compatible form (not :: or ::1) */
    snprintf(alt, sizeof alt, "[2002:%x:%x::1]:443", (a << 8) | b, (c << 8) | d);
    expect(deny_np, alt, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
    if (a | b | c || d > 1) {
      snprintf(alt, sizeof alt, "::%s", canon);
      expect(deny_np, alt, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
    }
  } else {
    snprintf(alt, sizeof alt, "[%s]:8080", canon);
    expect(deny_np, alt, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
    for (char *q = alt; *q; q++)
      if (*q >= 'a' && *q <= 'f') *q = (char)(*q - 32);
    expect(deny_np, alt, CSB_HOST_BLOCK, CSB_BLOCK_DENIED);
  }
}

/* ---- the index against the scan ------------------------------------------------ */

static void same_matches(const csb_netpolicy *np, const char *host) {
  if (csb_netpolicy_allow_matches(np, host) != csb_netpolicy_allow_matches_linear(np, host)) abort();
  if (csb_netpolicy_deny_matches(np, host) != csb_netpolicy_deny_matches_linear(np, host)) abort();
}

static void check_index(const csb_netpolicy *np, const char *host, const char *norm) {
  csb_host_eval a, b;
  csb_netpolicy_evaluate_host(np, host, &a);
  csb_netpolicy_evaluate_host_linear(np, host, &b);
  if (a.decision != b.decision || a.reason != b.reason || strcmp(a.host, b.host) != 0 || a.is_ip != b.is_ip ||
      memcmp(&a.addr, &b.addr, sizeof a.addr) != 0 || a.need_dns_guard != b.need_dns_guard ||
      a.local_literal_allowed != b.local_literal_allowed || a.exact_literal != b.exact_literal)
    abort();
  same_matches(np, host);
  same_matches(np, norm);
}

/* Rules around the (normalised) host, each in the list that the next bit
 * of `pick` says (the pattern in both lists when it says so), next to the
 * pattern; the index must find what the scan finds. */
static void check_around(const char *pat, const char *host, const char *norm, uint32_t pick) {
  csb_netpolicy *np = csb_netpolicy_new();
  csb_error err;
  np->allow_local_binding = (int)(pick & 1);
  pick >>= 1;
  char rule[600];
  const char *dot = norm;
  for (int i = 0; i < 4 && dot; i++, pick >>= 3) {
    snprintf(rule, sizeof rule, "%s%s", (pick & 1) ? "*." : (pick & 2) ? "**." : "", dot);
    csb_netpolicy_add_domain(np, rule, (int)((pick >> 2) & 1), &err);
    dot = *dot ? strchr(dot + 1, '.') : NULL;
    if (dot) dot++;
  }
  char canon[64];
  if (csb_netpolicy_ip_key(norm, canon, sizeof canon)) csb_netpolicy_add_domain(np, canon, (int)(pick & 1), &err);
  pick >>= 1;
  csb_netpolicy_add_domain(np, pat, (int)(pick & 1), &err);
  if (pick & 2) csb_netpolicy_add_domain(np, pat, !(pick & 1), &err);
  if (pick & 4) csb_netpolicy_add_domain(np, "*", 0, &err);
  if (!csb_netpolicy_finish(np, &err)) abort();
  check_index(np, host, norm);
  csb_netpolicy_free(np);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1024) return 0;
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *nl = memchr(buf, '\n', size);
  const char *pat = buf, *host = "";
  if (nl) {
    *nl = '\0';
    host = nl + 1;
  }

  char *norm = csb_netpolicy_normalize_host(host);
  check_host(host, norm);
  int valid = strlen(norm) < 256 && csb_netpolicy_host_is_valid(norm);
  uint32_t pick = 2166136261u; /* FNV-1a of the input */
  for (size_t i = 0; i < size; i++) pick = (pick ^ data[i]) * 16777619u;
  check_around(pat, host, norm, pick);

  csb_netpolicy *np = csb_netpolicy_new();
  csb_error err;
  csb_error_clear(&err);
  if (!csb_netpolicy_add_domain(np, pat, 0, &err)) {
    if (err.msg[0] == '\0') abort();
    csb_netpolicy_free(np);
    free(norm);
    free(buf);
    return 0;
  }
  if (np->n_domains != 1) abort();
  const char *P = np->domains[0].pattern;
  csb_netpolicy *again = csb_netpolicy_new();
  if (!csb_netpolicy_add_domain(again, P, 0, &err) || again->n_domains != 1 ||
      strcmp(again->domains[0].pattern, P) != 0)
    abort();
  csb_netpolicy_free(again);
  int m = csb_netpolicy_pattern_matches(P, norm);
  if (m != ref_matches(P, norm)) abort();

  /* the pattern as the only allow entry */
  csb_netpolicy *allow_np = policy(pat, NULL);
  check_index(allow_np, host, norm);
  csb_host_eval ev;
  csb_netpolicy_evaluate_host(allow_np, host, &ev);
  if (!valid) {
    if (ev.decision != CSB_HOST_BLOCK || ev.reason != CSB_BLOCK_NOT_ALLOWED) abort();
  } else {
    if (strcmp(ev.host, norm) != 0) abort();
    if (m && ev.decision != CSB_HOST_ALLOW) abort();
    if (ev.decision == CSB_HOST_ALLOW && !csb_netpolicy_allow_matches(allow_np, norm)) abort();
    if (!csb_netpolicy_allow_matches(allow_np, norm) && ev.decision != CSB_HOST_ASK) abort();
  }
  csb_netpolicy_free(allow_np);

  /* everything allowed, the pattern denied */
  csb_netpolicy *deny_np = csb_netpolicy_new();
  deny_np->allow_local_binding = 1;
  if (!csb_netpolicy_add_domain(deny_np, "*", 0, &err)) abort();
  csb_error_clear(&err);
  if (csb_netpolicy_add_domain(deny_np, pat, 1, &err)) {
    if (!csb_netpolicy_finish(deny_np, &err)) abort();
    check_index(deny_np, host, norm);
    csb_netpolicy_evaluate_host(deny_np, host, &ev);
    if (valid) {
      int denied = ev.decision == CSB_HOST_BLOCK && ev.reason == CSB_BLOCK_DENIED;
      if (m && !denied) abort();
      if (denied != csb_netpolicy_deny_matches(deny_np, norm)) abort();
      if (!denied && ev.decision != CSB_HOST_ALLOW) abort();
      char canon[64];
      if (csb_netpolicy_ip_key(norm, canon, sizeof canon) && csb_netpolicy_pattern_matches(P, canon)) {
        if (!denied) abort();
        check_spellings(deny_np, canon, strchr(canon, ':') == NULL);
      }
    }
  } else if (err.msg[0] == '\0') {
    abort();
  }
  csb_netpolicy_free(deny_np);
  csb_netpolicy_free(np);
  free(norm);
  free(buf);
  return 0;
}
