// How the tokenizers treat what surrounds the merges: ignore_merges (Llama 3
// takes a word that is a token whole), BOS defaults by pre-tokenizer, special
// tokens written in the text (user-defined always, control only on request),
// and SentencePiece's dummy prefix (add_space_prefix, and decoding without BOS).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "format/hf_tokenizer_json.hpp"
#include "format/llama2c_tokenizer.hpp"
#include "model/tokenizer/byte_alphabet.hpp"
#include "model/tokenizer/byte_level_bpe.hpp"
#include "model/tokenizer/sentencepiece_bpe.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

// GPT-2's 256 byte characters (token b is byte b), then `extra` (ids 256...).
VocabSpec byte_vocab(const std::vector<std::string>& extra, std::vector<std::string> merges,
                     const std::string& pre) {
  VocabSpec v;
  v.kind = VocabKind::ByteLevelBpe;
  v.tokens.assign(byte_to_text().begin(), byte_to_text().end());
  v.tokens.insert(v.tokens.end(), extra.begin(), extra.end());
  v.token_types.assign(v.tokens.size(), kNormal);
  v.merges = std::move(merges);
  v.pre = pre;
  v.add_bos = false;
  return v;
}

// "abc" is a token that the merges never build ("a b" only): the Cửa Việt
// case of Llama 3 in miniature. Llama 3's tokenizer.json sets ignore_merges,
// so the word comes out whole; GPT-2's BPE stops at "ab" "c".
TEST(ByteLevelBpe, IgnoreMergesTakesAWordThatIsAToken) {
  const std::vector<std::string> extra = {"ab", "abc"};
  EXPECT_EQ(ByteLevelBpe(byte_vocab(extra, {"a b"}, "llama-bpe")).encode("abc", false), Ids{257});
  EXPECT_EQ(ByteLevelBpe(byte_vocab(extra, {"a b"}, "gpt-2")).encode("abc", false),
            (Ids{256, 'c'}));
  // A word that is not a token still goes through the merges.
  EXPECT_EQ(ByteLevelBpe(byte_vocab(extra, {"a b"}, "llama-bpe")).encode("abd", false),
            (Ids{256, 'd'}));
}

TEST(ByteLevelBpe, IgnoreMergesFromTokenizerJson) {
  const fs::path dir = test::make_temp_dir("tplm-ignore-merges");
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t b = 0; b < 256; ++b) vocab[byte_to_text()[b]] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  for (bool ignore : {false, true}) {
    const nlohmann::json j = {
        {"model",
         {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}, {"ignore_merges", ignore}}},
        {"pre_tokenizer", {{"type", "ByteLevel"}}}};
    std::ofstream(dir / "tokenizer.json") << j.dump();
    const VocabSpec v = read_hf_tokenizer_json(dir / "tokenizer.json");
    EXPECT_EQ(v.ignore_merges, ignore);
    const Ids want = ignore ? Ids{257} : Ids{256, 'c'};
    EXPECT_EQ(ByteLevelBpe(v).encode("abc", false), want);
  }
  fs::remove_all(dir);
}

// Llama 3 GGUFs converted before add_bos_token was written still get
// <|begin_of_text|>, as llama.cpp gives them; the key wins when present.
TEST(ByteLevelBpe, Llama3AddsBosUnlessTheFileSaysOtherwise) {
  VocabSpec v = byte_vocab({"<|begin_of_text|>"}, {}, "llama-bpe");
  v.token_types.back() = kControl;
  v.bos_id = 256;
  EXPECT_EQ(ByteLevelBpe(v).encode("a", true), (Ids{256, 'a'}));
  v.add_bos_given = true;
  EXPECT_EQ(ByteLevelBpe(v).encode("a", true), Ids{'a'});
  v.pre = "qwen2";
  v.add_bos_given = false;
  EXPECT_EQ(ByteLevelBpe(v).encode("a", true), Ids{'a'});
}

TEST(ByteLevelBpe, ControlTokensInTheTextOnlyWithParseSpecial) {
  VocabSpec v = byte_vocab({"<|eot|>", "<a>", "<a><b>"}, {}, "gpt-2");
  v.token_types[256] = kControl;
  v.token_types[257] = kUserDefined;
  v.token_types[258] = kUserDefined;
  const ByteLevelBpe t(v);
  const std::string text = "x<|eot|>y<a><b>z<a>";
  // User-defined tokens always, the longest at a position; the control token stays text.
  const Ids plain = t.encode(text, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 256), 0);
  EXPECT_EQ(plain, (Ids{'x', '<', '|', 'e', 'o', 't', '|', '>', 'y', 258, 'z', 257}));
  EXPECT_EQ(t.decode(plain), text);
  EXPECT_EQ(t.encode(text, {.add_bos = false, .parse_special = true}),
            (Ids{'x', 256, 'y', 258, 'z', 257}));
}

std::unique_ptr<SentencePieceBpe> tok512(VocabSpec* out = nullptr) {
  const fs::path bin = test::stories_dir() / "tok512.bin";
  if (!fs::exists(bin)) return nullptr;
  VocabSpec v = read_llama2c_tokenizer(bin, 512);
  if (out) *out = v;
  return std::make_unique<SentencePieceBpe>(std::move(v));
}

#define NEED_TOK512(t) \
  auto t = tok512();   \
  if (!t) GTEST_SKIP() << "missing tok512.bin (shared models)"

// Decoding a sequence without BOS drops the dummy-prefix space too, so that
// text -> ids -> text is the identity whether or not BOS was added.
TEST(SentencePieceBpe, DecodesBackWithOrWithoutBos) {
  NEED_TOK512(t);
  for (const std::string text : {"Once upon a time", " leading", "a\nb", ""}) {
    EXPECT_EQ(t->decode(t->encode(text, false)), text);
    EXPECT_EQ(t->decode(t->encode(text, true)), text);
  }
}

// GGUF tokenizer.ggml.add_space_prefix false: no dummy space before the text.
TEST(SentencePieceBpe, AddSpacePrefixFalseAddsNoSpace) {
  VocabSpec v;
  NEED_TOK512(with_prefix);
  tok512(&v);
  v.add_space_prefix = false;
  const SentencePieceBpe without(v);
  EXPECT_EQ(with_prefix->encode("Once upon", false), (Ids{403, 407}));  // " Once" " upon"
  const Ids ids = without.encode("Once upon", false);
  EXPECT_NE(ids.front(), 403);
  EXPECT_EQ(without.decode(ids), "Once upon");
  EXPECT_EQ(without.decode(without.encode(" Once", false)), " Once");
}

// A special token splits the text, and each piece after it gets its own dummy
// prefix, as llama.cpp encodes "<s>Once upon".
TEST(SentencePieceBpe, ControlTokensInTheTextOnlyWithParseSpecial) {
  VocabSpec v;
  NEED_TOK512(unused);
  tok512(&v);
  v.tokens[1] = "<s>";  // llama2.c spells BOS "\n<s>\n"; GGUF "llama" vocabularies "<s>"
  v.token_types[1] = kControl;
  const SentencePieceBpe t(v);
  EXPECT_EQ(t.encode("<s>Once upon", {.add_bos = false, .parse_special = true}),
            (Ids{1, 403, 407}));
  const Ids plain = t.encode("<s>Once upon", false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0);
  EXPECT_EQ(t.decode(plain), "<s>Once upon");
}

}  // namespace
}  // namespace tplm
