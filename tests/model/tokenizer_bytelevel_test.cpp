// Byte-level BPE (tokenizer.json and GGUF "gpt2" vocabularies) against ids from
// the Python tokenizers package on two tiny tokenizers it trained
// (tools/record_tokenizer_refs.py -> tests/data/tokenizers/bytelevel_*).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/format_error.hpp"
#include "format/hf_tokenizer_json.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/byte_level_bpe.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() {
  return test::source_dir() / "tests/data/tokenizers";
}

nlohmann::json refs() {
  std::ifstream in(data_dir() / "bytelevel_refs.json");
  if (!in) throw std::runtime_error("missing bytelevel_refs.json");
  return nlohmann::json::parse(in);
}

std::string without_special(std::string s) {
  const std::string special = "<|endoftext|>";
  for (size_t at; (at = s.find(special)) != std::string::npos;) s.erase(at, special.size());
  return s;
}

void expect_matches(const Tokenizer& t, const nlohmann::json& cases, const std::string& name) {
  int n = 0;
  for (const auto& c : cases) {
    const auto text = c.at("text").get<std::string>();
    const auto want = c.at("ids").get<std::vector<int32_t>>();
    // Python's tokenizers parses added tokens written in the text: parse_special.
    EXPECT_EQ(t.encode(text, {.add_bos = false, .parse_special = true}), want)
        << name << " text: " << text;
    EXPECT_EQ(t.decode(want), without_special(text)) << name;
    ++n;
  }
  EXPECT_EQ(n, 27) << name;
}

class ByteLevelRefs : public ::testing::TestWithParam<std::string> {};

TEST_P(ByteLevelRefs, TokenizerJsonMatchesPython) {
  const auto file = data_dir() / ("bytelevel_" + GetParam()) / "tokenizer.json";
  VocabSpec v = read_hf_tokenizer_json(file);
  EXPECT_EQ(v.tokens.size(), 400u);
  EXPECT_EQ(v.eos_id, 0);  // <|endoftext|>, the only special token
  ByteLevelBpe t(v);
  expect_matches(t, refs().at("tokenizers").at(GetParam()), GetParam());
}

// The same vocabulary as a GGUF would carry it: the regex comes from
// tokenizer.ggml.pre, not from the JSON.
TEST_P(ByteLevelRefs, GgufStyleVocabMatchesPython) {
  const auto file = data_dir() / ("bytelevel_" + GetParam()) / "tokenizer.json";
  VocabSpec v = read_hf_tokenizer_json(file);
  v.pre_steps.clear();
  v.pre = GetParam() == "gpt2" ? "gpt-2" : "llama-bpe";
  ModelFile m;
  m.path = "model.gguf";
  m.config.vocab_size = 400;
  m.vocab = v;
  auto t = load_tokenizer(m, "");
  EXPECT_EQ(t->kind(), "byte-level-bpe");
  expect_matches(*t, refs().at("tokenizers").at(GetParam()), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Tiny, ByteLevelRefs, ::testing::Values("gpt2", "llama3"));

TEST(ByteLevelBpe, LoadsTokenizerJsonByName) {
  ModelFile m;
  m.path = "model";
  m.config.vocab_size = 400;
  m.tokenizer_path = (data_dir() / "bytelevel_gpt2/tokenizer.json").string();
  auto t = load_tokenizer(m, "");
  EXPECT_EQ(t->encode("Once upon a time", false),
            refs().at("tokenizers").at("gpt2").at(1).at("ids").get<std::vector<int32_t>>());
  m.config.vocab_size = 300;
  EXPECT_THROW(load_tokenizer(m, ""), FormatError);
}

// Older tokenizers versions write merges as "left right" strings, newer as
// ["left", "right"]: both read the same.
TEST(ByteLevelBpe, MergesAsStringsReadTheSame) {
  const fs::path file = data_dir() / "bytelevel_gpt2/tokenizer.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file));
  auto& merges = j.at("model").at("merges");
  ASSERT_TRUE(merges.at(0).is_array()) << "the recorded file already uses strings";
  for (auto& m : merges) m = m.at(0).get<std::string>() + " " + m.at(1).get<std::string>();
  const fs::path dir = test::make_temp_dir("tok2_merges");
  std::ofstream(dir / "tokenizer.json") << j.dump();
  const VocabSpec a = read_hf_tokenizer_json(file),
                  b = read_hf_tokenizer_json(dir / "tokenizer.json");
  EXPECT_EQ(a.merges, b.merges);
  ByteLevelBpe t(b);
  expect_matches(t, refs().at("tokenizers").at("gpt2"), "gpt2 (string merges)");
  fs::remove_all(dir);
}

TEST(ByteLevelBpe, BosOnlyWhenTheVocabularyWantsIt) {
  VocabSpec v = read_hf_tokenizer_json(data_dir() / "bytelevel_gpt2/tokenizer.json");
  v.bos_id = 0;
  v.add_bos = false;  // Qwen2-style GGUF: add_bos_token false
  v.add_bos_given = true;
  EXPECT_EQ(ByteLevelBpe(v).encode("a", true), ByteLevelBpe(v).encode("a", false));
  v.add_bos = true;  // Llama 3: <|begin_of_text|> first
  EXPECT_EQ(ByteLevelBpe(v).encode("a", true).at(0), 0);
  EXPECT_EQ(ByteLevelBpe(v).encode("a", true).size(), 2u);
}

TEST(ByteLevelBpe, LongChunksAreFast) {
  ByteLevelBpe t(read_hf_tokenizer_json(data_dir() / "bytelevel_gpt2/tokenizer.json"));
  const std::string spaces(200000, ' ');
  const std::string text = "Once upon a time," + spaces + "there was";
  const auto start = std::chrono::steady_clock::now();
  const auto ids = t.encode(text, false);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(s, 5.0) << "encoding 200k spaces took " << s << " s";
  EXPECT_EQ(t.decode(ids), text);
}

TEST(ByteLevelBpe, BadInputsAreErrors) {
  const fs::path dir = test::make_temp_dir("tok2_json");
  std::ofstream(dir / "bad.json") << "{not json";
  EXPECT_THROW(read_hf_tokenizer_json(dir / "bad.json"), FormatError);
  std::ofstream(dir / "wp.json") << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  EXPECT_THROW(read_hf_tokenizer_json(dir / "wp.json"), FormatError);
  std::ofstream(dir / "neg.json") << R"({"model": {"type": "BPE", "vocab": {"a": -4}}})";
  EXPECT_THROW(read_hf_tokenizer_json(dir / "neg.json"), FormatError);
  VocabSpec v;
  v.kind = VocabKind::ByteLevelBpe;
  v.tokens = {"a"};
  v.pre_steps = {PreTokenizeStep::split("(unclosed")};
  EXPECT_THROW(ByteLevelBpe{v}, Error);
  v.pre_steps.clear();
  v.pre = "gpt-2";
  ByteLevelBpe t(v);
  EXPECT_THROW(t.encode("b", false), Error);  // no token and no unknown token
  EXPECT_THROW(t.decode_piece(-1, 1), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tplm
