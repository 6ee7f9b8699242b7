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

class Tokenizer;

struct GenerateOptions {
  int64_t max_new_tokens = 256;  // < 0: no limit (until a stop token, a stop string or the context)
  int32_t eos_id = -1;           // stop when produced (-1: none)
  int32_t bos_id = -1;           // stop when produced (models whose config says so; -1 otherwise)
  SamplerOptions sampling;
  // Stop strings: generation ends with the token whose text completes one;
  // the completion's text ends before it. They need the tokenizer.
  std::vector<std::string> stop;
  // Decodes the generated tokens (on_text, GenerateResult::text) when given.
  const Tokenizer* tokenizer = nullptr;
  // The first `cached` prompt tokens are in the KV cache already, at their
  // positions (a conversation's earlier turns): the prefill feeds the rest.
  // Less than the prompt's length (its last token gives the first logits).
  int64_t cached = 0;
};

struct GenerateResult {
  std::vector<int32_t> generated;  // the stop token excluded; a stop string's last token included
  std::string text;                // the completion's text (with a tokenizer), up to a stop string
  std::string stop_reason;         // "eos", "bos", "length", "context", "stop" (a stop string)
  std::string stop_string;         // the stop string found ("stop")
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t decode_steps = 0;  // forward steps after the prefill
  // The KV cache then holds the prompt and generated[0 .. decode_steps) at
  // positions 0 .. prompt + decode_steps - 1: the last token sampled was not fed.
};

// Throws Error when a prompt of n tokens cannot start generation in a context
// of `context` positions (empty, or longer than the context).
void check_prompt(size_t n, int64_t context);

// on_token(id) is called for every generated token (not the stop token);
// on_text(text) with the completion's text as it becomes printable (whole
// UTF-8 characters, never a stop string or what follows it; needs a tokenizer).
GenerateResult generate(Steps& steps, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token = {},
                        const std::function<void(const std::string&)>& on_text = {});

}  // namespace tplm
