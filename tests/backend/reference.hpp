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

// Decodes raw bytes of dtype by the llama.cpp layouts written out by hand.
inline std::vector<double> ref_decode(DType dt, const uint8_t* p, int64_t rows, int64_t cols) {
  std::vector<double> v(static_cast<size_t>(rows * cols));
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

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace tplm::test
