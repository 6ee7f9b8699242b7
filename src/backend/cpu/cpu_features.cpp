#include "backend/cpu/cpu_features.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace tplm::cpu {
namespace {

struct Detected {
  CpuLevel level = CpuLevel::Scalar;
  bool bf16 = false;
};

#if defined(__x86_64__)
uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

Detected detect() {
  Detected d;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, dx = 0;
  if (!__get_cpuid(1, &a, &b, &c, &dx)) return d;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  if (!osxsave || !avx) return d;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return d;  // the OS saves xmm and ymm
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &dx)) return d;
  const bool avx2 = b & (1u << 5);
  if (!(avx2 && fma && f16c)) return d;
  d.level = CpuLevel::Avx2;
  const bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  const bool vnni = c & (1u << 11);
  const bool zmm_state = (xcr0 & 0xe0) == 0xe0;  // opmask, zmm0-15 upper halves, zmm16-31
  if (f && dq && bw && vl && vnni && zmm_state) {
    d.level = CpuLevel::Avx512;
    unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
    d.bf16 = __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5));
  }
#endif
  return d;
}

const Detected& detected() {
  static const Detected d = detect();
  return d;
}

CpuLevel from_env(CpuLevel best) {
  const char* off = std::getenv("TPLM_NO_AVX2");
  if (off != nullptr && std::strcmp(off, "1") == 0) return CpuLevel::Scalar;
  const char* want = std::getenv("TPLM_CPU_LEVEL");
  if (want == nullptr) return best;
  CpuLevel l = best;
  if (std::strcmp(want, "scalar") == 0) l = CpuLevel::Scalar;
  if (std::strcmp(want, "avx2") == 0) l = CpuLevel::Avx2;
  if (std::strcmp(want, "avx512") == 0) l = CpuLevel::Avx512;
  return l < best ? l : best;
}

std::atomic<int> g_override{-1};

}  // namespace

std::string_view cpu_level_name(CpuLevel l) {
  switch (l) {
    case CpuLevel::Scalar:
      return "scalar";
    case CpuLevel::Avx2:
      return "avx2";
    case CpuLevel::Avx512:
      return "avx512";
  }
  return "?";
}

CpuLevel detected_cpu_level() {
  return detected().level;
}

CpuLevel cpu_level() {
  static const CpuLevel env = from_env(detected().level);
  const int o = g_override.load(std::memory_order_relaxed);
  return o >= 0 ? static_cast<CpuLevel>(o) : env;
}

bool have_avx512_bf16() {
  return cpu_level() == CpuLevel::Avx512 && detected().bf16;
}

void set_cpu_level(CpuLevel l) {
  const CpuLevel best = detected().level;
  g_override.store(static_cast<int>(l < best ? l : best));
}

void reset_cpu_level() {
  g_override.store(-1);
}

}  // namespace tplm::cpu
