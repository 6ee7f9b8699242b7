#include "model/transformer.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "model/rope_freqs.hpp"
#include "parallel/mappings.hpp"

namespace tplm {

Transformer::Transformer(const ModelConfig& config, const ShardShape& shape,
                         const ShardWeights& weights, Backend& backend, Communicator& comm,
                         KvCache& cache)
    : config_(config), shape_(shape), w_(weights), be_(backend), comm_(comm), cache_(cache) {
  std::vector<float> inv = rope_inv_freq(config_);
  inv_freq_ = static_cast<float*>(be_.alloc(std::max<size_t>(1, inv.size()) * sizeof(float)));
  be_.upload(inv_freq_, inv.data(), inv.size() * sizeof(float));
}

Transformer::~Transformer() {
  for (void* p : buffers_) be_.release(p);
  be_.release(inv_freq_);
}

// Activations for T positions; grown only when a longer call comes (prefill).
void Transformer::ensure_scratch(int64_t T) {
  if (T <= capacity_) return;
  for (void* p : buffers_) be_.release(p);
  buffers_.clear();
  auto floats = [&](int64_t n) {
    void* p = be_.alloc(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float));
    buffers_.push_back(p);
    return static_cast<float*>(p);
  };
  const int64_t d = config_.dim, hd = config_.head_dim;
  x_ = floats(T * d);
  h_ = floats(T * d);
  o_ = floats(T * d);
  q_ = floats(T * shape_.n_heads * hd);
  att_ = floats(T * shape_.n_heads * hd);
  gate_ = floats(T * shape_.ffn);
  up_ = floats(T * shape_.ffn);
  logits_ = floats(T * shape_.vocab);
  ids_ = reinterpret_cast<int32_t*>(floats(T));
  pos_ = reinterpret_cast<int32_t*>(floats(T));
  capacity_ = T;
}

std::vector<float> Transformer::forward(std::span<const int32_t> ids, int64_t pos0,
                                        bool all_logits) {
  const auto T = static_cast<int64_t>(ids.size());
  if (T < 1 || pos0 < 0 || pos0 + T > cache_.context())
    throw Error("forward: positions " + std::to_string(pos0) + ".." + std::to_string(pos0 + T) +
                " do not fit the context of " + std::to_string(cache_.context()));
  ensure_scratch(T);
  std::vector<int32_t> positions(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)
    positions[static_cast<size_t>(t)] = static_cast<int32_t>(pos0 + t);
  be_.upload(ids_, ids.data(), ids.size_bytes());
  be_.upload(pos_, positions.data(), positions.size() * sizeof(int32_t));

  // Embedding: a vocab-parallel table gives zeros for other ranks' ids; the sum restores the row.
  be_.embed(w_.embedding, w_.embedding_row_begin, ids_, T, x_);
  if (w_.embedding_vocab_parallel)
    reduce_from_tensor_parallel(comm_, x_, static_cast<size_t>(T * config_.dim));

  for (int64_t l = 0; l < config_.n_layers; ++l) {
    attention_block(l, T, pos0);
    ffn_block(l, T);
  }
  return lm_head(T, all_logits);
}

void Transformer::attention_block(int64_t layer, int64_t T, int64_t pos0) {
  const LayerWeights& lw = w_.layers[static_cast<size_t>(layer)];
  const int64_t d = config_.dim, hd = config_.head_dim;
  be_.rmsnorm(x_, lw.attn_norm, T, d, config_.rms_eps, h_);
  // K and V go straight into this rank's cache rows pos0 .. pos0 + T - 1.
  float* k = cache_.k(layer) + pos0 * cache_.row_floats();
  float* v = cache_.v(layer) + pos0 * cache_.row_floats();
  be_.matmul(h_, T, lw.wq, lw.bq, q_);
  be_.matmul(h_, T, lw.wk, lw.bk, k);
  be_.matmul(h_, T, lw.wv, lw.bv, v);
  be_.rope(q_, T, shape_.n_heads, hd, config_.rope_dim, inv_freq_, pos_);
  be_.rope(k, T, shape_.n_kv_heads, hd, config_.rope_dim, inv_freq_, pos_);
  AttentionShape s{T, pos0, shape_.n_heads, shape_.n_kv_heads, hd};
  be_.attention(q_, cache_.k(layer), cache_.v(layer), s, att_);
  // Row-parallel O: each rank's heads give a partial sum of the output (exchange 1).
  be_.matmul(att_, T, lw.wo, nullptr, o_);
  reduce_from_tensor_parallel(comm_, o_, static_cast<size_t>(T * d));
  be_.add(x_, o_, T * d);
}

void Transformer::ffn_block(int64_t layer, int64_t T) {
  const LayerWeights& lw = w_.layers[static_cast<size_t>(layer)];
  const int64_t d = config_.dim;
  be_.rmsnorm(x_, lw.ffn_norm, T, d, config_.rms_eps, h_);
  be_.matmul(h_, T, lw.gate, nullptr, gate_);
  be_.matmul(h_, T, lw.up, nullptr, up_);
  be_.swiglu(gate_, up_, T * shape_.ffn, gate_);
  // Row-parallel down: partial sums over this rank's FFN columns (exchange 2).
  be_.matmul(gate_, T, lw.down, nullptr, o_);
  reduce_from_tensor_parallel(comm_, o_, static_cast<size_t>(T * d));
  be_.add(x_, o_, T * d);
}

// Vocab-parallel LM head: each rank scores its vocabulary rows; the gather
// concatenates them in rank order (rank-major over positions), then the rows
// are put back in [position, vocab] order.
std::vector<float> Transformer::lm_head(int64_t T, bool all_logits) {
  const int64_t d = config_.dim, V = config_.vocab_size;
  const int64_t n = all_logits ? T : 1;
  const float* last = x_ + (T - n) * d;
  be_.rmsnorm(last, w_.output_norm, n, d, config_.rms_eps, h_);
  be_.matmul(h_, n, w_.lm_head, nullptr, logits_);
  std::vector<float> local(static_cast<size_t>(n * shape_.vocab));
  be_.download(local.data(), logits_, local.size() * sizeof(float));
  be_.synchronize();

  std::vector<size_t> counts(shape_.vocab_counts);
  for (size_t& c : counts) c *= static_cast<size_t>(n);
  std::vector<float> gathered(static_cast<size_t>(n * V));
  gather_from_tensor_parallel(comm_, local.data(), counts, gathered.data());
  if (counts.size() == 1) return gathered;

  std::vector<float> logits(gathered.size());
  size_t src = 0;
  int64_t col = 0;
  for (size_t c : shape_.vocab_counts) {
    const auto vr = static_cast<int64_t>(c);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = 0; j < vr; ++j)
        logits[static_cast<size_t>(t * V + col + j)] = gathered[src++];
    col += vr;
  }
  return logits;
}

}  // namespace tplm
