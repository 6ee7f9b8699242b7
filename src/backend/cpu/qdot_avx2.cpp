// The integer kernels with AVX2: maddubs (u8 x s8 pairs to int16, never
// saturating for these ranges) then madd with ones (pairs of int16 to int32)
// give the same int32 lanes as vpdpbusd. The 16 lanes of a step are two ymm
// halves (lanes 0-7, 8-15); every float operation is the scalar reference's
// (qdot.cpp), so the results are its bits.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/qdot.hpp"
#include "format/half.hpp"

#define TPLM_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TPLM_UNROLL _Pragma("GCC unroll 16")

namespace tplm::cpu {
namespace {

inline const void* vp(const void* p) {
  return p;
}
TPLM_AVX2 inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(vp(p)));
}
TPLM_AVX2 inline __m128i load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(vp(p)));
}

// 8 int32 lanes: sums of 4 consecutive u * x (u unsigned, x signed).
TPLM_AVX2 inline __m256i dot4(__m256i u, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

struct Half {
  __m256 lo, hi;
};

TPLM_AVX2 inline float reduce16(const Half& h) {
  alignas(32) float lanes[16];
  _mm256_store_ps(lanes, h.lo);
  _mm256_store_ps(lanes + 8, h.hi);
  return hsum16(lanes);
}

// ---------------------------------------------------------------- Q8_0, Q4_0

// The int32 lanes of a block (w as its source gives it: Q8_0 signed, Q4_0
// unsigned) against its 32 activations x: exact sums of 4 products; Q4_0's
// offset term is added per block (QuantActs::iblk). Q8_0 multiplies |w| by x
// with w's sign, as u8 x s8 pairs of up to 255 x 127 would saturate
// maddubs' int16, so its lanes are sums of (u - 128) * x already.
template <DType dt>
TPLM_AVX2 inline __m256i block_lanes(__m256i w, __m256i x) {
  if constexpr (dt == DType::Q8_0)
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)),
                             _mm256_set1_epi16(1));
  else
    return dot4(w, x);
}

// Lane k = the sum of v[k]'s 8 lanes.
TPLM_AVX2 inline __m256i sum_each(const __m256i* v) {
  const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                          _mm256_permute2x128_si256(a, b, 0x31));
}

// f16 to f32 with F16C (exact, like format/half.hpp's f16_to_f32).
TPLM_AVX2 inline float f16(const uint8_t* p) {
  return _cvtsh_ss(load_u16(p));
}

template <DType dt>
TPLM_AVX2 inline float block_d(const uint8_t* row, int64_t b) {
  return f16(row + (dt == DType::Q8_0 ? 34 : 18) * b);
}

// ---------------------------------------------------------------- K-quants

// Step s of a super-block: the unsigned values of lanes 0-7 (lo) and 8-15 (hi).
template <DType dt>
TPLM_AVX2 inline void load_k_step(const uint8_t* blk, int s, __m256i& lo, __m256i& hi) {
  const __m256i nib = _mm256_set1_epi8(0x0f);
  if constexpr (dt == DType::Q6_K) {
    const int h = s / 2, sh = 4 * (s % 2);
    const __m128i n = _mm_cvtsi32_si128(sh);
    lo = _mm256_and_si256(_mm256_srl_epi16(load256(blk + 64 * h), n), nib);
    hi = _mm256_and_si256(_mm256_srl_epi16(load256(blk + 64 * h + 32), n), nib);
    const __m256i qh = load256(blk + 128 + 32 * h);
    const __m256i three = _mm256_set1_epi8(3);
    const __m256i hlo = _mm256_and_si256(_mm256_srl_epi16(qh, n), three);
    const __m256i hhi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(sh + 2)), three);
    lo = _mm256_or_si256(lo, _mm256_slli_epi16(hlo, 4));
    hi = _mm256_or_si256(hi, _mm256_slli_epi16(hhi, 4));
  } else {
    const uint8_t* qs = blk + (dt == DType::Q5_K ? 48 : 16);
    const __m256i q = load256(qs + 32 * s);
    lo = _mm256_and_si256(q, nib);
    hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
    if constexpr (dt == DType::Q5_K) {
      const __m256i qh = load256(blk + 16);
      const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * s)));
      const __m256i b1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * s + 1)));
      const __m256i sixteen = _mm256_set1_epi8(16);
      lo = _mm256_or_si256(
          lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), sixteen));
      hi = _mm256_or_si256(
          hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), sixteen));
    }
  }
}

// A super-block's sub-block scales (Q6_K 16, else 8), mins (Q4_K, Q5_K), d, dmin.
struct KRow {
  int32_t sc[16];
  int32_t m[8];
  float d, dmin;
};

template <DType dt>
TPLM_AVX2 inline void k_row(const uint8_t* blk, KRow& k) {
  if constexpr (dt == DType::Q6_K) {
    _mm256_storeu_si256(
        static_cast<__m256i*>(static_cast<void*>(k.sc)),
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(static_cast<const __m128i*>(vp(blk + 192)))));
    _mm256_storeu_si256(
        static_cast<__m256i*>(static_cast<void*>(k.sc + 8)),
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(static_cast<const __m128i*>(vp(blk + 200)))));
    k.d = f16(blk + 208);
    k.dmin = 0.0f;
  } else {
    unpack_k_scales(blk + 4, k.sc, k.m);
    k.d = f16(blk);
    k.dmin = f16(blk + 2);
  }
}

// Sub-blocks 4i .. 4i + 3 of 16 elements each, from L[i] (lanes 0-3: sub-block
// 2i, 4-7: 2i + 1, for L[0 .. 3]): lane j of the result is all of sub-block j.
TPLM_AVX2 inline __m256i sum_quads(const __m256i* L) {
  // [0 2 4 6 | 1 3 5 7] after two horizontal adds
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(L[0], L[1]), _mm256_hadd_epi32(L[2], L[3]));
  return _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// ---------------------------------------------------------------- packed rows

TPLM_AVX2 inline void store256(uint8_t* p, __m256i v) {
  _mm256_storeu_si256(static_cast<__m256i*>(static_cast<void*>(p)), v);
}

// n rows unpacked with the decoders above (PackedRows in qdot.hpp).
template <DType dt>
TPLM_AVX2 void pack_rows(const uint8_t* const* wrow, int64_t n, PackedRows& p) {
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* u = p.u.data() + i * p.ustride;
    if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
      for (int64_t b = 0; b < p.cols / 32; ++b) {
        __m256i v;
        if constexpr (dt == DType::Q8_0) {
          v = _mm256_xor_si256(load256(wrow[i] + 34 * b + 2),
                               _mm256_set1_epi8(static_cast<char>(0x80)));
        } else {
          const __m128i q = load128(wrow[i] + 18 * b + 2);
          v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
        }
        store256(u + 32 * b, v);
        pack_scales(p, i, b, block_d<dt>(wrow[i], b));
      }
    } else {
      constexpr int64_t kBytes = dt == DType::Q4_K ? 144 : dt == DType::Q5_K ? 176 : 210;
      for (int64_t B = 0; B < p.cols / 256; ++B) {
        const uint8_t* blk = wrow[i] + B * kBytes;
        KRow k;
        k_row<dt>(blk, k);
        for (int s = 0; s < 4; ++s) {
          __m256i lo, hi;
          load_k_step<dt>(blk, s, lo, hi);
          store256(u + 256 * B + 64 * s, lo);
          store256(u + 256 * B + 64 * s + 32, hi);
        }
        pack_k_scales(p, i, B, k.d, k.sc, k.dmin, k.m);
      }
    }
  }
}

// ---------------------------------------------------------------- row sources

// A tile's rows come from the weight's bytes (decode) or from PackedRows (a
// batch), with the same integers and scales: see qdot_avx512.cpp.
template <DType dt>
struct RawRows32 {
  static constexpr int64_t kBytes = dt == DType::Q8_0 ? 34 : 18;
  const uint8_t* const* row;
  // Blocks b .. b + 7, 16 blocks ahead (decode reads each row once, in order).
  TPLM_AVX2 void prefetch(int r, int64_t b) const {
    for (int64_t off = 0; off < 8 * kBytes; off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(row[r] + (b + 16) * kBytes + off), _MM_HINT_T0);
  }
  // Block b's 32 values for block_lanes, and its d.
  TPLM_AVX2 __m256i values(int r, int64_t b) const {
    if constexpr (dt == DType::Q8_0) {
      return load256(row[r] + 34 * b + 2);
    } else {
      const __m128i q = load128(row[r] + 18 * b + 2);
      return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
    }
  }
  TPLM_AVX2 float scale(int r, int64_t b) const { return block_d<dt>(row[r], b); }
};

template <DType dt>
struct PackedRows32 {
  const PackedRows* p;
  int64_t i;
  TPLM_AVX2 void prefetch(int, int64_t) const {}
  TPLM_AVX2 __m256i values(int r, int64_t b) const {
    const __m256i u = load256(p->urow(i + r) + 32 * b);
    if constexpr (dt == DType::Q8_0)
      return _mm256_xor_si256(u, _mm256_set1_epi8(static_cast<char>(0x80)));  // signed again
    else
      return u;
  }
  TPLM_AVX2 float scale(int r, int64_t b) const { return p->drow(i + r)[b]; }
};

template <DType dt, int R>
struct RawRowsK {
  static constexpr int64_t kBytes = dt == DType::Q4_K ? 144 : dt == DType::Q5_K ? 176 : 210;
  const uint8_t* const* row;
  const uint8_t* blk[R];
  KRow k[R];
  // Super-block B of row r is next: its scales, and a prefetch 4 ahead
  // (decode streams R rows; harmless past the end).
  TPLM_AVX2 void start(int r, int64_t B) {
    blk[r] = row[r] + B * kBytes;
    TPLM_UNROLL
    for (int64_t off = 0; off < kBytes; off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(blk[r] + 4 * kBytes + off), _MM_HINT_T0);
    k_row<dt>(blk[r], k[r]);
  }
  // Step s: the values of elements 64s .. 64s + 31 (lo) and the next 32 (hi).
  TPLM_AVX2 void step(int r, int64_t, int s, __m256i& wlo, __m256i& whi) const {
    load_k_step<dt>(blk[r], s, wlo, whi);
  }
  TPLM_AVX2 const int32_t* scales(int r, int64_t) const { return k[r].sc; }
  TPLM_AVX2 float d(int r, int64_t) const { return k[r].d; }
  TPLM_AVX2 float dmin(int r, int64_t) const { return k[r].dmin; }
  TPLM_AVX2 const int32_t* mins(int r, int64_t) const { return k[r].m; }
};

struct PackedRowsK {
  const PackedRows* p;
  int64_t i;
  TPLM_AVX2 void start(int, int64_t) {}
  TPLM_AVX2 void step(int r, int64_t B, int s, __m256i& wlo, __m256i& whi) const {
    const uint8_t* u = p->urow(i + r) + 256 * B + 64 * s;
    wlo = load256(u), whi = load256(u + 32);
  }
  TPLM_AVX2 const int32_t* scales(int r, int64_t B) const { return p->scrow(i + r) + p->subs * B; }
  TPLM_AVX2 float d(int r, int64_t B) const { return p->drow(i + r)[B]; }
  TPLM_AVX2 float dmin(int r, int64_t B) const { return p->dminrow(i + r)[B]; }
  TPLM_AVX2 const int32_t* mins(int r, int64_t B) const { return p->mrow(i + r) + 8 * B; }
};

// ---------------------------------------------------------------- tiles

// Q8_0 and Q4_0: R rows of src x C tokens from t0, 8 blocks at a time: their
// 8 sums in one vector, lanes 0-7 of the 16 (h = 0) for an even 8, else 8-15.
template <DType dt, class Src, int R, int C>
TPLM_AVX2 void tile32(const Src src, const QuantActs& a, int64_t t0, float* out) {
  const int64_t nb = a.cols / 32, n8 = (nb + 7) / 8;
  __m256 acc[R][C][2];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
  // h is a constant in each call so the accumulators stay in registers.
  const auto eight = [&](int64_t j, auto half) TPLM_AVX2 {
    constexpr int h = decltype(half)::value;
    const int64_t b0 = 8 * j;
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      alignas(32) float dw[8];
      for (int l = 0; l < 8; ++l) dw[l] = b0 + l < nb ? src.scale(r, b0 + l) : 0.0f;
      src.prefetch(r, b0);
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        const int8_t* x = a.qrow(t0 + c);
        __m256i lanes[8];
        TPLM_UNROLL
        for (int l = 0; l < 8; ++l)
          lanes[l] = b0 + l < nb
                         ? block_lanes<dt>(src.values(r, b0 + l), load256(x + 32 * (b0 + l)))
                         : _mm256_setzero_si256();
        __m256i sums = sum_each(lanes);
        if constexpr (dt == DType::Q4_0)
          sums = _mm256_add_epi32(sums, load256(a.iblkrow(t0 + c) + b0));
        const __m256 d = _mm256_mul_ps(_mm256_load_ps(dw), _mm256_loadu_ps(a.drow(t0 + c) + b0));
        acc[r][c][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc[r][c][h]);
      }
    }
  };
  int64_t j = 0;
  for (; j + 2 <= n8; j += 2) {
    eight(j, std::integral_constant<int, 0>{});
    eight(j + 1, std::integral_constant<int, 1>{});
  }
  if (j < n8) eight(j, std::integral_constant<int, 0>{});
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) out[r * C + c] = reduce16({acc[r][c][0], acc[r][c][1]});
}

// Q4_K, Q5_K, Q6_K: R rows of src (a source, or a reference to one) x C
// tokens from t0. Each sub-block's sum comes out of 8 lanes of 4 products;
// super-block B's sub-blocks go to lanes 0-7 (B even) or 8-15 (B odd) for
// Q4_K / Q5_K, and to lanes 0-15 for Q6_K's 16 (kernels.hpp).
template <DType dt, class Src, int R, int C>
TPLM_AVX2 void tile_k(Src src, const QuantActs& a, int64_t t0, float* out) {
  const int64_t nB = a.cols / 256;
  __m256 acc[R][C][2];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
  // h is a constant in each call so the accumulators stay in registers.
  const auto super_block = [&](int64_t B, auto half) TPLM_AVX2 {
    constexpr int h = decltype(half)::value;
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) src.start(r, B);
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      __m256i w[8];  // w[j]: elements 32j .. 32j + 31
      TPLM_UNROLL
      for (int s = 0; s < 4; ++s) src.step(r, B, s, w[2 * s], w[2 * s + 1]);
      // d * sc and dmin * m of each sub-block (exact)
      const int32_t* sc = src.scales(r, B);
      const __m256 d = _mm256_set1_ps(src.d(r, B));
      const __m256 dsc[2] = {_mm256_mul_ps(d, _mm256_cvtepi32_ps(load256(sc))),
                             dt == DType::Q6_K
                                 ? _mm256_mul_ps(d, _mm256_cvtepi32_ps(load256(sc + 8)))
                                 : _mm256_setzero_ps()};
      const __m256 mdmin = dt == DType::Q6_K
                               ? _mm256_setzero_ps()
                               : _mm256_mul_ps(_mm256_set1_ps(src.dmin(r, B)),
                                               _mm256_cvtepi32_ps(load256(src.mins(r, B))));
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        const int8_t* x = a.qrow(t0 + c) + 256 * B;
        const __m256 dx = _mm256_set1_ps(a.drow(t0 + c)[B]);
        __m256i L[8];
        TPLM_UNROLL
        for (int j = 0; j < 8; ++j) L[j] = dot4(w[j], load256(x + 32 * j));
        if constexpr (dt == DType::Q6_K) {
          const int32_t* in = a.isubrow(t0 + c) + 16 * B;
          TPLM_UNROLL
          for (int q = 0; q < 2; ++q) {
            const __m256i S = _mm256_add_epi32(sum_quads(L + 4 * q), load256(in + 8 * q));
            acc[r][c][q] =
                _mm256_fmadd_ps(_mm256_cvtepi32_ps(S), _mm256_mul_ps(dsc[q], dx), acc[r][c][q]);
          }
        } else {
          const __m256 bsdx =
              _mm256_mul_ps(_mm256_cvtepi32_ps(load256(a.bsumrow(t0 + c) + 8 * B)), dx);
          __m256& lane = acc[r][c][h];
          lane = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_each(L)), _mm256_mul_ps(dsc[0], dx), lane);
          lane = _mm256_fnmadd_ps(mdmin, bsdx, lane);
        }
      }
    }
  };
  int64_t B = 0;
  for (; B + 2 <= nB; B += 2) {
    super_block(B, std::integral_constant<int, 0>{});
    super_block(B + 1, std::integral_constant<int, 1>{});
  }
  if (B < nB) super_block(B, std::integral_constant<int, 0>{});
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) out[r * C + c] = reduce16({acc[r][c][0], acc[r][c][1]});
}

// ---------------------------------------------------------------- driver

// R rows from the weight's bytes (wrow) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX2 inline void tile(const uint8_t* const* wrow, const QuantActs& a, int64_t t0, float* out) {
  if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
    tile32<dt, RawRows32<dt>, R, C>(RawRows32<dt>{wrow}, a, t0, out);
  } else {
    RawRowsK<dt, R> src{wrow, {}, {}};  // by reference: its scales are filled in place
    tile_k<dt, RawRowsK<dt, R>&, R, C>(src, a, t0, out);
  }
}

// Packed rows [i, i + R) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX2 inline void ptile(const PackedRows& p, int64_t i, const QuantActs& a, int64_t t0,
                            float* out) {
  if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0)
    tile32<dt, PackedRows32<dt>, R, C>(PackedRows32<dt>{&p, i}, a, t0, out);
  else
    tile_k<dt, PackedRowsK, R, C>(PackedRowsK{&p, i}, a, t0, out);
}

constexpr int kTileRows = 2, kTileTokensQ32 = 2, kTileTokensK = 2;
constexpr int kPackRows = 4, kPackTokensQ32 = 2, kPackTokensK = 2, kPackTokensQ6K = 2;
constexpr int kPackMinTokens = 3;
template <DType>
constexpr bool kPacksRows = true;
#define TPLM_QDOT_TARGET TPLM_AVX2
#include "backend/cpu/qdot_driver.hpp"  // NOLINT(build/include): the shared loops
#undef TPLM_QDOT_TARGET

}  // namespace

void qmatmul_rows_avx2(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                       int64_t r0, int64_t r1) {
  qmatmul_rows_level(a, w, bias, y, r0, r1);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
