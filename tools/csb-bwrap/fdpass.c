/* fdpass.c - one descriptor and one tag byte over a Unix socket
 * (SCM_RIGHTS): the inner stage's notification listener (inner.c) and the
 * proxy listener hand-off to the host bridge (proxy_route.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csb_bwrap.h"

int bw_send_fd(int sock, int fd, char tag) {
  struct iovec iov = {&tag, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } c;
  memset(&c, 0, sizeof c);
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = c.buf;
  m.msg_controllen = sizeof c.buf;
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(h), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1;
}

/* Closes every descriptor a control message carried. */
static void close_carried(struct msghdr *m) {
  for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len < CMSG_LEN(0))
      continue;
    size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
      close(fd);
    }
  }
}

int bw_recv_fd(int sock, char *tag) {
  char byte = 0;
  struct iovec iov = {&byte, 1};
  /* room for two, so that a second descriptor is seen (and refused) */
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(2 * sizeof(int))];
  } c;
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = c.buf;
  m.msg_controllen = sizeof c.buf;
  ssize_t n;
  do n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  if (n != 1 || (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || !h || h->cmsg_level != SOL_SOCKET ||
      h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int)) ||
      CMSG_NXTHDR(&m, h) != NULL) {
    close_carried(&m);
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  if (tag) *tag = byte;
  return fd;
}
