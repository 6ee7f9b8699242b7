#pragma once
// Runs a byte-level BPE vocabulary's pre-tokenizer steps (PreTokenizeStep) the
// way Hugging Face tokenizers does: every step on every piece the steps before
// it made, each piece matched on its own (a lookahead never sees past its
// piece's end), regexes in PCRE2 with Unicode properties. The pieces come back
// in GPT-2's byte alphabet, ready for the merges.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/pre_tokenizer_spec.hpp"

namespace tplm {

// GPT-2's regex: what ByteLevel's use_regex splits by, and the pre-tokenizer
// of the GPT-2 family.
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class PreTokenizer {
 public:
  // Throws Error naming the pattern when a regex does not compile. Without a
  // ByteLevel step the pieces are mapped at the end (a byte-level vocabulary
  // needs its alphabet).
  explicit PreTokenizer(std::vector<PreTokenizeStep> steps);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  std::vector<std::string> split(std::string_view text) const;

 private:
  struct Compiled;
  std::vector<PreTokenizeStep> steps_;
  std::vector<std::unique_ptr<Compiled>> regexes_;  // one per step: the step's or GPT-2's, or null
};

}  // namespace tplm
