#pragma once
// One rank's KV cache: per layer K and V of [context, local kv heads, head_dim]
// float32 in backend memory. Only this rank's kv heads live here.
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"

namespace tplm {

class KvCache {
 public:
  KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads,
          int64_t head_dim);

  float* k(int64_t layer) { return k_[static_cast<size_t>(layer)].data(); }
  float* v(int64_t layer) { return v_[static_cast<size_t>(layer)].data(); }
  int64_t context() const { return context_; }
  int64_t row_floats() const { return row_floats_; }  // local kv heads * head_dim
  uint64_t bytes() const { return bytes_; }

 private:
  int64_t context_ = 0;
  int64_t row_floats_ = 0;
  uint64_t bytes_ = 0;
  std::vector<Buffer<float>> k_, v_;
};

}  // namespace tplm
