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

constexpr int kSuper = 256;

// The 8 six-bit scales and mins of a Q4_K / Q5_K super-block (12 bytes).
void unpack_scale_min(const uint8_t* s, int* sc, int* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 0x0f) | ((s[j] >> 2) & 0x30);
    m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30);
  }
}

// Q4_K (bits = 4) and Q5_K (bits = 5).
void dequant_q45_k(const uint8_t* src, int64_t n, float* out, int bits) {
  const int64_t block_bytes = bits == 4 ? 144 : 176;
  for (int64_t b = 0; b < n / kSuper; ++b, src += block_bytes, out += kSuper) {
    const float d = f16_to_f32(load_u16(src)), dmin = f16_to_f32(load_u16(src + 2));
    int sc[8], m[8];
    unpack_scale_min(src + 4, sc, m);
    const uint8_t* qh = src + 16;
    const uint8_t* qs = bits == 4 ? src + 16 : src + 48;
    for (int k = 0; k < 8; ++k) {
      const float dk = d * static_cast<float>(sc[k]), mk = dmin * static_cast<float>(m[k]);
      const int j = k / 2, shift = 4 * (k % 2);
      for (int i = 0; i < 32; ++i) {
        int q = (qs[32 * j + i] >> shift) & 0x0f;
        if (bits == 5) q |= ((qh[i] >> k) & 1) << 4;
        out[32 * k + i] = dk * static_cast<float>(q) - mk;
      }
    }
  }
}

void dequant_q6_k(const uint8_t* src, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kSuper; ++b, src += 210, out += kSuper) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(src + 192);
    const float d = f16_to_f32(load_u16(src + 208));
    for (int e = 0; e < kSuper; ++e) {
      const int h = e / 128, k = (e % 128) / 32, i = e % 32;
      const int lo = (ql[64 * h + 32 * (k % 2) + i] >> (4 * (k / 2))) & 0x0f;
      const int hi = (qh[32 * h + i] >> (2 * k)) & 3;
      out[e] = (d * static_cast<float>(scales[e / 16])) * static_cast<float>((lo | (hi << 4)) - 32);
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
    case DType::Q4_K:
      dequant_q45_k(src, n, out, 4);
      return;
    case DType::Q5_K:
      dequant_q45_k(src, n, out, 5);
      return;
    case DType::Q6_K:
      dequant_q6_k(src, n, out);
      return;
  }
}

}  // namespace tplm
