// matmul on the cpu backend: every dtype, decode (T = 1) and prefill (T > 1),
// odd shapes, 1-4 threads, against a double-precision reference; results must
// be identical bit for bit across thread counts and between T = 1 and T > 1.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/reference.hpp"
#include "base/error.hpp"

namespace tplm {
namespace {

using test::random_floats;
using test::random_weight;
using test::same_bits;
using test::TestWeight;

constexpr DType kAllDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};

// |y - ref| <= tol * sum_c |x w| : float32 accumulation of `cols` products.
void expect_close_to_reference(const std::vector<float>& y, const std::vector<float>& x,
                               const TestWeight& w, const std::vector<float>& bias, int64_t T) {
  const double tol = 4e-7 * std::sqrt(static_cast<double>(w.cols)) + 1e-7;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = 0; r < w.rows; ++r) {
      double ref = bias.empty() ? 0.0 : bias[r], abs_sum = std::abs(ref);
      for (int64_t c = 0; c < w.cols; ++c) {
        const double p = static_cast<double>(x[t * w.cols + c]) * w.values[r * w.cols + c];
        ref += p;
        abs_sum += std::abs(p);
      }
      ASSERT_NEAR(y[t * w.rows + r], ref, tol * abs_sum + 1e-30) << "t " << t << " r " << r;
    }
}

std::vector<float> run_matmul(Backend& be, const std::vector<float>& x, int64_t T,
                              const TestWeight& w, const std::vector<float>& bias) {
  std::vector<float> y(static_cast<size_t>(T * w.rows), std::nanf(""));
  be.matmul(x.data(), T, w.view(), bias.empty() ? nullptr : bias.data(), y.data());
  return y;
}

TEST(CpuMatmul, AllDtypesShapesThreadsAgainstReference) {
  std::unique_ptr<Backend> backends[4];
  for (int i = 0; i < 4; ++i) backends[i] = make_cpu_backend(i + 1);
  uint32_t seed = 1;
  for (DType dt : kAllDtypes)
    for (int64_t rows : {1, 3, 37})
      for (int64_t cols : {32, 64, 96, 4096, 37, 86}) {
        if (is_quantized(dt) && cols % 32 != 0) continue;
        const TestWeight w = random_weight(dt, rows, cols, seed++);
        for (int64_t T : {1, 5, 17, 64}) {
          if (cols == 4096 && T == 17) continue;  // keep the run short; 4096 x 64 covers it
          for (bool with_bias : {false, true}) {
            SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " rows " << rows << " cols "
                                              << cols << " T " << T << " bias " << with_bias);
            const auto x = random_floats(T * cols, seed++);
            const auto bias = with_bias ? random_floats(rows, seed++) : std::vector<float>{};
            const auto y1 = run_matmul(*backends[0], x, T, w, bias);
            expect_close_to_reference(y1, x, w, bias, T);
            for (int th = 2; th <= 4; ++th)
              ASSERT_TRUE(same_bits(y1, run_matmul(*backends[th - 1], x, T, w, bias)))
                  << "threads " << th << " changed the result";
            if (T > 1) {  // decode of one token == that token's row of the prefill, bit for bit
              const int64_t t = T - 2;
              const std::vector<float> xt(x.begin() + t * cols, x.begin() + (t + 1) * cols);
              const auto yt = run_matmul(*backends[1], xt, 1, w, bias);
              ASSERT_TRUE(same_bits(
                  yt, std::vector<float>(y1.begin() + t * rows, y1.begin() + (t + 1) * rows)));
            }
          }
        }
      }
}

// The portable kernel (used where AVX2 is missing) against the same reference.
TEST(CpuMatmul, ScalarKernelAgainstReference) {
  uint32_t seed = 1000;
  for (DType dt : kAllDtypes)
    for (int64_t cols : {32, 96, 4096}) {
      const TestWeight w = random_weight(dt, 5, cols, seed++);
      for (int64_t T : {1, 5}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " cols " << cols << " T " << T);
        const auto x = random_floats(T * cols, seed++);
        const auto bias = random_floats(5, seed++);
        std::vector<float> y(static_cast<size_t>(T * 5));
        cpu::matmul_rows_scalar(x.data(), T, w.view(), bias.data(), y.data(), 0, 5);
        expect_close_to_reference(y, x, w, bias, T);
      }
    }
}

TEST(CpuMatmul, ZeroTokensAndZeroRowsDoNothing) {
  auto be = make_cpu_backend(2);
  const TestWeight w = random_weight(DType::Q8_0, 0, 64, 3);
  float y = 42.0f;
  be->matmul(nullptr, 1, w.view(), nullptr, &y);
  be->matmul(nullptr, 0, random_weight(DType::F32, 3, 8, 4).view(), nullptr, &y);
  EXPECT_EQ(y, 42.0f);
}

TEST(CpuMatmul, QuantizedColsNotWholeBlocksIsAnError) {
  auto be = make_cpu_backend(1);
  std::vector<uint8_t> bytes(64);
  const WeightView w{DType::Q4_0, 1, 48, bytes.data()};
  std::vector<float> x(48), y(1);
  try {
    be->matmul(x.data(), 1, w, nullptr, y.data());
    FAIL() << "expected tplm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("divisible by 32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tplm
