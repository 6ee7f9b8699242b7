#pragma once
// How the ranks of one process reach each other's buffers in a thread world:
// host memory (plain loops and memcpy) or one GPU's memory (kernels on the
// rank's stream: parallel/cuda/). The thread communicator decides who reads
// what and when (barriers); this decides how the bytes move.
#include <cstddef>
#include <memory>

namespace tplm {

class PeerMemory {
 public:
  virtual ~PeerMemory() = default;
  // dst[i] = src[0][i] + src[1][i] + ... + src[n - 1][i] for i in [begin, end),
  // added in that order (the same bits on every rank).
  virtual void sum(const float* const* src, int n, size_t begin, size_t end, float* dst) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // Before a rank publishes a buffer: the rank's own pending writes to it are done.
  virtual void ready() {}
  // Before a rank meets its peers after sums and copies: they are done.
  virtual void finish() {}
  virtual void set_stream(void* /*stream*/) {}
};

std::unique_ptr<PeerMemory> make_host_peer_memory();

}  // namespace tplm
