#pragma once
// The Llama forward pass of one rank, written once for every tp: it computes
// this rank's heads and FFN columns and exchanges partial sums through the
// Megatron mappings (no-ops at tp = 1). Per layer (x replicated, [T, d]):
//   h = rmsnorm(x);  q,k,v = h Wq_r (+b), h Wk_r, h Wv_r;  rope(q, k);  k,v -> cache
//   x += allreduce(attention(q, cache) Wo_r)
//   h = rmsnorm(x);  x += allreduce((silu(h Wg_r) * h Wu_r) Wd_r)
// then logits = gather(rmsnorm(x) Wlm_r).
#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.hpp"
#include "format/model_config.hpp"
#include "model/batch_rows.hpp"
#include "model/kv_cache.hpp"
#include "model/layer_weights.hpp"
#include "parallel/communicator.hpp"

namespace tplm {

class Transformer {
 public:
  // Every reference must outlive the Transformer.
  Transformer(const ModelConfig& config, const ShardShape& shape, const ShardWeights& weights,
              Backend& backend, Communicator& comm, KvCache& cache);

  // Feeds ids at positions pos0 .. pos0 + T - 1 (T = ids.size() >= 1) and
  // returns the full logits on the host: [T, vocab] when all_logits, else the
  // last position's [vocab]. Every rank must call it with the same arguments.
  std::vector<float> forward(std::span<const int32_t> ids, int64_t pos0, bool all_logits);

  // Bytes of the activations a rank holds for calls of up to T positions
  // (what ensure_scratch allocates), for the capacity check before loading.
  static uint64_t scratch_bytes(const ModelConfig& c, const ShardShape& shape, int world,
                                int64_t T);

  // A batched step over many sequences (KV cache slots): every row is one
  // token of its slot's sequence; the rows of a slot are consecutive, at
  // consecutive positions, and attend to that slot's cache only. Returns the
  // logits of the rows that ask for them, in row order: [n, vocab]. Each
  // sequence gets what forward() would give it alone. Every rank must call
  // it with the same rows. The logits stay valid until the next step (one
  // host buffer for every step: no allocation or zero-filling per step).
  std::span<const float> forward_rows(std::span<const BatchRow> rows);

  const ModelConfig& config() const { return config_; }
  int64_t context() const { return cache_.context(); }  // positions the KV cache holds
  int64_t slots() const { return cache_.slots(); }      // sequences the KV cache holds

 private:
  void ensure_scratch(int64_t T);
  // The kernels of one step, after ids and positions are in backend memory;
  // returns where the gathered logits of its n positions are.
  // Rows [row0, row0 + n) of a step: one sequence's positions pos0 .. pos0 + n - 1.
  struct Segment {
    int64_t slot = 0, pos0 = 0, row0 = 0, n = 0;
  };
  // The kernels of one step over segments_ (ids and positions already in
  // backend memory); returns where the gathered logits are: of the rows in
  // picked, or of the last n_logits rows when picked is empty.
  const float* queue_step(int64_t T, int64_t n_logits, std::span<const int64_t> picked);
  void attention_block(int64_t layer, int64_t T);
  void ffn_block(int64_t layer, int64_t T);
  void add_row_parallel(const float* a, int64_t T, const WeightView& w);
  const float* lm_head(const float* rows, int64_t n);
  std::vector<float> download_logits(const float* full, int64_t n);
  void fetch_logits(const float* full, int64_t n, float* host);
  void download_logits(const float* full, int64_t n, float* host);
  void check_rows(std::span<const BatchRow> rows);

  const ModelConfig& config_;
  const ShardShape& shape_;
  const ShardWeights& w_;
  Backend& be_;
  Communicator& comm_;
  KvCache& cache_;
  Buffer<float> inv_freq_;  // backend copy of rope_inv_freq(config)
  int64_t capacity_ = 0;    // positions the scratch buffers hold
  // Activations of up to capacity_ positions, in backend memory.
  Buffer<float> x_, h_, q_, k_, v_, att_, o_, gate_, up_;
  Buffer<float> logits_;    // [positions, vocab_per_rank]: this rank's LM head rows
  Buffer<float> gathered_;  // [positions, world * vocab_per_rank]: every rank's, in order
  Buffer<int32_t> ids_, pos_;
  std::vector<float> rows_logits_;  // forward_rows's logits on the host
  Buffer<float> picked_;            // [positions, dim]: the rows a batched step wants logits of
  std::vector<Segment> segments_;   // the step's sequences
  std::vector<AttentionSegment> attention_segments_;  // attention_block's, reused
  const float* decode_logits_ = nullptr;  // where a recorded decode step leaves its logits
};

}  // namespace tplm
