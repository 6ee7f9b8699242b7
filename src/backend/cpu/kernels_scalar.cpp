// Portable kernels: the same summation order as kernels_avx2.cpp (see kernels.hpp).
#include <vector>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/kernels.hpp"

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
