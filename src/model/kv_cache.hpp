#pragma once
// One rank's KV cache: per layer K and V of [context] rows of
// [local kv heads, head_dim] in backend memory, stored as `type`
// (format/kv_type.hpp: f32, f16 or q8_0). Only this rank's kv heads live here.
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"
#include "format/kv_type.hpp"

namespace tplm {

class KvCache {
 public:
  KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads, int64_t head_dim,
          KvType type = KvType::F32);

  void* k(int64_t layer) { return k_[static_cast<size_t>(layer)].data(); }
  void* v(int64_t layer) { return v_[static_cast<size_t>(layer)].data(); }
  int64_t context() const { return context_; }
  KvType type() const { return type_; }
  uint64_t row_bytes() const { return row_bytes_; }  // one position of one layer's K (or V)
  uint64_t bytes() const { return bytes_; }          // what was allocated: the plan's figure

 private:
  int64_t context_ = 0;
  KvType type_ = KvType::F32;
  uint64_t row_bytes_ = 0;
  uint64_t bytes_ = 0;
  std::vector<Buffer<uint8_t>> k_, v_;
};

}  // namespace tplm
