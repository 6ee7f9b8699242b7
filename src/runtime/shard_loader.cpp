#include "runtime/shard_loader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "backend/cpu/dequant.hpp"
#include "format/rope_layout.hpp"
#include "format/tensor_read.hpp"

namespace tplm {

LoadedShard::~LoadedShard() {
  for (void* p : buffers_) backend_.release(p);
}

void* LoadedShard::own(size_t bytes) {
  void* p = backend_.alloc(std::max<size_t>(bytes, 1));
  buffers_.push_back(p);
  return p;
}

namespace {

// Whether this tensor is a Q or K projection (weight or bias), whose rows follow the RoPE layout.
bool is_rope_rows(const std::string& name) {
  return name.find(".attn_q.") != std::string::npos || name.find(".attn_k.") != std::string::npos;
}

// A 1-D tensor's elements as float32 (norms and biases are used as float by every kernel).
std::vector<float> to_f32(const TensorInfo& t, const std::vector<uint8_t>& raw, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  WeightView w{t.dtype, 1, n, raw.data()};
  cpu::dequantize_row(w, 0, out.data());
  return out;
}

struct Loaded {
  const void* data = nullptr;
  WeightView view;
};

class Loader {
 public:
  Loader(const ModelFile& m, LoadedShard& shard) : model_(m), shard_(shard) {}

  Loaded load(const TensorSlice& s) {
    const TensorInfo& t = model_.at(s.name);
    std::vector<uint8_t> raw(TensorReader::block_bytes(t, s.rows, s.cols));
    reader_.read_block(t, s.rows, s.cols, raw.data());
    const bool vector = t.shape.size() == 1;
    if (is_rope_rows(t.name) && t.rope_layout == RopeLayout::RotateHalf) {
      const int64_t hd = model_.config.head_dim;
      const int64_t rows = vector ? s.cols.size() : s.rows.size();
      const uint64_t row_bytes =
          vector ? dtype_bytes(t.dtype, 1) : raw.size() / static_cast<size_t>(rows);
      rotate_half_to_interleaved(raw.data(), rows / hd, hd, row_bytes);
    }
    Loaded out;
    if (vector) {
      std::vector<float> f = to_f32(t, raw, s.cols.size());
      out.data = upload(f.data(), f.size() * sizeof(float));
      out.view = WeightView{DType::F32, 1, s.cols.size(), out.data};
    } else {
      out.data = upload(raw.data(), raw.size());
      out.view = WeightView{t.dtype, s.rows.size(), s.cols.size(), out.data};
    }
    shard_.bytes_read = reader_.bytes_read();
    return out;
  }

 private:
  const void* upload(const void* host, size_t bytes) {
    void* p = shard_.own(bytes);
    shard_.backend().upload(p, host, bytes);
    shard_.weight_bytes += bytes;
    return p;
  }

  const ModelFile& model_;
  LoadedShard& shard_;
  TensorReader reader_;
};

// Puts a loaded tensor where the forward pass expects it.
void bind_tensor(ShardWeights& w, const std::string& name, const Loaded& t) {
  auto vec = [&] { return static_cast<const float*>(t.data); };
  if (name == "token_embd.weight") {
    w.embedding = t.view;
    return;
  }
  if (name == "output_norm.weight") {
    w.output_norm = vec();
    return;
  }
  if (name == "output.weight") {
    w.lm_head = t.view;
    return;
  }
  int64_t layer = -1;
  int consumed = 0;
  if (std::sscanf(name.c_str(), "blk.%ld.%n", &layer, &consumed) != 1 || layer < 0 ||
      layer >= static_cast<int64_t>(w.layers.size()))
    return;  // a tensor the forward pass does not use
  LayerWeights& lw = w.layers[static_cast<size_t>(layer)];
  const std::string what = name.substr(static_cast<size_t>(consumed));
  if (what == "attn_norm.weight")
    lw.attn_norm = vec();
  else if (what == "attn_q.weight")
    lw.wq = t.view;
  else if (what == "attn_k.weight")
    lw.wk = t.view;
  else if (what == "attn_v.weight")
    lw.wv = t.view;
  else if (what == "attn_q.bias")
    lw.bq = vec();
  else if (what == "attn_k.bias")
    lw.bk = vec();
  else if (what == "attn_v.bias")
    lw.bv = vec();
  else if (what == "attn_output.weight")
    lw.wo = t.view;
  else if (what == "ffn_norm.weight")
    lw.ffn_norm = vec();
  else if (what == "ffn_gate.weight")
    lw.gate = t.view;
  else if (what == "ffn_up.weight")
    lw.up = t.view;
  else if (what == "ffn_down.weight")
    lw.down = t.view;
}

ShardShape shape_of(const Plan& plan, const RankPlan& rp) {
  ShardShape s;
  s.n_heads = rp.heads.size();
  s.n_kv_heads = rp.kv_heads.size();
  s.ffn = rp.ffn.size();
  s.vocab = rp.vocab.size();
  for (const RankPlan& r : plan.ranks)
    s.vocab_counts.push_back(static_cast<size_t>(r.vocab.size()));
  return s;
}

// With tied embeddings the LM head is the embedding table: the rank's vocab
// rows of it (the whole slice when the table is vocab-parallel).
void tie_lm_head(ShardWeights& w, const RankPlan& rp) {
  if (w.embedding_vocab_parallel) {
    w.lm_head = w.embedding;
    return;
  }
  const uint64_t row_bytes = dtype_bytes(w.embedding.dtype, w.embedding.cols);
  w.lm_head =
      WeightView{w.embedding.dtype, rp.vocab.size(), w.embedding.cols,
                 static_cast<const uint8_t*>(w.embedding.data) + rp.vocab.begin * row_bytes};
}

}  // namespace

std::unique_ptr<LoadedShard> load_shard(const ModelFile& model, const Plan& plan, int rank,
                                        Backend& backend, const LoadProgress& progress) {
  const RankPlan& rp = plan.ranks.at(static_cast<size_t>(rank));
  auto shard = std::make_unique<LoadedShard>(backend);
  shard->shape = shape_of(plan, rp);
  shard->weights.layers.resize(static_cast<size_t>(model.config.n_layers));
  Loader loader(model, *shard);
  uint64_t done = 0;
  for (const TensorSlice& s : rp.slices) {
    Loaded t = loader.load(s);
    if (s.name == "token_embd.weight") {
      shard->weights.embedding_vocab_parallel = s.kind == SplitKind::Vocab;
      shard->weights.embedding_row_begin = s.rows.begin;
    }
    bind_tensor(shard->weights, s.name, t);
    done += s.bytes;
    if (progress) progress(done, rp.weight_bytes);
  }
  if (shard->weights.lm_head.data == nullptr) tie_lm_head(shard->weights, rp);
  return shard;
}

}  // namespace tplm
