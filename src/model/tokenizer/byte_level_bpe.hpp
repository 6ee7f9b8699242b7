#pragma once
// GPT-2 byte-level BPE (GGUF "gpt2" vocabularies: Llama 3, Qwen2; HF
// tokenizer.json). Text is split on special tokens, then by the pre-tokenizer
// regex (PCRE2, Unicode properties); each chunk's bytes are written in GPT-2's
// printable byte alphabet (space -> "Ġ", newline -> "Ċ") and merged pair by
// pair, lowest merge rank first, until no listed merge applies.
#include <memory>
#include <string>
#include <unordered_map>

#include "format/vocab_spec.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

// The pre-tokenizer regexes by GGUF tokenizer.ggml.pre name ("" or unknown: GPT-2's).
std::string byte_level_pattern(std::string_view pre);

class ByteLevelBpe final : public Tokenizer {
 public:
  ByteLevelBpe(VocabSpec vocab, const std::string& pattern);  // throws Error on a bad regex/merge
  ~ByteLevelBpe() override;

  std::string_view kind() const override { return "byte-level-bpe"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode_piece(int32_t prev, int32_t id) const override;
  std::vector<SpecialToken> special_tokens() const override;

 private:
  struct Regex;
  void encode_text(std::string_view text, std::vector<int32_t>& ids) const;
  void encode_chunk(std::string_view chunk, std::vector<int32_t>& ids) const;

  VocabSpec vocab_;
  std::unique_ptr<Regex> regex_;
  std::unordered_map<std::string, int32_t> index_;
  std::unordered_map<std::string, int32_t> ranks_;  // "left right" -> merge rank
  std::vector<int32_t> specials_;                   // control / user-defined ids, matched verbatim
  std::vector<std::string> decoded_;                // id -> bytes
};

}  // namespace tplm
