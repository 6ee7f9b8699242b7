// rmsnorm, rope, swiglu, add, embed on the cpu backend against double-precision
// references, identical bits for 1-4 threads.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/reference.hpp"
#include "base/error.hpp"

namespace tplm {
namespace {

using test::random_floats;
using test::same_bits;

std::vector<std::unique_ptr<Backend>> backends_1_to_4() {
  std::vector<std::unique_ptr<Backend>> v;
  for (int t = 1; t <= 4; ++t) v.push_back(make_cpu_backend(t));
  return v;
}

TEST(CpuOps, RmsnormMatchesReference) {
  auto bes = backends_1_to_4();
  for (int64_t T : {1, 5, 64})
    for (int64_t dim : {1, 7, 64, 4096}) {
      const auto x = random_floats(T * dim, 11, -3.0f, 3.0f);
      const auto w = random_floats(dim, 12);
      std::vector<float> y1;
      for (auto& be : bes) {
        std::vector<float> y(x.size());
        be->rmsnorm(x.data(), w.data(), T, dim, 1e-5f, y.data());
        if (y1.empty()) y1 = y;
        ASSERT_TRUE(same_bits(y1, y)) << "T " << T << " dim " << dim;
      }
      for (int64_t t = 0; t < T; ++t) {
        double ss = 0;
        for (int64_t j = 0; j < dim; ++j) ss += double(x[t * dim + j]) * x[t * dim + j];
        const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
        for (int64_t j = 0; j < dim; ++j) {
          const double ref = x[t * dim + j] * inv * w[j];
          ASSERT_NEAR(y1[t * dim + j], ref, 1e-5 * std::abs(ref) + 1e-6);
        }
      }
    }
}

// The forward pass writes swiglu into gate and may normalize in place.
TEST(CpuOps, SwigluAndRmsnormInPlaceEqualOutOfPlace) {
  auto be = make_cpu_backend(2);
  const int64_t T = 3, dim = 100;
  const auto x = random_floats(T * dim, 51, -4.0f, 4.0f), w = random_floats(dim, 52);
  std::vector<float> out(x.size());
  be->swiglu(x.data(), w.data(), dim, out.data());
  auto inplace = x;
  be->swiglu(inplace.data(), w.data(), dim, inplace.data());
  EXPECT_TRUE(same_bits(std::vector<float>(out.begin(), out.begin() + dim),
                        std::vector<float>(inplace.begin(), inplace.begin() + dim)));
  be->rmsnorm(x.data(), w.data(), T, dim, 1e-6f, out.data());
  inplace = x;
  be->rmsnorm(inplace.data(), w.data(), T, dim, 1e-6f, inplace.data());
  EXPECT_TRUE(same_bits(out, inplace));
}

// rmsnorm takes 8 rows at a time, the rest one by one: each row of a batch
// equals that row alone, bit for bit (19 rows: two 8s and 3 left over).
TEST(CpuOps, RmsnormRowsOfABatchEqualEachRowAlone) {
  for (int threads : {1, 3}) {
    auto be = make_cpu_backend(threads);
    const int64_t T = 19, dim = 100;
    const auto x = random_floats(T * dim, 53, -4.0f, 4.0f), w = random_floats(dim, 54);
    std::vector<float> batch(x.size(), std::nanf("")), alone(x.size(), std::nanf(""));
    be->rmsnorm(x.data(), w.data(), T, dim, 1e-6f, batch.data());
    for (int64_t t = 0; t < T; ++t)
      be->rmsnorm(x.data() + t * dim, w.data(), 1, dim, 1e-6f, alone.data() + t * dim);
    EXPECT_TRUE(same_bits(batch, alone)) << "threads " << threads;
  }
}

// swiglu is g * (1 / (1 + exp(-g))) * u rounded step by step, element by
// element, whatever the vector width and the block: lengths around 4 and
// around its 256-element blocks, threads 1 and 3, extreme gates.
TEST(CpuOps, SwigluIsTheScalarFormulaBitForBit) {
  for (int threads : {1, 3}) {
    auto be = make_cpu_backend(threads);
    for (int64_t n : {1, 3, 4, 7, 255, 256, 257, 1000, 40000}) {
      auto g = random_floats(n, 61, -30.0f, 30.0f);
      const auto u = random_floats(n, 62, -3.0f, 3.0f);
      if (n > 3) g[2] = 100.0f, g[3] = -100.0f;  // exp(-g) 0 and inf
      std::vector<float> want(static_cast<size_t>(n)), got(want.size(), std::nanf(""));
      for (size_t i = 0; i < want.size(); ++i) {
        const float e = std::exp(-g[i]);  // not fused with the division below
        want[i] = g[i] * (1.0f / (1.0f + e)) * u[i];
      }
      be->swiglu(g.data(), u.data(), n, got.data());
      EXPECT_TRUE(same_bits(got, want)) << "n " << n << " threads " << threads;
    }
  }
}

// x += y: each element's one addition, for any length and any thread split.
TEST(CpuOps, AddIsEachElementsSum) {
  for (int threads : {1, 3})
    for (int64_t n : {1, 3, 4, 5, 1000, 70001}) {
      auto be = make_cpu_backend(threads);
      auto x = random_floats(n, 71, -3.0f, 3.0f);
      const auto y = random_floats(n, 72, -3.0f, 3.0f);
      if (n > 3) x[1] = INFINITY, x[2] = std::nanf(""), x[3] = -0.0f;
      std::vector<float> want(x.size());
      for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] + y[i];
      be->add(x.data(), y.data(), n);
      EXPECT_TRUE(same_bits(x, want)) << "n " << n << " threads " << threads;
    }
}

TEST(CpuOps, RopeRotatesPairsByPositionTimesInvFreq) {
  auto bes = backends_1_to_4();
  const int64_t T = 5, n_heads = 3, head_dim = 16;
  for (int64_t rope_dim : {16, 8}) {
    std::vector<float> inv_freq(static_cast<size_t>(rope_dim / 2));
    for (int64_t i = 0; i < rope_dim / 2; ++i)
      inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / rope_dim));
    const std::vector<int32_t> pos = {0, 1, 7, 100, 4095};
    const auto x0 = random_floats(T * n_heads * head_dim, 21);
    std::vector<float> y1;
    for (auto& be : bes) {
      auto x = x0;
      be->rope(x.data(), T, n_heads, head_dim, rope_dim, inv_freq.data(), pos.data());
      if (y1.empty()) y1 = x;
      ASSERT_TRUE(same_bits(y1, x));
    }
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < n_heads; ++h)
        for (int64_t i = 0; i < head_dim / 2; ++i) {
          const int64_t o = (t * n_heads + h) * head_dim + 2 * i;
          double a = x0[o], b = x0[o + 1];
          if (i < rope_dim / 2) {
            const double ang = double(pos[t]) * inv_freq[i];
            const double ra = a * std::cos(ang) - b * std::sin(ang);
            const double rb = a * std::sin(ang) + b * std::cos(ang);
            a = ra;
            b = rb;
          }
          // float angle pos * inv_freq (as llama2.c) loses up to ulp(4095) ~ 2e-4 rad
          ASSERT_NEAR(y1[o], a, 1e-3) << t << " " << h << " " << i;
          ASSERT_NEAR(y1[o + 1], b, 1e-3);
        }
    // position 0 is the identity
    for (int64_t j = 0; j < n_heads * head_dim; ++j) ASSERT_EQ(y1[j], x0[j]);
  }
}

TEST(CpuOps, RopeRejectsOddOrTooLargeRopeDim) {
  auto be = make_cpu_backend(1);
  std::vector<float> x(16), f(8);
  std::vector<int32_t> pos(1);
  EXPECT_THROW(be->rope(x.data(), 1, 1, 16, 7, f.data(), pos.data()), Error);
  EXPECT_THROW(be->rope(x.data(), 1, 1, 16, 18, f.data(), pos.data()), Error);
}

TEST(CpuOps, SwigluAndAdd) {
  auto bes = backends_1_to_4();
  for (int64_t n : {1, 3, 172, 100000}) {
    const auto g = random_floats(n, 31, -8.0f, 8.0f), u = random_floats(n, 32);
    std::vector<float> s1, a1;
    for (auto& be : bes) {
      std::vector<float> s(static_cast<size_t>(n));
      be->swiglu(g.data(), u.data(), n, s.data());
      auto a = g;
      be->add(a.data(), u.data(), n);
      if (s1.empty()) {
        s1 = s;
        a1 = a;
      }
      ASSERT_TRUE(same_bits(s1, s));
      ASSERT_TRUE(same_bits(a1, a));
    }
    for (int64_t i = 0; i < n; ++i) {
      const double ref = g[i] / (1.0 + std::exp(-double(g[i]))) * u[i];
      ASSERT_NEAR(s1[i], ref, 1e-6 * std::abs(ref) + 1e-7);
      ASSERT_EQ(a1[i], g[i] + u[i]);
    }
  }
}

TEST(CpuOps, EmbedEveryDtypeWithVocabParallelZeros) {
  auto bes = backends_1_to_4();
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K,
                   DType::Q5_K, DType::Q6_K}) {
    const int64_t rows = 10, cols = 256, row_begin = 20;
    const auto w = test::random_weight(dt, rows, cols, 41);
    const std::vector<int32_t> ids = {20, 29, 19, 30, 25, 0, 20};
    const int64_t T = static_cast<int64_t>(ids.size());
    for (auto& be : bes) {
      std::vector<float> out(static_cast<size_t>(T * cols), std::nanf(""));
      be->embed(w.view(), row_begin, ids.data(), T, out.data());
      for (int64_t t = 0; t < T; ++t) {
        const int64_t r = ids[t] - row_begin;
        const bool mine = r >= 0 && r < rows;
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(out[t * cols + c], mine ? static_cast<float>(w.values[r * cols + c]) : 0.0f)
              << dtype_name(dt) << " id " << ids[t] << " col " << c;
      }
    }
  }
}

TEST(CpuOps, AllocIsZeroedAlignedAndCopies) {
  auto be = make_cpu_backend(2);
  EXPECT_EQ(be->name(), "cpu");
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{1} << 20}) {
    auto* p = static_cast<unsigned char*>(be->alloc(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(p[i], 0) << i;
    std::vector<unsigned char> src(n, 7), back(n, 0);
    be->upload(p, src.data(), n);
    be->download(back.data(), p, n);
    EXPECT_EQ(src, back);
    be->release(p);
  }
}

}  // namespace
}  // namespace tplm
