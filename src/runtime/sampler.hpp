#pragma once
// Picks the next token from the full logits. Runs on rank 0 only; the others
// receive its choice by broadcast, so a seeded run is the same at every tp.
//   temperature 0: argmax (greedy)
//   else: softmax(logits / temperature), keep the top_k most likely (0: all),
//   then the smallest set whose mass reaches top_p (1: all), renormalize, draw.
#include <cstdint>
#include <span>

namespace tplm {

struct SamplerOptions {
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  int32_t sample(std::span<const float> logits);

 private:
  float next_uniform();  // [0, 1), xorshift* as in llama2.c: the same stream on every machine
  SamplerOptions opt_;
  uint64_t state_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace tplm
