#include "backend/cpu/dequant.hpp"

#include <cstring>
#include <string>

#include "backend/cpu/half.hpp"
#include "base/error.hpp"

namespace tplm::cpu {

int64_t row_bytes(const WeightView& w) {
  return static_cast<int64_t>(dtype_bytes(w.dtype, w.cols));
}

void check_weight(const WeightView& w, const char* op) {
  const auto& tr = dtype_traits(w.dtype);
  if (w.rows < 0 || w.cols < 0)
    throw Error(std::string("cpu ") + op + ": negative weight shape [" + std::to_string(w.rows) +
                ", " + std::to_string(w.cols) + "]");
  if (w.cols % tr.block_elems != 0)
    throw Error(std::string("cpu ") + op + ": a " + std::string(tr.name) + " weight needs cols " +
                "divisible by " + std::to_string(tr.block_elems) + ", got cols = " +
                std::to_string(w.cols) + " (choose a tp that keeps whole quantization blocks)");
  if (w.rows > 0 && w.cols > 0 && w.data == nullptr)
    throw Error(std::string("cpu ") + op + ": weight data is null");
}

namespace {

constexpr int kBlock = 32;

void dequant_q8_0(const uint8_t* src, int64_t cols, float* out) {
  for (int64_t b = 0; b < cols / kBlock; ++b, src += 34) {
    const float d = f16_to_f32(load_u16(src));
    const auto* q = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < kBlock; ++j) out[b * kBlock + j] = d * static_cast<float>(q[j]);
  }
}

void dequant_q4_0(const uint8_t* src, int64_t cols, float* out) {
  for (int64_t b = 0; b < cols / kBlock; ++b, src += 18) {
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

void dequantize_row(const WeightView& w, int64_t r, float* out) {
  const auto* src = static_cast<const uint8_t*>(w.data) + r * row_bytes(w);
  switch (w.dtype) {
    case DType::F32:
      std::memcpy(out, src, static_cast<size_t>(w.cols) * sizeof(float));
      return;
    case DType::F16:
      for (int64_t c = 0; c < w.cols; ++c) out[c] = f16_to_f32(load_u16(src + 2 * c));
      return;
    case DType::BF16:
      for (int64_t c = 0; c < w.cols; ++c) out[c] = bf16_to_f32(load_u16(src + 2 * c));
      return;
    case DType::Q8_0:
      dequant_q8_0(src, w.cols, out);
      return;
    case DType::Q4_0:
      dequant_q4_0(src, w.cols, out);
      return;
  }
}

}  // namespace tplm::cpu
