#include "format/model_file.hpp"

#include <fmt/format.h>

#include <map>
#include <system_error>

#include "format/format_error.hpp"

namespace tplm {

std::string_view file_format_name(FileFormat f) {
  switch (f) {
    case FileFormat::Gguf:
      return "gguf";
    case FileFormat::HuggingFace:
      return "huggingface";
    case FileFormat::Llama2c:
      return "llama2c";
  }
  return "unknown";
}

const TensorInfo* ModelFile::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo& ModelFile::at(std::string_view name) const {
  if (const TensorInfo* t = find(name)) return *t;
  throw FormatError(path, fmt::format("missing tensor {}: the model is incomplete or not a "
                                      "Llama-family model",
                                      name));
}

uint64_t ModelFile::total_weight_bytes() const {
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.nbytes;
  return total;
}

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

}  // namespace

void check_tensors(const ModelFile& m) {
  std::map<std::string, uint64_t> file_sizes;
  for (const auto& t : m.tensors) {
    const auto& tr = dtype_traits(t.dtype);
    if (t.cols() % tr.block_elems != 0)
      throw FormatError(t.path, t.offset,
                        fmt::format("tensor {} of type {} has {} columns, not a multiple of its "
                                    "block size {}",
                                    t.source_name, tr.name, t.cols(), tr.block_elems));
    const uint64_t want = dtype_bytes(t.dtype, t.elements());
    if (t.nbytes != want)
      throw FormatError(t.path, t.offset,
                        fmt::format("tensor {} {} {} should take {} bytes but takes {}",
                                    t.source_name, tr.name, shape_str(t.shape), want, t.nbytes));
    auto [it, inserted] = file_sizes.try_emplace(t.path, 0);
    if (inserted) {
      std::error_code ec;
      it->second = std::filesystem::file_size(t.path, ec);
      if (ec) throw FormatError(t.path, "cannot read the file size: " + ec.message());
    }
    if (t.offset > it->second || t.nbytes > it->second - t.offset)
      throw FormatError(t.path, t.offset,
                        fmt::format("tensor {} runs past the end of the file ({} bytes from "
                                    "offset {}, file is {} bytes): the file is truncated",
                                    t.source_name, t.nbytes, t.offset, it->second));
  }
  for (const auto& e : expected_tensors(m.config)) {
    const TensorInfo& t = m.at(e.name);
    if (t.shape != e.shape)
      throw FormatError(t.path, t.offset,
                        fmt::format("tensor {} has shape {} but the configuration needs {}",
                                    t.source_name, shape_str(t.shape), shape_str(e.shape)));
  }
}

}  // namespace tplm
