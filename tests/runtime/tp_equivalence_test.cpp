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

namespace fs = std::filesystem;

struct Fixture {
  std::string name;
  fs::path path;
  std::string dtype;
};

// manifest.json (tools/make_test_fixtures.py): a list of fixtures, or an
// object holding one under "fixtures"; each names its file by "path" or "file".
std::vector<Fixture> read_manifest() {
  std::ifstream in(test::fixtures_dir() / "manifest.json");
  if (!in) return {};
  nlohmann::json j = nlohmann::json::parse(in);
  const nlohmann::json& list = j.is_array() ? j : j.at("fixtures");
  std::vector<Fixture> out;
  for (const auto& e : list) {
    Fixture f;
    f.name = e.value("name", "");
    const std::string rel =
        e.contains("path") ? e.at("path").get<std::string>() : e.value("file", f.name);
    f.path = fs::path(rel).is_absolute() ? fs::path(rel) : test::fixtures_dir() / rel;
    f.dtype = e.value("dtype", "");
    if (f.name.empty()) f.name = f.path.filename().string();
    out.push_back(f);
  }
  return out;
}

std::vector<int32_t> some_prompt(int64_t vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 1) % vocab));
  return ids;
}

struct TpRun {
  std::vector<float> logits;
  std::vector<int32_t> greedy, sampled;
};

TpRun run_at(const ModelFile& model, int tp) {
  const auto prompt = some_prompt(model.config.vocab_size);
  const int64_t n_steps =
      std::min<int64_t>(64, model.config.context_length - static_cast<int64_t>(prompt.size()));
  auto outs = test::run_on_ranks(model, tp, [&](Steps& steps) {
    test::RankOutput o;
    o.logits = steps.forward(prompt, 0, true);
    GenerateOptions greedy;
    greedy.max_new_tokens = n_steps;
    o.generation = generate(steps, prompt, greedy);
    GenerateOptions sampled = greedy;
    sampled.sampling = {0.9f, 40, 0.95f, 1234};
    GenerateResult s = generate(steps, prompt, sampled);
    o.generation.generated.push_back(-1);  // separator between greedy and sampled tokens
    o.generation.generated.insert(o.generation.generated.end(), s.generated.begin(),
                                  s.generated.end());
    return o;
  });
  TpRun r;
  r.logits = outs[0].logits;
  const auto& all = outs[0].generation.generated;
  auto sep = std::find(all.begin(), all.end(), -1);
  r.greedy.assign(all.begin(), sep);
  r.sampled.assign(sep + 1, all.end());
  return r;
}

// The dtypes whose matmuls quantize activations (kernels.hpp).
bool int_activations(const std::string& dtype) {
  return dtype == "Q8_0" || dtype == "Q4_0" || dtype == "Q4_K" || dtype == "Q5_K" ||
         dtype == "Q6_K";
}

TEST(TpEquivalence, EveryFixtureAtTp2And4EqualsTp1) {
  const auto fixtures = read_manifest();
  if (fixtures.empty())
    GTEST_SKIP() << "no " << (test::fixtures_dir() / "manifest.json")
                 << " (made by tools/make_test_fixtures.py)";
  for (const Fixture& f : fixtures) {
    ModelFile model = open_model(f.path);
    const TpRun ref = run_at(model, 1);
    ASSERT_FALSE(ref.greedy.empty()) << f.name;
    const auto valid = valid_tp_values(model);
    for (int tp : {2, 4}) {
      if (std::find(valid.begin(), valid.end(), tp) == valid.end()) continue;
      const TpRun got = run_at(model, tp);
      if (!int_activations(f.dtype)) {
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
