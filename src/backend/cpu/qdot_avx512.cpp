// The integer kernels with AVX-512 VNNI (vpdpbusd: 64 u8 x s8 products summed
// in groups of 4 into 16 int32 lanes per instruction). Lane l of step s (64
// elements) holds elements 64s + 4l .. 64s + 4l + 3, as in the scalar
// reference (qdot.cpp), and every float operation is the reference's, so the
// results are its bits. A tile of R rows x C tokens decodes each weight step
// once for C tokens (the prefill GEMM); the tile shape never changes an
// output's arithmetic.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*()
// and then warn that the undefined value may be used (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/qdot.hpp"
#include "backend/cpu/qdot_x86.hpp"
#include "format/half.hpp"

#define TPLM_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))
#define TPLM_UNROLL _Pragma("GCC unroll 16")

namespace tplm::cpu {
namespace {

inline const void* vp(const void* p) {
  return static_cast<const void*>(p);
}

TPLM_AVX512 inline __m512i load512(const void* p) {
  return _mm512_loadu_si512(p);
}
TPLM_AVX512 inline __m256i load256(const uint8_t* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(vp(p)));
}
TPLM_AVX512 inline __m128i load128(const uint8_t* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(vp(p)));
}

// A 16-lane float vector: lanes 0-7 = a, 8-15 = b.
TPLM_AVX512 inline __m512 pair(float a, float b) {
  return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

TPLM_AVX512 inline float reduce16(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  return hsum16(lanes);
}

// ---------------------------------------------------------------- Q8_0, Q4_0

// Blocks b and b + 1 as 64 unsigned values (element = u - offset).
template <DType dt>
TPLM_AVX512 inline __m512i load_pair(const uint8_t* row, int64_t b) {
  if constexpr (dt == DType::Q8_0) {
    const uint8_t* blk = row + 34 * b;
    const __m512i z =
        _mm512_inserti64x4(_mm512_castsi256_si512(load256(blk + 2)), load256(blk + 36), 1);
    return _mm512_xor_si512(z, _mm512_set1_epi8(static_cast<char>(0x80)));
  } else {
    const uint8_t* blk = row + 18 * b;
    const __m256i ab = _mm256_set_m128i(load128(blk + 20), load128(blk + 2));
    __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(ab), _mm256_srli_epi16(ab, 4), 1);
    t = _mm512_and_si512(t, _mm512_set1_epi8(0x0f));
    return _mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(3, 1, 2, 0));
  }
}

// Block b alone in the low 32 bytes (the odd last block of a row).
template <DType dt>
TPLM_AVX512 inline __m512i load_one(const uint8_t* row, int64_t b) {
  if constexpr (dt == DType::Q8_0) {
    const __m256i v =
        _mm256_xor_si256(load256(row + 34 * b + 2), _mm256_set1_epi8(static_cast<char>(0x80)));
    return _mm512_zextsi256_si512(v);
  } else {
    const __m128i a = load128(row + 18 * b + 2);
    const __m256i v =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(a, 4), a), _mm256_set1_epi8(0x0f));
    return _mm512_zextsi256_si512(v);
  }
}

// f16 to f32 with F16C (exact, like format/half.hpp's f16_to_f32).
TPLM_AVX512 inline float f16(const uint8_t* p) {
  return _cvtsh_ss(load_u16(p));
}

template <DType dt>
TPLM_AVX512 inline float block_d(const uint8_t* row, int64_t b) {
  return f16(row + (dt == DType::Q8_0 ? 34 : 18) * b);
}

// ---------------------------------------------------------------- K-quants

// Step s (elements 64s .. 64s + 63) of a super-block as 64 unsigned values.
template <DType dt>
TPLM_AVX512 inline __m512i load_k_step(const uint8_t* blk, int s) {
  const __m512i nib = _mm512_set1_epi8(0x0f);
  if constexpr (dt == DType::Q6_K) {
    const int h = s / 2, odd = s % 2;
    __m512i lo = load512(blk + 64 * h);
    if (odd) lo = _mm512_srli_epi16(lo, 4);
    lo = _mm512_and_si512(lo, nib);
    const __m512i qh = _mm512_broadcast_i64x4(load256(blk + 128 + 32 * h));
    const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16(static_cast<short>(4 * odd)),
                                           _mm256_set1_epi16(static_cast<short>(4 * odd + 2)), 1);
    __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(qh, cnt), _mm512_set1_epi8(3));
    hi = _mm512_slli_epi16(hi, 4);
    return _mm512_or_si512(lo, hi);
  } else {
    const uint8_t* qs = blk + (dt == DType::Q5_K ? 48 : 16);
    const __m256i q = load256(qs + 32 * s);
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    v = _mm512_and_si512(v, nib);
    if constexpr (dt == DType::Q5_K) {
      const __m512i qh = _mm512_broadcast_i64x4(load256(blk + 16));
      const __m512i sel =
          _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * s))),
                             _mm256_set1_epi8(static_cast<char>(1 << (2 * s + 1))), 1);
      const __mmask64 m = _mm512_test_epi8_mask(qh, sel);
      v = _mm512_or_si512(v, _mm512_maskz_mov_epi8(m, _mm512_set1_epi8(16)));
    }
    return v;
  }
}

// Per row and super-block: the scales as int32 lanes (base), d, dmin, mins.
struct KRow {
  __m512i base;
  float d, dmin;
  int32_t m[8];
};

template <DType dt>
TPLM_AVX512 inline void k_row(const uint8_t* blk, KRow& k) {
  if constexpr (dt == DType::Q6_K) {
    k.base = _mm512_cvtepi8_epi32(load128(blk + 192));
    k.d = f16(blk + 208);
    k.dmin = 0.0f;
  } else {
    alignas(32) int32_t sc[8];
    unpack_k_scales(blk + 4, sc, k.m);
    k.base = _mm512_zextsi256_si512(
        _mm256_load_si256(static_cast<const __m256i*>(static_cast<const void*>(sc))));
    k.d = f16(blk);
    k.dmin = f16(blk + 2);
  }
}

// The scale of each lane in step s: Q6_K lane l -> group 4s + l / 4, else 2s + l / 8.
template <DType dt>
TPLM_AVX512 inline __m512i k_scale_index(int s) {
  if constexpr (dt == DType::Q6_K)
    return _mm512_setr_epi32(4 * s, 4 * s, 4 * s, 4 * s, 4 * s + 1, 4 * s + 1, 4 * s + 1, 4 * s + 1,
                             4 * s + 2, 4 * s + 2, 4 * s + 2, 4 * s + 2, 4 * s + 3, 4 * s + 3,
                             4 * s + 3, 4 * s + 3);
  else
    return _mm512_inserti64x4(_mm512_set1_epi32(2 * s), _mm256_set1_epi32(2 * s + 1), 1);
}

// ---------------------------------------------------------------- packed rows

// n rows unpacked with the decoders above (PackedRows in qdot.hpp).
template <DType dt>
TPLM_AVX512 void pack_rows(const uint8_t* const* wrow, int64_t n, PackedRows& p) {
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* u = p.u.data() + i * p.cols;
    if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
      const int64_t nb = p.cols / 32;
      int64_t b = 0;
      for (; b + 2 <= nb; b += 2) _mm512_storeu_si512(u + 32 * b, load_pair<dt>(wrow[i], b));
      if (b < nb)
        _mm256_storeu_si256(static_cast<__m256i*>(static_cast<void*>(u + 32 * b)),
                            _mm512_castsi512_si256(load_one<dt>(wrow[i], b)));
      for (b = 0; b < nb; ++b) pack_scales(p, i, b, block_d<dt>(wrow[i], b));
    } else {
      constexpr int64_t kBytes = dt == DType::Q4_K ? 144 : dt == DType::Q5_K ? 176 : 210;
      for (int64_t B = 0; B < p.cols / 256; ++B) {
        const uint8_t* blk = wrow[i] + B * kBytes;
        KRow k;
        k_row<dt>(blk, k);
        int32_t* lsc = p.lsc.data() + i * (p.cols / 4) + 64 * B;
        for (int s = 0; s < 4; ++s) {
          _mm512_storeu_si512(u + 256 * B + 64 * s, load_k_step<dt>(blk, s));
          _mm512_storeu_si512(lsc + 16 * s, _mm512_permutexvar_epi32(k_scale_index<dt>(s), k.base));
        }
        pack_scales(p, i, B, k.d, k.dmin, k.m);
      }
    }
  }
}

// ---------------------------------------------------------------- row sources

// Where a tile's R weight rows come from: the weight's own bytes, each block
// decoded as it is read (decode: T = 1 streams the weights once), or rows
// unpacked once per call (PackedRows: a batch of tokens). Both give a tile the
// same integers and scales, so its outputs have the same bits.
template <DType dt>
struct RawRows32 {
  const uint8_t* const* row;
  TPLM_AVX512 void prefetch(int r, int64_t b) const {
    constexpr int64_t kBytes = dt == DType::Q8_0 ? 34 : 18;
    _mm_prefetch(reinterpret_cast<const char*>(row[r] + (b + 16) * kBytes), _MM_HINT_T0);
    if constexpr (dt == DType::Q8_0)
      _mm_prefetch(reinterpret_cast<const char*>(row[r] + (b + 16) * kBytes + 64), _MM_HINT_T0);
  }
  // Blocks b and b + 1: 64 values, and their d in lanes 0-7 and 8-15.
  TPLM_AVX512 __m512i values(int r, int64_t b) const { return load_pair<dt>(row[r], b); }
  TPLM_AVX512 __m512 scales(int r, int64_t b) const {
    return pair(block_d<dt>(row[r], b), block_d<dt>(row[r], b + 1));
  }
  // Block b alone (the odd last one of a row).
  TPLM_AVX512 __m512i last_values(int r, int64_t b) const { return load_one<dt>(row[r], b); }
  TPLM_AVX512 float last_scale(int r, int64_t b) const { return block_d<dt>(row[r], b); }
};

// Each row's pointers taken once, so the tile keeps them in registers.
template <int R>
struct PackedRows32 {
  const uint8_t* u[R];
  const float* d[R];
  PackedRows32(const PackedRows& p, int64_t i) {
    for (int r = 0; r < R; ++r) u[r] = p.urow(i + r), d[r] = p.drow(i + r);
  }
  TPLM_AVX512 void prefetch(int, int64_t) const {}
  TPLM_AVX512 __m512i values(int r, int64_t b) const { return load512(u[r] + 32 * b); }
  TPLM_AVX512 __m512 scales(int r, int64_t b) const {
    return _mm512_loadu_ps(d[r] + 8 * b);  // d_b x 8, d_b+1 x 8
  }
  TPLM_AVX512 __m512i last_values(int r, int64_t b) const {
    return _mm512_zextsi256_si512(load256(u[r] + 32 * b));
  }
  TPLM_AVX512 float last_scale(int r, int64_t b) const { return d[r][8 * b]; }
};

template <DType dt, int R>
struct RawRowsK {
  static constexpr int64_t kBytes = dt == DType::Q4_K ? 144 : dt == DType::Q5_K ? 176 : 210;
  const uint8_t* const* row;
  const uint8_t* blk[R];
  KRow k[R];
  // Super-block B of row r is next: its scales, and a prefetch 4 ahead
  // (decode streams R rows; harmless past the end).
  TPLM_AVX512 void start(int r, int64_t B) {
    blk[r] = row[r] + B * kBytes;
    TPLM_UNROLL
    for (int64_t off = 0; off < kBytes; off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(blk[r] + 4 * kBytes + off), _MM_HINT_T0);
    k_row<dt>(blk[r], k[r]);
  }
  // Step s: 64 values and the integer scale of each lane.
  TPLM_AVX512 __m512i values(int r, int64_t, int s) const { return load_k_step<dt>(blk[r], s); }
  TPLM_AVX512 __m512i scales(int r, int64_t, int s) const {
    return _mm512_permutexvar_epi32(k_scale_index<dt>(s), k[r].base);
  }
  TPLM_AVX512 float d(int r, int64_t) const { return k[r].d; }
  TPLM_AVX512 float dmin(int r, int64_t) const { return k[r].dmin; }
  TPLM_AVX512 const int32_t* mins(int r, int64_t) const { return k[r].m; }
};

template <int R>
struct PackedRowsK {
  const PackedRows* p;
  int64_t i;
  TPLM_AVX512 void start(int, int64_t) {}
  TPLM_AVX512 __m512i values(int r, int64_t B, int s) const {
    return load512(p->urow(i + r) + 256 * B + 64 * s);
  }
  TPLM_AVX512 __m512i scales(int r, int64_t B, int s) const {
    return load512(p->lscrow(i + r) + 64 * B + 16 * s);
  }
  TPLM_AVX512 float d(int r, int64_t B) const { return p->drow(i + r)[8 * B]; }
  TPLM_AVX512 float dmin(int r, int64_t B) const { return p->dminrow(i + r)[B]; }
  TPLM_AVX512 const int32_t* mins(int r, int64_t B) const { return p->mrow(i + r) + 8 * B; }
};

// ---------------------------------------------------------------- tiles

// Q8_0 and Q4_0 (their offsets are in the activations' init): R rows of src x
// C tokens from t0.
template <class Src, int R, int C>
TPLM_AVX512 void tile32(const Src src, const QuantActs& a, int64_t t0, float* out) {
  const int64_t nb = a.cols / 32;
  const int8_t* xq[C];
  const int32_t* xi[C];
  const float* dx[C];
  const float* dx8[C];
  TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    xq[c] = a.qrow(t0 + c);
    xi[c] = a.initrow(t0 + c);
    dx[c] = a.drow(t0 + c);
    dx8[c] = a.d8row(t0 + c);
  }
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m512i x[C], init[C];
    __m512 sx[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      x[c] = load512(xq[c] + 32 * b);
      init[c] = load512(xi[c] + 8 * b);
      sx[c] = _mm512_loadu_ps(dx8[c] + 8 * b);  // pair(dx[c][b], dx[c][b + 1])
    }
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      src.prefetch(r, b);
      const __m512i w = src.values(r, b);
      const __m512 sw = src.scales(r, b);
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m512i L = _mm512_dpbusd_epi32(init[c], w, x[c]);
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(L), _mm512_mul_ps(sw, sx[c]), acc[r][c]);
      }
    }
  }
  if (b < nb) {  // one block left: lanes 0-7 only
    const __mmask16 lo = 0x00ff;
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512i w = src.last_values(r, b);
      const float sw = src.last_scale(r, b);
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m512i x = _mm512_zextsi256_si512(
            load256(static_cast<const uint8_t*>(static_cast<const void*>(xq[c] + 32 * b))));
        const __m512i init = _mm512_maskz_loadu_epi32(lo, xi[c] + 8 * b);
        const __m512i L = _mm512_dpbusd_epi32(init, w, x);
        acc[r][c] = _mm512_mask3_fmadd_ps(_mm512_cvtepi32_ps(L), _mm512_set1_ps(sw * dx[c][b]),
                                          acc[r][c], lo);
      }
    }
  }
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) out[r * C + c] = reduce16(acc[r][c]);
}

// Q4_K, Q5_K, Q6_K: R rows of src x C tokens from t0.
template <DType dt, class Src, int R, int C>
TPLM_AVX512 void tile_k(Src src, const QuantActs& a, int64_t t0, float* out) {
  constexpr bool kMins = dt != DType::Q6_K;
  const int64_t nB = a.cols / 256;
  __m512 acc[R][C];
  float accm[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps(), accm[r][c] = 0.0f;
  for (int64_t B = 0; B < nB; ++B) {
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) src.start(r, B);
    __m512i A[R][C];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) TPLM_UNROLL
    for (int c = 0; c < C; ++c) A[r][c] = _mm512_setzero_si512();
    for (int s = 0; s < 4; ++s) {
      __m512i x[C], init[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        x[c] = load512(a.qrow(t0 + c) + 256 * B + 64 * s);
        if constexpr (dt == DType::Q6_K)
          init[c] = load512(a.initrow(t0 + c) + 64 * B + 16 * s);
        else
          init[c] = _mm512_setzero_si512();
      }
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i w = src.values(r, B, s);
        const __m512i sc = src.scales(r, B, s);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m512i L = _mm512_dpbusd_epi32(init[c], w, x[c]);
          A[r][c] = _mm512_add_epi32(A[r][c], _mm512_mullo_epi32(L, sc));
        }
      }
    }
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      const float dx = a.drow(t0 + c)[B];
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(A[r][c]), _mm512_set1_ps(src.d(r, B) * dx),
                                    acc[r][c]);
        if constexpr (kMins) {
          const int32_t msum = dot8(src.mins(r, B), a.bsumrow(t0 + c) + 8 * B);
          accm[r][c] = std::fma(static_cast<float>(msum), src.dmin(r, B) * dx, accm[r][c]);
        }
      }
    }
  }
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    const float s = reduce16(acc[r][c]);
    out[r * C + c] = kMins ? s - accm[r][c] : s;
  }
}

// ---------------------------------------------------------------- driver

// R rows from the weight's bytes (wrow) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX512 inline void tile(const uint8_t* const* wrow, const QuantActs& a, int64_t t0,
                             float* out) {
  if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
    tile32<RawRows32<dt>, R, C>(RawRows32<dt>{wrow}, a, t0, out);
  } else {
    tile_k<dt, RawRowsK<dt, R>, R, C>(RawRowsK<dt, R>{wrow, {}, {}}, a, t0, out);
  }
}

// Packed rows [i, i + R) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX512 inline void ptile(const PackedRows& p, int64_t i, const QuantActs& a, int64_t t0,
                              float* out) {
  if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
    tile32<PackedRows32<R>, R, C>(PackedRows32<R>(p, i), a, t0, out);
  } else {
    tile_k<dt, PackedRowsK<R>, R, C>(PackedRowsK<R>{&p, i}, a, t0, out);
  }
}

// Rows [r, r + R) x tokens [t0, t1), C tokens at a time, then one at a time.
constexpr int kTileRows = 4, kTileTokensQ32 = 3, kTileTokensK = 2;
// Q6_K's tile also holds each token's init vector: 2 tokens measured faster.
constexpr int kPackRows = 4, kPackTokensQ32 = 4, kPackTokensK = 4, kPackTokensQ6K = 2;
constexpr int kPackMinTokens = 4;
#define TPLM_QDOT_TARGET TPLM_AVX512
#include "backend/cpu/qdot_driver.hpp"  // NOLINT(build/include): the shared loops
#undef TPLM_QDOT_TARGET

}  // namespace

void qmatmul_rows_avx512(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                         int64_t r0, int64_t r1) {
  qmatmul_rows_level(a, w, bias, y, r0, r1);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
