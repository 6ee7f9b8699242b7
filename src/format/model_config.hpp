#pragma once
// The architecture of one Llama-family model, as read from its file. Every
// reader fills this; nothing downstream knows which format it came from.
#include <cstdint>
#include <string>

namespace tplm {

struct RopeScaling {
  enum class Kind { None, Linear, Llama3 };
  Kind kind = Kind::None;
  float factor = 1.0f;              // Linear and Llama3
  float low_freq_factor = 1.0f;     // Llama3
  float high_freq_factor = 4.0f;    // Llama3
  int64_t original_context = 8192;  // Llama3: original_max_position_embeddings
};

struct ModelConfig {
  std::string architecture = "llama";  // llama, mistral, qwen2 (all the same math here)
  int64_t dim = 0;                     // embedding width d
  int64_t ffn_dim = 0;                 // SwiGLU hidden width f
  int64_t n_layers = 0;
  int64_t n_heads = 0;     // query heads
  int64_t n_kv_heads = 0;  // key/value heads (GQA when < n_heads)
  int64_t head_dim = 0;    // usually dim / n_heads
  int64_t vocab_size = 0;
  int64_t context_length = 0;  // maximum positions
  int64_t rope_dim = 0;        // dimensions rotated per head (== head_dim for Llama)
  float rope_theta = 10000.0f;
  float rms_eps = 1e-5f;
  RopeScaling rope_scaling;
  bool tied_embeddings = false;  // LM head shares token_embd.weight
  bool qkv_bias = false;         // Qwen2: q/k/v projections have biases
  // Generation ends when the model produces BOS: llama2.c's runner stops
  // there (a "stories" model starts the next story with BOS).
  bool stop_at_bos = false;

  // Throws FormatError(file, ...) naming the first impossible value
  // (zero or negative sizes, n_heads not a multiple of n_kv_heads, ...).
  void validate(const std::string& file) const;
};

}  // namespace tplm
