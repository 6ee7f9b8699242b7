#pragma once
// The communicator of ranks that are threads of one process: collectives over
// shared memory. Each call publishes the rank's buffer pointer, meets the
// others at a barrier, and reads their buffers directly; no staging copies.
//
//   all_reduce_sum: reduce-scatter then all-gather. Rank r sums chunk r of
//     every rank's buffer (in rank order, so the result is the same on every
//     rank) into chunk r of its own; barrier; then copies every other chunk q
//     from rank q's buffer. Each rank adds 1/N of the vector.
//   all_gather, broadcast: every rank copies straight from the owner's buffer.
// Three barriers per all-reduce, two per gather/broadcast (the last one keeps
// every buffer alive until all readers are done).
//
// Usage:
//   auto comms = make_thread_communicators(n, 30.0);   // comms[r] for thread r
//   // a rank that fails: static_cast<ThreadCommunicator&>(*comms[r]).world().abort("why")
// At world size 1 every call returns at once (all_gather copies when the
// buffers differ).
//
// bytes_sent counts the bytes other ranks read from this rank's buffers (what
// a network would carry): all-reduce (count - chunk_r)*4 + (N-1)*chunk_r*4,
// all_gather (N-1)*counts[r]*4, broadcast (N-1)*bytes at the root.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "parallel/communicator.hpp"
#include "parallel/world_barrier.hpp"

namespace tplm {

// The state the N ranks of one process share.
class ThreadWorld {
 public:
  // timeout_seconds: how long a rank waits for a peer before CommError (<= 0: forever).
  ThreadWorld(int n, double timeout_seconds);
  int size() const { return n_; }

  // Called by a rank that failed: every rank waiting in or entering a
  // collective throws CommError(reason) instead of hanging.
  void abort(const std::string& reason) { barrier_.abort(reason); }
  bool aborted() const { return barrier_.aborted(); }

 private:
  friend class ThreadCommunicator;
  const int n_;
  WorldBarrier barrier_;
  std::vector<const void*> buffers_;  // per rank; published before a barrier, read after it
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadWorld> world, int rank);
  int rank() const override { return rank_; }
  int world_size() const override { return world_->size(); }
  ThreadWorld& world() { return *world_; }

  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* send, std::span<const size_t> counts, float* recv) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;

  uint64_t bytes_sent() const override { return bytes_sent_.load(std::memory_order_relaxed); }
  double seconds_in_collectives() const override {
    return seconds_.load(std::memory_order_relaxed);
  }

 private:
  void meet(const char* op) { world_->barrier_.arrive(rank_, op); }
  const void* buffer_of(int q) const { return world_->buffers_[static_cast<size_t>(q)]; }
  void publish(const void* p) { world_->buffers_[static_cast<size_t>(rank_)] = p; }
  void account(uint64_t bytes, double seconds);

  std::shared_ptr<ThreadWorld> world_;
  int rank_;
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<double> seconds_{0.0};
};

// One world of n thread ranks; element r is rank r's communicator (a
// ThreadCommunicator). Throws Error when n < 1.
std::vector<std::unique_ptr<Communicator>> make_thread_communicators(int n, double timeout_seconds);

}  // namespace tplm
