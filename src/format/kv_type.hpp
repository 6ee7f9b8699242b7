#pragma once
// How a KV cache stores its rows (--kv-type). One cache row is one position's
// K (or V) of a rank's kv heads, [n_kv_heads, head_dim]:
//   f32:  4 bytes a value.
//   f16:  IEEE half, 2 bytes a value.
//   q8_0: each head's head_dim values in blocks of b = gcd(head_dim, 32)
//         (32 for the usual head_dim 64 or 128), each block an f16 scale
//         d = max|x| / 127 then b int8 q = round(x / d): x ~ d * q.
// The plan counts these bytes and the cache allocates exactly them.
#include <cstdint>
#include <optional>
#include <string_view>

namespace tplm {

enum class KvType : uint8_t { F32, F16, Q8_0 };

std::string_view kv_type_name(KvType t);                         // "f32", "f16", "q8_0"
std::optional<KvType> kv_type_from_name(std::string_view name);  // the names above
// Values in one q8_0 block of a head: gcd(head_dim, 32).
int64_t kv_q8_block(int64_t head_dim);
// Bytes of one position's row of n_kv_heads heads of head_dim values.
uint64_t kv_row_bytes(KvType t, int64_t n_kv_heads, int64_t head_dim);

}  // namespace tplm
