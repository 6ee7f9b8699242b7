#pragma once
// Byte-level BPE (GGUF "gpt2" vocabularies: Llama 3, Qwen2, Falcon,
// StarCoder...; HF tokenizer.json). The text between special tokens goes
// through the pre-tokenizer (named by the GGUF, spelled out by the JSON),
// which returns words in GPT-2's byte alphabet; each word is merged pair by
// pair, lowest merge rank first, until no listed merge applies. With
// ignore_merges (Llama 3) a word that is itself a token is taken whole: the
// merges alone would not always reach it.
#include <string>
#include <unordered_map>

#include "format/vocab_spec.hpp"
#include "model/tokenizer/pre_tokenizer.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

class ByteLevelBpe final : public Tokenizer {
 public:
  // Throws Error on an unknown pre-tokenizer name, a bad regex or merge.
  explicit ByteLevelBpe(VocabSpec vocab);

  std::string_view kind() const override { return "byte-level-bpe"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }
  std::string decode_piece(int32_t prev, int32_t id) const override;
  std::string token_text(int32_t id) const override;

 private:
  bool adds_bos() const override { return vocab_.add_bos && vocab_.bos_id >= 0; }
  const SpecialTokens& special_tokens() const override { return specials_; }
  void encode_text(std::string_view text, std::vector<int32_t>& ids) const override;
  void encode_word(const std::string& word, std::vector<int32_t>& ids) const;
  const std::string& checked(int32_t id) const;

  VocabSpec vocab_;
  PreTokenizer pre_;
  SpecialTokens specials_;
  std::unordered_map<std::string, int32_t> index_;
  std::unordered_map<std::string, int32_t> ranks_;  // "left right" -> merge rank
  std::vector<std::string> decoded_;                // id -> bytes
};

}  // namespace tplm
