#include "runtime/bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/error.hpp"
#include "parallel/decode_prediction.hpp"
#include "runtime/decode_forecast.hpp"
#include "runtime/engine.hpp"
#include "runtime/generator.hpp"
#include "runtime/run_options.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

namespace {

// A fixed, model-independent prompt: spread over the vocabulary, no special meaning.
std::vector<int32_t> synthetic_prompt(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + 3) % vocab);
  return ids;
}

EngineOptions engine_options(const BenchOptions& o) {
  EngineOptions e;
  e.model = o.model;
  e.tp = o.tp;
  e.threads = o.threads;
  // The prefill's positions and one per decode step (the last token is sampled, not fed).
  e.max_context = o.prompt_tokens + o.gen_tokens;
  e.slots = o.batch;
  e.timeout_seconds = o.timeout_seconds;
  e.show_progress = o.show_progress;
  e.backend = o.backend;
  e.gpus = o.gpus;
  return e;
}

// Slot i's prompt as rows of one step (logits of its last row only).
std::vector<BatchRow> prompt_rows(std::span<const int32_t> prompt, int32_t slot) {
  std::vector<BatchRow> rows(prompt.size());
  for (size_t p = 0; p < prompt.size(); ++p)
    rows[p] = {slot, static_cast<int32_t>(p), prompt[p], p + 1 == prompt.size() ? 1 : 0};
  return rows;
}

// o.batch sequences prefilled one by one, then o.gen_tokens steps of one row
// each (every row's logits downloaded, as a server's decode step): the time of
// those steps.
void run_batched_decode(Steps& steps, std::span<const int32_t> prompt, const BenchOptions& o,
                        BenchReport& rep) {
  if (o.show_progress)
    std::fprintf(stderr, "bench: %lld sequences: prefill each, then %lld steps of all ...\n",
                 static_cast<long long>(o.batch), static_cast<long long>(o.gen_tokens));
  for (int64_t i = 0; i < o.batch; ++i)
    steps.forward_rows(prompt_rows(prompt, static_cast<int32_t>(i)));
  std::vector<BatchRow> rows(static_cast<size_t>(o.batch));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < o.gen_tokens; ++step) {
    for (int64_t i = 0; i < o.batch; ++i) {
      const auto token = prompt[static_cast<size_t>(step + i) % prompt.size()];
      rows[static_cast<size_t>(i)] = {static_cast<int32_t>(i),
                                      static_cast<int32_t>(o.prompt_tokens + step), token, 1};
    }
    steps.forward_rows(rows);
  }
  rep.batch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rep.batch_steps = o.gen_tokens;
}

}  // namespace

void check_bench_options(const BenchOptions& o) {
  if (o.prompt_tokens < 1)
    throw UsageError(
        fmt::format("--prompt-tokens {} is out of range; use 1 or more", o.prompt_tokens));
  if (o.gen_tokens < 0)
    throw UsageError(fmt::format("--gen-tokens {} is out of range; use 0 or more", o.gen_tokens));
  if (o.batch < 1 || o.batch > kMaxBenchBatch)
    throw UsageError(
        fmt::format("--batch {} is out of range; use 1 to {}", o.batch, kMaxBenchBatch));
  check_engine_options(engine_options(o));
}

BenchReport run_bench(const BenchOptions& o) {
  check_bench_options(o);
  ModelFile model = open_engine_model(o.model);
  const int64_t model_context = model.config.context_length;
  if (o.prompt_tokens + o.gen_tokens > model_context)
    throw Error(fmt::format("--prompt-tokens + --gen-tokens = {} exceeds the model's context of {}",
                            o.prompt_tokens + o.gen_tokens, model_context));
  Engine engine(std::move(model), engine_options(o));
  if (engine.leads())
    if (auto w = threads_warning(o.threads, engine.world_size()))
      std::fprintf(stderr, "tplm: warning: %s\n", w->c_str());
  BenchReport rep;
  rep.is_rank0 = engine.leads();
  rep.tp = engine.world_size();
  rep.threads_per_rank = engine.threads_per_rank();
  rep.prompt_tokens = o.prompt_tokens;
  rep.decode_bytes_per_token = decode_read_bytes(engine.model().config, engine.plan().ranks.at(0));
  {
    // Predicted before loading, from figures measured now: rank 0's device
    // alone and the link of this world (a collective under mpirun).
    SpeedProbeOptions probe;
    probe.backend = o.backend;
    probe.gpus = o.gpus;
    probe.timeout_seconds = o.timeout_seconds;
    if (o.show_progress && rep.is_rank0)
      std::fprintf(stderr, "bench: measuring the read bandwidth and the link ...\n");
    const Forecast f = measure_and_forecast(engine.model(), {1, rep.tp}, probe, {});
    rep.read_bandwidth_gbps = f.speed.host_read_bytes_per_s / 1e9;
    rep.transport = f.speed.transport;
    if (const DecodePrediction* d = f.find(rep.tp)) rep.predicted = *d;
    if (const DecodePrediction* d = f.find(1)) rep.predicted_tp1 = *d;
  }
  const std::vector<int32_t> prompt =
      synthetic_prompt(o.prompt_tokens, engine.model().config.vocab_size);
  GenerateOptions gen;
  gen.max_new_tokens = o.gen_tokens + 1;  // the first token comes from the prefill
  engine.run([&](Steps& steps) {
    if (o.show_progress)
      std::fprintf(stderr, "bench: warm-up, then prefill %lld tokens and %lld decode steps ...\n",
                   static_cast<long long>(o.prompt_tokens), static_cast<long long>(o.gen_tokens));
    // A warm-up prefill and a few decode steps first: one-time costs (loading
    // kernels, cuBLAS's choices, recording the decode step) are not a step's speed.
    steps.forward(prompt, 0, false);
    for (int64_t i = 0; i < std::min<int64_t>(3, o.gen_tokens); ++i) {
      const int32_t id = prompt[static_cast<size_t>(i) % prompt.size()];
      steps.forward(std::span(&id, 1), o.prompt_tokens + i, false);
    }
    const ExchangeStats start = steps.exchanges();
    // The first token ends the prefill: what the collectives cost from there
    // on is the decode's share.
    ExchangeStats decode_start = start;
    bool first_token = true;
    auto on_token = [&](int32_t) {
      if (!first_token) return;
      first_token = false;
      decode_start = steps.exchanges();
    };
    GenerateResult g = generate(steps, prompt, gen, on_token);
    const ExchangeStats end = steps.exchanges();
    rep.prefill_seconds = g.prefill_seconds;
    rep.decode_seconds = g.decode_seconds;
    rep.decode_steps = g.decode_steps;
    rep.comm_seconds_rank0 = end.seconds - start.seconds;
    rep.comm_bytes_rank0 = end.bytes_sent - start.bytes_sent;
    rep.decode_comm_seconds_rank0 = end.seconds - decode_start.seconds;
    rep.decode_comm_bytes_rank0 = end.bytes_sent - decode_start.bytes_sent;
    rep.batch = o.batch;
    if (o.batch > 1) run_batched_decode(steps, prompt, o, rep);
  });
  rep.ranks = engine.ranks();
  rep.load_seconds = engine.load_seconds();
  if (rep.is_rank0) {
    const int device = engine.devices().device_of_rank.at(0);
    rep.device = backend_device_info(o.backend, device).name;
  }
  return rep;
}

}  // namespace tplm
