#pragma once
// The HTTP side of `tplm serve` (cpp-httplib): the OpenAI routes on top of
// the scheduler. Rank 0 alone runs it; every request becomes a sequence of
// the running batch (runtime/scheduler.hpp), and its JSON comes from
// app/serve/openai_api.hpp.
//   POST /v1/completions, /v1/chat/completions   (stream or not)
//   GET  /v1/models, /health, /metrics
// A request the server cannot take now gets 429 (the queue is full) or 503
// (not running); a bad one its 4xx; neither disturbs the running streams.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/serve/openai_api.hpp"
#include "runtime/scheduler.hpp"

namespace httplib {
class Server;
}

namespace tplm {

class Tokenizer;

namespace serve {

struct ServerConfig {
  std::string model_id;  // the "model" requests name and responses carry
  int64_t context = 0;   // positions per sequence
  int32_t eos_id = -1;   // ends a sequence
  int32_t bos_id = -1;   // ends a sequence too (models that say so), else -1
  int threads = 8;       // HTTP worker threads (streams each hold one)
};

// Renders a chat's messages into the prompt's token ids (the model's
// template, with the assistant's turn opened); empty: chat requests are
// refused (400). It throws when the template refuses the messages (400).
using ChatRenderer = std::function<std::vector<int32_t>(const std::vector<ChatMessage>&)>;

class OpenAiServer {
 public:
  OpenAiServer(ServerConfig config, Scheduler& scheduler, const Tokenizer& tokenizer,
               ChatRenderer render_chat);
  ~OpenAiServer();
  // Binds host:port (port 0: any free port); returns the port, or throws
  // Error naming the address when it cannot.
  int bind(const std::string& host, int port);
  void listen();  // serves until stop(); call after bind()
  void stop();

 private:
  void routes();
  void completion(const std::string& body, bool chat, void* response);
  ServerMetrics metrics() const;

  ServerConfig config_;
  Scheduler& scheduler_;
  const Tokenizer& tokenizer_;
  ChatRenderer render_chat_;
  std::unique_ptr<httplib::Server> http_;
  int64_t created_ = 0;
  int listen_socket_ = -1;
  std::atomic<uint64_t> requests_{0}, rejected_{0}, next_id_{0};
};

}  // namespace serve
}  // namespace tplm
