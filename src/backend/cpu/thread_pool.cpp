#include "backend/cpu/thread_pool.hpp"

#include <utility>

#include "base/error.hpp"

namespace tplm::cpu {

namespace {
// About 10-50 microseconds of spinning before a thread blocks: long enough to
// catch the next kernel of the same forward pass, short enough not to steal a
// core from another rank for long.
constexpr int kSpinIterations = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int threads) : n_threads_(threads) {
  if (threads < 1)
    throw Error("cpu backend: threads must be >= 1 (got " + std::to_string(threads) + ")");
  workers_.reserve(static_cast<size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  work_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run(int parts, TaskFn fn, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_fn_ = fn;
    task_ctx_ = ctx;
    task_parts_ = parts;
    pending_.store(n_threads_ - 1);
    generation_.fetch_add(1);
  }
  work_cv_.notify_all();
  // An exception (bad_alloc in a kernel's scratch) must not unwind ctx while
  // workers still use it: wait for them, then rethrow the first one.
  try {
    fn(ctx, 0);
  } catch (...) {
    keep_first_error(std::current_exception());
  }
  for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i)
    cpu_relax();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [this] { return pending_.load() == 0; });
  }
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::keep_first_error(std::exception_ptr e) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_) error_ = std::move(e);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen; ++i)
      cpu_relax();
    TaskFn fn;
    void* ctx;
    int parts;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_cv_.wait(lock, [&] { return generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      fn = task_fn_;
      ctx = task_ctx_;
      parts = task_parts_;
    }
    if (index < parts) {
      try {
        fn(ctx, index);
      } catch (...) {
        keep_first_error(std::current_exception());
      }
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_one();
    }
  }
}

}  // namespace tplm::cpu
