#pragma once
// One rank's shard of the model as the forward pass sees it: views into the
// backend's memory, already sliced by the plan. Norm weights and biases are
// float32; linear weights stay in their file dtype.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"

namespace tplm {

struct LayerWeights {
  const float* attn_norm = nullptr;  // [dim], replicated
  WeightView wq, wk, wv;             // column-parallel: this rank's heads' rows
  const float* bq = nullptr;         // this rank's rows of the biases (nullptr: none)
  const float* bk = nullptr;
  const float* bv = nullptr;
  WeightView wo;                    // row-parallel: this rank's heads' columns
  const float* ffn_norm = nullptr;  // [dim], replicated
  WeightView gate, up;              // column-parallel: this rank's FFN rows
  WeightView down;                  // row-parallel: this rank's FFN columns
};

struct ShardWeights {
  WeightView embedding;  // vocab rows [embedding_row_begin, + rows) (all rows when replicated)
  int64_t embedding_row_begin = 0;
  bool embedding_vocab_parallel =
      false;  // true: lookups of other ranks' rows are zeros, then all-reduce
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;
  WeightView lm_head;  // vocab-parallel: this rank's vocabulary rows
};

// The rank's share of the model's dimensions.
struct ShardShape {
  int64_t n_heads = 0;         // local query heads
  int64_t n_kv_heads = 0;      // local kv heads
  int64_t ffn = 0;             // local FFN width
  int64_t vocab = 0;           // local vocabulary rows of the LM head
  int64_t vocab_per_rank = 0;  // rows every rank sends in the logits gather (>= vocab)
  // Every rank's vocabulary rows, in rank order: rank q's rows follow rank
  // q - 1's in the vocabulary, and its block of the gather begins with them.
  std::vector<int64_t> vocab_of_rank;
};

}  // namespace tplm
