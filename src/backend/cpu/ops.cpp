#include "backend/cpu/ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "backend/cpu/dequant.hpp"

namespace tplm::cpu {

namespace {

// y = weight * (x / sqrt(ss / dim + eps)) for one row whose sum of squares is ss.
void scale_row(const float* x, const float* weight, int64_t dim, float eps, float ss, float* y) {
  float s = ss / static_cast<float>(dim);
  s += eps;
  s = 1.0f / std::sqrt(s);
  for (int64_t j = 0; j < dim; ++j) y[j] = weight[j] * (s * x[j]);
}

}  // namespace

void rmsnorm_rows(const float* x, const float* weight, int64_t dim, float eps, float* y, int64_t t0,
                  int64_t t1) {
  // Each row's sum of squares adds its terms in order, as llama2.c does: a
  // chain of dependent additions. 8 rows at a time interleave their chains
  // (the same additions per row, so the same bits) instead of waiting on one
  // addition after another; the rows left over go one by one.
  constexpr int64_t kRows = 8;
  int64_t t = t0;
  for (; t + kRows <= t1; t += kRows) {
    float ss[kRows] = {};
    for (int64_t j = 0; j < dim; ++j)
#pragma GCC unroll 8
      for (int64_t r = 0; r < kRows; ++r) ss[r] += x[(t + r) * dim + j] * x[(t + r) * dim + j];
    for (int64_t r = 0; r < kRows; ++r)
      scale_row(x + (t + r) * dim, weight, dim, eps, ss[r], y + (t + r) * dim);
  }
  for (; t < t1; ++t) {
    float ss = 0.0f;
    for (int64_t j = 0; j < dim; ++j) ss += x[t * dim + j] * x[t * dim + j];
    scale_row(x + t * dim, weight, dim, eps, ss, y + t * dim);
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
  // The exponentials first (library calls), then the rest 4 elements at a
  // time (SSE, every x86-64): the same operations on each element, so the
  // same bits as one scalar loop. (gate may be out: each element is read
  // before it is written.)
  constexpr int64_t kBlock = 256;
  float e[kBlock];
  for (int64_t b = i0; b < i1; b += kBlock) {
    const int64_t n = std::min(kBlock, i1 - b);
    for (int64_t i = 0; i < n; ++i) e[i] = std::exp(-gate[b + i]);
    int64_t i = 0;
#if defined(__x86_64__)
    const __m128 one = _mm_set1_ps(1.0f);
    for (; i + 4 <= n; i += 4) {
      const __m128 silu_over_g = _mm_div_ps(one, _mm_add_ps(one, _mm_loadu_ps(e + i)));
      const __m128 g = _mm_loadu_ps(gate + b + i);
      _mm_storeu_ps(out + b + i, _mm_mul_ps(_mm_mul_ps(g, silu_over_g), _mm_loadu_ps(up + b + i)));
    }
#endif
    for (; i < n; ++i) out[b + i] = gate[b + i] * (1.0f / (1.0f + e[i])) * up[b + i];
  }
}

void add_range(float* x, const float* y, int64_t i0, int64_t i1) {
  int64_t i = i0;
#if defined(__x86_64__)
  for (; i + 4 <= i1; i += 4)  // 4 at a time (SSE): each element's one addition
    _mm_storeu_ps(x + i, _mm_add_ps(_mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
#endif
  for (; i < i1; ++i) x[i] += y[i];
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
