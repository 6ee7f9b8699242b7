#include "backend/cpu/kernels.hpp"

#include <cstdlib>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <cstring>

namespace tplm::cpu {

// TPLM_NO_AVX2=1 in the environment forces the scalar kernels (for testing them).
bool have_avx2() {
  static const bool yes = [] {
#if defined(__x86_64__)
    const char* off = std::getenv("TPLM_NO_AVX2");
    if (off != nullptr && std::strcmp(off, "1") == 0) return false;
    __builtin_cpu_init();
    // clang 14's __builtin_cpu_supports does not know "f16c": read CPUID leaf 1, ECX bit 29.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    return f16c && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }();
  return yes;
}

void matmul_rows(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                 int64_t r0, int64_t r1) {
#if defined(__x86_64__)
  if (have_avx2()) return matmul_rows_avx2(x, T, w, bias, y, r0, r1);
#endif
  matmul_rows_scalar(x, T, w, bias, y, r0, r1);
}

float dot_f32(const float* a, const float* b, int64_t n) {
#if defined(__x86_64__)
  if (have_avx2()) return dot_f32_avx2(a, b, n);
#endif
  return dot_f32_scalar(a, b, n);
}

}  // namespace tplm::cpu
