#include "model/tokenizer/sentencepiece_model.hpp"

#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include <charconv>

#include "format/format_error.hpp"
#include "model/tokenizer/special_tokens.hpp"

namespace tplm {

SentencePieceModel::SentencePieceModel(const std::filesystem::path& file)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = sp_->Load(file.string());
  if (!status.ok())
    throw FormatError(file.string(), fmt::format("not a SentencePiece model ({}); pass the "
                                                 "tokenizer.model that came with the model",
                                                 status.ToString()));
}

SentencePieceModel::~SentencePieceModel() = default;

int32_t SentencePieceModel::vocab_size() const {
  return sp_->GetPieceSize();
}
int32_t SentencePieceModel::bos_id() const {
  return sp_->bos_id();
}
int32_t SentencePieceModel::eos_id() const {
  return sp_->eos_id();
}

std::vector<int32_t> SentencePieceModel::encode(std::string_view text, bool add_bos) const {
  std::vector<int> pieces;
  const auto status = sp_->Encode(text, &pieces);
  if (!status.ok()) throw Error(fmt::format("sentencepiece encode failed: {}", status.ToString()));
  std::vector<int32_t> ids;
  if (add_bos && bos_id() >= 0) ids.push_back(bos_id());
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return ids;
}

// Same rules as SentencePieceBpe::decode_piece: "▁" is a space, "<0xNN>" a
// byte, control tokens print nothing, and the first piece after BOS loses its
// leading space.
std::string SentencePieceModel::decode_piece(int32_t prev, int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw Error(fmt::format("token id {} is outside the vocabulary (size {})", id, vocab_size()));
  if (sp_->IsControl(id)) return "";
  const std::string piece = sp_->IdToPiece(id);
  if (sp_->IsByte(id)) {
    int v = 0;
    std::from_chars(piece.data() + 3, piece.data() + 5, v, 16);
    return std::string(1, static_cast<char>(v));
  }
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      i += 3;
    } else {
      out += piece[i++];
    }
  }
  if (prev >= 0 && prev == bos_id() && out.starts_with(' ')) out.erase(0, 1);
  return out;
}

// Control and unknown pieces; libsentencepiece itself already reads
// user-defined pieces written in the text as those pieces.
std::vector<SpecialToken> SentencePieceModel::special_tokens() const {
  std::vector<SpecialToken> out;
  for (int id = 0; id < sp_->GetPieceSize(); ++id) {
    const bool control = sp_->IsControl(id);
    if (!control && !sp_->IsUnknown(id)) continue;
    const std::string piece = sp_->IdToPiece(id);
    if (!piece.empty()) out.push_back({std::string(special_text(piece, control)), id});
  }
  return out;
}

}  // namespace tplm
