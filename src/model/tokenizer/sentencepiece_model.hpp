#pragma once
// A Hugging Face / SentencePiece tokenizer.model, through libsentencepiece
// (which applies the model's own normalizer and user-defined symbols).
#include <filesystem>
#include <memory>

#include "model/tokenizer/tokenizer.hpp"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace tplm {

class SentencePieceModel final : public Tokenizer {
 public:
  explicit SentencePieceModel(const std::filesystem::path& file);  // throws FormatError
  ~SentencePieceModel() override;

  std::string_view kind() const override { return "sentencepiece"; }
  int32_t vocab_size() const override;
  int32_t bos_id() const override;
  int32_t eos_id() const override;
  std::string decode_piece(int32_t prev, int32_t id) const override;
  std::string token_text(int32_t id) const override;

 private:
  bool adds_bos() const override { return bos_id() >= 0; }
  const SpecialTokens& special_tokens() const override { return specials_; }
  void encode_text(std::string_view text, std::vector<int32_t>& ids) const override;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  SpecialTokens specials_;  // control and unknown only: the processor finds user-defined ones
};

}  // namespace tplm
