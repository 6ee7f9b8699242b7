#pragma once
// Scalar conversions of the 16-bit float formats to float32. Both are exact:
// every f16 and bf16 value is representable in f32. And f32 to f16, rounded
// to nearest even (a KV cache stored as f16).
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tplm {

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp != 0) return bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
  // zero or subnormal: man * 2^-24, exact in f32
  const float mag = static_cast<float>(man) * 5.9604644775390625e-8f;
  return sign ? -mag : mag;
}

// bfloat16 is the top half of an f32.
inline float bf16_to_f32(uint16_t b) {
  return bits_to_float(static_cast<uint32_t>(b) << 16);
}

// f32 -> IEEE half, round to nearest even: magnitudes from 65520 up become
// inf, those under 2^-14 the nearest subnormal (or zero); nan stays nan.
inline uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t mag = x & 0x7fffffffu;
  if (mag > 0x7f800000u) return sign | 0x7e00u;   // nan
  if (mag >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (or inf): inf
  if (mag < 0x38800000u) {                        // under 2^-14: subnormal steps of 2^-24
    const float v = bits_to_float(mag) * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(v));
  }
  // Rebias the exponent (127 -> 15: minus 112 << 23), then drop 13 mantissa
  // bits rounding to nearest even (a carry may step the exponent: correct).
  const uint32_t rounded = mag + 0xfffu + ((mag >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace tplm
