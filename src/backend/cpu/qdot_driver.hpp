#pragma once
// The loops shared by the integer kernels of every SIMD level: tiles of R rows
// x C tokens over a matmul, tokens in chunks whose activations stay in the L2
// cache, and the switch over the weight types. A level's file defines, before
// including this header inside namespace tplm::cpu::<anonymous>:
//   TPLM_QDOT_TARGET                  its function attribute (target ISA)
//   tile<dt, R, C>(wrow, a, t0, out)  out[r * C + c] = row r . token t0 + c
//   kTileRows, kTileTokensQ32, kTileTokensK   its tile shapes
// Every output's arithmetic is inside tile(), the same for every R and C.
#include <algorithm>
#include <cstdint>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/qdot.hpp"

// Rows [r, r + R) x tokens [t0, t1), C tokens at a time, then one at a time.
template <DType dt, int R, int C>
TPLM_QDOT_TARGET void rows_tokens(const WeightView& w, const QuantActs& a, const float* bias,
                                  float* y, int64_t r, int64_t t0, int64_t t1) {
  const int64_t rb = row_bytes(w);
  const uint8_t* wrow[R];
  for (int i = 0; i < R; ++i) wrow[i] = static_cast<const uint8_t*>(w.data) + (r + i) * rb;
  float out[R * C];
  const auto store = [&](int64_t t, int n) {
    for (int i = 0; i < R; ++i)
      for (int c = 0; c < n; ++c)
        y[(t + c) * w.rows + r + i] = out[i * n + c] + (bias ? bias[r + i] : 0.0f);
  };
  int64_t t = t0;
  for (; t + C <= t1; t += C) {
    tile<dt, R, C>(wrow, a, t, out);
    store(t, C);
  }
  for (; t < t1; ++t) {
    tile<dt, R, 1>(wrow, a, t, out);
    store(t, 1);
  }
}

template <DType dt>
TPLM_QDOT_TARGET void rows_any(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                               int64_t r0, int64_t r1) {
  constexpr int R = kTileRows;
  constexpr int C = dt == DType::Q8_0 || dt == DType::Q4_0 ? kTileTokensQ32 : kTileTokensK;
  const int64_t chunk = std::max<int64_t>(C, (256 * 1024 / std::max<int64_t>(a.cols, 1)) / C * C);
  for (int64_t t0 = 0; t0 < a.T; t0 += chunk) {
    const int64_t t1 = std::min(a.T, t0 + chunk);
    int64_t r = r0;
    for (; r + R <= r1; r += R) rows_tokens<dt, R, C>(w, a, bias, y, r, t0, t1);
    for (; r < r1; ++r) rows_tokens<dt, 1, C>(w, a, bias, y, r, t0, t1);
  }
}

inline void qmatmul_rows_level(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                               int64_t r0, int64_t r1) {
  switch (w.dtype) {
    case DType::Q8_0:
      return rows_any<DType::Q8_0>(a, w, bias, y, r0, r1);
    case DType::Q4_0:
      return rows_any<DType::Q4_0>(a, w, bias, y, r0, r1);
    case DType::Q4_K:
      return rows_any<DType::Q4_K>(a, w, bias, y, r0, r1);
    case DType::Q5_K:
      return rows_any<DType::Q5_K>(a, w, bias, y, r0, r1);
    case DType::Q6_K:
      return rows_any<DType::Q6_K>(a, w, bias, y, r0, r1);
    default:
      return qmatmul_rows_scalar(a, w, bias, y, r0, r1);
  }
}
