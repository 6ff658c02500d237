/* sock.c - address parsing and non-blocking TCP socket helpers. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csb_evloop.h"

socklen_t csb_sock_len(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) return sizeof(struct sockaddr_in);
  if (sa->sa_family == AF_INET6) return sizeof(struct sockaddr_in6);
  return sizeof(struct sockaddr_storage);
}

void csb_sock_unmap_v4(const struct sockaddr_storage *in, struct sockaddr_storage *out) {
  const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)in;
  if (in->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
    if (out != in) memcpy(out, in, sizeof *out);
    return;
  }
  struct sockaddr_in v4;
  memset(&v4, 0, sizeof v4);
  v4.sin_family = AF_INET;
  v4.sin_port = s6->sin6_port;
  memcpy(&v4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
  memset(out, 0, sizeof *out);
  memcpy(out, &v4, sizeof v4);
}

void csb_sock_set_port(struct sockaddr_storage *ss, int port) {
  if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  if (ss->ss_family == AF_INET6) ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int parse_port(const char *s, int *out) { return csb_parse_port(s, strlen(s), out); }

int csb_sock_parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len_out, csb_error *err) {
  memset(out, 0, sizeof *out);
  char host[128];
  int port = 0;
  const char *colon;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || (size_t)(close - s - 1) >= sizeof host) return csb_error_set(err, "invalid address `%s`", s);
    memcpy(host, s + 1, (size_t)(close - s - 1));
    host[close - s - 1] = '\0';
    if (close[1] != ':' || !parse_port(close + 2, &port)) return csb_error_set(err, "invalid port in `%s`", s);
  } else if ((colon = strrchr(s, ':')) != NULL && strchr(s, ':') == colon) {
    if ((size_t)(colon - s) >= sizeof host) return csb_error_set(err, "invalid address `%s`", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (!parse_port(colon + 1, &port)) return csb_error_set(err, "invalid port in `%s`", s);
  } else {
    return csb_error_set(err, "invalid address `%s` (expected HOST:PORT)", s);
  }
  if (strcmp(host, "localhost") == 0) snprintf(host, sizeof host, "127.0.0.1");
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    if (len_out) *len_out = sizeof *v4;
    return 1;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    if (len_out) *len_out = sizeof *v6;
    return 1;
  }
  return csb_error_set(err, "invalid address `%s`: host must be an IP literal", s);
}

const char *csb_sock_format(const struct sockaddr *sa, char *buf, size_t n) {
  char ip[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
    snprintf(buf, n, "%s:%u", ip, ntohs(v4->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
    snprintf(buf, n, "[%s]:%u", ip, ntohs(v6->sin6_port));
  } else {
    snprintf(buf, n, "unknown");
  }
  return buf;
}

int csb_sock_set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return 0;
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

int csb_sock_listen_tcp(const struct sockaddr *sa, socklen_t len, int backlog, csb_error *err) {
  char buf[80];
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    csb_error_set(err, "socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, sa, len) != 0) {
    csb_error_set(err, "cannot listen on %s: %s", csb_sock_format(sa, buf, sizeof buf), strerror(errno));
    close(fd);
    return -1;
  }
  if (listen(fd, backlog) != 0) {
    csb_error_set(err, "listen on %s: %s", csb_sock_format(sa, buf, sizeof buf), strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

int csb_sock_connect_nb(const struct sockaddr *sa, socklen_t len) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, sa, len) != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int csb_sock_connect_result(int fd) {
  int e = 0;
  socklen_t l = sizeof e;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0) return errno;
  return e;
}
