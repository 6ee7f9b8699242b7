#include "format/safetensors_header.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/format_error.hpp"
#include "format/mapped_file.hpp"

namespace tplm {

namespace {

using nlohmann::json;

// Safetensors dtype names we read; anything else (I8, F8_E4M3, ...) is refused.
DType st_dtype(const std::string& file, const std::string& name, const std::string& d) {
  if (d == "F32") return DType::F32;
  if (d == "F16") return DType::F16;
  if (d == "BF16") return DType::BF16;
  throw FormatError(file,
                    fmt::format("tensor '{}' has dtype {}, which is not supported "
                                "(supported: F32, F16, BF16); convert the model to one of them",
                                name, d));
}

uint64_t json_u64(const std::string& file, const std::string& name, const json& v,
                  const char* what) {
  if (!v.is_number_unsigned())
    throw FormatError(file, fmt::format("tensor '{}': {} must be non-negative integers, got {}",
                                        name, what, v.dump()));
  return v.get<uint64_t>();
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const json& e,
                       uint64_t data_start, uint64_t file_size) {
  auto need = [&](const char* key) -> const json& {
    if (!e.is_object() || !e.contains(key))
      throw FormatError(file, fmt::format("tensor '{}' has no '{}' in the header", name, key));
    return e.at(key);
  };
  const json& dt = need("dtype");
  const json& shape = need("shape");
  const json& offs = need("data_offsets");
  if (!dt.is_string())
    throw FormatError(file, fmt::format("tensor '{}': dtype must be a string", name));
  if (!shape.is_array())
    throw FormatError(file, fmt::format("tensor '{}': shape must be an array", name));
  if (!offs.is_array() || offs.size() != 2)
    throw FormatError(file, fmt::format("tensor '{}': data_offsets must be [begin, end]", name));

  TensorInfo t;
  t.name = name;
  t.source_name = name;
  t.dtype = st_dtype(file, name, dt.get<std::string>());
  t.path = file;
  uint64_t elems = 1;
  for (const json& d : shape) {
    uint64_t n = json_u64(file, name, d, "shape entries");
    if (n > (uint64_t{1} << 40) || (n != 0 && elems > (uint64_t{1} << 50) / n))
      throw FormatError(file,
                        fmt::format("tensor '{}': shape {} is absurdly large", name, shape.dump()));
    elems *= n;
    t.shape.push_back(static_cast<int64_t>(n));
  }
  uint64_t begin = json_u64(file, name, offs[0], "data_offsets");
  uint64_t end = json_u64(file, name, offs[1], "data_offsets");
  uint64_t expect = elems * dtype_traits(t.dtype).block_bytes;
  if (end < begin || end - begin != expect)
    throw FormatError(file,
                      fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes but shape {} "
                                  "of {} needs {}",
                                  name, begin, end, end < begin ? 0 : end - begin, shape.dump(),
                                  dt.get<std::string>(), expect));
  if (end > file_size - data_start)
    throw FormatError(file,
                      fmt::format("tensor '{}': data_offsets [{}, {}] run past the end of the file "
                                  "({} data bytes); the file is truncated",
                                  name, begin, end, file_size - data_start));
  t.offset = data_start + begin;
  t.nbytes = expect;
  return t;
}

void check_overlaps(const std::string& file, std::vector<TensorInfo> ts) {
  std::sort(ts.begin(), ts.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < ts.size(); ++i)
    if (ts[i].offset < ts[i - 1].offset + ts[i - 1].nbytes)
      throw FormatError(file, fmt::format("tensors '{}' and '{}' overlap in the file",
                                          ts[i - 1].name, ts[i].name));
}

}  // namespace

std::vector<TensorInfo> read_safetensors_header(const std::string& file) {
  MappedFile mf(file);
  Cursor cur(mf);
  const uint64_t n = cur.read<uint64_t>("safetensors header length");
  if (n > cur.remaining())
    throw FormatError(
        file, 0,
        fmt::format("safetensors header length {} is larger than the file ({} bytes); "
                    "not a safetensors file, or truncated",
                    n, mf.size()));
  std::string_view text = cur.bytes(n, "safetensors header");
  json h;
  try {
    h = json::parse(text);
  } catch (const json::parse_error& e) {
    throw FormatError(file, 8 + e.byte,
                      fmt::format("safetensors header is not valid JSON: {}", e.what()));
  } catch (const json::exception& e) {  // a number no double holds (406: '1e400')
    throw FormatError(file, 8, fmt::format("safetensors header is not valid JSON: {}", e.what()));
  }
  if (!h.is_object()) throw FormatError(file, 8, "safetensors header is not a JSON object");
  std::vector<TensorInfo> out;
  for (const auto& [name, entry] : h.items()) {
    if (name == "__metadata__") continue;
    out.push_back(parse_entry(file, name, entry, 8 + n, mf.size()));
  }
  check_overlaps(file, out);
  return out;
}

}  // namespace tplm
