// Which tokenizer a model uses: an explicit file wins, then the vocabulary in
// the model file (GGUF), then the tokenizer file beside it (HF folder).
#include <fmt/format.h>

#include "format/format_error.hpp"
#include "format/llama2c_tokenizer.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/byte_level_bpe.hpp"
#include "model/tokenizer/hf_tokenizer_json.hpp"
#include "model/tokenizer/sentencepiece_bpe.hpp"
#include "model/tokenizer/sentencepiece_model.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

namespace {

std::unique_ptr<Tokenizer> from_vocab(const VocabSpec& vocab) {
  if (vocab.kind == VocabKind::SentencePieceBpe) return std::make_unique<SentencePieceBpe>(vocab);
  return std::make_unique<ByteLevelBpe>(vocab, byte_level_pattern(vocab.pre));
}

std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& file, int64_t vocab_size) {
  const std::string ext = file.extension().string();
  if (ext == ".bin") return from_vocab(read_llama2c_tokenizer(file, vocab_size));
  if (ext == ".model") return std::make_unique<SentencePieceModel>(file);
  if (ext == ".json") {
    HfTokenizerJson hf = read_hf_tokenizer_json(file);
    if (hf.vocab.kind == VocabKind::ByteLevelBpe)
      return std::make_unique<ByteLevelBpe>(std::move(hf.vocab), hf.pattern);
    // SentencePiece-style JSON: the tokenizer.model beside it is exact
    // (normalizer included); without one, greedy BPE over the JSON vocabulary.
    const auto model = file.parent_path() / "tokenizer.model";
    if (std::filesystem::exists(model)) return std::make_unique<SentencePieceModel>(model);
    return std::make_unique<SentencePieceBpe>(std::move(hf.vocab));
  }
  throw FormatError(file.string(),
                    "unknown tokenizer file type; expected a llama2.c .bin, a "
                    "SentencePiece tokenizer.model or a tokenizer.json");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const ModelFile& model,
                                          const std::filesystem::path& tokenizer_file) {
  const int64_t model_vocab = model.config.vocab_size;
  std::unique_ptr<Tokenizer> t;
  std::string source;
  if (!tokenizer_file.empty()) {
    source = tokenizer_file.string();
    t = from_file(tokenizer_file, model_vocab);
  } else if (model.vocab) {
    source = model.path;
    t = from_vocab(*model.vocab);
  } else if (!model.tokenizer_path.empty()) {
    source = model.tokenizer_path;
    t = from_file(model.tokenizer_path, model_vocab);
  } else {
    throw FormatError(model.path,
                      fmt::format("model {} has no tokenizer; pass --tokenizer FILE", model.path));
  }
  // Fewer tokens than embedding rows is common (padded vocabularies); more
  // would produce ids the model cannot embed.
  if (t->vocab_size() > model_vocab)
    throw FormatError(source, fmt::format("the tokenizer has {} tokens but the model's vocab_size "
                                          "is {}; is this the model's tokenizer?",
                                          t->vocab_size(), model_vocab));
  return t;
}

}  // namespace tplm
