#pragma once
// The exchanges between the ranks of one world. Implementations: in-process
// threads (host memory, or one GPU's memory), MPI processes, NCCL GPUs. The
// interface assumes no shared memory: every buffer belongs to the calling rank.
//
// Data collectives take pointers in the backend's memory (device memory for
// cuda) and are ordered after the work already queued on the rank's stream
// (set_stream). Host-side decisions and barriers go through control().
//
// Every rank of the world must make the same calls in the same order with the
// same sizes. A call that cannot complete (a peer died, a link broke, the
// timeout passed) throws CommError on every rank that can still run.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "parallel/control_channel.hpp"

namespace tplm {

class CommError : public Error {
 public:
  using Error::Error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // data[i] = sum over ranks of data[i], on every rank, summed in rank order.
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  // Every rank contributes count elements (send); every rank receives the
  // concatenation in rank order (recv: world_size * count elements).
  virtual void all_gather(const float* send, size_t count, float* recv) = 0;

  virtual ControlChannel& control() = 0;

  // Whether the data collectives may be part of a backend's recorded step
  // (Backend::run_recorded): they only queue device work, with no host wait.
  virtual bool recordable() const { return world_size() == 1; }

  // Waits until the data collectives queued so far have completed, or throws
  // CommError after the timeout. Host communicators are done when a call
  // returns; device ones queue their work on the stream.
  virtual void settle() {}

  // Ends the world after a rank failed: every rank waiting in or entering a
  // collective throws CommError(reason) instead of waiting for the timeout.
  virtual void abort(const std::string& /*reason*/) {}
  // Whether the world was aborted (thread worlds; MPI ends the processes instead).
  virtual bool aborted() const { return false; }

  // The stream (a cudaStream_t) the rank's kernels run on; device-memory
  // communicators order their collectives on it. Host communicators ignore it.
  virtual void set_stream(void* /*stream*/) {}

  // Bytes this rank has sent and seconds it has spent inside collectives
  // (data and control), for the exchange-versus-compute report.
  virtual uint64_t bytes_sent() const { return 0; }
  virtual double seconds_in_collectives() const { return 0.0; }
};

}  // namespace tplm
