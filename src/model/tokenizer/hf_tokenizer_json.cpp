#include "model/tokenizer/hf_tokenizer_json.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "format/format_error.hpp"
#include "model/tokenizer/byte_level_bpe.hpp"

namespace tplm {

namespace {

using nlohmann::json;

// The first Split regex in the pre-tokenizer (alone or in a Sequence), else "".
std::string split_regex(const json& pre) {
  if (!pre.is_object()) return "";
  if (pre.value("type", "") == "Split" && pre.contains("pattern") &&
      pre["pattern"].contains("Regex"))
    return pre["pattern"]["Regex"].get<std::string>();
  if (pre.value("type", "") == "Sequence")
    for (const auto& p : pre.value("pretokenizers", json::array()))
      if (auto r = split_regex(p); !r.empty()) return r;
  return "";
}

// "bos_token": "<s>" or {"content": "<s>", ...}.
std::string token_name(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return "";
  const json& t = cfg[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object()) return t.value("content", "");
  return "";
}

// Returns whether there was a tokenizer_config.json.
bool read_config(const std::filesystem::path& file, HfTokenizerJson& out,
                 const std::unordered_map<std::string, int32_t>& ids) {
  const auto cfg_path = file.parent_path() / "tokenizer_config.json";
  auto id_of = [&](const std::string& name) {
    auto it = ids.find(name);
    return it == ids.end() ? -1 : it->second;
  };
  if (std::ifstream in(cfg_path); in) {
    const json cfg = json::parse(in, nullptr, false);
    if (cfg.is_discarded()) throw FormatError(cfg_path.string(), "not valid JSON");
    out.vocab.bos_id = id_of(token_name(cfg, "bos_token"));
    out.vocab.eos_id = id_of(token_name(cfg, "eos_token"));
    out.vocab.unk_id = id_of(token_name(cfg, "unk_token"));
    out.vocab.add_bos = cfg.value("add_bos_token", out.vocab.bos_id >= 0);
    return true;
  } else {
    out.vocab.eos_id = id_of("<|endoftext|>");
    out.vocab.add_bos = false;
  }
  return false;
}

// Llama 2 / Mistral style tokenizer.json: SentencePiece BPE written out as
// HF BPE ("▁" for spaces, "<0xNN>" byte fallback), not GPT-2's byte alphabet.
bool is_sentencepiece_style(const json& j) {
  const json& model = j.at("model");
  if (model.value("byte_fallback", false)) return true;
  const std::string all = j.value("pre_tokenizer", json()).dump() +
                          j.value("normalizer", json()).dump() + j.value("decoder", json()).dump();
  return all.find("Metaspace") != std::string::npos ||
         all.find("ByteFallback") != std::string::npos ||
         all.find("\xE2\x96\x81") != std::string::npos;  // "▁" (dump keeps UTF-8)
}

// SentencePiece BPE models number their pieces in merge order and score
// piece i as -i, so -id gives llama2.c's greedy merge the same priorities.
void to_sentencepiece(VocabSpec& v, const std::unordered_map<std::string, int32_t>& ids) {
  v.kind = VocabKind::SentencePieceBpe;
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.token_types[i] == kNormal) v.scores[i] = -static_cast<float>(i);
    const std::string& p = v.tokens[i];
    if (p.size() == 6 && p.starts_with("<0x") && p.back() == '>') v.token_types[i] = kByte;
  }
  auto id_of = [&](const char* name) {
    auto it = ids.find(name);
    return it == ids.end() ? -1 : it->second;
  };
  if (v.unk_id < 0) v.unk_id = id_of("<unk>");
  if (v.bos_id < 0) v.bos_id = id_of("<s>");
  if (v.eos_id < 0) v.eos_id = id_of("</s>");
  v.merges.clear();
}

}  // namespace

HfTokenizerJson read_hf_tokenizer_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw FormatError(file.string(), "cannot open tokenizer.json");
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) throw FormatError(file.string(), "not valid JSON");
  const json& model = j.contains("model") ? j["model"] : json();
  if (model.value("type", "") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
    throw FormatError(file.string(),
                      "only byte-level BPE tokenizer.json (model.type \"BPE\") is "
                      "supported; pass a tokenizer.model for SentencePiece models");
  HfTokenizerJson out;
  VocabSpec& v = out.vocab;
  v.kind = VocabKind::ByteLevelBpe;
  std::unordered_map<std::string, int32_t> ids;
  auto put = [&](const std::string& piece, int64_t id, int32_t type) {
    if (id < 0 || id > (1 << 24))
      throw FormatError(file.string(), fmt::format("token \"{}\" has id {}", piece, id));
    if (static_cast<size_t>(id) >= v.tokens.size()) {
      v.tokens.resize(static_cast<size_t>(id) + 1);
      v.token_types.resize(static_cast<size_t>(id) + 1, kUnused);
    }
    v.tokens[static_cast<size_t>(id)] = piece;
    v.token_types[static_cast<size_t>(id)] = type;
    ids[piece] = static_cast<int32_t>(id);
  };
  for (const auto& [piece, id] : model["vocab"].items()) put(piece, id.get<int64_t>(), kNormal);
  for (const auto& t : j.value("added_tokens", json::array()))
    put(t.at("content").get<std::string>(), t.at("id").get<int64_t>(),
        t.value("special", false) ? kControl : kUserDefined);
  for (const auto& m : model.value("merges", json::array())) {
    if (m.is_string())
      v.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2)
      v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else
      throw FormatError(file.string(), fmt::format("bad merge entry {}", m.dump()));
  }
  const bool configured = read_config(file, out, ids);
  if (is_sentencepiece_style(j)) {
    to_sentencepiece(v, ids);
    if (!configured) v.add_bos = v.bos_id >= 0;  // SentencePiece models add BOS by default
    return out;
  }
  out.pattern = split_regex(j.value("pre_tokenizer", json()));
  if (out.pattern.empty()) out.pattern = byte_level_pattern("");
  return out;
}

}  // namespace tplm
