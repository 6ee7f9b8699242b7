// Where the readers find a model's chat template: GGUF tokenizer.chat_template,
// an HF folder's chat_template.jinja or tokenizer_config.json "chat_template"
// (a string, or the list of named templates whose "default" is taken).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "format/format_error.hpp"
#include "format/hf_chat_template.hpp"
#include "format/model_file.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

class HfChatTemplate : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("hf_chat_template"); }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST_F(HfChatTemplate, NoneWhenTheFolderHasNone) {
  EXPECT_EQ(read_hf_chat_template(dir_), "");
  write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  EXPECT_EQ(read_hf_chat_template(dir_), "");
  write("tokenizer_config.json", R"({"chat_template": null})");
  EXPECT_EQ(read_hf_chat_template(dir_), "");
}

TEST_F(HfChatTemplate, AStringInTokenizerConfig) {
  write("tokenizer_config.json", R"({"chat_template": "{{ messages[0]['content'] }}"})");
  EXPECT_EQ(read_hf_chat_template(dir_), "{{ messages[0]['content'] }}");
}

TEST_F(HfChatTemplate, TheDefaultOfNamedTemplates) {
  write("tokenizer_config.json",
        R"({"chat_template": [{"name": "tool_use", "template": "T"},)"
        R"( {"name": "default", "template": "D"}, {"name": "rag", "template": "R"}]})");
  EXPECT_EQ(read_hf_chat_template(dir_), "D");
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
  EXPECT_EQ(read_hf_chat_template(dir_), "");  // none named "default"
}

TEST_F(HfChatTemplate, ChatTemplateJinjaComesFirst) {
  write("tokenizer_config.json", R"({"chat_template": "old"})");
  write("chat_template.jinja", "{{ bos_token }}new\n");
  EXPECT_EQ(read_hf_chat_template(dir_), "{{ bos_token }}new\n");
}

TEST_F(HfChatTemplate, AnotherTypeIsAFormatError) {
  write("tokenizer_config.json", R"({"chat_template": 5})");
  try {
    read_hf_chat_template(dir_);
    FAIL() << "accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chat_template"), std::string::npos) << e.what();
  }
}

std::string fixture_template() {
  std::ifstream in(test::source_dir() / "tests/data/chat/fixture_template.jinja");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ChatTemplateRead, GgufAndHfFixturesCarryTheirTemplate) {
  const fs::path gguf = test::fixtures_dir() / "chat.F32.gguf";
  const fs::path hf = test::fixtures_dir() / "chat-hf-F32";
  if (!fs::exists(gguf) || !fs::exists(hf))
    GTEST_SKIP() << "no chat fixtures in " << test::fixtures_dir()
                 << " (tools/make_test_fixtures.py)";
  const std::string want = fixture_template();
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(open_model(gguf).chat_template, want);
  EXPECT_EQ(open_model(hf).chat_template, want);
}

TEST(ChatTemplateRead, StoriesHasNone) {
  const fs::path gguf = test::fixtures_dir() / "stories260K.gguf";
  if (!fs::exists(gguf)) GTEST_SKIP() << "no " << gguf << " (tools/make_test_fixtures.py)";
  EXPECT_EQ(open_model(gguf).chat_template, "");
}

}  // namespace
}  // namespace tplm
