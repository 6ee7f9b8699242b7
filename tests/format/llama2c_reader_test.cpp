#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "format/format_error.hpp"
#include "format/model_file.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

TEST(Llama2cReader, ReadsStories260K) {
  ModelFile m = open_model(test::stories_dir() / "stories260K.bin");
  EXPECT_EQ(m.format, FileFormat::Llama2c);
  EXPECT_EQ(m.config.dim, 64);
  EXPECT_EQ(m.config.ffn_dim, 172);
  EXPECT_EQ(m.config.n_layers, 5);
  EXPECT_EQ(m.config.n_heads, 8);
  EXPECT_EQ(m.config.n_kv_heads, 4);
  EXPECT_EQ(m.config.vocab_size, 512);
  EXPECT_EQ(m.config.context_length, 512);
  EXPECT_TRUE(m.config.tied_embeddings);
  EXPECT_EQ(m.find("output.weight"), nullptr);
  EXPECT_EQ(m.at("blk.4.ffn_down.weight").shape, (std::vector<int64_t>{64, 172}));
  // 28-byte header, then the embedding table.
  EXPECT_EQ(m.at("token_embd.weight").offset, 28u);
}

std::filesystem::path write_truncated_copy(uint64_t keep) {
  auto dir = test::make_temp_dir("tplm-l2c");
  auto out = dir / "truncated.bin";
  std::ifstream in(test::stories_dir() / "stories260K.bin", std::ios::binary);
  std::vector<char> buf(keep);
  in.read(buf.data(), static_cast<std::streamsize>(keep));
  std::ofstream(out, std::ios::binary).write(buf.data(), static_cast<std::streamsize>(keep));
  return out;
}

TEST(Llama2cReader, RejectsTruncatedFileWithOffset) {
  auto path = write_truncated_copy(4096);
  try {
    read_llama2c(path);
    FAIL() << "a truncated checkpoint was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(Llama2cReader, RejectsHeaderOnlyGarbage) {
  auto path = write_truncated_copy(10);
  EXPECT_THROW(read_llama2c(path), FormatError);
}

TEST(OpenModel, MissingPathSaysSo) {
  try {
    open_model("/nonexistent/model.bin");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tplm
