// tplm bench: prefill and decode speed of a model split over --tp ranks, and
// each rank's weight memory.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "app/cli.hpp"
#include "app/device_options.hpp"
#include "base/error.hpp"
#include "runtime/bench.hpp"
#include "runtime/run_options.hpp"

namespace tplm {

namespace {

double per_second(double n, double s) {
  return s > 0 ? n / s : 0.0;
}

// The prediction (made before loading, from the measured read bandwidth and
// link) beside the measurement, and how far apart they are.
void print_prediction(const BenchReport& r) {
  const DecodePrediction& p = r.predicted;
  if (p.tp != r.tp || p.tokens_per_s <= 0 || r.decode_steps == 0) {
    std::printf("predicted decode: none (tp %d was not measured: more ranks than devices)\n", r.tp);
    return;
  }
  const double measured = per_second(static_cast<double>(r.decode_steps), r.decode_seconds);
  std::printf(
      "predicted decode: %.1f tokens/s = %.3f ms per token: %.3f ms reading %.2f MiB per rank + "
      "%.3f ms of exchanges (%.0f%%%s%s); measured %.1f tokens/s = %.2f x the prediction\n",
      p.tokens_per_s, 1e3 * p.token_s, 1e3 * p.compute_s,
      static_cast<double>(p.read_bytes_per_rank) / 1048576.0, 1e3 * p.exchange_s,
      100.0 * p.exchange_share, r.tp > 1 ? " over " : "", r.tp > 1 ? r.transport.c_str() : "",
      measured, measured / p.tokens_per_s);
  if (r.tp > 1 && r.predicted_tp1.tokens_per_s > 0)
    std::printf("predicted decode at tp 1: %.1f tokens/s\n", r.predicted_tp1.tokens_per_s);
}

void print_bench(const BenchReport& r) {
  std::printf("tp %d, %d threads per rank, %s, load %.2f s\n", r.tp, r.threads_per_rank,
              r.device.c_str(), r.load_seconds);
  std::printf("prefill: %lld tokens in %.3f s = %.1f tokens/s\n",
              static_cast<long long>(r.prompt_tokens), r.prefill_seconds,
              per_second(static_cast<double>(r.prompt_tokens), r.prefill_seconds));
  std::printf("decode:  %lld tokens in %.3f s = %.1f tokens/s\n",
              static_cast<long long>(r.decode_steps), r.decode_seconds,
              per_second(static_cast<double>(r.decode_steps), r.decode_seconds));
  if (r.batch > 1 && r.batch_steps > 0) {
    const double one = per_second(static_cast<double>(r.decode_steps), r.decode_seconds);
    const double all = per_second(static_cast<double>(r.batch * r.batch_steps), r.batch_seconds);
    std::printf(
        "batched decode: %lld sequences x %lld steps in %.3f s = %.1f tokens/s (%.2f ms per "
        "step) = %.2f x one sequence\n",
        static_cast<long long>(r.batch), static_cast<long long>(r.batch_steps), r.batch_seconds,
        all, 1e3 * r.batch_seconds / static_cast<double>(r.batch_steps), one > 0 ? all / one : 0.0);
  }
  print_prediction(r);
  if (r.tp > 1)
    std::printf("rank 0 in collectives: %.3f s, %.2f MiB sent\n", r.comm_seconds_rank0,
                static_cast<double>(r.comm_bytes_rank0) / 1048576.0);
  if (r.tp > 1 && r.decode_steps > 0) {
    // Per generated token: exchange = rank 0's wait + transfer in collectives,
    // compute = the rest of the step; bytes = what rank 0 sent per token.
    const double steps = static_cast<double>(r.decode_steps);
    const double step_ms = 1e3 * r.decode_seconds / steps;
    const double exchange_ms = 1e3 * r.decode_comm_seconds_rank0 / steps;
    std::printf(
        "decode per token: %.3f ms = exchange %.3f ms (%.1f%%) + compute %.3f ms; "
        "rank 0 sent %.0f bytes/token\n",
        step_ms, exchange_ms, step_ms > 0 ? 100.0 * exchange_ms / step_ms : 0.0,
        step_ms - exchange_ms, static_cast<double>(r.decode_comm_bytes_rank0) / steps);
  }
  if (r.read_bandwidth_gbps > 0 && r.decode_steps > 0) {
    // What decode reads per second (weights only) against what the memory can give.
    const double tokens_per_s = per_second(static_cast<double>(r.decode_steps), r.decode_seconds);
    const double gbps = static_cast<double>(r.decode_bytes_per_token) * tokens_per_s / 1e9;
    std::printf(
        "decode reads %.1f MiB of weights per token on rank 0: %.1f GB/s = %.1f%% of the "
        "measured read bandwidth of %s (%.1f GB/s)\n",
        static_cast<double>(r.decode_bytes_per_token) / 1048576.0, gbps,
        100.0 * gbps / r.read_bandwidth_gbps, r.device.c_str(), r.read_bandwidth_gbps);
  }
  for (size_t i = 0; i < r.ranks.size(); ++i) {
    if (r.ranks[i].weight_bytes == 0) continue;
    std::printf("rank %zu: weights %.2f MiB (plan %.2f MiB), KV cache %.2f MiB\n", i,
                static_cast<double>(r.ranks[i].weight_bytes) / 1048576.0,
                static_cast<double>(r.ranks[i].plan_weight_bytes) / 1048576.0,
                static_cast<double>(r.ranks[i].kv_cache_bytes) / 1048576.0);
  }
}

}  // namespace

CommandAction add_bench_command(CLI::App& app) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench",
                                     "measure prefill and decode tokens/s with "
                                     "the model split over --tp ranks");
  cmd->add_option("-m,--model", opt->model, "model: .gguf, llama2.c .bin, or Hugging Face folder")
      ->required();
  cmd->add_option("--tp", opt->tp, "tensor-parallel ranks")->capture_default_str();
  cmd->add_option("-t,--threads", opt->threads, "kernel threads per rank (default: cores / ranks)");
  cmd->add_option("--prompt-tokens", opt->prompt_tokens, "prefill length")->capture_default_str();
  cmd->add_option("--gen-tokens", opt->gen_tokens, "decode steps")->capture_default_str();
  cmd->add_option("--batch", opt->batch,
                  "then decode this many sequences together (a server's running batch)")
      ->capture_default_str();
  cmd->add_option("--comm-timeout", opt->timeout_seconds,
                  "seconds a collective may wait for a peer before the run fails")
      ->capture_default_str();
  add_device_options(cmd, opt->backend, opt->gpus);
  return [opt, cmd]() -> int {
    require_at_least(*cmd, "--threads", opt->threads, 1,
                     fmt::format("use 1 to {} (or leave it out for cores / ranks)", kMaxThreads));
    check_bench_options(*opt);  // before the model is opened
    BenchReport r = run_bench(*opt);
    if (r.is_rank0) print_bench(r);
    return 0;
  };
}

}  // namespace tplm
