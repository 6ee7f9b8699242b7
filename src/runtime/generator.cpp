#include "runtime/generator.hpp"

#include <fmt/format.h>

#include <chrono>

#include "base/error.hpp"

namespace tplm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void check_prompt(size_t n, int64_t context) {
  if (n == 0) throw Error("the prompt has no tokens (a BOS token is needed at least)");
  if (static_cast<int64_t>(n) > context)
    throw Error(
        fmt::format("the prompt is {} tokens but the model's context holds {}; shorten the prompt",
                    n, context));
}

GenerateResult generate(Steps& steps, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token) {
  const int64_t context = steps.context();
  check_prompt(prompt.size(), context);
  Sampler sampler(options.sampling);

  GenerateResult r;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = steps.forward(prompt, 0, false);
  r.prefill_seconds = seconds_since(t0);
  int64_t pos = static_cast<int64_t>(prompt.size());
  t0 = std::chrono::steady_clock::now();
  while (true) {
    if (static_cast<int64_t>(r.generated.size()) >= options.max_new_tokens) {
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
    if (static_cast<int64_t>(r.generated.size()) >= options.max_new_tokens) {
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
  return r;
}

}  // namespace tplm
