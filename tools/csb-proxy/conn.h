/* conn.h - one client connection and its state machine (shared by conn.c,
 * http_proxy.c, tunnel.c, socks_proxy.c, mitm.c, udp.c). */
#ifndef CSB_PROXY_CONN_H
#define CSB_PROXY_CONN_H

#include "csb_socks.h"
#include "proxy.h"

typedef struct px_stream {
  int fd;
  SSL *ssl;
  csb_ev_io io;
  int eof;     /* read side saw EOF */
  int shut_wr; /* write side shut down */
  int err;     /* fatal I/O error */
  int unclean; /* TLS: the EOF came without close_notify (maybe a truncation) */
} px_stream;

typedef enum {
  ST_HTTP_HEAD = 0,    /* reading a request head (plain or inside MITM) */
  ST_CHECK,            /* policy decision pending (decider, resolver) */
  ST_CONNECT,          /* TCP connect to the origin or the upstream proxy */
  ST_UP_PROXY_CONNECT, /* CONNECT sent to the upstream proxy, awaiting 200 */
  ST_UP_TLS,           /* TLS handshake with the origin (MITM) */
  ST_FORWARD,          /* relaying one HTTP exchange */
  ST_TUNNEL_PEEK,      /* opaque tunnel: reading the client's first flight (sni.c) */
  ST_TUNNEL,           /* opaque byte relay (splice) */
  ST_TLS_ACCEPT,       /* TLS handshake with the client (MITM) */
  ST_SOCKS_GREET,
  ST_SOCKS_REQ,
  ST_UDP,              /* TCP control connection of a UDP association */
  ST_CLOSING           /* flushing a final response, then draining input */
} px_state;

typedef enum {
  REQ_NONE = 0,
  REQ_PLAIN,      /* absolute-form HTTP request */
  REQ_CONNECT,    /* HTTP CONNECT */
  REQ_MITM,       /* request inside an intercepted TLS session */
  REQ_UNIX,       /* plain request to an allow-listed Unix socket */
  REQ_SOCKS       /* SOCKS5 CONNECT */
} px_req_kind;

struct px_conn {
  px_proxy *px;
  px_conn *prev, *next;
  uint64_t id;
  int socks;           /* accepted on the SOCKS listener */
  px_state state;
  px_stream cli, up;
  char client[64];     /* peer "ip:port" */
  csb_buf cin, uin;    /* read from client / upstream, not yet consumed */
  csb_buf cout, uout;  /* to write to client / upstream */
  size_t head_scanned; /* bytes of cin already searched for CRLFCRLF */
  csb_ev_timer timer;  /* handshake / idle deadline */
  uint64_t deadline;
  int dead;
  int in_pump;
  int repump;

  /* current request */
  px_req_kind kind;
  char method[32];
  char host[256];      /* normalised destination host */
  int port;
  px_proto proto;
  csb_host_eval ev;
  px_addrs *addrs;     /* while connecting */
  size_t addr_idx;
  int via_upstream;
  int check_override;  /* a decider allowed it */
  char *req_head;      /* request head for the origin (kept for a retry) */
  size_t req_head_len;
  int retried;

  /* MITM */
  int in_mitm;
  int no_close_notify;   /* the response ended with an unauthenticated EOF: so does the client's stream */
  int mitm_after_check;  /* CONNECT/SOCKS: intercept instead of tunnelling */
  int mitm_approved;     /* the CONNECT was approved by a decider */
  char mitm_host[256];
  int mitm_port;

  /* upstream connection reuse */
  char up_key[320];
  int up_idle;
  int up_reused;

  /* one HTTP exchange */
  csb_http_framing req_fr, resp_fr;
  uint64_t req_left, resp_left;
  csb_http_chunked req_ch, resp_ch;
  int req_hooked;        /* a MITM hook rewrites this request's header fields */
  int req_done, resp_done, resp_head_done;
  int client_ka, resp_ka, up_ka;
  int resp_bytes;        /* response bytes already given to the client */
  int client_http10;
  int resp_dechunk;      /* a chunked response to an HTTP/1.0 client: its data only, until close */
  int interim_queued;    /* interim (1xx) heads went to cout in this exchange */
  char *unix_path;
  int unix_fd;  /* O_PATH descriptor of the socket unix_path named when checked, -1 */
  int unix_err; /* why it could not be opened (unix_fd -1) */

  /* tunnel: a pipe per direction while bytes are in flight */
  px_pipe pipe_cu, pipe_uc;
  size_t in_cu, in_uc;
  /* ... and its first client flight (sni.c) */
  int sni_started;     /* a TLS handshake record has begun */
  size_t sni_need;     /* bytes the ClientHello parser asked for */
  char sni_host[256];  /* the normalised server name being judged */
  int sni_phase;       /* SNI_* of sni.c: which flight is being looked at */
  size_t sni_hello_len; /* bytes of the first ClientHello, once accepted */
  int sni_first_has;   /* it named a server ... */
  char sni_first[256]; /* ... this one (normalised) */

  /* async */
  px_resolve_job *rjob;
  px_decide_wait *dwait;
  csb_ev_timer dns_timer;

  /* SOCKS UDP */
  px_udp *udp;

  /* MITM: the server-side SSL waiting for cout to be flushed */
  SSL *pending_ssl;
  int method_allowed;
};

/* conn.c */
void px_conn_close(px_conn *c);
void px_conn_pump(px_conn *c);
void px_conn_touch(px_conn *c);
void px_conn_set_deadline(px_conn *c, unsigned long ms);
/* A decider question of c is pending: its deadline allows for the answer. */
void px_conn_await_decider(px_conn *c);
/* Queues a final response and closes once it is written. */
void px_conn_fail(px_conn *c, int status, const char *reason, const char *body, const char *proxy_error);
/* Queues raw bytes (a SOCKS reply, a JSON 403) and closes once written. */
void px_conn_fail_raw(px_conn *c, const void *data, size_t len);
/* Writes c->cout to the client, for a pump that goes on only once it is
 * out. Returns 1 when it is (or was) empty; 0 with *progress as
 * px_stream_flush set it while bytes are left, or with *progress 0 when a
 * write failed and c was closed. */
int px_conn_flush_cout(px_conn *c, int *progress);
int px_stream_flush(px_stream *s, csb_buf *b, int *progress);
int px_stream_fill(px_stream *s, csb_buf *b, size_t cap, int *progress);
/* px_stream_fill with buffers from the proxy's pool. */
int px_conn_fill(px_conn *c, px_stream *s, csb_buf *b, size_t cap, int *progress);
void px_stream_close(px_conn *c, px_stream *s);
int px_stream_attach(px_conn *c, px_stream *s, int fd);
void px_buf_consume(csb_buf *b, size_t n);
void px_conn_release_buffers(px_conn *c);
/* Starts the policy pipeline for c->host/port/proto/method; continues in
 * px_on_allowed / px_on_blocked. */
void px_check_start(px_conn *c);
void px_audit_block(px_conn *c, int domain, csb_block_reason r, px_source s, const char *decision);
void px_audit_allow(px_conn *c, int override_);
/* Connects c->up to the checked destination (or the upstream proxy). */
void px_connect_start(px_conn *c);
/* The address guard: may a connection for the evaluated host `ev` go to
 * `sa`? csb_netpolicy_connect_allowed, where an address the kernel routes
 * to this host (one of its interfaces', a local route's) counts as local
 * whatever its range (it reaches this host's services as loopback does). */
int px_target_allowed(px_proxy *px, const csb_host_eval *ev, const struct sockaddr_storage *sa);

/* Key of a reusable upstream connection for the current request. */
void px_make_up_key(px_conn *c, char *out, size_t n);

/* http_proxy.c */
void px_http_mitm_upstream_ready(px_conn *c);
int px_http_pump_head(px_conn *c);
int px_http_pump_forward(px_conn *c);
void px_http_on_allowed(px_conn *c);
void px_http_on_blocked(px_conn *c, csb_block_reason r, px_source s, const char *decision);
void px_http_on_connected(px_conn *c);
void px_http_on_connect_failed(px_conn *c, const char *why);
int px_up_proxy_pump(px_conn *c);

/* tunnel.c */
/* The tunnel is confirmed (the reply is in cout): its first client flight
 * is inspected (ST_TUNNEL_PEEK) before the relay starts. */
void px_tunnel_start(px_conn *c);
/* The relay proper (ST_TUNNEL), with the client bytes read so far first. */
void px_tunnel_open(px_conn *c);
int px_tunnel_pump(px_conn *c);
/* Relays origin -> client only (while the first flight is inspected).
 * Returns -1 on error, else progress. */
int px_tunnel_relay_down(px_conn *c);
/* Gives the connection's pipes back (spare when empty, else closed). */
void px_tunnel_release(px_conn *c);
/* Closes the spare pipes. */
void px_pipes_free(px_proxy *px);

/* sni.c */
int px_sni_pump(px_conn *c);
/* The handshake timeout expired inside the ClientHello. */
void px_sni_timeout(px_conn *c);

/* socks_proxy.c */
int px_socks_pump(px_conn *c);
void px_socks_on_allowed(px_conn *c);
void px_socks_on_blocked(px_conn *c, csb_block_reason r, px_source s, const char *decision);
void px_socks_on_connected(px_conn *c);
void px_socks_on_connect_failed(px_conn *c, int err);

/* mitm.c */
void px_mitm_start_accept(px_conn *c);
int px_mitm_pump_accept(px_conn *c);
void px_mitm_start_upstream(px_conn *c);
int px_mitm_pump_upstream(px_conn *c);

/* udp.c */
/* dst: DST.ADDR/DST.PORT of the UDP ASSOCIATE request. */
void px_udp_start(px_conn *c, const csb_socks_addr *dst);
int px_udp_control_pump(px_conn *c);
void px_udp_detach(px_conn *c);

#endif
