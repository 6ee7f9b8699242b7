#include "model/tokenizer/byte_level_bpe.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <array>
#include <climits>
#include <memory>
#include <new>
#include <queue>

#include "base/error.hpp"
#include "model/tokenizer/special_tokens.hpp"

namespace tplm {

namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the
// other 68 bytes map to U+0100.. in byte order, so every byte is a visible char.
const std::array<std::string, 256>& byte_to_text() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const int cp = printable ? b : next++;
      std::string s;
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
      t[static_cast<size_t>(b)] = s;
    }
    return t;
  }();
  return table;
}

// The inverse map; pieces with chars outside the alphabet keep their bytes.
std::string text_to_bytes(const std::string& piece) {
  static const std::unordered_map<std::string, char> inverse = [] {
    std::unordered_map<std::string, char> m;
    for (int b = 0; b < 256; ++b)
      m.emplace(byte_to_text()[static_cast<size_t>(b)], static_cast<char>(b));
    return m;
  }();
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    const size_t n = (static_cast<unsigned char>(piece[i]) & 0xE0) == 0xC0 ? 2 : 1;
    auto it = inverse.find(piece.substr(i, n));
    if (it != inverse.end()) {
      out += it->second;
      i += n;
    } else {
      out += piece[i++];
    }
  }
  return out;
}

}  // namespace

std::string byte_level_pattern(std::string_view pre) {
  // llama.cpp's llm_tokenizer_bpe table; these match tokenizers' Split regexes.
  if (pre == "llama-bpe" || pre == "llama3" || pre == "smaug-bpe")
    return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  if (pre == "qwen2")
    return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
}

struct ByteLevelBpe::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

ByteLevelBpe::ByteLevelBpe(VocabSpec vocab, const std::string& pattern)
    : vocab_(std::move(vocab)), regex_(std::make_unique<Regex>()) {
  int err = 0;
  PCRE2_SIZE at = 0;
  regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                               PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &at, nullptr);
  if (!regex_->code) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(err, msg.data(), msg.size());
    throw Error(fmt::format("bad pre-tokenizer regex at {}: {}", at,
                            reinterpret_cast<const char*>(msg.data())));
  }
  const size_t n = vocab_.tokens.size();
  decoded_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    index_.emplace(vocab_.tokens[i], static_cast<int32_t>(i));
    const int32_t type = i < vocab_.token_types.size() ? vocab_.token_types[i] : kNormal;
    if (type == kControl || type == kUserDefined) specials_.push_back(static_cast<int32_t>(i));
    decoded_[i] = type == kControl       ? ""
                  : type == kUserDefined ? vocab_.tokens[i]
                                         : text_to_bytes(vocab_.tokens[i]);
  }
  for (size_t r = 0; r < vocab_.merges.size(); ++r) {
    if (vocab_.merges[r].find(' ') == std::string::npos)
      throw Error(fmt::format("merge {} \"{}\" is not \"left right\"", r, vocab_.merges[r]));
    ranks_.emplace(vocab_.merges[r], static_cast<int32_t>(r));
  }
}

ByteLevelBpe::~ByteLevelBpe() = default;

std::vector<int32_t> ByteLevelBpe::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  // The vocabulary decides whether it has a BOS to add (GGUF add_bos_token: Qwen2 has none).
  if (add_bos && vocab_.add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);
  // Special tokens are matched verbatim first (leftmost, then longest); the
  // text between them goes through the regex and BPE.
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    int32_t hit = -1;
    for (int32_t id : specials_) {
      const std::string& s = vocab_.tokens[static_cast<size_t>(id)];
      if (!s.empty() && text.substr(i, s.size()) == s &&
          (hit < 0 || s.size() > vocab_.tokens[static_cast<size_t>(hit)].size()))
        hit = id;
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    encode_text(text.substr(start, i - start), ids);
    ids.push_back(hit);
    i += vocab_.tokens[static_cast<size_t>(hit)].size();
    start = i;
  }
  encode_text(text.substr(start), ids);
  return ids;
}

void ByteLevelBpe::encode_text(std::string_view text, std::vector<int32_t>& ids) const {
  // Owned so that an exception from encode_chunk does not leak it.
  const std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(regex_->code, nullptr), &pcre2_match_data_free);
  pcre2_match_data* md = match.get();
  if (!md) throw std::bad_alloc();
  size_t pos = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(regex_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                               pos, 0, md, nullptr);
    if (rc < 0) break;  // no more matches (PCRE2_ERROR_NOMATCH)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    // Bytes no pattern matched (invalid UTF-8) are a chunk of their own.
    if (ov[0] > pos) encode_chunk(text.substr(pos, ov[0] - pos), ids);
    if (ov[1] == ov[0]) {  // an empty match: step one byte to make progress
      pos = ov[0] + 1;
      encode_chunk(text.substr(ov[0], 1), ids);
      continue;
    }
    encode_chunk(text.substr(ov[0], ov[1] - ov[0]), ids);
    pos = ov[1];
  }
  if (pos < text.size()) encode_chunk(text.substr(pos), ids);
}

// Merges the adjacent pair with the lowest rank, leftmost on ties, until no
// listed merge applies (what tokenizers' BPE does). The symbols are a linked
// list and the candidates a heap with stale entries skipped, so a long chunk
// (a run of 100k spaces) costs O(n log n), not O(n^2).
void ByteLevelBpe::encode_chunk(std::string_view chunk, std::vector<int32_t>& ids) const {
  struct Node {
    std::string text;
    int prev, next;
    int version;  // bumped by each merge, so older candidates are recognised as stale
  };
  struct Candidate {
    int32_t rank;
    int left, right, left_version, right_version;
    bool operator<(const Candidate& o) const {  // std::priority_queue pops the largest
      return rank > o.rank || (rank == o.rank && left > o.left);
    }
  };
  const int n = static_cast<int>(chunk.size());
  std::vector<Node> nodes;
  nodes.reserve(chunk.size());
  for (int i = 0; i < n; ++i)
    nodes.push_back({byte_to_text()[static_cast<unsigned char>(chunk[static_cast<size_t>(i)])],
                     i - 1, i + 1 < n ? i + 1 : -1, 0});
  auto node = [&](int i) -> Node& { return nodes[static_cast<size_t>(i)]; };
  std::priority_queue<Candidate> heap;
  auto offer = [&](int left) {
    if (left < 0 || node(left).next < 0) return;
    const int right = node(left).next;
    auto it = ranks_.find(node(left).text + " " + node(right).text);
    if (it != ranks_.end())
      heap.push({it->second, left, right, node(left).version, node(right).version});
  };
  for (int i = 0; i + 1 < n; ++i) offer(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Node& left = node(c.left);
    Node& right = node(c.right);
    if (left.version != c.left_version || right.version != c.right_version ||
        left.next != c.right || right.version < 0)
      continue;  // stale: one side was merged since
    left.text += right.text;
    ++left.version;
    right.version = -1;  // gone
    left.next = right.next;
    if (left.next >= 0) node(left.next).prev = c.left;
    offer(left.prev);
    offer(c.left);
  }
  std::vector<std::string> parts;
  for (int i = n > 0 ? 0 : -1; i >= 0; i = node(i).next) parts.push_back(std::move(node(i).text));
  for (const std::string& p : parts) {
    auto it = index_.find(p);
    if (it != index_.end()) {
      ids.push_back(it->second);
    } else if (vocab_.unk_id >= 0) {
      ids.push_back(vocab_.unk_id);
    } else {
      throw Error(
          fmt::format("byte-level vocabulary has no token for \"{}\" and no unknown token", p));
    }
  }
}

std::string ByteLevelBpe::decode_piece(int32_t /*prev*/, int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= decoded_.size())
    throw Error(
        fmt::format("token id {} is outside the vocabulary (size {})", id, decoded_.size()));
  return decoded_[static_cast<size_t>(id)];
}

std::vector<SpecialToken> ByteLevelBpe::special_tokens() const {
  return special_tokens_of(vocab_);
}

}  // namespace tplm
