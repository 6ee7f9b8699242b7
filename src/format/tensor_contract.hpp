#pragma once
// The tensor contract: every tensor tplm knows, declared once. Each kind has
// its canonical (GGUF) name, the shape the configuration gives it, when a
// model has it, and its role in the split. Readers turn a name into a
// TensorId once; the plan switches on the role; the shard loader binds by kind.
// Adding an architecture's tensor is one line in kContract (tensor_contract.cpp)
// plus where the forward pass uses it.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/model_config.hpp"

namespace tplm {

enum class TensorKind : uint8_t {
  Embedding,   // token_embd.weight         [vocab, dim]
  OutputNorm,  // output_norm.weight        [dim]
  LmHead,      // output.weight             [vocab, dim] (absent when tied)
  AttnNorm,    // blk.N.attn_norm.weight    [dim]
  Q,           // blk.N.attn_q.weight       [heads * head_dim, dim]
  K,           // blk.N.attn_k.weight       [kv_heads * head_dim, dim]
  V,           // blk.N.attn_v.weight       [kv_heads * head_dim, dim]
  QBias,       // blk.N.attn_q.bias         [heads * head_dim] (Qwen2)
  KBias,       // blk.N.attn_k.bias         [kv_heads * head_dim]
  VBias,       // blk.N.attn_v.bias         [kv_heads * head_dim]
  O,           // blk.N.attn_output.weight  [dim, heads * head_dim]
  FfnNorm,     // blk.N.ffn_norm.weight     [dim]
  Gate,        // blk.N.ffn_gate.weight     [ffn, dim]
  Up,          // blk.N.ffn_up.weight       [ffn, dim]
  Down,        // blk.N.ffn_down.weight     [dim, ffn]
  Unknown,     // anything else: carried, never used
};

// What a tensor is to the split (Megatron's meaning: the column is the output feature).
enum class SplitRole : uint8_t {
  Replicated,  // every rank holds it whole (norms)
  QHeads,      // column-parallel by query heads (Q and its bias)
  KvHeads,     // column-parallel by kv heads (K, V and their biases)
  OutHeads,    // row-parallel by query heads (O)
  FfnRows,     // column-parallel by FFN columns (gate, up)
  FfnCols,     // row-parallel by FFN columns (down)
  Vocab,       // vocab-parallel (LM head)
  Embedding,   // vocab-parallel or replicated, as the plan decides
};

// When a model carries the tensor.
enum class Presence : uint8_t { Always, Untied, QkvBias };

struct TensorSpec {
  TensorKind kind;
  std::string_view suffix;  // the canonical name, after "blk.N." for per-layer tensors
  bool per_layer;
  SplitRole role;
  Presence presence;
  bool rope_rows;  // Q/K weights and biases: rows follow the RoPE layout
  std::vector<int64_t> (*shape)(const ModelConfig&);
};

struct TensorId {
  TensorKind kind = TensorKind::Unknown;
  int64_t layer = -1;  // -1 for tensors outside the layers
  bool operator==(const TensorId&) const = default;
};

std::span<const TensorSpec> tensor_contract();
const TensorSpec& tensor_spec(TensorKind kind);  // kind != Unknown
// {kind, layer} of a canonical name; kind Unknown when the contract has no such tensor.
TensorId parse_tensor_name(std::string_view canonical);
std::string tensor_name(TensorId id);

struct ExpectedTensor {
  TensorId id;
  std::string name;
  std::vector<int64_t> shape;
};
// Every tensor the configuration needs, with its shape, in contract order per layer.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c);

}  // namespace tplm
