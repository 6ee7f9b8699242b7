#include "app/serve/chat_template.hpp"

#include <fmt/format.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "format/model_file.hpp"
#include "model/tokenizer/tokenizer.hpp"

#if TPLM_HAVE_JINJA
#include "jinja/lexer.h"
#include "jinja/parser.h"
#include "jinja/runtime.h"
#include "json.h"
#endif

namespace tplm::serve {

#if TPLM_HAVE_JINJA

// The engine's statements are not documented as safe to run from two threads
// at once: renders of one template take turns (each takes milliseconds).
struct ChatTemplate::Program {
  jinja::program program;
  std::mutex running;
};

bool chat_templates_built() {
  return true;
}

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token)
    : bos_token_(std::move(bos_token)), eos_token_(std::move(eos_token)) {
  try {
    jinja::lexer lexer;
    jinja::lexer_result tokens = lexer.tokenize(source);
    auto p = std::make_shared<Program>();
    p->program = jinja::parse_from_tokens(tokens);
    program_ = std::move(p);
    source_ = tokens.source;
  } catch (const std::exception& e) {
    throw ChatTemplateError(fmt::format("the chat template does not parse: {}", e.what()));
  }
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt) const {
  // The variables transformers' apply_chat_template passes (and llama.cpp's
  // common_chat_template_direct_apply): add_generation_prompt is always set,
  // false included, as jinja2 sees it there.
  nlohmann::ordered_json turns = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) turns.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::ordered_json vars = {{"messages", turns},
                                 {"bos_token", bos_token_},
                                 {"eos_token", eos_token_},
                                 {"add_generation_prompt", add_generation_prompt}};
  try {
    jinja::context ctx(source_);
    ctx.current_time = time_.value_or(std::time(nullptr));
    // common_json is llama.cpp's wrapper over nlohmann-json: the text is the
    // one way in that needs none of its internals.
    jinja::global_from_json(ctx, common_json::parse(vars.dump()), /*mark_input=*/false);
    jinja::runtime runtime(ctx);
    std::lock_guard<std::mutex> lock(program_->running);
    const jinja::value result = runtime.execute(program_->program);
    return jinja::runtime::gather_string_parts(result)->as_string().str();
  } catch (const std::exception& e) {
    throw ChatTemplateError(
        fmt::format("the model's chat template fails on this conversation: {}", e.what()));
  }
}

#else  // built without the Jinja engine

struct ChatTemplate::Program {};

bool chat_templates_built() {
  return false;
}

ChatTemplate::ChatTemplate(std::string, std::string, std::string) {
  throw Error(
      "this tplm was built without chat templates: llama.cpp's Jinja engine could not be fetched "
      "when it was configured (see the warning of cmake's configure step); reconfigure with "
      "access to PyPI, or put llama_cpp_python-0.3.36.tar.gz in ~/.cache/tplm, and rebuild");
}

std::string ChatTemplate::render(const std::vector<ChatMessage>&, bool) const {
  return "";
}

#endif

ChatTemplate ChatTemplate::from_model(const ModelFile& model, const Tokenizer& tokenizer) {
  if (model.chat_template.empty())
    throw Error(fmt::format(
        "{} has no chat template (GGUF tokenizer.chat_template, or an HF folder's "
        "chat_template.jinja / tokenizer_config.json \"chat_template\"), so there is no telling "
        "how it was taught to chat; use `tplm run` with a plain prompt, or a chat-tuned model",
        model.path));
  auto text = [&](int32_t id) { return id < 0 ? std::string() : tokenizer.token_text(id); };
  return ChatTemplate(model.chat_template, text(tokenizer.bos_id()), text(tokenizer.eos_id()));
}

}  // namespace tplm::serve
