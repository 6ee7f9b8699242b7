#include "model/tokenizer/special_tokens.hpp"

namespace tplm {

std::string_view special_text(std::string_view piece, bool control) {
  if (!control) return piece;
  const auto first = piece.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return piece;
  const auto last = piece.find_last_not_of(" \t\r\n");
  return piece.substr(first, last - first + 1);
}

std::vector<SpecialToken> special_tokens_of(const VocabSpec& vocab) {
  std::vector<SpecialToken> out;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const int32_t type = i < vocab.token_types.size() ? vocab.token_types[i] : kNormal;
    const bool special = type == kControl || type == kUserDefined || type == kUnknown ||
                         static_cast<int32_t>(i) == vocab.unk_id;
    if (!special || vocab.tokens[i].empty()) continue;
    out.push_back(
        {std::string(special_text(vocab.tokens[i], type == kControl)), static_cast<int32_t>(i)});
  }
  return out;
}

}  // namespace tplm
