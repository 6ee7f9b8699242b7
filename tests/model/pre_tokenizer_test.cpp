// Byte-level pre-tokenizers: tplm's PreTokenizer against the pieces Python
// tokenizers' own pre_tokenize_str makes (tools/record_tokenizer_refs.py ->
// tests/data/tokenizers/pre_tokenizer_refs.json), each pre_tokenizer read from
// tokenizer.json the way a model's would be; and the GGUF pre-tokenizer names.
#include "model/tokenizer/pre_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "format/hf_tokenizer_json.hpp"
#include "model/tokenizer/named_pre_tokenizers.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;
using Behavior = PreTokenizeStep::Behavior;

TEST(PreTokenizer, CutsTextAsTokenizersDoes) {
  const nlohmann::json refs = nlohmann::json::parse(
      std::ifstream(test::source_dir() / "tests/data/tokenizers/pre_tokenizer_refs.json"));
  const fs::path dir = test::make_temp_dir("tplm-pre");
  int checked = 0;
  for (const auto& [name, config] : refs.at("pre_tokenizers").items()) {
    const nlohmann::json j = {
        {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}},
        {"pre_tokenizer", config.at("pre_tokenizer")}};
    std::ofstream(dir / "tokenizer.json") << j.dump();
    const PreTokenizer pre(read_hf_tokenizer_json(dir / "tokenizer.json").pre_steps);
    for (const auto& c : config.at("cases")) {
      const auto text = c.at("text").get<std::string>();
      EXPECT_EQ(pre.split(text), c.at("pieces").get<std::vector<std::string>>())
          << name << " text: \"" << text << "\"";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6 * 35);
  fs::remove_all(dir);
}

// A lookahead sees only its own piece: "\s+(?!\S)" at the end of a piece
// takes every space, as tokenizers matches each piece on its own.
TEST(PreTokenizer, EachPieceIsMatchedOnItsOwn) {
  const PreTokenizer pre({PreTokenizeStep::split("x"), PreTokenizeStep::byte_level(true)});
  EXPECT_EQ(pre.split("a  xb"), (std::vector<std::string>{"a", "\xC4\xA0\xC4\xA0", "x", "b"}));
}

TEST(PreTokenizer, BytesThatAreNotUtf8AreAPieceOfTheirOwn) {
  const PreTokenizer pre({PreTokenizeStep::byte_level(true)});
  // 0xFF matches nothing in the regex; it still reaches the merges, mapped ("ÿ").
  EXPECT_EQ(pre.split("ab\xFF"
                      "cd"),
            (std::vector<std::string>{"ab", "\xC3\xBF", "cd"}));
}

TEST(PreTokenizer, ABadRegexIsAnErrorNamingIt) {
  try {
    PreTokenizer pre({PreTokenizeStep::split("(unclosed")});
    ADD_FAILURE() << "a bad regex was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos) << e.what();
  }
}

TEST(NamedPreTokenizers, EveryNameCompilesAndTheUnknownOneIsRefused) {
  std::vector<std::string> warnings;
  for (const char* name : {"gpt-2", "phi-2", "mpt", "olmo", "starcoder", "refact", "command-r",
                           "smollm", "llama-bpe", "llama3", "llama-v3", "qwen2", "deepseek-r1-qwen",
                           "qwen35", "falcon", "deepseek-llm", "deepseek-coder"}) {
    const NamedPreTokenizer named = named_pre_tokenizer(name, warnings);
    EXPECT_NO_THROW(PreTokenizer{named.steps}) << name;
    EXPECT_EQ(named.ignore_merges, std::string(name).starts_with("llama")) << name;
  }
  EXPECT_TRUE(warnings.empty());
  try {
    named_pre_tokenizer("mystery-7b", warnings);
    ADD_FAILURE() << "an unknown pre-tokenizer was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("\"mystery-7b\""), std::string::npos) << msg;
    EXPECT_NE(msg.find(known_pre_tokenizer_names()), std::string::npos) << msg;
    EXPECT_NE(msg.find("llama-bpe"), std::string::npos) << msg;
  }
}

TEST(NamedPreTokenizers, NoNameFallsBackToGpt2WithAWarning) {
  std::vector<std::string> warnings;
  const NamedPreTokenizer none = named_pre_tokenizer("", warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no tokenizer.ggml.pre"), std::string::npos) << warnings[0];
  named_pre_tokenizer("default", warnings);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[1].find("\"default\""), std::string::npos) << warnings[1];
  std::vector<std::string> quiet;
  const PreTokenizer gpt2(named_pre_tokenizer("gpt-2", quiet).steps), fallback(none.steps);
  EXPECT_EQ(fallback.split("It's 1234 things"), gpt2.split("It's 1234 things"));
}

}  // namespace
}  // namespace tplm
