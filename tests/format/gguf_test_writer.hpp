#pragma once
// A small GGUF writer for tests: builds a valid file, lets a test break exactly
// one thing (a count, a type, a length, an offset), and reports where each part
// landed so that error offsets can be checked.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace tplm::test {

enum GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kStr = 8,
  kArr = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
enum GgmlType : uint32_t {
  kGgmlF32 = 0,
  kGgmlF16 = 1,
  kGgmlQ4_0 = 2,
  kGgmlQ8_0 = 8,
  kGgmlQ2_K = 10,
  kGgmlQ4_K = 12,
  kGgmlBF16 = 30
};

// Little-endian byte appenders.
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
};

struct GgufLayout {
  uint64_t kv_start = 0, infos_start = 0, data_start = 0;
  std::vector<uint64_t> kv_offsets, info_offsets;
};

class GgufBuilder {
 public:
  struct Kv {
    std::string key;
    uint32_t type;
    std::vector<uint8_t> value;  // encoded value, without the type id
  };
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;  // ggml order: ne[0] contiguous
    uint32_t type;
    std::optional<uint64_t> offset;  // relative; automatic (aligned) when unset
    uint64_t nbytes;
  };

  char magic[4] = {'G', 'G', 'U', 'F'};
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors_override, n_kv_override;
  uint64_t alignment = 32;  // layout only: set general.alignment too to change it
  std::vector<Kv> kvs;
  std::vector<Tensor> tensors;

  void raw(const std::string& key, uint32_t type, std::vector<uint8_t> value) {
    remove(key);
    kvs.push_back({key, type, std::move(value)});
  }
  template <typename T>
  void scalar(const std::string& key, uint32_t type, T v) {
    raw(key, type, Bytes().put(v).b);
  }
  void u32(const std::string& k, uint32_t v) { scalar(k, kU32, v); }
  void f32(const std::string& k, float v) { scalar(k, kF32, v); }
  void boolean(const std::string& k, bool v) { scalar<uint8_t>(k, kBool, v ? 1 : 0); }
  void str(const std::string& k, const std::string& v) { raw(k, kStr, Bytes().str(v).b); }
  void str_array(const std::string& k, const std::vector<std::string>& v) {
    Bytes b;
    b.put<uint32_t>(kStr).put<uint64_t>(v.size());
    for (const auto& s : v) b.str(s);
    raw(k, kArr, b.b);
  }
  template <typename T>
  void array(const std::string& k, uint32_t elem_type, const std::vector<T>& v) {
    Bytes b;
    b.put<uint32_t>(elem_type).put<uint64_t>(v.size());
    for (const auto& x : v) b.put(x);
    raw(k, kArr, b.b);
  }
  void remove(const std::string& key) {
    std::erase_if(kvs, [&](const Kv& kv) { return kv.key == key; });
  }
  Kv* find(const std::string& key) {
    for (auto& kv : kvs)
      if (kv.key == key) return &kv;
    return nullptr;
  }

  // shape is tplm's row-major shape (outermost first).
  void tensor(const std::string& name, std::vector<int64_t> shape, uint32_t type = kGgmlF32) {
    Tensor t{name, {}, type, std::nullopt, 0};
    uint64_t elems = 1;
    for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
      t.ne.push_back(static_cast<uint64_t>(*it));
      elems *= static_cast<uint64_t>(*it);
    }
    switch (type) {
      case kGgmlF32:
        t.nbytes = elems * 4;
        break;
      case kGgmlF16:
      case kGgmlBF16:
        t.nbytes = elems * 2;
        break;
      case kGgmlQ8_0:
        t.nbytes = elems / 32 * 34;
        break;
      case kGgmlQ4_0:
        t.nbytes = elems / 32 * 18;
        break;
      default:
        t.nbytes = elems;
        break;
    }
    tensors.push_back(t);
  }
  Tensor* find_tensor(const std::string& name) {
    for (auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }

  std::vector<uint8_t> bytes(GgufLayout* layout = nullptr) const {
    GgufLayout l;
    Bytes b;
    b.b.insert(b.b.end(), magic, magic + 4);
    b.put(version).put<uint64_t>(n_tensors_override.value_or(tensors.size()));
    b.put<uint64_t>(n_kv_override.value_or(kvs.size()));
    l.kv_start = b.b.size();
    for (const auto& kv : kvs) {
      l.kv_offsets.push_back(b.b.size());
      b.str(kv.key).put(kv.type);
      b.b.insert(b.b.end(), kv.value.begin(), kv.value.end());
    }
    l.infos_start = b.b.size();
    std::vector<uint64_t> offsets;
    uint64_t next = 0;
    for (const auto& t : tensors) {
      offsets.push_back(t.offset.value_or(next));
      next = (offsets.back() + t.nbytes + alignment - 1) / alignment * alignment;
    }
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& t = tensors[i];
      l.info_offsets.push_back(b.b.size());
      b.str(t.name).put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
      for (auto d : t.ne) b.put(d);
      b.put(t.type).put(offsets[i]);
    }
    b.b.resize((b.b.size() + alignment - 1) / alignment * alignment, 0);
    l.data_start = b.b.size();
    uint64_t end = l.data_start;
    for (size_t i = 0; i < tensors.size(); ++i)
      end = std::max(end, l.data_start + offsets[i] + tensors[i].nbytes);
    // Weights are a byte pattern: the reader never looks at them.
    for (uint64_t i = b.b.size(); i < end; ++i) b.b.push_back(static_cast<uint8_t>(i * 7 + 1));
    if (layout) *layout = l;
    return b.b;
  }
};

// A valid tiny llama: dim, ffn, vocab as given; 1 layer, 4 heads, 2 kv heads;
// a SentencePiece vocabulary of `vocab` tokens; F32 weights; untied output.
inline GgufBuilder tiny_llama(int64_t dim = 32, int64_t ffn = 64, int64_t vocab = 16) {
  GgufBuilder g;
  g.str("general.architecture", "llama");
  g.str("general.name", "tiny");
  g.u32("llama.context_length", 64);
  g.u32("llama.embedding_length", static_cast<uint32_t>(dim));
  g.u32("llama.block_count", 1);
  g.u32("llama.feed_forward_length", static_cast<uint32_t>(ffn));
  g.u32("llama.attention.head_count", 4);
  g.u32("llama.attention.head_count_kv", 2);
  g.u32("llama.rope.dimension_count", static_cast<uint32_t>(dim / 4));
  g.f32("llama.rope.freq_base", 500000.0f);
  g.f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
  g.str("tokenizer.ggml.model", "llama");
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  for (int64_t i = 3; i < vocab; ++i) {
    tokens.push_back("\xe2\x96\x81t" + std::to_string(i));  // "▁tN"
    scores.push_back(-static_cast<float>(i));
    types.push_back(1);
  }
  g.str_array("tokenizer.ggml.tokens", tokens);
  g.array("tokenizer.ggml.scores", kF32, scores);
  g.array("tokenizer.ggml.token_type", kI32, types);
  g.u32("tokenizer.ggml.bos_token_id", 1);
  g.u32("tokenizer.ggml.eos_token_id", 2);
  g.u32("tokenizer.ggml.unknown_token_id", 0);
  const int64_t hd = dim / 4, kv = 2 * hd;
  g.tensor("token_embd.weight", {vocab, dim});
  g.tensor("blk.0.attn_norm.weight", {dim});
  g.tensor("blk.0.attn_q.weight", {dim, dim});
  g.tensor("blk.0.attn_k.weight", {kv, dim});
  g.tensor("blk.0.attn_v.weight", {kv, dim});
  g.tensor("blk.0.attn_output.weight", {dim, dim});
  g.tensor("blk.0.ffn_norm.weight", {dim});
  g.tensor("blk.0.ffn_gate.weight", {ffn, dim});
  g.tensor("blk.0.ffn_up.weight", {ffn, dim});
  g.tensor("blk.0.ffn_down.weight", {dim, ffn});
  g.tensor("output_norm.weight", {dim});
  g.tensor("output.weight", {vocab, dim});
  return g;
}

inline std::filesystem::path write_file(const std::filesystem::path& path,
                                        const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace tplm::test
