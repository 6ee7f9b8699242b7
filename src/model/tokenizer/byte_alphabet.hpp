#pragma once
// GPT-2's byte alphabet (bytes_to_unicode): every byte as a visible character,
// so byte-level BPE vocabularies and merges are text ("Ġ" is a space, "Ċ" a
// newline). Printable Latin-1 bytes stand for themselves; the other 68 map to
// U+0100.. in byte order.
#include <array>
#include <string>
#include <string_view>

namespace tplm {

// byte -> its character in UTF-8.
const std::array<std::string, 256>& byte_to_text();

// The bytes a piece of the alphabet stands for; characters outside it (an
// added token's text) keep their bytes.
std::string text_to_bytes(std::string_view piece);

}  // namespace tplm
