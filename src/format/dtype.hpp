#pragma once
// Tensor element types as stored in model files. Quantized types are stored in
// blocks (llama.cpp's layouts):
//   Q8_0: 32 elements = f16 scale d, then 32 x int8 q;          x = d * q          (34 bytes)
//   Q4_0: 32 elements = f16 scale d, then 16 bytes of nibbles;  x = d * (q - 8)   (18 bytes)
//         byte j holds element j in its low nibble and element j + 16 in its high nibble.
#include <cstdint>
#include <optional>
#include <string_view>

namespace tplm {

enum class DType : uint8_t { F32, F16, BF16, Q8_0, Q4_0 };

struct DTypeTraits {
  std::string_view name;
  int64_t block_elems;  // elements per block (1 for unquantized types)
  int64_t block_bytes;  // bytes per block
};

const DTypeTraits& dtype_traits(DType t);
inline std::string_view dtype_name(DType t) {
  return dtype_traits(t).name;
}
std::optional<DType> dtype_from_name(std::string_view name);  // "F32", "f16", "Q8_0"...

// Bytes taken by n elements; n must be a whole number of blocks (checked by callers
// that read files: see tensor_nbytes in tensor_info.hpp).
uint64_t dtype_bytes(DType t, int64_t n_elems);
bool is_quantized(DType t);

}  // namespace tplm
