// llama2.c checkpoints (karpathy/llama2.c).
//
// Legacy v0 ("run.c" format): seven int32 header fields
//   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
// then float32 weights, each kind stacked over layers:
//   token_embedding [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim],
//   wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim],
//   w2 [L, dim, hidden], w3 [L, hidden, dim], rms_final [dim],
//   freq_cis_real [seq_len, head_size/2], freq_cis_imag [same]   (unused: RoPE is computed)
//   wcls [vocab, dim] only when vocab_size < 0 (the sign says "classifier not shared").
// Version 1 ("ak42" magic, version 1, fp32): a 256-byte header with the same seven
// fields, a shared-classifier byte, and no freq_cis tables.
// w1 is the SwiGLU gate, w3 the up projection, w2 the down projection. Q/K rows
// are in the interleaved RoPE layout.
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "format/mapped_file.hpp"
#include "format/model_file.hpp"

namespace tplm {

namespace {

constexpr uint32_t kLlama2cMagic = 0x616b3432;  // "ak42"

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

void check_header(const Header& h, const std::string& file) {
  auto bad = [&](const char* field, int32_t v, const char* why) {
    throw FormatError(file, fmt::format("not a llama2.c checkpoint: header field {} = {} ({}); "
                                        "is this the right file?",
                                        field, v, why));
  };
  const int32_t kMax = 1 << 24;
  if (h.dim <= 0 || h.dim > kMax) bad("dim", h.dim, "out of range");
  if (h.hidden_dim <= 0 || h.hidden_dim > kMax) bad("hidden_dim", h.hidden_dim, "out of range");
  if (h.n_layers <= 0 || h.n_layers > 4096) bad("n_layers", h.n_layers, "out of range");
  if (h.n_heads <= 0 || h.n_heads > h.dim) bad("n_heads", h.n_heads, "out of range");
  if (h.dim % h.n_heads != 0) bad("n_heads", h.n_heads, "does not divide dim");
  if (h.n_kv_heads <= 0 || h.n_kv_heads > h.n_heads)
    bad("n_kv_heads", h.n_kv_heads, "out of range");
  if (h.vocab_size == 0 || h.vocab_size > kMax || h.vocab_size < -kMax)
    bad("vocab_size", h.vocab_size, "out of range");
  if (h.seq_len <= 0 || h.seq_len > kMax) bad("seq_len", h.seq_len, "out of range");
}

}  // namespace

ModelFile read_llama2c(const std::filesystem::path& path) {
  const std::string file = path.string();
  MappedFile mf(file);
  Cursor cur(mf);
  Header h{};
  bool shared = true;
  uint64_t data_start = 0;
  bool has_freq_cis = true;
  if (mf.size() >= 4 && cur.read<uint32_t>("magic") == kLlama2cMagic) {
    int32_t version = cur.read<int32_t>("version");
    if (version != 1)
      throw FormatError(file, 4,
                        fmt::format("llama2.c checkpoint version {} is not supported "
                                    "(only legacy v0 and v1 float32 are); export it with "
                                    "llama2.c's export.py --version 1",
                                    version));
    h = cur.read<Header>("header");
    shared = cur.read<uint8_t>("shared classifier flag") != 0;
    data_start = 256;
    has_freq_cis = false;
    if (mf.size() < data_start) cur.need(data_start - cur.pos(), "header padding");
  } else {
    cur.seek(0);
    h = cur.read<Header>("header");
    shared = h.vocab_size > 0;
    data_start = sizeof(Header);
  }
  check_header(h, file);
  if (h.vocab_size < 0) h.vocab_size = -h.vocab_size;

  ModelFile m;
  m.format = FileFormat::Llama2c;
  m.path = file;
  ModelConfig& c = m.config;
  c.dim = h.dim;
  c.ffn_dim = h.hidden_dim;
  c.n_layers = h.n_layers;
  c.n_heads = h.n_heads;
  c.n_kv_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;
  c.rope_dim = c.head_dim;
  c.stop_at_bos = true;
  c.vocab_size = h.vocab_size;
  c.context_length = h.seq_len;
  c.tied_embeddings = shared;
  c.validate(file);

  const int64_t kv_dim = c.n_kv_heads * c.head_dim;
  uint64_t offset = data_start;
  // Adds one float32 tensor (or one per layer, stacked) at the running offset.
  auto add = [&](TensorId id, const char* source, std::vector<int64_t> shape) {
    TensorInfo t;
    t.id = id;
    t.name = tensor_name(id);
    t.source_name = source;
    t.dtype = DType::F32;
    t.shape = std::move(shape);
    t.path = file;
    t.offset = offset;
    t.nbytes = dtype_bytes(DType::F32, t.elements());
    offset += t.nbytes;
    m.tensors.push_back(std::move(t));
  };
  auto add_layers = [&](TensorKind kind, const char* source, std::vector<int64_t> shape) {
    for (int64_t l = 0; l < c.n_layers; ++l) add({kind, l}, source, shape);
  };
  add({TensorKind::Embedding}, "token_embedding_table", {c.vocab_size, c.dim});
  add_layers(TensorKind::AttnNorm, "rms_att_weight", {c.dim});
  add_layers(TensorKind::Q, "wq", {c.n_heads * c.head_dim, c.dim});
  add_layers(TensorKind::K, "wk", {kv_dim, c.dim});
  add_layers(TensorKind::V, "wv", {kv_dim, c.dim});
  add_layers(TensorKind::O, "wo", {c.dim, c.n_heads * c.head_dim});
  add_layers(TensorKind::FfnNorm, "rms_ffn_weight", {c.dim});
  add_layers(TensorKind::Gate, "w1", {c.ffn_dim, c.dim});
  add_layers(TensorKind::Down, "w2", {c.dim, c.ffn_dim});
  add_layers(TensorKind::Up, "w3", {c.ffn_dim, c.dim});
  add({TensorKind::OutputNorm}, "rms_final_weight", {c.dim});
  if (has_freq_cis) offset += 2 * dtype_bytes(DType::F32, c.context_length * c.head_dim / 2);
  if (!shared) add({TensorKind::LmHead}, "wcls", {c.vocab_size, c.dim});
  if (offset > mf.size())
    throw FormatError(file, mf.size(),
                      fmt::format("truncated llama2.c checkpoint: the header describes {} bytes "
                                  "of weights but the file has {}",
                                  offset, mf.size()));
  m.metadata.push_back({"llama2c.version", has_freq_cis ? "0 (legacy)" : "1"});
  check_tensors(m);
  return m;
}

}  // namespace tplm
