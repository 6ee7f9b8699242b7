// tplm run: generate text from a prompt with the model split over --tp ranks.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli.hpp"
#include "app/device_options.hpp"
#include "base/error.hpp"
#include "runtime/session.hpp"

namespace tplm {

namespace {

double per_second(double n, double seconds) {
  return seconds > 0 ? n / seconds : 0.0;
}

void print_json(const RunReport& r) {
  const GenerateResult& g = r.result;
  nlohmann::json j;
  j["prompt_tokens"] = r.prompt_tokens;
  j["generated_tokens"] = g.generated;
  j["text"] = r.text;
  j["stop_reason"] = g.stop_reason;
  j["tp"] = r.plan.tp;
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
                     {"kv_cache_bytes", rr.kv_cache_bytes}});
  j["ranks"] = ranks;
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_timings(const RunReport& r) {
  const GenerateResult& g = r.result;
  std::fprintf(stderr,
               "\nprefill: %zu tokens, %.1f tokens/s; decode: %lld tokens, %.1f "
               "tokens/s (tp %d, %d threads per rank, stop: %s)\n",
               r.prompt_tokens.size(),
               per_second(static_cast<double>(r.prompt_tokens.size()), g.prefill_seconds),
               static_cast<long long>(g.decode_steps),
               per_second(static_cast<double>(g.decode_steps), g.decode_seconds), r.plan.tp,
               r.threads_per_rank, g.stop_reason.c_str());
}

void print_memory(const RunReport& r) {
  for (size_t i = 0; i < r.ranks.size(); ++i) {
    const RankReport& rr = r.ranks[i];
    if (rr.weight_bytes == 0) continue;  // another process's rank
    std::fprintf(stderr,
                 "rank %zu: weights %.2f MiB loaded (plan %.2f MiB), KV cache "
                 "%.2f MiB\n",
                 i, static_cast<double>(rr.weight_bytes) / 1048576.0,
                 static_cast<double>(rr.plan_weight_bytes) / 1048576.0,
                 static_cast<double>(rr.kv_cache_bytes) / 1048576.0);
  }
}

}  // namespace

CommandAction add_run_command(CLI::App& app) {
  auto opt = std::make_shared<RunOptions>();
  auto json = std::make_shared<bool>(false);
  auto verbose = std::make_shared<bool>(false);
  CLI::App* cmd =
      app.add_subcommand("run", "generate text from a prompt, the model split over --tp ranks");
  cmd->add_option("-m,--model", opt->model, "model: .gguf, llama2.c .bin, or Hugging Face folder")
      ->required();
  cmd->add_option("--tokenizer", opt->tokenizer,
                  "tokenizer file (llama2.c tok*.bin, tokenizer.json, tokenizer.model)");
  cmd->add_option("-p,--prompt", opt->prompt,
                  "the prompt (default: empty, generation starts from BOS)");
  cmd->add_option("-n,--max-new-tokens", opt->max_new_tokens, "most tokens to generate")
      ->capture_default_str();
  cmd->add_option("--temp", opt->sampling.temperature, "temperature (0 = greedy)")
      ->capture_default_str();
  cmd->add_option("--top-k", opt->sampling.top_k, "sample among the k most likely (0 = all)")
      ->capture_default_str();
  cmd->add_option("--top-p", opt->sampling.top_p, "nucleus sampling mass (1 = all)")
      ->capture_default_str();
  cmd->add_option("--seed", opt->sampling.seed, "random seed of the sampler")
      ->capture_default_str();
  cmd->add_option("--tp", opt->tp, "tensor-parallel ranks (threads in this process)")
      ->capture_default_str();
  cmd->add_option("--threads", opt->threads, "kernel threads per rank (default: cores / ranks)");
  opt->timeout_seconds = 60.0;
  cmd->add_option("--comm-timeout", opt->timeout_seconds,
                  "seconds a collective may wait for a peer before the run fails")
      ->capture_default_str();
  cmd->add_option("--context", opt->max_context,
                  "KV cache positions (default: the model's context)");
  add_device_options(cmd, opt->backend, opt->gpus);
  cmd->add_flag("--json", *json, "print one JSON object instead of streaming text");
  cmd->add_flag("-v,--verbose", *verbose, "print each rank's weight memory next to the plan's");
  return [opt, json, verbose]() -> int {
    if (opt->max_new_tokens < 0) throw Error("-n must be >= 0");
    if (!(opt->timeout_seconds > 0)) throw Error("--comm-timeout must be > 0 seconds");
    if (opt->threads < 0) throw Error("--threads must be >= 1 (or leave it out for cores / ranks)");
    auto stream = [&](const std::string& piece) {
      if (*json) return;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    };
    RunReport r = run_model(*opt, stream);
    if (!r.is_rank0) return 0;
    if (*json) {
      print_json(r);
    } else {
      std::printf("\n");
      print_timings(r);
    }
    if (*verbose) print_memory(r);
    return 0;
  };
}

}  // namespace tplm
