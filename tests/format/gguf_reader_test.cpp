#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "format/format_error.hpp"
#include "format/gguf_test_writer.hpp"
#include "format/model_file.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

using test::GgufBuilder;
using test::GgufLayout;
using test::tiny_llama;

std::filesystem::path temp_gguf(const std::vector<uint8_t>& bytes,
                                const std::string& name = "m.gguf") {
  static const auto dir = test::make_temp_dir("tplm-gguf");
  return test::write_file(dir / name, bytes);
}

// The message of the FormatError that reading these bytes throws ("" and a test
// failure when the file is accepted).
std::string error_of(const std::vector<uint8_t>& bytes) {
  auto path = temp_gguf(bytes, "bad.gguf");
  try {
    read_gguf(path);
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos)
        << "message does not name the file: " << msg;
    return msg;
  }
  ADD_FAILURE() << "a malformed GGUF file was accepted";
  return "";
}

#define EXPECT_HAS(msg, fragment)                    \
  EXPECT_NE((msg).find(fragment), std::string::npos) \
      << "missing \"" << (fragment) << "\" in: " << (msg)

std::string at(uint64_t offset) {
  return fmt::format("at offset {}:", offset);
}

TEST(GgufReader, ReadsTinyLlamaWrittenByTheTestWriter) {
  GgufLayout l;
  GgufBuilder g = tiny_llama();
  ModelFile m = read_gguf(temp_gguf(g.bytes(&l)));
  EXPECT_EQ(m.format, FileFormat::Gguf);
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.dim, 32);
  EXPECT_EQ(c.ffn_dim, 64);
  EXPECT_EQ(c.n_layers, 1);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.rope_dim, 8);
  EXPECT_EQ(c.vocab_size, 16);
  EXPECT_EQ(c.context_length, 64);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-6f);
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::None);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  ASSERT_EQ(m.tensors.size(), 12u);
  // ne = [64, 32] in the file is shape [32, 64] row-major.
  const TensorInfo& down = m.at("blk.0.ffn_down.weight");
  EXPECT_EQ(down.shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(down.dtype, DType::F32);
  EXPECT_EQ(down.nbytes, 32u * 64 * 4);
  EXPECT_EQ(down.path, m.path);
  // Tensors follow each other at 32-byte aligned offsets from the data section.
  EXPECT_EQ(m.tensors[0].offset, l.data_start);
  EXPECT_EQ(m.tensors[1].offset, l.data_start + 16 * 32 * 4);
  EXPECT_EQ(m.tensors[2].offset, l.data_start + 16 * 32 * 4 + 32 * 4);
  ASSERT_TRUE(m.vocab.has_value());
  const VocabSpec& v = *m.vocab;
  EXPECT_EQ(v.kind, VocabKind::SentencePieceBpe);
  ASSERT_EQ(v.tokens.size(), 16u);
  EXPECT_EQ(v.tokens[1], "<s>");
  EXPECT_EQ(v.tokens[5], "\xe2\x96\x81t5");
  EXPECT_FLOAT_EQ(v.scores[7], -7.0f);
  EXPECT_EQ(v.token_types[0], kUnknown);
  EXPECT_EQ(v.token_types[4], kNormal);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.pad_id, -1);
  EXPECT_TRUE(v.add_bos);
}

// A file written by the reference writer (python gguf.GGUFWriter) in every dtype
// tplm reads; the expected layout is what gguf's own reader sees.
TEST(GgufReader, ReadsAFileWrittenByThePythonGgufPackage) {
  const auto dir = test::make_temp_dir("tplm-gguf-py");
  const auto script = test::source_dir() / "tests" / "format" / "gguf_write_tiny.py";
  auto r = test::run_command(fmt::format("python3 '{}' '{}'", script.string(), dir.string()));
  if (r.exit_code == 77 || r.exit_code == 127)
    GTEST_SKIP() << "python3 or its gguf package is absent: " << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));

  ModelFile m = read_gguf(dir / "tiny.gguf");
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.ffn_dim, 96);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.vocab_size, 40);
  EXPECT_EQ(c.context_length, 256);
  EXPECT_FALSE(c.tied_embeddings);
  // Checked by hand: Q8_0 [40, 64] = 40 * 2 blocks of 34 bytes; Q4_0 [32, 64] = 64 blocks of 18.
  EXPECT_EQ(m.at("token_embd.weight").dtype, DType::Q8_0);
  EXPECT_EQ(m.at("token_embd.weight").nbytes, 2720u);
  EXPECT_EQ(m.at("blk.1.attn_v.weight").dtype, DType::Q4_0);
  EXPECT_EQ(m.at("blk.1.attn_v.weight").nbytes, 64u * 18);
  EXPECT_EQ(m.at("blk.0.ffn_up.weight").dtype, DType::BF16);
  EXPECT_EQ(m.at("blk.0.ffn_up.weight").shape, (std::vector<int64_t>{96, 64}));

  ASSERT_EQ(m.tensors.size(), expected["tensors"].size());
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorInfo& t = m.tensors[i];
    const auto& e = expected["tensors"][i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, e["name"].get<std::string>());
    EXPECT_EQ(dtype_name(t.dtype), e["dtype"].get<std::string>());
    EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.offset, e["offset"].get<uint64_t>());
    EXPECT_EQ(t.nbytes, e["nbytes"].get<uint64_t>());
  }
  ASSERT_TRUE(m.vocab.has_value());
  EXPECT_EQ(m.vocab->tokens, expected["tokens"].get<std::vector<std::string>>());
  EXPECT_EQ(m.vocab->tokens[11],
            "\xe2\x96\x81"
            "a");
  EXPECT_EQ(m.vocab->token_types[3], kByte);
  EXPECT_FLOAT_EQ(m.vocab->scores[39], -39.0f);
  EXPECT_EQ(m.vocab->bos_id, 1);
  EXPECT_EQ(m.vocab->eos_id, 2);
  EXPECT_TRUE(m.vocab->add_bos);
}

std::string file_bytes(const std::string& path, uint64_t offset, uint64_t n) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string out(n, '\0');
  in.read(out.data(), static_cast<std::streamsize>(n));
  EXPECT_EQ(static_cast<uint64_t>(in.gcount()), n) << path;
  return out;
}

// The real model, converted by python gguf: same configuration as its llama2.c
// checkpoint, and every tensor's bytes are the same weights.
TEST(GgufReader, ReadsStories260KConvertedByPythonGguf) {
  const auto dir = test::make_temp_dir("tplm-gguf-stories");
  const auto script = test::source_dir() / "tests" / "format" / "gguf_write_stories.py";
  auto r = test::run_command(fmt::format("python3 '{}' '{}' '{}'", script.string(),
                                         test::stories_dir().string(), dir.string()));
  if (r.exit_code == 77 || r.exit_code == 127)
    GTEST_SKIP() << "python3 or its gguf/sentencepiece packages are absent: " << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ModelFile g = open_model(dir / "stories260K.gguf");
  ModelFile l = read_llama2c(test::stories_dir() / "stories260K.bin");
  EXPECT_EQ(g.format, FileFormat::Gguf);
  EXPECT_EQ(g.config.dim, 64);
  EXPECT_EQ(g.config.ffn_dim, 172);
  EXPECT_EQ(g.config.n_layers, 5);
  EXPECT_EQ(g.config.n_heads, 8);
  EXPECT_EQ(g.config.n_kv_heads, 4);
  EXPECT_EQ(g.config.head_dim, 8);
  EXPECT_EQ(g.config.rope_dim, 8);
  EXPECT_EQ(g.config.vocab_size, 512);
  EXPECT_EQ(g.config.context_length, 512);
  EXPECT_TRUE(g.config.tied_embeddings);
  EXPECT_FLOAT_EQ(g.config.rope_theta, 10000.0f);
  EXPECT_FLOAT_EQ(g.config.rms_eps, 1e-5f);
  ASSERT_EQ(g.tensors.size(), l.tensors.size());
  for (const TensorInfo& lt : l.tensors) {
    SCOPED_TRACE(lt.name);
    const TensorInfo& gt = g.at(lt.name);
    EXPECT_EQ(gt.shape, lt.shape);
    EXPECT_EQ(gt.dtype, DType::F32);
    ASSERT_EQ(gt.nbytes, lt.nbytes);
    EXPECT_EQ(gt.offset % 32, 0u);
    EXPECT_TRUE(file_bytes(gt.path, gt.offset, gt.nbytes) ==
                file_bytes(lt.path, lt.offset, lt.nbytes));
  }
  ASSERT_TRUE(g.vocab.has_value());
  const VocabSpec& v = *g.vocab;
  EXPECT_EQ(v.kind, VocabKind::SentencePieceBpe);
  ASSERT_EQ(v.tokens.size(), 512u);
  EXPECT_EQ(v.tokens[3], "<0x00>");
  EXPECT_EQ(v.token_types[3], kByte);
  EXPECT_EQ(v.tokens[259], "\xe2\x96\x81t");  // "▁t"
  EXPECT_EQ(v.token_types[259], kNormal);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_LT(v.scores[300], v.scores[259]);  // earlier merges score higher
}

std::string meta(const ModelFile& m, const std::string& key) {
  for (const auto& [k, v] : m.metadata)
    if (k == key) return v;
  return "<absent>";
}

TEST(GgufReader, MetadataIsPrintable) {
  GgufBuilder g = tiny_llama();
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_EQ(meta(m, "gguf.version"), "3");
  EXPECT_EQ(meta(m, "general.name"), "tiny");
  EXPECT_EQ(meta(m, "llama.block_count"), "1");
  EXPECT_EQ(meta(m, "llama.rope.freq_base"), "500000");
  EXPECT_EQ(meta(m, "tokenizer.ggml.tokens").rfind("[16 x STRING] \"<unk>\", \"<s>\", \"</s>\"", 0),
            0u)
      << meta(m, "tokenizer.ggml.tokens");
  EXPECT_EQ(meta(m, "tokenizer.ggml.token_type"), "[16 x INT32] 2, 3, 3, 1, 1, 1, 1, 1, ...");
}

TEST(GgufReader, AcceptsVersion2AndIntegersOfAnyType) {
  GgufBuilder g = tiny_llama();
  g.version = 2;
  g.scalar<uint8_t>("llama.block_count", test::kU8, 1);
  g.scalar<int64_t>("llama.attention.head_count", test::kI64, 4);
  g.scalar<uint16_t>("llama.attention.head_count_kv", test::kU16, 2);
  g.scalar<int32_t>("llama.context_length", test::kI32, 128);
  g.scalar<uint64_t>("llama.feed_forward_length", test::kU64, 64);
  g.scalar<double>("llama.rope.freq_base", test::kF64, 10000.0);
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_EQ(m.config.n_layers, 1);
  EXPECT_EQ(m.config.n_heads, 4);
  EXPECT_EQ(m.config.n_kv_heads, 2);
  EXPECT_EQ(m.config.context_length, 128);
  EXPECT_FLOAT_EQ(m.config.rope_theta, 10000.0f);
}

TEST(GgufReader, DefaultsAndTiedEmbeddings) {
  GgufBuilder g = tiny_llama();
  for (const char* k : {"llama.attention.head_count_kv", "llama.rope.dimension_count",
                        "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon"})
    g.remove(k);
  std::erase_if(g.tensors, [](const auto& t) { return t.name == "output.weight"; });
  // Without head_count_kv every head has its own kv head: k and v are [dim, dim].
  g.find_tensor("blk.0.attn_k.weight")->ne = {32, 32};
  g.find_tensor("blk.0.attn_v.weight")->ne = {32, 32};
  g.find_tensor("blk.0.attn_k.weight")->nbytes = 32 * 32 * 4;
  g.find_tensor("blk.0.attn_v.weight")->nbytes = 32 * 32 * 4;
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_EQ(m.config.n_kv_heads, 4);
  EXPECT_EQ(m.config.rope_dim, 8);
  EXPECT_FLOAT_EQ(m.config.rope_theta, 10000.0f);
  EXPECT_FLOAT_EQ(m.config.rms_eps, 1e-5f);
  EXPECT_TRUE(m.config.tied_embeddings);
  EXPECT_EQ(m.find("output.weight"), nullptr);
}

TEST(GgufReader, Qwen2BiasesAndLlama3RopeScaling) {
  GgufBuilder g = tiny_llama();
  for (auto& kv : g.kvs)
    if (kv.key.rfind("llama.", 0) == 0) kv.key = "qwen2." + kv.key.substr(6);
  g.str("general.architecture", "qwen2");
  g.str("qwen2.rope.scaling.type", "llama3");
  g.f32("qwen2.rope.scaling.factor", 8.0f);
  g.u32("qwen2.rope.scaling.original_context_length", 8192);
  g.tensor("blk.0.attn_q.bias", {32});
  g.tensor("blk.0.attn_k.bias", {16});
  g.tensor("blk.0.attn_v.bias", {16});
  g.tensor("rope_freqs.weight", {4});
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_EQ(m.config.architecture, "qwen2");
  EXPECT_TRUE(m.config.qkv_bias);
  EXPECT_EQ(m.config.rope_scaling.kind, RopeScaling::Kind::Llama3);
  EXPECT_FLOAT_EQ(m.config.rope_scaling.factor, 8.0f);
  EXPECT_EQ(m.config.rope_scaling.original_context, 8192);
  EXPECT_EQ(m.at("rope_freqs.weight").shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(m.at("blk.0.attn_k.bias").shape, (std::vector<int64_t>{16}));
}

TEST(GgufReader, HonoursGeneralAlignment) {
  GgufBuilder g = tiny_llama();
  g.alignment = 256;
  g.u32("general.alignment", 256);
  GgufLayout l;
  ModelFile m = read_gguf(temp_gguf(g.bytes(&l)));
  EXPECT_EQ(l.data_start % 256, 0u);
  EXPECT_EQ(m.tensors[1].offset, l.data_start + 2048);        // 16x32 F32 = 2048, already aligned
  EXPECT_EQ(m.tensors[2].offset, l.data_start + 2048 + 256);  // 128 bytes padded to 256
}

// ---- malformed files: one thing broken at a time ----

TEST(GgufReader, RejectsWrongMagic) {
  GgufBuilder g = tiny_llama();
  g.magic[0] = 'X';
  EXPECT_HAS(error_of(g.bytes()), "not a GGUF file");
}

TEST(GgufReader, RejectsUnsupportedVersions) {
  GgufBuilder g = tiny_llama();
  g.version = 1;
  std::string msg = error_of(g.bytes());
  EXPECT_HAS(msg, at(4));
  EXPECT_HAS(msg, "GGUF version 1 is not supported (only versions 2 and 3)");
  g.version = 0x03000000;  // a big-endian version 3
  EXPECT_HAS(error_of(g.bytes()), "big-endian");
}

TEST(GgufReader, EveryTruncationOfTheHeaderIsAnError) {
  GgufLayout l;
  const auto full = tiny_llama().bytes(&l);
  for (uint64_t keep = 0; keep < l.data_start; ++keep) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(keep));
    std::string msg = error_of(cut);
    if (keep >= 4) {
      EXPECT_HAS(msg, "truncated") << " (cut at " << keep << ")";
    }
  }
}

TEST(GgufReader, RejectsTruncatedTensorData) {
  auto bytes = tiny_llama().bytes();
  bytes.resize(bytes.size() - 1);
  std::string msg = error_of(bytes);
  EXPECT_HAS(msg, "tensor output.weight");
  EXPECT_HAS(msg, "runs past the end");
}

TEST(GgufReader, RejectsAbsurdCountsBeforeAllocating) {
  GgufBuilder g = tiny_llama();
  g.n_kv_override = uint64_t{1} << 60;
  std::string msg = error_of(g.bytes());
  EXPECT_HAS(msg, at(24));
  EXPECT_HAS(msg, "1152921504606846976 metadata pairs");
  g = tiny_llama();
  g.n_tensors_override = uint64_t{1} << 62;
  GgufLayout l;
  msg = error_of(g.bytes(&l));
  EXPECT_HAS(msg, at(l.infos_start));
  EXPECT_HAS(msg, "4611686018427387904 tensors");
}

TEST(GgufReader, RejectsAbsurdStringAndArrayLengths) {
  GgufBuilder g = tiny_llama();
  g.raw("general.name", test::kStr, test::Bytes().put<uint64_t>(uint64_t{1} << 40).b);
  GgufLayout l;
  auto bytes = g.bytes(&l);
  std::string msg = error_of(bytes);
  EXPECT_HAS(msg, "metadata string has length 1099511627776");
  EXPECT_HAS(msg, at(l.kv_offsets.back() + 8 + 12 + 4 + 8));  // key, type id, length
  g = tiny_llama();
  g.raw("big", test::kArr,
        test::Bytes().put<uint32_t>(test::kF32).put<uint64_t>(uint64_t{1} << 61).b);
  EXPECT_HAS(error_of(g.bytes()), "array of 2305843009213693952 FLOAT32 elements");
  g = tiny_llama();
  g.raw("strings", test::kArr, test::Bytes().put<uint32_t>(test::kStr).put<uint64_t>(1000000).b);
  EXPECT_HAS(error_of(g.bytes()), "array of 1000000 STRING elements");
}

TEST(GgufReader, RejectsBadValueTypesAndDeepNesting) {
  GgufBuilder g = tiny_llama();
  g.raw("weird", 13, {0});
  EXPECT_HAS(error_of(g.bytes()), "metadata value type is 13, not a GGUF value type");
  g = tiny_llama();
  test::Bytes nested;
  for (int i = 0; i < 10; ++i) nested.put<uint32_t>(test::kArr).put<uint64_t>(1);
  nested.put<uint32_t>(test::kU8).put<uint64_t>(0);
  g.raw("deep", test::kArr, nested.b);
  EXPECT_HAS(error_of(g.bytes()), "arrays nested more than 8 deep");
}

TEST(GgufReader, ReadsShallowNestedArrays) {
  GgufBuilder g = tiny_llama();
  test::Bytes nested;
  nested.put<uint32_t>(test::kArr).put<uint64_t>(2);
  nested.put<uint32_t>(test::kU8).put<uint64_t>(1).put<uint8_t>(7);
  nested.put<uint32_t>(test::kI32).put<uint64_t>(0);
  g.raw("nested", test::kArr, nested.b);
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_EQ(meta(m, "nested"), "[2 x ARRAY] [1 x UINT8], [0 x INT32]");
}

TEST(GgufReader, RejectsBadDimensions) {
  GgufLayout l;
  GgufBuilder g = tiny_llama();
  g.find_tensor("blk.0.attn_norm.weight")->ne = {};
  std::string msg = error_of(g.bytes(&l));
  EXPECT_HAS(msg, "tensor blk.0.attn_norm.weight has 0 dimensions (1..4 allowed)");
  EXPECT_HAS(msg, at(l.info_offsets[1] + 8 + 22));
  g.find_tensor("blk.0.attn_norm.weight")->ne = {1, 1, 1, 1, 32};
  EXPECT_HAS(error_of(g.bytes()), "has 5 dimensions");
  g.find_tensor("blk.0.attn_norm.weight")->ne = {32, 0};
  EXPECT_HAS(error_of(g.bytes()), "tensor blk.0.attn_norm.weight has dimension 1 = 0");
  g.find_tensor("blk.0.attn_norm.weight")->ne = {32, ~uint64_t{0}};
  EXPECT_HAS(error_of(g.bytes()), "dimension 1 = -1: it must be positive");
  g.find_tensor("blk.0.attn_norm.weight")->ne = {uint64_t{1} << 40, uint64_t{1} << 40};
  EXPECT_HAS(error_of(g.bytes()), "tensor blk.0.attn_norm.weight: the element count overflows");
}

TEST(GgufReader, RejectsDuplicates) {
  GgufBuilder g = tiny_llama();
  g.tensor("blk.0.attn_norm.weight", {32});
  EXPECT_HAS(error_of(g.bytes()), "tensor blk.0.attn_norm.weight appears twice");
  g = tiny_llama();
  g.kvs.push_back(g.kvs[1]);
  EXPECT_HAS(error_of(g.bytes()), "metadata key general.name appears twice");
}

TEST(GgufReader, RejectsMisalignedAndOutOfFileOffsets) {
  GgufBuilder g = tiny_llama();
  g.find_tensor("output_norm.weight")->offset = 36;
  EXPECT_HAS(error_of(g.bytes()),
             "tensor output_norm.weight has data offset 36, not a multiple of the alignment 32");
  // An offset far past the end, patched into the file (the builder would pad to it).
  g = tiny_llama();
  GgufLayout l;
  auto bytes = g.bytes(&l);
  const uint64_t field = l.info_offsets[10] + 8 + 18 + 4 + 8 + 4;  // output_norm.weight's offset
  const uint64_t huge = uint64_t{1} << 62;
  std::memcpy(bytes.data() + field, &huge, 8);
  std::string msg = error_of(bytes);
  EXPECT_HAS(msg, "tensor output_norm.weight");
  EXPECT_HAS(msg, "at data offset 4611686018427387904) runs past the end");
  g = tiny_llama();
  g.u32("general.alignment", 24);
  EXPECT_HAS(error_of(g.bytes()), "general.alignment = 24: it must be a power of two");
}

TEST(GgufReader, RejectsUnsupportedTensorTypesByName) {
  GgufBuilder g = tiny_llama();
  g.find_tensor("blk.0.ffn_up.weight")->type = test::kGgmlQ2_K;
  std::string msg = error_of(g.bytes());
  EXPECT_HAS(msg, "tensor blk.0.ffn_up.weight has ggml type Q2_K (10)");
  EXPECT_HAS(msg,
             "supported: F32 (0), F16 (1), Q4_0 (2), Q8_0 (8), Q4_K (12), Q5_K (13), Q6_K (14), "
             "BF16 (30)");
  g.find_tensor("blk.0.ffn_up.weight")->type = 77;
  EXPECT_HAS(error_of(g.bytes()), "ggml type unknown (77)");
}

TEST(GgufReader, RejectsQuantizedRowsThatAreNotWholeBlocks) {
  GgufBuilder g = tiny_llama(32, 48);  // ffn_down rows have 48 columns
  g.find_tensor("blk.0.ffn_down.weight")->type = test::kGgmlQ8_0;
  EXPECT_HAS(error_of(g.bytes()), "has 48 columns, not a multiple of its block size 32");
}

TEST(GgufReader, RejectsKeysOfTheWrongType) {
  GgufBuilder g = tiny_llama();
  g.str("llama.block_count", "one");
  EXPECT_HAS(error_of(g.bytes()),
             "metadata key llama.block_count has type STRING but must be an integer");
  g = tiny_llama();
  g.u32("general.architecture", 1);
  EXPECT_HAS(error_of(g.bytes()), "general.architecture has type UINT32 but must be a STRING");
  g = tiny_llama();
  g.array("tokenizer.ggml.tokens", test::kU8, std::vector<uint8_t>{1, 2});
  EXPECT_HAS(error_of(g.bytes()),
             "tokenizer.ggml.tokens has type ARRAY of UINT8 but must be an ARRAY of STRING");
  g = tiny_llama();
  g.scalar<int32_t>("llama.embedding_length", test::kI32, -32);
  EXPECT_HAS(error_of(g.bytes()), "llama.embedding_length = -32 is out of range");
}

TEST(GgufReader, RejectsMissingKeysAndUnknownArchitectures) {
  for (const char* key :
       {"general.architecture", "llama.context_length", "llama.embedding_length",
        "llama.block_count", "llama.feed_forward_length", "llama.attention.head_count"}) {
    GgufBuilder g = tiny_llama();
    g.remove(key);
    EXPECT_HAS(error_of(g.bytes()), fmt::format("missing required metadata key {}", key));
  }
  GgufBuilder g = tiny_llama();
  g.str("general.architecture", "falcon");
  EXPECT_HAS(error_of(g.bytes()),
             "architecture \"falcon\" is not supported (supported: llama, mistral, qwen2)");
  g = tiny_llama();
  g.str("llama.rope.scaling.type", "yarn");
  EXPECT_HAS(error_of(g.bytes()), "rope scaling type \"yarn\" is not supported");
  g = tiny_llama();
  g.str("llama.rope.scaling.type", "linear");
  g.f32("llama.rope.scaling.factor", 0.0f);
  EXPECT_HAS(error_of(g.bytes()),
             "llama.rope.scaling.factor = 0: a rope scaling factor must be positive");
}

TEST(GgufReader, RejectsShapesThatDisagreeWithTheConfig) {
  GgufBuilder g = tiny_llama();
  g.u32("llama.feed_forward_length", 96);
  EXPECT_HAS(error_of(g.bytes()), "has shape [64, 32] but the configuration needs [96, 32]");
  g = tiny_llama();
  g.u32("llama.vocab_size", 17);
  EXPECT_HAS(error_of(g.bytes()), "llama.vocab_size = 17 but token_embd.weight has 16 rows");
  g = tiny_llama();
  g.u32("llama.block_count", 1000000);
  EXPECT_HAS(error_of(g.bytes()), "llama.block_count = 1000000 but the file has only 12 tensors");
}

TEST(GgufReader, RejectsAVocabularyLargerThanTheEmbedding) {
  GgufBuilder g = tiny_llama();
  GgufBuilder bigger = tiny_llama(32, 64, 20);
  *g.find("tokenizer.ggml.tokens") = *bigger.find("tokenizer.ggml.tokens");
  EXPECT_HAS(error_of(g.bytes()), "tokenizer has 20 tokens but the embedding has 16 rows");
  g = tiny_llama();
  g.array("tokenizer.ggml.scores", test::kF32, std::vector<float>{1, 2});
  EXPECT_HAS(error_of(g.bytes()),
             "tokenizer.ggml.scores has 2 entries but tokenizer.ggml.tokens has 16");
}

TEST(GgufReader, UnsupportedTokenizerLeavesVocabEmptyWithANote) {
  GgufBuilder g = tiny_llama();
  g.str("tokenizer.ggml.model", "bert");
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_FALSE(m.vocab.has_value());
  EXPECT_HAS(meta(m, "tplm.note.tokenizer"),
             "tokenizer model \"bert\" (WordPiece) is not supported");
  EXPECT_EQ(m.no_vocab_reason, meta(m, "tplm.note.tokenizer"));
}

TEST(GgufReader, ReadsTheVocabularyFlags) {
  GgufBuilder g = tiny_llama();
  ModelFile m = read_gguf(temp_gguf(g.bytes()));
  ASSERT_TRUE(m.vocab);
  EXPECT_TRUE(m.vocab->add_space_prefix);  // SentencePiece's default
  EXPECT_FALSE(m.vocab->add_bos_given);
  g.boolean("tokenizer.ggml.add_space_prefix", false);
  g.boolean("tokenizer.ggml.add_bos_token", false);
  m = read_gguf(temp_gguf(g.bytes()));
  EXPECT_FALSE(m.vocab->add_space_prefix);
  EXPECT_FALSE(m.vocab->add_bos);
  EXPECT_TRUE(m.vocab->add_bos_given);
}

// llama.cpp's models/ggml-vocab-*.gguf: a vocabulary, an architecture tplm
// does not run, no tensors. Only the tokenizer's reader takes it.
TEST(GgufReader, ReadsAVocabularyOnlyFileForItsTokenizer) {
  GgufBuilder g = tiny_llama();
  g.tensors.clear();
  g.str("general.architecture", "falcon");
  const auto path = temp_gguf(g.bytes(), "vocab-only.gguf");
  EXPECT_THROW(read_gguf(path), FormatError);
  ModelFile m = open_model_for_tokenizer(path);
  EXPECT_EQ(m.format, FileFormat::Gguf);
  EXPECT_EQ(m.config.architecture, "falcon");
  ASSERT_TRUE(m.vocab);
  EXPECT_EQ(m.vocab->tokens.size(), 16u);
  EXPECT_EQ(m.config.vocab_size, 16);
  // With weights, the embedding still bounds the vocabulary.
  m = open_model_for_tokenizer(temp_gguf(tiny_llama().bytes(), "full.gguf"));
  EXPECT_EQ(m.config.vocab_size, 16);
  EXPECT_EQ(m.tensors.size(), 12u);
  // Other formats open as open_model does.
  EXPECT_THROW(open_model_for_tokenizer("/nonexistent/model.gguf"), FormatError);
}

TEST(GgufReader, OpenModelRecognisesGguf) {
  ModelFile m = open_model(temp_gguf(tiny_llama().bytes(), "open.gguf"));
  EXPECT_EQ(m.format, FileFormat::Gguf);
  EXPECT_EQ(m.config.dim, 32);
}

}  // namespace
}  // namespace tplm
