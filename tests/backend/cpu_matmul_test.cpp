// matmul on the cpu backend: every dtype, decode (T = 1) and prefill (T > 1),
// odd shapes, 1-4 threads, against a double-precision reference; results must
// be identical bit for bit across thread counts and between T = 1 and T > 1,
// and for the quantized (integer-domain) types across kernel levels too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backend/cpu/bf16_dot.hpp"
#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/qdot.hpp"
#include "backend/matmul_test_support.hpp"
#include "backend/reference.hpp"
#include "base/error.hpp"
#include "format/half.hpp"

namespace tplm {
namespace {

using test::AtLevel;
using test::kAllDtypes;
using test::kIntDtypes;
using test::kLevels;
using test::random_floats;
using test::random_weight;
using test::run_matmul;
using test::same_bits;
using test::TestWeight;

// Float weights: |y - ref| <= tol * sum_c |x w|, float32 accumulation of `cols`
// products. Quantized weights multiply activations quantized to 8 bits in
// blocks of B (32, or 256 for K-quants) with d = max|x| / 127: each x moves by
// at most d / 2, so |y - ref| <= sum_c |w_c| d(c) / 2 (+ float rounding). And
// over the whole matrix the normalized mean squared error is <= 5e-4, the
// bound llama.cpp's test-backend-ops puts on MUL_MAT for every type (checked
// where there are 32 outputs or more: one output alone may cancel to ~0).
// BF16 weights multiply activations rounded to bf16 (round_to_bf16): each x
// moves by exactly |x - bf16(x)|, so |y - ref| <= sum_c |w_c| |x_c -
// bf16(x_c)| (+ float rounding).
double bf16_value(float x) {
  return bf16_to_f32(cpu::round_to_bf16(x));
}

void expect_close_to_reference(const std::vector<float>& y, const std::vector<float>& x,
                               const TestWeight& w, const std::vector<float>& bias, int64_t T) {
  const bool quant = cpu::is_int_dot_type(w.dtype);
  const int64_t B = dtype_traits(w.dtype).block_elems;
  const double tol = quant ? 1e-5 : 4e-7 * std::sqrt(static_cast<double>(w.cols)) + 1e-7;
  double err2 = 0, ref2 = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = 0; r < w.rows; ++r) {
      double ref = bias.empty() ? 0.0 : bias[r], abs_sum = std::abs(ref), qbound = 0;
      for (int64_t c = 0; c < w.cols; ++c) {
        const double p = static_cast<double>(x[t * w.cols + c]) * w.values[r * w.cols + c];
        ref += p;
        abs_sum += std::abs(p);
      }
      if (w.dtype == DType::BF16)
        for (int64_t c = 0; c < w.cols; ++c) {
          const float xc = x[t * w.cols + c];
          const double moved = std::abs(static_cast<double>(xc) - bf16_value(xc));
          qbound += std::abs(w.values[r * w.cols + c]) * moved * (1 + 1e-5);
        }
      if (quant)
        for (int64_t b0 = 0; b0 < w.cols; b0 += B) {
          double amax = 0, wsum = 0;
          for (int64_t c = b0; c < b0 + B; ++c) {
            amax = std::max(amax, std::abs(static_cast<double>(x[t * w.cols + c])));
            wsum += std::abs(w.values[r * w.cols + c]);
          }
          qbound += wsum * amax / 127.0 * 0.5 * (1 + 1e-5);
        }
      const double got = y[t * w.rows + r];
      err2 += (got - ref) * (got - ref);
      ref2 += ref * ref;
      ASSERT_NEAR(got, ref, tol * abs_sum + qbound + 1e-30) << "t " << t << " r " << r;
    }
  if (quant && ref2 > 0 && T * w.rows >= 32) {  // a mean over enough outputs
    EXPECT_LE(err2 / ref2, 5e-4);
  }
}

TEST(CpuMatmul, AllDtypesShapesThreadsAgainstReference) {
  std::unique_ptr<Backend> backends[4];
  for (int i = 0; i < 4; ++i) backends[i] = make_cpu_backend(i + 1);
  uint32_t seed = 1;
  for (DType dt : kAllDtypes)
    for (int64_t rows : {1, 3, 37})
      for (int64_t cols : {32, 64, 96, 4096, 37, 86, 256, 768}) {
        if (cols % dtype_traits(dt).block_elems != 0) continue;
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
    for (int64_t cols : {32, 96, 4096, 512}) {
      if (cols % dtype_traits(dt).block_elems != 0) continue;
      const TestWeight w = random_weight(dt, 5, cols, seed++);
      for (int64_t T : {1, 5}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " cols " << cols << " T " << T);
        const auto x = random_floats(T * cols, seed++);
        const auto bias = random_floats(5, seed++);
        std::vector<float> y(static_cast<size_t>(T * 5));
        cpu::matmul_rows_scalar(x.data(), T, w.view(), bias.data(), y.data(), 0, 5);
        TestWeight as_float = w;  // the float kernel converts exactly: the float tolerance
        as_float.dtype = DType::F32;
        expect_close_to_reference(y, x, as_float, bias, T);
      }
    }
}

// Every kernel level the CPU has (forced by set_cpu_level, as TPLM_CPU_LEVEL
// does) gives the scalar reference's bits for the integer-domain types and
// BF16, and is within the reference bounds for F32 and F16; odd block counts, rows not
// a multiple of the tile, T not a multiple of the token tile.
TEST(CpuMatmul, EveryLevelMatchesTheScalarKernels) {
  uint32_t seed = 5000;
  for (DType dt : kAllDtypes)
    for (int64_t cols : {32, 96, 256, 1280, 4096}) {
      if (cols % dtype_traits(dt).block_elems != 0) continue;
      const TestWeight w = random_weight(dt, 11, cols, seed++);
      for (int64_t T : {1, 2, 7}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " cols " << cols << " T " << T);
        const auto x = random_floats(T * cols, seed++, -2.0f, 2.0f);
        const auto bias = random_floats(11, seed++);
        std::vector<float> want;
        for (cpu::CpuLevel l : kLevels) {
          if (l > cpu::detected_cpu_level()) continue;
          AtLevel at(l);
          auto be = make_cpu_backend(2);
          const auto y = run_matmul(*be, x, T, w, bias);
          SCOPED_TRACE(cpu::cpu_level_name(l));
          expect_close_to_reference(y, x, w, bias, T);
          if (l == cpu::CpuLevel::Scalar) want = y;
          if (cpu::is_int_dot_type(dt) || dt == DType::BF16) {
            EXPECT_TRUE(same_bits(y, want)) << "level differs";
          }
        }
      }
    }
}

// Activations of very different sizes in one row (blocks of zeros, tiny and
// huge values) quantize per block: each block keeps its own precision.
// The word-wise unpacking of a Q4_K / Q5_K super-block's 6-bit scales and
// mins (the AVX-512 decode) gives unpack_k_scales' values for any 12 bytes.
TEST(CpuMatmul, KQuantScaleBytesEqualTheBytewiseUnpacking) {
  std::mt19937 rng(12);
  for (int i = 0; i < 100000; ++i) {
    uint8_t s[12];
    for (auto& b : s) b = static_cast<uint8_t>(rng());
    if (i < 256) std::fill(std::begin(s), std::end(s), static_cast<uint8_t>(i));
    int32_t sc[8], m[8];
    cpu::unpack_k_scales(s, sc, m);
    uint64_t sc8 = 0, m8 = 0;
    cpu::unpack_k_scale_bytes(s, sc8, m8);
    for (int j = 0; j < 8; ++j) {
      ASSERT_EQ(static_cast<int32_t>((sc8 >> (8 * j)) & 0xff), sc[j]) << i << " sc " << j;
      ASSERT_EQ(static_cast<int32_t>((m8 >> (8 * j)) & 0xff), m[j]) << i << " m " << j;
    }
  }
}

// The AVX-512 activation quantization gives the portable one's q and d, for
// ordinary values and for NaN, infinities, signed zeros, subnormals and ties.
TEST(CpuMatmul, ActivationQuantizationIsTheSameAtEveryLevel) {
  if (cpu::detected_cpu_level() < cpu::CpuLevel::Avx512) GTEST_SKIP() << "no AVX-512 here";
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  const float specials[] = {std::nanf(""), INFINITY, -INFINITY, -0.0f, 0.0f,    1e-40f,
                            -1e-45f,       0.5f,     1.5f,      2.5f,  -126.5f, 3e38f};
  for (int64_t B : {32, 256}) {
    std::vector<float> x(static_cast<size_t>(64 * B));
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = u(rng);
      if (i % 7 == 0) x[i] = specials[(i / 7) % std::size(specials)];
      if ((i / static_cast<size_t>(B)) % 5 == 1)
        x[i] = static_cast<float>(static_cast<int>(i % 255) - 127);  // exact ties
    }
    const int64_t nb = 64;
    std::vector<int8_t> q1(x.size()), q2(x.size());
    std::vector<float> d1(nb), d2(nb);
    cpu::quantize_blocks_scalar(x.data(), nb, B, q1.data(), d1.data());
    cpu::quantize_blocks_avx512(x.data(), nb, B, q2.data(), d2.data());
    EXPECT_EQ(q1, q2) << "B " << B;
    EXPECT_TRUE(same_bits(d1, d2)) << "B " << B;
  }
}

// A token's Q8_0 / Q4_0 activations in every form the kernels read (q, d,
// block sums, the grouped qt and iblk, the padding past the row's blocks)
// are the same integers and scales at every level, for rows of 1, 16, 17 and
// 24 blocks (a whole group, a group and one block, a group and a half).
TEST(CpuMatmul, QuantizedActivationRowsAreTheSameAtEveryLevel) {
  for (DType dt : {DType::Q8_0, DType::Q4_0})
    for (int64_t cols : {32, 512, 544, 768}) {
      const int64_t T = 3;
      const auto x = random_floats(T * cols, 17, -3.0f, 3.0f);
      std::vector<cpu::QuantActs> at;
      for (cpu::CpuLevel l : kLevels) {
        if (l > cpu::detected_cpu_level()) continue;
        AtLevel level(l);
        cpu::QuantActs a;
        cpu::prepare_acts(a, dt, T, cols);
        std::fill(a.qt.begin(), a.qt.end(), int8_t{99});  // padding must be written, not kept
        std::fill(a.iblk.begin(), a.iblk.end(), 99);
        std::fill(a.d.begin(), a.d.end(), 99.0f);
        cpu::quantize_acts_rows(x.data(), a, 0, T);
        at.push_back(std::move(a));
      }
      for (size_t i = 1; i < at.size(); ++i) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " cols " << cols << " level " << i);
        EXPECT_EQ(at[i].q, at[0].q);
        EXPECT_TRUE(same_bits(at[i].d, at[0].d));
        EXPECT_EQ(at[i].bsum, at[0].bsum);
        EXPECT_EQ(at[i].qt, at[0].qt);
        EXPECT_EQ(at[i].iblk, at[0].iblk);
      }
      const cpu::QuantActs& a = at.back();  // the grouped form holds each block's own values
      for (int64_t t = 0; t < T; ++t)
        for (int64_t b = 0; b < 16 * a.groups; ++b) {
          const bool real = b < cols / 32;
          int32_t sum = 0;
          for (int i = 0; i < 32; ++i) {
            const int8_t v = a.qtrow(t)[512 * (b / 16) + 64 * (i / 4) + 4 * (b % 16) + i % 4];
            EXPECT_EQ(v, real ? a.qrow(t)[32 * b + i] : 0);
            sum += real ? a.qrow(t)[32 * b + i] : 0;
          }
          EXPECT_EQ(a.iblkrow(t)[b], -cpu::weight_offset(dt) * sum);
          if (real) {
            EXPECT_EQ(a.bsumrow(t)[b], sum);
          } else {
            EXPECT_EQ(a.drow(t)[b], 0.0f);
          }
        }
    }
}

// The AVX-512 K-quant tiles read each token's lanes (QuantActs::klanes)
// instead of computing them per tile: lane l of group g is super-block
// 2g + l / 8's d and float(the sum of sub-block 16g + l's q) times it, 0 in
// the lanes past the row's last super-block (an odd count leaves half a group).
TEST(CpuMatmul, KQuantTokenLanesHoldEachSubBlocksScaleAndSum) {
  if (cpu::detected_cpu_level() < cpu::CpuLevel::Avx512) GTEST_SKIP() << "no AVX-512 here";
  AtLevel at(cpu::CpuLevel::Avx512);
  for (DType dt : {DType::Q4_K, DType::Q5_K})
    for (int64_t cols : {256, 512, 768, 1280}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " cols " << cols);
      const int64_t T = 3, nB = cols / 256;
      const auto x = random_floats(T * cols, 31, -3.0f, 3.0f);
      cpu::QuantActs a;
      cpu::prepare_acts(a, dt, T, cols);
      std::fill(a.klanes.begin(), a.klanes.end(), 99.0f);  // every lane must be written
      cpu::quantize_acts_rows(x.data(), a, 0, T);
      ASSERT_EQ(a.klanes.size(), static_cast<size_t>(T * 32 * ((nB + 1) / 2)));
      for (int64_t t = 0; t < T; ++t)
        for (int64_t g = 0; g < (nB + 1) / 2; ++g)
          for (int l = 0; l < 16; ++l) {
            const int64_t B = 2 * g + l / 8, sub = 16 * g + l;
            const float dx = a.klanerow(t)[32 * g + l], bsdx = a.klanerow(t)[32 * g + 16 + l];
            if (B >= nB) {
              EXPECT_EQ(dx, 0.0f);
              EXPECT_EQ(bsdx, 0.0f);
              continue;
            }
            int32_t sum = 0;
            for (int i = 0; i < 32; ++i) sum += a.qrow(t)[32 * sub + i];
            EXPECT_EQ(dx, a.drow(t)[B]);
            EXPECT_EQ(bsdx, static_cast<float>(sum) * a.drow(t)[B]);
          }
    }
}

TEST(CpuMatmul, QuantizedActivationsKeepEachBlocksScale) {
  for (DType dt : kIntDtypes) {
    const int64_t cols = 1024;
    const TestWeight w = random_weight(dt, 4, cols, 91);
    auto x = random_floats(cols, 92);
    const int64_t B = dtype_traits(dt).block_elems;
    for (int64_t c = 0; c < B; ++c) x[c] = 0.0f;                       // a zero block
    for (int64_t c = B; c < 2 * B; ++c) x[c] *= 1e-6f;                 // a tiny one
    for (int64_t c = 2 * B; c < 3 * B && c < cols; ++c) x[c] *= 1e4f;  // a huge one
    for (cpu::CpuLevel l : kLevels) {
      if (l > cpu::detected_cpu_level()) continue;
      AtLevel at(l);
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " " << cpu::cpu_level_name(l));
      auto be = make_cpu_backend(1);
      expect_close_to_reference(run_matmul(*be, x, 1, w, {}), x, w, {}, 1);
    }
  }
}

TEST(CpuMatmul, LevelsAreOrderedAndNamed) {
  EXPECT_EQ(cpu::cpu_level_name(cpu::CpuLevel::Scalar), "scalar");
  EXPECT_EQ(cpu::cpu_level_name(cpu::CpuLevel::Avx512), "avx512");
  {
    AtLevel at(cpu::CpuLevel::Scalar);
    EXPECT_EQ(cpu::cpu_level(), cpu::CpuLevel::Scalar);
    EXPECT_FALSE(cpu::have_avx2());
  }
  AtLevel at(cpu::CpuLevel::Avx512);  // never above what the CPU has
  EXPECT_EQ(cpu::cpu_level(), cpu::detected_cpu_level());
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

namespace tplm {
namespace {

// matmul_add (the tp = 1 residual) is matmul then add, to the bit, in every
// dtype: the same kernels (integer-domain ones for quantized weights).
TEST(CpuMatmul, MatmulAddIsMatmulThenAdd) {
  auto be = make_cpu_backend(2);
  uint32_t seed = 4242;
  for (DType dt : kAllDtypes)
    for (int64_t T : {1, 6}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " T " << T);
      const int64_t cols = dtype_traits(dt).block_elems > 32 ? 512 : 96;
      const TestWeight w = random_weight(dt, 13, cols, seed++);
      const auto x = random_floats(T * cols, seed++);
      const auto y0 = random_floats(T * 13, seed++);
      std::vector<float> prod(static_cast<size_t>(T * 13)), want = y0, got = y0;
      be->matmul(x.data(), T, w.view(), nullptr, prod.data());
      be->add(want.data(), prod.data(), T * 13);
      be->matmul_add(x.data(), T, w.view(), got.data());
      EXPECT_TRUE(same_bits(got, want));
    }
}

// The cpu's fused steps (rmsnorm and one quantization, then every
// projection's rows in one pass; gate, up and swiglu per thread) give the bits
// of the primitives they replace, for every dtype, on 3 threads; projections
// of different dtypes take the default.
TEST(CpuMatmul, FusedNormStepsEqualTheirPrimitives) {
  auto be = make_cpu_backend(3);
  uint32_t seed = 5151;
  const float eps = 1e-5f;
  for (DType dt : kAllDtypes)
    for (int64_t T : {1, 6, 17}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " T " << T);
      const int64_t cols = dtype_traits(dt).block_elems > 32 ? 512 : 96;
      const TestWeight wq = random_weight(dt, 13, cols, seed++);
      const TestWeight wk = random_weight(dt, 8, cols, seed++);
      const TestWeight wv = random_weight(dt == DType::F32 ? DType::F16 : dt, 5, cols, seed++);
      const auto x = random_floats(T * cols, seed++);
      const auto norm = random_floats(cols, seed++);
      const auto bq = random_floats(13, seed++);
      std::vector<float> h_want(static_cast<size_t>(T * cols)), h_got(h_want.size());
      be->rmsnorm(x.data(), norm.data(), T, cols, eps, h_want.data());
      std::vector<float> want[3], got[3];
      const TestWeight* ws[3] = {&wq, &wk, &wv};
      std::vector<WeightView> views;
      for (const TestWeight* w : ws) views.push_back(w->view());
      for (int i = 0; i < 3; ++i) {
        want[i].assign(static_cast<size_t>(T * ws[i]->rows), std::nanf(""));
        got[i] = want[i];
        be->matmul(h_want.data(), T, views[static_cast<size_t>(i)], i == 0 ? bq.data() : nullptr,
                   want[i].data());
      }
      const Projection outs[] = {{&views[0], bq.data(), got[0].data()},
                                 {&views[1], nullptr, got[1].data()},
                                 {&views[2], nullptr, got[2].data()}};
      be->norm_matmuls(x.data(), norm.data(), T, cols, eps, h_got.data(), outs);
      EXPECT_TRUE(same_bits(h_got, h_want));
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(same_bits(got[i], want[i])) << "projection " << i;

      // gate and up: 13 rows (a last group of 1)
      const TestWeight wg = random_weight(dt, 13, cols, seed++);
      const TestWeight wu = random_weight(dt, 13, cols, seed++);
      std::vector<float> g_want(static_cast<size_t>(T * 13)), u_want(g_want.size());
      be->matmul(h_want.data(), T, wg.view(), nullptr, g_want.data());
      be->matmul(h_want.data(), T, wu.view(), nullptr, u_want.data());
      be->swiglu(g_want.data(), u_want.data(), T * 13, g_want.data());
      std::vector<float> g_got(g_want.size(), std::nanf("")), u_got(g_want.size());
      be->norm_swiglu(x.data(), norm.data(), T, cols, eps, h_got.data(), wg.view(), wu.view(),
                      u_got.data(), g_got.data());
      EXPECT_TRUE(same_bits(g_got, g_want));
    }
}

}  // namespace
}  // namespace tplm
