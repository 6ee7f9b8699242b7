// The Hugging Face folder reader against folders written by the reference
// python safetensors package, and malformed inputs one fault at a time.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "format/model_file.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path write_tiny(const std::string& dtype, const std::string& arch, bool tied, int shards) {
  fs::path dir = test::make_temp_dir("hf_" + dtype + arch);
  fs::path script = test::source_dir() / "tests/format/hf_write_tiny.py";
  auto r = test::run_command(fmt::format("python3 '{}' '{}' {} {} {} {}", script.string(),
                                         dir.string(), dtype, arch, tied ? 1 : 0, shards));
  if (r.exit_code != 0) return {};
  (void)r;
  return dir;
}

#define WRITE_OR_SKIP(dir, ...)                                                \
  fs::path dir = write_tiny(__VA_ARGS__);                                      \
  if (dir.empty())                                                             \
    GTEST_SKIP() << "python3 with numpy + safetensors is needed to write the " \
                    "folder";

// HF name -> canonical name, spelled out independently of the reader.
std::string expected_name(const std::string& hf) {
  static const std::map<std::string, std::string> top = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"}};
  if (top.count(hf)) return top.at(hf);
  static const std::map<std::string, std::string> layer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  const std::string rest = hf.substr(std::strlen("model.layers.0."));
  return "blk." + hf.substr(13, 1) + "." + layer.at(rest);
}

float half_to_float(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                   : std::ldexp(static_cast<float>(m | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

float element_at(const TensorInfo& t, uint64_t offset) {
  std::ifstream in(t.path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  uint8_t b[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(b), t.dtype == DType::F32 ? 4 : 2);
  uint32_t u = 0;
  if (t.dtype == DType::F32) std::memcpy(&u, b, 4);
  if (t.dtype == DType::BF16) u = static_cast<uint32_t>(b[0] | (b[1] << 8)) << 16;
  if (t.dtype == DType::F16) return half_to_float(static_cast<uint16_t>(b[0] | (b[1] << 8)));
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void check_folder(const fs::path& dir, DType dtype, bool qwen, bool tied) {
  ModelFile m = read_hf_folder(dir);
  EXPECT_EQ(m.format, FileFormat::HuggingFace);
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.architecture, qwen ? "qwen2" : "llama");
  EXPECT_EQ(c.dim, 16);
  EXPECT_EQ(c.ffn_dim, 32);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_EQ(c.vocab_size, 64);
  EXPECT_EQ(c.context_length, 128);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::Llama3);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_EQ(c.rope_scaling.original_context, 64);
  EXPECT_EQ(c.tied_embeddings, tied);
  EXPECT_EQ(c.qkv_bias, qwen);
  EXPECT_EQ(m.tokenizer_path, (dir / "tokenizer.json").string());

  std::ifstream in(dir / "manifest.json");
  const json manifest = json::parse(in);
  ASSERT_EQ(m.tensors.size(), manifest.size());
  const uint64_t es = dtype == DType::F32 ? 4 : 2;
  for (const auto& [hf, e] : manifest.items()) {
    SCOPED_TRACE(hf);
    const TensorInfo* t = m.find(expected_name(hf));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->source_name, hf);
    EXPECT_EQ(t->dtype, dtype);
    EXPECT_EQ(t->shape, e["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(t->path, (dir / e["file"].get<std::string>()).string());
    EXPECT_EQ(t->nbytes, static_cast<uint64_t>(t->elements()) * es);
    EXPECT_EQ(element_at(*t, t->offset), e["first"].get<float>());
    EXPECT_EQ(element_at(*t, t->offset + t->nbytes - es), e["last"].get<float>());
    const bool qk =
        t->name.find("attn_q") != std::string::npos || t->name.find("attn_k") != std::string::npos;
    EXPECT_EQ(t->rope_layout, qk ? RopeLayout::RotateHalf : RopeLayout::Interleaved);
  }
}

TEST(HfReader, LlamaF32SingleFileUntied) {
  WRITE_OR_SKIP(dir, "F32", "llama", false, 1);
  check_folder(dir, DType::F32, false, false);
}
TEST(HfReader, LlamaF16ShardedTied) {
  WRITE_OR_SKIP(dir, "F16", "llama", true, 2);
  check_folder(dir, DType::F16, false, true);
}
TEST(HfReader, Qwen2BF16ShardedUntiedWithBiases) {
  WRITE_OR_SKIP(dir, "BF16", "qwen2", false, 2);
  check_folder(dir, DType::BF16, true, false);
}
TEST(HfReader, Qwen2F32TiedByMissingLmHead) {
  WRITE_OR_SKIP(dir, "F32", "qwen2", true, 1);
  json cfg = json::parse(std::ifstream(dir / "config.json"));
  cfg.erase("tie_word_embeddings");
  std::ofstream(dir / "config.json") << cfg.dump();
  check_folder(dir, DType::F32, true, true);
}

// ---- malformed inputs, one fault at a time ----

std::string error_of(const fs::path& dir) {
  try {
    read_hf_folder(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void edit_config(const fs::path& dir, const std::function<void(json&)>& f) {
  json cfg = json::parse(std::ifstream(dir / "config.json"));
  f(cfg);
  std::ofstream(dir / "config.json") << cfg.dump();
}

// Rewrites model.safetensors with header h (a JSON text) and n data bytes.
void write_safetensors(const fs::path& dir, const std::string& h, size_t n,
                       uint64_t len_override = 0) {
  std::ofstream out(dir / "model.safetensors", std::ios::binary | std::ios::trunc);
  uint64_t len = len_override ? len_override : h.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << h << std::string(n, '\0');
}

TEST(HfReaderErrors, ConfigFaults) {
  WRITE_OR_SKIP(dir, "F32", "llama", false, 1);
  const std::string good =
      std::string(std::istreambuf_iterator<char>(std::ifstream(dir / "config.json").rdbuf()), {});
  auto expect = [&](const std::function<void(json&)>& f, const std::string& fragment) {
    std::ofstream(dir / "config.json") << good;
    edit_config(dir, f);
    const std::string msg = error_of(dir);
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  };
  expect([](json& j) { j.erase("hidden_size"); }, "'hidden_size'");
  expect([](json& j) { j["num_hidden_layers"] = "two"; }, "'num_hidden_layers' must be an integer");
  expect([](json& j) { j["rms_norm_eps"] = "x"; }, "'rms_norm_eps' must be a number");
  expect([](json& j) { j["architectures"] = {"GPT2LMHeadModel"}; }, "Qwen2ForCausalLM");
  expect(
      [](json& j) {
        j["rope_scaling"] = {{"type", "yarn"}, {"factor", 2}};
      },
      "rope_scaling type 'yarn'");
  expect([](json& j) { j["rope_scaling"] = {{"type", "linear"}}; }, "'factor'");
  expect([](json& j) { j["tie_word_embeddings"] = 3; },
         "'tie_word_embeddings' must be true or false");
  expect([](json& j) { j["num_attention_heads"] = 3; }, "config.json");
  std::ofstream(dir / "config.json") << "{\"hidden_size\": 16,,}";
  EXPECT_NE(error_of(dir).find("not valid JSON"), std::string::npos) << error_of(dir);
  EXPECT_NE(error_of(dir).find("offset 20"), std::string::npos) << error_of(dir);
}

TEST(HfReaderErrors, SafetensorsFaults) {
  WRITE_OR_SKIP(dir, "F32", "llama", false, 1);
  auto expect = [&](const std::string& fragment) {
    const std::string msg = error_of(dir);
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  };
  write_safetensors(dir, "{}", 0, 1u << 30);
  expect("larger than the file");
  write_safetensors(dir, "{\"a\": ", 0);
  expect("not valid JSON");
  write_safetensors(dir, R"({"a": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]}})", 4);
  expect("tensor 'a' has dtype I8");
  write_safetensors(dir, R"({"a": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", 4);
  expect("F32, F16, BF16");
  write_safetensors(dir, R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}})", 16);
  expect("hold 12 bytes");
  write_safetensors(dir, R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8);
  expect("past the end");
  write_safetensors(dir,
                    R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                        "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                    16);
  expect("overlap");
  write_safetensors(dir, R"({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})", 16);
  expect("non-negative integers");
  write_safetensors(dir, R"({"a": {"dtype": "F32", "data_offsets": [0, 16]}})", 16);
  expect("no 'shape'");
  // A valid file whose tensors do not fit the configuration.
  write_safetensors(
      dir,
      R"({"model.embed_tokens.weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
      16);
  expect("model.embed_tokens.weight");
}

TEST(HfReaderErrors, IndexAndMissingFiles) {
  WRITE_OR_SKIP(dir, "F32", "llama", false, 2);
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"weight_map": {"x": "../etc/passwd"}})";
  EXPECT_NE(error_of(dir).find("not a file in the folder"), std::string::npos) << error_of(dir);
  std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata": {}})";
  EXPECT_NE(error_of(dir).find("weight_map"), std::string::npos) << error_of(dir);
  fs::remove(dir / "model.safetensors.index.json");
  EXPECT_NE(error_of(dir).find("no model.safetensors"), std::string::npos) << error_of(dir);
  fs::remove(dir / "config.json");
  EXPECT_NE(error_of(dir).find("config.json"), std::string::npos) << error_of(dir);
}

}  // namespace
}  // namespace tplm
