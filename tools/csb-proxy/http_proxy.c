/* http_proxy.c - the HTTP side: request heads, absolute-form forwarding
 * with keep-alive, CONNECT, requests inside intercepted TLS sessions,
 * Unix-socket targets, blocked and error responses. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

static const char k_established[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* ---- helpers ------------------------------------------------------------------ */

static int hdr_is(const csb_http_header *h, const char *name) { return csb_http_name_is(h, name); }

static void put_header(csb_buf *b, const csb_http_header *h) {
  csb_buf_append(b, h->name, h->name_len);
  csb_buf_puts(b, ": ");
  csb_buf_append(b, h->value, h->value_len);
  csb_buf_puts(b, "\r\n");
}

/* The framing headers of a forwarded message: the proxy's own, since the
 * originals are dropped (Transfer-Encoding as hop-by-hop, Content-Length
 * because a list or a repeated header might be read differently). */
static int is_content_length(const csb_http_header *h) { return hdr_is(h, "content-length"); }

static void put_framing(csb_buf *b, const csb_http_framing *fr) {
  if (fr->kind == CSB_HTTP_BODY_CHUNKED) csb_buf_puts(b, "Transfer-Encoding: chunked\r\n");
  if (fr->has_length) csb_buf_printf(b, "Content-Length: %llu\r\n", (unsigned long long)fr->length);
}

static void authority_text(const char *host, int port, int default_port, char *out, size_t n) {
  int v6 = strchr(host, ':') != NULL;
  if (port == default_port)
    snprintf(out, n, v6 ? "[%s]" : "%s", host);
  else
    snprintf(out, n, v6 ? "[%s]:%d" : "%s:%d", host, port);
}

/* The normalised host of a parsed authority (a new string). An IPv6
 * literal goes in with its brackets, inside which normalisation reads
 * RFC 6874's "%25" as the zone separator: "[fe80::1%25lo]" is fe80::1%lo,
 * as the SOCKS and pattern forms of it are, never a zone named "25lo". */
static char *authority_host(const csb_http_authority *a) {
  if (!a->ipv6_literal) return csb_netpolicy_normalize_host(a->host);
  char br[sizeof a->host + 2];
  snprintf(br, sizeof br, "[%s]", a->host);
  return csb_netpolicy_normalize_host(br);
}

/* Normalised host of an authority string (Host header value). */
static int host_of(const char *v, size_t n, char *host, size_t hn, int *port) {
  csb_http_authority a;
  const char *why;
  if (!csb_http_parse_authority(v, n, &a, &why)) return 0;
  char *norm = authority_host(&a);
  snprintf(host, hn, "%s", norm);
  free(norm);
  *port = a.port;
  return 1;
}

static void reply_text(px_conn *c, int status, const char *reason, const char *body) {
  px_conn_fail(c, status, reason, body, NULL);
}

/* The one Host header of h, if any, through host_of: 1 when read, 0 when
 * there is none, -1 after a 400 with the body `bad` when there are several
 * or it is not an authority. */
static int host_header(px_conn *c, const csb_http_head *h, const char *bad, char *host, size_t hn,
                       int *port) {
  size_t n = csb_http_count(h, "host");
  if (n == 0) return 0;
  const csb_http_header *hh = csb_http_find(h, "host");
  if (n > 1 || !host_of(hh->value, hh->value_len, host, hn, port)) {
    reply_text(c, 400, "Bad Request", bad);
    return -1;
  }
  return 1;
}

static void reply_blocked(px_conn *c, csb_block_reason r, px_source s, const char *decision) {
  if (c->kind == REQ_PLAIN) {
    csb_buf out;
    csb_buf_init(&out);
    px_resp_blocked_json(&out, c->host, r, decision, s, "http", c->port, 1);
    px_conn_fail_raw(c, out.data, out.len);
    csb_buf_free(&out);
    return;
  }
  if (c->kind == REQ_UNIX) {
    csb_buf out;
    csb_buf_init(&out);
    px_resp_blocked_json(&out, "unix-socket", r, decision, s, "http", 0, 0);
    px_conn_fail_raw(c, out.data, out.len);
    csb_buf_free(&out);
    return;
  }
  if (r == CSB_BLOCK_PROXY_DISABLED) {
    px_conn_fail(c, 503, "Service Unavailable", csb_block_message(r), csb_block_header_value(r));
    return;
  }
  px_conn_fail(c, 403, "Forbidden", csb_block_message(r), csb_block_header_value(r));
}

static int valid_method(const char *m, size_t n) {
  if (n == 0 || n >= 32) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isupper((unsigned char)m[i]) && m[i] != '-' && m[i] != '_') return 0;
  return 1;
}


/* ---- request heads ------------------------------------------------------------------ */

static void handle_request(px_conn *c, const csb_http_head *h);

/* 1 when p[from, len) holds an LF not after a CR or a CR followed by
 * anything but LF (one at len may still get its LF). */
static int bare_line_end(const char *p, size_t from, size_t len) {
  for (size_t i = from; i < len; i++) {
    if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) return 1;
    if (p[i] == '\r' && i + 1 < len && p[i + 1] != '\n') return 1;
  }
  return 0;
}

int px_http_pump_head(px_conn *c) {
  px_proxy *px = c->px;
  size_t max = px->lim.max_header_bytes;
  int progress = 0;
  for (int rounds = 0; rounds < 64; rounds++) {
    if (c->cin.len > 0) {
      size_t from = c->head_scanned > 3 ? c->head_scanned - 3 : 0;
      int complete = memmem(c->cin.data + from, c->cin.len - from, "\r\n\r\n", 4) != NULL;
      /* a head whose line ends no parser agrees on never holds CRLF CRLF:
       * it is refused when the first of them arrives, not when it times out */
      int bad_eol = bare_line_end(c->cin.data, from, c->cin.len);
      c->head_scanned = c->cin.len;
      if (complete || bad_eol || c->cin.len <= 512 || c->cin.len >= max) {
        csb_http_head h;
        const char *why = NULL;
        csb_http_status st = csb_http_parse_request(c->cin.data, c->cin.len, max, &h, &why);
        if (st == CSB_HTTP_OK) {
          c->head_scanned = 0;
          handle_request(c, &h);
          return 1;
        }
        if (st == CSB_HTTP_ERROR) {
          reply_text(c, 400, "Bad Request", why ? why : "malformed request");
          return 1;
        }
        if (st == CSB_HTTP_TOO_LARGE) {
          reply_text(c, 431, "Request Header Fields Too Large", why ? why : "header section too large");
          return 1;
        }
      }
    }
    if (c->cli.eof || c->cli.err) {
      if (c->cin.len > 0 && !c->cli.err)
        reply_text(c, 400, "Bad Request", "incomplete request");
      else
        px_conn_close(c);
      return 1;
    }
    size_t before = c->cin.len;
    int p = 0;
    if (!px_conn_fill(c, &c->cli, &c->cin, max + 1, &p)) {
      px_conn_close(c);
      return 1;
    }
    progress |= p;
    if (before == 0 && c->cin.len > 0) px_conn_set_deadline(c, px->lim.handshake_ms);
    if (c->cin.len == before && !c->cli.eof) return progress;
  }
  return progress;
}

static int parse_framing(px_conn *c, const csb_http_head *h) {
  const char *why = NULL;
  if (!csb_http_request_framing(h, &c->req_fr, &why)) {
    reply_text(c, 400, "Bad Request", why ? why : "invalid request framing");
    return 0;
  }
  return 1;
}

/* Outside full mode: 1 when a method-override header (which some
 * frameworks obey in place of the request line's method) names a method
 * the mode refuses, as `GET` with `X-HTTP-Method-Override: DELETE`. Names
 * are compared as origins that map them to variables read them, with '_'
 * and '-' alike: CGI-style servers give `X_HTTP_Method_Override` to the
 * application as HTTP_X_HTTP_METHOD_OVERRIDE. */
static const char *const k_override_names[] = {"x-http-method-override", "x-http-method", "x-method-override"};

static int is_override_header(const char *name, size_t len) {
  for (size_t k = 0; k < CSB_ARRAY_LEN(k_override_names); k++)
    if (csb_netpolicy_hook_header_is(name, len, k_override_names[k])) return 1;
  return 0;
}

static int overrides_method(csb_netmode mode, const csb_http_head *h) {
  if (mode == CSB_NETMODE_FULL) return 0;
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *x = &h->headers[i];
    if (!is_override_header(x->name, x->name_len)) continue;
    char m[16];
    if (x->value_len >= sizeof m) return 1;
    for (size_t j = 0; j < x->value_len; j++) m[j] = (char)toupper((unsigned char)x->value[j]);
    m[x->value_len] = '\0';
    if (!csb_netmode_allows_method(mode, m)) return 1;
  }
  return 0;
}

static void begin_request(px_conn *c, const csb_http_head *h, px_req_kind kind) {
  c->kind = kind;
  memcpy(c->method, h->method, h->method_len);
  c->method[h->method_len] = '\0';
  c->client_http10 = h->version_minor == 0;
  c->client_ka = csb_http_keep_alive(h) ||
                 (h->version_minor == 0 && csb_http_has_token(h, "proxy-connection", "keep-alive"));
  c->method_allowed = csb_netmode_allows_method(c->px->np->mode, c->method) &&
                      !overrides_method(c->px->np->mode, h);
  c->check_override = 0;
}

/* Outside full mode a request carries no body (Content-Length above 0 or
 * any Transfer-Encoding; c->req_fr, from parse_framing): 1 after the
 * refusal, audited and answered as a refused method. Nothing went
 * upstream, and the refusal ends the connection, so the body left unread
 * is never taken for the next request. */
static int body_refused(px_conn *c) {
  if (c->req_fr.kind == CSB_HTTP_BODY_NONE || csb_netmode_allows_request_body(c->px->np->mode)) return 0;
  px_audit_block(c, 0, CSB_BLOCK_BODY_NOT_ALLOWED, SRC_MODE_GUARD, "deny");
  reply_blocked(c, CSB_BLOCK_BODY_NOT_ALLOWED, SRC_MODE_GUARD, "deny");
  return 1;
}

static void unpin_unix_socket(px_conn *c) {
  if (c->unix_fd >= 0) close(c->unix_fd);
  c->unix_fd = -1;
}

/* Opens what the absolute c->unix_path names now (O_PATH, following
 * symlinks as connect() would) and puts where that really is in
 * c->unix_path, for the check; the connect then goes through that
 * descriptor (conn.c), so a link the client swaps in after the check
 * leads nowhere else. A path that cannot be opened stays as written and
 * its connect fails with the reason. */
static void pin_unix_socket(px_conn *c) {
  unpin_unix_socket(c);
  c->unix_err = ENOENT;
  if (c->unix_path[0] != '/') return;
  char *real = NULL;
  c->unix_err = csb_os_pin_path(AT_FDCWD, c->unix_path, &c->unix_fd, &real);
  if (c->unix_err == ENOTSUP) c->unix_err = ENOENT; /* (no /proc: nothing to connect through) */
  if (c->unix_err != 0) return;
  free(c->unix_path);
  c->unix_path = real;
}

static void handle_unix(px_conn *c, const csb_http_head *h, const csb_http_header *xs) {
  px_proxy *px = c->px;
  c->kind = REQ_UNIX;
  c->proto = PROTO_HTTP;
  snprintf(c->host, sizeof c->host, "unix-socket");
  c->port = 0;
  for (size_t i = 0; i < xs->value_len; i++) {
    if ((unsigned char)xs->value[i] >= 0x80) {
      reply_text(c, 400, "Bad Request", "invalid x-unix-socket header");
      return;
    }
  }
  if (csb_http_count(h, "x-unix-socket") != 1) {
    reply_text(c, 400, "Bad Request", "invalid x-unix-socket header");
    return;
  }
  if (!px->np->enabled) {
    px_audit_block(c, 0, CSB_BLOCK_PROXY_DISABLED, SRC_PROXY_STATE, "deny");
    reply_blocked(c, CSB_BLOCK_PROXY_DISABLED, SRC_PROXY_STATE, "deny");
    return;
  }
  if (!c->method_allowed) {
    px_audit_block(c, 0, CSB_BLOCK_METHOD_NOT_ALLOWED, SRC_MODE_GUARD, "deny");
    reply_blocked(c, CSB_BLOCK_METHOD_NOT_ALLOWED, SRC_MODE_GUARD, "deny");
    return;
  }
  free(c->unix_path);
  c->unix_path = csb_xstrndup(xs->value, xs->value_len);
  pin_unix_socket(c);
  if (!csb_netpolicy_unix_socket_allowed(px->np, c->unix_path)) {
    unpin_unix_socket(c);
    px_audit_block(c, 0, CSB_BLOCK_NOT_ALLOWED, SRC_BASELINE, "deny");
    reply_blocked(c, CSB_BLOCK_NOT_ALLOWED, SRC_BASELINE, "deny");
    return;
  }
  /* origin-form target: path and query of the request target */
  csb_http_target t;
  const char *why = NULL;
  if (!parse_framing(c, h) || body_refused(c)) {
    unpin_unix_socket(c);
    return;
  }
  if (!csb_http_parse_target(h->target, h->target_len, &t, &why)) {
    unpin_unix_socket(c);
    reply_text(c, 400, "Bad Request", why);
    return;
  }
  px_audit_allow(c, 0);
  csb_buf head;
  csb_buf_init(&head);
  csb_buf_printf(&head, "%s ", c->method);
  if (t.path_len == 0 || t.path[0] != '/') csb_buf_putc(&head, '/');
  csb_buf_append(&head, t.path, t.path_len);
  csb_buf_printf(&head, " HTTP/1.%d\r\n", h->version_minor);
  int have_host = 0;
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *x = &h->headers[i];
    if (hdr_is(x, "x-unix-socket") || csb_http_is_hop_by_hop_in(h, x) || is_content_length(x)) continue;
    if (hdr_is(x, "host")) have_host = 1;
    put_header(&head, x);
  }
  if (!have_host) csb_buf_puts(&head, "Host: localhost\r\n");
  c->req_hooked = 0;
  put_framing(&head, &c->req_fr);
  csb_buf_puts(&head, "\r\n");
  free(c->req_head);
  c->req_head_len = head.len;
  c->req_head = csb_buf_steal(&head);
  px_buf_consume(&c->cin, h->head_len);
  char key[320];
  px_make_up_key(c, key, sizeof key);
  if (c->up.fd >= 0 && c->up_idle && strcmp(key, c->up_key) == 0) {
    c->up_reused = 1;
    px_http_on_connected(c);
    return;
  }
  snprintf(c->up_key, sizeof c->up_key, "%s", key);
  px_connect_start(c);
}

static void handle_plain(px_conn *c, const csb_http_head *h) {
  px_proxy *px = c->px;
  begin_request(c, h, REQ_PLAIN);
  c->proto = PROTO_HTTP;
  const csb_http_header *xs = csb_http_find(h, "x-unix-socket");
  if (xs) {
    handle_unix(c, h, xs);
    return;
  }
  csb_http_target t;
  const char *why = NULL;
  if (!csb_http_parse_target(h->target, h->target_len, &t, &why) || !t.absolute) {
    reply_text(c, 400, "Bad Request", "missing host");
    return;
  }
  if (t.https) {
    reply_text(c, 400, "Bad Request", "https:// request targets need CONNECT");
    return;
  }
  char *norm = authority_host(&t.authority);
  snprintf(c->host, sizeof c->host, "%s", norm);
  free(norm);
  c->port = t.authority.port ? t.authority.port : 80;
  char hhost[256];
  int hport = 0;
  int found = host_header(c, h, "invalid Host header", hhost, sizeof hhost, &hport);
  if (found < 0) return;
  if (found && (strcmp(hhost, c->host) != 0 || (hport ? hport : 80) != c->port)) {
    reply_text(c, 400, "Bad Request", "Host header does not match request target");
    return;
  }
  if (!px->np->enabled) {
    px_audit_block(c, 0, CSB_BLOCK_PROXY_DISABLED, SRC_PROXY_STATE, "deny");
    px_conn_fail(c, 503, "Service Unavailable", csb_block_message(CSB_BLOCK_PROXY_DISABLED), NULL);
    return;
  }
  if (!parse_framing(c, h)) return;
  px_check_start(c);
}

static void handle_connect(px_conn *c, const csb_http_head *h) {
  px_proxy *px = c->px;
  begin_request(c, h, REQ_CONNECT);
  c->proto = PROTO_HTTPS_CONNECT;
  if (h->target_len == 0) {
    reply_text(c, 400, "Bad Request", "missing authority");
    return;
  }
  csb_http_authority a;
  const char *why = NULL;
  if (!csb_http_parse_authority(h->target, h->target_len, &a, &why)) {
    reply_text(c, 400, "Bad Request", "invalid host");
    return;
  }
  if (a.port == 0) {
    reply_text(c, 400, "Bad Request", "missing authority");
    return;
  }
  char *norm = authority_host(&a);
  if (!*norm) {
    free(norm);
    reply_text(c, 400, "Bad Request", "invalid host");
    return;
  }
  snprintf(c->host, sizeof c->host, "%s", norm);
  free(norm);
  c->port = a.port;
  if (!px->np->enabled) {
    px_audit_block(c, 0, CSB_BLOCK_PROXY_DISABLED, SRC_PROXY_STATE, "deny");
    px_conn_fail(c, 503, "Service Unavailable", csb_block_message(CSB_BLOCK_PROXY_DISABLED), NULL);
    return;
  }
  /* the head stays in cin until the decision; what follows it is tunnel data */
  c->req_head_len = h->head_len;
  px_check_start(c);
}

static void handle_mitm(px_conn *c, const csb_http_head *h) {
  begin_request(c, h, REQ_MITM);
  c->proto = PROTO_HTTPS_CONNECT;
  if (strcmp(c->method, "CONNECT") == 0) {
    reply_text(c, 405, "Method Not Allowed", "CONNECT not supported inside MITM");
    return;
  }
  csb_http_target t;
  const char *why = NULL;
  if (!csb_http_parse_target(h->target, h->target_len, &t, &why)) {
    reply_text(c, 400, "Bad Request", why ? why : "invalid request target");
    return;
  }
  char host[256] = "";
  int port = 0;
  int have = 0;
  if (t.absolute) {
    char *norm = authority_host(&t.authority);
    snprintf(host, sizeof host, "%s", norm);
    free(norm);
    port = t.authority.port ? t.authority.port : (t.https ? 443 : 80);
    have = 1;
  }
  char hhost[256];
  int hport = 0;
  int found = host_header(c, h, "host mismatch", hhost, sizeof hhost, &hport);
  if (found < 0) return;
  if (found) {
    if (!hport) hport = 443;
    if (have && (strcmp(hhost, host) != 0 || hport != port)) {
      reply_text(c, 400, "Bad Request", "host mismatch");
      return;
    }
    snprintf(host, sizeof host, "%s", hhost);
    port = hport;
    have = 1;
  }
  if (!have || strcmp(host, c->mitm_host) != 0 || port != c->mitm_port) {
    reply_text(c, 400, "Bad Request", "host mismatch");
    return;
  }
  snprintf(c->host, sizeof c->host, "%s", c->mitm_host);
  c->port = c->mitm_port;
  if (!parse_framing(c, h)) return;
  px_check_start(c);
}

static void handle_request(px_conn *c, const csb_http_head *h) {
  if (!valid_method(h->method, h->method_len)) {
    reply_text(c, 501, "Not Implemented", "unsupported method");
    return;
  }
  c->kind = REQ_NONE;
  c->via_upstream = 0;
  if (c->in_mitm)
    handle_mitm(c, h);
  else if (h->method_len == 7 && memcmp(h->method, "CONNECT", 7) == 0)
    handle_connect(c, h);
  else
    handle_plain(c, h);
}

/* ---- decisions ------------------------------------------------------------------------ */

void px_http_on_blocked(px_conn *c, csb_block_reason r, px_source s, const char *decision) {
  reply_blocked(c, r, s, decision);
}

/* A hooked request may carry method-override headers (any spelling, see
 * overrides_method) that the origin obeys in place of the request line's
 * method: each method they name must be matched by the same hook as the
 * request line's, or the hook would vouch for a method it does not list
 * (`GET` with `X-HTTP-Method-Override: DELETE` under a GET-only hook).
 * `hh` are the header fields the origin gets. */
static int override_keeps_hook(px_conn *c, const char *target, const csb_hook_header *hh, size_t nh,
                               const csb_netpolicy_hook *hook) {
  for (size_t i = 0; i < nh; i++) {
    if (!is_override_header(hh[i].name, hh[i].name_len)) continue;
    char m[64];
    if (hh[i].value_len == 0 || hh[i].value_len >= sizeof m) return 0;
    for (size_t j = 0; j < hh[i].value_len; j++) m[j] = (char)toupper((unsigned char)hh[i].value[j]);
    m[hh[i].value_len] = '\0';
    if (strcmp(m, c->method) == 0) continue;
    const csb_netpolicy_hook *other = NULL;
    if (csb_netpolicy_match_hooks(c->px->np, c->host, m, target, hh, nh, &other) != CSB_HOOK_MATCHED ||
        other != hook)
      return 0;
  }
  return 1;
}

/* Builds the head sent to the origin from the head still in cin. */
static int build_forward_head(px_conn *c) {
  csb_http_head h;
  const char *why = NULL;
  if (csb_http_parse_request(c->cin.data, c->cin.len, c->px->lim.max_header_bytes, &h, &why) != CSB_HTTP_OK) {
    reply_text(c, 400, "Bad Request", "malformed request");
    return 0;
  }
  csb_http_target t;
  csb_http_parse_target(h.target, h.target_len, &t, &why);
  const csb_netpolicy_hook *hook = NULL;
  if (c->kind == REQ_MITM) {
    /* hooks see the headers the origin gets: one named in Connection is
     * not forwarded, so no hook may vouch for it */
    csb_hook_header hh[CSB_HTTP_MAX_HEADERS];
    size_t nh = 0;
    for (size_t i = 0; i < h.n_headers; i++) {
      if (csb_http_is_hop_by_hop_in(&h, &h.headers[i])) continue;
      hh[nh].name = h.headers[i].name;
      hh[nh].name_len = h.headers[i].name_len;
      hh[nh].value = h.headers[i].value;
      hh[nh].value_len = h.headers[i].value_len;
      nh++;
    }
    char *target = t.path_len ? csb_xstrndup(t.path, t.path_len) : csb_xstrdup("/");
    csb_hook_result hr = csb_netpolicy_match_hooks(c->px->np, c->host, c->method, target, hh, nh, &hook);
    if (hr == CSB_HOOK_MATCHED && !override_keeps_hook(c, target, hh, nh, hook)) hr = CSB_HOOK_HOST_NO_MATCH;
    free(target);
    if (hr == CSB_HOOK_HOST_NO_MATCH) {
      px_audit_block(c, 0, CSB_BLOCK_MITM_HOOK_DENIED, SRC_MODE_GUARD, "deny");
      reply_blocked(c, CSB_BLOCK_MITM_HOOK_DENIED, SRC_MODE_GUARD, "deny");
      return 0;
    }
  }
  if (!c->method_allowed) {
    px_audit_block(c, 0, CSB_BLOCK_METHOD_NOT_ALLOWED, SRC_MODE_GUARD, "deny");
    reply_blocked(c, CSB_BLOCK_METHOD_NOT_ALLOWED, SRC_MODE_GUARD, "deny");
    return 0;
  }
  if (body_refused(c)) return 0;
  csb_buf head;
  csb_buf_init(&head);
  csb_buf_printf(&head, "%s ", c->method);
  if (c->kind == REQ_PLAIN && c->via_upstream) {
    /* the upstream proxy reads the authority again: it gets the checked
     * one, never the client's spelling ("http://a?@b/" is host b to a
     * parser that ends the authority only at '/') */
    char auth[300];
    authority_text(c->host, c->port, 80, auth, sizeof auth);
    csb_buf_printf(&head, "http://%s", auth);
  }
  if (t.path_len == 0 || t.path[0] != '/') csb_buf_putc(&head, '/');
  csb_buf_append(&head, t.path, t.path_len);
  csb_buf_printf(&head, " HTTP/1.%d\r\n", h.version_minor);
  int have_host = 0;
  for (size_t i = 0; i < h.n_headers; i++) {
    const csb_http_header *x = &h.headers[i];
    if (csb_http_is_hop_by_hop_in(&h, x) || is_content_length(x)) continue;
    if (hook) {
      int strip = 0;
      for (size_t a = 0; a < hook->n_actions && !strip; a++) {
        const csb_netpolicy_action *act = &c->px->np->actions[hook->actions[a]];
        /* by name as the origin may read it: X_Token is X-Token to CGI */
        for (size_t k = 0; k < act->strip_request_headers.len && !strip; k++)
          strip = csb_netpolicy_hook_header_is(x->name, x->name_len, act->strip_request_headers.items[k]);
        for (size_t k = 0; k < act->n_inject && !strip; k++)
          strip = csb_netpolicy_hook_header_is(x->name, x->name_len, act->inject[k].name);
      }
      if (strip) continue;
    }
    if (hdr_is(x, "host")) {
      have_host = 1;
      if (c->kind == REQ_MITM) {
        char auth[300];
        authority_text(c->host, c->port, 443, auth, sizeof auth);
        csb_buf_printf(&head, "Host: %s\r\n", auth);
        continue;
      }
    }
    put_header(&head, x);
  }
  if (!have_host) {
    char auth[300];
    authority_text(c->host, c->port, c->kind == REQ_MITM ? 443 : 80, auth, sizeof auth);
    csb_buf_printf(&head, "Host: %s\r\n", auth);
  }
  if (hook) {
    for (size_t a = 0; a < hook->n_actions; a++) {
      const csb_netpolicy_action *act = &c->px->np->actions[hook->actions[a]];
      for (size_t k = 0; k < act->n_inject; k++)
        csb_buf_printf(&head, "%s: %s%s\r\n", act->inject[k].name, act->inject[k].prefix ? act->inject[k].prefix : "",
                       act->inject[k].value ? act->inject[k].value : "");
    }
  }
  /* a trailer field would reach the origin past the hook's rules on header
   * fields (an origin that merges trailers into the head would see a
   * stripped field again, or one the hook matched on changed) */
  c->req_hooked = hook != NULL;
  put_framing(&head, &c->req_fr);
  csb_buf_puts(&head, "\r\n");
  free(c->req_head);
  c->req_head_len = head.len;
  c->req_head = csb_buf_steal(&head);
  px_buf_consume(&c->cin, h.head_len);
  return 1;
}

void px_http_on_allowed(px_conn *c) {
  px_proxy *px = c->px;
  if (c->kind == REQ_CONNECT) {
    int needs_mitm = px->np->mode == CSB_NETMODE_LIMITED || csb_netpolicy_host_has_hooks(px->np, c->host);
    if (needs_mitm && !px->mitm) {
      px_audit_block(c, 0, CSB_BLOCK_MITM_REQUIRED, SRC_MODE_GUARD, "deny");
      reply_blocked(c, CSB_BLOCK_MITM_REQUIRED, SRC_MODE_GUARD, "deny");
      return;
    }
    px_buf_consume(&c->cin, c->req_head_len);
    if (needs_mitm) {
      if (c->cin.len > 0) {
        /* bytes sent before the tunnel was confirmed cannot be intercepted */
        px_conn_close(c);
        return;
      }
      c->mitm_approved = c->check_override;
      snprintf(c->mitm_host, sizeof c->mitm_host, "%s", c->host);
      c->mitm_port = c->port;
      csb_buf_append(&c->cout, k_established, sizeof k_established - 1);
      px_mitm_start_accept(c);
      return;
    }
    px_connect_start(c);
    return;
  }
  /* REQ_PLAIN, REQ_MITM */
  if (c->kind == REQ_PLAIN && csb_netpolicy_host_has_hooks(px->np, c->host)) {
    /* hooks apply to intercepted requests only: plain HTTP would bypass them */
    px_audit_block(c, 0, CSB_BLOCK_MITM_REQUIRED, SRC_MODE_GUARD, "deny");
    reply_blocked(c, CSB_BLOCK_MITM_REQUIRED, SRC_MODE_GUARD, "deny");
    return;
  }
  if (!build_forward_head(c)) return;
  char key[320];
  px_make_up_key(c, key, sizeof key);
  if (c->up.fd >= 0 && c->up_idle && strcmp(key, c->up_key) == 0) {
    c->up_reused = 1;
    c->up_idle = 0;
    px_http_on_connected(c);
    return;
  }
  snprintf(c->up_key, sizeof c->up_key, "%s", key);
  px_connect_start(c);
}

void px_http_on_connect_failed(px_conn *c, const char *why) {
  if (c->px->verbose)
    fprintf(stderr, "csb-proxy: [%llu] upstream %s:%d: %s\n", (unsigned long long)c->id, c->host, c->port, why);
  const char *body = c->kind == REQ_UNIX ? "unix socket proxy failed"
                     : c->kind == REQ_MITM ? "mitm upstream error"
                                           : "upstream failure";
  px_conn_fail(c, 502, "Bad Gateway", body, NULL);
}

static void start_forward(px_conn *c) {
  csb_buf_append(&c->uout, c->req_head, c->req_head_len);
  c->req_left = c->req_fr.length;
  csb_http_chunked_init(&c->req_ch);
  c->req_ch.no_trailers = c->req_hooked;
  c->req_done = c->req_fr.kind == CSB_HTTP_BODY_NONE;
  c->resp_done = c->resp_head_done = 0;
  c->resp_bytes = 0;
  c->resp_ka = 0;
  c->resp_dechunk = 0;
  c->interim_queued = 0;
  c->up_idle = 0;
  csb_buf_reset(&c->uin);
  c->state = ST_FORWARD;
  c->deadline = csb_evloop_now(c->px->loop) + c->px->lim.idle_ms;
  csb_ev_timer_set(c->px->loop, &c->timer, c->deadline);
}

void px_http_on_connected(px_conn *c) {
  if (c->kind == REQ_CONNECT) {
    csb_buf_append(&c->cout, k_established, sizeof k_established - 1);
    px_tunnel_start(c);
    return;
  }
  if (c->kind == REQ_MITM && !c->up.ssl) {
    px_mitm_start_upstream(c);
    return;
  }
  start_forward(c);
}

void px_http_mitm_upstream_ready(px_conn *c) { start_forward(c); }

/* ---- upstream proxy CONNECT ------------------------------------------------------------- */

/* The upstream proxy did not open the tunnel: the client is told in its
 * own protocol. */
static int up_proxy_failed(px_conn *c, int err, const char *why) {
  if (c->kind == REQ_SOCKS)
    px_socks_on_connect_failed(c, err);
  else
    px_http_on_connect_failed(c, why);
  return 1;
}

int px_up_proxy_pump(px_conn *c) {
  int progress = 0;
  if (c->uout.len && !px_stream_flush(&c->up, &c->uout, &progress))
    return up_proxy_failed(c, ECONNRESET, "upstream proxy write failed");
  if (!px_stream_fill(&c->up, &c->uin, c->px->lim.max_header_bytes + 1, &progress))
    return up_proxy_failed(c, ECONNRESET, "upstream proxy read failed");
  csb_http_head h;
  const char *why = NULL;
  csb_http_status st = csb_http_parse_response(c->uin.data ? c->uin.data : "", c->uin.len,
                                               c->px->lim.max_header_bytes, &h, &why);
  if (st == CSB_HTTP_INCOMPLETE) {
    if (c->up.eof) return up_proxy_failed(c, ECONNRESET, "upstream proxy closed the connection");
    return progress;
  }
  if (st != CSB_HTTP_OK || h.status < 200 || h.status > 299)
    return up_proxy_failed(c, ECONNREFUSED, "upstream proxy refused CONNECT");
  px_buf_consume(&c->uin, h.head_len);
  if (c->kind == REQ_SOCKS)
    px_socks_on_connected(c);
  else
    px_http_on_connected(c);
  return 1;
}

/* ---- forwarding --------------------------------------------------------------------------- */

/* fr: the framing of a final response, NULL for an interim (1xx) one. */
static void build_response_head(px_conn *c, const csb_http_head *h, const csb_http_framing *fr) {
  static const csb_http_framing none = {0};
  if (!fr) fr = &none;
  /* an HTTP/1.0 client cannot read chunked framing: it gets the chunk
   * data, delimited by the end of the connection */
  int dechunk = fr->kind == CSB_HTTP_BODY_CHUNKED && c->client_http10;
  int client_keep = c->client_ka && fr->kind != CSB_HTTP_BODY_UNTIL_CLOSE && !dechunk;
  csb_buf_printf(&c->cout, "HTTP/1.1 %d ", h->status);
  csb_buf_append(&c->cout, h->reason ? h->reason : "", h->reason_len);
  csb_buf_puts(&c->cout, "\r\n");
  /* a 1xx or 204 has no content and no Content-Length (RFC 9110 8.6): a
   * client that honoured one from the origin would read the next response
   * as its body (HEAD and 304 keep theirs: it describes a representation) */
  int no_length = h->status < 200 || h->status == 204;
  for (size_t i = 0; i < h->n_headers; i++) {
    const csb_http_header *x = &h->headers[i];
    /* an HTTP/1.1 body read until close because its last coding is not
     * chunked goes on as it came: its codings are announced too */
    int keep_te = fr->kind == CSB_HTTP_BODY_UNTIL_CLOSE && h->version_minor == 1 && !c->client_http10 &&
                  hdr_is(x, "transfer-encoding");
    if (!keep_te && (csb_http_is_hop_by_hop_in(h, x) || ((fr->has_length || no_length) && is_content_length(x))))
      continue;
    put_header(&c->cout, x);
  }
  if (!dechunk) put_framing(&c->cout, fr);
  if (h->status >= 200) {
    c->resp_dechunk = dechunk;
    if (!client_keep)
      csb_buf_puts(&c->cout, "Connection: close\r\n");
    else if (c->client_http10)
      csb_buf_puts(&c->cout, "Connection: keep-alive\r\n");
    c->client_ka = client_keep;
  }
  csb_buf_puts(&c->cout, "\r\n");
}

static void finish_exchange(px_conn *c) {
  px_proxy *px = c->px;
  int up_reusable = c->resp_ka && c->req_done && !c->up.eof && !c->up.err && c->uin.len == 0;
  if (!up_reusable) {
    px_stream_close(c, &c->up);
    c->up_idle = 0;
  } else {
    c->up_idle = 1;
  }
  if (!c->client_ka || c->cli.eof) {
    c->state = ST_CLOSING;
    px_conn_set_deadline(c, 2000);
    return;
  }
  c->state = ST_HTTP_HEAD;
  c->kind = REQ_NONE;
  c->resp_bytes = 0;
  c->interim_queued = 0;
  c->head_scanned = 0;
  c->deadline = csb_evloop_now(px->loop) + (c->cin.len ? px->lim.handshake_ms : px->lim.idle_ms);
  csb_ev_timer_set(px->loop, &c->timer, c->deadline);
  free(c->req_head);
  c->req_head = NULL;
  px_conn_release_buffers(c);
}

static int upstream_broken(px_conn *c) {
  if (!c->resp_head_done && c->resp_bytes == 0) {
    px_http_on_connect_failed(c, c->up.err ? "upstream I/O error" : "upstream closed the connection");
  } else {
    /* the response is truncated: the client sees the connection close */
    px_conn_close(c);
  }
  return 1;
}

int px_http_pump_forward(px_conn *c) {
  px_proxy *px = c->px;
  size_t cap = px->lim.buffer_bytes;
  int progress = 0;
  const char *why = NULL;

  /* to upstream */
  if (c->uout.len) {
    if (!px_stream_flush(&c->up, &c->uout, &progress)) {
      if (c->req_done) return upstream_broken(c);
      /* the origin stopped reading the request: it may still answer */
      c->req_done = 1;
      c->client_ka = 0;
      csb_buf_reset(&c->uout);
    }
  }
  /* request body */
  if (!c->req_done && c->uout.len < cap) {
    if (c->cin.len == 0 && !c->cli.eof) {
      if (!px_conn_fill(c, &c->cli, &c->cin, cap, &progress)) {
        px_conn_close(c);
        return 1;
      }
    }
    if (c->cin.len > 0) {
      size_t n = 0;
      if (c->req_fr.kind == CSB_HTTP_BODY_LENGTH) {
        n = c->cin.len < c->req_left ? c->cin.len : (size_t)c->req_left;
        c->req_left -= n;
        if (c->req_left == 0) c->req_done = 1;
      } else {
        long r = csb_http_chunked_feed(&c->req_ch, c->cin.data, c->cin.len, NULL, &why);
        if (r < 0) {
          /* a 400 unless the response has begun (then the connection ends) */
          reply_text(c, 400, "Bad Request", why ? why : "malformed chunked body");
          return 1;
        }
        n = (size_t)r;
        if (c->req_ch.done) c->req_done = 1;
      }
      if (n) {
        csb_buf_append(&c->uout, c->cin.data, n);
        px_buf_consume(&c->cin, n);
        progress = 1;
        if (!px_stream_flush(&c->up, &c->uout, &progress)) {
          c->req_done = 1;
          c->client_ka = 0;
          csb_buf_reset(&c->uout);
        }
      }
    } else if (c->cli.eof || c->cli.err) {
      px_conn_close(c); /* client gave up mid-body */
      return 1;
    }
  }
  /* response: a head may take up to max_header_bytes, more than cap */
  size_t ucap = !c->resp_head_done && px->lim.max_header_bytes + 1 > cap ? px->lim.max_header_bytes + 1 : cap;
  if (!c->resp_done && c->cout.len < cap) {
    if (!px_conn_fill(c, &c->up, &c->uin, ucap, &progress) && c->uin.len == 0) return upstream_broken(c);
    for (int guard = 0; guard < 16 && !c->resp_head_done && c->uin.len > 0; guard++) {
      csb_http_head h;
      csb_http_status st = csb_http_parse_response(c->uin.data, c->uin.len, px->lim.max_header_bytes, &h, &why);
      if (st == CSB_HTTP_INCOMPLETE) break;
      if (st != CSB_HTTP_OK || h.status == 101 || h.status >= 600) {
        if (px->verbose)
          fprintf(stderr, "csb-proxy: [%llu] bad upstream response: %s\n", (unsigned long long)c->id,
                  why ? why : "unsupported status");
        px_http_on_connect_failed(c, "malformed upstream response");
        return 1;
      }
      if (h.status < 200) {
        if (!c->client_http10) {
          build_response_head(c, &h, NULL);
          c->interim_queued = 1;
        }
        px_buf_consume(&c->uin, h.head_len);
        progress = 1;
        continue;
      }
      if (!csb_http_response_framing(&h, c->method, strlen(c->method), &c->resp_fr, &why)) {
        px_http_on_connect_failed(c, why ? why : "invalid upstream framing");
        return 1;
      }
      /* an HTTP/1.0 request goes on as one without keep-alive (Connection is
       * hop-by-hop): the origin may close once it has answered, whatever
       * its response says, so the connection is not reused */
      /* nor after a HEAD: an origin that sends the body it described anyway
       * (a common bug) would have it read as the next request's response */
      c->resp_ka = csb_http_keep_alive(&h) && c->resp_fr.kind != CSB_HTTP_BODY_UNTIL_CLOSE && !c->client_http10 &&
                   strcasecmp(c->method, "HEAD") != 0;
      build_response_head(c, &h, &c->resp_fr);
      px_buf_consume(&c->uin, h.head_len);
      c->resp_head_done = 1;
      c->resp_bytes = 1;
      c->resp_left = c->resp_fr.length;
      csb_http_chunked_init(&c->resp_ch);
      if (c->resp_fr.kind == CSB_HTTP_BODY_NONE) c->resp_done = 1;
      progress = 1;
    }
    if (c->resp_head_done && !c->resp_done && c->uin.len > 0) {
      size_t n = 0;
      switch (c->resp_fr.kind) {
        case CSB_HTTP_BODY_LENGTH:
          n = c->uin.len < c->resp_left ? c->uin.len : (size_t)c->resp_left;
          c->resp_left -= n;
          if (c->resp_left == 0) c->resp_done = 1;
          break;
        case CSB_HTTP_BODY_CHUNKED: {
          long r = csb_http_chunked_feed(&c->resp_ch, c->uin.data, c->uin.len,
                                         c->resp_dechunk ? &c->cout : NULL, &why);
          if (r < 0) {
            px_conn_close(c);
            return 1;
          }
          n = (size_t)r;
          if (c->resp_ch.done) c->resp_done = 1;
          break;
        }
        default:
          n = c->uin.len;
          break;
      }
      if (!(c->resp_fr.kind == CSB_HTTP_BODY_CHUNKED && c->resp_dechunk)) csb_buf_append(&c->cout, c->uin.data, n);
      px_buf_consume(&c->uin, n);
      progress = 1;
    }
    if (!c->resp_done && (c->up.eof || c->up.err) && c->uin.len == 0) {
      if (c->resp_head_done && c->resp_fr.kind == CSB_HTTP_BODY_UNTIL_CLOSE) {
        c->resp_done = 1;
        /* a body that ends at a TLS EOF without close_notify may have been
         * cut short by anyone on the path: the client must not get a
         * close_notify that vouches for its end (it is not reused either,
         * since a body read until close ends the connection) */
        if (c->up.unclean) c->no_close_notify = 1;
        progress = 1;
      } else if (!c->resp_head_done || c->cout.len == 0) {
        return upstream_broken(c);
      }
    }
  }
  /* to client */
  if (c->cout.len) {
    if (!px_stream_flush(&c->cli, &c->cout, &progress)) {
      px_conn_close(c);
      return 1;
    }
  }
  if (c->resp_done && c->cout.len == 0) {
    if (c->req_done && c->uout.len == 0) {
      finish_exchange(c);
      return 1;
    }
    if (!c->req_done) {
      /* answered before the request body ended: do not reuse anything */
      c->state = ST_CLOSING;
      px_stream_close(c, &c->up);
      px_conn_set_deadline(c, 2000);
      return 1;
    }
  }
  return progress;
}
