/* proxy.h - csb-proxy internals shared by its source files. */
#ifndef CSB_PROXY_INTERNAL_H
#define CSB_PROXY_INTERNAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "csb_base.h"
#include "csb_evloop.h"
#include "csb_http.h"
#include "csb_netpolicy.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct csb_tls_ca csb_tls_ca;
typedef struct csb_tls_leaf_cache csb_tls_leaf_cache;

/* ---- limits and settings -------------------------------------------------- */

typedef struct px_limits {
  unsigned long max_connections;   /* client connections at once */
  unsigned long max_header_bytes;  /* per request/response head */
  unsigned long handshake_ms;      /* accept -> first head, SOCKS, TLS, connect */
  unsigned long idle_ms;           /* no traffic on a connection */
  unsigned long dns_ms;            /* one name resolution */
  unsigned long resolver_threads;
  unsigned long decider_ms;        /* one approval */
  unsigned long leaf_cache;        /* MITM leaf certificates kept */
  unsigned long buffer_bytes;      /* per direction */
} px_limits;

typedef enum {
  PROTO_HTTP = 0,
  PROTO_HTTPS_CONNECT,
  PROTO_SOCKS5_TCP,
  PROTO_SOCKS5_UDP
} px_proto;

/* audit: "http", "https_connect", "socks5_tcp", "socks5_udp" */
const char *px_proto_audit_name(px_proto p);
/* approvals: "http", "https", "socks5-tcp", "socks5-udp" */
const char *px_proto_approval_name(px_proto p);

typedef enum { SRC_BASELINE = 0, SRC_MODE_GUARD, SRC_PROXY_STATE, SRC_DECIDER } px_source;
const char *px_source_name(px_source s);

/* ---- upstream proxy (environment of csb-proxy itself) ------------------------ */

typedef struct px_upstream {
  int enabled;
  char host[256];
  int port;
  csb_strv no_proxy; /* lowercased entries */
} px_upstream;

/* From HTTPS_PROXY, HTTP_PROXY, ALL_PROXY (first non-empty, upper then lower
 * case; http:// only) and NO_PROXY. */
void px_upstream_from_env(px_upstream *u, char **envp);
/* 1 when `host` must bypass the upstream proxy (NO_PROXY). */
int px_upstream_bypass(const px_upstream *u, const char *host);
void px_upstream_free(px_upstream *u);

/* ---- audit -------------------------------------------------------------------- */

typedef struct px_audit px_audit;

/* "FILE" (appended, created 0600) or "fd:N". */
px_audit *px_audit_open(const char *spec, csb_error *err);
void px_audit_close(px_audit *a);
/* Metadata field ("conversation.id", "app.version", "auth_mode",
 * "originator", "user.account_id", "user.email", "terminal.type", "model",
 * "slug"). 0 for an unknown key, -1 for one set already (*had: its
 * value, which stays). */
int px_audit_set_meta(px_audit *a, const char *key, const char *value, const char **had);

typedef struct px_event {
  int domain_scope;        /* 1 domain, 0 non_domain */
  const char *decision;    /* allow, deny, ask */
  px_source source;
  const char *reason;
  px_proto proto;
  const char *server;      /* host, or "unix-socket" */
  int port;
  const char *method;      /* NULL -> "none" */
  const char *client;      /* NULL -> "unknown" */
  int override_;
} px_event;

void px_audit_emit(px_audit *a, const px_event *ev);
/* RFC 3339 UTC with milliseconds and Z (24 characters + NUL). */
void px_format_timestamp(char out[32]);

/* ---- resolver ------------------------------------------------------------------ */

typedef struct px_resolver px_resolver;
typedef struct px_addrs {
  struct sockaddr_storage a[16];
  size_t n;
  int error;        /* 0 ok; EAI_* style error otherwise */
  char msg[128];
} px_addrs;

typedef void (*px_resolve_cb)(void *arg, const px_addrs *res);

px_resolver *px_resolver_new(csb_evloop *loop, unsigned threads, const char *hosts_file, csb_error *err);
void px_resolver_free(px_resolver *r);
typedef struct px_resolve_job px_resolve_job;
/* Starts a lookup; cb runs on the loop thread (never synchronously). The
 * returned handle can be cancelled until cb ran. */
px_resolve_job *px_resolve(px_resolver *r, const char *host, int port, px_resolve_cb cb, void *arg);
void px_resolve_cancel(px_resolve_job *j);

/* ---- decider ---------------------------------------------------------------------- */

typedef struct px_decider px_decider;
typedef enum { DECIDE_ALLOW = 0, DECIDE_DENY, DECIDE_ASK } px_decision;
typedef void (*px_decide_cb)(void *arg, px_decision d, const char *reason);
typedef struct px_decide_wait px_decide_wait;

px_decider *px_decider_new(csb_evloop *loop, const char *cmd, unsigned long timeout_ms, csb_error *err);
void px_decider_free(px_decider *d);
/* Asks (or answers from the cache / joins a pending ask). cb may run
 * synchronously (cache hit). */
px_decide_wait *px_decider_ask(px_decider *d, const char *host, int port, px_proto proto, const char *method,
                               const char *client, px_decide_cb cb, void *arg);
void px_decider_cancel(px_decider *d, px_decide_wait *w);

/* ---- the proxy --------------------------------------------------------------------- */

typedef struct px_conn px_conn;
typedef struct px_udp px_udp;

/* A pipe that carries one direction of an opaque tunnel (tunnel.c). */
#define PX_PIPE_SPARE 16 /* spare pipes kept for the next tunnel burst */
typedef struct px_pipe {
  int rd, wr;   /* -1 when none */
  size_t cap;   /* F_GETPIPE_SZ */
  int no_grow;  /* F_SETPIPE_SZ was refused */
} px_pipe;

typedef struct px_mitm {
  csb_tls_ca *ca;
  csb_tls_leaf_cache *leaves;
  SSL_CTX *server_ctx;
  SSL_CTX *client_ctx;
} px_mitm;

typedef struct px_proxy {
  csb_evloop *loop;
  csb_netpolicy *np;
  px_limits lim;
  int verbose;
  int relay_copy;         /* --relay copy: user-space tunnel relay */
  /* listeners */
  int http_fd, socks_fd;
  csb_ev_io http_io, socks_io;
  struct sockaddr_storage http_addr, socks_addr;
  /* connections */
  px_conn *conns;
  unsigned long n_conns;
  px_udp *udps;
  /* services */
  px_resolver *resolver;
  px_decider *decider;
  px_audit *audit;
  px_mitm *mitm;          /* NULL when interception is off */
  px_upstream upstream;
  struct sockaddr_storage upstream_addr; /* resolved once at start-up */
  uint64_t next_id;
  /* a descriptor held in reserve (/dev/null): when accept fails for want
   * of descriptors it is given up to take the pending connection and
   * refuse it, so that a level-triggered listener does not spin */
  int reserve_fd;
  /* counters */
  uint64_t accepted, refused_limit, refused_fds;
  /* spare read buffers (PX_POOL_BUF bytes each), reused across exchanges */
  char **pool;
  size_t pool_len;
  /* tunnel pipes: spare ones, and the capacity of every open one (spare or
   * carrying bytes) and of the enlarged ones, bounded by PX_PIPE_BUDGET
   * and PX_PIPE_BIG_BUDGET (tunnel.c) */
  px_pipe pipes[PX_PIPE_SPARE];
  size_t pipes_len;
  size_t pipe_bytes, pipe_big_bytes;
  uint64_t relay_fallbacks; /* bursts relayed by copy for want of a pipe */
} px_proxy;

#define PX_POOL_BUF 16384
#define PX_POOL_MAX 128
/* Frees the spare buffers and pipes. */
void px_pool_free(px_proxy *px);

/* server.c */
int px_listen(px_proxy *px, const struct sockaddr *http, const struct sockaddr *socks, csb_error *err);
void px_shutdown(px_proxy *px);

/* conn.c - accept handlers for the two listeners */
void px_accept_http(csb_evloop *loop, csb_ev_io *io, uint32_t events);
void px_accept_socks(csb_evloop *loop, csb_ev_io *io, uint32_t events);
void px_conn_close_all(px_proxy *px);

/* mitm.c */
int px_mitm_init(px_proxy *px, const char *ca_dir, const char *upstream_roots_pem, size_t roots_len,
                 csb_error *err);
void px_mitm_free(px_mitm *m);

/* udp.c */
void px_udp_free_all(px_proxy *px);

/* ---- responses --------------------------------------------------------------------- */

/* Appends a complete response (Connection: close). */
void px_resp_text(csb_buf *out, int status, const char *reason, const char *body, const char *proxy_error);
/* The 403 JSON body of a blocked plain-HTTP request. */
void px_resp_blocked_json(csb_buf *out, const char *host, csb_block_reason reason, const char *decision,
                          px_source source, const char *protocol, int port, int include_details);

#endif
