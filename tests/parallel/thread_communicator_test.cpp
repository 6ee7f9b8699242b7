// The in-process communicator against serial double-precision references, at
// world sizes 1..8, with uneven sizes, many calls in a row, abort and timeout.
#include "parallel/thread_communicator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <thread>

namespace tplm {
namespace {

using RankFn = std::function<void(Communicator&, int)>;

// Runs fn on n threads, one per rank; returns each rank's exception (or null).
std::vector<std::exception_ptr> run_world(int n, double timeout, const RankFn& fn) {
  auto comms = make_thread_communicators(n, timeout);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(*comms[static_cast<size_t>(r)], r);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

void expect_no_errors(const std::vector<std::exception_ptr>& errors) {
  for (size_t r = 0; r < errors.size(); ++r)
    if (errors[r]) {
      try {
        std::rethrow_exception(errors[r]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "rank " << r << ": " << e.what();
      }
    }
}

std::string error_text(const std::exception_ptr& e) {
  if (!e) return "";
  try {
    std::rethrow_exception(e);
  } catch (const CommError& c) {
    return std::string("CommError: ") + c.what();
  } catch (const std::exception& x) {
    return std::string("other: ") + x.what();
  }
}

// Rank r's input: distinct, random-signed values per rank and index.
std::vector<float> input(int rank, size_t count) {
  std::mt19937 gen(static_cast<uint32_t>(1234 + 7919 * rank + count));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float& x : v) x = u(gen);
  return v;
}

TEST(ThreadCommunicator, AllReduceMatchesDoubleReference) {
  for (int n = 1; n <= 8; ++n)
    for (size_t count : {size_t{1}, size_t{7}, size_t{1000}, size_t{1} << 20, size_t{3000017}}) {
      SCOPED_TRACE(testing::Message() << "n " << n << " count " << count);
      std::vector<double> ref(count, 0.0);
      for (int r = 0; r < n; ++r) {
        const std::vector<float> v = input(r, count);
        for (size_t i = 0; i < count; ++i) ref[i] += v[i];
      }
      std::vector<std::vector<float>> out(static_cast<size_t>(n));
      expect_no_errors(run_world(n, 30.0, [&](Communicator& c, int r) {
        EXPECT_EQ(c.rank(), r);
        EXPECT_EQ(c.world_size(), n);
        std::vector<float> v = input(r, count);
        c.all_reduce_sum(v.data(), count);
        out[static_cast<size_t>(r)] = std::move(v);
      }));
      for (int r = 0; r < n; ++r) {
        const std::vector<float>& v = out[static_cast<size_t>(r)];
        ASSERT_EQ(v.size(), count);
        for (size_t i = 0; i < count; ++i)
          ASSERT_NEAR(v[i], ref[i], 1e-6 * n) << "rank " << r << " element " << i;
        // Every rank holds bitwise the same result.
        ASSERT_EQ(std::memcmp(v.data(), out[0].data(), count * sizeof(float)), 0) << r;
      }
    }
}

TEST(ThreadCommunicator, AllGatherInRankOrder) {
  for (int n = 1; n <= 8; ++n)
    for (size_t count : {size_t{0}, size_t{1}, size_t{1000}}) {
      SCOPED_TRACE(testing::Message() << n << " ranks, " << count);
      std::vector<float> expected;
      for (int r = 0; r < n; ++r) {
        const std::vector<float> v = input(r, count);
        expected.insert(expected.end(), v.begin(), v.end());
      }
      expect_no_errors(run_world(n, 30.0, [&](Communicator& c, int r) {
        const std::vector<float> mine = input(r, count);
        std::vector<float> recv(count * static_cast<size_t>(n), -7.0f);
        c.all_gather(mine.data(), count, recv.data());
        EXPECT_EQ(recv, expected) << "rank " << r;
      }));
    }
}

TEST(ThreadCommunicator, BroadcastFromEveryRoot) {
  for (int n = 1; n <= 8; ++n)
    for (int root = 0; root < n; ++root)
      for (size_t bytes : {size_t{1}, size_t{4093}, size_t{5} << 20}) {
        expect_no_errors(run_world(n, 30.0, [&](Communicator& c, int r) {
          std::vector<uint8_t> buf(bytes, static_cast<uint8_t>(r));
          if (r == root)
            for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<uint8_t>(i * 31 + root);
          c.control().broadcast(buf.data(), bytes, root);
          for (size_t i = 0; i < bytes; ++i)
            ASSERT_EQ(buf[i], static_cast<uint8_t>(i * 31 + root)) << "rank " << r << " i " << i;
        }));
      }
}

TEST(ThreadCommunicator, ThousandSmallAllReducesInARow) {
  // A buffer or barrier reused too early (ABA) shows up as a wrong sum here:
  // each call's input depends on the call number and the previous result.
  for (int n : {2, 3, 8}) {
    SCOPED_TRACE(n);
    expect_no_errors(run_world(n, 30.0, [&](Communicator& c, int r) {
      float x[3] = {0, 0, 0};
      for (int it = 0; it < 1000; ++it) {
        x[0] = static_cast<float>(r + it);
        x[1] = static_cast<float>(it % 7 == r ? 1 : 0);
        x[2] = x[2] * 0.0f + 1.0f;
        c.all_reduce_sum(x, 3);
        const float want0 = static_cast<float>(n * (n - 1) / 2 + n * it);
        ASSERT_EQ(x[0], want0) << "rank " << r << " call " << it;
        ASSERT_EQ(x[1], it % 7 < n ? 1.0f : 0.0f) << "rank " << r << " call " << it;
        ASSERT_EQ(x[2], static_cast<float>(n));
        if (it % 100 == 0) c.control().barrier();
      }
    }));
  }
}

TEST(ThreadCommunicator, CountsBytesAndTime) {
  auto comms = make_thread_communicators(4, 10.0);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r)
    threads.emplace_back([&, r] {
      std::vector<float> v(10, 1.0f);  // chunks 3,3,2,2
      comms[static_cast<size_t>(r)]->all_reduce_sum(v.data(), v.size());
    });
  for (auto& t : threads) t.join();
  // Rank 0: others read 10-3 of its floats in the reduce and its 3 three times.
  EXPECT_EQ(comms[0]->bytes_sent(), (7u + 9u) * 4u);
  EXPECT_EQ(comms[3]->bytes_sent(), (8u + 6u) * 4u);
  EXPECT_GT(comms[0]->seconds_in_collectives(), 0.0);
  auto solo = make_thread_communicators(1, 1.0);
  float x = 3.0f;
  solo[0]->all_reduce_sum(&x, 1);
  solo[0]->control().barrier();
  EXPECT_EQ(x, 3.0f);
  EXPECT_EQ(solo[0]->bytes_sent(), 0u);
  EXPECT_THROW(make_thread_communicators(0, 1.0), Error);
}

TEST(ThreadCommunicator, EmptyCallsAndBadArguments) {
  expect_no_errors(run_world(4, 10.0, [&](Communicator& c, int r) {
    c.all_reduce_sum(nullptr, 0);
    c.all_gather(nullptr, 0, nullptr);
    c.control().broadcast(nullptr, 0, 2);
    float x = static_cast<float>(r);
    c.all_reduce_sum(&x, 1);
    EXPECT_EQ(x, 6.0f);
  }));
  auto comms = make_thread_communicators(2, 1.0);
  float x = 0;
  EXPECT_THROW(comms[0]->control().broadcast(&x, 4, 2), CommError);
}

TEST(ThreadCommunicator, AbortEndsEveryWaitingRank) {
  for (int n : {2, 8}) {
    auto comms = make_thread_communicators(n, 60.0);
    auto& world = static_cast<ThreadCommunicator&>(*comms[0]).world();
    std::vector<std::string> errors(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < n - 1; ++r)  // the last rank never arrives: it "failed"
      threads.emplace_back([&, r] {
        std::vector<float> v(100, 1.0f);
        try {
          comms[static_cast<size_t>(r)]->all_reduce_sum(v.data(), v.size());
        } catch (const CommError& e) {
          errors[static_cast<size_t>(r)] = e.what();
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    world.abort("rank 7 failed: out of memory");
    for (auto& t : threads) t.join();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
    for (int r = 0; r < n - 1; ++r)
      EXPECT_EQ(errors[static_cast<size_t>(r)], "rank 7 failed: out of memory") << r;
    // A rank entering a collective after the abort throws too.
    float x = 0;
    EXPECT_THROW(comms[static_cast<size_t>(n - 1)]->all_reduce_sum(&x, 1), CommError);
    EXPECT_TRUE(world.aborted());
  }
}

TEST(ThreadCommunicator, TimeoutNamesTheMissingRank) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto errors = run_world(3, 0.3, [&](Communicator& c, int r) {
    if (r == 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      c.control().barrier();  // too late: the world was aborted by the timeout
      return;
    }
    c.control().barrier();
  });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 3.0);
  for (int r = 0; r < 2; ++r) {
    const std::string e = error_text(errors[static_cast<size_t>(r)]);
    EXPECT_NE(e.find("CommError: rank"), std::string::npos) << e;
    EXPECT_NE(e.find("in barrier for rank 2, which did not arrive"), std::string::npos) << e;
  }
  EXPECT_NE(error_text(errors[2]).find("CommError"), std::string::npos);
}

TEST(ThreadCommunicator, OversubscribedRanksStillProgress) {
  // 8 ranks on however few cores: spinning then sleeping must not livelock.
  expect_no_errors(run_world(8, 30.0, [&](Communicator& c, int r) {
    std::vector<float> v(257, static_cast<float>(r));
    for (int it = 0; it < 200; ++it) {
      std::fill(v.begin(), v.end(), static_cast<float>(r));
      c.all_reduce_sum(v.data(), v.size());
      ASSERT_EQ(v[256], 28.0f);
    }
  }));
}

}  // namespace
}  // namespace tplm
