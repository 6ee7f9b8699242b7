#include "runtime/shard_loader.hpp"

#include <fmt/format.h>

#include <memory>

#include "format/dtype_convert.hpp"
#include "format/rope_layout.hpp"
#include "format/tensor_read.hpp"

namespace tplm {

namespace {

struct Loaded {
  const float* vec = nullptr;  // 1-D tensors, as float32
  WeightView view;             // 2-D tensors, in their file dtype
};

// Where the forward pass finds each kind of layer tensor: a weight in its
// dtype, or a float32 vector (norms, biases).
struct LayerBinding {
  TensorKind kind;
  WeightView LayerWeights::*view;
  const float* LayerWeights::*vec;
};
constexpr LayerBinding kLayerBindings[] = {
    {TensorKind::AttnNorm, nullptr, &LayerWeights::attn_norm},
    {TensorKind::Q, &LayerWeights::wq, nullptr},
    {TensorKind::K, &LayerWeights::wk, nullptr},
    {TensorKind::V, &LayerWeights::wv, nullptr},
    {TensorKind::QBias, nullptr, &LayerWeights::bq},
    {TensorKind::KBias, nullptr, &LayerWeights::bk},
    {TensorKind::VBias, nullptr, &LayerWeights::bv},
    {TensorKind::O, &LayerWeights::wo, nullptr},
    {TensorKind::FfnNorm, nullptr, &LayerWeights::ffn_norm},
    {TensorKind::Gate, &LayerWeights::gate, nullptr},
    {TensorKind::Up, &LayerWeights::up, nullptr},
    {TensorKind::Down, &LayerWeights::down, nullptr},
};

class Loader {
 public:
  Loader(const ModelFile& m, LoadedShard& shard, Backend& backend)
      : model_(m), shard_(shard), backend_(backend) {}

  Loaded load(const TensorSlice& s) {
    const TensorInfo& t = model_.at(s.name);
    std::vector<uint8_t> raw(TensorReader::block_bytes(t, s.rows, s.cols));
    reader_.read_block(t, s.rows, s.cols, raw.data());
    const bool vector = t.shape.size() == 1;
    if (t.rope_layout == RopeLayout::RotateHalf && s.id.kind != TensorKind::Unknown &&
        tensor_spec(s.id.kind).rope_rows) {
      const int64_t hd = model_.config.head_dim;
      const int64_t rows = vector ? s.cols.size() : s.rows.size();
      const uint64_t row_bytes =
          vector ? dtype_bytes(t.dtype, 1) : raw.size() / static_cast<size_t>(rows);
      rotate_half_to_interleaved(raw.data(), rows / hd, hd, row_bytes);
    }
    Loaded out;
    if (vector) {
      std::vector<float> f(static_cast<size_t>(s.cols.size()));
      dequantize(t.dtype, raw.data(), s.cols.size(), f.data());
      out.vec = static_cast<const float*>(upload(f.data(), f.size() * sizeof(float)));
      out.view = WeightView{DType::F32, 1, s.cols.size(), out.vec};
    } else {
      const WeightView host{t.dtype, s.rows.size(), s.cols.size(), raw.data()};
      out.view = host;
      if (s.id.kind == TensorKind::Embedding) {  // embed reads it by rows, as in the file
        out.view.data = upload(raw.data(), raw.size());
      } else {
        void* p = own(raw.size());
        out.view.layout = backend_.upload_matrix(p, host);
        out.view.data = p;
      }
    }
    shard_.bytes_read = reader_.bytes_read();
    return out;
  }

 private:
  void* own(size_t bytes) {
    void* p = shard_.own(backend_, bytes);
    shard_.weight_bytes += bytes;
    return p;
  }
  const void* upload(const void* host, size_t bytes) {
    void* p = own(bytes);
    backend_.upload(p, host, bytes);
    return p;
  }

  const ModelFile& model_;
  LoadedShard& shard_;
  Backend& backend_;
  TensorReader reader_;
};

// Puts a loaded tensor where the forward pass expects it (tensors outside the
// contract are not used).
void bind_tensor(ShardWeights& w, TensorId id, const Loaded& t) {
  switch (id.kind) {
    case TensorKind::Embedding:
      w.embedding = t.view;
      return;
    case TensorKind::OutputNorm:
      w.output_norm = t.vec;
      return;
    case TensorKind::LmHead:
      w.lm_head = t.view;
      return;
    default:
      break;
  }
  if (id.layer < 0 || id.layer >= static_cast<int64_t>(w.layers.size())) return;
  LayerWeights& lw = w.layers[static_cast<size_t>(id.layer)];
  for (const LayerBinding& b : kLayerBindings) {
    if (b.kind != id.kind) continue;
    if (b.view) lw.*b.view = t.view;
    if (b.vec) lw.*b.vec = t.vec;
  }
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

ShardShape shard_shape(const Plan& plan, int rank) {
  const RankPlan& rp = plan.ranks.at(static_cast<size_t>(rank));
  ShardShape s;
  s.n_heads = rp.heads.size();
  s.n_kv_heads = rp.kv_heads.size();
  s.ffn = rp.ffn.size();
  s.vocab = rp.vocab.size();
  s.vocab_per_rank = plan.vocab_per_rank;
  for (const RankPlan& q : plan.ranks) s.vocab_of_rank.push_back(q.vocab.size());
  return s;
}

std::unique_ptr<LoadedShard> load_shard(const ModelFile& model, const Plan& plan, int rank,
                                        Backend& backend, const LoadProgress& progress) {
  const RankPlan& rp = plan.ranks.at(static_cast<size_t>(rank));
  auto shard = std::make_unique<LoadedShard>();
  shard->shape = shard_shape(plan, rank);
  shard->weights.layers.resize(static_cast<size_t>(model.config.n_layers));
  Loader loader(model, *shard, backend);
  uint64_t done = 0;
  for (const TensorSlice& s : rp.slices) {
    Loaded t = loader.load(s);
    if (s.id.kind == TensorKind::Embedding) {
      shard->weights.embedding_vocab_parallel = s.kind == SplitKind::Vocab;
      shard->weights.embedding_row_begin = s.rows.begin;
    }
    bind_tensor(shard->weights, s.id, t);
    done += s.bytes;
    if (progress) progress(done, rp.weight_bytes);
  }
  if (shard->weights.lm_head.data == nullptr) tie_lm_head(shard->weights, rp);
  return shard;
}

}  // namespace tplm
