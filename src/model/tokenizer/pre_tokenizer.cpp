#include "model/tokenizer/pre_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <array>
#include <new>

#include "base/error.hpp"
#include "model/tokenizer/byte_alphabet.hpp"
#include "model/tokenizer/utf8_length.hpp"

namespace tplm {

using Behavior = PreTokenizeStep::Behavior;

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  explicit Compiled(const std::string& pattern) {
    int err = 0;
    PCRE2_SIZE at = 0;
    // MATCH_INVALID_UTF: bytes that are not UTF-8 match nothing and end up
    // between matches, in pieces of their own, instead of failing the match.
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &at, nullptr);
    if (!code) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(err, msg.data(), msg.size());
      throw Error(fmt::format("bad pre-tokenizer regex at {}: {} (pattern {})", at,
                              reinterpret_cast<const char*>(msg.data()), pattern));
    }
  }
  ~Compiled() { pcre2_code_free(code); }
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
};

namespace {

struct Segment {
  size_t begin, end;
  bool match;
};

// The matches of re in s and the text between them, in order; empty matches
// cut nothing.
std::vector<Segment> segments(const pcre2_code* re, std::string_view s) {
  const std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(re, nullptr), &pcre2_match_data_free);
  if (!md) throw std::bad_alloc();
  std::vector<Segment> out;
  size_t pos = 0, last = 0;
  while (pos < s.size()) {
    const int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0,
                               md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(rc, msg.data(), msg.size());
      throw Error(fmt::format("pre-tokenizer regex failed on the text: {}",
                              reinterpret_cast<const char*>(msg.data())));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    if (ov[1] == ov[0]) {
      pos = ov[0] + utf8_length(static_cast<uint8_t>(s[ov[0]]));
      continue;
    }
    if (ov[0] > last) out.push_back({last, ov[0], false});
    out.push_back({ov[0], ov[1], true});
    last = pos = ov[1];
  }
  if (last < s.size()) out.push_back({last, s.size(), false});
  return out;
}

// tokenizers' split: what becomes of each match.
void split_piece(const pcre2_code* re, Behavior behavior, std::string_view s,
                 std::vector<std::string>& out) {
  const std::vector<Segment> segs = segments(re, s);
  std::string pending;  // MergedWithNext: the match waiting for the text after it
  bool last_was_match = false;
  for (const Segment& g : segs) {
    const std::string_view text = s.substr(g.begin, g.end - g.begin);
    if (!g.match) {
      out.emplace_back(pending + std::string(text));
      pending.clear();
      last_was_match = false;
      continue;
    }
    switch (behavior) {
      case Behavior::Isolated:
        out.emplace_back(text);
        break;
      case Behavior::Removed:
        break;
      case Behavior::Contiguous:
        if (last_was_match)
          out.back() += text;
        else
          out.emplace_back(text);
        break;
      case Behavior::MergedWithPrevious:  // onto the text before it; else alone
        if (last_was_match || &g == segs.data())
          out.emplace_back(text);
        else
          out.back() += text;
        break;
      case Behavior::MergedWithNext:  // onto the text after it; else alone
        if (!pending.empty()) out.push_back(std::move(pending));
        pending = std::string(text);
        break;
    }
    last_was_match = true;
  }
  if (!pending.empty()) out.push_back(std::move(pending));
}

std::string to_alphabet(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_text()[static_cast<uint8_t>(c)];
  return out;
}

}  // namespace

PreTokenizer::PreTokenizer(std::vector<PreTokenizeStep> steps) : steps_(std::move(steps)) {
  bool mapped = false;
  for (const PreTokenizeStep& s : steps_)
    mapped = mapped || s.kind == PreTokenizeStep::Kind::ByteLevel;
  if (!mapped) steps_.push_back(PreTokenizeStep::byte_level(false));
  for (const PreTokenizeStep& s : steps_) {
    if (s.kind == PreTokenizeStep::Kind::Split)
      regexes_.push_back(std::make_unique<Compiled>(s.pattern));
    else if (s.use_regex)
      regexes_.push_back(std::make_unique<Compiled>(kGpt2Pattern));
    else
      regexes_.push_back(nullptr);
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string> pieces;
  if (!text.empty()) pieces.emplace_back(text);
  std::vector<std::string> next;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const PreTokenizeStep& step = steps_[k];
    const pcre2_code* re = regexes_[k] ? regexes_[k]->code : nullptr;
    next.clear();
    for (std::string& p : pieces) {
      if (step.kind == PreTokenizeStep::Kind::Split) {
        split_piece(re, step.behavior, p, next);
        continue;
      }
      if (step.add_prefix_space && p.front() != ' ') p.insert(0, 1, ' ');
      const size_t first = next.size();
      if (re)
        split_piece(re, Behavior::Isolated, p, next);
      else
        next.push_back(std::move(p));
      for (size_t i = first; i < next.size(); ++i) next[i] = to_alphabet(next[i]);
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace tplm
