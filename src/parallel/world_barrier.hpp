#pragma once
// The barrier of an in-process world: n threads meet, none passes until all
// have arrived. A waiter spins briefly (a peer is usually microseconds away),
// then sleeps on a condition variable so that 8 ranks on 2 cores do not burn
// each other's time. It ends with CommError instead of hanging when the world
// is aborted or a peer has not arrived within the timeout.
//
// Memory ordering: every rank's writes before arrive() happen-before every
// rank's reads after it returns. Each arrival is an acq_rel RMW on one counter
// (a release sequence the last arriver acquires); the last arriver then
// publishes a new generation with a release store that waiters acquire.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace tplm {

class WorldBarrier {
 public:
  // timeout_seconds <= 0: wait without limit.
  WorldBarrier(int n, double timeout_seconds);

  // Waits until all n ranks have arrived. `op` names the collective for the
  // error. Throws CommError when aborted or after the timeout (and then aborts
  // the world so every other rank stops too).
  void arrive(int rank, const char* op);

  // Makes every rank waiting in or entering arrive() throw CommError(reason).
  // The first reason wins; later calls do nothing.
  void abort(const std::string& reason);
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  void throw_if_aborted() const;

 private:
  bool passed(uint64_t gen) const;
  void wait_for_generation(int rank, uint64_t gen, const char* op);
  std::string missing_ranks(uint64_t my_arrivals) const;

  const int n_;
  const double timeout_seconds_;
  std::atomic<int> count_{0};            // arrivals in the current generation
  std::atomic<uint64_t> generation_{0};  // barriers completed
  std::atomic<int> sleepers_{0};         // waiters blocked on cv_
  std::atomic<bool> aborted_{false};
  std::unique_ptr<std::atomic<uint64_t>[]> arrivals_;  // per rank: barriers entered (diagnostics)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string reason_;  // guarded by mu_
};

}  // namespace tplm
