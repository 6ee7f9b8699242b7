// `tplm tokenize -m MODEL [--tokenizer FILE] (-p TEXT | -f FILE) [--ids | --pieces]
// [--no-bos] [--special]`: the tokens a model sees for a text, printed as
// llama.cpp's llama-tokenize prints them, so that a prompt can be checked.
// Only the tokenizer is opened: a GGUF's vocabulary is read without its
// configuration or weights, so llama.cpp's vocabulary-only files work too.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/cli.hpp"
#include "base/error.hpp"
#include "format/model_file.hpp"
#include "model/tokenizer/tokenizer.hpp"
#include "model/tokenizer/utf8_length.hpp"

namespace tplm {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string file;
  bool ids = false;
  bool pieces = false;
  bool no_bos = false;
  bool special = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {} (given with -f)", path));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Bytes as one printable line: whole UTF-8 characters as they are, control
// characters and bytes that are not (yet) UTF-8 (a byte token's) as escapes.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    const size_t n = utf8_length(c);
    bool whole = c >= 0xC2 && n > 1 && i + n <= s.size();
    for (size_t k = 1; whole && k < n; ++k) whole = (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80;
    if (whole) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20 || c >= 0x7F)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
    ++i;
  }
  return out;
}

void print_tokens(const Tokenizer& t, const std::vector<int32_t>& ids, const TokenizeArgs& a) {
  if (a.ids) {
    fmt::print("[{}]\n", fmt::join(ids, ", "));
    return;
  }
  if (a.pieces) {  // JSON strings, so that spaces and quotes in a piece stay readable
    std::vector<std::string> quoted;
    for (int32_t id : ids)
      quoted.push_back(nlohmann::json(t.token_text(id))
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    fmt::print("[{}]\n", fmt::join(quoted, ", "));
    return;
  }
  int32_t prev = -1;
  for (int32_t id : ids) {
    // A control token prints nothing in text; show how the vocabulary spells it.
    std::string piece = t.decode_piece(prev, id);
    if (piece.empty()) piece = t.token_text(id);
    fmt::print("{:>6} -> '{}'\n", id, printable(piece));
    prev = id;
  }
}

}  // namespace

CommandAction add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* sub = app.add_subcommand(
      "tokenize", "Show the tokens a model sees for a text (as llama.cpp's llama-tokenize)");
  sub->add_option("-m,--model", args->model,
                  "model whose tokenizer to use: .gguf (a vocabulary-only one too), llama2.c "
                  ".bin, Hugging Face folder")
      ->required();
  sub->add_option("--tokenizer", args->tokenizer,
                  "tokenizer file (llama2.c tok*.bin, tokenizer.json, tokenizer.model)");
  CLI::Option* prompt = sub->add_option("-p,--prompt", args->prompt, "the text");
  CLI::Option* file = sub->add_option("-f,--file", args->file, "read the text from a file, as is");
  prompt->excludes(file);
  CLI::Option* ids_only = sub->add_flag("--ids", args->ids, "print only the ids, as [1, 2, 3]");
  CLI::Option* pieces_only = sub->add_flag(
      "--pieces", args->pieces, "print only the tokens as the vocabulary spells them (JSON list)");
  ids_only->excludes(pieces_only);
  sub->add_flag("--no-bos", args->no_bos, "do not add BOS (even where the vocabulary wants it)");
  sub->add_flag("--special", args->special,
                "parse control tokens written in the text (<s>, <|begin_of_text|>) as tokens");
  return [args, prompt, file]() -> int {
    if (prompt->count() == 0 && file->count() == 0)
      throw Error("no text given; pass -p TEXT or -f FILE");
    const std::string text = file->count() ? read_text(args->file) : args->prompt;
    const ModelFile m = open_model_for_tokenizer(args->model);
    const auto t = load_tokenizer(m, args->tokenizer);
    for (const std::string& w : t->warnings()) fmt::print(stderr, "tplm: warning: {}\n", w);
    const auto ids = t->encode(text, EncodeOptions{!args->no_bos, args->special});
    print_tokens(*t, ids, *args);
    return 0;
  };
}

}  // namespace tplm
