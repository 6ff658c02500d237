/* resolver.c - name resolution: the hosts file (/etc/hosts, or the one
 * --hosts-file names, which then replaces DNS entirely, for tests and
 * pinned set-ups), read on the loop thread and again when it changes;
 * then DNS off the event loop, in a small, bounded pool of worker threads
 * doing getaddrinfo(3) (musl has no getaddrinfo_a). Results are delivered
 * on the loop thread.
 *
 * The policy judged exactly the name asked for: it is looked up as such,
 * never completed with the resolver's search domains ("secret" would be
 * secret.corp.example under `search corp.example`, a name the policy may
 * deny). DNS is asked for the absolute name ("name."), which no resolver
 * completes; with the dot the C library would no longer find the name in
 * /etc/hosts, hence the table here. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy.h"

#define MAX_QUEUED 1024

struct px_resolve_job {
  px_resolver *r;
  char host[256];
  int port;
  px_resolve_cb cb;
  void *arg;
  int cancelled;
  px_addrs res;
  px_resolve_job *next;
};

typedef struct hosts_entry {
  char *name;
  struct sockaddr_storage addr;
} hosts_entry;

struct px_resolver {
  csb_evloop *loop;
  pthread_t *threads;
  unsigned n_threads;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  px_resolve_job *head, *tail;
  size_t queued;
  int stopping;
  /* hosts file (loop thread only); hosts_only: --hosts-file, no DNS */
  char *hosts_file;
  int hosts_only;
  struct timespec hosts_mtime;
  off_t hosts_size;
  int hosts_loaded;
  hosts_entry *hosts;
  size_t n_hosts;
};

static void job_done(void *p) {
  px_resolve_job *j = p;
  if (!j->cancelled) j->cb(j->arg, &j->res);
  free(j);
}

static void do_lookup(px_resolve_job *j) {
  char absolute[sizeof j->host + 1];
  snprintf(absolute, sizeof absolute, "%s.", j->host);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo *ai = NULL;
  int rc = getaddrinfo(absolute, NULL, &hints, &ai);
  if (rc != 0) {
    j->res.error = rc;
    snprintf(j->res.msg, sizeof j->res.msg, "%s", gai_strerror(rc));
    return;
  }
  for (struct addrinfo *p = ai; p && j->res.n < 16; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    struct sockaddr_storage *ss = &j->res.a[j->res.n];
    memset(ss, 0, sizeof *ss);
    memcpy(ss, p->ai_addr, p->ai_addrlen);
    int dup = 0;
    for (size_t k = 0; k < j->res.n; k++)
      if (memcmp(&j->res.a[k], ss, sizeof *ss) == 0) dup = 1;
    if (!dup) j->res.n++;
  }
  freeaddrinfo(ai);
  if (j->res.n == 0) {
    j->res.error = EAI_NONAME;
    snprintf(j->res.msg, sizeof j->res.msg, "no addresses");
  }
}

static void post_result(px_resolve_job *j) {
  for (size_t i = 0; i < j->res.n; i++) csb_sock_set_port(&j->res.a[i], j->port);
  csb_evloop_post(j->r->loop, job_done, j);
}

static void *worker(void *p) {
  px_resolver *r = p;
  for (;;) {
    pthread_mutex_lock(&r->mu);
    while (!r->head && !r->stopping) pthread_cond_wait(&r->cv, &r->mu);
    if (!r->head) {
      pthread_mutex_unlock(&r->mu);
      return NULL;
    }
    px_resolve_job *j = r->head;
    r->head = j->next;
    if (!r->head) r->tail = NULL;
    r->queued--;
    pthread_mutex_unlock(&r->mu);
    do_lookup(j);
    post_result(j);
  }
}

px_resolver *px_resolver_new(csb_evloop *loop, unsigned threads, const char *hosts_file, csb_error *err) {
  px_resolver *r = csb_xcalloc(1, sizeof *r);
  r->loop = loop;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->hosts_file = csb_xstrdup(hosts_file ? hosts_file : "/etc/hosts");
  r->hosts_only = hosts_file != NULL;
  if (threads == 0) threads = 1;
  r->threads = csb_xcalloc(threads, sizeof *r->threads);
  for (unsigned i = 0; i < threads; i++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&r->threads[i], &attr, worker, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      csb_error_set(err, "cannot start resolver thread: %s", strerror(rc));
      px_resolver_free(r);
      return NULL;
    }
    r->n_threads++;
  }
  return r;
}

static void hosts_clear(px_resolver *r) {
  for (size_t i = 0; i < r->n_hosts; i++) free(r->hosts[i].name);
  free(r->hosts);
  r->hosts = NULL;
  r->n_hosts = 0;
}

void px_resolver_free(px_resolver *r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  r->stopping = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  for (unsigned i = 0; i < r->n_threads; i++) pthread_join(r->threads[i], NULL);
  /* jobs still queued were never started; completions already posted are
   * drained by the loop */
  while (r->head) {
    px_resolve_job *j = r->head;
    r->head = j->next;
    free(j);
  }
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  hosts_clear(r);
  free(r->hosts_file);
  free(r->threads);
  free(r);
}

/* The most of a hosts file read: a larger one is read as empty. */
#define HOSTS_MAX_BYTES ((off_t)16 << 20)

/* (Re)loads the hosts file when it changed. A missing file is empty, and
 * so is anything but a regular file of at most HOSTS_MAX_BYTES: this runs
 * on the loop thread, which a FIFO would block at open or read and a
 * device such as /dev/zero would keep reading for ever. */
static void hosts_refresh(px_resolver *r) {
  struct stat st;
  if (stat(r->hosts_file, &st) != 0) {
    hosts_clear(r);
    r->hosts_loaded = 0;
    return;
  }
  if (r->hosts_loaded && st.st_mtim.tv_sec == r->hosts_mtime.tv_sec &&
      st.st_mtim.tv_nsec == r->hosts_mtime.tv_nsec && st.st_size == r->hosts_size)
    return;
  hosts_clear(r);
  r->hosts_loaded = 1;
  r->hosts_mtime = st.st_mtim;
  r->hosts_size = st.st_size;
  if (!S_ISREG(st.st_mode) || st.st_size > HOSTS_MAX_BYTES) return;
  /* O_NONBLOCK: the name may have been swapped for a FIFO since stat() */
  int fd = open(r->hosts_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return;
  struct stat fst;
  FILE *f = NULL;
  if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) || fst.st_size > HOSTS_MAX_BYTES ||
      (f = fdopen(fd, "r")) == NULL) {
    close(fd);
    return;
  }
  char line[1024];
  int in_long = 0; /* inside a line of 1 KiB or more: skipped whole (its cut
                      could read as a shorter name or an address line) */
  /* a file still growing is read up to the limit */
  while (ftello(f) <= HOSTS_MAX_BYTES && fgets(line, sizeof line, f)) {
    int ends = strchr(line, '\n') != NULL || feof(f);
    int skip = in_long || !ends;
    in_long = !ends;
    if (skip) continue;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *save = NULL;
    char *addr = strtok_r(line, " \t\r\n", &save);
    if (!addr) continue;
    struct sockaddr_storage ss;
    if (!csb_netpolicy_parse_ip(addr, &ss)) continue;
    for (char *name = strtok_r(NULL, " \t\r\n", &save); name; name = strtok_r(NULL, " \t\r\n", &save)) {
      size_t n = strlen(name);
      while (n > 0 && name[n - 1] == '.') name[--n] = '\0';
      r->hosts = csb_xrealloc(r->hosts, (r->n_hosts + 1) * sizeof *r->hosts);
      for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
      r->hosts[r->n_hosts].name = csb_xstrdup(name);
      r->hosts[r->n_hosts].addr = ss;
      r->n_hosts++;
    }
  }
  fclose(f);
}

px_resolve_job *px_resolve(px_resolver *r, const char *host, int port, px_resolve_cb cb, void *arg) {
  px_resolve_job *j = csb_xcalloc(1, sizeof *j);
  j->r = r;
  snprintf(j->host, sizeof j->host, "%s", host);
  j->port = port;
  j->cb = cb;
  j->arg = arg;
  struct sockaddr_storage lit;
  if (csb_netpolicy_parse_ip(host, &lit)) {
    j->res.a[0] = lit;
    j->res.n = 1;
    post_result(j);
    return j;
  }
  hosts_refresh(r);
  for (size_t i = 0; i < r->n_hosts && j->res.n < 16; i++) {
    int dup = 0;
    for (size_t k = 0; k < j->res.n; k++)
      if (memcmp(&j->res.a[k], &r->hosts[i].addr, sizeof r->hosts[i].addr) == 0) dup = 1;
    if (!dup && strcmp(r->hosts[i].name, host) == 0) j->res.a[j->res.n++] = r->hosts[i].addr;
  }
  if (j->res.n > 0 || r->hosts_only) {
    if (j->res.n == 0) {
      j->res.error = EAI_NONAME;
      snprintf(j->res.msg, sizeof j->res.msg, "not in the hosts file");
    }
    post_result(j);
    return j;
  }
  pthread_mutex_lock(&r->mu);
  if (r->queued >= MAX_QUEUED) {
    pthread_mutex_unlock(&r->mu);
    j->res.error = EAI_AGAIN;
    snprintf(j->res.msg, sizeof j->res.msg, "too many pending lookups");
    post_result(j);
    return j;
  }
  if (r->tail)
    r->tail->next = j;
  else
    r->head = j;
  r->tail = j;
  r->queued++;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return j;
}

void px_resolve_cancel(px_resolve_job *j) {
  if (j) j->cancelled = 1;
}
