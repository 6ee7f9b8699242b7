// The proof of the whole engine: the real stories260K model reproduces the
// reference llama2.c runner token for token, and its logits, at every tp the
// model's shape allows.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <span>

#include "format/model_file.hpp"
#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

constexpr int64_t kLogitRows = 16;
constexpr int32_t kBos = 1;

ModelFile stories() {
  return open_model(test::stories_dir() / "stories260K.bin");
}

// The same model converted by tools/ (GGUF; Hugging Face with rotate-half Q/K rows).
std::optional<ModelFile> converted(const char* name) {
  const auto path = test::fixtures_dir() / name;
  if (!std::filesystem::exists(path)) return std::nullopt;
  return open_model(path);
}

// Logits of the first 16 positions, from one prefill call (all_logits) and from
// 16 one-token decode calls: both must match the reference rows.
void check_logits(const ModelFile& model, int tp, const test::Golden& g) {
  const int64_t vocab = model.config.vocab_size;
  std::vector<float> ref(g.logits.begin(), g.logits.begin() + kLogitRows * vocab);
  std::vector<int32_t> ids(g.tokens.begin(), g.tokens.begin() + kLogitRows);
  auto outs = test::run_on_ranks(model, tp, [&](Steps& steps) {
    test::RankOutput o;
    o.logits = steps.forward(ids, 0, true);
    return o;
  });
  EXPECT_LE(test::relative_diff(outs[0].logits, ref), 1e-4) << "prefill, tp " << tp;

  outs = test::run_on_ranks(model, tp, [&](Steps& steps) {
    test::RankOutput o;
    for (int64_t p = 0; p < kLogitRows; ++p) {
      std::vector<float> row = steps.forward(std::span(&ids[static_cast<size_t>(p)], 1), p, false);
      o.logits.insert(o.logits.end(), row.begin(), row.end());
    }
    return o;
  });
  EXPECT_LE(test::relative_diff(outs[0].logits, ref), 1e-4) << "decode, tp " << tp;
}

void check_tokens(const ModelFile& model, int tp, const test::Golden& g) {
  std::vector<int32_t> prompt(g.tokens.begin(), g.tokens.begin() + g.prompt_tokens);
  std::vector<int32_t> expected(g.tokens.begin() + g.prompt_tokens, g.tokens.end());
  const bool stopped_at_bos = !expected.empty() && expected.back() == kBos;
  if (stopped_at_bos) expected.pop_back();
  GenerateOptions opt;
  // llama2.c's -n counts every position from the BOS: steps - (prompt - 1) new tokens.
  opt.max_new_tokens = g.steps + 1 - g.prompt_tokens;
  opt.bos_id = kBos;
  auto outs = test::run_on_ranks(model, tp, [&](Steps& steps) {
    test::RankOutput o;
    o.generation = generate(steps, prompt, opt);
    return o;
  });
  EXPECT_EQ(outs[0].generation.generated, expected) << "tp " << tp;
  EXPECT_EQ(outs[0].generation.stop_reason, stopped_at_bos ? "bos" : "length");
}

class Golden : public ::testing::TestWithParam<int> {};

TEST_P(Golden, OnceUponLogits) {
  check_logits(stories(), GetParam(), test::read_golden("once_upon_64"));
}
TEST_P(Golden, EmptyPromptLogits) {
  check_logits(stories(), GetParam(), test::read_golden("empty_prompt_200"));
}
TEST_P(Golden, OnceUponTokens) {
  check_tokens(stories(), GetParam(), test::read_golden("once_upon_64"));
}
TEST_P(Golden, EmptyPromptTokens) {
  check_tokens(stories(), GetParam(), test::read_golden("empty_prompt_200"));
}

class GoldenConverted : public ::testing::TestWithParam<std::tuple<const char*, int>> {};

TEST_P(GoldenConverted, TokensAndLogits) {
  auto [name, tp] = GetParam();
  auto model = converted(name);
  if (!model)
    GTEST_SKIP() << (test::fixtures_dir() / name)
                 << " is absent (made by tools/make_test_fixtures.py)";
  for (const char* g : {"once_upon_64", "empty_prompt_200"}) {
    check_logits(*model, tp, test::read_golden(g));
    check_tokens(*model, tp, test::read_golden(g));
  }
}

INSTANTIATE_TEST_SUITE_P(Converted, GoldenConverted,
                         ::testing::Combine(::testing::Values("stories260K.gguf", "stories260K-hf"),
                                            ::testing::Values(1, 2, 4, 8)));

INSTANTIATE_TEST_SUITE_P(Tp, Golden, ::testing::Values(1, 2, 4, 8),
                         ::testing::PrintToStringParamName());

}  // namespace
}  // namespace tplm
