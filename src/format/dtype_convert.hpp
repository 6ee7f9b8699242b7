#pragma once
// Elements of a stored dtype as float32, on the host: what the loader needs
// for norms and biases, and the reference every backend's kernels agree with.
// Exact for every type but the K-quants' minimum: f16 and bf16 values are f32
// values; for Q8_0 and Q4_0 d * q is a product of an 11-bit and a <= 8-bit
// integer mantissa, which fits f32's 24 bits; Q6_K's d * scale * q (11 + 7 + 6
// bits) too. Q4_K and Q5_K compute (d * sc) * q - dmin * m with two exact
// products and one rounded subtraction, in that order, as gguf.quants does, so
// the values equal the gguf package's bit for bit.
#include <cstdint>

#include "format/dtype.hpp"

namespace tplm {

// out[0 .. n) = the n elements at src (n a whole number of blocks).
void dequantize(DType dtype, const void* src, int64_t n, float* out);

}  // namespace tplm
