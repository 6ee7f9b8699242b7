#pragma once
// GGUF's numeric ids: the metadata value types and the ggml tensor types
// (ggml/docs/gguf.md, ggml.h). Only the tensor types in dtype.hpp are readable.
#include <cstdint>
#include <optional>
#include <string>

#include "format/dtype.hpp"

namespace tplm {

enum class GgufType : uint32_t {
  Uint8 = 0,
  Int8 = 1,
  Uint16 = 2,
  Int16 = 3,
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  Uint64 = 10,
  Int64 = 11,
  Float64 = 12,
};
constexpr uint32_t kGgufTypeCount = 13;

// "UINT32", "STRING"...; "unknown type 99" for ids outside the list.
std::string gguf_type_name(uint32_t type);
// Bytes of one value of a fixed-size type; 0 for STRING and ARRAY.
uint64_t gguf_type_size(GgufType t);
bool gguf_is_integer(GgufType t);

// "Q4_K (12)", "unknown (77)".
std::string ggml_type_label(uint32_t ggml_type);
// F32=0, F16=1, Q4_0=2, Q8_0=8, Q4_K=12, Q5_K=13, Q6_K=14, BF16=30; nullopt for
// every other ggml type.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
// "F32 (0), F16 (1), Q4_0 (2), Q8_0 (8), Q4_K (12), ...": for messages.
std::string supported_ggml_types();

}  // namespace tplm
