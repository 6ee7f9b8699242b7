// Which tokenizer a model uses: an explicit file wins, then the vocabulary in
// the model file (GGUF), then the tokenizer file beside it (HF folder).
#include <fmt/format.h>

#include "format/format_error.hpp"
#include "format/hf_tokenizer_json.hpp"
#include "format/llama2c_tokenizer.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/byte_level_bpe.hpp"
#include "model/tokenizer/sentencepiece_bpe.hpp"
#include "model/tokenizer/sentencepiece_model.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {

namespace {

std::unique_ptr<Tokenizer> from_vocab(VocabSpec vocab) {
  if (vocab.kind == VocabKind::SentencePieceBpe)
    return std::make_unique<SentencePieceBpe>(std::move(vocab));
  return std::make_unique<ByteLevelBpe>(std::move(vocab));
}

std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& file, int64_t vocab_size) {
  const std::string ext = file.extension().string();
  if (ext == ".bin") return from_vocab(read_llama2c_tokenizer(file, vocab_size));
  if (ext == ".model") return std::make_unique<SentencePieceModel>(file);
  if (ext == ".json") {
    VocabSpec v = read_hf_tokenizer_json(file);
    // SentencePiece-style JSON: the tokenizer.model beside it is exact
    // (normalizer included); without one, greedy BPE over the JSON vocabulary.
    const auto model = file.parent_path() / "tokenizer.model";
    if (v.kind == VocabKind::SentencePieceBpe && std::filesystem::exists(model))
      return std::make_unique<SentencePieceModel>(model);
    return from_vocab(std::move(v));
  }
  throw FormatError(file.string(),
                    "unknown tokenizer file type; expected a llama2.c .bin, a "
                    "SentencePiece tokenizer.model or a tokenizer.json");
}

// A tokenizer that cannot be set up (an unknown pre-tokenizer) is named with
// the file it came from.
template <typename Make>
std::unique_ptr<Tokenizer> made_from(const std::string& source, Make make) {
  try {
    return make();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(source, e.what());
  }
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const ModelFile& model,
                                          const std::filesystem::path& tokenizer_file) {
  const int64_t model_vocab = model.config.vocab_size;
  std::unique_ptr<Tokenizer> t;
  std::string source;
  if (!tokenizer_file.empty()) {
    source = tokenizer_file.string();
    t = made_from(source, [&] { return from_file(tokenizer_file, model_vocab); });
  } else if (model.vocab) {
    source = model.path;
    t = made_from(source, [&] { return from_vocab(*model.vocab); });
  } else if (!model.tokenizer_path.empty()) {
    source = model.tokenizer_path;
    t = made_from(source, [&] { return from_file(model.tokenizer_path, model_vocab); });
  } else if (!model.no_vocab_reason.empty()) {
    throw FormatError(model.path,
                      fmt::format("{}; pass --tokenizer FILE with a tokenizer tplm reads",
                                  model.no_vocab_reason));
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
