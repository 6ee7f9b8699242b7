// tplm chat: talk with a chat model in the terminal, the model split over --tp
// ranks. Each turn renders the conversation with the model's own chat template
// (app/serve/chat_template.hpp) and generates the answer on the engine,
// keeping the KV cache of the earlier turns (app/chat_conversation.hpp). The
// options are run's (app/run_args.hpp) and --system; -n bounds each answer.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "app/chat_conversation.hpp"
#include "app/cli.hpp"
#include "app/plan_text.hpp"
#include "app/run_args.hpp"
#include "app/stdin_lines.hpp"
#include "base/error.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "runtime/engine.hpp"
#include "runtime/session.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

namespace {

struct ChatArgs {
  RunArgs run;
  std::string system;
};

void warn(const std::string& what) {
  std::fprintf(stderr, "tplm: warning: %s\n", what.c_str());
}

int chat(const ChatArgs& a) {
  const RunOptions& opt = a.run.opt;
  ModelFile model = open_engine_model(opt.model);
  if (auto w = context_warning(opt.max_context, model.config.context_length)) warn(*w);
  check_logit_bias(opt.sampling.logit_bias, model.config.vocab_size);
  // The tokenizer and the template before any weight is loaded: a model that
  // cannot chat says so at once.
  auto tokenizer = load_tokenizer(model, opt.tokenizer);
  const serve::ChatTemplate chat_template = serve::ChatTemplate::from_model(model, *tokenizer);
  Engine engine(std::move(model), engine_options(opt));
  if (engine.leads()) {
    for (const std::string& w : engine.plan().warnings) warn(w);
    if (auto w = threads_warning(opt.threads, engine.world_size())) warn(*w);
    for (const std::string& w : tokenizer->warnings()) warn(w);
    if (a.run.verbose) std::fprintf(stderr, "%s", plan_text(engine.model(), engine.plan()).c_str());
  }

  GenerateOptions gen;
  gen.max_new_tokens = opt.max_new_tokens;
  gen.sampling = opt.sampling;
  gen.stop = opt.stop;
  gen.eos_id = tokenizer->eos_id();
  if (engine.model().config.stop_at_bos) gen.bos_id = tokenizer->bos_id();
  ChatConversation conversation(chat_template, *tokenizer, gen);
  if (!a.system.empty()) conversation.add_system(a.system);

  // Split ranks wait for each step with --comm-timeout: while the user types,
  // rank 0 sends them an idle step (Steps::idle) well before that.
  const double idle_seconds = engine.world_size() > 1 ? opt.timeout_seconds / 4 : 0;
  const bool terminal = isatty(STDIN_FILENO) != 0;
  engine.run([&](Steps& steps) {
    std::fprintf(stderr,
                 "tplm chat: %lld positions of context; type a message and Enter, /exit or the "
                 "end of input (Ctrl-D) to end.\n",
                 static_cast<long long>(steps.context()));
    StdinLines lines;
    while (true) {
      if (terminal) {
        std::fputs("> ", stdout);
        std::fflush(stdout);
      }
      auto line = lines.next(idle_seconds, [&] { steps.idle(); });
      if (!line || *line == "/exit") break;
      if (line->empty()) continue;
      ChatTurn turn;
      try {
        turn = conversation.reply(steps, *line, [](const std::string& piece) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
        });
      } catch (const serve::ChatTemplateError& e) {
        // The template refused this conversation (a role order it does not
        // take): the message is dropped, the conversation goes on.
        std::fprintf(stderr, "tplm: %s; the message was not added\n", e.what());
        continue;
      }
      std::fputs("\n", stdout);
      std::fflush(stdout);
      if (a.run.verbose)
        std::fprintf(stderr, "[%lld prompt tokens, %lld of them cached; %zu generated; stop: %s]\n",
                     static_cast<long long>(turn.prompt_tokens),
                     static_cast<long long>(turn.reused_tokens), turn.result.generated.size(),
                     turn.result.stop_reason.c_str());
      if (turn.result.stop_reason == "context") {
        std::fprintf(stderr, "tplm: the context is full (%lld positions); the conversation ends\n",
                     static_cast<long long>(steps.context()));
        break;
      }
    }
  });
  return 0;
}

}  // namespace

CommandAction add_chat_command(CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* cmd = app.add_subcommand(
      "chat", "talk with a chat model in the terminal (its own chat template), split over --tp");
  add_model_options(cmd, a->run);
  cmd->add_option("--system", a->system, "a system message that starts the conversation");
  a->run.opt.max_new_tokens = -1;  // an answer ends at the model's end-of-turn token
  add_generation_options(cmd, a->run);
  cmd->add_flag("-v,--verbose", a->run.verbose,
                "print the plan before loading, and each turn's token counts");
  return [a, cmd]() -> int {
    prepare_generation_options(a->run, *cmd);
    if (a->run.opt.tp_auto)
      throw UsageError("tplm chat takes --tp as a number of ranks (auto is run's); use --tp N");
    return chat(*a);
  };
}

}  // namespace tplm
