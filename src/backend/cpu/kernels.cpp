#include "backend/cpu/kernels.hpp"

#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/qdot.hpp"

namespace tplm::cpu {

bool have_avx2() {
  return cpu_level() >= CpuLevel::Avx2;
}

bool have_avx512() {
  return cpu_level() >= CpuLevel::Avx512;
}

void matmul_rows(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
                 int64_t r0, int64_t r1) {
#if defined(__x86_64__)
  if (have_avx512() && w.dtype == DType::F16) return matmul_rows_avx512(x, T, w, bias, y, r0, r1);
  if (have_avx2()) return matmul_rows_avx2(x, T, w, bias, y, r0, r1);
#endif
  matmul_rows_scalar(x, T, w, bias, y, r0, r1);
}

void qmatmul_rows(const QuantActs& a, const WeightView& w, const float* bias, float* y, int64_t r0,
                  int64_t r1) {
#if defined(__x86_64__)
  switch (cpu_level()) {
    case CpuLevel::Avx512:
      return qmatmul_rows_avx512(a, w, bias, y, r0, r1);
    case CpuLevel::Avx2:
      return qmatmul_rows_avx2(a, w, bias, y, r0, r1);
    case CpuLevel::Scalar:
      break;
  }
#endif
  qmatmul_rows_scalar(a, w, bias, y, r0, r1);
}

float dot_f32_row(DType row_type, const void* row, const float* x, int64_t n) {
#if defined(__x86_64__)
  if (have_avx512()) return dot_f32_row_avx512(row_type, row, x, n);
  if (have_avx2()) return dot_f32_row_avx2(row_type, row, x, n);
#endif
  return dot_f32_row_scalar(row_type, row, x, n);
}

void dot_f32_rows(DType row_type, const uint8_t* rows, int64_t stride, const float* x, int64_t n,
                  float* out, int64_t len) {
#if defined(__x86_64__)
  if (have_avx512()) return dot_f32_rows_avx512(row_type, rows, stride, x, n, out, len);
  if (have_avx2()) return dot_f32_rows_avx2(row_type, rows, stride, x, n, out, len);
#endif
  for (int64_t p = 0; p < n; ++p) out[p] = dot_f32_row_scalar(row_type, rows + p * stride, x, len);
}

void add_scaled_row(DType row_type, float a, const void* row, float* o, int64_t n) {
#if defined(__x86_64__)
  if (have_avx512()) return add_scaled_row_avx512(row_type, a, row, o, n);
  if (have_avx2()) return add_scaled_row_avx2(row_type, a, row, o, n);
#endif
  add_scaled_row_scalar(row_type, a, row, o, n);
}

void add_scaled_rows(DType row_type, const uint8_t* rows, int64_t stride, const float* a, int64_t n,
                     float* o, int64_t len) {
#if defined(__x86_64__)
  if (have_avx512()) return add_scaled_rows_avx512(row_type, rows, stride, a, n, o, len);
  if (have_avx2()) return add_scaled_rows_avx2(row_type, rows, stride, a, n, o, len);
#endif
  for (int64_t p = 0; p < n; ++p) add_scaled_row_scalar(row_type, a[p], rows + p * stride, o, len);
}

float scale_and_max(float* p, int64_t n, float scale) {
#if defined(__x86_64__)
  if (have_avx512()) return scale_and_max_avx512(p, n, scale);
#endif
  return scale_and_max_scalar(p, n, scale);
}

void divide_all(float* p, int64_t n, float d) {
#if defined(__x86_64__)
  if (have_avx512()) return divide_all_avx512(p, n, d);
#endif
  divide_all_scalar(p, n, d);
}

}  // namespace tplm::cpu
