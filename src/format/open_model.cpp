#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "format/format_error.hpp"
#include "format/model_file.hpp"

namespace tplm {

namespace {

enum class Kind : uint8_t { Folder, Gguf, Other };

Kind look_at(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw FormatError(path.string(), "no such file or folder: check the path given with -m");
  if (std::filesystem::is_directory(path, ec)) return Kind::Folder;
  std::array<char, 4> magic{};
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw FormatError(path.string(), "cannot open the file for reading");
  const size_t n = std::fread(magic.data(), 1, magic.size(), f);
  std::fclose(f);
  return n == 4 && std::string_view(magic.data(), 4) == "GGUF" ? Kind::Gguf : Kind::Other;
}

}  // namespace

ModelFile open_model(const std::filesystem::path& path) {
  switch (look_at(path)) {
    case Kind::Folder:
      return read_hf_folder(path);
    case Kind::Gguf:
      return read_gguf(path);
    case Kind::Other:
      break;
  }
  return read_llama2c(path);
}

ModelFile open_model_for_tokenizer(const std::filesystem::path& path) {
  if (look_at(path) == Kind::Gguf) return read_gguf_vocab_only(path);
  return open_model(path);
}

}  // namespace tplm
