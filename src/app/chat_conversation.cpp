#include "app/chat_conversation.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

std::vector<int32_t> chat_prompt_ids(const Tokenizer& tokenizer, const std::string& rendered,
                                     const std::string& bos_text) {
  const bool template_wrote_bos = !bos_text.empty() && rendered.starts_with(bos_text);
  return tokenizer.encode(rendered, EncodeOptions{!template_wrote_bos, /*parse_special=*/true});
}

int64_t reusable_prefix(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt) {
  if (prompt.empty()) return 0;
  const size_t limit = std::min(cached.size(), prompt.size() - 1);
  size_t n = 0;
  while (n < limit && cached[n] == prompt[n]) ++n;
  return static_cast<int64_t>(n);
}

ChatConversation::ChatConversation(const serve::ChatTemplate& chat_template,
                                   const Tokenizer& tokenizer, GenerateOptions gen)
    : template_(chat_template), tokenizer_(tokenizer), gen_(std::move(gen)) {
  gen_.tokenizer = &tokenizer_;
}

void ChatConversation::add_system(std::string text) {
  messages_.push_back({"system", std::move(text)});
}

ChatTurn ChatConversation::reply(Steps& steps, const std::string& user_text,
                                 const std::function<void(const std::string&)>& on_text) {
  std::vector<serve::ChatMessage> next = messages_;
  next.push_back({"user", user_text});
  const std::vector<int32_t> prompt = chat_prompt_ids(
      tokenizer_, template_.render(next, /*add_generation_prompt=*/true), template_.bos_token());
  // At least one position must be left for the answer.
  if (static_cast<int64_t>(prompt.size()) >= steps.context())
    throw Error(fmt::format(
        "the conversation is now {} tokens and the context holds {} positions, so there is no "
        "room for an answer; start a new conversation (or raise --context, up to the model's "
        "context length)",
        prompt.size(), steps.context()));
  ChatTurn turn;
  turn.prompt_tokens = static_cast<int64_t>(prompt.size());
  turn.reused_tokens = reusable_prefix(cached_, prompt);
  GenerateOptions gen = gen_;
  gen.cached = turn.reused_tokens;
  gen.sampling.seed += static_cast<uint64_t>(turns_);
  // From here the KV cache past the reused tokens is being rewritten.
  cached_.resize(static_cast<size_t>(turn.reused_tokens));
  turn.result = generate(steps, prompt, gen, {}, on_text);
  cached_ = prompt;
  cached_.insert(cached_.end(), turn.result.generated.begin(),
                 turn.result.generated.begin() + turn.result.decode_steps);
  next.push_back({"assistant", turn.result.text});
  messages_ = std::move(next);
  ++turns_;
  return turn;
}

}  // namespace tplm
