#include "model/kv_cache.hpp"

#include <string>

#include "base/error.hpp"

namespace tplm {

KvCache::KvCache(Backend& backend, int64_t n_layers, int64_t context, int64_t n_kv_heads,
                 int64_t head_dim, int64_t slots, KvType type)
    : context_(context),
      slots_(slots),
      type_(type),
      row_bytes_(kv_row_bytes(type, n_kv_heads, head_dim)) {
  if (slots < 1) throw Error("a KV cache needs at least one slot, not " + std::to_string(slots));
  const auto layer_bytes = static_cast<size_t>(slots * context) * row_bytes_;
  for (int64_t l = 0; l < n_layers; ++l) {
    k_.emplace_back(backend, layer_bytes);
    v_.emplace_back(backend, layer_bytes);
    bytes_ += 2 * layer_bytes;
  }
}

uint64_t KvCache::slot_bytes(int64_t n_layers, int64_t context, int64_t n_kv_heads,
                             int64_t head_dim, KvType type) {
  return 2 * static_cast<uint64_t>(n_layers * context) * kv_row_bytes(type, n_kv_heads, head_dim);
}

}  // namespace tplm
