// ModelConfig from GGUF keys. The keys are prefixed by general.architecture:
//   ARCH.context_length, ARCH.embedding_length, ARCH.block_count,
//   ARCH.feed_forward_length, ARCH.attention.head_count           (required)
//   ARCH.attention.head_count_kv (= head_count), ARCH.attention.key_length
//   (= dim / heads), ARCH.rope.dimension_count (= head_dim), ARCH.rope.freq_base
//   (= 10000), ARCH.attention.layer_norm_rms_epsilon (= 1e-5),
//   ARCH.rope.scaling.{type,factor,original_context_length}, ARCH.vocab_size (optional)
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "format/format_error.hpp"
#include "format/gguf_model_info.hpp"

namespace tplm {

namespace {

// Sizes beyond int32 are refused so that products such as n_heads * head_dim
// can never overflow downstream.
constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

class Keys {
 public:
  Keys(const GgufMetadata& md, std::string arch, const std::string& file)
      : md_(md), arch_(std::move(arch)), file_(file) {}

  std::string key(const char* suffix) const { return fmt::format("{}.{}", arch_, suffix); }

  std::optional<int64_t> size(const char* suffix) const {
    const std::string k = key(suffix);
    auto v = md_.get_int(k);
    if (v && (*v < 0 || *v > kMaxSize))
      throw FormatError(
          file_, md_.find(k)->offset,
          fmt::format("metadata key {} = {} is out of range (0..{})", k, *v, kMaxSize));
    return v;
  }
  int64_t required(const char* suffix) const {
    if (auto v = size(suffix)) return *v;
    throw FormatError(file_, fmt::format("missing required metadata key {}: the file does not "
                                         "describe a {} model",
                                         key(suffix), arch_));
  }
  float number(const char* suffix, float fallback) const {
    auto v = md_.get_float(key(suffix));
    return v ? static_cast<float>(*v) : fallback;
  }

 private:
  const GgufMetadata& md_;
  std::string arch_;
  const std::string& file_;
};

std::string read_architecture(const GgufMetadata& md, const std::string& file) {
  auto arch = md.get_string("general.architecture");
  if (!arch) throw FormatError(file, "missing required metadata key general.architecture");
  for (const char* a : kGgufArchitectures)
    if (*arch == a) return *arch;
  throw FormatError(file, md.find("general.architecture")->offset,
                    fmt::format("architecture \"{}\" is not supported (supported: {})", *arch,
                                fmt::join(kGgufArchitectures, ", ")));
}

void read_rope_scaling(const Keys& k, const GgufMetadata& md, const std::string& file,
                       RopeScaling& rs) {
  const std::string type_key = k.key("rope.scaling.type");
  const std::string type = md.get_string(type_key).value_or("none");
  rs.factor = k.number("rope.scaling.factor", 1.0f);
  if (type == "none") {
    // Older files carry only ARCH.rope.scale_linear.
    const float legacy = k.number("rope.scale_linear", 1.0f);
    if (legacy != 1.0f)
      rs = {RopeScaling::Kind::Linear, legacy};
    else
      rs.factor = 1.0f;
  } else if (type == "linear") {
    rs.kind = RopeScaling::Kind::Linear;
  } else if (type == "llama3") {
    rs.kind = RopeScaling::Kind::Llama3;
    rs.original_context = k.size("rope.scaling.original_context_length").value_or(8192);
    rs.low_freq_factor = k.number("rope.scaling.low_freq_factor", 1.0f);
    rs.high_freq_factor = k.number("rope.scaling.high_freq_factor", 4.0f);
  } else {
    throw FormatError(file, md.find(type_key)->offset,
                      fmt::format("rope scaling type \"{}\" is not supported (none, linear, "
                                  "llama3)",
                                  type));
  }
  if (rs.kind != RopeScaling::Kind::None && !(rs.factor > 0.0f))
    throw FormatError(file, fmt::format("{} = {}: a rope scaling factor must be positive",
                                        k.key("rope.scaling.factor"), rs.factor));
}

}  // namespace

ModelConfig gguf_config(const GgufMetadata& md, const std::vector<TensorInfo>& tensors,
                        const std::string& file) {
  ModelConfig c;
  c.architecture = read_architecture(md, file);
  const Keys k(md, c.architecture, file);
  c.context_length = k.required("context_length");
  c.dim = k.required("embedding_length");
  c.n_layers = k.required("block_count");
  c.ffn_dim = k.required("feed_forward_length");
  c.n_heads = k.required("attention.head_count");
  c.n_kv_heads = k.size("attention.head_count_kv").value_or(c.n_heads);
  c.head_dim = k.size("attention.key_length").value_or(c.n_heads > 0 ? c.dim / c.n_heads : 0);
  if (auto vl = k.size("attention.value_length"); vl && *vl != c.head_dim)
    throw FormatError(file, fmt::format("{} = {} differs from the key length {}: tplm needs equal "
                                        "key and value head sizes",
                                        k.key("attention.value_length"), *vl, c.head_dim));
  c.rope_dim = k.size("rope.dimension_count").value_or(c.head_dim);
  c.rope_theta = k.number("rope.freq_base", 10000.0f);
  c.rms_eps = k.number("attention.layer_norm_rms_epsilon", 1e-5f);
  read_rope_scaling(k, md, file, c.rope_scaling);

  // Every layer has at least nine tensors; a larger block count is corrupt (and
  // would make the tensor check loop over layers that cannot exist).
  if (c.n_layers > static_cast<int64_t>(tensors.size() / 9))
    throw FormatError(file, fmt::format("{} = {} but the file has only {} tensors",
                                        k.key("block_count"), c.n_layers, tensors.size()));
  auto find = [&](const char* name) {
    auto it = std::find_if(tensors.begin(), tensors.end(),
                           [&](const TensorInfo& t) { return t.name == name; });
    return it == tensors.end() ? nullptr : &*it;
  };
  const TensorInfo* embd = find("token_embd.weight");
  if (!embd) throw FormatError(file, "missing tensor token_embd.weight: the model is incomplete");
  if (embd->shape.size() != 2)
    throw FormatError(
        file, embd->offset,
        fmt::format("tensor token_embd.weight has {} dimensions, not 2", embd->shape.size()));
  c.vocab_size = embd->shape[0];
  if (auto v = k.size("vocab_size"); v && *v != c.vocab_size)
    throw FormatError(file, fmt::format("{} = {} but token_embd.weight has {} rows",
                                        k.key("vocab_size"), *v, c.vocab_size));
  c.tied_embeddings = find("output.weight") == nullptr;
  c.qkv_bias = find("blk.0.attn_q.bias") != nullptr;
  return c;
}

}  // namespace tplm
