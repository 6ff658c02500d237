/* fuzz_connect.c - libFuzzer entry point for csb-proxy's last check before
 * connect() (csb_netpolicy_connect_allowed_on) and the address
 * classification it uses (csb_netpolicy_addr_is_non_public).
 *
 * The input is bytes: a flag byte (allow_local_binding; the host asked
 * for: a spelling of the target address, `localhost`, a name or another
 * address; an exact allow entry for it; `*` allowed), a count of this
 * host's own addresses, then 17 bytes per address (a kind byte picking
 * IPv4, IPv6 or, for the target, a family of its own, and 16 address
 * bytes): the target, another address and the own ones. The host is
 * evaluated (csb_netpolicy_evaluate_host) and the target is judged as
 * csb-proxy judges it, `this_host` when it reaches an own address. For
 * every input:
 *   - the classification agrees with a table of the ranges
 *     csb_netpolicy.h lists, for every spelling of an address;
 *   - the verdict does not depend on the port, flow label or scope; with
 *     allow_local_binding everything is allowed; else a public address
 *     that is not this host's is allowed, and one of this host's or a
 *     non-public one is refused, for every spelling of the same IPv4
 *     address (plain, IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d)
 *     and whatever the host (also without an evaluation), but for the
 *     exact exceptions: the host an exactly allow-listed literal and the
 *     target that literal in the same family (an exact entry is for the
 *     spelling written: "::ffff:10.0.0.5" is not "10.0.0.5", as in
 *     index_test Index.KnownCases), or an exactly allow-listed
 *     `localhost` and the target 127/8 or ::1; without an exact allow
 *     entry nothing is excepted.
 * Any violation aborts. netpolicy_test replays it over seeds and
 * mutations; fuzzing proper (docs/fuzzing.md):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -DCSB_FUZZ_ENTRY \
 *     -Ilibs/base -Ilibs/netpolicy -I<cJSON source> libs/base/{base,os,sha256,utf8}.c \
 *     libs/netpolicy/{hooks,host,index,netpolicy,pattern}.c <cJSON source>/cJSON.c \
 *     libs/netpolicy/fuzz_connect.c -o /tmp/fuzz_connect
 *   /tmp/fuzz_connect -max_len=128 -max_total_time=600 /tmp/corpus_connect
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_base.h"
#include "csb_netpolicy.h"

int csb_fuzz_connect_one(const uint8_t *data, size_t size);

static void check_at(int ok, int line) {
  if (ok) return;
  fprintf(stderr, "fuzz_connect.c:%d: check failed\n", line);
  abort();
}
#define check(ok) check_at((ok), __LINE__)

/* An address as the oracle sees it: the IPv4 host it reaches (v4 = 1;
 * plain, mapped or NAT64), an IPv6 address, or another family. */
typedef struct {
  int fam; /* 4, 6, or 0 for another family */
  uint8_t b[16];
} key;

static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

static key key_of(const struct sockaddr_storage *ss) {
  key k;
  memset(&k, 0, sizeof k);
  if (ss->ss_family == AF_INET) {
    k.fam = 4;
    memcpy(k.b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    if (memcmp(a, kMapped, 12) == 0 || memcmp(a, kNat64, 12) == 0) {
      k.fam = 4;
      memcpy(k.b, a + 12, 4);
    } else {
      k.fam = 6;
      memcpy(k.b, a, 16);
    }
  }
  return k;
}

static int key_eq(key a, key b) { return a.fam != 0 && a.fam == b.fam && memcmp(a.b, b.b, 16) == 0; }

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int in4(uint32_t a, const char *net, int bits) {
  struct in_addr n;
  check(inet_pton(AF_INET, net, &n) == 1);
  uint32_t mask = bits == 0 ? 0 : 0xFFFFFFFFu << (32 - bits);
  return (a & mask) == (ntohl(n.s_addr) & mask);
}

/* The ranges of csb_netpolicy_addr_is_non_public's comment, read again. */
static int v4_local(uint32_t a) {
  static const struct {
    const char *net;
    int bits;
  } r[] = {{"0.0.0.0", 8},       {"10.0.0.0", 8},      {"100.64.0.0", 10},  {"127.0.0.0", 8},
           {"169.254.0.0", 16},  {"172.16.0.0", 12},   {"192.0.0.0", 24},   {"192.0.2.0", 24},
           {"192.168.0.0", 16},  {"198.18.0.0", 15},   {"198.51.100.0", 24}, {"203.0.113.0", 24},
           {"224.0.0.0", 4},     {"240.0.0.0", 4},     {"168.63.129.16", 32}};
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if (in4(a, r[i].net, r[i].bits)) return 1;
  return 0;
}

static int in6(const uint8_t *a, const char *net, int bits) {
  uint8_t n[16];
  check(inet_pton(AF_INET6, net, n) == 1);
  for (int i = 0; i < bits; i++) {
    int bit = 7 - (i % 8);
    if (((a[i / 8] >> bit) & 1) != ((n[i / 8] >> bit) & 1)) return 0;
  }
  return 1;
}

static int ref_non_public(key k) {
  if (k.fam == 0) return 1;
  if (k.fam == 4) return v4_local(be32(k.b));
  const uint8_t *a = k.b;
  if (in6(a, "::", 128) || in6(a, "::1", 128)) return 1;
  if (in6(a, "::", 96)) return v4_local(be32(a + 12)); /* compatible */
  if (in6(a, "2002::", 16)) return v4_local(be32(a + 2)); /* 6to4 */
  return in6(a, "ff00::", 8) || in6(a, "fc00::", 7) || in6(a, "fe80::", 10) ||
         in6(a, "fec0::", 10) || in6(a, "2001::", 32) || in6(a, "64:ff9b:1::", 48);
}

static int ref_loopback(key k) {
  if (k.fam == 4) return k.b[0] == 127;
  return k.fam == 6 && in6(k.b, "::1", 128);
}

/* The spellings of k (up to 3) with the port, flow label and scope given. */
static size_t spellings(key k, int other_family, uint16_t port, uint32_t extra,
                        struct sockaddr_storage out[3]) {
  memset(out, 0, 3 * sizeof out[0]);
  if (k.fam == 0) {
    out[0].ss_family = (sa_family_t)other_family;
    memcpy((char *)&out[0] + sizeof(sa_family_t), k.b, 16);
    return 1;
  }
  if (k.fam == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out[0];
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    s6->sin6_flowinfo = extra;
    s6->sin6_scope_id = extra >> 7;
    memcpy(s6->sin6_addr.s6_addr, k.b, 16);
    return 1;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)&out[0];
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  memcpy(&s4->sin_addr, k.b, 4);
  for (int i = 1; i < 3; i++) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out[i];
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    s6->sin6_flowinfo = extra;
    s6->sin6_scope_id = extra >> 7;
    memcpy(s6->sin6_addr.s6_addr, i == 1 ? kMapped : kNat64, 12);
    memcpy(s6->sin6_addr.s6_addr + 12, k.b, 4);
  }
  return 3;
}

/* The text of k as a host (spelling 0 plain, 1 mapped, 2 NAT64). */
static void host_text(key k, int spelling, char *buf, size_t n) {
  if (k.fam == 4 && spelling == 0) {
    snprintf(buf, n, "%u.%u.%u.%u", k.b[0], k.b[1], k.b[2], k.b[3]);
  } else if (k.fam == 4) {
    snprintf(buf, n, "%s%u.%u.%u.%u", spelling == 1 ? "::ffff:" : "64:ff9b::", k.b[0], k.b[1], k.b[2],
             k.b[3]);
  } else {
    char t[INET6_ADDRSTRLEN];
    check(inet_ntop(AF_INET6, k.b, t, sizeof t) != NULL);
    snprintf(buf, n, "%s", t);
  }
}

/* 17 input bytes as an address: kind byte (even IPv4, odd IPv6; for the
 * target, a multiple of 7 another family), 16 bytes. */
static key take(const uint8_t **p, const uint8_t *end, int target, int *other_family) {
  key k;
  memset(&k, 0, sizeof k);
  uint8_t kind = *p < end ? **p : 0;
  if (*p < end) (*p)++;
  for (int i = 0; i < 16; i++) k.b[i] = *p < end ? *(*p)++ : 0;
  if (target && kind % 7 == 6) {
    k.fam = 0;
    *other_family = k.b[15] | (k.b[14] << 8);
    if (*other_family == AF_INET || *other_family == AF_INET6) *other_family = AF_UNIX;
    return k;
  }
  if (kind % 2 == 0) {
    k.fam = 4;
    memset(k.b + 4, 0, 12);
  } else {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_INET6;
    memcpy(((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, k.b, 16);
    k = key_of(&ss); /* a mapped or NAT64 address is the IPv4 one */
  }
  return k;
}

int csb_fuzz_connect_one(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const uint8_t *p = data, *end = data + size;
  uint8_t flags = *p++;
  size_t n_own = *p++ % 5;
  int other_family = 0, unused = 0;
  key target = take(&p, end, 1, &other_family);
  key other = take(&p, end, 0, &unused);
  key own[4];
  for (size_t i = 0; i < n_own; i++) own[i] = take(&p, end, 0, &unused);
  uint16_t port = p < end ? (uint16_t)(*p++ * 257u) : 443;
  uint32_t extra = p < end ? *p++ * 0x01010101u : 0;

  int local_binding = flags & 1;
  int host_kind = (flags >> 1) & 3; /* 0 the target, 1 localhost, 2 a name, 3 the other address */
  int host_spelling = ((flags >> 3) & 3) % 3;
  int exact = (flags >> 5) & 1;
  int star = (flags >> 6) & 1;
  key host_key = host_kind == 0 ? target : other;
  int host_is_ip = (host_kind == 0 || host_kind == 3) && host_key.fam != 0;

  csb_netpolicy *np = csb_netpolicy_new();
  np->allow_local_binding = local_binding;
  csb_error err;
  csb_error_clear(&err);
  char lit[INET6_ADDRSTRLEN + 16];
  if (host_is_ip) host_text(host_key, 0, lit, sizeof lit);
  if (exact) {
    const char *rule = host_is_ip ? lit : host_kind == 1 ? "localhost" : "h.test";
    check(csb_netpolicy_add_domain(np, rule, 0, &err));
  }
  if (star) check(csb_netpolicy_add_domain(np, "*", 0, &err));
  check(csb_netpolicy_finish(np, &err));

  /* the host's spellings (one for names) and the target's */
  size_t n_hosts = host_is_ip && host_key.fam == 4 ? 3 : 1;
  struct sockaddr_storage sp[3], sp2[3];
  size_t n_sp = spellings(target, other_family, port, extra, sp);
  spellings(target, other_family, 0, 0, sp2);
  int this_host = 0;
  for (size_t i = 0; i < n_own; i++) this_host |= key_eq(own[i], target);

  int first = -1;
  for (size_t h = 0; h < n_hosts; h++) {
    char host[INET6_ADDRSTRLEN + 16];
    if (host_is_ip)
      host_text(host_key, h == 0 ? host_spelling : (int)((host_spelling + h) % 3), host, sizeof host);
    else
      snprintf(host, sizeof host, "%s", host_kind == 1 ? "localhost" : host_kind == 2 ? "h.test" : "");
    csb_host_eval ev;
    csb_netpolicy_evaluate_host(np, host, &ev);
    /* an exactly allow-listed local literal only with an exact entry */
    check(!ev.local_literal_allowed || exact);
    check(!ev.exact_literal || (exact && host_is_ip));
    /* the exact literal is the one spelt in the rule (plain IPv4, or IPv6) */
    check(!ev.exact_literal || ev.addr.ss_family == (host_key.fam == 4 ? AF_INET : AF_INET6));
    for (size_t s = 0; s < n_sp; s++) {
      const struct sockaddr *sa = (const struct sockaddr *)&sp[s];
      check(csb_netpolicy_addr_is_non_public(sa) == ref_non_public(target));
      int v = csb_netpolicy_connect_allowed_on(np, &ev, sa, this_host);
      int v0 = csb_netpolicy_connect_allowed_on(np, &ev, (const struct sockaddr *)&sp2[s], this_host);
      check(v == v0); /* port, flow label, scope */
      /* what every spelling of the address gets ... */
      int base = local_binding || (!ref_non_public(target) && !this_host);
      if (first < 0) first = base;
      check(base == first);
      /* ... but the exception for an exactly allow-listed literal, which
       * is its own spelling only (as the rule spells it), or for an
       * exactly allow-listed `localhost`, loopback as 127/8 or ::1 */
      int same = ev.is_ip && sa->sa_family == ev.addr.ss_family &&
                 (sa->sa_family == AF_INET
                      ? memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
                               &((const struct sockaddr_in *)&ev.addr)->sin_addr, 4) == 0
                      : memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                               &((const struct sockaddr_in6 *)&ev.addr)->sin6_addr, 16) == 0);
      int loopback = sa->sa_family == AF_INET ? target.b[0] == 127
                                              : sa->sa_family == AF_INET6 && target.fam == 6 &&
                                                    ref_loopback(target);
      int want = base;
      if (!want && ref_non_public(target))
        want = ev.local_literal_allowed && (ev.is_ip ? same : loopback);
      else if (!want)
        want = ev.is_ip && ev.exact_literal && same;
      check(v == want);
      if (!local_binding && !exact) check(v == base);
      /* no evaluation: nothing local */
      check(csb_netpolicy_connect_allowed_on(np, NULL, sa, this_host) == base);
    }
  }
  csb_netpolicy_free(np);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return csb_fuzz_connect_one(data, size); }
#endif
