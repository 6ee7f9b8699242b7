#include "format/kv_type.hpp"

#include <numeric>

namespace tplm {

std::string_view kv_type_name(KvType t) {
  switch (t) {
    case KvType::F32:
      return "f32";
    case KvType::F16:
      return "f16";
    case KvType::Q8_0:
      return "q8_0";
  }
  return "?";
}

std::optional<KvType> kv_type_from_name(std::string_view name) {
  for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0})
    if (kv_type_name(t) == name) return t;
  return std::nullopt;
}

int64_t kv_q8_block(int64_t head_dim) {
  return std::gcd(head_dim, int64_t{32});
}

uint64_t kv_row_bytes(KvType t, int64_t n_kv_heads, int64_t head_dim) {
  const auto values = static_cast<uint64_t>(n_kv_heads * head_dim);
  switch (t) {
    case KvType::F32:
      return values * 4;
    case KvType::F16:
      return values * 2;
    case KvType::Q8_0: {
      const auto blocks = static_cast<uint64_t>(n_kv_heads * (head_dim / kv_q8_block(head_dim)));
      return values + blocks * 2;  // one int8 a value, one f16 scale a block
    }
  }
  return 0;
}

}  // namespace tplm
