// Activation rounding (one definition for every level) and the portable
// kernel: vdpbf16ps's arithmetic spelled out, the reference the AVX2 and
// AVX-512 levels match bit for bit (kernels.hpp).
#include "backend/cpu/bf16_dot.hpp"

#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/dequant.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/qdot.hpp"
#include "format/half.hpp"

namespace tplm::cpu {

uint16_t round_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000);  // 0, subnormal
  u += 0x7fffu + ((u >> 16) & 1);  // to nearest, ties to even (an overflow makes inf)
  return static_cast<uint16_t>(u >> 16);
}

void prepare_bf16_acts(Bf16Acts& a, int64_t T, int64_t cols) {
  a.T = T;
  a.cols = cols;
  a.stride = (cols + 31) / 32 * 32;
  a.x.resize(static_cast<size_t>(T * a.stride));
}

void round_bf16_acts_rows(const float* x, Bf16Acts& a, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    uint16_t* out = a.x.data() + t * a.stride;
    const float* in = x + t * a.cols;
    int64_t i = 0;
#if defined(__x86_64__)
    if (have_avx512_bf16()) {
      round_bf16_row_avx512(in, a.cols, out);
      i = a.cols;
    }
#endif
    for (; i < a.cols; ++i) out[i] = round_to_bf16(in[i]);
    for (; i < a.stride; ++i) out[i] = 0;
  }
}

void bf16_matmul_rows(const Bf16Acts& a, const WeightView& w, const float* bias, float* y,
                      int64_t r0, int64_t r1) {
#if defined(__x86_64__)
  if (have_avx512_bf16()) return bf16_matmul_rows_avx512(a, w, bias, y, r0, r1);
  if (have_avx2()) return bf16_matmul_rows_avx2(a, w, bias, y, r0, r1);
#endif
  bf16_matmul_rows_scalar(a, w, bias, y, r0, r1);
}

namespace {

// vdpbf16ps reads a subnormal input as zero and flushes a subnormal result
// to zero (the sign kept): DAZ and FTZ.
float flush_subnormal(float v) {
  return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v;
}

// One output: 16 lanes, lane l of each 32-column step takes column 2l + 1,
// then 2l, each product added with one rounding; hsum16 of the lanes.
float dot_row(const uint8_t* wrow, const uint16_t* x, int64_t cols, int64_t stride) {
  float lane[16] = {};
  for (int64_t k = 0; k < stride; k += 32)
    for (int l = 0; l < 16; ++l)
      for (int64_t c : {k + 2 * l + 1, k + 2 * l}) {
        const float wv = c < cols ? flush_subnormal(bf16_to_f32(load_u16(wrow + 2 * c))) : 0.0f;
        lane[l] = flush_subnormal(std::fma(wv, bf16_to_f32(x[c]), lane[l]));
      }
  return hsum16(lane);
}

}  // namespace

void bf16_matmul_rows_scalar(const Bf16Acts& a, const WeightView& w, const float* bias, float* y,
                             int64_t r0, int64_t r1) {
  const int64_t rb = row_bytes(w);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wrow = static_cast<const uint8_t*>(w.data) + r * rb;
    for (int64_t t = 0; t < a.T; ++t)
      y[t * w.rows + r] = dot_row(wrow, a.row(t), a.cols, a.stride) + (bias ? bias[r] : 0.0f);
  }
}

}  // namespace tplm::cpu
