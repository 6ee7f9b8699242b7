#include "model/tokenizer/byte_alphabet.hpp"

#include <algorithm>
#include <unordered_map>

#include "model/tokenizer/utf8_length.hpp"

namespace tplm {

const std::array<std::string, 256>& byte_to_text() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const int cp = printable ? b : next++;
      std::string s;
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
      t[static_cast<size_t>(b)] = s;
    }
    return t;
  }();
  return table;
}

std::string text_to_bytes(std::string_view piece) {
  static const std::unordered_map<std::string, char> inverse = [] {
    std::unordered_map<std::string, char> m;
    for (int b = 0; b < 256; ++b)
      m.emplace(byte_to_text()[static_cast<size_t>(b)], static_cast<char>(b));
    return m;
  }();
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    const size_t n = std::min(utf8_length(static_cast<uint8_t>(piece[i])), piece.size() - i);
    auto it = n <= 2 ? inverse.find(std::string(piece.substr(i, n))) : inverse.end();
    if (it != inverse.end())
      out += it->second;
    else
      out.append(piece.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace tplm
