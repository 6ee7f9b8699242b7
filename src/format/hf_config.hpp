#pragma once
// config.json of a Hugging Face Llama-family folder -> ModelConfig.
#include <string>
#include <utility>
#include <vector>

#include "format/model_config.hpp"

namespace tplm {

struct HfConfig {
  ModelConfig config;
  bool tie_word_embeddings_given = false;  // the key was present (else: decide by lm_head.weight)
  std::vector<std::pair<std::string, std::string>> metadata;  // every top-level key, printable
};

// Throws FormatError naming config.json and the key for a missing key, a wrong
// JSON type, an unsupported architecture or rope_scaling; invalid JSON names
// the parser's byte position.
HfConfig read_hf_config(const std::string& config_json_path);

}  // namespace tplm
