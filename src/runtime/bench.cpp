#include "runtime/bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "base/error.hpp"
#include "format/model_file.hpp"
#include "runtime/launcher.hpp"
#include "runtime/rank_model.hpp"

namespace tplm {

namespace {

// A fixed, model-independent prompt: spread over the vocabulary, no special meaning.
std::vector<int32_t> synthetic_prompt(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + 3) % vocab);
  return ids;
}

}  // namespace

BenchReport run_bench(const BenchOptions& o) {
  if (o.tp < 1 || o.tp > 64) throw Error(fmt::format("--tp {} is out of range; use 1 to 64", o.tp));
  if (o.prompt_tokens < 1) throw Error("--prompt-tokens must be >= 1");
  if (o.gen_tokens < 0) throw Error("--gen-tokens must be >= 0");
  if (o.model.empty()) throw Error("no model given; pass -m MODEL");
  const ModelFile model = open_model(o.model);
  check_tensors(model);
  const int64_t context = std::min(model.config.context_length, o.prompt_tokens + o.gen_tokens + 1);
  if (o.prompt_tokens + o.gen_tokens > model.config.context_length)
    throw Error(fmt::format("--prompt-tokens + --gen-tokens = {} exceeds the model's context of {}",
                            o.prompt_tokens + o.gen_tokens, model.config.context_length));
  const int world = launch_world_size(o.tp);
  const Plan plan = make_plan(model, world);
  BenchReport rep;
  rep.is_rank0 = launch_rank() == 0;
  rep.tp = world;
  rep.threads_per_rank = threads_per_rank(o.threads, world);
  rep.prompt_tokens = o.prompt_tokens;
  rep.ranks.resize(static_cast<size_t>(world));
  const std::vector<int32_t> prompt = synthetic_prompt(o.prompt_tokens, model.config.vocab_size);
  GenerateOptions gen;
  gen.max_new_tokens = o.gen_tokens + 1;  // the first token comes from the prefill
  std::mutex mu;
  launch_ranks({o.tp, o.timeout_seconds}, [&](Communicator& comm) {
    RankModel rm =
        make_rank_model(model, plan, comm, {rep.threads_per_rank, context, o.show_progress});
    comm.barrier();
    {
      std::lock_guard lock(mu);
      RankReport& r = rep.ranks[static_cast<size_t>(comm.rank())];
      r.weight_bytes = rm.shard->weight_bytes;
      r.plan_weight_bytes = plan.ranks[static_cast<size_t>(comm.rank())].weight_bytes;
      r.kv_cache_bytes = rm.cache->bytes();
      rep.load_seconds = std::max(rep.load_seconds, rm.load_seconds);
    }
    if (comm.rank() == 0 && o.show_progress)
      std::fprintf(stderr, "bench: prefill %lld tokens, then %lld decode steps ...\n",
                   static_cast<long long>(o.prompt_tokens), static_cast<long long>(o.gen_tokens));
    const double comm0 = comm.seconds_in_collectives();
    const uint64_t bytes0 = comm.bytes_sent();
    // The first token ends the prefill: what the collectives cost from there
    // on is the decode's share (rank 0 sees every token).
    double comm_decode0 = comm0;
    uint64_t bytes_decode0 = bytes0;
    bool first_token = true;
    auto on_token = [&](int32_t) {
      if (!first_token) return;
      first_token = false;
      comm_decode0 = comm.seconds_in_collectives();
      bytes_decode0 = comm.bytes_sent();
    };
    GenerateResult g = generate(*rm.transformer, comm, prompt, gen, on_token);
    if (comm.rank() == 0) {
      rep.prefill_seconds = g.prefill_seconds;
      rep.decode_seconds = g.decode_seconds;
      rep.decode_steps = g.decode_steps;
      rep.comm_seconds_rank0 = comm.seconds_in_collectives() - comm0;
      rep.comm_bytes_rank0 = comm.bytes_sent() - bytes0;
      rep.decode_comm_seconds_rank0 = comm.seconds_in_collectives() - comm_decode0;
      rep.decode_comm_bytes_rank0 = comm.bytes_sent() - bytes_decode0;
    }
  });
  return rep;
}

}  // namespace tplm
