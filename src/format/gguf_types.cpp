#include "format/gguf_types.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace tplm {

namespace {

constexpr std::array<std::string_view, kGgufTypeCount> kValueTypeNames = {
    "UINT8", "INT8",   "UINT16", "INT16",  "UINT32", "INT32",  "FLOAT32",
    "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64",  "FLOAT64"};

// ggml_type ids as of ggml 2025; gaps are ids ggml removed.
struct GgmlName {
  uint32_t id;
  std::string_view name;
};
constexpr std::array<GgmlName, 34> kGgmlNames = {{
    {0, "F32"},     {1, "F16"},    {2, "Q4_0"},     {3, "Q4_1"},    {6, "Q5_0"},     {7, "Q5_1"},
    {8, "Q8_0"},    {9, "Q8_1"},   {10, "Q2_K"},    {11, "Q3_K"},   {12, "Q4_K"},    {13, "Q5_K"},
    {14, "Q6_K"},   {15, "Q8_K"},  {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"},
    {20, "IQ4_NL"}, {21, "IQ3_S"}, {22, "IQ2_S"},   {23, "IQ4_XS"}, {24, "I8"},      {25, "I16"},
    {26, "I32"},    {27, "I64"},   {28, "F64"},     {29, "IQ1_M"},  {30, "BF16"},    {34, "TQ1_0"},
    {35, "TQ2_0"},  {39, "MXFP4"}, {40, "NVFP4"},   {41, "Q1_0"},
}};

struct Supported {
  uint32_t id;
  DType dtype;
};
constexpr std::array<Supported, 8> kSupported = {{{0, DType::F32},
                                                  {1, DType::F16},
                                                  {2, DType::Q4_0},
                                                  {8, DType::Q8_0},
                                                  {12, DType::Q4_K},
                                                  {13, DType::Q5_K},
                                                  {14, DType::Q6_K},
                                                  {30, DType::BF16}}};

}  // namespace

std::string gguf_type_name(uint32_t type) {
  if (type < kGgufTypeCount) return std::string(kValueTypeNames[type]);
  return fmt::format("unknown type {}", type);
}

uint64_t gguf_type_size(GgufType t) {
  switch (t) {
    case GgufType::Uint8:
    case GgufType::Int8:
    case GgufType::Bool:
      return 1;
    case GgufType::Uint16:
    case GgufType::Int16:
      return 2;
    case GgufType::Uint32:
    case GgufType::Int32:
    case GgufType::Float32:
      return 4;
    case GgufType::Uint64:
    case GgufType::Int64:
    case GgufType::Float64:
      return 8;
    case GgufType::String:
    case GgufType::Array:
      return 0;
  }
  return 0;
}

bool gguf_is_integer(GgufType t) {
  switch (t) {
    case GgufType::Uint8:
    case GgufType::Int8:
    case GgufType::Uint16:
    case GgufType::Int16:
    case GgufType::Uint32:
    case GgufType::Int32:
    case GgufType::Uint64:
    case GgufType::Int64:
      return true;
    default:
      return false;
  }
}

std::string ggml_type_label(uint32_t ggml_type) {
  for (const auto& n : kGgmlNames)
    if (n.id == ggml_type) return fmt::format("{} ({})", n.name, ggml_type);
  return fmt::format("unknown ({})", ggml_type);
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (const auto& s : kSupported)
    if (s.id == ggml_type) return s.dtype;
  return std::nullopt;
}

std::string supported_ggml_types() {
  std::string out;
  for (const auto& s : kSupported) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} ({})", dtype_name(s.dtype), s.id);
  }
  return out;
}

}  // namespace tplm
