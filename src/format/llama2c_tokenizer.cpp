#include "format/llama2c_tokenizer.hpp"

#include <fmt/format.h>

#include <cctype>
#include <string>

#include "format/mapped_file.hpp"

namespace tplm {

namespace {

// No real piece is longer than a few hundred bytes; a larger length means a
// wrong or corrupt file, and would otherwise ask for gigabytes.
constexpr int32_t kMaxPieceBytes = 1 << 16;

bool is_byte_piece(const std::string& p) {
  return p.size() == 6 && p.starts_with("<0x") && p.back() == '>' &&
         std::isxdigit(static_cast<unsigned char>(p[3])) &&
         std::isxdigit(static_cast<unsigned char>(p[4]));
}

int32_t token_type(int32_t id, const std::string& piece) {
  if (id == 0) return kUnknown;
  if (id == 1 || id == 2) return kControl;
  return is_byte_piece(piece) ? kByte : kNormal;
}

// Reads one (score, length, bytes) entry; throws FormatError at the offset.
std::string read_piece(Cursor& c, float& score, int32_t max_len) {
  score = c.read<float>("token score");
  const uint64_t at = c.pos();
  const int32_t len = c.read<int32_t>("token length");
  if (len < 0 || len > kMaxPieceBytes || (max_len > 0 && len > max_len)) {
    c.seek(at);
    c.fail(
        fmt::format("token length {} is negative or absurd (max_token_length {}); "
                    "is this a llama2.c tokenizer .bin?",
                    len, max_len));
  }
  return std::string(c.bytes(static_cast<uint64_t>(len), "token bytes"));
}

}  // namespace

VocabSpec read_llama2c_tokenizer(const std::filesystem::path& path, int64_t vocab_size) {
  MappedFile file(path.string());
  Cursor c(file);
  if (vocab_size <= 0 || vocab_size > (1 << 24))
    throw FormatError(path.string(), fmt::format("vocab_size {} is not a usable size", vocab_size));
  const int32_t max_len = c.read<int32_t>("max_token_length");
  if (max_len <= 0 || max_len > kMaxPieceBytes) {
    c.seek(0);
    c.fail(fmt::format("max_token_length {} is not plausible; is this a llama2.c tokenizer .bin?",
                       max_len));
  }
  VocabSpec v;
  v.kind = VocabKind::SentencePieceBpe;
  v.tokens.reserve(static_cast<size_t>(vocab_size));
  v.scores.reserve(static_cast<size_t>(vocab_size));
  for (int64_t i = 0; i < vocab_size; ++i) {
    if (c.remaining() == 0)
      c.fail(
          fmt::format("the file holds {} tokens but the model's vocab_size is {}; "
                      "is this the model's tokenizer?",
                      i, vocab_size));
    float score = 0;
    v.tokens.push_back(read_piece(c, score, max_len));
    v.scores.push_back(score);
    v.token_types.push_back(token_type(static_cast<int32_t>(i), v.tokens.back()));
  }
  if (c.remaining() != 0) {
    // Count what is left so the message names both sizes.
    const uint64_t at = c.pos();
    int64_t extra = 0;
    try {
      for (float s = 0; c.remaining() != 0; ++extra) read_piece(c, s, max_len);
    } catch (const FormatError&) {
    }
    c.seek(at);
    if (extra == 0)
      c.fail(
          fmt::format("{} bytes follow the model's vocab_size {} tokens; "
                      "is this the model's tokenizer?",
                      c.remaining(), vocab_size));
    c.fail(
        fmt::format("the file holds {} tokens, more than the model's vocab_size {}; "
                    "is this the model's tokenizer?",
                    vocab_size + extra, vocab_size));
  }
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  return v;
}

}  // namespace tplm
