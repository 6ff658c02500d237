/* decider.c - approvals for hosts that are neither allowed nor denied.
 *
 * `--decider CMD` runs `/bin/sh -c CMD` once. csb-proxy writes one JSON
 * object per line to its stdin and reads one JSON reply per line from its
 * stdout (protocol: docs/csb-proxy.md). Answers with scope "session" are
 * cached per host/protocol/port; concurrent asks for the same key share one
 * request; no answer within the timeout, a malformed answer or a dead
 * decider deny (fail closed). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cJSON.h"
#include "csb_proc.h"
#include "proxy.h"

#define MAX_LINE (64 * 1024)
#define MAX_CACHE 4096
/* Questions outlive the connections that asked them (until their answer
 * or timeout): beyond these, new questions are denied unasked. */
#define MAX_PENDING 1024
#define MAX_UNSENT (1024 * 1024) /* question bytes the decider has not read */

struct px_decide_wait {
  px_decide_cb cb;
  void *arg;
  struct px_decide_wait *next;
  struct pending *p;
};

typedef struct pending {
  uint64_t id;
  char *key;
  px_decide_wait *waiters;
  csb_ev_timer timer;
  struct px_decider *d;
  struct pending *next;
} pending;

typedef struct cache_entry {
  char *key;
  px_decision decision;
  char *reason;
} cache_entry;

struct px_decider {
  csb_evloop *loop;
  pid_t pid;
  int in_fd;  /* we write */
  int out_fd; /* we read */
  csb_ev_io in_io, out_io;
  csb_buf wbuf, rbuf;
  int dead;
  unsigned long timeout_ms;
  uint64_t next_id;
  pending *pending;
  size_t n_pending;
  int full_warned;
  cache_entry *cache;
  size_t n_cache;
};

static void finish(px_decider *d, pending *p, px_decision dec, const char *reason, int cache);

static void kill_decider(px_decider *d, const char *why) {
  if (d->dead) return;
  d->dead = 1;
  fprintf(stderr, "csb-proxy: warning: decider stopped (%s); further approvals are denied\n", why);
  csb_ev_io_stop(d->loop, &d->in_io);
  csb_ev_io_stop(d->loop, &d->out_io);
  if (d->in_fd >= 0) close(d->in_fd);
  if (d->out_fd >= 0) close(d->out_fd);
  d->in_fd = d->out_fd = -1;
  while (d->pending) finish(d, d->pending, DECIDE_DENY, "decider unavailable", 0);
}

static void flush_out(px_decider *d) {
  while (!d->dead && d->wbuf.len > 0) {
    ssize_t n = write(d->in_fd, d->wbuf.data, d->wbuf.len);
    if (n > 0) {
      memmove(d->wbuf.data, d->wbuf.data + n, d->wbuf.len - (size_t)n);
      d->wbuf.len -= (size_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    kill_decider(d, "cannot write to the decider");
    return;
  }
}

static void cache_put(px_decider *d, const char *key, px_decision dec, const char *reason) {
  for (size_t i = 0; i < d->n_cache; i++) {
    if (strcmp(d->cache[i].key, key) == 0) {
      d->cache[i].decision = dec;
      free(d->cache[i].reason);
      d->cache[i].reason = csb_xstrdup(reason ? reason : "");
      return;
    }
  }
  if (d->n_cache >= MAX_CACHE) {
    free(d->cache[0].key);
    free(d->cache[0].reason);
    memmove(&d->cache[0], &d->cache[1], (d->n_cache - 1) * sizeof *d->cache);
    d->n_cache--;
  }
  d->cache = csb_xrealloc(d->cache, (d->n_cache + 1) * sizeof *d->cache);
  d->cache[d->n_cache].key = csb_xstrdup(key);
  d->cache[d->n_cache].decision = dec;
  d->cache[d->n_cache].reason = csb_xstrdup(reason ? reason : "");
  d->n_cache++;
}

static void finish(px_decider *d, pending *p, px_decision dec, const char *reason, int cache) {
  pending **pp = &d->pending;
  while (*pp && *pp != p) pp = &(*pp)->next;
  if (*pp) {
    *pp = p->next;
    d->n_pending--;
  }
  csb_ev_timer_stop(d->loop, &p->timer);
  if (cache) cache_put(d, p->key, dec, reason);
  px_decide_wait *w = p->waiters;
  p->waiters = NULL;
  while (w) {
    px_decide_wait *next = w->next;
    px_decide_cb cb = w->cb;
    void *arg = w->arg;
    free(w);
    cb(arg, dec, reason);
    w = next;
  }
  free(p->key);
  free(p);
}

static void on_timeout(csb_evloop *loop, csb_ev_timer *t) {
  (void)loop;
  pending *p = t->data;
  finish(p->d, p, DECIDE_DENY, "decider timeout", 0);
}

static void handle_line(px_decider *d, const char *line, size_t len) {
  cJSON *j = cJSON_ParseWithLength(line, len);
  const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
  const cJSON *dec = j ? cJSON_GetObjectItemCaseSensitive(j, "decision") : NULL;
  const cJSON *scope = j ? cJSON_GetObjectItemCaseSensitive(j, "scope") : NULL;
  const cJSON *reason = j ? cJSON_GetObjectItemCaseSensitive(j, "reason") : NULL;
  /* ids are the integers csb-proxy hands out: anything else (negative,
   * fractional, beyond 2^53, not finite) names no question */
  double idv = cJSON_IsNumber(id) ? id->valuedouble : -1;
  if (!cJSON_IsObject(j) || !(idv >= 0 && idv <= 9007199254740992.0 && idv == (double)(uint64_t)idv) ||
      !cJSON_IsString(dec) || (scope && !cJSON_IsString(scope)) || (reason && !cJSON_IsString(reason))) {
    fprintf(stderr, "csb-proxy: warning: ignoring malformed decider reply: %.*s\n", (int)(len > 200 ? 200 : len),
            line);
    cJSON_Delete(j);
    return;
  }
  px_decision decision;
  if (strcmp(dec->valuestring, "allow") == 0)
    decision = DECIDE_ALLOW;
  else if (strcmp(dec->valuestring, "deny") == 0)
    decision = DECIDE_DENY;
  else if (strcmp(dec->valuestring, "ask") == 0)
    decision = DECIDE_ASK;
  else {
    fprintf(stderr, "csb-proxy: warning: decider reply with unknown decision `%s` denies\n", dec->valuestring);
    decision = DECIDE_DENY;
  }
  int session = 1;
  if (scope) {
    if (strcmp(scope->valuestring, "once") == 0)
      session = 0;
    else if (strcmp(scope->valuestring, "session") != 0) {
      /* an answer whose reach is unclear reaches no further than this
       * request */
      fprintf(stderr, "csb-proxy: warning: unknown decider scope `%s`; using once\n", scope->valuestring);
      session = 0;
    }
  }
  uint64_t want = (uint64_t)idv;
  for (pending *p = d->pending; p; p = p->next) {
    if (p->id == want) {
      finish(d, p, decision, reason ? reason->valuestring : "", session && decision != DECIDE_ASK);
      break;
    }
  }
  cJSON_Delete(j);
}

static void on_readable(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  (void)events;
  px_decider *d = io->data;
  for (;;) {
    if (d->dead) return;
    char buf[4096];
    ssize_t n = read(d->out_fd, buf, sizeof buf);
    if (n > 0) {
      csb_buf_append(&d->rbuf, buf, (size_t)n);
      char *nl;
      while (d->rbuf.len && (nl = memchr(d->rbuf.data, '\n', d->rbuf.len)) != NULL) {
        size_t ll = (size_t)(nl - d->rbuf.data);
        handle_line(d, d->rbuf.data, ll);
        if (d->dead) return;
        memmove(d->rbuf.data, nl + 1, d->rbuf.len - ll - 1);
        d->rbuf.len -= ll + 1;
      }
      if (d->rbuf.len > MAX_LINE) {
        kill_decider(d, "reply line too long");
        return;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    kill_decider(d, n == 0 ? "it exited" : "read error");
    return;
  }
}

static void on_writable(csb_evloop *loop, csb_ev_io *io, uint32_t events) {
  (void)loop;
  px_decider *d = io->data;
  if (events & (EPOLLERR | EPOLLHUP)) {
    kill_decider(d, "it closed its input");
    return;
  }
  flush_out(d);
}

px_decider *px_decider_new(csb_evloop *loop, const char *cmd, unsigned long timeout_ms, csb_error *err) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    csb_error_set(err, "pipe: %s", strerror(errno));
    return NULL;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    csb_error_set(err, "pipe: %s", strerror(errno));
    close(in[0]);
    close(in[1]);
    return NULL;
  }
  pid_t pid = fork();
  if (pid < 0) {
    csb_error_set(err, "fork: %s", strerror(errno));
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    return NULL;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  px_decider *d = csb_xcalloc(1, sizeof *d);
  d->loop = loop;
  d->pid = pid;
  d->in_fd = in[1];
  d->out_fd = out[0];
  d->timeout_ms = timeout_ms;
  csb_sock_set_nonblock(d->in_fd);
  csb_sock_set_nonblock(d->out_fd);
  csb_ev_io_init(&d->in_io, on_writable, d);
  csb_ev_io_init(&d->out_io, on_readable, d);
  if (!csb_ev_io_start(loop, &d->in_io, d->in_fd, EPOLLOUT | EPOLLET) ||
      !csb_ev_io_start(loop, &d->out_io, d->out_fd, EPOLLIN | EPOLLET)) {
    csb_error_set(err, "epoll: %s", strerror(errno));
    px_decider_free(d);
    return NULL;
  }
  return d;
}

void px_decider_free(px_decider *d) {
  if (!d) return;
  kill_decider(d, "shutting down");
  if (d->pid > 0) {
    kill(d->pid, SIGTERM);
    csb_proc_wait(d->pid, NULL);
  }
  for (size_t i = 0; i < d->n_cache; i++) {
    free(d->cache[i].key);
    free(d->cache[i].reason);
  }
  free(d->cache);
  csb_buf_free(&d->wbuf);
  csb_buf_free(&d->rbuf);
  free(d);
}

px_decide_wait *px_decider_ask(px_decider *d, const char *host, int port, px_proto proto, const char *method,
                               const char *client, px_decide_cb cb, void *arg) {
  /* An unscoped IP literal is asked about, and its answer kept, as its
   * address (csb_netpolicy_ip_key: "2001:db8::5" for "2001:0db8:0::5",
   * "1.2.3.4" for "::ffff:1.2.3.4" or "64:ff9b::102:304"), as the deny
   * list matches it: an answer for an address holds for every spelling
   * of it, and the question never shows an obscured one. */
  char ipkey[64];
  if (!strchr(host, '%') && csb_netpolicy_ip_key(host, ipkey, sizeof ipkey)) host = ipkey;
  char *key = csb_xasprintf("%s|%s|%d", px_proto_approval_name(proto), host, port);
  for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
  for (size_t i = 0; i < d->n_cache; i++) {
    if (strcmp(d->cache[i].key, key) == 0) {
      free(key);
      cb(arg, d->cache[i].decision, d->cache[i].reason);
      return NULL;
    }
  }
  if (d->dead) {
    free(key);
    cb(arg, DECIDE_DENY, "decider unavailable");
    return NULL;
  }
  pending *p;
  for (p = d->pending; p; p = p->next)
    if (strcmp(p->key, key) == 0) break;
  if (!p && (d->n_pending >= MAX_PENDING || d->wbuf.len >= MAX_UNSENT)) {
    if (!d->full_warned)
      fprintf(stderr, "csb-proxy: warning: %zu questions pending (%zu bytes unread by the decider); new ones are "
                      "denied\n", d->n_pending, d->wbuf.len);
    d->full_warned = 1;
    free(key);
    cb(arg, DECIDE_DENY, "too many pending questions");
    return NULL;
  }
  if (!p) {
    d->full_warned = 0;
    p = csb_xcalloc(1, sizeof *p);
    p->id = ++d->next_id;
    p->key = key;
    key = NULL;
    p->d = d;
    p->next = d->pending;
    d->pending = p;
    d->n_pending++;
    csb_ev_timer_init(&p->timer, on_timeout, p);
    csb_ev_timer_set(d->loop, &p->timer, csb_evloop_now(d->loop) + d->timeout_ms);
    csb_buf_printf(&d->wbuf, "{\"id\":%llu,\"type\":\"network_access\",\"host\":", (unsigned long long)p->id);
    csb_buf_put_json_string(&d->wbuf, host, strlen(host));
    csb_buf_printf(&d->wbuf, ",\"port\":%d,\"protocol\":\"%s\",\"method\":", port, px_proto_approval_name(proto));
    const char *m = method && *method ? method : "none";
    csb_buf_put_json_string(&d->wbuf, m, strlen(m));
    csb_buf_puts(&d->wbuf, ",\"client\":");
    const char *cl = client && *client ? client : "unknown";
    csb_buf_put_json_string(&d->wbuf, cl, strlen(cl));
    csb_buf_puts(&d->wbuf, "}\n");
    flush_out(d);
    if (d->dead) {
      /* the pending entry was failed by kill_decider */
      free(key);
      cb(arg, DECIDE_DENY, "decider unavailable");
      return NULL;
    }
  }
  free(key);
  px_decide_wait *w = csb_xcalloc(1, sizeof *w);
  w->cb = cb;
  w->arg = arg;
  w->p = p;
  w->next = p->waiters;
  p->waiters = w;
  return w;
}

void px_decider_cancel(px_decider *d, px_decide_wait *w) {
  (void)d;
  if (!w) return;
  px_decide_wait **pp = &w->p->waiters;
  while (*pp && *pp != w) pp = &(*pp)->next;
  if (*pp) *pp = w->next;
  free(w);
}
