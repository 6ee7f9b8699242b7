#pragma once
// One turn of a conversation, as a chat template and the OpenAI API see it.
#include <string>

namespace tplm::serve {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

}  // namespace tplm::serve
