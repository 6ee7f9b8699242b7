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
  // The same, for a broadcast the other ranks may wait on for long (a server
  // between requests): a waiting rank backs off (sleeps) instead of keeping
  // a core busy. The timeout still applies, so a root that idles sends
  // something before it passes.
  virtual void broadcast_waiting(void* data, size_t bytes, int root) {
    broadcast(data, bytes, root);
  }
  virtual void barrier() = 0;
};

}  // namespace tplm
