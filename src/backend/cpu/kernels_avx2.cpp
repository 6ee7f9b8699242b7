// AVX2 + FMA + F16C kernels, compiled for those features function by function
// (the rest of the program stays baseline x86-64) and chosen at run time.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/kernels.hpp"
#include "format/half.hpp"

#define TPLM_AVX2 __attribute__((target("avx2,fma,f16c")))
// Loops over the tile (R rows x C tokens x S vectors) must be unrolled so that
// the accumulators live in registers; GCC -O2 does not do it on its own.
#define TPLM_UNROLL _Pragma("GCC unroll 16")

namespace tplm::cpu {
namespace {

inline const uint8_t* bytes(const void* p) {
  return static_cast<const uint8_t*>(p);
}
inline const __m128i* m128(const uint8_t* p) {
  return static_cast<const __m128i*>(static_cast<const void*>(p));
}

// Loader<dt>::load(row, k, w): elements k .. k + kStep - 1 of a row as kStep / 8
// vectors of f32 (k a multiple of kStep). Quantized loaders take a whole block.
template <DType dt>
struct Loader;

template <>
struct Loader<DType::F32> {
  static constexpr int kStep = 8;
  TPLM_AVX2 static void load(const void* row, int64_t k, __m256* w) {
    w[0] = _mm256_loadu_ps(static_cast<const float*>(row) + k);
  }
  static float at(const void* row, int64_t k) { return static_cast<const float*>(row)[k]; }
};

template <>
struct Loader<DType::F16> {
  static constexpr int kStep = 8;
  TPLM_AVX2 static void load(const void* row, int64_t k, __m256* w) {
    w[0] = _mm256_cvtph_ps(_mm_loadu_si128(m128(bytes(row) + 2 * k)));
  }
  static float at(const void* row, int64_t k) { return f16_to_f32(load_u16(bytes(row) + 2 * k)); }
};

// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)): the order kernels.hpp promises.
TPLM_AVX2 inline float hsum(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// out[r * C + c] = dot(W row r, x token c) for an R x C tile; one accumulator
// per output, so the tile shape never changes an output's arithmetic.
template <DType dt, int R, int C>
TPLM_AVX2 void tile(const void* const* wrow, const float* const* xt, int64_t cols, float* out) {
  using L = Loader<dt>;
  constexpr int S = L::kStep / 8;
  __m256 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + L::kStep <= cols; k += L::kStep) {
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      __m256 w[S];
      L::load(wrow[r], k, w);
      TPLM_UNROLL
      for (int s = 0; s < S; ++s) TPLM_UNROLL
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm256_fmadd_ps(w[s], _mm256_loadu_ps(xt[c] + k + 8 * s), acc[r][c]);
    }
  }
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    float s = hsum(acc[r][c]);
    for (int64_t j = k; j < cols; ++j) s = __builtin_fmaf(L::at(wrow[r], j), xt[c][j], s);
    out[r * C + c] = s;
  }
}

// Tokens [0, T) against R rows whose starts are wrow; C tokens at a time.
template <DType dt, int R>
TPLM_AVX2 void rows_times_tokens(const void* const* wrow, const float* x, int64_t T, int64_t cols,
                                 int64_t out_stride, const float* bias, float* y) {
  float out[R * 3];
  int64_t t = 0;
  const auto store = [&](int C) {
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) TPLM_UNROLL
    for (int c = 0; c < C; ++c)
      y[(t + c) * out_stride + r] = out[r * C + c] + (bias ? bias[r] : 0.0f);
  };
  if constexpr (dt == DType::F32 && R <= 4) {  // R x 3 accumulators fit in 16 registers
    for (; t + 3 <= T; t += 3) {
      const float* xt[3] = {x + t * cols, x + (t + 1) * cols, x + (t + 2) * cols};
      tile<dt, R, 3>(wrow, xt, cols, out);
      store(3);
    }
  }
  for (; t < T; ++t) {
    const float* xt[1] = {x + t * cols};
    tile<dt, R, 1>(wrow, xt, cols, out);
    store(1);
  }
}

// Rows [r0, r1) read in their file dtype: 4 rows at a time for a batch, then single rows.
template <DType dt>
TPLM_AVX2 void rows_direct(const float* x, int64_t T, const WeightView& w, const float* bias,
                           float* y, int64_t r0, int64_t r1) {
  const int64_t rb = row_bytes(w);
  const auto row = [&](int64_t r) { return static_cast<const void*>(bytes(w.data) + r * rb); };
  int64_t r = r0;
  // One token (decode) streams one row at a time: from memory, several rows
  // at once measured slower (32768 x 2048, 2 threads, F16: 1 row 4.7 ms,
  // 2 rows 7.0, 4 rows 6.0, 8 rows 5.1), as for the quantized kernels.
  for (; T > 1 && r + 4 <= r1; r += 4) {
    const void* wrow[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
    rows_times_tokens<dt, 4>(wrow, x, T, w.cols, w.rows, bias ? bias + r : nullptr, y + r);
  }
  for (; r < r1; ++r) {
    const void* wrow[1] = {row(r)};
    rows_times_tokens<dt, 1>(wrow, x, T, w.cols, w.rows, bias ? bias + r : nullptr, y + r);
  }
}

// Row r of w as f32 with the vector loaders (the same exact values as dequantize_row).
template <DType dt>
TPLM_AVX2 void dequantize_row_avx2(const WeightView& w, int64_t r, float* out) {
  using L = Loader<dt>;
  const void* row = bytes(w.data) + r * row_bytes(w);
  int64_t k = 0;
  for (; k + L::kStep <= w.cols; k += L::kStep) {
    __m256 v[L::kStep / 8];
    L::load(row, k, v);
    TPLM_UNROLL
    for (int s = 0; s < L::kStep / 8; ++s) _mm256_storeu_ps(out + k + 8 * s, v[s]);
  }
  for (; k < w.cols; ++k) out[k] = L::at(row, k);
}

// T > 1 with a converted dtype: dequantize 4 rows to f32 once (exact), then run
// the f32 tiles over every token; each weight byte is decoded once per call.
template <DType dt>
TPLM_AVX2 void rows_dequantized(const float* x, int64_t T, const WeightView& w, const float* bias,
                                float* y, int64_t r0, int64_t r1) {
  thread_local std::vector<float> buf;
  buf.resize(static_cast<size_t>(4 * w.cols));
  for (int64_t r = r0; r < r1; r += 4) {
    const int64_t n = std::min<int64_t>(4, r1 - r);
    const void* wrow[4];
    for (int64_t i = 0; i < n; ++i) {
      dequantize_row_avx2<dt>(w, r + i, buf.data() + i * w.cols);
      wrow[i] = buf.data() + i * w.cols;
    }
    // outputs go to y[:, r .. r + n) with the full row stride w.rows
    const float* b = bias ? bias + r : nullptr;
    if (n == 4) {
      rows_times_tokens<DType::F32, 4>(wrow, x, T, w.cols, w.rows, b, y + r);
    } else {
      for (int64_t i = 0; i < n; ++i)
        rows_times_tokens<DType::F32, 1>(wrow + i, x, T, w.cols, w.rows, b ? b + i : nullptr,
                                         y + r + i);
    }
  }
}

// T == 1 reads the file dtype directly; T > 1 dequantizes rows first.
template <DType dt>
TPLM_AVX2 void rows_any(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                        int64_t r0, int64_t r1) {
  if (dt != DType::F32 && T > 1) return rows_dequantized<dt>(x, T, w, bias, y, r0, r1);
  rows_direct<dt>(x, T, w, bias, y, r0, r1);
}

}  // namespace

TPLM_AVX2 void matmul_rows_avx2(const float* x, int64_t T, const WeightView& w, const float* bias,
                                float* y, int64_t r0, int64_t r1) {
  switch (w.dtype) {
    case DType::F32:
      return rows_any<DType::F32>(x, T, w, bias, y, r0, r1);
    case DType::F16:
      return rows_any<DType::F16>(x, T, w, bias, y, r0, r1);
    default:  // BF16 and the quantized types have their own kernels (bf16_dot.hpp, qdot.hpp)
      return matmul_rows_scalar(x, T, w, bias, y, r0, r1);
  }
}

TPLM_AVX2 float dot_f32_row_avx2(DType row_type, const void* row, const float* x, int64_t n) {
  const void* wrow[1] = {row};
  const float* xt[1] = {x};
  float out;
  if (row_type == DType::F16)
    tile<DType::F16, 1, 1>(wrow, xt, n, &out);
  else
    tile<DType::F32, 1, 1>(wrow, xt, n, &out);
  return out;
}

namespace {

// kv_scan.hpp's row_dots: tile() keeps one accumulator per row.
template <DType dt, int R>
TPLM_AVX2 inline void row_dots(const void* const* rows, const float* x, int64_t len, float* out) {
  const float* xt[1] = {x};
  tile<dt, R, 1>(rows, xt, len, out);
}

#define TPLM_KV_TARGET TPLM_AVX2
#include "backend/cpu/kv_scan.hpp"  // NOLINT(build/include): the shared row loop
#undef TPLM_KV_TARGET

template <DType dt>
TPLM_AVX2 void add_scaled(float a, const void* row, float* o, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v;
    Loader<dt>::load(row, i, &v);
    _mm256_storeu_ps(o + i, _mm256_add_ps(_mm256_loadu_ps(o + i), _mm256_mul_ps(va, v)));
  }
  for (; i < n; ++i) {  // intrinsics, so the compiler cannot fuse the two roundings
    const __m128 p = _mm_mul_ss(_mm_set_ss(a), _mm_set_ss(Loader<dt>::at(row, i)));
    o[i] = _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(o[i]), p));
  }
}

// Elements [i, i + 8S) of o over all n rows, o in S registers.
template <DType dt, int S>
TPLM_AVX2 void add_scaled_columns(const uint8_t* rows, int64_t stride, const float* a, int64_t n,
                                  float* o, int64_t i) {
  __m256 acc[S];
  TPLM_UNROLL
  for (int s = 0; s < S; ++s) acc[s] = _mm256_loadu_ps(o + i + 8 * s);
  for (int64_t p = 0; p < n; ++p) {
    const uint8_t* row = rows + p * stride;
    const __m256 va = _mm256_set1_ps(a[p]);
    TPLM_UNROLL
    for (int s = 0; s < S; ++s) {
      __m256 v;
      Loader<dt>::load(row, i + 8 * s, &v);
      acc[s] = _mm256_add_ps(acc[s], _mm256_mul_ps(va, v));
    }
  }
  TPLM_UNROLL
  for (int s = 0; s < S; ++s) _mm256_storeu_ps(o + i + 8 * s, acc[s]);
}

template <DType dt>
TPLM_AVX2 void add_scaled_all(const uint8_t* rows, int64_t stride, const float* a, int64_t n,
                              float* o, int64_t len) {
  int64_t i = 0;
  for (; i + 64 <= len; i += 64) add_scaled_columns<dt, 8>(rows, stride, a, n, o, i);
  for (; i + 8 <= len; i += 8) add_scaled_columns<dt, 1>(rows, stride, a, n, o, i);
  if (i < len)
    for (int64_t p = 0; p < n; ++p)
      add_scaled<dt>(a[p],
                     static_cast<const void*>(rows + p * stride + (dt == DType::F32 ? 4 : 2) * i),
                     o + i, len - i);
}

}  // namespace

TPLM_AVX2 void dot_f32_rows_avx2(DType row_type, const uint8_t* rows, int64_t stride,
                                 const float* x, int64_t n, float* out, int64_t len) {
  if (row_type == DType::F16) return dots_rows<DType::F16>(rows, stride, x, n, out, len);
  dots_rows<DType::F32>(rows, stride, x, n, out, len);
}

// vcvtps2ph rounds to nearest even, overflows to inf and makes subnormals as
// f32_to_f16 does; only a NaN keeps payload bits there, so NaN lanes are
// replaced by its quiet NaN (sign | 0x7e00).
TPLM_AVX2 void f32_to_f16_row_avx2(const float* x, int64_t n, uint8_t* out) {
  int64_t i = 0;
  const __m128i quiet = _mm_set1_epi16(0x7e00), sign = _mm_set1_epi16(static_cast<short>(0x8000));
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    const __m256i nan32 = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    const __m128i nan16 =
        _mm_packs_epi32(_mm256_castsi256_si128(nan32), _mm256_extracti128_si256(nan32, 1));
    h = _mm_blendv_epi8(h, _mm_or_si128(_mm_and_si128(h, sign), quiet), nan16);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), h);
  }
  for (; i < n; ++i) {
    const uint16_t v = f32_to_f16(x[i]);
    std::memcpy(out + 2 * i, &v, sizeof v);
  }
}

TPLM_AVX2 void add_scaled_rows_avx2(DType row_type, const uint8_t* rows, int64_t stride,
                                    const float* a, int64_t n, float* o, int64_t len) {
  if (row_type == DType::F16) return add_scaled_all<DType::F16>(rows, stride, a, n, o, len);
  add_scaled_all<DType::F32>(rows, stride, a, n, o, len);
}

TPLM_AVX2 void add_scaled_row_avx2(DType row_type, float a, const void* row, float* o, int64_t n) {
  if (row_type == DType::F16) return add_scaled<DType::F16>(a, row, o, n);
  add_scaled<DType::F32>(a, row, o, n);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
