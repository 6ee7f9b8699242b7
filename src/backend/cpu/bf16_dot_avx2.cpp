// BF16 weights where AVX-512 BF16 is missing: vdpbf16ps's arithmetic
// (kernels.hpp) as AVX2 fused multiply-adds, the same bits. A 32-bit word of
// a bf16 row holds columns 2l (low half) and 2l + 1 (high half): the high
// half masked and the low half shifted up are those columns in f32, so lane
// l takes column 2l + 1, then 2l, as vdpbf16ps does. 16 lanes are two
// vectors: columns 0-15 of a step feed lanes 0-7, columns 16-31 lanes 8-15.
// MXCSR's DAZ and FTZ are set while the kernel runs: vdpbf16ps reads
// subnormals as zero and flushes subnormal results.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/bf16_dot.hpp"
#include "backend/cpu/qdot.hpp"

#define TPLM_AVX2 __attribute__((target("avx2,fma")))
#define TPLM_UNROLL _Pragma("GCC unroll 16")

namespace tplm::cpu {
namespace {

// Columns 16h .. 16h + 15 of a step as the odd columns' and the even columns' f32.
struct Pairs {
  __m256 odd, even;
};
TPLM_AVX2 inline Pairs load_pairs(const uint16_t* p) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return {
      _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xffff0000u)))),
      _mm256_castsi256_ps(_mm256_slli_epi32(v, 16))};
}

// One 32-column step of an R x C tile: weight columns wk .. wk + 31 of each
// row, token columns xk .. xk + 31.
template <int R, int C>
TPLM_AVX2 __attribute__((always_inline)) inline void step(__m256 (&acc)[R][C][2],
                                                          const uint16_t* const* wrow, int64_t wk,
                                                          const uint16_t* const* xt, int64_t xk) {
  TPLM_UNROLL
  for (int h = 0; h < 2; ++h) {
    Pairs x[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) x[c] = load_pairs(xt[c] + xk + 16 * h);
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      const Pairs w = load_pairs(wrow[r] + wk + 16 * h);
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        acc[r][c][h] = _mm256_fmadd_ps(w.odd, x[c].odd, acc[r][c][h]);
        acc[r][c][h] = _mm256_fmadd_ps(w.even, x[c].even, acc[r][c][h]);
      }
    }
  }
}

// out[r * C + c] = row r . token c for an R x C tile.
template <int R, int C>
TPLM_AVX2 void tile(const uint16_t* const* wrow, const uint16_t* const* xt, int64_t cols,
                    float* out) {
  __m256 acc[R][C][2];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= cols; k += 32) step<R, C>(acc, wrow, k, xt, k);
  if (k < cols) {  // the last, partial step: the row's columns, then zeros
    uint16_t tail[R][32] = {};
    const uint16_t* trow[R];
    for (int r = 0; r < R; ++r) {
      std::memcpy(tail[r], wrow[r] + k, static_cast<size_t>(cols - k) * 2);
      trow[r] = tail[r];
    }
    step<R, C>(acc, trow, 0, xt, k);
  }
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    alignas(32) float lanes[16];
    _mm256_store_ps(lanes, acc[r][c][0]);
    _mm256_store_ps(lanes + 8, acc[r][c][1]);
    out[r * C + c] = hsum16(lanes);
  }
}

// R weight rows against a's token rows, 3 tokens a tile (token_tiles.hpp).
template <int R>
struct Bf16Tiles {
  static constexpr int kRows = R, kTokens = 3;
  const uint16_t* const* wrow;
  const Bf16Acts& a;
  template <int N>
  TPLM_AVX2 void run(int64_t t0, float* out) const {
    const uint16_t* xt[N];
    for (int n = 0; n < N; ++n) xt[n] = a.row(t0 + n);
    tile<R, N>(wrow, xt, a.cols, out);
  }
};

#define TPLM_TILES_TARGET TPLM_AVX2
#include "backend/cpu/token_tiles.hpp"  // NOLINT(build/include): the shared token loop
#undef TPLM_TILES_TARGET

}  // namespace

TPLM_AVX2 void bf16_matmul_rows_avx2(const Bf16Acts& a, const WeightView& w, const float* bias,
                                     float* y, int64_t r0, int64_t r1) {
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | 0x8040);  // FTZ (bit 15) and DAZ (bit 6)
  const auto* base = static_cast<const uint16_t*>(w.data);
  const auto row = [&](int64_t r) { return base + r * w.cols; };
  int64_t r = r0;
  // a batch in 2 x 3 tiles (12 accumulators of the 16 registers); decode one
  // row at a time, which streams from memory fastest (bf16_dot_avx512.cpp)
  for (; a.T > 1 && r + 2 <= r1; r += 2) {
    const uint16_t* wrow[2] = {row(r), row(r + 1)};
    all_tokens(Bf16Tiles<2>{wrow, a}, a.T, w.rows, bias, y, r);
  }
  for (; r < r1; ++r) {
    const uint16_t* wrow[1] = {row(r)};
    all_tokens(Bf16Tiles<1>{wrow, a}, a.T, w.rows, bias, y, r);
  }
  _mm_setcsr(csr);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
