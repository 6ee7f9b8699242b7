#pragma once
// Special tokens written in a text, found before the text is tokenized (what
// llama.cpp's tokenizer_st_partition and tokenizers' added tokens do): at each
// position the longest token that starts there, the leftmost first. A
// user-defined token (GPT-NeoX's runs of spaces) is always taken whole; a
// control token ("<s>", "<|begin_of_text|>") only when the caller asks to
// parse special tokens, so that user text which merely contains one stays text.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/vocab_spec.hpp"

namespace tplm {

class SpecialTokens {
 public:
  enum class When : uint8_t { Always, ParseSpecial };
  struct Entry {
    int32_t id;
    std::string text;
    When when;
  };
  // A piece of the text: a special token (id >= 0) or text to tokenize (id -1).
  struct Fragment {
    std::string_view text;
    int32_t id;
  };

  SpecialTokens() = default;
  explicit SpecialTokens(std::vector<Entry> entries);
  // From token types: user-defined always; control and unknown on request.
  static SpecialTokens of(const VocabSpec& vocab);

  std::vector<Fragment> split(std::string_view text, bool parse_special) const;

 private:
  std::array<std::vector<Entry>, 256> by_first_byte_;  // longest first
};

}  // namespace tplm
