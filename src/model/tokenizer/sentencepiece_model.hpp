#pragma once
// A Hugging Face / SentencePiece tokenizer.model, through libsentencepiece.
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
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode_piece(int32_t prev, int32_t id) const override;
  std::vector<SpecialToken> special_tokens() const override;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace tplm
