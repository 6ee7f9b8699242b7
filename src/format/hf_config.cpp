#include "format/hf_config.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/format_error.hpp"

namespace tplm {

namespace {

using nlohmann::json;

constexpr const char* kSupported = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM";

struct Keys {
  const std::string& file;
  const json& j;

  [[noreturn]] void bad(const std::string& key, const char* want) const {
    throw FormatError(file, fmt::format("config.json key '{}' must be {}, got {}", key, want,
                                        j.contains(key) ? j.at(key).dump() : "nothing"));
  }
  const json* get(const std::string& key) const {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  int64_t integer(const std::string& key) const {
    const json* v = get(key);
    if (!v) throw FormatError(file, fmt::format("config.json has no '{}'; it is required", key));
    if (!v->is_number_integer()) bad(key, "an integer");
    return v->get<int64_t>();
  }
  int64_t integer_or(const std::string& key, int64_t dflt) const {
    return get(key) ? integer(key) : dflt;
  }
  float number(const std::string& key) const {
    const json* v = get(key);
    if (!v) throw FormatError(file, fmt::format("config.json has no '{}'; it is required", key));
    if (!v->is_number()) bad(key, "a number");
    return v->get<float>();
  }
  float number_or(const std::string& key, float dflt) const {
    return get(key) ? number(key) : dflt;
  }
  bool boolean_or(const std::string& key, bool dflt) const {
    const json* v = get(key);
    if (!v) return dflt;
    if (!v->is_boolean()) bad(key, "true or false");
    return v->get<bool>();
  }
};

std::string architecture(const std::string& file, const json& j) {
  auto it = j.find("architectures");
  if (it == j.end() || !it->is_array() || it->empty() || !(*it)[0].is_string())
    throw FormatError(
        file, fmt::format("config.json key 'architectures' must be a list naming one of: {}",
                          kSupported));
  const std::string a = (*it)[0].get<std::string>();
  if (a == "LlamaForCausalLM") return "llama";
  if (a == "MistralForCausalLM") return "mistral";
  if (a == "Qwen2ForCausalLM") return "qwen2";
  throw FormatError(
      file,
      fmt::format("config.json architecture '{}' is not supported (supported: {})", a, kSupported));
}

RopeScaling rope_scaling(const std::string& file, const json& j) {
  RopeScaling s;
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return s;
  if (!it->is_object())
    throw FormatError(file, "config.json key 'rope_scaling' must be null or an object");
  Keys k{file, *it};
  std::string type;
  for (const char* key : {"rope_type", "type"}) {
    if (const json* v = k.get(key)) {
      if (!v->is_string()) k.bad(key, "a string");
      type = v->get<std::string>();
      break;
    }
  }
  if (type == "linear") {
    s.kind = RopeScaling::Kind::Linear;
    s.factor = k.number("factor");
  } else if (type == "llama3") {
    s.kind = RopeScaling::Kind::Llama3;
    s.factor = k.number("factor");
    s.low_freq_factor = k.number("low_freq_factor");
    s.high_freq_factor = k.number("high_freq_factor");
    s.original_context = k.integer("original_max_position_embeddings");
  } else if (type != "default") {
    throw FormatError(file, fmt::format("config.json rope_scaling type '{}' is not supported "
                                        "(supported: llama3, linear, or null)",
                                        type));
  }
  if (s.kind != RopeScaling::Kind::None && !(s.factor > 0.0f))
    throw FormatError(
        file, fmt::format("config.json rope_scaling factor must be positive, got {}", s.factor));
  return s;
}

json parse_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FormatError(file, "cannot open config.json; a Hugging Face folder needs one");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    json j = json::parse(ss.str());
    if (!j.is_object()) throw FormatError(file, 0, "config.json is not a JSON object");
    return j;
  } catch (const json::parse_error& e) {
    throw FormatError(file, e.byte, fmt::format("config.json is not valid JSON: {}", e.what()));
  } catch (const json::exception& e) {  // a number no double holds (406: '1e400')
    throw FormatError(file, 0, fmt::format("config.json is not valid JSON: {}", e.what()));
  }
}

}  // namespace

HfConfig read_hf_config(const std::string& file) {
  const json j = parse_file(file);
  Keys k{file, j};
  HfConfig h;
  ModelConfig& c = h.config;
  c.architecture = architecture(file, j);
  c.dim = k.integer("hidden_size");
  c.ffn_dim = k.integer("intermediate_size");
  c.n_layers = k.integer("num_hidden_layers");
  c.n_heads = k.integer("num_attention_heads");
  c.n_kv_heads = k.integer_or("num_key_value_heads", c.n_heads);
  c.head_dim = k.integer_or("head_dim", c.n_heads > 0 ? c.dim / c.n_heads : 0);
  c.rope_dim = c.head_dim;
  c.vocab_size = k.integer("vocab_size");
  c.context_length = k.integer("max_position_embeddings");
  c.rms_eps = k.number("rms_norm_eps");
  c.rope_theta = k.number_or("rope_theta", 10000.0f);
  c.rope_scaling = rope_scaling(file, j);
  h.tie_word_embeddings_given = k.get("tie_word_embeddings") != nullptr;
  c.tied_embeddings = k.boolean_or("tie_word_embeddings", false);
  c.qkv_bias = c.architecture == "qwen2" || k.boolean_or("attention_bias", false);
  for (const auto& [key, v] : j.items())
    h.metadata.emplace_back("hf." + key, v.is_string() ? v.get<std::string>() : v.dump());
  return h;
}

}  // namespace tplm
