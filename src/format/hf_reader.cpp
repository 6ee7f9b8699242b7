// Hugging Face folders: config.json + model.safetensors (or sharded with
// model.safetensors.index.json) + tokenizer.json / tokenizer.model.
// Tensors are identified by the tensor contract and renamed to its canonical (GGUF) names; Q/K rows
// stay in HF's rotate-half order and are marked so the shard loader can normalize them.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "format/format_error.hpp"
#include "format/hf_chat_template.hpp"
#include "format/hf_config.hpp"
#include "format/model_file.hpp"
#include "format/safetensors_header.hpp"

namespace tplm {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// HF layer-tensor suffix -> the contract's kind.
const std::map<std::string, TensorKind>& layer_kinds() {
  static const std::map<std::string, TensorKind> m = {
      {"input_layernorm.weight", TensorKind::AttnNorm},
      {"self_attn.q_proj.weight", TensorKind::Q},
      {"self_attn.q_proj.bias", TensorKind::QBias},
      {"self_attn.k_proj.weight", TensorKind::K},
      {"self_attn.k_proj.bias", TensorKind::KBias},
      {"self_attn.v_proj.weight", TensorKind::V},
      {"self_attn.v_proj.bias", TensorKind::VBias},
      {"self_attn.o_proj.weight", TensorKind::O},
      {"post_attention_layernorm.weight", TensorKind::FfnNorm},
      {"mlp.gate_proj.weight", TensorKind::Gate},
      {"mlp.up_proj.weight", TensorKind::Up},
      {"mlp.down_proj.weight", TensorKind::Down},
  };
  return m;
}

// What an HF tensor is to the contract (kind Unknown when it is not part of it).
TensorId hf_tensor_id(const std::string& src) {
  if (src == "model.embed_tokens.weight") return {TensorKind::Embedding};
  if (src == "model.norm.weight") return {TensorKind::OutputNorm};
  if (src == "lm_head.weight") return {TensorKind::LmHead};
  static const std::regex layer(R"(model\.layers\.(\d{1,6})\.(.+))");
  std::smatch m;
  if (std::regex_match(src, m, layer)) {
    auto it = layer_kinds().find(m[2].str());
    if (it != layer_kinds().end()) return {it->second, std::stoll(m[1].str())};
  }
  return {};
}

// The shard files named by model.safetensors.index.json, in first-use order.
std::vector<std::string> shard_files(const fs::path& folder, const fs::path& index) {
  const std::string file = index.string();
  std::ifstream in(index, std::ios::binary);
  if (!in) throw FormatError(file, "cannot open the safetensors index");
  std::stringstream ss;
  ss << in.rdbuf();
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    throw FormatError(file, e.byte,
                      fmt::format("safetensors index is not valid JSON: {}", e.what()));
  } catch (const json::exception& e) {  // a number no double holds (406: '1e400')
    throw FormatError(file, 0, fmt::format("safetensors index is not valid JSON: {}", e.what()));
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw FormatError(file, "safetensors index has no 'weight_map' object");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& [tensor, shard] : j["weight_map"].items()) {
    if (!shard.is_string())
      throw FormatError(file, fmt::format("weight_map entry '{}' must name a file", tensor));
    const std::string s = shard.get<std::string>();
    if (s.empty() || fs::path(s).has_parent_path() || s == "." || s == "..")
      throw FormatError(
          file, fmt::format("weight_map entry '{}' names '{}', which is not a file in the folder",
                            tensor, s));
    if (seen.insert(s).second) out.push_back((folder / s).string());
  }
  if (out.empty()) throw FormatError(file, "safetensors index's weight_map is empty");
  return out;
}

std::vector<std::string> weight_files(const fs::path& folder) {
  if (fs::exists(folder / "model.safetensors")) return {(folder / "model.safetensors").string()};
  if (fs::exists(folder / "model.safetensors.index.json"))
    return shard_files(folder, folder / "model.safetensors.index.json");
  throw FormatError(folder.string(),
                    "no model.safetensors or model.safetensors.index.json in the folder; "
                    "only safetensors weights are read (convert .bin/.pth checkpoints first)");
}

std::string find_tokenizer(const fs::path& folder) {
  for (const char* f : {"tokenizer.json", "tokenizer.model"})
    if (fs::exists(folder / f)) return (folder / f).string();
  return "";
}

}  // namespace

ModelFile read_hf_folder(const std::filesystem::path& folder) {
  if (!fs::is_directory(folder)) throw FormatError(folder.string(), "not a folder");
  HfConfig hc = read_hf_config((folder / "config.json").string());
  ModelFile m;
  m.format = FileFormat::HuggingFace;
  m.path = folder.string();
  m.config = hc.config;
  m.metadata = std::move(hc.metadata);
  std::set<std::string> names;
  std::vector<std::string> unknown;
  for (const std::string& file : weight_files(folder)) {
    for (TensorInfo& t : read_safetensors_header(file)) {
      if (t.source_name.find("rotary_emb.inv_freq") != std::string::npos) continue;
      t.id = hf_tensor_id(t.source_name);
      if (t.id.kind == TensorKind::Unknown)
        unknown.push_back(t.source_name);
      else
        t.name = tensor_name(t.id);
      if (!names.insert(t.name).second)
        throw FormatError(file,
                          fmt::format("tensor '{}' appears twice in the folder", t.source_name));
      if (t.id.kind != TensorKind::Unknown && tensor_spec(t.id.kind).rope_rows)
        t.rope_layout = RopeLayout::RotateHalf;
      m.tensors.push_back(std::move(t));
    }
  }
  if (!names.count("output.weight")) m.config.tied_embeddings = true;
  m.tokenizer_path = find_tokenizer(folder);
  m.chat_template = read_hf_chat_template(folder);
  if (!unknown.empty())
    m.metadata.emplace_back("hf.unused_tensors", fmt::format("{}", fmt::join(unknown, ", ")));
  m.config.validate((folder / "config.json").string());
  check_tensors(m);
  return m;
}

}  // namespace tplm
