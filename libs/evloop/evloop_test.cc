// Unit tests for libs/evloop.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "csb_evloop.h"

namespace {

struct Rec {
  std::vector<int> order;
};

void TimerCb(csb_evloop *, csb_ev_timer *t) {
  auto *r = static_cast<Rec *>(t->data);
  r->order.push_back(static_cast<int>(t->deadline_ms % 1000));
}

TEST(Timers, FireInDeadlineOrderAndCancel) {
  csb_error err;
  csb_evloop *l = csb_evloop_new(&err);
  ASSERT_NE(l, nullptr);
  Rec r;
  csb_ev_timer t[5];
  uint64_t base = (csb_evloop_update_now(l) / 1000) * 1000;
  int offs[5] = {5, 3, 9, 1, 7};
  for (int i = 0; i < 5; i++) {
    csb_ev_timer_init(&t[i], TimerCb, &r);
    csb_ev_timer_set(l, &t[i], base + static_cast<uint64_t>(offs[i]));
  }
  csb_ev_timer_stop(l, &t[2]);
  EXPECT_FALSE(csb_ev_timer_armed(&t[2]));
  csb_ev_timer_set(l, &t[0], base + 0);  // move earlier
  for (int i = 0; i < 50 && r.order.size() < 4; i++) csb_evloop_run_once(l, 10);
  std::vector<int> want = {0, 1, 3, 7};
  EXPECT_EQ(r.order, want);
  csb_evloop_free(l);
}

struct IoRec {
  int reads = 0;
  char buf[16];
};

void IoCb(csb_evloop *, csb_ev_io *io, uint32_t ev) {
  auto *r = static_cast<IoRec *>(io->data);
  if (ev & EPOLLIN) {
    ssize_t n = read(io->fd, r->buf, sizeof r->buf);
    if (n > 0) r->reads++;
  }
}

TEST(Io, ReadinessAndStop) {
  csb_error err;
  csb_evloop *l = csb_evloop_new(&err);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  IoRec r;
  csb_ev_io io;
  csb_ev_io_init(&io, IoCb, &r);
  ASSERT_TRUE(csb_ev_io_start(l, &io, sv[0], EPOLLIN));
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  csb_evloop_run_once(l, 100);
  EXPECT_EQ(r.reads, 1);
  csb_ev_io_stop(l, &io);
  ASSERT_EQ(write(sv[1], "y", 1), 1);
  csb_evloop_run_once(l, 10);
  EXPECT_EQ(r.reads, 1);
  close(sv[0]);
  close(sv[1]);
  csb_evloop_free(l);
}

struct PostRec {
  csb_evloop *l;
  int n = 0;
};

void PostFn(void *arg) {
  auto *p = static_cast<PostRec *>(arg);
  if (++p->n == 100) csb_evloop_stop(p->l);
}

TEST(Post, FromOtherThreads) {
  csb_error err;
  csb_evloop *l = csb_evloop_new(&err);
  PostRec p;
  p.l = l;
  std::vector<std::thread> th;
  for (int i = 0; i < 4; i++)
    th.emplace_back([&] {
      for (int j = 0; j < 25; j++) csb_evloop_post(l, PostFn, &p);
    });
  for (auto &t : th) t.join();
  ASSERT_TRUE(csb_evloop_run(l));
  EXPECT_EQ(p.n, 100);
  csb_evloop_free(l);
}

int freed = 0;
void FreeFn(void *) { freed++; }

TEST(Defer, RunsAfterBatch) {
  csb_error err;
  csb_evloop *l = csb_evloop_new(&err);
  csb_evloop_defer_free(l, FreeFn, nullptr);
  EXPECT_EQ(freed, 0);
  csb_evloop_run_once(l, 0);
  EXPECT_EQ(freed, 1);
  csb_evloop_free(l);
}

TEST(Sock, ParseAndListen) {
  struct sockaddr_storage ss;
  socklen_t len;
  csb_error err;
  ASSERT_TRUE(csb_sock_parse_addr("127.0.0.1:0", &ss, &len, &err));
  ASSERT_TRUE(csb_sock_parse_addr("[::1]:8080", &ss, &len, &err));
  char buf[64];
  EXPECT_STREQ(csb_sock_format(reinterpret_cast<sockaddr *>(&ss), buf, sizeof buf), "[::1]:8080");
  ASSERT_TRUE(csb_sock_parse_addr("localhost:3128", &ss, &len, &err));
  EXPECT_STREQ(csb_sock_format(reinterpret_cast<sockaddr *>(&ss), buf, sizeof buf), "127.0.0.1:3128");
  EXPECT_FALSE(csb_sock_parse_addr("example.com:80", &ss, &len, &err));
  EXPECT_FALSE(csb_sock_parse_addr("127.0.0.1", &ss, &len, &err));
  EXPECT_FALSE(csb_sock_parse_addr("127.0.0.1:99999", &ss, &len, &err));
  ASSERT_TRUE(csb_sock_parse_addr("127.0.0.1:0", &ss, &len, &err));
  int fd = csb_sock_listen_tcp(reinterpret_cast<sockaddr *>(&ss), len, 16, &err);
  ASSERT_GE(fd, 0) << err.msg;
  socklen_t l2 = sizeof ss;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &l2), 0);
  int c = csb_sock_connect_nb(reinterpret_cast<sockaddr *>(&ss), l2);
  ASSERT_GE(c, 0);
  close(c);
  close(fd);
}

TEST(Sock, UnmapV4) {
  struct sockaddr_storage ss, out;
  socklen_t len;
  csb_error err;
  char buf[64];
  ASSERT_TRUE(csb_sock_parse_addr("[::ffff:127.0.0.1]:8080", &ss, &len, &err));
  csb_sock_unmap_v4(&ss, &out);
  EXPECT_EQ(out.ss_family, AF_INET);
  EXPECT_STREQ(csb_sock_format(reinterpret_cast<sockaddr *>(&out), buf, sizeof buf), "127.0.0.1:8080");
  csb_sock_unmap_v4(&ss, &ss); /* in place */
  EXPECT_STREQ(csb_sock_format(reinterpret_cast<sockaddr *>(&ss), buf, sizeof buf), "127.0.0.1:8080");
  for (const char *keep : {"[::1]:80", "[::127.0.0.1]:80", "10.0.0.1:80"}) {
    ASSERT_TRUE(csb_sock_parse_addr(keep, &ss, &len, &err));
    csb_sock_unmap_v4(&ss, &out);
    EXPECT_EQ(out.ss_family, ss.ss_family) << keep;
    EXPECT_STREQ(csb_sock_format(reinterpret_cast<sockaddr *>(&out), buf, sizeof buf), keep);
  }
}

}  // namespace
