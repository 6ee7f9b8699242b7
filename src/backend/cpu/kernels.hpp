#pragma once
// The inner kernels behind CpuBackend, in a portable scalar version and an
// AVX2/FMA/F16C version chosen at run time (have_avx2()).
//
// Every output y[t, r] = sum_c x[t, c] * W[r, c] is summed in one fixed order,
// whatever the tiling or the number of threads: 8 float lanes, lane l takes the
// columns c = 8i + l in increasing i, the lanes are added pairwise
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the columns past the last whole 8
// one by one. Weights are converted to f32 exactly before the multiply, so a
// matrix-vector product (T = 1, weights read in their file dtype) and a
// matrix-matrix product (T > 1, rows dequantized to f32 first) give identical
// bits for the same token.
#include <cstdint>

#include "backend/backend.hpp"

namespace tplm::cpu {

bool have_avx2();

// Rows [r0, r1) of y (all T tokens): y[t * w.rows + r].
void matmul_rows(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                 int64_t r0, int64_t r1);
float dot_f32(const float* a, const float* b, int64_t n);

// The two implementations (x86-64 only for the second).
void matmul_rows_scalar(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                        int64_t r0, int64_t r1);
float dot_f32_scalar(const float* a, const float* b, int64_t n);
void matmul_rows_avx2(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                      int64_t r0, int64_t r1);
float dot_f32_avx2(const float* a, const float* b, int64_t n);

}  // namespace tplm::cpu
