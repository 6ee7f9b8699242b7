#pragma once
// One safetensors file's header: uint64 LE length N, then N bytes of JSON
//   {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}
// with data offsets relative to byte 8 + N. Only the header is read.
#include <string>
#include <vector>

#include "format/tensor_info.hpp"

namespace tplm {

// Every tensor of the file under its source name (name == source_name), with
// absolute offsets. Throws FormatError for a bad length, bad JSON, an
// unsupported dtype, inconsistent sizes, ranges outside the file or overlapping.
std::vector<TensorInfo> read_safetensors_header(const std::string& file);

}  // namespace tplm
