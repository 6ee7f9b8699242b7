#include "format/tensor_contract.hpp"

#include <fmt/format.h>

#include <charconv>

#include "base/error.hpp"

namespace tplm {

namespace {

std::vector<int64_t> vec_dim(const ModelConfig& c) {
  return {c.dim};
}
std::vector<int64_t> vocab_by_dim(const ModelConfig& c) {
  return {c.vocab_size, c.dim};
}
std::vector<int64_t> q_by_dim(const ModelConfig& c) {
  return {c.n_heads * c.head_dim, c.dim};
}
std::vector<int64_t> kv_by_dim(const ModelConfig& c) {
  return {c.n_kv_heads * c.head_dim, c.dim};
}
std::vector<int64_t> vec_q(const ModelConfig& c) {
  return {c.n_heads * c.head_dim};
}
std::vector<int64_t> vec_kv(const ModelConfig& c) {
  return {c.n_kv_heads * c.head_dim};
}
std::vector<int64_t> dim_by_q(const ModelConfig& c) {
  return {c.dim, c.n_heads * c.head_dim};
}
std::vector<int64_t> ffn_by_dim(const ModelConfig& c) {
  return {c.ffn_dim, c.dim};
}
std::vector<int64_t> dim_by_ffn(const ModelConfig& c) {
  return {c.dim, c.ffn_dim};
}

using K = TensorKind;
using R = SplitRole;
using P = Presence;

// In TensorKind order (tensor_spec indexes it).
constexpr TensorSpec kContract[] = {
    {K::Embedding, "token_embd.weight", false, R::Embedding, P::Always, false, vocab_by_dim},
    {K::OutputNorm, "output_norm.weight", false, R::Replicated, P::Always, false, vec_dim},
    {K::LmHead, "output.weight", false, R::Vocab, P::Untied, false, vocab_by_dim},
    {K::AttnNorm, "attn_norm.weight", true, R::Replicated, P::Always, false, vec_dim},
    {K::Q, "attn_q.weight", true, R::QHeads, P::Always, true, q_by_dim},
    {K::K, "attn_k.weight", true, R::KvHeads, P::Always, true, kv_by_dim},
    {K::V, "attn_v.weight", true, R::KvHeads, P::Always, false, kv_by_dim},
    {K::QBias, "attn_q.bias", true, R::QHeads, P::QkvBias, true, vec_q},
    {K::KBias, "attn_k.bias", true, R::KvHeads, P::QkvBias, true, vec_kv},
    {K::VBias, "attn_v.bias", true, R::KvHeads, P::QkvBias, false, vec_kv},
    {K::O, "attn_output.weight", true, R::OutHeads, P::Always, false, dim_by_q},
    {K::FfnNorm, "ffn_norm.weight", true, R::Replicated, P::Always, false, vec_dim},
    {K::Gate, "ffn_gate.weight", true, R::FfnRows, P::Always, false, ffn_by_dim},
    {K::Up, "ffn_up.weight", true, R::FfnRows, P::Always, false, ffn_by_dim},
    {K::Down, "ffn_down.weight", true, R::FfnCols, P::Always, false, dim_by_ffn},
};
static_assert(std::size(kContract) == static_cast<size_t>(TensorKind::Unknown));

bool present(const TensorSpec& s, const ModelConfig& c) {
  switch (s.presence) {
    case P::Always:
      return true;
    case P::Untied:
      return !c.tied_embeddings;
    case P::QkvBias:
      return c.qkv_bias;
  }
  return false;
}

// "blk.12.rest" -> layer 12 and "rest"; false when name is not of that form.
bool split_layer_name(std::string_view name, int64_t& layer, std::string_view& rest) {
  constexpr std::string_view kPrefix = "blk.";
  if (!name.starts_with(kPrefix)) return false;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + name.size();
  auto [end, ec] = std::from_chars(first, last, layer);
  if (ec != std::errc() || end == first || end == last || *end != '.' || layer < 0) return false;
  rest = std::string_view(end + 1, static_cast<size_t>(last - end - 1));
  return true;
}

}  // namespace

std::span<const TensorSpec> tensor_contract() {
  return kContract;
}

const TensorSpec& tensor_spec(TensorKind kind) {
  if (kind == TensorKind::Unknown) throw Error("tensor_spec: an unknown tensor has no spec");
  return kContract[static_cast<size_t>(kind)];
}

TensorId parse_tensor_name(std::string_view canonical) {
  int64_t layer = -1;
  std::string_view rest = canonical;
  const bool in_layer = split_layer_name(canonical, layer, rest);
  for (const TensorSpec& s : kContract)
    if (s.per_layer == in_layer && s.suffix == rest) return {s.kind, in_layer ? layer : -1};
  return {};
}

std::string tensor_name(TensorId id) {
  const TensorSpec& s = tensor_spec(id.kind);
  return s.per_layer ? fmt::format("blk.{}.{}", id.layer, s.suffix) : std::string(s.suffix);
}

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c) {
  std::vector<ExpectedTensor> e;
  auto add = [&](const TensorSpec& s, int64_t layer) {
    const TensorId id{s.kind, layer};
    e.push_back({id, tensor_name(id), s.shape(c)});
  };
  for (const TensorSpec& s : kContract)
    if (!s.per_layer && present(s, c)) add(s, -1);
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (const TensorSpec& s : kContract)
      if (s.per_layer && present(s, c)) add(s, l);
  return e;
}

}  // namespace tplm
