#include "format/error.hpp"
#include "format/model_file.hpp"

namespace tplm {

// Placeholder until the Hugging Face reader lands.
ModelFile read_hf_folder(const std::filesystem::path& folder) {
  throw FormatError(folder.string(), "Hugging Face folders are not read yet");
}

}  // namespace tplm
