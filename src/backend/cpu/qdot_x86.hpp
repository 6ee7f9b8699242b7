#pragma once
// x86 helpers shared by the AVX2 and AVX-512 integer kernels (qdot_avx2.cpp,
// qdot_avx512.cpp). Compiled for AVX2, so the AVX-512 functions inline them.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

namespace tplm::cpu {

// sum_j m[j] * bs[j] over 8 int32: a K-quant super-block's mins times its
// activation block sums (exact: |m| < 64, |bs| <= 32 * 127).
__attribute__((target("avx2"))) inline int32_t dot8(const int32_t* m, const int32_t* bs) {
  const __m256i pr = _mm256_mullo_epi32(
      _mm256_loadu_si256(static_cast<const __m256i*>(static_cast<const void*>(m))),
      _mm256_loadu_si256(static_cast<const __m256i*>(static_cast<const void*>(bs))));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(pr), _mm256_extracti128_si256(pr, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
}

}  // namespace tplm::cpu
#endif  // __x86_64__
