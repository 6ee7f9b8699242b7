#pragma once
// The llama2.c tokenizer file (tokenizer.bin, tok512.bin): karpathy/llama2.c
// tokenizer.py `export`. Layout, little-endian:
//   int32 max_token_length
//   vocab_size times: float32 score, int32 length, `length` bytes of the piece
// Spaces are raw ' ' (not SentencePiece's U+2581); bytes are "<0xNN>" pieces.
// BOS = 1, EOS = 2, UNK = 0 (SentencePiece's defaults, which llama2.c assumes).
#include <cstdint>
#include <filesystem>

#include "format/vocab_spec.hpp"

namespace tplm {

// Reads exactly vocab_size tokens. Throws FormatError with the offset when the
// file is truncated, a length is negative or absurd, or tokens remain after
// vocab_size of them (the message names both counts).
VocabSpec read_llama2c_tokenizer(const std::filesystem::path& path, int64_t vocab_size);

}  // namespace tplm
