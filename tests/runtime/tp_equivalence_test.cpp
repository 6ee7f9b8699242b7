// Invariant 2 of DESIGN.md on the random fixture models (every dtype, with and
// without GQA, bias, tied embeddings): tp = 2, 3, 4 and tp 2 split 3:1
// compute the same function as tp = 1 — logits to float rounding, greedy and seeded sampled tokens
// equal (for quantized weights, whose activations are re-quantized at every matmul: logits to 2e-2
// and the first 16 greedy tokens; see below).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "format/model_file.hpp"
#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

TEST(TpEquivalence, EveryFixtureAtTp2To4AndSplit31EqualsTp1) {
  const auto fixtures = test::read_manifest();
  if (fixtures.empty())
    GTEST_SKIP() << "no " << (test::fixtures_dir() / "manifest.json")
                 << " (made by tools/make_test_fixtures.py)";
  for (const test::Fixture& f : fixtures) {
    ModelFile model = open_model(f.path);
    const test::TpRun ref = test::run_fixture(model, test::test_options(1));
    ASSERT_FALSE(ref.greedy.empty()) << f.name;
    const auto valid = valid_tp_values(model);
    // tp 2, 3 (uneven where the kv heads are not a multiple of 3) and 4, and
    // tp 2 weighted 3:1 (--split 3,1).
    struct Case {
      int tp;
      std::vector<double> split;
    };
    for (const Case& c : {Case{2, {}}, Case{3, {}}, Case{4, {}}, Case{2, {3, 1}}}) {
      const int tp = c.tp;
      const std::string what =
          f.name + " tp " + std::to_string(tp) + (c.split.empty() ? "" : " split 3,1");
      if (std::find(valid.begin(), valid.end(), tp) == valid.end()) continue;
      EngineOptions options = test::test_options(tp);
      options.split = c.split;
      if (!plan_violations(model, tp, {}, {c.split, 0, KvType::F32}).empty()) continue;
      const test::TpRun got = test::run_fixture(model, options);
      if (!test::cpu_quantizes_activations(f.dtype)) {
        // f32 activations everywhere: only the order of the partial sums differs.
        EXPECT_LE(test::relative_diff(got.logits, ref.logits), 1e-5) << what;
        EXPECT_EQ(got.greedy, ref.greedy) << what;
        EXPECT_EQ(got.sampled, ref.sampled) << what;
        continue;
      }
      // Quantized weights multiply activations re-quantized to 8 bits at every
      // matmul (backend/cpu/kernels.hpp). Each rank quantizes the same blocks
      // as tp 1, but the all-reduce adds the partial sums in another order, so
      // an activation that lands within float rounding of a rounding boundary
      // can take the other 8-bit value: a step of max|x| / 127 in one element,
      // about 1e-3 of the logits. Such a flip is rare; when it happens at a
      // near-tie of the top two logits, the tokens that follow may differ.
      EXPECT_LE(test::relative_diff(got.logits, ref.logits), 2e-2) << what;
      const size_t n = std::min<size_t>(16, ref.greedy.size());
      EXPECT_TRUE(std::equal(ref.greedy.begin(), ref.greedy.begin() + n, got.greedy.begin()))
          << what << ": the first " << n << " greedy tokens differ";
      if (got.greedy != ref.greedy)
        std::cerr
            << "note: " << what << ": greedy tokens agree for "
            << (std::mismatch(ref.greedy.begin(), ref.greedy.end(), got.greedy.begin()).first -
                ref.greedy.begin())
            << " of " << ref.greedy.size() << " steps\n";
    }
  }
}

// An f16 or q8_0 KV cache stores each rank's own kv heads the same way at
// every tp (the rows are quantized per head), so the split changes nothing
// but the order of the all-reduce's sums: greedy and sampled tokens stay
// identical across tp, and the logits stay near the f32 cache's.
TEST(TpEquivalence, Stories260KTokensAcrossTpWithF16AndQ8KvCaches) {
  const ModelFile model = open_model(test::stories_dir() / "stories260K.bin");
  const test::TpRun f32 = test::run_fixture(model, test::test_options(1));
  for (KvType t : {KvType::F16, KvType::Q8_0}) {
    EngineOptions o1 = test::test_options(1);
    o1.kv_type = t;
    const test::TpRun ref = test::run_fixture(model, o1);
    ASSERT_FALSE(ref.greedy.empty());
    EXPECT_LE(test::relative_diff(ref.logits, f32.logits), t == KvType::F16 ? 1e-2 : 5e-2)
        << kv_type_name(t) << " against the f32 cache";
    for (int tp : {2, 3, 4, 8}) {
      EngineOptions o = test::test_options(tp);
      o.kv_type = t;
      const test::TpRun got = test::run_fixture(model, o);
      EXPECT_EQ(got.greedy, ref.greedy) << kv_type_name(t) << " tp " << tp;
      EXPECT_EQ(got.sampled, ref.sampled) << kv_type_name(t) << " tp " << tp;
      EXPECT_LE(test::relative_diff(got.logits, ref.logits), 1e-5)
          << kv_type_name(t) << " tp " << tp;
    }
  }
}

}  // namespace
}  // namespace tplm
