#pragma once
// The communicator of ranks that are MPI processes (one per mpirun slot).
//
// Every collective is started non-blocking (MPI_Iallreduce, MPI_Iallgatherv,
// MPI_Ibcast, MPI_Ibarrier) and then polled with MPI_Test until it completes
// or timeout_seconds pass. MPI's blocking calls would wait forever for a peer
// that died or a link that went down; polling lets us throw CommError naming
// the rank and the cause instead. The caller then ends the world with
// mpi_abort_world (process_world.hpp): a collective that timed out cannot be
// cancelled, so the world cannot go on.
//
// Polling spins on MPI_Test (which also drives OpenMPI's progress engine) and
// never sleeps: a sleep of even 1 ms would add 1 ms to every decode step's
// all-reduce, which over TCP takes tens of microseconds. The one exception is
// broadcast_waiting (a server's followers waiting for rank 0's next step,
// which may be seconds away): after a spin it sleeps between polls.
//
// bytes_sent is what a ring algorithm sends from this rank (the volume the
// network carries, independent of which algorithm OpenMPI picks):
//   all-reduce 2 (N-1)/N * count * 4, all_gather (N-1) * count * 4,
//   broadcast (N-1) * bytes at the root, 0 elsewhere.
#include <mpi.h>

#include <chrono>
#include <cstdint>

#include "parallel/communicator.hpp"

namespace tplm {

// It is also the world's control channel: MPI carries the host-side decisions
// (broadcast) and barriers the same way.
class MpiCommunicator : public Communicator, public ControlChannel {
 public:
  // Duplicates MPI_COMM_WORLD (MPI must be initialized).
  explicit MpiCommunicator(double timeout_seconds);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* send, size_t count, float* recv) override;
  ControlChannel& control() override { return *this; }
  void broadcast(void* data, size_t bytes, int root) override;
  void broadcast_waiting(void* data, size_t bytes, int root) override;
  void barrier() override;
  uint64_t bytes_sent() const override { return bytes_sent_; }
  double seconds_in_collectives() const override { return seconds_; }

 private:
  using Clock = std::chrono::steady_clock;
  // Waits for req by polling, or throws CommError once timeout_ has passed
  // since t0 (when the collective was started). Adds the time to seconds_.
  // back_off: after a short spin, sleep between polls (waits that may be long).
  void wait(MPI_Request& req, const char* what, Clock::time_point t0, bool back_off = false);
  void broadcast_impl(void* data, size_t bytes, int root, bool back_off);
  void check(int rc, const char* what) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  double timeout_;
  uint64_t bytes_sent_ = 0;
  double seconds_ = 0.0;
};

// Initializes MPI once (MPI_THREAD_FUNNELED: only the main thread calls MPI)
// and registers MPI_Finalize at exit. Safe to call many times.
void ensure_mpi_initialized();

}  // namespace tplm
