/* csb_proxyenv.h - the proxy variables of an environment (HTTP_PROXY &
 * co.): which names they have and how a loopback proxy URL in one of them
 * is read. One definition for csb-bwrap (the routes of network mode
 * `proxy`), libs/sbpl (the ports a Seatbelt profile opens), csb-proxy (what
 * it exports to its child and reads for its own upstream) and the tests.
 *
 * Conventions (1/0 returns, ownership, no global mutable state) are those
 * of csb_base.h. Everything here is pure: environments are passed in as
 * NULL-terminated KEY=VALUE arrays, never read from the process.
 */
#ifndef CSB_PROXYENV_H
#define CSB_PROXYENV_H

#include <stddef.h>

#include "csb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the variables -------------------------------------------------------- */

/* Flags of a variable. */
enum {
  /* Tools also read the lower-case spelling as a convention (curl, wget,
   * npm, ...); csb-proxy exports both spellings. */
  CSB_PROXYENV_LOWER_TOO = 1,
  /* Holds a proxy for any protocol (ALL_PROXY, FTP_PROXY): csb-proxy points
   * it at its SOCKS5 listener when it has one. */
  CSB_PROXYENV_ANY_PROTOCOL = 2,
};

typedef struct csb_proxyenv_var {
  const char *upper; /* "HTTP_PROXY" */
  const char *lower; /* "http_proxy" */
  unsigned flags;
} csb_proxyenv_var;

/* The proxy URL variables, in this order: HTTP_PROXY, HTTPS_PROXY,
 * WS_PROXY, WSS_PROXY, ALL_PROXY, FTP_PROXY, YARN_HTTP_PROXY,
 * YARN_HTTPS_PROXY, NPM_CONFIG_HTTP_PROXY, NPM_CONFIG_HTTPS_PROXY,
 * NPM_CONFIG_PROXY, BUNDLE_HTTP_PROXY, BUNDLE_HTTPS_PROXY, PIP_PROXY,
 * DOCKER_HTTP_PROXY, DOCKER_HTTPS_PROXY (a constant table). */
#define CSB_PROXYENV_N_VARS 16
extern const csb_proxyenv_var csb_proxyenv_vars[CSB_PROXYENV_N_VARS];

/* 1 when name[0..n) names one of the variables, in any letter case. */
int csb_proxyenv_is_var(const char *name, size_t n);

/* 1 when s is empty or only white space (an unset proxy, for every tool). */
int csb_proxyenv_is_blank(const char *s);

/* The value of `upper` in envp, or, when that is unset or blank, of
 * `lower`; NULL when both are unset or blank. *name_out (may be NULL)
 * receives the spelling that was used. */
const char *csb_proxyenv_get(char *const *envp, const char *upper, const char *lower,
                             const char **name_out);

/* ---- loopback proxy URLs --------------------------------------------------- */

/* A proxy URL naming a proxy on this host:
 *
 *     [SCHEME://][USERINFO@]HOST[:PORT][/PATH][?QUERY][#FRAGMENT]
 *
 * with white space around it ignored; SCHEME as in RFC 3986 (a letter, then
 * letters, digits, '+', '-', '.'); USERINFO ends at the last '@' before the
 * path; HOST is `localhost` (any case), `127.0.0.1` or `[::1]`; PORT is
 * decimal 1-65535, and when it is absent (or empty) the scheme's default
 * applies: 443 for https, 1080 for socks* schemes, 80 otherwise (also when
 * there is no scheme). */
typedef struct csb_proxyenv_url {
  const char *addr; /* "127.0.0.1" or "::1" (static strings) */
  int port;
  /* HOST[:PORT] is value[authority_start, authority_end); the URL itself
   * (white space trimmed) is value[url_start, url_end). */
  size_t url_start, url_end;
  size_t authority_start, authority_end;
} csb_proxyenv_url;

/* Parses `value` as above; 0 for anything else (another host, a bad
 * scheme or port, brackets around anything but ::1). */
int csb_proxyenv_parse_loopback(const char *value, csb_proxyenv_url *out);

/* The loopback proxy URL `value` pointed at 127.0.0.1:port instead
 * (scheme, user information and path kept; surrounding white space
 * dropped), or NULL when `value` is not a loopback proxy URL. Caller
 * frees. */
char *csb_proxyenv_rewrite_loopback(const char *value, int port);

#ifdef __cplusplus
}
#endif

#endif /* CSB_PROXYENV_H */
