#pragma once
// Test helpers for the backend: random weights in every dtype, built from raw
// bits, and straightforward double-precision references decoded independently
// of the kernels (bit fields and ldexp, no shared code with src/backend/cpu).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "backend/backend.hpp"

namespace tplm::test {

inline double ref_f16(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  const double mag = exp == 0 ? std::ldexp(man, -24) : std::ldexp(1024 + man, exp - 25);
  return sign ? -mag : mag;
}
inline double ref_bf16(uint16_t b) {
  const int sign = b >> 15, exp = (b >> 7) & 0xff, man = b & 0x7f;
  const double mag = exp == 0 ? std::ldexp(man, -133) : std::ldexp(128 + man, exp - 134);
  return sign ? -mag : mag;
}
inline uint16_t rd16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

// A weight matrix in some dtype, its bytes and its exact values in double.
struct TestWeight {
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> bytes;
  std::vector<double> values;  // [rows, cols], decoded by the reference
  WeightView view() const { return {dtype, rows, cols, bytes.data()}; }
};

// Element e (< 256) of a K-quant super-block at blk, by ggml-common.h's layout
// written out by hand: the exact value in double.
inline double ref_k(DType dt, const uint8_t* blk, int e) {
  if (dt == DType::Q6_K) {
    const int half = e / 128, k = (e % 128) / 32, i = e % 32;
    const uint8_t lbyte = blk[64 * half + (k & 1) * 32 + i];
    const int low = k < 2 ? (lbyte & 0xf) : (lbyte >> 4);
    const int high = (blk[128 + 32 * half + i] >> (2 * k)) & 3;
    const double d = ref_f16(rd16(blk + 208));
    return d * static_cast<int8_t>(blk[192 + e / 16]) * ((low + 16 * high) - 32);
  }
  const int sub = e / 32, i = e % 32;
  const uint8_t* sc = blk + 4;  // scales[12]
  int scale, min;
  if (sub < 4) {
    scale = sc[sub] & 0x3f;
    min = sc[sub + 4] & 0x3f;
  } else {
    scale = (sc[sub + 4] & 0xf) + 16 * (sc[sub - 4] >> 6);
    min = (sc[sub + 4] >> 4) + 16 * (sc[sub] >> 6);
  }
  const bool five = dt == DType::Q5_K;
  const uint8_t* qs = blk + (five ? 48 : 16);
  const uint8_t byte = qs[32 * (sub / 2) + i];
  int q = sub % 2 == 0 ? (byte & 0xf) : (byte >> 4);
  if (five && (blk[16 + i] & (1 << sub))) q += 16;
  return ref_f16(rd16(blk)) * scale * q - ref_f16(rd16(blk + 2)) * min;
}

// Decodes raw bytes of dtype by the llama.cpp layouts written out by hand.
inline std::vector<double> ref_decode(DType dt, const uint8_t* p, int64_t rows, int64_t cols) {
  std::vector<double> v(static_cast<size_t>(rows * cols));
  if (dt == DType::Q4_K || dt == DType::Q5_K || dt == DType::Q6_K) {
    const int64_t bb = dt == DType::Q4_K ? 144 : dt == DType::Q5_K ? 176 : 210;
    for (int64_t i = 0; i < rows * cols; ++i)
      v[i] = ref_k(dt, p + (i / 256) * bb, static_cast<int>(i % 256));
    return v;
  }
  for (int64_t i = 0; i < rows * cols; ++i) {
    const int64_t b = i / 32, j = i % 32;
    switch (dt) {
      case DType::F32: {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        v[i] = f;
        break;
      }
      case DType::F16:
        v[i] = ref_f16(rd16(p + 2 * i));
        break;
      case DType::BF16:
        v[i] = ref_bf16(rd16(p + 2 * i));
        break;
      case DType::Q8_0:
        v[i] = ref_f16(rd16(p + 34 * b)) * static_cast<int8_t>(p[34 * b + 2 + j]);
        break;
      case DType::Q4_0: {
        const uint8_t byte = p[18 * b + 2 + (j % 16)];
        const int q = j < 16 ? (byte & 0xf) : (byte >> 4);
        v[i] = ref_f16(rd16(p + 18 * b)) * (q - 8);
        break;
      }
      default:
        break;
    }
  }
  return v;
}

// Random weights with values of magnitude about 2^-6 .. 2^1 and both signs.
inline TestWeight random_weight(DType dt, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  auto u = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto f16_bits = [&] {
    return static_cast<uint16_t>((u(0, 1) << 15) | (u(9, 16) << 10) | u(0, 1023));
  };
  TestWeight w;
  w.dtype = dt;
  w.rows = rows;
  w.cols = cols;
  w.bytes.resize(dtype_bytes(dt, rows * cols));
  uint8_t* p = w.bytes.data();
  const int64_t n = rows * cols;
  auto put16 = [&](int64_t off, uint16_t v) {
    p[off] = static_cast<uint8_t>(v & 0xff);
    p[off + 1] = static_cast<uint8_t>(v >> 8);
  };
  switch (dt) {
    case DType::F32:
      for (int64_t i = 0; i < n; ++i) {
        const float f = std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
        std::memcpy(p + 4 * i, &f, 4);
      }
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) put16(2 * i, f16_bits());
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i)
        put16(2 * i, static_cast<uint16_t>((u(0, 1) << 15) | (u(121, 128) << 7) | u(0, 127)));
      break;
    case DType::Q8_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        put16(34 * b, static_cast<uint16_t>(f16_bits() - (6 << 10)));  // d ~ 2^-9 .. 2^-1
        for (int j = 0; j < 32; ++j) p[34 * b + 2 + j] = static_cast<uint8_t>(u(0, 255));
      }
      break;
    case DType::Q4_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        put16(18 * b, static_cast<uint16_t>(f16_bits() - (3 << 10)));
        for (int j = 0; j < 16; ++j) p[18 * b + 2 + j] = static_cast<uint8_t>(u(0, 255));
      }
      break;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: {
      // Random bytes everywhere (every scale, min, nibble and high bit), then
      // d (and dmin) ~ 2^-15 .. 2^-8 (subnormal ones too) so values stay below ~4.
      const int64_t bb = dt == DType::Q4_K ? 144 : dt == DType::Q5_K ? 176 : 210;
      for (int64_t i = 0; i < n / 256 * bb; ++i) p[i] = static_cast<uint8_t>(u(0, 255));
      for (int64_t b = 0; b < n / 256; ++b) {
        uint8_t* blk = p + b * bb;
        const auto small = [&] { return (f16_bits() & 0x7fff) - (9 << 10); };
        if (dt == DType::Q6_K) {
          put16(blk + 208 - p, static_cast<uint16_t>(small() | (u(0, 1) << 15)));
        } else {
          put16(blk - p, static_cast<uint16_t>(small()));
          put16(blk + 2 - p, static_cast<uint16_t>(small()));
        }
      }
      break;
    }
  }
  w.values = ref_decode(dt, p, rows, cols);
  return w;
}

inline std::vector<float> random_floats(int64_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

// (Two empty vectors may hold no pointer: memcmp must not see one.)
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace tplm::test
