#pragma once
// Picks the next token from the full logits. Runs on rank 0 only; the others
// receive its choice by broadcast, so a seeded run is the same at every tp.
//   logit bias: bias[id] is added to logit[id] first (-inf bans the token)
//   temperature 0: argmax (greedy)
//   else: softmax(logits / temperature), keep the top_k most likely (0: all),
//   then the smallest set whose mass reaches top_p (1: all), renormalize, draw.
#include <cstdint>
#include <span>
#include <vector>

namespace tplm {

// llama.cpp's --logit-bias TOKEN_ID(+|-)BIAS: bias is added to the token's
// logit; -infinity bans it.
struct LogitBias {
  int32_t token = 0;
  float bias = 0.0f;
};

struct SamplerOptions {
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 42;
  std::vector<LogitBias> logit_bias = {};  // = {}: positional {T, k, p, seed} still compiles
};

// Throws UsageError for options no sampler takes (checked before anything is
// loaded): temperature < 0 or not finite, top_k < 0, top_p outside (0, 1], a
// negative token id or a bias that is NaN or +infinity. Ids past the
// vocabulary are the caller's to check against the model (check_logit_bias).
void check_sampler_options(const SamplerOptions& options);
// Throws Error when a biased token is not in a vocabulary of `vocab` tokens.
void check_logit_bias(const std::vector<LogitBias>& bias, int64_t vocab);

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);  // check_sampler_options first
  int32_t sample(std::span<const float> logits);

 private:
  float next_uniform();  // [0, 1), xorshift* as in llama2.c: the same stream on every machine
  SamplerOptions opt_;
  uint64_t state_;
  std::vector<float> biased_;  // the logits with the bias added (when there is one)
};

int32_t argmax(std::span<const float> logits);

}  // namespace tplm
