/* csb_netpolicy.h - the network half of a csb.policy/v1 document as the
 * proxy enforces it: settings of `network` and `network.proxy`, domain
 * patterns, host normalisation, local/private address classification,
 * limited-mode method rules, MITM hooks, block reasons and their texts.
 *
 * Conventions (1/0 returns, csb_error, _new/_free) are those of
 * csb_base.h. A finished csb_netpolicy is immutable and may be shared
 * between threads for reading.
 *
 * Host policy (docs/csb-proxy.md has the full statement):
 *
 *   1. normalise the host (csb_netpolicy_normalize_host); empty or not a
 *      valid host name / IP literal -> blocked `not_allowed`;
 *   2. a deny pattern matches -> blocked `denied` (deny always wins);
 *   3. local literal (`localhost`, or an IP literal that is not public) and
 *      allow_local_binding off -> allowed only when an exact (wildcard-free)
 *      allow entry names it, else blocked `not_allowed_local`;
 *   4. no allow pattern matches -> `not_allowed` (an approval decider may
 *      still allow it);
 *   5. allowed. For a host name with allow_local_binding off, every address
 *      it resolves to must be public, else `not_allowed_local` (the caller
 *      performs that step after resolution, and checks each address again
 *      right before connect()).
 *
 * Unlike the upstream implementation, step 4 is decided before any DNS
 * lookup, so a name the policy does not allow is never sent to a resolver.
 */
#ifndef CSB_NETPOLICY_H
#define CSB_NETPOLICY_H

#include <stddef.h>
#include <stdint.h>
#if defined(_WIN32)
#include <winsock2.h> /* Windows builds: sockaddr types from Winsock */
#include <ws2tcpip.h>
#else
#include <sys/socket.h>
#endif

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cJSON cJSON;

/* ---- block reasons -------------------------------------------------------- */

typedef enum {
  CSB_BLOCK_NONE = 0,
  CSB_BLOCK_DENIED,
  CSB_BLOCK_METHOD_NOT_ALLOWED,
  CSB_BLOCK_MITM_HOOK_DENIED,
  CSB_BLOCK_MITM_REQUIRED,
  CSB_BLOCK_NOT_ALLOWED,
  CSB_BLOCK_NOT_ALLOWED_LOCAL,
  CSB_BLOCK_POLICY_DENIED,
  CSB_BLOCK_PROXY_DISABLED,
  CSB_BLOCK_UNIX_SOCKET_UNSUPPORTED,
  /* limited mode, a request with a body: reported as `method_not_allowed`
   * (same name and header value), with a message of its own */
  CSB_BLOCK_BODY_NOT_ALLOWED
} csb_block_reason;

/* "denied", "method_not_allowed", ... ("allow" for CSB_BLOCK_NONE). */
const char *csb_block_reason_name(csb_block_reason r);
/* The x-proxy-error header value: "blocked-by-allowlist", ... */
const char *csb_block_header_value(csb_block_reason r);
/* The one-line human message, e.g. "Domain not in allowlist." */
const char *csb_block_message(csb_block_reason r);

/* ---- hosts and addresses -------------------------------------------------- */

/* Upstream normalize_host: trims ASCII whitespace; `[x]...` -> x (with
 * "%25" inside the brackets decoded to "%"); otherwise exactly one ':'
 * strips a port; lowercases; strips trailing dots. Unlike upstream it is
 * idempotent: a result that these rules would change again (`[:]` -> ":",
 * `[a:b]`, `[[x]]`, `[ x]`, `a :80` -> "a ") is no host, and "" is
 * returned for it; valid hosts are never such results. Returns a new
 * string (possibly empty). */
char *csb_netpolicy_normalize_host(const char *host);

/* 1 when a domain pattern names a port (`host:443`, `[::1]:80`,
 * `*.d:8080`), which csb_netpolicy_normalize_host drops. An allow rule
 * that does is refused (csb_netpolicy_add_domain): without its port it
 * would allow the host on every port. */
int csb_netpolicy_pattern_names_port(const char *pattern);

/* Strict IP literal parser: dotted-quad IPv4 (no octal, hex or short
 * forms) or IPv6 (optionally with a %scope, which is ignored). Fills a
 * sockaddr_in/sockaddr_in6 with port 0. Returns 1 when `s` is a literal. */
int csb_netpolicy_parse_ip(const char *s, struct sockaddr_storage *out);

/* 1 when `host` (already normalised) is acceptable as a destination:
 * an IP literal as above, or a DNS name of labels [a-z0-9_-] (1..63
 * characters, total <= 253) whose last label is not all digits and is not
 * a hex number (so "2130706433", "0x7f.1" and "0177.0.0.1" are refused
 * rather than handed to a resolver that would read them as addresses). */
int csb_netpolicy_host_is_valid(const char *host);

/* 1 when the address is not on the public internet (upstream
 * is_non_public_ip, extended): IPv4 0/8, 10/8, 100.64/10, 127/8,
 * 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15,
 * 198.51.100/24, 203.0.113/24, 224/4 (multicast), 240/4 (incl. broadcast),
 * 168.63.129.16 (cloud metadata); IPv6 ::, ::1, ff00::/8, fc00::/7,
 * fe80::/10, fec0::/10, 2001::/32 (Teredo), 64:ff9b:1::/48, and the IPv4
 * rules applied to the embedded address of ::ffff:0:0/96 (mapped),
 * ::/96 (compatible), 64:ff9b::/96 (NAT64) and 2002::/16 (6to4).
 * Unknown families count as non-public. */
int csb_netpolicy_addr_is_non_public(const struct sockaddr *sa);

/* The text an IP literal is compared under by the allow/deny lists: its
 * IPv4 address when it is IPv4-mapped (::ffff:0:0/96) or NAT64
 * (64:ff9b::/96), which reach that IPv4 host, else its canonical form
 * ("2001:0DB8:0::5" -> "2001:db8::5"); the scope is dropped. Written into
 * buf (64 bytes suffice); 0 when `s` is not an IP literal. */
int csb_netpolicy_ip_key(const char *s, char *buf, size_t n);

/* Formats an address as "1.2.3.4" / "::1" (no port) into buf. */
const char *csb_netpolicy_addr_str(const struct sockaddr *sa, char *buf, size_t n);

/* ---- settings --------------------------------------------------------------- */

typedef enum { CSB_NETMODE_FULL = 0, CSB_NETMODE_LIMITED = 1 } csb_netmode;

/* Full: every method. Limited: exactly "GET", "HEAD", "OPTIONS"
 * (case-sensitive). */
int csb_netmode_allows_method(csb_netmode mode, const char *method);
/* Whether a request may carry a body (Content-Length above 0, or any
 * Transfer-Encoding) to the origin. Full: yes. Limited: no, whatever the
 * method: an origin that ignores a body on GET would read it as another
 * request, one the method check never saw, and limited mode is read-only. */
int csb_netmode_allows_request_body(csb_netmode mode);

typedef struct csb_netpolicy_inject {
  char *name;           /* header name */
  char *secret_env_var; /* exactly one of these two */
  char *secret_file;
  char *prefix;         /* may be NULL */
  char *value;          /* the resolved secret (set by csb_netpolicy_finish) */
} csb_netpolicy_inject;

typedef struct csb_netpolicy_action {
  char *name;
  csb_strv strip_request_headers; /* lowercased */
  csb_netpolicy_inject *inject;
  size_t n_inject;
} csb_netpolicy_action;

typedef struct csb_netpolicy_kv {
  char *name;         /* query parameter name, or lowercased header name */
  csb_strv values;    /* any of these (empty: presence is enough) */
} csb_netpolicy_kv;

typedef struct csb_netpolicy_hook {
  char *name;
  char *host;                /* normalised */
  csb_strv methods;          /* uppercased, non-empty */
  csb_strv path_prefixes;    /* non-empty; "pattern:GLOB", "literal:P" or P */
  csb_netpolicy_kv *query;
  size_t n_query;
  csb_netpolicy_kv *headers;
  size_t n_headers;
  size_t *actions;           /* indexes into csb_netpolicy.actions */
  size_t n_actions;
} csb_netpolicy_hook;

typedef struct csb_netpolicy_domain {
  char *pattern; /* normalised */
  int deny;      /* 1 deny, 0 allow */
  /* parsed once when the entry is added: the pattern is an IP literal */
  int is_ip;
  int scoped;                   /* ... with an IPv6 %scope */
  struct sockaddr_storage addr; /* its address (scope ignored) */
  char ip_key[64];              /* the text it is compared under (see allow_matches) */
} csb_netpolicy_domain;

typedef struct csb_netpolicy {
  int enabled;                  /* 0: every request is refused (proxy_disabled) */
  csb_netmode mode;
  int allow_local_binding;
  int allow_upstream_proxy;     /* default 1 */
  int dangerously_allow_non_loopback_proxy;
  int dangerously_allow_all_unix_sockets;
  int enable_socks5;            /* default 1 */
  int enable_socks5_udp;        /* default 1 */
  char *proxy_url;              /* default "http://127.0.0.1:3128" */
  char *socks_url;              /* default "http://127.0.0.1:8081" */
  csb_netpolicy_domain *domains; /* insertion order, strongest kept per pattern */
  size_t n_domains;
  csb_strv unix_sockets;        /* allowed absolute socket paths, sorted */
  csb_strv unix_sockets_real;   /* where they led when csb_netpolicy_finish ran (realpath;
                                   those that existed), sorted: fixed from then on */
  csb_netpolicy_hook *hooks;
  size_t n_hooks;
  csb_netpolicy_action *actions;
  size_t n_actions;
  int mitm;                     /* derived: mode limited or any hook */
  /* compiled state (private): the index of the domain rules that
   * csb_netpolicy_finish builds, freed by csb_netpolicy_free */
  void *compiled_;
} csb_netpolicy;

/* Defaults as in the table above; enabled = 1. */
csb_netpolicy *csb_netpolicy_new(void);
void csb_netpolicy_free(csb_netpolicy *np);

/* Applies the members of a `network.proxy` object (see docs/policy.md):
 * proxy_url, socks_url, enable_socks5, enable_socks5_udp,
 * allow_upstream_proxy, dangerously_allow_non_loopback_proxy, mode,
 * domains, mitm{hooks, actions}. Unknown members, wrong types and invalid
 * values are errors naming the member as `where`.KEY. */
int csb_netpolicy_apply_proxy_json(csb_netpolicy *np, const cJSON *obj,
                                   const char *where, csb_error *err);
/* Applies a csb-proxy --config document (converted to JSON): the
 * network.proxy members plus `enabled`, `allow_local_binding`,
 * `dangerously_allow_all_unix_sockets` and `unix_sockets` (path ->
 * "allow"|"deny"). Members named in `skip` (NULL-terminated, may be NULL)
 * are ignored (the caller handles them). */
int csb_netpolicy_apply_config_json(csb_netpolicy *np, const cJSON *obj,
                                    const char *const *skip, csb_error *err);
/* Adds a domain rule, a deny rule when `deny` is not 0 (pattern
 * normalised; deny wins over allow on the same pattern). Fails on an invalid pattern or a global wildcard in a
 * deny rule. */
int csb_netpolicy_add_domain(csb_netpolicy *np, const char *pattern, int deny,
                             csb_error *err);
/* Sets/clears an allowed Unix socket path (absolute). */
int csb_netpolicy_set_unix_socket(csb_netpolicy *np, const char *path, int allow,
                                  csb_error *err);
/* csb_netpolicy_set_unix_socket for paths[i], allow[i] in turn, i < n
 * (stopping at the first path that is not absolute), in time
 * O((n + listed) log(n + listed)): use it for many. */
int csb_netpolicy_set_unix_sockets(csb_netpolicy *np, const char *const *paths, const int *allow,
                                   size_t n, csb_error *err);
/* Validates cross-field rules, compiles patterns and derives `mitm`. Call
 * once after the apply/add calls and before evaluating. Compiling indexes
 * the domain rules, so that evaluating a host costs the same however many
 * rules name hosts or domains exactly (`a.b`, `*.a.b`, `**.a.b`, IP
 * literals); only rules with other wildcards are tried one by one. Adding
 * a domain rule afterwards drops the index (hosts are then checked
 * against every rule, with the same results) until the next finish. */
int csb_netpolicy_finish(csb_netpolicy *np, csb_error *err);

/* ---- evaluation ---------------------------------------------------------------- */

typedef enum {
  CSB_HOST_ALLOW = 0, /* allowed by the baseline policy (see need_dns_guard) */
  CSB_HOST_BLOCK,     /* blocked; see reason */
  CSB_HOST_ASK        /* not on the allow list: blocked `not_allowed` unless a
                         decider allows it */
} csb_host_decision;

typedef struct csb_host_eval {
  csb_host_decision decision;
  csb_block_reason reason;   /* for BLOCK and ASK */
  char host[256];            /* normalised host (truncated hosts are invalid) */
  int is_ip;                 /* host is an IP literal (addr is set) */
  struct sockaddr_storage addr;
  /* A host name with allow_local_binding off: every resolved address must
   * pass csb_netpolicy_connect_allowed() or the host is `not_allowed_local`. */
  int need_dns_guard;
  /* An exactly allow-listed local literal: connecting to exactly that IP
   * (or, for "localhost", to loopback addresses) is permitted although it
   * is not public. */
  int local_literal_allowed;
  /* The host is an IP literal that an exact (wildcard-free) allow entry
   * names, public or not (see csb_netpolicy_connect_allowed_on). */
  int exact_literal;
} csb_host_eval;

void csb_netpolicy_evaluate_host(const csb_netpolicy *np, const char *host,
                                 csb_host_eval *out);

/* Resolution- and connect-time guard: may a connection for this evaluated
 * host go to `sa`? Public addresses always; non-public ones only with
 * allow_local_binding, or when `sa` equals the exactly allow-listed IP
 * literal, or is a loopback address for an exactly allow-listed
 * "localhost". `ev` may be NULL. */
int csb_netpolicy_connect_allowed(const csb_netpolicy *np, const csb_host_eval *ev,
                                  const struct sockaddr *sa);

/* csb_netpolicy_connect_allowed for an address that the caller found to
 * be one of this host's own (an address of one of its interfaces) when
 * `this_host` is 1. A connection to such an address reaches this host's
 * services (every one listening on a wildcard address) as one to
 * loopback does, so it is local whatever its range: with
 * allow_local_binding off it is allowed only when it is the exactly
 * allow-listed IP literal itself (ev->exact_literal), as a local literal
 * is. `ev` may be NULL. */
int csb_netpolicy_connect_allowed_on(const csb_netpolicy *np, const csb_host_eval *ev,
                                     const struct sockaddr *sa, int this_host);

/* Matches a pattern against a normalised host (pattern semantics as in the
 * allow/deny lists). Exposed for tests and tools. */
int csb_netpolicy_pattern_matches(const char *pattern, const char *host);
/* 1 when any allow/deny entry matches: as written, without an IPv6
 * scope, and for IP literals by address (an IPv4-mapped or NAT64 literal
 * as its IPv4 address), so that no spelling of a denied address escapes;
 * a deny entry for an IPv4 address also matches the IPv6 addresses that
 * lead to it (compatible ::a.b.c.d, 6to4 2002:AABB:CCDD::/48). */
int csb_netpolicy_allow_matches(const csb_netpolicy *np, const char *host);
int csb_netpolicy_deny_matches(const csb_netpolicy *np, const char *host);

/* The reference for the index csb_netpolicy_finish builds: the same three
 * answers found by trying every domain rule in turn, whether the policy
 * has an index or not. For tests, fuzz targets and benchmarks. */
void csb_netpolicy_evaluate_host_linear(const csb_netpolicy *np, const char *host,
                                        csb_host_eval *out);
int csb_netpolicy_allow_matches_linear(const csb_netpolicy *np, const char *host);
int csb_netpolicy_deny_matches_linear(const csb_netpolicy *np, const char *host);

/* 1 when `path` (absolute; the caller resolves it, see csb-proxy) may be
 * used as a Unix socket target: an allowed path, or where one led when
 * csb_netpolicy_finish ran. Nothing is resolved again here: a link a
 * client planted later at an allowed path never widens the list. */
int csb_netpolicy_unix_socket_allowed(const csb_netpolicy *np, const char *path);

/* ---- MITM hooks ------------------------------------------------------------------ */

typedef enum {
  CSB_HOOK_NONE_FOR_HOST = 0, /* no hooks for this host */
  CSB_HOOK_HOST_NO_MATCH,     /* the host has hooks, none matched: deny */
  CSB_HOOK_MATCHED            /* *hook_out is the first matching hook */
} csb_hook_result;

typedef struct csb_hook_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} csb_hook_header;

/* 1 when the header field name[0..len) is `want` as an origin may read
 * it: case-insensitive, and with '_' and '-' alike (servers that map names
 * to variables, CGI and WSGI, read X_Token as X-Token). Hooks match,
 * strip and replace header fields by this comparison. */
int csb_netpolicy_hook_header_is(const char *name, size_t len, const char *want);
/* 1 when at least one hook names this (normalised) host. */
int csb_netpolicy_host_has_hooks(const csb_netpolicy *np, const char *host);
/* 1 (with the message in buf) when hooks cannot be enforced as configured:
 * full mode with an allow entry matching every host (`*`), so that an
 * opaque tunnel to any other name or address can carry requests for a
 * hooked host (a Host header inside a TLS session that names the tunnel's
 * host, or a cleartext protocol) that no hook sees. */
int csb_netpolicy_hooks_unenforceable(const csb_netpolicy *np, char *buf, size_t n);
/* Evaluates the hooks of `host` against a request. `target` is the
 * origin-form request target (path plus optional "?query"). */
csb_hook_result csb_netpolicy_match_hooks(const csb_netpolicy *np, const char *host,
                                          const char *method, const char *target,
                                          const csb_hook_header *headers, size_t n_headers,
                                          const csb_netpolicy_hook **hook_out);

#ifdef __cplusplus
}
#endif

#endif /* CSB_NETPOLICY_H */
