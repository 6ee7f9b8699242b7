// The tokenizer through the executable: `tplm tokenize` (ids, pieces, the
// llama-tokenize listing, -f, --no-bos, --special, the empty text, a
// vocabulary-only GGUF), and what `run` and `tokenize` say about a vocabulary
// tplm cannot tokenize or an empty prompt with nothing to start from.
#include <gtest/gtest.h>

#include <fstream>

#include "format/gguf_test_writer.hpp"
#include "model/tokenizer/byte_alphabet.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

test::CommandResult tplm(const std::string& args) {
  return test::run_command(test::tplm_exe().string() + " " + args);
}

std::string stories_args() {
  const auto dir = test::stories_dir();
  return " -m " + (dir / "stories260K.bin").string() + " --tokenizer " +
         (dir / "tok512.bin").string();
}

#define NEED_STORIES()                                             \
  if (!fs::exists(test::stories_dir() / "tok512.bin"))             \
  GTEST_SKIP() << "missing " << test::stories_dir() / "tok512.bin" \
               << " (shared models)"

fs::path temp_dir() {
  static const fs::path dir = test::make_temp_dir("tplm-tokenize");
  return dir;
}

// A vocabulary-only GGUF (no tensors) of tokenizer model `model`: GPT-2's 256
// byte characters (ids 0-255), "ab" (256, merge "a b") and the control token
// <|eot|> (257). pre "" leaves tokenizer.ggml.pre out.
fs::path byte_level_vocab(const std::string& name, const std::string& model,
                          const std::string& pre) {
  test::GgufBuilder g;
  g.str("general.architecture", "gpt2");
  g.str("tokenizer.ggml.model", model);
  if (!pre.empty()) g.str("tokenizer.ggml.pre", pre);
  std::vector<std::string> tokens(byte_to_text().begin(), byte_to_text().end());
  tokens.push_back("ab");
  tokens.push_back("<|eot|>");
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  g.str_array("tokenizer.ggml.tokens", tokens);
  g.array("tokenizer.ggml.token_type", test::kI32, types);
  g.str_array("tokenizer.ggml.merges", {"a b"});
  g.u32("tokenizer.ggml.eos_token_id", 257);
  return test::write_file(temp_dir() / name, g.bytes());
}

TEST(TokenizeCommand, PrintsIdsPiecesAndTheListing) {
  NEED_STORIES();
  auto r = tplm("tokenize" + stories_args() + " -p 'Once upon a time' --ids");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "[1, 403, 407, 261, 378]\n");
  r = tplm("tokenize" + stories_args() + " -p 'Once upon a time' --ids --no-bos");
  EXPECT_EQ(r.output, "[403, 407, 261, 378]\n");
  // The vocabulary's spelling: llama2.c's BOS is "\n<s>\n", its spaces raw.
  r = tplm("tokenize" + stories_args() + " -p 'Once upon a time' --pieces");
  EXPECT_EQ(r.output, R"(["\n<s>\n", " Once", " upon", " a", " time"])"
                      "\n");
  // As llama-tokenize: id -> 'text'; a control token shows its spelling.
  r = tplm("tokenize" + stories_args() + " -p 'Once upon a time'");
  EXPECT_EQ(r.output,
            "     1 -> '\\n<s>\\n'\n   403 -> 'Once'\n   407 -> ' upon'\n   261 -> ' a'\n"
            "   378 -> ' time'\n");
}

TEST(TokenizeCommand, ReadsTheTextFromAFileAsItIs) {
  NEED_STORIES();
  const fs::path f = temp_dir() / "prompt.txt";
  std::ofstream(f, std::ios::binary) << "Once upon a time\n";
  const auto from_file = tplm("tokenize" + stories_args() + " -f " + f.string() + " --ids");
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_EQ(from_file.output, "[1, 403, 407, 261, 378, 13]\n");  // 13: the byte token <0x0A>
  // Bytes that are not UTF-8 print as escapes in the listing.
  std::ofstream(f, std::ios::binary) << "caf\xC3";
  const auto r = tplm("tokenize" + stories_args() + " -f " + f.string());
  EXPECT_NE(r.output.find("'\\xc3'"), std::string::npos) << r.output;
}

TEST(TokenizeCommand, TheEmptyTextIsBosOrNothing) {
  NEED_STORIES();
  auto r = tplm("tokenize" + stories_args() + " -p '' --ids");
  EXPECT_EQ(r.output, "[1]\n");
  r = tplm("tokenize" + stories_args() + " -p '' --ids --no-bos");
  EXPECT_EQ(r.output, "[]\n");
  const fs::path vocab = byte_level_vocab("empty.gguf", "gpt2", "gpt-2");  // adds no BOS
  r = tplm("tokenize -m " + vocab.string() + " -p '' --ids");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "[]\n");
}

TEST(TokenizeCommand, OpensAVocabularyOnlyGgufAndParsesSpecialOnRequest) {
  const fs::path vocab = byte_level_vocab("vocab.gguf", "gpt2", "gpt-2");
  auto r = tplm("tokenize -m " + vocab.string() + " -p 'ab<|eot|>' --ids");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A control token written in the text stays text by default...
  EXPECT_EQ(r.output, "[256, 60, 124, 101, 111, 116, 124, 62]\n");
  // ...and is the token with --special.
  r = tplm("tokenize -m " + vocab.string() + " -p 'ab<|eot|>' --ids --special");
  EXPECT_EQ(r.output, "[256, 257]\n");
  r = tplm("tokenize -m " + vocab.string() + " -p 'ab b' --pieces");
  EXPECT_EQ(r.output, "[\"ab\", \"\xC4\xA0\", \"b\"]\n");  // "Ġ": GPT-2's space
}

TEST(TokenizeCommand, RefusesWhatItCannotTokenize) {
  struct Bad {
    std::string args, message;
  };
  const std::string wordpiece = byte_level_vocab("bert.gguf", "bert", "").string();
  const std::string unknown_pre = byte_level_vocab("pre.gguf", "gpt2", "mystery-7b").string();
  const std::vector<Bad> cases = {
      {"tokenize -m " + wordpiece + " -p hi",
       "tokenizer model \"bert\" (WordPiece) is not supported: tplm tokenizes \"llama\" "
       "(SentencePiece BPE) and \"gpt2\" (byte-level BPE) vocabularies"},
      {"tokenize -m " + unknown_pre + " -p hi",
       "the vocabulary's pre-tokenizer \"mystery-7b\" (tokenizer.ggml.pre) is not supported; "
       "tplm knows command-r, deepseek-coder"},
      {"tokenize -m " + unknown_pre, "no text given; pass -p TEXT or -f FILE"},
      {"tokenize -m " + unknown_pre + " -f /nonexistent/prompt.txt",
       "cannot read /nonexistent/prompt.txt"},
  };
  for (const Bad& c : cases) {
    const auto r = tplm(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  }
  // -p and -f together, --ids and --pieces together: usage errors.
  EXPECT_NE(tplm("tokenize -m " + unknown_pre + " -p a -f b").exit_code, 0);
  EXPECT_NE(tplm("tokenize -m " + unknown_pre + " -p a --ids --pieces").exit_code, 0);
}

TEST(TokenizeCommand, WarnsWhenTheVocabularyNamesNoPreTokenizer) {
  const fs::path vocab = byte_level_vocab("nopre.gguf", "gpt2", "");
  const auto r = tplm("tokenize -m " + vocab.string() + " -p 'ab' --ids");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tplm: warning: the vocabulary names no pre-tokenizer (no "
                          "tokenizer.ggml.pre); using GPT-2's"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("[256]\n"), std::string::npos) << r.output;
}

// `run` refuses the same vocabularies, and an empty prompt when there is no
// BOS to start from, before any weight is loaded.
TEST(RunCommand, RefusesATokenizerItCannotRunAndAnEmptyPrompt) {
  test::GgufBuilder g = test::tiny_llama();
  g.str("tokenizer.ggml.model", "t5");
  const fs::path unigram = test::write_file(temp_dir() / "t5.gguf", g.bytes());
  auto r = tplm("run -m " + unigram.string() + " -p hi -n 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tokenizer model \"t5\" (Unigram) is not supported"), std::string::npos)
      << r.output;

  g = test::tiny_llama();
  g.boolean("tokenizer.ggml.add_bos_token", false);
  const fs::path no_bos = test::write_file(temp_dir() / "nobos.gguf", g.bytes());
  r = tplm("run -m " + no_bos.string() + " -p '' -n 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("the prompt is empty and this vocabulary adds no BOS token, so there is "
                          "nothing to start generation from; give a prompt with -p"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tplm
