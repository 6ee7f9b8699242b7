#pragma once
// Tensor element types as stored in model files. Quantized types are stored in
// blocks (llama.cpp's layouts):
//   Q8_0: 32 elements = f16 scale d, then 32 x int8 q;          x = d * q          (34 bytes)
//   Q4_0: 32 elements = f16 scale d, then 16 bytes of nibbles;  x = d * (q - 8)   (18 bytes)
//         byte j holds element j in its low nibble and element j + 16 in its high nibble.
// K-quants (llama.cpp's ggml-common.h) hold 256 elements in a super-block:
//   Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales sc[8] and mins m[8], 128 bytes of nibbles;
//         element 64j + 32s + i (j < 4, s < 2, i < 32) is nibble s of byte 32j + i of qs and
//         x = d * sc[2j + s] * q - dmin * m[2j + s]                                (144 bytes)
//   Q5_K: as Q4_K with qh[32] before qs: bit k of qh[i] is bit 4 of element 32k + i   (176 bytes)
//   Q6_K: ql[128], qh[64], int8 scales[16], f16 d; element 128h + 32k + i has its low
//         nibble in ql[64h + 32(k % 2) + i] (nibble k / 2) and its top 2 bits in
//         qh[32h + i] >> 2k; x = d * scales[e / 16] * (q - 32)                      (210 bytes)
#include <cstdint>
#include <optional>
#include <string_view>

namespace tplm {

// New values go at the end: other backends switch over this enum.
enum class DType : uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K };

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
