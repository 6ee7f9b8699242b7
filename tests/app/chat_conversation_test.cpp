// A conversation's turns on the engine's Steps: the prompt each turn renders,
// and the KV cache kept between turns (only what changed is fed again).
#include "app/chat_conversation.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "format/model_file.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

TEST(ChatConversation, ReusablePrefixStopsAtTheFirstDifferenceAndLeavesOneToFeed) {
  EXPECT_EQ(reusable_prefix({}, {1, 2, 3}), 0);
  EXPECT_EQ(reusable_prefix({1, 2, 3}, {1, 2, 3, 4, 5}), 3);
  EXPECT_EQ(reusable_prefix({1, 2, 9, 4}, {1, 2, 3, 4, 5}), 2);
  EXPECT_EQ(reusable_prefix({1, 2, 3}, {1, 2, 3}), 2);  // the last token gives the logits
  EXPECT_EQ(reusable_prefix({1, 2, 3, 4}, {1, 2}), 1);
  EXPECT_EQ(reusable_prefix({7}, {8}), 0);
}

// Steps that record what they are fed and answer with `answer` token by
// token, then EOS.
class ScriptedSteps : public Steps {
 public:
  ScriptedSteps(int32_t vocab, std::vector<int32_t> answer, int32_t eos)
      : vocab_(vocab), answer_(std::move(answer)), eos_(eos) {}
  std::vector<float> forward(std::span<const int32_t> ids, int64_t pos0, bool) override {
    fed.push_back({std::vector<int32_t>(ids.begin(), ids.end()), pos0});
    // A prefill (several ids, or the first call of a turn) starts the answer.
    if (ids.size() > 1 || next_ >= answer_.size() + 1) next_ = 0;
    std::vector<float> logits(static_cast<size_t>(vocab_), 0.0f);
    const int32_t want = next_ < answer_.size() ? answer_[next_] : eos_;
    logits[static_cast<size_t>(want)] = 1.0f;
    ++next_;
    return logits;
  }
  std::span<const float> forward_rows(std::span<const BatchRow>) override {
    ADD_FAILURE() << "a conversation runs one sequence";
    return {};
  }
  void idle() override {}
  int64_t slots() const override { return 1; }
  int64_t context() const override { return 256; }
  ExchangeStats exchanges() const override { return {}; }

  std::vector<std::pair<std::vector<int32_t>, int64_t>> fed;  // (ids, pos0) per step

 private:
  int32_t vocab_;
  std::vector<int32_t> answer_;
  int32_t eos_;
  size_t next_ = 0;
};

TEST(ChatConversation, TheSecondTurnFeedsOnlyWhatTheFirstDidNotLeaveInTheCache) {
  if (!serve::chat_templates_built()) GTEST_SKIP() << "built without chat templates";
  const fs::path model_path = test::fixtures_dir() / "chat.F32.gguf";
  if (!fs::exists(model_path))
    GTEST_SKIP() << "no " << model_path << " (tools/make_test_fixtures.py)";
  ModelFile model = open_model(model_path);
  auto tokenizer = load_tokenizer(model, "");
  const serve::ChatTemplate tmpl = serve::ChatTemplate::from_model(model, *tokenizer);
  ASSERT_EQ(tmpl.bos_token(), "<s>");
  ASSERT_EQ(tmpl.eos_token(), "</s>");

  const std::vector<int32_t> answer = tokenizer->encode("Once upon a time", false);
  ScriptedSteps steps(tokenizer->vocab_size(), answer, tokenizer->eos_id());
  GenerateOptions gen;
  gen.eos_id = tokenizer->eos_id();
  ChatConversation chat(tmpl, *tokenizer, gen);
  chat.add_system("Be kind.");

  ChatTurn first = chat.reply(steps, "Hello", {});
  EXPECT_EQ(first.result.generated, answer);
  EXPECT_EQ(first.result.stop_reason, "eos");
  EXPECT_EQ(first.reused_tokens, 0);
  const std::vector<int32_t> prompt1 =
      chat_prompt_ids(*tokenizer, "<s><<SYS>> Be kind. <</SYS>>[INST] Hello [/INST]", "<s>");
  ASSERT_EQ(prompt1.front(), tokenizer->bos_id());  // the template's <s>, not a second one
  EXPECT_NE(prompt1[1], tokenizer->bos_id());
  ASSERT_FALSE(steps.fed.empty());
  EXPECT_EQ(steps.fed[0].first, prompt1);
  EXPECT_EQ(steps.fed[0].second, 0);
  ASSERT_EQ(chat.messages().size(), 3u);
  EXPECT_EQ(chat.messages()[2].role, "assistant");
  EXPECT_EQ(chat.messages()[2].content, first.result.text);

  steps.fed.clear();
  ChatTurn second = chat.reply(steps, "Again", {});
  const std::string rendered2 = "<s><<SYS>> Be kind. <</SYS>>[INST] Hello [/INST] " +
                                first.result.text + "</s>[INST] Again [/INST]";
  const std::vector<int32_t> prompt2 = chat_prompt_ids(*tokenizer, rendered2, "<s>");
  EXPECT_EQ(second.prompt_tokens, static_cast<int64_t>(prompt2.size()));
  // The first prompt and its answer are in the cache, unless the answer
  // tokenizes differently as text: at least the first prompt is reused.
  EXPECT_GE(second.reused_tokens, static_cast<int64_t>(prompt1.size()));
  EXPECT_LT(second.reused_tokens, second.prompt_tokens);
  ASSERT_FALSE(steps.fed.empty());
  EXPECT_EQ(steps.fed[0].second, second.reused_tokens);
  EXPECT_EQ(steps.fed[0].first,
            std::vector<int32_t>(prompt2.begin() + second.reused_tokens, prompt2.end()));
  EXPECT_EQ(second.result.generated, answer);
}

TEST(ChatConversation, ARefusedMessageLeavesTheConversationAsItWas) {
  if (!serve::chat_templates_built()) GTEST_SKIP() << "built without chat templates";
  serve::ChatTemplate tmpl(
      "{% for m in messages %}{% if m['role'] == 'user' and m['content'] == 'bad' %}"
      "{{ raise_exception('no') }}{% endif %}{{ m['content'] }}{% endfor %}",
      "", "");
  const fs::path model_path = test::fixtures_dir() / "chat.F32.gguf";
  if (!fs::exists(model_path)) GTEST_SKIP() << "no " << model_path;
  ModelFile model = open_model(model_path);
  auto tokenizer = load_tokenizer(model, "");
  ScriptedSteps steps(tokenizer->vocab_size(), {5}, tokenizer->eos_id());
  GenerateOptions gen;
  gen.eos_id = tokenizer->eos_id();
  ChatConversation chat(tmpl, *tokenizer, gen);
  EXPECT_THROW(chat.reply(steps, "bad", {}), serve::ChatTemplateError);
  EXPECT_TRUE(chat.messages().empty());
  EXPECT_TRUE(steps.fed.empty());
  chat.reply(steps, "good", {});
  EXPECT_EQ(chat.messages().size(), 2u);
}

}  // namespace
}  // namespace tplm
