// The BF16 contract's edges (kernels.hpp): activation rounding as
// vcvtneps2bf16, subnormal inputs read as zero and subnormal results flushed
// as vdpbf16ps does, at every kernel level the CPU has.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/bf16_dot.hpp"
#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/qdot.hpp"
#include "backend/matmul_test_support.hpp"
#include "format/half.hpp"

namespace tplm {
namespace {

using test::AtLevel;
using test::kLevels;

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

TEST(CpuBf16Dot, RoundsToNearestEvenFlushesSubnormalsAndQuietsNaN) {
  EXPECT_EQ(cpu::round_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie: to the even 0x3f80
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie: to the even 0x3f82
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above the tie: up
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0xbf807fff)), 0xbf80);  // below the tie: down
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x7f7fffff)), 0x7f80);  // the largest float: inf
  EXPECT_EQ(cpu::round_to_bf16(-INFINITY), 0xff80);
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x00400000)), 0x0000);  // subnormal: +0
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x80000001)), 0x8000);  // subnormal: -0
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0x7f800001)), 0x7fc0);  // signalling NaN: quiet
  EXPECT_EQ(cpu::round_to_bf16(from_bits(0xffc12345)), 0xffc1);
}

// Every level's rounding of whole rows (vcvtne2ps2bf16 at AVX-512 BF16) is
// round_to_bf16's, over random bit patterns (NaN, inf, subnormals included),
// and the padding to 32 columns is zeros.
TEST(CpuBf16Dot, EveryLevelRoundsRowsAsRoundToBf16) {
  std::mt19937 rng(7);
  const int64_t T = 3, cols = 100;
  std::vector<float> x(T * cols);
  for (float& v : x) v = from_bits(static_cast<uint32_t>(rng()));
  for (cpu::CpuLevel l : kLevels) {
    if (l > cpu::detected_cpu_level()) continue;
    AtLevel at(l);
    SCOPED_TRACE(cpu::cpu_level_name(l));
    cpu::Bf16Acts a;
    cpu::prepare_bf16_acts(a, T, cols);
    ASSERT_EQ(a.stride, 128);
    cpu::round_bf16_acts_rows(x.data(), a, 0, T);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < a.stride; ++c)
        ASSERT_EQ(a.row(t)[c], c < cols ? cpu::round_to_bf16(x[t * cols + c]) : 0)
            << "t " << t << " c " << c;
  }
}

// y for one row of bf16 bit patterns against one token, at the current level.
float dot(const std::vector<uint16_t>& w, const std::vector<float>& x) {
  cpu::Bf16Acts a;
  cpu::prepare_bf16_acts(a, 1, static_cast<int64_t>(x.size()));
  cpu::round_bf16_acts_rows(x.data(), a, 0, 1);
  WeightView v;
  v.dtype = DType::BF16;
  v.rows = 1;
  v.cols = static_cast<int64_t>(w.size());
  v.data = w.data();
  float y = std::nanf("");
  cpu::bf16_matmul_rows(a, v, nullptr, &y, 0, 1);
  return y;
}

TEST(CpuBf16Dot, SubnormalInputsReadAsZeroAndSubnormalResultsFlush) {
  for (cpu::CpuLevel l : kLevels) {
    if (l > cpu::detected_cpu_level()) continue;
    AtLevel at(l);
    SCOPED_TRACE(cpu::cpu_level_name(l));
    // a subnormal weight (2^-133) times 2^100 would be 2^-33: read as 0
    EXPECT_EQ(dot({0x0001, 0}, {std::ldexp(1.0f, 100), 0.0f}), 0.0f);
    // 2^-70 * 2^-60 = 2^-130 is subnormal: flushed to zero
    EXPECT_EQ(dot({0x1c80, 0}, {std::ldexp(1.0f, -60), 0.0f}), 0.0f);
    // 2^-70 * 2^-50 = 2^-120 is normal: kept
    EXPECT_EQ(dot({0x1c80, 0}, {std::ldexp(1.0f, -50), 0.0f}), std::ldexp(1.0f, -120));
  }
}

// The contract spelled out straight from kernels.hpp (lane l of a step adds
// column 2l + 1, then 2l, each fused; zero columns pad the last step; hsum16)
// against every level, over values with wide exponents, where a different
// order or an unfused step shows in the bits.
TEST(CpuBf16Dot, EveryLevelComputesTheContractsSteps) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  const int64_t cols = 32 * 64 + 7;  // a partial last step
  std::vector<uint16_t> w(cols);
  std::vector<float> x(cols);
  for (int64_t c = 0; c < cols; ++c) {
    w[c] = cpu::round_to_bf16(std::ldexp(u(rng), static_cast<int>(rng() % 24) - 12));
    x[c] = std::ldexp(u(rng), static_cast<int>(rng() % 24) - 12);
  }
  float lane[16] = {};
  for (int64_t k = 0; k < cols; k += 32)
    for (int l = 0; l < 16; ++l)
      for (int64_t c : {k + 2 * l + 1, k + 2 * l}) {
        const float wc = c < cols ? bf16_to_f32(w[c]) : 0.0f;
        const float xc = c < cols ? bf16_to_f32(cpu::round_to_bf16(x[c])) : 0.0f;
        lane[l] = std::fma(wc, xc, lane[l]);
      }
  const float want = cpu::hsum16(lane);
  for (cpu::CpuLevel l : kLevels) {
    if (l > cpu::detected_cpu_level()) continue;
    AtLevel at(l);
    SCOPED_TRACE(cpu::cpu_level_name(l));
    const float got = dot(w, x);
    EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0) << got << " vs " << want;
  }
}

}  // namespace
}  // namespace tplm
