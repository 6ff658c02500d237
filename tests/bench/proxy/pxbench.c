/* pxbench - load generators and origin servers for tests/bench/proxy.
 *
 *   pxbench bytes-server PORT_FILE NBYTES [ADDR]
 *                                             send NBYTES to every connection, then close;
 *                                             listens on ADDR (an IPv4 literal, default
 *                                             127.0.0.1)
 *   pxbench fetch HOST:PORT [PROXY]           read until EOF (through an HTTP CONNECT proxy
 *                                             when PROXY is given); prints "BYTES SECONDS
 *                                             CPU_SECONDS" (CPU: user+sys of the reader)
 *   pxbench relay PORT_FILE splice|copy       the smallest CONNECT relay that can be written:
 *                                             no policy, no limits, blocking I/O, one thread
 *                                             per direction, splice(2) through a 1 MiB pipe
 *                                             or read/write through a 256 KiB buffer. The
 *                                             cost floor of relaying on this machine.
 *   pxbench httpd PORT_FILE                   keep-alive HTTP server answering "ok" to anything
 *   pxbench handshakes PROXY HOST:PORT SECS   CONNECT + TLS handshake loop; prints handshakes/s
 *   pxbench idle PROXY URL N                  N keep-alive connections, one GET each through
 *                                             PROXY, then held open until stdin closes
 *   pxbench idle-tunnel PROXY URL N           the same through N CONNECT tunnels
 *
 * Servers write their port to PORT_FILE and run until killed. Loopback only, but for
 * the ADDR of bytes-server (run.sh gives it the address of a veth it creates).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int parse_hostport(const char *s, struct sockaddr_in *out) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) return 0;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((uint16_t)atoi(colon + 1));
  return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

static int dial(const char *hostport) {
  struct sockaddr_in sa;
  if (!parse_hostport(hostport, &sa)) {
    fprintf(stderr, "pxbench: bad address %s\n", hostport);
    exit(64);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Listens on an ephemeral port of ADDR (NULL: 127.0.0.1) and writes the port to PORT_FILE. */
static int listen_on(const char *port_file, const char *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (addr && inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    fprintf(stderr, "pxbench: bad address %s\n", addr);
    exit(64);
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) die("listen");
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  FILE *f = fopen(port_file, "w");
  if (!f) die(port_file);
  fprintf(f, "%d\n", ntohs(sa.sin_port));
  fclose(f);
  return fd;
}

static int listen_any(const char *port_file) { return listen_on(port_file, NULL); }

/* Reads the proxy's answer to CONNECT (up to the empty line). */
static void connect_through(int fd, const char *target) {
  char req[512];
  int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
  if (write(fd, req, (size_t)n) != n) die("write");
  char buf[4096];
  size_t got = 0;
  while (got < sizeof buf - 1) {
    ssize_t r = read(fd, buf + got, 1);
    if (r <= 0) die("read CONNECT reply");
    got += (size_t)r;
    buf[got] = '\0';
    if (got >= 4 && memcmp(buf + got - 4, "\r\n\r\n", 4) == 0) break;
  }
  if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0) {
    fprintf(stderr, "pxbench: CONNECT refused: %s\n", buf);
    exit(1);
  }
}

/* ---- bytes-server / fetch ------------------------------------------------------- */

static size_t g_nbytes;

static void *send_bytes(void *p) {
  int fd = (int)(intptr_t)p;
  static char buf[1 << 20];
  size_t left = g_nbytes;
  while (left > 0) {
    ssize_t n = write(fd, buf, left < sizeof buf ? left : sizeof buf);
    if (n <= 0) break;
    left -= (size_t)n;
  }
  close(fd);
  return NULL;
}

static int cmd_bytes_server(const char *port_file, const char *n, const char *addr) {
  g_nbytes = strtoull(n, NULL, 10);
  int lfd = listen_on(port_file, addr);
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, send_bytes, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
  return 0;
}

static double cpu_self(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmd_fetch(const char *target, const char *proxy) {
  int fd = dial(proxy ? proxy : target);
  if (proxy) connect_through(fd, target);
  static char buf[1 << 20];
  double t0 = now(), c0 = cpu_self();
  size_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    total += (size_t)n;
  }
  double t1 = now();
  printf("%zu %.6f %.6f\n", total, t1 - t0, cpu_self() - c0);
  return 0;
}

/* ---- relay ------------------------------------------------------------------------------ */

typedef struct half {
  int src, dst;
  int use_splice;
} half;

static void *relay_half(void *p) {
  half *h = p;
  if (h->use_splice) {
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) != 0) die("pipe2");
    fcntl(pp[1], F_SETPIPE_SZ, 1 << 20);
    for (;;) {
      ssize_t n = splice(h->src, NULL, pp[1], NULL, 1 << 20, SPLICE_F_MOVE);
      if (n <= 0) break;
      while (n > 0) {
        ssize_t w = splice(pp[0], NULL, h->dst, NULL, (size_t)n, SPLICE_F_MOVE);
        if (w <= 0) goto out;
        n -= w;
      }
    }
  out:
    close(pp[0]);
    close(pp[1]);
  } else {
    enum { COPY_BYTES = 256 * 1024 };
    char *buf = malloc(COPY_BYTES);
    if (!buf) die("malloc");
    for (;;) {
      ssize_t n = read(h->src, buf, COPY_BYTES);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(h->dst, buf + off, (size_t)(n - off));
        if (w <= 0) goto done;
        off += w;
      }
    }
  done:
    free(buf);
  }
  shutdown(h->dst, SHUT_WR);
  return NULL;
}

static void *relay_conn(void *p) {
  half *h = p;
  int cfd = h->src;
  char head[4096];
  size_t got = 0;
  while (got < sizeof head - 1) {
    ssize_t r = read(cfd, head + got, 1);
    if (r <= 0) goto out;
    got += (size_t)r;
    if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0) break;
  }
  head[got] = '\0';
  char target[128];
  if (sscanf(head, "CONNECT %127s ", target) != 1) goto out;
  int ufd = dial(target);
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  if (write(cfd, ok, sizeof ok - 1) != (ssize_t)sizeof ok - 1) {
    close(ufd);
    goto out;
  }
  half up = {cfd, ufd, h->use_splice}, down = {ufd, cfd, h->use_splice};
  pthread_t t;
  pthread_create(&t, NULL, relay_half, &up);
  relay_half(&down);
  pthread_join(t, NULL);
  close(ufd);
out:
  close(cfd);
  free(h);
  return NULL;
}

static int cmd_relay(const char *port_file, const char *mode) {
  int use_splice = strcmp(mode, "splice") == 0;
  if (!use_splice && strcmp(mode, "copy") != 0) {
    fprintf(stderr, "pxbench: relay mode is splice or copy\n");
    return 64;
  }
  int lfd = listen_any(port_file);
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) continue;
    half *h = calloc(1, sizeof *h);
    h->src = fd;
    h->use_splice = use_splice;
    pthread_t t;
    pthread_create(&t, NULL, relay_conn, h);
    pthread_detach(t);
  }
  return 0;
}

/* ---- httpd -------------------------------------------------------------------------- */

typedef struct hconn {
  int fd;
  char buf[8192];
  size_t len;
} hconn;

static int cmd_httpd(const char *port_file) {
  int lfd = listen_any(port_file);
  int fl = fcntl(lfd, F_GETFL);
  fcntl(lfd, F_SETFL, fl | O_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      hconn *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          hconn *h = calloc(1, sizeof *h);
          h->fd = fd;
          struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = h};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e2);
        }
        continue;
      }
      ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
      if (r <= 0) {
        close(c->fd);
        free(c);
        continue;
      }
      c->len += (size_t)r;
      char *end;
      while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
        size_t used = (size_t)(end + 4 - c->buf);
        if (write(c->fd, resp, sizeof resp - 1) < 0) break;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
      }
      if (c->len == sizeof c->buf) c->len = 0;
    }
  }
  return 0;
}

/* ---- handshakes --------------------------------------------------------------------- */

static int cmd_handshakes(const char *proxy, const char *target, const char *secs) {
  double dur = atof(secs);
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  char host[256];
  snprintf(host, sizeof host, "%s", target);
  char *colon = strrchr(host, ':');
  if (colon) *colon = '\0';
  double t0 = now();
  long count = 0;
  while (now() - t0 < dur) {
    int fd = dial(proxy);
    connect_through(fd, target);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host);
    if (SSL_connect(ssl) != 1) {
      fprintf(stderr, "pxbench: TLS handshake failed\n");
      return 1;
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    count++;
  }
  printf("%.1f\n", (double)count / (now() - t0));
  SSL_CTX_free(ctx);
  return 0;
}

/* ---- idle ------------------------------------------------------------------------------ */

static int cmd_idle(const char *proxy, const char *url, const char *n_s, int tunnel) {
  long n = atol(n_s);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  const char *hp = url + strlen("http://");
  char host[128];
  snprintf(host, sizeof host, "%.*s", (int)strcspn(hp, "/"), hp);
  char req[512];
  /* through a tunnel the request has the origin form */
  int rl2 = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", tunnel ? hp + strlen(host) : url,
                     host);
  int *fds = calloc((size_t)n, sizeof *fds);
  for (long i = 0; i < n; i++) {
    fds[i] = dial(proxy);
    if (tunnel) connect_through(fds[i], host);
    if (write(fds[i], req, (size_t)rl2) != rl2) die("write");
    char buf[4096];
    size_t got = 0;
    /* read the whole (small) response: head + "ok" */
    while (got < sizeof buf) {
      ssize_t r = read(fds[i], buf + got, sizeof buf - got);
      if (r <= 0) die("read");
      got += (size_t)r;
      char *e = memmem(buf, got, "\r\n\r\n", 4);
      if (e && (size_t)(e + 4 - buf) + 2 <= got) break;
    }
    if (got < 12 || memcmp(buf + 8, " 200", 4) != 0) {
      size_t line = 0;
      while (line < got && buf[line] != '\r') line++;
      fprintf(stderr, "pxbench: connection %ld refused: %.*s\n", i, (int)line, buf);
      exit(1);
    }
  }
  printf("ready\n");
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  for (long i = 0; i < n; i++) close(fds[i]);
  free(fds);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 4 && strcmp(argv[1], "bytes-server") == 0)
    return cmd_bytes_server(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
  if (argc >= 3 && strcmp(argv[1], "fetch") == 0) return cmd_fetch(argv[2], argc > 3 ? argv[3] : NULL);
  if (argc >= 4 && strcmp(argv[1], "relay") == 0) return cmd_relay(argv[2], argv[3]);
  if (argc >= 3 && strcmp(argv[1], "httpd") == 0) return cmd_httpd(argv[2]);
  if (argc >= 5 && strcmp(argv[1], "handshakes") == 0) return cmd_handshakes(argv[2], argv[3], argv[4]);
  if (argc >= 5 && strcmp(argv[1], "idle") == 0) return cmd_idle(argv[2], argv[3], argv[4], 0);
  if (argc >= 5 && strcmp(argv[1], "idle-tunnel") == 0) return cmd_idle(argv[2], argv[3], argv[4], 1);
  fprintf(stderr, "usage: see the top of tests/bench/proxy/pxbench.c\n");
  return 64;
}
