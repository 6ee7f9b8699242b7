#include "runtime/generator.hpp"

#include <fmt/format.h>

#include <chrono>

#include "base/error.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "runtime/stop_strings.hpp"

namespace tplm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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

}  // namespace

void check_prompt(size_t n, int64_t context) {
  if (n == 0) throw Error("the prompt has no tokens (a BOS token is needed at least)");
  if (static_cast<int64_t>(n) > context)
    throw Error(fmt::format(
        "the prompt is {} tokens but the context holds {} positions; shorten the prompt", n,
        context));
}

GenerateResult generate(Steps& steps, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token,
                        const std::function<void(const std::string&)>& on_text) {
  const int64_t context = steps.context();
  check_prompt(prompt.size(), context);
  Sampler sampler(options.sampling);
  GenerateResult r;
  CompletionText text(options, prompt.back(), on_text, r.text);
  const auto full = [&] {
    return options.max_new_tokens >= 0 &&
           static_cast<int64_t>(r.generated.size()) >= options.max_new_tokens;
  };

  if (options.cached < 0 || options.cached >= static_cast<int64_t>(prompt.size()))
    throw Error(
        fmt::format("{} cached tokens of a prompt of {}: at least its last token must be "
                    "fed to start generation",
                    options.cached, prompt.size()));
  const auto fed = std::span<const int32_t>(prompt).subspan(static_cast<size_t>(options.cached));
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = steps.forward(fed, options.cached, false);
  r.prefill_seconds = seconds_since(t0);
  int64_t pos = static_cast<int64_t>(prompt.size());
  t0 = std::chrono::steady_clock::now();
  while (true) {
    if (full()) {
      r.stop_reason = "length";
      break;
    }
    const int32_t next = sampler.sample(logits);
    if (next == options.eos_id) {
      r.stop_reason = "eos";
      break;
    }
    if (next == options.bos_id) {
      r.stop_reason = "bos";
      break;
    }
    r.generated.push_back(next);
    if (on_token) on_token(next);
    if (text.push(next)) {
      r.stop_reason = "stop";
      break;
    }
    if (full()) {
      r.stop_reason = "length";
      break;
    }
    if (pos >= context) {
      r.stop_reason = "context";
      break;
    }
    const int32_t ids[1] = {next};
    logits = steps.forward(ids, pos, false);
    ++pos;
    ++r.decode_steps;
  }
  r.decode_seconds = seconds_since(t0);
  if (r.stop_reason != "stop" && text.finish()) r.stop_reason = "stop";
  if (r.stop_reason == "stop") r.stop_string = text.matched();
  return r;
}

}  // namespace tplm
