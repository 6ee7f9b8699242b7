#include "format/rope_layout.hpp"

#include <cstring>
#include <vector>

namespace tplm {

namespace {

// Moves each head's rows so that destination row dst_of(src) receives source row src.
template <typename DstOf>
void permute_heads(void* data, int64_t n_heads, int64_t head_dim, uint64_t row_bytes,
                   DstOf dst_of) {
  auto* bytes = static_cast<uint8_t*>(data);
  const uint64_t head_bytes = static_cast<uint64_t>(head_dim) * row_bytes;
  std::vector<uint8_t> scratch(head_bytes);
  for (int64_t h = 0; h < n_heads; ++h) {
    uint8_t* head = bytes + static_cast<uint64_t>(h) * head_bytes;
    std::memcpy(scratch.data(), head, head_bytes);
    for (int64_t src = 0; src < head_dim; ++src)
      std::memcpy(head + static_cast<uint64_t>(dst_of(src)) * row_bytes,
                  scratch.data() + static_cast<uint64_t>(src) * row_bytes, row_bytes);
  }
}

}  // namespace

// Rotate-half row j * half + i  ->  interleaved row 2i + j.
void rotate_half_to_interleaved(void* data, int64_t n_heads, int64_t head_dim, uint64_t row_bytes) {
  const int64_t half = head_dim / 2;
  permute_heads(data, n_heads, head_dim, row_bytes,
                [half](int64_t src) { return 2 * (src % half) + src / half; });
}

// Interleaved row 2i + j  ->  rotate-half row j * half + i.
void interleaved_to_rotate_half(void* data, int64_t n_heads, int64_t head_dim, uint64_t row_bytes) {
  const int64_t half = head_dim / 2;
  permute_heads(data, n_heads, head_dim, row_bytes,
                [half](int64_t src) { return (src % 2) * half + src / 2; });
}

}  // namespace tplm
