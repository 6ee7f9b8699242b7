#include "runtime/generator.hpp"

#include <fmt/format.h>

#include <chrono>
#include <span>

#include "base/error.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "runtime/stop_strings.hpp"

namespace tplm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// The completion's text: token pieces -> whole UTF-8 -> cut at a stop string.
class CompletionText {
 public:
  CompletionText(const GenerateOptions& o, int32_t prev,
                 const std::function<void(const std::string&)>& on_text, std::string& out)
      : tokenizer_(o.tokenizer), stops_(o.stop), prev_(prev), on_text_(on_text), out_(out) {
    if (!o.stop.empty() && !tokenizer_) throw Error("stop strings need the model's tokenizer");
  }
  // Adds token id; returns true when a stop string has been found.
  bool push(int32_t id) {
    if (!tokenizer_) return false;
    emit(stops_.push(utf8_.push(tokenizer_->decode_piece(prev_, id))));
    prev_ = id;
    return stops_.stopped();
  }
  // The end: what was held back (a character cut short, the start of a stop string).
  bool finish() {
    if (!tokenizer_) return false;
    emit(stops_.push(utf8_.flush()));
    emit(stops_.flush());
    return stops_.stopped();
  }
  const std::string& matched() const { return stops_.matched(); }

 private:
  void emit(const std::string& s) {
    if (s.empty()) return;
    out_ += s;
    if (on_text_) on_text_(s);
  }
  const Tokenizer* tokenizer_;
  Utf8Stream utf8_;
  StopStrings stops_;
  int32_t prev_;
  const std::function<void(const std::string&)>& on_text_;
  std::string& out_;
};

void check_prompt(size_t n, int64_t context) {
  if (n == 0) throw Error("the prompt has no tokens (a BOS token is needed at least)");
  if (static_cast<int64_t>(n) > context)
    throw Error(fmt::format(
        "the prompt is {} tokens but the context holds {} positions; shorten the prompt", n,
        context));
}

Generation::Generation(size_t prompt_tokens, int32_t last_prompt_token, int64_t context,
                       const GenerateOptions& options, std::function<void(int32_t)> on_token,
                       std::function<void(const std::string&)> on_text)
    : options_(options),
      on_token_(std::move(on_token)),
      on_text_(std::move(on_text)),
      sampler_(options_.sampling),
      context_(context),
      pos_(static_cast<int64_t>(prompt_tokens)) {
  check_prompt(prompt_tokens, context);
  text_ = std::make_unique<CompletionText>(options_, last_prompt_token, on_text_, result_.text);
}

Generation::~Generation() = default;

bool Generation::end(const char* reason) {
  result_.stop_reason = reason;
  // The end: what was held back may still complete a stop string.
  if (result_.stop_reason != "stop" && text_->finish()) result_.stop_reason = "stop";
  if (result_.stop_reason == "stop") result_.stop_string = text_->matched();
  ended_ = true;
  return true;
}

bool Generation::take(std::span<const float> logits) {
  const auto full = [&] {
    return options_.max_new_tokens >= 0 &&
           static_cast<int64_t>(result_.generated.size()) >= options_.max_new_tokens;
  };
  if (full()) return end("length");
  const int32_t next = sampler_.sample(logits);
  if (next == options_.eos_id) return end("eos");
  if (next == options_.bos_id) return end("bos");
  result_.generated.push_back(next);
  if (on_token_) on_token_(next);
  if (text_->push(next)) return end("stop");
  if (full()) return end("length");
  if (pos_ >= context_) return end("context");
  next_token_ = next;
  ++pos_;
  return false;
}

GenerateResult generate(Steps& steps, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token,
                        const std::function<void(const std::string&)>& on_text) {
  Generation g(prompt.size(), prompt.back(), steps.context(), options, on_token, on_text);
  if (options.cached < 0 || options.cached >= static_cast<int64_t>(prompt.size()))
    throw Error(
        fmt::format("{} cached tokens of a prompt of {}: at least its last token must be "
                    "fed to start generation",
                    options.cached, prompt.size()));
  const auto fed = std::span<const int32_t>(prompt).subspan(static_cast<size_t>(options.cached));
  auto t0 = std::chrono::steady_clock::now();
  // The prompt in chunks: a rank's activations never exceed kPrefillChunk
  // positions (what the capacity check counts); the last chunk's logits are
  // the prompt's.
  std::vector<float> logits;
  for (size_t p0 = 0; p0 < fed.size(); p0 += static_cast<size_t>(kPrefillChunk)) {
    const size_t n = std::min(fed.size() - p0, static_cast<size_t>(kPrefillChunk));
    logits = steps.forward(fed.subspan(p0, n), options.cached + static_cast<int64_t>(p0), false);
  }
  const double prefill_seconds = seconds_since(t0);
  int64_t decode_steps = 0;
  t0 = std::chrono::steady_clock::now();
  while (!g.take(logits)) {
    const int32_t ids[1] = {g.next_token()};
    logits = steps.forward(ids, g.next_pos(), false);
    ++decode_steps;
  }
  GenerateResult r = std::move(g.result());
  r.prefill_seconds = prefill_seconds;
  r.decode_seconds = seconds_since(t0);
  r.decode_steps = decode_steps;
  return r;
}

}  // namespace tplm
