/* sni.c - the first client flight of an opaque tunnel (CONNECT or SOCKS5
 * CONNECT that is not intercepted).
 *
 * Once the tunnel is confirmed to the client, nothing the client sends
 * goes upstream until its first bytes were looked at: when they start a
 * TLS handshake record, the ClientHello is gathered (at most
 * CSB_CLIENTHELLO_MAX_INPUT bytes, within the handshake timeout) and its
 * server name must either be the tunnel's host or be a host that the
 * policy would let the client open a tunnel to itself (deny list, local
 * rule, allow list or decider, and no MITM hooks, since a hooked host is
 * never tunnelled). Otherwise the tunnel is closed before a single client
 * byte reached the origin, with an audit line; so is one whose first TLS
 * record is not a handshake (a server may skip a warning alert and read a
 * ClientHello behind it). Bytes that do not start a TLS record and
 * ClientHellos without a server name pass unchanged.
 * Origin bytes are relayed meanwhile (server-first protocols), and after
 * the first flight the relay of tunnel.c carries everything.
 *
 * An accepted ClientHello goes upstream alone: the rest waits for the
 * server's first handshake message. A HelloRetryRequest (TLS 1.3) makes
 * the client send a second ClientHello, whose server name servers read
 * again (OpenSSL's callback runs once more): it must be the first one's,
 * or the tunnel is closed before it reaches the origin. Reading the
 * server's answer and finding the second ClientHello is libs/clienthello's
 * (csb_clienthello_check_retry, csb_clienthello_scan_second_flight).
 *
 * Not seen: names inside the encrypted part of a TLS session (the Host of
 * a request, the inner ClientHello of Encrypted Client Hello) and
 * whatever a non-TLS protocol names (docs/csb-proxy.md). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "csb_clienthello.h"

/* c->sni_phase */
enum {
  SNI_FIRST = 0, /* the first flight */
  SNI_SERVER,    /* its ClientHello went upstream: the server's answer decides */
  SNI_SECOND     /* the server asked for another ClientHello */
};

/* The server's first bytes read to find a HelloRetryRequest
 * (CSB_CLIENTHELLO_RETRY_MAX_INPUT always decide). */
#define SERVER_PEEK 512

/* Reasons of the audit lines (docs/csb-proxy.md, "Blocked responses"). */
static const char *sni_reason(csb_block_reason r) {
  switch (r) {
    case CSB_BLOCK_DENIED: return "sni_denied";
    case CSB_BLOCK_NOT_ALLOWED_LOCAL: return "sni_not_allowed_local";
    case CSB_BLOCK_MITM_REQUIRED: return "sni_mitm_required";
    default: return "sni_not_allowed";
  }
}

static void audit(px_conn *c, const char *server, int domain, const char *decision, px_source src,
                  const char *reason, int override_) {
  px_event ev = {0};
  ev.domain_scope = domain;
  ev.decision = decision;
  ev.source = src;
  ev.reason = reason;
  ev.proto = c->proto;
  ev.server = server;
  ev.port = c->port;
  ev.method = c->method;
  ev.client = c->client;
  ev.override_ = override_;
  px_audit_emit(c->px->audit, &ev);
}

/* Closes the tunnel: the client's bytes are dropped unsent. */
static void refuse(px_conn *c, const char *server, int domain, const char *decision, px_source src,
                   const char *reason, const char *detail) {
  audit(c, server, domain, decision, src, reason, 0);
  if (c->px->verbose)
    fprintf(stderr, "csb-proxy: [%llu] tunnel to %s:%d closed before its first byte: %s (%s)\n",
            (unsigned long long)c->id, c->host, c->port, reason, detail);
  px_conn_close(c);
}

/* The first ClientHello may go on: it goes upstream alone, and the rest
 * waits for the server's answer (SNI_SERVER). */
static void hello_passed(px_conn *c) {
  csb_buf_append(&c->uout, c->cin.data, c->sni_hello_len);
  px_buf_consume(&c->cin, c->sni_hello_len);
  c->sni_phase = SNI_SERVER;
  c->sni_need = 0;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.handshake_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
  c->repump = 1;
}

static void on_decided(void *arg, px_decision d, const char *why) {
  px_conn *c = arg;
  (void)why;
  c->dwait = NULL;
  if (d == DECIDE_ALLOW) {
    audit(c, c->sni_host, 1, "allow", SRC_DECIDER, "not_allowed", 1);
    hello_passed(c);
  } else {
    refuse(c, c->sni_host, 1, d == DECIDE_ASK ? "ask" : "deny", SRC_DECIDER, "sni_not_allowed",
           "TLS server name refused by the decider");
  }
  px_conn_pump(c);
}

/* The ClientHello names `sni` (as sent). */
static void judge(px_conn *c, const char *sni) {
  px_proxy *px = c->px;
  csb_host_eval ev;
  csb_netpolicy_evaluate_host(px->np, sni, &ev);
  snprintf(c->sni_host, sizeof c->sni_host, "%s", ev.host[0] ? ev.host : sni);
  /* the tunnel's own name, however spelt; an IP-literal tunnel has none */
  if (!c->ev.is_ip && strcmp(ev.host, c->host) == 0) {
    hello_passed(c);
    return;
  }
  if (ev.decision == CSB_HOST_BLOCK) {
    refuse(c, c->sni_host, 1, "deny", SRC_BASELINE, sni_reason(ev.reason), "TLS server name blocked by the policy");
    return;
  }
  if (csb_netpolicy_host_has_hooks(px->np, ev.host)) {
    refuse(c, c->sni_host, 0, "deny", SRC_MODE_GUARD, sni_reason(CSB_BLOCK_MITM_REQUIRED),
           "TLS server name of a host with MITM hooks");
    return;
  }
  if (ev.decision == CSB_HOST_ASK) {
    if (!px->decider) {
      refuse(c, c->sni_host, 1, "deny", SRC_BASELINE, sni_reason(CSB_BLOCK_NOT_ALLOWED),
             "TLS server name not in the allow list");
      return;
    }
    c->dwait = px_decider_ask(px->decider, c->sni_host, c->port, c->proto, c->method, c->client, on_decided, c);
    if (c->dwait) px_conn_await_decider(c);
    return;
  }
  audit(c, c->sni_host, 1, "allow", SRC_BASELINE, "allow", 0);
  hello_passed(c);
}

void px_sni_timeout(px_conn *c) {
  refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed",
         c->sni_phase == SNI_SERVER ? "no answer to the ClientHello within the handshake timeout"
                                    : "ClientHello not complete within the handshake timeout");
}

/* SNI_SERVER: the first ClientHello is sent, nothing else of the client's
 * is; the server's first bytes are read (and then passed on) to see
 * whether it asks for a second ClientHello. */
static int await_server(px_conn *c) {
  int progress = 0;
  if ((c->cout.len && !px_stream_flush(&c->cli, &c->cout, &progress)) ||
      (c->uout.len && !px_stream_flush(&c->up, &c->uout, &progress)) ||
      !px_conn_fill(c, &c->up, &c->uin, SERVER_PEEK, &progress)) {
    px_conn_close(c);
    return 0;
  }
  csb_clienthello_retry retry = csb_clienthello_check_retry((const uint8_t *)c->uin.data, c->uin.len, NULL);
  if (retry == CSB_CLIENTHELLO_RETRY_INCOMPLETE && !c->up.eof && c->uin.len < SERVER_PEEK) return progress;
  /* the server's bytes go on as they came, ahead of the rest */
  csb_buf_append(&c->cout, c->uin.data, c->uin.len);
  csb_buf_free(&c->uin);
  if (retry != CSB_CLIENTHELLO_RETRY_YES) {
    c->sni_phase = SNI_FIRST;
    px_tunnel_open(c);
    return 1;
  }
  c->sni_phase = SNI_SECOND;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.handshake_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
  return 1;
}

/* The second flight needs `need` bytes before anything can be said: 0 to
 * wait for them, or -1 (the tunnel refused) when that is more than is
 * ever read of it, which would otherwise only end at the handshake
 * timeout. */
static int second_need(px_conn *c, size_t need) {
  if (need > CSB_CLIENTHELLO_MAX_INPUT) {
    refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", "no second ClientHello within the bounds");
    return -1;
  }
  c->sni_need = need;
  return 0;
}

/* SNI_SECOND: the client's next flight. Records other than handshake ones
 * (change_cipher_spec, alerts, early data) are skipped as a server skips
 * them; a handshake record that starts a ClientHello must name the same
 * server as the first one (RFC 8446 §4.1.2 allows no other change). */
static int second_hello(px_conn *c) {
  const uint8_t *p = (const uint8_t *)c->cin.data;
  size_t off = 0;
  switch (csb_clienthello_scan_second_flight(p, c->cin.len, &off)) {
    case CSB_CLIENTHELLO_FLIGHT_INCOMPLETE:
      return second_need(c, off);
    case CSB_CLIENTHELLO_FLIGHT_BOUND:
      refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", "no second ClientHello within the bounds");
      return -1;
    case CSB_CLIENTHELLO_FLIGHT_NOT_TLS:
    case CSB_CLIENTHELLO_FLIGHT_OTHER:
      /* not TLS, or another handshake message: the server refuses it */
      px_tunnel_open(c);
      return 1;
    case CSB_CLIENTHELLO_FLIGHT_HELLO:
      /* an empty handshake record (which a server may skip) goes to the
       * parser too, which refuses it as in the first flight */
      break;
  }
  csb_clienthello_info hi;
  const char *why = "";
  switch (csb_clienthello_parse(p + off, c->cin.len - off, &hi, &why)) {
    case CSB_CLIENTHELLO_INCOMPLETE:
      return second_need(c, off + hi.consumed);
    case CSB_CLIENTHELLO_OK:
      break;
    default:
      refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", why);
      return -1;
  }
  int same = hi.has_sni == c->sni_first_has;
  if (same && hi.has_sni) {
    char *norm = csb_netpolicy_normalize_host(hi.sni);
    same = strcmp(norm, c->sni_first) == 0;
    free(norm);
  }
  if (!same) {
    refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed",
           "the second ClientHello names another server than the first");
    return -1;
  }
  c->sni_phase = SNI_FIRST;
  px_tunnel_open(c);
  return 1;
}

int px_sni_pump(px_conn *c) {
  int progress = 0;
  if (c->sni_phase == SNI_SERVER) return await_server(c);
  /* the origin may speak first; the confirmation of the tunnel goes out too */
  int r = px_tunnel_relay_down(c);
  if (r < 0) {
    px_conn_close(c);
    return 0;
  }
  progress |= r;
  if (c->dead || c->dwait || c->state != ST_TUNNEL_PEEK) return progress;
  if (!px_conn_fill(c, &c->cli, &c->cin, CSB_CLIENTHELLO_MAX_INPUT, &progress)) {
    px_conn_close(c);
    return 0;
  }
  if (c->cin.len == 0) {
    if (c->cli.eof) px_tunnel_open(c); /* the relay passes the EOF on */
    return progress;
  }
  if (c->cin.len < c->sni_need && !c->cli.eof) return progress;
  if (c->sni_phase == SNI_SECOND) {
    if (c->cli.eof && c->cin.len < c->sni_need) {
      refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", "connection closed inside the second flight");
      return 0;
    }
    int sr = second_hello(c);
    return sr < 0 ? 0 : (progress | sr);
  }
  csb_clienthello_info hi;
  const char *why = "";
  switch (csb_clienthello_parse((const uint8_t *)c->cin.data, c->cin.len, &hi, &why)) {
    case CSB_CLIENTHELLO_NOT_TLS:
      px_tunnel_open(c);
      return 1;
    case CSB_CLIENTHELLO_INCOMPLETE:
      if (!c->sni_started) {
        /* a handshake has begun: it gets the handshake timeout, not the idle one */
        c->sni_started = 1;
        px_conn_set_deadline(c, c->px->lim.handshake_ms);
      }
      c->sni_need = hi.consumed;
      if (c->cli.eof) {
        refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", "connection closed inside the ClientHello");
        return 0;
      }
      return progress;
    case CSB_CLIENTHELLO_ERROR:
      refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", why);
      return 0;
    case CSB_CLIENTHELLO_OK:
      break;
  }
  c->sni_hello_len = hi.consumed;
  c->sni_first_has = hi.has_sni;
  c->sni_first[0] = '\0';
  if (!hi.has_sni) {
    hello_passed(c);
    return 1;
  }
  char *norm = csb_netpolicy_normalize_host(hi.sni);
  snprintf(c->sni_first, sizeof c->sni_first, "%s", norm);
  free(norm);
  judge(c, hi.sni);
  return 1;
}
