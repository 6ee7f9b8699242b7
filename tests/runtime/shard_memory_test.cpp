// Each rank holds only its share: its loaded weight bytes agree with its plan,
// and the shares add up to the model plus the copies of the replicated parts.
#include <gtest/gtest.h>

#include "format/model_file.hpp"
#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

class ShardMemory : public ::testing::TestWithParam<int> {};

TEST_P(ShardMemory, Stories260KRanksHoldTheirPlan) {
  const int tp = GetParam();
  ModelFile model = open_model(test::stories_dir() / "stories260K.bin");
  Plan plan = make_plan(model, tp);
  auto outs = test::run_on_ranks(model, tp, [](Steps&) { return test::RankOutput{}; });
  uint64_t sum = 0;
  for (int r = 0; r < tp; ++r) {
    const double planned = static_cast<double>(plan.ranks[static_cast<size_t>(r)].weight_bytes);
    const double loaded = static_cast<double>(outs[static_cast<size_t>(r)].weight_bytes);
    EXPECT_NEAR(loaded, planned, 0.05 * planned) << "rank " << r;
    sum += outs[static_cast<size_t>(r)].weight_bytes;
  }
  EXPECT_EQ(sum,
            plan.total_weight_bytes + static_cast<uint64_t>(tp - 1) * plan.replicated_weight_bytes);
  if (tp > 1) {
    EXPECT_LT(outs[0].weight_bytes, plan.total_weight_bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Tp, ShardMemory, ::testing::Values(1, 2, 3, 4),
                         ::testing::PrintToStringParamName());

TEST(ShardMemory, Tp5IsRefusedWithThePlansMessage) {
  ModelFile model = open_model(test::stories_dir() / "stories260K.bin");
  try {
    test::run_on_ranks(model, 5, [](Steps&) { return test::RankOutput{}; });
    FAIL() << "tp 5 was accepted";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("valid tp: 1, 2, 3, 4, 8"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tplm
