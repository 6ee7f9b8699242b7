// The llama2.c tokenizer (.bin reader + SentencePiece-style BPE) against the
// reference runner's outputs, and Utf8Stream.
#include "model/tokenizer/tokenizer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "format/format_error.hpp"
#include "format/llama2c_tokenizer.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/sentencepiece_bpe.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

fs::path tok512_bin() {
  return test::stories_dir() / "tok512.bin";
}

std::unique_ptr<SentencePieceBpe> tok512() {
  if (!fs::exists(tok512_bin())) return nullptr;
  return std::make_unique<SentencePieceBpe>(read_llama2c_tokenizer(tok512_bin(), 512));
}

#define NEED_TOK512(t) \
  auto t = tok512();   \
  if (!t) GTEST_SKIP() << "missing " << tok512_bin() << " (shared models)"

TEST(Llama2cTokenizer, ReadsTok512) {
  if (!fs::exists(tok512_bin())) GTEST_SKIP() << "missing " << tok512_bin();
  VocabSpec v = read_llama2c_tokenizer(tok512_bin(), 512);
  ASSERT_EQ(v.tokens.size(), 512u);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[3], "<0x00>");
  EXPECT_EQ(v.tokens[258], "<0xFF>");
  EXPECT_EQ(v.token_types[3], kByte);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
}

TEST(SentencePieceBpe, EncodesLikeLlama2c) {
  NEED_TOK512(t);
  EXPECT_FALSE(t->escapes_spaces());
  EXPECT_EQ(t->encode("Once upon a time", true), (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(t->encode("", true), (std::vector<int32_t>{1}));
  EXPECT_EQ(t->encode("", false), (std::vector<int32_t>{}));
  EXPECT_EQ(t->encode("Once upon a time", false), (std::vector<int32_t>{403, 407, 261, 378}));
}

TEST(SentencePieceBpe, ByteFallbackRoundTrips) {
  NEED_TOK512(t);
  // CJK and emoji are not in a 512-token vocabulary: they become <0xNN> tokens.
  const std::string text = "caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80!";
  auto ids = t->encode(text, true);
  EXPECT_EQ(std::count_if(ids.begin(), ids.end(), [](int32_t id) { return id >= 3 && id <= 258; }),
            10);  // 你好 (6 bytes), 😀 (4); é is token 485
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 485), 1);
  EXPECT_EQ(t->decode(ids), text);
}

TEST(SentencePieceBpe, DecodesGoldenGenerations) {
  NEED_TOK512(t);
  int checked = 0;
  for (const auto& e : fs::directory_iterator(test::golden_dir())) {
    if (e.path().extension() != ".json") continue;
    nlohmann::json j = nlohmann::json::parse(std::ifstream(e.path()));
    auto tokens = j.at("tokens").get<std::vector<int32_t>>();
    ASSERT_FALSE(tokens.empty());
    ASSERT_EQ(tokens[0], 1);
    if (tokens.size() > 1 && tokens.back() == 1) tokens.pop_back();  // the stop token
    EXPECT_EQ(t->decode(tokens), j.at("text").get<std::string>()) << e.path();
    // The prompt re-encodes to the runner's prompt tokens.
    const auto n = j.at("prompt_tokens").get<size_t>();
    EXPECT_EQ(t->encode(j.at("prompt").get<std::string>(), true),
              std::vector<int32_t>(tokens.begin(), tokens.begin() + static_cast<long>(n)));
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no golden generations in " << test::golden_dir();
}

TEST(SentencePieceBpe, LongTextIsFastAndRoundTrips) {
  NEED_TOK512(t);
  std::string text;
  while (text.size() < 300000) text += "Once upon a time, there was a little girl named Lily. \n";
  const auto start = std::chrono::steady_clock::now();
  const auto ids = t->encode(text, true);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(s, 5.0) << "encoding 300 kB took " << s << " s";
  EXPECT_EQ(t->decode(ids), text);
  // Periodic text encodes periodically: the first sentence's ids repeat.
  const auto one = t->encode("Once upon a time, there was a little girl named Lily. \n", true);
  EXPECT_TRUE(std::equal(one.begin(), one.end(), ids.begin()));
}

// run.c `encode`, literally (O(n^2) rescans), to check the heap-based merge.
std::vector<int32_t> llama2c_encode(const VocabSpec& v, const std::string& text) {
  auto lookup = [&](const std::string& s) {
    for (size_t i = 0; i < v.tokens.size(); ++i)
      if (v.tokens[i] == s) return static_cast<int32_t>(i);
    return -1;
  };
  std::vector<int32_t> ids = {lookup(" ")};
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    while (i + n < text.size() && n < 4 && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80)
      ++n;
    const int32_t id = lookup(text.substr(i, n));
    if (id >= 0) {
      ids.push_back(id);
    } else {
      for (size_t k = 0; k < n; ++k) ids.push_back(static_cast<unsigned char>(text[i + k]) + 3);
    }
    i += n;
  }
  while (true) {
    float best = -1e10f;
    int32_t best_id = -1;
    size_t at = 0;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const int32_t id =
          lookup(v.tokens[static_cast<size_t>(ids[i])] + v.tokens[static_cast<size_t>(ids[i + 1])]);
      if (id != -1 && v.scores[static_cast<size_t>(id)] > best) {
        best = v.scores[static_cast<size_t>(id)];
        best_id = id;
        at = i;
      }
    }
    if (best_id == -1) return ids;
    ids[at] = best_id;
    ids.erase(ids.begin() + static_cast<long>(at) + 1);
  }
}

TEST(SentencePieceBpe, MatchesLiteralRunCOnRandomText) {
  if (!fs::exists(tok512_bin())) GTEST_SKIP() << "missing " << tok512_bin();
  const VocabSpec v = read_llama2c_tokenizer(tok512_bin(), 512);
  SentencePieceBpe t(v);
  const std::vector<std::string> alphabet = {
      "a", "e", "t", "h", "o", "n", " ", " ", "s", "l", ".", "\n", "L", "\xC3\xA9", "\xE4\xBD\xA0"};
  std::mt19937 rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int len = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(t.encode(text, false), llama2c_encode(v, text)) << "text: " << text;
  }
}

TEST(SentencePieceBpe, DecodeRules) {
  NEED_TOK512(t);
  EXPECT_EQ(t->decode_piece(-1, 1), "");  // BOS is control
  EXPECT_EQ(t->decode_piece(-1, 2), "");
  EXPECT_EQ(t->decode_piece(1, 3 + 0x41), "A");
  EXPECT_EQ(t->decode_piece(1, 3 + 0x20), " ");  // a byte space is kept after BOS
  EXPECT_THROW(t->decode_piece(1, 512), Error);
  EXPECT_THROW(t->decode_piece(1, -1), Error);
}

TEST(SentencePieceBpe, EscapesSpacesForGgufLlamaVocabularies) {
  // A tiny "▁" vocabulary: merges by score, byte fallback for the rest.
  VocabSpec v;
  const std::string mark = "\xE2\x96\x81";
  v.tokens = {"<unk>", "<s>", "</s>", "<0x21>", mark, "a", "b", mark + "a", mark + "ab", "ab"};
  v.scores = {0, 0, 0, 0, -1, -1, -1, -2, -3, -5};
  v.token_types = {kUnknown, kControl, kControl, kByte, 1, 1, 1, 1, 1, 1};
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  SentencePieceBpe t(v);
  EXPECT_TRUE(t.escapes_spaces());
  // "ab ab!" -> "▁ab▁ab!" : ▁a (-2) beats ab (-5), then ▁ab (-3); '!' is <0x21>; 'c' -> unk.
  EXPECT_EQ(t.encode("ab ab!", true), (std::vector<int32_t>{1, 8, 8, 3}));
  EXPECT_EQ(t.encode("c", false), (std::vector<int32_t>{4, 0}));
  EXPECT_EQ(t.decode({1, 8, 8, 3}), "ab ab!");
}

TEST(Llama2cTokenizer, RejectsBadFiles) {
  const fs::path dir = test::make_temp_dir("tok2_bad");
  auto write = [&](const std::string& name, const std::vector<char>& bytes) {
    std::ofstream(dir / name, std::ios::binary)
        .write(bytes.data(), static_cast<long>(bytes.size()));
    return dir / name;
  };
  auto entry = [](std::vector<char>& b, float score, int32_t len, const std::string& s) {
    const char* p = reinterpret_cast<const char*>(&score);
    b.insert(b.end(), p, p + 4);
    p = reinterpret_cast<const char*>(&len);
    b.insert(b.end(), p, p + 4);
    b.insert(b.end(), s.begin(), s.end());
  };
  std::vector<char> good = {8, 0, 0, 0};
  entry(good, 0, 1, "a");
  entry(good, 0, 1, "b");
  EXPECT_EQ(read_llama2c_tokenizer(write("good.bin", good), 2).tokens.size(), 2u);
  auto message = [](const fs::path& p, int64_t n) {
    try {
      read_llama2c_tokenizer(p, n);
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(dir / "good.bin", 3).find("holds 2 tokens"), std::string::npos)
      << message(dir / "good.bin", 3);
  EXPECT_NE(message(dir / "good.bin", 1).find("holds 2 tokens, more than"), std::string::npos)
      << message(dir / "good.bin", 1);
  std::vector<char> neg = {8, 0, 0, 0};
  entry(neg, 0, -5, "");
  EXPECT_NE(message(write("neg.bin", neg), 1).find("length -5"), std::string::npos);
  std::vector<char> trunc = {8, 0, 0, 0};
  entry(trunc, 0, 4, "ab");
  EXPECT_NE(message(write("trunc.bin", trunc), 1).find("truncated"), std::string::npos)
      << message(dir / "trunc.bin", 1);
  EXPECT_THROW(read_llama2c_tokenizer(dir / "missing.bin", 1), FormatError);
  fs::remove_all(dir);
}

TEST(LoadTokenizer, PicksTheSourceAndChecksTheSize) {
  if (!fs::exists(tok512_bin())) GTEST_SKIP() << "missing " << tok512_bin();
  ModelFile m;
  m.path = "model.bin";
  m.config.vocab_size = 512;
  auto t = load_tokenizer(m, tok512_bin());
  EXPECT_EQ(t->kind(), "sentencepiece-bpe");
  EXPECT_EQ(t->vocab_size(), 512);
  try {
    load_tokenizer(m, "");
    ADD_FAILURE() << "no error without a tokenizer";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("pass --tokenizer FILE"), std::string::npos) << e.what();
  }
  m.config.vocab_size = 256;  // the .bin then holds more tokens than the model
  EXPECT_THROW(load_tokenizer(m, tok512_bin()), FormatError);
  m.config.vocab_size = 512;
  m.vocab = read_llama2c_tokenizer(tok512_bin(), 512);
  EXPECT_EQ(load_tokenizer(m, "")->encode("Once upon a time", true),
            (std::vector<int32_t>{1, 403, 407, 261, 378}));
  m.config.vocab_size = 500;
  try {
    load_tokenizer(m, "");
    ADD_FAILURE() << "no size error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("512 tokens but the model's vocab_size is 500"),
              std::string::npos)
        << e.what();
  }
}

TEST(Utf8Stream, HoldsBackSplitCharacters) {
  Utf8Stream s;
  EXPECT_EQ(s.push("a\xE4"), "a");
  EXPECT_EQ(s.push("\xBD"), "");
  EXPECT_EQ(s.push("\xA0!"), "\xE4\xBD\xA0!");
  EXPECT_EQ(s.flush(), "");
  EXPECT_EQ(s.push("\xF0\x9F"), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");  // an unfinished character
  EXPECT_EQ(s.push("x\x80y\xFFz"), "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
  EXPECT_EQ(s.push("\xE4!"), "\xEF\xBF\xBD!");  // a lead byte cut short
  EXPECT_EQ(s.push("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

}  // namespace
}  // namespace tplm
