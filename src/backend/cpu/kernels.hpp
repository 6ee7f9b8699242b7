#pragma once
// The inner kernels behind CpuBackend, at the level cpu_features.hpp chooses
// from cpuid (scalar, AVX2, AVX-512; TPLM_CPU_LEVEL lowers it for tests).
//
// Float weights (F32, F16): every output y[t, r] = sum_c x[t, c] * W[r, c]
// is summed in one fixed order, whatever the tiling or the number of threads:
// 8 float lanes, lane l takes the columns c = 8i + l in increasing i, the lanes
// are added pairwise ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the columns
// past the last whole 8 one by one. Weights are converted to f32 exactly before
// the multiply, so a matrix-vector product (T = 1, weights read in their file
// dtype) and a matrix-matrix product (T > 1, rows dequantized to f32 first)
// give identical bits for the same token. The scalar and AVX2 kernels agree to
// float rounding (the scalar one multiplies and adds, AVX2 fuses). At the
// AVX-512 level F16 weights take 16 lanes (lane l the columns 16i + l, fused),
// summed as hsum16 (qdot.hpp), then the columns past the last whole 16 fused
// one by one, for T = 1 and T > 1 alike: a single row's chain then moves 32
// bytes a step, which decode needs to keep up with memory.
//
// BF16 weights (bf16_dot.hpp) take activations rounded to bf16 once per call,
// each token's row by itself (round_to_bf16: as vcvtneps2bf16), and compute
// what AVX-512 BF16's vdpbf16ps computes: 16 float lanes; for each step of 32
// columns k .. k + 31, in increasing k (the row padded with zero columns to a
// whole step), lane l += W[r, k + 2l + 1] * x[k + 2l + 1], then += W[r, k + 2l]
// * x[k + 2l], each fused (the product of two bf16 is exact in f32), a
// subnormal input read as 0 and a subnormal result flushed to 0; the lanes
// summed as hsum16 (qdot.hpp). The AVX-512 level runs vdpbf16ps where the CPU
// has it; AVX2 and scalar do the same fused steps, so all give the same bits,
// for any thread count and any T. The one rounding beyond the float
// contract's is the activations' (relative 2^-9), as a bf16 model has it in
// PyTorch; in exchange a step multiplies 32 pairs in one instruction.
//
// Quantized weights (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) run in the integer domain
// (qdot.hpp): each call quantizes every token's activation row once, by itself,
// into blocks of 32 (Q8_0, Q4_0) or 256 (K-quants) elements with one f32 scale
// d = max|x| / 127 each and q = round-half-even(x * 127 / max|x|). So a token
// quantizes the same whatever T is, and a rank holding whole blocks of a
// row-parallel input (the plan never cuts one) quantizes the same blocks as
// tp 1. Then, per output:
//   - Q8_0, Q4_0: the exact int32 sum S_b of (u - offset) * q over each
//     32-element block b, and 16 float lanes: lane b mod 16 += float(S_b) *
//     (d_w * d_x), fused, in increasing b (one multiply-add per block, not per
//     group of 4 elements: a batch of tokens is bound by these operations);
//   - K-quants: the exact int32 sum S_j of (u - offset) * q over each
//     sub-block j (Q4_K, Q5_K: 8 of 32 elements per 256-element super-block
//     B; Q6_K: 16 of 16), and 16 float lanes, lane j (Q6_K) or 8 (B mod 2) + j
//     (Q4_K, Q5_K): lane += float(S_j) * ((d_w * sc_j) * d_x), fused, then
//     for Q4_K / Q5_K lane -= (dmin_w * m_j) * (float(sum of the sub-block's
//     q) * d_x), fused, in increasing B (two super-blocks of 8 sub-blocks or
//     one of 16 fill a 512-bit vector, which the AVX-512 kernels read as one
//     group; d_w * sc_j and dmin_w * m_j are exact, and computed once per row
//     and group, the products with d_x once per token and group);
//   - the lanes summed as hsum16 (qdot.hpp).
// Every level does exactly these operations, so scalar, AVX2 and AVX-512
// results are identical bit for bit, for any thread count and any T.
#include <cstdint>

#include "backend/backend.hpp"

namespace tplm::cpu {

struct QuantActs;

bool have_avx2();
bool have_avx512();  // the qdot AVX-512 level: also the attention kernels' 16-lane versions

// Rows [r0, r1) of y (all T tokens): y[t * w.rows + r]; float weights (any
// dtype, converted to f32: the float reference for quantized ones).
void matmul_rows(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                 int64_t r0, int64_t r1);
// The same for a quantized weight against activations quantized by qdot.hpp.
void qmatmul_rows(const QuantActs& a, const WeightView& w, const float* bias, float* y, int64_t r0,
                  int64_t r1);
// Attention's two loops over cached rows of type row_type (F32 or F16),
// read in place: x . row with the same bits as for the row converted to f32
// (an F32 row), and o[i] = o[i] + a * row[i] rounded after the product and
// again after the sum (never fused), so every level gives the scalar loop's bits.
float dot_f32_row(DType row_type, const void* row, const float* x, int64_t n);
// out[p] = dot_f32_row(row_type, rows + p * stride, x, len) for p = 0 .. n - 1,
// several rows at once so that their dependency chains overlap.
void dot_f32_rows(DType row_type, const uint8_t* rows, int64_t stride, const float* x, int64_t n,
                  float* out, int64_t len);
void add_scaled_row(DType row_type, float a, const void* row, float* o, int64_t n);
// add_scaled_row for rows p = 0 .. n - 1 (row p at rows + p * stride bytes,
// weight a[p]), in that order for each element: o stays in registers.
void add_scaled_rows(DType row_type, const uint8_t* rows, int64_t stride, const float* a, int64_t n,
                     float* o, int64_t len);
// The softmax's element-wise steps (each element's result is one IEEE
// operation, so every level gives the same bits): p[i] *= scale for i < n,
// returning the largest p[i] as std::fmax folds them (a NaN is skipped;
// -inf when n is 0), and p[i] /= d.
float scale_and_max(float* p, int64_t n, float scale);
void divide_all(float* p, int64_t n, float d);

// The two implementations (x86-64 only for the second).
void matmul_rows_scalar(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                        int64_t r0, int64_t r1);
float dot_f32_scalar(const float* a, const float* b, int64_t n);
float dot_f32_row_scalar(DType row_type, const void* row, const float* x, int64_t n);
void add_scaled_row_scalar(DType row_type, float a, const void* row, float* o, int64_t n);
float scale_and_max_scalar(float* p, int64_t n, float scale);
void divide_all_scalar(float* p, int64_t n, float d);
void add_scaled_rows_avx2(DType row_type, const uint8_t* rows, int64_t stride, const float* a,
                          int64_t n, float* o, int64_t len);
void matmul_rows_avx2(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                      int64_t r0, int64_t r1);
// F16 weights only (16 lanes, see above).
void matmul_rows_avx512(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                        int64_t r0, int64_t r1);
float dot_f32_row_avx2(DType row_type, const void* row, const float* x, int64_t n);
void dot_f32_rows_avx2(DType row_type, const uint8_t* rows, int64_t stride, const float* x,
                       int64_t n, float* out, int64_t len);
void add_scaled_row_avx2(DType row_type, float a, const void* row, float* o, int64_t n);
// out[i] = f32_to_f16(x[i]) (format/half.hpp), 8 at a time by F16C.
void f32_to_f16_row_avx2(const float* x, int64_t n, uint8_t* out);
float dot_f32_row_avx512(DType row_type, const void* row, const float* x, int64_t n);
void dot_f32_rows_avx512(DType row_type, const uint8_t* rows, int64_t stride, const float* x,
                         int64_t n, float* out, int64_t len);
void add_scaled_rows_avx512(DType row_type, const uint8_t* rows, int64_t stride, const float* a,
                            int64_t n, float* o, int64_t len);
void add_scaled_row_avx512(DType row_type, float a, const void* row, float* o, int64_t n);
float scale_and_max_avx512(float* p, int64_t n, float scale);
void divide_all_avx512(float* p, int64_t n, float d);

}  // namespace tplm::cpu
