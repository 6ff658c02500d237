/* csb-proxy - a filtering HTTP/CONNECT/SOCKS5 proxy with optional TLS
 * interception, run in front of a command (chain-loading) or as a daemon.
 * See docs/csb-proxy.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "csb_cli.h"
#include "csb_paths.h"
#include "csb_policy.h"
#include "csb_tlsutil.h"
#include "env.h"

extern char **environ;

enum {
  OPT_POLICY = 1,
  OPT_CONFIG,
  OPT_LISTEN,
  OPT_SOCKS_LISTEN,
  OPT_PRINT_ENV,
  OPT_FORMAT,
  OPT_READY_FD,
  OPT_AUDIT,
  OPT_AUDIT_META,
  OPT_DECIDER,
  OPT_DECIDER_TIMEOUT,
  OPT_HOSTS_FILE,
  OPT_UPSTREAM_CA,
  OPT_CA_DIR,
  OPT_MAX_CONN,
  OPT_MAX_HEADER,
  OPT_IDLE,
  OPT_HANDSHAKE,
  OPT_DNS_TIMEOUT,
  OPT_RESOLVERS,
  OPT_LEAF_CACHE,
  OPT_RELAY,
  OPT_STRIP,
  OPT_NO_PROXY,
  OPT_VERBOSE
};

static const csb_cli_opt k_opts[] = {
    {"policy", 'p', CSB_ARG_REQUIRED, OPT_POLICY, "FILE", "policy document (csb.policy/v1); - reads stdin, as does no --policy (without --config) when stdin is not a terminal"},
    {"config", 0, CSB_ARG_REQUIRED, OPT_CONFIG, "FILE", "proxy settings in TOML (overrides the policy's)"},
    {"listen", 0, CSB_ARG_REQUIRED, OPT_LISTEN, "ADDR", "HTTP listener (default: ephemeral with -- CMD, else proxy_url)"},
    {"socks-listen", 0, CSB_ARG_REQUIRED, OPT_SOCKS_LISTEN, "ADDR", "SOCKS5 listener (default likewise, socks_url)"},
    {"print-env", 0, CSB_ARG_NONE, OPT_PRINT_ENV, NULL, "print the child environment once listening, keep serving"},
    {"format", 0, CSB_ARG_REQUIRED, OPT_FORMAT, "sh|json", "format of --print-env (default sh)"},
    {"ready-fd", 0, CSB_ARG_REQUIRED, OPT_READY_FD, "N", "write the listener addresses to fd N when ready"},
    {"audit", 0, CSB_ARG_REQUIRED, OPT_AUDIT, "FILE|fd:N", "append one JSON line per policy decision"},
    {"audit-meta", 0, CSB_ARG_LIST, OPT_AUDIT_META, "KEY=VALUE", "metadata field for audit events (repeatable, once per KEY)"},
    {"decider", 0, CSB_ARG_REQUIRED, OPT_DECIDER, "CMD", "ask CMD (JSON lines) about hosts not on the lists"},
    {"decider-timeout", 0, CSB_ARG_REQUIRED, OPT_DECIDER_TIMEOUT, "TIME", "deny when no answer in time (30s)"},
    {"hosts-file", 0, CSB_ARG_REQUIRED, OPT_HOSTS_FILE, "FILE", "resolve names from FILE only, never DNS"},
    {"upstream-ca", 0, CSB_ARG_REQUIRED, OPT_UPSTREAM_CA, "FILE", "PEM roots for origin servers (default: system)"},
    {"ca-dir", 0, CSB_ARG_REQUIRED, OPT_CA_DIR, "DIR", "MITM CA directory (default $CSB_HOME/proxy)"},
    {"max-connections", 0, CSB_ARG_REQUIRED, OPT_MAX_CONN, "N", "client connections at once (1024)"},
    {"max-header-bytes", 0, CSB_ARG_REQUIRED, OPT_MAX_HEADER, "N", "largest request/response head (32768)"},
    {"idle-timeout", 0, CSB_ARG_REQUIRED, OPT_IDLE, "TIME", "close connections idle this long (300s)"},
    {"handshake-timeout", 0, CSB_ARG_REQUIRED, OPT_HANDSHAKE, "TIME", "limit for heads, SOCKS, TLS, connect (10s)"},
    {"dns-timeout", 0, CSB_ARG_REQUIRED, OPT_DNS_TIMEOUT, "TIME", "limit for one name resolution (2s)"},
    {"resolver-threads", 0, CSB_ARG_REQUIRED, OPT_RESOLVERS, "N", "name resolution threads (4)"},
    {"leaf-cache", 0, CSB_ARG_REQUIRED, OPT_LEAF_CACHE, "N", "MITM leaf certificates kept (1024; 0 = none)"},
    {"relay", 0, CSB_ARG_REQUIRED, OPT_RELAY, "splice|copy", "how opaque tunnels move bytes (splice)"},
    {"strip-env", 0, CSB_ARG_NONE, OPT_STRIP, NULL, "run CMD without the variables csb-proxy added"},
    {"no-proxy", 0, CSB_ARG_NONE, OPT_NO_PROXY, NULL, "same as --strip-env"},
    {"verbose", 'v', CSB_ARG_NONE, OPT_VERBOSE, NULL, "log connections and decisions to stderr"},
    {NULL, 0, CSB_ARG_NONE, 0, NULL, NULL},
};

/* "5", "5s", "1500ms" -> milliseconds. On failure prints a usage error,
 * sets cli->exit_code to 64 and returns 0. */
static int time_usage_error(csb_cli *cli, const char *opt, const char *what, const char *v,
                            const char *hint) {
  csb_cli_usage_error(cli, "%s: %s `%s`%s", opt, what, v, hint);
  cli->exit_code = CSB_EXIT_USAGE;
  return 0;
}

static int parse_time(csb_cli *cli, const char *opt, const char *v, unsigned long *out) {
  char *end = NULL;
  errno = 0;
  /* digits first: strtoul would skip white space and take a sign */
  if (v[0] < '0' || v[0] > '9') return time_usage_error(cli, opt, "invalid time", v, "");
  unsigned long n = strtoul(v, &end, 10);
  if (errno) return time_usage_error(cli, opt, "time out of range", v, "");
  if (strcmp(end, "ms") == 0) {
  } else if (*end == '\0' || strcmp(end, "s") == 0) {
    /* checked before multiplying: a wrapped product could land in range */
    if (n > 86400000ul / 1000) return time_usage_error(cli, opt, "time out of range", v, "");
    n *= 1000;
  } else {
    return time_usage_error(cli, opt, "invalid time", v, " (use 5, 5s or 500ms)");
  }
  if (n == 0 || n > 86400000ul) return time_usage_error(cli, opt, "time out of range", v, "");
  *out = n;
  return 1;
}

typedef struct opts {
  const char *policy, *config, *listen, *socks_listen, *format, *audit, *decider, *hosts_file, *upstream_ca,
      *ca_dir;
  csb_strv audit_meta; /* filled by collect_audit_meta() */
  int has_audit_meta;
  int print_env, strip, verbose, relay_copy;
  long ready_fd;
  px_limits lim;
  int lim_set[16];
  px_limits cli_lim;
} opts;

/* ctx: an evaluator of the policy (every file the environment names). */
static int policy_can_read(void *ctx, const char *path) {
  csb_verdict v;
  csb_policy_evaluator_access_for(ctx, path, &v);
  return v.can_read;
}


static int run_strip(csb_cli *cli) {
  if (!cli->has_dashdash || cli->rest_argc == 0) return csb_cli_usage_error(cli, "--strip-env needs -- CMD [ARGS...]");
  px_env_changes ch;
  px_env_strip_changes(environ, &ch);
  csb_strv env;
  px_env_apply(environ, &ch, &env);
  px_env_changes_free(&ch);
  execvpe(cli->rest_argv[0], cli->rest_argv, env.items);
  int e = errno;
  csb_cli_error(cli, csb_exit_for_exec_errno(e), "cannot run %s: %s", cli->rest_argv[0], strerror(e));
  csb_strv_free(&env);
  return csb_exit_for_exec_errno(e);
}

/* $CSB_HOME/proxy, with the csb home csb-resolve uses (and protects):
 * $CSB_HOME (relative: from the working directory), else an absolute
 * $HOME/.csb, else, when HOME is unset or empty, the user database's
 * home's .csb. NULL with the reason in *why (static text) when there is
 * none: a relative HOME, or no home at all, must not put the CA key in
 * whatever directory the proxy was started from (or in /.csb). */
static char *default_ca_dir(const char **why) {
  const char *home = getenv("CSB_HOME");
  if (home && *home) return csb_xasprintf("%s/proxy", home);
  const char *h = getenv("HOME");
  if (h && *h) {
    if (h[0] == '/') return csb_xasprintf("%s/.csb/proxy", h);
    *why = "HOME is not an absolute path";
    return NULL;
  }
  char *db = csb_os_user_db_home();
  char *dir = db ? csb_xasprintf("%s/.csb/proxy", strcmp(db, "/") == 0 ? "" : db) : NULL;
  free(db);
  if (!dir) *why = "HOME is not set and the user database names no absolute home";
  return dir;
}

/* --ready-fd N must name a descriptor open for writing, checked before
 * anything else is opened (a closed N would otherwise be reused by the
 * proxy's own sockets, and the addresses written into one of them). It is
 * made close-on-exec so that the decider does not hold it open, unless it
 * is a standard stream (0-2), which the decider and the command inherit
 * and which stays open: there the line alone says the proxy is ready. */
static int check_ready_fd(csb_cli *cli, long fd) {
  if (fd < 0) return 1;
  int fl = fcntl((int)fd, F_GETFL);
  if (fl < 0)
    return csb_cli_error(cli, CSB_EXIT_OSERR, "--ready-fd %ld: not an open file descriptor (%s); nothing was served",
                         fd, strerror(errno)), 0;
  if ((fl & O_ACCMODE) == O_RDONLY)
    return csb_cli_error(cli, CSB_EXIT_OSERR, "--ready-fd %ld: not open for writing; nothing was served", fd), 0;
  if (fd <= 2) return 1;
  int fdfl = fcntl((int)fd, F_GETFD);
  if (fdfl >= 0) fcntl((int)fd, F_SETFD, fdfl | FD_CLOEXEC);
  return 1;
}

/* The listener addresses, whole, or an error before anything is served: a
 * supervisor waiting on the fd would otherwise never learn them while the
 * proxy runs on. SIGPIPE is ignored by then, so a reader that is gone is
 * EPIPE here, not a silent death. */
static int write_ready(csb_cli *cli, long fd, px_proxy *px) {
  if (fd < 0) return 1;
  char h[80], s[80];
  csb_sock_format((struct sockaddr *)&px->http_addr, h, sizeof h);
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_printf(&b, "{\"http\":\"%s\"", h);
  if (px->socks_fd >= 0) csb_buf_printf(&b, ",\"socks\":\"%s\"", csb_sock_format((struct sockaddr *)&px->socks_addr, s, sizeof s));
  csb_buf_puts(&b, "}\n");
  int ok = csb_write_all((int)fd, b.data, b.len);
  int e = errno;
  csb_buf_free(&b);
  if (fd > 2 && close((int)fd) != 0 && ok && errno != EINTR) {
    ok = 0;
    e = errno;
  }
  if (!ok)
    return csb_cli_error(cli, CSB_EXIT_OSERR,
                         "--ready-fd %ld: cannot write the listener addresses: %s; nothing was served", fd,
                         strerror(e)), 0;
  return 1;
}

static int resolve_upstream(px_proxy *px) {
  if (!px->upstream.enabled) return 1;
  struct sockaddr_storage ss;
  if (csb_netpolicy_parse_ip(px->upstream.host, &ss)) {
    px->upstream_addr = ss;
  } else if (strcmp(px->upstream.host, "localhost") == 0) {
    csb_netpolicy_parse_ip("127.0.0.1", &px->upstream_addr);
  } else {
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(px->upstream.host, NULL, &hints, &ai) != 0 || !ai) {
      fprintf(stderr, "csb-proxy: warning: cannot resolve upstream proxy %s; connecting directly\n", px->upstream.host);
      px->upstream.enabled = 0;
      return 1;
    }
    memset(&px->upstream_addr, 0, sizeof px->upstream_addr);
    memcpy(&px->upstream_addr, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
  }
  if (px->upstream_addr.ss_family == AF_INET)
    ((struct sockaddr_in *)&px->upstream_addr)->sin_port = htons((uint16_t)px->upstream.port);
  else
    ((struct sockaddr_in6 *)&px->upstream_addr)->sin6_port = htons((uint16_t)px->upstream.port);
  return 1;
}

/* The options into *o and *lim: -1, or the exit status to return (the
 * message printed). */
static int parse_options(csb_cli *cli, opts *o, px_limits *lim) {
  const char *arg;
  int r;
  unsigned long ul;
  while ((r = csb_cli_next(cli, &arg)) != CSB_CLI_END) {
    switch (r) {
      case CSB_CLI_STOP: return cli->exit_code;
      case CSB_CLI_POSITIONAL: return csb_cli_usage_error(cli, "unexpected argument `%s` (commands go after --)", arg);
      case OPT_POLICY: o->policy = arg; break;
      case OPT_CONFIG: o->config = arg; break;
      case OPT_LISTEN: o->listen = arg; break;
      case OPT_SOCKS_LISTEN: o->socks_listen = arg; break;
      case OPT_PRINT_ENV: o->print_env = 1; break;
      case OPT_FORMAT:
        if (strcmp(arg, "sh") != 0 && strcmp(arg, "json") != 0)
          return csb_cli_usage_error(cli, "--format: expected sh or json, got `%s`", arg);
        o->format = arg;
        break;
      case OPT_READY_FD:
        if (!csb_cli_parse_uint(cli, "--ready-fd", arg, 1000000, &ul)) return cli->exit_code;
        o->ready_fd = (long)ul;
        break;
      case OPT_AUDIT: o->audit = arg; break;
      case OPT_AUDIT_META: o->has_audit_meta = 1; break; /* collected when used */
      case OPT_DECIDER: o->decider = arg; break;
      case OPT_DECIDER_TIMEOUT:
        if (!parse_time(cli, "--decider-timeout", arg, &lim->decider_ms)) return cli->exit_code;
        break;
      case OPT_HOSTS_FILE: o->hosts_file = arg; break;
      case OPT_UPSTREAM_CA: o->upstream_ca = arg; break;
      case OPT_CA_DIR: o->ca_dir = arg; break;
      case OPT_MAX_CONN:
        if (!csb_cli_parse_uint(cli, "--max-connections", arg, 1000000, &lim->max_connections)) return cli->exit_code;
        break;
      case OPT_MAX_HEADER:
        if (!csb_cli_parse_uint(cli, "--max-header-bytes", arg, 1 << 20, &lim->max_header_bytes)) return cli->exit_code;
        if (lim->max_header_bytes < 256) return csb_cli_usage_error(cli, "--max-header-bytes: at least 256");
        break;
      case OPT_IDLE:
        if (!parse_time(cli, "--idle-timeout", arg, &lim->idle_ms)) return cli->exit_code;
        break;
      case OPT_HANDSHAKE:
        if (!parse_time(cli, "--handshake-timeout", arg, &lim->handshake_ms)) return cli->exit_code;
        break;
      case OPT_DNS_TIMEOUT:
        if (!parse_time(cli, "--dns-timeout", arg, &lim->dns_ms)) return cli->exit_code;
        break;
      case OPT_RESOLVERS:
        if (!csb_cli_parse_uint(cli, "--resolver-threads", arg, 64, &lim->resolver_threads)) return cli->exit_code;
        if (!lim->resolver_threads) return csb_cli_usage_error(cli, "--resolver-threads: at least 1");
        break;
      case OPT_LEAF_CACHE:
        if (!csb_cli_parse_uint(cli, "--leaf-cache", arg, 1000000, &lim->leaf_cache)) return cli->exit_code;
        lim->leaf_cache += 1; /* 0 means "set to 0": stored +1 */
        break;
      case OPT_RELAY:
        if (strcmp(arg, "splice") != 0 && strcmp(arg, "copy") != 0)
          return csb_cli_usage_error(cli, "--relay: expected splice or copy, got `%s`", arg);
        o->relay_copy = strcmp(arg, "copy") == 0;
        break;
      case OPT_STRIP:
      case OPT_NO_PROXY: o->strip = 1; break;
      case OPT_VERBOSE: o->verbose = 1; break;
      default: return csb_cli_usage_error(cli, "unknown option");
    }
  }
  return -1;
}

/* The --audit-meta values, in order, from a second pass over the
 * arguments that parse_options() accepted (nothing is allocated before
 * then, so that no early exit has anything to free). */
static void collect_audit_meta(int argc, char **argv, csb_strv *out) {
  csb_cli cli;
  csb_cli_init(&cli, "csb-proxy", "", NULL, k_opts, argc, argv);
  const char *arg;
  int r;
  while ((r = csb_cli_next(&cli, &arg)) != CSB_CLI_END && r != CSB_CLI_STOP)
    if (r == OPT_AUDIT_META) csb_strv_push(out, arg);
}

int main(int argc, char **argv) {
  csb_cli cli;
  csb_cli_init(&cli, "csb-proxy",
               "csb-proxy [--policy FILE|-] [OPTIONS] -- CMD [ARGS...]\n"
               "csb-proxy [--policy FILE|-] --print-env [--format sh|json] [OPTIONS]\n"
               "csb-proxy --strip-env -- CMD [ARGS...]",
               "Filter the network traffic of CMD through an HTTP/CONNECT/SOCKS5 proxy that enforces the "
               "policy's network rules (with TLS interception when needed); or serve as a daemon.",
               k_opts, argc, argv);
  opts o;
  memset(&o, 0, sizeof o);
  o.format = "sh";
  o.ready_fd = -1;
  csb_strv_init(&o.audit_meta);
  px_limits cli_lim;
  memset(&cli_lim, 0, sizeof cli_lim);
  int prc = parse_options(&cli, &o, &cli_lim);
  if (prc >= 0) return prc;
  if (o.strip) return run_strip(&cli);
  int chain = cli.has_dashdash && cli.rest_argc > 0;
  if (cli.has_dashdash && cli.rest_argc == 0) return csb_cli_usage_error(&cli, "missing command after --");
  if (chain && o.print_env) return csb_cli_usage_error(&cli, "--print-env cannot be combined with -- CMD");
  if (!check_ready_fd(&cli, o.ready_fd)) return CSB_EXIT_OSERR;

  /* ---- settings ---- */
  csb_error err;
  csb_error_clear(&err);
  csb_policy *policy = NULL;
  csb_netpolicy *np = csb_netpolicy_new();
  px_limits lim;
  px_limits_default(&lim);
  /* --config alone is a complete configuration; otherwise the policy
   * comes from --policy or a piped standard input (csb_policy_load_arg) */
  if (o.policy || !o.config) {
    csb_policy_arg pa;
    if (!csb_policy_load_arg(o.policy, &policy, &pa, &err)) {
      csb_netpolicy_free(np);
      if (pa.missing)
        return csb_cli_usage_error(&cli, "--policy or --config is required%s", strchr(err.msg, ':'));
      return csb_cli_error(&cli, CSB_EXIT_DATA, "%s", err.msg);
    }
    np->enabled = policy->net_mode != CSB_NET_RESTRICTED;
    np->allow_local_binding = policy->allow_local_binding;
    np->dangerously_allow_all_unix_sockets = policy->allow_all_unix_sockets;
    /* the allowed paths at once (one by one took time quadratic in them) */
    const char **paths = csb_xcalloc(policy->n_unix_sockets + 1, sizeof *paths);
    int *allows = csb_xcalloc(policy->n_unix_sockets + 1, sizeof *allows);
    size_t n_allowed = 0;
    for (size_t i = 0; i < policy->n_unix_sockets; i++)
      if (policy->unix_sockets[i].allow) {
        paths[n_allowed] = policy->unix_sockets[i].path;
        allows[n_allowed++] = 1;
      }
    int sockets_ok = csb_netpolicy_set_unix_sockets(np, paths, allows, n_allowed, &err);
    free(paths);
    free(allows);
    if (!sockets_ok) {
      csb_netpolicy_free(np);
      csb_policy_free(policy);
      return csb_cli_error(&cli, CSB_EXIT_DATA, "network.unix_sockets: %s", err.msg);
    }
    if (!csb_netpolicy_apply_proxy_json(np, policy->proxy, "network.proxy", &err)) {
      csb_netpolicy_free(np);
      csb_policy_free(policy);
      return csb_cli_error(&cli, CSB_EXIT_DATA, "%s", err.msg);
    }
  }
  if (o.config) {
    int code = 78;
    if (!px_config_load_toml(o.config, np, &lim, &code, &err)) {
      csb_netpolicy_free(np);
      csb_policy_free(policy);
      return csb_cli_error(&cli, code, "%s", err.msg);
    }
  }
  if (!csb_netpolicy_finish(np, &err)) {
    csb_netpolicy_free(np);
    csb_policy_free(policy);
    return csb_cli_error(&cli, CSB_EXIT_CONFIG, "%s", err.msg);
  }
  char hook_warning[512];
  if (csb_netpolicy_hooks_unenforceable(np, hook_warning, sizeof hook_warning))
    fprintf(stderr, "csb-proxy: warning: %s\n", hook_warning);
  if (cli_lim.max_connections) lim.max_connections = cli_lim.max_connections;
  if (cli_lim.max_header_bytes) lim.max_header_bytes = cli_lim.max_header_bytes;
  if (cli_lim.idle_ms) lim.idle_ms = cli_lim.idle_ms;
  if (cli_lim.handshake_ms) lim.handshake_ms = cli_lim.handshake_ms;
  if (cli_lim.dns_ms) lim.dns_ms = cli_lim.dns_ms;
  if (cli_lim.decider_ms) lim.decider_ms = cli_lim.decider_ms;
  if (cli_lim.resolver_threads) lim.resolver_threads = cli_lim.resolver_threads;
  if (cli_lim.leaf_cache) lim.leaf_cache = cli_lim.leaf_cache - 1;

  /* ---- listeners ---- */
  struct sockaddr_storage http_sa, socks_sa;
  socklen_t sl;
  int want_socks = np->enable_socks5;
  int listen_rc = CSB_EXIT_OK;
  if (o.listen) {
    if (!csb_sock_parse_addr(o.listen, &http_sa, &sl, &err))
      listen_rc = csb_cli_usage_error(&cli, "--listen: %s", err.msg);
  } else if (chain) {
    csb_sock_parse_addr("127.0.0.1:0", &http_sa, &sl, &err);
  } else if (!px_listen_addr(np->proxy_url, 3128, np, &http_sa, &err)) {
    listen_rc = csb_cli_error(&cli, CSB_EXIT_CONFIG, "%s", err.msg);
  }
  if (listen_rc != CSB_EXIT_OK) {
  } else if (o.socks_listen) {
    if (!csb_sock_parse_addr(o.socks_listen, &socks_sa, &sl, &err))
      listen_rc = csb_cli_usage_error(&cli, "--socks-listen: %s", err.msg);
  } else if (chain) {
    csb_sock_parse_addr("127.0.0.1:0", &socks_sa, &sl, &err);
  } else if (!px_listen_addr(np->socks_url, 8081, np, &socks_sa, &err)) {
    listen_rc = csb_cli_error(&cli, CSB_EXIT_CONFIG, "%s", err.msg);
  }
  if (listen_rc != CSB_EXIT_OK) {
    csb_netpolicy_free(np);
    csb_policy_free(policy);
    return listen_rc;
  }

  signal(SIGPIPE, SIG_IGN);
  /* every thread inherits this mask, so signals reach only the signalfd */
  sigset_t mask, oldmask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGQUIT);
  sigprocmask(SIG_BLOCK, &mask, &oldmask);
  struct rlimit old_nofile, nofile;
  getrlimit(RLIMIT_NOFILE, &old_nofile);
  nofile = old_nofile;
  nofile.rlim_cur = nofile.rlim_max > 65536 ? 65536 : nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  px_proxy px;
  memset(&px, 0, sizeof px);
  px.np = np;
  px.lim = lim;
  px.verbose = o.verbose;
  px.relay_copy = o.relay_copy;
  px.http_fd = px.socks_fd = -1;
  px.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  px.loop = csb_evloop_new(&err);
  if (!px.loop) return csb_cli_error(&cli, CSB_EXIT_OSERR, "%s", err.msg);
  int code = CSB_EXIT_OK;
  const char *no_ca_dir = NULL;
  char *ca_dir = o.ca_dir ? csb_xstrdup(o.ca_dir) : default_ca_dir(&no_ca_dir);
  char *roots = NULL;
  size_t roots_len = 0;
  char *baseline_path = NULL;
  csb_buf baseline;
  csb_buf_init(&baseline);
  px_env_changes env_changes;
  memset(&env_changes, 0, sizeof env_changes);
  int sfd = -1;
  pid_t child = -1;
  int child_status = 0;

  if (np->allow_upstream_proxy) {
    px_upstream_from_env(&px.upstream, environ);
    resolve_upstream(&px);
  }
  if (o.audit) {
    px.audit = px_audit_open(o.audit, &err);
    if (!px.audit) {
      code = csb_cli_error(&cli, CSB_EXIT_CONFIG, "%s", err.msg);
      goto out;
    }
    collect_audit_meta(argc, argv, &o.audit_meta);
    for (size_t i = 0; i < o.audit_meta.len; i++) {
      char *kv = o.audit_meta.items[i];
      char *eq = strchr(kv, '=');
      if (!eq) {
        code = csb_cli_usage_error(&cli, "--audit-meta: expected KEY=VALUE, got `%s`", kv);
        goto out;
      }
      *eq = '\0';
      const char *had = NULL;
      int set = px_audit_set_meta(px.audit, kv, eq + 1, &had);
      if (set == 0) {
        code = csb_cli_usage_error(&cli, "--audit-meta: unknown key `%s`", kv);
        goto out;
      }
      if (set < 0) {
        /* which value belongs in the audit lines? */
        code = csb_cli_usage_error(&cli, "--audit-meta: key `%s` given twice ('%s', then '%s'); give it once",
                                   kv, had, eq + 1);
        goto out;
      }
    }
  } else if (o.has_audit_meta) {
    code = csb_cli_usage_error(&cli, "--audit-meta needs --audit");
    goto out;
  }
  struct stat hosts_st;
  if (o.hosts_file && stat(o.hosts_file, &hosts_st) == 0 && !S_ISREG(hosts_st.st_mode)) {
    /* read as empty (resolver.c): refused now rather than resolving nothing */
    code = csb_cli_error(&cli, CSB_EXIT_CONFIG, "--hosts-file %s: not a regular file", o.hosts_file);
    goto out;
  }
  px.resolver = px_resolver_new(px.loop, (unsigned)lim.resolver_threads, o.hosts_file, &err);
  if (!px.resolver) {
    code = csb_cli_error(&cli, CSB_EXIT_OSERR, "%s", err.msg);
    goto out;
  }
  if (np->mitm) {
    if (o.upstream_ca && !csb_read_file(o.upstream_ca, 16u << 20, &roots, &roots_len, &err)) {
      code = csb_cli_error(&cli, CSB_EXIT_CONFIG, "--upstream-ca: %s", err.msg);
      goto out;
    }
    if (ca_dir == NULL) {
      code = csb_cli_error(&cli, CSB_EXIT_CONFIG, "MITM: no CA directory: CSB_HOME is not set and %s; "
                           "set CSB_HOME or pass --ca-dir DIR", no_ca_dir);
      goto out;
    }
    /* the bundles' paths go into the child's environment: relative ones
     * would name other files once it changes directory */
    if (!csb_path_is_absolute(ca_dir)) {
      char *cwd = csb_os_getcwd();
      if (!cwd) {
        code = csb_cli_error(&cli, CSB_EXIT_OSERR, "MITM: cannot make the CA directory %s absolute: getcwd: %s",
                             ca_dir, strerror(errno));
        goto out;
      }
      char *abs = csb_path_join(cwd, ca_dir);
      free(cwd);
      free(ca_dir);
      ca_dir = abs;
    }
    if (!px_mitm_init(&px, ca_dir, roots, roots_len, &err)) {
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "MITM: %s", err.msg);
      goto out;
    }
    /* the child's trust: system roots plus the managed CA */
    csb_error e2;
    if (!csb_tls_system_roots_pem(NULL, &baseline, &e2))
      fprintf(stderr, "csb-proxy: warning: %s; the CA bundle holds the managed CA only\n", e2.msg);
    size_t cal;
    const char *cap = csb_tls_ca_pem(px.mitm->ca, &cal);
    if (baseline.len && baseline.data[baseline.len - 1] != '\n') csb_buf_putc(&baseline, '\n');
    csb_buf_append(&baseline, cap, cal);
    if (!csb_tls_persist_bundle(ca_dir, baseline.data, baseline.len, &baseline_path, &err)) {
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "MITM: %s", err.msg);
      goto out;
    }
  }
  if (!px_listen(&px, (struct sockaddr *)&http_sa, want_socks ? (struct sockaddr *)&socks_sa : NULL, &err)) {
    code = csb_cli_error(&cli, CSB_EXIT_OSERR, "%s", err.msg);
    goto out;
  }

  /* ---- environment for children ---- */
  {
    char hbuf[80], sbuf[80];
    csb_sock_format((struct sockaddr *)&px.http_addr, hbuf, sizeof hbuf);
    char *http_url = csb_xasprintf("http://%s", hbuf);
    char *socks_url = NULL;
    if (px.socks_fd >= 0) socks_url = csb_xasprintf("socks5h://%s", csb_sock_format((struct sockaddr *)&px.socks_addr, sbuf, sizeof sbuf));
    px_env_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.http_url = http_url;
    eo.socks_url = socks_url;
    eo.allow_local_binding = np->allow_local_binding;
    eo.mitm = px.mitm != NULL;
    char cwd[4096];
    eo.cwd = getcwd(cwd, sizeof cwd) ? cwd : NULL;
    if (px.mitm) {
      eo.ca_dir = ca_dir;
      eo.ca_pem = csb_tls_ca_pem(px.mitm->ca, &eo.ca_len);
      eo.baseline_pem = baseline.data;
      eo.baseline_len = baseline.len;
      eo.baseline_path = baseline_path;
    }
    csb_policy_evaluator *pev = policy ? csb_policy_evaluator_new(policy) : NULL;
    if (policy) {
      eo.can_read = policy_can_read;
      eo.can_read_ctx = pev;
    }
    int ok = px_env_compute(&eo, environ, &env_changes, &err);
    free(http_url);
    free(socks_url);
    if (!ok) {
      csb_policy_evaluator_free(pev);
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "%s", err.msg);
      goto out;
    }
    /* ... and must not read the CA key: csb-resolve denies $CSB_HOME/proxy only
     * when it exists when resolving, and knows nothing of --ca-dir */
    if (policy && px.mitm) {
      char *key = csb_xasprintf("%s/ca.key", ca_dir);
      if (policy_can_read(pev, key))
        csb_cli_warn(&cli, "the MITM CA key %s is readable under the policy: a sandbox built from it lets "
                           "the command sign certificates that every client of this proxy trusts; resolve "
                           "the policy again now that the CA exists, or deny %s in it", key, ca_dir);
      free(key);
    }
    /* a sandbox built from the same policy must be able to read the bundles */
    for (size_t i = 0; policy && i < env_changes.n; i++) {
      if (strcmp(env_changes.v[i].key, PX_ENV_BUNDLES_KEY) != 0 || !env_changes.v[i].value) continue;
      char *list = csb_xstrdup(env_changes.v[i].value);
      char *save = NULL;
      for (char *b = strtok_r(list, ":", &save); b; b = strtok_r(NULL, ":", &save))
        if (!policy_can_read(pev, b))
          csb_cli_warn(&cli, "the CA bundle %s is not readable under the policy; a launcher must grant it "
                             "(see " PX_ENV_BUNDLES_KEY ")", b);
      free(list);
    }
    csb_policy_evaluator_free(pev);
  }

  /* ---- signals (blocked since before any thread started) ---- */
  sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    code = csb_cli_error(&cli, CSB_EXIT_OSERR, "signalfd: %s", strerror(errno));
    goto out;
  }

  if (o.decider) {
    px.decider = px_decider_new(px.loop, o.decider, lim.decider_ms, &err);
    if (!px.decider) {
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "--decider: %s", err.msg);
      goto out;
    }
  }

  if (!write_ready(&cli, o.ready_fd, &px)) {
    code = CSB_EXIT_OSERR;
    goto out;
  }
  if (o.print_env) {
    csb_buf b;
    csb_buf_init(&b);
    px_env_print(&env_changes, o.format, &b);
    int ok = csb_write_all(1, b.data, b.len);
    int e = errno;
    csb_buf_free(&b);
    /* a cut environment would point a command at the proxy only in part */
    if (!ok) {
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "cannot write the environment to standard output: %s",
                           strerror(e));
      goto out;
    }
  }

  if (chain) {
    csb_strv env;
    px_env_apply(environ, &env_changes, &env);
    child = fork();
    if (child < 0) {
      csb_strv_free(&env);
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "fork: %s", strerror(errno));
      goto out;
    }
    if (child == 0) {
      setrlimit(RLIMIT_NOFILE, &old_nofile);
      signal(SIGPIPE, SIG_DFL);
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      execvpe(cli.rest_argv[0], cli.rest_argv, env.items);
      int e = errno;
      csb_cli_error(&cli, csb_exit_for_exec_errno(e), "cannot run %s: %s", cli.rest_argv[0], strerror(e));
      _exit(csb_exit_for_exec_errno(e));
    }
    csb_strv_free(&env);
  }

  /* ---- serve ---- */
  for (;;) {
    if (!csb_evloop_run_once(px.loop, 200)) {
      code = csb_cli_error(&cli, CSB_EXIT_OSERR, "event loop: %s", strerror(errno));
      break;
    }
    struct signalfd_siginfo si;
    int stop = 0;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      int sig = (int)si.ssi_signo;
      if (sig == SIGCHLD) continue;
      if (child > 0) {
        if (sig == SIGTERM || sig == SIGHUP) kill(child, sig);
        /* SIGINT/SIGQUIT reach the command through the terminal */
      } else {
        stop = 1;
      }
    }
    if (child > 0) {
      pid_t w = waitpid(child, &child_status, WNOHANG);
      if (w == child) {
        code = csb_exit_from_wait_status(child_status);
        break;
      }
    }
    if (stop) break;
  }

out:
  px_shutdown(&px);
  px_decider_free(px.decider);
  px.decider = NULL;
  px_resolver_free(px.resolver);
  px.resolver = NULL;
  if (px.loop) csb_evloop_run_once(px.loop, 0); /* drain posted completions */
  px_mitm_free(px.mitm);
  px_pool_free(&px);
  px_audit_close(px.audit);
  px_upstream_free(&px.upstream);
  if (px.loop) csb_evloop_free(px.loop);
  if (px.reserve_fd >= 0) close(px.reserve_fd);
  if (sfd >= 0) close(sfd);
  px_env_changes_free(&env_changes);
  csb_buf_free(&baseline);
  free(baseline_path);
  free(roots);
  free(ca_dir);
  csb_strv_free(&o.audit_meta);
  csb_netpolicy_free(np);
  csb_policy_free(policy);
  return code;
}
