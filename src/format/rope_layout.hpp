#pragma once
// Normalizes the row order of Q and K projections to the interleaved RoPE
// layout that the kernels use.
//
// Within one head of head_dim rows, rotation pair i (i < head_dim / 2) is
//   interleaved (GGUF, llama2.c):   rows 2i and 2i + 1
//   rotate-half (Hugging Face):     rows i  and i + head_dim / 2
// so interleaved row 2i + j holds rotate-half row j * head_dim / 2 + i (j = 0, 1).
// This is the inverse of the permutation llama.cpp's converter applies to
// Hugging Face Q/K weights. Heads stay where they are, so a rank can apply it
// to its own slice of whole heads.
#include <cstdint>

#include "format/dtype.hpp"

namespace tplm {

// data: n_heads * head_dim consecutive rows of row_bytes bytes each (a weight
// slice [heads * head_dim, cols], or a bias with row_bytes = element size),
// permuted in place from rotate-half to interleaved order.
void rotate_half_to_interleaved(void* data, int64_t n_heads, int64_t head_dim, uint64_t row_bytes);

// The inverse, for tools and tests.
void interleaved_to_rotate_half(void* data, int64_t n_heads, int64_t head_dim, uint64_t row_bytes);

}  // namespace tplm
