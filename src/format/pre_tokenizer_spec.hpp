#pragma once
// How a byte-level BPE vocabulary cuts text into words before merging, written
// as Hugging Face tokenizers' pre-tokenizer steps: Split by a regex, and
// ByteLevel (optionally GPT-2's regex, then every byte written in GPT-2's
// printable alphabet). The steps run in order, each on every piece the steps
// before it made; a step after ByteLevel sees the mapped text, as it does in
// tokenizers (Falcon's digit splits run there). Only a description: the
// tokenizer in model/tokenizer compiles and runs it.
#include <cstdint>
#include <string>
#include <utility>

namespace tplm {

struct PreTokenizeStep {
  enum class Kind : uint8_t { Split, ByteLevel };
  // What becomes of a regex match: tokenizers' SplitDelimiterBehavior.
  enum class Behavior : uint8_t {
    Isolated,            // a piece of its own
    Removed,             // dropped
    MergedWithPrevious,  // joins the text before it
    MergedWithNext,      // joins the text after it
    Contiguous,          // a piece of its own, adjacent matches together
  };

  Kind kind = Kind::Split;
  std::string pattern;                     // Split: PCRE2 syntax, run with Unicode properties
  Behavior behavior = Behavior::Isolated;  // Split
  bool use_regex = true;                   // ByteLevel: split by GPT-2's regex first
  bool add_prefix_space = false;           // ByteLevel: a space before a piece without one

  static PreTokenizeStep split(std::string pattern, Behavior behavior = Behavior::Isolated) {
    PreTokenizeStep s;
    s.pattern = std::move(pattern);
    s.behavior = behavior;
    return s;
  }
  static PreTokenizeStep byte_level(bool use_regex, bool add_prefix_space = false) {
    PreTokenizeStep s;
    s.kind = Kind::ByteLevel;
    s.use_regex = use_regex;
    s.add_prefix_space = add_prefix_space;
    return s;
  }
};

}  // namespace tplm
