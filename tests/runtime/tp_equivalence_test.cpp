// Invariant 2 of DESIGN.md on the random fixture models (every dtype, with and
// without GQA, bias, tied embeddings): tp = 2 and 4 compute the same function
// as tp = 1 — logits to float rounding, greedy and seeded sampled tokens equal.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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
      // f32 activations everywhere: only the order of the partial sums differs.
      EXPECT_LE(test::relative_diff(got.logits, ref.logits), 1e-5) << f.name << " tp " << tp;
      EXPECT_EQ(got.greedy, ref.greedy) << f.name << " tp " << tp;
      EXPECT_EQ(got.sampled, ref.sampled) << f.name << " tp " << tp;
    }
  }
}

}  // namespace
}  // namespace tplm
