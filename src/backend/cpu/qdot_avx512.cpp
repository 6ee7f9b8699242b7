// The integer kernels with AVX-512 VNNI (vpdpbusd: 64 u8 x s8 products summed
// in groups of 4 into 16 int32 lanes per instruction), every float operation
// the scalar reference's (qdot.cpp), so the results are its bits.
//   K-quants: lane l of step s (64 elements) holds elements 64s + 4l .. + 3.
//   Q8_0, Q4_0: a group of 16 blocks ends as one vector of their 16 exact
//   sums, lane l = block 16g + l (one float multiply-add per block and token,
//   not per 4 elements). The model's matrices are regrouped when loaded
//   (WeightLayout::CpuGroups, tile_grouped): lane l of all 8 steps is block
//   l, and the sums come out of vpdpbusd with no decoding. Weights in the
//   file's layout (the embedding table as a tied LM head, direct callers) are
//   read in element order with each block's 8 lanes folded into its own
//   (group_sums) for decode, or unpacked per call into the grouped order
//   (pack_groups) for a batch.
// A tile of R rows x C tokens decodes each weight step once for C tokens (the
// prefill GEMM); the tile shape never changes an output's arithmetic.
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

TPLM_AVX512 inline float reduce16(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  return hsum16(lanes);
}

// out[o] = reduce16(v[o]) for the N outputs of a tile, with hsum16's additions
// (lanes i and i + 8, i + 4, i + 2, i + 1) done for 16 vectors at once: each
// step adds the halves of two vectors in one instruction, so the 16 sums take
// 15 additions instead of 16 stores and 240 scalar ones. Bit for bit reduce16.
// (GCC 12 flags the unset source vector inside _mm512_shuffle_f32x4 and
// _mm512_permutexvar_ps, _mm512_undefined_ps, as uninitialized.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
template <int N>
TPLM_AVX512 inline void reduce16_tile(const __m512* v, float* out) {
  static_assert(N >= 1 && N <= 16);
  if constexpr (N == 1) {
    out[0] = reduce16(v[0]);
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
#pragma GCC diagnostic pop

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
    uint64_t sc, m;  // in registers: a store of 8 int32 then a vector load stalls
    unpack_k_scale_bytes(blk + 4, sc, m);
    k.base = _mm512_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(sc)));
    _mm256_storeu_si256(static_cast<__m256i*>(static_cast<void*>(k.m)),
                        _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(m))));
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

// The 16 block sums of group g of a row in element order (decode): each pair
// of blocks is one vpdpbusd of 2 x 8 lanes, whose lanes are then folded so
// that lane l holds all of block 16g + l (0 past the row's nb blocks). The
// activations' offset term (iblk) is added by the caller.
template <DType dt>
TPLM_AVX512 inline __m512i group_sums(const uint8_t* row, int64_t g, int64_t nb, const int8_t* x) {
  const int64_t b0 = 16 * g;
  __m512i quad[4];  // blocks b0 + 4i + c in 128-bit chunk c, 4 lanes each
  TPLM_UNROLL
  for (int i = 0; i < 4; ++i) {
    __m512i pairs[2];
    TPLM_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int64_t b = b0 + 4 * i + 2 * h;
      if (b + 2 <= nb) {
        pairs[h] =
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), load_pair<dt>(row, b), load512(x + 32 * b));
      } else if (b < nb) {  // the odd last block: lanes 0-7
        pairs[h] = _mm512_dpbusd_epi32(
            _mm512_setzero_si512(), load_one<dt>(row, b),
            _mm512_zextsi256_si512(load256(static_cast<const uint8_t*>(vp(x + 32 * b)))));
      } else {
        pairs[h] = _mm512_setzero_si512();
      }
    }
    // [A0 A1 | B0 B1], [C0 C1 | D0 D1] -> [A0 B0 C0 D0] + [A1 B1 C1 D1]
    quad[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(pairs[0], pairs[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_i32x4(pairs[0], pairs[1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Sum each chunk's 4 lanes: chunk c, lane i of s = block b0 + 4i + c.
  const __m512i u0 = _mm512_add_epi32(_mm512_unpacklo_epi32(quad[0], quad[1]),
                                      _mm512_unpackhi_epi32(quad[0], quad[1]));
  const __m512i u1 = _mm512_add_epi32(_mm512_unpacklo_epi32(quad[2], quad[3]),
                                      _mm512_unpackhi_epi32(quad[2], quad[3]));
  const __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(u0, u1), _mm512_unpackhi_epi64(u0, u1));
  const __m512i to_block = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(to_block, s);
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
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* u = p.u.data() + i * p.ustride;
    if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
      pack_groups<dt>(wrow[i], p.cols / 32, p.u.data() + i * p.ustride);
      for (int64_t b = 0; b < p.cols / 32; ++b) pack_scales(p, i, b, block_d<dt>(wrow[i], b));
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

// A lane's group sum L times its integer scale in one vpdpwssd (int16 pairs):
// |L| < 2^15 (at most 4 x 32 x 127) and the scale's high 16 bits are made 0,
// so lo16(L) * lo16(sc) + hi16(L) * 0 is exactly L * sc. Q6_K's scales are
// signed: their low 16 bits keep the sign as an int16.
template <DType dt>
TPLM_AVX512 inline __m512i scale16(__m512i sc) {
  if constexpr (dt == DType::Q6_K) return _mm512_and_si512(sc, _mm512_set1_epi32(0xffff));
  return sc;  // 0 .. 63
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
        const __m512i sc = scale16<dt>(src.scales(r, B, s));
        TPLM_UNROLL
        for (int c = 0; c < C; ++c) {
          const __m512i L = _mm512_dpbusd_epi32(init[c], w, x[c]);
          A[r][c] = _mm512_dpwssd_epi32(A[r][c], L, sc);  // A + L * sc, exactly
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
    tile32_raw<dt, R, C>(wrow, a, t0, out);
  } else {
    tile_k<dt, RawRowsK<dt, R>, R, C>(RawRowsK<dt, R>{wrow, {}, {}}, a, t0, out);
  }
}

// Packed rows [i, i + R) x C tokens.
template <DType dt, int R, int C>
TPLM_AVX512 inline void ptile(const PackedRows& p, int64_t i, const QuantActs& a, int64_t t0,
                              float* out) {
  if constexpr (dt == DType::Q8_0 || dt == DType::Q4_0) {
    tile32_packed<R, C>(p, i, a, t0, out);
  } else {
    tile_k<dt, PackedRowsK<R>, R, C>(PackedRowsK<R>{&p, i}, a, t0, out);
  }
}

// Rows [r, r + R) x tokens [t0, t1), C tokens at a time, then one at a time.
constexpr int kTileRows = 4, kTileTokensQ32 = 2, kTileTokensK = 2;
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
      // This group's lines at once, and the group after next: each row is
      // read once, in order (measured from memory, 32768 x 2048 Q8_0, one
      // thread: 10 GB/s with only the hardware's prefetch, 20 with these).
      if constexpr (C == 1) TPLM_UNROLL
      for (int off = 0; off < kGroupBytes; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(grp[r] + off), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(grp[r] + 2 * kGroupBytes + off), _MM_HINT_T0);
      }
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

// A 4 x 4 tile leaves its sums token by token (out[c * 4 + r]): each token's
// 4 rows are one 128-bit store into y. Other shapes: store_tile's order.
template <DType dt>
struct GroupedTiles {
  template <int R, int C>
  static constexpr bool kByToken = R == 4 && C == 4;
  template <int R, int C>
  TPLM_AVX512 static void run(const uint8_t* const* wrow, const QuantActs& a, int64_t t,
                              float* out) {
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

template <DType dt>
TPLM_AVX512 void rows_grouped(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                              int64_t r0, int64_t r1) {
  // Decode (one token) streams one row at a time: from memory, more rows at
  // once measured slower (1 row 20 GB/s, 4 rows 10 GB/s on one thread). A
  // batch takes 4 rows x 4 tokens (Q4_0 2) per tile, so each load serves several
  // products (4 x 4 measured faster than 4 x 3, 8 x 2, 2 x 8, 6 x 2).
  constexpr int R = 4, C = dt == DType::Q8_0 ? 4 : 2;
  // Tokens in chunks whose activations stay in the L2 cache.
  const int64_t chunk = std::max<int64_t>(C, (256 * 1024 / std::max<int64_t>(a.cols, 1)) / C * C);
  for (int64_t t0 = 0; t0 < a.T; t0 += chunk) {
    const int64_t t1 = std::min(a.T, t0 + chunk);
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

void qmatmul_rows_avx512(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                         int64_t r0, int64_t r1) {
  if (w.layout == WeightLayout::CpuGroups) {
    if (w.dtype == DType::Q8_0) return rows_grouped<DType::Q8_0>(a, w, bias, y, r0, r1);
    return rows_grouped<DType::Q4_0>(a, w, bias, y, r0, r1);
  }
  qmatmul_rows_level(a, w, bias, y, r0, r1);
}

}  // namespace tplm::cpu
#endif  // __x86_64__
