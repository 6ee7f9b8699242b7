#include "parallel/world_barrier.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "parallel/communicator.hpp"

namespace tplm {
namespace {

using Clock = std::chrono::steady_clock;

// ~2000 pauses is some tens of microseconds: long enough for a peer finishing
// the same step, short enough not to starve it when ranks outnumber cores.
constexpr int kSpins = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

WorldBarrier::WorldBarrier(int n, double timeout_seconds)
    : n_(n),
      timeout_seconds_(timeout_seconds),
      arrivals_(std::make_unique<std::atomic<uint64_t>[]>(static_cast<size_t>(n))) {
  for (int r = 0; r < n; ++r) arrivals_[static_cast<size_t>(r)].store(0);
}

void WorldBarrier::throw_if_aborted() const {
  if (!aborted()) return;
  std::lock_guard lock(mu_);
  throw CommError(reason_);
}

void WorldBarrier::abort(const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    if (aborted_.load(std::memory_order_relaxed)) return;
    reason_ = reason;
    aborted_.store(true, std::memory_order_seq_cst);
  }
  cv_.notify_all();
}

bool WorldBarrier::passed(uint64_t gen) const {
  return generation_.load(std::memory_order_acquire) != gen;
}

void WorldBarrier::arrive(int rank, const char* op) {
  throw_if_aborted();
  arrivals_[static_cast<size_t>(rank)].fetch_add(1, std::memory_order_relaxed);
  // The generation cannot move before this rank has arrived, so gen is ours.
  const uint64_t gen = generation_.load(std::memory_order_acquire);
  if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    // Last to arrive: reset for the next round, then release everyone. The
    // reset is ordered before the release store, so a rank entering the next
    // round (after acquiring the new generation) counts from zero.
    count_.store(0, std::memory_order_relaxed);
    generation_.store(gen + 1, std::memory_order_seq_cst);
    // Dekker with the sleeper's increment (both seq_cst): either we see the
    // sleeper, or it sees the new generation before blocking.
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
    return;
  }
  wait_for_generation(rank, gen, op);
}

void WorldBarrier::wait_for_generation(int rank, uint64_t gen, const char* op) {
  for (int i = 0; i < kSpins; ++i) {
    if (passed(gen)) return;
    if (aborted()) throw_if_aborted();
    cpu_relax();
  }
  const auto start = Clock::now();
  const auto limit = std::chrono::duration<double>(timeout_seconds_);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  std::unique_lock lock(mu_);
  while (!passed(gen)) {
    if (aborted_.load(std::memory_order_acquire)) {
      sleepers_.fetch_sub(1);
      throw CommError(reason_);
    }
    if (timeout_seconds_ <= 0) {
      cv_.wait(lock);
      continue;
    }
    if (Clock::now() - start >= limit) {
      sleepers_.fetch_sub(1);
      const std::string msg = fmt::format(
          "rank {} waited {:.3g} s in {} for {}, which did not arrive (timeout {:.3g} s); a peer "
          "died, hangs, or the ranks called different collectives",
          rank, std::chrono::duration<double>(Clock::now() - start).count(), op,
          missing_ranks(arrivals_[static_cast<size_t>(rank)].load()), timeout_seconds_);
      lock.unlock();
      abort(msg);
      throw CommError(msg);
    }
    cv_.wait_for(lock, limit - (Clock::now() - start));
  }
  sleepers_.fetch_sub(1);
}

// The ranks that have entered fewer barriers than we have.
std::string WorldBarrier::missing_ranks(uint64_t my_arrivals) const {
  std::string s;
  int n_missing = 0;
  for (int q = 0; q < n_; ++q)
    if (arrivals_[static_cast<size_t>(q)].load(std::memory_order_relaxed) < my_arrivals)
      s += fmt::format("{}{}", n_missing++ ? ", " : "", q);
  return n_missing == 0 ? "a peer" : (n_missing == 1 ? "rank " : "ranks ") + s;
}

}  // namespace tplm
