#pragma once
// One conversation of `tplm chat` on the engine: each turn renders the whole
// conversation with the model's chat template, and generates the answer after
// it. The KV cache keeps what the last turn left there (the earlier prompt and
// answer): the new prompt's tokens that match it from the start are not fed
// again, only the rest (the template's end of the answer, the new message).
// Where the new rendering differs earlier (a template that rewrites past
// turns, an answer that tokenizes differently as text), the prefill starts at
// the first difference; positions after it are overwritten.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/serve/chat_template.hpp"
#include "runtime/generator.hpp"
#include "runtime/steps.hpp"

namespace tplm {

class Tokenizer;

struct ChatTurn {
  GenerateResult result;      // result.text: the answer
  int64_t prompt_tokens = 0;  // the whole conversation's prompt
  int64_t reused_tokens = 0;  // of them, already in the KV cache
};

// The prompt's ids: special tokens in the rendering are tokens (the template
// wrote them); BOS is added only when the template did not write it.
std::vector<int32_t> chat_prompt_ids(const Tokenizer& tokenizer, const std::string& rendered,
                                     const std::string& bos_text);

// How many of `cached` (the tokens in the KV cache) the prompt starts with,
// at most prompt.size() - 1: the last token must be fed for the first logits.
int64_t reusable_prefix(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt);

class ChatConversation {
 public:
  // gen: how each answer is generated (its sampler seed is advanced per turn
  // so that turns do not repeat one random stream); gen.tokenizer is set here.
  ChatConversation(const serve::ChatTemplate& chat_template, const Tokenizer& tokenizer,
                   GenerateOptions gen);

  void add_system(std::string text);
  // Adds the user's message, generates the answer (on_text as it comes) and
  // adds it. Throws serve::ChatTemplateError when the template refuses the
  // conversation, Error when it no longer fits the context; the conversation
  // is then as it was.
  ChatTurn reply(Steps& steps, const std::string& user_text,
                 const std::function<void(const std::string&)>& on_text);
  const std::vector<serve::ChatMessage>& messages() const { return messages_; }
  const std::vector<int32_t>& cached() const { return cached_; }

 private:
  const serve::ChatTemplate& template_;
  const Tokenizer& tokenizer_;
  GenerateOptions gen_;
  std::vector<serve::ChatMessage> messages_;
  std::vector<int32_t> cached_;  // the tokens at KV positions 0 .. cached_.size() - 1
  int turns_ = 0;
};

}  // namespace tplm
