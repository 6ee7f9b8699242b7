// tplm run: generate text from a prompt with the model split over --tp ranks.
// Options follow llama.cpp's spellings where it has one (-c, -t, -f, -s,
// --n-predict, --logit-bias, -r); every value is checked before the model is
// opened.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/capacity_options.hpp"
#include "app/cli.hpp"
#include "app/cli_values.hpp"
#include "app/plan_text.hpp"
#include "app/run_args.hpp"
#include "base/error.hpp"
#include "runtime/launcher.hpp"
#include "runtime/session.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

namespace {

double per_second(double n, double seconds) {
  return seconds > 0 ? n / seconds : 0.0;
}

void print_json(const RunReport& r, uint64_t seed) {
  const GenerateResult& g = r.result;
  nlohmann::json j;
  j["prompt_tokens"] = r.prompt_tokens;
  j["generated_tokens"] = g.generated;
  j["text"] = r.text;
  j["completion"] = g.text;
  j["stop_reason"] = g.stop_reason;
  if (g.stop_reason == "stop") j["stop_string"] = g.stop_string;
  j["seed"] = seed;
  j["tp"] = r.plan.tp;
  j["context"] = r.plan.context;
  j["kv_type"] = std::string(kv_type_name(r.plan.kv_type));
  j["timings"] = {
      {"load_s", r.load_seconds},
      {"prefill_s", g.prefill_seconds},
      {"prefill_tokens_per_s",
       per_second(static_cast<double>(r.prompt_tokens.size()), g.prefill_seconds)},
      {"decode_s", g.decode_seconds},
      {"decode_tokens_per_s", per_second(static_cast<double>(g.decode_steps), g.decode_seconds)}};
  nlohmann::json ranks = nlohmann::json::array();
  for (const RankReport& rr : r.ranks)
    ranks.push_back({{"weight_bytes", rr.weight_bytes},
                     {"plan_weight_bytes", rr.plan_weight_bytes},
                     {"kv_cache_bytes", rr.kv_cache_bytes},
                     {"plan_kv_cache_bytes", rr.plan_kv_cache_bytes}});
  j["ranks"] = ranks;
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_timings(const RunReport& r) {
  const GenerateResult& g = r.result;
  std::string stop = g.stop_reason;
  if (stop == "stop") stop += fmt::format(" at {}", nlohmann::json(g.stop_string).dump());
  std::fprintf(stderr,
               "\nprefill: %zu tokens, %.1f tokens/s; decode: %lld tokens, %.1f "
               "tokens/s (tp %d, %d threads per rank, context %lld, kv %s, stop: %s)\n",
               r.prompt_tokens.size(),
               per_second(static_cast<double>(r.prompt_tokens.size()), g.prefill_seconds),
               static_cast<long long>(g.decode_steps),
               per_second(static_cast<double>(g.decode_steps), g.decode_seconds), r.plan.tp,
               r.threads_per_rank, static_cast<long long>(r.plan.context),
               std::string(kv_type_name(r.plan.kv_type)).c_str(), stop.c_str());
}

double mib(uint64_t bytes) {
  return static_cast<double>(bytes) / 1048576.0;
}

// Each rank's memory, then this process's total: --tp N as threads puts every
// rank in this one process, so the process holds all of their shards.
void print_memory(const RunReport& r) {
  uint64_t weights = 0, kv = 0;
  int here = 0;
  for (size_t i = 0; i < r.ranks.size(); ++i) {
    const RankReport& rr = r.ranks[i];
    if (rr.weight_bytes == 0) continue;  // another process's rank
    std::fprintf(stderr, "rank %zu: weights %.2f MiB loaded (plan %.2f MiB), KV cache %.2f MiB\n",
                 i, mib(rr.weight_bytes), mib(rr.plan_weight_bytes), mib(rr.kv_cache_bytes));
    weights += rr.weight_bytes;
    kv += rr.kv_cache_bytes;
    ++here;
  }
  std::fprintf(stderr, "this process (%d rank%s): weights %.2f MiB, KV cache %.2f MiB\n", here,
               here == 1 ? "" : "s", mib(weights), mib(kv));
}

// Every check that needs no file, then the prompt.
void prepare(RunArgs& a, const CLI::App& cmd) {
  if (cmd.count("--prompt") > 0 && cmd.count("--file") > 0)
    throw UsageError("give the prompt with -p or with -f, not both");
  prepare_generation_options(a, cmd);
  // Under mpirun only rank 0 reads the prompt (stdin reaches rank 0 alone).
  if (!a.prompt_file.empty() && launch_rank() == 0) a.opt.prompt = read_prompt_file(a.prompt_file);
}

}  // namespace

CommandAction add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  RunOptions& opt = a->opt;
  CLI::App* cmd =
      app.add_subcommand("run", "generate text from a prompt, the model split over --tp ranks");
  add_model_options(cmd, *a);
  cmd->add_option("-p,--prompt", opt.prompt,
                  "the prompt (default: empty, generation starts from BOS)");
  cmd->add_option("-f,--file", a->prompt_file,
                  "read the prompt from a file (- for stdin; one trailing newline is dropped)");
  cmd->add_flag("--parse-special", opt.parse_special,
                "special tokens written in the prompt (<s>, <|begin_of_text|>) are those tokens");
  add_generation_options(cmd, *a);
  cmd->add_flag("--json", a->json, "print one JSON object instead of streaming text");
  cmd->add_flag("-v,--verbose", a->verbose,
                "print the plan before loading and each rank's memory after generating");
  return [a, cmd]() -> int {
    prepare(*a, *cmd);
    const bool json = a->json;
    auto stream = [json](const std::string& piece) {
      if (json) return;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    };
    auto show_plan = [a](const ModelFile& m, const Plan& p, const Capacity& c) {
      if (a->verbose) std::fprintf(stderr, "%s", plan_text(m, p, &c).c_str());
    };
    RunReport r = run_model(a->opt, stream, show_plan);
    if (!r.is_rank0) return 0;
    if (json) {
      print_json(r, a->opt.sampling.seed);
    } else {
      std::printf("\n");
      print_timings(r);
    }
    if (a->verbose) print_memory(r);
    return 0;
  };
}

}  // namespace tplm
