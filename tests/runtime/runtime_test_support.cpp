#include "runtime_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "runtime/engine.hpp"
#include "support/test_paths.hpp"

namespace tplm::test {

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

std::vector<RankOutput> run_on_ranks(const ModelFile& model, int tp, const RankJob& job,
                                     int64_t max_context) {
  EngineOptions options;
  options.tp = tp;
  options.threads = 1;
  options.max_context = max_context;
  options.show_progress = false;
  Engine engine(model, options);
  std::vector<RankOutput> out(static_cast<size_t>(tp));
  engine.run([&](Steps& steps) { out[0] = job(steps); });
  for (int r = 0; r < tp; ++r)
    out[static_cast<size_t>(r)].weight_bytes = engine.ranks()[static_cast<size_t>(r)].weight_bytes;
  return out;
}

}  // namespace tplm::test
