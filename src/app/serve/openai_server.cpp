#include "app/serve/openai_server.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>

#include "base/error.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm::serve {

namespace {

using namespace std::chrono_literals;

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_body(e), "application/json");
}

ApiError api_error(int status, std::string type, std::string message, std::string code = {},
                   std::string param = {}) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.code = std::move(code);
  e.param = std::move(param);
  return e;
}

// The tplm stop reasons in OpenAI's words.
std::string finish_reason(const std::string& stop_reason) {
  return stop_reason == "length" || stop_reason == "context" ? "length" : "stop";
}

uint64_t random_seed() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  return rng() >> 32;
}

// What one streamed response keeps between calls of its content provider.
struct StreamState {
  std::shared_ptr<SequenceStream> seq;
  std::string id, model;
  int64_t created = 0;
  bool chat = false, include_usage = false, first = true, ended = false;
  int64_t prompt_tokens = 0;
};

}  // namespace

OpenAiServer::OpenAiServer(ServerConfig config, Scheduler& scheduler, const Tokenizer& tokenizer,
                           ChatRenderer render_chat)
    : config_(std::move(config)),
      scheduler_(scheduler),
      tokenizer_(tokenizer),
      render_chat_(std::move(render_chat)),
      http_(std::make_unique<httplib::Server>()),
      created_(static_cast<int64_t>(std::time(nullptr))) {
  const int threads = std::max(4, config_.threads);
  http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  // Bodies up to twice the limit reach the parser, which answers 413 in
  // OpenAI's words; httplib refuses larger ones itself (413, body below).
  http_->set_payload_max_length(2 * kMaxBodyBytes);
  // httplib listens with a backlog of 5 (built into Debian's library): a
  // burst of clients would overflow it and be reset. Keep the listening
  // socket to widen its backlog once bound (bind()).
  http_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = static_cast<int>(sock);
  });
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string msg = res.status == 413
                                ? fmt::format("the request body is over {} bytes", kMaxBodyBytes)
                                : fmt::format("HTTP {}: no such route or method", res.status);
    send_error(res, api_error(res.status, "invalid_request_error", msg));
  });
  routes();
}

OpenAiServer::~OpenAiServer() = default;

int OpenAiServer::bind(const std::string& host, int port) {
  const int bound = port == 0 ? http_->bind_to_any_port(host.c_str())
                              : (http_->bind_to_port(host.c_str(), port) ? port : -1);
  if (bound <= 0)
    throw Error(fmt::format(
        "cannot listen on {}:{} (in use, or not an address of this host); pick another --port "
        "or --host",
        host, port));
  // listen() again on a listening socket sets its backlog (Linux).
  if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
  return bound;
}

void OpenAiServer::listen() {
  http_->listen_after_bind();
}

void OpenAiServer::stop() {
  http_->stop();
}

ServerMetrics OpenAiServer::metrics() const {
  const SchedulerStats st = scheduler_.stats();
  ServerMetrics m;
  m.requests_total = requests_.load();
  m.requests_rejected = rejected_.load();
  m.prompt_tokens_total = st.prompt_tokens;
  m.generation_tokens_total = st.generated_tokens;
  m.queue_length = st.queue_length;
  m.running_sequences = st.running;
  m.step_seconds_sum = st.step_seconds;
  m.step_seconds_count = st.steps;
  m.exchange_seconds_sum = st.exchange_seconds;
  return m;
}

void OpenAiServer::routes() {
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool up = scheduler_.running();
    res.status = up ? 200 : 503;
    res.set_content(up ? R"({"status":"ok"})" : R"({"status":"unavailable"})", "application/json");
  });
  http_->Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(models_body(config_.model_id, created_), "application/json");
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    // Beside openai_api's metrics: the sequences that left because their client went away.
    const std::string cancelled = fmt::format(
        "# HELP tplm_requests_cancelled_total Requests whose client went away before the end.\n"
        "# TYPE tplm_requests_cancelled_total counter\ntplm_requests_cancelled_total {}\n",
        scheduler_.stats().cancelled);
    res.set_content(metrics_text(metrics()) + cancelled, "text/plain; version=0.0.4");
  });
  http_->Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    completion(req.body, false, &res);
  });
  http_->Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    completion(req.body, true, &res);
  });
}

void OpenAiServer::completion(const std::string& body, bool chat, void* response) {
  httplib::Response& res = *static_cast<httplib::Response*>(response);
  ++requests_;
  auto reject = [&](const ApiError& e) {
    ++rejected_;
    send_error(res, e);
  };
  auto parsed = parse_completion_request(body, chat);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reject(*e);
  CompletionRequest& rq = std::get<CompletionRequest>(parsed);
  if (!rq.model.empty() && rq.model != config_.model_id)
    return reject(api_error(404, "invalid_request_error",
                            fmt::format("the model '{}' does not exist; this server serves '{}'",
                                        rq.model, config_.model_id),
                            "model_not_found", "model"));

  std::vector<int32_t> prompt;
  if (chat) {
    if (!render_chat_)
      return reject(api_error(400, "invalid_request_error",
                              "this model has no chat template; use /v1/completions",
                              "no_chat_template", "messages"));
    try {
      prompt = render_chat_(rq.messages);
    } catch (const std::exception& e) {
      return reject(
          api_error(400, "invalid_request_error",
                    fmt::format("the chat template cannot render these messages: {}", e.what()), "",
                    "messages"));
    }
  } else {
    prompt = tokenizer_.encode(rq.prompt, EncodeOptions{true, false});
  }
  const auto n = static_cast<int64_t>(prompt.size());
  if (n == 0)
    return reject(api_error(400, "invalid_request_error", "the prompt gives no tokens", "",
                            chat ? "messages" : "prompt"));
  if (n >= config_.context)
    return reject(api_error(
        400, "invalid_request_error",
        fmt::format("this model's maximum context length is {} tokens, but the prompt is {} "
                    "tokens; shorten it",
                    config_.context, n),
        "context_length_exceeded", chat ? "messages" : "prompt"));

  SequenceRequest sr;
  sr.prompt = std::move(prompt);
  GenerateOptions& g = sr.options;
  g.max_new_tokens = rq.max_tokens > 0 ? rq.max_tokens : (chat ? -1 : kDefaultCompletionMaxTokens);
  g.eos_id = config_.eos_id;
  g.bos_id = config_.bos_id;
  g.sampling = sampler_options(rq, random_seed());
  g.stop = rq.stop;
  g.tokenizer = &tokenizer_;

  const Scheduler::Submitted sub = scheduler_.submit(std::move(sr));
  if (sub.admission == Scheduler::Admission::QueueFull)
    return reject(api_error(429, "rate_limit_error",
                            fmt::format("the server is full: {} requests run and {} wait; retry "
                                        "later",
                                        scheduler_.limits().slots, scheduler_.limits().max_queue),
                            "queue_full"));
  if (sub.admission != Scheduler::Admission::Queued)
    return reject(
        api_error(503, "server_error", "the server is not running (shutting down)", "unavailable"));

  const std::string id =
      fmt::format("{}-{:x}{:04x}", chat ? "chatcmpl" : "cmpl", created_, next_id_++);
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  if (!rq.stream) {
    while (!sub.stream->wait_done(1000ms)) {
    }
    if (const std::string err = sub.stream->error(); !err.empty())
      return reject(api_error(500, "server_error", err));
    const GenerateResult r = sub.stream->result();
    CompletionResult cr{id,
                        created,
                        config_.model_id,
                        r.text,
                        finish_reason(r.stop_reason),
                        n,
                        static_cast<int64_t>(r.generated.size())};
    res.set_content(completion_body(cr, chat), "application/json");
    return;
  }

  auto st = std::make_shared<StreamState>();
  st->seq = sub.stream;
  st->id = id;
  st->model = config_.model_id;
  st->created = created;
  st->chat = chat;
  st->include_usage = rq.include_usage;
  st->prompt_tokens = n;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [st](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
        if (st->ended) {
          sink.done();
          return true;
        }
        // Chat streams open with the assistant's role, as OpenAI's do.
        if (st->chat && st->first) {
          st->first = false;
          if (!write(stream_chunk(st->id, st->created, st->model, true, "", std::nullopt, true)))
            return false;
        }
        const std::string text = st->seq->next(250ms);
        if (!text.empty() &&
            !write(stream_chunk(st->id, st->created, st->model, st->chat, text, std::nullopt)))
          return false;  // the client went away: the releaser cancels the sequence
        if (!st->seq->done()) return true;
        st->ended = true;
        if (const std::string err = st->seq->error(); !err.empty()) {
          write("data: " + error_body(api_error(500, "server_error", err)) + "\n\n");
        } else {
          const GenerateResult r = st->seq->result();
          write(stream_chunk(st->id, st->created, st->model, st->chat, "",
                             finish_reason(r.stop_reason)));
          if (st->include_usage)
            write(stream_usage_chunk(st->id, st->created, st->model, st->chat, st->prompt_tokens,
                                     static_cast<int64_t>(r.generated.size())));
        }
        write(stream_done());
        sink.done();
        return true;
      },
      [st](bool) {
        // Ended, or the connection dropped: a sequence still running leaves the batch.
        if (!st->seq->done()) st->seq->cancel();
      });
}

}  // namespace tplm::serve
