#include "format/hf_tokenizer_json.hpp"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/format_error.hpp"

namespace tplm {

namespace {

using nlohmann::json;
using Step = PreTokenizeStep;
using Behavior = PreTokenizeStep::Behavior;

// tokenizers' Punctuation pre-tokenizer: char::is_ascii_punctuation (which
// counts $+<=>^`|~) or a Unicode punctuation category.
constexpr const char* kPunctuation = R"([\p{P}!-/:-@\[-`{-~])";

Behavior behavior_of(const json& p, const std::string& file) {
  const std::string b = p.value("behavior", "Isolated");
  for (const auto& [name, value] : {std::pair{"Isolated", Behavior::Isolated},
                                    {"Removed", Behavior::Removed},
                                    {"MergedWithPrevious", Behavior::MergedWithPrevious},
                                    {"MergedWithNext", Behavior::MergedWithNext},
                                    {"Contiguous", Behavior::Contiguous}})
    if (b == name) return value;
  throw FormatError(file, fmt::format("pre-tokenizer behavior \"{}\" is not known", b));
}

// A Split's {"String": s} as a pattern that matches s literally.
std::string literal_pattern(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x80 && !std::isalnum(static_cast<unsigned char>(c)))
      out += '\\';
    out += c;
  }
  return out;
}

// The pre-tokenizer as steps; throws for one whose meaning tplm would only guess.
void add_steps(const json& p, const std::string& file, std::vector<Step>& out) {
  if (!p.is_object()) return;
  const std::string type = p.value("type", "");
  if (type == "Sequence") {
    for (const auto& q : p.value("pretokenizers", json::array())) add_steps(q, file, out);
  } else if (type == "ByteLevel") {
    out.push_back(Step::byte_level(p.value("use_regex", true), p.value("add_prefix_space", false)));
  } else if (type == "Split") {
    if (p.value("invert", false))
      throw FormatError(file, "pre-tokenizer Split with \"invert\": true is not supported");
    const json& pattern = p.contains("pattern") ? p["pattern"] : json();
    if (pattern.contains("Regex"))
      out.push_back(Step::split(pattern["Regex"].get<std::string>(), behavior_of(p, file)));
    else if (pattern.contains("String"))
      out.push_back(
          Step::split(literal_pattern(pattern["String"].get<std::string>()), behavior_of(p, file)));
    else
      throw FormatError(file, fmt::format("pre-tokenizer Split without a pattern: {}", p.dump()));
  } else if (type == "Digits") {
    // char::is_numeric is \p{N}; runs of digits stay together unless individual.
    out.push_back(Step::split(R"(\p{N})", p.value("individual_digits", false)
                                              ? Behavior::Isolated
                                              : Behavior::Contiguous));
  } else if (type == "Punctuation") {
    out.push_back(Step::split(kPunctuation, behavior_of(p, file)));
  } else {
    throw FormatError(file, fmt::format("pre-tokenizer \"{}\" is not supported (tplm runs Split, "
                                        "Digits, Punctuation and ByteLevel, alone or in a "
                                        "Sequence)",
                                        type));
  }
}

// Whether a SentencePiece-style tokenizer.json puts a space before the text:
// a normalizer Prepend("▁"), or a Metaspace pre-tokenizer that prepends.
bool prepends_space(const json& j) {
  if (j.is_array()) {
    for (const auto& e : j)
      if (prepends_space(e)) return true;
    return false;
  }
  if (!j.is_object()) return false;
  const std::string type = j.value("type", "");
  if (type == "Prepend") return j.value("prepend", "") == "\xE2\x96\x81";
  if (type == "Metaspace")
    return j.contains("prepend_scheme") ? j.value("prepend_scheme", "") != "never"
                                        : j.value("add_prefix_space", true);
  for (const char* key : {"normalizers", "pretokenizers"})
    if (j.contains(key) && prepends_space(j[key])) return true;
  return false;
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
bool read_config(const std::filesystem::path& file, VocabSpec& v,
                 const std::unordered_map<std::string, int32_t>& ids) {
  const auto cfg_path = file.parent_path() / "tokenizer_config.json";
  auto id_of = [&](const std::string& name) {
    auto it = ids.find(name);
    return it == ids.end() ? -1 : it->second;
  };
  if (std::ifstream in(cfg_path); in) {
    const json cfg = json::parse(in, nullptr, false);
    if (cfg.is_discarded()) throw FormatError(cfg_path.string(), "not valid JSON");
    v.bos_id = id_of(token_name(cfg, "bos_token"));
    v.eos_id = id_of(token_name(cfg, "eos_token"));
    v.unk_id = id_of(token_name(cfg, "unk_token"));
    v.add_bos = cfg.value("add_bos_token", v.bos_id >= 0);
    v.add_bos_given = true;
    return true;
  } else {
    v.eos_id = id_of("<|endoftext|>");
    v.add_bos = false;
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

VocabSpec read_hf_tokenizer_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw FormatError(file.string(), "cannot open tokenizer.json");
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) throw FormatError(file.string(), "not valid JSON");
  const json& model = j.contains("model") ? j["model"] : json();
  if (model.value("type", "") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
    throw FormatError(file.string(),
                      "only byte-level BPE tokenizer.json (model.type \"BPE\") is "
                      "supported; pass a tokenizer.model for SentencePiece models");
  VocabSpec v;
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
  v.ignore_merges = model.value("ignore_merges", false);
  const bool configured = read_config(file, v, ids);
  if (is_sentencepiece_style(j)) {
    to_sentencepiece(v, ids);
    if (!configured) v.add_bos = v.bos_id >= 0;  // SentencePiece models add BOS by default
    // Neither a normalizer nor a pre-tokenizer to say: SentencePiece's default.
    const json normalizer = j.value("normalizer", json()), pre = j.value("pre_tokenizer", json());
    v.add_space_prefix = (normalizer.is_null() && pre.is_null()) || prepends_space(normalizer) ||
                         prepends_space(pre);
    return v;
  }
  add_steps(j.value("pre_tokenizer", json()), file.string(), v.pre_steps);
  // No pre-tokenizer at all: GPT-2's, the one a byte-level vocabulary was made with.
  if (v.pre_steps.empty()) v.pre_steps.push_back(Step::byte_level(true));
  return v;
}

}  // namespace tplm
