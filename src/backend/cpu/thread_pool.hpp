#pragma once
// A persistent pool of worker threads for one rank's kernels. The caller is
// participant 0 and runs its own share; workers spin briefly for the next job
// and then block, so that many ranks sharing few cores do not starve each other.
// threads == 1 runs everything inline and starts no thread.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tplm::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) on contiguous ranges that cover [0, n), at most one
  // range per thread, each at least `grain` long (except the last). The split
  // only decides who computes what; kernels keep every output's arithmetic
  // independent of it, so results do not depend on the number of threads.
  template <class F>
  void parallel_for(int64_t n, int64_t grain, F&& fn) {
    if (n <= 0) return;
    const int64_t max_parts = (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1);
    const int parts = static_cast<int>(std::min<int64_t>(n_threads_, max_parts));
    if (parts <= 1) {
      fn(int64_t{0}, n);
      return;
    }
    auto body = [&](int part) {
      const int64_t begin = n * part / parts, end = n * (part + 1) / parts;
      if (begin < end) fn(begin, end);
    };
    run(parts, &invoke<decltype(body)>, &body);
  }

  // Calls fn(begin, end) on contiguous ranges that cover [0, n), each thread
  // taking the next range when it is done with one: a range is 1 / (2 x
  // threads) of what is left (at least min_chunk), so the ranges start long
  // (rows read in order) and end short, and a thread that runs slower (its
  // core shared, its start late) takes less instead of holding the others.
  template <class F>
  void parallel_guided(int64_t n, int64_t min_chunk, F&& fn) {
    if (n <= 0) return;
    min_chunk = std::max<int64_t>(min_chunk, 1);
    const int parts =
        static_cast<int>(std::min<int64_t>(n_threads_, (n + min_chunk - 1) / min_chunk));
    if (parts <= 1) {
      fn(int64_t{0}, n);
      return;
    }
    std::atomic<int64_t> next{0};
    auto body = [&](int) {
      int64_t begin = next.load(std::memory_order_relaxed);
      while (begin < n) {
        const int64_t size = std::max(min_chunk, (n - begin) / (2 * parts));
        if (!next.compare_exchange_weak(begin, begin + size, std::memory_order_relaxed)) continue;
        fn(begin, std::min(n, begin + size));
        begin = next.load(std::memory_order_relaxed);
      }
    };
    run(parts, &invoke<decltype(body)>, &body);
  }

 private:
  using TaskFn = void (*)(void* ctx, int part);
  template <class B>
  static void invoke(void* ctx, int part) {
    (*static_cast<B*>(ctx))(part);
  }
  // Runs fn(ctx, part) for part in [0, parts) on participants 0 .. parts - 1.
  void run(int parts, TaskFn fn, void* ctx);
  void worker_loop(int index);
  void keep_first_error(std::exception_ptr e);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_cv_, done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  TaskFn task_fn_ = nullptr;
  void* task_ctx_ = nullptr;
  int task_parts_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;  // first exception of the current job
};

}  // namespace tplm::cpu
