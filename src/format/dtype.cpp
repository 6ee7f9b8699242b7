#include "format/dtype.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace tplm {

namespace {
constexpr std::array<DTypeTraits, 8> kTraits = {{
    {"F32", 1, 4},
    {"F16", 1, 2},
    {"BF16", 1, 2},
    {"Q8_0", 32, 34},
    {"Q4_0", 32, 18},
    {"Q4_K", 256, 144},
    {"Q5_K", 256, 176},
    {"Q6_K", 256, 210},
}};
}  // namespace

const DTypeTraits& dtype_traits(DType t) {
  return kTraits[static_cast<size_t>(t)];
}

std::optional<DType> dtype_from_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (size_t i = 0; i < kTraits.size(); ++i)
    if (kTraits[i].name == upper) return static_cast<DType>(i);
  return std::nullopt;
}

uint64_t dtype_bytes(DType t, int64_t n_elems) {
  const auto& tr = dtype_traits(t);
  return static_cast<uint64_t>(n_elems / tr.block_elems) * static_cast<uint64_t>(tr.block_bytes);
}

bool is_quantized(DType t) {
  return dtype_traits(t).block_elems > 1;
}

}  // namespace tplm
