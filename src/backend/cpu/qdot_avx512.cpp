// The integer kernels with AVX-512 VNNI (vpdpbusd: 64 u8 x s8 products summed
// in groups of 4 into 16 int32 lanes per instruction), every float operation
// the scalar reference's (qdot.cpp), so the results are its bits.
//   Q8_0, Q4_0: a group of 16 blocks ends as one vector of their 16 exact
//   sums, lane l = block 16g + l (one float multiply-add per block and token,
//   not per 4 elements). The model's matrices are regrouped when loaded
//   (WeightLayout::CpuGroups, tile_grouped): lane l of all 8 steps is block
//   l, and the sums come out of vpdpbusd with no decoding. Weights in the
//   file's layout (the embedding table as a tied LM head, direct callers) are
//   read in element order with each block's 8 lanes folded into its own
//   (group_sums) for decode, or unpacked per call into the grouped order
//   (pack_groups) for a batch.
//   K-quants alike, by sub-block: a group of 16 sub-blocks (two Q4_K / Q5_K
//   super-blocks, one Q6_K) ends as one vector of their 16 sums (tile_k).
//   Regrouped rows are read in place for decode and unpacked once per row
//   for a batch (unpack_k_row: Q4_K's nibbles and Q5_K's fifth bits take a
//   few operations per step); rows in the file's layout have each 64-element
//   step's 16 lanes folded into their sub-blocks (fold_pairs, sum_chunks).
// A tile of R rows x C tokens decodes each weight step once for C tokens (the
// prefill GEMM); the tile shape never changes an output's arithmetic.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*()
// and then warn that the undefined value is or may be used (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/hsum16_avx512.hpp"
#include "backend/cpu/qdot.hpp"
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

// out[o] = hsum16_avx512(v[o]) for the N outputs of a tile, with hsum16's
// additions (lanes i and i + 8, i + 4, i + 2, i + 1) done for 16 vectors at
// once: each step adds the halves of two vectors in one instruction, so the
// 16 sums take 15 additions instead of 16 x 4. Bit for bit hsum16.
template <int N>
TPLM_AVX512 inline void reduce16_tile(const __m512* v, float* out) {
  static_assert(N >= 1 && N <= 16);
  if constexpr (N == 1) {
    out[0] = hsum16_avx512(v[0]);
  } else {
    __m512 x[16];
    TPLM_UNROLL
    for (int o = 0; o < 16; ++o) x[o] = o < N ? v[o] : _mm512_setzero_ps();
    __m512 s8[8], s4[4], s2[2];
    // s8[k]: lanes 0-7 output 2k's i + (i + 8), lanes 8-15 output 2k + 1's.
    TPLM_UNROLL
    for (int k = 0; k < 8; ++k)
      s8[k] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * k], x[2 * k + 1], 0x44),
                            _mm512_shuffle_f32x4(x[2 * k], x[2 * k + 1], 0xEE));
    // s4[m]: 128-bit chunk j is output 4m + j's i + (i + 4).
    TPLM_UNROLL
    for (int m = 0; m < 4; ++m)
      s4[m] = _mm512_add_ps(_mm512_shuffle_f32x4(s8[2 * m], s8[2 * m + 1], 0x88),
                            _mm512_shuffle_f32x4(s8[2 * m], s8[2 * m + 1], 0xDD));
    // s2[n]: chunk j holds outputs 8n + j (lanes 0, 1) and 8n + 4 + j (2, 3).
    TPLM_UNROLL
    for (int n = 0; n < 2; ++n)
      s2[n] = _mm512_add_ps(_mm512_shuffle_ps(s4[2 * n], s4[2 * n + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                            _mm512_shuffle_ps(s4[2 * n], s4[2 * n + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    // Lane 4j + q is output 4q + j: a 4 x 4 transpose puts output o in lane o.
    const __m512 s1 = _mm512_add_ps(_mm512_shuffle_ps(s2[0], s2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_ps(s2[0], s2[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_mask_storeu_ps(out, static_cast<__mmask16>((1u << N) - 1u),
                          _mm512_permutexvar_ps(order, s1));
  }
}

// out = the sums of a tile's R x C lane vectors: out[r * C + c], or by token
// (kByToken) out[c * R + r].
template <int R, int C, bool kByToken>
TPLM_AVX512 inline void finish_tile(const __m512 (&acc)[R][C], float* out) {
  if constexpr (kByToken) {
    __m512 by_token[C][R];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) TPLM_UNROLL
    for (int c = 0; c < C; ++c) by_token[c][r] = acc[r][c];
    reduce16_tile<R * C>(&by_token[0][0], out);
  } else {
    reduce16_tile<R * C>(&acc[0][0], out);
  }
}

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
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

// A Q4_K / Q5_K super-block's 8 scales and 8 mins (byte j: sub-block j), d, dmin.
struct KScales {
  uint64_t sc = 0, m = 0;
  float d = 0.0f, dmin = 0.0f;
};

// 16 int32 lanes from the bytes of lo (lanes 0-7) and hi (8-15).
TPLM_AVX512 inline __m512i byte_lanes(uint64_t lo, uint64_t hi) {
  return _mm512_cvtepu8_epi32(_mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo)));
}

TPLM_AVX512 inline KScales k_scales(const uint8_t* blk) {
  KScales k;
  unpack_k_scale_bytes(blk + 4, k.sc, k.m);  // in registers, not through memory
  k.d = f16(blk);
  k.dmin = f16(blk + 2);
  return k;
}

// ---------------------------------------------------------------- Q8_0, Q4_0 groups

// Block b's 32 unsigned values, 0 past the row's nb blocks.
template <DType dt>
TPLM_AVX512 inline __m256i block_values(const uint8_t* row, int64_t b, int64_t nb) {
  if (b >= nb) return _mm256_setzero_si256();
  return _mm512_castsi512_si256(load_one<dt>(row, b));
}

// Rows in[0..7] of 8 int32 as columns: out[k] = (in[0][k], ..., in[7][k]).
TPLM_AVX512 inline void transpose8x8(const __m256i* in, __m256i* out) {
  __m256i t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(in[i], in[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(in[i], in[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    out[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    out[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
}

// A row's nb blocks in the order of QuantActs::qt: step k of group g is the
// 4 values 4k .. 4k + 3 of each of the group's 16 blocks.
template <DType dt>
TPLM_AVX512 void pack_groups(const uint8_t* row, int64_t nb, uint8_t* u) {
  for (int64_t g = 0; g < q32_groups(nb * 32); ++g) {
    __m256i blk[16], lo[8], hi[8];
    for (int l = 0; l < 16; ++l) blk[l] = block_values<dt>(row, 16 * g + l, nb);
    transpose8x8(blk, lo);
    transpose8x8(blk + 8, hi);
    for (int k = 0; k < 8; ++k)
      _mm512_storeu_si512(u + 512 * g + 64 * k,
                          _mm512_inserti64x4(_mm512_castsi256_si512(lo[k]), hi[k], 1));
  }
}

// Lane 4i + c of the result: the sum of 128-bit chunk c's 4 lanes of q[i].
TPLM_AVX512 inline __m512i sum_chunks(const __m512i (&q)[4]) {
  const __m512i u0 =
      _mm512_add_epi32(_mm512_unpacklo_epi32(q[0], q[1]), _mm512_unpackhi_epi32(q[0], q[1]));
  const __m512i u1 =
      _mm512_add_epi32(_mm512_unpacklo_epi32(q[2], q[3]), _mm512_unpackhi_epi32(q[2], q[3]));
  // chunk c, lane i of s: the sum of chunk c of q[i]
  const __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(u0, u1), _mm512_unpackhi_epi64(u0, u1));
  const __m512i to_lane = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(to_lane, s);
}

// 16 blocks' sums from 8 vectors of two blocks each (pairs[j]: block 2j in
// lanes 0-7, 2j + 1 in lanes 8-15): lane l of the result is all of block l.
TPLM_AVX512 inline __m512i fold_pairs(const __m512i (&pairs)[8]) {
  __m512i quad[4];  // blocks 4i + c in 128-bit chunk c, 4 lanes each
  TPLM_UNROLL
  for (int i = 0; i < 4; ++i) {
    const __m512i p0 = pairs[2 * i], p1 = pairs[2 * i + 1];
    // [A0 A1 | B0 B1], [C0 C1 | D0 D1] -> [A0 B0 C0 D0] + [A1 B1 C1 D1]
    quad[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(p0, p1, _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_i32x4(p0, p1, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  return sum_chunks(quad);
}

// The 16 block sums of group g of a row in element order (decode): each pair
// of blocks is one vpdpbusd of 2 x 8 lanes, then folded so that lane l holds
// all of block 16g + l (0 past the row's nb blocks). The activations' offset
// term (iblk) is added by the caller.
template <DType dt>
TPLM_AVX512 inline __m512i group_sums(const uint8_t* row, int64_t g, int64_t nb, const int8_t* x) {
  __m512i pairs[8];
  TPLM_UNROLL
  for (int j = 0; j < 8; ++j) {
    const int64_t b = 16 * g + 2 * j;
    if (b + 2 <= nb) {
      pairs[j] =
          _mm512_dpbusd_epi32(_mm512_setzero_si512(), load_pair<dt>(row, b), load512(x + 32 * b));
    } else if (b < nb) {  // the odd last block: lanes 0-7
      pairs[j] = _mm512_dpbusd_epi32(
          _mm512_setzero_si512(), load_one<dt>(row, b),
          _mm512_zextsi256_si512(load256(static_cast<const uint8_t*>(vp(x + 32 * b)))));
    } else {
      pairs[j] = _mm512_setzero_si512();
    }
  }
  return fold_pairs(pairs);
}

// The d of group g's blocks (0 past the row's nb blocks), from the f16 at the
// start of each block.
template <DType dt>
TPLM_AVX512 inline __m512 group_scales(const uint8_t* row, int64_t g, int64_t nb) {
  constexpr int kBytes = dt == DType::Q8_0 ? 34 : 18;
  const int64_t n = std::min<int64_t>(16, nb - 16 * g);
  const __mmask16 have = static_cast<__mmask16>((1u << n) - 1u);
  const __m512i at =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(kBytes));
  const __m512i h =
      _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), have, at, row + kBytes * 16 * g, 1);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
}

// ---------------------------------------------------------------- packed rows

// n rows unpacked with the decoders above (PackedRows in qdot.hpp).
template <DType dt>
TPLM_AVX512 void pack_rows(const uint8_t* const* wrow, int64_t n, PackedRows& p) {
  static_assert(dt == DType::Q8_0 || dt == DType::Q4_0, "K-quant rows are read in place");
  for (int64_t i = 0; i < n; ++i) {
    pack_groups<dt>(wrow[i], p.cols / 32, p.u.data() + i * p.ustride);
    for (int64_t b = 0; b < p.cols / 32; ++b) pack_scales(p, i, b, block_d<dt>(wrow[i], b));
  }
}

// ---------------------------------------------------------------- tiles

// lane += float(S) * (d_w * d_x), fused: one output's lanes for a group.
TPLM_AVX512 inline __m512 add_group(__m512 acc, __m512i sums, __m512 dw, __m512 dx) {
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(dw, dx), acc);
}

// Q8_0 and Q4_0, decode: R rows read from the weight's bytes x C tokens from t0.
template <DType dt, int R, int C>
TPLM_AVX512 void tile32_raw(const uint8_t* const* wrow, const QuantActs& a, int64_t t0,
                            float* out) {
  constexpr int64_t kBytes = dt == DType::Q8_0 ? 34 : 18;
  const int64_t nb = a.cols / 32;
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t g = 0; g < a.groups; ++g) {
    __m512 dw[R];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      // The group after next (the rows are read once, in order).
      const uint8_t* ahead = wrow[r] + kBytes * 16 * (g + 2);
      TPLM_UNROLL
      for (int off = 0; off < kBytes * 16; off += 64)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T0);
      dw[r] = group_scales<dt>(wrow[r], g, nb);
    }
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      const __m512 dx = _mm512_loadu_ps(a.drow(t0 + c) + 16 * g);
      const __m512i ib = load512(a.iblkrow(t0 + c) + 16 * g);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i sums = _mm512_add_epi32(group_sums<dt>(wrow[r], g, nb, a.qrow(t0 + c)), ib);
        acc[r][c] = add_group(acc[r][c], sums, dw[r], dx);
      }
    }
  }
  reduce16_tile<R * C>(&acc[0][0], out);
}

// Q8_0 and Q4_0, a batch: packed rows [i, i + R) x C tokens from t0. Lane l
// of every step is block 16g + l, so 8 vpdpbusd give each block's sum.
template <int R, int C>
TPLM_AVX512 void tile32_packed(const PackedRows& p, int64_t i, const QuantActs& a, int64_t t0,
                               float* out) {
  const uint8_t* u[R];
  const float* dw[R];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) u[r] = p.urow(i + r), dw[r] = p.drow(i + r);
  const int8_t* x[C];
  TPLM_UNROLL
  for (int c = 0; c < C; ++c) x[c] = a.qtrow(t0 + c);
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t g = 0; g < a.groups; ++g) {
    __m512i sums[R][C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      const __m512i ib = load512(a.iblkrow(t0 + c) + 16 * g);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) sums[r][c] = ib;
    }
    TPLM_UNROLL
    for (int k = 0; k < 8; ++k) {
      __m512i xs[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) xs[c] = load512(x[c] + 512 * g + 64 * k);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i w = load512(u[r] + 512 * g + 64 * k);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) sums[r][c] = _mm512_dpbusd_epi32(sums[r][c], w, xs[c]);
      }
    }
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      const __m512 dx = _mm512_loadu_ps(a.drow(t0 + c) + 16 * g);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r)
        acc[r][c] = add_group(acc[r][c], sums[r][c], _mm512_loadu_ps(dw[r] + 16 * g), dx);
    }
  }
  reduce16_tile<R * C>(&acc[0][0], out);
}

// Decode of a regrouped row: this group's lines at once, and the 4th group
// ahead's, as each row is read once, in order (measured from memory, 32768 x
// 2048 Q8_0, one thread: 10 GB/s with only the hardware's prefetch, 20 with
// the group after next; 2 threads, 7 interleaved runs: the 4th group ahead
// instead of the 2nd, Q8_0 2.92 -> 2.59 ms, Q4_0 1.44 -> 1.21, Q4_K 1.46 ->
// 1.26, Q5_K 1.84 -> 1.71, Q6_K the same; the 8th no better).
template <int64_t kGroupBytes>
TPLM_AVX512 inline void fetch_group(const uint8_t* grp) {
  TPLM_UNROLL
  for (int64_t off = 0; off < kGroupBytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(grp + off), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(grp + 4 * kGroupBytes + off), _MM_HINT_T0);
  }
}

// ---------------------------------------------------------------- K-quants

// A K-quant group's 16 lanes (lane l: sub-block l of the group, qdot.hpp)
// for one weight row: d * sc and (Q4_K, Q5_K) dmin * m of each lane's
// sub-block, both exact (0 in the lanes past a row's last super-block).
struct KLanes {
  __m512 dsc, mdmin;
};

// The same for one token: each lane's super-block's dx and (Q4_K, Q5_K)
// float(the sum of the lane's 32 activations) * dx.
struct KTokenLanes {
  __m512 dx, bsdx;
};

TPLM_AVX512 inline KLanes k_lanes(__m512i sc, __m512i m, __m512 d, __m512 dmin) {
  return {_mm512_mul_ps(d, _mm512_cvtepi32_ps(sc)), _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(m))};
}

template <DType dt>
constexpr bool kIsK = dt == DType::Q4_K || dt == DType::Q5_K || dt == DType::Q6_K;
// Super-blocks per group: two of 8 sub-blocks fill the 16 lanes, or one of 16.
template <DType dt>
constexpr int kPerGroup = dt == DType::Q6_K ? 1 : 2;
template <DType dt>
constexpr int64_t kSuperBytes = dt == DType::Q4_K   ? 144
                                : dt == DType::Q5_K ? 176
                                                    : 210;

// Lanes 0-7 take element 0 of a vector, lanes 8-15 element 1.
TPLM_AVX512 inline __m512i halves_index(int first) {
  return _mm512_inserti64x4(_mm512_set1_epi32(first), _mm256_set1_epi32(first + 1), 1);
}

// Token t's lanes for group G (QuantActs::klanes; Q6_K: its d in every lane).
template <DType dt>
TPLM_AVX512 inline KTokenLanes k_token_lanes(const QuantActs& a, int64_t t, int64_t G) {
  if constexpr (dt == DType::Q6_K) {
    return {_mm512_set1_ps(a.drow(t)[G]), _mm512_setzero_ps()};
  } else {
    const float* l = a.klanerow(t) + 32 * G;
    return {_mm512_loadu_ps(l), _mm512_loadu_ps(l + 16)};
  }
}

// acc + float(S) * (d * sc * dx), then (Q4_K, Q5_K) - (dmin * m) * (bs *
// dx), each fused: the scalar reference's two fma per sub-block.
template <DType dt>
TPLM_AVX512 inline __m512 add_k_lanes(__m512 acc, __m512i S, const KLanes& w,
                                      const KTokenLanes& x) {
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S), _mm512_mul_ps(w.dsc, x.dx), acc);
  if constexpr (dt != DType::Q6_K) acc = _mm512_fnmadd_ps(w.mdmin, x.bsdx, acc);
  return acc;
}

// The lanes of a regrouped group at g (n super-blocks; layout in qdot.hpp).
template <DType dt>
TPLM_AVX512 inline KLanes grouped_k_lanes(const uint8_t* g, int n) {
  if constexpr (dt == DType::Q6_K) {
    return k_lanes(_mm512_cvtepi8_epi32(load128(g + 192)), _mm512_setzero_si512(),
                   _mm512_set1_ps(f16(g + 208)), _mm512_setzero_ps());
  } else {
    const bool two = n == 2;
    const __m128i lo =
        two ? load128(g + 8) : _mm_loadl_epi64(static_cast<const __m128i*>(vp(g + 4)));
    const __m128i hi = two ? _mm_loadl_epi64(static_cast<const __m128i*>(vp(g + 24)))
                           : _mm_cvtsi32_si128(static_cast<int>(load_u32(g + 12)));
    const __m128i heads = two ? _mm_loadl_epi64(static_cast<const __m128i*>(vp(g)))
                              : _mm_cvtsi32_si128(static_cast<int>(load_u32(g)));
    const __m128i nib = _mm_set1_epi8(0x0f);
    // byte l: nibble l of hi (the high 2 bits of scale and min l)
    const __m128i hn =
        _mm_unpacklo_epi8(_mm_and_si128(hi, nib), _mm_and_si128(_mm_srli_epi16(hi, 4), nib));
    const __m128i sc = _mm_or_si128(_mm_and_si128(lo, nib),
                                    _mm_slli_epi16(_mm_and_si128(hn, _mm_set1_epi8(3)), 4));
    const __m128i m = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(lo, 4), nib),
                                   _mm_slli_epi16(_mm_and_si128(hn, _mm_set1_epi8(12)), 2));
    // two: d0 d1 dmin0 dmin1; one: d0 dmin0 (lanes 8-15 are 0)
    const __m512 f = _mm512_castps128_ps512(_mm_cvtph_ps(heads));
    const __mmask16 have = two ? 0xffff : 0x00ff;
    return k_lanes(_mm512_cvtepu8_epi32(sc), _mm512_cvtepu8_epi32(m),
                   _mm512_maskz_permutexvar_ps(have, halves_index(0), f),
                   _mm512_maskz_permutexvar_ps(have, halves_index(two ? 2 : 1), f));
  }
}

// Step k of a regrouped Q4_K / Q5_K group: lane l's values of sub-block l,
// elements 4k .. 4k + 3 (lo) and 16 + 4k .. 16 + 4k + 3 (hi); qh is the
// group's fifth bits (Q5_K).
template <DType dt>
TPLM_AVX512 inline void grouped_k_step(const uint8_t* g, int n, int k, __m512i qh, __m512i& lo,
                                       __m512i& hi) {
  const uint8_t* qs = g + (dt == DType::Q5_K ? 48 : 16) * n + 32 * n * k;
  const __m512i v = n == 2 ? load512(qs) : _mm512_zextsi256_si512(load256(qs));
  const __m512i nib = _mm512_set1_epi8(0x0f);
  lo = _mm512_and_si512(v, nib);
  hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
  if constexpr (dt == DType::Q5_K) {
    const __m512i sixteen = _mm512_set1_epi8(16);
    lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, _mm512_set1_epi8(1 << k)), lo, sixteen);
    hi = _mm512_mask_add_epi8(
        hi, _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(1 << (k + 4)))), hi,
        sixteen);
  }
}

// Step k of a regrouped Q6_K super-block: lane l's elements 4k .. 4k + 3 of sub-block l.
TPLM_AVX512 inline __m512i grouped_q6_step(const uint8_t* g, int k) {
  __m512i lo = load512(g + 64 * (k % 2));
  if (k >= 2) lo = _mm512_srli_epi16(lo, 4);
  const __m512i qh = load512(g + 128);
  const __m512i hi = k == 0   ? _mm512_slli_epi16(qh, 4)
                     : k == 1 ? _mm512_slli_epi16(qh, 2)
                     : k == 2 ? qh
                              : _mm512_srli_epi16(qh, 2);
  return _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi8(0x0f)),
                         _mm512_and_si512(hi, _mm512_set1_epi8(0x30)));
}

// The group's sums S[r][c] += weights x activations, regrouped rows grp[r]
// (n super-blocks) x the tokens' grouped activations xq[c].
template <DType dt, int R, int C>
TPLM_AVX512 inline void grouped_k_sums(const uint8_t* const* grp, int n, const int8_t* const* xq,
                                       __m512i (&S)[R][C]) {
  if constexpr (dt == DType::Q6_K) {
    TPLM_UNROLL
    for (int k = 0; k < 4; ++k) {
      __m512i xs[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) xs[c] = load512(xq[c] + 64 * k);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i w = grouped_q6_step(grp[r], k);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) S[r][c] = _mm512_dpbusd_epi32(S[r][c], w, xs[c]);
      }
    }
  } else {
    __m512i qh[R];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r)
      qh[r] = dt != DType::Q5_K ? _mm512_setzero_si512()
              : n == 2          ? load512(grp[r] + 32)
                                : _mm512_zextsi256_si512(load256(grp[r] + 16));
    TPLM_UNROLL
    for (int k = 0; k < 4; ++k) {
      __m512i xlo[C], xhi[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        xlo[c] = load512(xq[c] + 64 * k);
        xhi[c] = load512(xq[c] + 64 * (k + 4));
      }
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        __m512i lo, hi;
        grouped_k_step<dt>(grp[r], n, k, qh[r], lo, hi);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) {
          S[r][c] = _mm512_dpbusd_epi32(S[r][c], lo, xlo[c]);
          S[r][c] = _mm512_dpbusd_epi32(S[r][c], hi, xhi[c]);
        }
      }
    }
  }
}

// The sums of group G for row `row` in the file's layout x C tokens, and the
// row's lanes: each 64-element step is one vpdpbusd of 16 lanes of 4
// products, folded into the 16 sub-block sums.
template <DType dt, int C>
TPLM_AVX512 inline KLanes file_k_sums(const uint8_t* row, int64_t G, int n, const QuantActs& a,
                                      int64_t t0, __m512i (&S)[C]) {
  constexpr int64_t kB = kSuperBytes<dt>;
  if constexpr (dt == DType::Q6_K) {
    const uint8_t* blk = row + kB * G;
    TPLM_UNROLL
    for (int64_t off = 0; off < kB; off += 64)  // 4 super-blocks ahead (rows are read in order)
      _mm_prefetch(reinterpret_cast<const char*>(blk + 4 * kB + off), _MM_HINT_T0);
    __m512i L[C][4];
    TPLM_UNROLL
    for (int s = 0; s < 4; ++s) {
      const __m512i w = load_k_step<dt>(blk, s);
      TPLM_UNROLL
      for (int c = 0; c < C; ++c)
        L[c][s] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w,
                                      load512(a.qrow(t0 + c) + 256 * G + 64 * s));
    }
    TPLM_UNROLL
    for (int c = 0; c < C; ++c)  // + the offset term, -32 * the sub-block's activations
      S[c] = _mm512_add_epi32(
          S[c], _mm512_add_epi32(sum_chunks(L[c]), load512(a.isubrow(t0 + c) + 16 * G)));
    return k_lanes(_mm512_cvtepi8_epi32(load128(blk + 192)), _mm512_setzero_si512(),
                   _mm512_set1_ps(f16(blk + 208)), _mm512_setzero_ps());
  } else {
    __m512i pairs[C][8];
    KScales k[2];
    TPLM_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int64_t B = 2 * G + h;
      const uint8_t* blk = row + kB * std::min<int64_t>(B, 2 * G + n - 1);
      if (h < n) {
        TPLM_UNROLL
        for (int64_t off = 0; off < kB; off += 64)
          _mm_prefetch(reinterpret_cast<const char*>(blk + 4 * kB + off), _MM_HINT_T0);
        k[h] = k_scales(blk);
      }
      TPLM_UNROLL
      for (int s = 0; s < 4; ++s) {
        const __m512i w = h < n ? load_k_step<dt>(blk, s) : _mm512_setzero_si512();
        TPLM_UNROLL
        for (int c = 0; c < C; ++c)
          pairs[c][4 * h + s] =
              h < n ? _mm512_dpbusd_epi32(_mm512_setzero_si512(), w,
                                          load512(a.qrow(t0 + c) + 256 * B + 64 * s))
                    : _mm512_setzero_si512();
      }
    }
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) S[c] = _mm512_add_epi32(S[c], fold_pairs(pairs[c]));
    return k_lanes(byte_lanes(k[0].sc, k[1].sc), byte_lanes(k[0].m, k[1].m),
                   _mm512_insertf32x8(_mm512_set1_ps(k[0].d), _mm256_set1_ps(k[1].d), 1),
                   _mm512_insertf32x8(_mm512_set1_ps(k[0].dmin), _mm256_set1_ps(k[1].dmin), 1));
  }
}

// Where a K-quant tile's rows come from: the file's bytes, the regrouped
// rows (WeightLayout::CpuGroups), or regrouped rows unpacked once for a batch
// of tokens (unpack_k_row): per group, the steps' values as vectors of 64
// bytes, in the order of QuantActs::qt, then the lanes' dsc and mdmin.
enum class KSource { File, Grouped, Unpacked };
template <DType dt>
constexpr int kUnpackedSteps = dt == DType::Q6_K ? 4 : 8;
template <DType dt>
constexpr int64_t kUnpackedBytes = 64 * kUnpackedSteps<dt> + 128;

// Regrouped row `row` (nB super-blocks) unpacked into out.
template <DType dt>
TPLM_AVX512 void unpack_k_row(const uint8_t* row, int64_t nB, uint8_t* out) {
  constexpr int kPer = kPerGroup<dt>;
  for (int64_t G = 0; G * kPer < nB; ++G) {
    const int n = static_cast<int>(std::min<int64_t>(kPer, nB - kPer * G));
    const uint8_t* g = row + kPer * kSuperBytes<dt> * G;
    uint8_t* o = out + kUnpackedBytes<dt> * G;
    if constexpr (dt == DType::Q6_K) {
      for (int k = 0; k < 4; ++k) _mm512_storeu_si512(o + 64 * k, grouped_q6_step(g, k));
    } else {
      const __m512i qh = dt != DType::Q5_K ? _mm512_setzero_si512()
                         : n == 2          ? load512(g + 32)
                                           : _mm512_zextsi256_si512(load256(g + 16));
      for (int k = 0; k < 4; ++k) {
        __m512i lo, hi;
        grouped_k_step<dt>(g, n, k, qh, lo, hi);
        _mm512_storeu_si512(o + 64 * k, lo);
        _mm512_storeu_si512(o + 64 * (k + 4), hi);
      }
    }
    const KLanes l = grouped_k_lanes<dt>(g, n);
    float* lanes = static_cast<float*>(static_cast<void*>(o + 64 * kUnpackedSteps<dt>));
    _mm512_storeu_ps(lanes, l.dsc);
    _mm512_storeu_ps(lanes + 16, l.mdmin);
  }
}

// Group G (kN super-blocks: the row's last group may hold one where the
// others hold two) of R rows from `source` x C tokens from t0, into acc.
template <DType dt, int R, int C, KSource source, int kN>
TPLM_AVX512 __attribute__((always_inline)) inline void k_group(const uint8_t* const* wrow,
                                                               const QuantActs& a, int64_t t0,
                                                               int64_t G, __m512 (&acc)[R][C]) {
  constexpr int kPer = kPerGroup<dt>;
  constexpr int64_t kGroupBytes = kPer * kSuperBytes<dt>;
  __m512i S[R][C];
  TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    TPLM_UNROLL
    for (int r = 0; r < R; ++r)
      S[r][c] = source != KSource::File && dt == DType::Q6_K ? load512(a.isubrow(t0 + c) + 16 * G)
                                                             : _mm512_setzero_si512();
  }
  KLanes w[R];
  if constexpr (source == KSource::Unpacked) {
    const uint8_t* u[R];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) u[r] = wrow[r] + kUnpackedBytes<dt> * G;
    TPLM_UNROLL
    for (int j = 0; j < kUnpackedSteps<dt>; ++j) {
      __m512i xs[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c)
        xs[c] = load512(a.qtrow(t0 + c) + 64 * kUnpackedSteps<dt> * G + 64 * j);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i v = load512(u[r] + 64 * j);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) S[r][c] = _mm512_dpbusd_epi32(S[r][c], v, xs[c]);
      }
    }
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      const float* lanes =
          static_cast<const float*>(static_cast<const void*>(u[r] + 64 * kUnpackedSteps<dt>));
      w[r] = {_mm512_loadu_ps(lanes), _mm512_loadu_ps(lanes + 16)};
    }
  } else if constexpr (source == KSource::Grouped) {
    const uint8_t* grp[R];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      grp[r] = wrow[r] + kGroupBytes * G;
      if constexpr (C == 1) fetch_group<kGroupBytes>(grp[r]);
    }
    const int8_t* xq[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) xq[c] = a.qtrow(t0 + c) + (kPer == 1 ? 256 : 512) * G;
    grouped_k_sums<dt, R, C>(grp, kN, xq, S);
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) w[r] = grouped_k_lanes<dt>(grp[r], kN);
  } else {
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) w[r] = file_k_sums<dt, C>(wrow[r], G, kN, a, t0, S[r]);
  }
  TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    const KTokenLanes xl = k_token_lanes<dt>(a, t0 + c, G);
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) acc[r][c] = add_k_lanes<dt>(acc[r][c], S[r][c], w[r], xl);
  }
}

// Q4_K, Q5_K, Q6_K: R rows from `source` x C tokens from t0; out[r * C + c],
// or out[c * R + r] by token.
template <DType dt, int R, int C, KSource source, bool kByToken = false>
TPLM_AVX512 void tile_k(const uint8_t* const* wrow, const QuantActs& a, int64_t t0, float* out) {
  constexpr int kPer = kPerGroup<dt>;
  const int64_t nB = a.cols / 256, groups = (nB + kPer - 1) / kPer;
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t G = 0; G < groups; ++G) {
    if (nB - kPer * G >= kPer)
      k_group<dt, R, C, source, kPer>(wrow, a, t0, G, acc);
    else
      k_group<dt, R, C, source, 1>(wrow, a, t0, G, acc);
  }
  finish_tile<R, C, kByToken>(acc, out);
}

// ---------------------------------------------------------------- driver

// R rows from the weight's bytes (wrow) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX512 inline void tile(const uint8_t* const* wrow, const QuantActs& a, int64_t t0,
                             float* out) {
  if constexpr (kIsK<dt>)
    tile_k<dt, R, C, KSource::File>(wrow, a, t0, out);
  else
    tile32_raw<dt, R, C>(wrow, a, t0, out);
}

// Packed rows [i, i + R) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX512 inline void ptile(const PackedRows& p, int64_t i, const QuantActs& a, int64_t t0,
                              float* out) {
  static_assert(!kIsK<dt>, "K-quant rows are read in place");
  tile32_packed<R, C>(p, i, a, t0, out);
}

// Rows [r, r + R) x tokens [t0, t1), C tokens at a time, then one at a time.
constexpr int kTileRows = 4, kTileTokensQ32 = 2, kTileTokensK = 2;
// K-quant rows in the file's layout are read in place for a batch too (the
// model's own are regrouped on load, so these are few: a tied LM head).
template <DType dt>
constexpr bool kPacksRows = !kIsK<dt>;
// Q6_K's tile also holds each token's init vector: 2 tokens measured faster.
constexpr int kPackRows = 4, kPackTokensQ32 = 3, kPackTokensK = 4, kPackTokensQ6K = 2;
constexpr int kPackMinTokens = 4;
#define TPLM_QDOT_TARGET TPLM_AVX512
#include "backend/cpu/qdot_driver.hpp"  // NOLINT(build/include): the shared loops
#undef TPLM_QDOT_TARGET

// ---------------------------------------------------------------- regrouped rows

// Q8_0 and Q4_0 rows regrouped on load (WeightLayout::CpuGroups, qdot.hpp).
// Each step's 4-byte lane l is block 16g + l, as in the activations' qt, so
// vpdpbusd gives each block's sum directly, reading the weight's bytes once.

// The pointers a tile of C tokens reads, taken once.
template <int C>
struct TokenRows {
  const int8_t* qt[C];
  const int32_t* iblk[C];
  const float* d[C];
  TokenRows(const QuantActs& a, int64_t t0) {
    for (int c = 0; c < C; ++c)
      qt[c] = a.qtrow(t0 + c), iblk[c] = a.iblkrow(t0 + c), d[c] = a.drow(t0 + c);
  }
};

// sums[r][c] += the block sums of group g (n blocks from grp[r]) x token c.
// kFull: 16 blocks, plain loads; else masked loads of the n lanes.
template <DType dt, int R, int C, bool kFull>
TPLM_AVX512 inline void group_dots(const uint8_t* const* grp, const int8_t* const* xg, int64_t n,
                                   __m512i (&sums)[R][C]) {
  const int64_t step = kFull ? 64 : 4 * n, first = kFull ? 32 : 2 * n;
  const __mmask16 lanes = static_cast<__mmask16>((1u << n) - 1u);
  const auto w_at = [&](int r, int k) TPLM_AVX512 {
    const uint8_t* p = grp[r] + first + step * k;
    return kFull ? load512(p) : _mm512_maskz_loadu_epi32(lanes, p);
  };
  if constexpr (dt == DType::Q8_0) {
    TPLM_UNROLL
    for (int k = 0; k < 8; ++k) {
      __m512i xs[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) xs[c] = load512(xg[c] + 64 * k);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i w = w_at(r, k);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) sums[r][c] = _mm512_dpbusd_epi32(sums[r][c], w, xs[c]);
      }
    }
  } else {
    const __m512i nib = _mm512_set1_epi8(0x0f);
    TPLM_UNROLL
    for (int k = 0; k < 4; ++k) {
      __m512i lo_x[C], hi_x[C];
      TPLM_UNROLL
      for (int c = 0; c < C; ++c) {
        lo_x[c] = load512(xg[c] + 64 * k);
        hi_x[c] = load512(xg[c] + 64 * (k + 4));
      }
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i v = w_at(r, k);
        const __m512i lo = _mm512_and_si512(v, nib);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) {
          sums[r][c] = _mm512_dpbusd_epi32(sums[r][c], lo, lo_x[c]);
          sums[r][c] = _mm512_dpbusd_epi32(sums[r][c], hi, hi_x[c]);
        }
      }
    }
  }
}

// A last group of n <= 8 blocks, all in 256 bits: half as many vpdpbusd and
// float operations. Its lanes n .. 7 (padded blocks: 0 sums, 0 scales) and
// 8 .. 15 would only add +0, which leaves an accumulator lane as it is (a lane
// is never -0: it starts at +0 and x + (-x) is +0), so they are skipped.
template <DType dt, int R, int C>
TPLM_AVX512 inline void half_group(const uint8_t* const* grp, const int8_t* const* xg, int64_t n,
                                   const TokenRows<C>& x, int64_t g, __m512 (&acc)[R][C]) {
  const __mmask8 lanes = static_cast<__mmask8>((1u << n) - 1u);
  const auto w_at = [&](int r, int k) TPLM_AVX512 {
    return _mm256_maskz_loadu_epi32(lanes, grp[r] + 2 * n + 4 * n * k);
  };
  const auto x_at = [&](int c, int k) TPLM_AVX512 {
    return _mm256_loadu_si256(static_cast<const __m256i*>(vp(xg[c] + 64 * k)));
  };
  __m256i s[R][C];
  TPLM_UNROLL
  for (int c = 0; c < C; ++c) {
    const __m256i ib = _mm256_loadu_si256(static_cast<const __m256i*>(vp(x.iblk[c] + 16 * g)));
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) s[r][c] = ib;
  }
  const __m256i nib = _mm256_set1_epi8(0x0f);
  TPLM_UNROLL
  for (int k = 0; k < (dt == DType::Q8_0 ? 8 : 4); ++k) {
    __m256i lo_x[C], hi_x[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      lo_x[c] = x_at(c, k);
      if constexpr (dt == DType::Q4_0) hi_x[c] = x_at(c, k + 4);
    }
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256i v = w_at(r, k);
      if constexpr (dt == DType::Q8_0) {
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) s[r][c] = _mm256_dpbusd_epi32(s[r][c], v, lo_x[c]);
      } else {
        const __m256i lo = _mm256_and_si256(v, nib);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) {
          s[r][c] = _mm256_dpbusd_epi32(s[r][c], lo, lo_x[c]);
          s[r][c] = _mm256_dpbusd_epi32(s[r][c], hi, hi_x[c]);
        }
      }
    }
  }
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m256 dw = _mm256_cvtph_ps(_mm_maskz_loadu_epi16(lanes, grp[r]));
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      const __m256 scale = _mm256_mul_ps(dw, _mm256_loadu_ps(x.d[c] + 16 * g));
      const __m256 low =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[r][c]), scale, _mm512_castps512_ps256(acc[r][c]));
      acc[r][c] = _mm512_insertf32x8(acc[r][c], low, 0);
    }
  }
}

// R regrouped rows x C tokens from t0: out[r * C + c], or out[c * R + r] by token.
template <DType dt, int R, int C, bool kByToken = false>
TPLM_AVX512 void tile_grouped(const uint8_t* const* wrow, const QuantActs& a, int64_t t0,
                              float* out) {
  constexpr int64_t kGroupBytes = 16 * (dt == DType::Q8_0 ? 34 : 18);
  const int64_t nb = a.cols / 32;
  const TokenRows<C> x(a, t0);
  __m512 acc[R][C];
  TPLM_UNROLL
  for (int r = 0; r < R; ++r) TPLM_UNROLL
  for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t g = 0; g < a.groups; ++g) {
    const int64_t n = std::min<int64_t>(16, nb - 16 * g);
    const uint8_t* grp[R];
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      grp[r] = wrow[r] + kGroupBytes * g;
      if constexpr (C == 1) fetch_group<kGroupBytes>(grp[r]);
    }
    // This group's activations: one pointer per token, a constant offset per step.
    const int8_t* xg[C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) xg[c] = x.qt[c] + 512 * g;
    if (n <= 8) {  // only the last group is short
      half_group<dt, R, C>(grp, xg, n, x, g, acc);
      continue;
    }
    __m512i sums[R][C];
    TPLM_UNROLL
    for (int c = 0; c < C; ++c) {
      const __m512i ib = load512(x.iblk[c] + 16 * g);
      TPLM_UNROLL
      for (int r = 0; r < R; ++r) sums[r][c] = ib;
    }
    if (n == 16)
      group_dots<dt, R, C, true>(grp, xg, n, sums);
    else
      group_dots<dt, R, C, false>(grp, xg, n, sums);
    const __mmask16 lanes = static_cast<__mmask16>((1u << n) - 1u);
    TPLM_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512 dw =
          _mm512_cvtph_ps(n == 16 ? load256(grp[r]) : _mm256_maskz_loadu_epi16(lanes, grp[r]));
      TPLM_UNROLL
      for (int c = 0; c < C; ++c)
        acc[r][c] = add_group(acc[r][c], sums[r][c], dw, _mm512_loadu_ps(x.d[c] + 16 * g));
    }
  }
  finish_tile<R, C, kByToken>(acc, out);
}

// A 4 x 4 tile leaves its sums token by token (out[c * 4 + r]): each token's
// 4 rows are one 128-bit store into y. Other shapes: store_tile's order.
template <DType dt>
struct GroupedTiles {
  template <int R, int C>
  static constexpr bool kByToken = R == 4 && C == 4;
  template <int R, int C>
  TPLM_AVX512 static void run(const uint8_t* const* wrow, const QuantActs& a, int64_t t,
                              float* out) {
    if constexpr (kIsK<dt>)
      tile_k<dt, R, C, KSource::Grouped, kByToken<R, C>>(wrow, a, t, out);
    else
      tile_grouped<dt, R, C, kByToken<R, C>>(wrow, a, t, out);
  }
  template <int R, int C>
  TPLM_AVX512 static void store(const float* out, const float* bias, float* y, int64_t stride,
                                int64_t r, int64_t t) {
    if constexpr (kByToken<R, C>) {
      const __m128 b = bias ? _mm_loadu_ps(bias + r) : _mm_setzero_ps();
      TPLM_UNROLL
      for (int c = 0; c < C; ++c)
        _mm_storeu_ps(y + (t + c) * stride + r, _mm_add_ps(_mm_loadu_ps(out + 4 * c), b));
    } else {
      store_tile<R, C>(out, bias, y, stride, r, t);
    }
  }
};

// Unpacked rows u[0 .. R) (weight rows [r, r + R)) x tokens [t0, t1), C at a
// time, then one at a time.
template <DType dt, int R, int C>
TPLM_AVX512 void unpacked_tokens(const uint8_t* const* u, const QuantActs& a, const float* bias,
                                 float* y, int64_t stride, int64_t r, int64_t t0, int64_t t1) {
  float out[R * C];
  int64_t t = t0;
  for (; t + C <= t1; t += C) {
    tile_k<dt, R, C, KSource::Unpacked>(u, a, t, out);
    store_tile<R, C>(out, bias, y, stride, r, t);
  }
  for (; t < t1; ++t) {
    tile_k<dt, R, 1, KSource::Unpacked>(u, a, t, out);
    store_tile<R, 1>(out, bias, y, stride, r, t);
  }
}

// K-quant rows [r0, r1) x tokens [t0, t1), R rows unpacked at a time, C
// tokens per tile: a batch decodes each weight step once per row, not once
// per C tokens.
template <DType dt>
TPLM_AVX512 void rows_unpacked(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                               int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  // 3 x 4 measured faster than 4 x 4 (which spills), 4 x 2 and 2 x 4 (2048 x
  // 768, T 64, 2 threads: Q4_K 0.88 -> 0.66 ms, Q5_K 0.85 -> 0.73, Q6_K 0.57 -> 0.50).
  constexpr int R = 3, C = 4;
  const int64_t nB = w.cols / 256, groups = (nB + kPerGroup<dt> - 1) / kPerGroup<dt>;
  const int64_t rb = row_bytes(w), ub = kUnpackedBytes<dt> * groups;
  thread_local std::vector<uint8_t> buf;
  buf.resize(static_cast<size_t>(R * ub));
  for (int64_t r = r0; r < r1; r += R) {
    const int64_t n = std::min<int64_t>(R, r1 - r);
    const uint8_t* u[R];
    for (int64_t i = 0; i < n; ++i) {
      u[i] = buf.data() + i * ub;
      unpack_k_row<dt>(static_cast<const uint8_t*>(w.data) + (r + i) * rb, nB, buf.data() + i * ub);
    }
    if (n == R) {
      unpacked_tokens<dt, R, C>(u, a, bias, y, w.rows, r, t0, t1);
    } else {  // the last rows, one at a time
      for (int64_t i = 0; i < n; ++i)
        unpacked_tokens<dt, 1, C>(u + i, a, bias, y, w.rows, r + i, t0, t1);
    }
  }
}

template <DType dt>
TPLM_AVX512 void rows_grouped(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                              int64_t r0, int64_t r1) {
  if (a.T == 1) return decode_rows<GroupedTiles<dt>>(w, a, bias, y, r0, r1);
  // Decode (one token) streams one row at a time: from memory, more rows at
  // once measured slower (1 row 20 GB/s, 4 rows 10 GB/s on one thread). A
  // batch takes 4 rows x 4 tokens (Q4_0 2) per tile, so each load serves several
  // products (4 x 4 measured faster than 4 x 3, 8 x 2, 2 x 8, 6 x 2).
  constexpr int R = 4, C = dt == DType::Q8_0 ? 4 : 2;
  // Tokens in chunks whose activations stay in the L2 cache.
  const int64_t chunk = std::max<int64_t>(C, (256 * 1024 / std::max<int64_t>(a.cols, 1)) / C * C);
  for (int64_t t0 = 0; t0 < a.T; t0 += chunk) {
    const int64_t t1 = std::min(a.T, t0 + chunk);
    if (kIsK<dt> && t1 - t0 >= kPackMinTokens) {
      rows_unpacked<dt>(a, w, bias, y, r0, r1, t0, t1);
      continue;
    }
    int64_t r = r0;
    if (t1 - t0 > 1)
      for (; r + R <= r1; r += R) rows_tokens<GroupedTiles<dt>, R, C>(w, a, bias, y, r, t0, t1);
    for (; r < r1; ++r) rows_tokens<GroupedTiles<dt>, 1, C>(w, a, bias, y, r, t0, t1);
  }
}

}  // namespace

// quantize_blocks_scalar's operations 16 at a time: max_ps(v, m) is
// std::max(m, v) (a NaN v leaves m), mul then add then sub round half to even
// as round_even does, max_ps(v, -127) and min_ps(v, 127) are its clamp.
TPLM_AVX512 void quantize_blocks_avx512(const float* x, int64_t n_blocks, int64_t B, int8_t* q,
                                        float* d) {
  const __m512 magic = _mm512_set1_ps(12582912.0f), lo = _mm512_set1_ps(-127.0f),
               hi = _mm512_set1_ps(127.0f);
  for (int64_t b = 0; b < n_blocks; ++b) {
    const float* xb = x + b * B;
    __m512 m = _mm512_setzero_ps();
    for (int64_t i = 0; i < B; i += 16)
      m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb + i)), m);
    const float amax = _mm512_reduce_max_ps(m);
    d[b] = amax / 127.0f;
    const __m512 id = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    for (int64_t i = 0; i < B; i += 16) {
      __m512 v = _mm512_mul_ps(_mm512_loadu_ps(xb + i), id);
      v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
      v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
      _mm_storeu_si128(static_cast<__m128i*>(static_cast<void*>(q + b * B + i)),
                       _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v)));
    }
  }
}

TPLM_AVX512 void group_acts_avx512(const int8_t* q, int64_t nb, int64_t groups, int32_t offset,
                                   int32_t* bsum, int8_t* qt, int32_t* iblk) {
  const __m512i ones = _mm512_set1_epi8(1), neg_offset = _mm512_set1_epi32(-offset);
  for (int64_t g = 0; g < groups; ++g) {
    __m256i blk[16], lo[8], hi[8];
    for (int l = 0; l < 16; ++l) {
      const int64_t b = 16 * g + l;
      blk[l] =
          b < nb ? load256(reinterpret_cast<const uint8_t*>(q + 32 * b)) : _mm256_setzero_si256();
    }
    transpose8x8(blk, lo);
    transpose8x8(blk + 8, hi);
    __m512i sums = _mm512_setzero_si512();  // lane l: block 16g + l's sum (1 x q, exact)
    for (int k = 0; k < 8; ++k) {
      const __m512i step = _mm512_inserti64x4(_mm512_castsi256_si512(lo[k]), hi[k], 1);
      _mm512_storeu_si512(qt + 512 * g + 64 * k, step);
      sums = _mm512_dpbusd_epi32(sums, ones, step);
    }
    _mm512_storeu_si512(iblk + 16 * g, _mm512_mullo_epi32(sums, neg_offset));
    const int64_t n = std::min<int64_t>(16, nb - 16 * g);
    _mm512_mask_storeu_epi32(bsum + 16 * g, static_cast<__mmask16>((1u << n) - 1u), sums);
  }
}

// Q6_K: super-block B of q as 16 rows of 4 words (row l: sub-block l); step k
// of qt is column k (word 4l + k of the super-block in lane l), and lane l of
// the steps' vpdpbusd with ones is the sum of sub-block l.
TPLM_AVX512 void group_acts16_avx512(const int8_t* q, int64_t nB, int32_t offset, int8_t* qt,
                                     int32_t* isub) {
  const __m512i ones = _mm512_set1_epi8(1), neg_offset = _mm512_set1_epi32(-offset);
  for (int64_t B = 0; B < nB; ++B) {
    const uint8_t* src = reinterpret_cast<const uint8_t*>(q + 256 * B);
    const __m512i v0 = load512(src), v1 = load512(src + 64), v2 = load512(src + 128),
                  v3 = load512(src + 192);
    __m512i sums = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) {
      // lanes 0-7: word 4l + k for l = 0 .. 7 (from v0, v1; v2, v3 alike for 8 .. 15)
      const __m512i idx = _mm512_setr_epi32(k, 4 + k, 8 + k, 12 + k, 16 + k, 20 + k, 24 + k, 28 + k,
                                            0, 0, 0, 0, 0, 0, 0, 0);
      const __m512i low = _mm512_permutex2var_epi32(v0, idx, v1);
      const __m512i high = _mm512_permutex2var_epi32(v2, idx, v3);
      const __m512i step = _mm512_shuffle_i64x2(low, high, _MM_SHUFFLE(1, 0, 1, 0));
      _mm512_storeu_si512(qt + 256 * B + 64 * k, step);
      sums = _mm512_dpbusd_epi32(sums, ones, step);
    }
    _mm512_storeu_si512(isub + 16 * B, _mm512_mullo_epi32(sums, neg_offset));
  }
}

void qmatmul_rows_avx512(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                         int64_t r0, int64_t r1) {
  if (w.layout == WeightLayout::CpuGroups) {
    switch (w.dtype) {
      case DType::Q8_0:
        return rows_grouped<DType::Q8_0>(a, w, bias, y, r0, r1);
      case DType::Q4_0:
        return rows_grouped<DType::Q4_0>(a, w, bias, y, r0, r1);
      case DType::Q4_K:
        return rows_grouped<DType::Q4_K>(a, w, bias, y, r0, r1);
      case DType::Q5_K:
        return rows_grouped<DType::Q5_K>(a, w, bias, y, r0, r1);
      default:
        return rows_grouped<DType::Q6_K>(a, w, bias, y, r0, r1);
    }
  }
  qmatmul_rows_level(a, w, bias, y, r0, r1);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
