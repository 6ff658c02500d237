/* audit.c - one JSON line per policy decision (upstream event name and
 * fields, RFC 3339 UTC millisecond timestamps, fallbacks for missing
 * values). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"

#define EVENT_NAME "codex.network_proxy.policy_decision"

static const char *const k_meta_keys[] = {"conversation.id", "app.version",   "auth_mode", "originator",
                                          "user.account_id", "user.email",    "terminal.type",
                                          "model",           "slug"};
#define N_META (sizeof k_meta_keys / sizeof k_meta_keys[0])

struct px_audit {
  int fd;
  char *meta[N_META];
  uint64_t write_errors;
};

const char *px_proto_audit_name(px_proto p) {
  switch (p) {
    case PROTO_HTTP: return "http";
    case PROTO_HTTPS_CONNECT: return "https_connect";
    case PROTO_SOCKS5_TCP: return "socks5_tcp";
    case PROTO_SOCKS5_UDP: return "socks5_udp";
  }
  return "http";
}

const char *px_proto_approval_name(px_proto p) {
  switch (p) {
    case PROTO_HTTP: return "http";
    case PROTO_HTTPS_CONNECT: return "https";
    case PROTO_SOCKS5_TCP: return "socks5-tcp";
    case PROTO_SOCKS5_UDP: return "socks5-udp";
  }
  return "http";
}

const char *px_source_name(px_source s) {
  switch (s) {
    case SRC_BASELINE: return "baseline_policy";
    case SRC_MODE_GUARD: return "mode_guard";
    case SRC_PROXY_STATE: return "proxy_state";
    case SRC_DECIDER: return "decider";
  }
  return "baseline_policy";
}

px_audit *px_audit_open(const char *spec, csb_error *err) {
  int fd;
  if (strncmp(spec, "fd:", 3) == 0) {
    char *end = NULL;
    long n = strtol(spec + 3, &end, 10);
    if (!spec[3] || *end || n < 0 || n > 1000000) {
      csb_error_set(err, "--audit: invalid file descriptor in `%s`", spec);
      return NULL;
    }
    fd = fcntl((int)n, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
      csb_error_set(err, "--audit: file descriptor %ld: %s", n, strerror(errno));
      return NULL;
    }
  } else {
    fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      csb_error_set(err, "--audit: cannot open %s: %s", spec, strerror(errno));
      return NULL;
    }
  }
  px_audit *a = csb_xcalloc(1, sizeof *a);
  a->fd = fd;
  return a;
}

void px_audit_close(px_audit *a) {
  if (!a) return;
  close(a->fd);
  for (size_t i = 0; i < N_META; i++) free(a->meta[i]);
  free(a);
}

int px_audit_set_meta(px_audit *a, const char *key, const char *value, const char **had) {
  for (size_t i = 0; i < N_META; i++) {
    if (strcmp(k_meta_keys[i], key) == 0) {
      if (a->meta[i] != NULL) {
        *had = a->meta[i];
        return -1;
      }
      a->meta[i] = csb_xstrdup(value);
      return 1;
    }
  }
  return 0;
}

void px_format_timestamp(char out[32]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char date[16];
  strftime(date, sizeof date, "%Y-%m-%d", &tm);
  snprintf(out, 32, "%.10sT%02u:%02u:%02u.%03uZ", date, (unsigned)tm.tm_hour % 24u, (unsigned)tm.tm_min % 60u,
           (unsigned)tm.tm_sec % 61u, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

static void put_kv(csb_buf *b, const char *k, const char *v) {
  if (b->len > 1) csb_buf_putc(b, ',');
  csb_buf_put_json_string(b, k, strlen(k));
  csb_buf_putc(b, ':');
  csb_buf_put_json_string(b, v, strlen(v));
}

void px_audit_emit(px_audit *a, const px_event *ev) {
  if (!a) return;
  char ts[32];
  px_format_timestamp(ts);
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_putc(&b, '{');
  put_kv(&b, "event.name", EVENT_NAME);
  put_kv(&b, "event.timestamp", ts);
  for (size_t i = 0; i < N_META; i++)
    if (a->meta[i]) put_kv(&b, k_meta_keys[i], a->meta[i]);
  put_kv(&b, "network.policy.scope", ev->domain_scope ? "domain" : "non_domain");
  put_kv(&b, "network.policy.decision", ev->decision);
  put_kv(&b, "network.policy.source", px_source_name(ev->source));
  put_kv(&b, "network.policy.reason", ev->reason && *ev->reason ? ev->reason : "policy_denied");
  put_kv(&b, "network.transport.protocol", px_proto_audit_name(ev->proto));
  put_kv(&b, "server.address", ev->server ? ev->server : "");
  csb_buf_printf(&b, ",\"server.port\":%d", ev->port);
  put_kv(&b, "http.request.method", ev->method && *ev->method ? ev->method : "none");
  put_kv(&b, "client.address", ev->client && *ev->client ? ev->client : "unknown");
  csb_buf_printf(&b, ",\"network.policy.override\":%s}\n", ev->override_ ? "true" : "false");
  if (!csb_write_all(a->fd, b.data, b.len)) a->write_errors++;
  csb_buf_free(&b);
}
