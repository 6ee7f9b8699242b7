#pragma once
// The OpenAI HTTP API's JSON, without the HTTP: parsing and checking the
// bodies of POST /v1/completions and /v1/chat/completions, and building the
// responses (whole, or as server-sent-event chunks), GET /v1/models, the
// errors, and /metrics' Prometheus text. The server (tplm serve) owns the
// sockets, the model and the batch; this file knows none of them, so every
// byte it writes is unit-tested on its own.
//
// What follows OpenAI (https://platform.openai.com/docs/api-reference):
//   - unknown fields are ignored, and a field set to null counts as absent;
//   - n must be 1, max_tokens > 0, temperature in [0, 2], top_p in [0, 1];
//     top_k (>= 0, 0 = no limit) is the extension llama.cpp and vLLM take;
//   - stop is a string or an array of at most 4 strings;
//   - errors are {"error": {"message", "type", "param", "code"}}.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/serve/chat_message.hpp"
#include "runtime/sampler.hpp"

namespace tplm::serve {

struct ApiError {
  int status = 400;  // HTTP status
  std::string type = "invalid_request_error";
  std::string message;
  std::string param;  // the offending field ("" = null)
  std::string code;   // "" = null
};

struct CompletionRequest {
  bool chat = false;   // /v1/chat/completions
  std::string model;   // as sent ("" when absent)
  std::string prompt;  // /v1/completions (a string; an array of one string is accepted)
  std::vector<ChatMessage> messages;  // chat
  int64_t max_tokens =
      -1;  // -1: not given (completions: 16 as OpenAI; chat: until the context ends)
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;  // 0 = no limit
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;  // at most kMaxStops, none empty
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

constexpr size_t kMaxBodyBytes = size_t{1} << 20;  // a larger body is answered 413
constexpr size_t kMaxStops = 4;
constexpr int64_t kDefaultCompletionMaxTokens = 16;  // OpenAI's default for /v1/completions

// The request, or the 4xx to answer: 413 for a body over kMaxBodyBytes; 400
// for malformed JSON, a body that is not an object, wrong types, values out of
// range, n != 1, a missing prompt (completions) or messages (chat).
std::variant<CompletionRequest, ApiError> parse_completion_request(std::string_view body,
                                                                   bool chat);

// The sampler for a request: top_p 0 (which OpenAI allows) means greedy, as
// does temperature 0; without a seed, `default_seed`.
SamplerOptions sampler_options(const CompletionRequest& request, uint64_t default_seed);

// {"error":{"message":...,"type":...,"param":...|null,"code":...|null}}
std::string error_body(const ApiError& error);

struct CompletionResult {
  std::string id;       // "cmpl-..." / "chatcmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
  std::string text;
  std::string finish_reason;  // "stop" or "length"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// The non-streaming response: choices[0].text (completions) or
// choices[0].message {"role":"assistant","content"} (chat), with usage.
std::string completion_body(const CompletionResult& result, bool chat);

// One server-sent event "data: {...}\n\n" of a stream. Completions carry
// choices[0].text; chat carries choices[0].delta: {"role":"assistant",
// "content"} when `first` (OpenAI's first chunk), {"content"} after, and {}
// in the last chunk (empty text with a finish_reason). finish_reason is null
// until the last chunk. A token may end inside a UTF-8 character: pass the
// text through Utf8Stream (model/tokenizer/tokenizer.hpp) so that each chunk
// holds whole characters (bytes that are not UTF-8 become U+FFFD here).
std::string stream_chunk(const std::string& id, int64_t created, const std::string& model,
                         bool chat, std::string_view delta_text,
                         std::optional<std::string> finish_reason, bool first = false);
// The chunk stream_options.include_usage asks for, after the last one:
// "choices": [] and the usage.
std::string stream_usage_chunk(const std::string& id, int64_t created, const std::string& model,
                               bool chat, int64_t prompt_tokens, int64_t completion_tokens);
std::string stream_done();  // "data: [DONE]\n\n"

// GET /v1/models: a list of the one model served.
std::string models_body(const std::string& model_id, int64_t created);

struct ServerMetrics {
  // counters
  uint64_t requests_total = 0;     // requests answered (any status)
  uint64_t requests_rejected = 0;  // of them, the 4xx/5xx
  uint64_t prompt_tokens_total = 0;
  uint64_t generation_tokens_total = 0;
  // gauges
  int64_t queue_length = 0;       // requests waiting for a slot
  int64_t running_sequences = 0;  // sequences in the batch
  // time per step, and how much of it the ranks spent exchanging
  double step_seconds_sum = 0.0;
  uint64_t step_seconds_count = 0;
  double exchange_seconds_sum = 0.0;
};

// Prometheus' text exposition format (version 0.0.4), every metric named
// tplm_*, with its # HELP and # TYPE lines.
std::string metrics_text(const ServerMetrics& metrics);

}  // namespace tplm::serve
