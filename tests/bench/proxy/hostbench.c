/* hostbench - what csb-proxy's host check costs with a large domain list.
 *
 *   hostbench [--rules N] [--globs N] [--hosts N] [--rounds N] [--min-secs S]
 *
 * Builds a policy of N domain rules (default 80,000, like a downloaded
 * blocklist), loaded as csb-proxy loads network.proxy.domains: --globs of
 * them with wildcards other than a leading `*.` or `**.` (default 200),
 * the others mostly exact names and `*.domain` rules, some `**.domain`
 * rules and IP literals; every tenth rule a deny. Then evaluates --hosts
 * hosts (default 4096: listed names, subdomains of listed domains, denied
 * ones, names on no list, IP literals, in upper case and with trailing dots
 * now and then) with csb_netpolicy_evaluate_host (the index
 * csb_netpolicy_finish builds) and with csb_netpolicy_evaluate_host_linear
 * (every rule in turn, as before the index), side by side: in every round
 * each path runs for at least --min-secs of CPU time (default 0.3), the
 * paths taking turns at going first. Prints the medians over --rounds
 * rounds (default 5) of evaluations per CPU second and ns per evaluation
 * for both, and the median of the per-round ratios. Every answer of
 * either path is checked against the index's answer for that host; a
 * difference exits 1.
 * Not a test: prints numbers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchstat.h"
#include "cJSON.h"
#include "csb_netpolicy.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
  fclose(f);
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* xorshift64*: the same hosts on every run */
static unsigned rnd(unsigned long long *s, unsigned n) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (unsigned)((*s * 2685821657736338717ull) >> 33) % n;
}

/* The rule kinds, by i % 100 of the rule number i (globs come on top). */
enum { EXACT, SUB, SELF, IP };
static int kind_of(unsigned i) {
  unsigned k = i % 100;
  return k < 60 ? EXACT : k < 92 ? SUB : k < 99 ? SELF : IP;
}

static void rule(unsigned i, char *buf, size_t n) {
  switch (kind_of(i)) {
    case EXACT: snprintf(buf, n, "host%u.site%u.com", i, i % 977); break;
    case SUB: snprintf(buf, n, "*.dom%u.net", i); break;
    case SELF: snprintf(buf, n, "**.zone%u.org", i); break;
    default: snprintf(buf, n, "%u.%u.%u.%u", 20 + i % 200, (i >> 8) & 255, i & 255, 1 + i % 250); break;
  }
}

static void glob_rule(unsigned g, char *buf, size_t n) {
  switch (g % 4) {
    case 0: snprintf(buf, n, "ads%u-*.tracker.io", g); break;
    case 1: snprintf(buf, n, "[ab]cdn%u.edge.example", g); break;
    case 2: snprintf(buf, n, "*.m?%u.metrics.test", g); break;
    default: snprintf(buf, n, "**.t*%u.spam.example", g); break;
  }
}

static void host(unsigned long long *s, unsigned rules, unsigned globs, char *buf, size_t n) {
  unsigned i = rnd(s, rules), pick = rnd(s, 100);
  char r[128];
  rule(i, r, sizeof r);
  if (pick < 30) { /* a host the rule names: the name, a subdomain, the apex */
    switch (kind_of(i)) {
      case EXACT: snprintf(buf, n, "%s", r); break;
      case SUB: snprintf(buf, n, "api.v%u.%s", rnd(s, 9), r + 2); break;
      case SELF: snprintf(buf, n, pick % 2 ? "%s" : "www.%s", r + 3); break;
      default: snprintf(buf, n, pick % 2 ? "%s" : "[::ffff:%s]:443", r); break;
    }
  } else if (pick < 40) { /* a listed domain spelt otherwise */
    unsigned j = i - i % 100 + 60 + rnd(s, 32); /* a `*.domain` rule */
    snprintf(buf, n, "WWW.DOM%u.NET.", j < rules ? j : i);
  } else if (pick < 45 && globs) {
    unsigned g = rnd(s, globs);
    switch (g % 4) {
      case 0: snprintf(buf, n, "ads%u-x.tracker.io", g); break;
      case 1: snprintf(buf, n, "bcdn%u.edge.example", g); break;
      case 2: snprintf(buf, n, "a.mx%u.metrics.test", g); break;
      default: snprintf(buf, n, "tt%u.spam.example", g); break;
    }
  } else if (pick < 85) { /* on no list */
    snprintf(buf, n, "%s%u.example%u.com", pick % 3 ? "cdn" : "www", rnd(s, 1000000), rnd(s, 100));
  } else if (pick < 95) {
    snprintf(buf, n, "%u.%u.%u.%u", 1 + rnd(s, 223), rnd(s, 256), rnd(s, 256), 1 + rnd(s, 254));
  } else {
    snprintf(buf, n, "[2001:db8::%x]", rnd(s, 65536));
  }
}

int main(int argc, char **argv) {
  unsigned rules = 80000, globs = 200, n_hosts = 4096;
  int rounds = 5;
  double min_secs = 0.3;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) goto usage;
    if (strcmp(a, "--rules") == 0)
      rules = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "--globs") == 0)
      globs = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "--hosts") == 0)
      n_hosts = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "--rounds") == 0)
      rounds = atoi(v);
    else if (strcmp(a, "--min-secs") == 0)
      min_secs = atof(v);
    else
      goto usage;
    i++;
  }
  if (globs >= rules || n_hosts == 0 || rounds < 1 || rounds > 100 || min_secs <= 0) goto usage;
  unsigned named = rules - globs; /* exact names, `*.`/`**.` domains, IP literals */

  /* loaded as csb-proxy loads a policy's network.proxy.domains */
  cJSON *domains = cJSON_CreateObject();
  char buf[256];
  unsigned kinds[4] = {0}, denies = 0;
  for (unsigned i = 0; i < rules; i++) {
    int deny = i % 10 == 0;
    if (i < named) {
      rule(i, buf, sizeof buf);
      kinds[kind_of(i)]++;
    } else {
      glob_rule(i - named, buf, sizeof buf);
    }
    denies += deny;
    cJSON_AddItemToObject(domains, buf, cJSON_CreateString(deny ? "deny" : "allow"));
  }
  cJSON *proxy = cJSON_CreateObject();
  cJSON_AddItemToObject(proxy, "domains", domains);
  csb_netpolicy *np = csb_netpolicy_new();
  csb_error err;
  csb_error_clear(&err);
  if (!csb_netpolicy_apply_proxy_json(np, proxy, "network.proxy", &err)) {
    fprintf(stderr, "hostbench: %s\n", err.msg);
    return 1;
  }
  cJSON_Delete(proxy);
  long rss0 = rss_kib();
  double t0 = cpu_now();
  if (!csb_netpolicy_finish(np, &err)) {
    fprintf(stderr, "hostbench: %s\n", err.msg);
    return 1;
  }
  double build_ms = (cpu_now() - t0) * 1e3;
  long index_kib = rss_kib() - rss0;

  char **hosts = calloc(n_hosts, sizeof *hosts);
  csb_host_decision *want = calloc(n_hosts, sizeof *want);
  csb_block_reason *want_reason = calloc(n_hosts, sizeof *want_reason);
  unsigned outcome[4] = {0}; /* allowed, denied, not listed, local */
  unsigned long long seed = 0x686f737462656e63ull;
  for (unsigned h = 0; h < n_hosts; h++) {
    host(&seed, named, globs, buf, sizeof buf);
    hosts[h] = strdup(buf);
    csb_host_eval ev;
    csb_netpolicy_evaluate_host(np, hosts[h], &ev);
    want[h] = ev.decision;
    want_reason[h] = ev.reason;
    outcome[ev.decision == CSB_HOST_ALLOW         ? 0
            : ev.reason == CSB_BLOCK_DENIED       ? 1
            : ev.decision == CSB_HOST_ASK         ? 2
                                                  : 3]++;
  }

  printf("host policy: %u rules (%u exact names, %u *.domain, %u **.domain, %u IP literals, %u other globs; "
         "%u deny), %u hosts (%u allowed, %u denied, %u not listed, %u local), %d rounds\n",
         rules, kinds[EXACT], kinds[SUB], kinds[SELF], kinds[IP], globs, denies,
         n_hosts, outcome[0], outcome[1], outcome[2], outcome[3], rounds);
  printf("index: built in %.1f ms of CPU by csb_netpolicy_finish, %.1f MiB (RSS growth)\n", build_ms,
         (double)index_kib / 1024);

  double *rate[2], *ns[2], *ratio = calloc((size_t)rounds, sizeof *ratio);
  for (int p = 0; p < 2; p++) {
    rate[p] = calloc((size_t)rounds, sizeof *rate[p]);
    ns[p] = calloc((size_t)rounds, sizeof *ns[p]);
  }
  unsigned long long mismatches = 0, cursor[2] = {0, 0};
  for (int r = 0; r < rounds; r++) {
    for (int turn = 0; turn < 2; turn++) {
      int p = (r + turn) % 2; /* 0 indexed, 1 linear */
      unsigned long long evals = 0;
      double start = cpu_now(), elapsed;
      do {
        for (int k = 0; k < 16; k++) {
          unsigned h = (unsigned)(cursor[p]++ % n_hosts);
          csb_host_eval ev;
          if (p == 0)
            csb_netpolicy_evaluate_host(np, hosts[h], &ev);
          else
            csb_netpolicy_evaluate_host_linear(np, hosts[h], &ev);
          mismatches += ev.decision != want[h] || ev.reason != want_reason[h];
          evals++;
        }
        elapsed = cpu_now() - start;
      } while (elapsed < min_secs);
      rate[p][r] = (double)evals / elapsed;
      ns[p][r] = elapsed * 1e9 / (double)evals;
    }
    ratio[r] = rate[0][r] / rate[1][r];
  }
  if (mismatches) {
    fprintf(stderr, "hostbench: %llu answers of the linear scan differ from the index's\n", mismatches);
    return 1;
  }
  double rate_i = bench_median(rate[0], rounds), rate_l = bench_median(rate[1], rounds);
  double ns_i = bench_median(ns[0], rounds), ns_l = bench_median(ns[1], rounds);
  printf("%-34s %14s %14s\n", "", "evaluations/s", "ns/evaluation");
  printf("%-34s %14.0f %14.0f\n", "indexed (csb_netpolicy_finish)", rate_i, ns_i);
  printf("%-34s %14.0f %14.0f\n", "linear (every rule in turn)", rate_l, ns_l);
  printf("indexed / linear: %.0fx (median of per-round ratios; evaluations per CPU second)\n",
         bench_median(ratio, rounds));
  for (unsigned h = 0; h < n_hosts; h++) free(hosts[h]);
  free(hosts);
  free(want);
  free(want_reason);
  for (int p = 0; p < 2; p++) {
    free(rate[p]);
    free(ns[p]);
  }
  free(ratio);
  csb_netpolicy_free(np);
  return 0;

usage:
  fprintf(stderr,
          "usage: hostbench [--rules N] [--globs N (< rules)] [--hosts N] [--rounds N (1-100)] [--min-secs S]\n");
  return 64;
}
