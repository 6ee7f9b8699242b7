#include "model/kv_cache.hpp"

#include "base/error.hpp"

namespace tplm {

KvCache::KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads,
                 int64_t head_dim, int64_t slots)
    : context_(context), slots_(slots), row_floats_(n_kv_heads * head_dim) {
  if (slots < 1) throw Error("a KV cache needs at least one slot, not " + std::to_string(slots));
  const auto layer_floats = static_cast<size_t>(slots * context * row_floats_);
  for (int64_t l = 0; l < n_layers; ++l) {
    k_.emplace_back(backend, layer_floats);
    v_.emplace_back(backend, layer_floats);
    bytes_ += 2 * layer_floats * sizeof(float);
  }
}

uint64_t KvCache::slot_bytes(int64_t n_layers, int64_t context, int64_t n_kv_heads,
                             int64_t head_dim) {
  return 2 * static_cast<uint64_t>(n_layers * context * n_kv_heads * head_dim) * sizeof(float);
}

}  // namespace tplm
