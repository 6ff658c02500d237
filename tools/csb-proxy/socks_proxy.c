/* socks_proxy.c - SOCKS5 without authentication: CONNECT (tunnelled, or
 * intercepted on port 443 when limited mode or hooks need it) and UDP
 * ASSOCIATE (udp.c). BIND is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "csb_socks.h"

static void reply_close(px_conn *c, uint8_t rep) {
  uint8_t buf[32];
  size_t n = csb_socks_build_reply(buf, rep, NULL);
  px_conn_fail_raw(c, buf, n);
}

static void reply_ok(px_conn *c, const struct sockaddr *bound) {
  uint8_t buf[32];
  size_t n = csb_socks_build_reply(buf, CSB_SOCKS_REP_SUCCEEDED, bound);
  csb_buf_append(&c->cout, buf, n);
}

static void audit_nd(px_conn *c, csb_block_reason r, px_source s) { px_audit_block(c, 0, r, s, "deny"); }

static void handle_request(px_conn *c, const csb_socks_request *req) {
  px_proxy *px = c->px;
  c->kind = REQ_SOCKS;
  c->method[0] = '\0';
  snprintf(c->host, sizeof c->host, "%s", req->dst.host);
  c->port = req->dst.port;
  if (req->cmd == CSB_SOCKS_CMD_BIND) {
    reply_close(c, CSB_SOCKS_REP_COMMAND_NOT_SUPPORTED);
    return;
  }
  if (req->cmd == CSB_SOCKS_CMD_UDP_ASSOCIATE) {
    c->proto = PROTO_SOCKS5_UDP;
    if (!px->np->enable_socks5_udp) {
      reply_close(c, CSB_SOCKS_REP_COMMAND_NOT_SUPPORTED);
      return;
    }
    if (!px->np->enabled) {
      audit_nd(c, CSB_BLOCK_PROXY_DISABLED, SRC_PROXY_STATE);
      reply_close(c, CSB_SOCKS_REP_NOT_ALLOWED);
      return;
    }
    if (px->np->mode == CSB_NETMODE_LIMITED) {
      audit_nd(c, CSB_BLOCK_METHOD_NOT_ALLOWED, SRC_MODE_GUARD);
      reply_close(c, CSB_SOCKS_REP_NOT_ALLOWED);
      return;
    }
    px_udp_start(c, &req->dst);
    return;
  }
  c->proto = PROTO_SOCKS5_TCP;
  if (c->port == 0) {
    reply_close(c, CSB_SOCKS_REP_GENERAL_FAILURE);
    return;
  }
  if (!px->np->enabled) {
    audit_nd(c, CSB_BLOCK_PROXY_DISABLED, SRC_PROXY_STATE);
    reply_close(c, CSB_SOCKS_REP_NOT_ALLOWED);
    return;
  }
  if (px->np->mode == CSB_NETMODE_LIMITED && c->port != 443) {
    audit_nd(c, CSB_BLOCK_METHOD_NOT_ALLOWED, SRC_MODE_GUARD);
    reply_close(c, CSB_SOCKS_REP_NOT_ALLOWED);
    return;
  }
  px_check_start(c);
}

int px_socks_pump(px_conn *c) {
  int progress = 0;
  if (c->cout.len && !px_stream_flush(&c->cli, &c->cout, &progress)) {
    px_conn_close(c);
    return 0;
  }
  if (!px_stream_fill(&c->cli, &c->cin, 1024, &progress)) {
    px_conn_close(c);
    return 0;
  }
  const char *why = NULL;
  size_t used = 0;
  if (c->state == ST_SOCKS_GREET) {
    int no_auth = 0;
    csb_socks_status st = csb_socks_parse_greeting((const uint8_t *)c->cin.data, c->cin.len, &used, &no_auth, &why);
    static const uint8_t refuse[] = {5, CSB_SOCKS_METHOD_UNACCEPTABLE};
    if (st == CSB_SOCKS_ERROR) {
      /* a SOCKS5 greeting offering no method is told so (RFC 1928 §3) */
      if ((uint8_t)c->cin.data[0] == CSB_SOCKS_VERSION) {
        px_conn_fail_raw(c, refuse, sizeof refuse);
        return 1;
      }
      px_conn_close(c);
      return 0;
    }
    if (st == CSB_SOCKS_OK) {
      px_buf_consume(&c->cin, used);
      if (!no_auth) {
        px_conn_fail_raw(c, refuse, sizeof refuse);
        return 1;
      }
      static const uint8_t ok[] = {5, CSB_SOCKS_METHOD_NONE};
      csb_buf_append(&c->cout, ok, sizeof ok);
      c->state = ST_SOCKS_REQ;
      return 1;
    }
  } else {
    csb_socks_request req;
    uint8_t rep = CSB_SOCKS_REP_GENERAL_FAILURE;
    csb_socks_status st = csb_socks_parse_request((const uint8_t *)c->cin.data, c->cin.len, &used, &req, &rep, &why);
    if (st == CSB_SOCKS_ERROR) {
      reply_close(c, rep);
      return 1;
    }
    if (st == CSB_SOCKS_OK) {
      px_buf_consume(&c->cin, used);
      handle_request(c, &req);
      return 1;
    }
  }
  if (c->cli.eof) {
    px_conn_close(c);
    return 0;
  }
  return progress;
}

void px_socks_on_blocked(px_conn *c, csb_block_reason r, px_source s, const char *decision) {
  (void)r;
  (void)s;
  (void)decision;
  reply_close(c, CSB_SOCKS_REP_NOT_ALLOWED);
}

void px_socks_on_allowed(px_conn *c) {
  px_proxy *px = c->px;
  int hooked = csb_netpolicy_host_has_hooks(px->np, c->host);
  int needs_mitm = c->port == 443 && (px->np->mode == CSB_NETMODE_LIMITED || hooked);
  if ((hooked && c->port != 443) || (needs_mitm && !px->mitm)) {
    px_audit_block(c, 0, CSB_BLOCK_MITM_REQUIRED, SRC_MODE_GUARD, "deny");
    reply_close(c, CSB_SOCKS_REP_NOT_ALLOWED);
    return;
  }
  if (needs_mitm) {
    if (c->cin.len > 0) {
      px_conn_close(c);
      return;
    }
    reply_ok(c, NULL);
    c->mitm_approved = c->check_override;
    snprintf(c->mitm_host, sizeof c->mitm_host, "%s", c->host);
    c->mitm_port = c->port;
    px_mitm_start_accept(c);
    return;
  }
  px_connect_start(c);
}

void px_socks_on_connected(px_conn *c) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(c->up.fd, (struct sockaddr *)&ss, &sl) != 0) memset(&ss, 0, sizeof ss);
  reply_ok(c, (struct sockaddr *)&ss);
  px_tunnel_start(c);
}

void px_socks_on_connect_failed(px_conn *c, int err) {
  uint8_t rep = CSB_SOCKS_REP_GENERAL_FAILURE;
  if (err == ECONNREFUSED) rep = CSB_SOCKS_REP_CONNECTION_REFUSED;
  if (err == ENETUNREACH) rep = CSB_SOCKS_REP_NETWORK_UNREACHABLE;
  if (err == EHOSTUNREACH || err == ETIMEDOUT) rep = CSB_SOCKS_REP_HOST_UNREACHABLE;
  if (c->px->verbose)
    fprintf(stderr, "csb-proxy: [%llu] socks connect %s:%d: %s\n", (unsigned long long)c->id, c->host, c->port,
            strerror(err));
  reply_close(c, rep);
}
