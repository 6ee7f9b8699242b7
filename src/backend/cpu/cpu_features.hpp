#pragma once
// Which SIMD kernels this CPU can run, read once from cpuid (and the OS's saved
// register state, xgetbv), and lowered by the environment for testing:
//   TPLM_CPU_LEVEL=scalar|avx2|avx512   never above what the CPU has
//   TPLM_NO_AVX2=1                      the same as TPLM_CPU_LEVEL=scalar
#include <cstdint>
#include <string_view>

namespace tplm::cpu {

enum class CpuLevel : uint8_t {
  Scalar,  // portable C++
  Avx2,    // AVX2 + FMA + F16C
  Avx512,  // AVX-512 F/BW/VL + VNNI (+ BF16 where present)
};

std::string_view cpu_level_name(CpuLevel l);  // "scalar", "avx2", "avx512"

// The best level the CPU has, ignoring the environment.
CpuLevel detected_cpu_level();
// The level the kernels use: the detected one, lowered by the environment.
CpuLevel cpu_level();
// AVX-512 BF16 (vdpbf16ps) at the Avx512 level.
bool have_avx512_bf16();

// For tests: run the kernels at `l` (clamped to the detected level) until
// reset_cpu_level(). Not thread-safe with running kernels.
void set_cpu_level(CpuLevel l);
void reset_cpu_level();

}  // namespace tplm::cpu
