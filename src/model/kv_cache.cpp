#include "model/kv_cache.hpp"

namespace tplm {

KvCache::KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads,
                 int64_t head_dim)
    : backend_(backend), context_(context), row_floats_(n_kv_heads * head_dim) {
  const size_t layer_bytes = static_cast<size_t>(context * row_floats_) * sizeof(float);
  for (int64_t l = 0; l < n_layers; ++l) {
    k_.push_back(static_cast<float*>(backend_.alloc(layer_bytes)));
    v_.push_back(static_cast<float*>(backend_.alloc(layer_bytes)));
    bytes_ += 2 * layer_bytes;
  }
}

KvCache::~KvCache() {
  for (float* p : k_) backend_.release(p);
  for (float* p : v_) backend_.release(p);
}

}  // namespace tplm
