// Unit tests for alloc.c, the static csb-bwrap's malloc, built under
// bw_alloc_* names so that the test process keeps its own allocator.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
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

TEST(Alloc, LargeBlocksLiveTogetherAndAreFreedInAnyOrder) {
  std::vector<std::pair<unsigned char *, size_t>> v;
  for (size_t i = 0; i < 9; i++) {
    size_t n = ((size_t)300 << 10) + i * 70001;
    auto *p = static_cast<unsigned char *>(i % 3 ? bw_alloc_malloc(n) : bw_alloc_aligned_alloc(4096, n));
    ASSERT_NE(p, nullptr) << i;
    memset(p, static_cast<int>(i), n);
    v.emplace_back(p, n);
  }
  for (size_t i : {4, 0, 8, 2, 7, 1, 5, 3, 6}) {  // middle, newest, oldest, ...
    auto [p, n] = v[i];
    EXPECT_GE(bw_alloc_malloc_usable_size(p), n);
    EXPECT_EQ(p[0], i);
    EXPECT_EQ(p[n - 1], i);
    bw_alloc_free(p);
  }
}

TEST(Alloc, AlignedBlocksPastTheStaticAreaAreFreed) {
  // enough 64 KiB blocks to fill the static area and reach the chunks
  std::vector<void *> v;
  for (int i = 0; i < 40; i++) v.push_back(bw_alloc_aligned_alloc(64, 40000));
  for (void *p : v) {
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned(p, 64));
    EXPECT_GE(bw_alloc_malloc_usable_size(p), 40000u);
    void *q = bw_alloc_realloc(p, 30000);
    EXPECT_EQ(q, p);
    bw_alloc_free(q);
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

// Four threads each allocate `rounds` blocks of size(i, t) bytes, free one
// from the middle of theirs every `every` rounds and the rest at the end;
// returns how many of their blocks another thread had changed.
int ChurnInThreads(int rounds, int every, size_t (*size)(int i, int t)) {
  std::vector<std::thread> ts;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([t, &bad, rounds, every, size] {
      std::vector<unsigned char *> mine;
      for (int i = 0; i < rounds; i++) {
        size_t n = size(i, t);
        auto *p = static_cast<unsigned char *>(bw_alloc_malloc(n));
        memset(p, t + 1, std::min(n, (size_t)4096));
        p[n - 1] = static_cast<unsigned char>(t + 1);
        mine.push_back(p);
        if (i % every == 0) {
          unsigned char *q = mine[mine.size() / 2];
          if (q[0] != t + 1 || bw_alloc_malloc_usable_size(q) == 0) bad[t]++;
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
  int n = 0;
  for (int b : bad) n += b;
  return n;
}

TEST(Alloc, ThreadsDoNotShareBlocks) {
  auto size = [](int i, int t) { return 1 + static_cast<size_t>((i * 37 + t) % 700); };
  EXPECT_EQ(ChurnInThreads(20000, 3, size), 0);
}

TEST(Alloc, ThreadsShareTheLargeBlockList) {
  // above 256 KiB: a mapping each, on the one list of live large blocks
  auto size = [](int i, int t) { return ((size_t)257 << 10) + static_cast<size_t>(i * 4099 + t); };
  EXPECT_EQ(ChurnInThreads(300, 2, size), 0);
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

// A large block's header goes with its mapping: once freed, the block must
// make these abort (SIGABRT), not fault reading the unmapped header.
TEST(AllocDeathTest, FreedLargeBlocksAbort) {
  const auto aborts = testing::KilledBySignal(SIGABRT);
  EXPECT_EXIT(
      {
        void *p = bw_alloc_malloc(1 << 20);
        bw_alloc_free(p);
        bw_alloc_free(p);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        void *p = bw_alloc_aligned_alloc(65536, 1 << 20);
        bw_alloc_free(p);
        bw_alloc_free(p);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        void *p = bw_alloc_malloc(1 << 20);
        bw_alloc_free(p);
        bw_alloc_realloc(p, 10);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        void *p = bw_alloc_malloc(1 << 20);
        bw_alloc_free(p);
        (void)bw_alloc_malloc_usable_size(p);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        // grown into a new mapping: the old pointer is gone
        void *p = bw_alloc_malloc(1 << 20);
        void *q = bw_alloc_realloc(p, 8 << 20);
        if (q != p) bw_alloc_free(p);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        auto *p = static_cast<unsigned char *>(bw_alloc_malloc(1 << 20));
        bw_alloc_free(p);
        bw_alloc_free(p + 8192);
      },
      aborts, "");
}

TEST(AllocDeathTest, PointersNotFromTheAllocatorAbort) {
  const auto aborts = testing::KilledBySignal(SIGABRT);
  EXPECT_EXIT(
      {
        // the first byte of a mapping whose page before is not mapped
        size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        auto *m = static_cast<unsigned char *>(
            mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (m == MAP_FAILED || munmap(m, page) != 0) exit(0);
        bw_alloc_free(m + page);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        alignas(64) unsigned char local[256];
        memset(local, 0, sizeof local);
        bw_alloc_free(local + 64);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        // inside a live large block, past its pointer
        auto *p = static_cast<unsigned char *>(bw_alloc_malloc(1 << 20));
        bw_alloc_free(p + 4096);
      },
      aborts, "");
  EXPECT_EXIT(
      {
        auto *q = new unsigned char[2 << 20];
        bw_alloc_realloc(q, 10);
      },
      aborts, "");
}

}  // namespace
