// AVX-512 versions of the attention's float kernels (kernels.hpp): the
// scores' dot products (dot_f32_row, dot_f32_rows) and the weighted
// sums of value rows (add_scaled_row, add_scaled_rows), 16 floats a step
// where AVX2 takes 8. f16 cache rows are converted in registers (F16C).
// The F16 weights' matmul (matmul_rows_avx512) runs the same dot products
// in tiles of rows and tokens.
//
// Bits: a dot product's lanes are summed in hsum16's order (qdot.hpp) and
// the elements past the last 16 fused one at a time, so this level's scores
// differ from AVX2's in the last bits (as AVX2's differ from the scalar
// loop's), but are the same for an f32 row and an f16 row holding the same
// values, and for one row or several. add_scaled_* rounds each element's
// product and sum in row order, exactly as every level does.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu/hsum16_avx512.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/qdot.hpp"
#include "format/half.hpp"

#define TPLM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define TPLM_UNROLL _Pragma("GCC unroll 16")

// GCC 12 flags the unset source vector of _mm512_cvtph_ps (its
// _mm512_undefined_ps) as uninitialized wherever it is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tplm::cpu {
namespace {

inline const uint8_t* bytes(const void* p) {
  return static_cast<const uint8_t*>(p);
}

// Elements k .. k + 15 of a row as f32.
template <DType dt>
TPLM_AVX512 inline __m512 load16(const void* row, int64_t k) {
  if constexpr (dt == DType::F16)
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        static_cast<const __m256i*>(static_cast<const void*>(bytes(row) + 2 * k))));
  else
    return _mm512_loadu_ps(static_cast<const float*>(row) + k);
}

template <DType dt>
inline float element(const void* row, int64_t k) {
  if constexpr (dt == DType::F16) return f16_to_f32(load_u16(bytes(row) + 2 * k));
  return static_cast<const float*>(row)[k];
}

// out[r * C + c] = row r . token c for an R x C tile, one accumulator each:
// 16 lanes (lane l takes the columns 16i + l), hsum16, then the columns past
// the last whole 16 fused one by one, whatever R and C are.
template <DType dt, int R, int C>
TPLM_AVX512 void tile16(const void* const* rows, const float* const* xt, int64_t len, float* out) {
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= len; k += 16) {
    __m512 xv[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) xv[c] = _mm512_loadu_ps(xt[c] + k);
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512 wv = load16<dt>(rows[r], k);
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(wv, xv[c], acc[r][c]);
    }
  }
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    float s = hsum16_avx512(acc[r][c]);
    for (int64_t j = k; j < len; ++j) s = __builtin_fmaf(element<dt>(rows[r], j), xt[c][j], s);
    out[r * C + c] = s;
  }
}

// out[r] = row r . x for R rows.
template <DType dt, int R>
TPLM_AVX512 void dots(const void* const* rows, const float* x, int64_t len, float* out) {
  const float* xt[1] = {x};
  tile16<dt, R, 1>(rows, xt, len, out);
}

// kv_scan.hpp's row_dots.
template <DType dt, int R>
TPLM_AVX512 inline void row_dots(const void* const* rows, const float* x, int64_t len, float* out) {
  dots<dt, R>(rows, x, len, out);
}

#define TPLM_KV_TARGET TPLM_AVX512
#include "backend/cpu/kv_scan.hpp"  // NOLINT(build/include): the shared row loop
#undef TPLM_KV_TARGET

// o[i] = o[i] + a * row[i] for elements [i0, len), one at a time (two roundings).
template <DType dt>
TPLM_AVX512 void add_scaled_tail(float a, const void* row, float* o, int64_t i0, int64_t len) {
  for (int64_t i = i0; i < len; ++i) {  // intrinsics, so the compiler cannot fuse them
    const __m128 p = _mm_mul_ss(_mm_set_ss(a), _mm_set_ss(element<dt>(row, i)));
    o[i] = _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(o[i]), p));
  }
}

// Elements [i, i + 16S) of o over all n rows, o in S registers.
template <DType dt, int S>
TPLM_AVX512 void add_scaled_columns(const uint8_t* rows, int64_t stride, const float* a, int64_t n,
                                    float* o, int64_t i) {
  __m512 acc[S];
  TPLM_UNROLL
  for (int s = 0; s < S; ++s) acc[s] = _mm512_loadu_ps(o + i + 16 * s);
  for (int64_t p = 0; p < n; ++p) {
    const uint8_t* row = rows + p * stride;
    const __m512 va = _mm512_set1_ps(a[p]);
    TPLM_UNROLL
    for (int s = 0; s < S; ++s)
      acc[s] = _mm512_add_ps(acc[s], _mm512_mul_ps(va, load16<dt>(row, i + 16 * s)));
  }
  TPLM_UNROLL
  for (int s = 0; s < S; ++s) _mm512_storeu_ps(o + i + 16 * s, acc[s]);
}

template <DType dt>
TPLM_AVX512 void add_scaled_all(const uint8_t* rows, int64_t stride, const float* a, int64_t n,
                                float* o, int64_t len) {
  int64_t i = 0;
  for (; i + 64 <= len; i += 64) add_scaled_columns<dt, 4>(rows, stride, a, n, o, i);
  for (; i + 16 <= len; i += 16) add_scaled_columns<dt, 1>(rows, stride, a, n, o, i);
  if (i < len)
    for (int64_t p = 0; p < n; ++p) add_scaled_tail<dt>(a[p], rows + p * stride, o, i, len);
}

// R F16 weight rows, read in place, against the f32 token rows of x (token_tiles.hpp).
template <int R>
struct F16Tiles {
  static constexpr int kRows = R, kTokens = 6;
  const void* const* wrow;
  const float* x;
  int64_t cols;
  template <int C>
  TPLM_AVX512 void run(int64_t t0, float* out) const {
    const float* xt[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) xt[c] = x + (t0 + c) * cols;
    tile16<DType::F16, R, C>(wrow, xt, cols, out);
  }
};

#define TPLM_TILES_TARGET TPLM_AVX512
#include "backend/cpu/token_tiles.hpp"  // NOLINT(build/include): the shared token loop
#undef TPLM_TILES_TARGET

}  // namespace

TPLM_AVX512 float dot_f32_row_avx512(DType row_type, const void* row, const float* x, int64_t n) {
  const void* rows[1] = {row};
  float out;
  if (row_type == DType::F16)
    dots<DType::F16, 1>(rows, x, n, &out);
  else
    dots<DType::F32, 1>(rows, x, n, &out);
  return out;
}

TPLM_AVX512 void dot_f32_rows_avx512(DType row_type, const uint8_t* rows, int64_t stride,
                                     const float* x, int64_t n, float* out, int64_t len) {
  if (row_type == DType::F16) return dots_rows<DType::F16>(rows, stride, x, n, out, len);
  dots_rows<DType::F32>(rows, stride, x, n, out, len);
}

TPLM_AVX512 void add_scaled_rows_avx512(DType row_type, const uint8_t* rows, int64_t stride,
                                        const float* a, int64_t n, float* o, int64_t len) {
  if (row_type == DType::F16) return add_scaled_all<DType::F16>(rows, stride, a, n, o, len);
  add_scaled_all<DType::F32>(rows, stride, a, n, o, len);
}

TPLM_AVX512 void add_scaled_row_avx512(DType row_type, float a, const void* row, float* o,
                                       int64_t n) {
  add_scaled_rows_avx512(row_type, static_cast<const uint8_t*>(row), 0, &a, 1, o, n);
}

// 16 at a time, then the scalar loop for the rest. _mm512_max_ps(v, m) returns m where v is
// NaN, as std::fmax(m, v) does; a lane never holds NaN (it starts at -inf),
// and which zero a max of +0 and -0 keeps cannot change exp(p - max).
TPLM_AVX512 float scale_and_max_avx512(float* p, int64_t n, float scale) {
  const __m512 s = _mm512_set1_ps(scale);
  __m512 m = _mm512_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(p + i), s);
    _mm512_storeu_ps(p + i, v);
    m = _mm512_max_ps(v, m);
  }
  return std::fmax(_mm512_reduce_max_ps(m), scale_and_max_scalar(p + i, n - i, scale));
}

TPLM_AVX512 void divide_all_avx512(float* p, int64_t n, float d) {
  const __m512 v = _mm512_set1_ps(d);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(p + i, _mm512_div_ps(_mm512_loadu_ps(p + i), v));
  divide_all_scalar(p + i, n - i, d);
}

// F16 rows read in place for any T (each f16 converted exactly in a register,
// so T = 1 and a batch run the same per-output arithmetic): a batch in 4 x 6
// tiles; decode one row at a time, which streams from memory fastest
// (kernels_avx2.cpp), a 16-lane chain hiding the latency.
TPLM_AVX512 void matmul_rows_avx512(const float* x, int64_t T, const WeightView& w,
                                    const float* bias, float* y, int64_t r0, int64_t r1) {
  const auto row = [&](int64_t r) {
    return static_cast<const void*>(bytes(w.data) + 2 * r * w.cols);
  };
  if (T == 1) {  // one token: each row straight to its output (as qdot_driver.hpp's decode_rows)
    for (int64_t r = r0; r < r1; ++r) {
      const void* wrow[1] = {row(r)};
      float out;
      dots<DType::F16, 1>(wrow, x, w.cols, &out);
      y[r] = out + (bias ? bias[r] : 0.0f);
    }
    return;
  }
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const void* wrow[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
    all_tokens(F16Tiles<4>{wrow, x, w.cols}, T, w.rows, bias, y, r);
  }
  for (; r < r1; ++r) {
    const void* wrow[1] = {row(r)};
    all_tokens(F16Tiles<1>{wrow, x, w.cols}, T, w.rows, bias, y, r);
  }
}

}  // namespace tplm::cpu
#endif  // __x86_64__
