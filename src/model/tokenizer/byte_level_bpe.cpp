#include "model/tokenizer/byte_level_bpe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "base/error.hpp"
#include "model/tokenizer/byte_alphabet.hpp"
#include "model/tokenizer/named_pre_tokenizers.hpp"
#include "model/tokenizer/utf8_length.hpp"

namespace tplm {

namespace {

// A GGUF names its pre-tokenizer; that name also decides ignore_merges and,
// when the file is silent, whether BOS is added.
PreTokenizer resolve_pre_tokenizer(VocabSpec& v, std::vector<std::string>& warnings) {
  if (!v.pre_steps.empty()) return PreTokenizer(v.pre_steps);
  NamedPreTokenizer named = named_pre_tokenizer(v.pre, warnings);
  v.ignore_merges = v.ignore_merges || named.ignore_merges;
  if (!v.add_bos_given) v.add_bos = named.add_bos;
  return PreTokenizer(std::move(named.steps));
}

}  // namespace

ByteLevelBpe::ByteLevelBpe(VocabSpec vocab)
    : vocab_(std::move(vocab)),
      pre_(resolve_pre_tokenizer(vocab_, warnings_)),
      specials_(SpecialTokens::of(vocab_)) {
  const size_t n = vocab_.tokens.size();
  decoded_.resize(n);
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    index_.emplace(vocab_.tokens[i], static_cast<int32_t>(i));
    const int32_t type = i < vocab_.token_types.size() ? vocab_.token_types[i] : kNormal;
    decoded_[i] = type == kControl       ? ""
                  : type == kUserDefined ? vocab_.tokens[i]
                                         : text_to_bytes(vocab_.tokens[i]);
  }
  ranks_.reserve(vocab_.merges.size());
  for (size_t r = 0; r < vocab_.merges.size(); ++r) {
    if (vocab_.merges[r].find(' ') == std::string::npos)
      throw Error(fmt::format("merge {} \"{}\" is not \"left right\"", r, vocab_.merges[r]));
    ranks_.emplace(vocab_.merges[r], static_cast<int32_t>(r));
  }
}

void ByteLevelBpe::encode_text(std::string_view text, std::vector<int32_t>& ids) const {
  for (const std::string& word : pre_.split(text)) encode_word(word, ids);
}

// Merges the adjacent pair with the lowest rank, leftmost on ties, until no
// listed merge applies (what tokenizers' BPE does). The symbols, one per
// character of the byte alphabet, are a linked list and the candidates a heap
// with stale entries skipped, so a long word (a run of 100k spaces) costs
// O(n log n), not O(n^2).
void ByteLevelBpe::encode_word(const std::string& word, std::vector<int32_t>& ids) const {
  if (vocab_.ignore_merges)
    if (auto it = index_.find(word); it != index_.end()) {
      ids.push_back(it->second);
      return;
    }
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
  std::vector<Node> nodes;
  for (size_t i = 0; i < word.size();) {
    const size_t n = std::min(utf8_length(static_cast<uint8_t>(word[i])), word.size() - i);
    const int k = static_cast<int>(nodes.size());
    nodes.push_back({word.substr(i, n), k - 1, -1, 0});
    if (k > 0) nodes[static_cast<size_t>(k - 1)].next = k;
    i += n;
  }
  auto node = [&](int i) -> Node& { return nodes[static_cast<size_t>(i)]; };
  std::priority_queue<Candidate> heap;
  auto offer = [&](int left) {
    if (left < 0 || node(left).next < 0) return;
    const int right = node(left).next;
    auto it = ranks_.find(node(left).text + " " + node(right).text);
    if (it != ranks_.end())
      heap.push({it->second, left, right, node(left).version, node(right).version});
  };
  for (int i = 0; i + 1 < static_cast<int>(nodes.size()); ++i) offer(i);
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
  for (int i = nodes.empty() ? -1 : 0; i >= 0; i = node(i).next) {
    auto it = index_.find(node(i).text);
    if (it != index_.end()) {
      ids.push_back(it->second);
    } else if (vocab_.unk_id >= 0) {
      ids.push_back(vocab_.unk_id);
    } else {
      throw Error(fmt::format("byte-level vocabulary has no token for \"{}\" and no unknown token",
                              node(i).text));
    }
  }
}

const std::string& ByteLevelBpe::checked(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= decoded_.size())
    throw Error(
        fmt::format("token id {} is outside the vocabulary (size {})", id, decoded_.size()));
  return vocab_.tokens[static_cast<size_t>(id)];
}

std::string ByteLevelBpe::decode_piece(int32_t /*prev*/, int32_t id) const {
  checked(id);
  return decoded_[static_cast<size_t>(id)];
}

std::string ByteLevelBpe::token_text(int32_t id) const {
  return checked(id);
}

}  // namespace tplm
