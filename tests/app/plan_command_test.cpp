// `tplm plan` on stories260K: the ranges per rank, the JSON, tp 3's uneven deal and the refusal of
// tp 5.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_paths.hpp"

namespace tplm {
namespace {

std::string stories_bin() {
  return (test::stories_dir() / "stories260K.bin").string();
}

bool have_inputs() {
  return std::filesystem::exists(stories_bin()) && std::filesystem::exists(test::tplm_exe());
}

std::string plan_cmd(const std::string& args) {
  return test::tplm_exe().string() + " plan -m " + stories_bin() + " " + args + " 2>&1";
}

TEST(PlanCommand, Tp2PrintsEachRanksShare) {
  if (!have_inputs()) GTEST_SKIP() << "needs " << stories_bin() << " and " << test::tplm_exe();
  const test::CommandResult r = test::run_command(plan_cmd("--tp 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("8 heads, 4 kv heads, head_dim 8, ffn 172, vocab 512"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("rank 0: heads [0, 4) kv heads [0, 2) ffn [0, 86) vocab [0, 256)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("rank 1: heads [4, 8) kv heads [2, 4) ffn [86, 172) vocab [256, 512)"),
            std::string::npos)
      << r.output;
  // 5 layers x 512 positions x 2 kv heads x 8 dims x (K, V) x 2 bytes (f16, the default).
  EXPECT_NE(r.output.find("kv cache 163840 bytes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("kv cache: 512 positions (the model's context) as f16"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("host 0 (ranks 0..1): needs "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("embedding: vocab-parallel"), std::string::npos) << r.output;
}

TEST(PlanCommand, Tp3DealsKvHeadsUnevenly) {
  if (!have_inputs()) GTEST_SKIP() << "needs " << stories_bin() << " and " << test::tplm_exe();
  const test::CommandResult r = test::run_command(plan_cmd("--tp 3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 0: heads [0, 4) kv heads [0, 2) ffn [0, 58)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("rank 2: heads [6, 8) kv heads [3, 4) ffn [115, 172)"), std::string::npos)
      << r.output;
}

TEST(PlanCommand, Tp5IsRefusedWithValidValues) {
  if (!have_inputs()) GTEST_SKIP() << "needs " << stories_bin() << " and " << test::tplm_exe();
  const test::CommandResult r = test::run_command(plan_cmd("--tp 5"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tp 5 cannot split this model: 5 ranks are more than the 4 kv heads "
                          "and not a multiple of them; valid tp: 1, 2, 3, 4, 8"),
            std::string::npos)
      << r.output;
}

TEST(PlanCommand, JsonListsEverySlice) {
  if (!have_inputs()) GTEST_SKIP() << "needs " << stories_bin() << " and " << test::tplm_exe();
  const test::CommandResult r =
      test::run_command(test::tplm_exe().string() + " plan -m " + stories_bin() + " --tp 8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["tp"], 8);
  EXPECT_EQ(j["kv_replication"], 2);
  ASSERT_EQ(j["ranks"].size(), 8u);
  uint64_t sum = 0;
  for (const auto& rank : j["ranks"]) sum += rank["weight_bytes"].get<uint64_t>();
  EXPECT_GE(sum, j["total_weight_bytes"].get<uint64_t>());
  EXPECT_EQ(j["ranks"][5]["kv_heads"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(j["ranks"][7]["ffn"], nlohmann::json::array({151, 172}));
  const auto& slices = j["ranks"][0]["slices"];
  ASSERT_FALSE(slices.empty());
  EXPECT_EQ(slices[0]["name"], "token_embd.weight");
}

TEST(PlanCommand, DevicesLimit) {
  if (!have_inputs()) GTEST_SKIP() << "needs " << stories_bin() << " and " << test::tplm_exe();
  const test::CommandResult r = test::run_command(plan_cmd("--tp 4 --devices 1"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tp 4 needs 4 devices but 1 is available; use --tp 1"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tplm
