#include "format/error.hpp"
#include "format/model_file.hpp"

namespace tplm {

// Placeholder until the GGUF reader lands.
ModelFile read_gguf(const std::filesystem::path& file) {
  throw FormatError(file.string(), "GGUF reading is not built yet");
}

}  // namespace tplm
