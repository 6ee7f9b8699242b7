#include <algorithm>
#include <cstdint>
#include <cstring>

#include "parallel/peer_memory.hpp"

namespace tplm {

namespace {

class HostPeerMemory final : public PeerMemory {
 public:
  // A tile at a time, so the partial sums stay in cache and the inner loops vectorize.
  void sum(const float* const* src, int n, size_t begin, size_t end, float* dst) override {
    constexpr size_t kTile = 1024;
    float acc[kTile];
    for (size_t t = begin; t < end; t += kTile) {
      const size_t len = std::min(kTile, end - t);
      std::memcpy(acc, src[0] + t, len * sizeof(float));
      for (int q = 1; q < n; ++q) {
        const float* s = src[q] + t;
        for (size_t i = 0; i < len; ++i) acc[i] += s[i];
      }
      std::memcpy(dst + t, acc, len * sizeof(float));
    }
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0 && dst != src) std::memmove(dst, src, bytes);
  }
};

}  // namespace

std::unique_ptr<PeerMemory> make_host_peer_memory() {
  return std::make_unique<HostPeerMemory>();
}

}  // namespace tplm
