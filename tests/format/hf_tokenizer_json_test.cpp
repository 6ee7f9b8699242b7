// tokenizer.json read into a VocabSpec: the pre-tokenizer as steps (every type
// tplm runs, and a clear refusal of the others), ignore_merges, and the
// dummy prefix of a SentencePiece-style file. How the steps cut text is
// checked against tokenizers itself in tests/model/test_pre_tokenizer.cpp.
#include "format/hf_tokenizer_json.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "format/format_error.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Kind = PreTokenizeStep::Kind;
using Behavior = PreTokenizeStep::Behavior;

VocabSpec read_json(const json& j) {
  static const fs::path dir = test::make_temp_dir("tplm-tokjson");
  std::ofstream(dir / "tokenizer.json") << j.dump();
  return read_hf_tokenizer_json(dir / "tokenizer.json");
}

json bpe(const json& vocab, const json& pre, const json& normalizer = nullptr) {
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}},
          {"pre_tokenizer", pre},
          {"normalizer", normalizer}};
}

TEST(HfTokenizerJson, ReadsThePreTokenizerAsSteps) {
  const json pre = {{"type", "Sequence"},
                    {"pretokenizers",
                     {{{"type", "Digits"}, {"individual_digits", true}},
                      {{"type", "Punctuation"}, {"behavior", "Contiguous"}},
                      {{"type", "Split"},
                       {"pattern", {{"String", "a.b"}}},
                       {"behavior", "MergedWithNext"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", false}},
                      {{"type", "Digits"}, {"individual_digits", false}}}}};
  const VocabSpec v = read_json(bpe({{"a", 0}}, pre));
  EXPECT_EQ(v.kind, VocabKind::ByteLevelBpe);
  ASSERT_EQ(v.pre_steps.size(), 5u);
  EXPECT_EQ(v.pre_steps[0].pattern, R"(\p{N})");
  EXPECT_EQ(v.pre_steps[0].behavior, Behavior::Isolated);
  EXPECT_EQ(v.pre_steps[1].behavior, Behavior::Contiguous);
  EXPECT_EQ(v.pre_steps[2].pattern, R"(a\.b)");  // a String matches literally
  EXPECT_EQ(v.pre_steps[2].behavior, Behavior::MergedWithNext);
  EXPECT_EQ(v.pre_steps[3].kind, Kind::ByteLevel);
  EXPECT_TRUE(v.pre_steps[3].add_prefix_space);
  EXPECT_FALSE(v.pre_steps[3].use_regex);
  EXPECT_EQ(v.pre_steps[4].behavior, Behavior::Contiguous);
  EXPECT_FALSE(v.ignore_merges);
  // No pre-tokenizer at all: GPT-2's ByteLevel.
  const VocabSpec none = read_json(bpe({{"a", 0}}, nullptr));
  ASSERT_EQ(none.pre_steps.size(), 1u);
  EXPECT_EQ(none.pre_steps[0].kind, Kind::ByteLevel);
  EXPECT_TRUE(none.pre_steps[0].use_regex);
}

TEST(HfTokenizerJson, RefusesAPreTokenizerItWouldOnlyGuess) {
  for (const auto& [pre, message] :
       {std::pair{json{{"type", "Whitespace"}}, "pre-tokenizer \"Whitespace\" is not supported"},
        {json{{"type", "Split"}, {"pattern", {{"Regex", "x"}}}, {"invert", true}},
         "\"invert\": true is not supported"},
        {json{{"type", "Split"}, {"pattern", {{"Regex", "x"}}}, {"behavior", "Sideways"}},
         "behavior \"Sideways\" is not known"}}) {
    try {
      read_json(bpe({{"a", 0}}, pre));
      ADD_FAILURE() << pre.dump() << " was accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

// SentencePiece-style JSON: the dummy prefix comes from a Prepend("▁")
// normalizer or a Metaspace pre-tokenizer that prepends (Llama 2, Mistral),
// and not from a normalizer that only replaces spaces (Gemma).
TEST(HfTokenizerJson, SentencePieceStyleDummyPrefix) {
  auto prefix = [](const json& pre, const json& normalizer) {
    json j = bpe({{"<unk>", 0}, {"<0x41>", 1}}, pre, normalizer);
    j["model"]["byte_fallback"] = true;  // SentencePiece-style
    const VocabSpec v = read_json(j);
    EXPECT_EQ(v.kind, VocabKind::SentencePieceBpe);
    return v.add_space_prefix;
  };
  const json prepend = {{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}};
  const json replace = {
      {"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}};
  EXPECT_TRUE(prefix(nullptr, {{"type", "Sequence"}, {"normalizers", {prepend, replace}}}));
  EXPECT_FALSE(prefix(nullptr, replace));
  const json first = {
      {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}};
  const json never = {
      {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "never"}};
  EXPECT_TRUE(prefix(first, nullptr));
  EXPECT_FALSE(prefix(never, nullptr));
  EXPECT_TRUE(prefix(nullptr, nullptr));  // nothing says: SentencePiece's default
}

}  // namespace
}  // namespace tplm
