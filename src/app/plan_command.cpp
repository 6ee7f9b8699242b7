// `tplm plan -m MODEL --tp N [--json]`: what each rank would own and need,
// without loading a weight. A tp the model cannot take prints the PlanError
// (every reason and the valid tp values) and exits 1.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "app/cli.hpp"
#include "format/model_file.hpp"
#include "parallel/plan.hpp"

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

void print_plan(const ModelFile& m, const Plan& p) {
  const ModelConfig& c = m.config;
  fmt::print(
      "model: {} ({}): {} layers, dim {}, {} heads, {} kv heads, head_dim {}, ffn {}, "
      "vocab {}, context {}\n",
      m.path, file_format_name(m.format), c.n_layers, c.dim, c.n_heads, c.n_kv_heads, c.head_dim,
      c.ffn_dim, c.vocab_size, c.context_length);
  fmt::print("plan: tp {}, kv replication {}, weights {}, replicated on every rank {}\n", p.tp,
             p.kv_replication, bytes_text(p.total_weight_bytes),
             bytes_text(p.replicated_weight_bytes));
  fmt::print("embedding: {}\n", p.embedding_reason);
  for (const RankPlan& rp : p.ranks)
    fmt::print("rank {}: heads {} kv heads {} ffn {} vocab {} weights {} kv cache {}\n", rp.rank,
               range_text(rp.heads), range_text(rp.kv_heads), range_text(rp.ffn),
               range_text(rp.vocab), bytes_text(rp.weight_bytes), bytes_text(rp.kv_cache_bytes));
  for (const std::string& w : p.warnings) fmt::print("warning: {}\n", w);
}

}  // namespace

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
    const ModelFile m = open_model(args->model);
    PlanLimits limits;
    limits.cores = static_cast<int>(std::thread::hardware_concurrency());
    limits.devices = args->devices;
    const Plan p = make_plan(m, args->tp, limits);
    if (args->json)
      fmt::print("{}\n", plan_json(m, p).dump(2));
    else
      print_plan(m, p);
    return 0;
  };
}

}  // namespace tplm
