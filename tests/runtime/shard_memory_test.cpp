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
    EXPECT_NE(std::string(e.what()).find("valid tp: 1, 2, 3, 4, 8"), std::string::npos) << e.what();
  }
}

// The plan's KV cache bytes are what each rank allocates, for every kv type,
// at an uneven tp and a context other than the model's.
TEST(ShardMemory, KvCacheBytesArePlannedForEveryKvType) {
  ModelFile model = open_model(test::stories_dir() / "stories260K.bin");
  for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0}) {
    EngineOptions o = test::test_options(3);
    o.kv_type = t;
    o.max_context = 300;
    Engine engine(model, o);
    engine.run([](Steps&) {});
    ASSERT_EQ(engine.ranks().size(), 3u);
    for (const RankReport& r : engine.ranks()) {
      EXPECT_EQ(r.kv_cache_bytes, r.plan_kv_cache_bytes) << kv_type_name(t);
      EXPECT_GT(r.kv_cache_bytes, 0u);
    }
    // 5 layers x 300 positions x (K, V) x rank 0's 2 kv heads of 8 values.
    const uint64_t values = 5ull * 300 * 2 * 2 * 8;
    const uint64_t want = t == KvType::F32   ? values * 4
                          : t == KvType::F16 ? values * 2
                                             : values + values / 8 * 2;  // q8_0: blocks of 8
    EXPECT_EQ(engine.ranks()[0].kv_cache_bytes, want) << kv_type_name(t);
  }
}

}  // namespace
}  // namespace tplm
