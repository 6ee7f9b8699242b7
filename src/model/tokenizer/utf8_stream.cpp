// Utf8Stream: prints whole UTF-8 characters only. A byte-fallback tokenizer
// emits a multi-byte character as several tokens ("<0xE4>" "<0xBD>" "<0xA0>");
// printing each alone would show three broken glyphs.
#include <cstdint>

#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Well-formed UTF-8 (RFC 3629, Unicode table 3-7): the length a lead byte
// announces and the allowed range of its first continuation byte.
struct Lead {
  int length;  // 0: not a lead byte
  uint8_t lo, hi;
};

Lead lead_of(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // no overlongs
  if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
  return {0, 0, 0};
}

// How many bytes at s[i] form a whole character (> 0), an incomplete but so
// far valid one at the end of s (0), or an invalid start (-1: one bad byte).
int whole_length(std::string_view s, size_t i) {
  const Lead lead = lead_of(static_cast<uint8_t>(s[i]));
  if (lead.length == 0) return -1;
  for (int k = 1; k < lead.length; ++k) {
    if (i + static_cast<size_t>(k) >= s.size()) return 0;
    const auto c = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
    const uint8_t lo = k == 1 ? lead.lo : 0x80, hi = k == 1 ? lead.hi : 0xBF;
    if (c < lo || c > hi) return -1;
  }
  return lead.length;
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
  pending_ += bytes;
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const int n = whole_length(pending_, i);
    if (n == 0) break;  // hold back the incomplete tail
    if (n < 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(pending_, i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Stream::flush() {
  // Whatever is left is an incomplete character that will never be finished.
  std::string out = pending_.empty() ? "" : std::string(kReplacement);
  pending_.clear();
  return out;
}

}  // namespace tplm
