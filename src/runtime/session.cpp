#include "runtime/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "format/error.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "runtime/launcher.hpp"
#include "runtime/rank_model.hpp"
#include "runtime/run_options.hpp"

namespace tplm {

namespace {

ModelFile open_checked(const std::string& path) {
  if (path.empty())
    throw Error(
        "no model given; pass -m MODEL (a .gguf, a llama2.c .bin or a Hugging Face folder)");
  ModelFile m = open_model(path);
  check_tensors(m);
  return m;
}

void check_prompt(const std::vector<int32_t>& ids, int64_t context) {
  if (static_cast<int64_t>(ids.size()) > context)
    throw Error(
        fmt::format("the prompt is {} tokens but the model's context holds {}; shorten the "
                    "prompt",
                    ids.size(), context));
}

}  // namespace

RunReport run_model(const RunOptions& options,
                    const std::function<void(const std::string&)>& on_text) {
  if (options.tp < 1 || options.tp > 64)
    throw Error(fmt::format("--tp {} is out of range; use 1 to 64", options.tp));
  const ModelFile model = open_checked(options.model);
  const int world = launch_world_size(options.tp);
  RunReport report;
  report.is_rank0 = launch_rank() == 0;
  report.threads_per_rank = threads_per_rank(options.threads, world);
  PlanLimits limits;
  limits.cores = host_cores() * world / ranks_on_this_host(world);  // warns past one rank a core
  report.plan = make_plan(model, world, limits);
  if (report.is_rank0)
    for (const std::string& w : report.plan.warnings)
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
  auto tokenizer = load_tokenizer(model, options.tokenizer);
  if (report.is_rank0)
    for (const std::string& w : tokenizer->warnings())
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
  report.prompt_tokens = tokenizer->encode(options.prompt, true);
  if (report.prompt_tokens.empty())
    throw Error(
        "the prompt is empty and this vocabulary adds no BOS token, so there is nothing to "
        "start generation from; give a prompt with -p");
  const int64_t context = options.max_context > 0
                              ? std::min(options.max_context, model.config.context_length)
                              : model.config.context_length;
  check_prompt(report.prompt_tokens, context);

  GenerateOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.sampling = options.sampling;
  gen.eos_id = tokenizer->eos_id();
  // The llama2.c runner stops when the model starts a new story (BOS).
  if (model.format == FileFormat::Llama2c) gen.bos_id = tokenizer->bos_id();

  report.ranks.resize(static_cast<size_t>(world));
  std::mutex mu;
  launch_ranks({options.tp, options.timeout_seconds}, [&](Communicator& comm) {
    RankModel rm = make_rank_model(model, report.plan, comm,
                                   {report.threads_per_rank, context, options.show_progress});
    comm.barrier();  // every shard is loaded: the timings below are generation only
    {
      std::lock_guard lock(mu);
      RankReport& r = report.ranks[static_cast<size_t>(comm.rank())];
      r.weight_bytes = rm.shard->weight_bytes;
      r.plan_weight_bytes = report.plan.ranks[static_cast<size_t>(comm.rank())].weight_bytes;
      r.kv_cache_bytes = rm.cache->bytes();
      report.load_seconds = std::max(report.load_seconds, rm.load_seconds);
    }
    if (comm.rank() != 0) {
      generate(*rm.transformer, comm, report.prompt_tokens, gen);
      return;
    }
    Utf8Stream stream;
    int32_t prev = -1;
    auto emit = [&](int32_t id) {
      std::string piece = stream.push(tokenizer->decode_piece(prev, id));
      prev = id;
      report.text += piece;
      if (on_text && !piece.empty()) on_text(piece);
    };
    for (int32_t id : report.prompt_tokens) emit(id);
    report.result = generate(*rm.transformer, comm, report.prompt_tokens, gen, emit);
    std::string rest = stream.flush();
    report.text += rest;
    if (on_text && !rest.empty()) on_text(rest);
  });
  return report;
}

}  // namespace tplm
