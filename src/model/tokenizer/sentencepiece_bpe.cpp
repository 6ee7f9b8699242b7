#include "model/tokenizer/sentencepiece_bpe.hpp"

#include <fmt/format.h>

#include <charconv>
#include <queue>

#include "base/error.hpp"
#include "model/tokenizer/special_tokens.hpp"

namespace tplm {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁"

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, from.size()) == from) {
      out += to;
      i += from.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

// "<0xNN>" -> NN, else -1.
int byte_of_piece(std::string_view p) {
  if (p.size() != 6 || !p.starts_with("<0x") || p.back() != '>') return -1;
  int v = 0;
  auto [end, ec] = std::from_chars(p.data() + 3, p.data() + 5, v, 16);
  return (ec == std::errc() && end == p.data() + 5) ? v : -1;
}

// Length of the UTF-8 sequence starting at s[i], as llama2.c groups bytes: a
// non-continuation byte followed by up to three continuation bytes.
size_t code_point_length(std::string_view s, size_t i) {
  size_t n = 1;
  while (i + n < s.size() && n < 4 && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
  return n;
}

}  // namespace

SentencePieceBpe::SentencePieceBpe(VocabSpec vocab) : vocab_(std::move(vocab)) {
  const auto n = vocab_.tokens.size();
  if (vocab_.scores.size() != n)
    throw Error(fmt::format("sentencepiece vocabulary has {} tokens but {} scores", n,
                            vocab_.scores.size()));
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    index_.emplace(vocab_.tokens[i], static_cast<int32_t>(i));  // first id wins on duplicates
    if (vocab_.tokens[i].starts_with(kSpaceMark)) escape_spaces_ = true;
  }
  byte_ids_.assign(256, vocab_.unk_id);
  decoded_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& piece = vocab_.tokens[i];
    const int32_t type = i < vocab_.token_types.size() ? vocab_.token_types[i] : kNormal;
    const int b = byte_of_piece(piece);
    if (b >= 0 && (type == kByte || type == kNormal)) {
      if (byte_ids_[static_cast<size_t>(b)] == vocab_.unk_id)
        byte_ids_[static_cast<size_t>(b)] = static_cast<int32_t>(i);
      decoded_[i] = std::string(1, static_cast<char>(b));
    } else if (type == kControl) {
      decoded_[i] = "";
    } else {
      decoded_[i] = escape_spaces_ ? replace_all(piece, kSpaceMark, " ") : piece;
    }
  }
}

int32_t SentencePieceBpe::lookup(std::string_view piece) const {
  auto it = index_.find(std::string(piece));
  return it == index_.end() ? -1 : it->second;
}

void SentencePieceBpe::push_code_point(std::string_view cp, std::vector<int32_t>& ids) const {
  if (int32_t id = lookup(cp); id >= 0) {
    ids.push_back(id);
    return;
  }
  for (char c : cp) {
    const int32_t id = byte_ids_[static_cast<unsigned char>(c)];
    if (id < 0)
      throw Error(
          fmt::format("the vocabulary has no token for byte 0x{:02X} and no unknown "
                      "token; it cannot encode this text",
                      static_cast<unsigned char>(c)));
    ids.push_back(id);
  }
}

// llama2.c's greedy merging: repeatedly merge the adjacent pair with the
// highest score, the leftmost on ties. llama2.c rescans all pairs per merge
// (O(n^2)); here the symbols are a linked list and the candidate pairs a heap
// ordered by (score desc, left position asc), with stale entries skipped when
// popped. Same merges, O(n log n).
void SentencePieceBpe::merge_pairs(std::vector<int32_t>& ids) const {
  struct Node {
    int32_t id;
    int prev, next;  // -1 at the ends
  };
  struct Candidate {
    float score;
    int left, right;
    int32_t left_id, right_id, merged;
    bool operator<(const Candidate& o) const {
      return score < o.score || (score == o.score && left > o.left);
    }
  };
  const int n = static_cast<int>(ids.size());
  std::vector<Node> nodes(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    nodes[static_cast<size_t>(i)] = {ids[static_cast<size_t>(i)], i - 1, i + 1 < n ? i + 1 : -1};
  std::priority_queue<Candidate> heap;
  auto offer = [&](int left) {
    if (left < 0) return;
    const int right = nodes[static_cast<size_t>(left)].next;
    if (right < 0) return;
    const int32_t l = nodes[static_cast<size_t>(left)].id, r = nodes[static_cast<size_t>(right)].id;
    const int32_t id =
        lookup(vocab_.tokens[static_cast<size_t>(l)] + vocab_.tokens[static_cast<size_t>(r)]);
    if (id < 0) return;
    const float score = vocab_.scores[static_cast<size_t>(id)];
    if (score > -1e10f) heap.push({score, left, right, l, r, id});  // llama2.c's floor
  };
  for (int i = 0; i + 1 < n; ++i) offer(i);
  std::vector<bool> dead(static_cast<size_t>(n), false);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Node& left = nodes[static_cast<size_t>(c.left)];
    if (dead[static_cast<size_t>(c.left)] || dead[static_cast<size_t>(c.right)] ||
        left.next != c.right || left.id != c.left_id ||
        nodes[static_cast<size_t>(c.right)].id != c.right_id)
      continue;  // stale: one side was merged since
    left.id = c.merged;
    dead[static_cast<size_t>(c.right)] = true;
    left.next = nodes[static_cast<size_t>(c.right)].next;
    if (left.next >= 0) nodes[static_cast<size_t>(left.next)].prev = c.left;
    offer(left.prev);
    offer(c.left);
  }
  ids.clear();
  for (int i = n > 0 ? 0 : -1; i >= 0; i = nodes[static_cast<size_t>(i)].next)
    ids.push_back(nodes[static_cast<size_t>(i)].id);
}

std::vector<int32_t> SentencePieceBpe::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  // The vocabulary decides whether it has a BOS to add (GGUF add_bos_token: Qwen2 has none).
  if (add_bos && vocab_.add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);
  if (text.empty()) return ids;
  const std::string escaped = escape_spaces_ ? replace_all(text, " ", kSpaceMark) : "";
  const std::string_view s = escape_spaces_ ? std::string_view(escaped) : text;
  std::vector<int32_t> pieces;
  // The dummy prefix: SentencePiece treats the text as if it started with a space.
  push_code_point(escape_spaces_ ? kSpaceMark : " ", pieces);
  for (size_t i = 0; i < s.size();) {
    const size_t n = code_point_length(s, i);
    push_code_point(s.substr(i, n), pieces);
    i += n;
  }
  merge_pairs(pieces);
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return ids;
}

std::string SentencePieceBpe::decode_piece(int32_t prev, int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= decoded_.size())
    throw Error(
        fmt::format("token id {} is outside the vocabulary (size {})", id, decoded_.size()));
  const std::string& out = decoded_[static_cast<size_t>(id)];
  // llama2.c: the first piece after BOS loses its leading (dummy-prefix) space.
  // Byte tokens are exempt: "<0x20>" is a real space.
  const bool is_byte = byte_of_piece(vocab_.tokens[static_cast<size_t>(id)]) >= 0;
  if (prev >= 0 && prev == vocab_.bos_id && !is_byte && out.starts_with(' ')) return out.substr(1);
  return out;
}

std::vector<SpecialToken> SentencePieceBpe::special_tokens() const {
  return special_tokens_of(vocab_);
}

}  // namespace tplm
