#pragma once
// Rows of a weight in its file dtype, converted to float32 (exactly: for Q8_0
// and Q4_0, d * q is a product of an 11-bit and a <= 8-bit integer mantissa and
// fits in f32's 24 bits, so dequantized values carry no rounding).
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
