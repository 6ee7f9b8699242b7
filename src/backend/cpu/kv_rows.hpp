#pragma once
// One rank's KV cache rows in their storage type (format/kv_type.hpp), to and
// from the float32 the kernels compute in. A row is one position's
// [n_kv_heads, head_dim]; kv_row_bytes gives its size.
#include <cstdint>

#include "format/kv_type.hpp"

namespace tplm::cpu {

// Stores x ([n_heads, head_dim] float32) as one row of type t.
void store_kv_row(KvType t, const float* x, int64_t n_heads, int64_t head_dim, void* row);
// Head h of a stored row as float32: a pointer into the row for f32, else
// out (head_dim floats) after converting.
const float* load_kv_head(KvType t, const void* row, int64_t h, int64_t head_dim, float* out);

}  // namespace tplm::cpu
