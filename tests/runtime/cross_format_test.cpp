// The same weights stored in different formats are the same model: the
// fixture generator writes one set of f32 weights as GGUF, as a Hugging Face
// folder (Q/K rows in rotate-half order) and as a llama2.c checkpoint, and
// the readers plus the loader's RoPE normalization must make them compute the
// same logits. The tp-equivalence test cannot see a layout mistake (every tp
// would compute the same wrong function); this test can.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "format/model_file.hpp"
#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

// F32 fixtures of one family, by format: e.g. "gqa" -> {gguf, hf, llama2c}. Only
// F32 holds bit-identical weights in every format: a BF16 Hugging Face folder
// stores its norms in BF16 too, while GGUF keeps norms in F32.
std::map<std::string, std::vector<fs::path>> same_weight_groups() {
  std::ifstream in(test::fixtures_dir() / "manifest.json");
  std::map<std::string, std::vector<fs::path>> groups;
  if (!in) return groups;
  const nlohmann::json j = nlohmann::json::parse(in);
  for (const auto& e : j.at("fixtures")) {
    const std::string name = e.at("name").get<std::string>();
    if (e.at("dtype").get<std::string>() != "F32") continue;
    groups[name.substr(0, name.find_first_of(".-"))].push_back(test::fixtures_dir() /
                                                               e.at("path").get<std::string>());
  }
  return groups;
}

std::vector<float> logits_at(const fs::path& path, int tp) {
  ModelFile model = open_model(path);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 9; ++i)
    prompt.push_back(static_cast<int32_t>((i * 53 + 5) % model.config.vocab_size));
  auto outs = test::run_on_ranks(model, tp, [&](Steps& steps) {
    test::RankOutput o;
    o.logits = steps.forward(prompt, 0, true);
    return o;
  });
  return outs[0].logits;
}

TEST(CrossFormat, SameWeightsInEveryFormatGiveTheSameLogits) {
  const auto groups = same_weight_groups();
  if (groups.empty())
    GTEST_SKIP() << "no " << (test::fixtures_dir() / "manifest.json")
                 << " (made by tools/make_test_fixtures.py)";
  int compared = 0;
  for (const auto& [group, paths] : groups) {
    if (paths.size() < 2) continue;
    for (int tp : {1, 2}) {
      const std::vector<float> ref = logits_at(paths[0], tp);
      for (size_t i = 1; i < paths.size(); ++i) {
        // Same f32 values, same interleaved rows after loading: the same sums.
        EXPECT_LE(test::relative_diff(logits_at(paths[i], tp), ref), 1e-6)
            << group << ": " << paths[i].filename() << " vs " << paths[0].filename() << " at tp "
            << tp;
        ++compared;
      }
    }
  }
  // gqa and mha (gguf, hf, llama2c), qwen2 and stories260K (gguf, hf): 6 pairs, at 2 tps.
  EXPECT_GE(compared, 10) << "the manifest has fewer same-weight fixtures than expected";
}

}  // namespace
}  // namespace tplm
