// Portable kernels: the same summation order as kernels_avx2.cpp (see kernels.hpp).
#include <cmath>
#include <vector>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/kernels.hpp"
#include "format/half.hpp"

namespace tplm::cpu {

float dot_f32_scalar(const float* a, const float* b, int64_t n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; ++l) lane[l] += a[k + l] * b[k + l];
  float s =
      ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

namespace {

float row_value(DType row_type, const void* row, int64_t i) {
  if (row_type == DType::F16) return f16_to_f32(load_u16(static_cast<const uint8_t*>(row) + 2 * i));
  return static_cast<const float*>(row)[i];
}

}  // namespace

float dot_f32_row_scalar(DType row_type, const void* row, const float* x, int64_t n) {
  if (row_type == DType::F32) return dot_f32_scalar(x, static_cast<const float*>(row), n);
  thread_local std::vector<float> f32;
  f32.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) f32[static_cast<size_t>(i)] = row_value(row_type, row, i);
  return dot_f32_scalar(x, f32.data(), n);
}

void add_scaled_row_scalar(DType row_type, float a, const void* row, float* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] += a * row_value(row_type, row, i);
}

float scale_and_max_scalar(float* p, int64_t n, float scale) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    p[i] *= scale;
    m = std::fmax(m, p[i]);
  }
  return m;
}

void divide_all_scalar(float* p, int64_t n, float d) {
  for (int64_t i = 0; i < n; ++i) p[i] /= d;
}

void matmul_rows_scalar(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                        int64_t r0, int64_t r1) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(w.cols));
  for (int64_t r = r0; r < r1; ++r) {
    dequantize_row(w, r, row.data());
    const float b = bias ? bias[r] : 0.0f;
    for (int64_t t = 0; t < T; ++t)
      y[t * w.rows + r] = dot_f32_scalar(row.data(), x + t * w.cols, w.cols) + b;
  }
}

}  // namespace tplm::cpu
