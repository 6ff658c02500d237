// Differential property test of the domain index (index.c): for random
// policies and hosts derived from their patterns, the indexed evaluation
// answers exactly as the linear reference (every rule in turn) does.
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "csb_netpolicy.h"

namespace {

// splitmix64: a fixed seed gives the same policies on every run.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n ? (size_t)(Next() % n) : 0; }
  bool OneIn(size_t n) { return Below(n) == 0; }
  template <typename T, size_t N>
  const T &Pick(const T (&a)[N]) {
    return a[Below(N)];
  }
  const std::string &Pick(const std::vector<std::string> &v) { return v[Below(v.size())]; }
};

// Few labels, so that random names share suffixes and collide.
const char *const kLabels[] = {"a", "b", "ex", "api", "x-y", "c0", "_s", "ab", "b1", "test", "com"};
const char *const kTlds[] = {"com", "test", "io", "ab"};
const char *const kV4[] = {"127.0.0.1", "10.0.0.1", "1.2.3.4", "93.184.216.34", "192.168.1.1",
                           "8.8.8.8", "169.254.169.254", "0.0.0.0", "1.2.3.5"};
const char *const kV6[] = {"::1", "fe80::1", "fe80::1%lo0", "fe80::1%eth0", "2001:db8::5", "2001:db8::6",
                           "::ffff:1.2.3.4", "64:ff9b::102:304", "::ffff:127.0.0.1", "fd00::1",
                           "2606:4700::1111", "::", "::ffff:7f00:1", "fe80::a%lo0"};
const char *const kScopes[] = {"lo0", "eth0", "LO0", "1"};

std::string Label(Rng &r) { return r.Pick(kLabels); }

std::string Domain(Rng &r) {
  std::string d = r.Pick(kTlds);
  size_t n = 1 + r.Below(3);
  for (size_t i = 0; i < n; i++) d = Label(r) + "." + d;
  return d;
}

std::string Upper(std::string s) {
  for (char &c : s)
    if (c >= 'a' && c <= 'z') c = (char)(c - 32);
  return s;
}

std::string RandomCase(Rng &r, std::string s) {
  for (char &c : s)
    if (c >= 'a' && c <= 'z' && r.OneIn(3)) c = (char)(c - 32);
  return s;
}

// A glob that is not one of the indexed forms: a wildcard or class inside
// a label, several stars, `*.*.`, a bare `*`.
std::string GeneralGlob(Rng &r) {
  std::string d = Domain(r);
  switch (r.Below(10)) {
    case 0: return Label(r) + "*." + d;
    case 1: return "*." + Label(r) + "?." + d;
    case 2: return "**.[ab]" + d.substr(1);
    case 3: return "*.*." + d;
    case 4: return "[!a]*." + d;
    case 5: return "*" + d.substr(d.find('.'));
    case 6: return "**.*" + Label(r) + "." + r.Pick(kTlds);
    case 7: return std::string(r.Pick(kV4)).substr(0, 6) + "*";
    case 8: return "fe80::?";
    default: {
      std::string g = d;
      g[r.Below(g.size())] = '?';
      return g;
    }
  }
}

std::string IpPattern(Rng &r) {
  switch (r.Below(6)) {
    case 0:
    case 1: return r.Pick(kV4);
    case 2:
    case 3: return r.Pick(kV6);
    case 4: return "[" + std::string(r.Pick(kV6)) + "]";
    default: return "[fe80::1%25" + std::string(r.Pick(kScopes)) + "]";
  }
}

std::string Pattern(Rng &r) {
  switch (r.Below(14)) {
    case 0:
    case 1:
    case 2: return Domain(r);
    case 3:
    case 4: return "*." + Domain(r);
    case 5:
    case 6: return "**." + Domain(r);
    case 7:
    case 8: return GeneralGlob(r);
    case 9:
    case 10: return IpPattern(r);
    case 11: return r.OneIn(2) ? "localhost" : "*.localhost";
    case 12: return r.OneIn(4) ? "*" : "**." + std::string(r.Pick(kTlds));
    default: return "*." + std::string(r.Pick(kV4)).substr(2);  // `*.0.0.1`, `*.2.3.4`, ...
  }
}

// Another spelling of the same IP address, or the address itself.
std::string Respell(Rng &r, const std::string &ip) {
  unsigned a, b, c, d;
  char tail;
  if (sscanf(ip.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) {
    char buf[96];
    switch (r.Below(6)) {
      case 0: snprintf(buf, sizeof buf, "::ffff:%s", ip.c_str()); break;
      case 1: snprintf(buf, sizeof buf, "[64:ff9b::%s]:443", ip.c_str()); break;
      case 2: snprintf(buf, sizeof buf, "::FFFF:%x:%x", (a << 8) | b, (c << 8) | d); break;
      case 3: snprintf(buf, sizeof buf, "[0:0:0:0:0:ffff:%s]", ip.c_str()); break;
      case 4: snprintf(buf, sizeof buf, "%s:8080", ip.c_str()); break;
      default: snprintf(buf, sizeof buf, "%s.", ip.c_str()); break;
    }
    return buf;
  }
  std::string s = ip;
  switch (r.Below(6)) {
    case 0: return "[" + s + "]:443";
    case 1: return Upper(s);
    case 2: {
      size_t p = s.find("::");
      if (p != std::string::npos) s.replace(p, 2, ":0:");
      return s;  // "fe80:0:1": another address, or no address at all
    }
    case 3: return s.find('%') == std::string::npos ? "[" + s + "%25" + r.Pick(kScopes) + "]" : s;
    case 4: {
      size_t p = s.find('%');
      return p == std::string::npos ? s + "%" + r.Pick(kScopes) : s.substr(0, p);
    }
    default: {
      size_t p = s.find("::");
      if (p != std::string::npos && s.find('.') == std::string::npos) s.replace(p, 2, ":0:0::");
      return s;
    }
  }
}

// A host a pattern was written for, or one near it.
std::string HostFrom(Rng &r, std::string p) {
  // the body: wildcards filled in with labels or characters
  std::string h;
  for (size_t i = 0; i < p.size(); i++) {
    char c = p[i];
    if (c == '*') {
      size_t n = r.Below(3);
      for (size_t k = 0; k < n; k++) h += (k ? "." : "") + Label(r);
    } else if (c == '?') {
      h += (char)('a' + r.Below(4));
    } else if (c == '[') {
      size_t e = p.find(']', i + 1);
      if (e == std::string::npos) e = p.size() - 1;
      h += r.OneIn(2) ? p[i + 1] == '!' ? 'c' : p[i + 1] : 'z';
      i = e;
    } else {
      h += c;
    }
  }
  while (!h.empty() && h[0] == '.' && r.OneIn(2)) h.erase(0, 1);
  switch (r.Below(16)) {
    case 0: h = Label(r) + "." + h; break;                                 // subdomain
    case 1: h = Label(r) + "." + Label(r) + "." + h; break;                // deeper
    case 2: h = h.find('.') == std::string::npos ? h : h.substr(h.find('.') + 1); break;  // parent
    case 3: h = RandomCase(r, h); break;
    case 4: h += r.OneIn(2) ? "." : ".."; break;
    case 5: h = "evil" + h; break;                                          // near miss
    case 6: h += "x"; break;
    case 7: if (!h.empty()) h[r.Below(h.size())] = 'q'; break;
    case 8: h = Respell(r, h); break;
    case 9: h = Respell(r, h); h = RandomCase(r, h); break;
    case 10: h = "[" + h + "]:" + std::to_string(r.Below(70000)); break;
    case 11: h = "." + h; break;
    case 12: h = "a." + h; break;
    default: break;
  }
  return h;
}

const char *const kOdd[] = {"", " ", ".", "..", "..a.com", "a..b.com", "-", "*", "localhost",
                            "LOCALHOST.", "[:]", "[::1]", "[::1%25lo0]:80", "::1%", "x.", "%25",
                            "fe80::1%lo0", "FE80::1%LO0", "127.0.0.1:80", "2130706433", "0x7f.1",
                            "a b", "[a:b]", "a:b:c", "::ffff:127.0.0.1", "[64:ff9b::7f00:1]"};

std::string Host(Rng &r, const std::vector<std::string> &pats) {
  if (r.OneIn(12)) return r.Pick(kOdd);
  if (r.OneIn(12)) return Domain(r);
  if (r.OneIn(12)) return Respell(r, r.OneIn(2) ? r.Pick(kV4) : r.Pick(kV6));
  if (r.OneIn(40)) return std::string(300, 'a') + "%lo0";  // longer than a host can be
  if (pats.empty()) return Domain(r);
  return HostFrom(r, r.Pick(pats));
}

std::string Describe(const csb_host_eval &ev) {
  return std::string(csb_block_reason_name(ev.reason)) + " decision=" + std::to_string(ev.decision) +
         " host=" + ev.host + " is_ip=" + std::to_string(ev.is_ip) + " guard=" +
         std::to_string(ev.need_dns_guard) + " local=" + std::to_string(ev.local_literal_allowed);
}

struct Counts {
  std::map<std::string, size_t> outcome;
  size_t hosts = 0;
};

struct PolicyFree {
  void operator()(csb_netpolicy *np) const { csb_netpolicy_free(np); }
};
using PolicyPtr = std::unique_ptr<csb_netpolicy, PolicyFree>;

// Checks every answer of one policy for `hosts` random hosts.
void Compare(const csb_netpolicy *np, Rng &r, const std::vector<std::string> &pats, size_t hosts,
             const std::string &what, Counts *counts) {
  for (size_t i = 0; i < hosts; i++) {
    std::string h = Host(r, pats);
    csb_host_eval a, b;
    csb_netpolicy_evaluate_host(np, h.c_str(), &a);
    csb_netpolicy_evaluate_host_linear(np, h.c_str(), &b);
    std::string ctx = what + "\nhost: \"" + h + "\"";
    ASSERT_EQ(Describe(a), Describe(b)) << ctx;
    ASSERT_EQ(memcmp(&a.addr, &b.addr, sizeof a.addr), 0) << ctx;
    const char *forms[] = {h.c_str(), a.host};
    for (const char *f : forms) {
      ASSERT_EQ(csb_netpolicy_allow_matches(np, f), csb_netpolicy_allow_matches_linear(np, f))
          << ctx << "\nallow_matches(\"" << f << "\")";
      ASSERT_EQ(csb_netpolicy_deny_matches(np, f), csb_netpolicy_deny_matches_linear(np, f))
          << ctx << "\ndeny_matches(\"" << f << "\")";
    }
    counts->outcome[a.decision == CSB_HOST_ALLOW ? (a.local_literal_allowed ? "allow-local" : "allow")
                                                 : csb_block_reason_name(a.reason)]++;
    counts->hosts++;
  }
}

// A random policy of up to `max_rules` rules: every kind of pattern, allow
// and deny, the same pattern again (also spelt otherwise, also in the
// other list), `*` in the allow list.
void RandomPolicy(csb_netpolicy *np, Rng &r, size_t max_rules, std::vector<std::string> *pats,
                  std::string *what) {
  np->allow_local_binding = r.OneIn(3);
  size_t n = r.Below(max_rules + 1);
  *what += "allow_local_binding=" + std::to_string(np->allow_local_binding) + "\n";
  for (size_t i = 0; i < n; i++) {
    std::string p;
    if (!pats->empty() && r.OneIn(6)) {
      p = r.Pick(*pats);
      if (r.OneIn(2)) p = RandomCase(r, p);
      if (r.OneIn(3)) p += ".";
    } else {
      p = Pattern(r);
    }
    int deny = r.OneIn(3);
    csb_error err;
    csb_error_clear(&err);
    if (!csb_netpolicy_add_domain(np, p.c_str(), deny, &err)) continue;  // `*` denied, ...
    pats->push_back(p);
    *what += (deny ? "deny  " : "allow ") + p + "\n";
  }
}

// `rounds` random policies of up to `max_rules` rules, `hosts` hosts
// compared on each. With `add_after_finish`, as many rules again are added
// after csb_netpolicy_finish (which drops the index: the answers stay the
// reference's) and the hosts compared before and after finishing again.
void Rounds(uint64_t seed, int rounds, size_t max_rules, size_t hosts, bool add_after_finish,
            Counts *counts) {
  Rng r(seed);
  for (int round = 0; round < rounds; round++) {
    PolicyPtr np(csb_netpolicy_new());
    std::vector<std::string> pats;
    std::string what;
    RandomPolicy(np.get(), r, max_rules, &pats, &what);
    csb_error err;
    ASSERT_TRUE(csb_netpolicy_finish(np.get(), &err)) << err.msg;
    ASSERT_NE(np->compiled_, nullptr);
    if (add_after_finish) {
      RandomPolicy(np.get(), r, max_rules, &pats, &what);
      Compare(np.get(), r, pats, hosts, what, counts);
      if (::testing::Test::HasFatalFailure()) return;
      ASSERT_TRUE(csb_netpolicy_finish(np.get(), &err)) << err.msg;
    }
    if (pats.size() > 100) what = "(" + std::to_string(pats.size()) + " rules)";
    Compare(np.get(), r, pats, hosts, what, counts);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(Index, AnswersAsTheLinearScan) {
  Counts counts;
  Rounds(0x6e70696e646578ull, 3000, 40, 40, false, &counts);
  // every outcome turns up often: the hosts exercise the policies
  for (const char *o : {"allow", "allow-local", "denied", "not_allowed", "not_allowed_local"})
    EXPECT_GT(counts.outcome[o], counts.hosts / 100) << o;
}

// Many rules: long probe runs in the table, many names per suffix.
TEST(Index, ManyRules) {
  Counts counts;
  Rounds(0x4d616e79ull, 4, 5000, 1500, false, &counts);
}

TEST(Index, RulesAddedAfterFinish) {
  Counts counts;
  Rounds(0x4166746572ull, 200, 20, 20, true, &counts);
}

// The cases the index must get exactly right, spelt out.
TEST(Index, KnownCases) {
  PolicyPtr owner(csb_netpolicy_new());
  csb_netpolicy *np = owner.get();
  csb_error err;
  const char *const allow[] = {"example.com", "*.sub.test", "**.both.test", "*", "127.0.0.1",
                               "fe80::1%lo0", "::1", "[2001:db8::5]", "localhost"};
  const char *const deny[] = {"bad.example.com", "*.evil.test", "**.worse.test", "93.184.216.34",
                              "2001:db8::6", "*.sub.test"};
  for (const char *p : allow) ASSERT_TRUE(csb_netpolicy_add_domain(np, p, 0, &err)) << err.msg;
  for (const char *p : deny) ASSERT_TRUE(csb_netpolicy_add_domain(np, p, 1, &err)) << err.msg;
  ASSERT_TRUE(csb_netpolicy_add_domain(np, "two.test", 2, &err)) << err.msg;  // any non-zero denies
  ASSERT_TRUE(csb_netpolicy_finish(np, &err)) << err.msg;
  ASSERT_NE(np->compiled_, nullptr);
  struct {
    const char *host;
    csb_host_decision decision;
    csb_block_reason reason;
  } const cases[] = {
      {"BAD.Example.COM.", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"x.evil.test", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"evil.test", CSB_HOST_ALLOW, CSB_BLOCK_NONE},  // `*.` is subdomains only
      {"worse.test", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"a.b.worse.test", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"notworse.test", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"a.sub.test", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},  // deny wins on the same pattern
      {"[::ffff:93.184.216.34]:443", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"64:ff9b::5db8:d822", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"[::93.184.216.34]", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},       // IPv4-compatible
      {"2002:5db8:d822::1", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},       // 6to4 of the denied host
      {"[2002:5db8:d823::1]:443", CSB_HOST_ALLOW, CSB_BLOCK_NONE},   // 6to4 of another one
      {"::5db8:d823", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"[2001:DB8:0::6]", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
      {"127.0.0.1", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"127.0.0.2", CSB_HOST_BLOCK, CSB_BLOCK_NOT_ALLOWED_LOCAL},
      {"::ffff:127.0.0.1", CSB_HOST_BLOCK, CSB_BLOCK_NOT_ALLOWED_LOCAL},  // exact means this family
      {"[fe80::1%25lo0]", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"fe80::1%eth0", CSB_HOST_BLOCK, CSB_BLOCK_NOT_ALLOWED_LOCAL},
      {"fe80::1", CSB_HOST_BLOCK, CSB_BLOCK_NOT_ALLOWED_LOCAL},
      {"[0:0::1]", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"::1%lo0", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"LOCALHOST.", CSB_HOST_ALLOW, CSB_BLOCK_NONE},
      {"10.0.0.1", CSB_HOST_BLOCK, CSB_BLOCK_NOT_ALLOWED_LOCAL},
      {"two.test", CSB_HOST_BLOCK, CSB_BLOCK_DENIED},
  };
  for (const auto &c : cases) {
    csb_host_eval a, b;
    csb_netpolicy_evaluate_host(np, c.host, &a);
    csb_netpolicy_evaluate_host_linear(np, c.host, &b);
    EXPECT_EQ(a.decision, c.decision) << c.host;
    EXPECT_EQ(a.reason, c.reason) << c.host;
    EXPECT_EQ(Describe(a), Describe(b)) << c.host;
  }
}

}  // namespace
