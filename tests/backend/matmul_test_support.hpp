#pragma once
// What the cpu matmul tests share: the dtypes and kernel levels they sweep, a
// scope that forces a level, and one matmul call into a fresh output.
#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/cpu_features.hpp"
#include "backend/reference.hpp"

namespace tplm::test {

constexpr DType kAllDtypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                                DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
constexpr DType kIntDtypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
constexpr cpu::CpuLevel kLevels[] = {cpu::CpuLevel::Scalar, cpu::CpuLevel::Avx2,
                                     cpu::CpuLevel::Avx512};

// Runs the kernels at one level while in scope.
struct AtLevel {
  explicit AtLevel(cpu::CpuLevel l) { cpu::set_cpu_level(l); }
  ~AtLevel() { cpu::reset_cpu_level(); }
};

// y = x W^T (+ bias) for T tokens of x; outputs start as NaN so none is missed.
inline std::vector<float> run_matmul(Backend& be, const float* x, int64_t T, const TestWeight& w,
                                     const std::vector<float>& bias) {
  std::vector<float> y(static_cast<size_t>(T * w.rows), std::nanf(""));
  be.matmul(x, T, w.view(), bias.empty() ? nullptr : bias.data(), y.data());
  return y;
}
inline std::vector<float> run_matmul(Backend& be, const std::vector<float>& x, int64_t T,
                                     const TestWeight& w, const std::vector<float>& bias) {
  return run_matmul(be, x.data(), T, w, bias);
}

}  // namespace tplm::test
