/* probe_io.c - escape probes through terminals and sockets: TIOCSTI and
 * TIOCLINUX injection, raw/packet/netlink/vsock sockets, abstract and
 * pathname Unix sockets to host listeners, datagram tricks, direct TCP. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "probe.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define TIOCSTI_NR 0x5412
#define TIOCLINUX_NR 0x541C
#define TIOCSETD_NR 0x5423
#define TIOCGETD_NR 0x5424
#define TIOCEXCL_NR 0x540C
#define TIOCNXCL_NR 0x540D
#define TIOCCONS_NR 0x541D
#define TIOCGPTPEER_NR 0x5441
#define N_NULL_LDISC 27

/* Terminal injection into the caller's tty (stdin must be a tty). */
static int p_tiocsti(int c, char **v) {
  (void)c; (void)v;
  if (!isatty(0)) return perror2("stdin is not a terminal");
  char ch = 'x';
  return expect_fail(ioctl(0, TIOCSTI_NR, &ch), "ioctl(TIOCSTI)");
}

/* Same request with garbage in the upper 32 bits (CVE-2019-10063). */
static int p_tiocsti_highbits(int c, char **v) {
  (void)c; (void)v;
  if (!isatty(0)) return perror2("stdin is not a terminal");
  char ch = 'x';
  return expect_fail(syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI_NR | (1UL << 32), &ch),
                     "ioctl(TIOCSTI | 1<<32)");
}

static int p_tioclinux(int c, char **v) {
  (void)c; (void)v;
  if (!isatty(0)) return perror2("stdin is not a terminal");
  char sub = 3; /* TIOCL_PASTESEL */
  long r = ioctl(0, TIOCLINUX_NR, &sub);
  if (r == 0) return escaped("ioctl(TIOCLINUX, PASTESEL) succeeded");
  if (errno != EPERM) return escaped("TIOCLINUX reached the tty driver (%s): filter missing", strerror(errno));
  return blocked("ioctl(TIOCLINUX): %s", strerror(errno));
}

static int p_raw_socket(int c, char **v) {
  (void)c; (void)v;
  int a = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (a >= 0) return escaped("socket(AF_INET, SOCK_RAW)");
  int e1 = errno;
  int b = socket(AF_PACKET, SOCK_RAW, 0);
  if (b >= 0) return escaped("socket(AF_PACKET)");
  int e2 = errno;
  int d = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (d >= 0) return escaped("socket(AF_INET6, SOCK_RAW)");
  return blocked("raw: %s; packet: %s; raw6: %s", strerror(e1), strerror(e2), strerror(errno));
}

static int p_netlink(int c, char **v) {
  (void)c; (void)v;
  int a = socket(AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
  if (a >= 0) return escaped("socket(AF_NETLINK, NETLINK_ROUTE)");
  int e1 = errno;
  int b = socket(AF_NETLINK, SOCK_RAW, 15 /* NETLINK_KOBJECT_UEVENT */);
  if (b >= 0) return escaped("socket(AF_NETLINK, KOBJECT_UEVENT)");
  return blocked("route: %s; uevent: %s", strerror(e1), strerror(errno));
}

static int p_vsock(int c, char **v) {
  (void)c; (void)v;
  return expect_fail(socket(AF_VSOCK, SOCK_STREAM, 0), "socket(AF_VSOCK)");
}

/* Every socket family 0-63 but allowed[0..n_allowed), in every type: the
 * filter must refuse each with EPERM before the kernel looks (an absent
 * family fails with EAFNOSUPPORT, which would hide a missing rule on this
 * kernel and not on the next). */
static int families_refused(const int *allowed, size_t n_allowed) {
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SOCK_RDM};
  int n = 0;
  for (int fam = 0; fam < 64; fam++) {
    int skip = 0;
    for (size_t i = 0; i < n_allowed; i++) skip |= allowed[i] == fam;
    if (skip) continue;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
      errno = 0;
      int s = socket(fam, types[t], 0);
      if (s >= 0) return escaped("socket(%d, %d) opened", fam, types[t]);
      if (errno != EPERM) return escaped("socket(%d, %d) reached the kernel: %s", fam, types[t], strerror(errno));
      n++;
    }
  }
  return blocked("%d family/type pairs refused with EPERM", n);
}

/* Every socket family but AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK. */
static int p_other_families(int c, char **v) {
  (void)c; (void)v;
  static const int allowed[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
  return families_refused(allowed, sizeof allowed / sizeof allowed[0]);
}

/* argv[2]: abstract name bound by a host listener */
static int p_abstract_unix(int c, char **v) {
  if (c < 3) return perror2("usage: abstract_unix NAME");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) return blocked("socket(AF_UNIX): %s", strerror(errno));
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t n = strlen(v[2]);
  memcpy(a.sun_path + 1, v[2], n);
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  if (connect(s, (struct sockaddr *)&a, len) == 0) return escaped("connected to host abstract socket @%s", v[2]);
  return blocked("connect(@%s): %s", v[2], strerror(errno));
}

/* argv[2]: pathname of a host stream listener outside the allow list */
static int p_unix_path(int c, char **v) {
  if (c < 3) return perror2("usage: unix_path PATH");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) return blocked("socket(AF_UNIX): %s", strerror(errno));
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", v[2]);
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) return escaped("connected to %s", v[2]);
  return blocked("connect(%s): %s", v[2], strerror(errno));
}

/* argv[2]: pathname of an allowed host socket, reached through an address
 * longer than struct sockaddr_un (128 bytes: a sockaddr_storage, the path
 * padded with leading slashes so that its last 18 bytes lie beyond
 * sun_path). The kernel refuses such an address (EINVAL); pid 1, which
 * performs mediated connect() calls, must too: connecting means it took a
 * path from beyond the structure into a buffer sized for sun_path. */
static int p_unix_overlong(int c, char **v) {
  if (c < 3) return perror2("usage: unix_overlong PATH");
  const size_t room = sizeof(struct sockaddr_storage) - offsetof(struct sockaddr_un, sun_path);
  size_t len = strlen(v[2]);
  if (v[2][0] != '/' || len >= room)
    return perror2("unix_overlong: %s must be absolute and shorter than %zu bytes", v[2], room);
  unsigned char addr[sizeof(struct sockaddr_storage)];
  memset(addr, '/', sizeof addr);
  sa_family_t fam = AF_UNIX;
  memcpy(addr, &fam, sizeof fam);
  memcpy(addr + sizeof addr - (len - 1), v[2] + 1, len - 1);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) return perror2("socket(AF_UNIX): %s", strerror(errno));
  if (connect(s, (struct sockaddr *)addr, sizeof addr) == 0)
    return escaped("connected to %s through a %zu-byte address (the kernel refuses more than %zu)", v[2],
                   sizeof addr, sizeof(struct sockaddr_un));
  if (errno != EINVAL) return escaped("a %zu-byte address was parsed (errno %s, not EINVAL)", sizeof addr, strerror(errno));
  return blocked("connect with a %zu-byte address: %s", sizeof addr, strerror(errno));
}

/* Sends a datagram to the host socket at `path` from a socketpair of
 * `type` (with msg_name) and from a socket of `type` (sendto). */
static int unix_datagram_probe(const char *path, int type, const char *tname) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  int sv[2], e1;
  if (socketpair(AF_UNIX, type, 0, sv) == 0) {
    struct iovec iov = {"pwned", 5};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &a;
    m.msg_namelen = sizeof a;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (sendmsg(sv[0], &m, 0) == 5)
      return escaped("datagram delivered to %s via socketpair(%s)+msg_name", path, tname);
  }
  e1 = errno;
  int s = socket(AF_UNIX, type, 0);
  if (s >= 0 && sendto(s, "pwned", 5, 0, (struct sockaddr *)&a, sizeof a) == 5)
    return escaped("datagram delivered to %s via socket(%s)+sendto", path, tname);
  return blocked("socketpair(%s)/sendmsg: %s; socket(%s)/sendto: %s", tname, strerror(e1), tname, strerror(errno));
}

/* argv[2]: pathname of a host datagram socket */
static int p_unix_dgram_sendmsg(int c, char **v) {
  if (c < 3) return perror2("usage: unix_dgram_sendmsg PATH");
  return unix_datagram_probe(v[2], SOCK_DGRAM, "SOCK_DGRAM");
}

/* argv[2]: pathname of a host datagram socket; the kernel turns AF_UNIX
 * SOCK_RAW into a datagram socket */
static int p_unix_raw_sendto(int c, char **v) {
  if (c < 3) return perror2("usage: unix_raw_sendto PATH");
  return unix_datagram_probe(v[2], SOCK_RAW, "SOCK_RAW");
}

/* argv[2] argv[3]: host address and port of a listener (loopback) */
static int p_tcp_direct(int c, char **v) {
  if (c < 4) return perror2("usage: tcp_direct ADDR PORT");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(v[3]));
  inet_pton(AF_INET, v[2], &a.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return blocked("socket(AF_INET): %s", strerror(errno));
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) return escaped("connected to %s:%s", v[2], v[3]);
  return blocked("connect(%s:%s): %s", v[2], v[3], strerror(errno));
}

static int p_udp_direct(int c, char **v) {
  if (c < 4) return perror2("usage: udp_direct ADDR PORT");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(v[3]));
  inet_pton(AF_INET, v[2], &a.sin_addr);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return blocked("socket(AF_INET, SOCK_DGRAM): %s", strerror(errno));
  if (sendto(s, "pwned", 5, 0, (struct sockaddr *)&a, sizeof a) == 5)
    return escaped("datagram sent to %s:%s (check the host side)", v[2], v[3]);
  return blocked("sendto(%s:%s): %s", v[2], v[3], strerror(errno));
}

/* argv[2...]: pathnames of host stream sockets (stand-ins for docker.sock,
 * the D-Bus buses, an ssh agent; the real ones where the host has them),
 * none on an allow list: every connect() must fail. */
static int p_unix_paths(int c, char **v) {
  if (c < 3) return perror2("usage: unix_paths PATH...");
  char why[2048] = "";
  for (int i = 2; i < c; i++) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      note_errno(why, sizeof why, "socket(AF_UNIX)");
      break;
    }
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", v[i]);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) return escaped("connected to %s", v[i]);
    note_errno(why, sizeof why, v[i]);
    close(s);
  }
  return blocked("%s", why);
}

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* One connect() or sendto() to a host loopback service; 1 when it
 * connected (a stream), 0 otherwise, with the reason noted. A datagram
 * that was sent is noted as such: only the receiver can tell whether it
 * arrived (inside a network namespace of its own, 127.0.0.1 is the
 * sandbox's own loopback). */
static int direct_once(int family, int type, int proto, const char *addr, int port, const char *what,
                       char *why, size_t cap) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &a->sin_addr);
    len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, addr, &a->sin6_addr);
    len = sizeof *a;
  }
  int s = socket(family, type | SOCK_CLOEXEC, proto);
  if (s < 0) {
    note_errno(why, cap, what);
    return 0;
  }
  int rc = 0;
  if (type == SOCK_DGRAM) {
    if (sendto(s, "pwned", 5, 0, (struct sockaddr *)&ss, len) == 5) {
      size_t n = strlen(why);
      snprintf(why + n, cap - n, "%s%s: sent", n ? "; " : "", what);
    } else {
      note_errno(why, cap, what);
    }
  } else if (connect(s, (struct sockaddr *)&ss, len) == 0) {
    rc = 1;
  } else {
    note_errno(why, cap, what);
  }
  close(s);
  return rc;
}

/* argv[2..5]: ports of host loopback services: TCP and UDP on 127.0.0.1,
 * TCP and UDP on ::1 (0: none). TCP, MPTCP (which Landlock's TCP rules do
 * not cover) and UDP to each; a stream that connects is an escape, a
 * datagram is judged by the runner's receiver. */
static int p_net_direct(int c, char **v) {
  if (c < 6) return perror2("usage: net_direct TCP4 UDP4 TCP6 UDP6");
  int tcp4 = atoi(v[2]), udp4 = atoi(v[3]), tcp6 = atoi(v[4]), udp6 = atoi(v[5]);
  char why[2048] = "";
  if (tcp4 && direct_once(AF_INET, SOCK_STREAM, 0, "127.0.0.1", tcp4, "tcp 127.0.0.1", why, sizeof why))
    return escaped("TCP connected to 127.0.0.1:%d", tcp4);
  if (tcp4 && direct_once(AF_INET, SOCK_STREAM, IPPROTO_MPTCP, "127.0.0.1", tcp4, "mptcp 127.0.0.1", why, sizeof why))
    return escaped("MPTCP connected to 127.0.0.1:%d", tcp4);
  if (udp4) direct_once(AF_INET, SOCK_DGRAM, 0, "127.0.0.1", udp4, "udp 127.0.0.1", why, sizeof why);
  if (tcp6 && direct_once(AF_INET6, SOCK_STREAM, 0, "::1", tcp6, "tcp ::1", why, sizeof why))
    return escaped("TCP connected to [::1]:%d", tcp6);
  if (tcp6 && direct_once(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP, "::1", tcp6, "mptcp ::1", why, sizeof why))
    return escaped("MPTCP connected to [::1]:%d", tcp6);
  if (udp6) direct_once(AF_INET6, SOCK_DGRAM, 0, "::1", udp6, "udp ::1", why, sizeof why);
  /* the IPv4-mapped form of the host's loopback */
  if (tcp4 && direct_once(AF_INET6, SOCK_STREAM, 0, "::ffff:127.0.0.1", tcp4, "tcp ::ffff:127.0.0.1", why, sizeof why))
    return escaped("TCP connected to [::ffff:127.0.0.1]:%d", tcp4);
  return blocked("%s", why);
}

/* The caller's terminal as a controlling terminal: /dev/tty (the sandbox
 * runs in a new session, without one) and TIOCSCTTY with force=1 after a
 * setsid of our own (stealing a terminal needs CAP_SYS_ADMIN). */
static int do_ctty(void) {
  int fd = open("/dev/tty", O_RDWR);
  if (fd >= 0) return 0;
  if (setsid() < 0) return errno;
  if (ioctl(0, TIOCSCTTY, 1) == 0) return 0;
  return errno;
}
static int p_ctty(int c, char **v) {
  (void)c; (void)v;
  if (!isatty(0)) return perror2("stdin is not a terminal");
  int fd = open("/dev/tty", O_RDWR);
  if (fd >= 0) return escaped("opened /dev/tty: the caller's terminal is the controlling terminal");
  return in_child(do_ctty, "/dev/tty, then setsid + TIOCSCTTY(force) on the caller's terminal");
}

/* State of the caller's terminal that outlives the command: its line
 * discipline (TIOCSETD to N_NULL discards everything typed and shown on
 * it, for the caller's shell too), exclusive mode (TIOCEXCL: every later
 * open of it, /dev/tty included, fails with EBUSY) and console
 * redirection (TIOCCONS); and TIOCGPTPEER, which on a master would open
 * its other side. Stdin must be the caller's terminal (the runner checks
 * it afterwards); the same is tried on a terminal of our own. */
static int tty_state_on(int fd, const char *which, char *why, size_t cap) {
  int d = N_NULL_LDISC;
  if (ioctl(fd, TIOCSETD_NR, &d) == 0) {
    int now = -1;
    ioctl(fd, TIOCGETD_NR, &now);
    return escaped("TIOCSETD(N_NULL) on %s: line discipline now %d", which, now);
  }
  size_t n = strlen(why);
  snprintf(why + n, cap - n, "%sTIOCSETD on %s: %s", n ? "; " : "", which, strerror(errno));
  if (ioctl(fd, TIOCEXCL_NR) == 0) {
    ioctl(fd, TIOCNXCL_NR);
    return escaped("TIOCEXCL on %s: later opens of it fail", which);
  }
  n = strlen(why);
  snprintf(why + n, cap - n, "; TIOCEXCL on %s: %s", which, strerror(errno));
  return 0;
}

static int p_tty_state(int c, char **v) {
  (void)c; (void)v;
  if (!isatty(0)) return perror2("stdin is not a terminal");
  char why[1024] = "";
  if (tty_state_on(0, "the caller's terminal", why, sizeof why)) return 1;
  if (ioctl(0, TIOCCONS_NR) == 0) return escaped("TIOCCONS redirected the console to the caller's terminal");
  size_t n = strlen(why);
  snprintf(why + n, sizeof why - n, "; TIOCCONS: %s", strerror(errno));
  int peer = ioctl(0, TIOCGPTPEER_NR, O_RDWR);
  if (peer >= 0) return escaped("TIOCGPTPEER on the caller's terminal opened descriptor %d", peer);
  n = strlen(why);
  snprintf(why + n, sizeof why - n, "; TIOCGPTPEER: %s", strerror(errno));
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || unlockpt(m) != 0) return perror2("posix_openpt: %s", strerror(errno));
  int s = ioctl(m, TIOCGPTPEER_NR, O_RDWR | O_NOCTTY);
  if (s < 0) return perror2("TIOCGPTPEER on our own terminal: %s", strerror(errno));
  if (tty_state_on(s, "a terminal of our own", why, sizeof why)) return 1;
  return blocked("%s", why);
}

/* argv[2..]: the socket families this network mode allows (numbers).
 * Every other family 0-63, in every type, must fail with EPERM, the
 * filter's answer: restricted allows AF_UNIX only, proxy AF_INET and
 * AF_INET6 (AF_NETLINK included: it is the host's netlink in neither). */
static int p_family_matrix(int c, char **v) {
  int allowed[64];
  size_t n = 0;
  for (int i = 2; i < c && n < sizeof allowed / sizeof allowed[0]; i++) allowed[n++] = atoi(v[i]);
  return families_refused(allowed, n);
}

/* Every netlink protocol but NETLINK_ROUTE (audit, uevents, sock_diag of
 * the host's sockets, netfilter, xfrm, generic, ...) with the host
 * network, in SOCK_RAW and SOCK_DGRAM, and NETLINK_ROUTE spelled with high
 * bits in the protocol argument that the kernel drops: EPERM from the
 * filter, not the kernel's answer. */
static int p_netlink_protocols(int c, char **v) {
  (void)c; (void)v;
  static const int types[] = {SOCK_RAW, SOCK_DGRAM};
  int n = 0;
  for (int proto = 1; proto < 32; proto++)
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
      errno = 0;
      int s = socket(AF_NETLINK, types[t], proto);
      if (s >= 0) return escaped("socket(AF_NETLINK, %d, %d) opened", types[t], proto);
      if (errno != EPERM)
        return escaped("socket(AF_NETLINK, %d, %d) reached the kernel: %s", types[t], proto, strerror(errno));
      n++;
    }
  long s = syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0x100000000L | 4 /* NETLINK_SOCK_DIAG */);
  if (s >= 0) return escaped("socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG | 1<<32) opened");
  if (errno != EPERM) return escaped("NETLINK_SOCK_DIAG with high bits reached the kernel: %s", strerror(errno));
  return blocked("%d netlink protocol/type pairs and NETLINK_SOCK_DIAG with high bits refused with EPERM", n);
}

/* The family, type and protocol tests of the filter against what the
 * kernel ignores or strips: SOCK_CLOEXEC and SOCK_NONBLOCK in the type,
 * bits above 32 in every argument. Each socket must fail with EPERM, the
 * filter's answer (in every network mode: raw IP, AF_PACKET, SOCK_PACKET,
 * datagram Unix sockets and socketpairs, AF_VSOCK). */
static int p_socket_arg_bits(int c, char **v) {
  (void)c; (void)v;
  const long hi = 0x7ead000000000000L, fl = SOCK_CLOEXEC | SOCK_NONBLOCK;
  static const struct {
    const char *what;
    int pair;
    long fam, type, proto;
  } calls[] = {
      {"AF_INET, SOCK_RAW|CLOEXEC|NONBLOCK", 0, AF_INET, SOCK_RAW, IPPROTO_ICMP},
      {"AF_INET6, SOCK_RAW|CLOEXEC|NONBLOCK", 0, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6},
      {"AF_INET, SOCK_PACKET|CLOEXEC|NONBLOCK", 0, AF_INET, 10 /* SOCK_PACKET */, 0},
      {"AF_PACKET, SOCK_RAW|CLOEXEC|NONBLOCK", 0, AF_PACKET, SOCK_RAW, 0},
      {"AF_PACKET, SOCK_DGRAM|CLOEXEC|NONBLOCK", 0, AF_PACKET, SOCK_DGRAM, 0},
      {"AF_VSOCK, SOCK_STREAM|CLOEXEC|NONBLOCK", 0, AF_VSOCK, SOCK_STREAM, 0},
      {"AF_UNIX, SOCK_DGRAM|CLOEXEC|NONBLOCK", 0, AF_UNIX, SOCK_DGRAM, 0},
      {"AF_UNIX, SOCK_RAW|CLOEXEC|NONBLOCK", 0, AF_UNIX, SOCK_RAW, 0},
      {"socketpair AF_UNIX, SOCK_DGRAM|CLOEXEC|NONBLOCK", 1, AF_UNIX, SOCK_DGRAM, 0},
      {"socketpair AF_INET, SOCK_STREAM|CLOEXEC|NONBLOCK", 1, AF_INET, SOCK_STREAM, 0},
  };
  int n = 0;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
    for (int high = 0; high < 2; high++) {
      long h = high ? hi : 0;
      int sv[2];
      errno = 0;
      long r = calls[i].pair ? syscall(SYS_socketpair, h | calls[i].fam, h | calls[i].type | fl, h | calls[i].proto, sv)
                             : syscall(SYS_socket, h | calls[i].fam, h | calls[i].type | fl, h | calls[i].proto);
      if (r >= 0) return escaped("%s(%s)%s opened", calls[i].pair ? "socketpair" : "socket", calls[i].what,
                                 high ? " with high bits" : "");
      if (errno != EPERM)
        return escaped("%s%s reached the kernel: %s", calls[i].what, high ? " with high bits" : "", strerror(errno));
      n++;
    }
  return blocked("%d socket/socketpair calls with type flags and high bits refused with EPERM", n);
}

/* The terminal ioctls the filter refuses, with bits above 32 set in the
 * request (the kernel reads an unsigned int), on a terminal of our own
 * made our controlling terminal in a new session (where the kernel allows
 * TIOCSTI, TIOCSETD and TIOCEXCL, and answers TIOCLINUX with EINVAL on a
 * pty): anything but EPERM means the tty driver was asked. */
static int do_tty_ioctl_highbits(void) {
  if (setsid() < 0) return 90;
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return 91;
  const char *name = ptsname(m);
  int s = name ? open(name, O_RDWR) : -1; /* without O_NOCTTY: our controlling terminal */
  if (s < 0) return 92;
  char ch = 'x', sub = 3;
  int disc = N_NULL_LDISC;
  static const unsigned long reqs[] = {TIOCSTI_NR, TIOCLINUX_NR, TIOCSETD_NR, TIOCEXCL_NR};
  void *args[] = {&ch, &sub, &disc, NULL};
  for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
    errno = 0;
    long r = syscall(SYS_ioctl, s, 0xfeed000000000000UL | reqs[i], args[i]);
    if (r == 0 || errno != EPERM) return 100 + (int)i;
  }
  return 1;
}
static int p_tty_ioctl_highbits(int c, char **v) {
  (void)c; (void)v;
  static const char *const names[] = {"TIOCSTI", "TIOCLINUX", "TIOCSETD", "TIOCEXCL"};
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return perror2("fork: %s", strerror(errno));
  if (pid == 0) _exit(do_tty_ioctl_highbits());
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (rc == 1) return blocked("TIOCSTI, TIOCLINUX, TIOCSETD, TIOCEXCL with high bits on our own controlling "
                              "terminal: EPERM");
  if (rc >= 100 && rc < 104) return escaped("%s with high bits reached the tty driver", names[rc - 100]);
  return perror2("setting up a controlling terminal of our own failed (%d)", rc);
}

static const probe probes[] = {
    {"tiocsti", p_tiocsti},
    {"tiocsti_highbits", p_tiocsti_highbits},
    {"tioclinux", p_tioclinux},
    {"ctty", p_ctty},
    {"tty_state", p_tty_state},
    {"raw_socket", p_raw_socket},
    {"netlink", p_netlink},
    {"vsock", p_vsock},
    {"other_families", p_other_families},
    {"abstract_unix", p_abstract_unix},
    {"unix_path", p_unix_path},
    {"unix_dgram_sendmsg", p_unix_dgram_sendmsg},
    {"unix_raw_sendto", p_unix_raw_sendto},
    {"unix_overlong", p_unix_overlong},
    {"tcp_direct", p_tcp_direct},
    {"udp_direct", p_udp_direct},
    {"unix_paths", p_unix_paths},
    {"net_direct", p_net_direct},
    {"family_matrix", p_family_matrix},
    {"netlink_protocols", p_netlink_protocols},
    {"socket_arg_bits", p_socket_arg_bits},
    {"tty_ioctl_highbits", p_tty_ioctl_highbits},
    {NULL, NULL},
};

int main(int argc, char **argv) { return probe_main(probes, argc, argv); }
