#pragma once
// What a reader returns: the configuration, every tensor's location, and the
// vocabulary when the file carries one. No weights are read.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/model_config.hpp"
#include "format/tensor_info.hpp"
#include "format/vocab_spec.hpp"

namespace tplm {

enum class FileFormat : uint8_t { Gguf, HuggingFace, Llama2c };
std::string_view file_format_name(FileFormat f);

struct ModelFile {
  FileFormat format = FileFormat::Gguf;
  std::string path;  // the file or folder given by the user
  ModelConfig config;
  std::vector<TensorInfo> tensors;
  std::optional<VocabSpec> vocab;  // GGUF carries one; others keep it in a separate file
  std::string no_vocab_reason;     // why a GGUF's vocabulary was not read (a tokenizer tplm lacks)
  std::string tokenizer_path;      // a tokenizer file found beside the model (HF folder), or ""
  // The model's chat template (Jinja source): GGUF tokenizer.chat_template, or
  // an HF folder's chat_template.jinja / tokenizer_config.json "chat_template"
  // (its "default" one when it lists several); "" when the model has none.
  std::string chat_template;
  // Other metadata as printable key/value pairs, for `tplm inspect`.
  std::vector<std::pair<std::string, std::string>> metadata;

  const TensorInfo* find(std::string_view name) const;
  const TensorInfo& at(
      std::string_view name) const;  // throws FormatError naming the missing tensor
  uint64_t total_weight_bytes() const;
};

// Checks that every tensor the configuration needs is present with the right
// shape and no extra dimensions, and that every byte range lies in its file
// (file_sizes: path -> size). Throws FormatError naming the tensor.
void check_tensors(const ModelFile& m);

// Opens a model by looking at it: a folder is Hugging Face, a file starting
// with "GGUF" is GGUF, otherwise a llama2.c checkpoint.
ModelFile open_model(const std::filesystem::path& path);

// Opens a model for its tokenizer alone: a GGUF file's vocabulary without its
// configuration or tensor checks (a vocabulary-only file such as llama.cpp's
// models/ggml-vocab-*.gguf, or an architecture tplm does not run: config holds
// only architecture and vocab_size); any other model as open_model does.
ModelFile open_model_for_tokenizer(const std::filesystem::path& path);

ModelFile read_gguf(const std::filesystem::path& file);
ModelFile read_gguf_vocab_only(const std::filesystem::path& file);
ModelFile read_hf_folder(const std::filesystem::path& folder);
ModelFile read_llama2c(const std::filesystem::path& file);

}  // namespace tplm
