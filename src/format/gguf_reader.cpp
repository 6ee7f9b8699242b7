// GGUF files (ggml/docs/gguf.md), versions 2 and 3, little-endian:
//   "GGUF", uint32 version, uint64 n_tensors, uint64 n_kv
//   n_kv x (string key, uint32 value type, value)      see gguf_metadata.cpp
//   n_tensors x (string name, uint32 n_dims, n_dims x uint64 ne,
//                uint32 ggml type, uint64 offset)
//   padding to general.alignment (default 32), then the data section; each
//   tensor's offset is relative to it and a multiple of the alignment.
// ne[0] is the contiguous dimension, so tplm's row-major shape is ne reversed.
// Tensor names are already tplm's canonical names.
#include <fmt/format.h>

#include <filesystem>
#include <limits>
#include <string>
#include <unordered_set>

#include "format/format_error.hpp"
#include "format/gguf_metadata.hpp"
#include "format/gguf_model_info.hpp"
#include "format/gguf_types.hpp"
#include "format/mapped_file.hpp"
#include "format/model_file.hpp"

namespace tplm {

namespace {

constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kDefaultAlignment = 32;
// name length + n_dims + one dimension + type + offset
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

uint32_t byteswap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

uint32_t read_version(Cursor& cur) {
  if (cur.size() < 4 || std::string_view(cur.bytes(4, "magic")) != "GGUF")
    throw FormatError(cur.file(), 0, "not a GGUF file: the first 4 bytes are not \"GGUF\"");
  const uint32_t version = cur.read<uint32_t>("version");
  if (version == 2 || version == 3) return version;
  std::string hint = "re-convert the model with a current llama.cpp convert script";
  if (byteswap32(version) == 2 || byteswap32(version) == 3)
    hint = "this looks like a big-endian GGUF; tplm reads little-endian files only";
  throw FormatError(
      cur.file(), 4,
      fmt::format("GGUF version {} is not supported (only versions 2 and 3): {}", version, hint));
}

// One tensor info; offset is still relative to the data section.
TensorInfo read_tensor_info(Cursor& cur, const std::string& file) {
  TensorInfo t;
  const uint64_t at = cur.pos();
  t.name = std::string(read_gguf_string(cur, "tensor name"));
  t.source_name = t.name;
  t.path = file;
  const uint64_t dims_at = cur.pos();
  const uint32_t n_dims = cur.read<uint32_t>("tensor dimension count");
  if (n_dims == 0 || n_dims > kMaxDims)
    throw FormatError(
        file, dims_at,
        fmt::format("tensor {} has {} dimensions (1..{} allowed)", t.name, n_dims, kMaxDims));
  t.shape.assign(n_dims, 0);
  int64_t elements = 1;
  for (uint32_t i = 0; i < n_dims; ++i) {
    const uint64_t ne_at = cur.pos();
    const uint64_t ne = cur.read<uint64_t>("tensor dimension");
    if (ne == 0 || ne > uint64_t{std::numeric_limits<int64_t>::max()})
      throw FormatError(file, ne_at,
                        fmt::format("tensor {} has dimension {} = {}: it must be "
                                    "positive",
                                    t.name, i, static_cast<int64_t>(ne)));
    const auto d = static_cast<int64_t>(ne);
    if (elements > std::numeric_limits<int64_t>::max() / d)
      throw FormatError(file, ne_at, fmt::format("tensor {}: the element count overflows", t.name));
    elements *= d;
    t.shape[n_dims - 1 - i] = d;  // ne[0] is contiguous: reverse into row-major
  }
  const uint64_t type_at = cur.pos();
  const uint32_t ggml_type = cur.read<uint32_t>("tensor type");
  auto dtype = dtype_from_ggml(ggml_type);
  if (!dtype)
    throw FormatError(file, type_at,
                      fmt::format("tensor {} has ggml type {}, which tplm cannot read "
                                  "(supported: {}); re-quantize the model to one of those",
                                  t.name, ggml_type_label(ggml_type), supported_ggml_types()));
  t.dtype = *dtype;
  const auto& tr = dtype_traits(t.dtype);
  if (t.cols() % tr.block_elems != 0)
    throw FormatError(file, at,
                      fmt::format("tensor {} of type {} has {} columns, not a multiple "
                                  "of its block size {}",
                                  t.name, tr.name, t.cols(), tr.block_elems));
  t.offset = cur.read<uint64_t>("tensor offset");
  return t;  // offset relative, nbytes unset: see place_tensors
}

std::vector<TensorInfo> read_tensor_infos(Cursor& cur, uint64_t n_tensors) {
  if (n_tensors > cur.remaining() / kMinTensorInfoBytes)
    cur.fail(
        fmt::format("the header counts {} tensors but the {} bytes left can describe at "
                    "most {}: the count is corrupt or the file is truncated",
                    n_tensors, cur.remaining(), cur.remaining() / kMinTensorInfoBytes));
  std::vector<TensorInfo> tensors;
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = cur.pos();
    TensorInfo t = read_tensor_info(cur, cur.file());
    if (!names.insert(t.name).second)
      throw FormatError(cur.file(), at, fmt::format("tensor {} appears twice", t.name));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

uint64_t read_alignment(const GgufMetadata& md, const std::string& file) {
  auto a = md.get_int("general.alignment");
  if (!a) return kDefaultAlignment;
  if (*a <= 0 || *a > (int64_t{1} << 30) || (*a & (*a - 1)) != 0)
    throw FormatError(file, md.find("general.alignment")->offset,
                      fmt::format("general.alignment = {}: it must be a power of two", *a));
  return static_cast<uint64_t>(*a);
}

// Turns relative offsets into absolute ones and sets the byte counts,
// checking alignment and that every tensor lies inside the file.
void place_tensors(std::vector<TensorInfo>& tensors, uint64_t data_start, uint64_t alignment,
                   uint64_t file_size, const std::string& file) {
  for (auto& t : tensors) {
    // elements() cannot overflow: read_tensor_info bounded the product.
    const auto blocks = static_cast<uint64_t>(t.elements() / dtype_traits(t.dtype).block_elems);
    const auto block_bytes = static_cast<uint64_t>(dtype_traits(t.dtype).block_bytes);
    if (t.offset % alignment != 0)
      throw FormatError(file, data_start,
                        fmt::format("tensor {} has data offset {}, not a multiple of the "
                                    "alignment {}",
                                    t.name, t.offset, alignment));
    const uint64_t room = file_size - data_start;  // data_start <= file_size
    if (t.offset > room || blocks > (room - t.offset) / block_bytes)
      throw FormatError(file, data_start,
                        fmt::format("tensor {} ({} blocks of {} bytes at data offset {}) runs past "
                                    "the end of the {}-byte file: the file is truncated",
                                    t.name, blocks, block_bytes, t.offset, file_size));
    t.nbytes = blocks * block_bytes;
    t.offset += data_start;
  }
}

// llama.cpp converts Llama-family Q/K rows to the interleaved RoPE layout, but
// leaves Qwen2's in Hugging Face's rotate-half order and rotates them with
// NEOX-style RoPE instead. Record that, so the shard loader normalizes them
// like a Hugging Face folder's.
void mark_neox_rope_layout(ModelFile& m) {
  if (m.config.architecture != "qwen2") return;
  for (auto& t : m.tensors)
    if (t.id.kind != TensorKind::Unknown && tensor_spec(t.id.kind).rope_rows)
      t.rope_layout = RopeLayout::RotateHalf;
}

struct GgufHeader {
  uint32_t version = 0;
  GgufMetadata md;  // views into the mapped file: use it while the file is mapped
  std::vector<TensorInfo> tensors;
};

// Everything before the data section, with every tensor placed in the file.
GgufHeader read_header(const MappedFile& mf) {
  const std::string& file = mf.path();
  Cursor cur(mf);
  GgufHeader h;
  h.version = read_version(cur);
  const uint64_t n_tensors = cur.read<uint64_t>("tensor count");
  const uint64_t n_kv = cur.read<uint64_t>("metadata count");
  h.md.parse(cur, n_kv);
  h.tensors = read_tensor_infos(cur, n_tensors);
  const uint64_t alignment = read_alignment(h.md, file);
  const uint64_t data_start = (cur.pos() + alignment - 1) / alignment * alignment;
  if (data_start > mf.size() && !h.tensors.empty())
    throw FormatError(file, cur.pos(),
                      fmt::format("truncated file: the data section would start at {} but the "
                                  "file has {} bytes",
                                  data_start, mf.size()));
  place_tensors(h.tensors, data_start, alignment, mf.size(), file);
  return h;
}

ModelFile with_metadata(const std::string& file, const GgufHeader& h) {
  ModelFile m;
  m.format = FileFormat::Gguf;
  m.path = file;
  m.metadata.push_back({"gguf.version", std::to_string(h.version)});
  for (const auto& kv : h.md.items()) m.metadata.push_back({kv.key, h.md.printable(kv)});
  m.chat_template = h.md.get_string("tokenizer.chat_template").value_or("");
  return m;
}

}  // namespace

ModelFile read_gguf(const std::filesystem::path& path) {
  const std::string file = path.string();
  MappedFile mf(file);
  GgufHeader h = read_header(mf);
  ModelFile m = with_metadata(file, h);
  m.config = gguf_config(h.md, h.tensors, file);
  m.tensors = std::move(h.tensors);
  for (TensorInfo& t : m.tensors) t.id = parse_tensor_name(t.name);
  m.config.validate(file);
  mark_neox_rope_layout(m);
  m.vocab = gguf_vocab(h.md, m.config.vocab_size, file, m.metadata, m.no_vocab_reason);
  if (m.find("rope_freqs.weight") && m.config.rope_scaling.kind == RopeScaling::Kind::None)
    m.metadata.push_back({"tplm.note.rope_freqs",
                          "rope_freqs.weight is present (Llama 3 rope scaling factors) but no "
                          "rope.scaling.type key says how to use it; it is ignored"});
  check_tensors(m);
  return m;
}

ModelFile read_gguf_vocab_only(const std::filesystem::path& path) {
  const std::string file = path.string();
  MappedFile mf(file);
  GgufHeader h = read_header(mf);
  ModelFile m = with_metadata(file, h);
  m.config.architecture = h.md.get_string("general.architecture").value_or("");
  // The embedding's rows bound the vocabulary when the file has weights; a
  // vocabulary-only file (llama.cpp's models/ggml-vocab-*.gguf) has none.
  int64_t rows = std::numeric_limits<int32_t>::max();
  for (const TensorInfo& t : h.tensors)
    if (t.name == "token_embd.weight" && t.shape.size() == 2) rows = t.shape[0];
  m.vocab = gguf_vocab(h.md, rows, file, m.metadata, m.no_vocab_reason);
  m.config.vocab_size = rows == std::numeric_limits<int32_t>::max() && m.vocab
                            ? static_cast<int64_t>(m.vocab->tokens.size())
                            : rows;
  m.tensors = std::move(h.tensors);
  return m;
}

}  // namespace tplm
