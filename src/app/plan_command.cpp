// `tplm plan -m MODEL --tp N|auto [--devices D] [--json]`: what each rank
// would own and need, without loading a weight, and the predicted decode
// speed of every tp the model takes on this machine (its read bandwidth and
// link measured in about a second, or given with --read-bandwidth and
// --link-*), with advice for the tp asked. A tp the model cannot take prints
// the PlanError (every reason and the valid tp values) and exits 1; a tp above
// --devices says so and the tp values that fit. Under mpirun every process
// takes part in the measurement and rank 0 prints.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "app/cli.hpp"
#include "app/cli_values.hpp"
#include "app/forecast_text.hpp"
#include "app/plan_text.hpp"
#include "format/model_file.hpp"
#include "parallel/plan.hpp"
#include "parallel/process_world.hpp"
#include "runtime/decode_forecast.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {
namespace {

struct PlanArgs {
  std::string model;
  std::string tp = "1";
  int devices = 0;
  bool json = false;
  // Given instead of measured (0: measure).
  double read_gbps = 0;
  double link_latency_us = -1;
  double link_gbps = 0;
  int ranks_per_host = 0;
};

void check_given_figures(const PlanArgs& a, const CLI::App& cmd) {
  const bool any_link = cmd.count("--link-latency") + cmd.count("--link-bandwidth") > 0;
  const bool read = cmd.count("--read-bandwidth") > 0;
  if (!read && (any_link || cmd.count("--ranks-per-host") > 0))
    throw UsageError(
        "--link-latency, --link-bandwidth and --ranks-per-host describe given figures: give "
        "--read-bandwidth with them (or none of them, to measure this machine)");
  if (!read) return;
  if (!(a.read_gbps > 0))
    throw UsageError(fmt::format("--read-bandwidth {} is out of range; use GB/s > 0", a.read_gbps));
  if (cmd.count("--link-latency") == 0 || cmd.count("--link-bandwidth") == 0)
    throw UsageError(
        "--read-bandwidth needs --link-latency MICROSECONDS and --link-bandwidth GB/s too");
  if (!(a.link_latency_us >= 0))
    throw UsageError(
        fmt::format("--link-latency {} is out of range; use microseconds >= 0", a.link_latency_us));
  if (!(a.link_gbps > 0))
    throw UsageError(fmt::format("--link-bandwidth {} is out of range; use GB/s > 0", a.link_gbps));
  if (a.ranks_per_host < 0)
    throw UsageError(fmt::format(
        "--ranks-per-host {} is out of range; use 1 or more, or 0 for every rank on one host",
        a.ranks_per_host));
}

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

bool launch_rank_is_zero(const std::optional<ProcessWorld>& world) {
  return !world || world->rank == 0;
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
  sub->add_option("--tp", args->tp,
                  "number of ranks, or auto: the fastest predicted that fits the devices present")
      ->capture_default_str();
  sub->add_option("--devices", args->devices, "devices available (0: do not check)")
      ->default_val(0);
  sub->add_flag("--json", args->json, "print the plan as JSON, with every tensor's slice");
  sub->add_option("--read-bandwidth", args->read_gbps,
                  "predict with this read bandwidth of a host, GB/s, instead of measuring");
  sub->add_option("--link-latency", args->link_latency_us,
                  "with --read-bandwidth: an exchange's latency, microseconds");
  sub->add_option("--link-bandwidth", args->link_gbps,
                  "with --read-bandwidth: the link's all-reduce bandwidth, GB/s");
  sub->add_option("--ranks-per-host", args->ranks_per_host,
                  "with --read-bandwidth: ranks sharing a host's bandwidth (default: all on one)");
  return [args, sub]() -> int {
    const int asked = parse_tp_option(args->tp);
    if (args->devices < 0)
      throw UsageError(
          fmt::format("--devices {} is out of range; use the number of devices, or 0 not to check",
                      args->devices));
    check_given_figures(*args, *sub);
    const auto world = detect_mpi_launch();
    // Under mpirun the world is the split (as for run): tp 1 means its size.
    const int tp_asked = world && asked == 1 ? world->size : asked;
    const ModelFile m = open_model(args->model);
    PlanLimits limits;
    limits.cores = static_cast<int>(std::thread::hardware_concurrency());
    if (tp_asked != kTpAuto) {
      check_devices(m, tp_asked, args->devices);
      (void)make_plan(m, tp_asked, limits);  // every reason it cannot split, before measuring
    }
    // The tps to predict: every one the model takes; under mpirun only the
    // world's (and tp 1 to compare with): the other sizes cannot be measured.
    std::vector<int> tps = valid_tp_values(m);
    if (world) std::erase_if(tps, [&](int tp) { return tp != 1 && tp != world->size; });
    const bool given = args->read_gbps > 0;
    const FitCheck fits = plan_memory_check(m, BackendKind::Cpu, {});
    const Forecast f =
        given ? forecast_decode(m, tps,
                                given_machine_speed(args->read_gbps, args->link_latency_us,
                                                    args->link_gbps, args->ranks_per_host, tps),
                                fits)
              : measure_and_forecast(m, tps, SpeedProbeOptions{}, fits);
    int tp = tp_asked;
    std::string auto_reason;
    if (tp_asked == kTpAuto) {
      // Limited to the devices present: --devices, else the cores (or mpirun's world).
      std::vector<int> present =
          given ? valid_tp_values(m) : auto_tp_candidates(m, BackendKind::Cpu, {});
      const int limit = args->devices > 0 ? args->devices : given ? limits.cores : kMaxTp;
      std::vector<DecodePrediction> candidates;
      for (int c : present)
        if (c <= limit && f.find(c) != nullptr) candidates.push_back(*f.find(c));
      const AutoTpChoice choice = choose_tp(candidates);
      tp = choice.tp;
      auto_reason = choice.reason;
    }
    const Plan p = make_plan(m, tp, limits);
    if (launch_rank_is_zero(world)) {
      if (args->json) {
        nlohmann::json j = plan_json(m, p);
        j["speed"] = forecast_json(f, tp);
        if (!auto_reason.empty()) j["auto"] = auto_reason;
        fmt::print("{}\n", j.dump(2));
      } else {
        if (!auto_reason.empty()) fmt::print("{}\n", auto_reason);
        fmt::print("{}{}", plan_text(m, p), forecast_text(f, tp, given ? 0 : limits.cores));
      }
    }
    return 0;
  };
}

}  // namespace tplm
