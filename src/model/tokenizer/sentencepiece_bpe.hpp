#pragma once
// SentencePiece-style BPE with byte fallback, exactly as llama2.c run.c
// `encode`: a dummy-prefix space, one symbol per UTF-8 code point (or its
// "<0xNN>" byte tokens when the code point is not a token), then repeatedly
// merge the adjacent pair with the highest score whose concatenation is a
// token (the leftmost pair on ties). Serves llama2.c .bin vocabularies (raw
// ' ' spaces) and GGUF "llama" vocabularies (spaces written as U+2581 "▁").
#include <string>
#include <unordered_map>

#include "format/vocab_spec.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

class SentencePieceBpe final : public Tokenizer {
 public:
  explicit SentencePieceBpe(VocabSpec vocab);  // throws Error when there is no byte fallback

  std::string_view kind() const override { return "sentencepiece-bpe"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode_piece(int32_t prev, int32_t id) const override;
  std::vector<SpecialToken> special_tokens() const override;

  bool escapes_spaces() const { return escape_spaces_; }

 private:
  int32_t lookup(std::string_view piece) const;  // -1 when not a token
  void push_code_point(std::string_view cp, std::vector<int32_t>& ids) const;
  void merge_pairs(std::vector<int32_t>& ids) const;

  VocabSpec vocab_;
  std::unordered_map<std::string, int32_t> index_;
  std::vector<int32_t> byte_ids_;     // byte -> "<0xNN>" token id, or unk
  std::vector<std::string> decoded_;  // id -> bytes it prints ("" for control)
  bool escape_spaces_ = false;
};

}  // namespace tplm
