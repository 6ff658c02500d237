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
 * Not seen: names inside the encrypted part of a TLS session (the Host of
 * a request, the inner ClientHello of Encrypted Client Hello) and
 * whatever a non-TLS protocol names (docs/csb-proxy.md). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "csb_clienthello.h"

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

static void on_decided(void *arg, px_decision d, const char *why) {
  px_conn *c = arg;
  (void)why;
  c->dwait = NULL;
  if (d == DECIDE_ALLOW) {
    audit(c, c->sni_host, 1, "allow", SRC_DECIDER, "not_allowed", 1);
    px_tunnel_open(c);
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
    px_tunnel_open(c);
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
  px_tunnel_open(c);
}

void px_sni_timeout(px_conn *c) {
  refuse(c, c->host, 0, "deny", SRC_BASELINE, "sni_malformed", "ClientHello not complete within the handshake timeout");
}

int px_sni_pump(px_conn *c) {
  int progress = 0;
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
  if (!hi.has_sni) {
    px_tunnel_open(c);
    return 1;
  }
  judge(c, hi.sni);
  return 1;
}
