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

ModelFile stories() {
  return open_model(test::stories_dir() / "stories260K.bin");
}

// The same model converted by tools/ (GGUF; Hugging Face with rotate-half Q/K rows).
std::optional<ModelFile> converted(const char* name) {
  const auto path = test::fixtures_dir() / name;
  if (!std::filesystem::exists(path)) return std::nullopt;
  return open_model(path);
}

class Golden : public ::testing::TestWithParam<int> {};

TEST_P(Golden, OnceUponLogits) {
  test::check_golden_logits(stories(), test::test_options(GetParam()),
                            test::read_golden("once_upon_64"));
}
TEST_P(Golden, EmptyPromptLogits) {
  test::check_golden_logits(stories(), test::test_options(GetParam()),
                            test::read_golden("empty_prompt_200"));
}
TEST_P(Golden, OnceUponTokens) {
  test::check_golden_tokens(stories(), test::test_options(GetParam()),
                            test::read_golden("once_upon_64"));
}
TEST_P(Golden, EmptyPromptTokens) {
  test::check_golden_tokens(stories(), test::test_options(GetParam()),
                            test::read_golden("empty_prompt_200"));
}

class GoldenConverted : public ::testing::TestWithParam<std::tuple<const char*, int>> {};

TEST_P(GoldenConverted, TokensAndLogits) {
  auto [name, tp] = GetParam();
  auto model = converted(name);
  if (!model)
    GTEST_SKIP() << (test::fixtures_dir() / name)
                 << " is absent (made by tools/make_test_fixtures.py)";
  for (const char* g : {"once_upon_64", "empty_prompt_200"}) {
    test::check_golden_logits(*model, test::test_options(tp), test::read_golden(g));
    test::check_golden_tokens(*model, test::test_options(tp), test::read_golden(g));
  }
}

INSTANTIATE_TEST_SUITE_P(Converted, GoldenConverted,
                         ::testing::Combine(::testing::Values("stories260K.gguf", "stories260K-hf"),
                                            ::testing::Values(1, 2, 3, 4, 8)));

INSTANTIATE_TEST_SUITE_P(Tp, Golden, ::testing::Values(1, 2, 3, 4, 8),
                         ::testing::PrintToStringParamName());

}  // namespace
}  // namespace tplm
