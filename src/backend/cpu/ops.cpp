#include "backend/cpu/ops.hpp"

#include <cmath>
#include <cstring>

#include "backend/cpu/dequant.hpp"

namespace tplm::cpu {

void rmsnorm_rows(const float* x, const float* weight, int64_t dim, float eps, float* y, int64_t t0,
                  int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const float* xt = x + t * dim;
    float* yt = y + t * dim;
    float ss = 0.0f;
    for (int64_t j = 0; j < dim; ++j) ss += xt[j] * xt[j];
    ss /= static_cast<float>(dim);
    ss += eps;
    ss = 1.0f / std::sqrt(ss);
    for (int64_t j = 0; j < dim; ++j) yt[j] = weight[j] * (ss * xt[j]);
  }
}

void rope_rows(float* x, int64_t n_heads, int64_t head_dim, int64_t rope_dim, const float* inv_freq,
               const int32_t* positions, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < rope_dim / 2; ++i) {
      const float angle = pos * inv_freq[i];
      const float c = std::cos(angle), s = std::sin(angle);
      for (int64_t h = 0; h < n_heads; ++h) {
        float* p = x + (t * n_heads + h) * head_dim + 2 * i;
        const float a = p[0], b = p[1];
        p[0] = a * c - b * s;
        p[1] = a * s + b * c;
      }
    }
  }
}

void swiglu_range(const float* gate, const float* up, float* out, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const float g = gate[i];
    out[i] = g * (1.0f / (1.0f + std::exp(-g))) * up[i];
  }
}

void add_range(float* x, const float* y, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) x[i] += y[i];
}

void embed_rows(const WeightView& table, int64_t row_begin, const int32_t* ids, float* out,
                int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    float* o = out + t * table.cols;
    const int64_t r = static_cast<int64_t>(ids[t]) - row_begin;
    if (r >= 0 && r < table.rows)
      dequantize_row(table, r, o);
    else
      std::memset(o, 0, static_cast<size_t>(table.cols) * sizeof(float));
  }
}

}  // namespace tplm::cpu
