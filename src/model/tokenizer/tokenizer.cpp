#include "model/tokenizer/tokenizer.hpp"

#include <algorithm>
#include <array>

#include "base/error.hpp"
#include "format/model_file.hpp"

namespace tplm {

std::vector<int32_t> Tokenizer::encode_special(std::string_view text, bool add_bos) const {
  // The special tokens by their first byte, longest first: the first one that
  // matches at a position is the longest there.
  std::array<std::vector<SpecialToken>, 256> by_first;
  for (SpecialToken& s : special_tokens())
    if (!s.text.empty()) by_first[static_cast<unsigned char>(s.text[0])].push_back(std::move(s));
  for (auto& list : by_first)
    std::stable_sort(list.begin(), list.end(), [](const SpecialToken& a, const SpecialToken& b) {
      return a.text.size() > b.text.size();
    });

  std::vector<int32_t> ids = encode("", add_bos);  // BOS when the vocabulary wants it
  auto plain = [&](std::string_view piece) {
    if (piece.empty()) return;
    const std::vector<int32_t> part = encode(piece, false);
    ids.insert(ids.end(), part.begin(), part.end());
  };
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const SpecialToken* hit = nullptr;
    for (const SpecialToken& s : by_first[static_cast<unsigned char>(text[i])])
      if (text.substr(i, s.text.size()) == s.text) {
        hit = &s;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    plain(text.substr(start, i - start));
    ids.push_back(hit->id);
    i += hit->text.size();
    start = i;
  }
  plain(text.substr(start));
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    out += decode_piece(prev, id);
    prev = id;
  }
  return out;
}

}  // namespace tplm
