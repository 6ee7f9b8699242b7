#pragma once
// A tokenizer vocabulary as stored inside a model file (GGUF tokenizer.ggml.*)
// or a llama2.c tokenizer .bin. The tokenizers in model/tokenizer build on it.
#include <cstdint>
#include <string>
#include <vector>

#include "format/pre_tokenizer_spec.hpp"

namespace tplm {

enum class VocabKind : uint8_t {
  SentencePieceBpe,  // llama2.c and GGUF "llama": score-ordered merges, byte fallback <0xNN>
  ByteLevelBpe,      // GGUF "gpt2" and HF tokenizer.json (Llama 3, Qwen2): ranked merges over bytes
};

// GGUF token types.
enum TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

struct VocabSpec {
  VocabKind kind = VocabKind::SentencePieceBpe;
  std::vector<std::string> tokens;   // id -> piece (raw bytes)
  std::vector<float> scores;         // SentencePieceBpe: merge priority (empty for byte-level)
  std::vector<int32_t> token_types;  // TokenType per id (may be empty: all normal)
  std::vector<std::string> merges;   // ByteLevelBpe: "left right", highest priority first
  // ByteLevelBpe: a GGUF names its pre-tokenizer (tokenizer.ggml.pre, "" when
  // absent); a tokenizer.json spells it out as steps (then pre is unused).
  std::string pre;
  std::vector<PreTokenizeStep> pre_steps;
  bool ignore_merges = false;    // ByteLevelBpe: a word that is a token is taken whole
  bool add_space_prefix = true;  // SentencePieceBpe: the dummy space before the text
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  int32_t pad_id = -1;
  bool add_bos = true;
  bool add_bos_given = false;  // add_bos came from the file, not a default of its kind
};

}  // namespace tplm
