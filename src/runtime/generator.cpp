#include "runtime/generator.hpp"

#include <chrono>
#include <optional>

#include "base/error.hpp"

namespace tplm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

GenerateResult generate(Transformer& model, Communicator& comm, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token) {
  const int64_t context = model.context();
  if (prompt.empty()) throw Error("the prompt has no tokens (a BOS token is needed at least)");
  if (static_cast<int64_t>(prompt.size()) > context)
    throw Error("the prompt has " + std::to_string(prompt.size()) +
                " tokens but the model's context is " + std::to_string(context) +
                "; shorten the prompt");
  std::optional<Sampler> sampler;
  if (comm.rank() == 0) sampler.emplace(options.sampling);

  GenerateResult r;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = model.forward(prompt, 0, false);
  r.prefill_seconds = seconds_since(t0);
  int64_t pos = static_cast<int64_t>(prompt.size());
  t0 = std::chrono::steady_clock::now();
  while (true) {
    if (static_cast<int64_t>(r.generated.size()) >= options.max_new_tokens) {
      r.stop_reason = "length";
      break;
    }
    int32_t next = comm.rank() == 0 ? sampler->sample(logits) : 0;
    if (comm.world_size() > 1) comm.broadcast(&next, sizeof(next), 0);
    if (next == options.eos_id) {
      r.stop_reason = "eos";
      break;
    }
    if (next == options.bos_id) {
      r.stop_reason = "bos";
      break;
    }
    r.generated.push_back(next);
    if (comm.rank() == 0 && on_token) on_token(next);
    if (static_cast<int64_t>(r.generated.size()) >= options.max_new_tokens) {
      r.stop_reason = "length";
      break;
    }
    if (pos >= context) {
      r.stop_reason = "context";
      break;
    }
    const int32_t ids[1] = {next};
    logits = model.forward(ids, pos, false);
    ++pos;
    ++r.decode_steps;
  }
  r.decode_seconds = seconds_since(t0);
  return r;
}

}  // namespace tplm
