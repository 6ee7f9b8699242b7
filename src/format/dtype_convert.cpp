#include "format/dtype_convert.hpp"

#include <cstring>

#include "format/half.hpp"

namespace tplm {

namespace {

constexpr int kBlock = 32;

void dequant_q8_0(const uint8_t* src, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kBlock; ++b, src += 34) {
    const float d = f16_to_f32(load_u16(src));
    const auto* q = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < kBlock; ++j) out[b * kBlock + j] = d * static_cast<float>(q[j]);
  }
}

void dequant_q4_0(const uint8_t* src, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kBlock; ++b, src += 18) {
    const float d = f16_to_f32(load_u16(src));
    const uint8_t* q = src + 2;
    float* o = out + b * kBlock;
    for (int j = 0; j < kBlock / 2; ++j) {
      o[j] = d * static_cast<float>((q[j] & 0x0f) - 8);
      o[j + kBlock / 2] = d * static_cast<float>((q[j] >> 4) - 8);
    }
  }
}

}  // namespace

void dequantize(DType dtype, const void* src_bytes, int64_t n, float* out) {
  const auto* src = static_cast<const uint8_t*>(src_bytes);
  switch (dtype) {
    case DType::F32:
      std::memcpy(out, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
      for (int64_t c = 0; c < n; ++c) out[c] = f16_to_f32(load_u16(src + 2 * c));
      return;
    case DType::BF16:
      for (int64_t c = 0; c < n; ++c) out[c] = bf16_to_f32(load_u16(src + 2 * c));
      return;
    case DType::Q8_0:
      dequant_q8_0(src, n, out);
      return;
    case DType::Q4_0:
      dequant_q4_0(src, n, out);
      return;
  }
}

}  // namespace tplm
