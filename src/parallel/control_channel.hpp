#pragma once
// The host-side channel of a world: what rank 0 decides (the next step, a
// batch's descriptor) travels here, and ranks meet at barriers. Data
// collectives, on the backend's memory, are the Communicator's job.
#include <cstddef>

namespace tplm {

class ControlChannel {
 public:
  virtual ~ControlChannel() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Copies root's bytes (host memory) to every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace tplm
