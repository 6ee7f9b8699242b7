// tplm serve: an OpenAI-compatible HTTP server on rank 0, with continuous
// batching across the split. Every option is checked before the model is
// opened; the slots and the step's token budget come from this host's memory
// (runtime/serve_sizing.hpp) and are printed at start-up. Under mpirun rank 0
// serves HTTP and the other processes follow its steps.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "app/chat_conversation.hpp"
#include "app/cli.hpp"
#include "app/device_options.hpp"
#include "app/run_args.hpp"
#include "app/serve/openai_server.hpp"
#include "base/error.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "runtime/engine.hpp"
#include "runtime/launcher.hpp"
#include "runtime/run_options.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/serve_sizing.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

namespace {

struct ServeArgs {
  EngineOptions engine;  // model, tp, threads, context, timeout, device
  std::string tokenizer, host = "127.0.0.1", alias;
  int port = 8080;
  int64_t slots = 0;         // 0: from memory
  int64_t batch_tokens = 0;  // 0: from memory
  int64_t queue = 64;
  int http_threads = 0;  // 0: slots + queue + 4
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}

void check(const ServeArgs& a, const CLI::App& cmd) {
  require_at_least(cmd, "--threads", a.engine.threads, 1,
                   fmt::format("use 1 to {} (or leave it out for cores / ranks)", kMaxThreads));
  require_at_least(cmd, "--context", a.engine.max_context, 1,
                   "use 1 or more positions (or leave it out for the model's context length)");
  require_at_least(cmd, "--slots", a.slots, 1,
                   "use 1 or more (or leave it out to size it by memory)");
  require_at_least(cmd, "--batch-tokens", a.batch_tokens, 1,
                   "use 1 or more (or leave it out to size it by memory)");
  require_at_least(cmd, "--queue", a.queue, 0, "use 0 or more waiting requests");
  require_at_least(cmd, "--http-threads", a.http_threads, 1, "use 1 or more");
  if (a.port < 0 || a.port > 65535)
    throw UsageError(
        fmt::format("--port {} is out of range; use 1 to 65535 (0: any free port)", a.port));
  if (a.slots > 4096)
    throw UsageError(fmt::format("--slots {} is out of range; use 1 to 4096", a.slots));
}

std::string model_id(const ServeArgs& a) {
  if (!a.alias.empty()) return a.alias;
  std::filesystem::path p(a.engine.model);
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// The model's chat template, or none: then /v1/chat/completions answers 400
// (a model without one; a tplm built without the Jinja engine, or a template
// that does not parse: both said once at start-up).
std::optional<serve::ChatTemplate> load_chat_template(const ModelFile& model,
                                                      const Tokenizer& tokenizer, bool lead) {
  if (model.chat_template.empty()) return std::nullopt;
  try {
    return serve::ChatTemplate::from_model(model, tokenizer);
  } catch (const Error& e) {
    if (lead) std::fprintf(stderr, "tplm: warning: chat requests will be refused: %s\n", e.what());
    return std::nullopt;
  }
}

int run_server(const ServeArgs& a) {
  EngineOptions eo = a.engine;
  ModelFile model = open_engine_model(eo.model);
  // The context and KV type the Engine will plan (-c: default min(model, 4096);
  // --kv-type: f16 on cpu), so that the slots are sized as they will be allocated.
  const int64_t context = effective_context(eo.max_context, model.config.context_length);
  const int world = launch_world_size(eo.tp);
  const Plan plan = make_plan(
      model, world, {}, PlanRequest{eo.split, context, effective_kv_type(eo.kv_type, eo.backend)});
  const uint64_t memory = eo.backend == BackendKind::Cpu ? host_available_memory() : 0;
  const ServeSizing sizing = size_serving(model, plan, context, a.slots, a.batch_tokens, memory,
                                          ranks_on_this_host(world));
  eo.slots = sizing.slots;
  auto tokenizer = load_tokenizer(model, a.tokenizer);
  const bool stop_at_bos = model.config.stop_at_bos;
  const bool lead = launch_rank() == 0;
  const std::optional<serve::ChatTemplate> chat_template =
      load_chat_template(model, *tokenizer, lead);
  serve::ChatRenderer render_chat;
  if (chat_template)
    render_chat = [&](const std::vector<serve::ChatMessage>& messages) {
      return chat_prompt_ids(*tokenizer, chat_template->render(messages, true),
                             chat_template->bos_token());
    };
  Engine engine(std::move(model), eo);

  SchedulerLimits limits;
  limits.slots = sizing.slots;
  limits.step_tokens = sizing.step_tokens;
  limits.max_queue = a.queue;
  Scheduler scheduler(limits);
  serve::ServerConfig sc;
  sc.model_id = model_id(a);
  sc.context = context;
  sc.eos_id = tokenizer->eos_id();
  sc.bos_id = stop_at_bos ? tokenizer->bos_id() : -1;
  sc.threads = a.http_threads > 0 ? a.http_threads : static_cast<int>(sizing.slots + a.queue + 4);
  std::unique_ptr<serve::OpenAiServer> http;
  int port = 0;
  if (lead) {
    http = std::make_unique<serve::OpenAiServer>(sc, scheduler, *tokenizer, render_chat);
    port = http->bind(a.host, a.port);  // before loading: a taken port fails at once
    for (const std::string& w : engine.plan().warnings)
      std::fprintf(stderr, "tplm: warning: %s\n", w.c_str());
    std::fprintf(stderr, "tplm serve: %s, tp %d, context %lld; %s; queue %lld\n",
                 sc.model_id.c_str(), world, static_cast<long long>(context),
                 sizing.summary().c_str(), static_cast<long long>(a.queue));
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  engine.run([&](Steps& steps) {
    std::thread server([&] { http->listen(); });
    std::thread watcher([&] {
      // A signal handler may only set a flag: this thread turns it into a stop.
      while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      scheduler.stop();
    });
    std::fprintf(stderr, "tplm serve: listening on http://%s:%d\n", a.host.c_str(), port);
    std::fflush(stderr);
    try {
      scheduler.run(steps);
    } catch (...) {
      g_stop.store(true);
      http->stop();
      server.join();
      watcher.join();
      throw;
    }
    g_stop.store(true);
    http->stop();
    server.join();
    watcher.join();
  });
  if (lead) std::fprintf(stderr, "tplm serve: stopped\n");
  return 0;
}

}  // namespace

CommandAction add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "an OpenAI-compatible HTTP server (continuous batching), the model split over --tp");
  a->engine.timeout_seconds = 60.0;
  add_model_options(cmd, a->engine.model, a->tokenizer);
  cmd->add_option("--host", a->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", a->port, "port to listen on (0: any free port, printed)")
      ->capture_default_str();
  cmd->add_option("-a,--alias", a->alias,
                  "the model's name in the API (default: the model file's name)");
  cmd->add_option("--slots,--parallel", a->slots,
                  "sequences run at once (default: as many as memory holds, at most 16)");
  cmd->add_option("--batch-tokens,-b,--batch-size", a->batch_tokens,
                  "most tokens in one step: decode rows + prompt chunks (default 512)");
  cmd->add_option("--queue", a->queue, "requests that may wait for a slot; more get 429")
      ->capture_default_str();
  cmd->add_option("--http-threads", a->http_threads,
                  "HTTP worker threads (default: slots + queue + 4; a stream holds one)");
  cmd->add_option("--tp", a->engine.tp, "tensor-parallel ranks (threads in this process)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->engine.threads,
                  "kernel threads per rank (default: cores / ranks)");
  cmd->add_option("-c,--ctx-size,--context", a->engine.max_context,
                  "positions per sequence, at most the model's context length (default: the "
                  "model's)");
  cmd->add_option("--comm-timeout", a->engine.timeout_seconds,
                  "seconds a collective may wait for a peer before the server fails")
      ->capture_default_str();
  add_device_options(cmd, a->engine.backend, a->engine.gpus);
  return [a, cmd]() -> int {
    check(*a, *cmd);
    return run_server(*a);
  };
}

}  // namespace tplm
