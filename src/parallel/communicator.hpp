#pragma once
// The exchanges between the ranks of one world. Implementations: in-process
// threads (shared memory), MPI processes, NCCL GPUs. The interface assumes no
// shared memory: every buffer belongs to the calling rank.
//
// Every rank of the world must make the same calls in the same order with the
// same sizes. A call that cannot complete (a peer died, a link broke, the
// timeout passed) throws CommError on every rank that can still run.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/error.hpp"

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

  // data[i] = sum over ranks of data[i], on every rank.
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  // Rank r contributes counts[r] elements (send); every rank receives the
  // concatenation in rank order (recv: sum of counts elements). Counts may differ.
  virtual void all_gather(const float* send, std::span<const size_t> counts, float* recv) = 0;
  // Copies root's bytes to every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;

  // Bytes this rank has sent and seconds it has spent inside collectives, for
  // the exchange-versus-compute report.
  virtual uint64_t bytes_sent() const { return 0; }
  virtual double seconds_in_collectives() const { return 0.0; }
};

}  // namespace tplm
