#include "runtime/session.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <string>

#include "model/tokenizer/tokenizer.hpp"
#include "runtime/decode_forecast.hpp"
#include "runtime/launcher.hpp"

namespace tplm {

// -c above the model's trained context: allowed, but positions past it were
// never trained (RoPE extrapolates), so the text may degrade.
std::optional<std::string> context_warning(int64_t asked, int64_t model_context) {
  if (asked <= model_context) return std::nullopt;
  return fmt::format(
      "-c {} is more than this model's trained context ({} positions); positions past {} may "
      "give poor text",
      asked, model_context, model_context);
}

namespace {

// The prompt against the context, in the words of the option that set it.
void check_prompt_fits(size_t n, int64_t context, int64_t model_context) {
  if (n == 0 || static_cast<int64_t>(n) <= context) return;
  if (context != model_context)
    throw Error(fmt::format(
        "the prompt is {} tokens but --context {} holds {} positions; shorten the prompt or raise "
        "--context (this model's context length is {})",
        n, context, context, model_context));
  throw Error(fmt::format(
      "the prompt is {} tokens but this model's context length is {}; shorten the prompt", n,
      context));
}

}  // namespace

RunReport run_model(
    const RunOptions& options, const std::function<void(const std::string&)>& on_text,
    const std::function<void(const ModelFile&, const Plan&, const Capacity&)>& on_plan) {
  check_run_options(options);  // nothing is opened before the options are right
  ModelFile model = open_engine_model(options.model);
  const int64_t model_context = model.config.context_length;
  check_logit_bias(options.sampling.logit_bias, model.config.vocab_size);
  const bool rank0 = launch_rank() == 0;
  SpeedProbeOptions probe;
  probe.backend = options.backend;
  probe.gpus = options.gpus;
  probe.timeout_seconds = options.timeout_seconds;
  probe.link_seconds = 0.3;
  EngineOptions eo = engine_options(options);
  if (options.tp_auto) {
    const AutoTpChoice choice = choose_auto_tp(model, probe, plan_memory_check(model, eo));
    if (rank0) std::fprintf(stderr, "tplm: %s\n", choice.reason.c_str());
    eo.tp = choice.tp;
  }
  Engine engine(std::move(model), eo);  // planned: every error of the split is known
  RunReport report;
  report.is_rank0 = engine.leads();
  if (auto w = context_warning(options.max_context, model_context); w && report.is_rank0)
    std::fprintf(stderr, "tplm: warning: %s\n", w->c_str());
  if (options.speed_advice && !options.tp_auto && engine.world_size() > 1) {
    const FitCheck fits = plan_memory_check(engine.model(), eo);
    for (const std::string& w :
         split_speed_warnings(engine.model(), engine.world_size(), probe, fits))
      if (report.is_rank0) std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
  }
  report.threads_per_rank = engine.threads_per_rank();
  report.plan = engine.plan();
  report.capacity = engine.capacity();
  if (report.is_rank0) {
    for (const std::string& w : report.plan.warnings)
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
    if (auto w = threads_warning(options.threads, engine.world_size()))
      std::fprintf(stderr, "tplm: warning: %s\n", w->c_str());
    if (!engine.devices().note.empty())
      std::fprintf(stderr, "tplm: note: %s\n", engine.devices().note.c_str());
  }
  auto tokenizer = load_tokenizer(engine.model(), options.tokenizer);
  if (report.is_rank0)
    for (const std::string& w : tokenizer->warnings())
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
  report.prompt_tokens =
      tokenizer->encode(options.prompt, EncodeOptions{true, options.parse_special});
  if (report.prompt_tokens.empty())
    throw Error(
        "the prompt is empty and this vocabulary adds no BOS token, so there is nothing to "
        "start generation from; give a prompt with -p");
  check_prompt_fits(report.prompt_tokens.size(), engine.context(), model_context);
  check_prompt(report.prompt_tokens.size(), engine.context());
  if (report.is_rank0 && on_plan) on_plan(engine.model(), engine.plan(), engine.capacity());

  GenerateOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.sampling = options.sampling;
  gen.stop = options.stop;
  gen.tokenizer = tokenizer.get();
  gen.eos_id = tokenizer->eos_id();
  if (engine.model().config.stop_at_bos) gen.bos_id = tokenizer->bos_id();

  auto print = [&](const std::string& piece) {
    report.text += piece;
    if (on_text && !piece.empty()) on_text(piece);
  };
  engine.run([&](Steps& steps) {
    // The prompt as it reads; generate() decodes the completion after it.
    Utf8Stream stream;
    int32_t prev = -1;
    for (int32_t id : report.prompt_tokens) {
      print(stream.push(tokenizer->decode_piece(prev, id)));
      prev = id;
    }
    print(stream.flush());
    report.result = generate(steps, report.prompt_tokens, gen, {}, print);
  });
  report.ranks = engine.ranks();
  report.load_seconds = engine.load_seconds();
  return report;
}

}  // namespace tplm
