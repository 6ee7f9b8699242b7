#include "model/kv_cache.hpp"

namespace tplm {

KvCache::KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads,
                 int64_t head_dim)
    : context_(context), row_floats_(n_kv_heads * head_dim) {
  const auto layer_floats = static_cast<size_t>(context * row_floats_);
  for (int64_t l = 0; l < n_layers; ++l) {
    k_.emplace_back(backend, layer_floats);
    v_.emplace_back(backend, layer_floats);
    bytes_ += 2 * layer_floats * sizeof(float);
  }
}

}  // namespace tplm
