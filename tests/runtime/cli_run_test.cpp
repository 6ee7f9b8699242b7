// `tplm run` and `tplm bench` through the executable: the golden text, --json,
// and every bad input answered by a message that says what to do.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

std::string stories_args() {
  const auto dir = test::stories_dir();
  return " -m " + (dir / "stories260K.bin").string() + " --tokenizer " +
         (dir / "tok512.bin").string();
}

test::CommandResult tplm(const std::string& args) {
  return test::run_command(test::tplm_exe().string() + " " + args);
}

TEST(CliRun, JsonReproducesTheGoldenAtEveryTp) {
  const test::Golden g = test::read_golden("once_upon_64");
  for (int tp : {1, 2, 4, 8}) {
    auto r = test::run_command("(" + test::tplm_exe().string() + " run" + stories_args() +
                               " -p 'Once upon a time' -n 60 --json --tp " + std::to_string(tp) +
                               " 2>/dev/null)");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output);
    std::vector<int32_t> all = j.at("prompt_tokens").get<std::vector<int32_t>>();
    auto gen = j.at("generated_tokens").get<std::vector<int32_t>>();
    EXPECT_EQ(static_cast<int64_t>(all.size()), g.prompt_tokens);
    all.insert(all.end(), gen.begin(), gen.end());
    EXPECT_EQ(all, g.tokens) << "tp " << tp;
    EXPECT_EQ(j.at("stop_reason"), "length");
  }
}

TEST(CliRun, SeededSamplingIsTheSameAtEveryTp) {
  std::vector<std::vector<int32_t>> runs;
  for (int tp : {1, 2, 4, 8}) {
    auto r = test::run_command(
        "(" + test::tplm_exe().string() + " run" + stories_args() +
        " -p Hello -n 40 --temp 0.8 --top-k 50 --top-p 0.9 --seed 7 --json --tp " +
        std::to_string(tp) + " 2>/dev/null)");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    runs.push_back(
        nlohmann::json::parse(r.output).at("generated_tokens").get<std::vector<int32_t>>());
    EXPECT_EQ(runs.back(), runs.front()) << "tp " << tp;
  }
  EXPECT_FALSE(runs.front().empty());
}

TEST(CliRun, StreamsTheGoldenText) {
  auto r = test::run_command("(" + test::tplm_exe().string() + " run" + stories_args() +
                             " -p 'Once upon a time' -n 60 --tp 2 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, 60),
            std::string("Once upon a time, there was a little girl named Lily. She lo"));
}

struct BadInput {
  std::string args;
  std::string message;
  int exit_code;  // 2: the command line itself; 1: what the model or files refuse
};

TEST(CliRun, BadInputsAreClearErrors) {
  const std::vector<BadInput> cases = {
      {"run" + stories_args() + " --tp 0", "--tp 0 is out of range; use 1 to 64", 2},
      {"run" + stories_args() + " --tp 65", "--tp 65 is out of range; use 1 to 64", 2},
      {"run" + stories_args() + " --tp 5", "valid tp: 1, 2, 3, 4, 8", 1},
      {"run -m /nonexistent/model.bin -p hi", "/nonexistent/model.bin", 1},
      {"run" + stories_args() + " --temp -1", "--temp -1 is out of range; use a number >= 0", 2},
      {"run" + stories_args() + " --top-p 0", "--top-p 0 is out of range; use a number in (0, 1]",
       2},
      {"run" + stories_args() + " --context 4 -p 'Once upon a time there was'",
       "shorten the prompt", 1},
      {"bench -m " + (test::stories_dir() / "stories260K.bin").string() + " --tp 5",
       "valid tp: 1, 2, 3, 4, 8", 1},
      {"bench -m " + (test::stories_dir() / "stories260K.bin").string() + " --batch 0",
       "--batch 0 is out of range; use 1 to 256", 2},
  };
  for (const auto& c : cases) {
    auto r = tplm(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("tplm: error:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
}

TEST(CliBench, ReportsSpeedAndEachRanksMemory) {
  auto r = tplm("bench -m " + (test::stories_dir() / "stories260K.bin").string() +
                " --tp 2 --threads 1 --prompt-tokens 16 --gen-tokens 8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("prefill: 16 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("decode:  8 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1: weights"), std::string::npos) << r.output;
}

// --batch: the sequences decode together after the one-sequence figures.
TEST(CliBench, BatchedDecodeReportsEverySequencesTokens) {
  auto r = tplm("bench -m " + (test::stories_dir() / "stories260K.bin").string() +
                " --tp 2 --threads 1 --prompt-tokens 8 --gen-tokens 6 --batch 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("batched decode: 4 sequences x 6 steps in "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("x one sequence"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tplm
