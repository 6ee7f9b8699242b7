#pragma once
// The world of one rank: every collective is the identity. The mappings never
// call it at tp = 1; it exists so the same code path runs without a launcher.
#include "parallel/communicator.hpp"

namespace tplm {

class SoloCommunicator final : public Communicator, public ControlChannel {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  // Exchanges never reach here at tp = 1 (the mappings skip them), so no
  // memory is touched: the pointers may be device memory.
  void all_reduce_sum(float*, size_t) override {}
  void all_gather(const float*, size_t, float*) override {
    throw CommError("all_gather on a world of one rank: use gather_from_tensor_parallel");
  }
  ControlChannel& control() override { return *this; }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

}  // namespace tplm
