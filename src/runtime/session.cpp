#include "runtime/session.hpp"

#include <cstdio>

#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

namespace {

EngineOptions engine_options(const RunOptions& o) {
  EngineOptions e;
  e.model = o.model;
  e.tp = o.tp;
  e.threads = o.threads;
  e.max_context = o.max_context;
  e.timeout_seconds = o.timeout_seconds;
  e.show_progress = o.show_progress;
  e.backend = o.backend;
  e.gpus = o.gpus;
  return e;
}

}  // namespace

RunReport run_model(const RunOptions& options,
                    const std::function<void(const std::string&)>& on_text) {
  Engine engine(engine_options(options));
  RunReport report;
  report.is_rank0 = engine.leads();
  report.threads_per_rank = engine.threads_per_rank();
  report.plan = engine.plan();
  auto tokenizer = load_tokenizer(engine.model(), options.tokenizer);
  if (report.is_rank0) {
    for (const std::string& w : report.plan.warnings)
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
    if (!engine.devices().note.empty())
      std::fprintf(stderr, "tplm: note: %s\n", engine.devices().note.c_str());
    for (const std::string& w : tokenizer->warnings())
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
  }
  report.prompt_tokens = tokenizer->encode(options.prompt, true);
  if (report.prompt_tokens.empty())
    throw Error(
        "the prompt is empty and this vocabulary adds no BOS token, so there is nothing to "
        "start generation from; give a prompt with -p");
  check_prompt(report.prompt_tokens.size(), engine.context());

  GenerateOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.sampling = options.sampling;
  gen.eos_id = tokenizer->eos_id();
  if (engine.model().config.stop_at_bos) gen.bos_id = tokenizer->bos_id();

  engine.run([&](Steps& steps) {
    Utf8Stream stream;
    int32_t prev = -1;
    auto emit = [&](int32_t id) {
      std::string piece = stream.push(tokenizer->decode_piece(prev, id));
      prev = id;
      report.text += piece;
      if (on_text && !piece.empty()) on_text(piece);
    };
    for (int32_t id : report.prompt_tokens) emit(id);
    report.result = generate(steps, report.prompt_tokens, gen, emit);
    std::string rest = stream.flush();
    report.text += rest;
    if (on_text && !rest.empty()) on_text(rest);
  });
  report.ranks = engine.ranks();
  report.load_seconds = engine.load_seconds();
  return report;
}

}  // namespace tplm
