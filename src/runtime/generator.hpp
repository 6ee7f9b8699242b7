#pragma once
// The generation loop, driven by rank 0: prefill the prompt in one step, then
// one position per step. Rank 0 samples; the token reaches the other ranks
// inside the next step (Steps), so every rank stops at the same step.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/sampler.hpp"
#include "runtime/steps.hpp"

namespace tplm {

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  int32_t eos_id = -1;  // stop when produced (-1: none)
  int32_t bos_id = -1;  // stop when produced (models whose config says so; -1 otherwise)
  SamplerOptions sampling;
};

struct GenerateResult {
  std::vector<int32_t> generated;  // the stop token excluded
  std::string stop_reason;         // "eos", "bos", "length", "context"
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t decode_steps = 0;  // forward steps after the prefill
};

// Throws Error when a prompt of n tokens cannot start generation in a context
// of `context` positions (empty, or longer than the context).
void check_prompt(size_t n, int64_t context);

// on_token(id) is called for every generated token (not the stop token).
GenerateResult generate(Steps& steps, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token = {});

}  // namespace tplm
