// `tplm inspect MODEL [--tokenizer FILE] [--json]`: what a model file holds,
// read the way every other command reads it (open_model, load_tokenizer):
// the format, the configuration, every tensor (name, dtype, shape, bytes,
// where it lives) and the tokenizer. No weight is read.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "app/cli.hpp"
#include "base/error.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/tokenizer.hpp"

namespace tplm {
namespace {

struct InspectArgs {
  std::string model;
  std::string tokenizer;
  bool json = false;
};

struct TokenizerSummary {
  std::string kind;
  int32_t vocab_size = 0;
  int32_t bos = -1;
  int32_t eos = -1;
};

// The tokenizer when one can be found. Without --tokenizer a model may simply
// not carry one (llama2.c): that is reported, not an error. A tokenizer the
// user named must load.
std::optional<TokenizerSummary> summarize_tokenizer(const ModelFile& m, const InspectArgs& a,
                                                    std::string& why_none) {
  try {
    auto t = load_tokenizer(m, a.tokenizer);
    return TokenizerSummary{std::string(t->kind()), t->vocab_size(), t->bos_id(), t->eos_id()};
  } catch (const Error& e) {
    if (!a.tokenizer.empty()) throw;
    why_none = e.what();
    return std::nullopt;
  }
}

const char* rope_layout_name(RopeLayout l) {
  return l == RopeLayout::RotateHalf ? "rotate_half" : "interleaved";
}

nlohmann::json config_json(const ModelConfig& c) {
  const char* scaling = c.rope_scaling.kind == RopeScaling::Kind::Linear   ? "linear"
                        : c.rope_scaling.kind == RopeScaling::Kind::Llama3 ? "llama3"
                                                                           : "none";
  return {{"architecture", c.architecture},
          {"dim", c.dim},
          {"ffn_dim", c.ffn_dim},
          {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},
          {"n_kv_heads", c.n_kv_heads},
          {"head_dim", c.head_dim},
          {"vocab_size", c.vocab_size},
          {"context_length", c.context_length},
          {"rope_dim", c.rope_dim},
          {"rope_theta", c.rope_theta},
          {"rope_scaling", scaling},
          {"rope_scaling_factor", c.rope_scaling.factor},
          {"rms_eps", c.rms_eps},
          {"tied_embeddings", c.tied_embeddings},
          {"qkv_bias", c.qkv_bias}};
}

nlohmann::json inspect_json(const ModelFile& m, const std::optional<TokenizerSummary>& tok,
                            const std::string& why_none) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorInfo& t : m.tensors)
    tensors.push_back({{"name", t.name},
                       {"source_name", t.source_name},
                       {"dtype", std::string(dtype_name(t.dtype))},
                       {"shape", t.shape},
                       {"bytes", t.nbytes},
                       {"offset", t.offset},
                       {"file", t.path},
                       {"rope_layout", rope_layout_name(t.rope_layout)}});
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [k, v] : m.metadata) metadata[k] = v;
  nlohmann::json j = {{"path", m.path},
                      {"format", std::string(file_format_name(m.format))},
                      {"config", config_json(m.config)},
                      {"tensors", std::move(tensors)},
                      {"total_weight_bytes", m.total_weight_bytes()},
                      {"metadata", std::move(metadata)}};
  if (tok)
    j["tokenizer"] = {
        {"kind", tok->kind}, {"vocab_size", tok->vocab_size}, {"bos", tok->bos}, {"eos", tok->eos}};
  else
    j["tokenizer"] = {{"kind", nullptr}, {"error", why_none}};
  return j;
}

void print_inspect(const ModelFile& m, const std::optional<TokenizerSummary>& tok,
                   const std::string& why_none) {
  const ModelConfig& c = m.config;
  fmt::print("model: {}\nformat: {}\n", m.path, file_format_name(m.format));
  fmt::print(
      "config: {} | dim {} | ffn {} | layers {} | heads {} | kv heads {} | head_dim {} | "
      "vocab {} | context {}\n",
      c.architecture, c.dim, c.ffn_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim,
      c.vocab_size, c.context_length);
  fmt::print("        rope dim {} theta {} | rms eps {} | tied embeddings {} | qkv bias {}\n",
             c.rope_dim, c.rope_theta, c.rms_eps, c.tied_embeddings, c.qkv_bias);
  for (const auto& [k, v] : m.metadata) fmt::print("meta: {} = {}\n", k, v);
  fmt::print("tensors: {}\n", m.tensors.size());
  for (const TensorInfo& t : m.tensors)
    fmt::print("  {:<28} {:<5} [{}] {} bytes @ {}{}\n", t.name, dtype_name(t.dtype),
               fmt::join(t.shape, ", "), t.nbytes, t.offset,
               t.rope_layout == RopeLayout::RotateHalf ? " (rotate-half)" : "");
  if (tok)
    fmt::print("tokenizer: {}, vocab {}, bos {}, eos {}\n", tok->kind, tok->vocab_size, tok->bos,
               tok->eos);
  else
    fmt::print("tokenizer: none ({}); pass --tokenizer FILE\n", why_none);
  const uint64_t total = m.total_weight_bytes();
  fmt::print("total weight bytes: {} ({:.2f} MiB)\n", total,
             static_cast<double>(total) / (1024.0 * 1024.0));
}

}  // namespace

CommandAction add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* sub =
      app.add_subcommand("inspect", "Show a model's format, configuration, tensors and tokenizer");
  sub->add_option("model,-m,--model", args->model, "model file or folder (GGUF, HF, llama2.c)")
      ->required();
  sub->add_option("--tokenizer", args->tokenizer,
                  "tokenizer file (llama2.c .bin, tokenizer.json, tokenizer.model)");
  sub->add_flag("--json", args->json, "print one JSON object");
  return [args]() -> int {
    const ModelFile m = open_model(args->model);
    std::string why_none;
    const auto tok = summarize_tokenizer(m, *args, why_none);
    if (args->json)
      fmt::print("{}\n", inspect_json(m, tok, why_none).dump(2));
    else
      print_inspect(m, tok, why_none);
    return 0;
  };
}

}  // namespace tplm
