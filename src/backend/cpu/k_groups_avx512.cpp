// group_k_rows (k_groups.cpp) with AVX-512: the regrouping every K-quant
// matrix gets when a model loads under the AVX-512 kernels, so its speed is
// load time. The same bytes as k_groups.cpp's reference (the tests ungroup
// them with the reference's inverse).
//
// A Q4_K / Q5_K sub-block s of 32 values is 16 bytes P_s, byte i holding
// elements i and 16 + i; step k of a group, lane l, is bytes 4k .. 4k + 3 of
// P_l: the 16 x 4 words of P, transposed. A Q6_K sub-block of 16 values is 8
// bytes of low nibbles (elements i and 8 + i) and 4 bytes of high bits, each
// lane's words transposed alike.
#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cpu/qdot.hpp"

#define TPLM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,bmi2")))

namespace tplm::cpu {
namespace {

TPLM_AVX512 inline __m128i load128(const uint8_t* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(static_cast<const void*>(p)));
}

// Word `word` of each of the 16 rows (128-bit chunk c of rows[i] is row 4i + c):
// lane l of the result is row l's word.
TPLM_AVX512 inline __m512i column(const __m512i* rows, int word) {
  const int w = word;
  const __m512i idx = _mm512_setr_epi32(w, 4 + w, 8 + w, 12 + w, 16 + w, 20 + w, 24 + w, 28 + w, 0,
                                        0, 0, 0, 0, 0, 0, 0);
  const __m512i low = _mm512_permutex2var_epi32(rows[0], idx, rows[1]);
  const __m512i high = _mm512_permutex2var_epi32(rows[2], idx, rows[3]);
  return _mm512_shuffle_i64x2(low, high, _MM_SHUFFLE(1, 0, 1, 0));
}

// The 8 rows P_s of a Q4_K / Q5_K super-block's low 4 bits (qs: 128 bytes),
// as rows[0..1] (rows[2..3] for the pair's second super-block).
TPLM_AVX512 inline void nibble_rows(const uint8_t* qs, __m512i* rows) {
  const __m128i lo4 = _mm_set1_epi8(0x0f), hi4 = _mm_set1_epi8(static_cast<char>(0xf0));
  __m128i p[8];
  for (int j = 0; j < 4; ++j) {  // 32 bytes: sub-block 2j in the low nibbles, 2j + 1 in the high
    const __m128i a = load128(qs + 32 * j), b = load128(qs + 32 * j + 16);
    p[2 * j] = _mm_or_si128(_mm_and_si128(a, lo4), _mm_slli_epi16(_mm_and_si128(b, lo4), 4));
    p[2 * j + 1] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), lo4), _mm_and_si128(b, hi4));
  }
  for (int i = 0; i < 2; ++i)
    rows[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(p[4 * i + 1], p[4 * i])),
                                 _mm256_set_m128i(p[4 * i + 3], p[4 * i + 2]), 1);
}

// The scales and mins of the group's n super-blocks (scalar: 24 bytes).
void k_scale_bytes(const uint8_t* const* blk, int n, uint8_t* g) {
  uint8_t* lo_bytes = g + 4 * n;
  uint8_t* hi_nibbles = g + 12 * n;
  std::fill(hi_nibbles, hi_nibbles + 4 * n, uint8_t{0});
  for (int h = 0; h < n; ++h) {
    int32_t sc[8], m[8];
    unpack_k_scales(blk[h] + 4, sc, m);
    std::memcpy(g + 2 * h, blk[h], 2);              // d
    std::memcpy(g + 2 * n + 2 * h, blk[h] + 2, 2);  // dmin
    for (int s = 0; s < 8; ++s) {
      const int l = 8 * h + s;
      lo_bytes[l] = static_cast<uint8_t>((sc[s] & 15) | (m[s] & 15) << 4);
      hi_nibbles[l / 2] |= static_cast<uint8_t>(((sc[s] >> 4) | (m[s] >> 4) << 2) << (4 * (l % 2)));
    }
  }
}

// Q5_K: lane 8h + s, byte j of the fifth bits: bit b is element 4b + j's.
TPLM_AVX512 void fifth_bits(const uint8_t* qh, int h, uint8_t* out) {
  const __m256i q = _mm256_loadu_si256(static_cast<const __m256i*>(static_cast<const void*>(qh)));
  for (int s = 0; s < 8; ++s) {
    // bit i: bit s of qh[i], the fifth bit of element i of sub-block s
    const uint32_t bits = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi16(q, 7 - s)));
    for (int j = 0; j < 4; ++j)
      out[4 * (8 * h + s) + j] = static_cast<uint8_t>(_pext_u32(bits, 0x11111111u << j));
  }
}

TPLM_AVX512 void group32_fast(DType dt, const uint8_t* const* blk, int n, uint8_t* g) {
  const bool five = dt == DType::Q5_K;
  k_scale_bytes(blk, n, g);
  __m512i rows[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                     _mm512_setzero_si512()};
  for (int h = 0; h < n; ++h) {
    nibble_rows(blk[h] + (five ? 48 : 16), rows + 2 * h);
    if (five) fifth_bits(blk[h] + 16, h, g + 16 * n);
  }
  uint8_t* qs = g + (five ? 48 : 16) * n;
  for (int k = 0; k < 4; ++k) {
    const __m512i step = column(rows, k);
    if (n == 2)
      _mm512_storeu_si512(qs + 64 * k, step);
    else
      _mm256_storeu_si256(static_cast<__m256i*>(static_cast<void*>(qs + 32 * k)),
                          _mm512_castsi512_si256(step));
  }
}

// Q6_K: the super-block's 256 values decoded in element order (row l of 16
// bytes: sub-block l), then each row's 8 bytes of nibble pairs and 4 of high bits.
TPLM_AVX512 void group16_fast(const uint8_t* blk, uint8_t* g) {
  const __m512i lo4 = _mm512_set1_epi8(0x0f), three = _mm512_set1_epi8(3);
  __m512i nib[4], high[4];
  for (int s = 0; s < 4; ++s) {  // elements 64s .. 64s + 63: rows 4s .. 4s + 3
    const int half = s / 2, odd = s % 2;
    __m512i lo = _mm512_loadu_si512(blk + 64 * half);
    if (odd) lo = _mm512_srli_epi16(lo, 4);
    lo = _mm512_and_si512(lo, lo4);
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(
        static_cast<const __m256i*>(static_cast<const void*>(blk + 128 + 32 * half))));
    const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16(static_cast<short>(4 * odd)),
                                           _mm256_set1_epi16(static_cast<short>(4 * odd + 2)), 1);
    const __m512i hb = _mm512_and_si512(_mm512_srlv_epi16(qh, cnt), three);  // high 2 bits
    // nibble pairs: byte i of a row = element i | element 8 + i << 4
    nib[s] = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_bsrli_epi128(lo, 8), 4));
    // high bits: byte j of a row = elements j, 4 + j, 8 + j, 12 + j, 2 bits each
    high[s] = _mm512_or_si512(_mm512_or_si512(hb, _mm512_slli_epi16(_mm512_bsrli_epi128(hb, 4), 2)),
                              _mm512_or_si512(_mm512_slli_epi16(_mm512_bsrli_epi128(hb, 8), 4),
                                              _mm512_slli_epi16(_mm512_bsrli_epi128(hb, 12), 6)));
  }
  _mm512_storeu_si512(g, column(nib, 0));
  _mm512_storeu_si512(g + 64, column(nib, 1));
  _mm512_storeu_si512(g + 128, column(high, 0));
  std::memcpy(g + 192, blk + 192, 18);  // the scales and d, as they were
}

}  // namespace

TPLM_AVX512 void group_k_row_avx512(DType dt, int64_t cols, const uint8_t* src, uint8_t* dst) {
  const int64_t nB = cols / 256, bb = dtype_traits(dt).block_bytes;
  if (dt == DType::Q6_K) {
    for (int64_t B = 0; B < nB; ++B) group16_fast(src + B * bb, dst + B * bb);
    return;
  }
  for (int64_t B = 0; B < nB; B += 2) {
    const int n = static_cast<int>(std::min<int64_t>(2, nB - B));
    const uint8_t* blk[2] = {src + B * bb, src + (B + n - 1) * bb};
    group32_fast(dt, blk, n, dst + B * bb);
  }
}

}  // namespace tplm::cpu
#endif  // __x86_64__
