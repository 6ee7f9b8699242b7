#include "model/tokenizer/named_pre_tokenizers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "base/error.hpp"
#include "model/tokenizer/pre_tokenizer.hpp"

namespace tplm {

namespace {

using Step = PreTokenizeStep;
using Behavior = PreTokenizeStep::Behavior;

struct Family {
  std::vector<std::string_view> names;
  NamedPreTokenizer pre;
};

// tokenizers' Digits pre-tokenizer: char::is_numeric is \p{N}.
Step digits(bool individual) {
  return Step::split(R"(\p{N})", individual ? Behavior::Isolated : Behavior::Contiguous);
}

// Llama 3's and Qwen's regexes (a Split before a ByteLevel without one). They
// differ in digits (up to three together, or one at a time) and, for Qwen 3.5,
// in keeping combining marks (\p{M}) with their letters.
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
                               R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N})"
    R"(| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::vector<Step> split_then_bytes(const char* pattern) {
  return {Step::split(pattern), Step::byte_level(false)};
}

// CJK ideographs (U+4E00-9FA5), U+0800-4E00 and Hangul (U+AC00-D7FF): the
// script runs DeepSeek's tokenizers keep together.
constexpr const char* kDeepSeekCjk = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      // GPT-2's regex inside ByteLevel (GPT-NeoX's tokenizer too: MPT, OLMo).
      {{"gpt-2", "phi-2", "mpt", "olmo"}, {{Step::byte_level(true)}}},
      // Every digit alone, then GPT-2's regex.
      {{"starcoder", "refact", "command-r", "smollm"}, {{digits(true), Step::byte_level(true)}}},
      {{"llama-bpe", "llama3", "llama-v3"},
       {split_then_bytes(kLlama3), /*ignore_merges=*/true, /*add_bos=*/true}},
      {{"qwen2", "deepseek-r1-qwen"}, {split_then_bytes(kQwen2)}},
      {{"qwen35"}, {split_then_bytes(kQwen35)}},
      // Punctuation runs, GPT-2's regex, then (on the byte alphabet) digit
      // runs and groups of three ASCII digits.
      {{"falcon"},
       {{Step::split(R"([\p{P}!-/:-@\[-`{-~])", Behavior::Contiguous), Step::byte_level(true),
         digits(false), Step::split("[0-9][0-9][0-9]")}}},
      {{"deepseek-llm"},
       {{Step::split(R"([\r\n])"), Step::split(R"(\s?[\p{Lu}\p{Ll}\p{Lt}]+)"),
         Step::split(
             R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)"),
         Step::split(R"(\s+$)"), Step::split(kDeepSeekCjk), digits(true),
         Step::byte_level(false)}}},
      {{"deepseek-coder"},
       {{Step::split(R"([\r\n])"), Step::split(R"(\s?\p{L}+)"), Step::split(R"(\s?\p{P}+)"),
         Step::split(kDeepSeekCjk), digits(true), Step::byte_level(false)}}},
  };
  return table;
}

}  // namespace

NamedPreTokenizer named_pre_tokenizer(std::string_view pre, std::vector<std::string>& warnings) {
  for (const Family& f : families())
    if (std::find(f.names.begin(), f.names.end(), pre) != f.names.end()) return f.pre;
  if (pre.empty() || pre == "default") {
    warnings.push_back(fmt::format(
        "the vocabulary names no pre-tokenizer ({}); using GPT-2's, which may split text "
        "differently from the model's own tokenizer: re-convert the model with a current "
        "llama.cpp to record it",
        pre.empty() ? "no tokenizer.ggml.pre" : "tokenizer.ggml.pre is \"default\""));
    return {{Step::byte_level(true)}};
  }
  throw Error(fmt::format(
      "the vocabulary's pre-tokenizer \"{}\" (tokenizer.ggml.pre) is not supported; tplm knows {}",
      pre, known_pre_tokenizer_names()));
}

std::string known_pre_tokenizer_names() {
  std::vector<std::string_view> names;
  for (const Family& f : families()) names.insert(names.end(), f.names.begin(), f.names.end());
  std::sort(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace tplm
