// Chat templates rendered by llama.cpp's Jinja engine equal Python jinja2's
// rendering as transformers' apply_chat_template does it
// (tools/render_chat_template.py), on the real models' templates llama.cpp
// ships (models/templates/*.jinja, fetched with the engine).
#include "app/serve/chat_template.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_paths.hpp"

namespace tplm::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path templates_dir() {
  return fs::path(TPLM_JINJA_DIR) / "models" / "templates";
}

#define NEED_ENGINE()                                                                      \
  if (!chat_templates_built() || std::string(TPLM_JINJA_DIR).empty())                      \
  GTEST_SKIP() << "built without chat templates (cmake/llama_jinja.cmake could not fetch " \
                  "llama.cpp's Jinja engine)"

// The conversations each template renders: system, user and assistant turns,
// with and without the generation prompt; text with quotes, newlines and
// non-ASCII, which tojson and string filters must keep.
std::vector<std::pair<std::vector<ChatMessage>, bool>> conversations() {
  return {
      {{{"user", "Hello!"}}, true},
      {{{"system", "You are a helpful assistant."}, {"user", "What is 2+2?"}}, true},
      {{{"system", "Answer briefly."},
        {"user", "Name a \"prime\" number."},
        {"assistant", "7"},
        {"user", "Another one,\nplease: ünïcödé ✓"}},
       true},
      {{{"user", "Hi"}, {"assistant", "Hello, how can I help?"}}, false},
      {{{"system", "S"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}, {"assistant", "A2"}},
       false},
  };
}

// BOS and EOS as the models' tokenizers spell them.
std::pair<std::string, std::string> special_tokens(const std::string& name) {
  if (name.find("Llama-3") != std::string::npos) return {"<|begin_of_text|>", "<|eot_id|>"};
  if (name.find("Qwen") != std::string::npos) return {"", "<|im_end|>"};
  return {"<s>", "</s>"};
}

// Fixed so that strftime_now (Llama 3.2's "Today Date") gives the same text.
constexpr std::time_t kTime = 1767225600;  // 2026-01-01

struct Compared {
  int cases = 0;
  std::vector<std::string> differences;
};

// Renders every conversation with `name`'s template here and with jinja2, and
// lists where the two differ (a text, or one failing where the other did not).
Compared compare(const std::vector<std::string>& names) {
  Compared out;
  json cases = json::array();
  std::vector<std::pair<std::string, size_t>> index;
  for (const std::string& name : names) {
    auto [bos, eos] = special_tokens(name);
    auto convs = conversations();
    for (size_t c = 0; c < convs.size(); ++c) {
      json messages = json::array();
      for (const ChatMessage& m : convs[c].first)
        messages.push_back({{"role", m.role}, {"content", m.content}});
      cases.push_back({{"template", (templates_dir() / name).string()},
                       {"messages", messages},
                       {"add_generation_prompt", convs[c].second},
                       {"bos_token", bos},
                       {"eos_token", eos},
                       {"time", kTime}});
      index.emplace_back(name, c);
    }
  }
  fs::path dir = test::make_temp_dir("chat_template");
  std::ofstream(dir / "cases.json") << cases.dump();
  auto r = test::run_command("TZ=UTC python3 " +
                             (test::source_dir() / "tools/render_chat_template.py").string() + " " +
                             (dir / "cases.json").string() + " 2>" + (dir / "stderr").string());
  fs::remove_all(dir);
  if (r.exit_code != 0) {
    out.differences.push_back("tools/render_chat_template.py failed: " + r.output);
    return out;
  }
  json expected = json::parse(r.output);
  std::map<std::string, std::optional<ChatTemplate>> parsed;
  for (size_t i = 0; i < index.size(); ++i) {
    const auto& [name, c] = index[i];
    auto conv = conversations()[c];
    const json& want = expected[i];
    std::string got, error;
    try {
      if (!parsed.count(name)) {
        auto [bos, eos] = special_tokens(name);
        parsed.emplace(name, ChatTemplate(test::read_file(templates_dir() / name), bos, eos));
        parsed.at(name)->set_time(kTime);
      }
      got = parsed.at(name)->render(conv.first, conv.second);
    } catch (const ChatTemplateError& e) {
      error = e.what();
    }
    ++out.cases;
    std::string where = name + " conversation " + std::to_string(c);
    if (want.contains("error") != !error.empty())
      out.differences.push_back(
          where + ": jinja2 " +
          (want.contains("error") ? "raised " + want["error"].dump() : "rendered") + ", tplm " +
          (error.empty() ? "rendered" : "raised " + error));
    else if (want.contains("text") && want["text"].get<std::string>() != got)
      out.differences.push_back(where + ":\n--- jinja2:\n" + want["text"].get<std::string>() +
                                "\n--- tplm:\n" + got);
  }
  return out;
}

void set_utc() {
  setenv("TZ", "UTC", 1), tzset();
}

bool have_jinja2() {
  return test::run_command("python3 -c 'import jinja2'").exit_code == 0;
}

// Templates that need a list of tools (or functions) to render at all: jinja2
// fails iterating tools=None, llama.cpp's engine renders nothing for it.
// tplm serves no tools.
bool needs_tools(const std::string& name) {
  return name.find("tool_use") != std::string::npos ||
         name.find("firefunction") != std::string::npos;
}

TEST(ChatTemplate, RealTemplatesEqualJinja2) {
  NEED_ENGINE();
  if (!have_jinja2())
    GTEST_SKIP() << "python3 has no jinja2 (pip install -r tools/requirements.txt)";
  set_utc();
  // The families the issue names must be there: Llama 3 (3.1; 3.2 with
  // strftime_now; 3.3), Qwen2.5 and Qwen3 (ChatML), Mistral (Nemo, Small 3.2).
  for (const char* n :
       {"meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
        "meta-llama-Llama-3.3-70B-Instruct.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja",
        "Qwen-Qwen3-0.6B.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
        "Mistral-Small-3.2-24B-Instruct-2506.jinja"})
    ASSERT_TRUE(fs::exists(templates_dir() / n)) << n << " is not in " << templates_dir();
  // And every other template llama.cpp ships that renders without tools.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(templates_dir()))
    if (e.path().extension() == ".jinja" && !needs_tools(e.path().filename().string()))
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_GE(names.size(), 60u);
  Compared c = compare(names);
  EXPECT_EQ(c.cases, static_cast<int>(names.size() * conversations().size()));
  for (const std::string& d : c.differences) ADD_FAILURE() << d;
}

TEST(ChatTemplate, Llama3RendersItsHeaders) {
  NEED_ENGINE();
  set_utc();
  ChatTemplate t(test::read_file(templates_dir() / "meta-llama-Llama-3.1-8B-Instruct.jinja"),
                 "<|begin_of_text|>", "<|eot_id|>");
  std::string text = t.render({{"system", "Be brief."}, {"user", "Hi"}}, true);
  EXPECT_EQ(text.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n", 0), 0u)
      << text;
  EXPECT_NE(
      text.find("Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"),
      std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n")) << text;
  std::string no_prompt = t.render({{"system", "Be brief."}, {"user", "Hi"}}, false);
  EXPECT_TRUE(no_prompt.ends_with("Hi<|eot_id|>")) << no_prompt;
}

TEST(ChatTemplate, RaiseExceptionBecomesAChatTemplateError) {
  NEED_ENGINE();
  ChatTemplate t(
      "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with "
      "the user') }}{% endif %}{{ messages[0]['content'] }}",
      "", "");
  EXPECT_EQ(t.render({{"user", "ok"}}, false), "ok");
  try {
    t.render({{"assistant", "no"}}, false);
    FAIL() << "no exception";
  } catch (const ChatTemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("Conversations must start with the user"),
              std::string::npos)
        << e.what();
  }
}

TEST(ChatTemplate, ASyntaxErrorSaysItDoesNotParse) {
  NEED_ENGINE();
  try {
    ChatTemplate t("{% for m in messages %}{{ m.content }}", "", "");
    FAIL() << "parsed";
  } catch (const ChatTemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("does not parse"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, BosAndEosAndGenerationPromptAreVariables) {
  NEED_ENGINE();
  ChatTemplate t(
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor "
      "%}{% if add_generation_prompt %}[assistant]{% endif %}",
      "<s>", "</s>");
  EXPECT_EQ(t.render({{"user", "a"}, {"assistant", "b"}}, false), "<s>[user]a</s>[assistant]b</s>");
  EXPECT_EQ(t.render({{"user", "a"}}, true), "<s>[user]a</s>[assistant]");
}

}  // namespace
}  // namespace tplm::serve
