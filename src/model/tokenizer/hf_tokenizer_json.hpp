#pragma once
// Hugging Face tokenizer.json with a byte-level BPE model (GPT-2, Llama 3,
// Qwen2): model.vocab, model.merges ("a b" or ["a", "b"]), added_tokens, the
// pre-tokenizer's Split regex (else GPT-2's, which ByteLevel use_regex means),
// and BOS/EOS from tokenizer_config.json beside it when there is one.
// A SentencePiece-style tokenizer.json (Llama 2, Mistral: "▁" spaces, byte
// fallback) comes back as a SentencePieceBpe vocabulary scored -id, which is
// how SentencePiece BPE models order their merges.
#include <filesystem>
#include <string>

#include "format/vocab_spec.hpp"

namespace tplm {

struct HfTokenizerJson {
  VocabSpec vocab;
  std::string pattern;  // the pre-tokenizer regex (ByteLevelBpe only)
};

HfTokenizerJson read_hf_tokenizer_json(const std::filesystem::path& file);  // throws FormatError

}  // namespace tplm
