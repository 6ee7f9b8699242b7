// Invariant 2 of DESIGN.md on the random fixture models (every dtype, with and
// without GQA, bias, tied embeddings): tp = 2 and 4 compute the same function
// as tp = 1 — logits to float rounding, greedy and seeded sampled tokens equal
// (for quantized weights, whose activations are re-quantized at every matmul:
// logits to 2e-2 and the first 16 greedy tokens; see below).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "format/model_file.hpp"
#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

TEST(TpEquivalence, EveryFixtureAtTp2And4EqualsTp1) {
  const auto fixtures = test::read_manifest();
  if (fixtures.empty())
    GTEST_SKIP() << "no " << (test::fixtures_dir() / "manifest.json")
                 << " (made by tools/make_test_fixtures.py)";
  for (const test::Fixture& f : fixtures) {
    ModelFile model = open_model(f.path);
    const test::TpRun ref = test::run_fixture(model, test::test_options(1));
    ASSERT_FALSE(ref.greedy.empty()) << f.name;
    const auto valid = valid_tp_values(model);
    for (int tp : {2, 4}) {
      if (std::find(valid.begin(), valid.end(), tp) == valid.end()) continue;
      const test::TpRun got = test::run_fixture(model, test::test_options(tp));
      if (!test::cpu_quantizes_activations(f.dtype)) {
        // f32 activations everywhere: only the order of the partial sums differs.
        EXPECT_LE(test::relative_diff(got.logits, ref.logits), 1e-5) << f.name << " tp " << tp;
        EXPECT_EQ(got.greedy, ref.greedy) << f.name << " tp " << tp;
        EXPECT_EQ(got.sampled, ref.sampled) << f.name << " tp " << tp;
        continue;
      }
      // Quantized weights multiply activations re-quantized to 8 bits at every
      // matmul (backend/cpu/kernels.hpp). Each rank quantizes the same blocks
      // as tp 1, but the all-reduce adds the partial sums in another order, so
      // an activation that lands within float rounding of a rounding boundary
      // can take the other 8-bit value: a step of max|x| / 127 in one element,
      // about 1e-3 of the logits. Such a flip is rare; when it happens at a
      // near-tie of the top two logits, the tokens that follow may differ.
      EXPECT_LE(test::relative_diff(got.logits, ref.logits), 2e-2) << f.name << " tp " << tp;
      const size_t n = std::min<size_t>(16, ref.greedy.size());
      EXPECT_TRUE(std::equal(ref.greedy.begin(), ref.greedy.begin() + n, got.greedy.begin()))
          << f.name << " tp " << tp << ": the first " << n << " greedy tokens differ";
      if (got.greedy != ref.greedy)
        std::cerr
            << "note: " << f.name << " tp " << tp << ": greedy tokens agree for "
            << (std::mismatch(ref.greedy.begin(), ref.greedy.end(), got.greedy.begin()).first -
                ref.greedy.begin())
            << " of " << ref.greedy.size() << " steps\n";
    }
  }
}

}  // namespace
}  // namespace tplm
