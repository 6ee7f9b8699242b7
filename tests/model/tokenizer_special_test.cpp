// encode_special: special tokens written in a text are those tokens (llama.cpp's
// parse_special); the text between them is encoded as encode() would.
#include <gtest/gtest.h>

#include <filesystem>

#include "format/llama2c_tokenizer.hpp"
#include "model/tokenizer/byte_level_bpe.hpp"
#include "model/tokenizer/sentencepiece_bpe.hpp"
#include "model/tokenizer/sentencepiece_model.hpp"
#include "model/tokenizer/special_tokens.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

std::vector<int32_t> join(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(SpecialTokens, ControlTokensLoseTheWhitespaceAroundThem) {
  EXPECT_EQ(special_text("\n<s>\n", true), "<s>");
  EXPECT_EQ(special_text("\n\n", true), "\n\n");  // nothing but whitespace: as it is
  EXPECT_EQ(special_text(" <x> ", false), " <x> ");
}

TEST(SpecialTokens, Tok512BinAndModelAgree) {
  const fs::path bin = test::stories_dir() / "tok512.bin",
                 model = test::stories_dir() / "tok512.model";
  if (!fs::exists(bin) || !fs::exists(model)) GTEST_SKIP() << "missing tok512";
  SentencePieceBpe llama2c(read_llama2c_tokenizer(bin, 512));
  SentencePieceModel sp(model);
  const std::string text = "Hi</s>there<unk> <s>";
  for (const Tokenizer* t :
       {static_cast<const Tokenizer*>(&llama2c), static_cast<const Tokenizer*>(&sp)}) {
    // <s> Hi </s> ▁there <unk> (" " as encode sees it) <s>
    const auto ids = t->encode_special(text, true);
    EXPECT_EQ(ids, join({{1},
                         t->encode("Hi", false),
                         {2},
                         t->encode("there", false),
                         {0},
                         t->encode(" ", false),
                         {1}}))
        << t->kind();
    EXPECT_EQ(t->encode_special("", true), (std::vector<int32_t>{1}));
    EXPECT_EQ(t->encode_special("plain text", false), t->encode("plain text", false));
    // Without parse_special the same text is plain characters.
    const auto plain = t->encode(text, true);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0) << t->kind();
  }
}

TEST(SpecialTokens, TheLongestSpecialTokenWins) {
  const fs::path bin = test::stories_dir() / "tok512.bin";
  if (!fs::exists(bin)) GTEST_SKIP() << "missing " << bin;
  VocabSpec v = read_llama2c_tokenizer(bin, 512);
  const auto add = [&](const std::string& piece, int32_t type) {
    v.tokens.push_back(piece);
    v.scores.push_back(0.0f);
    v.token_types.push_back(type);
    return static_cast<int32_t>(v.tokens.size() - 1);
  };
  const int32_t im = add("<|im|>", kControl);
  const int32_t im_start = add("<|im|>start", kUserDefined);
  SentencePieceBpe t(v);
  EXPECT_EQ(t.encode_special("<|im|>start<|im|>x", false),
            join({{im_start, im}, t.encode("x", false)}));
  EXPECT_EQ(t.encode_special("a<|im|>", false), join({t.encode("a", false), {im}}));
}

}  // namespace
}  // namespace tplm
