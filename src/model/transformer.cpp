#include "model/transformer.hpp"

#include <fmt/format.h>

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
  inv_freq_ = Buffer<float>(be_, inv.size());
  be_.upload(inv_freq_.data(), inv.data(), inv.size() * sizeof(float));
}

// Activations for T positions (scratch_bytes counts them); grown only when a
// longer call comes (prefill).
// Recorded steps hold the old pointers, so they are dropped.
void Transformer::ensure_scratch(int64_t T) {
  if (T <= capacity_) return;
  be_.drop_recordings();
  auto floats = [&](int64_t n) { return Buffer<float>(be_, static_cast<size_t>(n)); };
  const int64_t d = config_.dim, hd = config_.head_dim, vp = shape_.vocab_per_rank;
  x_ = floats(T * d);
  h_ = floats(T * d);
  o_ = floats(T * d);
  q_ = floats(T * shape_.n_heads * hd);
  k_ = floats(T * shape_.n_kv_heads * hd);
  v_ = floats(T * shape_.n_kv_heads * hd);
  att_ = floats(T * shape_.n_heads * hd);
  gate_ = floats(T * shape_.ffn);
  up_ = floats(T * shape_.ffn);
  logits_ = floats(T * vp);
  gathered_ = floats(comm_.world_size() > 1 ? T * comm_.world_size() * vp : 0);
  ids_ = Buffer<int32_t>(be_, static_cast<size_t>(T));
  pos_ = Buffer<int32_t>(be_, static_cast<size_t>(T));
  picked_ = floats(T * d);
  capacity_ = T;
}

uint64_t Transformer::scratch_bytes(const ModelConfig& c, const ShardShape& shape, int world,
                                    int64_t T) {
  const int64_t hd = c.head_dim, vp = shape.vocab_per_rank;
  const int64_t floats = T * (3 * c.dim + 2 * shape.n_heads * hd + 2 * shape.n_kv_heads * hd +
                              2 * shape.ffn + vp + (world > 1 ? world * vp : 0));
  return static_cast<uint64_t>(floats) * sizeof(float) +
         2 * static_cast<uint64_t>(T) * sizeof(int32_t);
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
  be_.upload(ids_.data(), ids.data(), ids.size_bytes());
  be_.upload(pos_.data(), positions.data(), positions.size() * sizeof(int32_t));
  segments_.assign(1, Segment{0, pos0, 0, T});

  const int64_t n = all_logits ? T : 1;
  const float* full = nullptr;
  // A decode step has the same pointers and sizes at every position (the
  // kernels read the position from pos_), so a backend may record it once.
  if (T == 1 && comm_.recordable()) {
    be_.run_recorded(1, [&] { decode_logits_ = queue_step(1, 1, {}); });
    full = decode_logits_;
  } else {
    full = queue_step(T, n, {});
  }
  return download_logits(full, n);
}

std::span<const float> Transformer::forward_rows(std::span<const BatchRow> rows) {
  check_rows(rows);
  const auto T = static_cast<int64_t>(rows.size());
  ensure_scratch(T);
  std::vector<int32_t> ids(rows.size()), positions(rows.size());
  std::vector<int64_t> picked;
  segments_.clear();
  for (int64_t t = 0; t < T; ++t) {
    const BatchRow& r = rows[static_cast<size_t>(t)];
    ids[static_cast<size_t>(t)] = r.token;
    positions[static_cast<size_t>(t)] = r.pos;
    if (r.logits != 0) picked.push_back(t);
    if (segments_.empty() || segments_.back().slot != r.slot)
      segments_.push_back(Segment{r.slot, r.pos, t, 0});
    ++segments_.back().n;
  }
  be_.upload(ids_.data(), ids.data(), ids.size() * sizeof(int32_t));
  be_.upload(pos_.data(), positions.data(), positions.size() * sizeof(int32_t));
  const auto n = static_cast<int64_t>(picked.size());
  // The wanted rows are the last ones (every decode batch): read them in place.
  const bool tail = n > 0 && picked.front() == T - n;
  const float* full = queue_step(T, n, tail ? std::span<const int64_t>{} : picked);
  const auto count = static_cast<size_t>(n * config_.vocab_size);
  if (rows_logits_.size() < count) rows_logits_.resize(count);
  fetch_logits(full, n, rows_logits_.data());
  return {rows_logits_.data(), count};
}

// Rows of one slot are consecutive at consecutive positions, inside the
// context, and a slot has one segment per step (its attention reads the
// cache rows the segment has just written).
void Transformer::check_rows(std::span<const BatchRow> rows) {
  if (rows.empty()) throw Error("forward_rows: a step needs at least one row");
  std::vector<bool> seen(static_cast<size_t>(cache_.slots()), false);
  for (size_t i = 0; i < rows.size(); ++i) {
    const BatchRow& r = rows[i];
    if (r.slot < 0 || r.slot >= cache_.slots())
      throw Error(fmt::format("forward_rows: row {} is in slot {}, but the KV cache has {} slots",
                              i, r.slot, cache_.slots()));
    if (r.pos < 0 || r.pos >= cache_.context())
      throw Error(fmt::format("forward_rows: row {} is at position {}, outside the context of {}",
                              i, r.pos, cache_.context()));
    const bool continues = i > 0 && rows[i - 1].slot == r.slot;
    if (continues && rows[i - 1].pos + 1 != r.pos)
      throw Error(
          fmt::format("forward_rows: rows {} and {} of slot {} are not at consecutive "
                      "positions ({}, {})",
                      i - 1, i, r.slot, rows[i - 1].pos, r.pos));
    if (!continues) {
      if (seen[static_cast<size_t>(r.slot)])
        throw Error(fmt::format("forward_rows: slot {} has two runs of rows in one step", r.slot));
      seen[static_cast<size_t>(r.slot)] = true;
    }
  }
}

// The gathered logits of n rows, on the host: [n, vocab].
std::vector<float> Transformer::download_logits(const float* full, int64_t n) {
  std::vector<float> logits(static_cast<size_t>(n * config_.vocab_size));
  fetch_logits(full, n, logits.data());
  return logits;
}

// host ([n, vocab]) = the gathered logits of n rows, once the step has run.
void Transformer::fetch_logits(const float* full, int64_t n, float* host) {
  comm_.settle();  // a dead peer ends here, within the timeout, not in a download
  download_logits(full, n, host);
  be_.synchronize();
}

// Position t's gathered row is world blocks of vp scores, block q holding
// rank q's vocabulary rows first and padding after them. When only the last
// rank is short (an even split) the real rows are contiguous: one copy a
// position; otherwise (uneven or --split) one copy a rank.
void Transformer::download_logits(const float* full, int64_t n, float* host) {
  const int64_t V = config_.vocab_size, vp = shape_.vocab_per_rank;
  const int64_t row = comm_.world_size() * vp;
  const std::vector<int64_t>& rows = shape_.vocab_of_rank;
  const bool contiguous = rows.size() <= 1 || std::all_of(rows.begin(), rows.end() - 1,
                                                          [&](int64_t r) { return r == vp; });
  for (int64_t t = 0; t < n; ++t) {
    if (contiguous) {
      be_.download(host + t * V, full + t * row, static_cast<size_t>(V) * sizeof(float));
      continue;
    }
    int64_t begin = 0;
    for (size_t q = 0; q < rows.size(); ++q) {
      be_.download(host + t * V + begin, full + t * row + static_cast<int64_t>(q) * vp,
                   static_cast<size_t>(rows[q]) * sizeof(float));
      begin += rows[q];
    }
  }
}

const float* Transformer::queue_step(int64_t T, int64_t n_logits, std::span<const int64_t> picked) {
  // Embedding: a vocab-parallel table gives zeros for other ranks' ids; the sum restores the row.
  be_.embed(w_.embedding, w_.embedding_row_begin, ids_.data(), T, x_.data());
  if (w_.embedding_vocab_parallel)
    reduce_from_tensor_parallel(comm_, x_.data(), static_cast<size_t>(T * config_.dim));
  for (int64_t l = 0; l < config_.n_layers; ++l) {
    attention_block(l, T);
    ffn_block(l, T);
  }
  const int64_t d = config_.dim;
  if (n_logits == 0) return nullptr;  // a prefill chunk that does not end its prompt
  if (picked.empty()) return lm_head(x_.data() + (T - n_logits) * d, n_logits);
  const size_t row_bytes = static_cast<size_t>(d) * sizeof(float);
  for (size_t i = 0; i < picked.size(); ++i)
    be_.copy(picked_.data() + static_cast<int64_t>(i) * d, x_.data() + picked[i] * d, row_bytes);
  return lm_head(picked_.data(), n_logits);
}

void Transformer::attention_block(int64_t layer, int64_t T) {
  const LayerWeights& lw = w_.layers[static_cast<size_t>(layer)];
  const int64_t d = config_.dim, hd = config_.head_dim;
  const Projection qkv[] = {
      {&lw.wq, lw.bq, q_.data()}, {&lw.wk, lw.bk, k_.data()}, {&lw.wv, lw.bv, v_.data()}};
  be_.norm_matmuls(x_.data(), lw.attn_norm, T, d, config_.rms_eps, h_.data(), qkv);
  // Each sequence attends to its own slot: its K and V go into the slot's
  // rows pos0 .. pos0 + n - 1, then its queries read the slot's rows 0 .. pos.
  const int64_t qw = shape_.n_heads * hd, kw = shape_.n_kv_heads * hd;
  attention_segments_.clear();
  for (const Segment& g : segments_) {
    const AttentionShape s{g.n,
                           g.pos0,
                           shape_.n_heads,
                           shape_.n_kv_heads,
                           hd,
                           pos_.data() + g.row0,
                           cache_.context(),
                           cache_.type()};
    attention_segments_.push_back({q_.data() + g.row0 * qw, k_.data() + g.row0 * kw,
                                   v_.data() + g.row0 * kw, s, cache_.k(layer, g.slot),
                                   cache_.v(layer, g.slot), att_.data() + g.row0 * qw});
  }
  be_.attend_segments(attention_segments_, config_.rope_dim, inv_freq_.data());
  // Row-parallel O: each rank's heads give a partial sum of the output (exchange 1).
  add_row_parallel(att_.data(), T, lw.wo);
}

void Transformer::ffn_block(int64_t layer, int64_t T) {
  const LayerWeights& lw = w_.layers[static_cast<size_t>(layer)];
  be_.norm_swiglu(x_.data(), lw.ffn_norm, T, config_.dim, config_.rms_eps, h_.data(), lw.gate,
                  lw.up, up_.data(), gate_.data());
  // Row-parallel down: partial sums over this rank's FFN columns (exchange 2).
  add_row_parallel(gate_.data(), T, lw.down);
}

// x += sum over ranks of a_r W_r^T. At tp = 1 there is nothing to sum, so the
// product goes straight into x (one pass); otherwise the partial sums meet
// in o first.
void Transformer::add_row_parallel(const float* a, int64_t T, const WeightView& w) {
  const int64_t d = config_.dim;
  if (comm_.world_size() == 1) {
    be_.matmul_add(a, T, w, x_.data());
    return;
  }
  be_.matmul(a, T, w, nullptr, o_.data());
  reduce_from_tensor_parallel(comm_, o_.data(), static_cast<size_t>(T * d));
  be_.add(x_.data(), o_.data(), T * d);
}

// Vocab-parallel LM head: rank r scores its vocabulary rows (vocab_of_rank[r] of them)
// into its [n, vp] block (a short slice leaves its padding unwritten); the
// gather of one position's blocks is every rank's rows in vocabulary order,
// each block's padding after them, never read (download_logits).
const float* Transformer::lm_head(const float* rows, int64_t n) {
  const int64_t d = config_.dim, vp = shape_.vocab_per_rank;
  const int64_t row = comm_.world_size() * vp;  // one position's gathered logits
  be_.rmsnorm(rows, w_.output_norm, n, d, config_.rms_eps, h_.data());
  if (w_.lm_head.rows == vp) {
    be_.matmul(h_.data(), n, w_.lm_head, nullptr, logits_.data());
  } else {
    for (int64_t t = 0; t < n; ++t)
      be_.matmul(h_.data() + t * d, 1, w_.lm_head, nullptr, logits_.data() + t * vp);
  }
  const float* full = nullptr;
  for (int64_t t = 0; t < n; ++t) {
    const float* f = gather_from_tensor_parallel(
        comm_, logits_.data() + t * vp, static_cast<size_t>(vp), gathered_.data() + t * row);
    if (t == 0) full = f;
  }
  return full;
}

}  // namespace tplm
