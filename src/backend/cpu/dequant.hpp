#pragma once
// Rows of a weight in its file dtype, converted to float32 exactly
// (format/dtype_convert.hpp), and the checks every kernel makes of a weight.
#include <cstdint>

#include "backend/backend.hpp"

namespace tplm::cpu {

// Bytes of one row of w (checks that quantized rows are whole blocks).
int64_t row_bytes(const WeightView& w);
// Throws tplm::Error when w cannot be used by the kernels (null data with rows,
// negative sizes, quantized cols not a multiple of the block size).
void check_weight(const WeightView& w, const char* op);

// out[0 .. cols) = row `r` of w as float32.
void dequantize_row(const WeightView& w, int64_t r, float* out);

}  // namespace tplm::cpu
