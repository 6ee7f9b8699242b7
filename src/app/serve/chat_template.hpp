#pragma once
// A model's chat template (Jinja), rendered by llama.cpp's own Jinja engine
// (common/jinja, fetched and built by cmake/llama_jinja.cmake) the way
// transformers' apply_chat_template renders it with Python's jinja2: the
// variables messages, add_generation_prompt, bos_token and eos_token, and the
// helpers raise_exception and strftime_now.
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/serve/chat_message.hpp"
#include "base/error.hpp"

namespace tplm {
struct ModelFile;
class Tokenizer;
}  // namespace tplm

namespace tplm::serve {

// A template that does not parse, or that refuses a conversation (its
// raise_exception: "roles must alternate user/assistant..."): the request's
// fault, 400 over HTTP.
class ChatTemplateError : public Error {
 public:
  using Error::Error;
};

// Whether this tplm was built with the Jinja engine (see cmake/llama_jinja.cmake).
bool chat_templates_built();

class ChatTemplate {
 public:
  // Parses `source`. Throws ChatTemplateError when it does not parse (the
  // message shows where), Error when tplm was built without chat templates.
  ChatTemplate(std::string source, std::string bos_token, std::string eos_token);
  // The model's own template (ModelFile::chat_template) with its tokenizer's
  // BOS and EOS as bos_token and eos_token. Throws Error when the model has
  // none: there is no good guess at how a model was trained to chat.
  static ChatTemplate from_model(const ModelFile& model, const Tokenizer& tokenizer);

  // The prompt for `messages`; with add_generation_prompt, it ends where the
  // assistant's answer begins. Safe to call from several threads. Throws ChatTemplateError when the
  // template raises an exception or fails on them.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  // The clock strftime_now reads (Llama 3.2's "Today Date"); by default the
  // time of each render. Tests fix it.
  void set_time(std::time_t now) { time_ = now; }

  const std::string& source() const { return source_; }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }

 private:
  struct Program;                     // the parsed template (the engine's types stay in the .cpp)
  std::shared_ptr<Program> program_;  // shared by copies
  std::string source_;
  std::string bos_token_;
  std::string eos_token_;
  std::optional<std::time_t> time_;
};

}  // namespace tplm::serve
