#pragma once
// The generation loop, driven by rank 0: prefill the prompt in one step, then
// one position per step. Rank 0 samples; the token reaches the other ranks
// inside the next step (Steps), so every rank stops at the same step.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/sampler.hpp"
#include "runtime/steps.hpp"

namespace tplm {

class Tokenizer;

// Positions of the prompt one forward step takes at most (the prefill chunk).
constexpr int64_t kPrefillChunk = 512;

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

class CompletionText;

// One sequence's generation, a step at a time, for whoever runs the steps
// (generate() below, one sequence; the server's scheduler, many in a batch):
//   Generation g(prompt, context, options, on_token, on_text);
//   logits = <the prompt's last position>;
//   while (!g.take(logits)) logits = <g.next_token() at g.next_pos()>;
//   g.result() ...
class Generation {
 public:
  // Throws Error when the prompt does not fit (check_prompt) or stop strings
  // come without a tokenizer.
  Generation(size_t prompt_tokens, int32_t last_prompt_token, int64_t context,
             const GenerateOptions& options, std::function<void(int32_t)> on_token = {},
             std::function<void(const std::string&)> on_text = {});
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  // Takes the logits of the last position fed; returns true when the
  // sequence has ended (result().stop_reason says why), else next_token()
  // is to be fed at next_pos().
  bool take(std::span<const float> logits);
  int32_t next_token() const { return next_token_; }
  int64_t next_pos() const { return pos_ - 1; }
  bool ended() const { return ended_; }
  GenerateResult& result() { return result_; }

 private:
  bool end(const char* reason);
  GenerateOptions options_;
  std::function<void(int32_t)> on_token_;
  std::function<void(const std::string&)> on_text_;
  Sampler sampler_;
  GenerateResult result_;
  std::unique_ptr<CompletionText> text_;
  int64_t context_;
  int64_t pos_;  // the position after the last one fed
  int32_t next_token_ = -1;
  bool ended_ = false;
};

// on_token(id) is called for every generated token (not the stop token);
// on_text(text) with the completion's text as it becomes printable (whole
// UTF-8 characters, never a stop string or what follows it; needs a tokenizer).
GenerateResult generate(Steps& steps, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token = {},
                        const std::function<void(const std::string&)>& on_text = {});

}  // namespace tplm
