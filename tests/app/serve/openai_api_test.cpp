// The OpenAI JSON layer: what each request parses to, each bad request's
// error, and the exact fields of every response the server writes.
#include "app/serve/openai_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tplm::serve {
namespace {

using nlohmann::json;

CompletionRequest parse_ok(const std::string& body, bool chat) {
  auto r = parse_completion_request(body, chat);
  if (auto* e = std::get_if<ApiError>(&r)) {
    ADD_FAILURE() << body << " -> " << e->message;
    return {};
  }
  return std::get<CompletionRequest>(r);
}

ApiError parse_error(const std::string& body, bool chat) {
  auto r = parse_completion_request(body, chat);
  if (!std::holds_alternative<ApiError>(r)) {
    ADD_FAILURE() << body << " was accepted";
    return {};
  }
  return std::get<ApiError>(r);
}

// The JSON of one "data: {...}\n\n" event.
json event_json(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n") << event;
  return json::parse(event.substr(6, event.size() - 8));
}

TEST(OpenAiRequest, CompletionWithEveryField) {
  CompletionRequest r =
      parse_ok(R"({"model":"m","prompt":"Once upon","max_tokens":5,"temperature":0.5,"top_p":0.9,)"
               R"("top_k":40,"seed":7,"stop":["\n","The"],"stream":true,)"
               R"("stream_options":{"include_usage":true},"n":1})",
               false);
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt, "Once upon");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_FLOAT_EQ(r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  EXPECT_EQ(r.top_k, 40);
  ASSERT_TRUE(r.seed.has_value());
  EXPECT_EQ(*r.seed, 7u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "The"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(OpenAiRequest, DefaultsWhenAbsentOrNull) {
  for (const char* body :
       {R"({"prompt":"x"})", R"({"prompt":"x","max_tokens":null,"temperature":null,)"
                             R"("top_p":null,"seed":null,"stop":null,"stream":null,"n":null})"}) {
    CompletionRequest r = parse_ok(body, false);
    EXPECT_EQ(r.model, "");
    EXPECT_EQ(r.max_tokens, -1);
    EXPECT_FLOAT_EQ(r.temperature, 1.0f);
    EXPECT_FLOAT_EQ(r.top_p, 1.0f);
    EXPECT_EQ(r.top_k, 0);
    EXPECT_FALSE(r.seed.has_value());
    EXPECT_TRUE(r.stop.empty());
    EXPECT_FALSE(r.stream);
    EXPECT_FALSE(r.include_usage);
  }
}

TEST(OpenAiRequest, PromptAsArrayOfOneStringAndStopAsString) {
  CompletionRequest r = parse_ok(R"({"prompt":["Hello"],"stop":"END"})", false);
  EXPECT_EQ(r.prompt, "Hello");
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
}

TEST(OpenAiRequest, UnknownFieldsAreIgnored) {
  CompletionRequest r = parse_ok(
      R"({"prompt":"x","logprobs":null,"frequency_penalty":0,"user":"u","whatever":{"a":[1]}})",
      false);
  EXPECT_EQ(r.prompt, "x");
}

TEST(OpenAiRequest, ChatMessagesAsStringsAndTextParts) {
  CompletionRequest r = parse_ok(
      R"({"model":"m","messages":[{"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]},)"
      R"({"role":"assistant","content":null,"name":"bot"}],"max_completion_tokens":3})",
      true);
  EXPECT_TRUE(r.chat);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "Be brief.");
  EXPECT_EQ(r.messages[1].role, "user");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_EQ(r.messages[2].role, "assistant");
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_EQ(r.max_tokens, 3);
}

TEST(OpenAiRequest, BodyOverTheLimitIs413) {
  std::string body = R"({"prompt":")" + std::string(kMaxBodyBytes, 'a') + R"("})";
  ApiError e = parse_error(body, false);
  EXPECT_EQ(e.status, 413);
  EXPECT_EQ(e.code, "request_too_large");
  EXPECT_NE(e.message.find("limit"), std::string::npos);
}

TEST(OpenAiRequest, MalformedJsonIs400) {
  for (const char* body : {"", "{", R"({"prompt": "x",})", "not json", R"({"prompt":"x"} x)"}) {
    ApiError e = parse_error(body, false);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.code, "invalid_json") << body;
  }
}

struct BadCase {
  const char* body;
  bool chat;
  const char* param;
  const char* code;
};

TEST(OpenAiRequest, EachBadFieldIs400NamingIt) {
  const BadCase cases[] = {
      {R"([1,2])", false, "body", "invalid_type"},
      {R"({})", false, "prompt", "missing_required_parameter"},
      {R"({"prompt":5})", false, "prompt", "invalid_type"},
      {R"({"prompt":[1,2,3]})", false, "prompt", "invalid_value"},
      {R"({"prompt":["a","b"]})", false, "prompt", "invalid_value"},
      {R"({"prompt":"x","model":3})", false, "model", "invalid_type"},
      {R"({"prompt":"x","max_tokens":"5"})", false, "max_tokens", "invalid_type"},
      {R"({"prompt":"x","max_tokens":2.5})", false, "max_tokens", "invalid_type"},
      {R"({"prompt":"x","max_tokens":0})", false, "max_tokens", "invalid_value"},
      {R"({"prompt":"x","max_tokens":-3})", false, "max_tokens", "invalid_value"},
      {R"({"prompt":"x","max_tokens":18446744073709551615})", false, "max_tokens", "invalid_value"},
      {R"({"prompt":"x","n":2})", false, "n", "invalid_value"},
      {R"({"prompt":"x","n":"1"})", false, "n", "invalid_type"},
      {R"({"prompt":"x","temperature":2.5})", false, "temperature", "invalid_value"},
      {R"({"prompt":"x","temperature":-0.1})", false, "temperature", "invalid_value"},
      {R"({"prompt":"x","temperature":"hot"})", false, "temperature", "invalid_type"},
      {R"({"prompt":"x","top_p":1.5})", false, "top_p", "invalid_value"},
      {R"({"prompt":"x","top_k":-1})", false, "top_k", "invalid_value"},
      {R"({"prompt":"x","top_k":1.5})", false, "top_k", "invalid_type"},
      {R"({"prompt":"x","seed":-1})", false, "seed", "invalid_value"},
      {R"({"prompt":"x","stop":3})", false, "stop", "invalid_type"},
      {R"({"prompt":"x","stop":["a",1]})", false, "stop[1]", "invalid_type"},
      {R"({"prompt":"x","stop":["a","b","c","d","e"]})", false, "stop", "invalid_value"},
      {R"({"prompt":"x","stop":""})", false, "stop", "invalid_value"},
      {R"({"prompt":"x","stream":"yes"})", false, "stream", "invalid_type"},
      {R"({"prompt":"x","stream_options":{"include_usage":true}})", false, "stream_options",
       "invalid_value"},
      {R"({"prompt":"x","stream":true,"stream_options":{"include_usage":1}})", false,
       "stream_options.include_usage", "invalid_type"},
      {R"({"prompt":"x"})", true, "messages", "missing_required_parameter"},
      {R"({"messages":"hi"})", true, "messages", "invalid_type"},
      {R"({"messages":[]})", true, "messages", "invalid_value"},
      {R"({"messages":["hi"]})", true, "messages[0]", "invalid_type"},
      {R"({"messages":[{"content":"hi"}]})", true, "messages[0].role",
       "missing_required_parameter"},
      {R"({"messages":[{"role":"user"}]})", true, "messages[0].content",
       "missing_required_parameter"},
      {R"({"messages":[{"role":"user","content":5}]})", true, "messages[0].content",
       "invalid_type"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})", true,
       "messages[0].content[0].type", "invalid_value"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_completion_tokens":0})", true,
       "max_completion_tokens", "invalid_value"},
  };
  for (const BadCase& c : cases) {
    ApiError e = parse_error(c.body, c.chat);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.message;
    EXPECT_EQ(e.code, c.code) << c.body << ": " << e.message;
    EXPECT_NE(e.message.find(c.param), std::string::npos) << e.message;
  }
}

TEST(OpenAiRequest, WrongTypeMessageSaysWhatWasExpected) {
  ApiError e = parse_error(R"({"prompt":"x","max_tokens":"5"})", false);
  EXPECT_EQ(e.message,
            "Invalid type for 'max_tokens': expected an integer, but got a string instead.");
}

TEST(OpenAiRequest, SamplerOptionsFromTheRequest) {
  CompletionRequest r;
  r.temperature = 0.7f;
  r.top_p = 0.8f;
  r.top_k = 5;
  SamplerOptions s = sampler_options(r, 99);
  EXPECT_FLOAT_EQ(s.temperature, 0.7f);
  EXPECT_FLOAT_EQ(s.top_p, 0.8f);
  EXPECT_EQ(s.top_k, 5);
  EXPECT_EQ(s.seed, 99u);
  r.seed = 3;
  r.top_p = 0.0f;  // OpenAI allows it: the most likely token
  s = sampler_options(r, 99);
  EXPECT_EQ(s.seed, 3u);
  EXPECT_EQ(s.temperature, 0.0f);
  EXPECT_EQ(s.top_p, 1.0f);
  EXPECT_NO_THROW(check_sampler_options(s));
}

TEST(OpenAiResponse, ErrorBody) {
  json j = json::parse(error_body(ApiError{400, "invalid_request_error", "bad n", "n", ""}));
  EXPECT_EQ(j, json::parse(R"({"error":{"message":"bad n","type":"invalid_request_error",)"
                           R"("param":"n","code":null}})"));
  j = json::parse(
      error_body(ApiError{404, "invalid_request_error", "no such model", "", "model_not_found"}));
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["code"], "model_not_found");
}

TEST(OpenAiResponse, CompletionBody) {
  CompletionResult r{"cmpl-1", 1700000000, "stories", "Once upon a time", "length", 3, 4};
  json j = json::parse(completion_body(r, false));
  EXPECT_EQ(j,
            json::parse(R"({"id":"cmpl-1","object":"text_completion","created":1700000000,)"
                        R"("model":"stories","choices":[{"index":0,"text":"Once upon a time",)"
                        R"("logprobs":null,"finish_reason":"length"}],)"
                        R"("usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})"));
}

TEST(OpenAiResponse, ChatCompletionBody) {
  CompletionResult r{"chatcmpl-2", 5, "m", "Hello!", "stop", 10, 2};
  json j = json::parse(completion_body(r, true));
  EXPECT_EQ(
      j, json::parse(R"({"id":"chatcmpl-2","object":"chat.completion","created":5,)"
                     R"("model":"m","choices":[{"index":0,"message":{"role":"assistant",)"
                     R"("content":"Hello!"},"logprobs":null,"finish_reason":"stop"}],)"
                     R"("usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}})"));
}

TEST(OpenAiResponse, InvalidUtf8InTextIsReplacedNotThrown) {
  CompletionResult r{"c", 1, "m", "a\xe2\x82", "length", 1, 1};
  json j = json::parse(completion_body(r, false));
  EXPECT_EQ(j["choices"][0]["text"], "a\xef\xbf\xbd");
}

TEST(OpenAiStream, CompletionChunks) {
  json j = event_json(stream_chunk("cmpl-1", 7, "m", false, " upon", std::nullopt));
  EXPECT_EQ(j, json::parse(R"({"id":"cmpl-1","object":"text_completion","created":7,"model":"m",)"
                           R"("choices":[{"index":0,"text":" upon","logprobs":null,)"
                           R"("finish_reason":null}]})"));
  j = event_json(stream_chunk("cmpl-1", 7, "m", false, "", std::string("stop")));
  EXPECT_EQ(j["choices"][0]["text"], "");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
}

TEST(OpenAiStream, ChatChunksCarryTheRoleFirstAndAnEmptyDeltaLast) {
  json first = event_json(stream_chunk("chatcmpl-1", 7, "m", true, "Hi", std::nullopt, true));
  EXPECT_EQ(first, json::parse(R"({"id":"chatcmpl-1","object":"chat.completion.chunk",)"
                               R"("created":7,"model":"m","choices":[{"index":0,)"
                               R"("delta":{"role":"assistant","content":"Hi"},"logprobs":null,)"
                               R"("finish_reason":null}]})"));
  json next = event_json(stream_chunk("chatcmpl-1", 7, "m", true, " there", std::nullopt));
  EXPECT_EQ(next["choices"][0]["delta"], json::parse(R"({"content":" there"})"));
  json last = event_json(stream_chunk("chatcmpl-1", 7, "m", true, "", std::string("length")));
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
}

TEST(OpenAiStream, UsageChunkAndDone) {
  json j = event_json(stream_usage_chunk("chatcmpl-1", 7, "m", true, 4, 6));
  EXPECT_EQ(j,
            json::parse(R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,)"
                        R"("model":"m","choices":[],)"
                        R"("usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}})"));
  EXPECT_EQ(stream_done(), "data: [DONE]\n\n");
}

TEST(OpenAiResponse, ModelsBody) {
  EXPECT_EQ(json::parse(models_body("stories260K", 42)),
            json::parse(R"({"object":"list","data":[{"id":"stories260K","object":"model",)"
                        R"("created":42,"owned_by":"tplm"}]})"));
}

TEST(OpenAiMetrics, PrometheusText) {
  ServerMetrics m;
  m.requests_total = 12;
  m.requests_rejected = 2;
  m.prompt_tokens_total = 300;
  m.generation_tokens_total = 450;
  m.queue_length = 3;
  m.running_sequences = 16;
  m.step_seconds_sum = 1.5;
  m.step_seconds_count = 100;
  m.exchange_seconds_sum = 0.25;
  std::string text = metrics_text(m);
  for (const char* line :
       {"# TYPE tplm_requests_total counter\ntplm_requests_total 12\n",
        "# TYPE tplm_requests_rejected_total counter\ntplm_requests_rejected_total 2\n",
        "tplm_prompt_tokens_total 300\n", "tplm_generation_tokens_total 450\n",
        "# TYPE tplm_queue_length gauge\ntplm_queue_length 3\n",
        "# TYPE tplm_running_sequences gauge\ntplm_running_sequences 16\n",
        "# TYPE tplm_step_seconds summary\ntplm_step_seconds_sum 1.5\ntplm_step_seconds_count "
        "100\n",
        "# TYPE tplm_exchange_seconds_total counter\ntplm_exchange_seconds_total 0.25\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nnot in\n" << text;
  // Every sample line is "name value", every metric has HELP and TYPE.
  size_t help = 0, type = 0;
  for (size_t at = 0; (at = text.find("# HELP ", at)) != std::string::npos; ++at) ++help;
  for (size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at) ++type;
  EXPECT_EQ(help, 8u);
  EXPECT_EQ(type, 8u);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace tplm::serve
