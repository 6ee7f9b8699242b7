#pragma once
// One rank's KV cache: per layer K and V of [slots, context, local kv heads,
// head_dim] float32 in backend memory. Only this rank's kv heads live here.
// A slot holds one sequence (a server's request); a single run uses slot 0.
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"

namespace tplm {

class KvCache {
 public:
  KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads, int64_t head_dim,
          int64_t slots = 1);

  // The cache rows of one slot: [context, local kv heads, head_dim].
  float* k(int64_t layer, int64_t slot = 0) {
    return k_[static_cast<size_t>(layer)].data() + slot * slot_floats();
  }
  float* v(int64_t layer, int64_t slot = 0) {
    return v_[static_cast<size_t>(layer)].data() + slot * slot_floats();
  }
  int64_t context() const { return context_; }  // positions per slot
  int64_t slots() const { return slots_; }
  int64_t row_floats() const { return row_floats_; }  // local kv heads * head_dim
  uint64_t bytes() const { return bytes_; }

  // K and V bytes of one slot (all layers) for a rank with these dimensions.
  static uint64_t slot_bytes(int64_t n_layers, int64_t context, int64_t n_kv_heads,
                             int64_t head_dim);

 private:
  int64_t slot_floats() const { return context_ * row_floats_; }
  int64_t context_ = 0;
  int64_t slots_ = 1;
  int64_t row_floats_ = 0;
  uint64_t bytes_ = 0;
  std::vector<Buffer<float>> k_, v_;
};

}  // namespace tplm
