#pragma once
// The world of one rank: every collective is the identity. The mappings never
// call it at tp = 1; it exists so the same code path runs without a launcher.
#include <cstring>

#include "parallel/communicator.hpp"

namespace tplm {

class SoloCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void all_gather(const float* send, std::span<const size_t> counts, float* recv) override {
    if (send != recv && !counts.empty()) std::memcpy(recv, send, counts[0] * sizeof(float));
  }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

}  // namespace tplm
