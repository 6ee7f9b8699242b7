// The cpu backend's thread pool: every index exactly once, any thread count,
// many pools at once (ranks as threads on few cores) without starving or hanging.
#include "backend/cpu/thread_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "base/error.hpp"

namespace tplm::cpu {
namespace {

TEST(ThreadPool, CoversEveryIndexOnceForAnySizeAndGrain) {
  for (int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 5, 64, 1000})
      for (int64_t grain : {1, 4, 100}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> calls{0};
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
          ASSERT_LT(b, e);
          calls.fetch_add(1);
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        });
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(hits[i].load(), 1) << n << " " << grain << " " << i;
        EXPECT_LE(calls.load(), threads);
      }
  }
}

// Guided ranges: every index once, contiguous ranges of at least min_chunk
// (but the last), long first and shorter as the work runs out.
TEST(ThreadPool, GuidedRangesCoverEveryIndexOnce) {
  for (int threads : {1, 2, 3, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 5, 64, 1000, 8000})
      for (int64_t min_chunk : {1, 8, 100}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::mutex mu;
        std::vector<std::pair<int64_t, int64_t>> ranges;
        pool.parallel_guided(n, min_chunk, [&](int64_t b, int64_t e) {
          ASSERT_LT(b, e);
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
          std::lock_guard lock(mu);
          ranges.emplace_back(b, e);
        });
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(hits[i].load(), 1) << n << " " << min_chunk << " " << i;
        std::sort(ranges.begin(), ranges.end());
        for (size_t k = 0; k + 1 < ranges.size(); ++k)
          EXPECT_GE(ranges[k].second - ranges[k].first, std::min(min_chunk, n)) << n;
        if (threads > 1 && n >= 64 * min_chunk && ranges.size() > 2) {
          EXPECT_GT(ranges.front().second - ranges.front().first,
                    ranges.back().second - ranges.back().first);
        }
      }
  }
}

TEST(ThreadPool, UsesSeveralThreadsWhenThereIsWork) {
  ThreadPool pool(3);
  std::vector<std::thread::id> ids(3);
  pool.parallel_for(3, 1, [&](int64_t b, int64_t) { ids[b] = std::this_thread::get_id(); });
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_EQ(ids[0], std::this_thread::get_id());  // the caller takes the first share
}

TEST(ThreadPool, EightPoolsOnTheirOwnThreadsAtOnce) {
  std::vector<std::thread> ranks;
  std::atomic<int64_t> total{0};
  for (int r = 0; r < 8; ++r)
    ranks.emplace_back([&] {
      ThreadPool pool(2);
      for (int it = 0; it < 300; ++it)
        pool.parallel_for(10, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    });
  for (auto& t : ranks) t.join();
  EXPECT_EQ(total.load(), 8 * 300 * 10);
}

TEST(ThreadPool, ExceptionInAnyPartReachesTheCallerAndThePoolStillWorks) {
  ThreadPool pool(3);
  for (int64_t bad : {0, 1, 2}) {
    EXPECT_THROW(pool.parallel_for(3, 1,
                                   [&](int64_t b, int64_t) {
                                     if (b == bad) throw Error("part failed");
                                   }),
                 Error);
    std::atomic<int64_t> sum{0};
    pool.parallel_for(3, 1, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); });
    EXPECT_EQ(sum.load(), 3);
  }
}

TEST(ThreadPool, RejectsZeroThreads) {
  EXPECT_THROW(ThreadPool(0), Error);
}

}  // namespace
}  // namespace tplm::cpu
