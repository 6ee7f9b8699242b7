// The option values CLI11 cannot convert by itself: --logit-bias, --seed, -f.
#include "app/cli_values.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "runtime/usage_error.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

TEST(CliValues, LogitBiasInLlamaCppSyntax) {
  LogitBias b = parse_logit_bias("15043+1");
  EXPECT_EQ(b.token, 15043);
  EXPECT_EQ(b.bias, 1.0f);
  b = parse_logit_bias("7-0.5");
  EXPECT_EQ(b.token, 7);
  EXPECT_EQ(b.bias, -0.5f);
  b = parse_logit_bias("0-inf");
  EXPECT_EQ(b.token, 0);
  EXPECT_TRUE(std::isinf(b.bias) && b.bias < 0);
  EXPECT_EQ(parse_logit_bias("3+1e2").bias, 100.0f);
  for (const char* bad : {"", "5", "+1", "-1", "x+1", "5+", "5+x", "5+1x", "5+-1", "5--1", "5 +1"})
    EXPECT_THROW(parse_logit_bias(bad), UsageError) << bad;
}

TEST(CliValues, SeedMinusOneIsRandom) {
  EXPECT_EQ(seed_from_option("0"), 0u);
  EXPECT_EQ(seed_from_option("7"), 7u);
  EXPECT_EQ(seed_from_option("18446744073709551615"), UINT64_MAX);
  // Drawn: below 2^32; two draws differ (fails 1 time in 2^32).
  const uint64_t a = seed_from_option("-1"), b = seed_from_option("-1");
  EXPECT_LE(a, UINT32_MAX);
  EXPECT_NE(a, b);
  for (const char* bad : {"-2", "18446744073709551616", "", "1e3", "0x10", "7 "})
    EXPECT_THROW(seed_from_option(bad), UsageError) << bad;
}

TEST(CliValues, PromptFileDropsOneTrailingNewline) {
  const auto dir = test::make_temp_dir("tplm-prompt");
  const auto file = dir / "p.txt";
  std::ofstream(file) << "line one\nline two\n\n";
  EXPECT_EQ(read_prompt_file(file.string()), "line one\nline two\n");
  EXPECT_THROW(read_prompt_file((dir / "missing.txt").string()), Error);
  EXPECT_THROW(read_prompt_file(dir.string()), Error);  // a folder
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tplm
