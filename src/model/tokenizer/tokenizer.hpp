#pragma once
// Text <-> token ids. One interface over the tokenizers tplm reads:
//   - SentencePiece-style BPE with byte fallback (llama2.c tokenizer .bin, GGUF "llama")
//   - GPT-2 byte-level BPE (GGUF "gpt2": Llama 3, Qwen2; HF tokenizer.json)
//   - Hugging Face tokenizer.model through libsentencepiece
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tplm {

struct ModelFile;

// A token of the vocabulary that a text may name by writing it (control,
// user-defined or unknown tokens: "<s>", "<|begin_of_text|>", "<unk>").
struct SpecialToken {
  std::string text;
  int32_t id = -1;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // "sentencepiece-bpe", "byte-level-bpe" or "sentencepiece" (libsentencepiece).
  virtual std::string_view kind() const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when the vocabulary has none
  virtual int32_t eos_id() const = 0;
  // The ids of text, with BOS first when add_bos (and the vocabulary has one
  // and wants it: GGUF tokenizer.ggml.add_bos_token, tokenizer_config.json).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // encode() that also reads the special tokens written in the text as those
  // tokens (llama.cpp's parse_special): at each position the longest special
  // token's text that starts there is that token, and the text between them
  // is encoded as encode(piece, false) would (a SentencePiece dummy-prefix
  // space included, as llama.cpp does after a special token).
  std::vector<int32_t> encode_special(std::string_view text, bool add_bos) const;
  // The tokens encode_special() recognises. Control tokens are written
  // without the whitespace around them (llama2.c's tokenizer .bin stores BOS
  // as "\n<s>\n"); user-defined and unknown tokens as they are.
  virtual std::vector<SpecialToken> special_tokens() const = 0;
  // The bytes of one token as it continues a text whose previous token is prev
  // (llama2.c drops the leading space of the first piece after BOS). Special
  // tokens decode to "". Bytes may be an incomplete UTF-8 sequence: see
  // Utf8Stream for printing.
  virtual std::string decode_piece(int32_t prev, int32_t id) const = 0;
  // The text of a whole sequence of ids.
  std::string decode(const std::vector<int32_t>& ids) const;
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
// tplm::FormatError when there is none or its size disagrees with the model.
std::unique_ptr<Tokenizer> load_tokenizer(const ModelFile& model,
                                          const std::filesystem::path& tokenizer_file);

}  // namespace tplm
