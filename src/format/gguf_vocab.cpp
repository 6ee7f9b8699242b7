// VocabSpec from GGUF tokenizer.ggml.* keys:
//   model ("llama" = SentencePiece BPE, "gpt2" = byte-level BPE), tokens,
//   scores, token_type, merges, bos/eos/unknown/padding_token_id,
//   add_bos_token, add_space_prefix, pre.
#include <fmt/format.h>

#include "format/format_error.hpp"
#include "format/gguf_model_info.hpp"

namespace tplm {

namespace {

// A special token id; ids outside the vocabulary are dropped with a note, as
// llama.cpp does, since real files carry such ids.
int32_t token_id(const GgufMetadata& md, const char* key, int64_t n_tokens,
                 std::vector<std::pair<std::string, std::string>>& notes) {
  auto id = md.get_int(key);
  if (!id) return -1;
  if (*id < 0 || *id >= n_tokens) {
    notes.push_back({fmt::format("tplm.note.{}", key),
                     fmt::format("ignored: {} is not a token id (the tokenizer has {} tokens)", *id,
                                 n_tokens)});
    return -1;
  }
  return static_cast<int32_t>(*id);
}

template <typename T>
void check_same_length(const GgufMetadata& md, const char* key, const std::vector<T>& v,
                       size_t n_tokens, const std::string& file) {
  if (v.size() != n_tokens)
    throw FormatError(
        file, md.find(key)->offset,
        fmt::format("{} has {} entries but tokenizer.ggml.tokens has {}", key, v.size(), n_tokens));
}

// What llama.cpp's other tokenizer models are, for the message that refuses them.
std::string tokenizer_model_label(const std::string& model) {
  for (const auto& [name, what] : {std::pair{"bert", "WordPiece"},
                                   {"t5", "Unigram"},
                                   {"rwkv", "RWKV's trie"},
                                   {"plamo2", "PLaMo 2's Aho-Corasick"},
                                   {"gemma4", "Gemma 4's SentencePiece-style BPE"},
                                   {"no_vocab", "none"},
                                   {"none", "none"}})
    if (model == name) return fmt::format("\"{}\" ({})", model, what);
  return fmt::format("\"{}\"", model);
}

}  // namespace

std::optional<VocabSpec> gguf_vocab(const GgufMetadata& md, int64_t vocab_size,
                                    const std::string& file,
                                    std::vector<std::pair<std::string, std::string>>& notes,
                                    std::string& why_none) {
  const auto model = md.get_string("tokenizer.ggml.model");
  VocabSpec v;
  if (model == "llama") {
    v.kind = VocabKind::SentencePieceBpe;
    v.add_bos = true;
  } else if (model == "gpt2") {
    v.kind = VocabKind::ByteLevelBpe;
    v.add_bos = false;
  } else {
    why_none = model ? fmt::format(
                           "tokenizer model {} is not supported: tplm tokenizes \"llama\" "
                           "(SentencePiece BPE) and \"gpt2\" (byte-level BPE) vocabularies",
                           tokenizer_model_label(*model))
                     : "the file carries no vocabulary (no tokenizer.ggml.model)";
    notes.push_back({"tplm.note.tokenizer", why_none});
    return std::nullopt;
  }
  const GgufKv* tokens_kv = md.find("tokenizer.ggml.tokens");
  if (!tokens_kv)
    throw FormatError(file,
                      "missing required metadata key tokenizer.ggml.tokens (the tokenizer "
                      "model is \"" +
                          *model + "\")");
  // Compare the count before copying the strings.
  if (tokens_kv->value.type == GgufType::Array &&
      tokens_kv->value.count > static_cast<uint64_t>(vocab_size))
    throw FormatError(file, tokens_kv->offset,
                      fmt::format("tokenizer has {} tokens but the embedding has {} rows",
                                  tokens_kv->value.count, vocab_size));
  v.tokens = *md.get_strings("tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  if (auto s = md.get_floats("tokenizer.ggml.scores")) {
    check_same_length(md, "tokenizer.ggml.scores", *s, n, file);
    v.scores = std::move(*s);
  }
  if (auto t = md.get_int32s("tokenizer.ggml.token_type")) {
    check_same_length(md, "tokenizer.ggml.token_type", *t, n, file);
    v.token_types = std::move(*t);
  }
  if (auto m = md.get_strings("tokenizer.ggml.merges")) v.merges = std::move(*m);
  if (v.kind == VocabKind::ByteLevelBpe && v.merges.empty())
    throw FormatError(file,
                      "missing required metadata key tokenizer.ggml.merges (the tokenizer "
                      "model is \"gpt2\", which needs its merges)");
  const auto n_tokens = static_cast<int64_t>(n);
  v.bos_id = token_id(md, "tokenizer.ggml.bos_token_id", n_tokens, notes);
  v.eos_id = token_id(md, "tokenizer.ggml.eos_token_id", n_tokens, notes);
  v.unk_id = token_id(md, "tokenizer.ggml.unknown_token_id", n_tokens, notes);
  v.pad_id = token_id(md, "tokenizer.ggml.padding_token_id", n_tokens, notes);
  if (auto add_bos = md.get_bool("tokenizer.ggml.add_bos_token")) {
    v.add_bos = *add_bos;
    v.add_bos_given = true;
  }
  v.add_space_prefix = md.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  v.pre = md.get_string("tokenizer.ggml.pre").value_or("");
  return v;
}

}  // namespace tplm
