#include "model/kv_cache.hpp"

namespace tplm {

KvCache::KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads,
                 int64_t head_dim, KvType type)
    : context_(context), type_(type), row_bytes_(kv_row_bytes(type, n_kv_heads, head_dim)) {
  const auto layer_bytes = static_cast<size_t>(context) * row_bytes_;
  for (int64_t l = 0; l < n_layers; ++l) {
    k_.emplace_back(backend, layer_bytes);
    v_.emplace_back(backend, layer_bytes);
    bytes_ += 2 * layer_bytes;
  }
}

}  // namespace tplm
