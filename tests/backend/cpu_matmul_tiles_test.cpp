// The tiled matmul (a batch of T rows: batched decode steps, prefill) against
// the per-row reference: for every dtype and kernel level, each of the T output
// rows equals that token multiplied alone (T = 1, the decode path) bit for bit,
// and for the integer-domain types equals the scalar level's bits too. T and
// the row counts are chosen around the tile shapes (token tiles of 2-4, row
// tiles of 4, token chunks), the column counts give odd block counts.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/dequant.hpp"
#include "backend/cpu/qdot.hpp"
#include "backend/matmul_test_support.hpp"
#include "backend/reference.hpp"

namespace tplm {
namespace {

using test::AtLevel;
using test::kAllDtypes;
using test::kLevels;
using test::random_floats;
using test::random_weight;
using test::run_matmul;
using test::same_bits;
using test::TestWeight;

constexpr int64_t kTokens[] = {1, 2, 3, 15, 16, 17, 64};

// Columns with odd numbers of blocks (and, for float types, not a multiple of 8).
std::vector<int64_t> odd_cols(DType dt) {
  switch (dtype_traits(dt).block_elems) {
    case 256:
      return {256, 768};
    case 32:
      return {96, 224, 384, 1056};  // 12 blocks: one group of 12; 1056: 16 + 16 + 1
    default:
      return {37, 100};
  }
}

TEST(CpuMatmulTiles, EveryRowOfABatchEqualsThatTokenAlone) {
  uint32_t seed = 7000;
  for (DType dt : kAllDtypes)
    for (int64_t cols : odd_cols(dt))
      for (int64_t rows : {1, 6, 13}) {
        const TestWeight w = random_weight(dt, rows, cols, seed++);
        const auto bias = random_floats(rows, seed++);
        std::vector<float> scalar_y[std::size(kTokens)];
        for (cpu::CpuLevel l : kLevels) {
          if (l > cpu::detected_cpu_level()) continue;
          AtLevel at(l);
          auto one = make_cpu_backend(1);
          auto three = make_cpu_backend(3);
          for (size_t k = 0; k < std::size(kTokens); ++k) {
            const int64_t T = kTokens[k];
            SCOPED_TRACE(::testing::Message()
                         << dtype_name(dt) << " " << cpu::cpu_level_name(l) << " rows " << rows
                         << " cols " << cols << " T " << T);
            const auto x = random_floats(T * cols, static_cast<uint32_t>(seed + T), -2.0f, 2.0f);
            const auto y = run_matmul(*one, x.data(), T, w, bias);
            for (int64_t t = 0; t < T; ++t) {
              const auto yt = run_matmul(*one, x.data() + t * cols, 1, w, bias);
              ASSERT_TRUE(same_bits(
                  yt, std::vector<float>(y.begin() + t * rows, y.begin() + (t + 1) * rows)))
                  << "token " << t << " differs from the same token alone";
            }
            ASSERT_TRUE(same_bits(y, run_matmul(*three, x.data(), T, w, bias)))
                << "3 threads changed the result";
            if (!cpu::is_int_dot_type(dt)) continue;
            if (l == cpu::CpuLevel::Scalar)
              scalar_y[k] = y;
            else
              ASSERT_TRUE(same_bits(y, scalar_y[k])) << "differs from the scalar level";
          }
        }
      }
}

// Columns whose rows end in every kind of regrouped group: Q8_0 / Q4_0 last
// groups of 1, 7, 12, 16, 8 and 1 blocks; K-quants 1 to 5 super-blocks (Q4_K
// and Q5_K pair them: an odd count ends with a group of one).
std::vector<int64_t> group_cols(DType dt) {
  if (dtype_traits(dt).block_elems == 256) return {256, 512, 768, 1280};
  return {32, 224, 384, 512, 768, 1056};
}

// Rows regrouped on load (WeightLayout::CpuGroups, as the cpu backend stores
// them under AVX-512) give the file layout's bits at every level, thread
// count and T, and dequantize to the same values.
TEST(CpuMatmulTiles, RegroupedRowsGiveTheFileLayoutsBits) {
  uint32_t seed = 9000;
  for (DType dt : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int64_t cols : group_cols(dt))
      for (int64_t rows : {1, 6, 13}) {
        const TestWeight w = random_weight(dt, rows, cols, seed++);
        std::vector<uint8_t> grouped(w.bytes.size());
        cpu::group_rows(w.view(), grouped.data());
        if (cols > 32 || dt == DType::Q8_0) {  // one Q4_0 block stays as it was
          ASSERT_NE(grouped, w.bytes);
        }
        std::vector<uint8_t> back(w.bytes.size());
        const int64_t rb = cpu::row_bytes(w.view());
        for (int64_t r = 0; cpu::is_k_quant(dt) && r < rows; ++r)
          cpu::ungroup_row(dt, cols, grouped.data() + r * rb, back.data() + r * rb);
        if (cpu::is_k_quant(dt)) {
          ASSERT_EQ(back, w.bytes) << "ungrouping is not the inverse of grouping";
        }
        WeightView g = w.view();
        g.data = grouped.data();
        g.layout = WeightLayout::CpuGroups;
        const auto bias = random_floats(rows, seed++);
        for (cpu::CpuLevel l : kLevels) {
          if (l > cpu::detected_cpu_level()) continue;
          AtLevel at(l);
          for (int threads : {1, 3}) {
            auto be = make_cpu_backend(threads);
            for (int64_t T : kTokens) {
              SCOPED_TRACE(::testing::Message()
                           << dtype_name(dt) << " " << cpu::cpu_level_name(l) << " rows " << rows
                           << " cols " << cols << " T " << T << " threads " << threads);
              const auto x = random_floats(T * cols, static_cast<uint32_t>(seed + T), -2.0f, 2.0f);
              const auto want = run_matmul(*be, x.data(), T, w, bias);
              std::vector<float> y(want.size(), std::nanf(""));
              be->matmul(x.data(), T, g, bias.data(), y.data());
              ASSERT_TRUE(same_bits(y, want));
            }
          }
        }
        std::vector<float> a(static_cast<size_t>(cols)), b(a.size());
        for (int64_t r = 0; r < rows; ++r) {
          cpu::dequantize_row(w.view(), r, a.data());
          cpu::dequantize_row(g, r, b.data());
          ASSERT_TRUE(same_bits(a, b)) << "row " << r;
        }
      }
}

// A prefill of more tokens than one activation chunk (the kernels cut the
// tokens into chunks that stay in the L2 cache) still equals each token alone.
TEST(CpuMatmulTiles, TokensSpanningSeveralChunks) {
  for (DType dt : {DType::Q8_0, DType::Q4_K}) {
    const int64_t cols = 4096, rows = 5, T = 70;  // chunks of 63-64 tokens at 4096 columns
    const TestWeight w = random_weight(dt, rows, cols, 77);
    const auto x = random_floats(T * cols, 78);
    auto be = make_cpu_backend(2);
    const auto y = run_matmul(*be, x.data(), T, w, {});
    for (int64_t t : {int64_t{0}, int64_t{63}, int64_t{64}, T - 1}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " token " << t);
      const auto yt = run_matmul(*be, x.data() + t * cols, 1, w, {});
      EXPECT_TRUE(
          same_bits(yt, std::vector<float>(y.begin() + t * rows, y.begin() + (t + 1) * rows)));
    }
  }
}

}  // namespace
}  // namespace tplm
