#pragma once
// The length of the UTF-8 sequence a lead byte announces, for walking text one
// character at a time. Not a validator: a stray continuation or invalid byte
// counts as one, so every byte is walked exactly once.
#include <cstddef>
#include <cstdint>

namespace tplm {

inline size_t utf8_length(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF8 ? 4 : 1;
}

}  // namespace tplm
