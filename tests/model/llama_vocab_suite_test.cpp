// llama.cpp's tokenizer test suite, on vocabularies no one here wrote: for
// each vocabulary-only GGUF models/ggml-vocab-NAME.gguf, the cases in
// NAME.gguf.inp (separated by "\n__ggml_vocab_test__\n") and the ids Hugging
// Face's tokenizers gives for them in NAME.gguf.out (a line per case, no BOS).
// Every case must encode to those ids and decode back to its text; a
// vocabulary whose tokenizer model tplm does not implement must be refused
// with its name. scripts/get_llama_cpp_files.sh vocab fetches the suite from PyPI into a
// cache folder once (TPLM_LLAMA_VOCAB_DIR points at one directly); without it
// and without the network the tests skip, saying why.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "format/format_error.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

// The suite's folder, fetched if need be; "" with the reason when there is none.
fs::path suite_dir(std::string& why_not) {
  if (const char* d = std::getenv("TPLM_LLAMA_VOCAB_DIR")) return d;
  const auto r = test::run_command(
      "bash " + (test::source_dir() / "scripts/get_llama_cpp_files.sh").string() + " vocab");
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (r.exit_code != 0) {
    why_not = out;
    return {};
  }
  return out.substr(out.rfind('\n') + 1);  // the folder is the last line
}

#define NEED_SUITE(dir)                    \
  std::string why_not;                     \
  const fs::path dir = suite_dir(why_not); \
  if (dir.empty()) GTEST_SKIP() << "llama.cpp's vocabulary suite is not here: " << why_not

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// As llama.cpp's tests/test-tokenizer-0 reads them.
std::vector<Case> read_cases(const fs::path& gguf) {
  const std::string inp = slurp(gguf.string() + ".inp"), sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    cases.push_back({inp.substr(pos, next == std::string::npos ? next : next - pos), {}});
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::istringstream out(slurp(gguf.string() + ".out"));
  for (Case& c : cases) {
    std::string line;
    if (!std::getline(out, line)) throw std::runtime_error(gguf.string() + ".out is short");
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
  }
  return cases;
}

// The vocabularies of llama-cpp-python 0.3.36 with cases, and what each one's
// tokenizer model is when tplm does not implement it.
struct Vocab {
  const char* name;
  const char* refused_model;  // nullptr: tplm tokenizes it
};
const Vocab kVocabs[] = {
    {"llama-spm", nullptr},
    {"phi-3", nullptr},
    {"llama-bpe", nullptr},
    {"qwen2", nullptr},
    {"qwen35", nullptr},
    {"gpt-2", nullptr},
    {"mpt", nullptr},
    {"falcon", nullptr},
    {"starcoder", nullptr},
    {"refact", nullptr},
    {"command-r", nullptr},
    {"deepseek-llm", nullptr},
    {"deepseek-coder", nullptr},
    {"bert-bge", "bert"},
    {"gemma-4", "gemma4"},
};

void PrintTo(const Vocab& v, std::ostream* os) {
  *os << v.name;
}

class LlamaVocabSuite : public ::testing::TestWithParam<Vocab> {};

TEST_P(LlamaVocabSuite, EncodesAsHuggingFaceAndDecodesBack) {
  NEED_SUITE(dir);
  const Vocab v = GetParam();
  const fs::path gguf = dir / (std::string("ggml-vocab-") + v.name + ".gguf");
  const ModelFile m = open_model_for_tokenizer(gguf);
  if (v.refused_model) {
    try {
      load_tokenizer(m, "");
      ADD_FAILURE() << v.name << ": a tokenizer model tplm lacks was not refused";
    } catch (const FormatError& e) {
      EXPECT_NE(
          std::string(e.what()).find(std::string("tokenizer model \"") + v.refused_model + "\""),
          std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("is not supported"), std::string::npos) << e.what();
    }
    return;
  }
  const auto t = load_tokenizer(m, "");
  EXPECT_TRUE(t->warnings().empty()) << t->warnings().front();
  const std::vector<Case> cases = read_cases(gguf);
  ASSERT_GE(cases.size(), 46u);
  size_t encoded = 0, decoded = 0;
  for (const Case& c : cases) {
    const auto ids = t->encode(c.text, {.add_bos = false});
    EXPECT_EQ(ids, c.ids) << v.name << " text: \"" << c.text << "\"";
    encoded += ids == c.ids;
    const std::string back = t->decode(c.ids);
    EXPECT_EQ(back, c.text) << v.name;
    decoded += back == c.text;
  }
  std::printf("%s: encode %zu/%zu, decode %zu/%zu\n", v.name, encoded, cases.size(), decoded,
              cases.size());
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, LlamaVocabSuite, ::testing::ValuesIn(kVocabs),
                         [](const auto& param_info) {
                           std::string n = param_info.param.name;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// The suite's vocabularies without cases: the two byte-level ones that name
// no pre-tokenizer get GPT-2's with a warning, the SentencePiece one loads,
// and the T5 (Unigram) one is refused.
TEST(LlamaVocabSuite, VocabulariesWithoutCasesLoadOrAreRefused) {
  NEED_SUITE(dir);
  auto open = [&](const std::string& name) {
    return open_model_for_tokenizer(dir / ("ggml-vocab-" + name + ".gguf"));
  };
  for (const char* name : {"aquila", "gpt-neox", "baichuan"}) {
    const auto t = load_tokenizer(open(name), "");
    if (t->kind() == "byte-level-bpe") {
      ASSERT_EQ(t->warnings().size(), 1u) << name;
      EXPECT_NE(t->warnings()[0].find("no tokenizer.ggml.pre"), std::string::npos);
    }
    EXPECT_EQ(t->decode(t->encode("Hello world, 123!", false)), "Hello world, 123!") << name;
  }
  try {
    load_tokenizer(open("nomic-bert-moe"), "");
    ADD_FAILURE() << "a Unigram vocabulary was not refused";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer model \"t5\" (Unigram) is not supported"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tplm
