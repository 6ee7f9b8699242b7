// BF16 weights on AVX-512 BF16: one vdpbf16ps per 32 columns of a row and a
// token, which is the contract itself (kernels.hpp), so nothing here may
// reorder: lane l of each step gets columns 2l + 1 then 2l, fused, in
// increasing steps. A token's row is already bf16 (Bf16Acts), so a weight
// row is read as it is in the file, with no conversion.
#if defined(__x86_64__)
#include <immintrin.h>

#include "backend/cpu/bf16_dot.hpp"
#include "backend/cpu/hsum16_avx512.hpp"
#include "backend/cpu/qdot.hpp"

#define TPLM_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))
#define TPLM_UNROLL _Pragma("GCC unroll 16")

// GCC 12's _mm512_castps512_ps256 (hsum16_avx512) starts from an undefined
// vector and then warns that it is used (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tplm::cpu {
namespace {

TPLM_BF16 inline __m512bh load32(const uint16_t* p) {
  return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
}
// Columns [k, cols) of a row and zeros after them (a row's last, partial step).
TPLM_BF16 inline __m512bh load_tail(const uint16_t* p, int64_t n) {
  return reinterpret_cast<__m512bh>(_mm512_maskz_loadu_epi16(_cvtu32_mask32((1u << n) - 1), p));
}

// One 32-column step of an R x C tile: acc[r][c] += row r . token c by
// vdpbf16ps; the row's last, partial step reads its n columns and zeros.
template <int R, int C, bool kTail>
TPLM_BF16 __attribute__((always_inline)) inline void step(__m512 (&acc)[R][C],
                                                          const uint16_t* const* wrow,
                                                          const uint16_t* const* xt, int64_t k,
                                                          int64_t n) {
  __m512bh xv[C];
  TPLM_UNROLL
  for (int c = 0; c < C; ++c) xv[c] = load32(xt[c] + k);
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m512bh wv = kTail ? load_tail(wrow[r] + k, n) : load32(wrow[r] + k);
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv, xv[c]);
  }
}

// out[r * C + c] = row r . token c for an R x C tile, one accumulator each.
template <int R, int C>
TPLM_BF16 void tile(const uint16_t* const* wrow, const uint16_t* const* xt, int64_t cols,
                    float* out) {
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= cols; k += 32) step<R, C, false>(acc, wrow, xt, k, 32);
  if (k < cols) step<R, C, true>(acc, wrow, xt, k, cols - k);
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) out[r * C + c] = hsum16_avx512(acc[r][c]);
}

// R weight rows against a's token rows (token_tiles.hpp).
template <int R>
struct Bf16Tiles {
  static constexpr int kRows = R, kTokens = 6;
  const uint16_t* const* wrow;
  const Bf16Acts& a;
  template <int C>
  TPLM_BF16 void run(int64_t t0, float* out) const {
    const uint16_t* xt[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) xt[c] = a.row(t0 + c);
    tile<R, C>(wrow, xt, a.cols, out);
  }
};

#define TPLM_TILES_TARGET TPLM_BF16
#include "backend/cpu/token_tiles.hpp"  // NOLINT(build/include): the shared token loop
#undef TPLM_TILES_TARGET

}  // namespace

TPLM_BF16 void bf16_matmul_rows_avx512(const Bf16Acts& a, const WeightView& w, const float* bias,
                                       float* y, int64_t r0, int64_t r1) {
  const auto* base = static_cast<const uint16_t*>(w.data);
  const auto row = [&](int64_t r) { return base + r * w.cols; };
  int64_t r = r0;
  // One token (decode) streams one row at a time: from memory, 8 rows at
  // once measured 23% slower (32768 x 2048, 2 threads: 1 row 4.4 ms, 2 rows
  // 5.6, 4 rows 5.3, 8 rows 5.0-5.7), as for the float and quantized kernels.
  for (; a.T > 1 && r + 4 <= r1; r += 4) {
    const uint16_t* wrow[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
    all_tokens(Bf16Tiles<4>{wrow, a}, a.T, w.rows, bias, y, r);
  }
  for (; r < r1; ++r) {
    const uint16_t* wrow[1] = {row(r)};
    all_tokens(Bf16Tiles<1>{wrow, a}, a.T, w.rows, bias, y, r);
  }
}

TPLM_BF16 void round_bf16_row_avx512(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, reinterpret_cast<__m512i>(v));
  }
  for (; i < n; ++i) out[i] = round_to_bf16(x[i]);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
