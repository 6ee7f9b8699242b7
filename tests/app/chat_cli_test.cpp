// `tplm chat` through the executable, its input on stdin: on the chat fixture
// (random weights, a Llama-2-style template: tests/data/chat), every answer
// equals what `tplm run` generates from the conversation rendered by hand,
// although chat keeps the earlier turns in the KV cache; /exit and the end of
// input end it; a model without a template is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "app/serve/chat_template.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// tplm ARGS fed by the shell command `input` (its stdout is tplm's stdin).
Result tplm(const std::string& args, const std::string& input, int timeout = 60) {
  const fs::path out = test::scratch_dir() / "stdout.txt", err = test::scratch_dir() / "stderr.txt";
  const auto r = test::run_command("((" + input + ") | timeout " + std::to_string(timeout) + " " +
                                   test::tplm_exe().string() + " " + args + " >'" + out.string() +
                                   "' 2>'" + err.string() + "')");
  return {r.exit_code, test::read_file(out), test::read_file(err)};
}

// What `tplm run` completes after `prompt` (special tokens parsed, BOS added).
std::string run_completion(const fs::path& model, const std::string& prompt,
                           const std::string& options) {
  const fs::path file = test::scratch_dir() / "prompt.txt";
  std::ofstream(file, std::ios::binary) << prompt << "\n";  // -f drops one trailing newline
  Result r = tplm("run -m '" + model.string() + "' -f '" + file.string() +
                      "' --parse-special --json " + options,
                  "true");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return "";
  return nlohmann::json::parse(r.out).at("completion").get<std::string>();
}

fs::path chat_fixture(const char* name) {
  return test::fixtures_dir() / name;
}

#define NEED_CHAT_FIXTURE(path)                                               \
  if (!serve::chat_templates_built())                                         \
    GTEST_SKIP() << "built without chat templates (cmake/llama_jinja.cmake)"; \
  if (!fs::exists(path)) GTEST_SKIP() << "no " << (path) << " (tools/make_test_fixtures.py)"

const char* kGreedy = "-n 6 --temp 0";

TEST(ChatCli, EachAnswerEqualsRunOnTheRenderedConversation) {
  const fs::path model = chat_fixture("chat.F32.gguf");
  NEED_CHAT_FIXTURE(model);
  Result r =
      tplm("chat -m '" + model.string() + "' -v " + kGreedy, "printf 'Hello\\nHow are you?\\n'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The fixture's template: <s>[INST] user [/INST] answer</s>... (BOS is the template's).
  const std::string a1 = run_completion(model, "[INST] Hello [/INST]", kGreedy);
  const std::string a2 = run_completion(
      model, "[INST] Hello [/INST] " + a1 + "</s>[INST] How are you? [/INST]", kGreedy);
  EXPECT_EQ(r.out, a1 + "\n" + a2 + "\n") << r.err;
  // The second turn reused the first one's cache.
  const size_t at = r.err.rfind(" of them cached");
  ASSERT_NE(at, std::string::npos) << r.err;
  const size_t from = r.err.rfind(", ", at) + 2;
  EXPECT_GT(std::stoll(r.err.substr(from, at - from)), 0) << r.err;
}

TEST(ChatCli, ASystemMessageStartsTheConversation) {
  const fs::path model = chat_fixture("chat.F32.gguf");
  NEED_CHAT_FIXTURE(model);
  Result r = tplm("chat -m '" + model.string() + "' --system 'Be brief.' " + kGreedy, "echo Hello");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      run_completion(model, "<<SYS>> Be brief. <</SYS>>[INST] Hello [/INST]", kGreedy) + "\n");
}

TEST(ChatCli, SameAnswersFromTheHfFolderAndAtTp2) {
  const fs::path gguf = chat_fixture("chat.F32.gguf");
  const fs::path hf = chat_fixture("chat-hf-F32");
  NEED_CHAT_FIXTURE(gguf);
  NEED_CHAT_FIXTURE(hf);
  const std::string input = "printf 'Hello\\nTell me more\\n'";
  Result one = tplm("chat -m '" + gguf.string() + "' " + kGreedy, input);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  Result two = tplm("chat -m '" + gguf.string() + "' --tp 2 " + kGreedy, input);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(two.out, one.out);
  Result folder = tplm("chat -m '" + hf.string() + "' " + kGreedy, input);
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_EQ(folder.out, one.out);
}

TEST(ChatCli, SplitRanksWaitForAUserWhoTakesLongerThanTheCommTimeout) {
  const fs::path model = chat_fixture("chat.F32.gguf");
  NEED_CHAT_FIXTURE(model);
  // Rank 1 waits for each step at most --comm-timeout (1 s); the user types
  // the second message 3 s later.
  Result r = tplm("chat -m '" + model.string() + "' --tp 2 --comm-timeout 1 " + kGreedy,
                  "echo Hello; sleep 3; echo Again");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result quick =
      tplm("chat -m '" + model.string() + "' --tp 2 " + kGreedy, "printf 'Hello\\nAgain\\n'");
  EXPECT_EQ(r.out, quick.out);
}

TEST(ChatCli, ExitEndsItAndEmptyLinesAreSkipped) {
  const fs::path model = chat_fixture("chat.F32.gguf");
  NEED_CHAT_FIXTURE(model);
  Result r = tplm("chat -m '" + model.string() + "' " + kGreedy,
                  "printf '\\nHello\\n/exit\\nNot read\\n'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, run_completion(model, "[INST] Hello [/INST]", kGreedy) + "\n");
  Result none = tplm("chat -m '" + model.string() + "' " + kGreedy, "true");
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
}

TEST(ChatCli, AModelWithoutATemplateIsRefused) {
  const fs::path model = test::fixtures_dir() / "stories260K.gguf";
  if (!fs::exists(model)) GTEST_SKIP() << "no " << model;
  Result r = tplm("chat -m '" + model.string() + "'", "echo Hello");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("has no chat template"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ChatCli, RunsOptionsAreCheckedTheSameWay) {
  const fs::path model = chat_fixture("chat.F32.gguf");
  Result r = tplm("chat -m '" + model.string() + "' --temp -1", "true");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--temp"), std::string::npos) << r.err;
  r = tplm("chat -m '" + model.string() + "' -p hi", "true");
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace tplm
