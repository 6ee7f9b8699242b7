#include "runtime_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>

#include "runtime/engine.hpp"
#include "support/test_paths.hpp"

namespace tplm::test {

namespace fs = std::filesystem;

Golden read_golden(const std::string& name) {
  std::ifstream in(golden_dir() / (name + ".json"));
  if (!in) throw std::runtime_error("cannot open golden " + name);
  nlohmann::json j = nlohmann::json::parse(in);
  Golden g;
  g.prompt = j.at("prompt").get<std::string>();
  g.steps = j.at("steps").get<int64_t>();
  g.prompt_tokens = j.at("prompt_tokens").get<int64_t>();
  g.tokens = j.at("tokens").get<std::vector<int32_t>>();
  std::ifstream lf(golden_dir() / j.at("logits").at("file").get<std::string>(), std::ios::binary);
  lf.seekg(0, std::ios::end);
  g.logits.resize(static_cast<size_t>(lf.tellg()) / sizeof(float));
  lf.seekg(0);
  lf.read(reinterpret_cast<char*>(g.logits.data()),
          static_cast<std::streamsize>(g.logits.size() * sizeof(float)));
  return g;
}

double relative_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return ref == 0 ? diff : diff / ref;
}

EngineOptions test_options(int tp, BackendKind backend) {
  EngineOptions o;
  o.tp = tp;
  o.threads = 1;
  o.show_progress = false;
  o.backend = backend;
  o.kv_type = KvType::F32;  // the reference checks compare f32 logits
  return o;
}

std::vector<RankOutput> run_on_ranks(const ModelFile& model, const EngineOptions& options,
                                     const RankJob& job) {
  Engine engine(model, options);
  std::vector<RankOutput> out(static_cast<size_t>(engine.world_size()));
  engine.run([&](Steps& steps) { out[0] = job(steps); });
  for (size_t r = 0; r < out.size(); ++r) out[r].weight_bytes = engine.ranks()[r].weight_bytes;
  return out;
}

std::vector<RankOutput> run_on_ranks(const ModelFile& model, int tp, const RankJob& job,
                                     int64_t max_context) {
  EngineOptions options = test_options(tp);
  options.max_context = max_context;
  return run_on_ranks(model, options, job);
}

namespace {
constexpr int64_t kLogitRows = 16;
constexpr int32_t kBos = 1;
}  // namespace

// Logits of the first 16 positions, from one prefill call (all_logits) and from
// 16 one-token decode calls: both must match the reference rows.
void check_golden_logits(const ModelFile& model, const EngineOptions& options, const Golden& g) {
  const int tp = options.tp;
  const int64_t vocab = model.config.vocab_size;
  std::vector<float> ref(g.logits.begin(), g.logits.begin() + kLogitRows * vocab);
  std::vector<int32_t> ids(g.tokens.begin(), g.tokens.begin() + kLogitRows);
  auto outs = run_on_ranks(model, options, [&](Steps& steps) {
    RankOutput o;
    o.logits = steps.forward(ids, 0, true);
    return o;
  });
  EXPECT_LE(relative_diff(outs[0].logits, ref), 1e-4) << "prefill, tp " << tp;

  outs = run_on_ranks(model, options, [&](Steps& steps) {
    RankOutput o;
    for (int64_t p = 0; p < kLogitRows; ++p) {
      std::vector<float> row = steps.forward(std::span(&ids[static_cast<size_t>(p)], 1), p, false);
      o.logits.insert(o.logits.end(), row.begin(), row.end());
    }
    return o;
  });
  EXPECT_LE(relative_diff(outs[0].logits, ref), 1e-4) << "decode, tp " << tp;
}

void check_golden_tokens(const ModelFile& model, const EngineOptions& options, const Golden& g) {
  const int tp = options.tp;
  std::vector<int32_t> prompt(g.tokens.begin(), g.tokens.begin() + g.prompt_tokens);
  std::vector<int32_t> expected(g.tokens.begin() + g.prompt_tokens, g.tokens.end());
  const bool stopped_at_bos = !expected.empty() && expected.back() == kBos;
  if (stopped_at_bos) expected.pop_back();
  GenerateOptions opt;
  // llama2.c's -n counts every position from the BOS: steps - (prompt - 1) new tokens.
  opt.max_new_tokens = g.steps + 1 - g.prompt_tokens;
  opt.bos_id = kBos;
  auto outs = run_on_ranks(model, options, [&](Steps& steps) {
    RankOutput o;
    o.generation = generate(steps, prompt, opt);
    return o;
  });
  EXPECT_EQ(outs[0].generation.generated, expected) << "tp " << tp;
  EXPECT_EQ(outs[0].generation.stop_reason, stopped_at_bos ? "bos" : "length");
}

// manifest.json (tools/make_test_fixtures.py): a list of fixtures, or an
// object holding one under "fixtures"; each names its file by "path" or "file".
std::vector<Fixture> read_manifest() {
  std::ifstream in(fixtures_dir() / "manifest.json");
  if (!in) return {};
  nlohmann::json j = nlohmann::json::parse(in);
  const nlohmann::json& list = j.is_array() ? j : j.at("fixtures");
  std::vector<Fixture> out;
  for (const auto& e : list) {
    Fixture f;
    f.name = e.value("name", "");
    const std::string rel =
        e.contains("path") ? e.at("path").get<std::string>() : e.value("file", f.name);
    f.path = fs::path(rel).is_absolute() ? fs::path(rel) : fixtures_dir() / rel;
    f.dtype = e.value("dtype", "");
    if (f.name.empty()) f.name = f.path.filename().string();
    out.push_back(f);
  }
  return out;
}

bool cpu_quantizes_activations(const std::string& dtype) {
  return dtype == "Q8_0" || dtype == "Q4_0" || dtype == "Q4_K" || dtype == "Q5_K" ||
         dtype == "Q6_K";
}

namespace {

std::vector<int32_t> some_prompt(int64_t vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 1) % vocab));
  return ids;
}

}  // namespace

TpRun run_fixture(const ModelFile& model, const EngineOptions& options) {
  const auto prompt = some_prompt(model.config.vocab_size);
  const int64_t n_steps =
      std::min<int64_t>(64, model.config.context_length - static_cast<int64_t>(prompt.size()));
  auto outs = run_on_ranks(model, options, [&](Steps& steps) {
    RankOutput o;
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

}  // namespace tplm::test
