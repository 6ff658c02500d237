// Unit tests for alloc.c, the static csb-bwrap's malloc, built under
// bw_alloc_* names so that the test process keeps its own allocator.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "alloc.h"

namespace {

bool aligned(const void *p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

TEST(Alloc, EverySizeIsAlignedUsableAndDistinct) {
  std::vector<unsigned char *> v;
  for (size_t n = 0; n <= 5000; n += 7) {
    auto *p = static_cast<unsigned char *>(bw_alloc_malloc(n));
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(aligned(p, 16)) << n;
    EXPECT_GE(bw_alloc_malloc_usable_size(p), n);
    memset(p, static_cast<int>(n & 0xff), n);
    v.push_back(p);
  }
  size_t n = 0;
  for (unsigned char *p : v) {
    for (size_t i = 0; i < n; i++) ASSERT_EQ(p[i], static_cast<unsigned char>(n & 0xff)) << n;
    bw_alloc_free(p);
    n += 7;
  }
}

TEST(Alloc, FreedBlockIsReusedForItsClass) {
  void *a = bw_alloc_malloc(100);
  bw_alloc_free(a);
  void *b = bw_alloc_malloc(90);  // same 128-byte class
  EXPECT_EQ(a, b);
  bw_alloc_free(b);
}

TEST(Alloc, ReallocKeepsContentsAndGrowsInPlaceWhenItFits) {
  auto *p = static_cast<char *>(bw_alloc_malloc(20));
  memcpy(p, "0123456789abcdefghi", 20);
  EXPECT_EQ(bw_alloc_realloc(p, 40), p);  // its 64-byte block holds 48
  auto *q = static_cast<char *>(bw_alloc_realloc(p, 100000));
  ASSERT_NE(q, nullptr);
  EXPECT_STREQ(q, "0123456789abcdefghi");
  auto *r = static_cast<char *>(bw_alloc_realloc(q, 1 << 20));  // a mapping of its own
  ASSERT_NE(r, nullptr);
  EXPECT_STREQ(r, "0123456789abcdefghi");
  r[(1 << 20) - 1] = 'z';
  bw_alloc_free(r);
  auto *s = static_cast<char *>(bw_alloc_realloc(nullptr, 5));
  ASSERT_NE(s, nullptr);
  bw_alloc_free(s);
}

TEST(Alloc, LargeBlocksAreMappedAndUnmapped) {
  for (size_t n : {(size_t)256 * 1024, (size_t)3 << 20, (size_t)17 << 20}) {
    auto *p = static_cast<unsigned char *>(bw_alloc_malloc(n));
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(aligned(p, 16));
    EXPECT_GE(bw_alloc_malloc_usable_size(p), n);
    p[0] = 1;
    p[n - 1] = 2;
    bw_alloc_free(p);
  }
}

TEST(Alloc, CallocZeroesReusedMemoryAndRefusesOverflow) {
  auto *p = static_cast<unsigned char *>(bw_alloc_malloc(200));
  memset(p, 0xab, 200);
  bw_alloc_free(p);
  auto *q = static_cast<unsigned char *>(bw_alloc_calloc(50, 4));
  ASSERT_EQ(q, p);
  for (int i = 0; i < 200; i++) ASSERT_EQ(q[i], 0) << i;
  bw_alloc_free(q);
  errno = 0;
  EXPECT_EQ(bw_alloc_calloc(SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(bw_alloc_malloc(SIZE_MAX - 8), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(Alloc, AlignedAllocationsHonourTheAlignment) {
  for (size_t a : {1u, 8u, 16u, 32u, 64u, 4096u, 65536u}) {
    for (size_t n : {(size_t)1, (size_t)100, (size_t)300000}) {
      void *p = bw_alloc_aligned_alloc(a, n);
      ASSERT_NE(p, nullptr) << a << " " << n;
      EXPECT_TRUE(aligned(p, a < 16 ? 16 : a)) << a << " " << n;
      EXPECT_GE(bw_alloc_malloc_usable_size(p), n);
      memset(p, 1, n);
      bw_alloc_free(p);
    }
  }
  void *m = bw_alloc_memalign(256, 10);
  EXPECT_TRUE(aligned(m, 256));
  bw_alloc_free(m);
  void *out = nullptr;
  EXPECT_EQ(bw_alloc_posix_memalign(&out, 128, 1000), 0);
  EXPECT_TRUE(aligned(out, 128));
  bw_alloc_free(out);
  EXPECT_EQ(bw_alloc_posix_memalign(&out, 24, 10), EINVAL);
  EXPECT_EQ(bw_alloc_posix_memalign(&out, 4, 10), EINVAL);
  errno = 0;
  EXPECT_EQ(bw_alloc_aligned_alloc(48, 10), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Alloc, ThreadsDoNotShareBlocks) {
  std::vector<std::thread> ts;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([t, &bad] {
      std::vector<unsigned char *> mine;
      for (int i = 0; i < 20000; i++) {
        size_t n = 1 + static_cast<size_t>((i * 37 + t) % 700);
        auto *p = static_cast<unsigned char *>(bw_alloc_malloc(n));
        memset(p, t + 1, n);
        mine.push_back(p);
        if (i % 3 == 0) {
          unsigned char *q = mine[mine.size() / 2];
          size_t m = bw_alloc_malloc_usable_size(q);
          (void)m;
          if (q[0] != t + 1) bad[t]++;
          bw_alloc_free(q);
          mine.erase(mine.begin() + static_cast<long>(mine.size() / 2));
        }
      }
      for (unsigned char *p : mine) {
        if (p[0] != t + 1) bad[t]++;
        bw_alloc_free(p);
      }
    });
  }
  for (auto &th : ts) th.join();
  for (int t = 0; t < 4; t++) EXPECT_EQ(bad[t], 0) << t;
}

TEST(AllocDeathTest, DoubleAndForeignFreesAbort) {
  EXPECT_DEATH(
      {
        void *p = bw_alloc_malloc(40);
        bw_alloc_free(p);
        bw_alloc_free(p);
      },
      "");
  EXPECT_DEATH(
      {
        static unsigned char not_ours[64] = {0};
        bw_alloc_free(not_ours + 32);
      },
      "");
  EXPECT_DEATH(
      {
        void *p = bw_alloc_aligned_alloc(64, 40);
        bw_alloc_free(p);
        bw_alloc_free(p);
      },
      "");
}

}  // namespace
