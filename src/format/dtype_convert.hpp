#pragma once
// Elements of a stored dtype as float32, on the host: what the loader needs
// for norms and biases, and the reference every backend's kernels agree with.
// Exact for every type: f16 and bf16 values are f32 values, and for Q8_0 and
// Q4_0 d * q is a product of an 11-bit and a <= 8-bit integer mantissa, which
// fits f32's 24 bits.
#include <cstdint>

#include "format/dtype.hpp"

namespace tplm {

// out[0 .. n) = the n elements at src (n a whole number of blocks).
void dequantize(DType dtype, const void* src, int64_t n, float* out);

}  // namespace tplm
