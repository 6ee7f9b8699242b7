#include "model/tokenizer/special_tokens.hpp"

#include <algorithm>

namespace tplm {

SpecialTokens::SpecialTokens(std::vector<Entry> entries) {
  for (Entry& e : entries)
    if (!e.text.empty()) by_first_byte_[static_cast<uint8_t>(e.text[0])].push_back(std::move(e));
  for (auto& list : by_first_byte_)
    std::stable_sort(list.begin(), list.end(),
                     [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
}

namespace {

// A control token as a user writes it: llama2.c's tokenizer .bin spells BOS
// and EOS "\n<s>\n" and "\n</s>\n"; the whitespace around them is not part of
// what "<s>" in a prompt means.
std::string control_text(const std::string& piece) {
  const size_t first = piece.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return piece;
  return piece.substr(first, piece.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

SpecialTokens SpecialTokens::of(const VocabSpec& vocab) {
  std::vector<Entry> entries;
  for (size_t i = 0; i < vocab.token_types.size() && i < vocab.tokens.size(); ++i) {
    const int32_t type = vocab.token_types[i];
    if (type == kUserDefined)
      entries.push_back({static_cast<int32_t>(i), vocab.tokens[i], When::Always});
    else if (type == kControl)
      entries.push_back(
          {static_cast<int32_t>(i), control_text(vocab.tokens[i]), When::ParseSpecial});
    else if (type == kUnknown)
      entries.push_back({static_cast<int32_t>(i), vocab.tokens[i], When::ParseSpecial});
  }
  return SpecialTokens(std::move(entries));
}

std::vector<SpecialTokens::Fragment> SpecialTokens::split(std::string_view text,
                                                          bool parse_special) const {
  std::vector<Fragment> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const Entry* hit = nullptr;
    for (const Entry& e : by_first_byte_[static_cast<uint8_t>(text[i])]) {
      if (e.when == When::ParseSpecial && !parse_special) continue;
      if (text.substr(i, e.text.size()) == e.text) {
        hit = &e;  // the list is longest first
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    if (i > start) out.push_back({text.substr(start, i - start), -1});
    out.push_back({text.substr(i, hit->text.size()), hit->id});
    i += hit->text.size();
    start = i;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
  return out;
}

}  // namespace tplm
