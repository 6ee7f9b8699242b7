#pragma once
// Text <-> token ids. One interface over the tokenizers tplm reads:
//   - SentencePiece-style BPE with byte fallback (llama2.c tokenizer .bin, GGUF "llama")
//   - byte-level BPE (GGUF "gpt2": Llama 3, Qwen2, Falcon, StarCoder...; HF tokenizer.json)
//   - Hugging Face tokenizer.model through libsentencepiece
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer/special_tokens.hpp"

namespace tplm {

struct ModelFile;

struct EncodeOptions {
  // BOS first, when the vocabulary has one and wants it (GGUF
  // tokenizer.ggml.add_bos_token, tokenizer_config.json).
  bool add_bos = true;
  // Control tokens written in the text ("<s>", "<|begin_of_text|>") become
  // their ids; otherwise they are text like any other (llama.cpp's
  // parse_special, off for a user's prompt).
  bool parse_special = false;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // "sentencepiece-bpe", "byte-level-bpe" or "sentencepiece" (libsentencepiece).
  virtual std::string_view kind() const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when the vocabulary has none
  virtual int32_t eos_id() const = 0;

  // The ids of text. Special tokens are found first (SpecialTokens); the text
  // between them is tokenized piece by piece. "" gives no ids (BOS alone when
  // it is added).
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const;
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const {
    return encode(text, EncodeOptions{add_bos, false});
  }

  // The bytes of one token as it continues a text whose previous token is prev
  // (-1 at the start): SentencePiece's dummy-prefix space is dropped from the
  // first piece (after BOS, as llama2.c does, or at the start). Control tokens
  // decode to "". Bytes may be an incomplete UTF-8 sequence: see Utf8Stream.
  virtual std::string decode_piece(int32_t prev, int32_t id) const = 0;
  // The text of a whole sequence of ids.
  std::string decode(const std::vector<int32_t>& ids) const;
  // The token as the vocabulary spells it ("▁Hello", "ĠHello", "<0x0A>", "<s>").
  virtual std::string token_text(int32_t id) const = 0;

  // What the user should know about how this tokenizer was set up (a
  // pre-tokenizer it had to guess); empty when nothing.
  const std::vector<std::string>& warnings() const { return warnings_; }

 protected:
  virtual bool adds_bos() const = 0;  // the vocabulary has a BOS and wants it
  virtual const SpecialTokens& special_tokens() const = 0;
  // The ids of a non-empty text with no special token in it.
  virtual void encode_text(std::string_view text, std::vector<int32_t>& ids) const = 0;

  std::vector<std::string> warnings_;
};

// Holds back the tail of a byte stream until it is whole UTF-8, so that a
// character split across byte tokens is printed once, complete.
class Utf8Stream {
 public:
  std::string push(std::string_view bytes);  // returns what is ready to print
  std::string flush();                       // what is left (invalid bytes as U+FFFD)

 private:
  std::string pending_;
};

// The tokenizer for a model: tokenizer_file when given (a llama2.c .bin,
// tokenizer.json or tokenizer.model), else the vocabulary inside the model
// file (GGUF), else the tokenizer found beside it (HF folder). Throws
// tplm::FormatError when there is none, when its kind is one tplm does not
// implement (WordPiece, Unigram...) or when its size disagrees with the model.
std::unique_ptr<Tokenizer> load_tokenizer(const ModelFile& model,
                                          const std::filesystem::path& tokenizer_file);

}  // namespace tplm
