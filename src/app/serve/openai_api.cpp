#include "app/serve/openai_api.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace tplm::serve {
namespace {

using nlohmann::json;

// A request that cannot be served as sent; caught in parse_completion_request.
struct Invalid {
  ApiError error;
};

[[noreturn]] void fail(std::string param, std::string code, std::string message) {
  throw Invalid{ApiError{400, "invalid_request_error", std::move(message), std::move(param),
                         std::move(code)}};
}

std::string type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void wrong_type(const std::string& param, const char* expected, const json& got) {
  fail(param, "invalid_type",
       fmt::format("Invalid type for '{}': expected {}, but got {} instead.", param, expected,
                   type_name(got)));
}

// The field, or nullptr when it is absent or null (OpenAI: null = not given).
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_field(const json& v, const std::string& param) {
  if (!v.is_string()) wrong_type(param, "a string", v);
  return v.get<std::string>();
}

bool bool_field(const json& v, const std::string& param) {
  if (!v.is_boolean()) wrong_type(param, "a boolean", v);
  return v.get<bool>();
}

int64_t integer_field(const json& v, const std::string& param) {
  if (!v.is_number_integer()) wrong_type(param, "an integer", v);
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()})
    fail(param, "invalid_value",
         fmt::format("Invalid value for '{}': {} is too large.", param, v.get<uint64_t>()));
  return v.get<int64_t>();
}

double number_field(const json& v, const std::string& param) {
  if (!v.is_number()) wrong_type(param, "a number", v);
  return v.get<double>();
}

double number_in(const json& v, const std::string& param, double lo, double hi) {
  double x = number_field(v, param);
  if (!(x >= lo && x <= hi))
    fail(param, "invalid_value",
         fmt::format("Invalid value for '{}': {} is out of range; use a number from {} to {}.",
                     param, x, lo, hi));
  return x;
}

// A message's content: a string, or an array of {"type":"text","text":...}
// parts (joined), or null (an assistant turn that only called tools).
std::string message_content(const json& v, const std::string& param) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) wrong_type(param, "a string or an array of content parts", v);
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& part = v[i];
    std::string where = fmt::format("{}[{}]", param, i);
    if (!part.is_object()) wrong_type(where, "an object", part);
    const json* type = field(part, "type");
    if (type == nullptr)
      fail(where + ".type", "missing_required_parameter",
           fmt::format("Missing required parameter: '{}.type'.", where));
    std::string t = string_field(*type, where + ".type");
    if (t != "text")
      fail(where + ".type", "invalid_value",
           fmt::format("Invalid value for '{}.type': '{}' parts are not supported by this "
                       "text-only model; send 'text' parts.",
                       where, t));
    const json* part_text = field(part, "text");
    if (part_text == nullptr)
      fail(where + ".text", "missing_required_parameter",
           fmt::format("Missing required parameter: '{}.text'.", where));
    text += string_field(*part_text, where + ".text");
  }
  return text;
}

std::vector<ChatMessage> parse_messages(const json& v) {
  if (!v.is_array()) wrong_type("messages", "an array", v);
  if (v.empty())
    fail("messages", "invalid_value",
         "Invalid value for 'messages': the array is empty; send at least one message.");
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& m = v[i];
    std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) wrong_type(where, "an object", m);
    const json* role = field(m, "role");
    if (role == nullptr)
      fail(where + ".role", "missing_required_parameter",
           fmt::format("Missing required parameter: '{}.role'.", where));
    ChatMessage msg;
    msg.role = string_field(*role, where + ".role");
    if (msg.role.empty())
      fail(where + ".role", "invalid_value",
           fmt::format("Invalid value for '{}.role': the role is empty; use 'system', 'user' or "
                       "'assistant'.",
                       where));
    auto content = m.find("content");
    if (content == m.end())
      fail(where + ".content", "missing_required_parameter",
           fmt::format("Missing required parameter: '{}.content'.", where));
    msg.content = message_content(*content, where + ".content");
    messages.push_back(std::move(msg));
  }
  return messages;
}

std::string parse_prompt(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array() && v.size() == 1 && v[0].is_string()) return v[0].get<std::string>();
  if (v.is_array() && v.size() != 1 && (v.empty() || v[0].is_string()))
    fail("prompt", "invalid_value",
         fmt::format("Invalid value for 'prompt': an array of {} prompts; this server takes one "
                     "prompt per request (a string, or an array of one string).",
                     v.size()));
  if (v.is_array())
    fail("prompt", "invalid_value",
         "Invalid value for 'prompt': token-id prompts are not supported; send the prompt as a "
         "string.");
  wrong_type("prompt", "a string", v);
}

std::vector<std::string> parse_stop(const json& v) {
  std::vector<std::string> stop;
  if (v.is_string()) {
    stop.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > kMaxStops)
      fail("stop", "invalid_value",
           fmt::format("Invalid value for 'stop': {} sequences; send at most {}.", v.size(),
                       kMaxStops));
    for (size_t i = 0; i < v.size(); ++i)
      stop.push_back(string_field(v[i], fmt::format("stop[{}]", i)));
  } else {
    wrong_type("stop", "a string or an array of strings", v);
  }
  for (const std::string& s : stop)
    if (s.empty())
      fail("stop", "invalid_value", "Invalid value for 'stop': an empty stop sequence; remove it.");
  return stop;
}

CompletionRequest parse_request(const json& body, bool chat) {
  if (!body.is_object()) wrong_type("body", "a JSON object", body);
  CompletionRequest r;
  r.chat = chat;
  if (const json* v = field(body, "model")) r.model = string_field(*v, "model");
  if (chat) {
    const json* v = field(body, "messages");
    if (v == nullptr)
      fail("messages", "missing_required_parameter", "Missing required parameter: 'messages'.");
    r.messages = parse_messages(*v);
  } else {
    const json* v = field(body, "prompt");
    if (v == nullptr)
      fail("prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
    r.prompt = parse_prompt(*v);
  }
  // max_completion_tokens is chat's newer name for max_tokens; either is taken.
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const json* v = field(body, name)) {
      r.max_tokens = integer_field(*v, name);
      if (r.max_tokens <= 0)
        fail(name, "invalid_value",
             fmt::format("Invalid value for '{}': {} is out of range; use an integer >= 1.", name,
                         r.max_tokens));
    }
  }
  if (const json* v = field(body, "n")) {
    int64_t n = integer_field(*v, "n");
    if (n != 1)
      fail("n", "invalid_value",
           fmt::format("Invalid value for 'n': {}; this server generates one choice per request "
                       "(n = 1); send several requests instead.",
                       n));
  }
  if (const json* v = field(body, "temperature"))
    r.temperature = static_cast<float>(number_in(*v, "temperature", 0.0, 2.0));
  if (const json* v = field(body, "top_p"))
    r.top_p = static_cast<float>(number_in(*v, "top_p", 0.0, 1.0));
  if (const json* v = field(body, "top_k")) {
    int64_t k = integer_field(*v, "top_k");
    if (k < 0 || k > std::numeric_limits<int>::max())
      fail("top_k", "invalid_value",
           fmt::format("Invalid value for 'top_k': {} is out of range; use an integer >= 0 "
                       "(0 = no limit).",
                       k));
    r.top_k = static_cast<int>(k);
  }
  if (const json* v = field(body, "seed")) {
    int64_t s = integer_field(*v, "seed");
    if (s < 0)
      fail("seed", "invalid_value",
           fmt::format("Invalid value for 'seed': {} is out of range; use an integer >= 0.", s));
    r.seed = static_cast<uint64_t>(s);
  }
  if (const json* v = field(body, "stop")) r.stop = parse_stop(*v);
  if (const json* v = field(body, "stream")) r.stream = bool_field(*v, "stream");
  if (const json* v = field(body, "stream_options")) {
    if (!v->is_object()) wrong_type("stream_options", "an object", *v);
    if (!r.stream)
      fail("stream_options", "invalid_value",
           "Invalid value for 'stream_options': it is only allowed when 'stream' is true.");
    if (const json* u = field(*v, "include_usage"))
      r.include_usage = bool_field(*u, "stream_options.include_usage");
  }
  return r;
}

// Generated text may hold bytes that are not UTF-8 (a model can emit any
// byte token): they are replaced by U+FFFD rather than failing the response.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json nullable(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

std::string sse(const json& j) {
  return "data: " + dump(j) + "\n\n";
}

}  // namespace

std::variant<CompletionRequest, ApiError> parse_completion_request(std::string_view body,
                                                                   bool chat) {
  if (body.size() > kMaxBodyBytes)
    return ApiError{413, "invalid_request_error",
                    fmt::format("The request body is {} bytes, over this server's limit of {} "
                                "bytes; send a shorter prompt.",
                                body.size(), kMaxBodyBytes),
                    "", "request_too_large"};
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return ApiError{400, "invalid_request_error",
                    "We could not parse the JSON body of your request: it is not valid JSON. "
                    "Send a JSON object with Content-Type: application/json.",
                    "", "invalid_json"};
  try {
    return parse_request(parsed, chat);
  } catch (const Invalid& invalid) {
    return invalid.error;
  }
}

SamplerOptions sampler_options(const CompletionRequest& request, uint64_t default_seed) {
  SamplerOptions s;
  // Both mean "the most likely token": OpenAI's top_p 0 keeps no mass at all.
  bool greedy = request.temperature == 0.0f || request.top_p == 0.0f;
  s.temperature = greedy ? 0.0f : request.temperature;
  s.top_p = greedy ? 1.0f : request.top_p;
  s.top_k = request.top_k;
  s.seed = request.seed.value_or(default_seed);
  return s;
}

std::string error_body(const ApiError& error) {
  json j = {{"error",
             {{"message", error.message},
              {"type", error.type},
              {"param", nullable(error.param)},
              {"code", nullable(error.code)}}}};
  return dump(j);
}

std::string completion_body(const CompletionResult& r, bool chat) {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", r.finish_reason}};
  if (chat)
    choice["message"] = {{"role", "assistant"}, {"content", r.text}};
  else
    choice["text"] = r.text;
  json j = {{"id", r.id},
            {"object", chat ? "chat.completion" : "text_completion"},
            {"created", r.created},
            {"model", r.model},
            {"choices", json::array({choice})},
            {"usage", usage_json(r.prompt_tokens, r.completion_tokens)}};
  return dump(j);
}

std::string stream_chunk(const std::string& id, int64_t created, const std::string& model,
                         bool chat, std::string_view delta_text,
                         std::optional<std::string> finish_reason, bool first) {
  json choice = {{"index", 0},
                 {"logprobs", nullptr},
                 {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}};
  if (chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (first || !delta_text.empty() || !finish_reason) delta["content"] = std::string(delta_text);
    choice["delta"] = delta;
  } else {
    choice["text"] = std::string(delta_text);
  }
  json j = {{"id", id},
            {"object", chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created},
            {"model", model},
            {"choices", json::array({choice})}};
  return sse(j);
}

std::string stream_usage_chunk(const std::string& id, int64_t created, const std::string& model,
                               bool chat, int64_t prompt_tokens, int64_t completion_tokens) {
  json j = {{"id", id},
            {"object", chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created},
            {"model", model},
            {"choices", json::array()},
            {"usage", usage_json(prompt_tokens, completion_tokens)}};
  return sse(j);
}

std::string stream_done() {
  return "data: [DONE]\n\n";
}

std::string models_body(const std::string& model_id, int64_t created) {
  json model = {{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "tplm"}};
  return dump(json{{"object", "list"}, {"data", json::array({model})}});
}

std::string metrics_text(const ServerMetrics& m) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  metric("tplm_requests_total", "counter", "Requests answered, any status.", m.requests_total);
  metric("tplm_requests_rejected_total", "counter", "Requests answered with a 4xx or 5xx status.",
         m.requests_rejected);
  metric("tplm_prompt_tokens_total", "counter", "Prompt tokens prefilled.", m.prompt_tokens_total);
  metric("tplm_generation_tokens_total", "counter", "Tokens generated.", m.generation_tokens_total);
  metric("tplm_queue_length", "gauge", "Requests waiting for a sequence slot.", m.queue_length);
  metric("tplm_running_sequences", "gauge", "Sequences in the running batch.", m.running_sequences);
  out += fmt::format(
      "# HELP tplm_step_seconds Time per batched step.\n# TYPE tplm_step_seconds summary\n"
      "tplm_step_seconds_sum {}\ntplm_step_seconds_count {}\n",
      m.step_seconds_sum, m.step_seconds_count);
  metric("tplm_exchange_seconds_total", "counter",
         "Time of the steps spent in exchanges between ranks (all-reduce, broadcast).",
         m.exchange_seconds_sum);
  return out;
}

}  // namespace tplm::serve
