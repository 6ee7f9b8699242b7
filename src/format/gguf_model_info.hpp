#pragma once
// What GGUF metadata says about the model: the configuration (ARCH.* keys) and
// the vocabulary (tokenizer.ggml.* keys). See gguf_reader.cpp for the file layout.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/gguf_metadata.hpp"
#include "format/model_config.hpp"
#include "format/tensor_info.hpp"
#include "format/vocab_spec.hpp"

namespace tplm {

// Architectures whose GGUF files tplm reads (all the same math here).
inline constexpr const char* kGgufArchitectures[] = {"llama", "mistral", "qwen2"};

// Reads the configuration from the keys and the tensor list (vocab size from
// token_embd.weight, tied embeddings, q/k/v biases). Not yet validated.
ModelConfig gguf_config(const GgufMetadata& md, const std::vector<TensorInfo>& tensors,
                        const std::string& file);

// The vocabulary, or nullopt when the file has none or one tplm cannot use
// (why_none says which; it is appended to notes too). Throws when it is
// malformed or larger than the embedding (vocab_size rows).
std::optional<VocabSpec> gguf_vocab(const GgufMetadata& md, int64_t vocab_size,
                                    const std::string& file,
                                    std::vector<std::pair<std::string, std::string>>& notes,
                                    std::string& why_none);

}  // namespace tplm
