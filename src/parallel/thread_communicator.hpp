#pragma once
// The communicator of ranks that are threads of one process: collectives over
// memory they all reach (host memory, or one GPU's memory: PeerMemory). Each
// call publishes the rank's buffer pointer, meets the others at a barrier,
// and reads their buffers directly; no staging copies. It is also the world's
// control channel (broadcast and barrier on host memory).
//
//   all_reduce_sum: reduce-scatter then all-gather. Rank r sums chunk r of
//     every rank's buffer (in rank order, so the result is the same on every
//     rank) into chunk r of its own; barrier; then copies every other chunk q
//     from rank q's buffer. Each rank adds 1/N of the vector.
//   all_gather, broadcast: every rank copies straight from the owner's buffer.
//   With device memory, a rank's stream is drained before it publishes a
//   buffer and after its copies, so the host barriers order the device work.
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
// all_gather (N-1)*count*4, broadcast (N-1)*bytes at the root.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parallel/communicator.hpp"
#include "parallel/peer_memory.hpp"
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

class ThreadCommunicator final : public Communicator, public ControlChannel {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadWorld> world, int rank,
                     std::unique_ptr<PeerMemory> memory);
  int rank() const override { return rank_; }
  int world_size() const override { return world_->size(); }
  ThreadWorld& world() { return *world_; }

  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* send, size_t count, float* recv) override;
  ControlChannel& control() override { return *this; }
  void set_stream(void* stream) override { memory_->set_stream(stream); }
  void abort(const std::string& reason) override { world_->abort(reason); }
  bool aborted() const override { return world_->aborted(); }

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
  std::unique_ptr<PeerMemory> memory_;
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<double> seconds_{0.0};
};

// One world of n thread ranks; element r is rank r's communicator (a
// ThreadCommunicator) over the memory make_memory gives (host memory when
// empty). Throws Error when n < 1.
using PeerMemoryFactory = std::function<std::unique_ptr<PeerMemory>()>;
std::vector<std::unique_ptr<Communicator>> make_thread_communicators(
    int n, double timeout_seconds, const PeerMemoryFactory& make_memory = {});

}  // namespace tplm
