#pragma once
// The special tokens of a vocabulary as text may write them (see
// Tokenizer::special_tokens): control, user-defined and unknown tokens.
#include <string_view>
#include <vector>

#include "format/vocab_spec.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

// A control token's text without the ASCII whitespace around it (when that
// leaves any); other tokens' text as it is.
std::string_view special_text(std::string_view piece, bool control);

std::vector<SpecialToken> special_tokens_of(const VocabSpec& vocab);

}  // namespace tplm
