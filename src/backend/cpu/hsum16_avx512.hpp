#pragma once
// hsum16 (qdot.hpp) of a vector's 16 lanes, in registers: lanes i and i + 8,
// then i and i + 4, i and i + 2, then the last two, the same additions in the
// same order (a float sum does not depend on its operands' order), so the
// same bits as storing the lanes and calling hsum16, without the store and
// the 16 loads every output of a decode row used to cost. (GCC 12 warns
// that the AVX-512 casts' undefined vectors are used: includers silence it.)
#if defined(__x86_64__)
#include <immintrin.h>

namespace tplm::cpu {

__attribute__((target("avx512f"))) inline float hsum16_avx512(__m512 v) {
  const __m512 high8 = _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_castps512_ps256(high8));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));  // lanes 0, 1: i + (i + 2)
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

}  // namespace tplm::cpu
#endif  // __x86_64__
