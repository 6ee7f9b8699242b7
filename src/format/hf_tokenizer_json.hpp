#pragma once
// Hugging Face tokenizer.json with a BPE model, read into a VocabSpec:
// model.vocab, model.merges ("a b" or ["a", "b"]), model.ignore_merges,
// added_tokens (special: control, else user-defined), the pre-tokenizer as
// steps (Split, Digits, Punctuation, ByteLevel, in a Sequence or alone), and
// BOS/EOS from tokenizer_config.json beside it when there is one.
// A SentencePiece-style tokenizer.json (Llama 2, Mistral: "▁" spaces, byte
// fallback) comes back as a SentencePieceBpe vocabulary scored -id, which is
// how SentencePiece BPE models order their merges, with its dummy prefix
// (normalizer Prepend "▁" or Metaspace) in add_space_prefix.
#include <filesystem>

#include "format/vocab_spec.hpp"

namespace tplm {

// Throws FormatError for anything it cannot represent faithfully (another
// model type, a pre-tokenizer it does not know), naming it.
VocabSpec read_hf_tokenizer_json(const std::filesystem::path& file);

}  // namespace tplm
