// `tplm plan -m MODEL --tp N [--devices D] [--json]`: what each rank would own
// and need, without loading a weight. A tp the model cannot take prints the
// PlanError (every reason and the valid tp values) and exits 1; a tp above
// --devices says so and the tp values that fit.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "app/cli.hpp"
#include "app/plan_text.hpp"
#include "format/model_file.hpp"
#include "parallel/plan.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {
namespace {

struct PlanArgs {
  std::string model;
  int tp = 1;
  int devices = 0;
  bool json = false;
};

std::string range_text(Range r) {
  return fmt::format("[{}, {})", r.begin, r.end);
}

std::string bytes_text(uint64_t b) {
  return fmt::format("{} bytes ({:.2f} MiB)", b, static_cast<double>(b) / (1024.0 * 1024.0));
}

nlohmann::json range_json(Range r) {
  return nlohmann::json::array({r.begin, r.end});
}

nlohmann::json plan_json(const ModelFile& m, const Plan& p) {
  nlohmann::json j = {{"model", m.path},
                      {"tp", p.tp},
                      {"kv_replication", p.kv_replication},
                      {"embedding_vocab_parallel", p.embedding_vocab_parallel},
                      {"embedding_reason", p.embedding_reason},
                      {"total_weight_bytes", p.total_weight_bytes},
                      {"replicated_weight_bytes", p.replicated_weight_bytes},
                      {"warnings", p.warnings},
                      {"ranks", nlohmann::json::array()}};
  for (const RankPlan& rp : p.ranks) {
    nlohmann::json slices = nlohmann::json::array();
    for (const TensorSlice& s : rp.slices)
      slices.push_back({{"name", s.name},
                        {"kind", std::string(split_kind_name(s.kind))},
                        {"rows", range_json(s.rows)},
                        {"cols", range_json(s.cols)},
                        {"bytes", s.bytes}});
    j["ranks"].push_back({{"rank", rp.rank},
                          {"heads", range_json(rp.heads)},
                          {"kv_heads", range_json(rp.kv_heads)},
                          {"ffn", range_json(rp.ffn)},
                          {"vocab", range_json(rp.vocab)},
                          {"weight_bytes", rp.weight_bytes},
                          {"kv_cache_bytes", rp.kv_cache_bytes},
                          {"slices", std::move(slices)}});
  }
  return j;
}

// More ranks than devices: the devices are the limit, so the tp values to
// suggest are the ones that fit on them (not the shape's whole list).
void check_devices(const ModelFile& m, int tp, int devices) {
  if (devices == 0 || tp <= devices) return;
  std::vector<int> fit;
  for (int v : valid_tp_values(m))
    if (v <= devices) fit.push_back(v);
  throw PlanError(fmt::format(
      "tp {} needs {} devices but {} {} available; use --tp {}{}", tp, tp, devices,
      devices == 1 ? "is" : "are", fit.back(),
      fit.size() > 1 ? fmt::format(" (tp that fit: {})", fmt::join(fit, ", ")) : std::string()));
}

}  // namespace

std::string plan_text(const ModelFile& m, const Plan& p) {
  std::string out;
  const ModelConfig& c = m.config;
  fmt::format_to(std::back_inserter(out),
                 "model: {} ({}): {} layers, dim {}, {} heads, {} kv heads, head_dim {}, ffn {}, "
                 "vocab {}, context {}\n",
                 m.path, file_format_name(m.format), c.n_layers, c.dim, c.n_heads, c.n_kv_heads,
                 c.head_dim, c.ffn_dim, c.vocab_size, c.context_length);
  fmt::format_to(std::back_inserter(out),
                 "plan: tp {}, kv replication {}, weights {}, replicated on every rank {}\n", p.tp,
                 p.kv_replication, bytes_text(p.total_weight_bytes),
                 bytes_text(p.replicated_weight_bytes));
  fmt::format_to(std::back_inserter(out), "embedding: {}\n", p.embedding_reason);
  for (const RankPlan& rp : p.ranks)
    fmt::format_to(std::back_inserter(out),
                   "rank {}: heads {} kv heads {} ffn {} vocab {} weights {} kv cache {}\n",
                   rp.rank, range_text(rp.heads), range_text(rp.kv_heads), range_text(rp.ffn),
                   range_text(rp.vocab), bytes_text(rp.weight_bytes),
                   bytes_text(rp.kv_cache_bytes));
  for (const std::string& w : p.warnings)
    fmt::format_to(std::back_inserter(out), "warning: {}\n", w);
  return out;
}

CommandAction add_plan_command(CLI::App& app) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* sub = app.add_subcommand("plan", "Show how --tp N ranks would split a model");
  sub->add_option("-m,--model", args->model, "model file or folder (GGUF, HF, llama2.c)")
      ->required();
  sub->add_option("--tp", args->tp, "number of ranks")->default_val(1);
  sub->add_option("--devices", args->devices, "devices available (0: do not check)")
      ->default_val(0);
  sub->add_flag("--json", args->json, "print the plan as JSON, with every tensor's slice");
  return [args]() -> int {
    if (args->tp < 1 || args->tp > kMaxTp)
      throw UsageError(fmt::format("--tp {} is out of range; use 1 to {}", args->tp, kMaxTp));
    if (args->devices < 0)
      throw UsageError(
          fmt::format("--devices {} is out of range; use the number of devices, or 0 not to check",
                      args->devices));
    const ModelFile m = open_model(args->model);
    check_devices(m, args->tp, args->devices);
    PlanLimits limits;
    limits.cores = static_cast<int>(std::thread::hardware_concurrency());
    const Plan p = make_plan(m, args->tp, limits);
    if (args->json)
      fmt::print("{}\n", plan_json(m, p).dump(2));
    else
      fmt::print("{}", plan_text(m, p));
    return 0;
  };
}

}  // namespace tplm
