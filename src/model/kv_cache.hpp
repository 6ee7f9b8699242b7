#pragma once
// One rank's KV cache: per layer K and V of [slots, context] rows of
// [local kv heads, head_dim] in backend memory, stored as `type`
// (format/kv_type.hpp: f32, f16 or q8_0). Only this rank's kv heads live
// here. A slot holds one sequence (a server's request); a single run uses slot 0.
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"
#include "format/kv_type.hpp"

namespace tplm {

class KvCache {
 public:
  KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads, int64_t head_dim,
          int64_t slots = 1, KvType type = KvType::F32);

  // The cache rows of one slot: [context] rows of row_bytes() each.
  void* k(int64_t layer, int64_t slot = 0) {
    return k_[static_cast<size_t>(layer)].data() + slot * slot_row_bytes();
  }
  void* v(int64_t layer, int64_t slot = 0) {
    return v_[static_cast<size_t>(layer)].data() + slot * slot_row_bytes();
  }
  int64_t context() const { return context_; }  // positions per slot
  int64_t slots() const { return slots_; }
  KvType type() const { return type_; }
  uint64_t row_bytes() const { return row_bytes_; }  // one position of one layer's K (or V)
  uint64_t bytes() const { return bytes_; }          // what was allocated: the plan's figure

  // K and V bytes of one slot (all layers) for a rank with these dimensions.
  static uint64_t slot_bytes(int64_t n_layers, int64_t context, int64_t n_kv_heads,
                             int64_t head_dim, KvType type = KvType::F32);

 private:
  int64_t slot_row_bytes() const { return context_ * static_cast<int64_t>(row_bytes_); }
  int64_t context_ = 0;
  int64_t slots_ = 1;
  KvType type_ = KvType::F32;
  uint64_t row_bytes_ = 0;
  uint64_t bytes_ = 0;
  std::vector<Buffer<uint8_t>> k_, v_;
};

}  // namespace tplm
