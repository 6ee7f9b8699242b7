#pragma once
// The pre-tokenizers GGUF files name in tokenizer.ggml.pre, each as the steps
// of the Hugging Face tokenizer.json the vocabulary came from. A GGUF keeps
// only the name (llama.cpp's converter recognises a tokenizer by what it
// outputs), so the name is the whole contract: an unknown one is refused, not
// guessed, since a wrong split gives the model text it was never trained on.
#include <string>
#include <string_view>
#include <vector>

#include "format/pre_tokenizer_spec.hpp"

namespace tplm {

struct NamedPreTokenizer {
  std::vector<PreTokenizeStep> steps;
  bool ignore_merges = false;  // tokenizer.json model.ignore_merges (Llama 3)
  bool add_bos = false;        // BOS when the file does not say (as llama.cpp does for Llama 3)
};

// Throws Error naming pre and the names tplm knows. "" (a file converted
// before the key existed) and "default" get GPT-2's, with a warning.
NamedPreTokenizer named_pre_tokenizer(std::string_view pre, std::vector<std::string>& warnings);

// "command-r, deepseek-coder, ...", for messages.
std::string known_pre_tokenizer_names();

}  // namespace tplm
