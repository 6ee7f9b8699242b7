// Issue 2's proof that the readers agree: stories260K as llama2.c, as GGUF and
// as a Hugging Face folder (tools/make_test_fixtures.py converts it) inspect to
// the same configuration and, tensor by tensor after the RoPE layout is
// normalized, to the same float values, read back through the readers.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "format/model_file.hpp"
#include "format/rope_layout.hpp"
#include "format/tensor_read.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

struct Formats {
  fs::path llama2c, gguf, hf;
};

// GTEST_SKIP must run in the test body; this returns false with the reason.
bool find_formats(Formats& f, std::string& why) {
  f = {test::stories_dir() / "stories260K.bin", test::fixtures_dir() / "stories260K.gguf",
       test::fixtures_dir() / "stories260K-hf"};
  for (const fs::path& p : {f.llama2c, f.gguf, f.hf})
    if (!fs::exists(p)) {
      why = p.string() + " is absent (made by tools/make_test_fixtures.py)";
      return false;
    }
  return true;
}

// The tensor's f32 values (all three are F32 files), Q/K rows normalized to interleaved.
std::vector<float> values(const TensorInfo& t, const ModelConfig& c) {
  EXPECT_EQ(t.dtype, DType::F32) << t.name;
  std::vector<float> v(static_cast<size_t>(t.elements()));
  TensorReader reader;
  reader.read_block(t, {0, t.rows()}, {0, t.cols()}, v.data());
  if (t.rope_layout == RopeLayout::RotateHalf) {
    const int64_t rows = t.shape.size() == 1 ? t.cols() : t.rows();
    const uint64_t row_bytes = t.shape.size() == 1 ? sizeof(float) : t.cols() * sizeof(float);
    rotate_half_to_interleaved(v.data(), rows / c.head_dim, c.head_dim, row_bytes);
  }
  return v;
}

TEST(InspectFormats, ThreeFormatsOfStoriesHoldTheSameModel) {
  Formats f;
  std::string why;
  if (!find_formats(f, why)) GTEST_SKIP() << why;
  const ModelFile ref = open_model(f.llama2c);
  for (const fs::path& p : {f.gguf, f.hf}) {
    const ModelFile m = open_model(p);
    EXPECT_EQ(m.config.dim, ref.config.dim) << p;
    EXPECT_EQ(m.config.ffn_dim, ref.config.ffn_dim) << p;
    EXPECT_EQ(m.config.n_layers, ref.config.n_layers) << p;
    EXPECT_EQ(m.config.n_heads, ref.config.n_heads) << p;
    EXPECT_EQ(m.config.n_kv_heads, ref.config.n_kv_heads) << p;
    EXPECT_EQ(m.config.head_dim, ref.config.head_dim) << p;
    EXPECT_EQ(m.config.vocab_size, ref.config.vocab_size) << p;
    EXPECT_EQ(m.config.context_length, ref.config.context_length) << p;
    EXPECT_EQ(m.config.rope_dim, ref.config.rope_dim) << p;
    EXPECT_EQ(m.config.rope_theta, ref.config.rope_theta) << p;
    EXPECT_EQ(m.config.rms_eps, ref.config.rms_eps) << p;
    EXPECT_EQ(m.config.tied_embeddings, ref.config.tied_embeddings) << p;
    ASSERT_EQ(m.tensors.size(), ref.tensors.size()) << p;
    int rotated = 0;
    for (const TensorInfo& want : ref.tensors) {
      const TensorInfo* got = m.find(want.name);
      ASSERT_NE(got, nullptr) << p << " lacks " << want.name;
      EXPECT_EQ(got->shape, want.shape) << p << " " << want.name;
      rotated += got->rope_layout == RopeLayout::RotateHalf;
      const std::vector<float> a = values(*got, m.config), b = values(want, ref.config);
      // Bit for bit: the same f32 values, after the same permutation.
      EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)))
          << p << " " << want.name << " differs from the llama2.c checkpoint";
    }
    // The HF folder stores Q and K of 5 layers rotate-half; GGUF none.
    EXPECT_EQ(rotated, m.format == FileFormat::HuggingFace ? 10 : 0) << p;
  }
}

nlohmann::json inspect_json(const fs::path& model, const std::string& extra) {
  auto r = test::run_command(test::tplm_exe().string() + " inspect '" + model.string() +
                             "' --json " + extra + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(InspectFormats, JsonGivesTheSameConfigurationForEveryFormat) {
  Formats f;
  std::string why;
  if (!find_formats(f, why)) GTEST_SKIP() << why;
  const std::string tok = "--tokenizer '" + (test::stories_dir() / "tok512.bin").string() + "'";
  const nlohmann::json ref = inspect_json(f.llama2c, tok);
  EXPECT_EQ(ref["format"], "llama2c");
  EXPECT_EQ(ref["config"]["dim"], 64);
  EXPECT_EQ(ref["config"]["n_layers"], 5);
  EXPECT_EQ(ref["config"]["n_heads"], 8);
  EXPECT_EQ(ref["config"]["n_kv_heads"], 4);
  EXPECT_EQ(ref["config"]["vocab_size"], 512);
  EXPECT_EQ(ref["tensors"].size(), 47u);
  uint64_t sum = 0;
  for (const auto& t : ref["tensors"]) sum += t["bytes"].get<uint64_t>();
  EXPECT_EQ(ref["total_weight_bytes"].get<uint64_t>(), sum);
  EXPECT_EQ(ref["tokenizer"]["vocab_size"], 512);
  EXPECT_EQ(ref["tokenizer"]["kind"], "sentencepiece-bpe");
  EXPECT_EQ(inspect_json(f.gguf, "")["config"], ref["config"]);
  EXPECT_EQ(inspect_json(f.hf, "")["config"], ref["config"]);
  EXPECT_EQ(inspect_json(f.gguf, "")["tokenizer"]["vocab_size"], 512);
}

TEST(InspectFormats, TextNamesEveryTensorAndBadFilesAreErrors) {
  const fs::path model = test::stories_dir() / "stories260K.bin";
  auto ok = test::run_command(test::tplm_exe().string() + " inspect '" + model.string() + "'");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  for (const TensorInfo& t : open_model(model).tensors)
    EXPECT_NE(ok.output.find(t.name), std::string::npos) << t.name;

  auto missing = test::run_command(test::tplm_exe().string() + " inspect /nonexistent/m.gguf");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("/nonexistent/m.gguf"), std::string::npos) << missing.output;

  const fs::path cut = test::make_temp_dir("tplm-inspect") / "cut.bin";
  {
    std::ifstream in(model, std::ios::binary);
    std::vector<char> head(100000);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(cut, std::ios::binary)
        .write(head.data(), static_cast<std::streamsize>(head.size()));
  }
  auto truncated = test::run_command(test::tplm_exe().string() + " inspect '" + cut.string() + "'");
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.output.find("truncated"), std::string::npos) << truncated.output;
  fs::remove_all(cut.parent_path());
}

}  // namespace
}  // namespace tplm
