#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "format/format_error.hpp"
#include "format/model_file.hpp"

namespace tplm {

ModelFile open_model(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw FormatError(path.string(), "no such file or folder: check the path given with -m");
  if (std::filesystem::is_directory(path, ec)) return read_hf_folder(path);
  std::array<char, 4> magic{};
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    size_t n = std::fread(magic.data(), 1, magic.size(), f);
    std::fclose(f);
    if (n == 4 && std::string_view(magic.data(), 4) == "GGUF") return read_gguf(path);
  } else {
    throw FormatError(path.string(), "cannot open the file for reading");
  }
  return read_llama2c(path);
}

}  // namespace tplm
