#pragma once
// BF16 weights times activations rounded to bf16: the arithmetic of AVX-512
// BF16's vdpbf16ps, computed the same way at every kernel level (the
// contract is in kernels.hpp). As a bf16 model runs in PyTorch, and as
// llama.cpp runs it: the products of two bf16 values are exact in f32, so
// the only rounding added to the float contract is the activations' own.
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"

namespace tplm::cpu {

// Each token's activation row rounded to bf16 once per matmul call (by
// itself, so a token rounds the same whatever T is, and a rank's slice of a
// row-parallel input holds the same values as tp 1's), zero-padded to a
// multiple of 32 columns: one vdpbf16ps step.
struct Bf16Acts {
  int64_t T = 0, cols = 0;
  int64_t stride = 0;       // cols rounded up to 32
  std::vector<uint16_t> x;  // [T, stride]
  const uint16_t* row(int64_t t) const { return x.data() + t * stride; }
};

// f32 -> bf16 as vcvtneps2bf16 does it: round to nearest, ties to even; a
// subnormal becomes a zero of its sign; a NaN stays a NaN (made quiet).
uint16_t round_to_bf16(float f);
// Sizes a for T rows of cols.
void prepare_bf16_acts(Bf16Acts& a, int64_t T, int64_t cols);
// Rounds tokens [t0, t1) of x ([T, cols]) into a (prepared).
void round_bf16_acts_rows(const float* x, Bf16Acts& a, int64_t t0, int64_t t1);
// Rows [r0, r1) of y ([T, w.rows]) = a x W^T (+ bias) for a BF16 weight, at
// the level cpu_level() and have_avx512_bf16() allow.
void bf16_matmul_rows(const Bf16Acts& a, const WeightView& w, const float* bias, float* y,
                      int64_t r0, int64_t r1);

// The implementations: portable, AVX2 + FMA (vdpbf16ps's steps as fused
// multiply-adds, subnormals flushed by MXCSR), AVX-512 BF16.
void bf16_matmul_rows_scalar(const Bf16Acts& a, const WeightView& w, const float* bias, float* y,
                             int64_t r0, int64_t r1);
void bf16_matmul_rows_avx2(const Bf16Acts& a, const WeightView& w, const float* bias, float* y,
                           int64_t r0, int64_t r1);
void bf16_matmul_rows_avx512(const Bf16Acts& a, const WeightView& w, const float* bias, float* y,
                             int64_t r0, int64_t r1);
// round_to_bf16 of x[0 .. n) into out, 32 at a time by vcvtne2ps2bf16.
void round_bf16_row_avx512(const float* x, int64_t n, uint16_t* out);

}  // namespace tplm::cpu
